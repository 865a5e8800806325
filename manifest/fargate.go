package manifest

import (
	"fmt"
	"slices"
	"strings"
)

// The Fargate capacity providers: every account has them, and a cluster only associates
// them (docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html).
const (
	Fargate     = "FARGATE"
	FargateSpot = "FARGATE_SPOT"
)

// IsFargate says whether a capacity provider is one of Fargate's.
func IsFargate(provider string) bool { return provider == Fargate || provider == FargateSpot }

// OnFargate says whether the service's tasks run on Fargate (its strategy names a Fargate
// provider; validation refuses one that mixes them with capacity groups).
func (s *Service) OnFargate() bool {
	return slices.ContainsFunc(s.CapacityProviderStrategy, func(st CapacityProviderStrategy) bool {
		return IsFargate(st.CapacityProvider)
	})
}

// UsesFargate says whether any service runs on Fargate.
func (m *Manifest) UsesFargate() bool {
	return slices.ContainsFunc(m.Services, func(s Service) bool { return s.OnFargate() })
}

// FargateZones are the zones Fargate tasks are spread over: the capacity groups' zones, or
// the region's a, b and c (on AWS, the zones of the subnets apply takes).
func (m *Manifest) FargateZones() []string {
	var out []string
	for _, g := range m.Capacity {
		for _, z := range g.Zones {
			if !slices.Contains(out, z) {
				out = append(out, z)
			}
		}
	}
	if len(out) == 0 {
		out = []string{m.Region + "a", m.Region + "b", m.Region + "c"}
	}
	slices.Sort(out)
	return out
}

// fargateSize is the memory one Fargate CPU size takes, in MiB: from min to max by step
// (the task CPU and memory table of the ECS developer guide, task_definition_parameters).
type fargateSize struct {
	cpu, min, max, step int
}

var fargateSizes = []fargateSize{
	{256, 512, 2048, 0}, // 512, 1024 or 2048
	{512, 1024, 4096, 1024},
	{1024, 2048, 8192, 1024},
	{2048, 4096, 16384, 1024},
	{4096, 8192, 30720, 1024},
	{8192, 16384, 61440, 4096},
	{16384, 32768, 122880, 8192},
}

func (f fargateSize) memories() []int {
	if f.step == 0 {
		return []int{512, 1024, 2048}
	}
	var out []int
	for m := f.min; m <= f.max; m += f.step {
		out = append(out, m)
	}
	return out
}

func (f fargateSize) String() string {
	if f.step == 0 {
		return fmt.Sprintf("cpu %d: memory 512, 1024 or 2048", f.cpu)
	}
	return fmt.Sprintf("cpu %d: memory %d to %d in steps of %d", f.cpu, f.min, f.max, f.step)
}

// FargateSize says whether Fargate runs a task of that cpu and memory, and if not the
// smallest size that holds it (or the largest there is).
func FargateSize(cpu, memory int) (ok bool, nearestCPU, nearestMemory int) {
	for _, f := range fargateSizes {
		if f.cpu < cpu {
			continue
		}
		for _, m := range f.memories() {
			if m >= memory {
				return f.cpu == cpu && m == memory, f.cpu, m
			}
		}
	}
	last := fargateSizes[len(fargateSizes)-1]
	return false, last.cpu, last.max
}

// fargate checks a service on Fargate as ECS would refuse it.
func (c *checker) fargate(s *Service, p string) {
	if !s.OnFargate() {
		return
	}
	if ok, cpu, mem := FargateSize(s.CPU, s.Memory); !ok {
		path, what := p+".memory", fmt.Sprintf("memory %d MiB", s.Memory)
		var sizes []string
		for _, f := range fargateSizes {
			if f.cpu == s.CPU {
				sizes = []string{f.String()}
			}
		}
		if sizes == nil {
			path, what = p+".cpu", fmt.Sprintf("cpu %d", s.CPU)
			for _, f := range fargateSizes {
				sizes = append(sizes, fmt.Sprint(f.cpu))
			}
			sizes = []string{"cpu is one of " + strings.Join(sizes, ", ")}
		}
		c.errorf(path, fmt.Sprintf("%s; the nearest that holds the task is cpu %d with memory %d", sizes[0], cpu, mem),
			"Fargate has no task size of cpu %d and memory %d MiB (%s)", s.CPU, s.Memory, what)
	}
	for i, st := range s.CapacityProviderStrategy {
		if st.CapacityProvider == FargateSpot && st.Weight+st.Base > 0 && s.CPUArchitecture != "X86_64" {
			c.errorf(fmt.Sprintf("%s.capacityProviderStrategy[%d].capacityProvider", p, i), "use FARGATE for ARM64 tasks, or set cpuArchitecture: X86_64",
				"FARGATE_SPOT runs only X86_64 Linux tasks; the service is %s", s.CPUArchitecture)
		}
	}
}

// fargateFallback checks a fallback between Fargate providers: FARGATE_SPOT covered by
// FARGATE, the only pair there is.
func (c *checker) fargateFallback(f *Fallback) bool {
	if !IsFargate(f.From) && !IsFargate(f.To) {
		return false
	}
	if f.From != FargateSpot {
		c.errorf("fallback.from", "a Fargate fallback goes from FARGATE_SPOT to FARGATE", "fallback.from %q: with Fargate, only FARGATE_SPOT can be short", f.From)
	}
	if f.To != Fargate {
		c.errorf("fallback.to", "a Fargate fallback goes from FARGATE_SPOT to FARGATE", "fallback.to %q: FARGATE_SPOT is covered on FARGATE", f.To)
	}
	return true
}
