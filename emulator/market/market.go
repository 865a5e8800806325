// Package market is the Spot market of the emulator and the simulation: how much capacity
// each pool (instance type × zone) can give over time, and its price. It knows nothing of
// the fleet: every draw comes from a stream named by the pool (streams.go), so that
// every controller and manifest of run i sees the same market, and the emulator asks it
// only what a pool holds and when that changes. docs/simulation.md compares it with the
// traces it is fitted on, and with those it was not.
package market

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/internal/spotdata"
)

// Unlimited is a depth with no bound.
const Unlimited = -1

// Models.
const (
	// Scripted: pools never change by themselves (a scenario's steps change them).
	Scripted = ""
	// Advisor: each pool loses capacity as often as its type's Spot Advisor band says an
	// instance is interrupted, times the intensity.
	Advisor = "advisor"
	// Stress: each pool loses capacity as often as the traced pools of its kind did (p2
	// and p3 for accelerated types, r5.16xlarge for the others), times the intensity: two
	// to three orders of magnitude above any band.
	Stress = "stress"
	// Trace: traces replayed, the zones of one region from one offset.
	Trace = "trace"
)

// Options choose the market.
type Options struct {
	Model string
	// Intensity multiplies how often pools lose capacity; 0 is taken as 1.
	Intensity float64
	// Traces feed the trace model (default: the embedded ones).
	Traces []spotdata.Trace
	// Params are the fitted parameters (default: fitted on the embedded traces).
	Params *Params
	// FlatPrices prices every pool of a type the same, at all times: the Advisor's
	// savings off On-Demand (for checks that compare with them).
	FlatPrices bool
	// Horizon is how far ahead to generate at first (it grows as it is read); default 30
	// days.
	Horizon time.Duration
}

// Pool is one pool of the market: a type in a zone, with what the table says of the type.
type Pool struct {
	spotfleet.Pool
	Spec spotdata.InstanceType
}

// Change is a pool's depth from a moment on.
type Change struct {
	At    time.Duration // from the market's start
	Depth int           // instances the pool can hold (tasks, for Fargate Spot); Unlimited
	K     uint64        // the change's number, to name its streams (Stream)
}

// Market is the capacity and prices of a fleet's pools over time.
type Market struct {
	seed    uint64
	opt     Options
	params  *Params
	pools   []Pool
	full    []int // each pool's full depth
	rates   []poolRates
	segs    [][]segment // each pool's levels, up to horizon
	read    []int       // each pool's next segment to read
	horizon time.Duration
	prices  []prices
}

// New makes the market of some pools for one run.
func New(seed uint64, pools []Pool, o Options) (*Market, error) {
	if o.Intensity == 0 {
		o.Intensity = 1
	}
	if o.Intensity < 0 || math.IsNaN(o.Intensity) || math.IsInf(o.Intensity, 0) {
		return nil, fmt.Errorf("intensity %g: use a number above 0", o.Intensity)
	}
	if o.Horizon <= 0 {
		o.Horizon = 30 * 24 * time.Hour
	}
	m := &Market{seed: seed, opt: o, pools: slices.Clone(pools), horizon: o.Horizon}
	switch o.Model {
	case Scripted:
	case Advisor, Stress, Trace:
		p := o.Params
		if p == nil {
			var err error
			if p, err = Default(); err != nil {
				return nil, err
			}
		}
		m.params = p
	default:
		return nil, fmt.Errorf("market model %q: use advisor, stress or trace, or leave it out", o.Model)
	}
	if o.Model == Trace && len(o.Traces) == 0 {
		m.opt.Traces = spotdata.Embedded()
	}
	for _, p := range pools {
		m.full = append(m.full, fullDepth(seed, p))
		m.prices = append(m.prices, newPrices(seed, p, o.FlatPrices))
		switch o.Model {
		case Advisor:
			m.rates = append(m.rates, advisorRates(m.params, p, o.Intensity, seed))
		case Stress:
			m.rates = append(m.rates, stressRates(m.params, p.InstanceType, p.Zone, o.Intensity, seed))
		}
	}
	m.segs = make([][]segment, len(pools))
	m.read = make([]int, len(pools))
	if err := m.extend(o.Horizon); err != nil {
		return nil, err
	}
	return m, nil
}

// Pools lists the market's pools, in the order given.
func (m *Market) Pools() []Pool { return m.pools }

// Model is the market's model.
func (m *Market) Model() string { return m.opt.Model }

// Start is each pool's depth at the start.
func (m *Market) Start(i int) int { return m.depth(i, m.segs[i][0].level) }

func (m *Market) depth(i int, level float64) int {
	if m.opt.Model == Scripted {
		return Unlimited
	}
	return depthOf(level, m.full[i])
}

// Next is pool i's next change after the last one read; false if it never changes.
func (m *Market) Next(i int) (Change, bool) {
	if m.opt.Model == Scripted {
		return Change{}, false
	}
	for {
		r := m.read[i] + 1
		if r < len(m.segs[i]) {
			m.read[i] = r
			s := m.segs[i][r]
			return Change{At: s.at, Depth: m.depth(i, s.level), K: uint64(r)}, true
		}
		if err := m.extend(2 * m.horizon); err != nil {
			return Change{}, false
		}
		if m.read[i]+1 >= len(m.segs[i]) && m.horizon > 100*365*24*time.Hour {
			return Change{}, false // nothing changes in a century: a market of intensity near 0
		}
	}
}

// extend generates every pool's levels up to horizon h.
func (m *Market) extend(h time.Duration) error {
	m.horizon = h
	for i, p := range m.pools {
		switch m.opt.Model {
		case Scripted:
			m.segs[i] = []segment{{0, 1}}
		case Advisor, Stress:
			m.segs[i] = generate(m.seed, m.params, m.rates[i], h)
		case Trace:
			segs, err := replay(m.seed, m.opt.Traces, p, h)
			if err != nil {
				return err
			}
			m.segs[i] = segs
		}
		m.prices[i].extend(h)
	}
	return nil
}

// Levels lists pool i's levels (share of its full depth) from the start to until, for
// checks and charts.
func (m *Market) Levels(i int, until time.Duration) []Change {
	for m.horizon < until {
		if err := m.extend(2 * m.horizon); err != nil {
			break
		}
	}
	var out []Change
	for k, s := range m.segs[i] {
		if s.at >= until {
			break
		}
		out = append(out, Change{At: s.at, Depth: m.depth(i, s.level), K: uint64(k)})
	}
	return out
}

// Full is pool i's full depth.
func (m *Market) Full(i int) int { return m.full[i] }

// Stream is the random stream of change k of pool i: which of its instances go, when,
// which get a rebalance recommendation first. It depends on the fleet only through what
// the caller draws from it, and no other draw depends on it.
func (m *Market) Stream(i int, k uint64) *rand.Rand {
	p := m.pools[i]
	return stream(m.seed, "change", p.InstanceType, p.Zone, fmt.Sprint(k))
}

// Depth model. A pool's full depth is how many instances it can give this fleet when
// nothing is short. AWS publishes no figure; the traces asked for at most 16 instances
// and got all of them 83-97% of the time, so they bound it from below only. The assumption:
// fullVCPUs vCPUs for a type of the mildest band, fewer in proportion to its band's rate
// (a type interrupted more often has less spare), in instances of the type, times a factor
// of the pool drawn once (lognormal, depthSpread). Fargate Spot pools hold fargateDepth
// tasks alike.
const (
	fullVCPUs    = 4096
	depthSpread  = 0.5
	fargateDepth = 2000
)

func fullDepth(seed uint64, p Pool) int {
	f := lognormal(stream(seed, "depth", p.InstanceType, p.Zone), depthSpread)
	if p.Spec.VCPU <= 0 {
		return max(1, int(fargateDepth*f))
	}
	vcpus := fullVCPUs * bandRate(0) / bandRate(p.Spec.Band)
	return max(1, int(math.Round(vcpus/float64(p.Spec.VCPU)*f)))
}

func bandRate(band int) float64 { return spotdata.InstanceType{Band: band}.MonthlyInterruptionRate() }

// hoursPerMonth turns the Advisor's monthly shares into hourly rates.
const hoursPerMonth = 730

// advisorRates: an instance of a small fleet is interrupted when its pool loses its
// capacity, so a pool loses it at the band's monthly rate (times the intensity); the
// family's most fragile band sets the rate of its shocks.
func advisorRates(p *Params, pool Pool, intensity float64, seed uint64) poolRates {
	r := baseRates(p, pool.InstanceType, pool.Zone, seed)
	r.lossRate = bandRate(pool.Spec.Band) * intensity / hoursPerMonth
	r.maxRate = bandRate(spotdata.TraceBand) * intensity / hoursPerMonth
	return r
}

// stressRates: a pool loses capacity as often as its kind's traces did.
func stressRates(p *Params, itype, zone string, intensity float64, seed uint64) poolRates {
	r := baseRates(p, itype, zone, seed)
	r.lossRate = p.Kinds[r.kind].LossesPerHour * intensity
	r.maxRate = r.lossRate
	return r
}

// baseRates draws the pool's factors: its region's (one for the zones of a family in a
// region), its own, and its region's on down lengths.
func baseRates(p *Params, itype, zone string, seed uint64) poolRates {
	kind := kindOf(itype)
	k := p.Kinds[kind]
	region, family := regionOf(zone), spotdata.Family(itype)
	r := stream(seed, "region-rate", region, family)
	return poolRates{kind: kind, itype: itype, zone: zone, region: region, family: family,
		regional: lognormal(r, k.RegionSpread), downs: lognormal(r, k.DownSpread),
		local: lognormal(stream(seed, "rate", itype, zone), k.ZoneSpread)}
}

func regionOf(zone string) string { return strings.TrimRight(zone, "abcdefghijklmnopqrstuvwxyz") }
