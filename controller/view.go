package controller

import (
	"maps"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/manifest"
)

// view is the fleet as one round's decisions read it. Its instances, tasks and targets
// are the picture's (picture.go), kept between rounds; snap holds only the few (groups,
// services, target groups), so that nothing walks every task by accident.
type view struct {
	snap        *spotfleet.Snapshot
	now         time.Time
	pic         *picture
	instance    map[string]*spotfleet.Instance
	byContainer map[string]*spotfleet.Instance
	tasksOn     map[string][]*spotfleet.Task
	targetsOn   map[string][]*spotfleet.Target
	service     map[string]*spotfleet.Service
	byTG        map[string]*spotfleet.Service
	delay       map[string]time.Duration
	group       map[string]*spotfleet.Group
	byNative    map[string]*spotfleet.Group // a group by its name in the backend's events
	healthy     map[string]int              // service → healthy tasks
	serving     map[string]int              // group → capacity units of its healthy instances
}

// newView is the view of a full snapshot.
func newView(s *spotfleet.Snapshot) *view { return loadPicture(s).view() }

// view is the fleet as a round reads it: its indexes as they are, and the few parts
// indexed again (a round's cost in groups and services, not instances).
func (f *picture) view() *view {
	s := &f.small
	v := &view{snap: s, now: s.Time, pic: f, instance: f.instances, byContainer: f.byContainer, tasksOn: f.tasksOn, targetsOn: f.targetsOn,
		service: make(map[string]*spotfleet.Service, len(s.Services)), byTG: map[string]*spotfleet.Service{},
		delay: map[string]time.Duration{}, group: make(map[string]*spotfleet.Group, len(s.Groups)),
		byNative: map[string]*spotfleet.Group{}, healthy: f.healthy, serving: f.serving}
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
		g := &s.Groups[i]
		v.group[g.Name] = g
		if g.Native != "" {
			v.byNative[g.Native] = g
		}
	}
	return v
}

// host is what a task runs on, as the view indexes it: its instance, or on Fargate the
// task itself (a Fargate Spot task is interrupted alone, as an instance is).
func host(t *spotfleet.Task) string {
	if t.Instance == "" && manifest.IsFargate(t.Provider) {
		return t.ID
	}
	return t.Instance
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

// remaining is what still serves once the instances on their way out are gone: healthy
// tasks per service and healthy capacity units per group.
type remaining struct {
	v       *view
	out     map[string]bool
	healthy map[string]int
	serving map[string]int
}

// without counts what serves off the instances given, in one pass over them.
func (v *view) without(out map[string]bool) *remaining {
	r := &remaining{v: v, out: map[string]bool{}, healthy: maps.Clone(v.healthy), serving: maps.Clone(v.serving)}
	for id, leaving := range out {
		if leaving {
			r.leave(id)
		}
	}
	return r
}

// leave takes one more instance out of the count.
func (r *remaining) leave(id string) {
	if r.out[id] {
		return
	}
	r.out[id] = true
	for _, t := range r.v.tasksOn[id] {
		if t.Healthy {
			r.healthy[t.Service]--
		}
	}
	if in := r.v.instance[id]; in != nil && servesIn(in) {
		r.serving[in.Group] -= in.Weight
	}
}

// servesIn says whether an instance counts toward its group's serving capacity.
func servesIn(in *spotfleet.Instance) bool { return in.Group != "" && in.Healthy && in.Alive() }
