package emulator

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/manifest"
	"pgregory.net/rapid"
)

// backend is a real HTTP server on a loopback address, counting the requests it serves;
// /slow holds a request until release is closed.
type backend struct {
	hits    atomic.Int64
	release chan struct{}
	srv     *http.Server
}

func startBackend(t *testing.T, addr string) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{release: make(chan struct{})}
	b.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		if r.URL.Path == "/slow" {
			<-b.release
		}
		fmt.Fprint(w, "ok")
	})}
	go b.srv.Serve(ln)
	t.Cleanup(func() { b.srv.Close() })
	return b
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// realEmulator builds an emulator with real listeners and the real clock but nothing
// started, for tests that drive HTTP.
func realEmulator(t *testing.T, yaml string) *Emulator {
	t.Helper()
	m, diags := manifest.Parse("test.yaml", []byte(yaml))
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	e, err := New(m, Options{Runner: &proc.Fake{}, Prober: &proc.Fake{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestDrainingTargetGetsNoNewRequestsWhileInFlightCompletes: after deregistration the
// load balancer sends a draining target nothing new, its slow in-flight request still
// completes, and the target becomes unused as soon as that request is done.
func TestDrainingTargetGetsNoNewRequestsWhileInFlightCompletes(t *testing.T) {
	port, lport := freePort(t), freePort(t)
	e := realEmulator(t, fmt.Sprintf(`name: lb
capacity: [{name: spot, instanceTypes: [m5.large, m5a.large, m6i.large]}]
services:
  - name: web
    command: [x]
    port: %d
    loadBalancer: {listenerPort: %d, deregistrationDelay: 300s}
`, port, lport))
	a := startBackend(t, net.JoinHostPort("127.0.0.2", strconv.Itoa(port)))
	b := startBackend(t, net.JoinHostPort("127.0.0.3", strconv.Itoa(port)))
	tg := e.tgs[0]
	if err := e.listeners[0].listen(e); err != nil {
		t.Fatal(err)
	}
	var ta, tb *target
	inspect(e, func() {
		ta, tb = tg.register("127.0.0.2", "i-a", nil), tg.register("127.0.0.3", "i-b", nil)
		ta.state, tb.state = spotfleet.TargetHealthy, spotfleet.TargetHealthy
		tg.routableChanged()
	})
	lb := "http://" + e.listeners[0].addr

	// Send requests until one /slow lands on a.
	slow := make(chan error, 1)
	for a.hits.Load() == 0 {
		go func() {
			resp, err := http.Get(lb + "/slow")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			slow <- err
		}()
		time.Sleep(20 * time.Millisecond)
		if b.hits.Load() > 0 { // the slow request went to b: let it finish and retry
			close(b.release)
			<-slow
			b.release = make(chan struct{})
			b.hits.Store(0)
		}
	}
	inspect(e, func() { tg.deregister(ta, "test") })
	aHits := a.hits.Load()
	for range 20 {
		resp, err := http.Get(lb + "/")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request while a drains: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	if got := a.hits.Load(); got != aHits {
		t.Errorf("the draining target got %d new requests", got-aHits)
	}
	inspect(e, func() {
		if ta.state != spotfleet.TargetDraining {
			t.Errorf("with a request in flight the target is %s, want draining", ta.state)
		}
	})
	close(a.release)
	if err := <-slow; err != nil {
		t.Fatalf("the in-flight request did not complete: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var st spotfleet.TargetState
		inspect(e, func() { st = ta.state })
		if st == spotfleet.TargetUnused {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("target still %s after its last request completed, want unused at once", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// listeningLB is an emulator with one service on port behind a load balancer that listens
// on a free port of 127.0.0.1, and its target group.
func listeningLB(t *testing.T, port string) (*Emulator, *targetGroup) {
	t.Helper()
	e := realEmulator(t, fmt.Sprintf(`name: lb
capacity: [{name: spot, instanceTypes: [m5.large, m5a.large, m6i.large]}]
services: [{name: web, command: [x], port: %s, loadBalancer: {listenerPort: %d}}]
`, port, freePort(t)))
	tg := e.tgs[0]
	if err := e.listeners[0].listen(e); err != nil {
		t.Fatal(err)
	}
	return e, tg
}

// TestListenerErrorsAreCounted: 503 with no target, 502 when the target's process is gone,
// 504 when it does not accept the connection in time.
func TestListenerErrorsAreCounted(t *testing.T) {
	e, tg := listeningLB(t, strconv.Itoa(freePort(t)))
	get := func() int {
		resp, err := http.Get("http://" + e.listeners[0].addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusServiceUnavailable {
		t.Errorf("no targets: %d, want 503", code)
	}
	inspect(e, func() {
		x := tg.register("127.0.0.4", "i-dead", nil) // nothing listens there
		x.state = spotfleet.TargetHealthy
		tg.routableChanged()
	})
	if code := get(); code != http.StatusBadGateway {
		t.Errorf("dead target: %d, want 502", code)
	}
	inspect(e, func() {
		// As a full accept queue looks from the dialer, without waiting 10 s for it.
		tg.targets[0].transport.Dial = (&net.Dialer{Timeout: time.Nanosecond}).DialContext
	})
	if code := get(); code != http.StatusGatewayTimeout {
		t.Errorf("a target that does not accept: %d, want 504", code)
	}
	if tg.elb5xx.Load() != 3 || tg.requests.Load() != 3 {
		t.Errorf("counted %d requests, %d elb 5xx; want 3 and 3", tg.requests.Load(), tg.elb5xx.Load())
	}
	if lb := e.Report(nil).LoadBalancer; lb.ELB502 != 1 || lb.ELB503 != 1 || lb.ELB504 != 1 {
		t.Errorf("report %+v: want one each of 502, 503 and 504", lb)
	}
}

// TestClientThatLeavesIsNotA5xx: a client that closes its connection before the answer is
// counted as clientClosed (an ALB's 460), not as a load balancer 5xx.
func TestClientThatLeavesIsNotA5xx(t *testing.T) {
	addr := "127.0.0.5:" + strconv.Itoa(freePort(t))
	b := startBackend(t, addr)
	_, port, _ := net.SplitHostPort(addr)
	e, tg := listeningLB(t, port)
	inspect(e, func() {
		x := tg.register("127.0.0.5", "i-1", nil)
		x.state = spotfleet.TargetHealthy
		tg.routableChanged()
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+e.listeners[0].addr+"/slow", nil)
	go func() {
		for b.hits.Load() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel() // the client gives up while the target works
	}()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the request was not cancelled")
	}
	defer close(b.release) // the target answers only after the client left
	deadline := time.Now().Add(5 * time.Second)
	for tg.clientClosed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got, elb := tg.clientClosed.Load(), tg.elb5xx.Load(); got != 1 || elb != 0 {
		t.Errorf("clientClosed %d, elb5xx %d; want 1 and 0", got, elb)
	}
}

// TestTargetsLeaveInAnyOrder: targets that leave in any order, one at a time or a batch at
// once, leave exactly the others registered, each where its slot says, and the routable
// set (published when the lock is released) is the healthy ones that stay.
func TestTargetsLeaveInAnyOrder(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		e := realEmulator(t, `name: lb
capacity: [{name: spot, instanceTypes: [m5.large]}]
services: [{name: web, command: [x], port: 8080, loadBalancer: {listenerPort: 8081}}]
`)
		tg := e.tgs[0]
		n := rapid.IntRange(1, 60).Draw(rt, "targets")
		var all []*target
		inspect(e, func() {
			for i := range n {
				x := tg.register(fmt.Sprintf("127.0.1.%d", i+1), fmt.Sprintf("i-%d", i/2), nil)
				x.state = spotfleet.TargetHealthy
				tg.routableChanged()
				all = append(all, x)
			}
		})
		order := rapid.Permutation(all).Draw(rt, "order")
		leave := order[:rapid.IntRange(0, n).Draw(rt, "leaving")]
		for len(leave) > 0 {
			k := rapid.IntRange(1, len(leave)).Draw(rt, "batch")
			inspect(e, func() { tg.deregisterAll(leave[:k], "test") })
			leave = leave[k:]
		}
		gone := map[*target]bool{}
		for _, x := range order[:len(order)-len(leave)] {
			gone[x] = x.state == spotfleet.TargetUnused
		}
		inspect(e, func() {
			want := 0
			for _, x := range all {
				if !gone[x] {
					want++
				}
			}
			if len(tg.targets) != want {
				rt.Fatalf("%d targets left, want %d", len(tg.targets), want)
			}
			for i, x := range tg.targets {
				if gone[x] || x.slot != i {
					rt.Fatalf("target %s at %d: gone %v, slot %d", x.id, i, gone[x], x.slot)
				}
				if !slices.Contains(tg.byInstance[x.instanceID], x) {
					rt.Fatalf("target %s not indexed by its instance", x.id)
				}
			}
			if got := len(*tg.routable.Load()); got != want {
				rt.Fatalf("%d routable, want %d", got, want)
			}
		})
	})
}
