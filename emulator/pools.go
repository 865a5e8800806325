package emulator

import (
	"fmt"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/market"
	"github.com/spotfleet/spotfleet/internal/spotdata"
	"github.com/spotfleet/spotfleet/manifest"
)

// Unlimited is Spot capacity with no bound.
const Unlimited = market.Unlimited

// pool is a Spot pool of the market as the fleet holds it: how many instances it can hold
// now (its depth, which the market moves), and how many places the fleet holds in it.
type pool struct {
	spotfleet.Pool
	Spec  spotdata.InstanceType
	i     int // in the market
	mk    *market.Market
	depth int // market.Unlimited for no bound
	used  int // places held: Spot instances, or Fargate Spot tasks, without a notice
}

// pools are the fleet's Spot pools.
type pools struct {
	mk    *market.Market
	pools []*pool
	byKey map[spotfleet.Pool]*pool
}

func newPools(m *manifest.Manifest, o market.Options, seed uint64) (*pools, error) {
	var specs []market.Pool
	for _, key := range m.SpotPools() {
		spec, ok := spotdata.Lookup(key.InstanceType)
		if key.InstanceType == manifest.FargateSpot { // priced per task (fargate.go)
			spec, ok = spotdata.InstanceType{Name: manifest.FargateSpot, Band: fargateSpotBand}, true
		}
		if !ok {
			return nil, fmt.Errorf("instance type %s has no price data: the emulator cannot run it", key.InstanceType)
		}
		specs = append(specs, market.Pool{Pool: key, Spec: spec})
	}
	mk, err := market.New(seed, specs, o)
	if err != nil {
		return nil, err
	}
	ps := &pools{mk: mk, byKey: map[spotfleet.Pool]*pool{}}
	for i, s := range specs {
		p := &pool{Pool: s.Pool, Spec: s.Spec, i: i, mk: mk, depth: mk.Start(i)}
		ps.pools = append(ps.pools, p)
		ps.byKey[s.Pool] = p
	}
	return ps, nil
}

func (p *pool) spotPrice(elapsed time.Duration) float64 { return p.mk.SpotPrice(p.i, elapsed) }

func (p *pool) OnDemandPrice() float64 { return p.Spec.OnDemandUSD }

// SpotCost is what one Spot instance of the pool costs between two moments of the run, at
// the market's price (account.Pool).
func (p *pool) SpotCost(from, to time.Duration) float64 { return p.mk.SpotCost(p.i, from, to) }

// free is how many more instances the pool can give.
func (p *pool) free() int {
	if p.depth == Unlimited {
		return int(^uint(0) >> 1)
	}
	return max(0, p.depth-p.used)
}

// over is how many places the fleet holds beyond the pool's depth: what the market takes
// back.
func (p *pool) over() int {
	if p.depth == Unlimited {
		return 0
	}
	return max(0, p.used-p.depth)
}

// setFree sets how many more instances the pool can give (scripted steps, actions):
// Unlimited for no bound.
func (p *pool) setFree(n int) {
	p.depth = n
	if n != Unlimited {
		p.depth = p.used + n
	}
}

// take holds a place in the pool, or says there is none.
func (p *pool) take() bool {
	if p.free() == 0 {
		return false
	}
	p.used++
	return true
}

// match returns the pools that any of the patterns matches. A pattern is TYPE/ZONE with
// globs in either part; a pattern without "/" names types in every zone, so "*" is all.
func (ps *pools) match(patterns []string) []*pool {
	var out []*pool
	for _, p := range ps.pools {
		for _, pat := range patterns {
			if p.Matches(pat) {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// What the market's changes do to a pool's instances, beyond its depth.
const (
	// burstShare of the instances a change takes go within burstWindow ("same-type,
	// same-AZ interruptions land within 3 minutes of each other in over 92% of cases",
	// Spot-and-Scoot, cited in shared/data/spot/README.md); the others within lateWindow
	// (an assumption: the paper gives no tail).
	burstShare  = 0.92
	burstWindow = 3 * time.Minute
	lateWindow  = 15 * time.Minute
	// rebalanceShare of the instances a change will take get a rebalance recommendation
	// 2 to 5 minutes before (AWS: it "can come earlier, or never"; the share is ours).
	rebalanceShare = 0.5
)

// watchPools follows every pool's changes in the market.
func (e *Emulator) watchPools() {
	for _, p := range e.market.pools {
		e.watchPool(p)
	}
}

// watchPool schedules a pool's next change, with the rebalance recommendations ahead of a
// cut.
func (e *Emulator) watchPool(p *pool) {
	c, ok := p.mk.Next(p.i)
	if !ok {
		return
	}
	at := e.start.Add(c.At)
	r := p.mk.Stream(p.i, c.K)
	lead := time.Duration(2+r.IntN(4)) * time.Minute
	if warn := at.Add(-lead); c.Depth != Unlimited && warn.After(e.now) {
		e.at(warn, func() {
			if cut := p.used - c.Depth; cut > 0 {
				victims := e.spotInstancesIn(p.Pool)
				r.Shuffle(len(victims), func(i, j int) { victims[i], victims[j] = victims[j], victims[i] })
				for _, in := range victims[:min(cut, len(victims))] {
					if r.Float64() < rebalanceShare {
						e.recommendRebalance(in)
					}
				}
			}
		})
	}
	e.at(at, func() {
		e.setDepth(p, c.Depth, c.K)
		e.watchPool(p)
	})
}

// setDepth sets a pool's depth: what it held beyond goes (burst), and what it can give
// more goes to the groups and services that wait for it.
func (e *Emulator) setDepth(p *pool, depth int, k uint64) {
	grew := depth == Unlimited || (p.depth != Unlimited && depth > p.depth)
	p.depth = depth
	e.changed()
	if n := p.over(); n > 0 {
		e.burst(p, n, k)
	}
	if grew {
		e.capacityChanged()
	}
}

// burst interrupts n of a pool's instances (or Fargate Spot tasks), most within
// burstWindow. Each goes only if the pool is still over its depth when its time comes.
func (e *Emulator) burst(p *pool, n int, k uint64) {
	victims := e.victimsIn(p)
	r := p.mk.Stream(p.i, k^1<<63)
	r.Shuffle(len(victims), func(i, j int) { victims[i], victims[j] = victims[j], victims[i] })
	victims = victims[:min(n, len(victims))]
	e.acct.Burst(len(victims))
	for _, v := range victims {
		d := time.Duration(r.Int64N(int64(burstWindow)))
		if r.Float64() >= burstShare {
			d = burstWindow + time.Duration(r.Int64N(int64(lateWindow-burstWindow)))
		}
		e.after(d, func() {
			if p.over() > 0 {
				e.interruptVictim(v)
			}
		})
	}
}
