package manifest

import (
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
)

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
	if len(strategy) == 0 || n <= 0 {
		counts := map[string]int{}
		if n > 0 {
			counts[""] = n // as NextProvider answers without a strategy
		}
		return counts
	}
	key := splitKey{&strategy[0], len(strategy), n}
	splits.Lock()
	defer splits.Unlock()
	if c, ok := splits.m[key]; ok {
		return maps.Clone(c)
	}
	counts := map[string]int{}
	for range n {
		counts[NextProvider(strategy, counts)]++
	}
	if splits.m == nil || len(splits.m) >= maxSplits {
		splits.m = map[splitKey]map[string]int{}
	}
	splits.m[key] = counts
	return maps.Clone(counts)
}

// splits remembers Split's answers: it places n tasks one by one, and the controller asks
// it for every service in every round (a tenth of a round at 5,000 tasks). A manifest's
// strategies do not change, so the first element's address names one.
var splits struct {
	sync.Mutex
	m map[splitKey]map[string]int
}

type splitKey struct {
	first *CapacityProviderStrategy
	len   int
	n     int
}

// maxSplits bounds what splits remembers.
const maxSplits = 4096

// ControllerService is the ECS service apply runs the controller as, in the fleet's cluster:
// no service of the manifest may take its name.
const ControllerService = "spotfleet-controller"

// CoverServiceName is the name of the companion service that runs a service's fallback
// tasks on the fallback group: the same task definition and target group, its own
// capacity provider strategy.
func CoverServiceName(service string) string { return service + coverSuffix }

const coverSuffix = "-fallback"

// CoverServices are the fallback's companion services (workload ecs): for each service that
// runs tasks on fallback.from, a service of the same task definition and target group on
// fallback.to, at desired 0 until the controller covers a shortfall with it. An ECS
// capacity provider strategy is a hard constraint (a task of the Spot provider waits in
// PROVISIONING and is never placed elsewhere), so the cover needs a service of its own;
// the original's healthy tasks are never redeployed. apply creates them on AWS, the
// emulator runs them, and the AWS provider reads them as the manifest says.
func (m *Manifest) CoverServices() []Service {
	f := m.Fallback
	if f == nil || m.Workload != WorkloadECS {
		return nil
	}
	var out []Service
	for _, s := range m.Services {
		if !s.Uses(f.From) {
			continue
		}
		c := s
		c.Name, c.DesiredCount, c.Autoscaling = CoverServiceName(s.Name), 0, nil
		c.CapacityProviderStrategy = []CapacityProviderStrategy{{CapacityProvider: f.To, Weight: 1}}
		out = append(out, c)
	}
	return out
}

// Covers names the service a companion covers ("" for a service that is not a companion).
func (m *Manifest) Covers(service string) string {
	for _, c := range m.CoverServices() {
		if c.Name == service {
			return strings.TrimSuffix(c.Name, coverSuffix)
		}
	}
	return ""
}

// ECSService is the service of that name as ECS runs it: the manifest's, or a companion.
func (m *Manifest) ECSService(name string) (Service, bool) {
	for _, s := range append(slices.Clone(m.Services), m.CoverServices()...) {
		if s.Name == name {
			return s, true
		}
	}
	return Service{}, false
}
