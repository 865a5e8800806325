package controller

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/spotfleet/spotfleet"
)

// weightRefusal is a refused pool's memory. It is not added up per refusal, as
// interruptions are: a group retries a refused launch every few seconds, and a pool that
// refused a hundred times in ten minutes is not more unavailable than one that refused
// once just now. It keeps the pool avoided for one half-life after the last refusal.
const weightRefusal = 0.5

// fallback is the controller's fallback state between rounds.
type fallback struct {
	pol       *fallbackPolicy
	covers    map[string]cover
	toFloor   int
	refusedAt time.Time // the from group's last capacity error
}

// launchFailed takes in a failed launch, from an event or a snapshot's scaling activities
// (each activity counts once): a capacity error of the from group marks Spot short, and
// the pools it refused go into the pool memory.
func (c *Controller) launchFailed(group string, f spotfleet.LaunchFailure, v *view, now time.Time) {
	if f.ActivityID != "" {
		if _, seen := c.failures[f.ActivityID]; seen {
			return
		}
		c.failures[f.ActivityID] = f.Time
		if len(c.failures) > 1024 { // keep the activities a snapshot may still show
			for id, at := range c.failures {
				if now.Sub(at) > time.Hour {
					delete(c.failures, id)
				}
			}
		}
	}
	if !spotfleet.CapacityError(f.Message) {
		c.metrics.launchFailures.WithLabelValues(group, "other").Inc()
		c.log.Warn("launch failed, not for capacity; covered only if the shortfall lasts", "group", group, "message", f.Message)
		return
	}
	c.metrics.launchFailures.WithLabelValues(group, "capacity").Inc()
	if c.fb != nil && group == c.fb.pol.from && f.Time.After(c.fb.refusedAt) {
		c.fb.refusedAt = f.Time
	}
	if g := v.group[group]; g != nil && f.Zone != "" {
		for _, p := range g.Pools {
			if p.Zone == f.Zone {
				c.mem.atLeast(p, weightRefusal, now)
			}
		}
	}
	c.log.Info("launch refused for want of capacity", "group", group, "zone", f.Zone, "message", f.Message)
}

// cover decides and applies the fallback for this round.
func (c *Controller) cover(ctx context.Context, v *view, leaving map[string]bool) {
	fb := c.fb
	p := decideFallback(v, leaving, fb.covers, fb.toFloor, fb.refusedAt, fb.pol)
	for k, n := range p.covers {
		old := fb.covers[k]
		switch {
		case n.target > old.target:
			c.log.Info("Spot short: covering on the fallback group", "cover", k, "from", fb.pol.from, "to", fb.pol.to, "was", old.target, "now", n.target)
		case n.target < old.target:
			c.log.Info("Spot recovered: giving the cover back", "cover", k, "was", old.target, "now", n.target)
		}
		if !n.coveredAt.IsZero() && old.coveredAt.IsZero() {
			c.metrics.fallbackReaction.Observe(n.coveredAt.Sub(n.startedAt).Seconds())
			c.mu.Lock()
			if len(c.stats.Fallback.Reaction) < maxKept {
				c.stats.Fallback.Reaction = append(c.stats.Fallback.Reaction, n.coveredAt.Sub(n.startedAt))
			}
			c.mu.Unlock()
		}
		c.metrics.cover.WithLabelValues(k).Set(float64(n.target))
	}
	for _, n := range p.returned {
		c.metrics.fallbackCycles.Inc()
		c.mu.Lock()
		c.stats.Fallback.Cycles++
		if !n.wholeAt.IsZero() {
			c.stats.Fallback.BackToSpot = append(c.stats.Fallback.BackToSpot, v.now.Sub(n.wholeAt))
			c.metrics.backToSpot.Observe(v.now.Sub(n.wholeAt).Seconds())
		}
		c.mu.Unlock()
	}
	fb.covers, fb.toFloor = p.covers, p.toFloor

	g := c.calls(0)
	for _, name := range slices.Sorted(maps.Keys(p.count)) {
		n := p.count[name]
		g.do(func() {
			c.call(ctx, "SetDesiredCount", func(ctx context.Context) error { return c.p.SetDesiredCount(ctx, name, n) })
		})
	}
	for _, group := range slices.Sorted(maps.Keys(p.desired)) {
		n := p.desired[group]
		g.do(func() {
			c.call(ctx, "SetDesiredCapacity", func(ctx context.Context) error { return c.p.SetDesiredCapacity(ctx, group, n) })
		})
	}
	g.wait()
}
