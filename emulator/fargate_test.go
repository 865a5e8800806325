package emulator

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/emulator/scenario"
	"github.com/spotfleet/spotfleet/emulator/sqs"
	"github.com/spotfleet/spotfleet/manifest"
)

const fargateFleet = `name: fg
services:
  - name: web
    command: [x]
    desiredCount: 4
    stopTimeout: 30s
    capacityProviderStrategy: [{capacityProvider: FARGATE_SPOT}]
    loadBalancer: {listenerPort: 9111, deregistrationDelay: 10s, healthCheck: {path: /h}}
fallback: {from: FARGATE_SPOT, to: FARGATE}
`

// TestFargateTasksRunWithoutInstances: Fargate tasks get an address each, spread over the
// zones, no instance, RUNNING after the Fargate start time, billed at Fargate Spot rates.
func TestFargateTasksRunWithoutInstances(t *testing.T) {
	world(t, fargateFleet, func(t *testing.T, e *Emulator, r *proc.Fake) {
		time.Sleep(DefaultFargateStart - 2*time.Second)
		inspect(e, func() {
			for _, tk := range e.services[0].tasks {
				if tk.status == spotfleet.TaskRunning {
					t.Errorf("task %s RUNNING before the Fargate start time", tk.id)
				}
			}
		})
		time.Sleep(30 * time.Second)
		inspect(e, func() {
			zones, ips := map[string]int{}, map[string]bool{}
			for _, tk := range e.services[0].tasks {
				if tk.status != spotfleet.TaskRunning || tk.ci != nil || tk.pool == nil || !tk.healthy() {
					t.Errorf("task %s: %s, instance %v, pool %v, healthy %v; want RUNNING, healthy, on FARGATE_SPOT with no instance", tk.id, tk.status, tk.ci != nil, tk.pool, tk.healthy())
				}
				zones[tk.zone]++
				ips[tk.ip] = true
			}
			if len(zones) != 3 || len(ips) != 4 || len(e.instOrder) != 0 {
				t.Errorf("zones %v, %d addresses, %d instances; want 3 zones, 4 addresses, no instance", zones, len(ips), len(e.instOrder))
			}
		})
		rep := e.Report(nil)
		perHour := 4 * (0.25*0.01334053 + 0.5*0.00146489) // 256 CPU units, 512 MiB on Fargate Spot
		if got := rep.Cost.USD; got <= 0 || got > perHour*80/3600 {
			t.Errorf("cost %.6f after 68s; want above 0 and at most %.6f", got, perHour*80/3600)
		}
		if rep.Capacity.FargateSpotTaskSeconds <= 0 || rep.Capacity.OnDemandInstanceSeconds != 0 {
			t.Errorf("capacity %+v; want Fargate Spot task-seconds and no instance", rep.Capacity)
		}
	})
}

// TestFargateSpotInterruption: the warning is an ECS task event and a SIGTERM at once;
// the target stays registered until the task is STOPPED, which comes a while after its
// process ends; the service starts the replacement at once.
func TestFargateSpotInterruption(t *testing.T) {
	world(t, fargateFleet, func(t *testing.T, e *Emulator, r *proc.Fake) {
		time.Sleep(2 * time.Minute)
		sc, diags := scenario.Parse("s.yaml", []byte("steps: [{at: 0s, interrupt: {pools: [\"FARGATE_SPOT/*\"], fraction: 0.5}}]\n"))
		if err := diags.Err(); err != nil {
			t.Fatal(err)
		}
		var victims []*task
		inspect(e, func() {
			e.step(sc.Steps[0])
			for _, tk := range e.services[0].tasks {
				if tk.stopCode == spotfleet.StopCodeSpotInterruption {
					victims = append(victims, tk)
				}
			}
		})
		time.Sleep(time.Second) // the service scheduler's round
		if len(victims) != 2 {
			t.Fatalf("%d tasks interrupted; want half of 4", len(victims))
		}
		msgs := drain(t, e.Queue())
		var got []spotfleet.Event
		for _, m := range msgs {
			ev, err := spotfleet.ParseEvent(m)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind == spotfleet.KindTaskStopped {
				got = append(got, ev)
			}
		}
		if len(got) != 2 || got[0].Task == "" || got[0].ContainerInstance != "" {
			t.Fatalf("task events %+v; want one per interrupted task, naming the task and no container instance", got)
		}
		inspect(e, func() {
			for _, tk := range victims {
				if tk.status != spotfleet.TaskStopping || !tk.target.state.Registered() || alive(tk.proc) {
					t.Errorf("task %s: %s, target %s, process alive; want STOPPING with its target registered, its process signalled", tk.id, tk.status, tk.target.state)
				}
			}
			if n := len(e.services[0].tasks); n != 6 {
				t.Errorf("%d tasks; want 6 (2 stopping, 4 for desired: the replacements start at once)", n)
			}
		})
		time.Sleep(e.opt.ECSNoticesTerminationAfter + time.Second)
		inspect(e, func() {
			for _, tk := range victims {
				if tk.status != spotfleet.TaskStopped || tk.target.state.Registered() {
					t.Errorf("task %s: %s, target %s; want STOPPED and deregistered", tk.id, tk.status, tk.target.state)
				}
			}
			if e.acct.StoppedWhileRegistered != 2 {
				t.Errorf("%d tasks stopped while registered; want 2 (their processes ended with the target in service)", e.acct.StoppedWhileRegistered)
			}
		})
	})
}

// TestFargateSpotRefusesPlacements: with no Fargate Spot capacity a service creates no
// task, says so (a service event and an ECS Service Action), retries, and places its tasks
// once capacity returns.
func TestFargateSpotRefusesPlacements(t *testing.T) {
	world(t, fargateFleet, func(t *testing.T, e *Emulator, r *proc.Fake) {
		time.Sleep(2 * time.Minute)
		if _, err := e.SetSpotCapacity([]string{"FARGATE_SPOT/*"}, 0); err != nil {
			t.Fatal(err)
		}
		drain(t, e.Queue())
		inspect(e, func() {
			for _, tk := range slices.Clone(e.services[0].tasks)[:2] {
				e.reclaim(victim{task: tk}) // the market takes their places
			}
		})
		time.Sleep(time.Minute)
		inspect(e, func() {
			live := 0
			for _, tk := range e.services[0].tasks {
				if tk.stopCode == "" {
					live++
				}
			}
			if live != 2 {
				t.Errorf("%d tasks besides the interrupted ones; want 2: Fargate Spot has no room", live)
			}
			if n := len(e.services[0].refusals); n < 5 {
				t.Errorf("%d refusals in a minute; want one per retry (every %s)", n, fargateRetry)
			}
		})
		failures := 0
		for _, m := range drain(t, e.Queue()) {
			ev, err := spotfleet.ParseEvent(m)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind == spotfleet.KindLaunchFailed && ev.Group == manifest.FargateSpot && spotfleet.CapacityError(ev.Message) {
				failures++
			}
		}
		if failures < 5 {
			t.Errorf("%d placement failure events; want one per retry", failures)
		}
		snap, _ := e.Snapshot(t.Context())
		if len(snap.Services[0].Refusals) == 0 || !spotfleet.CapacityError(snap.Services[0].Refusals[0].Message) {
			t.Errorf("snapshot refusals %+v; want the capacity refusals", snap.Services[0].Refusals)
		}
		if _, err := e.SetSpotCapacity([]string{"FARGATE_SPOT/*"}, scenario.Unlimited); err != nil {
			t.Fatal(err)
		}
		time.Sleep(DefaultFargateStart + 20*time.Second)
		inspect(e, func() {
			if h := e.services[0].ownHealthy(); h != 4 {
				t.Errorf("%d healthy tasks after capacity returned; want 4", h)
			}
		})
	})
}

// TestFargateTaskEventShape: the interruption event carries what the fleet's rule and
// the controller read, as AWS sends it.
func TestFargateTaskEventShape(t *testing.T) {
	world(t, fargateFleet, func(t *testing.T, e *Emulator, r *proc.Fake) {
		time.Sleep(2 * time.Minute)
		drain(t, e.Queue())
		inspect(e, func() { e.interruptTask(e.services[0].tasks[0]) })
		var env spotfleet.Envelope
		if err := json.Unmarshal(drain(t, e.Queue())[0], &env); err != nil {
			t.Fatal(err)
		}
		var d spotfleet.ECSTaskDetail
		if err := json.Unmarshal(env.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if d.LaunchType != "FARGATE" || d.CapacityProviderName != "FARGATE_SPOT" || d.StopCode != "SpotInterruption" ||
			d.DesiredStatus != spotfleet.TaskStopped || d.ContainerInstanceArn != "" || d.AvailabilityZone == "" {
			t.Errorf("detail %+v; want a FARGATE_SPOT task, stopCode SpotInterruption, desired STOPPED, a zone and no container instance", d)
		}
	})
}

// drain receives and deletes every visible message of the queue, and returns their bodies.
func drain(t *testing.T, q *sqs.Queue) [][]byte {
	msgs, err := q.ReceiveMessages(t.Context(), 1<<20, 0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, m := range msgs {
		q.DeleteMessage(t.Context(), m.ReceiptHandle)
		out = append(out, m.Body)
	}
	return out
}

// TestFargateActionsByHand: spotfleet interrupt takes a Fargate Spot task by its ID or by
// its pool, and refuses a FARGATE task, a rebalance of a Fargate Spot task, and a task that
// already has its warning.
func TestFargateActionsByHand(t *testing.T) {
	const mixed = `name: fg
services:
  - {name: web, command: [x], desiredCount: 3, capacityProviderStrategy: [{capacityProvider: FARGATE_SPOT}]}
  - {name: api, command: [x], desiredCount: 1, capacityProviderStrategy: [{capacityProvider: FARGATE}]}
`
	world(t, mixed, func(t *testing.T, e *Emulator, r *proc.Fake) {
		time.Sleep(time.Minute)
		var spot, od *task
		inspect(e, func() { spot, od = e.services[0].tasks[0], e.services[1].tasks[0] })
		for _, bad := range []struct {
			req InterruptRequest
			msg string
		}{
			{InterruptRequest{Target: od.id}, "runs on FARGATE: only Fargate Spot tasks"},
			{InterruptRequest{Target: spot.id, Rebalance: true}, "sends no rebalance recommendation"},
			{InterruptRequest{Target: "FARGATE_SPOT/*", Rebalance: true}, "hold no running Spot instance or Fargate Spot task"},
		} {
			if _, err := e.Interrupt(bad.req); err == nil || !strings.Contains(err.Error(), bad.msg) {
				t.Errorf("Interrupt(%+v) = %v, want %q", bad.req, err, bad.msg)
			}
		}
		ids, err := e.Interrupt(InterruptRequest{Target: spot.id})
		if err != nil || len(ids) != 1 || ids[0] != spot.id {
			t.Fatalf("Interrupt(%s) = %v, %v", spot.id, ids, err)
		}
		if _, err := e.Interrupt(InterruptRequest{Target: spot.id}); err == nil || !strings.Contains(err.Error(), "already has its warning") {
			t.Errorf("a second warning: %v", err)
		}
		ids, err = e.Interrupt(InterruptRequest{Target: "FARGATE_SPOT/*", Count: 5})
		if err != nil || len(ids) != 2 || slices.Contains(ids, spot.id) {
			t.Errorf("Interrupt(FARGATE_SPOT/*, 5) = %v, %v; want the 2 others", ids, err)
		}
		if rep := e.Report(nil); rep.Interruptions.Notices != 3 || len(rep.Actions) != 2 {
			t.Errorf("report: %d notices, actions %v; want 3 and 2", rep.Interruptions.Notices, rep.Actions)
		}
	})
}
