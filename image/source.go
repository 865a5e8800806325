package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Module is spotfleet's module path.
const Module = "github.com/spotfleet/spotfleet"

// FindSource is the spotfleet module's source to build the controller from when none is
// given, so that a binary run from a directory of its own can still deploy (issue 30: a
// plain go build has cgo on, and its binary cannot run on the image's empty root): the
// module around dir; else the directory this binary was built from, if it is still
// there (a build without -trimpath records it, and go install ...@vX builds in the module
// cache); else, for a released version, the module cache's copy (go mod download). ""
// when there is none.
func FindSource(ctx context.Context, dir, version string) string {
	if d := moduleAround(dir); d != "" {
		return d
	}
	if d := builtFrom(); d != "" {
		return d
	}
	if version == "" || !strings.HasPrefix(version, "v") {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", Module+"@"+version).Output()
	if err != nil {
		return ""
	}
	var dl struct{ Dir string }
	if json.Unmarshal(out, &dl) != nil || !isModule(dl.Dir) {
		return ""
	}
	return dl.Dir
}

// downloadTimeout bounds fetching a release's source: without a network the go command
// would otherwise keep plan waiting.
const downloadTimeout = 2 * time.Minute

// moduleAround is the spotfleet module that holds dir, or "".
func moduleAround(dir string) string {
	for dir != "" {
		if isModule(dir) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return ""
}

// builtFrom is the module directory this file was compiled in, when the path is absolute
// (no -trimpath) and the module is still there.
func builtFrom() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	if d := filepath.Dir(filepath.Dir(file)); isModule(d) {
		return d
	}
	return ""
}

func isModule(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	first, _, _ := bytes.Cut(b, []byte("\n"))
	return string(bytes.TrimSpace(first)) == "module "+Module
}

// Check says, before anything is changed, whether Build can make the image: with a
// source, that the go command is there to build it; without, that the running binary is
// a static build for each platform. Its error names the ways on.
func Check(o Options) error {
	if o.Source != "" {
		if _, err := exec.LookPath("go"); err != nil {
			return fmt.Errorf("the controller's image is built from %s with the go command, which is not on PATH: install Go, or set aws.controller.image to an image you pushed", o.Source)
		}
		return nil
	}
	for _, p := range o.Platforms {
		if err := runningFits(p); err != nil {
			return err
		}
	}
	return nil
}

// runningFits says why the running binary cannot go into the image of a platform, if it
// cannot.
func runningFits(p v1.Platform) error {
	if p.OS != runtime.GOOS || p.Architecture != runtime.GOARCH || runtime.GOOS != "linux" {
		return fmt.Errorf("no spotfleet source to build the controller's image for %s/%s from: give the source directory (--source DIR), run on linux/%s, or set aws.controller.image to an image you pushed", p.OS, p.Architecture, p.Architecture)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if !static(self) {
		return errors.New("the running spotfleet is not a static build (CGO_ENABLED=1) and no spotfleet source was found to build one: give the source directory (--source DIR), install with CGO_ENABLED=0, or set aws.controller.image to an image you pushed")
	}
	return nil
}
