package controller

import (
	"math"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/manifest"
)

// The fallback covers a Spot shortfall of fallback.from on fallback.to within seconds and
// gives the cover back once Spot has recovered. Under workload instances the cover is
// capacity units on the to group (its desired capacity above the manifest's base); under
// workload ecs it is tasks of each service's companion service, which runs on the to
// capacity provider behind the same target group, plus the to group's capacity for them.
//
// One rule keeps it from ever dipping below the healthy count: the cover is raised to the
// from side's need, and lowered only to it, where the need counts what the from side does
// not serve with healthy capacity. A unit of cover therefore goes only once the Spot
// capacity that replaces it is healthy, and then only once returnAfter has passed since the
// last sign of shortage (a refused launch, or the need rising), which restarts whenever a
// pool fails again: a pool that flaps makes one cover-and-return cycle, not one per flap.

// fallbackPolicy is what the fallback decisions read from the manifest.
type fallbackPolicy struct {
	from, to    string
	after       time.Duration // an unclassified shortfall counts once it is this old
	returnAfter time.Duration
	ecs         bool
	fargate     bool                                           // from FARGATE_SPOT to FARGATE: services only, no group
	strategy    map[string][]manifest.CapacityProviderStrategy // service → its strategy
	toBase      int                                            // workload instances: the to group's own desired capacity
}

func newFallbackPolicy(m *manifest.Manifest) *fallbackPolicy {
	f := m.Fallback
	if f == nil {
		return nil
	}
	p := &fallbackPolicy{from: f.From, to: f.To, after: f.After.D(), returnAfter: f.ReturnAfter.D(),
		ecs: m.Workload == manifest.WorkloadECS, fargate: manifest.IsFargate(f.From),
		strategy: map[string][]manifest.CapacityProviderStrategy{}}
	for _, s := range m.Services {
		p.strategy[s.Name] = s.CapacityProviderStrategy
	}
	if g, ok := m.Group(f.To); ok {
		p.toBase = max(g.MinSize, g.DesiredCapacity)
	}
	return p
}

// shortfall is the from side of one cover, measured in one snapshot.
type shortfall struct {
	need    int // demand the from side does not serve with healthy capacity that stays
	pending int // demand not even launched (instances) or placed (tasks)
	serving int // what the cover serves with healthy capacity now
}

// cover is the state of one cover: a service's (ecs) or the from group's (instances).
type cover struct {
	target       int       // what the fallback provides: tasks or capacity units
	lastNeed     int       // the need last round
	pendingSince time.Time // when the current pending shortfall began; zero: none
	calmSince    time.Time // the last sign of shortage
	// One cover-and-return cycle, for the report: the first shortfall, the cover serving,
	// the from side whole again.
	startedAt, coveredAt, wholeAt time.Time
}

// step advances a cover by one round. refusedAt is the last capacity error of the from
// group.
func (c cover) step(s shortfall, refusedAt, now time.Time, pol *fallbackPolicy) cover {
	switch {
	case s.pending == 0:
		c.pendingSince = time.Time{}
	case c.pendingSince.IsZero():
		c.pendingSince = now
	}
	if refusedAt.After(c.calmSince) {
		c.calmSince = refusedAt
	}
	if s.need > c.lastNeed {
		c.calmSince = now
	}
	c.lastNeed = s.need
	// A capacity error in this pending episode (or just before the snapshot showed it)
	// counts at once; any other shortfall once it outlasts `after`. What is short is what
	// is neither served nor on its way (booting capacity serves soon).
	switch short, want := s.pending > 0 && (!refusedAt.Before(c.pendingSince.Add(-time.Minute)) || now.Sub(c.pendingSince) >= pol.after), min(s.need, s.pending); {
	case short && want > c.target:
		if c.target == 0 {
			c.startedAt, c.coveredAt, c.wholeAt = c.pendingSince, time.Time{}, time.Time{}
		}
		c.target = want
		c.calmSince = now
	case c.target > s.need && now.Sub(c.calmSince) >= pol.returnAfter:
		c.target = s.need
	}
	if c.target > 0 && c.coveredAt.IsZero() && s.serving >= c.target {
		c.coveredAt = now
	}
	if c.target > 0 && c.wholeAt.IsZero() && s.need == 0 {
		c.wholeAt = now
	}
	return c
}

// fallbackPlan is one round of fallback decisions.
type fallbackPlan struct {
	covers   map[string]cover
	desired  map[string]int // group → desired capacity to set
	count    map[string]int // companion service → desired count to set
	toFloor  int            // ecs: the to group's desired before any cover; -1 when not raised
	returned []cover        // cycles that ended this round
}

// decideFallback derives the cover of every service (ecs) or of the from group
// (instances) from the snapshot. covers and toFloor are the state the last round left.
func decideFallback(v *view, leaving map[string]bool, covers map[string]cover, toFloor int, refusedAt time.Time, pol *fallbackPolicy) fallbackPlan {
	p := fallbackPlan{covers: map[string]cover{}, desired: map[string]int{}, count: map[string]int{}, toFloor: toFloor}
	to := v.group[pol.to]
	if !pol.fargate && (to == nil || v.group[pol.from] == nil) {
		return p
	}
	next := func(k string, s shortfall) cover {
		c := covers[k].step(s, refusedAt, v.now, pol)
		if c.target == 0 && covers[k].target > 0 {
			p.returned = append(p.returned, c)
		}
		p.covers[k] = c
		return c
	}
	if !pol.ecs {
		c := next(pol.from, measureGroup(v, leaving, pol))
		want := min(max(pol.toBase+c.target, to.MinSize), to.MaxSize)
		if to.Desired != want {
			p.desired[pol.to] = want
		}
		return p
	}

	short, companion := measureServices(v, leaving, pol)
	demand, busy := 0.0, false
	if to != nil {
		demand, busy = toDemand(v, to, pol)
	}
	for name, s := range short {
		comp := companion[name]
		if comp == nil {
			continue // no companion service: nothing to cover with (see docs/controller.md)
		}
		c := next(name, s)
		if comp.Desired != c.target {
			p.count[comp.Name] = c.target
		}
		if to != nil {
			demand += float64(c.target) * taskShare(comp, to)
		}
		busy = busy || c.target > 0
	}
	if pol.fargate {
		return p // Fargate has no group to size: a task brings its own capacity
	}
	// The to group gets the instances its tasks need at once: ECS managed scaling would
	// add them only after its one-minute metric and alarm. Its floor is what it had
	// before the cover, which is never taken away.
	switch {
	case busy && toFloor < 0:
		p.toFloor = to.Desired
	case !busy && toFloor >= 0 && to.Desired == toFloor:
		p.toFloor = -1
	}
	if p.toFloor >= 0 {
		want := min(max(p.toFloor, int(math.Ceil(demand-1e-9)), to.MinSize), to.MaxSize)
		if to.Desired != want {
			p.desired[pol.to] = want
		}
	}
	return p
}

// measureGroup measures the from group in capacity units (workload instances).
func measureGroup(v *view, leaving map[string]bool, pol *fallbackPolicy) shortfall {
	desired := v.group[pol.from].Desired
	from, to := v.pic.byGroup[pol.from], v.pic.byGroup[pol.to]
	launched, healthy, cover := from.aliveWeight, from.healthyWeight, to.healthyWeight
	for id, out := range leaving {
		in := v.instance[id]
		if !out || in == nil || !in.Alive() {
			continue
		}
		switch in.Group {
		case pol.from:
			launched -= in.Weight
			if in.Healthy {
				healthy -= in.Weight
			}
		case pol.to:
			if in.Healthy {
				cover -= in.Weight
			}
		}
	}
	return shortfall{need: max(0, desired-healthy), pending: max(0, desired-launched), serving: max(0, cover-pol.toBase)}
}

// measureServices measures each service's tasks on the from provider, in one pass over
// the tasks (workload ecs). Tasks waiting in PROVISIONING for an instance that is booting
// are not pending: the group launched what they need. companion maps a service to the
// service covering it.
func measureServices(v *view, leaving map[string]bool, pol *fallbackPolicy) (map[string]shortfall, map[string]*spotfleet.Service) {
	companion := map[string]*spotfleet.Service{}
	for i := range v.snap.Services {
		if sv := &v.snap.Services[i]; sv.Covers != "" {
			companion[sv.Covers] = sv
		}
	}
	// The fleet's counts of every task and instance, then less what is on the instances
	// leaving: a round's work is the services and the leaving, not the tasks.
	healthy, pending, serving, live := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	for k, c := range v.pic.byTask {
		sv := v.service[k.service]
		switch {
		case sv == nil:
		case sv.Covers != "":
			serving[sv.Covers] += c.healthy
		case k.provider == pol.from:
			live[k.service] += c.all
			pending[k.service] += c.provisioning
			healthy[k.service] += c.healthy
		}
	}
	booting := v.pic.byGroup[pol.from].booting
	for id, out := range leaving {
		if !out {
			continue
		}
		for _, t := range v.tasksOn[id] {
			sv := v.service[t.Service]
			switch {
			case sv == nil:
			case sv.Covers != "":
				if t.Healthy {
					serving[sv.Covers]--
				}
			case t.Provider == pol.from:
				live[t.Service]--
				if t.Healthy && t.Status != spotfleet.TaskProvisioning {
					healthy[t.Service]--
				}
			}
		}
		if in := v.instance[id]; in != nil && in.Group == pol.from && in.Alive() && !in.Healthy {
			booting--
		}
	}
	from := v.group[pol.from]
	out := map[string]shortfall{}
	for i := range v.snap.Services {
		sv := &v.snap.Services[i]
		st, ok := pol.strategy[sv.Name]
		if sv.Covers != "" || !ok {
			continue
		}
		want := manifest.Split(st, sv.Desired)[pol.from]
		if pol.fargate {
			// Fargate creates no task it cannot place: what is short is what does not
			// exist, while a task that is starting is on its way.
			out[sv.Name] = shortfall{need: max(0, want-healthy[sv.Name]), pending: max(0, want-live[sv.Name]), serving: serving[sv.Name]}
			continue
		}
		slots := booting * max(1, int(1/taskShare(sv, from)))
		out[sv.Name] = shortfall{need: max(0, want-healthy[sv.Name]), pending: max(0, pending[sv.Name]-slots), serving: serving[sv.Name]}
	}
	return out, companion
}

// toDemand is the to group's demand in instances from the tasks that are not fallback
// tasks (as ECS managed scaling counts them), and whether any fallback task still runs
// there.
func toDemand(v *view, to *spotfleet.Group, pol *fallbackPolicy) (float64, bool) {
	demand, busy := 0.0, false
	for i := range v.snap.Services {
		sv := &v.snap.Services[i]
		n := v.pic.byTask[taskClass{sv.Name, pol.to}].all
		switch {
		case n == 0:
		case sv.Covers != "":
			busy = true
		default:
			demand += float64(n) * taskShare(sv, to)
		}
	}
	return demand, busy
}

// taskShare is the part of one of the group's instances a task of the service reserves:
// one instance when the group's size is unknown.
func taskShare(sv *spotfleet.Service, g *spotfleet.Group) float64 {
	if g.InstanceCPU <= 0 || g.InstanceMemory <= 0 {
		return 1
	}
	return max(float64(sv.CPU)/float64(g.InstanceCPU), float64(sv.Memory)/float64(g.InstanceMemory))
}
