package emulator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/internal/spotdata"
	"github.com/spotfleet/spotfleet/manifest"
)

// Unlimited is free Spot capacity with no bound.
const Unlimited = -1

// MarketOptions choose how the market interrupts instances besides the scenario's steps.
type MarketOptions struct {
	// Model is "" (the default: only the scenario's steps interrupt), "advisor" (each
	// type's Spot Advisor band, read as a monthly share of instances interrupted), "stress"
	// (pools go unavailable and come back as the measured traces do, availability.go) or
	// "trace" (Traces replayed, one per pool).
	Model string
	// Intensity multiplies the advisor rates, so that a short run sees interruptions
	// (the real rates are a few percent a month). Default 1.
	Intensity float64
	// Traces are the availability series the trace model replays.
	Traces []spotdata.Trace
}

// Market models.
const (
	MarketScripted = ""
	MarketAdvisor  = "advisor"
	MarketStress   = "stress"
	MarketTrace    = "trace"
)

type pool struct {
	spotfleet.Pool
	spec     spotdata.InstanceType
	capacity int // free Spot instances; Unlimited
	phase    float64

	// The stress and trace models: whether the pool has capacity, and a generation that
	// cancels the transitions scheduled before a shared shortage took it down.
	unavailable bool
	gen         int
}

type market struct {
	pools []*pool
	byKey map[spotfleet.Pool]*pool
	opt   MarketOptions
	rng   *rand.Rand
}

func newMarket(m *manifest.Manifest, opt MarketOptions, rng *rand.Rand) (*market, error) {
	mk := &market{byKey: map[spotfleet.Pool]*pool{}, opt: opt, rng: rng}
	switch opt.Model {
	case MarketScripted, MarketAdvisor, MarketStress:
	case MarketTrace:
		if len(opt.Traces) == 0 {
			return nil, fmt.Errorf("the trace market needs traces")
		}
	default:
		return nil, fmt.Errorf("market model %q: use advisor, stress or trace, or leave it out", opt.Model)
	}
	if mk.opt.Intensity == 0 {
		mk.opt.Intensity = 1
	}
	for _, key := range m.SpotPools() {
		spec, ok := spotdata.Lookup(key.InstanceType)
		if key.InstanceType == manifest.FargateSpot { // priced per task (fargate.go)
			spec, ok = spotdata.InstanceType{Name: manifest.FargateSpot, Band: fargateSpotBand}, true
		}
		if !ok {
			return nil, fmt.Errorf("instance type %s has no price data: the emulator cannot run it", key.InstanceType)
		}
		p := &pool{Pool: key, spec: spec, capacity: Unlimited, phase: rng.Float64() * 2 * math.Pi}
		mk.byKey[key] = p
		mk.pools = append(mk.pools, p)
	}
	return mk, nil
}

// spotPrice is nearly flat: the advisor's discount with a ±3% daily drift, in line with
// shared/data/spot/spot-price-history-c5a.2xlarge-us-east-1.csv, where prices moved 12-21%
// within a zone over seven weeks.
func (p *pool) spotPrice(elapsed time.Duration) float64 {
	return p.spec.SpotUSD() * (1 + 0.03*math.Sin(2*math.Pi*elapsed.Hours()/24+p.phase))
}

func (p *pool) onDemandPrice() float64 { return p.spec.OnDemandUSD }

// take consumes one unit of free Spot capacity, or says there is none.
func (p *pool) take() bool {
	switch {
	case p.capacity == Unlimited:
		return true
	case p.capacity > 0:
		p.capacity--
		return true
	}
	return false
}

func (p *pool) give() {
	if p.capacity != Unlimited {
		p.capacity++
	}
}

// match returns the pools that any of the patterns matches. A pattern is TYPE/ZONE with
// globs in either part; a pattern without "/" names types in every zone, so "*" is all.
func (mk *market) match(patterns []string) []*pool {
	var out []*pool
	for _, p := range mk.pools {
		for _, pat := range patterns {
			if p.Matches(pat) {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// Batch sizes of same-pool interruptions, from shared/data/spot/traces/bamboo/summary.txt:
// removals came in batches of mean 2.11 (p3 trace) and at most 6.
const (
	meanBurst = 2.11
	maxBurst  = 6
)

// schedule starts the market model. The stress and trace models take pools' capacity away
// and give it back (availability.go); every model but the scripted one also runs the
// advisor's interruptions: once a minute, each pool with Spot instances is interrupted
// with the probability its band gives, in a burst.
func (mk *market) schedule(e *Emulator) {
	switch mk.opt.Model {
	case MarketScripted:
		return
	case MarketStress:
		mk.startStress(e)
	case MarketTrace:
		mk.startTrace(e)
	}
	var tick func()
	tick = func() {
		for _, p := range mk.pools {
			mk.maybeBurst(e, p)
		}
		e.after(time.Minute, tick)
	}
	e.after(time.Minute, tick)
}

func (mk *market) maybeBurst(e *Emulator, p *pool) {
	live := e.victimsIn(p)
	if len(live) == 0 {
		return
	}
	// The band is the share of instances interrupted in a month (730 h); bursts of mean
	// size meanBurst arrive at the per-instance rate divided by it.
	perInstanceHour := p.spec.MonthlyInterruptionRate() / 730 * mk.opt.Intensity
	burstsPerMinute := perInstanceHour * float64(len(live)) / meanBurst / 60
	if mk.rng.Float64() >= 1-math.Exp(-burstsPerMinute) {
		return
	}
	n := 1
	for n < maxBurst && mk.rng.Float64() < 1-1/meanBurst {
		n++
	}
	n = min(n, len(live))
	e.acct.burst(n)
	mk.rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
	// Half the time the instances get a rebalance recommendation a few minutes first
	// (Fargate Spot sends none).
	if mk.rng.Float64() < 0.5 {
		lead := time.Duration(2+mk.rng.IntN(4)) * time.Minute
		for _, v := range live[:n] {
			if v.in != nil {
				e.recommendRebalance(v.in)
			}
		}
		victims := live[:n]
		e.after(lead, func() {
			for _, v := range victims {
				e.interruptVictim(v)
			}
		})
		return
	}
	for _, v := range live[:n] {
		e.interruptVictim(v)
	}
}
