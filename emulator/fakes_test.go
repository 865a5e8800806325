package emulator

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/spotfleet/spotfleet/emulator/lbhttp"
	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/manifest"
)

// world runs an emulator for a manifest inside a synctest bubble, with fake processes and
// in-memory listeners, and hands it to f with the bubble's t; time passes with time.Sleep.
func world(t *testing.T, yaml string, f func(t *testing.T, e *Emulator, r *proc.Fake)) {
	t.Helper()
	worldWith(t, yaml, &proc.Fake{}, f)
}

// worldWith is world with a runner set up by the test.
func worldWith(t *testing.T, yaml string, r *proc.Fake, f func(t *testing.T, e *Emulator, r *proc.Fake)) {
	t.Helper()
	m, diags := manifest.Parse("test.yaml", []byte(yaml))
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		e, err := New(m, Options{Runner: r, Prober: r, Listen: lbhttp.MemListen, Seed: 7, BootTime: 60 * time.Second, AgentDrainsOnNotice: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { e.Run(ctx); close(done) }()
		defer func() { // also when f calls t.Fatal
			cancel()
			<-done
			e.Close()
		}()
		f(t, e, r)
	})
}

// inspect runs f under the world lock.
func inspect(e *Emulator, f func()) {
	e.lock()
	defer e.unlock()
	f()
}

// TestBootIsNotBelowDesired: time that passes before the groups are sized (Start) does not
// make the fleet "ready" at 0 with nothing wanted, which would count the first boot as
// time below desired.
func TestBootIsNotBelowDesired(t *testing.T) {
	m, diags := manifest.Parse("test.yaml", []byte(`name: t
workload: instances
capacity:
  - name: spot
    instanceTypes: [m5.large]
    minSize: 2
instances:
  name: web
  command: [web]
  loadBalancer: {listenerPort: 8080}
`))
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		r := &proc.Fake{}
		e, err := New(m, Options{Runner: r, Prober: r, Listen: lbhttp.MemListen, BootTime: 60 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // as `up` opens its listeners
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { e.Run(ctx); close(done) }()
		time.Sleep(3 * time.Minute)
		c := e.Report(nil).Capacity
		cancel()
		<-done
		e.Close()
		if c.ReadySeconds < 60 || c.SecondsBelowDesired != 0 {
			t.Errorf("ready at %.0fs with %.0fs below desired; want ready after the boot (60s) and 0s below", c.ReadySeconds, c.SecondsBelowDesired)
		}
	})
}
