package controller

import (
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/manifest"
)

// Phase is a step of an interruption or rebalance, as notifications and metrics name it.
type Phase string

const (
	PhaseReceived         Phase = "received"
	PhaseDeregistered     Phase = "deregistered"
	PhaseReplacementReady Phase = "replacement-ready"
	PhaseStopped          Phase = "stopped"
	PhaseTerminated       Phase = "terminated"
)

// action is what a notice is followed by: an interruption's, or the manifest's rebalance
// action for a rebalance recommendation.
type action string

const (
	actionInterruption action = "interruption"
	actionReplace      action = action(manifest.RebalanceReplace)
	actionDrain        action = action(manifest.RebalanceDrain)
	actionIgnore       action = action(manifest.RebalanceIgnore)
)

// key identifies a notice: events are deduplicated by instance and kind.
type key struct {
	instance string
	kind     spotfleet.EventKind // KindInterruption or KindRebalance
}

// notice is one interruption or rebalance recommendation being acted on. The flags record
// calls that succeeded, so that the same call is not made twice for one notice; everything
// else is re-derived from each snapshot.
type notice struct {
	key
	action     action
	group      string // the instance's group when the notice came
	pool       spotfleet.Pool
	receivedAt time.Time
	deadline   time.Time     // interruptions: when the instance goes
	held       []held        // queue messages kept until the notice is done
	services   []string      // services that had tasks on the instance
	stop       time.Duration // the longest stop timeout of what runs on the instance
	takeOutAt  time.Time     // interruptions: when the targets must leave at the latest

	admitted                                                  bool // rebalance replace: counted against the rate limit
	deregistered, drained, detached, terminated, tasksStopped bool
	reached                                                   map[Phase]time.Time
}

// held is a queue message kept invisible while its notice is handled.
type held struct {
	id, receipt string
}

func (n *notice) receipts() []string {
	out := make([]string, len(n.held))
	for i, h := range n.held {
		out[i] = h.receipt
	}
	return out
}

// reachedBefore says whether the notice reached a phase before t.
func (n *notice) reachedBefore(p Phase, t time.Time) bool {
	at, ok := n.reached[p]
	return ok && at.Before(t)
}
