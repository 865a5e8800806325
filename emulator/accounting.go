package emulator

import (
	"fmt"
	"slices"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/manifest"
)

// accounting integrates what the report measures between every two moments of change.
type accounting struct {
	notices, rebalances    int
	deadlineMissed         int // notices whose instance died with processes still running
	stoppedWhileRegistered int // tasks signalled or killed while the load balancer could still route to them
	launchFailures         int
	failedStarts           int // tasks that stopped before they ran (PENDING to STOPPED)

	ready                   bool // every service reached its desired count once; below-desired counts from here
	readyAt                 time.Duration
	belowDesired            time.Duration
	onDemandSec, spotSec    float64
	onDemandExcessSec       float64
	costUSD, allOnDemandUSD float64
}

// noticeRecord follows one interruption notice until its instance's targets are all out of
// the load balancer.
type noticeRecord struct {
	in             *instance
	wallAt         time.Time
	hadTargets     bool
	deregistered   bool
	toDeregistered time.Duration // wall time
}

func (a *accounting) integrate(e *Emulator, from, to time.Time) {
	dt := to.Sub(from).Seconds()
	elapsed := from.Sub(e.start)
	for _, in := range e.instOrder {
		if !in.alive() {
			continue
		}
		od := in.pool.onDemandPrice() * dt / 3600
		a.allOnDemandUSD += od
		if in.lifecycle == spotfleet.OnDemand {
			a.onDemandSec += dt
			a.costUSD += od
		} else {
			a.spotSec += dt
			a.costUSD += in.pool.spotPrice(elapsed) * dt / 3600
		}
	}
	a.onDemandExcessSec += float64(e.onDemandExcess()) * dt
	below, wanted := false, false
	for _, s := range e.services {
		if s.covers == nil {
			below = below || s.healthyUnits() < s.desiredUnits()
			wanted = wanted || s.desiredUnits() > 0
		}
	}
	switch {
	case !a.ready && !below && wanted: // before the groups are sized, nothing is wanted yet
		a.ready, a.readyAt = true, elapsed
	case a.ready && below:
		a.belowDesired += to.Sub(from)
	}
}

// healthyUnits counts what serves: healthy tasks (its fallback companion's too), or under
// workload instances the capacity units of instances whose service is healthy.
func (s *service) healthyUnits() int {
	n := 0
	if s.e.m.Workload == manifest.WorkloadInstances {
		for _, g := range s.e.groups {
			n += g.healthyUnits()
		}
		return n
	}
	for _, x := range s.e.services {
		if x != s && x.covers != s {
			continue
		}
		for _, t := range x.tasks {
			if t.healthy() {
				n++
			}
		}
	}
	return n
}

// onDemandExcess counts the On-Demand instances running beyond what the policy requires:
// the groups' On-Demand base (at their manifest desired capacity) plus what covers a Spot
// shortfall now. Under workload ecs an On-Demand instance is required while it runs a task
// of a manifest service, or a fallback task while its service is short of healthy tasks
// of its own; under workload instances the shortfall is fallback.from's desired capacity
// less its healthy capacity. It is the waste a cover kept too long (S1's 45-minute
// cooldown, a fallback that never returns) leaves behind.
func (e *Emulator) onDemandExcess() int {
	var od []*instance
	base := 0
	for _, g := range e.groups {
		base += wantOnDemand(g.cfg.DesiredCapacity, g.cfg.OnDemandBaseCapacity, g.cfg.OnDemandPercentageAboveBaseCapacity) / g.weightOf(g.cfg.InstanceTypes[0].Type)
		for _, in := range g.live {
			if in.alive() && in.lifecycle == spotfleet.OnDemand {
				od = append(od, in)
			}
		}
	}
	if e.m.Workload == manifest.WorkloadInstances {
		units := 0
		if f := e.m.Fallback; f != nil {
			if g := e.group(f.From); g != nil {
				units = max(0, g.desired-g.healthyUnits())
			}
			if g := e.group(f.To); g != nil {
				units = (units + g.weightOf(g.cfg.InstanceTypes[0].Type) - 1) / g.weightOf(g.cfg.InstanceTypes[0].Type)
			}
		}
		return max(0, len(od)-base-units)
	}
	needed := 0
	for _, in := range od {
		if in.ci != nil && slices.ContainsFunc(in.ci.tasks, func(t *task) bool {
			return t.svc.covers == nil || t.svc.covers.ownHealthy() < t.svc.covers.desired
		}) {
			needed++
		}
	}
	return max(0, len(od)-max(base, needed))
}

// ownHealthyUnits is what the service serves by itself, without its fallback companion.
func (s *service) ownHealthyUnits() int {
	if s.e.m.Workload == manifest.WorkloadInstances {
		return s.healthyUnits()
	}
	return s.ownHealthy()
}

func (s *service) ownHealthy() int {
	n := 0
	for _, t := range s.tasks {
		if t.healthy() {
			n++
		}
	}
	return n
}

// healthyUnits is the capacity of the group's instances whose service serves (workload
// instances): those the load balancer sends requests to, or whose service runs when there
// is no load balancer. An instance detached from the group (its replacement launching)
// serves until its target leaves, and counts until then.
func (g *group) healthyUnits() int {
	n := 0
	for _, in := range g.e.instOrder {
		if in.g != g || !in.alive() || in.app == nil || in.app.proc == nil {
			continue
		}
		if t := in.app.target; (t == nil && !in.leaving) || (t != nil && t.state == spotfleet.TargetHealthy) {
			n += in.weight
		}
	}
	return n
}

// desiredUnits is what the service should have serving: its desired count, or under
// workload instances the desired capacity of the fleet's primary group (fallback.from),
// or of every group when there is no fallback.
func (s *service) desiredUnits() int {
	if s.e.m.Workload != manifest.WorkloadInstances {
		return s.desired
	}
	n := 0
	for _, g := range s.e.groups {
		if f := s.e.m.Fallback; f == nil || g.cfg.Name == f.From {
			n += g.desired
		}
	}
	return n
}

// targetDeregistered completes the notice records whose instance has no target left in
// service. Only a deregistration before the instance terminated counts.
func (e *Emulator) targetDeregistered(t *target) {
	for _, r := range e.notices {
		if r.deregistered || r.in.id != t.instanceID || !r.in.alive() || e.hasRegisteredTargets(r.in) {
			continue
		}
		r.deregistered = true
		r.toDeregistered = time.Since(r.wallAt)
	}
}

func (e *Emulator) hasRegisteredTargets(in *instance) bool {
	for _, tg := range e.tgs {
		for _, t := range tg.targets {
			if t.instanceID == in.id && t.state.Registered() {
				return true
			}
		}
	}
	return false
}

func plural(n int, one, many string) string {
	switch n {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf(one, n)
	}
	return fmt.Sprintf(many, n)
}
