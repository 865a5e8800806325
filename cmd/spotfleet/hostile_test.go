package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHostileFilesInTheBinary: `spotfleet validate` and `up --scenario` refuse a hostile
// file (1 MiB of one character, or a shape the YAML library is quadratic on repeated to
// the size limit) with a located error, in at most 100 MB of memory (the process's peak
// resident set, as the kernel counts it) and well within a second. The review measured
// 136 s and 2.8 GB for 1 MiB of '&'. BENCHMARKS.md has the figures of each.
func TestHostileFilesInTheBinary(t *testing.T) {
	bin := buildSpotfleet(t)
	dir := t.TempDir()
	fill := func(unit string, size int) string { return strings.Repeat(unit, size/len(unit)) }
	manifest := filepath.Join(dir, "ok.yaml")
	os.WriteFile(manifest, []byte("name: x\ncapacity: [{name: g, instanceTypes: [m5.large]}]\nservices: [{name: w, command: [x]}]\n"), 0o644)
	for name, data := range map[string]string{
		"1 MiB of &":              fill("&", 1<<20),
		"1 MiB of quotes":         fill(`"`, 1<<20),
		"128 KiB of quotes":       fill(`"`, 128<<10),
		"128 KiB of &":            fill("&", 128<<10),
		"128 KiB of <":            fill("<", 128<<10),
		"128 KiB of empty tags":   fill("a: [!]\n", 128<<10),
		"128 KiB of empty values": fill("-\n", 128<<10),
		"128 KiB of ]":            fill("]", 128<<10),
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
			os.WriteFile(file, []byte(data), 0o644)
			for _, args := range [][]string{
				{"validate", "-f", file},
				{"up", "-f", manifest, "--scenario", file, "--api", "127.0.0.1:0"},
			} {
				cmd := exec.Command(bin, args...)
				start := time.Now()
				out, err := cmd.CombinedOutput()
				took := time.Since(start)
				if err == nil || !strings.Contains(string(out), filepath.Base(file)) {
					t.Errorf("%s: %v, want a located error\n%.500s", args[0], err, out)
				}
				rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss >> 10 // KiB on Linux
				t.Logf("%s %s: %v, peak %d MB", name, args[0], took.Round(time.Millisecond), rss)
				if rss > 100 {
					t.Errorf("%s: peak %d MB, want at most 100", args[0], rss)
				}
				if took > 2*time.Second {
					t.Errorf("%s: took %v, want well within a second (2 s on a loaded machine)", args[0], took)
				}
			}
		})
	}
}
