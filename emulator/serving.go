package emulator

import (
	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/account"
	"github.com/spotfleet/spotfleet/manifest"
)

// What a service serves, as its users feel it. A unit (a task, or under workload instances
// the capacity of an instance) serves while its process answers (it runs, and no one has
// told it to stop) and, behind a load balancer, while its target is routable: healthy, or
// unhealthy when no target of its group is healthy (an ALB then fails open and routes to
// every one). A target whose process is gone still looks healthy until its health checks
// fail: it does not serve, and the requests sent to it fail.
//
// Requests are a fluid: a service is offered its requests per second (a scenario's load
// on the service it reaches, else defaultRPSPerTask for each desired task), spread evenly
// over its routable targets, as round robin does; those sent to a target whose process
// does not answer fail, and all of them fail when none is routable. Without a load
// balancer the share that fails is the share of desired units not serving (a worker short
// of capacity). up measures the same with real requests (TestFluidRequestsMatchUp).

// defaultRPSPerTask is the load a simulation assumes per desired task when no scenario
// gives one: only the share of requests that fail is reported, so its scale only weighs
// services against each other.
const defaultRPSPerTask = 10

// servingView is what the target groups route now, read once per change of the world.
type servingView struct {
	e      *Emulator
	groups map[*targetGroup]routing
}

type routing struct {
	healthy             bool // some target is healthy: only healthy ones are routable
	routable, answering int
}

func (e *Emulator) servingNow() servingView {
	v := servingView{e: e, groups: map[*targetGroup]routing{}}
	for _, tg := range e.tgs {
		var r routing
		for _, t := range tg.targets {
			r.healthy = r.healthy || t.state == spotfleet.TargetHealthy
		}
		for _, t := range tg.targets {
			if r.is(t) {
				r.routable++
				if e.answers(t) {
					r.answering++
				}
			}
		}
		v.groups[tg] = r
	}
	return v
}

// is says whether the load balancer routes to t.
func (r routing) is(t *target) bool {
	if r.healthy {
		return t.state == spotfleet.TargetHealthy
	}
	return t.state == spotfleet.TargetUnhealthy
}

// answers says whether a target's process answers: its task runs, or its instance's
// service runs and was not told to stop.
func (e *Emulator) answers(t *target) bool {
	if t.task != nil {
		return t.task.answers()
	}
	in := e.instances[t.instanceID]
	return in != nil && in.alive() && in.app != nil && in.app.target == t && in.app.answers()
}

func (t *task) answers() bool { return t.status == spotfleet.TaskRunning && alive(t.proc) }

func (a *instanceApp) answers() bool { return !a.stopping && alive(a.proc) }

// of is one manifest service now: its serving and desired units, its load, and the share
// of it that fails.
func (v servingView) of(s *service) account.ServiceRate {
	e := v.e
	r := account.ServiceRate{Desired: s.desiredUnits()}
	if e.m.Workload == manifest.WorkloadInstances {
		for _, in := range e.instOrder {
			if in.alive() && in.app != nil && in.app.answers() && v.routes(in.app.target, in.leaving, s.tg != nil) {
				r.Serving += in.weight
			}
		}
	} else {
		for _, x := range e.services {
			if x != s && x.covers != s {
				continue
			}
			for _, t := range x.tasks {
				if t.answers() && v.routes(t.target, false, s.tg != nil) {
					r.Serving++
				}
			}
		}
	}
	r.RPS = defaultRPSPerTask * float64(r.Desired)
	if e.loadOn != nil && e.loadOn == s.tg {
		r.RPS = e.opt.Load.RPS
	}
	switch {
	case s.tg != nil:
		g := v.groups[s.tg]
		r.Failing = 1
		if g.routable > 0 {
			r.Failing = float64(g.routable-g.answering) / float64(g.routable)
		}
	case r.Desired > 0:
		r.Failing = float64(max(0, r.Desired-r.Serving)) / float64(r.Desired)
	}
	return r
}

// routes says whether a unit with this target (nil for none yet) gets requests: a
// routable target, or, without a load balancer, a unit that is not leaving.
func (v servingView) routes(t *target, leaving, lb bool) bool {
	if t == nil {
		return !lb && !leaving
	}
	return v.groups[t.tg].is(t)
}
