package manifest

import "testing"

// TestSplitECSWorkedExample is the example of the ECS documentation: 10 tasks with
// On-Demand base 2 weight 1 and Spot weight 3 give 4 On-Demand tasks and 6 Spot tasks.
func TestSplitECSWorkedExample(t *testing.T) {
	strategy := []CapacityProviderStrategy{
		{CapacityProvider: "od", Base: 2, Weight: 1},
		{CapacityProvider: "spot", Weight: 3},
	}
	if c := Split(strategy, 10); c["od"] != 4 || c["spot"] != 6 {
		t.Fatalf("got %v, want od 4 and spot 6", c)
	}
	// Base first: the first two tasks are On-Demand whatever the weights.
	if p := NextProvider(strategy, map[string]int{"od": 1, "spot": 5}); p != "od" {
		t.Errorf("below base: got %s", p)
	}
	// A provider of weight 0 gets no task above the base.
	zero := []CapacityProviderStrategy{{CapacityProvider: "od", Base: 1, Weight: 0}, {CapacityProvider: "spot", Weight: 1}}
	if c := Split(zero, 5); c["od"] != 1 || c["spot"] != 4 {
		t.Errorf("weight 0: got %v", c)
	}
}
