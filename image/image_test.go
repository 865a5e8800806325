package image

import (
	"archive/tar"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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
	reg := httptest.NewServer(registry.New())
	defer reg.Close()
	ctx := context.Background()
	platforms := []v1.Platform{{OS: "linux", Architecture: "amd64"}}
	if os.Getenv("SPOTFLEET_IMAGE_ARM64") == "1" {
		platforms = append(platforms, v1.Platform{OS: "linux", Architecture: "arm64"})
	}
	o := Options{Version: "v0.0.0-test", Source: "..", Platforms: platforms, Log: t.Logf}
	idx, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	ref := strings.TrimPrefix(reg.URL, "http://") + "/web-controller:v0.0.0-test"
	if _, err := Push(ctx, idx, ref, nil); err != nil {
		t.Fatal(err)
	}

	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	back, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	m, err := back.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var archs []string
	for _, d := range m.Manifests {
		archs = append(archs, d.Platform.OS+"/"+d.Platform.Architecture)
	}
	if len(archs) != len(platforms) || archs[0] != "linux/amd64" {
		t.Fatalf("platforms %v, want %v", archs, platforms)
	}
	img, err := remote.Image(r, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if strings.Join(c.Entrypoint, " ") != BinaryPath+" controller" || c.User != "65532:65532" ||
		c.Labels["org.opencontainers.image.version"] != "v0.0.0-test" || cf.Architecture != "amd64" {
		t.Errorf("config: entrypoint %v, user %q, labels %v, arch %s", c.Entrypoint, c.User, c.Labels, cf.Architecture)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v; want one", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]int64{}
	bin := filepath.Join(t.TempDir(), "spotfleet")
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h.Size
		if "/"+h.Name == BinaryPath {
			f, _ := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
			io.Copy(f, tr)
			f.Close()
		}
	}
	if files["etc/ssl/certs/ca-certificates.crt"] == 0 || files["etc/passwd"] == 0 {
		t.Errorf("layer files %v; want the CA bundle and the user", files)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "spotfleet v0.0.0-test") {
		t.Errorf("the image's binary: %v\n%s", err, out)
	}
	cl, _ := layers[0].Size()
	t.Logf("image: %d bytes compressed for linux/amd64", cl)

	again, err := Build(ctx, Options{Version: "v0.0.0-test", Source: "..", Platforms: []v1.Platform{{OS: "linux", Architecture: "amd64"}}})
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
	for ref, want := range map[string]bool{"127.0.0.1:5000/x:1": true, "localhost:5000/x": true, "[::1]:5000/x": true,
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1": false, "10.0.0.1:5000/x": false} {
		if got := loopback(ref); got != want {
			t.Errorf("loopback(%q) = %v, want %v", ref, got, want)
		}
	}
}
