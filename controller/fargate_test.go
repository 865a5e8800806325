package controller

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/emulator/scenario"
	"github.com/spotfleet/spotfleet/manifest"
)

// fargateFleet is the S3 design on Fargate: four tasks on FARGATE_SPOT behind a load
// balancer, covered on FARGATE.
const fargateFleet = `name: t
services:
  - name: web
    command: [web]
    desiredCount: 4
    stopTimeout: 30s
    capacityProviderStrategy: [{capacityProvider: FARGATE_SPOT}]
    loadBalancer: {listenerPort: 8080, deregistrationDelay: 10s}
fallback: {from: FARGATE_SPOT, to: FARGATE, returnAfter: 2m}
`

// TestFargateSpotTaskLeavesTheLoadBalancerAtOnce: the task's warning comes with its SIGTERM,
// and ECS leaves its target registered until it is STOPPED; the controller deregisters it
// within the round that reads the event, and the notice reaches every phase a task has,
// each posted to the webhook naming the task.
func TestFargateSpotTaskLeavesTheLoadBalancerAtOnce(t *testing.T) {
	withRig(t, fargateFleet+"interruptions:\n  notify:\n    - webhook: http://hooks.test/spot\n", func(t *testing.T, r *rig) {
		hooks := &hookTransport{seen: map[string]int{}}
		r.cfg.HTTPClient = &http.Client{Transport: hooks}
		r.startController()
		time.Sleep(time.Second)
		r.play(scenario.Step{Interrupt: &scenario.InterruptStep{Pools: []string{"FARGATE_SPOT/*"}, Count: 2}})
		snap := r.snapshot()
		stopping := 0
		for _, tk := range snap.Tasks {
			if tk.Status != spotfleet.TaskStopping {
				continue
			}
			stopping++
			for _, tg := range snap.Targets {
				if tg.Task == tk.ID && tg.State.Registered() {
					t.Errorf("target %s of interrupted task %s still %s a second after the warning", tg.ID, tk.ID, tg.State)
				}
			}
		}
		if stopping != 2 || r.rec.count("DeregisterTargets", "*") != 2 {
			t.Errorf("%d tasks stopping, %d targets deregistered; want 2 and 2", stopping, r.rec.count("DeregisterTargets", "*"))
		}
		for _, call := range []string{"DrainContainerInstances", "DetachInstances", "TerminateInstances", "StopTasks"} {
			if n := r.rec.count(call, "*"); n != 0 {
				t.Errorf("%s called %d times; a Fargate task has no instance to act on", call, n)
			}
		}
		time.Sleep(2 * time.Minute)
		st := r.c.Stats()
		if st.Notices != 2 || st.Active != 0 || st.Events[OutcomeAccepted] != 2 {
			t.Errorf("stats: %d notices, %d active, events %v; want 2 done", st.Notices, st.Active, st.Events)
		}
		for _, ph := range []Phase{PhaseDeregistered, PhaseReplacementReady, PhaseStopped} {
			if st.Phases[ph].Count != 2 {
				t.Errorf("phase %s reached %d times; want 2", ph, st.Phases[ph].Count)
			}
		}
		hooks.mu.Lock()
		defer hooks.mu.Unlock()
		phases := map[Phase]int{}
		for _, n := range hooks.got {
			if n.Task == "" || n.Instance != "" || n.Kind != "interruption" || !strings.HasPrefix(n.Pool, "FARGATE_SPOT/us-east-1") {
				t.Errorf("notification %+v; want the task, no instance, an interruption in a FARGATE_SPOT pool", n)
			}
			phases[n.Phase]++
		}
		for _, ph := range []Phase{PhaseReceived, PhaseDeregistered, PhaseReplacementReady, PhaseStopped} {
			if phases[ph] != 2 {
				t.Errorf("phase %s posted %d times; want once per task", ph, phases[ph])
			}
		}
	})
}

// TestFargateTaskEventsAreChecked: a task event for a task the fleet does not run, or one
// on FARGATE (which has no interruptions), or sent twice, changes nothing more than once.
func TestFargateTaskEventsAreChecked(t *testing.T) {
	const mixed = `name: t
services:
  - name: web
    command: [web]
    desiredCount: 2
    capacityProviderStrategy: [{capacityProvider: FARGATE_SPOT}]
    loadBalancer: {listenerPort: 8080}
  - name: api
    command: [api]
    desiredCount: 1
    capacityProviderStrategy: [{capacityProvider: FARGATE}]
    loadBalancer: {listenerPort: 8081}
`
	withRig(t, mixed, func(t *testing.T, r *rig) {
		r.startController()
		var spot, od string
		for _, tk := range r.snapshot().Tasks {
			switch tk.Provider {
			case manifest.FargateSpot:
				spot = tk.ID
			case manifest.Fargate:
				od = tk.ID
			}
		}
		warn := func(id string) spotfleet.ECSTaskDetail {
			return spotfleet.ECSTaskDetail{TaskArn: fmt.Sprintf("arn:aws:ecs:us-east-1:%s:task/t/%s", emulator.AccountID, id),
				StopCode: spotfleet.StopCodeSpotInterruption, LaunchType: "FARGATE"}
		}
		r.send(spotfleet.DetailECSTaskStateChange, "foreign", warn("0123456789abcdef0123456789abcdef"))
		r.send(spotfleet.DetailECSTaskStateChange, "on-demand", warn(od))
		r.send(spotfleet.DetailECSTaskStateChange, "spot-1", warn(spot))
		r.send(spotfleet.DetailECSTaskStateChange, "spot-2", warn(spot))
		time.Sleep(5 * time.Second)
		st := r.c.Stats()
		if st.Events[OutcomeForeign] != 1 || st.Events[OutcomeRejected] != 1 || st.Events[OutcomeAccepted] != 1 || st.Events[OutcomeDuplicate] != 1 {
			t.Errorf("events %v; want 1 foreign, 1 rejected, 1 accepted, 1 duplicate", st.Events)
		}
		if n := r.rec.count("DeregisterTargets", "*"); n != 1 {
			t.Errorf("%d targets deregistered; want the Fargate Spot task's one", n)
		}
	})
}

// TestFargateSpotShortfallIsCoveredOnFargate: when Fargate Spot places nothing, the
// controller covers exactly the missing tasks on FARGATE through the companion service
// within seconds of the refusal, and gives the cover back, make before break, returnAfter
// after Spot has served again.
func TestFargateSpotShortfallIsCoveredOnFargate(t *testing.T) {
	withRig(t, fargateFleet, func(t *testing.T, r *rig) {
		r.startController()
		time.Sleep(time.Second)
		r.play(scenario.Step{SpotCapacity: &scenario.CapacityStep{Pools: []string{"FARGATE_SPOT/*"}, Instances: 0}})
		r.play(scenario.Step{Interrupt: &scenario.InterruptStep{Pools: []string{"FARGATE_SPOT/*"}, Count: 2}})
		time.Sleep(5 * time.Second)
		// Exactly the two missing tasks, within seconds of the refusal (in one round, or
		// in two when the rounds see the two warnings apart).
		for _, sv := range r.snapshot().Services {
			if sv.Name == "web-fallback" && sv.Desired != 2 {
				t.Fatalf("web-fallback at %d within seconds of the refusal; want the 2 missing tasks", sv.Desired)
			}
		}
		if n := r.rec.count("SetDesiredCount", "*"); n > 2 {
			t.Errorf("SetDesiredCount called %d times; want at most one per warning", n)
		}
		time.Sleep(emulator.DefaultFargateStart + 15*time.Second)
		if rep := r.report(); rep.Capacity.SecondsBelowDesired > (emulator.DefaultFargateStart + 15*time.Second).Seconds() {
			t.Errorf("%.0f s below desired; want at most a Fargate start and a health check", rep.Capacity.SecondsBelowDesired)
		}
		covered := r.report().Capacity.SecondsBelowDesired
		time.Sleep(5 * time.Minute) // Spot still short: the cover stays, nothing more is started
		if rep := r.report(); rep.Capacity.SecondsBelowDesired != covered {
			t.Errorf("below desired for %.0f s more while covered", rep.Capacity.SecondsBelowDesired-covered)
		}
		r.play(scenario.Step{SpotCapacity: &scenario.CapacityStep{Pools: []string{"FARGATE_SPOT/*"}, Instances: scenario.Unlimited}})
		time.Sleep(emulator.DefaultFargateStart + 2*time.Minute + 30*time.Second) // a start, returnAfter, a round
		snap := r.snapshot()
		for _, sv := range snap.Services {
			if sv.Covers != "" && sv.Desired != 0 {
				t.Errorf("cover %s still at %d after Spot returned", sv.Name, sv.Desired)
			}
		}
		rep := r.report()
		if rep.Capacity.SecondsBelowDesired != covered || rep.Requests.Failed != 0 {
			t.Errorf("%.0f s below desired (was %.0f at cover), %d failed requests; the return must not dip", rep.Capacity.SecondsBelowDesired, covered, rep.Requests.Failed)
		}
		if st := r.c.Stats(); st.Fallback.Cycles != 1 {
			t.Errorf("%d cover-and-return cycles; want 1", st.Fallback.Cycles)
		}
	})
}
