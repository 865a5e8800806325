package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/clock"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/emulator/lbhttp"
	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/emulator/scenario"
	"github.com/spotfleet/spotfleet/internal/strictyaml"
	"github.com/spotfleet/spotfleet/manifest"
)

// BenchmarkNotices interrupts n instances at once, each a load balancer target, and
// measures the wall time until the controller has deregistered every one of them (the
// emulator in-process). One op is the whole burst, at real speed; the world's set-up is
// outside the timer, and runs 100 times faster (Auto Scaling launches 100 instances a
// second, and health checks take their intervals: 10,000 instances are 2 minutes of
// emulated time). The deregistration delay is ALB's default, 300 s: its drain is longer
// than the notice leaves, so the targets must leave at once rather than serve on to the
// latest safe moment (takeOutAt). With 90 s and a 30 s stop timeout they serve on for 25 s
// by design, and the benchmark measured that wait (15-19 s) rather than the controller.
func BenchmarkNotices(b *testing.B) {
	for _, n := range []int{1000, 3000, 10000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { benchNotices(b, n) })
	}
}

func benchNotices(b *testing.B, n int) {
	m, diags := manifest.Parse("bench.yaml", []byte(fmt.Sprintf(`name: bench
workload: instances
capacity:
  - name: spot
    instanceTypes: [m5.large, m5a.large, m5d.large, m6i.large, m6a.large, m7i.large, c5.large, r5.large]
    zones: [us-east-1a, us-east-1b, us-east-1c, us-east-1d]
    minSize: %[1]d
    maxSize: %[2]d
    desiredCapacity: %[1]d
instances:
  name: web
  command: [web]
  stopTimeout: 30s
  loadBalancer: {listenerPort: 8080, deregistrationDelay: 300s}
`, n, min(2*n, 10000))))
	if err := diags.Err(); err != nil {
		b.Fatal(err)
	}
	var p99 float64
	for range b.N {
		b.StopTimer()
		runner := &proc.Fake{}
		clk := clock.NewScaled(setupSpeed)
		e, err := emulator.New(m, emulator.Options{Runner: runner, Prober: runner, Listen: lbhttp.MemListen, BootTime: 100 * time.Millisecond, Clock: clk})
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Start(); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go e.Run(ctx)
		began := time.Now()
		for targets(b, e) < n {
			time.Sleep(50 * time.Millisecond)
		}
		b.Logf("n=%d: the world ready after %s (speed %g)", n, time.Since(began).Round(time.Millisecond), setupSpeed)
		clk.SetSpeed(1)
		c, err := New(Config{Manifest: m, Provider: e, Queue: e.Queue(), Receivers: 4, Clock: clk})
		if err != nil {
			b.Fatal(err)
		}
		go c.Run(ctx)
		for e.Queue().Len() > 0 { // the launch events of the fleet, read before the burst
			time.Sleep(10 * time.Millisecond)
		}

		b.StartTimer()
		at := e.Elapsed()
		if err := e.Play(&scenario.Scenario{Steps: []scenario.Step{{At: strictyaml.Duration(at),
			Interrupt: &scenario.InterruptStep{Pools: []string{"*"}, Fraction: 1}}}}); err != nil {
			b.Fatal(err)
		}
		for c.Stats().Phases[PhaseDeregistered].Count < n {
			time.Sleep(5 * time.Millisecond) // Stats sorts every latency: not too often
		}
		b.StopTimer()
		p99 = c.Stats().Phases[PhaseDeregistered].P99
		cancel()
		e.Close()
	}
	b.ReportMetric(p99, "p99-received-to-deregistered-s")
}

// setupSpeed is how much faster than real time the benchmarks' worlds are built.
const setupSpeed = 100.0

func targets(b *testing.B, e *emulator.Emulator) int {
	s, err := e.Snapshot(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return len(s.Targets)
}

// BenchmarkFallbackDecision is one fallback decision (indexing the snapshot included) over
// 5,000 instances and 50,000 tasks: 50 services of 1,000 tasks, each with a companion,
// a third of the Spot instances interrupted and their tasks waiting for capacity.
func BenchmarkFallbackDecision(b *testing.B) {
	const services, perService, instances = 50, 1000, 5000
	s := &spotfleet.Snapshot{Time: t0, Groups: []spotfleet.Group{
		{Name: "spot", Desired: instances / 2, MaxSize: instances},
		{Name: "on-demand", Desired: instances / 2, MaxSize: instances, InstanceCPU: 8192, InstanceMemory: 30000},
	}}
	pol := &fallbackPolicy{from: "spot", to: "on-demand", after: 30 * time.Second, returnAfter: 5 * time.Minute, ecs: true,
		strategy: map[string][]manifest.CapacityProviderStrategy{}}
	leaving := map[string]bool{}
	for i := range instances {
		in := spotfleet.Instance{ID: fmt.Sprintf("i-%05d", i), Group: "spot", Lifecycle: spotfleet.Spot,
			State: spotfleet.InstanceRunning, Weight: 1, Healthy: true, ContainerInstance: fmt.Sprintf("ci-%05d", i)}
		if i%2 == 1 {
			in.Group, in.Lifecycle = "on-demand", spotfleet.OnDemand
		} else if i%3 == 0 {
			leaving[in.ID] = true
		}
		s.Instances = append(s.Instances, in)
	}
	for sv := range services {
		name := fmt.Sprintf("svc-%02d", sv)
		s.Services = append(s.Services, spotfleet.Service{Name: name, Desired: perService, CPU: 512, Memory: 1024},
			spotfleet.Service{Name: manifest.CoverServiceName(name), CPU: 512, Memory: 1024, Covers: name})
		pol.strategy[name] = []manifest.CapacityProviderStrategy{{CapacityProvider: "on-demand", Base: 1, Weight: 1}, {CapacityProvider: "spot", Weight: 3}}
		for k := range perService {
			in := s.Instances[(sv*perService+k)%instances]
			t := spotfleet.Task{ID: fmt.Sprintf("%s-%d", name, k), Service: name, Instance: in.ID,
				Provider: in.Group, Status: spotfleet.TaskRunning, Healthy: true}
			if leaving[in.ID] {
				t.Instance, t.Status, t.Healthy = "", spotfleet.TaskProvisioning, false
			}
			s.Tasks = append(s.Tasks, t)
		}
	}
	var p fallbackPlan
	for b.Loop() {
		p = decideFallback(newView(s), leaving, nil, -1, t0, pol)
	}
	if len(p.count) != services {
		b.Fatalf("%d companions scaled, want %d", len(p.count), services)
	}
}
