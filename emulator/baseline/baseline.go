// Package baseline prices the fleet a team that does not use Spot would run: the cheapest
// On-Demand fleet of a manifest's instance types that runs the same desired tasks (the
// simulation's and up's "saved against an On-Demand fleet"). It is a function of the
// manifest and the desired counts alone.
package baseline

import (
	"cmp"
	"math"
	"slices"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/internal/spotdata"
	"github.com/spotfleet/spotfleet/manifest"
)

// Demand is what the fleet is asked for now: each capacity group's desired capacity
// (units), and each manifest service's desired count (fallback companions left out).
type Demand struct {
	Groups   map[string]int
	Services map[string]int
}

// OnDemandFleetRate is what the cheapest On-Demand fleet that meets the demand costs per
// hour. Under workload ecs the tasks on instances are packed onto one type (each
// service's tasks fill whole instances, and what is left of every service is packed
// together, largest first), for the cheapest type; Fargate services run on FARGATE. Under
// workload instances the desired capacity (of fallback.from, or of every group without a
// fallback) runs on the cheapest type per unit. Prices: spotdata's On-Demand table.
func OnDemandFleetRate(m *manifest.Manifest, d Demand) float64 {
	if m.Workload == manifest.WorkloadInstances {
		best := math.Inf(1)
		units := 0
		for _, g := range m.Capacity {
			if f := m.Fallback; f != nil && g.Name != f.From {
				continue
			}
			units += d.Groups[g.Name]
			for _, it := range g.InstanceTypes {
				if spec, ok := spotdata.Lookup(it.Type); ok {
					w := max(g.WeightOf(it.Type), 1)
					best = min(best, spec.OnDemandUSD/float64(w))
				}
			}
		}
		if math.IsInf(best, 1) {
			return 0
		}
		return float64(units) * best
	}
	rate := 0.0
	var tasks []TaskShape
	for _, s := range m.Services {
		n := d.Services[s.Name]
		if n == 0 {
			continue
		}
		if s.OnFargate() {
			rate += float64(n) * spotdata.FargateOnDemand.Hourly(s.CPU, s.Memory)
			continue
		}
		tasks = append(tasks, TaskShape{CPU: s.CPU, Mem: s.Memory, N: n})
	}
	if len(tasks) == 0 {
		return rate
	}
	best := math.Inf(1)
	for _, name := range instanceTypes(m) {
		spec, ok := spotdata.Lookup(name)
		if !ok {
			continue
		}
		if n := Pack(tasks, spec.VCPU*1024, spotfleet.ECSRegisteredMemory(spec.MemoryMiB)); n > 0 {
			best = min(best, float64(n)*spec.OnDemandUSD)
		}
	}
	if math.IsInf(best, 1) {
		return rate
	}
	return rate + best
}

// instanceTypes lists the types of every group, once each.
func instanceTypes(m *manifest.Manifest) []string {
	var out []string
	for _, g := range m.Capacity {
		for _, it := range g.InstanceTypes {
			if !slices.Contains(out, it.Type) {
				out = append(out, it.Type)
			}
		}
	}
	return out
}

// TaskShape is N tasks of one size: CPU units and MiB.
type TaskShape struct{ CPU, Mem, N int }

// Pack is how many instances of cpu units and mem MiB run the tasks, first fit by
// decreasing size (the larger of a task's shares of CPU and memory), placing as many of a
// service's identical tasks on an instance as fit at once; 0 if a task fits no instance.
func Pack(tasks []TaskShape, cpu, mem int) int {
	tasks = slices.Clone(tasks)
	size := func(t TaskShape) float64 { return max(float64(t.CPU)/float64(cpu), float64(t.Mem)/float64(mem)) }
	slices.SortStableFunc(tasks, func(a, b TaskShape) int { return cmp.Compare(size(b), size(a)) })
	type bin struct{ cpu, mem int }
	var bins []bin
	for _, t := range tasks {
		per := min(cpu/max(t.CPU, 1), mem/max(t.Mem, 1))
		if per == 0 {
			return 0
		}
		left := t.N
		for i := range bins {
			if left == 0 {
				break
			}
			k := min(left, bins[i].cpu/max(t.CPU, 1), bins[i].mem/max(t.Mem, 1))
			bins[i].cpu -= k * t.CPU
			bins[i].mem -= k * t.Mem
			left -= k
		}
		for left > 0 {
			k := min(left, per)
			bins = append(bins, bin{cpu - k*t.CPU, mem - k*t.Mem})
			left -= k
		}
	}
	return len(bins)
}
