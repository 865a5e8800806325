package emulator

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"time"

	"github.com/spotfleet/spotfleet"
)

// This file is the emulator as a provider: the calls the controller makes, named and
// behaving as their AWS counterparts (DescribeInstances and friends, DeregisterTargets,
// UpdateContainerInstancesState, DetachInstances, TerminateInstances,
// ModifyTargetGroupAttributes, and the mixed instances policy's overrides).

// Snapshot copies what the controller decides on.
func (e *Emulator) Snapshot(ctx context.Context) (spotfleet.Snapshot, error) {
	e.lock()
	defer e.unlock()
	snap := spotfleet.Snapshot{Time: e.now, Groups: e.groupEntries(), Services: e.serviceEntries(), TargetGroups: e.targetGroupEntries(),
		Instances: make([]spotfleet.Instance, 0, len(e.instOrder))}
	tasks, targets := 0, 0
	for _, s := range e.services {
		tasks += len(s.tasks)
	}
	for _, tg := range e.tgs {
		targets += len(tg.targets)
	}
	snap.Tasks, snap.Targets = make([]spotfleet.Task, 0, tasks), make([]spotfleet.Target, 0, targets)
	for _, in := range e.instOrder { // terminated ones too, as EC2 shows them for a while
		in.seen.Show(in.Entry())
		snap.Instances = append(snap.Instances, in.seen.Last)
	}
	for _, s := range e.services {
		for _, t := range s.tasks {
			t.seen.Show(t.Entry())
			snap.Tasks = append(snap.Tasks, t.seen.Last)
		}
	}
	for _, tg := range e.tgs {
		for _, t := range tg.targets {
			t.seen.Show(t.Entry())
			snap.Targets = append(snap.Targets, t.seen.Last)
		}
	}
	snap.Version = e.delta.next() // every entry is as shown: no touch is owed
	return snap, ctx.Err()
}

// refID is the target's ID as ELB names it: the instance for an instance target, else the IP.
func (t *target) refID() string {
	if t.task == nil {
		return t.instanceID
	}
	return t.ip
}

// DeregisterTargets starts draining the targets. Targets that are not registered are
// ignored, as ELB does.
func (e *Emulator) DeregisterTargets(ctx context.Context, targetGroup string, refs []spotfleet.TargetRef) error {
	e.lock()
	defer e.unlock()
	tg := e.targetGroup(targetGroup)
	if tg == nil {
		return fmt.Errorf("TargetGroupNotFound: target group %q does not exist", targetGroup)
	}
	want := map[spotfleet.TargetRef]bool{}
	for _, r := range refs {
		want[r] = true
	}
	var ts []*target
	for _, t := range tg.targets {
		if want[spotfleet.TargetRef{ID: t.refID(), Port: tg.port}] {
			ts = append(ts, t)
		}
	}
	tg.deregisterAll(ts, "DeregisterTargets")
	return ctx.Err()
}

// SetDeregistrationDelay is ModifyTargetGroupAttributes of
// deregistration_delay.timeout_seconds: it applies to targets deregistered from now on.
func (e *Emulator) SetDeregistrationDelay(ctx context.Context, targetGroup string, d time.Duration) error {
	e.lock()
	defer e.unlock()
	tg := e.targetGroup(targetGroup)
	if tg == nil {
		return fmt.Errorf("TargetGroupNotFound: target group %q does not exist", targetGroup)
	}
	if d < 0 || d > time.Hour {
		return fmt.Errorf("ValidationError: deregistration delay %s is out of 0-3600 seconds", d)
	}
	tg.delay = d.Truncate(time.Second)
	return ctx.Err()
}

func (e *Emulator) targetGroup(name string) *targetGroup {
	for _, tg := range e.tgs {
		if tg.name == name {
			return tg
		}
	}
	return nil
}

// DrainContainerInstances sets the container instances DRAINING.
func (e *Emulator) DrainContainerInstances(ctx context.Context, arns []string) error {
	e.lock()
	defer e.unlock()
	if e.cluster == nil {
		return fmt.Errorf("ClusterNotFoundException: the fleet has no ECS cluster (workload instances)")
	}
	byARN := map[string]*containerInstance{}
	for _, ci := range e.cluster.cis {
		byARN[ci.arn] = ci
	}
	for _, arn := range arns {
		if byARN[arn] == nil {
			return fmt.Errorf("InvalidParameterException: container instance %s is not in the cluster", arn)
		}
	}
	for _, arn := range arns {
		e.drainContainerInstance(byARN[arn], "UpdateContainerInstancesState")
	}
	return ctx.Err()
}

// DetachInstances takes instances out of their group without decrementing its desired
// capacity, so the group launches replacements now while the instances keep running. An
// instance already detached is left as it is.
func (e *Emulator) DetachInstances(ctx context.Context, group string, ids []string) error {
	e.lock()
	defer e.unlock()
	g := e.group(group)
	if g == nil {
		return fmt.Errorf("ValidationError: Auto Scaling group %q not found", group)
	}
	var detach []*instance
	for _, id := range ids {
		in := e.instances[id]
		if in == nil || in.g != g {
			return fmt.Errorf("ValidationError: instance %s is not part of Auto Scaling group %s", id, group)
		}
		if !in.detached && in.alive() {
			detach = append(detach, in)
		}
	}
	for _, in := range detach {
		in.detached = true
		e.touchInstance(in)
		e.note("%s detached from group %s: it launches a replacement now", in.id, group)
	}
	g.remove(detach...)
	return ctx.Err()
}

// TerminateInstances shuts instances down as EC2 does: the OS stops its processes with
// SIGTERM, then the instance ends (at the latest after the service's stop timeout); a
// Spot instance's place returns to its pool as it ends. Instances already gone are ignored.
func (e *Emulator) TerminateInstances(ctx context.Context, ids []string) error {
	e.lock()
	defer e.unlock()
	for _, id := range ids {
		if e.instances[id] == nil {
			return fmt.Errorf("InvalidInstanceID.NotFound: the instance ID %q does not exist", id)
		}
	}
	for _, id := range ids {
		in := e.instances[id]
		e.shutdown(in)
	}
	return ctx.Err()
}

func (e *Emulator) shutdown(in *instance) {
	procs := in.processes()
	if !in.alive() || len(procs) == 0 {
		e.terminate(in, "TerminateInstances")
		return
	}
	if in.app != nil {
		in.leaving = true // the init system must not restart the service
		in.app.stopping = true
	}
	timeout := time.Duration(0)
	for _, s := range e.services {
		timeout = max(timeout, s.cfg.StopTimeout.D())
	}
	for _, p := range procs {
		p.Signal(syscall.SIGTERM)
	}
	e.note("%s shutting down: its processes got SIGTERM", in.id)
	e.after(timeout, func() { e.terminate(in, "TerminateInstances") })
	left := len(procs)
	for _, p := range procs {
		e.whenExited(p, func() {
			if left--; left == 0 {
				e.terminate(in, "TerminateInstances")
			}
		})
	}
}

// SetDesiredCapacity is Auto Scaling's SetDesiredCapacity (HonorCooldown false): the group
// launches or terminates to reach it. Like AWS, a value outside the group's bounds is an
// error, not clamped.
func (e *Emulator) SetDesiredCapacity(ctx context.Context, group string, units int) error {
	e.lock()
	defer e.unlock()
	g := e.group(group)
	if g == nil {
		return fmt.Errorf("ValidationError: Auto Scaling group %q not found", group)
	}
	if units < g.cfg.MinSize || units > g.cfg.MaxSize {
		return fmt.Errorf("ValidationError: new SetDesiredCapacity value %d is outside the bounds of group %s (min %d, max %d)", units, group, g.cfg.MinSize, g.cfg.MaxSize)
	}
	g.setDesired(units, "SetDesiredCapacity")
	return ctx.Err()
}

// SetDesiredCount is ECS UpdateService with a new desiredCount.
func (e *Emulator) SetDesiredCount(ctx context.Context, service string, count int) error {
	e.lock()
	defer e.unlock()
	if count < 0 {
		return fmt.Errorf("InvalidParameterException: desiredCount %d is negative", count)
	}
	for _, s := range e.services {
		if s.cfg.Name == service {
			if s.desired != count {
				e.note("service %s: desired count %d -> %d (UpdateService)", service, s.desired, count)
			}
			s.desired = count
			s.kick()
			return ctx.Err()
		}
	}
	return fmt.Errorf("ServiceNotFoundException: service %q not found", service)
}

// AvoidPools replaces the set of pools the group does not launch Spot in, as trimming the
// overrides of its mixed instances policy would.
func (e *Emulator) AvoidPools(ctx context.Context, group string, pools []spotfleet.Pool) error {
	e.lock()
	defer e.unlock()
	g := e.group(group)
	if g == nil {
		return fmt.Errorf("ValidationError: Auto Scaling group %q not found", group)
	}
	g.avoid = map[spotfleet.Pool]bool{}
	for _, p := range pools {
		g.avoid[p] = true
	}
	return ctx.Err()
}

func (e *Emulator) group(name string) *group {
	for _, g := range e.groups {
		if g.cfg.Name == name {
			return g
		}
	}
	return nil
}

// InterruptionPending says whether the instance has an interruption notice, as its Spot
// request's status (marked-for-termination) says on AWS. An instance that does not exist is
// an error, as DescribeInstances makes it.
func (e *Emulator) InterruptionPending(ctx context.Context, id string) (bool, error) {
	e.lock()
	defer e.unlock()
	in := e.instances[id]
	if in == nil {
		return false, fmt.Errorf("InvalidInstanceID.NotFound: the instance ID %q does not exist", id)
	}
	return in.noticed() && in.alive(), ctx.Err()
}

// StopTasks is ECS StopTask for each task: it leaves its target group first (when it is
// still registered), then gets SIGTERM and SIGKILL after its stop timeout. A task already
// stopping or stopped is left as it is, as ECS does (the emulator forgets a STOPPED task at
// once, where ECS shows it for an hour, so a task it does not know is taken as stopped).
func (e *Emulator) StopTasks(ctx context.Context, ids []string, reason string) error {
	e.lock()
	defer e.unlock()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for _, s := range e.services {
		for _, t := range slices.Clone(s.tasks) {
			if want[t.id] {
				e.stopTask(t, "UserInitiated", reason)
			}
		}
	}
	return ctx.Err()
}
