package dashboard

import (
	"errors"
	"math"
	"net"
	"strconv"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/controller"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/manifest"
)

// Observed is a fleet as a controller sees it (on AWS): the dashboard shows its last
// round's snapshot and takes no action, as nothing on a real account should be interrupted
// from a web page.
type Observed struct {
	Manifest   *manifest.Manifest
	Controller *controller.Controller
	Start      time.Time // the controller's, for the page's clock
}

var errReadOnly = errors.New("not on AWS: the controller's dashboard only shows the fleet (use AWS FIS to interrupt instances)")

func (o Observed) Interrupt(emulator.InterruptRequest) ([]string, error) { return nil, errReadOnly }
func (o Observed) SetSpotCapacity([]string, emulator.Count) ([]string, error) {
	return nil, errReadOnly
}
func (o Observed) Processes() []emulator.ProcessRecord { return nil }

// Status is the last snapshot in the emulator's terms. Cost and requests are not known
// to the controller; the page leaves them out.
func (o Observed) Status() emulator.Status {
	snap, stats := o.Controller.LastSnapshot(), o.Controller.Stats()
	now := time.Now()
	st := emulator.Status{Fleet: o.Manifest.Name, Workload: o.Manifest.Workload, Listeners: map[string]string{},
		EmulatedSeconds: math.Round(now.Sub(o.Start).Seconds()*10) / 10}
	deadline := map[string]time.Time{}
	for _, n := range stats.InFlight {
		if n.Deadline != nil {
			deadline[n.Instance] = *n.Deadline
		}
	}
	for _, g := range snap.Groups {
		gs := emulator.GroupStatus{Name: g.Name, Desired: g.Desired}
		for _, in := range snap.Instances {
			switch {
			case in.Group != g.Name:
			case in.State == spotfleet.InstanceRunning:
				gs.InService++
			case in.State == spotfleet.InstancePending:
				gs.Pending++
			}
		}
		st.Groups = append(st.Groups, gs)
	}
	for _, in := range snap.Instances {
		is := emulator.InstanceStatus{ID: in.ID, Group: in.Group, Pool: in.Pool.String(), Lifecycle: in.Lifecycle, State: in.State,
			Container: string(in.ContainerStatus)}
		if d, ok := deadline[in.ID]; ok {
			is.NoticeIn = max(d.Sub(now), 0).Round(time.Second).String()
		}
		st.Instances = append(st.Instances, is)
	}
	healthy := map[string]int{}
	for _, t := range snap.Tasks {
		st.Tasks = append(st.Tasks, emulator.TaskStatus{ID: t.ID, Service: t.Service, Status: t.Status, Instance: t.Instance, Provider: t.Provider, Healthy: t.Healthy, Zone: t.Zone})
		if t.Healthy {
			healthy[t.Service]++
		}
	}
	for _, in := range snap.Instances { // workload instances: the service runs on each
		if o.Manifest.Workload == manifest.WorkloadInstances && in.Healthy && len(snap.Services) > 0 {
			healthy[snap.Services[0].Name]++
		}
	}
	for _, s := range snap.Services {
		st.Services = append(st.Services, emulator.ServiceStatus{Name: s.Name, Desired: s.Desired, Healthy: healthy[s.Name], Covers: s.Covers})
	}
	for _, t := range snap.Targets {
		st.Targets = append(st.Targets, emulator.TargetStatus{Group: t.TargetGroup, ID: net.JoinHostPort(t.ID, strconv.Itoa(t.Port)), Instance: t.Instance, State: t.State})
	}
	st.Report.Interruptions.Notices = stats.Notices
	st.Recent = stats.Warnings
	return st
}
