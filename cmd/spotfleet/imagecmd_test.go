package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/spotfleet/spotfleet/internal/testing/imagetest"
)

// TestImageCommand: spotfleet image builds from the source and pushes to a loopback
// registry, printing the digest the registry then serves; a bad platform or no --to is a
// clear error.
func TestImageCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds spotfleet")
	}
	ref := imagetest.Registry(t) + "/web-controller:dev"
	out, errOut, err := run(t, "image", "--to", ref, "--platform", "linux/amd64", "--source", "../..")
	if err != nil {
		t.Fatalf("image: %v\n%s%s", err, out, errOut)
	}
	r, _ := name.ParseReference(ref, name.Insecure)
	d, err := remote.Head(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "@"+d.Digest.String()) || !strings.Contains(errOut, "building spotfleet for linux/amd64") {
		t.Errorf("output %q (stderr %q); want the pushed digest %s and the build said", out, errOut, d.Digest)
	}
	for _, bad := range []struct {
		args []string
		msg  string
	}{
		{[]string{"image"}, "give --to"},
		{[]string{"image", "--to", ref, "--layout", t.TempDir()}, "give --to"},
		{[]string{"image", "--to", ref, "--platform", "windows/amd64"}, "use linux/amd64 or linux/arm64"},
	} {
		if _, _, err := run(t, bad.args...); err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("%v: %v, want %q", bad.args, err, bad.msg)
		}
	}

	// --layout writes the same image as an OCI layout, whose index names its platform.
	dir := filepath.Join(t.TempDir(), "image")
	out, _, err = run(t, "image", "--layout", dir, "--platform", "linux/amd64", "--version", "v9.9.9")
	if err != nil || !strings.Contains(out, "wrote "+dir) {
		t.Fatalf("image --layout: %v\n%s", err, out)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 || m.Manifests[0].Platform.Architecture != "amd64" {
		t.Fatalf("the layout's index: %v %+v", err, m)
	}
	if _, _, err := run(t, "image", "--layout", dir, "--platform", "linux/amd64"); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("image --layout into a directory with an image: %v, want a refusal", err)
	}
}
