package agent

import (
	"context"
	"log/slog"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/clock"
)

// Notice is what the metadata service showed.
type Notice struct {
	Kind   spotfleet.EventKind // KindInterruption or KindRebalance
	Action string              // interruption: terminate, stop or hibernate
	Time   time.Time           // interruption: when it happens; rebalance: when it was recommended
}

// Watcher polls the metadata service and calls On once per kind of notice.
type Watcher struct {
	IMDS      *IMDS
	Interval  time.Duration // default 1s
	Rebalance bool          // also watch rebalance recommendations
	Clock     clock.Clock
	Log       *slog.Logger
	On        func(context.Context, Notice)
}

// Watch polls until ctx ends. A metadata service that does not answer is logged and tried
// again: a notice must not be missed because of one failed poll.
func (w *Watcher) Watch(ctx context.Context) error {
	seen := map[spotfleet.EventKind]bool{}
	interval := w.Interval
	if interval <= 0 {
		interval = time.Second
	}
	failing := false
	for {
		err := w.poll(ctx, seen)
		if err != nil && ctx.Err() == nil && !failing {
			w.Log.Warn("cannot read the metadata service; retrying every poll", "err", err)
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return nil
		case <-w.Clock.After(interval):
		}
	}
}

func (w *Watcher) poll(ctx context.Context, seen map[spotfleet.EventKind]bool) error {
	if !seen[spotfleet.KindInterruption] {
		a, err := decode[instanceAction](w.IMDS.Get(ctx, "spot/instance-action"))
		if err != nil {
			return err
		}
		if a != nil {
			seen[spotfleet.KindInterruption] = true
			w.On(ctx, Notice{Kind: spotfleet.KindInterruption, Action: a.Action, Time: a.Time})
		}
	}
	if w.Rebalance && !seen[spotfleet.KindRebalance] && !seen[spotfleet.KindInterruption] {
		r, err := decode[rebalance](w.IMDS.Get(ctx, "events/recommendations/rebalance"))
		if err != nil {
			return err
		}
		if r != nil {
			seen[spotfleet.KindRebalance] = true
			w.On(ctx, Notice{Kind: spotfleet.KindRebalance, Time: r.NoticeTime})
		}
	}
	return nil
}
