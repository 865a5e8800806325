package controller

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/manifest"
)

// Outcome is what became of an event, as the events counter labels it.
type Outcome string

const (
	OutcomeAccepted   Outcome = "accepted"   // a new notice
	OutcomeDuplicate  Outcome = "duplicate"  // the same instance and kind is being handled
	OutcomeSuperseded Outcome = "superseded" // a rebalance for an instance already interrupted
	OutcomeForeign    Outcome = "foreign"    // not an instance of this fleet
	OutcomeLate       Outcome = "late"       // the instance is already gone
	OutcomeRejected   Outcome = "rejected"   // impossible for that instance (an interruption of On-Demand)
	OutcomeObserved   Outcome = "observed"   // state changes and launch failures: read, nothing to act on here
	OutcomeIgnored    Outcome = "ignored"    // an event spotfleet does not read
	OutcomeMalformed  Outcome = "malformed"
	// OutcomeUntrusted is an event of another source, account or region than the fleet's.
	OutcomeUntrusted Outcome = "untrusted"
	// OutcomeUnauthenticated is an agent report without a valid identity document of the
	// instance it names; OutcomeUnconfirmed one for an instance with no interruption pending.
	OutcomeUnauthenticated Outcome = "unauthenticated"
	OutcomeUnconfirmed     Outcome = "unconfirmed"
)

// signal is an event reduced to what the pipeline acts on, whatever its source.
type signal struct {
	kind     spotfleet.EventKind // KindInterruption or KindRebalance after normalising
	instance string
	deadline time.Time
}

// intake classifies one input, starting a notice when it calls for one. It returns the
// receipt handles of messages to delete now.
func (c *Controller) intake(in input, v *view, now time.Time) []string {
	var receipt []string
	if in.msg != nil {
		receipt = []string{in.msg.ReceiptHandle}
	}
	s, kind, ok := c.signalOf(in, v, now)
	if !ok {
		return receipt
	}
	out := classify(s, v, c.notices)
	c.count(kind, out)
	switch out {
	case OutcomeAccepted:
		return c.open(s, in.msg, v, now)
	case OutcomeDuplicate:
		if c.redelivered(s, in.msg, now) {
			return nil
		}
	case OutcomeSuperseded:
	default:
		c.log.Info("event dropped", "kind", kind, "outcome", out, "instance", s.instance)
	}
	return receipt
}

// signalOf reads what an input says of the fleet: an agent's report as it is, an event
// once checked and normalised. ok is false, the outcome counted and logged, for an input
// that calls for no notice: malformed, from another account or region, or only observed
// (a launch failure is recorded here).
func (c *Controller) signalOf(in input, v *view, now time.Time) (s signal, kind string, ok bool) {
	if in.sig != nil {
		return *in.sig, string(in.sig.kind), true
	}
	kind = string(in.ev.Kind)
	if in.err != nil {
		c.count("malformed", OutcomeMalformed)
		c.log.Warn("malformed event deleted", "err", in.err, "message", in.msg.ID)
		return signal{}, kind, false
	}
	if why := untrusted(in.ev.Envelope, c.cfg.Account, c.m.Region); why != "" {
		c.count(kind, OutcomeUntrusted)
		c.log.Warn("event not from the fleet's account and region deleted", "reason", why, "message", in.msg.ID,
			"source", in.ev.Envelope.Source, "account", in.ev.Envelope.Account, "region", in.ev.Envelope.Region)
		return signal{}, kind, false
	}
	ev := in.ev
	if g := v.byNative[ev.Group]; ev.Kind == spotfleet.KindLaunchFailed && g != nil {
		ev.Group = g.Name
	}
	s, out, ok := normalise(ev, v)
	if !ok {
		c.count(kind, out)
		if out == OutcomeObserved && ev.Kind == spotfleet.KindLaunchFailed {
			c.launchFailed(ev.Group, spotfleet.LaunchFailure{ActivityID: ev.Activity, Time: ev.Time,
				Zone: ev.Zone, Message: ev.Message}, v, now)
		}
		return signal{}, kind, false
	}
	c.metrics.delivery.Observe(max(now.Sub(ev.Time), 0).Seconds())
	return s, kind, true
}

// redelivered says whether msg is one its notice already holds, delivered again (its
// visibility ran out): the notice keeps it under its new receipt handle, the only valid
// one now.
func (c *Controller) redelivered(s signal, msg *spotfleet.Message, now time.Time) bool {
	n := c.notices[key{s.instance, s.kind}]
	if n == nil || msg == nil {
		return false
	}
	for i, h := range n.held {
		if h.id == msg.ID {
			delete(c.extended, h.receipt)
			n.held[i].receipt = msg.ReceiptHandle
			c.extended[msg.ReceiptHandle] = now
			return true
		}
	}
	return false
}

// open starts the notice of an accepted signal, holding its message until the notice is
// done. An interruption takes over the instance's rebalance notice. It returns the receipt
// handles to delete now: the rebalance's, and its own if its action is to ignore it.
func (c *Controller) open(s signal, msg *spotfleet.Message, v *view, now time.Time) []string {
	n := newNotice(s, v, c.pol, c.m.Rebalance, now)
	if msg != nil {
		n.held = []held{{msg.ID, msg.ReceiptHandle}}
		c.extended[msg.ReceiptHandle] = now
	}
	var drop []string
	if old := c.notices[key{s.instance, spotfleet.KindRebalance}]; s.kind == spotfleet.KindInterruption && old != nil {
		n.drained, n.detached = old.drained, old.detached
		drop = append(drop, old.receipts()...)
		delete(c.notices, old.key)
	}
	c.notices[n.key] = n
	weight := weightRebalance
	if s.kind == spotfleet.KindInterruption {
		weight = weightInterruption
		for _, w := range replacementRoom(v, n, c.maxPercent) {
			c.warn(w)
		}
	}
	c.mem.add(n.pool, weight, now)
	if n.deadline.IsZero() { // a rebalance recommendation has none
		c.log.Info("notice", "kind", s.kind, "instance", s.instance, "pool", n.pool, "action", n.action)
	} else {
		c.log.Info("notice", "kind", s.kind, "instance", s.instance, "pool", n.pool, "action", n.action, "deadline", n.deadline)
	}
	c.reach(n, PhaseReceived, now)
	if n.action == actionIgnore {
		delete(c.notices, n.key)
		drop = append(drop, n.receipts()...)
	}
	return drop
}

// warn logs a warning about the fleet, counts it, and keeps the first ones for Stats.
func (c *Controller) warn(w string) {
	c.metrics.warnings.Inc()
	c.log.Warn(w)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.stats.Warnings) < maxKept/100 {
		c.stats.Warnings = append(c.stats.Warnings, w)
	}
}

// normalise turns an event into a signal, resolving an ECS task stopped by an interruption
// to its instance. ok is false for events that start no notice.
func normalise(ev spotfleet.Event, v *view) (signal, Outcome, bool) {
	switch ev.Kind {
	case spotfleet.KindInterruption, spotfleet.KindRebalance:
		return signal{kind: ev.Kind, instance: ev.InstanceID, deadline: ev.Deadline}, "", true
	case spotfleet.KindTaskStopped:
		if ev.Task != "" { // a Fargate Spot task: the task is what is interrupted
			return signal{kind: spotfleet.KindTaskStopped, instance: ev.Task, deadline: ev.Deadline}, "", true
		}
		in := v.byContainer[ev.ContainerInstance]
		if in == nil {
			return signal{}, OutcomeForeign, false
		}
		return signal{kind: spotfleet.KindInterruption, instance: in.ID, deadline: ev.Deadline}, "", true
	case spotfleet.KindStateChange:
		if v.instance[ev.InstanceID] == nil {
			return signal{}, OutcomeForeign, false
		}
		return signal{}, OutcomeObserved, false
	case spotfleet.KindLaunchFailed:
		if v.group[ev.Group] == nil && !manifest.IsFargate(ev.Group) {
			return signal{}, OutcomeForeign, false
		}
		return signal{}, OutcomeObserved, false // acted on by the fallback (Controller.launchFailed)
	}
	return signal{}, OutcomeIgnored, false
}

// classify decides whether a signal starts a notice.
func classify(s signal, v *view, notices map[key]*notice) Outcome {
	if s.kind == spotfleet.KindTaskStopped {
		return classifyTask(s, v, notices)
	}
	in := v.instance[s.instance]
	switch {
	case in == nil:
		return OutcomeForeign
	case !in.Alive():
		return OutcomeLate
	case in.Lifecycle != spotfleet.Spot:
		return OutcomeRejected
	case notices[key{s.instance, s.kind}] != nil:
		return OutcomeDuplicate
	case s.kind == spotfleet.KindRebalance && notices[key{s.instance, spotfleet.KindInterruption}] != nil:
		return OutcomeSuperseded
	}
	return OutcomeAccepted
}

// classifyTask decides whether a Fargate task's interruption starts a notice: the task must
// be one of the fleet's, not STOPPED, and on FARGATE_SPOT.
func classifyTask(s signal, v *view, notices map[key]*notice) Outcome {
	ts := v.tasksOn[s.instance]
	switch {
	case len(ts) == 0:
		return OutcomeForeign // or already STOPPED: the snapshot shows no task that is
	case ts[0].Provider != manifest.FargateSpot:
		return OutcomeRejected
	case notices[key{s.instance, s.kind}] != nil:
		return OutcomeDuplicate
	}
	return OutcomeAccepted
}

// newNotice starts a notice for an accepted signal at now, and fixes what it must keep to
// whatever the later rounds see: its deadline, stop timeout and, for an interruption, the
// latest moment its targets can leave the load balancer.
func newNotice(s signal, v *view, pol policy, rebalance manifest.RebalanceAction, now time.Time) *notice {
	if s.kind == spotfleet.KindTaskStopped {
		n := &notice{key: key{s.instance, s.kind}, action: actionInterruption, pool: spotfleet.Pool{InstanceType: manifest.FargateSpot},
			receivedAt: now, deadline: now.Add(spotfleet.SpotNotice), reached: map[Phase]time.Time{}, stop: v.stopTimeout(s.instance)}
		for _, t := range v.tasksOn[s.instance] {
			n.services, n.pool.Zone = append(n.services, t.Service), t.Zone
		}
		return n
	}
	in := v.instance[s.instance]
	n := &notice{key: key{s.instance, s.kind}, group: in.Group, pool: in.Pool,
		receivedAt: now, reached: map[Phase]time.Time{}, action: action(rebalance)}
	if s.kind == spotfleet.KindInterruption {
		n.action = actionInterruption
		n.deadline = s.deadline
		// A deadline further than two minutes away is not trusted (a skewed clock or a
		// forged event): the instance may go any moment within two minutes of the notice.
		if n.deadline.IsZero() || n.deadline.After(now.Add(spotfleet.SpotNotice)) {
			n.deadline = now.Add(spotfleet.SpotNotice)
		}
	}
	for _, t := range v.tasksOn[s.instance] {
		if !slices.Contains(n.services, t.Service) {
			n.services = append(n.services, t.Service)
		}
	}
	n.stop = v.stopTimeout(s.instance)
	if in.ContainerInstance == "" { // workload instances: the service runs on every instance
		for _, sv := range v.snap.Services {
			n.stop = max(n.stop, sv.StopTimeout)
		}
	}
	if s.kind == spotfleet.KindInterruption {
		n.takeOutAt = takeOutAt(n, v, pol)
	}
	return n
}

// replacementRoom warns when a service's maximumPercent leaves no room to start the
// replacements of an interrupted instance's tasks before they stop: ECS then starts them
// only as the old ones stop, so the service runs short for a boot and a health check.
func replacementRoom(v *view, n *notice, maxPercent map[string]int) []string {
	var warn []string
	for _, name := range n.services {
		sv := v.service[name]
		if sv == nil {
			continue
		}
		live, here := 0, 0
		for k, c := range v.pic.byTask {
			if k.service == name {
				live += c.all
			}
		}
		for _, t := range v.tasksOn[n.instance] {
			if t.Service == name && t.Instance == n.instance {
				here++
			}
		}
		room := int(math.Floor(float64(sv.Desired*maxPercent[name])/100)) - live
		if here > room {
			warn = append(warn, fmt.Sprintf("service %s: maximumPercent %d leaves room for %d of the %d replacement tasks for %s; the rest start as the old tasks stop (raise maximumPercent to start them all at once)",
				name, maxPercent[name], max(room, 0), here, n.instance))
		}
	}
	return warn
}

// untrusted says why an event is not the fleet's to act on: each detail type comes from one
// AWS source, of the fleet's account and region ("" when it is). Anyone who can send to the
// queue can forge the rest; these three fields are what the queue policy's source
// condition and EventBridge vouch for.
func untrusted(env spotfleet.Envelope, account, region string) string {
	if want, known := spotfleet.SourceOf(env.DetailType); known && env.Source != want {
		return fmt.Sprintf("a %q event from source %q, not %s", env.DetailType, env.Source, want)
	}
	if !strings.HasPrefix(env.Source, "aws.") {
		return fmt.Sprintf("source %q is not an AWS service", env.Source)
	}
	if account != "" && env.Account != account {
		return fmt.Sprintf("account %q is not the fleet's", env.Account)
	}
	if env.Region != region {
		return fmt.Sprintf("region %q is not the fleet's %s", env.Region, region)
	}
	return ""
}
