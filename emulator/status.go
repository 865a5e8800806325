package emulator

import (
	"cmp"
	"slices"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/fleetview"
)

// Status snapshots the account. load may be nil.
func (e *Emulator) Status(load LoadStats) fleetview.Status {
	rep := e.Report(load)
	e.lock()
	defer e.unlock()
	st := fleetview.Status{Fleet: e.m.Name, Workload: e.m.Workload, EmulatedSeconds: round(e.elapsed().Seconds(), 1), Report: rep}
	st.Listeners = e.Listeners()
	for _, g := range e.groups {
		gs := fleetview.GroupStatus{Name: g.cfg.Name, Desired: g.desired}
		for _, in := range g.live {
			if in.state == spotfleet.InstanceRunning {
				gs.InService++
			} else {
				gs.Pending++
			}
		}
		if n := len(g.activities); n > 0 {
			a := g.activities[n-1].Activity
			gs.LastActivity = &a
		}
		st.Groups = append(st.Groups, gs)
	}
	for _, p := range e.market.pools {
		free := p.free()
		if p.depth == Unlimited {
			free = Unlimited
		}
		st.Pools = append(st.Pools, fleetview.PoolStatus{Pool: p.Pool.String(), Free: free})
	}
	for _, s := range e.services {
		ss := fleetview.ServiceStatus{Name: s.cfg.Name, Desired: s.desiredUnits(), Healthy: s.ownHealthyUnits()}
		if s.throttled() {
			ss.Throttled = s.throttledUntil.Sub(e.now).Round(time.Second).String()
		}
		if s.covers != nil {
			ss.Covers = s.covers.cfg.Name
		}
		st.Services = append(st.Services, ss)
	}
	for _, in := range e.instOrder {
		if in.state == spotfleet.InstanceTerminated {
			continue
		}
		group := in.g.cfg.Name
		if in.detached {
			group += " (detached)"
		}
		is := fleetview.InstanceStatus{ID: in.id, Group: group, Pool: in.pool.String(), Lifecycle: in.lifecycle, State: in.state, IP: in.ip, Rebalance: !in.rebalanceAt.IsZero()}
		if in.ci != nil {
			is.Container = string(in.ci.status)
		}
		if in.noticed() && in.alive() {
			is.NoticeIn = in.deadline.Sub(e.now).Round(time.Second).String()
		}
		st.Instances = append(st.Instances, is)
		if in.alive() {
			rate := in.pool.spotPrice(e.elapsed())
			if in.lifecycle == spotfleet.OnDemand {
				rate = in.pool.OnDemandPrice()
			}
			st.CostPerHour += rate
			st.AllOnDemandHour += in.pool.OnDemandPrice()
		}
	}
	for _, s := range e.services {
		for _, t := range s.tasks {
			rate, od := t.fargateRate()
			st.CostPerHour += rate
			st.AllOnDemandHour += od
		}
	}
	st.CostPerHour, st.AllOnDemandHour = round(st.CostPerHour, 4), round(st.AllOnDemandHour, 4)
	for _, s := range e.services {
		for _, t := range s.tasks {
			ts := fleetview.TaskStatus{ID: t.id, Service: s.cfg.Name, Status: t.status, Provider: t.provider, Healthy: t.healthy()}
			if t.ci != nil || t.zone != "" {
				ts.Instance, ts.Address, ts.Zone = t.hostInstance(), t.ip, t.zoneOf()
			}
			st.Tasks = append(st.Tasks, ts)
		}
	}
	for _, tg := range e.tgs {
		ts := slices.SortedFunc(slices.Values(tg.targets), func(a, b *target) int {
			return cmp.Or(a.registeredAt.Compare(b.registeredAt), cmp.Compare(a.id, b.id))
		})
		for _, t := range ts {
			st.Targets = append(st.Targets, fleetview.TargetStatus{Group: tg.name, ID: t.id, Instance: t.instanceID, State: t.state, InFlight: t.inflight.Load(), Requests: t.requests.Load()})
		}
	}
	st.Recent = e.journal.Last(8)
	return st
}
