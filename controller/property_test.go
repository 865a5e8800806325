package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/scenario"
	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/manifest"
	"pgregory.net/rapid"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// genWorld draws a snapshot of a small fleet and notices on some of its instances.
func genWorld(t *rapid.T) (*spotfleet.Snapshot, []*notice) {
	pools := []spotfleet.Pool{{InstanceType: "m5.large", Zone: "a"}, {InstanceType: "m5a.large", Zone: "a"}, {InstanceType: "m5.large", Zone: "b"}}
	s := &spotfleet.Snapshot{Time: t0.Add(time.Duration(rapid.IntRange(0, 300).Draw(t, "now")) * time.Second),
		Groups:       []spotfleet.Group{{Name: "spot", Desired: rapid.IntRange(0, 6).Draw(t, "desired"), Pools: pools}},
		Services:     []spotfleet.Service{{Name: "web", Desired: rapid.IntRange(0, 8).Draw(t, "tasks"), StopTimeout: 30 * time.Second, TargetGroup: "tg"}},
		TargetGroups: []spotfleet.TargetGroup{{Name: "tg", DeregistrationDelay: time.Duration(rapid.IntRange(0, 300).Draw(t, "delay")) * time.Second}}}
	ecs := rapid.Bool().Draw(t, "ecs")
	n := rapid.IntRange(1, 8).Draw(t, "instances")
	for i := range n {
		in := spotfleet.Instance{ID: fmt.Sprintf("i-%d", i), Group: rapid.SampledFrom([]string{"spot", ""}).Draw(t, "group"),
			Pool: rapid.SampledFrom(pools).Draw(t, "pool"), Lifecycle: rapid.SampledFrom([]spotfleet.Lifecycle{spotfleet.Spot, spotfleet.OnDemand}).Draw(t, "lc"),
			State:  rapid.SampledFrom([]spotfleet.InstanceState{spotfleet.InstanceRunning, spotfleet.InstancePending, spotfleet.InstanceShuttingDown}).Draw(t, "state"),
			Weight: 1, Healthy: rapid.Bool().Draw(t, "healthy")}
		if ecs {
			in.ContainerInstance = "arn:" + in.ID
			in.ContainerStatus = rapid.SampledFrom([]spotfleet.ContainerInstanceStatus{spotfleet.ContainerInstanceActive, spotfleet.ContainerInstanceDraining}).Draw(t, "ci")
			for j := range rapid.IntRange(0, 3).Draw(t, "tasksOn") {
				s.Tasks = append(s.Tasks, spotfleet.Task{ID: fmt.Sprintf("t-%d-%d", i, j), Service: "web", Instance: in.ID,
					Status: spotfleet.TaskRunning, Healthy: rapid.Bool().Draw(t, "taskHealthy")})
				s.Targets = append(s.Targets, spotfleet.Target{TargetGroup: "tg", ID: fmt.Sprintf("10.0.%d.%d", i, j), Port: 80, Instance: in.ID,
					State: rapid.SampledFrom([]spotfleet.TargetState{spotfleet.TargetHealthy, spotfleet.TargetInitial, spotfleet.TargetDraining}).Draw(t, "target")})
			}
		} else if rapid.Bool().Draw(t, "hasTarget") {
			s.Targets = append(s.Targets, spotfleet.Target{TargetGroup: "tg", ID: in.ID, Port: 80, Instance: in.ID,
				State: rapid.SampledFrom([]spotfleet.TargetState{spotfleet.TargetHealthy, spotfleet.TargetDraining}).Draw(t, "target")})
		}
		s.Instances = append(s.Instances, in)
	}
	v := newView(s)
	// The notices were taken by a controller that knows the target group's delay.
	pol := policy{margin: 5 * time.Second, baseDelay: map[string]time.Duration{"tg": s.TargetGroups[0].DeregistrationDelay}}
	var notices []*notice
	for _, in := range s.Instances {
		if in.Lifecycle != spotfleet.Spot || !rapid.Bool().Draw(t, "noticed") {
			continue
		}
		kind := rapid.SampledFrom([]spotfleet.EventKind{spotfleet.KindInterruption, spotfleet.KindRebalance}).Draw(t, "kind")
		sig := signal{kind: kind, instance: in.ID, deadline: s.Time.Add(spotfleet.SpotNotice)}
		if in.Alive() {
			no := newNotice(sig, v, pol, rapid.SampledFrom([]manifest.RebalanceAction{manifest.RebalanceReplace, manifest.RebalanceDrain}).Draw(t, "action"),
				s.Time.Add(-time.Duration(rapid.IntRange(0, 120).Draw(t, "age"))*time.Second))
			no.admitted = rapid.Bool().Draw(t, "admitted") && no.action == actionReplace
			notices = append(notices, no)
		}
	}
	return s, notices
}

func TestDecisionProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s, notices := genWorld(t)
		v := newView(s)
		pol := policy{margin: 5 * time.Second, baseDelay: map[string]time.Duration{"tg": s.TargetGroups[0].DeregistrationDelay},
			maxReplacing: rapid.IntRange(1, 3).Draw(t, "maxReplacing"), spotGroups: map[string]bool{s.Groups[0].Name: true}}
		memo := map[spotfleet.Pool]float64{}
		for _, p := range s.Groups[0].Pools {
			memo[p] = rapid.Float64Range(0, 3).Draw(t, "memory")
		}
		p := decide(v, notices, pol, func(pl spotfleet.Pool) float64 { return memo[pl] })

		byKey := map[key]*notice{}
		leaving := map[string]bool{}
		admitted := 0
		for _, n := range notices {
			byKey[n.key] = n
			leaving[n.instance] = n.action != actionReplace || n.admitted
			if n.admitted {
				admitted++
			}
		}
		for _, k := range p.admit {
			leaving[k.instance] = true
		}
		// Nothing is terminated while it serves: no registered target, no task left on it.
		for _, x := range p.terminate {
			if len(v.registeredOn(x.id)) > 0 || len(v.tasksOn[x.id]) > 0 {
				t.Fatalf("terminates %s with %d registered targets and %d tasks", x.id, len(v.registeredOn(x.id)), len(v.tasksOn[x.id]))
			}
		}
		// Make before break: a rebalance replace takes nothing out before its replacement serves.
		for _, d := range append(p.drain, deregTargets(p.deregister)...) {
			n := byKey[d.notice]
			if n.action == actionReplace && !replacementReady(v, n, v.without(leaving)) {
				t.Fatalf("rebalance of %s drains before the replacement serves", n.instance)
			}
		}
		// The rate limit holds.
		if admitted < pol.maxReplacing && admitted+len(p.admit) > pol.maxReplacing {
			t.Fatalf("%d replacing + %d admitted > %d", admitted, len(p.admit), pol.maxReplacing)
		}
		// A group always keeps a pool to launch in.
		for g, a := range p.avoid {
			if len(a) == len(v.group[g].Pools) {
				t.Fatalf("group %s avoids every pool", g)
			}
		}
		// A deregistration delay is never raised above the manifest's, nor lowered below 0.
		for tg, d := range p.delays {
			if d < 0 || d > pol.baseDelay[tg] {
				t.Fatalf("delay of %s set to %s (manifest %s)", tg, d, pol.baseDelay[tg])
			}
		}
	})
}

func deregTargets(ds []deregistration) []targeted {
	out := make([]targeted, len(ds))
	for i, d := range ds {
		out[i] = targeted{notice: d.notice, id: d.target.ID}
	}
	return out
}

// TestNoInstanceIsDrainedTwiceForOneNotice applies rounds of decisions to a snapshot that
// lags behind (a provider's eventual consistency): a drain that succeeded is not repeated
// even while the snapshot still shows the container instance ACTIVE.
func TestNoInstanceIsDrainedTwiceForOneNotice(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s, notices := genWorld(t)
		pol := policy{margin: 5 * time.Second, baseDelay: map[string]time.Duration{"tg": time.Minute}, maxReplacing: 2}
		drains := map[string]int{}
		for round := range rapid.IntRange(1, 6).Draw(t, "rounds") {
			stale := rapid.Bool().Draw(t, fmt.Sprint("stale", round))
			p := decide(newView(s), notices, pol, func(spotfleet.Pool) float64 { return 0 })
			for _, k := range p.admit {
				for _, n := range notices {
					if n.key == k {
						n.admitted = true
					}
				}
			}
			for _, d := range p.drain {
				drains[d.id]++
				for _, n := range notices {
					if n.key == d.notice {
						n.drained = true // the call succeeded
					}
				}
				if !stale {
					for i := range s.Instances {
						if s.Instances[i].ContainerInstance == d.id {
							s.Instances[i].ContainerStatus = spotfleet.ContainerInstanceDraining
						}
					}
				}
			}
			s.Time = s.Time.Add(time.Second)
		}
		for id, n := range drains {
			if n > 1 {
				t.Fatalf("%s drained %d times for one notice", id, n)
			}
		}
	})
}

// TestNeverStoppedWhileRegistered runs the emulator and the controller through drawn
// fleets and interruptions, and checks the end-to-end promise: no task is signalled, and
// no instance dies, while the load balancer can still route to it.
func TestNeverStoppedWhileRegistered(t *testing.T) {
	checks := 0
	rapid.Check(t, func(rt *rapid.T) {
		checks++
		if checks > 60 { // each check is minutes of emulated time; 60 keep the suite quick
			return
		}
		yaml := fmt.Sprintf(`name: t
capacity:
  - name: on-demand
    instanceTypes: [m5.large]
    onDemandPercentageAboveBaseCapacity: 100
    minSize: 1
    desiredCapacity: 1
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large]
    minSize: %d
    desiredCapacity: %d
    targetCapacityPercent: %d
rebalance: %s
services:
  - name: web
    command: [web]
    desiredCount: %d
    maximumPercent: %d
    minimumHealthyPercent: %d
    stopTimeout: %ds
    loadBalancer: {listenerPort: 8080, deregistrationDelay: %ds}
`, 1, rapid.IntRange(1, 4).Draw(rt, "spotDesired"),
			rapid.SampledFrom([]int{70, 100}).Draw(rt, "targetCapacity"),
			rapid.SampledFrom([]string{"replace", "drain", "ignore"}).Draw(rt, "rebalance"),
			rapid.IntRange(1, 8).Draw(rt, "tasks"), rapid.SampledFrom([]int{100, 150, 200}).Draw(rt, "maxPercent"),
			rapid.SampledFrom([]int{0, 50, 100}).Draw(rt, "minHealthy"),
			rapid.IntRange(0, 90).Draw(rt, "stopTimeout"), rapid.IntRange(0, 300).Draw(rt, "deregistrationDelay"))
		steps := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) scenario.Step {
			pools := []string{rapid.SampledFrom([]string{"*", "m5.large/*", "*/us-east-1a"}).Draw(t, "pools")}
			if rapid.Bool().Draw(t, "isRebalance") {
				return scenario.Step{Rebalance: &scenario.RebalanceStep{Pools: pools, Count: rapid.IntRange(1, 3).Draw(t, "count")}}
			}
			return scenario.Step{Interrupt: &scenario.InterruptStep{Pools: pools, Fraction: rapid.Float64Range(0.1, 1).Draw(t, "fraction")}}
		}), 1, 3).Draw(rt, "steps")

		var rep fleetview.Report
		withRig(t, yaml, func(t *testing.T, r *rig) {
			r.startController()
			for _, st := range steps {
				r.play(st)
				time.Sleep(20 * time.Second)
			}
			time.Sleep(4 * time.Minute)
			rep = r.report()
		})
		if rep.Interruptions.TasksStoppedWhileRegistered != 0 || rep.Interruptions.NotDeregistered != 0 || rep.Interruptions.DeadlineMissed != 0 {
			rt.Fatalf("manifest:\n%s\nsteps %+v\nreport %+v", yaml, steps, rep.Interruptions)
		}
	})
}
