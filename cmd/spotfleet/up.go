package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"golang.org/x/term"

	"github.com/spotfleet/spotfleet/clock"
	"github.com/spotfleet/spotfleet/controller"
	"github.com/spotfleet/spotfleet/dashboard"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/emulator/loadgen"
	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/emulator/scenario"
	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/internal/dotenv"
	"github.com/spotfleet/spotfleet/internal/httpserver"
	"github.com/spotfleet/spotfleet/internal/strictyaml"
	"github.com/spotfleet/spotfleet/local"
	"github.com/spotfleet/spotfleet/manifest"
)

type upOptions struct {
	file, scenario, report, controller, api, envFile string
	speed                                            float64
	duration                                         time.Duration
	seed                                             uint64
	keepLogs                                         bool
	maxProcesses                                     int
}

func newUpCmd() *cobra.Command {
	var o upOptions
	cmd := &cobra.Command{
		Use:   "up -f FILE [--scenario FILE] [--speed N] [--for DURATION] [--report FILE]",
		Short: "Run the fleet on the local emulator, with a scripted Spot market",
		Long: `Starts a local emulator of the AWS pieces the manifest uses (a Spot market, EC2 with its
metadata service, Auto Scaling groups, ECS, a load balancer and an event queue), deploys the
manifest on it and runs it. Tasks are real processes started from each service's command
(with HOST and PORT set); each instance and task has its own 127.x.y.z address; the load
balancer is a real HTTP reverse proxy on 127.0.0.1:<listenerPort>.

A scenario file scripts the market (interruptions, Spot capacity, rebalance
recommendations) and an optional built-in load. --speed N runs emulated time N times faster
than real time (boot times, notices, health checks, delays and stop timeouts all scale; the
service's own processes run as they run).

It shows a live view (refreshed in place on a terminal, as log lines otherwise), serves the
same state as JSON on --api, and on exit (Ctrl-C, SIGTERM or --for) stops every process it
started, even when it is itself killed with SIGKILL.`,
		Example: `  spotfleet up -f examples/s3-ecs-service-autoscaled.yaml \
      --scenario examples/scenarios/interrupt-half-spot.yaml --speed 10 --for 5m --report r.json
  spotfleet status          # from another terminal`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runUp(cmd, o) },
	}
	f := cmd.Flags()
	fileFlag(cmd, &o.file)
	f.StringVar(&o.scenario, "scenario", "", "a scenario file scripting the Spot market and the load")
	completeFiles(cmd, "scenario")
	f.Float64Var(&o.speed, "speed", 1, "run emulated time this many times faster than real time (1-1000)")
	f.DurationVar(&o.duration, "for", 0, "stop after this much emulated time (default: until Ctrl-C)")
	f.StringVar(&o.report, "report", "", "write a JSON report here on exit")
	choiceFlag(cmd, &o.controller, "controller", "", "what reacts to interruptions and Spot shortfalls: spotfleet; seed (the reference designs' functions, for comparison: S2's interruption function, and S1's On-Demand backup with a fallback block); none (ECS and Auto Scaling alone)", controllers...)
	apiFlag(cmd, &o.api, `serve the state, the metrics and the agents' endpoint on this loopback address ("" to turn off)`)
	f.Uint64Var(&o.seed, "seed", 1, "seed of the emulator's choices (the scenario's market seed wins)")
	f.StringVar(&o.envFile, "env-file", "", "a file of NAME=value lines giving the services' secrets their values (default: the manifest's local.envFile)")
	completeFiles(cmd, "env-file")
	f.IntVar(&o.maxProcesses, "max-processes", manifest.DefaultMaxProcesses, "the most processes the manifest may run at once (its services at their largest); up refuses a manifest over it, or over what the file-descriptor limit allows, before it starts anything")
	f.BoolVar(&o.keepLogs, "keep-logs", false, "keep the task and controller logs after the run (they are removed on exit otherwise); each process keeps at most 2 x 10 MiB")
	return cmd
}

func runUp(cmd *cobra.Command, o upOptions) error {
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if o.speed < 1 || o.speed > 1000 {
		return fmt.Errorf("--speed %g: use 1 to 1000", o.speed)
	}
	m, err := loadManifest(o.file, errOut)
	if err != nil {
		return err
	}
	sc, err := loadUpScenario(o, m, errOut)
	if err != nil {
		return err
	}
	if o.api != "" {
		if err := checkLoopback(o.api); err != nil {
			return err
		}
	}
	secrets, err := readSecrets(o, m)
	if err != nil {
		return err
	}
	if err := checkBudget(m, o.maxProcesses); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	logDir, err := os.MkdirTemp("", "spotfleet-up-"+m.Name+"-")
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if n, err := proc.SweepEarlierRuns(); n > 0 {
		fmt.Fprintf(errOut, "swept %d processes that an earlier run of up left behind\n", n)
	} else if err != nil {
		fmt.Fprintf(errOut, "warning: cannot sweep what earlier runs of up left: %v\n", err)
	}
	reaper, runner, err := proc.Supervise(exe, logDir, run, []string{"SPOTFLEET_RUN=" + run}, errOut)
	if err != nil {
		return err
	}
	defer reaper.Finish()
	finished := make(chan struct{})
	defer close(finished)
	go stopWithin(ctx, finished, reaper, errOut)
	defer runner.Close()
	defer func() {
		// Logs go with the run unless asked for; the controller and every task are done
		// writing by the time this runs (deferred calls run last to first).
		if o.keepLogs {
			fmt.Fprintf(out, "logs kept in %s\n", logDir)
		} else {
			os.RemoveAll(logDir)
		}
	}()

	seed := o.seed
	if sc.Market.Seed != 0 {
		seed = sc.Market.Seed
	}
	clk := clock.NewScaled(o.speed)
	eo := local.EmulatorOptions(m, sc)
	eo.Clock, eo.Runner, eo.Seed, eo.Market, eo.Secrets = clk, runner, seed, emulator.MarketOf(sc), secrets
	eo.Log = slog.New(slog.DiscardHandler)
	e, err := emulator.New(m, eo)
	if err != nil {
		return err
	}
	if err := e.Start(); err != nil {
		return err
	}
	defer e.Close()
	caFile := ""
	if pem := e.CertPEM(); pem != nil {
		caFile = filepath.Join(logDir, "ca.pem")
		if err := os.WriteFile(caFile, pem, 0o644); err != nil {
			return err
		}
	}
	if err := e.Play(sc); err != nil {
		return err
	}
	// The emulator, the controller and the load run until the run ends; each returns only
	// when runCtx does, and the run waits for all of them before it reports.
	runCtx, endRun := context.WithCancel(ctx)
	defer endRun()
	var g errgroup.Group
	g.Go(func() error {
		if err := e.Run(runCtx); !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	})
	ctl, err := startController(runCtx, &g, o.controller, m, e, clk, logDir)
	if err != nil {
		endRun()
		g.Wait()
		return err
	}

	var load *loadgen.Load
	if sc.Load != nil {
		load = &loadgen.Load{Client: e.Client()}
		url := loadURL(firstListener(e, m), sc.Load.Path)
		g.Go(func() error {
			// The load starts once the fleet serves, so that it measures interruptions, not
			// the boot of the first instances.
			if waitReady(runCtx, e) {
				fmt.Fprintf(out, "fleet ready after %s emulated: built-in load of %g requests per emulated second on %s started\n", e.Elapsed().Round(time.Second), sc.Load.RPS, url)
				load.Origin = clk.Now().Add(-e.Elapsed())
				load.Run(runCtx, clk, url, sc.Load.RPS)
			}
			return nil
		})
	}

	api := ""
	if o.api != "" {
		srv, addr, err := serveAPI(runCtx, &g, o.api, upWorld{e, load}, ctl, logDir, errOut)
		if err != nil {
			fmt.Fprintf(errOut, "warning: not serving the API: %v (spotfleet status will not find this run)\n", err)
		} else {
			defer srv.Close()
			api = addr
		}
	}

	header := upHeader(o, m, e, clk, caFile, api, logDir)
	for _, l := range header {
		fmt.Fprintln(out, l)
	}

	liveView(ctx, out, e, load, o.duration, header)
	endRun()
	if err := g.Wait(); err != nil {
		return err
	}
	rep := upReport{Report: e.Report(load)}
	rep.Controller, rep.Speed = o.controller, o.speed
	if ctl != nil {
		st := ctl.Stats()
		rep.ControllerStats = &st
	}
	e.Close()
	runner.Close()
	reaper.Finish()
	return writeUpReport(out, errOut, rep, o.report, m)
}

// loadUpScenario reads --scenario (the default: boot times only) and checks it against
// the fleet, printing what it finds.
func loadUpScenario(o upOptions, m *manifest.Manifest, errOut io.Writer) (*scenario.Scenario, error) {
	sc := &scenario.Scenario{BootTime: strictyaml.Duration(scenario.DefaultBootTime)}
	if o.scenario != "" {
		s, diags, err := scenario.Load(o.scenario)
		if err != nil {
			return nil, err
		}
		for _, d := range diags {
			fmt.Fprintln(errOut, d.String())
		}
		if diags.Err() != nil {
			return nil, exitError{"invalid scenario"}
		}
		sc = s
	}
	diags := sc.Check(m, o.duration)
	for _, d := range diags {
		fmt.Fprintln(errOut, d.String())
	}
	if diags.Err() != nil {
		return nil, exitError{"the scenario does not fit the fleet"}
	}
	return sc, nil
}

// upHeader is what a person needs to find things, kept on top of the live view.
func upHeader(o upOptions, m *manifest.Manifest, e *emulator.Emulator, clk *clock.Scaled, caFile, api, logDir string) []string {
	header := []string{fmt.Sprintf("spotfleet up: fleet %q on the local emulator at speed %gx, controller %s", m.Name, o.speed, o.controller)}
	listeners := e.Listeners()
	for _, s := range m.AllServices() {
		if url, ok := listeners[s.Name]; ok {
			header = append(header, fmt.Sprintf("  load balancer for %s: %s", s.Name, url))
		}
	}
	if caFile != "" {
		header = append(header, fmt.Sprintf("  HTTPS: the listeners' certificate is made for this run: curl --cacert %s (add --resolve HOST:PORT:127.0.0.1 for a host name)", caFile))
	}
	if m.Fallback != nil && m.Workload == manifest.WorkloadECS {
		header = append(header, fmt.Sprintf("  (tasks that cover a Spot shortfall run as <service>-fallback on %s, behind the same load balancer)", m.Fallback.To))
	}
	if api != "" {
		header = append(header, fmt.Sprintf("  dashboard: http://%s/   state: spotfleet status --api %s   (JSON: http://%s/status)", api, api, api))
		header = append(header, fmt.Sprintf("  by hand: spotfleet interrupt --api %s TARGET, spotfleet capacity --api %s POOLS N, spotfleet logs --api %s SERVICE -f", api, api, api))
	}
	logs := "  task output: " + logDir + " (removed on exit unless --keep-logs)"
	if o.controller != string(local.None) {
		logs += "; controller log: controller.log there"
	}
	header = append(header, logs)
	if o.duration > 0 {
		header = append(header, fmt.Sprintf("  running for %s of emulated time (about %s)", o.duration, clk.Wall(o.duration).Round(time.Second)))
	}
	return header
}

// writeUpReport writes the report to path (when set) and its summary to out.
func writeUpReport(out, errOut io.Writer, rep upReport, path string, m *manifest.Manifest) error {
	if path != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
		fmt.Fprintf(out, "report written to %s\n", path)
	}
	if n := rep.Requests.NotSent; n > 0 {
		fmt.Fprintf(errOut, "warning: the machine could not keep up with the load: %d of %d requests due were not sent (lower load.rps or --speed)\n",
			n, n+rep.Requests.Total)
	}
	capacity := fmt.Sprintf("%.0f On-Demand instance-seconds (%.0f beyond base and cover)", rep.Capacity.OnDemandInstanceSeconds, rep.Capacity.OnDemandExcessInstanceSeconds)
	if c := rep.Capacity; c.FargateSpotTaskSeconds+c.FargateTaskSeconds > 0 {
		capacity += fmt.Sprintf("; %.0f Fargate Spot and %.0f Fargate task-seconds", c.FargateSpotTaskSeconds, c.FargateTaskSeconds)
	}
	fmt.Fprintf(out, "after %s emulated: %d requests sent, %d failed (p99 %.1f ms); load balancer %d requests, %d elb 5xx, %d target 5xx; %d notices, %d tasks stopped while registered; %.0fs below desired (%.3f%% available); %s; cost $%.4f vs $%.4f for the cheapest On-Demand fleet of the same tasks (%.1f%% saved; $%.4f for these instances all On-Demand)\n",
		time.Duration(rep.EmulatedSeconds*float64(time.Second)).Round(time.Second), rep.Requests.Total, rep.Requests.Failed, rep.Requests.P99Ms,
		rep.LoadBalancer.Requests, rep.LoadBalancer.ELB5xx, rep.LoadBalancer.Target5xx,
		rep.Interruptions.Notices, rep.Interruptions.TasksStoppedWhileRegistered, rep.Capacity.SecondsBelowDesired, rep.Capacity.AvailabilityPercent,
		capacity, rep.Cost.USD, rep.Cost.OnDemandFleetUSD, rep.Cost.SavedAgainstOnDemandFleetPercent, rep.Cost.AllOnDemandUSD)
	if st := rep.ControllerStats; st != nil && m.Fallback != nil {
		fmt.Fprintln(out, fallbackLine(st.Fallback))
	}
	for i, f := range rep.Requests.Failures {
		if i == 0 {
			fmt.Fprintf(out, "failed requests (the first %d, in the report):\n", len(rep.Requests.Failures))
		}
		at := time.Duration(f.AtSeconds * float64(time.Second))
		fmt.Fprintf(out, "  %d:%04.1f  after %.1f ms: %s\n", int(at.Minutes()), math.Mod(f.AtSeconds, 60), f.Ms, f.Error)
	}
	return nil
}

// liveView shows the state until ctx ends or the emulated duration has passed: on a
// terminal redrawn in place every second under the header, fitted to the terminal's
// height; otherwise (CI, a log file) every 5 seconds the happenings of note since the last
// (notices, capacity, what the controller and by-hand actions did) and a summary line.
func liveView(ctx context.Context, w io.Writer, e *emulator.Emulator, load *loadgen.Load, duration time.Duration, header []string) {
	tty := isTerminal(w)
	every := 5 * time.Second
	if tty {
		every = time.Second
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last := time.Time{}
	var seen uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if duration > 0 && e.Elapsed() >= duration {
			return
		}
		if time.Since(last) < every {
			continue
		}
		last = time.Now()
		st := e.Status(load)
		if !tty {
			var lines []string
			lines, seen = e.Happenings(seen)
			for _, l := range lines {
				if ofNote(l) {
					fmt.Fprintln(w, l)
				}
			}
			fmt.Fprintln(w, st.Summary())
			continue
		}
		height := 50
		if f, ok := w.(*os.File); ok {
			if _, h, err := term.GetSize(int(f.Fd())); err == nil && h > 0 {
				height = h
			}
		}
		fmt.Fprint(w, "\x1b[H\x1b[2J")
		for _, l := range header {
			fmt.Fprintln(w, l)
		}
		st.WriteView(w, max(height-len(header)-1, 10))
	}
}

// ofNote says whether a happening belongs in a log without a terminal: what the market,
// the controller and a hand did, not every task and target that came up.
func ofNote(line string) bool {
	for _, s := range []string{"interruption", "rebalance", "market:", "Spot capacity", "by hand", "refused", "no Spot pool",
		"DeregisterTargets", "detached", "TerminateInstances", "UpdateContainerInstancesState", "desired count", "earlier lines"} {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// loadURL is where the built-in load goes: the scenario's path (and query) on the listener
// of the first service.
func loadURL(listener, path string) string {
	base, err := url.Parse(listener)
	if err != nil {
		return listener + path
	}
	ref, err := url.Parse(path)
	if err != nil {
		return listener + path
	}
	return base.ResolveReference(ref).String()
}

// readSecrets reads the secrets' values for the emulator: --env-file, else the manifest's
// local.envFile (relative to the manifest).
func readSecrets(o upOptions, m *manifest.Manifest) (map[string]string, error) {
	file, flag := o.envFile, "--env-file"
	if file == "" && m.Local.EnvFile != "" {
		file, flag = m.Local.EnvFile, "local.envFile"
		if !filepath.IsAbs(file) {
			file = filepath.Join(filepath.Dir(o.file), file)
		}
	}
	if file == "" {
		return nil, nil
	}
	data, err := strictyaml.ReadFile(file, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return dotenv.Parse(file, data)
}

func waitReady(ctx context.Context, e *emulator.Emulator) bool {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !e.Ready() {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

func firstListener(e *emulator.Emulator, m *manifest.Manifest) string {
	for _, s := range m.AllServices() {
		if url, ok := e.Listeners()[s.Name]; ok {
			return url
		}
	}
	return ""
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--api %q: want HOST:PORT, such as %s", addr, defaultAPI)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--api %q: serve the state on a loopback address only, such as %s", addr, defaultAPI)
	}
	return nil
}

// serveAPI serves up's state (/status), the dashboard and its actions (internal/dashboard),
// and with the spotfleet controller its metrics and the agents' endpoint; the dashboard's
// timeline samples the world in g until ctx ends.
func serveAPI(ctx context.Context, g *errgroup.Group, addr string, world upWorld, ctl *controller.Controller, logDir string, errOut io.Writer) (*httpserver.Server, string, error) {
	var ctlStats func() controller.Stats
	if ctl != nil {
		ctlStats = ctl.Stats
	}
	dash, err := dashboard.New(world, ctlStats, logDir)
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(world.Status())
	})
	if ctl != nil {
		ctl.Routes(mux)
	}
	dash.Routes(mux)
	g.Go(func() error { dash.Run(ctx); return nil })
	// It listens on loopback only, and answers only loopback names (DNS rebinding). It is
	// g's, as the rest of the run: it closes when ctx ends.
	srv := httpserver.New(httpserver.Hosts(mux, httpserver.Loopback), httpserver.API)
	g.Go(func() error {
		// The API is an aid, not the run: losing it is said, and the fleet goes on.
		if err := srv.Serve(ln); err != nil {
			fmt.Fprintf(errOut, "warning: the API at %s stopped: %v\n", ln.Addr(), err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		srv.Close()
		return nil
	})
	return srv, ln.Addr().String(), nil
}

// upWorld is the emulator as the dashboard sees it, with the built-in load's numbers.
type upWorld struct {
	*emulator.Emulator
	load *loadgen.Load
}

func (w upWorld) Status() fleetview.Status { return w.Emulator.Status(w.load) }

// checkBudget refuses, before anything starts, a manifest that would run more processes at
// once than the budget, or need more file descriptors than the process may open: a
// 10,000-instance manifest started 4,991 processes, used up 20,000 descriptors and hung
// with its clock frozen (#32).
func checkBudget(m *manifest.Manifest, budget int) error {
	procs, instances := m.LocalPeak()
	if procs > budget {
		return fmt.Errorf("this manifest can run up to %d processes at once (its services at their largest), over up's budget of %d: "+
			"lower its counts, or raise --max-processes if this machine has the memory (about 10 MB a process of the example service)", procs, budget)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		if need := manifest.LocalFiles(procs, instances); uint64(need) > lim.Cur {
			return fmt.Errorf("this manifest can run up to %d processes on %d instances, which takes about %d file descriptors; this process may open %d: "+
				"lower its counts, or raise the limit (ulimit -n %d)", procs, instances, need, lim.Cur, need)
		}
	}
	return nil
}

// stopGrace is how long up takes at most to stop after Ctrl-C or SIGTERM: past it, every
// process it started is killed (the reaper), and it exits.
const stopGrace = 8 * time.Second

// stopWithin makes a signal end up within stopGrace whatever it is doing (starting
// thousands of processes, a world lock held): the orderly stop gets that long, then the
// reaper kills every process group and up exits.
func stopWithin(ctx context.Context, finished <-chan struct{}, reaper *proc.Reaper, errOut io.Writer) {
	select {
	case <-finished:
		return
	case <-ctx.Done():
	}
	select {
	case <-finished:
	case <-time.After(stopGrace):
		fmt.Fprintf(errOut, "up did not stop within %s of the signal: killing every process it started\n", stopGrace)
		reaper.Finish()
		os.Exit(130)
	}
}

func newReaperCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "reaper",
		Short:  "Kill the process groups named on stdin when stdin closes (used by up)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			signal.Ignore(os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			proc.RunReaper(os.Stdin)
			return nil
		},
	}
}

// fallbackLine says what the fallback did, in words when it did nothing.
func fallbackLine(f controller.FallbackStats) string {
	if f.Cycles == 0 && len(f.ReactionSeconds) == 0 {
		return "fallback: no Spot shortfall needed covering"
	}
	list := func(xs []float64) string {
		if len(xs) == 0 {
			return "-"
		}
		var parts []string
		for _, x := range xs {
			parts = append(parts, strconv.FormatFloat(math.Round(x), 'f', 0, 64))
		}
		return strings.Join(parts, ", ") + " s"
	}
	return fmt.Sprintf("fallback: %d cover-and-return cycle(s); covered in %s (first shortfall to cover serving); back to Spot in %s (Spot whole again to cover gone)",
		f.Cycles, list(f.ReactionSeconds), list(f.BackToSpotSeconds))
}
