package seeds

import (
	"fmt"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestS1Function is reference design S1's function run after run: frozen for 10 minutes
// after the Spot target changes, scale-out at once otherwise, scale-in only 45 minutes
// after the last scaling.
func TestS1Function(t *testing.T) {
	world := func(at time.Duration, spotDesired, spotLaunched, odDesired int) *spotfleet.Snapshot {
		s := &spotfleet.Snapshot{Time: t0.Add(at), Groups: []spotfleet.Group{
			{Name: "spot", Desired: spotDesired, MaxSize: 20}, {Name: "on-demand", Desired: odDesired, MaxSize: 10}}}
		for i := range spotLaunched {
			s.Instances = append(s.Instances, spotfleet.Instance{ID: fmt.Sprint(i), Group: "spot", Weight: 1, State: spotfleet.InstanceRunning})
		}
		return s
	}
	var st s1
	for i, r := range []struct {
		at                           time.Duration
		spotDesired, launched, odDes int
		want                         int
		act                          bool
	}{
		{0, 6, 6, 0, 0, false},                           // nothing pending
		{time.Minute, 6, 4, 0, 2, true},                  // 2 pending: scale out at once
		{2 * time.Minute, 8, 4, 2, 0, false},             // the Spot target changed: frozen
		{11 * time.Minute, 8, 4, 2, 0, false},            // still within 10 minutes of the change
		{12 * time.Minute, 8, 4, 2, 4, true},             // 4 pending
		{20 * time.Minute, 8, 8, 4, 0, false},            // Spot back: scale-in waits for the cooldown
		{12*time.Minute + s1Cooldown, 8, 8, 4, 0, true},  // 45 minutes after the last scaling
		{13*time.Minute + s1Cooldown, 8, 8, 0, 0, false}, // at 0: nothing to do
	} {
		got, act := st.decide(world(r.at, r.spotDesired, r.launched, r.odDes), 1, "spot", "on-demand")
		if act != r.act || (act && got != r.want) {
			t.Fatalf("run %d at %s: (%d, %v), want (%d, %v)", i, r.at, got, act, r.want, r.act)
		}
		if act {
			st.scaledAt = t0.Add(r.at)
		}
	}
}
