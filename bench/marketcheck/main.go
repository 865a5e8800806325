// Command marketcheck holds the simulation's market against Spot traces it was not fitted
// on, and prints the comparison as markdown (docs/simulation.md):
//
//	go run ./bench/marketcheck [-traces DIR] [-reps 40]
//
// Each held-out trace (or set of zones measured at once) is compared with the stress
// market fitted on every other trace: the market generates the same pool (type and zone)
// for as long and samples it as the trace was sampled, -reps times with other seeds, and
// the table gives the held-out figure, the market's median and its 5-95% range over the
// repetitions, and whether the held-out figure falls in that range. The figures: a pool's
// availability, its mean stretches with and without capacity, its losses per hour with
// capacity (the 1-node traces, CPU and GPU); the correlation of two zones and the chance
// that at least one of k zones has capacity (the sets of zones measured at once); the share
// of time all or none of 16 (or 4) instances are available (the multi-node traces).
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/market"
	"github.com/spotfleet/spotfleet/internal/spotdata"
)

func main() {
	dir := flag.String("traces", "", "a directory of SkyPilot traces (default: the embedded AWS ones)")
	reps := flag.Int("reps", 40, "market runs per held-out trace")
	flag.Parse()
	traces := spotdata.Embedded()
	if *dir != "" {
		var err error
		if traces, err = spotdata.LoadTraces(*dir); err != nil {
			fmt.Fprintln(os.Stderr, "marketcheck:", err)
			os.Exit(1)
		}
	}
	if err := run(os.Stdout, traces, *reps); err != nil {
		fmt.Fprintln(os.Stderr, "marketcheck:", err)
		os.Exit(1)
	}
}

// figure is one figure of a held-out trace against the market's repetitions.
type figure struct {
	name, held string
	data       float64
	model      []float64
}

func (f figure) row(w io.Writer) bool {
	s := slices.Clone(f.model)
	slices.Sort(s)
	q := func(p float64) float64 { return s[min(len(s)-1, int(p*float64(len(s))))] }
	lo, med, hi := q(0.05), q(0.5), q(0.95)
	in := f.data >= lo && f.data <= hi
	mark := "yes"
	if !in {
		mark = "**no**"
	}
	fmt.Fprintf(w, "| %s | %s | %.3g | %.3g | %.3g-%.3g | %s |\n", f.held, f.name, f.data, med, lo, hi, mark)
	return in
}

// summary counts how often each figure's held-out value fell in the market's range.
type summary map[string][2]int

func (s summary) add(f figure, in bool) {
	c := s[f.name]
	c[1]++
	if in {
		c[0]++
	}
	s[f.name] = c
}

func run(w io.Writer, traces []spotdata.Trace, reps int) error {
	start := time.Now()
	var aws []spotdata.Trace
	for _, t := range traces {
		if t.AWS() && t.InstanceType() != "" {
			aws = append(aws, t)
		}
	}
	sum := summary{}
	fmt.Fprintf(w, "Each row: a trace left out of the fit, the market (stress, fitted on every other trace) run %d times for the same pool and time.\n\n", reps)
	fmt.Fprintln(w, "| held out | figure | trace | market median | market 5-95% | in range |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, held := range aws {
		if held.Nodes != 1 {
			continue
		}
		p, err := market.Fit(without(aws, held))
		if err != nil {
			return fmt.Errorf("without %s: %w", held.Name, err)
		}
		up, down := held.Runs()
		figs := []figure{
			{name: "availability", data: held.Availability()},
			{name: "losses per available hour", data: lossRate(held)},
			{name: "mean stretch with capacity (h)", data: meanHours(up)},
			{name: "mean stretch without (h)", data: meanHours(down)},
		}
		for rep := range reps {
			syn, err := synthetic(p, uint64(rep), held)
			if err != nil {
				return err
			}
			u, d := syn.Runs()
			for i, x := range []float64{syn.Availability(), lossRate(syn), meanHours(u), meanHours(d)} {
				figs[i].model = append(figs[i].model, x)
			}
		}
		for _, f := range figs {
			f.held = short(held.Name)
			sum.add(f, f.row(w))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Sets of zones measured at once, each left out of the fit as a whole:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| held out | figure | trace | market median | market 5-95% | in range |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, g := range market.ZoneGroups(aws) {
		rest := aws
		for _, t := range g {
			rest = without(rest, t)
		}
		name := short(g[0].Set()) + " " + g[0].Region() + " " + g[0].InstanceType()
		p, err := market.Fit(rest)
		if err != nil {
			// The set is all its kind has (the CPU traces): its losses are fitted on it, and
			// only what the zones share is held out.
			if p, err = market.Fit(aws); err != nil {
				return err
			}
			market.FitShared(p, rest)
			name += " (losses fitted on it)"
		}
		figs := []figure{{name: "correlation of two zones", data: correlation(g)}}
		for k := 1; k <= len(g); k++ {
			figs = append(figs, figure{name: fmt.Sprintf("any of %d zones", k), data: anyOf(g[:k])})
		}
		for rep := range reps {
			var sg []spotdata.Trace
			for _, t := range g {
				syn, err := synthetic(p, uint64(rep), t)
				if err != nil {
					return err
				}
				sg = append(sg, syn)
			}
			figs[0].model = append(figs[0].model, correlation(sg))
			for k := 1; k <= len(g); k++ {
				figs[k].model = append(figs[k].model, anyOf(sg[:k]))
			}
		}
		for _, f := range figs {
			f.held = name
			sum.add(f, f.row(w))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Multi-node traces (counts of instances), each left out of the fit of the dips:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| held out | figure | trace | market median | market 5-95% | in range |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, held := range aws {
		if held.Nodes < 2 {
			continue
		}
		p, err := market.Fit(without(aws, held))
		if err != nil {
			return err
		}
		f := figure{name: "all or none available", held: short(held.Name), data: allOrNone(held)}
		for rep := range reps {
			syn, err := synthetic(p, uint64(rep), held)
			if err != nil {
				return err
			}
			f.model = append(f.model, allOrNone(syn))
		}
		sum.add(f, f.row(w))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| figure | held-out values in the market's 5-95% range |")
	fmt.Fprintln(w, "|---|---|")
	var names []string
	for n := range sum {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		c := sum[n]
		fmt.Fprintf(w, "| %s | %d of %d |\n", n, c[0], c[1])
	}
	fmt.Fprintf(w, "\n%d traces, %d market runs each, in %s.\n", len(aws), reps, time.Since(start).Round(time.Second))
	return nil
}

// synthetic is the stress market's trace of the held-out trace's pool, as long and sampled
// as it was: counts out of its nodes, the level of the pool's depth times the nodes.
func synthetic(p *market.Params, seed uint64, t spotdata.Trace) (spotdata.Trace, error) {
	spec, ok := spotdata.Lookup(t.InstanceType())
	if !ok {
		return spotdata.Trace{}, fmt.Errorf("%s: no %s in the table", t.Name, t.InstanceType())
	}
	m, err := market.New(seed, []market.Pool{{Pool: spotfleet.Pool{InstanceType: t.InstanceType(), Zone: t.Zone()}, Spec: spec}},
		market.Options{Model: market.Stress, Params: p, Horizon: t.Duration()})
	if err != nil {
		return spotdata.Trace{}, err
	}
	levels := m.Levels(0, t.Duration())
	out := spotdata.Trace{Name: t.Name, Gap: t.Gap, Nodes: t.Nodes, Count: make([]int, t.Len())}
	j := 0
	for i := range out.Count {
		at := time.Duration(i) * t.Gap
		for j+1 < len(levels) && levels[j+1].At <= at {
			j++
		}
		level := float64(levels[j].Depth) / float64(m.Full(0))
		out.Count[i] = int(math.Round(level * float64(t.Nodes)))
		if levels[j].Depth > 0 && out.Count[i] == 0 {
			out.Count[i] = 1
		}
	}
	return out, nil
}

func without(ts []spotdata.Trace, t spotdata.Trace) []spotdata.Trace {
	return slices.DeleteFunc(slices.Clone(ts), func(x spotdata.Trace) bool { return x.Name == t.Name })
}

func short(name string) string {
	name = strings.TrimSuffix(name, ".json")
	for _, p := range []string{"availability/", "preemption/"} {
		name = strings.TrimPrefix(name, p)
	}
	return name
}

func lossRate(t spotdata.Trace) float64 {
	h := t.Availability() * t.Duration().Hours()
	if h == 0 {
		return 0
	}
	return float64(t.Losses()) / h
}

func meanHours(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	var s time.Duration
	for _, d := range ds {
		s += d
	}
	return (s / time.Duration(len(ds))).Hours()
}

// correlation is the mean correlation of the states of every two traces of a set.
func correlation(g []spotdata.Trace) float64 { return market.Correlation([]market.Group{g}) }

// anyOf is the share of samples at which at least one of the traces had capacity.
func anyOf(g []spotdata.Trace) float64 {
	n := g[0].Len()
	for _, t := range g {
		n = min(n, t.Len())
	}
	k := 0
	for i := range n {
		if slices.ContainsFunc(g, func(t spotdata.Trace) bool { return t.Up(i) }) {
			k++
		}
	}
	return float64(k) / float64(n)
}

// allOrNone is the share of samples at which all the nodes or none were available.
func allOrNone(t spotdata.Trace) float64 {
	k := 0
	for _, c := range t.Count {
		if c == 0 || c == t.Nodes {
			k++
		}
	}
	return float64(k) / float64(t.Len())
}
