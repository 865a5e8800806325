package emulator

import (
	"cmp"
	"context"
	"slices"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/touch"
	"github.com/spotfleet/spotfleet/fleetview"
)

// A snapshot's instances, tasks and targets each carry what was last shown of them
// (emulator/touch), and every change that a snapshot can show touches its object:
// SnapshotDelta builds the entries of the touched objects only, and gives those that
// changed, so that the controller's round, the delta included, costs what changed rather
// than the fleet's size. (TestDeltasKeepThePicture holds every delta against a full
// snapshot: a change that forgot its touch fails it.)
type deltaState struct {
	version   uint64 // of the last snapshot or delta given; 0: no one asked, nothing to follow
	instances touch.Set[spotfleet.Instance, *instance]
	tasks     touch.Set[spotfleet.Task, *task]
	targets   touch.Set[spotfleet.Target, *target]
}

// next numbers a snapshot or delta, and forgets what went before it.
func (d *deltaState) next() uint64 {
	d.version++
	d.instances.Reset()
	d.tasks.Reset()
	d.targets.Reset()
	return d.version
}

// touchInstance notes a change of what a snapshot shows of an instance. Callers hold the
// lock.
func (e *Emulator) touchInstance(in *instance) {
	if in != nil {
		e.delta.instances.Touch(in, e.delta.version > 0)
	}
}

func (e *Emulator) touchTask(t *task) {
	if t != nil {
		e.delta.tasks.Touch(t, e.delta.version > 0)
	}
}

// touchTarget notes a change of a target, and so of its task's health or its instance's
// (an instance target's).
func (e *Emulator) touchTarget(t *target) {
	e.delta.targets.Touch(t, e.delta.version > 0)
	if t.task != nil {
		e.touchTask(t.task)
	} else {
		e.touchInstance(e.instances[t.instanceID])
	}
}

// SnapshotDelta gives the fleet as changes to the snapshot or delta numbered since; false
// when since is not the last one given (take a Snapshot).
func (e *Emulator) SnapshotDelta(ctx context.Context, since uint64) (spotfleet.SnapshotDelta, bool, error) {
	e.lock()
	defer e.unlock()
	if since == 0 || since != e.delta.version {
		return spotfleet.SnapshotDelta{}, false, ctx.Err()
	}
	d := spotfleet.SnapshotDelta{Since: since, Time: e.now, Groups: e.groupEntries(), Services: e.serviceEntries(), TargetGroups: e.targetGroupEntries()}
	var gone []spotfleet.Instance
	d.Instances, gone = e.delta.instances.Delta()
	for _, x := range gone {
		d.GoneInstances = append(d.GoneInstances, x.ID)
	}
	var goneTasks []spotfleet.Task
	d.Tasks, goneTasks = e.delta.tasks.Delta()
	for _, x := range goneTasks {
		d.GoneTasks = append(d.GoneTasks, x.ID)
	}
	var goneTargets []spotfleet.Target
	d.Targets, goneTargets = e.delta.targets.Delta()
	for _, x := range goneTargets {
		d.GoneTargets = append(d.GoneTargets, x.Key())
	}
	d.Version = e.delta.next()
	return d, true, ctx.Err()
}

func (e *Emulator) groupEntries() []spotfleet.Group {
	out := make([]spotfleet.Group, 0, len(e.groups))
	for _, g := range e.groups {
		sg := spotfleet.Group{Name: g.cfg.Name, Desired: g.desired, MinSize: g.cfg.MinSize, MaxSize: g.cfg.MaxSize}
		if e.cluster != nil {
			spec := g.firstSpec()
			sg.InstanceCPU, sg.InstanceMemory = spec.VCPU*1024, spotfleet.ECSRegisteredMemory(spec.MemoryMiB)
		}
		for _, a := range g.activities {
			if a.StatusCode == fleetview.ActivityFailed && e.now.Sub(a.End) <= spotfleet.FailuresShown {
				sg.Failures = append(sg.Failures, spotfleet.LaunchFailure{ActivityID: a.ID, Time: a.End, Zone: a.zone, Message: a.StatusMessage})
			}
		}
		for _, z := range g.cfg.Zones {
			for _, it := range g.cfg.InstanceTypes {
				sg.Pools = append(sg.Pools, spotfleet.Pool{InstanceType: it.Type, Zone: z})
			}
		}
		for p := range g.avoid {
			sg.Avoided = append(sg.Avoided, p)
		}
		slices.SortFunc(sg.Avoided, func(a, b spotfleet.Pool) int {
			return cmp.Or(cmp.Compare(a.InstanceType, b.InstanceType), cmp.Compare(a.Zone, b.Zone))
		})
		out = append(out, sg)
	}
	return out
}

func (e *Emulator) serviceEntries() []spotfleet.Service {
	out := make([]spotfleet.Service, 0, len(e.services))
	for _, s := range e.services {
		ss := spotfleet.Service{Name: s.cfg.Name, Desired: s.desired, StopTimeout: s.cfg.StopTimeout.D(), CPU: s.cfg.CPU, Memory: s.cfg.Memory}
		if s.covers != nil {
			ss.Covers = s.covers.cfg.Name
		}
		if s.tg != nil {
			ss.TargetGroup = s.tg.name
		}
		for _, r := range s.refusals {
			if e.now.Sub(r.at) <= spotfleet.FailuresShown {
				ss.Refusals = append(ss.Refusals, spotfleet.LaunchFailure{ActivityID: r.id, Time: r.at, Message: r.provider + ": " + capacityUnavailable})
			}
		}
		out = append(out, ss)
	}
	return out
}

func (e *Emulator) targetGroupEntries() []spotfleet.TargetGroup {
	out := make([]spotfleet.TargetGroup, 0, len(e.tgs))
	for _, tg := range e.tgs {
		out = append(out, spotfleet.TargetGroup{Name: tg.name, DeregistrationDelay: tg.delay})
	}
	return out
}

// Entry is the instance as a snapshot shows it.
func (in *instance) Entry() spotfleet.Instance {
	si := spotfleet.Instance{ID: in.id, Pool: in.pool.Pool, Lifecycle: in.lifecycle, State: in.state, Weight: in.weight, LaunchedAt: in.launchedAt}
	if !in.detached {
		si.Group = in.g.cfg.Name
	}
	if in.ci != nil {
		si.ContainerInstance, si.ContainerStatus = in.ci.arn, in.ci.status
		si.CPU, si.Memory = in.ci.cpu, in.ci.mem
		si.Healthy = in.state == spotfleet.InstanceRunning && in.ci.status == spotfleet.ContainerInstanceActive
	}
	if a := in.app; a != nil {
		si.Healthy = in.state == spotfleet.InstanceRunning && a.proc != nil && (a.target == nil || a.target.state == spotfleet.TargetHealthy)
	}
	return si
}

// Entry is the task as a snapshot shows it.
func (t *task) Entry() spotfleet.Task {
	return spotfleet.Task{ID: t.id, Service: t.svc.cfg.Name, Provider: t.provider, Status: t.status, Healthy: t.healthy(),
		Instance: t.hostInstance(), Zone: t.zoneOf()}
}

// Entry is the target as a snapshot shows it.
func (t *target) Entry() spotfleet.Target {
	st := spotfleet.Target{TargetGroup: t.tg.name, ID: t.refID(), Port: t.tg.port, Instance: t.instanceID, State: t.state}
	if t.task != nil {
		st.Instance, st.Task = t.task.hostInstance(), t.task.id
	}
	return st
}

// Mark and Entry make each object a touch.Object.
func (in *instance) Mark() *touch.Mark[spotfleet.Instance] { return &in.seen }
func (t *task) Mark() *touch.Mark[spotfleet.Task]          { return &t.seen }
func (t *target) Mark() *touch.Mark[spotfleet.Target]      { return &t.seen }
