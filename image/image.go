// Package image builds the controller's container image without Docker: the spotfleet
// binary for each platform, CA certificates, a non-root user and an entrypoint, assembled
// as OCI layers with go-containerregistry (no base image is downloaded) and pushed to a
// registry.
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/spotfleet/spotfleet"
)

// Where things go in the image, and who runs it: the uid and gid distroless images use for
// "nonroot".
const (
	BinaryPath = "/usr/local/bin/spotfleet"
	certsPath  = "/etc/ssl/certs/ca-certificates.crt"
	uid        = 65532
)

// Options say what to build.
type Options struct {
	Version string // the OCI version label and the tag
	// Source is the spotfleet module's directory: each platform's binary is built from it
	// (go build, CGO off). Empty: only the running binary is used, for its own platform,
	// and it must be a static linux one.
	Source string
	// Platforms to build, such as linux/amd64; default linux/amd64 and linux/arm64 (or the
	// running binary's alone without Source).
	Platforms []v1.Platform
	// Certs is the CA bundle put in the image; default the build host's.
	Certs string
	// Created is the images' creation time; default the Unix epoch, so that the same
	// inputs give the same digest.
	Created time.Time
	// Log is told what is being built; may be nil.
	Log func(format string, args ...any)
}

// Build assembles the image index, one image per platform.
func Build(ctx context.Context, o Options) (v1.ImageIndex, error) {
	if o.Certs == "" {
		o.Certs = certsPath
	}
	certs, err := os.ReadFile(o.Certs)
	if err != nil {
		return nil, fmt.Errorf("the CA certificates for the image: %w (install ca-certificates, or give a bundle)", err)
	}
	platforms := o.Platforms
	switch {
	case len(platforms) > 0:
	case o.Source != "":
		platforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}
	default:
		platforms = []v1.Platform{{OS: runtime.GOOS, Architecture: runtime.GOARCH}}
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		bin, err := binary(ctx, o, p)
		if err != nil {
			return nil, err
		}
		img, err := assemble(bin, certs, p, o)
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return idx, nil
}

// binary is the spotfleet executable for a platform: built from the source, or the running
// one when there is no source and it fits.
func binary(ctx context.Context, o Options, p v1.Platform) ([]byte, error) {
	if o.Source == "" {
		if err := runningFits(p); err != nil {
			return nil, err
		}
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		return os.ReadFile(self)
	}
	if o.Log != nil {
		o.Log("building spotfleet for %s/%s from %s", p.OS, p.Architecture, o.Source)
	}
	out := filepath.Join(os.TempDir(), fmt.Sprintf("spotfleet-image-%s-%s-%d", p.OS, p.Architecture, os.Getpid()))
	defer os.Remove(out)
	ldflags := "-s -w"
	if o.Version != "" {
		ldflags += " -X main.version=" + o.Version
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, "./cmd/spotfleet")
	cmd.Dir = o.Source
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build for %s/%s in %s: %w\n%s", p.OS, p.Architecture, o.Source, err, b)
	}
	return os.ReadFile(out)
}

// static says whether a Go binary was built with cgo off (it then runs on an image with no
// C library).
func static(path string) bool {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "CGO_ENABLED" {
			return s.Value == "0"
		}
	}
	return false
}

// assemble is one platform's image: one layer with the binary, the certificates and the
// user, and a config that runs the controller as that user.
func assemble(bin, certs []byte, p v1.Platform, o Options) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := []string{"etc/", "etc/ssl/", "etc/ssl/certs/", "tmp/", "usr/", "usr/local/", "usr/local/bin/"}
	for _, d := range dirs {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: mode, ModTime: o.Created}); err != nil {
			return nil, err
		}
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{BinaryPath[1:], 0o755, bin},
		{certsPath[1:], 0o644, certs},
		{"etc/passwd", 0o644, fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nspotfleet:x:%d:%d:spotfleet:/tmp:/sbin/nologin\n", uid, uid)},
		{"etc/group", 0o644, fmt.Appendf(nil, "root:x:0:\nspotfleet:x:%d:\n", uid)},
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: o.Created}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: o.Created}
	cf.Config.Entrypoint = []string{BinaryPath, "controller"}
	cf.Config.User = fmt.Sprintf("%d:%d", uid, uid)
	cf.Config.WorkingDir = "/tmp"
	cf.Config.ExposedPorts = map[string]struct{}{strconv.Itoa(spotfleet.ControllerPort) + "/tcp": {}}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":       "spotfleet controller",
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.source":      "https://github.com/spotfleet/spotfleet",
		"org.opencontainers.image.description": "The spotfleet controller: interruptions, rebalance, fallback and return for a fleet on Spot",
	}
	return mutate.ConfigFile(img, cf)
}

// Push writes the index to ref. A plain-HTTP registry is used only on a loopback address
// (the tests' in-memory registry); anything else is HTTPS with the keychain's credentials
// or the given ones.
// WriteLayout writes the image index as an OCI image layout in dir (a new or empty
// directory): a release keeps it as an artifact, and any OCI tool pushes it later.
func WriteLayout(idx v1.ImageIndex, dir string) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty: give a new directory for the image layout", dir)
	}
	_, err := layout.Write(dir, idx)
	return err
}

func Push(ctx context.Context, idx v1.ImageIndex, ref string, auth authn.Authenticator) (name.Reference, error) {
	var opts []name.Option
	if Loopback(ref) {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", ref, err)
	}
	ro := []remote.Option{remote.WithContext(ctx)}
	if auth != nil {
		ro = append(ro, remote.WithAuth(auth))
	} else {
		ro = append(ro, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	if err := remote.WriteIndex(r, idx, ro...); err != nil {
		return nil, fmt.Errorf("pushing %s: %w", r, err)
	}
	return r, nil
}

// Loopback says whether a reference's registry (or a HOST:PORT alone) is on a loopback
// address: the only place a registry is spoken to over plain HTTP.
func Loopback(ref string) bool {
	host := ref
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
