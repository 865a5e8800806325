// Package simulate answers the question users ask before they move a service to Spot:
// over weeks of realistic Spot behaviour, what does this fleet cost, how available does it
// stay, and how does spotfleet compare with what runs today (ECS alone, the reference
// designs' functions)? A simulation is the emulator in simulated mode (simulated processes,
// no network) on a virtual clock that jumps from one timer to the next, with the same
// controller code that `up` and `controller` run, stepped synchronously: at once when an
// event arrives or the fleet changes, and at the moments its own timing decides
// (Controller.NextWake). docs/simulation.md.
package simulate

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/spotfleet/spotfleet/clock"
	"github.com/spotfleet/spotfleet/controller"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/emulator/market"
	"github.com/spotfleet/spotfleet/emulator/scenario"
	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/internal/spotdata"
	"github.com/spotfleet/spotfleet/local"
	"github.com/spotfleet/spotfleet/manifest"
)

// Input is one manifest to simulate, named as the report shows it.
type Input struct {
	Name     string
	Manifest *manifest.Manifest
}

// Options choose what to simulate.
type Options struct {
	Manifests   []Input
	Controllers []local.Kind
	Duration    time.Duration // of each run, emulated
	Runs        int           // per manifest × controller; run i has seed Seed+i
	Seed        uint64
	// Market is the market model (market.Advisor, Stress, Trace, or Scripted with
	// Scenario's steps); Traces feed the trace model (default: the embedded ones);
	// Intensity multiplies how often pools lose capacity (0 is 1).
	Market    string
	Traces    []spotdata.Trace
	Intensity float64
	// Baseline names the rows every row is compared with, run by run: a controller (each
	// manifest against itself under it) or a manifest's name (each controller against
	// itself on it); "" for no comparison.
	Baseline string
	Scenario *scenario.Scenario // steps and boot time; may be nil
	// Parallel is how many runs go at once; default the number of cores.
	Parallel int
	// Progress is told how far the simulation is, every second and as each run ends; may
	// be nil.
	Progress func(Progress)
	// SampleEvery is the spacing of the timeline kept of each manifest × controller's first
	// run; default an hour, 0 of a run's length / 2,000 at the finest.
	SampleEvery time.Duration
}

// Progress is how far a simulation is: runs done, and the share of all the runs' emulated
// time simulated (a large fleet's run takes minutes; runs alone would say nothing for long).
type Progress struct {
	Done, Total int
	Fraction    float64 // 0 to 1
}

// progressEvery is how often Progress hears while runs go on.
var progressEvery = time.Second

// epoch is when every simulation starts: a fixed time keeps runs the same byte for byte.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// verifyDeltas makes the controller hold its picture kept by deltas against a full
// snapshot every round (TestDeltasKeepThePicture).
var verifyDeltas = false

// controllerTick is the controller's tick, as Run has it by default: a simulation steps the
// controller at most this often for changes, and at the moments NextWake says.
const controllerTick = time.Second

// Run simulates every manifest × controller × run and reports the means and intervals.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Runs < 1 || o.Duration <= 0 || len(o.Manifests) == 0 || len(o.Controllers) == 0 {
		return nil, fmt.Errorf("simulate: need manifests, controllers, a duration and runs")
	}
	if o.Baseline != "" && !slices.ContainsFunc(o.Controllers, func(k local.Kind) bool { return string(k) == o.Baseline }) &&
		!slices.ContainsFunc(o.Manifests, func(in Input) bool { return in.Name == o.Baseline }) {
		return nil, fmt.Errorf("simulate: baseline %q is none of the controllers or manifests simulated", o.Baseline)
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = max(o.Duration/2000, time.Minute)
	}
	type job struct {
		mi, ci, run int
	}
	var jobs []job
	for mi := range o.Manifests {
		for ci := range o.Controllers {
			for run := range o.Runs {
				jobs = append(jobs, job{mi, ci, run})
			}
		}
	}
	runs := make([]runResult, len(jobs))
	parallel := o.Parallel
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	// A simulation allocates a snapshot per controller round and keeps little: collecting
	// less often makes a month of a large fleet a third faster (BENCHMARKS.md).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	start := time.Now()
	var done atomic.Int64
	emulated := make([]atomic.Int64, len(jobs)) // each run's emulated time so far
	report := func() {
		if o.Progress == nil {
			return
		}
		var sum time.Duration
		for i := range emulated {
			sum += time.Duration(emulated[i].Load())
		}
		o.Progress(Progress{Done: int(done.Load()), Total: len(jobs), Fraction: float64(sum) / float64(o.Duration) / float64(len(jobs))})
	}
	stopReports := make(chan struct{})
	reports := make(chan struct{})
	go func() { // owned by Run: it ends before Run returns
		defer close(reports)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-stopReports:
				return
			case <-tick.C:
				report()
			}
		}
	}()
	g, gctx := errgroup.WithContext(ctx) // the first failed run stops the others
	g.SetLimit(parallel)
	for i, j := range jobs {
		g.Go(func() error {
			in := o.Manifests[j.mi]
			r, err := runOne(gctx, in.Manifest, o.Controllers[j.ci], o, o.Seed+uint64(j.run), j.run == 0, &emulated[i])
			if err != nil {
				return fmt.Errorf("%s, controller %s, run %d: %w", in.Name, o.Controllers[j.ci], j.run, err)
			}
			runs[i] = r
			done.Add(1)
			report()
			return nil
		})
	}
	err := g.Wait()
	close(stopReports)
	<-reports
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	rep := &Report{Market: marketName(o.Market), Intensity: intensity(o.Intensity), Days: o.Duration.Hours() / 24, Runs: o.Runs, Seed: o.Seed, Baseline: o.Baseline}
	for mi, in := range o.Manifests {
		for ci, ctl := range o.Controllers {
			k := (mi*len(o.Controllers) + ci) * o.Runs
			rep.Results = append(rep.Results, aggregate(in.Name, string(ctl), runs[k:k+o.Runs]))
		}
	}
	if o.Baseline != "" {
		for i := range rep.Results {
			x := &rep.Results[i]
			for j := range rep.Results {
				b := &rep.Results[j]
				if i != j && ((b.Controller == o.Baseline && b.Manifest == x.Manifest) || (b.Manifest == o.Baseline && b.Controller == x.Controller)) {
					x.compare(b)
				}
			}
		}
	}
	rep.WallSeconds = time.Since(start).Seconds()
	return rep, nil
}

func marketName(m string) string {
	if m == market.Scripted {
		return "scripted"
	}
	return m
}

func intensity(x float64) float64 {
	if x == 0 {
		return 1
	}
	return x
}

// runResult is what one run measured.
type runResult struct {
	report     fleetview.Report
	sim        emulator.SimStats
	ctl        *controller.Stats
	timeline   []emulator.Sample
	wallSecond float64
}

// runOne simulates one manifest under one controller for o.Duration.
func runOne(ctx context.Context, m *manifest.Manifest, kind local.Kind, o Options, seed uint64, keepTimeline bool, emulated *atomic.Int64) (runResult, error) {
	wall := time.Now()
	m = quiet(m)
	clk := clock.NewVirtual(epoch)
	eo := local.EmulatorOptions(m, o.Scenario)
	eo.Clock, eo.Simulated, eo.Seed = clk, true, seed
	eo.Market = market.Options{Model: o.Market, Traces: o.Traces, Intensity: o.Intensity, Horizon: o.Duration + time.Hour}
	e, err := emulator.New(m, eo)
	if err != nil {
		return runResult{}, err
	}
	defer e.Close()
	if err := e.Start(); err != nil {
		return runResult{}, err
	}
	if o.Scenario != nil {
		if err := e.Play(o.Scenario); err != nil {
			return runResult{}, err
		}
	}
	cfg := local.Config(m, e, clk, slog.New(slog.DiscardHandler))
	cfg.Sequential, cfg.Tick, cfg.VerifyDeltas = true, controllerTick, verifyDeltas
	st, err := local.New(kind, cfg)
	if err != nil {
		return runResult{}, err
	}
	r := drive(ctx, e, clk, st, epoch.Add(o.Duration), o.SampleEvery, keepTimeline, emulated)
	if err := ctx.Err(); err != nil {
		return runResult{}, err
	}
	r.report, r.sim = e.Report(nil), e.SimStats()
	if c := st.Spotfleet(); c != nil {
		s := c.Stats()
		r.ctl = &s
	}
	r.wallSecond = time.Since(wall).Seconds()
	return r, nil
}

// drive moves the virtual clock from one event of the world to the next until end,
// stepping the controller when the world changed (at most once per controllerTick) and
// when its own timing asks, and sampling the timeline when asked to.
func drive(ctx context.Context, e *emulator.Emulator, clk *clock.Virtual, st *local.Controller, end time.Time, sampleEvery time.Duration, keepTimeline bool, emulated *atomic.Int64) runResult {
	var r runResult
	nextSample := epoch
	q := e.Queue()
	wake := st.NextWake()
	var seen uint64 // the world's version at the last step
	lastStep := epoch.Add(-controllerTick)
	for ctx.Err() == nil {
		now := clk.Now()
		if keepTimeline && !now.Before(nextSample) {
			r.timeline = append(r.timeline, e.Sample())
			nextSample = nextSample.Add(sampleEvery)
		}
		// A round reads every change since the last: at most one per controllerTick, as a
		// round on AWS takes about that long and reads what arrived meanwhile.
		changed := e.Version() != seen || q.Visible() > 0
		due := changed && !now.Before(lastStep.Add(controllerTick))
		if due || (!wake.IsZero() && !now.Before(wake)) {
			st.Step(ctx)
			lastStep = now
			seen = e.Version() // what the step itself changed is acted on with it
			wake = st.NextWake()
			changed = e.Version() != seen || q.Visible() > 0
		}
		next := end
		if t, ok := e.NextEvent(); ok && t.Before(next) {
			next = t
		}
		if !wake.IsZero() && wake.Before(next) {
			next = wake
		}
		if changed {
			if t := lastStep.Add(controllerTick); t.Before(next) {
				next = t
			}
		}
		if keepTimeline && nextSample.Before(next) {
			next = nextSample
		}
		if !next.After(now) && next.Equal(end) {
			break
		}
		clk.Set(next)
		e.Advance()
		emulated.Store(int64(next.Sub(epoch)))
	}
	return r
}

// quiet copies a manifest without its webhooks: a simulation calls nothing outside.
func quiet(m *manifest.Manifest) *manifest.Manifest {
	c := *m
	c.Interruptions.Notify = nil
	return &c
}
