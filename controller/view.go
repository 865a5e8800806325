package controller

import (
	"time"

	"github.com/spotfleet/spotfleet"
)

// view indexes a snapshot for the decisions.
type view struct {
	snap        *spotfleet.Snapshot
	now         time.Time
	instance    map[string]*spotfleet.Instance
	byContainer map[string]*spotfleet.Instance
	tasksOn     map[string][]*spotfleet.Task
	targetsOn   map[string][]*spotfleet.Target
	service     map[string]*spotfleet.Service
	byTG        map[string]*spotfleet.Service
	delay       map[string]time.Duration
	group       map[string]*spotfleet.Group
}

func newView(s *spotfleet.Snapshot) *view {
	v := &view{snap: s, now: s.Time,
		instance: map[string]*spotfleet.Instance{}, byContainer: map[string]*spotfleet.Instance{},
		tasksOn: map[string][]*spotfleet.Task{}, targetsOn: map[string][]*spotfleet.Target{},
		service: map[string]*spotfleet.Service{}, byTG: map[string]*spotfleet.Service{},
		delay: map[string]time.Duration{}, group: map[string]*spotfleet.Group{}}
	for i := range s.Instances {
		in := &s.Instances[i]
		v.instance[in.ID] = in
		if in.ContainerInstance != "" {
			v.byContainer[in.ContainerInstance] = in
		}
	}
	for i := range s.Tasks {
		t := &s.Tasks[i]
		if t.Instance != "" && t.Status != spotfleet.TaskStopped {
			v.tasksOn[t.Instance] = append(v.tasksOn[t.Instance], t)
		}
	}
	for i := range s.Targets {
		t := &s.Targets[i]
		if t.State != spotfleet.TargetUnused {
			v.targetsOn[t.Instance] = append(v.targetsOn[t.Instance], t)
		}
	}
	for i := range s.Services {
		sv := &s.Services[i]
		v.service[sv.Name] = sv
		if sv.TargetGroup != "" {
			v.byTG[sv.TargetGroup] = sv
		}
	}
	for _, tg := range s.TargetGroups {
		v.delay[tg.Name] = tg.DeregistrationDelay
	}
	for i := range s.Groups {
		v.group[s.Groups[i].Name] = &s.Groups[i]
	}
	return v
}

// registeredOn lists the targets on an instance that the load balancer may still route to.
func (v *view) registeredOn(id string) []*spotfleet.Target {
	var out []*spotfleet.Target
	for _, t := range v.targetsOn[id] {
		if t.State.Registered() {
			out = append(out, t)
		}
	}
	return out
}

// stopTimeout is the longest stop timeout of the services with tasks or targets on the
// instance: the time its processes need between SIGTERM and the end.
func (v *view) stopTimeout(id string) time.Duration {
	var d time.Duration
	for _, t := range v.tasksOn[id] {
		if s := v.service[t.Service]; s != nil {
			d = max(d, s.StopTimeout)
		}
	}
	for _, t := range v.targetsOn[id] {
		if s := v.byTG[t.TargetGroup]; s != nil {
			d = max(d, s.StopTimeout)
		}
	}
	return d
}

// healthyOff counts a service's healthy tasks that are not on any of the instances given.
func (v *view) healthyOff(service string, off map[string]bool) int {
	n := 0
	for i := range v.snap.Tasks {
		t := &v.snap.Tasks[i]
		if t.Service == service && t.Healthy && !off[t.Instance] {
			n++
		}
	}
	return n
}

// groupServing counts the capacity units of a group's healthy instances, leaving out the
// instances given.
func (v *view) groupServing(group string, off map[string]bool) int {
	n := 0
	for i := range v.snap.Instances {
		in := &v.snap.Instances[i]
		if in.Group == group && in.Healthy && in.Alive() && !off[in.ID] {
			n += in.Weight
		}
	}
	return n
}
