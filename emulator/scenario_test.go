package emulator

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spotfleet/spotfleet"
)

func TestShippedScenariosParse(t *testing.T) {
	files, _ := filepath.Glob("../examples/scenarios/*.yaml")
	if len(files) == 0 {
		t.Fatal("no scenarios in examples/scenarios")
	}
	for _, f := range files {
		if _, diags, err := LoadScenario(f); err != nil || len(diags) > 0 {
			t.Errorf("%s: %v %v", f, err, diags)
		}
	}
}

func TestScenarioErrors(t *testing.T) {
	_, diags := ParseScenario("s.yaml", []byte(`steps:
  - at: 30s
    interrupt: {pools: ["m5.large/["], fraction: 2}
  - at: 1m
  - at: 2m
    spotCapacity: {pools: ["*"], instances: lots}
    rebalance: {pools: ["*"]}
  - at: soon
    rebalanse: {pools: ["*"]}
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
	}
	diags.Sort()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPoolPatterns(t *testing.T) {
	p := spotfleet.Pool{InstanceType: "m5.large", Zone: "us-east-1a"}
	for pat, want := range map[string]bool{"*": true, "m5.large/*": true, "*/us-east-1a": true, "m5.*": true, "*/us-east-1b": false, "c5.large": false} {
		if got := poolMatches(pat, p); got != want {
			t.Errorf("%q: got %v", pat, got)
		}
	}
}
