package emulator

import (
	"fmt"
	"slices"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/account"
	"github.com/spotfleet/spotfleet/manifest"
)

// noticeRecord follows one interruption notice of an instance (or a Fargate Spot task)
// with targets until they are all out of the load balancer, or it ends first. id is what
// its targets are indexed by (targetGroup.byInstance).
type noticeRecord struct {
	id     string
	alive  func() bool
	wallAt time.Time
}

// ratesCache keeps the world's rates (account.Rates) until it changes: they are integrated
// at every call into the world, and counting 10,000 instances each time made a burst of
// notices quadratic (BenchmarkNotices).
type ratesCache struct {
	rates *account.Rates
	key   ratesKey
	at    time.Time // the world's time they were counted at
}

// ratesQuantum is how long, in the world's time, rates are kept after they were counted
// though the world changed. Counting is a walk of the fleet; a burst of 10,000 notices at
// real speed changes the world at every call into it, microseconds apart, and counting at
// each made the burst quadratic again (BenchmarkNotices: 0.9-1.2 s). The report's
// integrals then lag a change by at most this much; a simulation, whose events are
// seconds apart, is not affected.
const ratesQuantum = 100 * time.Millisecond

// ratesKey is what rates depend on: the world's change count (instances, tasks and targets
// changing state bump it), and the desired counts, which the provider and target
// tracking set without it.
type ratesKey struct {
	version uint64
	desired uint64 // a hash of every service's desired count
}

// ratesOf is the world's rates now, counted again only when the world changed (and
// ratesQuantum has passed). Callers hold the lock.
func (e *Emulator) ratesOf(now time.Time) *account.Rates {
	c := &e.rates
	key := ratesKey{version: e.version}
	for _, s := range e.services {
		key.desired = key.desired*1_000_003 + uint64(s.desiredUnits())
	}
	if c.rates != nil && (c.key == key || now.Sub(c.at) < ratesQuantum) {
		return c.rates
	}
	r := &account.Rates{}
	at := map[*pool]int{}
	for _, in := range e.instOrder {
		if !in.alive() {
			continue
		}
		i, ok := at[in.pool]
		if !ok {
			i, at[in.pool] = len(r.Pools), len(r.Pools)
			r.Pools = append(r.Pools, account.PoolCount{Pool: in.pool})
		}
		if in.lifecycle == spotfleet.OnDemand {
			r.Pools[i].OnDemand++
		} else {
			r.Pools[i].Spot++
		}
	}
	r.Excess = e.onDemandExcess()
	for _, s := range e.services {
		for _, t := range s.tasks {
			rate, od := t.fargateRate()
			switch {
			case rate == 0:
			case t.pool != nil:
				r.FargateSpot++
			default:
				r.Fargate++
			}
			r.FargateUSD += rate
			r.FargateOnDemandUSD += od
		}
	}
	serve := e.servingNow()
	for _, s := range e.services {
		if s.covers != nil {
			continue
		}
		sr := serve.of(s)
		r.Services = append(r.Services, sr)
		r.Below = r.Below || sr.Serving < sr.Desired
		r.Wanted = r.Wanted || sr.Desired > 0
		r.Short += max(0, sr.Desired-sr.Serving)
	}
	if c.rates == nil || c.key.desired != key.desired {
		r.OnDemandFleetUSD = e.onDemandFleetRate() // packs every task: only when desired counts change
	} else {
		r.OnDemandFleetUSD = c.rates.OnDemandFleetUSD
	}
	*c = ratesCache{rates: r, key: key, at: now}
	return r
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
		base += wantOnDemand(g.cfg.DesiredCapacity, g.cfg.OnDemandBaseCapacity, g.cfg.OnDemandPercentageAboveBaseCapacity) / g.cfg.UnitsPerInstance()
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
				units = (units + g.cfg.UnitsPerInstance() - 1) / g.cfg.UnitsPerInstance()
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

// targetDeregistered completes the open notice records whose instance has no target left
// in service: the wall time from the notice goes into the report.
func (e *Emulator) targetDeregistered(t *target) {
	r := e.notices[t.instanceID]
	if r == nil || !r.alive() || e.hasRegisteredTargets(r.id) {
		return
	}
	e.acct.Deregistered(float64(time.Since(r.wallAt).Microseconds()) / 1000)
	delete(e.notices, t.instanceID)
}

// instanceEnded closes the open notice records of an instance that terminated with a
// target still in service.
func (e *Emulator) instanceEnded(id string) {
	if r := e.notices[id]; r != nil {
		e.acct.NotDeregistered++
		delete(e.notices, id)
	}
}

func (e *Emulator) hasRegisteredTargets(id string) bool {
	for _, tg := range e.tgs {
		for _, t := range tg.byInstance[id] {
			if t.state.Registered() {
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
