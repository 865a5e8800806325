package controller

import (
	"slices"
	"time"

	"github.com/spotfleet/spotfleet"
)

// policy is what the decisions read from the manifest.
type policy struct {
	margin       time.Duration            // kept between a task's SIGKILL and the instance's end
	baseDelay    map[string]time.Duration // target group → the manifest's deregistration delay
	maxReplacing int                      // rebalance replace: instances replaced at once
	spotGroups   map[string]bool          // groups that launch Spot: the ones whose pools can be avoided
}

// plan is one round of decisions: calls to make, and what the notices reached.
type plan struct {
	delays     map[string]time.Duration // target group → deregistration delay to set
	avoid      map[string][]spotfleet.Pool
	deregister []deregistration
	drain      []targeted // container instance ARNs
	detach     []targeted // instance IDs, with their group
	terminate  []targeted // instance IDs
	stop       []targeted // task IDs
	admit      []key
	reached    []reach
	done       []key
}

type deregistration struct {
	notice      key
	targetGroup string
	target      spotfleet.TargetRef
}

type targeted struct {
	notice key
	id     string
	group  string
}

type reach struct {
	notice key
	phase  Phase
}

// decide derives the calls that move every notice forward from the current snapshot. It is
// level-triggered: a call whose effect the snapshot already shows is not made again, and
// one that failed is made again next round.
func decide(v *view, notices []*notice, pol policy, remember func(spotfleet.Pool) float64) plan {
	p := plan{delays: map[string]time.Duration{}, avoid: map[string][]spotfleet.Pool{}}
	leaving := leavingOf(notices)
	replacing := 0
	for _, n := range notices {
		if n.admitted {
			replacing++
		}
	}
	rest := v.without(leaving)
	want := map[string]time.Duration{} // target group → the delay its deregistrations need
	for tg, d := range pol.baseDelay {
		want[tg] = d
	}
	for _, n := range notices {
		if n.kind == spotfleet.KindTaskStopped {
			p.decideTask(v, n, rest)
			continue
		}
		in := v.instance[n.instance]
		if in == nil || !in.Alive() {
			p.reachIf(n, PhaseDeregistered, true)
			p.reachIf(n, PhaseStopped, true)
			p.reachIf(n, PhaseTerminated, true)
			p.done = append(p.done, n.key)
			continue
		}
		if n.action == actionReplace && !n.admitted {
			if replacing >= pol.maxReplacing {
				continue // waits its turn; its message stays held
			}
			replacing++
			rest.leave(n.instance)
			p.admit = append(p.admit, n.key)
		}
		m := p.movesOf(v, n, in, rest)
		switch n.action {
		case actionInterruption:
			m.interruption(v, pol, want)
		case actionDrain:
			m.rebalanceDrain()
		case actionReplace:
			m.rebalanceReplace()
		}
	}
	for tg, d := range want {
		if cur, ok := v.delay[tg]; ok && cur != d {
			p.delays[tg] = d
		}
	}
	for _, g := range v.snap.Groups {
		if !pol.spotGroups[g.Name] {
			continue
		}
		a := avoided(g.Pools, remember)
		if !samePools(a, g.Avoided) {
			p.avoid[g.Name] = a
		}
	}
	return p
}

// reachIf records that a notice reached a phase this round, the first time ok holds.
func (p *plan) reachIf(n *notice, ph Phase, ok bool) {
	if _, was := n.reached[ph]; ok && !was {
		p.reached = append(p.reached, reach{n.key, ph})
	}
}

// moves is where one instance's notice stands this round, and the calls that can move it:
// each adds its call to the plan unless the notice shows it made already.
type moves struct {
	p          *plan
	n          *notice
	in         *spotfleet.Instance
	registered []*spotfleet.Target // the instance's targets still in the load balancer
	stopped    bool                // nothing of the service runs on it any more
	ready      bool                // what it served is served elsewhere (replacementReady)
}

// movesOf reads where the notice stands, recording the phases it reached.
func (p *plan) movesOf(v *view, n *notice, in *spotfleet.Instance, rest *remaining) moves {
	m := moves{p: p, n: n, in: in, registered: v.registeredOn(n.instance)}
	m.stopped = len(v.tasksOn[n.instance]) == 0 && (in.ContainerInstance != "" || len(v.targetsOn[n.instance]) == 0)
	m.ready = replacementReady(v, n, rest)
	p.reachIf(n, PhaseDeregistered, len(m.registered) == 0)
	p.reachIf(n, PhaseStopped, m.stopped)
	p.reachIf(n, PhaseReplacementReady, m.ready)
	return m
}

// interruption moves a Spot interruption notice. Make before break: the instance drains at
// once (ECS starts the replacement tasks and stops each old one once a new one is healthy)
// and leaves its group (which launches its replacement now), but its targets serve until
// what they served is served elsewhere, or until the latest moment that still leaves them
// their deregistration delay, their stop timeout and the margin. It lowers, in want, the
// deregistration delay of its target groups to what the notice leaves.
func (m moves) interruption(v *view, pol policy, want map[string]time.Duration) {
	n := m.n
	budget := drainBudget(n, pol.margin)
	for _, t := range v.targetsOn[n.instance] {
		if d, ok := want[t.TargetGroup]; ok && budget < d {
			want[t.TargetGroup] = budget
		}
	}
	if m.ready || !v.now.Before(n.takeOutAt) {
		m.takeOut()
	} else {
		m.drain()
	}
	m.detach()
	// Once out of the load balancer, what still runs must stop with its full stop timeout
	// before the deadline. On ECS, draining stops the tasks, when the scheduler gets to
	// them: at the latest moment they are stopped (StopTask). Under workload instances
	// nothing else stops the service: the instance is shut down.
	if lastStop := n.deadline.Add(-n.stop - pol.margin); len(m.registered) > 0 || v.now.Before(lastStop) {
		return
	}
	switch {
	case m.in.ContainerInstance == "" && m.stopped:
		m.terminate()
	case m.in.ContainerInstance != "" && !n.tasksStopped:
		for _, t := range v.tasksOn[n.instance] {
			if t.Status == spotfleet.TaskPending || t.Status == spotfleet.TaskRunning {
				m.p.stop = append(m.p.stop, targeted{notice: n.key, id: t.ID})
			}
		}
	}
}

// rebalanceDrain moves a rebalance recommendation under "drain": the instance drains at
// once and leaves its group, which launches its replacement. On ECS, draining alone moves
// the tasks, as ECS replaces them (each old one stops once a new one is healthy, under
// minimumHealthyPercent): taking the targets out first stopped them all at once, and left
// the service short until the new ones were healthy, for a recommendation that may never
// turn into an interruption. Under workload instances nothing moves: the targets leave.
func (m moves) rebalanceDrain() {
	m.detach()
	if m.in.ContainerInstance != "" {
		m.drain()
	} else {
		m.takeOut()
	}
	if m.stopped {
		m.terminate()
	}
}

// rebalanceReplace moves a rebalance recommendation under "replace" once admitted: the
// group launches the replacement first; make before break, only then does the at-risk
// instance drain. On ECS, draining alone moves the tasks the way ECS replaces them, each
// old one deregistered and stopped once a new one is healthy (minimumHealthyPercent);
// taking the targets out first would stop them all at once.
func (m moves) rebalanceReplace() {
	m.detach()
	if !m.ready {
		return
	}
	if m.in.ContainerInstance != "" {
		m.drain()
	} else {
		m.takeOut()
	}
	if m.stopped {
		m.terminate()
	}
}

func (m moves) drain() {
	if m.in.ContainerStatus == spotfleet.ContainerInstanceActive && !m.n.drained {
		m.p.drain = append(m.p.drain, targeted{notice: m.n.key, id: m.in.ContainerInstance})
	}
}

// takeOut deregisters the instance's targets, and drains it.
func (m moves) takeOut() {
	for _, t := range m.registered {
		m.p.deregister = append(m.p.deregister, deregistration{m.n.key, t.TargetGroup, t.Ref()})
	}
	m.drain()
}

func (m moves) detach() {
	if m.in.Group != "" && !m.n.detached {
		m.p.detach = append(m.p.detach, targeted{notice: m.n.key, id: m.in.ID, group: m.in.Group})
	}
}

func (m moves) terminate() {
	if !m.n.terminated {
		m.p.terminate = append(m.p.terminate, targeted{notice: m.n.key, id: m.in.ID})
	}
}

// decideTask moves the notice of a Fargate Spot task: it got SIGTERM with its warning, so
// nothing is worth waiting for. Its targets leave the load balancer at once (ECS leaves
// them registered until the task is STOPPED), and the service has already started its
// replacement (a task stopping does not count toward its desired count).
func (p *plan) decideTask(v *view, n *notice, rest *remaining) {
	registered := v.registeredOn(n.instance)
	for _, t := range registered {
		p.deregister = append(p.deregister, deregistration{n.key, t.TargetGroup, t.Ref()})
	}
	gone := len(v.tasksOn[n.instance]) == 0
	ready := replacementReady(v, n, rest)
	p.reachIf(n, PhaseDeregistered, len(registered) == 0 || gone)
	p.reachIf(n, PhaseReplacementReady, ready)
	p.reachIf(n, PhaseStopped, gone)
	// The notice stays until the replacement serves (or the two minutes are over), so that
	// its phases say when the service was whole again.
	if gone && (ready || !v.now.Before(n.deadline)) {
		p.done = append(p.done, n.key)
	}
}

// leavingOf lists the instances on their way out, whose capacity does not count as
// serving. An at-risk instance still waiting for its turn to be replaced serves as any
// other.
func leavingOf(notices []*notice) map[string]bool {
	leaving := make(map[string]bool, len(notices))
	for _, n := range notices {
		if n.action != actionReplace || n.admitted {
			leaving[n.instance] = true
		}
	}
	return leaving
}

// takeOutAt is the latest moment an interrupted instance's targets can leave the load
// balancer while no replacement serves, so that the requests in flight still finish and
// the tasks stop within their stop timeout, a margin before the deadline. A request in
// flight needs at most the target group's deregistration delay (the bound its owner set);
// after deregistration it has the drain, then the stop timeout, which a service that stops
// gracefully spends finishing what it serves. So the drain before SIGTERM is the part of the
// delay the stop timeout does not cover, and at least a second for the load balancer to
// stop routing new requests.
//
// Leaving with the whole deregistration delay before the stop timeout took a service whose
// tasks all sat on the instance out of the load balancer 96 seconds before the instance
// ended (S4: a 45 s delay, a 45 s stop timeout), with nothing to route to until the
// replacement was healthy, while ECS alone served on until the end.
func takeOutAt(n *notice, v *view, pol policy) time.Time {
	var drain time.Duration
	for _, t := range v.targetsOn[n.instance] {
		delay := pol.baseDelay[t.TargetGroup]
		drain = max(drain, min(delay, max(delay-n.stop, lbStopsRouting)))
	}
	return n.deadline.Add(-n.stop - pol.margin - drain)
}

// lbStopsRouting is how long a load balancer takes to stop sending new requests to a
// deregistered target, at most (the emulator's does at once; ALB documents no figure).
const lbStopsRouting = time.Second

// drainBudget is how long an interrupted instance's targets may drain: what is left of the
// notice once the tasks have their full stop timeout and a margin. It is fixed when the
// notice arrives, so the delay it sets does not change every round.
func drainBudget(n *notice, margin time.Duration) time.Duration {
	b := n.deadline.Sub(n.receivedAt) - n.stop - margin
	return max(min(b, spotfleet.SpotNotice), 0).Truncate(time.Second)
}

// replacementReady says whether what the instance served is served elsewhere again: after an
// interruption, every service that had tasks on it is at its desired count of healthy
// tasks off instances on their way out; otherwise (workload instances, and the replacement instance
// of a rebalance, which must exist before the tasks can move) the group's healthy capacity
// off instances on their way out is at its desired.
func replacementReady(v *view, n *notice, rest *remaining) bool {
	if n.action == actionInterruption && len(n.services) > 0 {
		for _, s := range n.services {
			if sv := v.service[s]; sv != nil && rest.healthy[s] < sv.Desired {
				return false
			}
		}
		return true
	}
	g := v.group[n.group]
	return g == nil || rest.serving[n.group] >= g.Desired
}

func samePools(a, b []spotfleet.Pool) bool {
	if len(a) != len(b) {
		return false
	}
	for _, p := range a {
		if !slices.Contains(b, p) {
			return false
		}
	}
	return true
}
