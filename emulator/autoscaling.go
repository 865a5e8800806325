package emulator

import (
	"math"
	"time"

	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/manifest"
)

// autoscalingPeriod is how often target tracking evaluates (one-minute CloudWatch metrics).
const autoscalingPeriod = time.Minute

// scheduleAutoscaling runs each service's target tracking policies: CPUUtilization measured
// from the task processes, RequestCountPerTarget from the load balancer. The policy that
// asks for the most capacity wins; scale-out and scale-in honour their cooldowns.
func (e *Emulator) scheduleAutoscaling() {
	if e.opt.Simulated {
		return // no load to measure: the services keep their desired counts
	}
	for _, s := range e.services {
		if s.cfg.Autoscaling == nil {
			continue
		}
		var lastRequests int64
		lastCPU := map[proc.Process]time.Duration{}
		var tick func()
		tick = func() {
			want := 0
			for _, p := range s.cfg.Autoscaling.TargetTracking {
				var metric float64
				switch p.Metric {
				case "CPUUtilization":
					metric = s.cpuUtilization(lastCPU)
				case "RequestCountPerTarget":
					n := s.tg.requests.Load()
					if healthy := s.healthyUnits(); healthy > 0 {
						metric = float64(n-lastRequests) / float64(healthy)
					}
					lastRequests = n
				default:
					continue // MemoryUtilization: not measured on the emulator
				}
				want = max(want, int(math.Ceil(float64(s.current())*metric/p.Target)))
			}
			s.scaleTo(want)
			e.after(autoscalingPeriod, tick)
		}
		e.after(autoscalingPeriod, tick)
	}
}

func (s *service) current() int {
	if s.e.m.Workload == manifest.WorkloadInstances {
		return max(s.primaryGroup().desired, 1)
	}
	return max(s.desired, 1)
}

func (s *service) primaryGroup() *group {
	for _, g := range s.e.groups {
		if f := s.e.m.Fallback; f == nil || g.cfg.Name == f.From {
			return g
		}
	}
	return s.e.groups[0]
}

func (s *service) scaleTo(want int) {
	a := s.cfg.Autoscaling
	want = min(max(want, a.MinCount), a.MaxCount)
	cur := s.current()
	var cooldown time.Duration
	var last *time.Time
	switch {
	case want > cur:
		cooldown, last = a.TargetTracking[0].ScaleOutCooldown.D(), &s.lastScaleOut
	case want < cur:
		cooldown, last = a.TargetTracking[0].ScaleInCooldown.D(), &s.lastScaleIn
	default:
		return
	}
	if !last.IsZero() && s.e.now.Sub(*last) < cooldown {
		return
	}
	*last = s.e.now
	if s.e.m.Workload == manifest.WorkloadInstances {
		s.primaryGroup().setDesired(want, "target tracking")
		return
	}
	s.e.note("service %s: desired count %d -> %d (target tracking)", s.cfg.Name, s.desired, want)
	s.desired = want
	s.kick()
}

// cpuUtilization is the service's average CPU use over the last period, in percent of
// what its tasks reserve (of the instance's vCPUs under workload instances).
func (s *service) cpuUtilization(last map[proc.Process]time.Duration) float64 {
	var used time.Duration
	reserved := 0.0
	seen := map[proc.Process]bool{}
	add := func(p proc.Process, vcpus float64) {
		if p == nil {
			return
		}
		cpu := processCPU(p)
		if prev, ok := last[p]; ok {
			used += cpu - prev
		}
		last[p] = cpu
		seen[p] = true
		reserved += vcpus
	}
	for _, t := range s.tasks {
		add(t.proc, float64(s.cfg.CPU)/1024)
	}
	for _, g := range s.e.groups {
		for _, in := range g.live {
			if in.app != nil {
				add(in.app.proc, float64(in.pool.Spec.VCPU))
			}
		}
	}
	for p := range last {
		if !seen[p] {
			delete(last, p)
		}
	}
	if reserved == 0 {
		return 0
	}
	period := s.e.clock.Wall(autoscalingPeriod)
	return 100 * used.Seconds() / (period.Seconds() * reserved)
}

// processCPU reads the CPU time of a process and its reaped children, where the runner
// knows it (a real process).
func processCPU(p proc.Process) time.Duration {
	if c, ok := p.(interface{ CPU() time.Duration }); ok {
		return c.CPU()
	}
	return 0
}
