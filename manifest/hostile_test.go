package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spotfleet/spotfleet/internal/strictyaml"
)

// hostile are manifests under the size limit built to make a parser or a checker run away:
// deep nesting (the YAML parser recurses per level), aliases that multiply a slow check,
// and thousands of mistakes that each cost a did-you-mean search.
func hostile() map[string]string {
	group := "{name: g, instanceTypes: [" + strings.Repeat("zz1.large, ", 30) + "zz2.large]}"
	var many strings.Builder
	many.WriteString("name: x\nservices: [{name: w, command: [x]}]\ncapacity:\n  - name: g\n    instanceTypes:\n")
	for i := 0; many.Len() < 1<<20-64; i++ {
		fmt.Fprintf(&many, "      - zq%d.large\n", i)
	}
	var refs strings.Builder
	refs.WriteString("name: x\ncapacity: [{name: g, instanceTypes: [m5.large]}]\nservices:\n")
	for i := 0; refs.Len() < 1<<20-200; i++ {
		fmt.Fprintf(&refs, "  - {name: s%d, command: [x], capacityProviderStrategy: [{capacityProvider: nope%d}]}\n", i, i)
	}
	return map[string]string{
		"20000 brackets":         strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
		"500000 brackets":        strings.Repeat("[", 500000) + strings.Repeat("]", 500000),
		"20000 flow mappings":    strings.Repeat("{a: ", 20000) + "x" + strings.Repeat("}", 20000),
		"20000 compact lists":    strings.Repeat("- ", 20000) + "x",
		"20000 compact maps":     strings.Repeat("a: ", 20000) + "x",
		"1000 indented levels":   indented(1000),
		"100 aliases of group":   "name: x\nservices: [{name: w, command: [x]}]\ncapacity:\n  - &g " + group + "\n" + strings.Repeat("  - *g\n", 100),
		"aliases of aliases":     aliasBomb(),
		"1 MiB of unknown types": many.String(),
		"1 MiB of unknown refs":  refs.String(),
	}
}

func indented(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat(" ", i) + "a:\n")
	}
	return b.String()
}

// aliasBomb is the billion laughs: each level lists the previous one ten times.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("name: x\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [%s]\n", i, i, strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 9)+fmt.Sprintf("*a%d", i-1))
	}
	b.WriteString("capacity: *a8\n")
	return b.String()
}

// TestHostileManifestsAreBounded: each is refused with a located error, and allocates at
// most 250 MB in all (the runaways allocated gigabytes). Allocation adds up what the garbage
// collector frees as it goes: `spotfleet validate` of the 1 MiB cases peaks at 95 MB of
// memory, and each takes well under a second (BenchmarkHostileManifests, BENCHMARKS.md).
func TestHostileManifestsAreBounded(t *testing.T) {
	for name, data := range hostile() {
		t.Run(name, func(t *testing.T) {
			if len(data) > maxFileSize {
				t.Fatalf("the case is %d bytes, over the limit", len(data))
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, diags := Parse("h.yaml", []byte(data))
			runtime.ReadMemStats(&after)
			if diags.Err() == nil {
				t.Fatal("no error")
			}
			if len(diags) > strictyaml.MaxDiagnostics+1 {
				t.Errorf("%d findings, want at most %d and a line for the rest", len(diags), strictyaml.MaxDiagnostics)
			}
			if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 250 {
				t.Errorf("allocated %d MB, want at most 250", mb)
			}
			t.Log(diags[0], "...", len(diags), "findings")
		})
	}
}

func BenchmarkHostileManifests(b *testing.B) {
	for name, data := range hostile() {
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			for b.Loop() {
				Parse("h.yaml", []byte(data))
			}
		})
	}
}

// TestLoadReadsThroughALimit: a device that never ends, or a file over the limit, is refused
// after reading the limit, not read into memory.
func TestLoadReadsThroughALimit(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, make([]byte, maxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/zero", big} {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		_, _, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), "larger than 1024 KiB") {
			t.Errorf("Load(%s) = %v, want a size error", path, err)
		}
	}
}
