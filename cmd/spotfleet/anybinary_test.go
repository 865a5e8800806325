package main

import (
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spotfleet/spotfleet/internal/testing/imagetest"
	"github.com/spotfleet/spotfleet/internal/testing/motoserver"
)

// TestAnyBinaryDeploys: a plain go build of spotfleet (cgo on, as go build and go install
// give on a machine with a C compiler), copied to a directory of the user's own with only a
// manifest, plans and applies a fleet with its controller on moto to the end: its image is
// built from the source the binary was built from. (The review's binary created 8
// resources and stopped at the image, naming a --source that apply did not have; what a
// binary with no source at hand is told: image.TestCheckSaysWhatToDo.)
func TestAnyBinaryDeploys(t *testing.T) {
	if testing.Short() {
		t.Skip("builds spotfleet and applies a fleet on moto")
	}
	srv, skip := motoserver.Start()
	if srv == nil {
		t.Skip(skip)
	}
	defer srv.Stop()
	srv.Env(t.Setenv)
	host := imagetest.Registry(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}

	home := t.TempDir()
	build := func(name string, args ...string) string {
		bin := filepath.Join(home, name)
		cmd := exec.Command("go", append(append([]string{"build"}, args...), "-o", bin, ".")...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("cannot build spotfleet with cgo on (no C compiler?): %v\n%s", err, out)
		}
		return bin
	}
	plain := build("spotfleet")
	if info, err := buildinfo.ReadFile(plain); err != nil || !strings.Contains(info.String(), "CGO_ENABLED=1") {
		t.Fatalf("the plain build is not a cgo one: %v\n%v", err, info)
	}
	manifest, err := os.ReadFile("../../examples/s2-web-app-spot-instances-alb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() // the user's own: a manifest, no source around
	if err := os.WriteFile(filepath.Join(dir, "spotfleet.yaml"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	spotfleet := func(bin string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	if out, err := spotfleet(plain, "plan", "-f", "spotfleet.yaml", "--registry", host); err != nil || !strings.Contains(out, "to create, 0 to update") {
		t.Fatalf("plan by the plain build: %v\n%s", err, out)
	}
	out, err := spotfleet(plain, "apply", "-f", "spotfleet.yaml", "--registry", host, "--approve")
	if err != nil || !strings.Contains(out, "Applied.") || !strings.Contains(out, "building spotfleet for linux/amd64 from "+root) {
		t.Fatalf("apply by the plain build: %v, want its image built from %s\n%s", err, root, out)
	}
	if out, err = spotfleet(plain, "plan", "-f", "spotfleet.yaml", "--registry", host); err != nil || !strings.Contains(out, "No changes") {
		t.Fatalf("plan after apply: %v\n%s", err, out)
	}
}
