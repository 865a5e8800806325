package market

import (
	"fmt"
	"sort"
	"time"

	"github.com/spotfleet/spotfleet/internal/spotdata"
)

// replay is a pool's levels under the trace model: the traces of one set and region (the
// zones measured at once) stand for the zones of a region, and every zone of a region and
// type reads its trace from the same offset, so that the zones keep the correlation they
// had. Which set, and from where, is drawn per region and type; a zone takes the set's
// traces in turn by its letter (a the first, b the second, ...), looping at the end of
// each. The level is the count of available instances over the count asked for.
func replay(seed uint64, traces []spotdata.Trace, p Pool, h time.Duration) ([]segment, error) {
	sets := traceSets(traces)
	if len(sets) == 0 {
		return nil, fmt.Errorf("the trace market needs traces")
	}
	region := regionOf(p.Zone)
	set := sets[int(uniform(seed, 0, "trace-set", region, p.InstanceType)*float64(len(sets)))]
	letter := 0
	if z := p.Zone; len(z) > 0 && z[len(z)-1] >= 'a' && z[len(z)-1] <= 'z' {
		letter = int(z[len(z)-1] - 'a')
	}
	tr := set[letter%len(set)]
	n := tr.Len()
	for _, t := range set {
		n = min(n, t.Len())
	}
	offset := int(uniform(seed, 1, "trace-offset", region, p.InstanceType) * float64(n))
	out := []segment{}
	for i := 0; time.Duration(i)*tr.Gap < h; i++ {
		level := float64(tr.Count[(offset+i)%n]) / float64(max(tr.Nodes, 1))
		if len(out) == 0 || out[len(out)-1].level != level {
			out = append(out, segment{time.Duration(i) * tr.Gap, level})
		}
	}
	return out, nil
}

// traceSets groups traces by their set and region, in a fixed order.
func traceSets(traces []spotdata.Trace) [][]spotdata.Trace {
	by := map[string][]spotdata.Trace{}
	for _, t := range traces {
		k := t.Set() + " " + t.Region()
		by[k] = append(by[k], t)
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]spotdata.Trace, 0, len(keys))
	for _, k := range keys {
		set := by[k]
		sort.Slice(set, func(i, j int) bool { return set[i].Name < set[j].Name })
		out = append(out, set)
	}
	return out
}
