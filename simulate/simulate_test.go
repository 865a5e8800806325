package simulate

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet/emulator/market"
	"github.com/spotfleet/spotfleet/internal/spotdata"
	"github.com/spotfleet/spotfleet/local"
	"github.com/spotfleet/spotfleet/manifest"
)

func load(t testing.TB, file string) Input {
	t.Helper()
	m, diags, err := manifest.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	return Input{Name: file, Manifest: m}
}

var wall = regexp.MustCompile(`"wallSeconds": [0-9.e+-]+`)

// TestSameOptionsSameReport: a simulation is a function of its options: the same flags
// give the same JSON, byte for byte, but for the wall times.
func TestSameOptionsSameReport(t *testing.T) {
	o := Options{Manifests: []Input{load(t, "../examples/s3-ecs-service-autoscaled.yaml")},
		Controllers: []local.Kind{local.Spotfleet, local.None}, Duration: 2 * 24 * time.Hour, Runs: 2, Seed: 3, Market: market.Stress}
	var out [2][]byte
	for i := range out {
		rep, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		b, err := rep.JSON()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = wall.ReplaceAll(b, []byte(`"wallSeconds": 0`))
	}
	if !bytes.Equal(out[0], out[1]) {
		os.WriteFile(t.TempDir()+"/a.json", out[0], 0o644)
		t.Fatalf("two runs of the same options differ:\n%s\n---\n%s", out[0], out[1])
	}
}

// BenchmarkMonthS3 is 30 days of the S3 example under the spotfleet controller on the
// stress market, one run on one core (goal: at most 5 s).
func BenchmarkMonthS3(b *testing.B) {
	warmMarket(b)
	o := Options{Manifests: []Input{load(b, "../examples/s3-ecs-service-autoscaled.yaml")},
		Controllers: []local.Kind{local.Spotfleet}, Duration: 30 * 24 * time.Hour, Runs: 1, Seed: 1, Market: market.Stress, Parallel: 1}
	for b.Loop() {
		if _, err := Run(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
}

// largeFleet is a fleet of a tenth as many instances as tasks: a quarter On-Demand, the
// rest on six Spot types in three zones, with a fallback; its services (each at most ECS's
// 5,000 tasks) follow.
const largeFleet = `name: large
capacity:
  - name: on-demand
    instanceTypes: [m5.xlarge, m6i.xlarge]
    zones: [us-east-1a, us-east-1b, us-east-1c]
    maxSize: %[1]d
    onDemandPercentageAboveBaseCapacity: 100
  - name: spot
    instanceTypes: [m5.xlarge, m5a.xlarge, m5d.xlarge, m6i.xlarge, m6a.xlarge, m7i.xlarge]
    zones: [us-east-1a, us-east-1b, us-east-1c]
    maxSize: %[1]d
fallback: {from: spot, to: on-demand}
services:
`

const largeService = `  - name: web%[1]d
    command: [web]
    desiredCount: %[2]d
    cpu: 384
    memory: 768
    capacityProviderStrategy:
      - {capacityProvider: on-demand, weight: 1}
      - {capacityProvider: spot, weight: 3}
    loadBalancer: {listenerPort: %[3]d, deregistrationDelay: 10s}
`

// BenchmarkMonthLargeFleet is 30 days (SIM_DAYS) of 1,000 tasks on about 100 instances
// under the spotfleet controller on the default market (SIM_MARKET), one run on one core
// (goal: at most 5 s).
func BenchmarkMonthLargeFleet(b *testing.B) {
	warmMarket(b)
	m := largeManifest(b, 1000)
	o := Options{Manifests: []Input{{Name: "large", Manifest: m}},
		Controllers: []local.Kind{local.Spotfleet}, Duration: benchDays() * 24 * time.Hour, Runs: 1, Seed: 1, Market: benchMarket(), Parallel: 1}
	for b.Loop() {
		if _, err := Run(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
}

// warmMarket fits the market before the clock runs: once a process (0.8 s), not a
// simulation's cost.
func warmMarket(b *testing.B) {
	if _, err := market.Default(); err != nil {
		b.Fatal(err)
	}
}

// benchMarket is SIM_MARKET, the default market (advisor) when unset.
func benchMarket() string {
	if m := os.Getenv("SIM_MARKET"); m != "" {
		return m
	}
	return market.Advisor
}

// benchDays is SIM_DAYS (for profiling a shorter run), 30 by default.
func benchDays() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("SIM_DAYS") + "h"); err == nil && d > 0 {
		return time.Duration(d.Hours())
	}
	return 30
}

func largeManifest(tb testing.TB, tasks int) *manifest.Manifest {
	// Room for every task on either group, with a fifth to spare (ten tasks an instance).
	y := fmt.Sprintf(largeFleet, max(200, tasks/10*6/5))
	for i := 0; tasks > 0; i++ {
		n := min(tasks, 5000)
		y += fmt.Sprintf(largeService, i+1, n, 8080+i)
		tasks -= n
	}
	m, diags := manifest.Parse("large.yaml", []byte(y))
	if err := diags.Err(); err != nil {
		tb.Fatal(err)
	}
	return m
}

// BenchmarkGrowth shows how a simulation's time grows with the fleet: 30 days (SIM_DAYS) of
// 100 to 10,000 tasks (a task per 0.1 instance) on the default market (SIM_MARKET), one
// core, and prints the exponent of a power law fitted to the times (1 is linear).
func BenchmarkGrowth(b *testing.B) {
	sizes := []int{100, 300, 1000, 3000, 10000}
	if s := os.Getenv("SIM_TASKS"); s != "" { // a subset, for profiling
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				b.Fatal(err)
			}
			sizes = append(sizes, n)
		}
	}
	warmMarket(b)
	var xs, ys []float64
	for _, tasks := range sizes {
		b.Run(fmt.Sprintf("tasks=%d", tasks), func(b *testing.B) {
			o := Options{Manifests: []Input{{Name: "large", Manifest: largeManifest(b, tasks)}}, Controllers: []local.Kind{local.Spotfleet},
				Duration: benchDays() * 24 * time.Hour, Runs: 1, Seed: 1, Market: benchMarket(), Parallel: 1}
			start := time.Now()
			n := 0
			for b.Loop() {
				if _, err := Run(context.Background(), o); err != nil {
					b.Fatal(err)
				}
				n++
			}
			xs, ys = append(xs, math.Log(float64(tasks))), append(ys, math.Log(time.Since(start).Seconds()/float64(n)))
		})
	}
	if len(xs) > 1 {
		fmt.Printf("BenchmarkGrowth: time grows as tasks^%.2f (%d sizes, %s market, %d days)\n", slope(xs, ys), len(xs), benchMarket(), int64(benchDays()))
	}
}

// slope is the least-squares slope of ys on xs.
func slope(xs, ys []float64) float64 {
	var mx, my float64
	for i := range xs {
		mx, my = mx+xs[i], my+ys[i]
	}
	mx, my = mx/float64(len(xs)), my/float64(len(xs))
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	return sxy / sxx
}

// TestEveryExampleUnderEveryController: each example runs under each controller on each
// market, and the figures hold together.
func TestEveryExampleUnderEveryController(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.yaml")
	var inputs []Input
	for _, f := range files {
		inputs = append(inputs, load(t, f))
	}
	traces := []spotdata.Trace{{Name: "t", Gap: time.Hour, Nodes: 1, Count: []int{1, 1, 1, 0, 1, 0, 0, 1}}}
	for _, model := range []string{market.Stress, market.Advisor, market.Trace} {
		rep, err := Run(context.Background(), Options{Manifests: inputs, Controllers: []local.Kind{local.Spotfleet, local.Seed, local.None},
			Duration: 2 * 24 * time.Hour, Runs: 2, Seed: 5, Market: model, Traces: traces, Baseline: string(local.None)})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Results) != 3*len(inputs) {
			t.Fatalf("%d results, want %d", len(rep.Results), 3*len(inputs))
		}
		for _, x := range rep.Results {
			a, f := x.AvailabilityPercent, x.RequestsFailedPercent
			if a.Mean <= 0 || a.CI95[1] > 100 || a.Max > 100 || f.CI95[0] < 0 || f.Max > 100 || x.CostUSD.Mean <= 0 ||
				x.CostUSD.Mean > x.AllOnDemandUSD.Mean+1e-9 || x.OnDemandFleetUSD.Mean <= 0 {
				t.Errorf("%s market, %s under %s: availability %+v, failed %+v, cost %.2f, all On-Demand %.2f, On-Demand fleet %.2f",
					model, x.Manifest, x.Controller, a, f, x.CostUSD.Mean, x.AllOnDemandUSD.Mean, x.OnDemandFleetUSD.Mean)
			}
			if len(x.Services) == 0 || (x.Controller != string(local.None)) != (x.VsBaseline != nil) {
				t.Errorf("%s under %s: %d services, comparison %+v", x.Manifest, x.Controller, len(x.Services), x.VsBaseline)
			}
		}
	}
}

// TestHTMLReportHasBothCharts: the HTML report is one page with the table, the cost against
// availability chart, and a timeline per manifest × controller, as inline SVG.
func TestHTMLReportHasBothCharts(t *testing.T) {
	rep, err := Run(context.Background(), Options{Manifests: []Input{load(t, "../examples/s1-spot-with-ondemand-backup.yaml")},
		Controllers: []local.Kind{local.Spotfleet, local.None}, Duration: 3 * 24 * time.Hour, Runs: 2, Seed: 1, Market: market.Stress})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := strings.Count(page, "<svg"); n != 3 {
		t.Errorf("%d charts, want 3 (one scatter, two timelines)", n)
	}
	for _, want := range []string{"Cost against availability", "spotfleet, run 1", "none, run 1", "interruption notices", `<table id="results">`, "stress"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestFargateSpotUnderStress: on the stress market Fargate Spot pools lose their capacity
// and their tasks as instance pools do; ECS alone stays short until capacity returns,
// spotfleet covers on FARGATE, paying for it.
func TestFargateSpotUnderStress(t *testing.T) {
	rep, err := Run(context.Background(), Options{Manifests: []Input{load(t, "../examples/s3-fargate-spot.yaml")},
		Controllers: []local.Kind{local.Spotfleet, local.None}, Duration: 30 * 24 * time.Hour, Runs: 3, Seed: 1, Market: market.Stress})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Result{}
	for _, x := range rep.Results {
		by[x.Controller] = x
	}
	sf, none := by[string(local.Spotfleet)], by[string(local.None)]
	if none.InterruptionsPer1000InstanceHours.Mean <= 0 || none.AvailabilityPercent.Mean >= 99.9 {
		t.Errorf("none: %.1f interruptions per 1,000 task-hours, %.3f%% available; want Fargate Spot to run short",
			none.InterruptionsPer1000InstanceHours.Mean, none.AvailabilityPercent.Mean)
	}
	if sf.AvailabilityPercent.Mean <= none.AvailabilityPercent.Mean || sf.OnDemandSharePercent.Mean <= 0 || none.OnDemandSharePercent.Mean != 0 {
		t.Errorf("spotfleet %.3f%% available with %.1f%% on FARGATE, none %.3f%% with %.1f%%; want spotfleet higher, paying FARGATE for it",
			sf.AvailabilityPercent.Mean, sf.OnDemandSharePercent.Mean, none.AvailabilityPercent.Mean, none.OnDemandSharePercent.Mean)
	}
	if sf.OnDemandFleetUSD.Mean <= 0 || none.CostUSD.Mean >= none.OnDemandFleetUSD.Mean {
		t.Errorf("ECS alone cost %.2f against %.2f for the desired tasks on FARGATE; want Fargate Spot cheaper", none.CostUSD.Mean, none.OnDemandFleetUSD.Mean)
	}
}

// TestProgressWithinARun: a run that is still going reports the share of its emulated time
// done, before it ends (a 5 × 5,000-task fleet printed nothing for 300 s).
func TestProgressWithinARun(t *testing.T) {
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	progressEvery = time.Millisecond
	var mu sync.Mutex
	var seen []Progress
	_, err := Run(context.Background(), Options{Manifests: []Input{{Name: "large", Manifest: largeManifest(t, 300)}},
		Controllers: []local.Kind{local.Spotfleet}, Duration: 7 * 24 * time.Hour, Runs: 1, Seed: 1, Market: market.Stress,
		Progress: func(p Progress) { mu.Lock(); seen = append(seen, p); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	within := 0
	for _, p := range seen {
		if p.Done == 0 && p.Fraction > 0 && p.Fraction < 1 {
			within++
		}
	}
	last := seen[len(seen)-1]
	if within == 0 || last.Done != 1 || last.Fraction < 0.999 {
		t.Errorf("%d reports within the run, the last %+v; want some, and the run done at the end", within, last)
	}
}
