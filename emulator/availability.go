package emulator

import (
	"time"

	"github.com/spotfleet/spotfleet/internal/spotdata"
)

// The stress and trace markets model what the Spot Advisor's monthly band hides: a pool
// (instance type × zone) has capacity for stretches of hours, then none for stretches of
// hours, and the zones of one type lose it together more often than chance would have it.
// When a pool loses its capacity, its launches are refused (InsufficientInstanceCapacity)
// and most of its running Spot instances get the notice within minutes; half of them had a
// rebalance recommendation a few minutes before. On top, the advisor model's per-instance
// interruptions go on in the pools that have capacity. docs/simulation.md compares the
// synthetic market with the traces.
const (
	// stressUpScale and zoneShock calibrate the stress model on the SkyPilot 1-node traces
	// (spotdata.Runs): each pool draws its stretches of capacity from the measured ones
	// times stressUpScale, and when it loses capacity, each other zone of its type that has
	// some loses it too with probability zoneShock, for as long. Fitted so that over the
	// nine zones of the 2023-02-15 traces (4, 2 and 3 zones of three regions) the synthetic
	// market matches them: availability 0.64 a pool, pairwise correlation of zones 0.43,
	// and the chance that at least one of k zones has capacity (k = 2, 3, 4, 9: 0.84,
	// 0.92, 0.96, 0.99). bench/marketcheck measures it (docs/simulation.md).
	stressUpScale = 4.0
	zoneShock     = 0.5
	// burstShare and burstWindow: most of a pool's instances go when it loses capacity,
	// within about 3 minutes ("same-type, same-AZ interruptions land within 3 minutes of
	// each other in over 92% of cases", Spot-and-Scoot, cited in shared/data/spot/README.md).
	burstShare  = 0.92
	burstWindow = 3 * time.Minute
	// rebalanceShare of a pool's instances get a rebalance recommendation 2 to 5 minutes
	// before it loses capacity (AWS: it "can come earlier, or never"; the share is ours).
	rebalanceShare = 0.5
)

// bandRate is the middle of an advisor band, as a monthly interruption share.
func bandRate(band int) float64 { return spotdata.InstanceType{Band: band}.MonthlyInterruptionRate() }

// startStress starts every pool with capacity, each on its own draw.
func (mk *market) startStress(e *Emulator) {
	for _, p := range mk.pools {
		mk.scheduleLoss(e, p, mk.stretchUp(p))
	}
}

// stretchUp draws how long a pool keeps its capacity: a measured stretch of the traces'
// types (band >20%), scaled by how much rarer its own type's band says interruptions are.
func (mk *market) stretchUp(p *pool) time.Duration {
	scale := stressUpScale * bandRate(spotdata.TraceBand) / bandRate(p.spec.Band)
	return time.Duration(float64(spotdata.Draw(spotdata.Runs().Up, mk.rng)) * scale)
}

// scheduleLoss makes the pool lose its capacity after d, with rebalance recommendations
// ahead of it.
func (mk *market) scheduleLoss(e *Emulator, p *pool, d time.Duration) {
	p.gen++
	gen := p.gen
	if lead := time.Duration(2+mk.rng.IntN(4)) * time.Minute; d > lead {
		e.after(d-lead, func() {
			if p.gen != gen {
				return
			}
			for _, in := range e.spotInstancesIn(p.Pool) {
				if mk.rng.Float64() < rebalanceShare {
					e.recommendRebalance(in)
				}
			}
		})
	}
	e.after(d, func() {
		if p.gen == gen {
			mk.lose(e, p, spotdata.Draw(spotdata.Runs().Down, mk.rng), true)
		}
	})
}

// lose takes a pool's capacity for d (0: until the trace gives it back): its launches are
// refused and most of its instances are interrupted in a burst; with shock, the other zones
// of its type may lose theirs too.
func (mk *market) lose(e *Emulator, p *pool, d time.Duration, shock bool) {
	p.unavailable, p.capacity = true, 0
	p.gen++
	gen := p.gen
	mk.burstOut(e, p)
	if shock {
		for _, q := range mk.pools {
			if q != p && q.InstanceType == p.InstanceType && !q.unavailable && mk.rng.Float64() < zoneShock {
				mk.lose(e, q, d, false)
			}
		}
	}
	if d == 0 {
		return
	}
	e.after(d, func() {
		if p.gen == gen {
			mk.regain(e, p)
			mk.scheduleLoss(e, p, mk.stretchUp(p))
		}
	})
}

// burstOut interrupts most of a pool's Spot instances (or Fargate Spot tasks) within the
// burst window.
func (mk *market) burstOut(e *Emulator, p *pool) {
	n := 0
	for _, v := range e.victimsIn(p) {
		if mk.rng.Float64() >= burstShare {
			continue
		}
		n++
		e.after(time.Duration(mk.rng.Int64N(int64(burstWindow))), func() { e.interruptVictim(v) })
	}
	e.acct.burst(n)
}

// regain gives a pool its capacity back; the groups launch, and the services place, what
// they could not.
func (mk *market) regain(e *Emulator, p *pool) {
	p.unavailable, p.capacity = false, Unlimited
	e.capacityChanged()
}

// startTrace maps the traces onto the pools (in turn, from a seeded first one) and replays
// each from a seeded offset, looping at its end.
func (mk *market) startTrace(e *Emulator) {
	first := mk.rng.IntN(len(mk.opt.Traces))
	for i, p := range mk.pools {
		tr := mk.opt.Traces[(first+i)%len(mk.opt.Traces)]
		mk.replay(e, p, tr, mk.rng.IntN(len(tr.Up)), true)
	}
}

// replay puts a pool in the state of a trace at sample i for as long as the trace stays in
// it, then moves on.
func (mk *market) replay(e *Emulator, p *pool, tr spotdata.Trace, i int, first bool) {
	up := tr.Up[i]
	k := 1
	for k < len(tr.Up) && tr.Up[(i+k)%len(tr.Up)] == up {
		k++
	}
	d := time.Duration(k) * tr.Gap
	switch {
	case up && p.unavailable:
		mk.regain(e, p)
	case !up && !p.unavailable && !first:
		mk.lose(e, p, 0, false)
	case !up && first:
		p.unavailable, p.capacity = true, 0 // nothing runs yet to interrupt
	}
	e.after(d, func() { mk.replay(e, p, tr, (i+k)%len(tr.Up), false) })
}
