package emulator

import "github.com/spotfleet/spotfleet/emulator/baseline"

// onDemandFleetRate is what the cheapest On-Demand fleet that runs the desired tasks costs
// per hour now (emulator/baseline). Callers hold the lock.
func (e *Emulator) onDemandFleetRate() float64 {
	d := baseline.Demand{Groups: map[string]int{}, Services: map[string]int{}}
	for _, g := range e.groups {
		d.Groups[g.cfg.Name] = g.desired
	}
	for _, s := range e.services {
		if s.covers == nil {
			d.Services[s.cfg.Name] = s.desired
		}
	}
	return baseline.OnDemandFleetRate(e.m, d)
}
