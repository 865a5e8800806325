package emulator

import (
	"slices"
	"time"

	"github.com/spotfleet/spotfleet"
)

// SimStats is what a simulation adds to the report: the shape of the time below desired,
// the capacity missing, the cost bound, and the timeline's marks.
type SimStats struct {
	// Outages are the stretches below desired (from when the fleet first served), the one
	// still going at the end included.
	Outages []time.Duration
	// ShortfallUnitSeconds is the desired capacity not served, in tasks (or capacity units
	// under workload instances) times seconds.
	ShortfallUnitSeconds float64
	// ServedSeconds is the time from when the fleet first served to now.
	ServedSeconds float64
	// LargestBurst is the most notices one market event gave.
	LargestBurst int
	// NoticeMarks and RefusalMarks are when notices came and launches were refused (the
	// first 10,000 of each), from the start.
	NoticeMarks, RefusalMarks []time.Duration
}

// SimStats measures the run so far.
func (e *Emulator) SimStats() SimStats {
	e.lock()
	defer e.unlock()
	a := e.acct
	st := SimStats{ShortfallUnitSeconds: a.ShortfallUnitSeconds,
		LargestBurst: a.LargestBurst, Outages: slices.Clone(a.Outages),
		NoticeMarks: slices.Clone(a.NoticeMarks), RefusalMarks: slices.Clone(a.RefusalMarks)}
	if a.Ready {
		st.ServedSeconds = (e.elapsed() - a.ReadyAt).Seconds()
	}
	if !a.BelowSince.IsZero() {
		st.Outages = append(st.Outages, e.now.Sub(a.BelowSince))
	}
	return st
}

// Sample is the fleet at one moment, for a timeline.
type Sample struct {
	At               time.Duration
	Desired, Serving int // tasks (or capacity units) of the manifest's services (serving.go)
	Spot, OnDemand   int // live instances
	CoverTasks       int // tasks of the fallback's companion services
	UnavailablePools int
}

// Sample reads the fleet now.
func (e *Emulator) Sample() Sample {
	e.lock()
	defer e.unlock()
	s := Sample{At: e.elapsed()}
	serve := e.servingNow()
	for _, sv := range e.services {
		if sv.covers == nil {
			r := serve.of(sv)
			s.Desired += r.Desired
			s.Serving += r.Serving
		} else {
			s.CoverTasks += len(sv.tasks)
		}
	}
	for _, in := range e.instOrder {
		switch {
		case !in.alive():
		case in.lifecycle == spotfleet.Spot:
			s.Spot++
		default:
			s.OnDemand++
		}
	}
	for _, p := range e.market.pools {
		if p.depth == 0 {
			s.UnavailablePools++
		}
	}
	return s
}

// PoolsAvailable says, for each Spot pool in the market's order (Pools), whether it has
// capacity now.
func (e *Emulator) PoolsAvailable() []bool {
	e.lock()
	defer e.unlock()
	out := make([]bool, len(e.market.pools))
	for i, p := range e.market.pools {
		out[i] = p.depth != 0
	}
	return out
}

// Pools lists the market's Spot pools.
func (e *Emulator) Pools() []spotfleet.Pool {
	out := make([]spotfleet.Pool, len(e.market.pools))
	for i, p := range e.market.pools {
		out[i] = p.Pool
	}
	return out
}
