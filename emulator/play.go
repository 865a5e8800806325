package emulator

import (
	"math"
	"strconv"

	"github.com/spotfleet/spotfleet/emulator/market"
	"github.com/spotfleet/spotfleet/emulator/scenario"
)

// Play schedules the scenario's steps on the emulator, from its start. Check it first: a
// pattern that matches none of the fleet's pools is an error here too.
func (e *Emulator) Play(sc *scenario.Scenario) error {
	if err := sc.Check(e.m, 0).Err(); err != nil {
		return err
	}
	e.lock()
	defer e.unlock()
	for _, st := range sc.Steps {
		e.at(e.start.Add(st.At.D()), func() { e.step(st) })
	}
	return nil
}

func (e *Emulator) step(st scenario.Step) {
	pools := e.market.match(st.Pools())
	switch {
	case st.SpotCapacity != nil:
		for _, p := range pools {
			p.setFree(int(st.SpotCapacity.Instances))
		}
		what := "unlimited"
		if st.SpotCapacity.Instances != scenario.Unlimited {
			what = strconv.Itoa(int(st.SpotCapacity.Instances))
		}
		e.note("market: Spot capacity of %v is now %s", st.SpotCapacity.Pools, what)
		e.capacityChanged()
	case st.Interrupt != nil:
		live := e.victimsOf(pools)
		n := share(st.Interrupt.Count, st.Interrupt.Fraction, len(live))
		e.note("market: interrupting %d of %d Spot instances and Fargate Spot tasks in %v", n, len(live), st.Interrupt.Pools)
		e.acct.Burst(n)
		for _, v := range live[:n] {
			e.reclaim(v)
		}
	case st.Rebalance != nil:
		live := e.spotIn(pools)
		for _, in := range live[:min(st.Rebalance.Count, len(live))] {
			e.recommendRebalance(in)
		}
	}
}

// victimsOf lists the interruptible Spot instances and Fargate Spot tasks of some pools in a
// seeded random order.
func (e *Emulator) victimsOf(pools []*pool) []victim {
	var live []victim
	for _, p := range pools {
		live = append(live, e.victimsIn(p)...)
	}
	e.rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
	return live
}

// spotIn lists the interruptible Spot instances of some pools in a seeded random order.
func (e *Emulator) spotIn(pools []*pool) []*instance {
	var live []*instance
	for _, p := range pools {
		live = append(live, e.spotInstancesIn(p.Pool)...)
	}
	e.rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
	return live
}

// share is how many of n instances an interrupt step or action takes: count, or the
// fraction rounded up, at most n.
func share(count int, fraction float64, n int) int {
	if count == 0 {
		count = int(math.Ceil(fraction * float64(n)))
	}
	return min(count, n)
}

// capacityChanged lets the groups launch, and the services place Fargate Spot tasks, into
// capacity that a change of the market freed.
func (e *Emulator) capacityChanged() {
	for _, g := range e.groups {
		g.reconcile()
	}
	e.kickServices()
}

// MarketOf translates a scenario's market block for the emulator.
func MarketOf(sc *scenario.Scenario) market.Options {
	o := market.Options{Intensity: sc.Market.Intensity}
	if sc.Market.Model == market.Advisor {
		o.Model = market.Advisor
	}
	return o
}
