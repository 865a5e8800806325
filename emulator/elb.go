package emulator

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/lbhttp"
	"github.com/spotfleet/spotfleet/emulator/touch"
	"github.com/spotfleet/spotfleet/manifest"
)

// target is a registered load balancer target: a task's ip:port, or an instance's.
type target struct {
	tg         *targetGroup
	id         string // ip:port
	ip         string // its address, as ELB names a task's target
	url        *url.URL
	transport  *lbhttp.Transport // the load balancer's connections to the target
	instanceID string
	task       *task // nil for an instance target
	slot       int   // its index in tg.targets, so that leaving costs no search

	// Under the world lock.
	state               spotfleet.TargetState
	registeredAt        time.Time
	deregisteredAt      time.Time
	successes, failures int
	probing             bool
	onUnused            func()
	seen                touch.Mark[spotfleet.Target] // what the last snapshot or delta showed (delta.go)

	// Read by the proxy without the world lock.
	draining atomic.Bool
	inflight atomic.Int64
	requests atomic.Int64
}

// targetGroup is a target group: a real HTTP reverse proxy over its targets (its
// listener, listener.go, routes requests to it).
type targetGroup struct {
	e       *Emulator
	name    string
	lb      *manifest.LoadBalancer
	port    int
	delay   time.Duration // the deregistration delay attribute; the controller may lower it
	targets []*target     // registered or draining, in no order
	// byInstance indexes targets by the instance they run on: a burst of thousands of
	// deregistrations asks, for each, whether its instance has any left.
	byInstance map[string][]*target

	routable atomic.Pointer[[]*target]
	stale    bool // routable is to be published when the world lock is released
	rr       atomic.Uint64

	requests, elb5xx, target5xx, clientClosed atomic.Int64
	elbCodes                                  [3]atomic.Int64 // elb5xx by code: 502, 503, 504
}

func newTargetGroup(e *Emulator, name string, s manifest.Service) *targetGroup {
	tg := &targetGroup{e: e, name: name, lb: s.LoadBalancer, port: s.Port, delay: s.LoadBalancer.DeregistrationDelay.D()}
	tg.routable.Store(&[]*target{})
	return tg
}

// elbError counts an answer the load balancer made itself (502, 503 or 504), as CloudWatch's
// HTTPCode_ELB_5XX_Count and its per-code counts do.
func (tg *targetGroup) elbError(code int) {
	tg.elb5xx.Add(1)
	tg.elbCodes[code-http.StatusBadGateway].Add(1)
}

// ServeHTTP routes one request round robin over the routable targets.
func (tg *targetGroup) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tg.requests.Add(1)
	for range 3 {
		t := tg.pick()
		if t == nil {
			break
		}
		// Count the request in flight before checking for draining: deregistration sets
		// draining before it reads the count, so no request reaches a stopping target.
		t.inflight.Add(1)
		if t.draining.Load() {
			tg.release(t)
			continue
		}
		t.requests.Add(1)
		defer tg.release(t) // also when forward aborts the client's connection (a panic)
		tg.forward(t, w, r)
		return
	}
	tg.elbError(http.StatusServiceUnavailable)
	w.Header().Set("Server", lbhttp.ELBServer)
	http.Error(w, "503 Service Temporarily Unavailable", http.StatusServiceUnavailable)
}

func (tg *targetGroup) pick() *target {
	ts := *tg.routable.Load()
	if len(ts) == 0 {
		return nil
	}
	return ts[tg.rr.Add(1)%uint64(len(ts))]
}

func (tg *targetGroup) release(t *target) {
	if t.inflight.Add(-1) == 0 && t.draining.Load() {
		go tg.e.targetIdle(t)
	}
}

// routableChanged says that the targets to route to changed: they are published once, as
// the world lock is released, however many changed meanwhile. A health check round that
// makes thousands of new targets healthy at once would otherwise copy the whole target
// list once per target (a second of the world lock at 10,000 targets). The proxy needs no
// earlier publication: a deregistered target is refused by its draining flag.
// Callers hold the lock.
func (tg *targetGroup) routableChanged() {
	if !tg.stale {
		tg.stale = true
		tg.e.stale = append(tg.e.stale, tg)
	}
}

// publishRoutable publishes the targets that get new requests: the healthy ones, or, when
// none is, every unhealthy one (ELB fails open). Callers hold the lock.
func (tg *targetGroup) publishRoutable() {
	tg.stale = false
	var healthy, unhealthy []*target
	for _, t := range tg.targets {
		switch t.state {
		case spotfleet.TargetHealthy:
			healthy = append(healthy, t)
		case spotfleet.TargetUnhealthy:
			unhealthy = append(unhealthy, t)
		}
	}
	if len(healthy) == 0 {
		healthy = unhealthy
	}
	tg.routable.Store(&healthy)
}

// register adds a target in state initial; health checks make it healthy.
func (tg *targetGroup) register(ip string, instanceID string, tk *task) *target {
	id := net.JoinHostPort(ip, strconv.Itoa(tg.port))
	t := &target{tg: tg, id: id, ip: ip, url: &url.URL{Scheme: "http", Host: id}, instanceID: instanceID, task: tk,
		state: spotfleet.TargetInitial, registeredAt: tg.e.now}
	t.transport = lbhttp.NewTransport(id)
	t.slot = len(tg.targets)
	tg.targets = append(tg.targets, t)
	if tg.byInstance == nil {
		tg.byInstance = map[string][]*target{}
	}
	tg.byInstance[instanceID] = append(tg.byInstance[instanceID], t)
	tg.e.touchTarget(t)
	tg.simWatch(t)
	return t
}

// deregister starts draining: no new requests; in-flight ones finish. The target becomes
// unused when the last in-flight request completes or the deregistration delay ends,
// whichever is first, as ELB does.
func (tg *targetGroup) deregister(t *target, reason string) { tg.deregisterAll([]*target{t}, reason) }

// deregisterAll deregisters targets together (a DeregisterTargets call of thousands).
func (tg *targetGroup) deregisterAll(ts []*target, reason string) {
	ts = slices.DeleteFunc(slices.Clone(ts), func(t *target) bool { return !t.state.Registered() })
	if len(ts) == 0 {
		return
	}
	e := tg.e
	e.changed()
	for _, t := range ts {
		e.touchTarget(t)
		t.state = spotfleet.TargetDraining
		t.deregisteredAt = e.now
		t.draining.Store(true)
	}
	tg.routableChanged()
	for _, t := range ts {
		tg.drain(t, reason)
	}
}

// drain follows a target from its deregistration to unused.
func (tg *targetGroup) drain(t *target, reason string) {
	e := tg.e
	e.targetDeregistered(t)
	e.targetHealthChanged(t) // ECS sees its task's target leave: a DRAINING instance's task may stop
	e.note("target %s (%s) draining: %s", t.id, t.instanceID, reason)
	if t.inflight.Load() == 0 {
		tg.unused(t)
		return
	}
	e.after(tg.delay, func() { tg.unused(t) })
}

func (tg *targetGroup) unused(t *target) {
	if t.state != spotfleet.TargetDraining {
		return
	}
	t.state = spotfleet.TargetUnused
	tg.e.touchTarget(t)
	t.transport.CloseIdleConnections()
	tg.e.changed()
	// The last target takes its place: a burst of thousands leaving, each searched for
	// and the rest shifted down, was quadratic. The order of targets means nothing (a
	// status sorts them).
	last := tg.targets[len(tg.targets)-1]
	tg.targets[t.slot], last.slot = last, t.slot
	tg.targets[len(tg.targets)-1] = nil
	tg.targets = tg.targets[:len(tg.targets)-1]
	tg.e.delta.targets.Gone(t)
	if left := slices.DeleteFunc(tg.byInstance[t.instanceID], func(x *target) bool { return x == t }); len(left) > 0 {
		tg.byInstance[t.instanceID] = left
	} else {
		delete(tg.byInstance, t.instanceID)
	}
	if t.task != nil && t.task.status == spotfleet.TaskStopped {
		tg.e.ids.release(t.task.ip) // its task is done with the address
	}
	if f := t.onUnused; f != nil {
		t.onUnused = nil
		f()
	}
}

// targetIdle is called by the proxy when a draining target's last request completes.
func (e *Emulator) targetIdle(t *target) {
	e.lock()
	defer e.unlock()
	if t.inflight.Load() == 0 {
		t.tg.unused(t)
	}
}

// scheduleHealthChecks checks every registered target once per interval.
func (tg *targetGroup) scheduleHealthChecks() {
	e := tg.e
	hc := tg.lb.HealthCheck
	timeout := max(e.clock.Wall(hc.Timeout.D()), minProbeTimeout)
	var tick func()
	tick = func() {
		for _, t := range tg.targets {
			if t.probing || !t.state.Registered() {
				continue
			}
			t.probing = true
			u := t.url.String() + hc.Path
			e.bg.Go(func() {
				ctx, cancel := context.WithTimeout(e.bgCtx, timeout)
				ok := e.opt.Prober.Probe(ctx, u)
				cancel()
				e.handOff(func() { tg.probed(t, ok) })
			})
		}
		e.after(hc.Interval.D(), tick)
	}
	e.lock()
	e.after(hc.Interval.D(), tick)
	e.unlock()
}

func (tg *targetGroup) probed(t *target, ok bool) {
	t.probing = false
	if !t.state.Registered() {
		return
	}
	hc := tg.lb.HealthCheck
	before := t.state
	if ok {
		t.successes, t.failures = t.successes+1, 0
		if t.state != spotfleet.TargetHealthy && t.successes >= hc.HealthyThreshold {
			t.state = spotfleet.TargetHealthy
		}
	} else {
		t.successes, t.failures = 0, t.failures+1
		if t.state != spotfleet.TargetUnhealthy && t.failures >= hc.UnhealthyThreshold {
			t.state = spotfleet.TargetUnhealthy
		}
	}
	if t.state != before {
		tg.e.touchTarget(t)
		tg.e.changed()
		tg.routableChanged()
		tg.e.note("target %s (%s) %s -> %s", t.id, t.instanceID, before, t.state)
		tg.e.targetHealthChanged(t)
	}
}
