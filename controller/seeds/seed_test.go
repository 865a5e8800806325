package seeds

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/controller"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/emulator/lbhttp"
	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/emulator/scenario"
	"github.com/spotfleet/spotfleet/internal/strictyaml"
	"github.com/spotfleet/spotfleet/manifest"
)

// Two fleets: S2's (the service on each instance, instance targets) and an ECS one (task
// targets by IP address).
const (
	instancesFleet = `name: t
workload: instances
capacity:
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large]
    minSize: 2
    desiredCapacity: 2
instances:
  name: web
  command: [web]
  stopTimeout: 20s
  loadBalancer: {listenerPort: 8080, deregistrationDelay: 90s}
`
	ecsFleet = `name: t
capacity:
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large]
    minSize: 2
    desiredCapacity: 2
services:
  - name: web
    command: [web]
    desiredCount: 4
    capacityProviderStrategy: [{capacityProvider: spot, weight: 1}]
    loadBalancer: {listenerPort: 8080}
`
)

// TestSeedDeregistersInstanceTargetsOnly: S2's function deregisters the interrupted
// instance by its ID, which is right for instance targets and finds nothing of the IP
// targets of ECS tasks; it drains and detaches nothing.
func TestSeedDeregistersInstanceTargetsOnly(t *testing.T) {
	for name, yaml := range map[string]string{"instances": instancesFleet, "ecs": ecsFleet} {
		t.Run(name, func(t *testing.T) {
			m, diags := manifest.Parse("test.yaml", []byte(yaml))
			if err := diags.Err(); err != nil {
				t.Fatal(err)
			}
			synctest.Test(t, func(t *testing.T) {
				runner := &proc.Fake{}
				e, err := emulator.New(m, emulator.Options{Runner: runner, Prober: runner, Listen: lbhttp.MemListen,
					Seed: 7, BootTime: time.Minute, AgentDrainsOnNotice: m.Workload == manifest.WorkloadECS})
				if err != nil {
					t.Fatal(err)
				}
				if err := e.Start(); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer func() { cancel(); e.Close() }()
				go e.Run(ctx)
				s, err := New(controller.Config{Manifest: m, Provider: e, Queue: e.Queue(), Account: emulator.AccountID})
				if err != nil {
					t.Fatal(err)
				}
				go s.Run(ctx)
				time.Sleep(3 * time.Minute)
				snap, _ := e.Snapshot(ctx)
				var victim spotfleet.Instance
				for _, in := range snap.Instances {
					if in.Lifecycle == spotfleet.Spot && in.Alive() && registered(snap, in.ID) > 0 {
						victim = in
					}
				}
				before := registered(snap, victim.ID)
				at := e.Elapsed().Truncate(time.Second) + time.Second
				step := scenario.Step{At: strictyaml.Duration(at), Interrupt: &scenario.InterruptStep{Pools: []string{victim.Pool.String()}, Count: 1}}
				if err := e.Play(&scenario.Scenario{Steps: []scenario.Step{step}}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(at - e.Elapsed() + time.Second)
				snap, _ = e.Snapshot(ctx)
				got, want := registered(snap, victim.ID), map[string]int{"instances": 0, "ecs": before}[name]
				if got != want || before == 0 {
					t.Errorf("%d of %d targets registered after the seed function ran, want %d", got, before, want)
				}
				for _, in := range snap.Instances {
					if in.ID == victim.ID && (in.ContainerStatus == spotfleet.ContainerInstanceDraining || in.Group == "") && name == "instances" {
						t.Errorf("the seed function drained or detached %s: it must only deregister", in.ID)
					}
				}
			})
		})
	}
}

func registered(s spotfleet.Snapshot, id string) int {
	n := 0
	for _, t := range s.Targets {
		if t.Instance == id && t.State.Registered() {
			n++
		}
	}
	return n
}
