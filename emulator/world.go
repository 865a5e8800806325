// Package emulator is a local AWS for Spot: a market of Spot pools, EC2 instances with a
// metadata service, Auto Scaling groups, ECS, an Application Load Balancer and an
// EventBridge queue, imitating AWS's documented semantics (docs/emulator.md says where it
// simplifies). The service's tasks are real processes and the load balancer proxies real
// HTTP; everything runs on an injected clock.
//
// The world is a discrete-event simulation: one lock guards all state, and a heap of timers
// holds what happens next. Every entry point first advances emulated time to now, running
// due timers in order, so that accounting integrals are exact.
package emulator

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// timer is something that happens at an emulated time.
type timer struct {
	at  time.Time
	seq uint64 // keeps timers at the same instant in the order they were set
	fn  func()
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(*timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// at runs fn at emulated time t (under the lock). Callers hold the lock.
func (e *Emulator) at(t time.Time, fn func()) {
	e.seq++
	heap.Push(&e.timers, &timer{at: t, seq: e.seq, fn: fn})
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// after runs fn d of emulated time from now. Callers hold the lock.
func (e *Emulator) after(d time.Duration, fn func()) { e.at(e.now.Add(d), fn) }

// lock takes the world lock and brings emulated time up to the clock, running every timer
// that fell due meanwhile.
func (e *Emulator) lock() {
	e.mu.Lock()
	ok := false
	defer func() {
		if !ok { // a panic in a timer must not leave the world locked for whoever recovers
			e.mu.Unlock()
		}
	}()
	e.advance(e.clock.Now())
	ok = true
}

// unlock publishes what the proxy reads without the lock, then releases the world.
func (e *Emulator) unlock() {
	for _, tg := range e.stale {
		tg.publishRoutable()
	}
	e.stale = e.stale[:0]
	e.mu.Unlock()
}

// handoff gathers what goroutines outside the world lock bring back to it: health check
// results and process exits. Each taking the lock for itself made a convoy at 10,000
// targets: once a waiter has waited a millisecond the mutex hands itself over in arrival
// order, so a controller's call queued behind every probe of a health check round (half a
// second, in the middle of a burst of notices).
type handoff struct {
	mu       sync.Mutex
	fns      []func()
	flushing bool
}

// handOff runs fn under the world lock, soon, in the order handed. The goroutine that
// finds no one running them runs everything handed until none is left, a batch per hold of
// the lock; the others return at once, so at most one of them ever waits for the lock.
func (e *Emulator) handOff(fn func()) {
	h := &e.handed
	h.mu.Lock()
	h.fns = append(h.fns, fn)
	if h.flushing {
		h.mu.Unlock()
		return
	}
	h.flushing = true
	h.mu.Unlock()
	for {
		h.mu.Lock()
		fns := h.fns
		h.fns = nil
		h.flushing = len(fns) > 0
		h.mu.Unlock()
		if len(fns) == 0 {
			return
		}
		e.runHanded(fns)
	}
}

func (e *Emulator) runHanded(fns []func()) {
	e.lock()
	defer e.unlock()
	for _, fn := range fns {
		fn()
	}
}

// advance runs due timers in time order up to t, integrating the accounting between them.
func (e *Emulator) advance(t time.Time) {
	if e.closed {
		return // a closed world does not move: nothing new may start while it shuts down
	}
	for len(e.timers) > 0 && !e.timers[0].at.After(t) {
		next := heap.Pop(&e.timers).(*timer)
		e.setNow(next.at)
		next.fn()
	}
	e.setNow(t)
}

func (e *Emulator) setNow(t time.Time) {
	if !t.After(e.now) {
		return
	}
	e.acct.Integrate(e.ratesOf(e.now), e.start, e.now, t)
	e.now = t
}

// Run drives the world until ctx ends: it sleeps until the next timer, or until something
// new is scheduled.
func (e *Emulator) Run(ctx context.Context) error {
	for {
		e.lock()
		var wait time.Duration = time.Hour
		if len(e.timers) > 0 {
			wait = e.timers[0].at.Sub(e.now)
		}
		e.unlock()
		t := e.clock.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-e.wake:
			t.Stop()
		case <-t.C:
		}
	}
}
