// Package scenario reads the scenario files of `spotfleet up` and `simulate`: what the Spot
// market does when (steps), the built-in load, the market model and the boot times, with
// the same strict decoding and FILE:LINE:COL findings as the manifest.
package scenario

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/internal/strictyaml"
	"github.com/spotfleet/spotfleet/manifest"
)

// Scenario scripts the Spot market of a run: what happens when, the built-in load, and the
// market model. Times are emulated, from the start of the run.
type Scenario struct {
	Steps    []Step              `yaml:"steps,omitempty" doc:"What the market does, in order of time."`
	Load     *LoadSpec           `yaml:"load,omitempty" doc:"Built-in open-loop load on the first load balancer listener."`
	Market   MarketSpec          `yaml:"market" doc:"Interruptions beyond the steps."`
	BootTime strictyaml.Duration `yaml:"bootTime" default:"60s" min:"1s" max:"30m" doc:"How long an instance takes from launch to running (and its ECS agent registered)."`
	// FargateStartTime: AWS publishes no figure (fargate.go).
	FargateStartTime strictyaml.Duration `yaml:"fargateStartTime" default:"40s" min:"1s" max:"30m" doc:"How long a Fargate task takes from placement to RUNNING (network interface, image pull, container start)."`

	src *strictyaml.Source // where each step is, for the checks against a fleet (Check)
}

// Step is one scripted market event; exactly one of its actions is set.
type Step struct {
	At           strictyaml.Duration `yaml:"at" required:"true" min:"0s" doc:"When, from the start of the run."`
	Interrupt    *InterruptStep      `yaml:"interrupt,omitempty" doc:"Give Spot instances their 2-minute notice."`
	SpotCapacity *CapacityStep       `yaml:"spotCapacity,omitempty" doc:"Set the free Spot capacity of pools: new launches beyond it fail with InsufficientInstanceCapacity."`
	Rebalance    *RebalanceStep      `yaml:"rebalance,omitempty" doc:"Give Spot instances a rebalance recommendation."`
}

// InterruptStep interrupts a share (or a number) of the Spot instances in some pools.
type InterruptStep struct {
	Pools    []string `yaml:"pools" required:"true" doc:"Pools as TYPE/ZONE globs, such as m5.large/* or */us-east-1a; FARGATE_SPOT/* for Fargate Spot tasks."`
	Fraction float64  `yaml:"fraction" min:"0" max:"1" doc:"Share of their Spot instances and Fargate Spot tasks to interrupt, rounded up."`
	Count    int      `yaml:"count" min:"0" doc:"Number of Spot instances and Fargate Spot tasks to interrupt (instead of fraction)."`
}

// CapacityStep sets free Spot capacity.
type CapacityStep struct {
	Pools     []string `yaml:"pools" required:"true" doc:"Pools as TYPE/ZONE globs."`
	Instances Count    `yaml:"instances" required:"true" doc:"Free Spot instances per pool (tasks for FARGATE_SPOT pools), or unlimited."`
}

// RebalanceStep sends rebalance recommendations.
type RebalanceStep struct {
	Pools []string `yaml:"pools" required:"true" doc:"Pools as TYPE/ZONE globs."`
	Count int      `yaml:"count" default:"1" min:"1" doc:"How many instances get one."`
}

// LoadSpec is the built-in load.
type LoadSpec struct {
	RPS  float64 `yaml:"rps" required:"true" min:"0.1" max:"100000" doc:"Requests per second of emulated time, sent whether or not earlier ones answered: under up --speed N, N times as many leave per real second, so a run's requests do not depend on its speed."`
	Path string  `yaml:"path" default:"/" doc:"Request path, starting with /."`
}

// MarketSpec chooses the market model.
type MarketSpec struct {
	Model     string  `yaml:"model" default:"scripted" enum:"scripted,advisor" doc:"scripted: only the steps interrupt. advisor: also each type's Spot Advisor interruption band, in bursts per pool."`
	Seed      uint64  `yaml:"seed" doc:"Seed of the market's randomness."`
	Intensity float64 `yaml:"intensity" default:"1" min:"0" max:"100000" doc:"Multiplies the advisor rates (a few percent a month) so that a short run sees interruptions."`
}

// Count is a number of instances, or Unlimited.
type Count int

// DecodeScalar accepts a whole number or "unlimited".
func (c *Count) DecodeScalar(s string) error {
	if s == "unlimited" {
		*c = Unlimited
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a number of instances or unlimited", s)
	}
	*c = Count(n)
	return nil
}

func (c Count) MarshalYAML() (any, error) {
	if c == Unlimited {
		return "unlimited", nil
	}
	return int(c), nil
}

// maxScenarioSize bounds what is read of a scenario file: a script of a few steps.
const maxScenarioSize = strictyaml.MaxFileSize

// Load reads and checks a scenario file.
func Load(file string) (*Scenario, strictyaml.Diagnostics, error) {
	data, err := strictyaml.ReadFile(file, maxScenarioSize)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the scenario: %w", err)
	}
	sc, diags := Parse(file, data)
	return sc, diags, nil
}

// Parse decodes a scenario strictly; every step must have exactly one action.
func Parse(file string, data []byte) (*Scenario, strictyaml.Diagnostics) {
	sc := &Scenario{}
	src, diags := strictyaml.Decode(file, data, sc)
	sc.src = src
	if l := sc.Load; l != nil && !strings.HasPrefix(l.Path, "/") && !src.Failed("load.path") {
		diags = append(diags, src.At("load.path", strictyaml.Error, "such as / or /healthcheck", "load path %q does not start with /", l.Path))
	}
	for i, st := range sc.Steps {
		p := fmt.Sprintf("steps[%d]", i)
		n := 0
		for _, set := range []bool{st.Interrupt != nil, st.SpotCapacity != nil, st.Rebalance != nil} {
			if set {
				n++
			}
		}
		if n != 1 && !src.Failed(p) {
			diags = append(diags, src.At(p, strictyaml.Error, "interrupt, spotCapacity or rebalance", "a step needs exactly one action, it has %d", n))
		}
		for j, pat := range st.Pools() {
			if _, err := path.Match(pat, ""); err != nil {
				diags = append(diags, src.At(fmt.Sprintf("%s.%s.pools[%d]", p, actionOf(st), j), strictyaml.Error, "a glob such as m5.large/* or */us-east-1a", "pool pattern %q is malformed", pat))
			}
		}
		if st.Interrupt != nil && st.Interrupt.Fraction == 0 && st.Interrupt.Count == 0 &&
			!src.Failed(p+".interrupt.fraction") && !src.Failed(p+".interrupt.count") {
			diags = append(diags, src.At(p+".interrupt", strictyaml.Error, "set fraction (0-1) or count", "interrupt of nothing"))
		}
		if st.Interrupt != nil && src.Has(p+".interrupt.fraction") && src.Has(p+".interrupt.count") {
			diags = append(diags, src.At(p+".interrupt.count", strictyaml.Error, "keep one of them", "interrupt sets both fraction and count"))
		}
	}
	diags.Sort()
	return sc, diags
}

func actionOf(st Step) string {
	switch {
	case st.Interrupt != nil:
		return "interrupt"
	case st.SpotCapacity != nil:
		return "spotCapacity"
	}
	return "rebalance"
}

// Pools are the pool patterns the step acts on.
func (st Step) Pools() []string {
	switch {
	case st.Interrupt != nil:
		return st.Interrupt.Pools
	case st.SpotCapacity != nil:
		return st.SpotCapacity.Pools
	case st.Rebalance != nil:
		return st.Rebalance.Pools
	}
	return nil
}

// Check holds the scenario against the fleet it plays on: every pool pattern must match one
// of the fleet's pools, and a step after the end of a run of length runFor (0: no end) never
// happens, which is worth a warning.
func (sc *Scenario) Check(m *manifest.Manifest, runFor time.Duration) strictyaml.Diagnostics {
	src := sc.src
	if src == nil {
		src = &strictyaml.Source{}
	}
	pools := m.SpotPools()
	var diags strictyaml.Diagnostics
	for i, st := range sc.Steps {
		p := fmt.Sprintf("steps[%d]", i)
		for j, pat := range st.Pools() {
			if !slices.ContainsFunc(pools, func(pl spotfleet.Pool) bool { return pl.Matches(pat) }) {
				diags = append(diags, src.At(fmt.Sprintf("%s.%s.pools[%d]", p, actionOf(st), j), strictyaml.Error,
					fmt.Sprintf("the fleet's pools are TYPE/ZONE, such as %s", pools[0]), "pool pattern %q matches none of the fleet's pools", pat))
			}
		}
		if runFor > 0 && st.At.D() > runFor {
			diags = append(diags, src.At(p+".at", strictyaml.Warning, "raise --for, or move the step earlier",
				"step at %s comes after the run ends (--for %s): it will not happen", st.At, strictyaml.Duration(runFor)))
		}
	}
	diags.Sort()
	return diags
}

// Unlimited is free Spot capacity with no bound.
const Unlimited Count = -1

// DefaultBootTime is how long an instance takes to boot when the scenario does not say.
const DefaultBootTime = 60 * time.Second
