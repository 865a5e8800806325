package emulator

import (
	"os"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/internal/testing/conformance"
)

// TestProviderConformance runs the provider contract against the emulator (the same suite
// runs against the AWS provider on moto, in aws/).
func TestProviderConformance(t *testing.T) {
	y, err := os.ReadFile("../examples/s3-ecs-service-autoscaled.yaml")
	if err != nil {
		t.Fatal(err)
	}
	world(t, string(y), func(t *testing.T, e *Emulator, _ *proc.Fake) {
		time.Sleep(3 * time.Minute) // the fleet serves
		conformance.Run(t, conformance.Fixture{Provider: e, Queue: e.Queue(), Settle: func() { time.Sleep(2 * time.Second) }, Flat: true,
			Interrupt: func(id string) { inspect(e, func() { e.interrupt(e.instances[id]) }) }})
	})
}

// TestFargateConformance runs the contract of a fleet on Fargate against the emulator.
func TestFargateConformance(t *testing.T) {
	y, err := os.ReadFile("../examples/s3-fargate-spot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	world(t, string(y), func(t *testing.T, e *Emulator, _ *proc.Fake) {
		time.Sleep(2 * time.Minute) // the tasks serve
		conformance.RunFargate(t, conformance.FargateFixture{
			Fixture: conformance.Fixture{Provider: e, Queue: e.Queue(), Settle: func() { time.Sleep(2 * time.Second) }, Flat: true},
			Refuse: func() {
				if _, err := e.SetSpotCapacity([]string{"FARGATE_SPOT/*"}, 0); err != nil {
					t.Fatal(err)
				}
				inspect(e, func() { e.reclaim(victim{task: e.services[0].tasks[0]}) })
			}})
	})
}
