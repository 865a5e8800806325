// Package imagetest is what the tests of the controller's image share: an in-memory
// registry to push to, and the reading back of what was pushed through the registry API.
package imagetest

import (
	"archive/tar"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/spotfleet/spotfleet/image"
)

// Registry serves go-containerregistry's in-memory registry on loopback until the test
// ends, and returns its HOST:PORT.
func Registry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Read reads the controller's image at ref back and checks what every build of it holds:
// linux/amd64 first among its platforms, the entrypoint spotfleet controller, the non-root
// user, the version label, one layer with the binary, the CA bundle and the user. It
// returns the platforms and the binary, written to a file that runs on linux/amd64.
func Read(t *testing.T, ref, version string) (platforms []string, binary string) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatalf("the image %s: %v", ref, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		platforms = append(platforms, d.Platform.OS+"/"+d.Platform.Architecture)
	}
	if len(platforms) == 0 || platforms[0] != "linux/amd64" {
		t.Fatalf("platforms %v; want linux/amd64 first", platforms)
	}
	img, err := remote.Image(r, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if c := cf.Config; !slices.Equal(c.Entrypoint, []string{image.BinaryPath, "controller"}) || c.User != "65532:65532" ||
		c.Labels["org.opencontainers.image.version"] != version || cf.Architecture != "amd64" {
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
	binary = filepath.Join(t.TempDir(), "spotfleet")
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
		if "/"+h.Name == image.BinaryPath {
			f, err := os.OpenFile(binary, os.O_CREATE|os.O_WRONLY, 0o755)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(f, tr)
			f.Close()
		}
	}
	if files[image.BinaryPath[1:]] == 0 || files["etc/ssl/certs/ca-certificates.crt"] == 0 || files["etc/passwd"] == 0 {
		t.Errorf("layer files %v; want the binary, the CA bundle and the user", files)
	}
	if cl, err := layers[0].Size(); err == nil {
		t.Logf("image: %d bytes compressed for linux/amd64", cl)
	}
	return platforms, binary
}
