package account

import (
	"math"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet/fleetview"
)

type flat struct{ od, spot float64 } // USD an hour

func (p flat) OnDemandPrice() float64                  { return p.od }
func (p flat) SpotCost(from, to time.Duration) float64 { return p.spot * (to - from).Hours() }

// TestIntegrals: an hour before the fleet is ready counts nothing but cost; then an hour
// served, half an hour below desired, half an hour served again gives 75% available, one
// outage of 30 minutes, the cost of each instance-hour at its price, and the failed share
// of the requests offered.
func TestIntegrals(t *testing.T) {
	start := time.Unix(0, 0)
	at := func(m int) time.Time { return start.Add(time.Duration(m) * time.Minute) }
	pool := flat{od: 0.1, spot: 0.03}
	booting := &Rates{Pools: []PoolCount{{Pool: pool, Spot: 1}}, Below: true, Wanted: true,
		Services: []ServiceRate{{Serving: 0, Desired: 2, RPS: 20, Failing: 1}}}
	serving := &Rates{Pools: []PoolCount{{Pool: pool, OnDemand: 1, Spot: 1}}, Wanted: true,
		Services: []ServiceRate{{Serving: 2, Desired: 2, RPS: 20}}}
	short := &Rates{Pools: []PoolCount{{Pool: pool, OnDemand: 1}}, Below: true, Wanted: true, Short: 1,
		Services: []ServiceRate{{Serving: 1, Desired: 2, RPS: 20, Failing: 0.5}}}
	var a Account
	a.Integrate(booting, start, at(0), at(60))
	a.Integrate(serving, start, at(60), at(61)) // ready at the first interval not below
	a.Integrate(serving, start, at(61), at(120))
	a.Integrate(short, start, at(120), at(150))
	a.Integrate(serving, start, at(150), at(180))
	if !a.Ready || a.ReadyAt != 60*time.Minute {
		t.Fatalf("ready %v at %v, want at 60m", a.Ready, a.ReadyAt)
	}
	if len(a.Outages) != 1 || a.Outages[0] != 30*time.Minute || a.ShortfallUnitSeconds != 1800 {
		t.Errorf("outages %v, shortfall %.0f unit-seconds; want one of 30m and 1800", a.Outages, a.ShortfallUnitSeconds)
	}
	wantCost := 0.03*1 + 0.1*(1+30.0/60) + 0.03*(1+30.0/60) + 0.1*0.5 // booting hour, then 1.5 h of both, 0.5 h On-Demand alone
	if math.Abs(a.CostUSD-wantCost) > 1e-9 {
		t.Errorf("cost %.6f, want %.6f", a.CostUSD, wantCost)
	}
	var r fleetview.Report
	a.Fill(&r, (180 * time.Minute).Seconds(), []string{"web"})
	if r.Capacity.AvailabilityPercent != 75 || r.Services[0].AvailabilityPercent != 75 {
		t.Errorf("availability %.3f%% (web %.3f%%), want 75%%", r.Capacity.AvailabilityPercent, r.Services[0].AvailabilityPercent)
	}
	// Requests count from the interval after the one that made the fleet ready (119
	// minutes), half of them failing for 30.
	if got, want := r.Services[0].RequestsFailedPercent, 100*0.5*30/119; math.Abs(got-want) > 1e-5 {
		t.Errorf("%.6f%% of requests failed, want %.6f%%", got, want)
	}
}
