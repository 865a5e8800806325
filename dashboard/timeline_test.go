package dashboard

import (
	"testing"

	"github.com/spotfleet/spotfleet/fleetview"
)

// TestTimelineKeepsAnHourAndMarksChanges: points older than an hour of emulated time go;
// interruptions and the fallback's cover given and taken back are marked once, when they
// change.
func TestTimelineKeepsAnHourAndMarksChanges(t *testing.T) {
	tl := newTimeline()
	for s := 0.0; s <= 5000; s += 100 {
		st := fleetview.Status{EmulatedSeconds: s, Services: []fleetview.ServiceStatus{{Name: "web", Desired: 2, Healthy: 2}, {Name: "web-fallback", Covers: "web"}}}
		if s >= 4000 {
			st.Report.Interruptions.Notices = 3
		}
		if s >= 4200 && s < 4500 {
			st.Services[1].Desired = 1
		}
		tl.Sample(st)
		tl.Sample(st) // the clock has not moved: no point
	}
	if tl.T[0] != 1400 || tl.T[len(tl.T)-1] != 5000 || len(tl.Services["web"].Healthy) != len(tl.T) || len(tl.Spot) != len(tl.T) {
		t.Errorf("kept %v..%v (%d points, %d healthy)", tl.T[0], tl.T[len(tl.T)-1], len(tl.T), len(tl.Services["web"].Healthy))
	}
	var kinds []string
	for _, m := range tl.Marks {
		kinds = append(kinds, m.Kind)
	}
	if got := len(kinds); got != 3 || kinds[0] != "interruption" || tl.Marks[0].Text != "3 interruption notice(s)" || kinds[1] != "cover" || kinds[2] != "uncover" {
		t.Errorf("marks: %+v", tl.Marks)
	}
}
