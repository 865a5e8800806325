package main

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
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
		{[]string{"image"}, "--to is required"},
		{[]string{"image", "--to", ref, "--platform", "windows/amd64"}, "use linux/amd64 or linux/arm64"},
	} {
		if _, _, err := run(t, bad.args...); err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("%v: %v, want %q", bad.args, err, bad.msg)
		}
	}
}
