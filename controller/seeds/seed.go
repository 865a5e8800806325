// Package seeds holds the reference designs' own functions, written as their designs have
// them so that spotfleet's controller can be compared with them in one run (up --controller
// seed, simulate): S2's interruption function, and with a fallback block S1's On-Demand
// backup. They are baselines, not products.
package seeds

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/controller"
	"github.com/spotfleet/spotfleet/manifest"
)

// Seed is reference design S2's interruption function, implemented as written so that
// spotfleet can be compared with it in one run: when an interruption warning arrives, it
// deregisters the instance from the target groups (an instance target: for ECS tasks,
// whose targets are IP addresses, this finds nothing) and publishes a notification. It
// leaves everything else to ECS (the agent's own draining) and Auto Scaling. With a
// fallback block it also runs reference design S1's function (see runS1).
type Seed struct {
	cfg      controller.Config
	notifier *controller.Notifier
	upi      int // S1: units per instance of the On-Demand group

	s1     s1        // S1's state between its runs
	s1Next time.Time // Step: when S1's function runs next
}

// New builds the S2 function from the same configuration as a controller (Queue is
// required; Margin, Tick and Receivers do not apply).
func New(cfg controller.Config) (*Seed, error) {
	if cfg.Manifest == nil || cfg.Provider == nil || cfg.Queue == nil {
		return nil, errors.New("seed: a manifest, a provider and a queue are required")
	}
	cfg = cfg.WithDefaults()
	s := &Seed{cfg: cfg, notifier: controller.NewNotifier(cfg, func(string) {}), upi: 1}
	if f := cfg.Manifest.Fallback; f != nil {
		if g, ok := cfg.Manifest.Group(f.To); ok {
			s.upi = g.UnitsPerInstance()
		}
	}
	return s, nil
}

// Run reads the queue until ctx ends.
func (s *Seed) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.notifier.Run(ctx) })
	if s.s1Applies() {
		wg.Go(func() { s.runS1(ctx) })
	}
	for ctx.Err() == nil {
		msgs, err := s.cfg.Queue.ReceiveMessages(ctx, 10, time.Second, 30*time.Second)
		if err != nil {
			select { // the invocation failed; EventBridge retries it
			case <-ctx.Done():
			case <-s.cfg.Clock.After(time.Second):
			}
			continue
		}
		for _, m := range msgs {
			if err := s.handle(ctx, m); err != nil {
				s.cfg.Log.Warn("seed function failed; the event is retried", "err", err)
				continue
			}
			if err := s.cfg.Queue.DeleteMessage(ctx, m.ReceiptHandle); err != nil {
				// The message comes back after its visibility timeout and is handled again,
				// which the function's effects allow (deregistering twice is a no-op).
				s.cfg.Log.Warn("seed function: the event was handled but not deleted; it comes back", "err", err)
			}
		}
	}
	return nil
}

func (s *Seed) handle(ctx context.Context, m spotfleet.Message) error {
	ev, err := spotfleet.ParseEvent(m.Body)
	if err != nil || ev.Kind != spotfleet.KindInterruption {
		return nil // the rule matches interruption warnings only
	}
	snap, err := s.cfg.Provider.Snapshot(ctx)
	if err != nil {
		return err
	}
	for _, tg := range snap.TargetGroups {
		var refs []spotfleet.TargetRef
		for _, t := range snap.Targets {
			if t.TargetGroup == tg.Name && t.ID == ev.InstanceID && t.State.Registered() {
				refs = append(refs, t.Ref())
			}
		}
		if len(refs) > 0 {
			if err := s.cfg.Provider.DeregisterTargets(ctx, tg.Name, refs); err != nil {
				return err
			}
		}
	}
	s.notifier.Send(controller.Notification{ID: ev.ID, Fleet: s.cfg.Manifest.Name, Instance: ev.InstanceID, Kind: ev.Kind,
		Action: "deregister", Phase: controller.PhaseDeregistered, Time: ev.Time, Deadline: &ev.Deadline})
	return nil
}

// Step handles every visible message of the queue without waiting, and runs S1's function
// when its minute has come: the seed function driven from outside on virtual time.
func (s *Seed) Step(ctx context.Context) {
	for {
		msgs, err := s.cfg.Queue.ReceiveMessages(ctx, 10, 0, 30*time.Second)
		if err != nil || len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			if err := s.handle(ctx, m); err == nil {
				if err := s.cfg.Queue.DeleteMessage(ctx, m.ReceiptHandle); err != nil {
					s.cfg.Log.Warn("seed function: the event was handled but not deleted; it comes back", "err", err)
				}
			}
		}
	}
	if !s.s1Applies() {
		return
	}
	now := s.cfg.Clock.Now()
	if s.s1Next.IsZero() {
		s.s1Next = now.Add(s1Period)
	}
	for !now.Before(s.s1Next) {
		s.s1Next = s.s1Next.Add(s1Period)
		s.runS1Once(ctx, &s.s1)
	}
}

// s1Applies says whether S1's function runs: with a fallback between groups. Fargate has
// no group to back up, and no seed design covers Fargate Spot (ECS alone).
func (s *Seed) s1Applies() bool {
	f := s.cfg.Manifest.Fallback
	return f != nil && !manifest.IsFargate(f.From)
}

// NextRun is when S1's function runs next under Step (zero without a fallback block).
func (s *Seed) NextRun() time.Time { return s.s1Next }
