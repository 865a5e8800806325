package conformance

import (
	"context"
	"testing"

	"github.com/spotfleet/spotfleet"
)

// FargateFixture is a running fleet of examples/s3-fargate-spot.yaml: a load-balanced
// service "web" on FARGATE_SPOT with tasks running, its companion "web-fallback" on
// FARGATE, and no instance.
type FargateFixture struct {
	Fixture
	// Refuse makes Fargate Spot short, so that the service cannot place a task, where the
	// backend can (moto has no service scheduler); may be nil.
	Refuse func()
}

// RunFargate runs the contract of a fleet on Fargate: tasks with no instance, targets that
// name their task, a task's target deregistered by its address, the companion's desired
// count, and the refusals of a service Fargate Spot cannot place.
func RunFargate(t *testing.T, f FargateFixture) {
	ctx := context.Background()
	sub := f.sub(t)
	snap := f.snap(t)

	sub("snapshot shows Fargate tasks and their targets", func(t *testing.T) {
		s := snap(t)
		if len(s.Instances) != 0 || len(s.Groups) != 0 {
			t.Errorf("%d instances, %d groups; a Fargate fleet has none", len(s.Instances), len(s.Groups))
		}
		tasks := map[string]spotfleet.Task{}
		for _, x := range s.Tasks {
			if x.Service != "web" {
				continue
			}
			tasks[x.ID] = x
			if x.Instance != "" || (x.Provider != "" && x.Provider != "FARGATE_SPOT") {
				t.Errorf("task %+v: want no instance, on FARGATE_SPOT", x)
			}
		}
		if len(tasks) == 0 {
			t.Fatal("no task of web")
		}
		for _, x := range s.Targets {
			if _, ok := tasks[x.Task]; !ok || x.Instance != "" {
				t.Errorf("target %+v: want the task it is, and no instance", x)
			}
		}
		if len(s.Targets) == 0 {
			t.Error("no target")
		}
	})

	sub("SetDesiredCount of the FARGATE companion", func(t *testing.T) {
		if err := f.Provider.SetDesiredCount(ctx, "web-fallback", 2); err != nil {
			t.Fatal(err)
		}
		f.settle()
		for _, sv := range snap(t).Services {
			if sv.Name == "web-fallback" && (sv.Desired != 2 || sv.Covers != "web") {
				t.Errorf("web-fallback desired %d covering %q, want 2 covering web", sv.Desired, sv.Covers)
			}
		}
		if err := f.Provider.SetDesiredCount(ctx, "web-fallback", 0); err != nil {
			t.Fatal(err)
		}
	})

	sub("DeregisterTargets of a task", func(t *testing.T) {
		s := snap(t)
		var target spotfleet.Target
		for _, x := range s.Targets {
			if x.State.Registered() && x.Task != "" {
				target = x
			}
		}
		if target.Task == "" {
			t.Fatal("no registered target of a task")
		}
		if err := f.Provider.DeregisterTargets(ctx, target.TargetGroup, []spotfleet.TargetRef{target.Ref()}); err != nil {
			t.Fatal(err)
		}
		f.settle()
		for _, x := range snap(t).Targets {
			if x.Ref() == target.Ref() && x.State.Registered() {
				t.Errorf("target %+v of task %s still registered", x, target.Task)
			}
		}
	})

	sub("refusals of Fargate Spot", func(t *testing.T) {
		if f.Refuse == nil {
			t.Log("the backend cannot make Fargate Spot short (moto)")
			return
		}
		f.Refuse()
		f.settle()
		for _, sv := range snap(t).Services {
			if sv.Name != "web" {
				continue
			}
			if len(sv.Refusals) == 0 || !spotfleet.CapacityError(sv.Refusals[len(sv.Refusals)-1].Message) {
				t.Errorf("refusals %+v; want the capacity refusals", sv.Refusals)
			}
		}
	})
}

// sub runs a case as a subtest, or in line under Flat.
func (f Fixture) sub(t *testing.T) func(name string, fn func(t *testing.T)) {
	return func(name string, fn func(t *testing.T)) {
		if f.Flat {
			t.Logf("case %q", name)
			fn(t)
			return
		}
		t.Run(name, fn)
	}
}

func (f Fixture) settle() {
	if f.Settle != nil {
		f.Settle()
	}
}

func (f Fixture) snap(t *testing.T) func(t *testing.T) spotfleet.Snapshot {
	return func(t *testing.T) spotfleet.Snapshot {
		t.Helper()
		s, err := f.Provider.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}
