package image_test

import (
	"context"
	"os"
	"os/exec"
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
