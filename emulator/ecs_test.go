package emulator

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/proc"
)

const drainManifest = `name: drain
capacity:
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large]
    zones: [us-east-1a, us-east-1b]
    desiredCapacity: 2
services:
  - name: web
    command: [x]
    cpu: 512
    memory: 1024
    desiredCount: 4
    minimumHealthyPercent: 100
    maximumPercent: 150
    capacityProviderStrategy: [{capacityProvider: spot, weight: 1}]
    loadBalancer: {listenerPort: 9100, deregistrationDelay: 30s, healthCheck: {path: /h}}
`

// TestDrainingInstanceTasksReplacedWithinMaximumPercent: the tasks of a DRAINING instance
// are replaced while no more than maximumPercent of desired run, and each is stopped only
// after it left the load balancer (SIGTERM after deregistration) and once replacements keep
// the healthy count at minimumHealthyPercent.
func TestDrainingInstanceTasksReplacedWithinMaximumPercent(t *testing.T) {
	world(t, drainManifest, func(t *testing.T, e *Emulator, r *proc.Fake) {
		time.Sleep(3 * time.Minute) // boot, place, become healthy
		var victim *instance
		inspect(e, func() {
			if h := e.services[0].healthyUnits(); h != 4 {
				t.Fatalf("healthy tasks %d, want 4 before draining", h)
			}
			for _, ci := range e.cluster.cis {
				if len(ci.tasks) >= 2 && victim == nil {
					victim = ci.in
				}
			}
			if victim == nil {
				t.Fatal("no instance with 2 tasks: spread placement should put 2 tasks on each of the 2 instances")
			}
			e.drainContainerInstance(victim.ci, "test")
		})
		maxLive, minHealthy := 0, 99
		for range 180 {
			time.Sleep(time.Second)
			inspect(e, func() {
				s := e.services[0]
				live := 0
				for _, t := range s.tasks {
					if t.status != spotfleet.TaskStopped {
						live++
					}
				}
				maxLive = max(maxLive, live)
				minHealthy = min(minHealthy, s.healthyUnits())
			})
		}
		if maxLive > 6 {
			t.Errorf("up to %d tasks ran at once, more than maximumPercent 150%% of 4", maxLive)
		}
		if minHealthy < 4 {
			t.Errorf("healthy tasks fell to %d, below minimumHealthyPercent 100%% of 4", minHealthy)
		}
		inspect(e, func() {
			if len(victim.ci.tasks) != 0 {
				t.Errorf("the DRAINING instance still has %d tasks", len(victim.ci.tasks))
			}
			if h := e.services[0].healthyUnits(); h != 4 {
				t.Errorf("healthy tasks %d after the drain, want 4", h)
			}
			if e.acct.StoppedWhileRegistered != 0 {
				t.Errorf("%d tasks got SIGTERM while registered", e.acct.StoppedWhileRegistered)
			}
		})
	})
}

// TestInterruptionUnderNativeECSDraining: with the agent draining on notice and spare
// capacity, the interrupted instance's tasks move before the deadline; without spare
// capacity they die with the instance while still registered (what spotfleet fixes).
func TestInterruptionUnderNativeECSDraining(t *testing.T) {
	for _, tc := range []struct {
		target         int
		wantRegistered bool
	}{{50, false}, {100, true}} {
		t.Run(fmt.Sprintf("targetCapacity %d", tc.target), func(t *testing.T) {
			yaml := fmt.Sprintf(`name: native
capacity:
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large]
    zones: [us-east-1a, us-east-1b]
    desiredCapacity: 1
    targetCapacityPercent: %d
services:
  - name: web
    command: [x]
    desiredCount: 1
    capacityProviderStrategy: [{capacityProvider: spot}]
    loadBalancer: {listenerPort: 9101, deregistrationDelay: 30s, healthCheck: {path: /h}}
`, tc.target)
			world(t, yaml, func(t *testing.T, e *Emulator, r *proc.Fake) {
				time.Sleep(4 * time.Minute) // managed scaling settles
				inspect(e, func() {
					for _, in := range e.instOrder {
						if in.ci != nil && in.ci.busy() {
							e.interrupt(in)
						}
					}
				})
				time.Sleep(3 * time.Minute)
				inspect(e, func() {
					got := e.acct.StoppedWhileRegistered > 0
					if got != tc.wantRegistered {
						t.Errorf("tasks stopped while registered: %d (want some: %v)", e.acct.StoppedWhileRegistered, tc.wantRegistered)
					}
				})
			})
		})
	}
}

// TestTerminatedInstancesAreForgotten: a terminated instance stays visible for a while,
// then leaves the world, so long runs do not grow without bound.
func TestTerminatedInstancesAreForgotten(t *testing.T) {
	world(t, eventsManifest, func(t *testing.T, e *Emulator, r *proc.Fake) {
		time.Sleep(2 * time.Minute)
		var victim *instance
		inspect(e, func() {
			victim = e.groups[0].live[0]
			e.interrupt(victim)
		})
		time.Sleep(3 * time.Minute)
		inspect(e, func() {
			if victim.state != spotfleet.InstanceTerminated || e.instances[victim.id] == nil {
				t.Fatalf("just after termination: state %s, known %v", victim.state, e.instances[victim.id] != nil)
			}
		})
		time.Sleep(11 * time.Minute)
		inspect(e, func() {
			if e.instances[victim.id] != nil {
				t.Error("terminated instance still in the world after 10 minutes")
			}
		})
	})
}

// TestTasksThatCannotStartAreThrottled: a command that cannot start, exits as it starts, or
// crashes a second after it is RUNNING makes STOPPED tasks with ECS's reason, and the
// service throttles its launches (10s, doubling) instead of restarting them as fast as the
// machine goes; nothing panics. (A crash after RUNNING reset the throttle: up restarted
// such a task every two seconds, a new log file each time.)
func TestTasksThatCannotStartAreThrottled(t *testing.T) {
	for name, r := range map[string]*proc.Fake{
		"cannot start":          {StartErr: func(proc.Spec) error { return errors.New(`exec: "no-such-binary": executable file not found in $PATH`) }},
		"exits at once":         {ExitsAtOnce: func(proc.Spec) bool { return true }},
		"crashes after RUNNING": {CrashAfter: func(proc.Spec) time.Duration { return 2 * time.Second }},
	} {
		t.Run(name, func(t *testing.T) {
			worldWith(t, drainManifest, r, func(t *testing.T, e *Emulator, r *proc.Fake) {
				var reasons []string
				e.Queue()                   // events flow; read the task state changes below
				time.Sleep(2 * time.Minute) // the instances boot at 1m
				before := r.Starts()
				time.Sleep(10 * time.Minute)
				starts := r.Starts() - before
				t.Logf("%d starts in 10 minutes", starts)
				inspect(e, func() {
					s := e.services[0]
					if !s.throttled() && s.failedStarts < 5 {
						t.Errorf("after 12 minutes of failed starts the service is not throttled (%d failures)", s.failedStarts)
					}
					reasons = append(reasons, e.journal.Last(200)...)
				})
				// 4 tasks, launches at most at 10s, 20s, 40s, ... apart: a handful per task in
				// 10 minutes, not thousands.
				if starts > 4*8 {
					t.Errorf("%d starts in 10 minutes, want at most %d with the throttle", starts, 4*8)
				}
				rep := e.Report(nil)
				if rep.Capacity.TasksFailedToStart == 0 {
					t.Error("no task counted as failed to start")
				}
				st := e.Status(nil)
				if st.Services[0].Throttled == "" {
					t.Errorf("the status does not show the throttle: %+v", st.Services[0])
				}
				if !slices.ContainsFunc(reasons, func(l string) bool { return strings.Contains(l, "unable to consistently start tasks") }) {
					t.Errorf("no service event in the recent lines: %q", reasons)
				}
			})
		})
	}
}

// TestAddressesAreNotReusedWhileInUse: a month of churn goes through the 32,512 addresses
// of a half of 127.X.0.0/16; one comes back only once released (two targets with one
// address made a deregistration take the wrong task out).
func TestAddressesAreNotReusedWhileInUse(t *testing.T) {
	g := idGen{octet: 9}
	first := g.taskIPAddr()
	held := map[string]bool{first: true}
	for range 128*254 - 1 {
		ip := g.taskIPAddr()
		if held[ip] {
			t.Fatalf("%s handed out twice", ip)
		}
		held[ip] = true
	}
	g.release(first)
	if got := g.taskIPAddr(); got != first {
		t.Errorf("after every address and one released, got %s, want the released %s", got, first)
	}
	if g.instanceIP() == first {
		t.Error("instances and tasks share addresses")
	}
}
