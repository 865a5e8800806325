package seeds

import (
	"context"
	"time"

	"github.com/spotfleet/spotfleet"
)

// Reference design S1's function, as written: it polls once a minute; when the Spot
// side's target capacity changed in the last 10 minutes it does nothing; otherwise it sets
// the On-Demand group to ceil(pending capacity / units per instance), where pending is
// the Spot side's target less what it launched. Scaling out ignores the group's 45-minute
// cooldown; scaling in honours it.
const (
	s1Period   = time.Minute
	s1Freeze   = 10 * time.Minute
	s1Cooldown = 45 * time.Minute
)

// s1 is the state of the S1 function between its runs.
type s1 struct {
	target    int // the Spot side's target capacity last seen
	changedAt time.Time
	scaledAt  time.Time // the On-Demand group's last scaling, for its cooldown
	seen      bool
}

// runS1 runs the S1 function until ctx ends.
func (s *Seed) runS1(ctx context.Context) {
	var st s1
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.cfg.Clock.After(s1Period):
		}
		s.runS1Once(ctx, &st)
	}
}

// runS1Once is one invocation of the S1 function.
func (s *Seed) runS1Once(ctx context.Context, st *s1) {
	snap, err := s.cfg.Provider.Snapshot(ctx)
	if err != nil {
		return // the next invocation tries again
	}
	want, ok := st.decide(&snap, s.upi, s.cfg.Manifest.Fallback.From, s.cfg.Manifest.Fallback.To)
	if !ok {
		return
	}
	if err := s.cfg.Provider.SetDesiredCapacity(ctx, s.cfg.Manifest.Fallback.To, want); err != nil {
		s.cfg.Log.Warn("S1 function: setting the On-Demand group failed", "err", err)
		return
	}
	st.scaledAt = snap.Time
	s.cfg.Log.Info("S1 function: On-Demand group resized", "group", s.cfg.Manifest.Fallback.To, "desired", want)
}

// decide is one run of the S1 function: the On-Demand group's new desired capacity, and
// whether to set it.
func (st *s1) decide(snap *spotfleet.Snapshot, upi int, from, to string) (int, bool) {
	var spot, od *spotfleet.Group
	for i := range snap.Groups {
		switch snap.Groups[i].Name {
		case from:
			spot = &snap.Groups[i]
		case to:
			od = &snap.Groups[i]
		}
	}
	if spot == nil || od == nil {
		return 0, false
	}
	switch {
	case !st.seen: // when it changed before the first run is unknown: not recently
		st.seen, st.target = true, spot.Desired
	case spot.Desired != st.target:
		st.target, st.changedAt = spot.Desired, snap.Time
	}
	if !st.changedAt.IsZero() && snap.Time.Sub(st.changedAt) < s1Freeze {
		return 0, false
	}
	fulfilled := 0
	for _, in := range snap.Instances {
		if in.Group == from && in.Alive() {
			fulfilled += in.Weight
		}
	}
	pending := max(0, spot.Desired-fulfilled)
	want := min(max((pending+upi-1)/upi, od.MinSize), od.MaxSize)
	switch {
	case want > od.Desired:
		return want, true
	case want < od.Desired && (st.scaledAt.IsZero() || snap.Time.Sub(st.scaledAt) >= s1Cooldown):
		return want, true
	}
	return 0, false
}
