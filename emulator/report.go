package emulator

import (
	"slices"

	"github.com/spotfleet/spotfleet/emulator/account"
	"github.com/spotfleet/spotfleet/fleetview"
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
	r := fleetview.Report{Requests: requests, EmulatedSeconds: round(e.elapsed().Seconds(), 1), Actions: slices.Clone(e.actions)}
	var names []string
	for _, s := range e.services {
		if s.covers == nil {
			names = append(names, s.cfg.Name)
		}
	}
	e.acct.Fill(&r, e.elapsed().Seconds(), names)
	for _, tg := range e.tgs {
		r.LoadBalancer.Requests += tg.requests.Load()
		r.LoadBalancer.ELB5xx += tg.elb5xx.Load()
		r.LoadBalancer.ELB502 += tg.elbCodes[0].Load()
		r.LoadBalancer.ELB503 += tg.elbCodes[1].Load()
		r.LoadBalancer.ELB504 += tg.elbCodes[2].Load()
		r.LoadBalancer.Target5xx += tg.target5xx.Load()
		r.LoadBalancer.ClientClosed += tg.clientClosed.Load()
	}
	return r
}

// round rounds x to digits decimals (account.Round).
func round(x float64, digits int) float64 { return account.Round(x, digits) }
