package dashboard

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/fleetview"
)

// keep is how much emulated time the timeline holds.
const keep = 3600.0 // seconds

// Timeline is the fleet over the last hour of emulated time, sampled from its status:
// desired against healthy tasks per service, Spot and On-Demand instances, cost per hour,
// and marks where something happened (interruptions, rebalance recommendations, refused
// launches, fallback cover given and taken back, actions by hand). Its JSON is columns, as
// the charts take them.
type Timeline struct {
	mu       sync.Mutex
	T        []float64          `json:"t"` // emulated seconds
	Services map[string]*Counts `json:"services"`
	Spot     []int              `json:"spot"`
	OnDemand []int              `json:"onDemand"`
	Cost     []float64          `json:"costPerHour"`
	Marks    []Mark             `json:"marks"`
	last     *fleetview.Status  // the previous sample, for the marks
	covering map[string]bool    // fallback companions with tasks wanted
}

// Counts are a service's columns.
type Counts struct {
	Desired []int `json:"desired"`
	Healthy []int `json:"healthy"`
}

// Mark is something that happened at a moment, or (Until) over a stretch: refused launches
// that go on every retry are one mark, not a line every 10 seconds.
type Mark struct {
	T     float64 `json:"t"`
	Until float64 `json:"until,omitempty"`
	Kind  string  `json:"kind"` // interruption, rebalance, launch-failure, cover, uncover, action
	Text  string  `json:"text"`
	N     int     `json:"n,omitempty"`
}

// mergeWithin is how close marks of a kind that comes in runs (refused launches, rebalance
// recommendations) must be to make one.
const mergeWithin = 60.0 // seconds

func newTimeline() *Timeline {
	return &Timeline{Services: map[string]*Counts{}, covering: map[string]bool{}}
}

// Sample adds a point from a status.
func (tl *Timeline) Sample(st fleetview.Status) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	t := st.EmulatedSeconds
	if n := len(tl.T); n > 0 && t <= tl.T[n-1] {
		return // the clock has not moved
	}
	n := len(tl.T)
	tl.T = append(tl.T, t)
	for _, s := range st.Services {
		c := tl.Services[s.Name]
		if c == nil {
			// A service that appears late has no value before it did.
			c = &Counts{Desired: make([]int, n), Healthy: make([]int, n)}
			tl.Services[s.Name] = c
		}
		c.Desired, c.Healthy = append(c.Desired, s.Desired), append(c.Healthy, s.Healthy)
	}
	for _, c := range tl.Services {
		if len(c.Desired) == n { // gone from the status
			c.Desired, c.Healthy = append(c.Desired, 0), append(c.Healthy, 0)
		}
	}
	spot, od := 0, 0
	for _, in := range st.Instances {
		if in.State == spotfleet.InstanceTerminated {
			continue
		}
		if in.Lifecycle == spotfleet.Spot {
			spot++
		} else {
			od++
		}
	}
	tl.Spot, tl.OnDemand, tl.Cost = append(tl.Spot, spot), append(tl.OnDemand, od), append(tl.Cost, st.CostPerHour)
	tl.mark(st)
	tl.trim()
}

// mark adds the marks of what changed since the last sample.
func (tl *Timeline) mark(st fleetview.Status) {
	t, r := st.EmulatedSeconds, st.Report
	prev := fleetview.Report{}
	if tl.last != nil {
		prev = tl.last.Report
	}
	add := func(kind string, n int, what string) {
		if n <= 0 {
			return
		}
		if kind == "launch-failure" || kind == "rebalance" {
			for i := len(tl.Marks) - 1; i >= 0; i-- {
				m := &tl.Marks[i]
				if m.Kind != kind {
					continue
				}
				if t-max(m.T, m.Until) <= mergeWithin {
					m.Until, m.N = t, m.N+n
					m.Text = fmt.Sprintf("%d %s over %s", m.N, what, span(m.Until-m.T))
					return
				}
				break
			}
		}
		tl.Marks = append(tl.Marks, Mark{T: t, Kind: kind, Text: fmt.Sprintf("%d %s", n, what), N: n})
	}
	add("interruption", r.Interruptions.Notices-prev.Interruptions.Notices, "interruption notice(s)")
	add("rebalance", r.Interruptions.RebalanceRecommendations-prev.Interruptions.RebalanceRecommendations, "rebalance recommendation(s)")
	add("launch-failure", r.Capacity.LaunchFailures-prev.Capacity.LaunchFailures, "refused Spot launch(es)")
	for _, a := range r.Actions[min(len(prev.Actions), len(r.Actions)):] {
		tl.Marks = append(tl.Marks, Mark{T: a.AtSeconds, Kind: "action", Text: a.What})
	}
	for _, s := range st.Services {
		if s.Covers == "" {
			continue
		}
		on := s.Desired > 0
		switch {
		case on && !tl.covering[s.Name]:
			tl.Marks = append(tl.Marks, Mark{T: t, Kind: "cover", Text: fmt.Sprintf("fallback covers %s with %d task(s)", s.Covers, s.Desired)})
		case !on && tl.covering[s.Name]:
			tl.Marks = append(tl.Marks, Mark{T: t, Kind: "uncover", Text: "fallback cover of " + s.Covers + " given back"})
		}
		tl.covering[s.Name] = on
	}
	st.Instances, st.Tasks, st.Targets = nil, nil, nil // only the report is kept
	tl.last = &st
}

// span says a stretch of seconds the way the marks do.
func span(s float64) string {
	if s < 120 {
		return fmt.Sprintf("%.0f s", s)
	}
	return fmt.Sprintf("%.0f min", s/60)
}

// MarshalJSON writes the columns as they are at the moment.
func (tl *Timeline) MarshalJSON() ([]byte, error) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	type columns Timeline // without this method
	return json.Marshal((*columns)(tl))
}

// trim drops what is older than the hour kept.
func (tl *Timeline) trim() {
	from := tl.T[len(tl.T)-1] - keep
	i, _ := slices.BinarySearch(tl.T, from)
	if i == 0 {
		return
	}
	tl.T = slices.Clone(tl.T[i:])
	for _, c := range tl.Services {
		c.Desired, c.Healthy = slices.Clone(c.Desired[i:]), slices.Clone(c.Healthy[i:])
	}
	tl.Spot, tl.OnDemand, tl.Cost = slices.Clone(tl.Spot[i:]), slices.Clone(tl.OnDemand[i:]), slices.Clone(tl.Cost[i:])
	tl.Marks = slices.DeleteFunc(tl.Marks, func(m Mark) bool { return max(m.T, m.Until) < from })
}
