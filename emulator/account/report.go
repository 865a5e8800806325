package account

import (
	"math"
	"slices"

	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/internal/stats"
)

// Fill writes the account into a report, elapsed into the run; services names the
// manifest's services in the order of Services.
func (a *Account) Fill(r *fleetview.Report, elapsed float64, services []string) {
	r.Interruptions.Notices, r.Interruptions.RebalanceRecommendations = a.Notices, a.Rebalances
	r.Interruptions.TasksStoppedWhileRegistered, r.Interruptions.DeadlineMissed = a.StoppedWhileRegistered, a.DeadlineMissed
	r.Interruptions.NotDeregistered = a.NotDeregistered
	r.Capacity = fleetview.CapacityStats{
		ReadySeconds: Round(a.ReadyAt.Seconds(), 1), SecondsBelowDesired: Round(a.BelowDesired.Seconds(), 1), OnDemandInstanceSeconds: Round(a.OnDemandSec, 1),
		SpotInstanceSeconds: Round(a.SpotSec, 1), OnDemandExcessInstanceSeconds: Round(a.OnDemandExcessSec, 1),
		FargateTaskSeconds: Round(a.FargateSec, 1), FargateSpotTaskSeconds: Round(a.FargateSpotSec, 1),
		LaunchFailures: a.LaunchFailures, TasksFailedToStart: a.FailedStarts,
	}
	r.Cost = fleetview.CostStats{USD: Round(a.CostUSD, 6), AllOnDemandUSD: Round(a.AllOnDemandUSD, 6), OnDemandFleetUSD: Round(a.OnDemandFleetUSD, 6)}
	if a.AllOnDemandUSD > 0 {
		r.Cost.SavingsPercent = Round(100*(1-a.CostUSD/a.AllOnDemandUSD), 1)
	}
	if a.OnDemandFleetUSD > 0 {
		r.Cost.SavedAgainstOnDemandFleetPercent = Round(100*(1-a.CostUSD/a.OnDemandFleetUSD), 1)
	}
	served := 0.0
	if a.Ready {
		served = elapsed - a.ReadyAt.Seconds()
	}
	r.Capacity.AvailabilityPercent = PercentOf(served-a.BelowDesired.Seconds(), served)
	for i, name := range services {
		st := fleetview.ServiceStats{Name: name}
		if i < len(a.Services) {
			sa := a.Services[i]
			st.SecondsBelowDesired = Round(sa.BelowDesired.Seconds(), 1)
			st.AvailabilityPercent = PercentOf(served-sa.BelowDesired.Seconds(), served)
			st.ServedPercent = PercentOf(sa.ServedUnitSeconds, sa.DesiredUnitSeconds)
			st.RequestsFailedPercent = 100 - PercentOf(sa.Requests-sa.Failed, sa.Requests)
			st.RequestsPerSecond = Round(sa.RequestsPerSecond, 3)
			st.Requests, st.RequestsFailed = Round(sa.Requests, 3), Round(sa.Failed, 3)
		} else if a.Ready { // ready this instant: nothing measured yet
			st.AvailabilityPercent, st.ServedPercent = 100, 100
		}
		r.Services = append(r.Services, st)
	}
	ms := slices.Clone(a.DeregisteredWallMs)
	slices.Sort(ms)
	if len(ms) > 0 {
		r.Interruptions.NoticeToDeregisteredWall = fleetview.Percentiles{P50: Round(stats.Quantile(ms, 0.5), 2), P99: Round(stats.Quantile(ms, 0.99), 2), Max: Round(ms[len(ms)-1], 2)}
	}
}

// PercentOf is 100·part/whole to 6 decimals, 100 when there is no whole yet (nothing
// measured is nothing missed), and never outside 0 to 100.
func PercentOf(part, whole float64) float64 {
	if whole <= 0 {
		return 100
	}
	return Round(min(max(100*part/whole, 0), 100), 6)
}

// Round rounds x to digits decimals.
func Round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
