package image_test

import (
	"context"
	"debug/buildinfo"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/spotfleet/spotfleet/image"
	"github.com/spotfleet/spotfleet/internal/testing/imagetest"
)

// TestBuildPushReadBack builds the controller image from this source, pushes it to an
// in-memory registry, and reads it back through the registry API: its platforms, the
// entrypoint, the non-root user, the labels, one layer holding the binary (which runs:
// version) and the CA bundle. The same inputs give the same digest. It builds linux/amd64
// (a cold build is 90 s on 2 cores); SPOTFLEET_IMAGE_ARM64=1 adds linux/arm64, as apply
// builds it (another 4 minutes cold).
func TestBuildPushReadBack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds spotfleet")
	}
	ctx := context.Background()
	platforms := []v1.Platform{{OS: "linux", Architecture: "amd64"}}
	if os.Getenv("SPOTFLEET_IMAGE_ARM64") == "1" {
		platforms = append(platforms, v1.Platform{OS: "linux", Architecture: "arm64"})
	}
	o := image.Options{Version: "v0.0.0-test", Source: "..", Platforms: platforms, Log: t.Logf}
	idx, err := image.Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	ref := imagetest.Registry(t) + "/web-controller:v0.0.0-test"
	if _, err := image.Push(ctx, idx, ref, nil); err != nil {
		t.Fatal(err)
	}

	archs, bin := imagetest.Read(t, ref, "v0.0.0-test")
	if len(archs) != len(platforms) {
		t.Fatalf("platforms %v, want %v", archs, platforms)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "spotfleet v0.0.0-test") {
		t.Errorf("the image's binary: %v\n%s", err, out)
	}

	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	again, err := image.Build(ctx, image.Options{Version: "v0.0.0-test", Source: "..", Platforms: []v1.Platform{{OS: "linux", Architecture: "amd64"}}})
	if err != nil {
		t.Fatal(err)
	}
	am, _ := again.IndexManifest()
	if am.Manifests[0].Digest != m.Manifests[0].Digest {
		t.Errorf("two builds of the same source: %s and %s; want one digest", am.Manifests[0].Digest, m.Manifests[0].Digest)
	}
}

// TestPushRefusesPlainHTTPOffLoopback: only a loopback registry is spoken to over HTTP.
func TestPushRefusesPlainHTTPOffLoopback(t *testing.T) {
	for ref, want := range map[string]bool{"127.0.0.1:5000/x:1": true, "127.0.0.1:5000": true, "localhost:5000/x": true, "[::1]:5000/x": true,
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1": false, "10.0.0.1:5000/x": false} {
		if got := image.Loopback(ref); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", ref, got, want)
		}
	}
}

// TestCheckSaysWhatToDo: without a source, an image for another platform, or from a binary
// built with cgo on, is refused before anything is built, with the ways on: --source, a
// static install, or an image of one's own.
func TestCheckSaysWhatToDo(t *testing.T) {
	other := v1.Platform{OS: "linux", Architecture: "arm64"}
	if runtime.GOARCH == "arm64" {
		other.Architecture = "amd64"
	}
	err := image.Check(image.Options{Platforms: []v1.Platform{other}})
	if err == nil || !strings.Contains(err.Error(), "--source DIR") || !strings.Contains(err.Error(), "aws.controller.image") {
		t.Errorf("Check for %s/%s without a source: %v, want the ways on", other.OS, other.Architecture, err)
	}
	self := v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	exe, _ := os.Executable()
	info, _ := buildinfo.ReadFile(exe)
	if runtime.GOOS == "linux" && info != nil && strings.Contains(info.String(), "CGO_ENABLED=1") {
		if err := image.Check(image.Options{Platforms: []v1.Platform{self}}); err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
			t.Errorf("Check of this test binary (cgo on) without a source: %v, want the static install named", err)
		}
	}
	if err := image.Check(image.Options{Source: "..", Platforms: []v1.Platform{other}}); err != nil {
		t.Errorf("Check with a source: %v", err)
	}
	if got := image.FindSource(context.Background(), t.TempDir(), ""); got == "" {
		t.Error("FindSource outside the module does not find the source this test was built from")
	}
}
