package market

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/spotfleet/spotfleet/internal/spotdata"
)

// Kinds of capacity, each fitted on its own traces.
const (
	CPU = "cpu" // r5.16xlarge: preemption/1-node/aws-04-19-2023
	GPU = "gpu" // p2 and p3: every other 1-node AWS trace
)

// KindParams are what the 1-node traces of one kind say of a pool's losses.
type KindParams struct {
	// LossesPerHour is losses per hour with capacity, over all the files together.
	LossesPerHour float64
	// RegionSpread and ZoneSpread split how much the files' rates differ (the standard
	// deviation of their logarithm): between the regions (and days, and families) measured
	// at once, and between the zones of one. A region's scarcity is shared by its zones.
	RegionSpread, ZoneSpread float64
	// DownSpread is how much the mean stretch without capacity differs between regions
	// (the standard deviation of its logarithm): a scarce region also stays scarce longer.
	DownSpread float64
	// UpShape are the stretches with capacity, each over its file's mean, sorted: the
	// shape of a stretch, whatever its mean.
	UpShape []float64
	// Downs are the stretches without capacity, sorted.
	Downs []time.Duration
	Files []string

	regions int // sets of zones measured at once
}

// Params are the market's fitted parameters.
type Params struct {
	Kinds map[string]KindParams
	// ZoneShare of a pool's losses come from shocks of its type in its region, which each
	// zone joins with probability ZoneJoin; fitted on the zones the traces measured at once.
	ZoneShare, ZoneJoin float64
	// FamilyShare of its losses come from shocks of its family in its zone, which each type
	// joins with probability FamilyJoin (thinned by its rate); fitted on the p2 and p3 types
	// measured in one zone at once (the only data on it: CPU families are assumed alike).
	FamilyShare, FamilyJoin float64
	// DipsPerLoss, DipLevels and DipLengths: how often a pool loses part of its depth, how
	// much it keeps, for how long; from the multi-node traces (counts of instances).
	DipsPerLoss float64
	DipLevels   []float64
	DipLengths  []time.Duration
	// Fitted lists the files fitted on.
	Fitted []string
}

// Default are the parameters fitted on every embedded trace.
var Default = sync.OnceValues(func() (*Params, error) { return Fit(spotdata.Embedded()) })

// Fit fits the parameters on AWS traces: the 1-node ones of each kind for the losses, the
// sets of zones measured at once for the zones' shared shocks, the types of one family
// measured in one zone for the family's, and the multi-node ones for the dips.
func Fit(traces []spotdata.Trace) (*Params, error) {
	p := &Params{Kinds: map[string]KindParams{}}
	single := map[string][]spotdata.Trace{}
	for _, t := range traces {
		if !t.AWS() || t.InstanceType() == "" {
			continue
		}
		p.Fitted = append(p.Fitted, t.Name)
		if t.Nodes == 1 {
			single[kindOf(t.InstanceType())] = append(single[kindOf(t.InstanceType())], t)
		}
	}
	for _, kind := range []string{CPU, GPU} {
		if len(single[kind]) == 0 {
			return nil, fmt.Errorf("no 1-node %s trace to fit on", kind)
		}
		p.Kinds[kind] = fitKind(single[kind])
	}
	// A kind measured in one region has no spread between regions of its own: it takes the
	// other's (the CPU traces are three zones of one region on one day).
	for kind, k := range p.Kinds {
		if k.regions < 2 {
			other := p.Kinds[map[string]string{CPU: GPU, GPU: CPU}[kind]]
			k.RegionSpread, k.DownSpread = other.RegionSpread, other.DownSpread
			p.Kinds[kind] = k
		}
	}
	fitDips(p, traces)
	FitShared(p, traces)
	return p, nil
}

// fitKind pools the 1-node traces of one kind.
func fitKind(ts []spotdata.Trace) KindParams {
	var k KindParams
	var losses, hours float64
	rates, downs := map[string][]float64{}, map[string][]float64{} // logarithms, by region measured at once
	for _, t := range ts {
		k.Files = append(k.Files, t.Name)
		up, down := t.Runs()
		k.Downs = append(k.Downs, down...)
		if len(up) > 0 {
			var mean time.Duration
			for _, u := range up {
				mean += u
			}
			mean /= time.Duration(len(up))
			for _, u := range up {
				k.UpShape = append(k.UpShape, float64(u)/float64(mean))
			}
		}
		l, h := float64(t.Losses()), t.Availability()*t.Duration().Hours()
		losses += l
		hours += h
		region := t.Set() + " " + t.Region() + " " + spotdata.Family(t.InstanceType())
		if l > 0 {
			rates[region] = append(rates[region], math.Log(l/h))
		}
		if len(down) > 0 {
			var mean time.Duration
			for _, d := range down {
				mean += d
			}
			downs[region] = append(downs[region], math.Log((mean / time.Duration(len(down))).Hours()))
		}
	}
	k.LossesPerHour = losses / hours
	k.regions = len(rates)
	k.RegionSpread, k.ZoneSpread = between(rates), within(rates)
	k.DownSpread = between(downs)
	slices.Sort(k.UpShape)
	slices.Sort(k.Downs)
	if len(k.UpShape) == 0 {
		k.UpShape = []float64{1}
	}
	if len(k.Downs) == 0 {
		k.Downs = []time.Duration{time.Hour}
	}
	return k
}

// between is the standard deviation of the groups' means; within that of the values
// around their group's mean, pooled.
func between(groups map[string][]float64) float64 {
	var means []float64
	for _, xs := range groups {
		means = append(means, mean(xs))
	}
	slices.Sort(means) // the same sum in every run
	return sd(means)
}

func within(groups map[string][]float64) float64 {
	var ss float64
	n := 0
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		xs := groups[key]
		m := mean(xs)
		for _, x := range xs {
			ss += (x - m) * (x - m)
		}
		n += len(xs) - 1
	}
	if n < 1 {
		return 0
	}
	return math.Sqrt(ss / float64(n))
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func sd(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	mean := 0.0
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}

// fitDips reads the multi-node traces: a dip is a stretch with some but not all of the
// instances asked for, entered from all of them; its level is the fewest it held.
func fitDips(p *Params, traces []spotdata.Trace) {
	losses, dips := 0, 0
	for _, t := range traces {
		if !t.AWS() || t.Nodes < 2 {
			continue
		}
		losses += t.Losses()
		for i := 1; i < t.Len(); {
			if !(t.Count[i-1] == t.Nodes && t.Count[i] > 0 && t.Count[i] < t.Nodes) {
				i++
				continue
			}
			j, least := i, t.Count[i]
			for j < t.Len() && t.Count[j] > 0 && t.Count[j] < t.Nodes {
				least = min(least, t.Count[j])
				j++
			}
			if j < t.Len() && t.Count[j] == t.Nodes { // a dip that ends in a loss is part of the loss
				dips++
				p.DipLevels = append(p.DipLevels, float64(least)/float64(t.Nodes))
				p.DipLengths = append(p.DipLengths, time.Duration(j-i)*t.Gap)
			}
			i = j
		}
	}
	if losses > 0 {
		p.DipsPerLoss = float64(dips) / float64(losses)
	}
	slices.Sort(p.DipLevels)
	slices.Sort(p.DipLengths)
}

// Group is traces measured at the same time: the zones of one type in one region (a set
// and a type), or the types of one family in one zone.
type Group []spotdata.Trace

// groupsBy groups the 1-node AWS traces by a key, keeping groups of two or more.
func groupsBy(traces []spotdata.Trace, key func(spotdata.Trace) string) []Group {
	by := map[string]Group{}
	for _, t := range traces {
		if t.AWS() && t.Nodes == 1 && t.InstanceType() != "" {
			by[key(t)] = append(by[key(t)], t)
		}
	}
	var keys []string
	for k, g := range by {
		if len(g) > 1 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []Group
	for _, k := range keys {
		out = append(out, by[k])
	}
	return out
}

// ZoneGroups are the sets of zones of one type measured at once.
func ZoneGroups(traces []spotdata.Trace) []Group {
	return groupsBy(traces, func(t spotdata.Trace) string { return t.Set() + " " + t.Region() + " " + t.InstanceType() })
}

// FamilyGroups are the sets of types of one family measured at once in one zone.
func FamilyGroups(traces []spotdata.Trace) []Group {
	return groupsBy(traces, func(t spotdata.Trace) string {
		return t.Set() + " " + t.Zone() + " " + spotdata.Family(t.InstanceType())
	})
}

// Correlation is the mean correlation of the states (capacity or none) of every two traces
// of each group, sampled together.
func Correlation(groups []Group) float64 {
	var sum float64
	n := 0
	for _, g := range groups {
		for i := range g {
			for j := i + 1; j < len(g); j++ {
				if c, ok := phi(g[i], g[j]); ok {
					sum += c
					n++
				}
			}
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// phi is the correlation of two traces' states over their common samples.
func phi(a, b spotdata.Trace) (float64, bool) {
	n := min(a.Len(), b.Len())
	var pa, pb, pab float64
	for i := range n {
		ua, ub := a.Up(i), b.Up(i)
		if ua {
			pa++
		}
		if ub {
			pb++
		}
		if ua && ub {
			pab++
		}
	}
	pa, pb, pab = pa/float64(n), pb/float64(n), pab/float64(n)
	den := math.Sqrt(pa * (1 - pa) * pb * (1 - pb))
	if den == 0 {
		return 0, false
	}
	return (pab - pa*pb) / den, true
}

// FitShared fits the shared shocks on the traces: the zones' share and join probability
// to the traces' correlation of zones and their chance that every zone of a set is
// without capacity at once, on a grid; the family's share (every type joins, thinned by
// its rate) to the correlation of the types of one family in one zone. Fit calls it;
// bench/marketcheck calls it alone to hold out a set of zones whose kind has no other.
func FitShared(p *Params, traces []spotdata.Trace) {
	zones := coarse(ZoneGroups(traces))
	wantZone, wantAll := Correlation(zones), allDown(zones)
	best := math.Inf(1)
	for _, join := range []float64{0.25, 0.5, 0.75, 1} {
		for share := 0.0; share <= 0.901; share += 0.1 {
			q := *p
			q.ZoneShare, q.ZoneJoin, q.FamilyShare = share, join, 0
			sim := synthetic(&q, zones, fitReps)
			got, gotAll := Correlation(sim), allDown(sim)
			loss := sq((got-wantZone)/0.05) + sq((gotAll-wantAll)/0.02)
			if loss < best {
				best, p.ZoneShare, p.ZoneJoin = loss, share, join
			}
		}
	}
	families := coarse(FamilyGroups(traces))
	want := Correlation(families)
	p.FamilyJoin = 1
	best = math.Inf(1)
	for share := 0.0; share <= 0.901-p.ZoneShare; share += 0.05 {
		q := *p
		q.FamilyShare = share
		if loss := math.Abs(Correlation(synthetic(&q, families, fitReps)) - want); loss < best {
			best, p.FamilyShare = loss, share
		}
	}
}

// fitReps is how many synthetic copies of the traces a point of the grid is judged on.
const fitReps = 5

// fitGap is the coarsest sampling the fit reads traces at: states change over tens of
// minutes, and the preemption traces' 32-second samples made the fit ten times slower.
const fitGap = 10 * time.Minute

// coarse resamples the groups' traces at fitGap at least.
func coarse(groups []Group) []Group {
	out := make([]Group, len(groups))
	for i, g := range groups {
		for _, t := range g {
			step := max(1, int(fitGap/t.Gap))
			c := spotdata.Trace{Name: t.Name, Gap: t.Gap * time.Duration(step), Nodes: t.Nodes}
			for j := 0; j < t.Len(); j += step {
				c.Count = append(c.Count, t.Count[j])
			}
			out[i] = append(out[i], c)
		}
	}
	return out
}

func sq(x float64) float64 { return x * x }

// allDown is the share of samples at which every trace of a group is without capacity,
// averaged over the groups.
func allDown(groups []Group) float64 {
	if len(groups) == 0 {
		return 0
	}
	sum := 0.0
	for _, g := range groups {
		n := g[0].Len()
		for _, t := range g {
			n = min(n, t.Len())
		}
		down := 0
		for i := range n {
			up := false
			for _, t := range g {
				up = up || t.Up(i)
			}
			if !up {
				down++
			}
		}
		sum += float64(down) / float64(n)
	}
	return sum / float64(len(groups))
}

// synthetic generates, for each group of traces, the stress market's traces of the same
// pools over the same time (reps times, one after the other), sampled as they were.
func synthetic(p *Params, groups []Group, reps int) []Group {
	var out []Group
	for rep := range reps {
		for _, g := range groups {
			var sg Group
			for _, t := range g {
				pr := stressRates(p, t.InstanceType(), t.Zone(), 1, uint64(rep))
				segs := generate(uint64(rep), p, pr, t.Duration())
				sg = append(sg, Sample(t.Name, segs, t.Gap, t.Len()))
			}
			out = append(out, sg)
		}
	}
	return out
}

// Sample reads levels as a 1-node trace would have: available while the level is above 0.
func Sample(name string, segs []segment, gap time.Duration, n int) spotdata.Trace {
	t := spotdata.Trace{Name: name, Gap: gap, Nodes: 1, Count: make([]int, n)}
	j := 0
	for i := range n {
		at := time.Duration(i) * gap
		for j+1 < len(segs) && segs[j+1].at <= at {
			j++
		}
		if segs[j].level > 0 {
			t.Count[i] = 1
		}
	}
	return t
}
