package emulator

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/proc"
)

const actionsFleet = `name: act
capacity:
  - {name: od, instanceTypes: [m5.large], zones: [us-east-1a], minSize: 1, onDemandPercentageAboveBaseCapacity: 100}
  - {name: spot, instanceTypes: [m5.large, m5a.large, m6i.large], zones: [us-east-1a], minSize: 3}
services: [{name: web, command: [x], desiredCount: 2}]
`

// TestActionsByHand: interrupt an instance, a task's instance and a share of a pool, and
// set a pool's Spot capacity, as spotfleet interrupt and capacity do; each shows in the
// report. Bad targets are refused with a clear error and change nothing.
func TestActionsByHand(t *testing.T) {
	world(t, actionsFleet, func(t *testing.T, e *Emulator, _ *proc.Fake) {
		time.Sleep(90 * time.Second) // booted, tasks running
		st := e.Status(nil)
		var spot, od []string
		for _, in := range st.Instances {
			if in.Lifecycle == spotfleet.Spot {
				spot = append(spot, in.ID)
			} else {
				od = append(od, in.ID)
			}
		}
		if len(spot) != 3 || len(od) != 1 || len(st.Tasks) != 2 {
			t.Fatalf("world: %d Spot, %d On-Demand, %d tasks", len(spot), len(od), len(st.Tasks))
		}

		for _, bad := range []struct {
			req      InterruptRequest
			notFound bool
			msg      string
		}{
			{InterruptRequest{Target: "i-0000000000000dead"}, true, "no running instance i-0000000000000dead"},
			{InterruptRequest{Target: "c5.large/*"}, true, "pools c5.large/* hold no running Spot instance"},
			{InterruptRequest{Target: "nonsense"}, true, `"nonsense" is not a running instance or task, nor pools`},
			{InterruptRequest{Target: od[0]}, false, "is On-Demand: only Spot instances get interruption notices"},
			{InterruptRequest{Target: "m5.large/*", Count: 1, Fraction: 0.5}, false, "not both"},
			{InterruptRequest{Target: "m5.large/*", Fraction: 1.5}, false, "fraction 1.5: give a share from 0 to 1"},
			{InterruptRequest{Target: "m5.large/*", Count: -2}, false, "count -2: give 1 or more"},
			{InterruptRequest{Target: ""}, false, "name an instance ID"},
		} {
			_, err := e.Interrupt(bad.req)
			if err == nil || !strings.Contains(err.Error(), bad.msg) || errors.Is(err, ErrNotFound) != bad.notFound {
				t.Errorf("Interrupt(%+v) = %v, want %q (not found: %v)", bad.req, err, bad.msg, bad.notFound)
			}
		}
		if _, err := e.SetSpotCapacity([]string{"zz/*"}, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("capacity of no pool: %v", err)
		}
		if r := e.Report(nil); r.Interruptions.Notices != 0 || len(r.Actions) != 0 {
			t.Fatalf("refused actions changed the world: %+v", r)
		}

		if ids, err := e.Interrupt(InterruptRequest{Target: spot[0]}); err != nil || len(ids) != 1 || ids[0] != spot[0] {
			t.Fatalf("interrupt %s: %v %v", spot[0], ids, err)
		}
		if _, err := e.Interrupt(InterruptRequest{Target: spot[0]}); err == nil || !strings.Contains(err.Error(), "already has its notice") {
			t.Errorf("a second notice: %v", err)
		}
		task := ""
		for _, tk := range st.Tasks {
			if tk.Instance != spot[0] && tk.Instance != od[0] {
				task = tk.ID
			}
		}
		if task != "" { // by the short ID status prints
			if ids, err := e.Interrupt(InterruptRequest{Target: task[:8], Rebalance: true}); err != nil || len(ids) != 1 {
				t.Errorf("rebalance for task %s: %v %v", task[:8], ids, err)
			}
		}
		if ids, err := e.Interrupt(InterruptRequest{Target: "*/us-east-1a", Fraction: 1}); err != nil || len(ids) != 2 {
			t.Errorf("the rest of the pool's Spot instances: %v %v", ids, err)
		}
		pools, err := e.SetSpotCapacity([]string{"m5*/*"}, 0)
		if err != nil || len(pools) != 2 {
			t.Errorf("capacity: %v %v", pools, err)
		}
		r := e.Report(nil)
		if r.Interruptions.Notices != 3 || len(r.Actions) < 3 || !strings.Contains(r.Actions[len(r.Actions)-1].What, "Spot capacity of m5.large/us-east-1a, m5a.large/us-east-1a: 0") {
			t.Errorf("report: %d notices, actions %+v", r.Interruptions.Notices, r.Actions)
		}
	})
}
