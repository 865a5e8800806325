package controller

import (
	"slices"
)

// Stats sums up what the controller did, for `up`'s report.
type Stats struct {
	Notices        int                    `json:"notices"`
	Active         int                    `json:"active"`
	Events         map[Outcome]int        `json:"events"`
	DeadlineMissed int                    `json:"deadlineMissed"`
	Warnings       []string               `json:"warnings,omitempty"`
	Phases         map[Phase]PhaseLatency `json:"phaseSeconds,omitempty"`
}

// PhaseLatency is the time from receiving notices to one of their phases.
type PhaseLatency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Stats returns a copy of the controller's sums so far.
func (c *Controller) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Events = map[Outcome]int{}
	for k, v := range c.stats.Events {
		s.Events[k] = v
	}
	s.Warnings = slices.Clone(c.stats.Warnings)
	s.Phases = map[Phase]PhaseLatency{}
	for ph, ds := range c.lat {
		sorted := slices.Clone(ds)
		slices.Sort(sorted)
		q := func(f float64) float64 { return sorted[int(f*float64(len(sorted)-1))].Seconds() }
		s.Phases[ph] = PhaseLatency{Count: len(sorted), P50: q(0.5), P99: q(0.99), Max: sorted[len(sorted)-1].Seconds()}
	}
	return s
}
