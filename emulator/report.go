package emulator

import (
	"math"
	"slices"

	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/internal/stats"
)

// LoadStats is what the emulator reads of a load that runs against it (loadgen.Load).
type LoadStats interface {
	Stats() fleetview.RequestStats
}

// Report measures the run so far; load may be nil.
func (e *Emulator) Report(load LoadStats) fleetview.Report {
	var requests fleetview.RequestStats
	if load != nil { // outside the world's lock: a percentile of up to 2 million latencies
		requests = load.Stats()
	}
	e.lock()
	defer e.unlock()
	a := e.acct
	r := fleetview.Report{
		Requests:        requests,
		EmulatedSeconds: round(e.elapsed().Seconds(), 1),
		Interruptions: fleetview.InterruptStats{
			Notices: a.notices, RebalanceRecommendations: a.rebalances,
			TasksStoppedWhileRegistered: a.stoppedWhileRegistered, DeadlineMissed: a.deadlineMissed,
		},
		Capacity: fleetview.CapacityStats{
			ReadySeconds: round(a.readyAt.Seconds(), 1), SecondsBelowDesired: round(a.belowDesired.Seconds(), 1), OnDemandInstanceSeconds: round(a.onDemandSec, 1),
			SpotInstanceSeconds: round(a.spotSec, 1), OnDemandExcessInstanceSeconds: round(a.onDemandExcessSec, 1),
			FargateTaskSeconds: round(a.fargateSec, 1), FargateSpotTaskSeconds: round(a.fargateSpotSec, 1),
			LaunchFailures: a.launchFailures, TasksFailedToStart: a.failedStarts,
		},
		Cost:    fleetview.CostStats{USD: round(a.costUSD, 6), AllOnDemandUSD: round(a.allOnDemandUSD, 6)},
		Actions: slices.Clone(e.actions),
	}
	if a.allOnDemandUSD > 0 {
		r.Cost.SavingsPercent = round(100*(1-a.costUSD/a.allOnDemandUSD), 1)
	}
	r.Cost.OnDemandFleetUSD = round(a.onDemandFleetUSD, 6)
	if a.onDemandFleetUSD > 0 {
		r.Cost.SavedAgainstOnDemandFleetPercent = round(100*(1-a.costUSD/a.onDemandFleetUSD), 1)
	}
	served := 0.0
	if a.ready {
		served = (e.elapsed() - a.readyAt).Seconds()
	}
	r.Capacity.AvailabilityPercent = percentOf(served-a.belowDesired.Seconds(), served)
	i := 0
	for _, s := range e.services {
		if s.covers != nil {
			continue
		}
		st := fleetview.ServiceStats{Name: s.cfg.Name}
		if i < len(a.services) {
			sa := a.services[i]
			st.SecondsBelowDesired = round(sa.belowDesired.Seconds(), 1)
			st.AvailabilityPercent = percentOf(served-sa.belowDesired.Seconds(), served)
			st.ServedPercent = percentOf(sa.servedUnitSeconds, sa.desiredUnitSeconds)
			st.RequestsFailedPercent = 100 - percentOf(sa.requests-sa.failed, sa.requests)
			st.RequestsPerSecond = round(sa.requestsPerSecond, 3)
			st.Requests, st.RequestsFailed = round(sa.requests, 3), round(sa.failed, 3)
		} else if a.ready { // ready this instant: nothing measured yet
			st.AvailabilityPercent, st.ServedPercent = 100, 100
		}
		r.Services = append(r.Services, st)
		i++
	}
	for _, tg := range e.tgs {
		r.LoadBalancer.Requests += tg.requests.Load()
		r.LoadBalancer.ELB5xx += tg.elb5xx.Load()
		r.LoadBalancer.ELB502 += tg.elbCodes[0].Load()
		r.LoadBalancer.ELB503 += tg.elbCodes[1].Load()
		r.LoadBalancer.ELB504 += tg.elbCodes[2].Load()
		r.LoadBalancer.Target5xx += tg.target5xx.Load()
		r.LoadBalancer.ClientClosed += tg.clientClosed.Load()
	}
	r.Interruptions.NotDeregistered = a.notDeregistered
	ms := slices.Clone(a.deregisteredWallMs)
	slices.Sort(ms)
	if len(ms) > 0 {
		r.Interruptions.NoticeToDeregisteredWall = fleetview.Percentiles{P50: round(stats.Quantile(ms, 0.5), 2), P99: round(stats.Quantile(ms, 0.99), 2), Max: round(ms[len(ms)-1], 2)}
	}
	return r
}

// percentOf is 100·part/whole to 6 decimals, 100 when there is no whole yet (nothing
// measured is nothing missed), and never outside 0 to 100.
func percentOf(part, whole float64) float64 {
	if whole <= 0 {
		return 100
	}
	return round(min(max(100*part/whole, 0), 100), 6)
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
