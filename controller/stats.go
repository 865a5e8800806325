package controller

import (
	"slices"
	"time"

	"github.com/spotfleet/spotfleet"
)

func seconds(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

// Stats sums up what the controller did, for `up`'s report.
type Stats struct {
	Notices        int                    `json:"notices"`
	Active         int                    `json:"active"`
	Events         map[Outcome]int        `json:"events"`
	DeadlineMissed int                    `json:"deadlineMissed"`
	Warnings       []string               `json:"warnings,omitempty"`
	Phases         map[Phase]PhaseLatency `json:"phaseSeconds,omitempty"`
	Fallback       FallbackStats          `json:"fallback"`
	// InFlight are the notices being handled, oldest first, as of the last round (at most
	// the 200 oldest; Active counts them all).
	InFlight []NoticeState `json:"inFlight"`
}

// NoticeState is a notice in flight: what it is about and the phases it has reached.
type NoticeState struct {
	Instance   string              `json:"instance"`
	Kind       spotfleet.EventKind `json:"kind"`
	Action     string              `json:"action"` // interruption, or the rebalance action
	Pool       string              `json:"pool"`
	ReceivedAt time.Time           `json:"receivedAt"`
	Deadline   *time.Time          `json:"deadline,omitempty"` // interruptions
	Reached    map[Phase]float64   `json:"reached"`            // phase → seconds after receipt
}

// PhaseBuckets are the upper bounds, in seconds, of PhaseLatency's Buckets: the spread the
// dashboard draws, from a prompt deregistration to a stop at the deadline.
var PhaseBuckets = []float64{0.1, 0.5, 1, 5, 15, 60, 120}

// FallbackStats sums up the fallback's cover-and-return cycles.
type FallbackStats struct {
	Cycles int `json:"cycles"` // completed: covered, then given back entirely
	// Reaction is, per cycle, the time from the first shortfall to the cover serving;
	// BackToSpot the time from the Spot side serving in full again to the cover gone.
	Reaction   []time.Duration `json:"-"`
	BackToSpot []time.Duration `json:"-"`
	// The same in seconds, for the report.
	ReactionSeconds   []float64 `json:"reactionSeconds"`
	BackToSpotSeconds []float64 `json:"backToSpotSeconds"`
}

// PhaseLatency is the time from receiving notices to one of their phases.
type PhaseLatency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
	// Buckets counts the latencies at most each of PhaseBuckets, and one more for the rest.
	Buckets []int `json:"buckets"`
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
	s.Fallback.ReactionSeconds = seconds(c.stats.Fallback.Reaction)
	s.Fallback.BackToSpotSeconds = seconds(c.stats.Fallback.BackToSpot)
	s.Fallback.Reaction, s.Fallback.BackToSpot = slices.Clone(c.stats.Fallback.Reaction), slices.Clone(c.stats.Fallback.BackToSpot)
	s.Phases = map[Phase]PhaseLatency{}
	for ph, ds := range c.lat {
		sorted := slices.Clone(ds)
		slices.Sort(sorted)
		q := func(f float64) float64 { return sorted[int(f*float64(len(sorted)-1))].Seconds() }
		pl := PhaseLatency{Count: len(sorted), P50: q(0.5), P99: q(0.99), Max: sorted[len(sorted)-1].Seconds(), Buckets: make([]int, len(PhaseBuckets)+1)}
		for _, d := range sorted {
			i, _ := slices.BinarySearch(PhaseBuckets, d.Seconds())
			pl.Buckets[i]++
		}
		s.Phases[ph] = pl
	}
	s.InFlight = slices.Clone(c.stats.InFlight)
	return s
}
