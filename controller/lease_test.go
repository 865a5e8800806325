package controller

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator"
)

func TestMemLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		l := &MemLease{}
		a, err := l.Hold(ctx, "a", 10*time.Second)
		if err != nil || a != 1 {
			t.Fatalf("a takes a free lease: %d, %v", a, err)
		}
		if _, err := l.Hold(ctx, "b", 10*time.Second); !errors.Is(err, spotfleet.ErrLeaseHeld) {
			t.Errorf("b takes a held lease: %v", err)
		}
		time.Sleep(9 * time.Second)
		if again, err := l.Hold(ctx, "a", 10*time.Second); err != nil || again != a {
			t.Errorf("a renews: %d, %v; want token %d", again, err, a)
		}
		time.Sleep(10 * time.Second) // a's holding lapses
		if err := l.Fence(ctx, "a", a); !errors.Is(err, spotfleet.ErrLeaseLost) {
			t.Errorf("a fenced after its holding lapsed: %v", err)
		}
		b, err := l.Hold(ctx, "b", 10*time.Second)
		if err != nil || b != a+1 {
			t.Fatalf("b takes the lapsed lease: %d, %v; want token %d", b, err, a+1)
		}
		if err := l.Fence(ctx, "a", a); !errors.Is(err, spotfleet.ErrLeaseLost) {
			t.Errorf("a fenced after b took over: %v", err)
		}
		if err := l.Fence(ctx, "b", b); err != nil {
			t.Errorf("b fenced: %v", err)
		}
	})
}

// pauser stands for a stopped process: while paused, what waits on it blocks.
type pauser struct {
	mu     sync.Mutex
	paused chan struct{} // nil: running
}

func (p *pauser) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = make(chan struct{})
}

func (p *pauser) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused != nil {
		close(p.paused)
		p.paused = nil
	}
}

func (p *pauser) wait() {
	p.mu.Lock()
	ch := p.paused
	p.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

// pausedLease and pausedProvider stop a controller's lease renewals and its rounds (at
// the snapshot, mid-round) while the pauser is paused.
type pausedLease struct {
	spotfleet.Lease
	p *pauser
}

func (l pausedLease) Hold(ctx context.Context, holder string, ttl time.Duration) (int64, error) {
	l.p.wait()
	return l.Lease.Hold(ctx, holder, ttl)
}

type pausedProvider struct {
	Provider
	p *pauser
}

func (p pausedProvider) Snapshot(ctx context.Context) (spotfleet.Snapshot, error) {
	p.p.wait()
	return p.Provider.Snapshot(ctx)
}

type pausedQueue struct {
	Queue
	p *pauser
}

func (q pausedQueue) ReceiveMessages(ctx context.Context, max int, wait, visibility time.Duration) ([]spotfleet.Message, error) {
	q.p.wait()
	return q.Queue.ReceiveMessages(ctx, max, wait, visibility)
}

// twoControllers runs the rig's controller, made by first from the rig's configuration,
// and a second one beside it on lease, with a recorder of its own; the rig's starts first
// and leads.
func twoControllers(t *testing.T, r *rig, lease spotfleet.Lease, first func(*Config)) (second *recorder, stop2 func()) {
	t.Helper()
	r.cfg.Lease, r.cfg.Holder = lease, "first"
	first(&r.cfg)
	r.startController()
	time.Sleep(time.Second)
	cfg := r.cfg
	second = &recorder{Provider: r.e}
	cfg.Holder, cfg.Lease, cfg.Provider, cfg.Queue, cfg.Registry = "second", lease, second, r.e.Queue(), nil
	if os.Getenv("DEBUG") != "" {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	return second, func() { cancel(); <-done }
}

// mutating counts the calls that change the fleet.
func mutating(r *recorder) int {
	n := 0
	for _, call := range []string{"DeregisterTargets", "SetDeregistrationDelay", "DrainContainerInstances", "DetachInstances",
		"TerminateInstances", "SetDesiredCapacity", "SetDesiredCount"} {
		n += r.count(call, "*")
	}
	return n
}

// TestFollowerTakesOverWhenTheLeaderDies: of two controllers on one lease only the leader
// acts; once it is gone, the follower acts on the next interruption within the lease's TTL
// and a tick.
func TestFollowerTakesOverWhenTheLeaderDies(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		second, stop2 := twoControllers(t, r, &MemLease{}, func(*Config) {})
		defer stop2()
		spot := r.spot()
		r.interrupt(spot[0].Pool)
		if r.rec.count("DrainContainerInstances", spot[0].ContainerInstance) != 1 || mutating(second) != 0 {
			t.Fatalf("leader drained %d times, follower made %d calls; want the leader alone to act",
				r.rec.count("DrainContainerInstances", spot[0].ContainerInstance), mutating(second))
		}
		time.Sleep(3 * time.Minute)
		r.stopController() // the leader dies: its lease lapses unrenewed
		died := time.Now()
		in := r.busySpot() // an interruption at once: it waits for the lease to lapse
		if _, err := r.e.Interrupt(emulator.InterruptRequest{Target: in.ID}); err != nil {
			t.Fatal(err)
		}
		for second.count("DetachInstances", in.ID) == 0 && time.Since(died) < 2*LeaseTTL {
			time.Sleep(100 * time.Millisecond)
		}
		took := time.Since(died)
		t.Logf("the leader's death to the follower's first action: %s (emulated)", took)
		if n := second.count("DetachInstances", in.ID); n != 1 || took > LeaseTTL+LeaseTTL/3+2*time.Second {
			t.Fatalf("the follower detached %s %d times, %s after the leader died; want once within the TTL, a renewal period and a round", in.ID, n, took)
		}
		time.Sleep(3 * time.Minute)
		checkClean(t, r.report())
	})
}

// TestPausedLeaderMakesNoCall: a leader stopped mid-round past its lease (as by SIGSTOP:
// its renewals, its queue polls and its round all stop) finds on resuming that another
// took over, and makes no call; the new leader acts.
func TestPausedLeaderMakesNoCall(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		lease, p := &MemLease{}, &pauser{}
		defer p.resume() // a stopped controller cannot be stopped
		first := &recorder{Provider: pausedProvider{r.e, p}}
		second, stop2 := twoControllers(t, r, lease, func(cfg *Config) {
			r.rec = first
			cfg.Lease, cfg.Provider, cfg.Queue = pausedLease{lease, p}, first, pausedQueue{r.e.Queue(), p}
		})
		defer stop2()
		time.Sleep(2 * time.Second)
		if mutating(second) != 0 {
			t.Fatalf("the follower acted while the leader held the lease")
		}
		p.pause()
		time.Sleep(2 * time.Second) // the leader's next round stops at its snapshot
		in := r.busySpot()
		if _, err := r.e.Interrupt(emulator.InterruptRequest{Target: in.ID}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(LeaseTTL + 2*time.Second)
		if n := second.count("DetachInstances", in.ID); n != 1 {
			t.Fatalf("the new leader detached %s %d times; want once", in.ID, n)
		}
		before := mutating(first)
		p.resume() // mid-round: its snapshot returns, and what it decides is stale
		time.Sleep(5 * time.Second)
		if n := mutating(first) - before; n != 0 {
			t.Errorf("the old leader made %d calls after resuming; want none", n)
		}
		time.Sleep(3 * time.Minute)
		checkClean(t, r.report())
	})
}
