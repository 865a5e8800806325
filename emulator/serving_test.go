package emulator

import (
	"math"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/proc"
)

// TestADeadTaskDoesNotServe: a task whose process died still has a healthy target until
// its health checks fail or ECS notices; it does not serve, and the requests the load
// balancer sends it fail. An instance that ends without draining leaves its tasks' targets
// registered for half a minute, until ECS marks them STOPPED: the report counts that time.
func TestADeadTaskDoesNotServe(t *testing.T) {
	world(t, drainManifest, func(t *testing.T, e *Emulator, r *proc.Fake) {
		time.Sleep(3 * time.Minute) // boot, place, become healthy
		var victim *task
		inspect(e, func() {
			s := e.services[0]
			r := e.servingNow().of(s)
			if r.Serving != 4 || r.Failing != 0 {
				t.Fatalf("before: %d serving, %.2f failing; want 4 and none", r.Serving, r.Failing)
			}
			victim = s.tasks[0]
			victim.proc.Kill() // the process is gone; ECS and the health checks have not seen it yet
		})
		inspect(e, func() {
			if victim.target.state != spotfleet.TargetHealthy {
				t.Fatalf("the dead task's target is %s already; the test needs it still healthy", victim.target.state)
			}
			r := e.servingNow().of(e.services[0])
			if r.Serving != 3 || math.Abs(r.Failing-0.25) > 1e-9 {
				t.Errorf("with one of 4 healthy targets dead: %d serving, %.2f of requests failing; want 3 and a quarter", r.Serving, r.Failing)
			}
		})
		time.Sleep(10 * time.Minute) // ECS replaces it
		inspect(e, func() {
			for _, in := range e.instOrder {
				if in.alive() && in.ci != nil && len(in.ci.tasks) > 0 {
					e.terminate(in, "test: ended without a notice")
					return
				}
			}
			t.Fatal("no instance with tasks")
		})
		time.Sleep(10 * time.Minute)
		rep := e.Report(nil)
		s := rep.Services[0]
		if s.AvailabilityPercent >= 100 || s.RequestsFailedPercent <= 0 || s.ServedPercent >= 100 {
			t.Errorf("report: %+v; want the dead task's time below desired and its failed requests counted", s)
		}
		if rep.Capacity.AvailabilityPercent != s.AvailabilityPercent {
			t.Errorf("fleet availability %.4f, its only service's %.4f", rep.Capacity.AvailabilityPercent, s.AvailabilityPercent)
		}
	})
}

// TestNoRoutableTargetFailsEveryRequest: with every target deregistered, every request
// fails, whatever the processes do.
func TestNoRoutableTargetFailsEveryRequest(t *testing.T) {
	world(t, drainManifest, func(t *testing.T, e *Emulator, r *proc.Fake) {
		time.Sleep(3 * time.Minute)
		inspect(e, func() {
			s := e.services[0]
			var ts []*target
			for _, tk := range s.tasks {
				ts = append(ts, tk.target)
			}
			s.tg.deregisterAll(ts, "test")
			r := e.servingNow().of(s)
			if r.Serving != 0 || r.Failing != 1 {
				t.Errorf("all deregistered: %d serving, %.2f failing; want none and all", r.Serving, r.Failing)
			}
		})
	})
}

// TestOnDemandFleetBaseline: the baseline packs the desired tasks onto the cheapest
// On-Demand type of the manifest (emulator/baseline's TestPack tests the packing).
func TestOnDemandFleetBaseline(t *testing.T) {
	world(t, drainManifest, func(t *testing.T, e *Emulator, r *proc.Fake) {
		time.Sleep(time.Hour)
		rep := e.Report(nil)
		// Cheapest of m5.large ($0.096), m5a.large ($0.086), m6i.large ($0.096): one
		// m5a.large holds the 4 tasks (2,048 CPU units), $0.086 an hour.
		if got, want := rep.Cost.OnDemandFleetUSD, 0.086*1; math.Abs(got-want) > 0.002 {
			t.Errorf("On-Demand fleet: $%.4f for the hour, want $%.4f", got, want)
		}
	})
}
