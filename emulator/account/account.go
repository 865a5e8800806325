// Package account integrates what a run's report measures: between every two changes of
// the world, the instances and tasks billed, what each service serves against what it
// wants, and the requests that fail, each multiplied by the time the world stays so. The
// world gives its rates at each change (Rates); nothing here reads the world.
package account

import (
	"time"
)

// Account is a run's integrals and counts. The counts are the world's to increment as
// things happen; the integrals are Integrate's.
type Account struct {
	Notices, Rebalances    int
	DeadlineMissed         int // notices whose instance died with processes still running
	StoppedWhileRegistered int // tasks signalled or killed while the load balancer could still route to them
	LaunchFailures         int
	FailedStarts           int       // tasks that stopped before they ran (PENDING to STOPPED)
	LargestBurst           int       // the most notices one market event gave
	DeregisteredWallMs     []float64 // per notice with targets: real time until they were all out
	NotDeregistered        int       // notices whose instance ended with a target in service

	// From when every service first reached its desired count (Ready), the time some
	// service served less than its desired count, each service's own, and the requests it
	// would have failed.
	Ready                   bool
	ReadyAt                 time.Duration
	BelowDesired            time.Duration
	Services                []Service // by manifest service, in the world's order
	OnDemandSec, SpotSec    float64
	OnDemandExcessSec       float64
	FargateSec              float64 // Fargate (On-Demand) task-seconds
	FargateSpotSec          float64
	CostUSD, AllOnDemandUSD float64
	OnDemandFleetUSD        float64 // the cheapest On-Demand fleet that runs the desired tasks (emulator/baseline)

	// For the simulation's report: the stretches below desired, the capacity units
	// missing over time, and when notices and refused launches happened (the first
	// MaxMarks of each, for the timeline).
	BelowSince           time.Time
	Outages              []time.Duration
	ShortfallUnitSeconds float64
	NoticeMarks          []time.Duration
	RefusalMarks         []time.Duration
}

// Service is what one manifest service measured.
type Service struct {
	BelowDesired       time.Duration
	Requests, Failed   float64 // fluid: requests per second × seconds
	RequestsPerSecond  float64 // the last rate it was offered
	ServedUnitSeconds  float64
	DesiredUnitSeconds float64
}

// MaxMarks bounds the times kept of notices and of refused launches.
const MaxMarks = 10_000

// Mark adds a moment to marks, up to MaxMarks of them.
func Mark(marks []time.Duration, at time.Duration) []time.Duration {
	if len(marks) < MaxMarks {
		marks = append(marks, at)
	}
	return marks
}

// MaxDeregisteredKept bounds the notice → deregistered latencies kept for the report.
const MaxDeregisteredKept = 100_000

// Deregistered records a notice's targets all out of the load balancer, ms after it.
func (a *Account) Deregistered(ms float64) {
	if len(a.DeregisteredWallMs) < MaxDeregisteredKept {
		a.DeregisteredWallMs = append(a.DeregisteredWallMs, ms)
	}
}

// Burst records a market event that gave n notices.
func (a *Account) Burst(n int) { a.LargestBurst = max(a.LargestBurst, n) }

// Pool is a pool's prices as they are integrated.
type Pool interface {
	OnDemandPrice() float64                  // USD an hour
	SpotCost(from, to time.Duration) float64 // USD of one Spot instance between two moments of the run
}

// Rates are what Integrate multiplies by time: the live instances per pool and lifecycle,
// the On-Demand beyond policy, and what each service serves.
type Rates struct {
	Pools         []PoolCount
	Excess, Short int
	Below, Wanted bool
	Services      []ServiceRate
	// Fargate tasks billed now, and what they cost per hour (and would on FARGATE).
	Fargate, FargateSpot           int
	FargateUSD, FargateOnDemandUSD float64
	OnDemandFleetUSD               float64 // per hour
}

// PoolCount is the live instances of one pool.
type PoolCount struct {
	Pool           Pool
	OnDemand, Spot int
}

// ServiceRate is one manifest service now.
type ServiceRate struct {
	Serving, Desired int
	RPS              float64 // requests per second offered
	Failing          float64 // the share of them that fail
}

// Integrate adds the rates over the interval from → to of a run that began at start.
func (a *Account) Integrate(r *Rates, start, from, to time.Time) {
	dt := to.Sub(from).Seconds()
	elapsed, end := from.Sub(start), to.Sub(start)
	for _, pc := range r.Pools {
		od := pc.Pool.OnDemandPrice() * dt / 3600
		a.AllOnDemandUSD += float64(pc.OnDemand+pc.Spot) * od
		a.CostUSD += float64(pc.OnDemand) * od
		if pc.Spot > 0 {
			a.CostUSD += float64(pc.Spot) * pc.Pool.SpotCost(elapsed, end)
		}
		a.OnDemandSec += float64(pc.OnDemand) * dt
		a.SpotSec += float64(pc.Spot) * dt
	}
	a.CostUSD += r.FargateUSD * dt / 3600
	a.AllOnDemandUSD += r.FargateOnDemandUSD * dt / 3600
	a.OnDemandFleetUSD += r.OnDemandFleetUSD * dt / 3600
	a.FargateSec += float64(r.Fargate) * dt
	a.FargateSpotSec += float64(r.FargateSpot) * dt
	a.OnDemandExcessSec += float64(r.Excess) * dt
	switch {
	case !a.Ready && !r.Below && r.Wanted: // before the groups are sized, nothing is wanted yet
		a.Ready, a.ReadyAt = true, elapsed
		return
	case !a.Ready:
		return
	}
	if len(a.Services) != len(r.Services) {
		a.Services = make([]Service, len(r.Services))
	}
	for i, sr := range r.Services {
		sa := &a.Services[i]
		if sr.Serving < sr.Desired {
			sa.BelowDesired += to.Sub(from)
		}
		sa.Requests += sr.RPS * dt
		sa.Failed += sr.RPS * sr.Failing * dt
		sa.RequestsPerSecond = sr.RPS
		sa.ServedUnitSeconds += float64(min(sr.Serving, sr.Desired)) * dt
		sa.DesiredUnitSeconds += float64(sr.Desired) * dt
	}
	switch {
	case r.Below:
		a.BelowDesired += to.Sub(from)
		a.ShortfallUnitSeconds += float64(r.Short) * dt
		if a.BelowSince.IsZero() {
			a.BelowSince = from
		}
	case !a.BelowSince.IsZero():
		a.Outages = append(a.Outages, from.Sub(a.BelowSince))
		a.BelowSince = time.Time{}
	}
}
