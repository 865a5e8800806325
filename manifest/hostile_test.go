package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/spotfleet/spotfleet/internal/strictyaml"
)

// hostile are manifests under the size limit built to make a parser or a checker run away:
// deep nesting (the YAML parser recurses per level), aliases that multiply a slow check,
// and thousands of mistakes that each cost a did-you-mean search.
func hostile() map[string]string {
	group := "{name: g, instanceTypes: [" + strings.Repeat("zz1.large, ", 30) + "zz2.large]}"
	var many strings.Builder
	many.WriteString("name: x\nservices: [{name: w, command: [x]}]\ncapacity:\n  - name: g\n    instanceTypes:\n")
	for i := 0; many.Len() < maxFileSize-64; i++ {
		fmt.Fprintf(&many, "      - zq%d.large\n", i)
	}
	var refs strings.Builder
	refs.WriteString("name: x\ncapacity: [{name: g, instanceTypes: [m5.large]}]\nservices:\n")
	for i := 0; refs.Len() < maxFileSize-200; i++ {
		fmt.Fprintf(&refs, "  - {name: s%d, command: [x], capacityProviderStrategy: [{capacityProvider: nope%d}]}\n", i, i)
	}
	return map[string]string{
		"20000 brackets":          strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
		"30000 brackets":          strings.Repeat("[", 30000) + strings.Repeat("]", 30000),
		"10000 flow mappings":     strings.Repeat("{a: ", 10000) + "x" + strings.Repeat("}", 10000),
		"20000 compact lists":     strings.Repeat("- ", 20000) + "x",
		"20000 compact maps":      strings.Repeat("a: ", 20000) + "x",
		"350 indented levels":     indented(350),
		"100 aliases of group":    "name: x\nservices: [{name: w, command: [x]}]\ncapacity:\n  - &g " + group + "\n" + strings.Repeat("  - *g\n", 100),
		"aliases of aliases":      aliasBomb(),
		"64 KiB of unknown types": many.String(),
		"64 KiB of unknown refs":  refs.String(),
		// The second review's finds: quadratic in the YAML library's lexer or parser.
		"a run of <":         strings.Repeat("<", maxFileSize),
		"a run of < in text": "name: x" + strings.Repeat("<", maxFileSize-8),
		"empty tags in flow": fill("a: [!]\n"),
		"empty tags":         fill("- !\n"),
		"comments in flow":   fill("a: [#]\n"),
		"brackets and CRs":   fill("[\r"),
		"empty list items":   fill("-\n"),
		"empty values":       fill("a:\n"),
	}
}

// fill repeats unit up to the size limit.
func fill(unit string) string { return strings.Repeat(unit, maxFileSize/len(unit)) }

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
// collector frees as it goes: the peak is what `spotfleet validate` measures in
// TestHostileFilesInTheBinary (cmd/spotfleet), and each takes well under a second
// (BenchmarkHostileManifests, BENCHMARKS.md).
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
		if err == nil || !strings.Contains(err.Error(), "larger than 64 KiB") {
			t.Errorf("Load(%s) = %v, want a size error", path, err)
		}
	}
}

// TestAnyRepeatedUnitIsBounded: a file made of one short unit repeated to the size limit,
// units drawn from what YAML treats specially, is decoded or refused within the same
// allocation bound. The quadratic cases the review and a survey found (a run of '<',
// empty tags, empty values, brackets behind '\r' or '#') were all of this shape; the test
// fails on the code before their fixes. The time bound sits between the linear worst
// (0.2 s) and what a quadratic case takes at this size (from 1 s to minutes).
func TestAnyRepeatedUnitIsBounded(t *testing.T) {
	alphabet := []byte("-:[]{},#&*!|>'\"%@`<?= \t\r\nab0")
	rapid.Check(t, func(t *rapid.T) {
		unit := rapid.SliceOfN(rapid.SampledFrom(alphabet), 1, 8).Draw(t, "unit")
		data := []byte(fill(string(unit)))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		Parse("h.yaml", data)
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 250 {
			t.Fatalf("%q repeated: allocated %d MB, want at most 250", unit, mb)
		}
		if took > 2*time.Second && !raceDetector {
			t.Fatalf("%q repeated: took %v, want well under 2 s", unit, took)
		}
	})
}

// TestManyWarningsNeitherFailNorHideAnError: 500 services with a warning each is a valid
// manifest (the review's `validate` said "1 error(s)" and showed none), and an error after
// them is shown.
func TestManyWarningsNeitherFailNorHideAnError(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: many\ncapacity: [{name: spot, instanceTypes: [m5.large, m5a.large], maxSize: 100}]\nservices:\n")
	for i := range 500 {
		fmt.Fprintf(&b, "  - {name: s%d, command: [sleep, '1000'], desiredCount: 1}\n", i)
	}
	_, diags := Parse("m.yaml", []byte(b.String()))
	if err := diags.Err(); err != nil {
		t.Fatalf("500 warnings: %v", err)
	}
	if n := len(diags); n != strictyaml.MaxDiagnostics+1 || !strings.HasSuffix(diags[n-1].Msg, "more warnings not shown") {
		t.Errorf("%d findings, the last %v; want %d and a line for the warnings not shown", n, diags[n-1], strictyaml.MaxDiagnostics+1)
	}
	b.WriteString("  - {name: late, command: [x], desiredCount: 1, capacityProviderStrategy: [{capacityProvider: nope}]}\n")
	_, diags = Parse("m.yaml", []byte(b.String()))
	errs := diags.Errors()
	if len(errs) != 1 || !strings.Contains(errs[0].Msg, `"nope" does not exist`) {
		t.Errorf("errors = %v, want the unknown capacity provider", errs)
	}
}
