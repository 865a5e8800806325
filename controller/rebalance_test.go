package controller

import (
	"slices"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/scenario"
)

// TestRebalanceReplaceMakesBeforeBreak follows a rebalance recommendation with the default
// action, replace: a replacement instance (in another pool) serves before any task of the
// at-risk instance stops, the service's healthy targets never drop below its desired count
// (ECS moves the tasks one by one, not all targets out at once), and the at-risk pool gets
// no new instance while it is remembered.
func TestRebalanceReplaceMakesBeforeBreak(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		r.startController()
		at := r.busySpot()
		start := r.e.Now()
		var tasks []string
		for _, x := range r.snapshot().Tasks {
			if x.Instance == at.ID {
				tasks = append(tasks, x.ID)
			}
		}
		r.play(scenario.Step{Rebalance: &scenario.RebalanceStep{Pools: []string{at.Pool.String()}, Count: 1}})

		var replacementAt, firstStopAt time.Time
		serving := 4 // the service's desiredCount
		for range 300 {
			s := r.snapshot()
			healthy := 0
			for _, x := range s.Targets {
				if x.State == spotfleet.TargetHealthy {
					healthy++
				}
			}
			serving = min(serving, healthy)
			for _, in := range s.Instances {
				if in.Group == "spot" && in.LaunchedAt.After(start) && in.Healthy && replacementAt.IsZero() {
					replacementAt = s.Time
				}
				if in.LaunchedAt.After(start) && in.Lifecycle == spotfleet.Spot && in.Pool == at.Pool {
					t.Errorf("%s launched in the at-risk pool %s %s after the recommendation", in.ID, in.Pool, in.LaunchedAt.Sub(start))
				}
			}
			for _, x := range s.Tasks {
				if firstStopAt.IsZero() && slices.Contains(tasks, x.ID) && x.Status != spotfleet.TaskRunning {
					firstStopAt = s.Time
				}
			}
			if firstStopAt.IsZero() && len(tasks) > 0 && countTasks(s, tasks) < len(tasks) {
				firstStopAt = s.Time
			}
			time.Sleep(time.Second)
		}
		switch {
		case replacementAt.IsZero():
			t.Fatal("no replacement instance became healthy")
		case firstStopAt.IsZero():
			t.Fatal("the at-risk instance's tasks never stopped")
		case !replacementAt.Before(firstStopAt):
			t.Errorf("a task of the at-risk instance stopped at +%s, before the replacement was healthy at +%s",
				firstStopAt.Sub(start), replacementAt.Sub(start))
		}
		if serving < 4 {
			t.Errorf("%d healthy targets at the lowest, want the desired 4 throughout", serving)
		}
		if got := r.instance(at.ID); got.Alive() {
			t.Errorf("the at-risk instance is still %s after 5 minutes", got.State)
		}
		checkClean(t, r.report())
		if st := r.c.Stats(); st.Phases[PhaseTerminated].Count != 1 || st.Active != 0 {
			t.Errorf("stats %+v: want the rebalance followed to its end", st)
		}
	})
}

func TestRebalanceReplaceIsRateLimited(t *testing.T) {
	yaml := `name: t
capacity:
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large]
    minSize: 6
    desiredCapacity: 6
services:
  - name: web
    command: [web]
    desiredCount: 6
    capacityProviderStrategy: [{capacityProvider: spot}]
    loadBalancer: {listenerPort: 8080}
interruptions:
  rebalanceMaxPercent: 20
`
	withRig(t, yaml, func(t *testing.T, r *rig) {
		r.startController()
		for _, in := range r.spot() {
			r.send(spotfleet.DetailRebalance, "r-"+in.ID, spotfleet.RebalanceDetail{InstanceID: in.ID})
		}
		most := 0
		for range 600 {
			time.Sleep(time.Second)
			n := 0
			for _, in := range r.snapshot().Instances {
				if in.Group == "" && in.Alive() {
					n++
				}
			}
			most = max(most, n)
		}
		if most != 1 { // 20% of 6 (or 7 with a replacement) instances is 1
			t.Errorf("at most %d instances were being replaced at once, want 1", most)
		}
		if n := r.rec.count("DetachInstances", "*"); n < 3 {
			t.Errorf("only %d instances were replaced in 10 minutes", n)
		}
		checkClean(t, r.report())
	})
}

func countTasks(s spotfleet.Snapshot, ids []string) int {
	n := 0
	for _, x := range s.Tasks {
		if slices.Contains(ids, x.ID) {
			n++
		}
	}
	return n
}
