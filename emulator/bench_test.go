package emulator

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet/emulator/lbhttp"
	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/manifest"
)

// manualClock is moved by hand, for benchmarks that drive the world without Run.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}
func (c *manualClock) add(d time.Duration)                    { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func (c *manualClock) After(d time.Duration) <-chan time.Time { return make(chan time.Time) }
func (c *manualClock) NewTimer(d time.Duration) *time.Timer   { return time.NewTimer(time.Hour) }
func (c *manualClock) Wall(d time.Duration) time.Duration     { return d }

const bigFleet = `name: big
capacity:
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large, m5d.large, m5n.large]
    zones: [us-east-1a, us-east-1b, us-east-1c]
    minSize: 100
    maxSize: 100
    desiredCapacity: 100
services:
  - name: web
    command: [x]
    cpu: 512
    memory: 1024
    desiredCount: 300
    maximumPercent: 150
    capacityProviderStrategy: [{capacityProvider: spot}]
    loadBalancer: {listenerPort: 9200, healthCheck: {path: /h}}
`

// BenchmarkWorld100Instances300Tasks builds a world of 100 instances and 300 tasks (fake
// processes, in-memory listeners), runs 10 emulated minutes in 1-second steps, and reports
// the emulator's live heap and the cost of one emulated second.
func BenchmarkWorld100Instances300Tasks(b *testing.B) {
	m, diags := manifest.Parse("big.yaml", []byte(bigFleet))
	if err := diags.Err(); err != nil {
		b.Fatal(err)
	}
	var heap int64
	var perSecond time.Duration
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		clk := &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		r := &proc.Fake{}
		e, err := New(m, Options{Clock: clk, Runner: r, Prober: r, Listen: lbhttp.MemListen})
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Start(); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for range 600 {
			clk.add(time.Second)
			e.lock()
			e.unlock()
		}
		perSecond = time.Since(start) / 600
		var tasks, instances int
		inspect(e, func() {
			tasks, instances = len(e.services[0].tasks), len(e.instOrder)
		})
		if tasks != 300 || instances != 100 {
			b.Fatalf("world has %d instances and %d tasks, want 100 and 300", instances, tasks)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		heap = int64(after.HeapAlloc) - int64(before.HeapAlloc)
		runtime.KeepAlive(e)
		e.Close()
		time.Sleep(10 * time.Millisecond) // let the closed world's goroutines end before the next
		runtime.GC()
	}
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(perSecond.Microseconds()), "µs/emulated-s")
}
