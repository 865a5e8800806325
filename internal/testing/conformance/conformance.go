// Package conformance is the provider contract the controller relies on, as one set of
// tests that runs against every provider: the local emulator and the AWS provider (on
// moto in the tests). A provider that passes behaves, for the controller, as AWS does.
package conformance

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/controller"
)

// Queue is the event queue with the sending side a rule has.
type Queue interface {
	controller.Queue
	SendMessage(ctx context.Context, body []byte) error
}

// Fixture is a running fleet of a manifest with a Spot group "spot", an On-Demand group
// "on-demand", ECS with a load-balanced service "web" and its fallback companion
// "web-fallback" (reference design S3 with a fallback).
type Fixture struct {
	Provider controller.Provider
	Queue    Queue
	// Settle lets the provider's effects show (the emulator's time passes); may be nil.
	Settle func()
	// Flat runs the cases one after the other in the same test instead of as subtests
	// (inside a testing/synctest bubble, where t.Run may not be called).
	Flat bool
	// Interrupt gives an instance its interruption notice, where the backend can (moto
	// cannot); may be nil.
	Interrupt func(id string)
}

// Run runs the contract against a fixture. Each subtest works on different objects of
// the fleet, in order.
func Run(t *testing.T, f Fixture) {
	ctx := context.Background()
	sub, snap, settle := f.sub(t), f.snap(t), f.settle
	group := func(s spotfleet.Snapshot, name string) spotfleet.Group {
		for _, g := range s.Groups {
			if g.Name == name {
				return g
			}
		}
		t.Fatalf("group %s not in the snapshot", name)
		return spotfleet.Group{}
	}
	instancesOf := func(s spotfleet.Snapshot, g string) []spotfleet.Instance {
		var out []spotfleet.Instance
		for _, in := range s.Instances {
			if in.Group == g && in.Alive() {
				out = append(out, in)
			}
		}
		return out
	}

	sub("snapshot shows the fleet", func(t *testing.T) {
		s := snap(t)
		for _, name := range []string{"spot", "on-demand"} {
			g := group(s, name)
			if len(g.Pools) == 0 || g.MaxSize < g.MinSize || len(instancesOf(s, name)) == 0 {
				t.Errorf("group %s: %+v with %d instances", name, g, len(instancesOf(s, name)))
			}
		}
		for _, in := range instancesOf(s, "spot") {
			if in.Weight < 1 || in.Pool.Zone == "" || in.ContainerInstance == "" {
				t.Errorf("instance %+v: want a weight, a zone and a container instance", in)
			}
		}
		var names []string
		for _, sv := range s.Services {
			names = append(names, sv.Name)
			if sv.Name == "web-fallback" && sv.Covers != "web" {
				t.Errorf("web-fallback covers %q, want web", sv.Covers)
			}
		}
		if !slices.Contains(names, "web") || !slices.Contains(names, "web-fallback") {
			t.Errorf("services %v, want web and web-fallback", names)
		}
		if len(s.TargetGroups) != 1 || len(s.Targets) == 0 {
			t.Errorf("target groups %+v with %d targets", s.TargetGroups, len(s.Targets))
		}
	})

	sub("SetDesiredCapacity", func(t *testing.T) {
		g := group(snap(t), "on-demand")
		want := min(g.Desired+1, g.MaxSize)
		if err := f.Provider.SetDesiredCapacity(ctx, "on-demand", want); err != nil {
			t.Fatal(err)
		}
		settle()
		if got := group(snap(t), "on-demand").Desired; got != want {
			t.Errorf("desired %d, want %d", got, want)
		}
		if err := f.Provider.SetDesiredCapacity(ctx, "on-demand", g.MaxSize+1); err == nil {
			t.Errorf("a desired capacity above the group's maximum was taken")
		}
	})

	sub("SetDesiredCount", func(t *testing.T) {
		if err := f.Provider.SetDesiredCount(ctx, "web-fallback", 1); err != nil {
			t.Fatal(err)
		}
		settle()
		for _, sv := range snap(t).Services {
			if sv.Name == "web-fallback" && sv.Desired != 1 {
				t.Errorf("web-fallback desired %d, want 1", sv.Desired)
			}
		}
		if err := f.Provider.SetDesiredCount(ctx, "web-fallback", 0); err != nil {
			t.Fatal(err)
		}
	})

	sub("DeregisterTargets and SetDeregistrationDelay", func(t *testing.T) {
		s := snap(t)
		tg := s.TargetGroups[0].Name
		if err := f.Provider.SetDeregistrationDelay(ctx, tg, 17*time.Second); err != nil {
			t.Fatal(err)
		}
		var target spotfleet.Target
		for _, x := range s.Targets {
			if x.State.Registered() {
				target = x
			}
		}
		if err := f.Provider.DeregisterTargets(ctx, tg, []spotfleet.TargetRef{target.Ref()}); err != nil {
			t.Fatal(err)
		}
		settle()
		s = snap(t)
		if s.TargetGroups[0].DeregistrationDelay != 17*time.Second {
			t.Errorf("deregistration delay %s, want 17s", s.TargetGroups[0].DeregistrationDelay)
		}
		for _, x := range s.Targets {
			if x.Ref() == target.Ref() && x.State.Registered() {
				t.Errorf("target %+v still registered", x)
			}
		}
		if err := f.Provider.DeregisterTargets(ctx, "no-such-group", []spotfleet.TargetRef{target.Ref()}); err == nil {
			t.Errorf("deregistering from a target group that does not exist succeeded")
		}
	})

	sub("StopTasks", func(t *testing.T) {
		var task spotfleet.Task
		for _, x := range snap(t).Tasks {
			if x.Service == "web" && x.Status == spotfleet.TaskRunning {
				task = x
			}
		}
		if task.ID == "" {
			t.Log("no running task to stop: the backend runs none (moto)")
			return
		}
		if err := f.Provider.StopTasks(ctx, []string{task.ID}, "conformance"); err != nil {
			t.Fatal(err)
		}
		settle()
		for _, x := range snap(t).Tasks {
			if x.ID == task.ID && x.Status == spotfleet.TaskRunning {
				t.Errorf("task %s still RUNNING after StopTasks", task.ID)
			}
		}
		if err := f.Provider.StopTasks(ctx, []string{task.ID}, "again"); err != nil {
			t.Errorf("stopping a stopped task again: %v", err)
		}
	})

	sub("DrainContainerInstances", func(t *testing.T) {
		in := instancesOf(snap(t), "spot")[0]
		if err := f.Provider.DrainContainerInstances(ctx, []string{in.ContainerInstance}); err != nil {
			t.Fatal(err)
		}
		settle()
		for _, x := range snap(t).Instances {
			if x.ID == in.ID && x.ContainerStatus != spotfleet.ContainerInstanceDraining {
				t.Errorf("container instance of %s is %s, want DRAINING", in.ID, x.ContainerStatus)
			}
		}
	})

	sub("DetachInstances keeps desired", func(t *testing.T) {
		s := snap(t)
		before := group(s, "spot").Desired
		in := instancesOf(s, "spot")[0]
		if err := f.Provider.DetachInstances(ctx, "spot", []string{in.ID}); err != nil {
			t.Fatal(err)
		}
		settle()
		s = snap(t)
		if got := group(s, "spot").Desired; got != before {
			t.Errorf("desired %d after detaching, want %d", got, before)
		}
		for _, x := range s.Instances {
			if x.ID == in.ID && (x.Group != "" || !x.Alive()) {
				t.Errorf("detached instance %+v: want alive and in no group", x)
			}
		}

		sub("TerminateInstances", func(t *testing.T) {
			if err := f.Provider.TerminateInstances(ctx, []string{in.ID}); err != nil {
				t.Fatal(err)
			}
			settle()
			for _, x := range snap(t).Instances {
				if x.ID == in.ID && x.State != spotfleet.InstanceShuttingDown && x.State != spotfleet.InstanceTerminated {
					t.Errorf("terminated instance is %s", x.State)
				}
			}
		})
	})

	sub("AvoidPools", func(t *testing.T) {
		g := group(snap(t), "spot")
		avoid := []spotfleet.Pool{g.Pools[0]}
		if err := f.Provider.AvoidPools(ctx, "spot", avoid); err != nil {
			t.Fatal(err)
		}
		settle()
		if got := group(snap(t), "spot").Avoided; !slices.Equal(got, avoid) {
			t.Errorf("avoided %v, want %v", got, avoid)
		}
	})

	sub("queue", func(t *testing.T) {
		for { // the fleet's own events first
			msgs, err := f.Queue.ReceiveMessages(ctx, 10, 0, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				if err := f.Queue.DeleteMessage(ctx, m.ReceiptHandle); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := f.Queue.SendMessage(ctx, []byte(`{"hello":1}`)); err != nil {
			t.Fatal(err)
		}
		msgs, err := f.Queue.ReceiveMessages(ctx, 10, time.Second, 30*time.Second)
		if err != nil || len(msgs) != 1 || string(msgs[0].Body) != `{"hello":1}` {
			t.Fatalf("received %d messages (%v), want the one sent", len(msgs), err)
		}
		if again, _ := f.Queue.ReceiveMessages(ctx, 10, 0, 30*time.Second); len(again) != 0 {
			t.Errorf("a message being handled was delivered again within its visibility timeout")
		}
		if err := f.Queue.ChangeMessageVisibility(ctx, msgs[0].ReceiptHandle, 0); err != nil {
			t.Fatal(err)
		}
		back, err := f.Queue.ReceiveMessages(ctx, 10, time.Second, 30*time.Second)
		if err != nil || len(back) != 1 {
			t.Fatalf("after visibility 0: %d messages (%v), want the one sent", len(back), err)
		}
		if err := f.Queue.DeleteMessage(ctx, back[0].ReceiptHandle); err != nil {
			t.Fatal(err)
		}
		if gone, _ := f.Queue.ReceiveMessages(ctx, 10, 0, 30*time.Second); len(gone) != 0 {
			t.Errorf("a deleted message came back: %s", gone[0].Body)
		}
	})

	sub("InterruptionPending", func(t *testing.T) {
		in := instancesOf(snap(t), "spot")[0]
		pending, err := f.Provider.InterruptionPending(ctx, in.ID)
		if err != nil || pending {
			t.Errorf("InterruptionPending(%s) of a healthy instance = %v, %v; want false", in.ID, pending, err)
		}
		if _, err := f.Provider.InterruptionPending(ctx, "i-0000000000000dead"); err == nil {
			t.Errorf("InterruptionPending of an instance that does not exist: no error")
		}
		if f.Interrupt == nil {
			return
		}
		f.Interrupt(in.ID)
		settle()
		if pending, err := f.Provider.InterruptionPending(ctx, in.ID); err != nil || !pending {
			t.Errorf("InterruptionPending(%s) after its notice = %v, %v; want true", in.ID, pending, err)
		}
	})
}
