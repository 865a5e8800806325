package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/spotfleet/spotfleet/emulator/market"
	"github.com/spotfleet/spotfleet/emulator/scenario"
	"github.com/spotfleet/spotfleet/internal/spotdata"
	"github.com/spotfleet/spotfleet/local"
	"github.com/spotfleet/spotfleet/simulate"
)

type simulateOptions struct {
	files, controllers       []string
	days, intensity          float64
	runs                     int
	seed                     uint64
	market, traces, scenario string
	baseline                 string
	output, html             string
}

func newSimulateCmd() *cobra.Command {
	var o simulateOptions
	cmd := &cobra.Command{
		Use:   "simulate -f FILE [-f FILE2 ...] [--days 30] [--runs 20] [--market advisor|stress|trace] [--intensity 1] [--baseline none]",
		Short: "Simulate weeks of Spot for a fleet: its cost, how available it stays, strategy against strategy",
		Long: `Runs each manifest under each controller for --days of emulated time, --runs times, and
reports per manifest × controller what the fleet cost (against the cheapest On-Demand fleet
that runs the same desired tasks), the share of time every service served its desired
count, the share of requests that failed, the outages, the interruptions, and the
fallback's reaction and return: the mean, its 95% interval, the 5th percentile and the
worst run. Run i has seed --seed + i and shows every manifest and controller the same
market, so each row is compared with --baseline run by run (a paired interval). A unit
serves while its target is routable and its process answers; requests are a fluid spread
over the routable targets (a scenario's load, else 10 per second per desired task).

No process is started and no port is opened: the emulator runs with simulated processes
on a virtual clock that jumps from one event to the next, with the same controller code as
up and controller. The same flags give the same report.

Markets (printed in the report); --intensity multiplies how often pools lose capacity:
  advisor  (default) each pool loses its Spot capacity as often as its type's Spot Advisor
           band says an instance is interrupted, for as long as the SkyPilot traces of its
           kind measured (CPU: r5.16xlarge; GPU: p2/p3), zones of a region and types of a
           family sharing some losses; pools hold a finite depth that dips.
  stress   the same, with every pool as scarce as the traced pools of its kind were
           (2022-2023, band >20% types): two to three orders of magnitude harsher.
  trace    the traces replayed (--traces DIR, default the embedded SkyPilot ones), the
           zones of one region from one offset.
  scripted only the steps of --scenario.
Controllers: spotfleet (this controller), seed (the reference designs' functions: S2's on
interruptions, S1's with a fallback block), none (ECS and Auto Scaling alone).
docs/simulation.md explains the model, how it compares with traces it was not fitted on,
and what it gets wrong.`,
		Example: `  spotfleet simulate -f examples/s3-ecs-service-autoscaled.yaml
  spotfleet simulate -f fleet-4-types.yaml -f fleet-10-types.yaml --days 30 --runs 20 --html report.html
  spotfleet simulate -f spotfleet.yaml --market stress --intensity 0.25 --baseline seed -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSimulate(cmd, o) },
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.files, "file", "f", []string{"spotfleet.yaml"}, "the manifest (repeat to compare several)")
	completeFiles(cmd, "file")
	f.StringSliceVar(&o.controllers, "controller", slices.Clone(controllers), "the controllers to compare: "+strings.Join(controllers, ", "))
	completeValues(cmd, "controller", controllers...)
	f.Float64Var(&o.days, "days", 30, "emulated days of each run")
	f.IntVar(&o.runs, "runs", 20, "runs per manifest and controller (they differ by seed)")
	f.Uint64Var(&o.seed, "seed", 1, "the seed of the first run")
	choiceFlag(cmd, &o.market, "market", "", "the Spot market: advisor, stress, trace or scripted",
		market.Advisor, market.Stress, market.Trace, "scripted")
	f.Float64Var(&o.intensity, "intensity", 1, "multiplies how often pools lose their Spot capacity (0.25 mild, 4 harsh)")
	f.StringVar(&o.baseline, "baseline", string(local.None), "compare every row with this controller, or with the manifest of this name (file name without .yaml), run by run; \"\" for none")
	f.StringVar(&o.traces, "traces", "", "a directory of traces (SkyPilot's JSON) for --market trace; default the embedded SkyPilot AWS traces")
	cmd.MarkFlagDirname("traces")
	f.StringVar(&o.scenario, "scenario", "", "a scenario file whose steps (and boot time, and load) play on top of the market")
	completeFiles(cmd, "scenario")
	outputFlag(cmd, &o.output, "table", "json", "yaml")
	f.StringVar(&o.html, "html", "", "also write a self-contained HTML report with charts to this file")
	return cmd
}

func runSimulate(cmd *cobra.Command, o simulateOptions) error {
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if o.days <= 0 || o.days > 3650 {
		return fmt.Errorf("--days %g: use more than 0 and at most 3650", o.days)
	}
	if o.runs < 1 || o.runs > 10000 {
		return fmt.Errorf("--runs %d: use 1 to 10000", o.runs)
	}
	if !(o.intensity > 0 && o.intensity <= 1000) {
		return fmt.Errorf("--intensity %g: use more than 0 and at most 1000", o.intensity)
	}
	var kinds []local.Kind
	for _, c := range o.controllers {
		k, err := local.ParseKind(c)
		if err != nil {
			return fmt.Errorf("--controller %q: use %s (comma separated)", c, strings.Join(controllers, ", "))
		}
		kinds = append(kinds, k)
	}
	opt := simulate.Options{Controllers: kinds, Duration: time.Duration(o.days * 24 * float64(time.Hour)),
		Runs: o.runs, Seed: o.seed, Intensity: o.intensity, Baseline: o.baseline}
	if !cmd.Flags().Changed("baseline") && !slices.Contains(kinds, local.None) {
		opt.Baseline = "" // the default baseline was not asked for
	}
	switch o.market {
	case market.Advisor, market.Stress:
		opt.Market = o.market
	case market.Trace:
		opt.Market = o.market
		if o.traces != "" {
			traces, err := spotdata.LoadTraces(o.traces)
			if err != nil {
				return fmt.Errorf("--traces: %w", err)
			}
			opt.Traces = traces
		}
	case "scripted": // the emulator's default market: its scenario's steps alone
		if o.scenario == "" {
			return fmt.Errorf("--market scripted needs --scenario FILE: its steps are the market")
		}
		opt.Market = market.Scripted
	}
	if o.traces != "" && o.market != market.Trace {
		return fmt.Errorf("--traces is for --market trace (the other markets are fitted on the embedded traces)")
	}
	for _, file := range o.files {
		m, err := loadManifest(file, errOut)
		if err != nil {
			return err
		}
		opt.Manifests = append(opt.Manifests, simulate.Input{Name: strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)), Manifest: m})
	}
	if o.scenario != "" {
		sc, diags, err := scenario.Load(o.scenario)
		if err != nil {
			return err
		}
		for _, in := range opt.Manifests {
			diags = append(diags, sc.Check(in.Manifest, opt.Duration)...)
		}
		for _, d := range diags {
			fmt.Fprintln(errOut, d.String())
		}
		if diags.Err() != nil {
			return exitError{"invalid scenario"}
		}
		opt.Scenario = sc
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opt.Progress = progressLine(errOut, isTerminal(errOut))
	rep, err := simulate.Run(ctx, opt)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: no report")
		}
		return err
	}
	if o.html != "" {
		if err := writeHTML(o.html, rep); err != nil {
			return err
		}
	}
	return render(out, o.output, rep, func(w io.Writer) error {
		if err := rep.WriteTable(w); err != nil {
			return err
		}
		fmt.Fprintf(w, "%d simulations in %s", len(rep.Results)*rep.Runs, time.Duration(rep.WallSeconds*float64(time.Second)).Round(time.Millisecond))
		if o.html != "" {
			fmt.Fprintf(w, "; charts in %s", o.html)
		}
		_, err := fmt.Fprintln(w)
		return err
	})
}

func writeHTML(file string, rep *simulate.Report) error {
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("--html: %w", err)
	}
	if err := rep.WriteHTML(f); err != nil {
		f.Close()
		return fmt.Errorf("--html: %w", err)
	}
	return f.Close()
}

// progressLine shows how far a simulation is, with an estimate of the time left from the
// share of emulated time done: on a terminal a bar redrawn every second; elsewhere (CI, a
// log file) a line every 30 s once the run takes longer than 10 s.
func progressLine(w io.Writer, terminal bool) func(simulate.Progress) {
	var mu sync.Mutex
	start := time.Now()
	var last time.Time
	return func(p simulate.Progress) {
		mu.Lock()
		defer mu.Unlock()
		since := time.Since(start)
		left := ""
		if p.Fraction > 0.01 && p.Done < p.Total {
			left = fmt.Sprintf(", about %s left", time.Duration(float64(since)*(1-p.Fraction)/p.Fraction).Round(time.Second))
		}
		if terminal {
			const width = 30
			n := int(width * min(p.Fraction, 1))
			fmt.Fprintf(w, "\r\x1b[Ksimulating [%s%s] %d/%d runs%s", strings.Repeat("#", n), strings.Repeat(".", width-n), p.Done, p.Total, left)
			if p.Done == p.Total {
				fmt.Fprint(w, "\r\x1b[K")
			}
			return
		}
		if p.Done == p.Total || since < 10*time.Second || time.Since(last) < 30*time.Second {
			return
		}
		last = time.Now()
		fmt.Fprintf(w, "simulating: %.0f%% of the emulated time, %d/%d runs done%s\n", 100*p.Fraction, p.Done, p.Total, left)
	}
}
