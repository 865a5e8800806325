package manifest

import (
	"fmt"

	"github.com/spotfleet/spotfleet/internal/strictyaml"
)

// applyDefaults fills the defaults that depend on other fields; plain defaults come from the
// struct tags during decoding.
func applyDefaults(m *Manifest, src *strictyaml.Source) {
	for i := range m.Capacity {
		g := &m.Capacity[i]
		p := fmt.Sprintf("capacity[%d]", i)
		if len(g.Zones) == 0 {
			g.Zones = []string{m.Region + "a", m.Region + "b", m.Region + "c"}
		}
		if !src.Has(p + ".desiredCapacity") {
			g.DesiredCapacity = g.MinSize
		}
	}
	for i := range m.Services {
		defaultService(m, &m.Services[i], fmt.Sprintf("services[%d]", i), src)
	}
	if m.Instances != nil {
		defaultService(m, m.Instances, "instances", src)
		if !src.Has("instances.desiredCount") {
			m.Instances.DesiredCount = 0 // the groups' desiredCapacity sizes the fleet
		}
	}
}

func defaultService(m *Manifest, s *Service, p string, src *strictyaml.Source) {
	if m.Workload == WorkloadECS && len(s.CapacityProviderStrategy) == 0 {
		s.CapacityProviderStrategy = DefaultStrategy(m.Capacity)
	}
	if a := s.Autoscaling; a != nil {
		hasMin, hasMax := src.Has(p+".autoscaling.minCount"), src.Has(p+".autoscaling.maxCount")
		switch {
		case !hasMin && !hasMax:
			a.MinCount, a.MaxCount = s.DesiredCount, s.DesiredCount
		case !hasMin:
			a.MinCount = min(s.DesiredCount, a.MaxCount)
		case !hasMax:
			a.MaxCount = max(s.DesiredCount, a.MinCount)
		}
	}
}

// DefaultStrategy is the strategy of reference design S0 when the groups allow it: the first
// all-On-Demand group takes base 1 weight 1 and every Spot group weight 1, so the first task
// is On-Demand and the rest split evenly. Without both kinds, every group gets weight 1.
func DefaultStrategy(groups []CapacityGroup) []CapacityProviderStrategy {
	od, spot := -1, false
	for i, g := range groups {
		if g.AllOnDemand() && od < 0 {
			od = i
		}
		spot = spot || !g.AllOnDemand()
	}
	out := make([]CapacityProviderStrategy, 0, len(groups))
	seen := map[string]bool{}
	for i, g := range groups {
		if seen[g.Name] {
			continue // a duplicated group is reported by validation
		}
		seen[g.Name] = true
		s := CapacityProviderStrategy{CapacityProvider: g.Name, Weight: 1}
		if i == od && spot {
			s.Base = 1
		}
		out = append(out, s)
	}
	return out
}
