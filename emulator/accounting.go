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
	failedStarts           int       // tasks that stopped before they ran (PENDING to STOPPED)
	largestBurst           int       // the most notices one market event gave
	deregisteredWallMs     []float64 // per notice with targets: real time until they were all out
	notDeregistered        int       // notices whose instance ended with a target in service

	// From when every service first reached its desired count (ready), the time some
	// service served less than its desired count, each service's own (serving.go), and
	// the requests it would have failed.
	ready                   bool
	readyAt                 time.Duration
	belowDesired            time.Duration
	services                []serviceAccount // by manifest service, in e.services' order
	onDemandSec, spotSec    float64
	onDemandExcessSec       float64
	fargateSec              float64 // Fargate (On-Demand) task-seconds
	fargateSpotSec          float64
	costUSD, allOnDemandUSD float64
	onDemandFleetUSD        float64 // the cheapest On-Demand fleet that runs the desired tasks (baseline.go)

	// For the simulation's report: the stretches below desired, the capacity units
	// missing over time, and when notices and refused launches happened (the first
	// maxMarks of each, for the timeline).
	belowSince           time.Time
	outages              []time.Duration
	shortfallUnitSeconds float64
	noticeMarks          []time.Duration
	refusalMarks         []time.Duration

	rates *rates // cached between changes of the world (ratesOf)
}

// serviceAccount is what one manifest service measured.
type serviceAccount struct {
	belowDesired       time.Duration
	requests, failed   float64 // fluid: requests per second × seconds
	requestsPerSecond  float64 // the last rate it was offered
	servedUnitSeconds  float64
	desiredUnitSeconds float64
}

// maxMarks bounds the times kept of notices and of refused launches.
const maxMarks = 10_000

func mark(marks []time.Duration, at time.Duration) []time.Duration {
	if len(marks) < maxMarks {
		marks = append(marks, at)
	}
	return marks
}

// noticeRecord follows one interruption notice of an instance (or a Fargate Spot task)
// with targets until they are all out of the load balancer, or it ends first. id is what
// its targets are indexed by (targetGroup.byInstance).
type noticeRecord struct {
	id     string
	alive  func() bool
	wallAt time.Time
}

func (a *accounting) integrate(e *Emulator, from, to time.Time) {
	dt := to.Sub(from).Seconds()
	elapsed, end := from.Sub(e.start), to.Sub(e.start)
	r := a.ratesOf(e, from)
	for _, pc := range r.pools {
		od := pc.pool.onDemandPrice() * dt / 3600
		a.allOnDemandUSD += float64(pc.onDemand+pc.spot) * od
		a.costUSD += float64(pc.onDemand) * od
		if pc.spot > 0 {
			a.costUSD += float64(pc.spot) * pc.pool.mk.SpotCost(pc.pool.i, elapsed, end)
		}
		a.onDemandSec += float64(pc.onDemand) * dt
		a.spotSec += float64(pc.spot) * dt
	}
	a.costUSD += r.fargateUSD * dt / 3600
	a.allOnDemandUSD += r.fargateOnDemandUSD * dt / 3600
	a.onDemandFleetUSD += r.onDemandFleetUSD * dt / 3600
	a.fargateSec += float64(r.fargate) * dt
	a.fargateSpotSec += float64(r.fargateSpot) * dt
	a.onDemandExcessSec += float64(r.excess) * dt
	switch {
	case !a.ready && !r.below && r.wanted: // before the groups are sized, nothing is wanted yet
		a.ready, a.readyAt = true, elapsed
		return
	case !a.ready:
		return
	}
	if len(a.services) != len(r.services) {
		a.services = make([]serviceAccount, len(r.services))
	}
	for i, sr := range r.services {
		sa := &a.services[i]
		if sr.serving < sr.desired {
			sa.belowDesired += to.Sub(from)
		}
		sa.requests += sr.rps * dt
		sa.failed += sr.rps * sr.failing * dt
		sa.requestsPerSecond = sr.rps
		sa.servedUnitSeconds += float64(min(sr.serving, sr.desired)) * dt
		sa.desiredUnitSeconds += float64(sr.desired) * dt
	}
	switch {
	case r.below:
		a.belowDesired += to.Sub(from)
		a.shortfallUnitSeconds += float64(r.short) * dt
		if a.belowSince.IsZero() {
			a.belowSince = from
		}
	case !a.belowSince.IsZero():
		a.outages = append(a.outages, from.Sub(a.belowSince))
		a.belowSince = time.Time{}
	}
}

// rates are what integrate multiplies by time: the live instances per pool and lifecycle,
// the On-Demand beyond policy, and what each service serves. They change only when the
// world does, so they are kept until it has: integrate runs at every call into the world,
// and counting 10,000 instances each time made a burst of notices quadratic
// (BenchmarkNotices).
type rates struct {
	key           ratesKey
	at            time.Time // the world's time they were counted at
	pools         []poolCount
	excess, short int
	below, wanted bool
	services      []serviceRate
	// Fargate tasks billed now, and what they cost per hour (and would on FARGATE).
	fargate, fargateSpot           int
	fargateUSD, fargateOnDemandUSD float64
	onDemandFleetUSD               float64 // per hour
}

// serviceRate is one manifest service now.
// ratesQuantum is how long, in the world's time, rates are kept after they were counted
// though the world changed. Counting is a walk of the fleet; a burst of 10,000 notices at
// real speed changes the world at every call into it, microseconds apart, and counting at
// each made the burst quadratic again (BenchmarkNotices: 0.9-1.2 s). The report's
// integrals then lag a change by at most this much; a simulation, whose events are
// seconds apart, is not affected.
const ratesQuantum = 100 * time.Millisecond

type serviceRate struct {
	serving, desired int
	rps              float64 // requests per second offered
	failing          float64 // the share of them that fail
}

// ratesKey is what rates depend on: the world's change count (instances, tasks and targets
// changing state bump it), and the desired counts, which the provider and target
// tracking set without it.
type ratesKey struct {
	version uint64
	desired uint64 // a hash of every service's desired count
}

type poolCount struct {
	pool           *pool
	onDemand, spot int
}

func (a *accounting) ratesOf(e *Emulator, now time.Time) *rates {
	key := ratesKey{version: e.version}
	for _, s := range e.services {
		key.desired = key.desired*1_000_003 + uint64(s.desiredUnits())
	}
	if a.rates != nil && (a.rates.key == key || now.Sub(a.rates.at) < ratesQuantum) {
		return a.rates
	}
	r := &rates{key: key, at: now}
	at := map[*pool]int{}
	for _, in := range e.instOrder {
		if !in.alive() {
			continue
		}
		i, ok := at[in.pool]
		if !ok {
			i, at[in.pool] = len(r.pools), len(r.pools)
			r.pools = append(r.pools, poolCount{pool: in.pool})
		}
		if in.lifecycle == spotfleet.OnDemand {
			r.pools[i].onDemand++
		} else {
			r.pools[i].spot++
		}
	}
	r.excess = e.onDemandExcess()
	for _, s := range e.services {
		for _, t := range s.tasks {
			rate, od := t.fargateRate()
			switch {
			case rate == 0:
			case t.pool != nil:
				r.fargateSpot++
			default:
				r.fargate++
			}
			r.fargateUSD += rate
			r.fargateOnDemandUSD += od
		}
	}
	serve := e.servingNow()
	for _, s := range e.services {
		if s.covers != nil {
			continue
		}
		sr := serve.of(s)
		r.services = append(r.services, sr)
		r.below = r.below || sr.serving < sr.desired
		r.wanted = r.wanted || sr.desired > 0
		r.short += max(0, sr.desired-sr.serving)
	}
	if a.rates == nil || a.rates.key.desired != key.desired {
		r.onDemandFleetUSD = e.onDemandFleetRate() // packs every task: only when desired counts change
	} else {
		r.onDemandFleetUSD = a.rates.onDemandFleetUSD
	}
	a.rates = r
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
	if len(e.acct.deregisteredWallMs) < maxDeregisteredKept {
		e.acct.deregisteredWallMs = append(e.acct.deregisteredWallMs, float64(time.Since(r.wallAt).Microseconds())/1000)
	}
	delete(e.notices, t.instanceID)
}

// instanceEnded closes the open notice records of an instance that terminated with a
// target still in service.
func (e *Emulator) instanceEnded(id string) {
	if r := e.notices[id]; r != nil {
		e.acct.notDeregistered++
		delete(e.notices, id)
	}
}

// maxDeregisteredKept bounds the notice → deregistered latencies kept for the report.
const maxDeregisteredKept = 100_000

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

// burst records a market event that gave n notices.
func (a *accounting) burst(n int) { a.largestBurst = max(a.largestBurst, n) }
