package controller

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/scenario"
	"github.com/spotfleet/spotfleet/internal/strictyaml"
)

// fallbackECS is an S0-shaped fleet with a fallback whose tasks fill an instance each:
// two On-Demand and two Spot, so that the cover needs an On-Demand instance of its own.
const fallbackECS = `name: t
capacity:
  - name: on-demand
    instanceTypes: [m5.large]
    onDemandPercentageAboveBaseCapacity: 100
    minSize: 1
    maxSize: 4
    desiredCapacity: 2
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large]
    minSize: 0
    maxSize: 6
    desiredCapacity: 2
fallback: {from: spot, to: on-demand, returnAfter: 2m}
services:
  - name: web
    command: [web]
    desiredCount: 4
    cpu: 2048
    memory: 4096
    loadBalancer: {listenerPort: 8080, deregistrationDelay: 30s}
`

// fallbackInstances is an S1-shaped fleet: three Spot instances serving, an On-Demand
// group at 0.
const fallbackInstances = `name: t
workload: instances
capacity:
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large]
    minSize: 3
    maxSize: 6
    desiredCapacity: 3
  - name: on-demand
    instanceTypes: [m5.large]
    maxSize: 3
    onDemandPercentageAboveBaseCapacity: 100
fallback: {from: spot, to: on-demand, returnAfter: 2m}
instances:
  name: web
  command: [web]
  stopTimeout: 20s
  loadBalancer: {listenerPort: 8080, deregistrationDelay: 30s}
`

// serving is what serves in a snapshot against what should: healthy tasks of the service
// and its companion (ecs), or healthy capacity units against the Spot group's desired
// (instances); and the On-Demand instances of the fallback group.
func serving(s spotfleet.Snapshot) (healthy, desired, onDemand int) {
	for _, sv := range s.Services {
		if sv.Covers == "" && len(s.Tasks) > 0 {
			desired += sv.Desired
		}
	}
	for _, t := range s.Tasks {
		if t.Healthy {
			healthy++
		}
	}
	for _, in := range s.Instances {
		if !in.Alive() || in.Group != "on-demand" || in.Lifecycle != spotfleet.OnDemand {
			continue
		}
		onDemand++
	}
	if len(s.Tasks) == 0 { // workload instances
		for _, g := range s.Groups {
			if g.Name == "spot" {
				desired = g.Desired
			}
		}
		for _, in := range s.Instances {
			if in.Healthy && in.Alive() { // an interrupted instance serves until it is out
				healthy += in.Weight
			}
		}
	}
	return healthy, desired, onDemand
}

// TestFallbackCoversAndReturns is the scenario on both workloads: at t every Spot
// pool refuses launches and a third of the Spot instances are interrupted; at t+10m Spot
// returns. The cover serves within seconds of its capacity being up, nothing stops while
// registered, the fleet never dips below desired once covered or while the cover goes, and
// the cover is gone by t + 10m + returnAfter + the drain.
func TestFallbackCoversAndReturns(t *testing.T) {
	for name, c := range map[string]struct {
		yaml    string
		boot    time.Duration // of the cover's capacity: a task on a running instance, or an instance
		odFloor int           // On-Demand instances before and after
	}{
		"ecs":       {fallbackECS, time.Minute, 2},
		"instances": {fallbackInstances, time.Minute, 0},
	} {
		t.Run(name, func(t *testing.T) {
			withRig(t, c.yaml, func(t *testing.T, r *rig) {
				if os.Getenv("DEBUG") != "" {
					r.cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
				}
				r.startController()
				_, desired, _ := serving(r.snapshot())
				start := r.e.Elapsed().Truncate(time.Second) + time.Second
				at := func(d time.Duration) scenario.Step { return scenario.Step{At: strictyaml.Duration(start + d)} }
				refuse, interrupt, back := at(0), at(0), at(10*time.Minute)
				refuse.SpotCapacity = &scenario.CapacityStep{Pools: []string{"*"}, Instances: 0}
				interrupt.Interrupt = &scenario.InterruptStep{Pools: []string{"*"}, Fraction: 1.0 / 3}
				back.SpotCapacity = &scenario.CapacityStep{Pools: []string{"*"}, Instances: scenario.Unlimited}
				if err := r.e.Play(&scenario.Scenario{Steps: []scenario.Step{refuse, interrupt, back}}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(start - r.e.Elapsed())

				var lastBelow, gone time.Duration = -1, -1
				maxOD := 0
				for s := time.Duration(0); s < 16*time.Minute; s += time.Second {
					healthy, _, od := serving(r.snapshot())
					maxOD = max(maxOD, od)
					if s > 10*time.Minute && od == c.odFloor && gone < 0 {
						gone = s
					}
					if healthy < desired {
						lastBelow = s
					}
					time.Sleep(time.Second)
				}
				// The cover's capacity boots in c.boot; its service then needs a start and
				// two health checks (5s apart). The interrupted capacity serves meanwhile
				// until its latest safe moment; from when the cover serves, never below.
				if lastBelow > c.boot+12*time.Second {
					t.Errorf("below desired at t+%s, want whole from t+%s on", lastBelow, c.boot+12*time.Second)
				}
				if maxOD <= c.odFloor {
					t.Errorf("no On-Demand instance covered the shortfall")
				}
				// Spot returns at 10m; the cover goes returnAfter (2m) after the last refusal,
				// then drains (30s deregistration delay, 30s stop timeout).
				if limit := 10*time.Minute + 2*time.Minute + time.Minute + 5*time.Second; gone < 0 || gone > limit {
					t.Errorf("the cover was gone at t+%s, want by t+%s", gone, limit)
				}
				// On-Demand beyond base + the cover the shortfall needs: at most returnAfter
				// and one boot per cover instance.
				coverInstances := maxOD - c.odFloor
				if excess, limit := r.report().Capacity.OnDemandExcessInstanceSeconds, (2*time.Minute + time.Duration(coverInstances)*time.Minute).Seconds(); excess > limit {
					t.Errorf("%.0f On-Demand excess instance-seconds, want at most %.0f", excess, limit)
				}
				t.Logf("last below desired at t+%s, at most %d On-Demand; report %+v; stats %+v", lastBelow, maxOD, r.report().Capacity, r.c.Stats().Fallback)
				_, _, od := serving(r.snapshot())
				if od != c.odFloor {
					t.Errorf("%d On-Demand instances at t+16m, want the %d of the base: the cover is not given back", od, c.odFloor)
				}
				for _, sv := range r.snapshot().Services {
					if sv.Covers != "" && sv.Desired != 0 {
						t.Errorf("companion %s still at desired %d", sv.Name, sv.Desired)
					}
				}
				checkClean(t, r.report())
				st := r.c.Stats()
				if st.Fallback.Cycles != 1 || len(st.Fallback.Reaction) != 1 {
					t.Errorf("fallback stats %+v: want one cycle, its reaction measured", st.Fallback)
				}
			})
		})
	}
}

// flapping is an S1-shaped fleet whose Spot group has a single pool.
const flapping = `name: t
workload: instances
capacity:
  - name: spot
    instanceTypes: [m5.large]
    zones: [us-east-1a]
    minSize: 3
    maxSize: 6
    desiredCapacity: 3
  - name: on-demand
    instanceTypes: [m5.large]
    maxSize: 3
    onDemandPercentageAboveBaseCapacity: 100
fallback: {from: spot, to: on-demand, returnAfter: RETURN}
instances:
  name: web
  command: [web]
  stopTimeout: 5s
  loadBalancer: {listenerPort: 8080, deregistrationDelay: 5s}
`

// TestFlappingPoolMakesOneCyclePerReturnAfter: the only Spot pool refuses for 30s and
// takes launches for 30s, for 10 minutes, with an interruption every other refusal. The cover
// comes once and stays until the pool has been quiet for returnAfter: cover starts are at
// least returnAfter apart. With returnAfter 0 the same market makes a cycle per flap,
// which is what the hysteresis is for.
func TestFlappingPoolMakesOneCyclePerReturnAfter(t *testing.T) {
	for _, c := range []struct {
		returnAfter string
		wantMore    bool // more than one cycle in the 10 minutes
	}{{"5m", false}, {"0s", true}} {
		t.Run("returnAfter="+c.returnAfter, func(t *testing.T) {
			withRig(t, strings.Replace(flapping, "RETURN", c.returnAfter, 1), func(t *testing.T, r *rig) {
				r.startController()
				start := r.e.Elapsed().Truncate(time.Second) + time.Second
				var steps []scenario.Step
				for k := range 10 {
					at := start + time.Duration(k)*time.Minute
					steps = append(steps,
						scenario.Step{At: strictyaml.Duration(at), SpotCapacity: &scenario.CapacityStep{Pools: []string{"*"}, Instances: 0}},
						scenario.Step{At: strictyaml.Duration(at + 30*time.Second), SpotCapacity: &scenario.CapacityStep{Pools: []string{"*"}, Instances: scenario.Unlimited}})
					if k%2 == 0 {
						steps = append(steps, scenario.Step{At: strictyaml.Duration(at), Interrupt: &scenario.InterruptStep{Pools: []string{"*"}, Count: 1}})
					}
				}
				if err := r.e.Play(&scenario.Scenario{Steps: steps}); err != nil {
					t.Fatal(err)
				}
				var starts []time.Duration
				covered, od := false, 0
				for s := time.Duration(0); s < 18*time.Minute; s += time.Second {
					_, _, od = serving(r.snapshot())
					desired := 0
					for _, g := range r.snapshot().Groups {
						if g.Name == "on-demand" {
							desired = g.Desired
						}
					}
					if desired > 0 && !covered {
						starts = append(starts, s)
					}
					covered = desired > 0
					time.Sleep(time.Second)
				}
				t.Logf("cover started at %v", starts)
				if len(starts) == 0 {
					t.Fatal("the shortfall was never covered")
				}
				returnAfter, _ := time.ParseDuration(c.returnAfter)
				for i := 1; i < len(starts) && !c.wantMore; i++ {
					if gap := starts[i] - starts[i-1]; gap < returnAfter {
						t.Errorf("cover started at %v: %s apart, want at least returnAfter %s", starts, gap, returnAfter)
					}
				}
				if got := len(starts) > 1; got != c.wantMore {
					t.Errorf("cover started at %v (%d cycles); want more than one: %v", starts, len(starts), c.wantMore)
				}
				if covered || od > 0 {
					t.Errorf("the cover is still there 8 minutes after the flapping stopped")
				}
				checkClean(t, r.report())
			})
		})
	}
}

// TestColdStartIsNotCovered: a fleet that is only starting (managed scaling reads once a
// minute, instances boot in one) is not a Spot shortfall: no launch is refused, and the
// default fallback.after outlasts a normal launch, so nothing is covered On-Demand.
func TestColdStartIsNotCovered(t *testing.T) {
	yaml := strings.Replace(fallbackECS, "fallback: {from: spot, to: on-demand, returnAfter: 2m}", "fallback: {from: spot, to: on-demand}", 1)
	yaml = strings.Replace(yaml, "    desiredCapacity: 2\nfallback", "    desiredCapacity: 0\nfallback", 1) // Spot starts empty
	withRigAt(t, yaml, 0, func(t *testing.T, r *rig) {
		r.startController()
		time.Sleep(6 * time.Minute)
		if !r.e.Ready() {
			t.Fatal("the fleet does not serve after 6 minutes")
		}
		if n := r.rec.count("SetDesiredCount", "*"); n != 0 {
			t.Errorf("the fallback covered a cold start (%d UpdateService calls: %v)", n, r.rec.calls["SetDesiredCount"])
		}
		if st := r.c.Stats().Fallback; st.Cycles != 0 || len(st.Reaction) != 0 {
			t.Errorf("fallback stats %+v: want no cover", st)
		}
		if f := r.report().Capacity.LaunchFailures; f != 0 {
			t.Errorf("%d launch failures, want 0", f)
		}
	})
}
