package controller

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/spotfleet/spotfleet"
)

// callTimeout bounds every provider call: a hung call must not hold the pipeline past a
// notice's two minutes.
const callTimeout = 10 * time.Second

// apply makes the plan's calls, batched (one call per target group, per group, per kind):
// deregistration delays, then deregistrations and pools to avoid, then drains, detaches,
// task stops and terminations. It records on each notice the calls that succeeded. A
// failed call is logged and counted; the next round derives it again.
func (c *Controller) apply(ctx context.Context, p plan) {
	var mu sync.Mutex // guards notice flags and phases written from the calls
	mark := func(keys []key, set func(n *notice)) {
		mu.Lock()
		defer mu.Unlock()
		for _, k := range keys {
			if n := c.notices[k]; n != nil {
				set(n)
			}
		}
	}

	g := c.calls(0)
	for _, tg := range slices.Sorted(maps.Keys(p.delays)) {
		d := p.delays[tg]
		g.do(func() {
			c.call(ctx, "SetDeregistrationDelay", func(ctx context.Context) error { return c.p.SetDeregistrationDelay(ctx, tg, d) })
		})
	}
	g.wait()

	// Pools to avoid go with the deregistrations, before any replacement is launched.
	for _, group := range slices.Sorted(maps.Keys(p.avoid)) {
		pools := p.avoid[group]
		g.do(func() {
			if c.call(ctx, "AvoidPools", func(ctx context.Context) error { return c.p.AvoidPools(ctx, group, pools) }) == nil && len(pools) > 0 {
				c.log.Info("keeping new Spot capacity out of remembered pools", "group", group, "pools", pools)
			}
		})
	}
	byTG := map[string][]deregistration{}
	for _, d := range p.deregister {
		byTG[d.targetGroup] = append(byTG[d.targetGroup], d)
	}
	failed := map[key]bool{}
	for _, tg := range slices.Sorted(maps.Keys(byTG)) {
		ds := byTG[tg]
		g.do(func() {
			refs := make([]spotfleet.TargetRef, len(ds))
			for i, d := range ds {
				refs[i] = d.target
			}
			err := c.call(ctx, "DeregisterTargets", func(ctx context.Context) error { return c.p.DeregisterTargets(ctx, tg, refs) })
			mu.Lock()
			defer mu.Unlock()
			for _, d := range ds {
				failed[d.notice] = failed[d.notice] || err != nil
			}
		})
	}
	g.wait()
	now := c.clk.Now()
	for _, d := range p.deregister {
		if n := c.notices[d.notice]; n != nil && !failed[d.notice] && !n.deregistered {
			n.deregistered = true
			c.reach(n, PhaseDeregistered, now)
		}
	}

	if len(p.drain) > 0 {
		g.do(func() {
			arns := ids(p.drain)
			if c.call(ctx, "DrainContainerInstances", func(ctx context.Context) error { return c.p.DrainContainerInstances(ctx, arns) }) == nil {
				mark(keys(p.drain), func(n *notice) { n.drained = true })
			}
		})
	}
	byGroup := map[string][]targeted{}
	for _, d := range p.detach {
		byGroup[d.group] = append(byGroup[d.group], d)
	}
	for _, group := range slices.Sorted(maps.Keys(byGroup)) {
		ds := byGroup[group]
		g.do(func() {
			if c.call(ctx, "DetachInstances", func(ctx context.Context) error { return c.p.DetachInstances(ctx, group, ids(ds)) }) == nil {
				mark(keys(ds), func(n *notice) { n.detached = true })
			}
		})
	}
	if len(p.stop) > 0 {
		g.do(func() {
			if c.call(ctx, "StopTasks", func(ctx context.Context) error {
				return c.p.StopTasks(ctx, ids(p.stop), "spotfleet: the Spot instance is interrupted; stopped within its stop timeout before the deadline")
			}) == nil {
				mark(keys(p.stop), func(n *notice) { n.tasksStopped = true })
			}
		})
	}
	if len(p.terminate) > 0 {
		g.do(func() {
			if c.call(ctx, "TerminateInstances", func(ctx context.Context) error { return c.p.TerminateInstances(ctx, ids(p.terminate)) }) == nil {
				mark(keys(p.terminate), func(n *notice) { n.terminated = true })
			}
		})
	}
	g.wait()
}

// calls runs a round's calls to different resources at once (at most limit together; 0:
// no bound), or one after the other in the order given under Config.Sequential, which a
// simulation needs to give the same result on every run.
func (c *Controller) calls(limit int) *callGroup {
	g := &callGroup{sequential: c.cfg.Sequential}
	if limit > 0 {
		g.slots = make(chan struct{}, limit)
	}
	return g
}

type callGroup struct {
	sequential bool
	slots      chan struct{}
	wg         sync.WaitGroup
}

func (g *callGroup) do(f func()) {
	if g.sequential {
		f()
		return
	}
	if g.slots != nil {
		g.slots <- struct{}{}
	}
	g.wg.Go(func() {
		f()
		if g.slots != nil {
			<-g.slots
		}
	})
}

func (g *callGroup) wait() { g.wg.Wait() }

// call makes one provider call with a timeout, counting and logging its result.
func (c *Controller) call(ctx context.Context, name string, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	err := c.fence(ctx)
	if err == nil {
		err = f(ctx)
	}
	if err != nil {
		c.metrics.calls.WithLabelValues(name, "error").Inc()
		c.log.Warn("provider call failed; retrying next round", "call", name, "err", err)
		return err
	}
	c.metrics.calls.WithLabelValues(name, "ok").Inc()
	return nil
}

func ids(ts []targeted) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		if !slices.Contains(out, t.id) {
			out = append(out, t.id)
		}
	}
	return out
}

func keys(ts []targeted) []key {
	out := make([]key, len(ts))
	for i, t := range ts {
		out[i] = t.notice
	}
	return out
}
