package market

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/spotfleet/spotfleet/internal/spotdata"
)

// The generated markets (advisor and stress) give each pool (instance type × zone) a depth
// that changes over time: how many instances it can hold for this fleet. A pool loses all
// of it for stretches (a loss), as the SkyPilot 1-node traces measured, and some of it for
// stretches (a dip), as the 16-node traces measured. Losses come from three sources:
//
//   - the pool's own, a renewal process: a stretch with capacity drawn from the traces'
//     shape, then a stretch without, drawn from the traces' lengths;
//   - shocks of its type in its region, shared by the zones: each zone joins a shock with
//     a probability drawn for that zone alone, so listing more zones changes no zone;
//   - shocks of its family in its zone, shared by the family's types (p3.2xlarge and
//     p3.16xlarge), joined alike.
//
// A pool's rate of losses is its type's band (advisor) or its kind's traces (stress), times
// the intensity, times a factor of the pool drawn once (zones differ: the traces' rates
// differ 7-fold between the zones of one day).

// segment is a stretch of time from at on which a pool's depth is level × its full depth.
type segment struct {
	at    time.Duration
	level float64
}

// interval is a stretch without capacity, [from, to).
type interval struct{ from, to time.Duration }

// poolRates are what the generation needs of one pool besides its name.
type poolRates struct {
	kind     string
	lossRate float64 // losses per hour with capacity, all sources together
	maxRate  float64 // the largest lossRate of the pool's family in this market (for the family's shocks)
	region   string
	zone     string
	itype    string
	family   string
	// regional multiplies every loss rate of the pool's family in its region (shared by
	// its zones), local its own losses and dips; downs multiplies its stretches without
	// capacity.
	regional, local, downs float64
}

// drawDuration draws one of the sorted lengths at random: their empirical distribution.
func drawDuration(r *rand.Rand, ds []time.Duration) time.Duration { return ds[r.IntN(len(ds))] }

// generate is a pool's levels over [0, horizon): a pure function of the seed, the
// parameters and the pool, so that extending the horizon keeps what came before.
func generate(seed uint64, p *Params, pr poolRates, horizon time.Duration) []segment {
	if pr.lossRate <= 0 {
		return []segment{{0, 1}}
	}
	k := p.Kinds[pr.kind]
	zoneShare, familyShare := p.ZoneShare, p.FamilyShare
	if zoneShare+familyShare > 1 {
		zoneShare, familyShare = zoneShare/(zoneShare+familyShare), familyShare/(zoneShare+familyShare)
	}
	var downs []interval
	// The pool's own losses.
	if own := (1 - zoneShare - familyShare) * pr.lossRate * pr.regional * pr.local; own > 0 {
		r := stream(seed, "own", pr.itype, pr.zone)
		meanUp := time.Duration(float64(time.Hour) / own)
		t := time.Duration(r.Float64() * float64(upStretch(r, k, meanUp))) // a random phase
		for t < horizon {
			d := time.Duration(float64(drawDuration(r, k.Downs)) * pr.downs)
			downs = append(downs, interval{t, t + d})
			t += d + upStretch(r, k, meanUp)
		}
	}
	// The shocks of the type in the region: every zone of the region reads the same ones.
	if zoneShare > 0 && p.ZoneJoin > 0 {
		rate := zoneShare * pr.lossRate * pr.regional / p.ZoneJoin
		for i, s := range shocks(stream(seed, "region", pr.region, pr.itype), rate, k.Downs, pr.downs, horizon) {
			if uniform(seed, uint64(i), "region-join", pr.region, pr.itype, pr.zone) < p.ZoneJoin {
				downs = append(downs, s)
			}
		}
	}
	// The shocks of the family in the zone, thinned for types that lose capacity less often
	// than the family's most fragile.
	if familyShare > 0 && p.FamilyJoin > 0 && pr.maxRate > 0 {
		rate := familyShare * pr.maxRate * pr.regional / p.FamilyJoin
		join := p.FamilyJoin * pr.lossRate / pr.maxRate
		for i, s := range shocks(stream(seed, "family", pr.zone, pr.family), rate, k.Downs, pr.downs, horizon) {
			if uniform(seed, uint64(i), "family-join", pr.zone, pr.family, pr.itype) < join {
				downs = append(downs, s)
			}
		}
	}
	// Dips: some of the depth goes for a while, as often against losses as the 16-node
	// traces show.
	var dips []segment // pairs: start with its level, end with level 1
	if dipRate := pr.lossRate * pr.regional * pr.local * p.DipsPerLoss; dipRate > 0 && len(p.DipLevels) > 0 {
		r := stream(seed, "dip", pr.itype, pr.zone)
		t := exponential(r, dipRate)
		for t < horizon {
			d := drawDuration(r, p.DipLengths)
			dips = append(dips, segment{t, p.DipLevels[r.IntN(len(p.DipLevels))]}, segment{t + d, 1})
			t += d + exponential(r, dipRate)
		}
	}
	return levels(merge(downs), dips, horizon)
}

// upStretch draws a stretch with capacity: the traces' shape scaled to the mean.
func upStretch(r *rand.Rand, k KindParams, mean time.Duration) time.Duration {
	return max(time.Second, time.Duration(k.UpShape[r.IntN(len(k.UpShape))]*float64(mean)))
}

// exponential draws the time to the next event of a Poisson process of rate per hour.
func exponential(r *rand.Rand, perHour float64) time.Duration {
	return time.Duration(r.ExpFloat64() / perHour * float64(time.Hour))
}

// shocks are a Poisson process of losses, each with its length (times scale).
func shocks(r *rand.Rand, perHour float64, downs []time.Duration, scale float64, horizon time.Duration) []interval {
	var out []interval
	for t := exponential(r, perHour); t < horizon; t += exponential(r, perHour) {
		out = append(out, interval{t, t + time.Duration(float64(drawDuration(r, downs))*scale)})
	}
	return out
}

// merge unites intervals.
func merge(in []interval) []interval {
	slices.SortFunc(in, func(a, b interval) int { return cmpDuration(a.from, b.from) })
	var out []interval
	for _, iv := range in {
		if n := len(out); n > 0 && iv.from <= out[n-1].to {
			out[n-1].to = max(out[n-1].to, iv.to)
			continue
		}
		out = append(out, iv)
	}
	return out
}

func cmpDuration(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// levels sweeps the losses and the dips into a pool's levels: 0 in a loss, a dip's level
// in a dip, else 1.
func levels(downs []interval, dips []segment, horizon time.Duration) []segment {
	type edge struct {
		at    time.Duration
		down  int // +1 a loss starts, -1 it ends
		level float64
		dip   bool
	}
	var edges []edge
	for _, d := range downs {
		edges = append(edges, edge{at: d.from, down: 1}, edge{at: d.to, down: -1})
	}
	for _, d := range dips {
		edges = append(edges, edge{at: d.at, level: d.level, dip: true})
	}
	slices.SortStableFunc(edges, func(a, b edge) int { return cmpDuration(a.at, b.at) })
	out := []segment{{0, 1}}
	inLoss, dip := 0, 1.0
	for i := 0; i < len(edges); {
		at := edges[i].at
		for ; i < len(edges) && edges[i].at == at; i++ {
			inLoss += edges[i].down
			if edges[i].dip {
				dip = edges[i].level
			}
		}
		if at >= horizon {
			break
		}
		level := dip
		if inLoss > 0 {
			level = 0
		}
		if level != out[len(out)-1].level {
			if out[len(out)-1].at == at {
				out[len(out)-1].level = level
			} else {
				out = append(out, segment{at, level})
			}
		}
	}
	// A change at 0 may have merged into the first segment; drop repeats it left.
	return slices.CompactFunc(out, func(a, b segment) bool { return a.level == b.level })
}

// depthOf is how many instances a level of a pool of full depth holds.
func depthOf(level float64, full int) int {
	return int(math.Floor(level*float64(full) + 1e-9))
}

// kindOf is the capacity kind of a type: the GPU traces measure accelerated types, the CPU
// trace (r5.16xlarge) the others.
func kindOf(itype string) string {
	if spotdata.Accelerated(itype) {
		return GPU
	}
	return CPU
}
