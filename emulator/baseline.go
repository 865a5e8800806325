package emulator

import (
	"cmp"
	"math"
	"slices"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/internal/spotdata"
	"github.com/spotfleet/spotfleet/manifest"
)

// onDemandFleetRate is what the cheapest On-Demand fleet of the manifest's instance types
// that runs every service's desired tasks costs per hour now: the baseline a team that does
// not use Spot would pay. Under workload ecs the tasks on instances are packed onto one
// type (each service's tasks fill whole instances, and what is left of every service is
// packed together, largest first), for the cheapest type; Fargate services run on FARGATE.
// Under workload instances the desired capacity runs on the cheapest type per unit.
func (e *Emulator) onDemandFleetRate() float64 {
	if e.m.Workload == manifest.WorkloadInstances {
		best := math.Inf(1)
		units := 0
		for _, g := range e.groups {
			if f := e.m.Fallback; f != nil && g.cfg.Name != f.From {
				continue
			}
			units += g.desired
			for _, it := range g.cfg.InstanceTypes {
				if spec, ok := spotdata.Lookup(it.Type); ok {
					w := max(g.cfg.WeightOf(it.Type), 1)
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
	var tasks []taskShape
	for _, s := range e.services {
		if s.covers != nil || s.desired == 0 {
			continue
		}
		if s.cfg.OnFargate() {
			rate += float64(s.desired) * spotdata.FargateOnDemand.Hourly(s.cfg.CPU, s.cfg.Memory)
			continue
		}
		tasks = append(tasks, taskShape{cpu: s.cfg.CPU, mem: s.cfg.Memory, n: s.desired})
	}
	if len(tasks) == 0 {
		return rate
	}
	best := math.Inf(1)
	for _, name := range e.instanceTypes() {
		spec, ok := spotdata.Lookup(name)
		if !ok {
			continue
		}
		if n := pack(tasks, spec.VCPU*1024, spotfleet.ECSRegisteredMemory(spec.MemoryMiB)); n > 0 {
			best = min(best, float64(n)*spec.OnDemandUSD)
		}
	}
	if math.IsInf(best, 1) {
		return rate
	}
	return rate + best
}

// instanceTypes lists the types of every group, once each.
func (e *Emulator) instanceTypes() []string {
	var out []string
	for _, g := range e.groups {
		for _, it := range g.cfg.InstanceTypes {
			if !slices.Contains(out, it.Type) {
				out = append(out, it.Type)
			}
		}
	}
	return out
}

// taskShape is n tasks of one size.
type taskShape struct{ cpu, mem, n int }

// pack is how many instances of cpu units and mem MiB run the tasks, first fit by
// decreasing size (the larger of a task's shares of CPU and memory), placing as many of a
// service's identical tasks on an instance as fit at once; 0 if a task fits no instance.
func pack(tasks []taskShape, cpu, mem int) int {
	tasks = slices.Clone(tasks)
	size := func(t taskShape) float64 { return max(float64(t.cpu)/float64(cpu), float64(t.mem)/float64(mem)) }
	slices.SortStableFunc(tasks, func(a, b taskShape) int { return cmp.Compare(size(b), size(a)) })
	type bin struct{ cpu, mem int }
	var bins []bin
	for _, t := range tasks {
		per := min(cpu/max(t.cpu, 1), mem/max(t.mem, 1))
		if per == 0 {
			return 0
		}
		left := t.n
		for i := range bins {
			if left == 0 {
				break
			}
			k := min(left, bins[i].cpu/max(t.cpu, 1), bins[i].mem/max(t.mem, 1))
			bins[i].cpu -= k * t.cpu
			bins[i].mem -= k * t.mem
			left -= k
		}
		for left > 0 {
			k := min(left, per)
			bins = append(bins, bin{cpu - k*t.cpu, mem - k*t.mem})
			left -= k
		}
	}
	return len(bins)
}
