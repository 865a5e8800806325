package emulator

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/scenario"
	"github.com/spotfleet/spotfleet/fleetview"
)

// The actions a person takes on a running emulator (spotfleet interrupt and capacity, the
// dashboard's buttons): each does what the scenario step of the same name does, to the
// instances or pools named, and is noted in the live view and the report.

// InterruptRequest names what to interrupt: an instance ID, a task ID (its instance, or a
// Fargate Spot task itself), or pool globs (TYPE/ZONE, FARGATE_SPOT/ZONE) with Count or
// Fraction of their Spot instances and Fargate Spot tasks (one when neither is set).
// Rebalance sends rebalance recommendations instead of interruption notices.
type InterruptRequest struct {
	Target    string  `json:"target"`
	Count     int     `json:"count,omitempty"`
	Fraction  float64 `json:"fraction,omitempty"`
	Rebalance bool    `json:"rebalance,omitempty"`
}

// ErrNotFound is an action's target that does not exist (errors.Is); other errors are
// requests that cannot be taken as they are.
var ErrNotFound = errors.New("not found")

// notFound is an ErrNotFound that says what was not found, and where to look.
type notFound struct{ msg string }

func (e notFound) Error() string        { return e.msg }
func (e notFound) Is(target error) bool { return target == ErrNotFound }

// Interrupt gives the instances the request names their notice (or recommendation), and
// returns their IDs. Nothing happens when the request is refused.
func (e *Emulator) Interrupt(req InterruptRequest) ([]string, error) {
	switch {
	case req.Count < 0:
		return nil, fmt.Errorf("count %d: give 1 or more", req.Count)
	case req.Fraction < 0 || req.Fraction > 1 || math.IsNaN(req.Fraction):
		return nil, fmt.Errorf("fraction %g: give a share from 0 to 1 (0.5 is half of them)", req.Fraction)
	case req.Count > 0 && req.Fraction > 0:
		return nil, fmt.Errorf("give a count or a fraction, not both")
	}
	e.lock()
	defer e.unlock()
	targets, what, err := e.interruptTargets(req)
	if err != nil {
		return nil, err
	}
	verb := "interrupt"
	if req.Rebalance {
		verb = "rebalance recommendation for"
	}
	var ids []string
	for _, v := range targets {
		if req.Rebalance {
			e.recommendRebalance(v.in)
		} else {
			e.reclaim(v)
		}
		ids = append(ids, v.id())
	}
	if !req.Rebalance {
		e.acct.Burst(len(ids))
	}
	if !strings.Contains(what, ids[0]) { // pools: say which instances they gave
		what += ": " + strings.Join(ids, ", ")
	}
	e.action(verb + " " + what)
	return ids, nil
}

// victim is what an interruption takes: a Spot instance, or a Fargate Spot task.
type victim struct {
	in   *instance
	task *task
}

func (v victim) id() string {
	if v.task != nil {
		return v.task.id
	}
	return v.in.id
}

func (e *Emulator) interruptTargets(req InterruptRequest) ([]victim, string, error) {
	t := strings.TrimSpace(req.Target)
	if t == "" {
		return nil, "", errors.New("name an instance ID, a task ID or pools (TYPE/ZONE, * as a wildcard)")
	}
	var in *instance
	switch {
	case strings.HasPrefix(t, "i-"):
		in = e.instances[t]
		if in == nil || !in.alive() {
			return nil, "", notFound{fmt.Sprintf("no running instance %s (spotfleet status lists them)", t)}
		}
	case strings.Contains(t, "/"):
		pools := e.market.match(strings.Split(t, ","))
		live := e.victimsOf(pools)
		if req.Rebalance { // Fargate Spot sends no rebalance recommendation
			live = slices.DeleteFunc(live, func(v victim) bool { return v.task != nil })
		}
		if len(live) == 0 {
			return nil, "", notFound{fmt.Sprintf("pools %s hold no running Spot instance or Fargate Spot task without a notice (pools are TYPE/ZONE, such as m5.large/*, */us-east-1a or FARGATE_SPOT/*)", t)}
		}
		n := max(share(req.Count, req.Fraction, len(live)), 1)
		return live[:n], fmt.Sprintf("%d of %d in %s", n, len(live), t), nil
	default:
		if tk := e.fargateTask(t); tk != nil {
			switch {
			case tk.pool == nil:
				return nil, "", fmt.Errorf("task %s runs on FARGATE: only Fargate Spot tasks get interruption warnings", t)
			case req.Rebalance:
				return nil, "", fmt.Errorf("task %s runs on Fargate Spot, which sends no rebalance recommendation", t)
			case tk.stopCode != "" || (tk.status != spotfleet.TaskPending && tk.status != spotfleet.TaskRunning):
				return nil, "", fmt.Errorf("task %s is not running, or already has its warning", t)
			}
			return []victim{{task: tk}}, "Fargate Spot task " + t, nil
		}
		in = e.instanceOfTask(t)
		if in == nil {
			return nil, "", notFound{fmt.Sprintf("%q is not a running instance or task, nor pools (TYPE/ZONE)", t)}
		}
	}
	switch {
	case in.lifecycle != spotfleet.Spot:
		return nil, "", fmt.Errorf("instance %s is On-Demand: only Spot instances get interruption notices", in.id)
	case in.noticed():
		return nil, "", fmt.Errorf("instance %s already has its notice", in.id)
	case req.Rebalance && !in.rebalanceAt.IsZero():
		return nil, "", fmt.Errorf("instance %s already has a rebalance recommendation", in.id)
	}
	what := "instance " + in.id
	if in.id != t {
		what = "task " + t + " on " + in.id
	}
	return []victim{{in: in}}, what, nil
}

// fargateTask is the Fargate task of that ID (or short ID) that is not STOPPED; nil for
// none.
func (e *Emulator) fargateTask(id string) *task {
	for _, s := range e.services {
		for _, t := range s.tasks {
			if fleetview.TaskIDMatches(t.id, id) && t.fargate() {
				return t
			}
		}
	}
	return nil
}

// instanceOfTask is the live instance a task (by ID or short ID) runs on; nil for none.
func (e *Emulator) instanceOfTask(id string) *instance {
	for _, in := range e.instOrder {
		if in.ci == nil || !in.alive() {
			continue
		}
		if slices.ContainsFunc(in.ci.tasks, func(t *task) bool { return fleetview.TaskIDMatches(t.id, id) }) {
			return in
		}
	}
	return nil
}

// SetSpotCapacity sets the free Spot capacity of the pools the globs match (Unlimited for
// no limit), and returns their names.
func (e *Emulator) SetSpotCapacity(patterns []string, n scenario.Count) ([]string, error) {
	if n < 0 && n != scenario.Unlimited {
		return nil, fmt.Errorf("capacity %d: give 0 or more instances, or unlimited", n)
	}
	e.lock()
	defer e.unlock()
	pools := e.market.match(patterns)
	if len(pools) == 0 {
		return nil, notFound{fmt.Sprintf("pools %s match none of the fleet's (TYPE/ZONE, such as m5.large/* or */us-east-1a)", strings.Join(patterns, ", "))}
	}
	var names []string
	for _, p := range pools {
		p.setFree(int(n))
		names = append(names, p.Pool.String())
	}
	what := "unlimited"
	if n != scenario.Unlimited {
		what = strconv.Itoa(int(n))
	}
	e.action(fmt.Sprintf("Spot capacity of %s: %s", strings.Join(names, ", "), what))
	e.capacityChanged()
	return names, nil
}

// action notes an action taken by hand and keeps it for the report. Callers hold the lock.
func (e *Emulator) action(what string) {
	e.note("by hand: %s", what)
	e.actions = append(e.actions, fleetview.Action{AtSeconds: round(e.elapsed().Seconds(), 1), What: what})
}
