package fleetview

import (
	"net"
	"strconv"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/manifest"
)

// Observation is what a controller knows of a fleet on AWS: its last round's snapshot and
// its notices. Cost and requests are not known to it.
type Observation struct {
	Manifest  *manifest.Manifest
	Snapshot  spotfleet.Snapshot
	Deadlines map[string]time.Time // by instance: the notices in flight
	Notices   int                  // notices taken so far
	Recent    []string             // the controller's last warnings
	Elapsed   time.Duration        // since the controller started
	Now       time.Time
}

// Status is the observation in the terms of the emulator's status, so that one page and one
// command show both.
func (o Observation) Status() Status {
	snap, m := o.Snapshot, o.Manifest
	st := Status{Fleet: m.Name, Workload: m.Workload, Listeners: map[string]string{},
		EmulatedSeconds: float64(o.Elapsed.Round(100*time.Millisecond)) / float64(time.Second)}
	for _, g := range snap.Groups {
		gs := GroupStatus{Name: g.Name, Desired: g.Desired}
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
		is := InstanceStatus{ID: in.ID, Group: in.Group, Pool: in.Pool.String(), Lifecycle: in.Lifecycle, State: in.State,
			Container: string(in.ContainerStatus)}
		if d, ok := o.Deadlines[in.ID]; ok {
			is.NoticeIn = max(d.Sub(o.Now), 0).Round(time.Second).String()
		}
		st.Instances = append(st.Instances, is)
	}
	healthy := map[string]int{}
	for _, t := range snap.Tasks {
		st.Tasks = append(st.Tasks, TaskStatus{ID: t.ID, Service: t.Service, Status: t.Status, Instance: t.Instance, Provider: t.Provider, Healthy: t.Healthy, Zone: t.Zone})
		if t.Healthy {
			healthy[t.Service]++
		}
	}
	for _, in := range snap.Instances { // workload instances: the service runs on each
		if m.Workload == manifest.WorkloadInstances && in.Healthy && len(snap.Services) > 0 {
			healthy[snap.Services[0].Name]++
		}
	}
	for _, s := range snap.Services {
		st.Services = append(st.Services, ServiceStatus{Name: s.Name, Desired: s.Desired, Healthy: healthy[s.Name], Covers: s.Covers})
	}
	for _, t := range snap.Targets {
		st.Targets = append(st.Targets, TargetStatus{Group: t.TargetGroup, ID: net.JoinHostPort(t.ID, strconv.Itoa(t.Port)), Instance: t.Instance, State: t.State})
	}
	st.Report.Interruptions.Notices = o.Notices
	st.Recent = o.Recent
	return st
}
