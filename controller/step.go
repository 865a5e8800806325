package controller

import (
	"context"
	"time"
)

// Step is one observe-decide-act round driven from outside, as `spotfleet simulate` drives
// the controller on virtual time: it takes every visible message of the queue without
// waiting (and the agents' reports), then decides and acts as Run's rounds do. Run must not
// be running; the queue's long polls and the webhooks are not used.
func (c *Controller) Step(ctx context.Context) {
	batch := c.pending
	c.pending = nil
	for c.q != nil {
		msgs, err := c.q.ReceiveMessages(ctx, 10, 0, c.cfg.Visibility)
		if err != nil || len(msgs) == 0 {
			break
		}
		for i := range msgs {
			batch = append(batch, inputOf(&msgs[i]))
		}
	}
	c.round(ctx, c.drainInbox(batch))
}

// NextWake is the next moment at which the controller's decisions change with time alone,
// with no new event and nothing new in the fleet: an interrupted instance's latest moment to
// leave the load balancer or to stop, a shortfall that outlasts fallback.after, a cover
// whose returnAfter ends, a remembered pool that is forgotten, a held message to keep
// invisible. Zero when there is none. A simulation steps the controller then, and whenever
// an event arrives or the fleet changes, which is where a round every Tick would act too.
func (c *Controller) NextWake() time.Time {
	now := c.clk.Now()
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, n := range c.notices {
		if n.action == actionInterruption {
			consider(n.takeOutAt)
			consider(n.deadline.Add(-n.stop - c.pol.margin))
		}
		for _, h := range n.held {
			consider(c.extended[h.receipt].Add(c.cfg.Visibility / 3))
		}
	}
	if c.fb != nil {
		for _, cv := range c.fb.covers {
			if !cv.pendingSince.IsZero() {
				consider(cv.pendingSince.Add(c.fb.pol.after))
			}
			if cv.target > 0 {
				consider(cv.calmSince.Add(c.fb.pol.returnAfter))
			}
		}
	}
	consider(c.mem.forgetting(now))
	return next
}

// Tick is how often the controller observes the fleet when nothing happens.
func (c *Controller) Tick() time.Duration { return c.cfg.Tick }
