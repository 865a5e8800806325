package scenario

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/manifest"
)

func TestShippedScenariosParse(t *testing.T) {
	files, _ := filepath.Glob("../../examples/scenarios/*.yaml")
	if len(files) == 0 {
		t.Fatal("no scenarios in examples/scenarios")
	}
	for _, f := range files {
		if _, diags, err := Load(f); err != nil || len(diags) > 0 {
			t.Errorf("%s: %v %v", f, err, diags)
		}
	}
}

func TestScenarioErrors(t *testing.T) {
	_, diags := Parse("s.yaml", []byte(`steps:
  - at: 30s
    interrupt: {pools: ["m5.large/["], fraction: 2}
  - at: 1m
  - at: 2m
    spotCapacity: {pools: ["*"], instances: lots}
    rebalance: {pools: ["*"]}
  - at: soon
    rebalanse: {pools: ["*"]}
  - at: 3m
    interrupt: {pools: ["*"], fraction: 0.5, count: 2}
load: {rps: 10, path: healthcheck}
`))
	var got []string
	for _, d := range diags {
		got = append(got, d.String())
	}
	want := []string{
		`s.yaml:3:25: pool pattern "m5.large/[" is malformed (a glob such as m5.large/* or */us-east-1a)`,
		`s.yaml:3:50: fraction: 2 is out of range: must be between 0 and 1`,
		`s.yaml:4:5: a step needs exactly one action, it has 0 (interrupt, spotCapacity or rebalance)`,
		`s.yaml:5:5: a step needs exactly one action, it has 2 (interrupt, spotCapacity or rebalance)`,
		`s.yaml:6:45: instances: "lots" is not a number of instances or unlimited`,
		`s.yaml:8:5: a step needs exactly one action, it has 0 (interrupt, spotCapacity or rebalance)`,
		`s.yaml:8:9: at: "soon" is not a duration (a Go duration such as 30s, 5m or 1h30m)`,
		`s.yaml:9:5: unknown field "rebalanse" (did you mean "rebalance"?)`,
		`s.yaml:11:53: interrupt sets both fraction and count (keep one of them)`,
		`s.yaml:12:23: load path "healthcheck" does not start with / (such as / or /healthcheck)`,
	}
	diags.Sort()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPoolPatterns(t *testing.T) {
	p := spotfleet.Pool{InstanceType: "m5.large", Zone: "us-east-1a"}
	for pat, want := range map[string]bool{"*": true, "m5.large/*": true, "*/us-east-1a": true, "m5.*": true, "*/us-east-1b": false, "c5.large": false} {
		if got := p.Matches(pat); got != want {
			t.Errorf("%q: got %v", pat, got)
		}
	}
}

// TestScenarioCheckAgainstTheFleet: each pattern that matches none of the fleet's pools is
// a located error, even beside one that matches; a step after the run's end is a warning.
func TestScenarioCheckAgainstTheFleet(t *testing.T) {
	m, diags := manifest.Parse("m.yaml", []byte(`name: t
capacity:
  - {name: spot, instanceTypes: [m5.large, m5a.large, m6i.large], zones: [us-east-1a, us-east-1b]}
services: [{name: w, command: [x]}]
`))
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	sc, diags := Parse("s.yaml", []byte(`steps:
  - at: 1m
    interrupt: {pools: ["m5.large/*", "c5.large/*"], count: 1}
  - at: 20m
    spotCapacity: {pools: ["*/us-east-1c"], instances: 0}
`))
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range sc.Check(m, 10*time.Minute) {
		got = append(got, d.String())
	}
	want := []string{
		`s.yaml:3:39: pool pattern "c5.large/*" matches none of the fleet's pools (the fleet's pools are TYPE/ZONE, such as m5.large/us-east-1a)`,
		`s.yaml:4:9: warning: step at 20m comes after the run ends (--for 10m): it will not happen (raise --for, or move the step earlier)`,
		`s.yaml:5:28: pool pattern "*/us-east-1c" matches none of the fleet's pools (the fleet's pools are TYPE/ZONE, such as m5.large/us-east-1a)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// FuzzParseScenario feeds arbitrary bytes to the scenario parser and its check against a
// fleet: no panic, every finding located.
func FuzzParseScenario(f *testing.F) {
	files, _ := filepath.Glob("../../examples/scenarios/*.yaml")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add([]byte("steps: [{at: 1m, interrupt: {pools: ['[', '*'], count: 2, fraction: 0.5}}]\nload: {rps: 1, path: x}\n"))
	m, diags := manifest.Parse("m.yaml", []byte("name: t\ncapacity: [{name: s, instanceTypes: [m5.large, m5a.large, m6i.large]}]\nservices: [{name: w, command: [x]}]\n"))
	if err := diags.Err(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, diags := Parse("s.yaml", data)
		diags = append(diags, sc.Check(m, time.Hour)...)
		for _, d := range diags {
			if d.Line < 1 || d.Col < 1 || d.Msg == "" {
				t.Fatalf("finding without a position or message: %+v", d)
			}
		}
	})
}

// TestHostileScenariosAreBounded: the shapes that made the YAML library run away (the
// review's 200 KB scenario took 9 s and 437 MB) are refused with a located error, and a
// file over the limit (1 MiB of '&' took 136 s and 2.8 GB) before it is parsed.
func TestHostileScenariosAreBounded(t *testing.T) {
	fill := func(unit string) string { return strings.Repeat(unit, maxScenarioSize/len(unit)) }
	for name, data := range map[string]string{
		"1 MiB of &":         strings.Repeat("&", 1<<20),
		"1 MiB of quotes":    strings.Repeat(`"`, 1<<20),
		"quotes":             fill(`"`),
		"a run of <":         "steps:\n  - at: 1m\n    interrupt: {pools: [" + strings.Repeat("<", 1000) + "], count: 1}\n",
		"empty tags in flow": fill("a: [!]\n"),
		"empty list items":   fill("-\n"),
	} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, diags := Parse("s.yaml", []byte(data))
			runtime.ReadMemStats(&after)
			if diags.Err() == nil {
				t.Fatal("no error")
			}
			if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 250 {
				t.Errorf("allocated %d MB, want at most 250", mb)
			}
			t.Log(diags[0])
		})
	}
}
