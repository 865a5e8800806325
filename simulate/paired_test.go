package simulate

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/spotfleet/spotfleet/clock"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/emulator/market"
	"github.com/spotfleet/spotfleet/local"
	"github.com/spotfleet/spotfleet/manifest"
)

// poolsSeen runs a manifest under a controller and reads, every 10 minutes of a day,
// which of its pools have Spot capacity, by pool.
func poolsSeen(t *testing.T, in Input, kind local.Kind, seed uint64) map[string][]bool {
	t.Helper()
	clk := clock.NewVirtual(epoch)
	eo := local.EmulatorOptions(in.Manifest, nil)
	eo.Clock, eo.Simulated, eo.Seed = clk, true, seed
	eo.Market = market.Options{Model: market.Stress, Intensity: 3}
	e, err := emulator.New(quiet(in.Manifest), eo)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	cfg := local.Config(in.Manifest, e, clk, slog.New(slog.DiscardHandler))
	cfg.Sequential, cfg.Tick = true, controllerTick
	st, err := local.New(kind, cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]bool{}
	var emulated atomic.Int64
	for at := epoch.Add(10 * time.Minute); !at.After(epoch.Add(24 * time.Hour)); at = at.Add(10 * time.Minute) {
		drive(context.Background(), e, clk, st, at, time.Hour, false, &emulated)
		for i, ok := range e.PoolsAvailable() {
			p := e.Pools()[i].String()
			out[p] = append(out[p], ok)
		}
	}
	return out
}

// TestRunsArePaired: in run i, every controller and every manifest sees the same market:
// a pool two manifests share has capacity at the same moments, whatever the fleets do.
func TestRunsArePaired(t *testing.T) {
	s1 := load(t, "../examples/s1-spot-with-ondemand-backup.yaml")
	review := load(t, "testdata/review.yaml")
	var seen []map[string][]bool
	for _, in := range []Input{s1, review} {
		for _, k := range []local.Kind{local.Spotfleet, local.None} {
			seen = append(seen, poolsSeen(t, in, k, 11))
		}
	}
	shared := 0
	for p, ref := range seen[0] {
		for i, s := range seen[1:] {
			if got, ok := s[p]; ok {
				shared++
				if !slices.Equal(got, ref) {
					t.Errorf("pool %s: fleet %d saw another market than fleet 0", p, i+1)
				}
			}
		}
	}
	if shared < 4 {
		t.Fatalf("%d pools shared: the test needs manifests with pools in common", shared)
	}
	lost := false
	for _, ref := range seen[0] {
		lost = lost || slices.Contains(ref, false)
	}
	if !lost {
		t.Error("no pool lost capacity in a day at intensity 3: nothing was compared")
	}
}

// TestIntervalsStayPossible: an interval never leaves what its figure can be, however few
// or scattered the runs: an availability within 0-100%, a difference of two within ±100
// points, a cost at least 0.
func TestIntervalsStayPossible(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 12).Draw(rt, "runs")
		xs := rapid.SliceOfN(rapid.Float64Range(0, 100), n, n).Draw(rt, "xs")
		ys := rapid.SliceOfN(rapid.Float64Range(0, 100), n, n).Draw(rt, "ys")
		s := statOf(xs, percent)
		if s.CI95[0] < 0 || s.CI95[1] > 100 || s.CI95[0] > s.Mean || s.CI95[1] < s.Mean || s.Min > s.P5 || s.P95 > s.Max {
			rt.Fatalf("%v: %+v", xs, s)
		}
		d := diffOf(xs, ys, bounds{-100, 100})
		if d.CI95[0] < -100 || d.CI95[1] > 100 || d.CI95[0] > d.Mean || d.CI95[1] < d.Mean {
			rt.Fatalf("%v − %v: %+v", xs, ys, d)
		}
		if c := statOf(xs, nonNegative); c.CI95[0] < 0 {
			rt.Fatalf("a cost's interval below 0: %+v", c)
		}
	})
}

// TestCapacityStrategiesSeeFewerInterruptions: pools hold a finite depth, so the Spot
// allocation strategies differ as AWS documents: over 10 runs of 30 days (advisor market,
// intensity 4), a group of 30 large instances on lowest-price, crowded into the cheapest
// pools, is interrupted more often than on capacity-optimized or price-capacity-optimized,
// and pays less.
func TestCapacityStrategiesSeeFewerInterruptions(t *testing.T) {
	const fleet = `name: depth
workload: instances
capacity:
  - name: spot
    instanceTypes: [c5.9xlarge, c5a.8xlarge, m5.8xlarge, r5.8xlarge]
    zones: [us-east-1a, us-east-1b, us-east-1c]
    minSize: 30
    maxSize: 40
    desiredCapacity: 30
    spotAllocationStrategy: %s
instances: {name: app, command: [app]}
`
	var inputs []Input
	for _, s := range []manifest.AllocationStrategy{manifest.LowestPrice, manifest.CapacityOptimized, manifest.PriceCapacityOptimized} {
		m, diags := manifest.Parse(string(s)+".yaml", []byte(fmt.Sprintf(fleet, s)))
		if err := diags.Err(); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, Input{Name: string(s), Manifest: m})
	}
	rep, err := Run(context.Background(), Options{Manifests: inputs, Controllers: []local.Kind{local.None}, Duration: 30 * 24 * time.Hour,
		Runs: 10, Seed: 1, Market: market.Advisor, Intensity: 4, Baseline: string(manifest.LowestPrice)})
	if err != nil {
		t.Fatal(err)
	}
	lowest := rep.Results[0]
	for _, x := range rep.Results[1:] {
		t.Logf("%s: %.1f interruptions, $%.0f; lowest-price %.1f, $%.0f", x.Manifest, x.Interruptions.Mean, x.CostUSD.Mean, lowest.Interruptions.Mean, lowest.CostUSD.Mean)
		if x.Interruptions.Mean >= lowest.Interruptions.Mean/2 || x.CostUSD.Mean <= lowest.CostUSD.Mean || x.VsBaseline.AvailabilityPercent.CI95[0] < 0 {
			t.Errorf("%s: %.1f interruptions at $%.0f, %+v points of availability; lowest-price %.1f at $%.0f", x.Manifest,
				x.Interruptions.Mean, x.CostUSD.Mean, x.VsBaseline.AvailabilityPercent, lowest.Interruptions.Mean, lowest.CostUSD.Mean)
		}
	}
}

// TestSpotfleetIsAtLeastAsAvailable: on every example and on the review's fleet, over 8
// runs of 14 days of the stress market, spotfleet's fleets are at least as available as
// ECS alone's and the seed controller's in the same runs, and fail no more requests.
func TestSpotfleetIsAtLeastAsAvailable(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of simulations")
	}
	files, _ := filepath.Glob("../examples/*.yaml")
	files = append(files, "testdata/review.yaml")
	var inputs []Input
	for _, f := range files {
		in := load(t, f)
		in.Name = strings.TrimSuffix(filepath.Base(f), ".yaml")
		inputs = append(inputs, in)
	}
	for _, base := range []local.Kind{local.None, local.Seed} {
		rep, err := Run(context.Background(), Options{Manifests: inputs, Controllers: []local.Kind{local.Spotfleet, base},
			Duration: 14 * 24 * time.Hour, Runs: 8, Seed: 1, Market: market.Stress, Baseline: string(base)})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range rep.Results {
			c := x.VsBaseline
			if c == nil {
				continue
			}
			t.Logf("%s against %s: availability %+.4f points [%+.4f, %+.4f], failed requests %+.4f points", x.Manifest, base,
				c.AvailabilityPercent.Mean, c.AvailabilityPercent.CI95[0], c.AvailabilityPercent.CI95[1], c.RequestsFailedPercent.Mean)
			if c.AvailabilityPercent.Mean < 0 || c.RequestsFailedPercent.Mean > 0 {
				t.Errorf("%s: spotfleet %+.4f points of availability and %+.4f of failed requests against %s", x.Manifest,
					c.AvailabilityPercent.Mean, c.RequestsFailedPercent.Mean, base)
			}
		}
	}
}

// TestDeltasKeepThePicture: the controller keeps its picture of the fleet from round to
// round by the emulator's deltas; after every delta of three days of every example, the
// review's fleet and 300 tasks on the stress market, the picture is what a full snapshot
// says, index and counts alike (the controller panics otherwise).
func TestDeltasKeepThePicture(t *testing.T) {
	defer func(v bool) { verifyDeltas = v }(verifyDeltas)
	verifyDeltas = true
	files, _ := filepath.Glob("../examples/*.yaml")
	files = append(files, "testdata/review.yaml")
	inputs := []Input{{Name: "large", Manifest: largeManifest(t, 300)}}
	for _, f := range files {
		inputs = append(inputs, load(t, f))
	}
	rep, err := Run(context.Background(), Options{Manifests: inputs, Controllers: []local.Kind{local.Spotfleet},
		Duration: 3 * 24 * time.Hour, Runs: 1, Seed: 2, Market: market.Stress, Intensity: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range rep.Results {
		if x.Interruptions.Mean == 0 && x.Manifest != "../examples/s3-fargate-spot.yaml" {
			t.Logf("%s: no interruption in three days", x.Manifest)
		}
	}
}
