package manifest

import "math"

// NextProvider is the capacity provider ECS gives a service's next task, given how many of
// its tasks each provider has: the provider with a base until it has that many tasks, then
// the one whose tasks above base are furthest below its weighted share (ties to the higher
// weight, then the fewer tasks).
func NextProvider(strategy []CapacityProviderStrategy, counts map[string]int) string {
	for _, st := range strategy {
		if st.Base > 0 && counts[st.CapacityProvider] < st.Base {
			return st.CapacityProvider
		}
	}
	best, bestScore := "", math.Inf(1)
	bestWeight, bestCount := 0, 0
	for _, st := range strategy {
		if st.Weight <= 0 {
			continue
		}
		n := counts[st.CapacityProvider]
		score := float64(n-st.Base+1) / float64(st.Weight)
		better := score < bestScore ||
			(score == bestScore && (st.Weight > bestWeight || (st.Weight == bestWeight && n < bestCount)))
		if better {
			best, bestScore, bestWeight, bestCount = st.CapacityProvider, score, st.Weight, n
		}
	}
	return best
}

// Split is how many of n tasks the strategy puts on each provider.
func Split(strategy []CapacityProviderStrategy, n int) map[string]int {
	counts := map[string]int{}
	for range n {
		counts[NextProvider(strategy, counts)]++
	}
	return counts
}

// ControllerService is the ECS service apply runs the controller as, in the fleet's cluster:
// no service of the manifest may take its name.
const ControllerService = "spotfleet-controller"

// CoverServiceName is the name of the companion service that runs a service's fallback
// tasks on the fallback group: the same task definition and target group, its own
// capacity provider strategy.
func CoverServiceName(service string) string { return service + "-fallback" }
