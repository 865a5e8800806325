package manifest

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bytes to the manifest parser: it must never panic, every
// diagnostic must carry a position, and whatever parses without errors must round-trip.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../examples/*.yaml")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "name: web", "- a", "a: &x [*x]", "name: &n web\nregion: *n\n", "<<: {a: 1}",
		base, base + "services: [{name: w, command: [x], stopTimeout: 1e9s}]",
		base + "services: [{name: w, command: [x], port: 99999999999999999999}]",
		"name: web\ncapacity: [{name: s, instanceTypes: [{type: m5.large, weight: 2}], zones: []}]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a bug too: fail with the input instead of stalling the fuzzer.
		var m *Manifest
		var diags Diagnostics
		done := make(chan struct{})
		go func() { m, diags = Parse("fuzz.yaml", data); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Parse did not return within 5s on %q", data)
		}
		for _, d := range diags {
			if d.Line < 1 || d.Col < 1 || d.Msg == "" {
				t.Fatalf("diagnostic without a position or message: %+v", d)
			}
		}
		if len(diags.Errors()) == 0 {
			roundTrip(t, "fuzz.yaml", m)
		}
	})
}
