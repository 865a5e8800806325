package controller

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/spotfleet/spotfleet"
)

// picture is the controller's picture of the fleet, kept from one round to the next: a full
// snapshot loads it, a delta (Deltas) changes what changed, and the indexes and counts the
// decisions read change with it. A round then works in proportion to what changed, not to
// the fleet's size: at 10,000 tasks, indexing a whole snapshot and counting every task
// for the fallback was two fifths of each round.
type picture struct {
	version uint64
	small   spotfleet.Snapshot // Version, Time, Groups, Services, TargetGroups: the few

	instances map[string]*spotfleet.Instance
	tasks     map[string]*spotfleet.Task
	targets   map[spotfleet.TargetKey]*spotfleet.Target

	byContainer map[string]*spotfleet.Instance
	tasksOn     map[string][]*spotfleet.Task   // by host (host): the tasks not STOPPED
	targetsOn   map[string][]*spotfleet.Target // by instance, or by task on Fargate: not unused

	healthy map[string]int          // service → healthy tasks
	serving map[string]int          // group → capacity units of its serving instances
	byGroup map[string]groupCounts  // group → its instances' counts
	byTask  map[taskClass]taskCount // service and provider → its tasks' counts
	alive   int                     // live instances
}

// groupCounts count a group's live instances (not those detached from it).
type groupCounts struct {
	alive, aliveWeight, healthyWeight, booting int
}

// taskClass is what the fallback counts tasks by.
type taskClass struct{ service, provider string }

type taskCount struct {
	all, provisioning, healthy int
}

func newPicture() *picture {
	return &picture{instances: map[string]*spotfleet.Instance{}, tasks: map[string]*spotfleet.Task{},
		targets: map[spotfleet.TargetKey]*spotfleet.Target{}, byContainer: map[string]*spotfleet.Instance{},
		tasksOn: map[string][]*spotfleet.Task{}, targetsOn: map[string][]*spotfleet.Target{},
		healthy: map[string]int{}, serving: map[string]int{}, byGroup: map[string]groupCounts{}, byTask: map[taskClass]taskCount{}}
}

// loadPicture is the picture of a full snapshot.
func loadPicture(s *spotfleet.Snapshot) *picture {
	f := newPicture()
	f.setSmall(s.Version, s.Time, s.Groups, s.Services, s.TargetGroups)
	for i := range s.Instances {
		f.putInstance(s.Instances[i])
	}
	for i := range s.Tasks {
		f.putTask(s.Tasks[i])
	}
	for i := range s.Targets {
		f.putTarget(s.Targets[i])
	}
	return f
}

// apply changes the picture by a delta that follows it.
func (f *picture) apply(d *spotfleet.SnapshotDelta) {
	f.setSmall(d.Version, d.Time, d.Groups, d.Services, d.TargetGroups)
	for _, id := range d.GoneInstances {
		f.dropInstance(id)
	}
	for _, id := range d.GoneTasks {
		f.dropTask(id)
	}
	for _, k := range d.GoneTargets {
		f.dropTarget(k)
	}
	for _, in := range d.Instances {
		f.putInstance(in)
	}
	for _, t := range d.Tasks {
		f.putTask(t)
	}
	for _, t := range d.Targets {
		f.putTarget(t)
	}
}

func (f *picture) setSmall(version uint64, now time.Time, groups []spotfleet.Group, services []spotfleet.Service, tgs []spotfleet.TargetGroup) {
	f.version = version
	f.small = spotfleet.Snapshot{Version: version, Time: now, Groups: groups, Services: services, TargetGroups: tgs}
}

// Instances.

func (f *picture) putInstance(in spotfleet.Instance) {
	f.dropInstance(in.ID)
	p := &in
	f.instances[in.ID] = p
	if in.ContainerInstance != "" {
		f.byContainer[in.ContainerInstance] = p
	}
	f.countInstance(p, 1)
}

func (f *picture) dropInstance(id string) {
	old := f.instances[id]
	if old == nil {
		return
	}
	f.countInstance(old, -1)
	delete(f.instances, id)
	if old.ContainerInstance != "" && f.byContainer[old.ContainerInstance] == old {
		delete(f.byContainer, old.ContainerInstance)
	}
}

func (f *picture) countInstance(in *spotfleet.Instance, sign int) {
	if !in.Alive() {
		return
	}
	f.alive += sign
	if in.Group == "" {
		return
	}
	g := f.byGroup[in.Group]
	g.alive += sign
	g.aliveWeight += sign * in.Weight
	if in.Healthy {
		g.healthyWeight += sign * in.Weight
		f.serving[in.Group] += sign * in.Weight
	} else {
		g.booting += sign
	}
	f.byGroup[in.Group] = g
}

// Tasks.

func (f *picture) putTask(t spotfleet.Task) {
	f.dropTask(t.ID)
	p := &t
	f.tasks[t.ID] = p
	if t.Status != spotfleet.TaskStopped {
		h := host(p)
		f.tasksOn[h] = append(f.tasksOn[h], p)
	}
	f.countTask(p, 1)
}

func (f *picture) dropTask(id string) {
	old := f.tasks[id]
	if old == nil {
		return
	}
	f.countTask(old, -1)
	delete(f.tasks, id)
	if old.Status != spotfleet.TaskStopped {
		h := host(old)
		if left := slices.DeleteFunc(f.tasksOn[h], func(x *spotfleet.Task) bool { return x == old }); len(left) > 0 {
			f.tasksOn[h] = left
		} else {
			delete(f.tasksOn, h)
		}
	}
}

func (f *picture) countTask(t *spotfleet.Task, sign int) {
	if t.Healthy {
		f.healthy[t.Service] += sign
	}
	k := taskClass{t.Service, t.Provider}
	c := f.byTask[k]
	c.all += sign
	if t.Status == spotfleet.TaskProvisioning {
		c.provisioning += sign
	}
	if t.Healthy {
		c.healthy += sign
	}
	f.byTask[k] = c
}

// Targets.

// targetHost is what the view indexes a target by: its instance, or on Fargate its task;
// "" for a target out of use.
func targetHost(t *spotfleet.Target) string {
	switch {
	case t.State == spotfleet.TargetUnused:
		return ""
	case t.Instance == "":
		return t.Task
	}
	return t.Instance
}

func (f *picture) putTarget(t spotfleet.Target) {
	f.dropTarget(t.Key())
	p := &t
	f.targets[t.Key()] = p
	if h := targetHost(p); h != "" {
		f.targetsOn[h] = append(f.targetsOn[h], p)
	}
}

func (f *picture) dropTarget(k spotfleet.TargetKey) {
	old := f.targets[k]
	if old == nil {
		return
	}
	delete(f.targets, k)
	if h := targetHost(old); h != "" {
		if left := slices.DeleteFunc(f.targetsOn[h], func(x *spotfleet.Target) bool { return x == old }); len(left) > 0 {
			f.targetsOn[h] = left
		} else {
			delete(f.targetsOn, h)
		}
	}
}

// snapshot is the fleet as a full snapshot, its instances, tasks and targets in the order
// of their IDs: for the dashboard and the API, which ask for it now and then, not every
// round.
func (f *picture) snapshot() spotfleet.Snapshot {
	s := f.small
	s.Instances = make([]spotfleet.Instance, 0, len(f.instances))
	for _, in := range f.instances {
		s.Instances = append(s.Instances, *in)
	}
	slices.SortFunc(s.Instances, func(a, b spotfleet.Instance) int { return cmp.Compare(a.ID, b.ID) })
	s.Tasks = make([]spotfleet.Task, 0, len(f.tasks))
	for _, t := range f.tasks {
		s.Tasks = append(s.Tasks, *t)
	}
	slices.SortFunc(s.Tasks, func(a, b spotfleet.Task) int { return cmp.Compare(a.ID, b.ID) })
	s.Targets = make([]spotfleet.Target, 0, len(f.targets))
	for _, t := range f.targets {
		s.Targets = append(s.Targets, *t)
	}
	slices.SortFunc(s.Targets, func(a, b spotfleet.Target) int {
		return cmp.Or(cmp.Compare(a.TargetGroup, b.TargetGroup), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Port, b.Port))
	})
	return s
}

// nonzero is m without its zero values.
func nonzero[K, V comparable](m map[K]V) map[K]V {
	var zero V
	out := map[K]V{}
	for k, v := range m {
		if v != zero {
			out[k] = v
		}
	}
	return out
}

// sameCounts says whether two pictures count alike (a picture kept by deltas against one
// loaded afresh); counts at zero are the same as none.
func sameCounts(a, b *picture) bool {
	return a.alive == b.alive && maps.Equal(nonzero(a.healthy), nonzero(b.healthy)) && maps.Equal(nonzero(a.serving), nonzero(b.serving)) &&
		maps.Equal(nonzero(a.byTask), nonzero(b.byTask)) && maps.Equal(nonzero(a.byGroup), nonzero(b.byGroup)) &&
		len(a.byContainer) == len(b.byContainer) && sameIndex(a.tasksOn, b.tasksOn) && sameIndex(a.targetsOn, b.targetsOn)
}

// sameIndex says whether two indexes hold the same items under each key, in any order.
func sameIndex[T comparable](a, b map[string][]*T) bool {
	if len(a) != len(b) {
		return false
	}
	for k, xs := range a {
		ys := b[k]
		if len(xs) != len(ys) {
			return false
		}
		seen := map[T]int{}
		for _, x := range xs {
			seen[*x]++
		}
		for _, y := range ys {
			if seen[*y]--; seen[*y] < 0 {
				return false
			}
		}
	}
	return true
}

// firstDifference says where two snapshots first differ, for verify's panic.
func firstDifference(kept, full spotfleet.Snapshot) string {
	for _, part := range []struct {
		name string
		a, b any
	}{{"groups", kept.Groups, full.Groups}, {"services", kept.Services, full.Services}, {"target groups", kept.TargetGroups, full.TargetGroups},
		{"instances", kept.Instances, full.Instances}, {"tasks", kept.Tasks, full.Tasks}, {"targets", kept.Targets, full.Targets}} {
		if !reflect.DeepEqual(part.a, part.b) {
			return fmt.Sprintf("%s: kept %+v, snapshot %+v", part.name, part.a, part.b)
		}
	}
	return "the counts"
}
