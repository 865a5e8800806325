// Package local runs a fleet's controller against the emulator: the one wiring that
// `spotfleet up` (in real time, with processes) and `spotfleet simulate` (on a virtual
// clock, without) share, so that what a simulation measures is what up runs.
package local

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spotfleet/spotfleet/clock"
	"github.com/spotfleet/spotfleet/controller"
	"github.com/spotfleet/spotfleet/controller/seeds"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/emulator/scenario"
	"github.com/spotfleet/spotfleet/internal/iid"
	"github.com/spotfleet/spotfleet/manifest"
)

// Kind is what reacts to interruptions and Spot shortfalls in a local run.
type Kind string

const (
	Spotfleet Kind = "spotfleet" // spotfleet's controller
	Seed      Kind = "seed"      // the reference designs' functions (S2's, and S1's with a fallback block)
	None      Kind = "none"      // ECS and Auto Scaling alone
)

// Kinds are the kinds, spotfleet's first.
var Kinds = []Kind{Spotfleet, Seed, None}

// ParseKind reads a kind's name.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("controller %q: use %s, %s or %s", s, Spotfleet, Seed, None)
}

// EmulatorOptions are what every local run of a manifest gives its emulator: the ECS
// agent drains an instance on its notice (what the ECS-optimized AMI does with
// ECS_ENABLE_SPOT_INSTANCE_DRAINING=true), and the scenario's boot times and load (sc may
// be nil).
func EmulatorOptions(m *manifest.Manifest, sc *scenario.Scenario) emulator.Options {
	o := emulator.Options{AgentDrainsOnNotice: m.Workload == manifest.WorkloadECS}
	if sc != nil && sc.BootTime > 0 {
		o.BootTime, o.FargateStart = sc.BootTime.D(), sc.FargateStartTime.D()
	}
	if sc != nil {
		o.Load = sc.Load
	}
	return o
}

// Config is the controller configuration of an emulated fleet: the emulator as provider
// and queue, and its account.
func Config(m *manifest.Manifest, e *emulator.Emulator, clk clock.Clock, log *slog.Logger) controller.Config {
	return controller.Config{Manifest: m, Provider: e, Queue: e.Queue(), Clock: clk, Account: emulator.AccountID, Log: log}
}

// TrustAgents makes the controller take the reports of agents on the emulator's instances:
// it checks their identity documents against the certificate the emulator's metadata
// services sign with, as on AWS against AWS's. (A simulation has no agents, and skips the
// key this makes.)
func TrustAgents(cfg *controller.Config, e *emulator.Emulator) error {
	cert, err := e.IdentityCertificate()
	if err == nil {
		cfg.Identity, err = iid.NewVerifier(cert)
	}
	return err
}

// Controller is a controller of one kind, attached to an emulator. up runs it (Run); a
// simulation steps it (Step, NextWake).
type Controller struct {
	kind Kind
	c    *controller.Controller
	s    *seeds.Seed
	q    controller.Queue
}

// New makes a controller of the kind.
func New(kind Kind, cfg controller.Config) (*Controller, error) {
	l := &Controller{kind: kind, q: cfg.Queue}
	var err error
	switch kind {
	case Spotfleet:
		l.c, err = controller.New(cfg)
	case Seed:
		l.s, err = seeds.New(cfg)
	case None:
	default:
		_, err = ParseKind(string(kind))
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Kind is the controller's kind.
func (l *Controller) Kind() Kind { return l.kind }

// Spotfleet is spotfleet's controller, for its API, metrics and statistics; nil for the
// other kinds.
func (l *Controller) Spotfleet() *controller.Controller { return l.c }

// Run runs the controller until ctx ends. ECS alone runs nothing: nobody reads the events.
func (l *Controller) Run(ctx context.Context) error {
	switch {
	case l.c != nil:
		return l.c.Run(ctx)
	case l.s != nil:
		return l.s.Run(ctx)
	}
	<-ctx.Done()
	return nil
}

// Step runs one round, as a simulation drives it. ECS alone drops the events, so that a
// month's queue does not fill memory.
func (l *Controller) Step(ctx context.Context) {
	switch {
	case l.c != nil:
		l.c.Step(ctx)
	case l.s != nil:
		l.s.Step(ctx)
	default:
		for {
			msgs, _ := l.q.ReceiveMessages(ctx, 10, 0, time.Hour)
			if len(msgs) == 0 {
				return
			}
			for _, m := range msgs {
				l.q.DeleteMessage(ctx, m.ReceiptHandle)
			}
		}
	}
}

// NextWake is when the controller wants a round with nothing happening (zero: never).
func (l *Controller) NextWake() time.Time {
	switch {
	case l.c != nil:
		return l.c.NextWake()
	case l.s != nil:
		return l.s.NextRun()
	}
	return time.Time{}
}
