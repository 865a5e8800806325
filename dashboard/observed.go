package dashboard

import (
	"errors"
	"time"

	"github.com/spotfleet/spotfleet/clock"
	"github.com/spotfleet/spotfleet/controller"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/emulator/scenario"
	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/manifest"
)

// Observed is a fleet as a controller sees it (on AWS): the dashboard shows its last
// round's snapshot and takes no action, as nothing on a real account should be interrupted
// from a web page.
type Observed struct {
	Manifest   *manifest.Manifest
	Controller *controller.Controller
	Start      time.Time   // the controller's, for the page's clock
	Clock      clock.Clock // default: the real one
}

var errReadOnly = errors.New("not on AWS: the controller's dashboard only shows the fleet (use AWS FIS to interrupt instances)")

func (o Observed) Interrupt(emulator.InterruptRequest) ([]string, error) { return nil, errReadOnly }
func (o Observed) SetSpotCapacity([]string, scenario.Count) ([]string, error) {
	return nil, errReadOnly
}
func (o Observed) Processes() []emulator.ProcessRecord { return nil }

// Status is the last snapshot in the emulator's terms.
func (o Observed) Status() fleetview.Status {
	clk := o.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	snap, stats := o.Controller.LastSnapshot(), o.Controller.Stats()
	now := clk.Now()
	deadlines := map[string]time.Time{}
	for _, n := range stats.InFlight {
		if n.Deadline != nil {
			deadlines[n.Instance] = *n.Deadline
		}
	}
	return fleetview.Observation{Manifest: o.Manifest, Snapshot: snap, Deadlines: deadlines, Notices: stats.Notices,
		Recent: stats.Warnings, Elapsed: now.Sub(o.Start), Now: now}.Status()
}
