package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spotfleet/spotfleet/agent"
	"github.com/spotfleet/spotfleet/clock"
	"github.com/spotfleet/spotfleet/emulator/proc"
)

type agentOptions struct {
	imds, report, hook, instance, sig string
	interval, delay, stopTimeout      time.Duration
	pid                               int
	rebalance                         bool
}

func newAgentCmd() *cobra.Command {
	var o agentOptions
	cmd := &cobra.Command{
		Use:   "agent [flags] [-- COMMAND [ARG...]]",
		Short: "Watch this instance's metadata service and act on a Spot interruption notice",
		Long: `agent runs on an instance. It polls the metadata service (IMDSv2) every second, and when
a Spot interruption notice appears it:
  1. reports it to the controller (--controller-url) with this instance's signed identity document
     (the controller takes reports only for the instance the document names). The
     controller then keeps the instance serving until its replacement does (or until the
     latest moment that leaves the drain and the stop timeout before the deadline), takes
     it out of the load balancer, and shuts it down, which sends SIGTERM to the service;
  2. runs --on-notice (with SPOTFLEET_NOTICE_KIND, _ACTION, _TIME and SPOTFLEET_INSTANCE_ID
     set) and sends --signal to --pid, or to COMMAND when the agent runs it: after --delay
     when no controller took the report, else only if the service still runs --stop-timeout
     and 5s before the deadline.
With --rebalance it also reports rebalance recommendations and runs the hook for them (the
service is not signalled: the controller replaces the instance first).

Given COMMAND, the agent runs it, passes SIGTERM and SIGINT on to it, and exits with its
status when it ends.`,
		Example: `  spotfleet agent --controller-url http://10.0.0.5:7077 -- ./server --port 8080
  spotfleet agent --pid 4242 --on-notice 'logger spot notice'`,
		RunE: func(cmd *cobra.Command, args []string) error { return runAgent(cmd, o, args) },
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // flags after COMMAND are COMMAND's
	f.StringVar(&o.imds, "imds", cmp.Or(os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"), agent.DefaultEndpoint), "the metadata service (default from AWS_EC2_METADATA_SERVICE_ENDPOINT)")
	f.DurationVar(&o.interval, "interval", time.Second, "how often to poll the metadata service")
	f.StringVar(&o.report, "controller-url", "", "the controller's API (http://HOST:PORT, its --api address) to report notices to")
	renamed(cmd, "report", "controller-url")
	f.StringVar(&o.hook, "on-notice", "", "a shell command to run on a notice")
	f.IntVar(&o.pid, "pid", 0, "a process to signal on an interruption notice")
	f.StringVar(&o.sig, "signal", "TERM", "the signal sent on an interruption notice (TERM, INT, QUIT, USR1 or USR2)")
	f.DurationVar(&o.delay, "delay", 5*time.Second, "without a controller that takes the report: time between the notice and the hook or signal, for the load balancer to stop routing")
	f.DurationVar(&o.stopTimeout, "stop-timeout", 30*time.Second, "how long the service takes to stop after the signal: when the controller took the report, it shuts the instance down when it is out of the load balancer, and the agent signals the service itself only this long (and 5s) before the deadline if it still runs")
	f.StringVar(&o.instance, "instance-id", "", "this instance's ID (default: from the metadata service)")
	f.BoolVar(&o.rebalance, "rebalance", true, "also watch rebalance recommendations")
	return cmd
}

var agentSignals = map[string]syscall.Signal{"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2}

func runAgent(cmd *cobra.Command, o agentOptions, args []string) error {
	sig, ok := agentSignals[strings.TrimPrefix(strings.ToUpper(o.sig), "SIG")]
	if !ok {
		return fmt.Errorf("--signal %s: use TERM, INT, QUIT, USR1 or USR2", o.sig)
	}
	if o.pid != 0 && len(args) > 0 {
		return errors.New("give --pid or a COMMAND to run, not both")
	}
	if o.interval < 100*time.Millisecond {
		return fmt.Errorf("--interval %s: poll at most every 100ms", o.interval)
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)).With("component", "spotfleet-agent")
	ctx, stop := context.WithCancel(cmd.Context())
	defer stop()
	client := &http.Client{Timeout: 5 * time.Second}
	imds := &agent.IMDS{Endpoint: o.imds, Client: client, Clock: clock.Real{}}

	act := &agent.Actions{Report: o.report, Instance: o.instance, Hook: o.hook, Delay: o.delay, Client: client, Clock: clock.Real{}, Log: log,
		Identity: imds.Identity, StopTimeout: o.stopTimeout}
	if act.Instance == "" && o.report != "" {
		id, err := imds.Get(ctx, "instance-id")
		if err != nil {
			return fmt.Errorf("reading this instance's ID from the metadata service at %s: %w (set --instance-id, or --imds)", o.imds, err)
		}
		act.Instance = string(id)
	}
	if o.pid != 0 {
		act.Signal = func() error { return syscall.Kill(o.pid, sig) }
	}

	var child *exec.Cmd
	childDone := make(chan error, 1)
	if len(args) > 0 {
		if args[0] == "spotfleet" { // this binary, wherever it is (up runs tasks so too)
			if exe, err := os.Executable(); err == nil {
				args[0] = exe
			}
		}
		child = exec.Command(args[0], args[1:]...)
		child.Stdin, child.Stdout, child.Stderr = os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()
		child.SysProcAttr = proc.DiesWithParent() // never outlive the agent (on Linux)
		if err := child.Start(); err != nil {
			return fmt.Errorf("starting %s: %w", args[0], err)
		}
		act.Signal = func() error { return child.Process.Signal(sig) }
		go func() { childDone <- child.Wait() }()
	}
	w := &agent.Watcher{IMDS: imds, Interval: o.interval, Rebalance: o.rebalance, Clock: clock.Real{}, Log: log, On: act.Handle}
	// The watcher is the command's: it ends, and is waited for, when the command returns.
	watchCtx, stopWatch := context.WithCancel(ctx)
	var watching sync.WaitGroup
	watching.Go(func() { w.Watch(watchCtx) })
	defer func() {
		stopWatch()
		watching.Wait()
	}()

	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)
	for {
		select {
		case s := <-signals:
			if child == nil {
				return nil
			}
			child.Process.Signal(s) // the child decides when it is done
		case err := <-childDone:
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code := exit.ExitCode()
				if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					code = 128 + int(ws.Signal()) // as a shell reports it
				}
				return exitStatus{code: max(code, 1)}
			}
			return err
		}
	}
}
