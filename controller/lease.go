package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/clock"
)

// MemLease is a spotfleet.Lease in memory, for controllers in one process (the emulator, tests).
type MemLease struct {
	Clock clock.Clock // default: the real clock

	mu      sync.Mutex
	holder  string
	token   int64
	expires time.Time
}

var _ spotfleet.Lease = (*MemLease)(nil)

func (l *MemLease) now() time.Time {
	if l.Clock == nil {
		return time.Now()
	}
	return l.Clock.Now()
}

// Hold implements Lease.
func (l *MemLease) Hold(_ context.Context, holder string, ttl time.Duration) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	switch {
	case l.holder == holder && now.Before(l.expires):
	case l.holder == "" || !now.Before(l.expires):
		l.holder = holder
		l.token++
	default:
		return 0, spotfleet.ErrLeaseHeld
	}
	l.expires = now.Add(ttl)
	return l.token, nil
}

// Fence implements Lease.
func (l *MemLease) Fence(_ context.Context, holder string, token int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder != holder || l.token != token || !l.now().Before(l.expires) {
		return spotfleet.ErrLeaseLost
	}
	return nil
}

// leadership is a controller's holding of the lease, as its goroutines read it.
type leadership struct {
	mu      sync.Mutex
	token   int64     // 0: not holding
	expires time.Time // by the local clock: past it, the holding is not trusted without Fence
}

// LeaseTTL is how long a holding lasts unrenewed: a follower takes over within it (and a
// tick) after the leader dies. The leader renews it every third of it.
const LeaseTTL = 10 * time.Second

// lead keeps trying to hold the lease, and renews it while it holds it, until ctx ends
// (Run makes the first try).
func (c *Controller) lead(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.clk.After(c.cfg.LeaseTTL / 3):
		}
		c.tryHold(ctx)
	}
}

func (c *Controller) tryHold(ctx context.Context) {
	began := c.clk.Now()
	token, err := c.cfg.Lease.Hold(ctx, c.cfg.Holder, c.cfg.LeaseTTL)
	c.lease.mu.Lock()
	was := c.lease.token
	switch {
	case err == nil:
		c.lease.token, c.lease.expires = token, began.Add(c.cfg.LeaseTTL)
	case errors.Is(err, spotfleet.ErrLeaseHeld):
		c.lease.token = 0
	default: // unknown: the holding lasts until it would lapse, and Fence decides
	}
	now := c.lease.token
	c.lease.mu.Unlock()
	switch {
	case err != nil && !errors.Is(err, spotfleet.ErrLeaseHeld) && ctx.Err() == nil:
		c.log.Warn("cannot reach the lease; retrying", "err", err)
	case now != 0 && was != now:
		c.log.Info("holding the lease: acting", "holder", c.cfg.Holder, "token", now)
	case now == 0 && was != 0:
		c.log.Warn("lost the lease: another controller acts", "holder", c.cfg.Holder)
	}
}

// leading says whether the controller may act: always without a lease, else while it holds
// one that has not lapsed by its own clock.
func (c *Controller) leading() bool {
	if c.cfg.Lease == nil {
		return true
	}
	c.lease.mu.Lock()
	defer c.lease.mu.Unlock()
	return c.lease.token != 0 && c.clk.Now().Before(c.lease.expires)
}

// fence confirms with the lease, just before a mutating call, that this controller still
// holds it under its token; a holding that is over stops the controller from acting.
func (c *Controller) fence(ctx context.Context) error {
	if c.cfg.Lease == nil {
		return nil
	}
	c.lease.mu.Lock()
	token, expires := c.lease.token, c.lease.expires
	c.lease.mu.Unlock()
	err := spotfleet.ErrLeaseLost
	if token != 0 && c.clk.Now().Before(expires) {
		err = c.cfg.Lease.Fence(ctx, c.cfg.Holder, token)
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, spotfleet.ErrLeaseLost) {
		c.lease.mu.Lock()
		if c.lease.token == token {
			c.lease.token = 0
		}
		c.lease.mu.Unlock()
	}
	c.metrics.fenced.Inc()
	return fmt.Errorf("fenced: %w", err)
}

// Leading says whether this controller holds the fleet's lease and acts (always, with no
// lease).
func (c *Controller) Leading() bool { return c.leading() }
