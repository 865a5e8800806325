package market

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/internal/spotdata"
)

func pool(t testing.TB, itype, zone string) Pool {
	spec, ok := spotdata.Lookup(itype)
	if !ok {
		t.Fatalf("no %s in the table", itype)
	}
	return Pool{Pool: spotfleet.Pool{InstanceType: itype, Zone: zone}, Spec: spec}
}

const year = 365 * 24 * time.Hour

// TestListingMoreZonesChangesNoZone: a pool's capacity and price are the same whatever
// other pools the market holds, so listing more zones (or types) never makes a zone less
// available, and every manifest of a simulation sees the same pool alike.
func TestListingMoreZonesChangesNoZone(t *testing.T) {
	types := []string{"m5.large", "m5a.large", "m5.xlarge", "c5.large", "p3.2xlarge", "r5.16xlarge"}
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-west-2a"}
	rapid.Check(t, func(rt *rapid.T) {
		seed := rapid.Uint64().Draw(rt, "seed")
		model := rapid.SampledFrom([]string{Advisor, Stress, Trace}).Draw(rt, "model")
		one := pool(t, rapid.SampledFrom(types).Draw(rt, "type"), rapid.SampledFrom(zones).Draw(rt, "zone"))
		others := rapid.SliceOfNDistinct(rapid.Custom(func(rt *rapid.T) Pool {
			return pool(t, rapid.SampledFrom(types).Draw(rt, "t"), rapid.SampledFrom(zones).Draw(rt, "z"))
		}), 1, 8, func(p Pool) spotfleet.Pool { return p.Pool }).Draw(rt, "others")
		others = slices.DeleteFunc(others, func(p Pool) bool { return p.Pool == one.Pool })
		alone, err := New(seed, []Pool{one}, Options{Model: model, Intensity: 50})
		if err != nil {
			rt.Fatal(err)
		}
		with, err := New(seed, append(others, one), Options{Model: model, Intensity: 50})
		if err != nil {
			rt.Fatal(err)
		}
		a, b := alone.Levels(0, 60*24*time.Hour), with.Levels(len(others), 60*24*time.Hour)
		if !slices.Equal(a, b) {
			rt.Fatalf("%s alone: %d changes; with %d other pools: %d changes", one.Pool, len(a), len(others), len(b))
		}
		for _, at := range []time.Duration{0, time.Hour, 17 * 24 * time.Hour} {
			if pa, pb := alone.SpotPrice(0, at), with.SpotPrice(len(others), at); pa != pb {
				rt.Fatalf("%s at %s: %g alone, %g with others", one.Pool, at, pa, pb)
			}
		}
	})
}

// lossesPerUpHour counts a pool's losses (depth going to 0) per hour it had capacity.
func lossesPerUpHour(levels []Change, until time.Duration) (losses int, upHours float64) {
	for i, c := range levels {
		end := until
		if i+1 < len(levels) {
			end = levels[i+1].At
		}
		if c.Depth != 0 {
			upHours += (end - c.At).Hours()
		} else if i > 0 && levels[i-1].Depth != 0 {
			losses++
		}
	}
	return losses, upHours
}

// lossRate is the losses per hour with capacity of a type's pools in three zones, over
// runs (each draws its region's scarcity anew).
func lossRate(t *testing.T, itype string, o Options, runs int, d time.Duration) (losses int, perHour float64) {
	var pools []Pool
	for _, z := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
		pools = append(pools, pool(t, itype, z))
	}
	hours := 0.0
	for seed := range uint64(runs) {
		m, err := New(seed, pools, o)
		if err != nil {
			t.Fatal(err)
		}
		for i := range pools {
			l, h := lossesPerUpHour(m.Levels(i, d), d)
			losses, hours = losses+l, hours+h
		}
	}
	return losses, float64(losses) / hours
}

// TestAdvisorRateIsTheBand: under the advisor model a pool loses its capacity (and a small
// fleet's instance in it is interrupted) as often as its type's band says, times the
// intensity, on average over regions (each has its own scarcity).
func TestAdvisorRateIsTheBand(t *testing.T) {
	for _, itype := range []string{"m6i.large", "m5.large", "c5.large", "p3.2xlarge"} {
		losses, got := lossRate(t, itype, Options{Model: Advisor, Intensity: 4}, 60, 5*year)
		pools := []Pool{pool(t, itype, "us-east-1a")}
		want := bandRate(pools[0].Spec.Band) * 4 / hoursPerMonth
		t.Logf("%s (band %d): %d losses, %.2g an hour with capacity, want %.2g", itype, pools[0].Spec.Band, losses, got, want)
		// Losses of the zones' shared shocks overlap those of a pool's own: a few percent
		// are merged into one. Regions' scarcity differs (lognormal, σ 0.64): 60 draws.
		if got < 0.75*want || got > 1.25*want {
			t.Errorf("%s: %.3g losses an hour, want the band's %.3g", itype, got, want)
		}
	}
}

// TestStressRateIsTheTraces: under the stress model a pool loses its capacity about as
// often as the traces of its kind did, per hour with capacity.
func TestStressRateIsTheTraces(t *testing.T) {
	p, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, itype := range []string{"m5.large", "p3.2xlarge"} {
		_, got := lossRate(t, itype, Options{Model: Stress}, 60, 60*24*time.Hour)
		want := p.Kinds[kindOf(itype)].LossesPerHour
		if got < 0.7*want || got > 1.3*want {
			t.Errorf("%s: %.3g losses an hour with capacity, want about the traces' %.3g", itype, got, want)
		}
	}
}

// availability samples a pool's levels every gap: whether it has capacity.
func availability(levels []Change, gap time.Duration, n int) []bool {
	out := make([]bool, n)
	j := 0
	for i := range n {
		at := time.Duration(i) * gap
		for j+1 < len(levels) && levels[j+1].At <= at {
			j++
		}
		out[i] = levels[j].Depth != 0
	}
	return out
}

func correlation(a, b []bool) float64 {
	var pa, pb, pab float64
	for i := range a {
		if a[i] {
			pa++
		}
		if b[i] {
			pb++
		}
		if a[i] && b[i] {
			pab++
		}
	}
	n := float64(len(a))
	pa, pb, pab = pa/n, pb/n, pab/n
	return (pab - pa*pb) / math.Sqrt(pa*(1-pa)*pb*(1-pb))
}

// TestSharedLosses: the zones of one type in a region lose capacity together more often
// than chance, as the types of one family in a zone do; types of different families, or
// one type in two regions, do not.
func TestSharedLosses(t *testing.T) {
	pools := []Pool{pool(t, "m5.large", "us-east-1a"), pool(t, "m5.large", "us-east-1b"), pool(t, "m5.xlarge", "us-east-1a"),
		pool(t, "c6i.large", "us-east-1a"), pool(t, "m5.large", "us-west-2a")}
	m, err := New(3, pools, Options{Model: Stress})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200_000
	var up [][]bool
	for i := range pools {
		up = append(up, availability(m.Levels(i, n*time.Minute), time.Minute, n))
	}
	zones, family := correlation(up[0], up[1]), correlation(up[0], up[2])
	otherFamily, otherRegion := correlation(up[0], up[3]), correlation(up[0], up[4])
	t.Logf("correlation: zones %.2f, family %.2f, other family %.2f, other region %.2f", zones, family, otherFamily, otherRegion)
	if zones < 0.15 || family < 0.1 || math.Abs(otherFamily) > 0.08 || math.Abs(otherRegion) > 0.08 {
		t.Errorf("correlation of zones %.2f, of a family %.2f, of two families %.2f, of two regions %.2f", zones, family, otherFamily, otherRegion)
	}
}

// TestPricesDifferByZone: a type's zones are priced as the 2022 file prices them against
// each other, and the drift keeps a price within the range the c5a.2xlarge history moved.
func TestPricesDifferByZone(t *testing.T) {
	file := spotdata.ZonePrices()["m5a.large"] // use1-az1 and use1-az4
	pools := []Pool{pool(t, "m5a.large", "us-east-1a"), pool(t, "m5a.large", "us-east-1d")}
	want := file[zoneID("us-east-1a")] / file[zoneID("us-east-1d")]
	if got := zoneFactor(1, pools[0]) / zoneFactor(1, pools[1]); math.Abs(got-want) > 1e-12 {
		t.Errorf("zone factors: us-east-1a over us-east-1d %.4f, the file says %.4f", got, want)
	}
	flat, err := New(1, pools, Options{FlatPrices: true})
	if err != nil {
		t.Fatal(err)
	}
	// The drift moves each zone by its own steps: over 40 months, the means keep the file's
	// ratio, and no price strays beyond what the c5a.2xlarge history did (12-21% in seven
	// weeks).
	var a, b float64
	for seed := range uint64(40) {
		m, err := New(seed, pools, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for h := range 720 {
			a += m.SpotPrice(0, time.Duration(h)*time.Hour)
			b += m.SpotPrice(1, time.Duration(h)*time.Hour)
			if p := m.SpotPrice(0, time.Duration(h)*time.Hour) / (flat.SpotPrice(0, 0) * zoneFactor(seed, pools[0])); p < 0.75 || p > 1.25 {
				t.Fatalf("seed %d, hour %d: %.3f of the zone's price, beyond the drift's range", seed, h, p)
			}
		}
	}
	if got := a / b; math.Abs(got/want-1) > 0.02 {
		t.Errorf("us-east-1a costs %.4f of us-east-1d over 40 months, the file says %.4f", got, want)
	}
	if got, want := flat.SpotCost(0, 0, 2*time.Hour), 2*pools[0].Spec.SpotUSD(); math.Abs(got-want) > 1e-12 {
		t.Errorf("two hours at a flat price: $%g, want $%g", got, want)
	}
}

// TestTraceModelKeepsZonesTogether: under the trace model the zones of one region read the
// traces of one set from the same offset.
func TestTraceModelKeepsZonesTogether(t *testing.T) {
	var traces []spotdata.Trace
	for _, tr := range spotdata.Embedded() {
		if tr.Set() == "availability/1-node/aws-02-15-2023" && tr.Region() == "us-west-2" {
			traces = append(traces, tr)
		}
	}
	if len(traces) != 3 {
		t.Fatalf("%d traces of us-west-2 on 2023-02-15, want 3", len(traces))
	}
	pools := []Pool{pool(t, "m5.large", "us-west-2a"), pool(t, "m5.large", "us-west-2b"), pool(t, "m5.large", "us-west-2c")}
	for seed := range uint64(4) {
		m, err := New(seed, pools, Options{Model: Trace, Traces: traces})
		if err != nil {
			t.Fatal(err)
		}
		n := traces[0].Len()
		gap := traces[0].Gap
		var got [][]bool
		for i := range pools {
			got = append(got, availability(m.Levels(i, time.Duration(n)*gap), gap, n))
		}
		// Some offset o has every zone's availability equal to its trace's from o.
		found := false
		for o := 0; o < n && !found; o++ {
			found = true
			for i, tr := range traces {
				for k := 0; k < n && found; k += 7 {
					found = got[i][k] == tr.Up((o+k)%n)
				}
			}
		}
		if !found {
			t.Errorf("seed %d: no common offset reproduces the three zones", seed)
		}
	}
}

// TestSameSeedSameMarket: the market is a function of its seed.
func TestSameSeedSameMarket(t *testing.T) {
	pools := []Pool{pool(t, "m5.large", "us-east-1a"), pool(t, "c5.large", "us-east-1b")}
	levels := func(seed uint64) string {
		m, err := New(seed, pools, Options{Model: Stress})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(m.Levels(0, 30*24*time.Hour), m.Levels(1, 30*24*time.Hour), m.SpotPrice(1, 100*time.Hour))
	}
	if levels(7) != levels(7) || levels(7) == levels(8) {
		t.Error("the same seed gave two markets, or two seeds the same")
	}
}

// TestNoTracesNoFit: a kind without a trace cannot be fitted, and says so.
func TestNoTracesNoFit(t *testing.T) {
	var gpu []spotdata.Trace
	for _, tr := range spotdata.Embedded() {
		if spotdata.Accelerated(tr.InstanceType()) {
			gpu = append(gpu, tr)
		}
	}
	if _, err := Fit(gpu); err == nil {
		t.Error("fitted the CPU kind without a CPU trace")
	}
	if _, err := New(1, nil, Options{Model: "weather"}); err == nil {
		t.Error("an unknown model was taken")
	}
	if _, err := New(1, nil, Options{Model: Advisor, Intensity: -1}); err == nil {
		t.Error("a negative intensity was taken")
	}
}
