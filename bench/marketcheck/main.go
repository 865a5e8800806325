// Command marketcheck holds the simulation's synthetic Spot market against the measured
// traces it is calibrated on, and prints the comparison as markdown (docs/simulation.md):
//
//	go run ./bench/marketcheck -traces ../shared/data/spot/traces/skypilot/availability/1-node
//
// It compares, over the nine zones of the 2023-02-15 SkyPilot traces (p3.2xlarge in four
// zones of us-east-1, two of us-east-2 and three of us-west-2) and the stress market's
// p3.2xlarge pools in the same zones: each pool's availability, the lengths of the
// stretches with and without capacity (two-sample Kolmogorov-Smirnov distance), the
// correlation of two zones of a region, and the chance that at least one of k zones has
// capacity. Then it simulates the S1 and S3 examples under every controller on the stress
// and the trace markets and says whether the strategies rank the same (Kendall's tau).
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spotfleet/spotfleet/clock"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/internal/spotdata"
	"github.com/spotfleet/spotfleet/local"
	"github.com/spotfleet/spotfleet/manifest"
	"github.com/spotfleet/spotfleet/simulate"
)

func main() {
	dir := flag.String("traces", "../shared/data/spot/traces/skypilot/availability/1-node", "the SkyPilot 1-node availability traces")
	seeds := flag.Int("seeds", 10, "synthetic runs, each as long as the traces")
	days := flag.Float64("days", 30, "days of each strategy simulation")
	runs := flag.Int("runs", 10, "runs of each strategy simulation")
	flag.Parse()
	if err := run(*dir, *seeds, *days, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "marketcheck:", err)
		os.Exit(1)
	}
}

// regions of the 2023-02-15 traces, with their zones.
var regions = []struct {
	name  string
	zones []string
}{
	{"us-east-1", []string{"us-east-1a", "us-east-1c", "us-east-1d", "us-east-1f"}},
	{"us-east-2", []string{"us-east-2a", "us-east-2b"}},
	{"us-west-2", []string{"us-west-2a", "us-west-2b", "us-west-2c"}},
}

func run(dir string, seeds int, days float64, runs int) error {
	traces, err := spotdata.LoadTraces(filepath.Join(dir, "aws-02-15-2023"))
	if err != nil {
		return err
	}
	byZone := map[string]spotdata.Trace{}
	for _, t := range traces {
		byZone[strings.Split(filepath.Base(t.Name), "_")[0]] = t
	}
	var measured [][]bool
	var group []int // region index of each series
	for ri, r := range regions {
		for _, z := range r.zones {
			t, ok := byZone[z]
			if !ok {
				return fmt.Errorf("no trace of %s in %s", z, dir)
			}
			measured, group = append(measured, t.Up), append(group, ri)
		}
	}
	gap := traces[0].Gap
	length := time.Duration(len(measured[0])) * gap

	var synthetic [][][]bool // per seed, per pool
	for s := range seeds {
		var pools [][]bool
		for _, r := range regions {
			series, err := stressSeries(r.name, r.zones, uint64(s+1), gap, length)
			if err != nil {
				return err
			}
			pools = append(pools, series...)
		}
		synthetic = append(synthetic, pools)
	}

	fmt.Printf("Measured: the nine zones of `aws-02-15-2023` (%d samples %s apart, %.0f hours). Synthetic: the stress market's p3.2xlarge pools in the same zones, %d runs as long, sampled the same.\n\n",
		len(measured[0]), gap, length.Hours(), seeds)
	fmt.Println("| figure | traces | stress market |")
	fmt.Println("|---|---|---|")
	fmt.Printf("| availability of a pool (mean of the 9) | %.3f | %.3f |\n", meanAvail(measured), meanOver(synthetic, meanAvail))
	mu, md := runs3(measured, gap)
	var su, sd []float64
	for _, p := range synthetic {
		u, d := runs3(p, gap)
		su, sd = append(su, u...), append(sd, d...)
	}
	fmt.Printf("| mean stretch with capacity, hours | %.2f | %.2f |\n", mean(mu), mean(su))
	fmt.Printf("| mean stretch without capacity, hours | %.2f | %.2f |\n", mean(md), mean(sd))
	fmt.Printf("| Kolmogorov-Smirnov distance, stretches with capacity | | %.3f |\n", ks(mu, su))
	fmt.Printf("| Kolmogorov-Smirnov distance, stretches without capacity | | %.3f |\n", ks(md, sd))
	fmt.Printf("| correlation of two zones of a region (mean of the pairs) | %.3f | %.3f |\n", zoneCorrelation(measured, group),
		meanOver(synthetic, func(p [][]bool) float64 { return zoneCorrelation(p, group) }))
	for _, k := range []int{1, 2, 3, 4, 9} {
		fmt.Printf("| at least one of %d zones has capacity (mean over the sets of %d) | %.3f | %.3f |\n", k, k, anyOf(measured, k),
			meanOver(synthetic, func(p [][]bool) float64 { return anyOf(p, k) }))
	}
	return rankings(dir, days, runs)
}

// stressSeries samples the stress market's p3.2xlarge pools of a region every gap.
func stressSeries(region string, zones []string, seed uint64, gap, length time.Duration) ([][]bool, error) {
	m, diags := manifest.Parse("check.yaml", []byte(fmt.Sprintf(`name: check
region: %s
capacity:
  - {name: spot, instanceTypes: [p3.2xlarge], zones: [%s], maxSize: 0}
services: [{name: idle, command: [x], desiredCount: 0}]
`, region, strings.Join(zones, ", "))))
	if err := diags.Err(); err != nil {
		return nil, err
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewVirtual(start)
	e, err := emulator.New(m, emulator.Options{Clock: clk, Simulated: true, Seed: seed, Market: emulator.MarketOptions{Model: emulator.MarketStress}})
	if err != nil {
		return nil, err
	}
	defer e.Close()
	if err := e.Start(); err != nil {
		return nil, err
	}
	order := map[string]int{}
	for i, p := range e.Pools() {
		order[p.Zone] = i
	}
	out := make([][]bool, len(zones))
	for t := time.Duration(0); t < length; t += gap {
		clk.Set(start.Add(t))
		e.Advance()
		avail := e.PoolsAvailable()
		for i, z := range zones {
			out[i] = append(out[i], avail[order[z]])
		}
	}
	return out, nil
}

func meanAvail(pools [][]bool) float64 {
	s := 0.0
	for _, p := range pools {
		s += spotdata.Trace{Up: p}.Availability()
	}
	return s / float64(len(pools))
}

func meanOver(runs [][][]bool, f func([][]bool) float64) float64 {
	s := 0.0
	for _, r := range runs {
		s += f(r)
	}
	return s / float64(len(runs))
}

// runs3 is every pool's stretches with and without capacity, in hours.
func runs3(pools [][]bool, gap time.Duration) (up, down []float64) {
	for _, p := range pools {
		u, d := spotdata.Trace{Gap: gap, Up: p}.Runs()
		for _, x := range u {
			up = append(up, x.Hours())
		}
		for _, x := range d {
			down = append(down, x.Hours())
		}
	}
	return up, down
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(max(len(xs), 1))
}

// ks is the two-sample Kolmogorov-Smirnov statistic: the largest distance between the two
// empirical distribution functions.
func ks(a, b []float64) float64 {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Float64s(a)
	sort.Float64s(b)
	d, i, j := 0.0, 0, 0
	for i < len(a) && j < len(b) {
		x := min(a[i], b[j])
		for i < len(a) && a[i] <= x {
			i++
		}
		for j < len(b) && b[j] <= x {
			j++
		}
		d = max(d, math.Abs(float64(i)/float64(len(a))-float64(j)/float64(len(b))))
	}
	return d
}

// zoneCorrelation is the mean Pearson correlation of the availability of two zones of one
// region.
func zoneCorrelation(pools [][]bool, group []int) float64 {
	s, n := 0.0, 0
	for i := range pools {
		for j := i + 1; j < len(pools); j++ {
			if group[i] == group[j] {
				s += pearson(pools[i], pools[j])
				n++
			}
		}
	}
	return s / float64(n)
}

func pearson(x, y []bool) float64 {
	n := min(len(x), len(y))
	var sx, sy, sxy float64
	for i := range n {
		a, b := b2f(x[i]), b2f(y[i])
		sx, sy, sxy = sx+a, sy+b, sxy+a*b
	}
	mx, my := sx/float64(n), sy/float64(n)
	cov := sxy/float64(n) - mx*my
	den := math.Sqrt(mx*(1-mx)) * math.Sqrt(my*(1-my))
	if den == 0 {
		return 0
	}
	return cov / den
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// anyOf is the share of time at least one of k pools has capacity, averaged over every set
// of k pools.
func anyOf(pools [][]bool, k int) float64 {
	n := len(pools[0])
	total, sets := 0.0, 0
	var rec func(start int, chosen []int)
	rec = func(start int, chosen []int) {
		if len(chosen) == k {
			up := 0
			for t := range n {
				for _, c := range chosen {
					if pools[c][t] {
						up++
						break
					}
				}
			}
			total += float64(up) / float64(n)
			sets++
			return
		}
		for i := start; i < len(pools); i++ {
			rec(i+1, append(chosen, i))
		}
	}
	rec(0, nil)
	return total / float64(sets)
}

// rankings simulates the S1 and S3 examples under every controller on the stress market
// and on the trace market (every 1-node trace), and compares how they rank.
func rankings(dir string, days float64, runs int) error {
	traces, err := spotdata.LoadTraces(dir)
	if err != nil {
		return err
	}
	var inputs []simulate.Input
	for _, f := range []string{"examples/s1-spot-with-ondemand-backup.yaml", "examples/s3-ecs-service-autoscaled.yaml"} {
		m, diags, err := manifest.Load(f)
		if err != nil || diags.Err() != nil {
			return fmt.Errorf("%s: %v %v", f, err, diags.Err())
		}
		inputs = append(inputs, simulate.Input{Name: strings.TrimSuffix(filepath.Base(f), ".yaml"), Manifest: m})
	}
	reports := map[string]*simulate.Report{}
	for _, market := range []string{emulator.MarketStress, emulator.MarketTrace} {
		rep, err := simulate.Run(context.Background(), simulate.Options{Manifests: inputs,
			Controllers: local.Kinds,
			Duration:    time.Duration(days * 24 * float64(time.Hour)), Runs: runs, Seed: 1, Market: market, Traces: traces})
		if err != nil {
			return err
		}
		reports[market] = rep
	}
	fmt.Printf("\nThe S1 and S3 examples under each controller, %g days, %d runs, on both markets (trace: the %d 1-node traces, one per pool):\n\n", days, runs, len(traces))
	fmt.Println("| example | controller | availability, stress | availability, trace | cost $, stress | cost $, trace |")
	fmt.Println("|---|---|---|---|---|---|")
	var avS, avT, costS, costT []float64
	for i, x := range reports[emulator.MarketStress].Results {
		y := reports[emulator.MarketTrace].Results[i]
		fmt.Printf("| %s | %s | %.3f%% | %.3f%% | %.2f | %.2f |\n", x.Manifest, x.Controller, x.AvailabilityPercent.Mean, y.AvailabilityPercent.Mean, x.CostUSD.Mean, y.CostUSD.Mean)
		avS, avT = append(avS, x.AvailabilityPercent.Mean), append(avT, y.AvailabilityPercent.Mean)
		costS, costT = append(costS, x.CostUSD.Mean), append(costT, y.CostUSD.Mean)
	}
	fmt.Printf("\nKendall's tau between the two markets' rankings of the six: availability %.2f, cost %.2f (1: the same order).\n",
		kendall(avS, avT), kendall(costS, costT))
	return nil
}

// kendall is Kendall's tau-a of two scorings of the same items.
func kendall(a, b []float64) float64 {
	c, n := 0, 0
	for i := range a {
		for j := i + 1; j < len(a); j++ {
			s := sign(a[i]-a[j]) * sign(b[i]-b[j])
			c += s
			n++
		}
	}
	return float64(c) / float64(n)
}

func sign(x float64) int {
	switch {
	case x > 1e-9:
		return 1
	case x < -1e-9:
		return -1
	}
	return 0
}
