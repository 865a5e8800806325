package emulator

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/market"
	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/emulator/sqs"
	"github.com/spotfleet/spotfleet/internal/spotdata"
	"github.com/spotfleet/spotfleet/manifest"
)

// testPool is a pool of a type, at the Advisor's price, that can give capacity instances.
func testPool(typ string, capacity int) *pool {
	spec, _ := spotdata.Lookup(typ)
	key := spotfleet.Pool{InstanceType: typ, Zone: "us-east-1a"}
	mk, err := market.New(0, []market.Pool{{Pool: key, Spec: spec}}, market.Options{FlatPrices: true})
	if err != nil {
		panic(err)
	}
	return &pool{Pool: key, Spec: spec, mk: mk, depth: capacity}
}

func names(ps []*pool) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.InstanceType)
	}
	return out
}

// Spot prices of the pools below (us-east-1 table, flat): t3a.large 0.0248 < m5.large 0.0326 < m5a.large 0.0344 < m5d.large 0.0463.
func TestSpotAllocationStrategies(t *testing.T) {
	mk := func(caps ...int) []*pool {
		types := []string{"m5d.large", "m5.large", "t3a.large", "m5a.large"}
		var ps []*pool
		for i, c := range caps {
			ps = append(ps, testPool(types[i], c))
		}
		return ps
	}
	cases := []struct {
		name     string
		strategy manifest.AllocationStrategy
		pools    []*pool
		placed   map[string]int // instances the group already has, by type
		want     []string
	}{
		{"lowest-price: only the 2 cheapest pools", manifest.LowestPrice, mk(Unlimited, Unlimited, Unlimited, Unlimited), nil,
			[]string{"t3a.large", "m5.large"}},
		{"lowest-price: spreads over its 2 pools", manifest.LowestPrice, mk(Unlimited, Unlimited, Unlimited, Unlimited), map[string]int{"t3a.large": 1},
			[]string{"m5.large", "t3a.large"}},
		{"diversified: fewest instances first, then price", manifest.Diversified, mk(Unlimited, Unlimited, Unlimited, Unlimited), map[string]int{"t3a.large": 1, "m5.large": 1},
			[]string{"m5a.large", "m5d.large", "t3a.large", "m5.large"}},
		{"capacity-optimized: most free capacity", manifest.CapacityOptimized, mk(5, 50, 20, 0), nil,
			[]string{"m5.large", "t3a.large", "m5d.large", "m5a.large"}},
		{"price-capacity-optimized: cheapest among the deep pools", manifest.PriceCapacityOptimized, mk(100, 100, 5, 60), nil,
			[]string{"m5.large", "m5a.large", "m5d.large", "t3a.large"}},
		{"price-capacity-optimized: a pool without capacity goes last", manifest.PriceCapacityOptimized, mk(0, Unlimited, 0, Unlimited), nil,
			[]string{"m5.large", "m5a.large", "m5d.large", "t3a.large"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			per := map[*pool]int{}
			for _, p := range tc.pools {
				per[p] = tc.placed[p.InstanceType]
			}
			got := names(spotOrder(tc.strategy, tc.pools, per, 0))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWantOnDemand(t *testing.T) {
	for _, tc := range []struct{ desired, base, pct, want int }{
		{10, 0, 0, 0}, {10, 2, 0, 2}, {10, 2, 50, 6}, {10, 0, 100, 10}, {3, 1, 50, 2}, // 1 + ceil(2*0.5)
		{1, 2, 0, 1}, {5, 0, 33, 2}, // ceil(5*0.33) rounds toward On-Demand
	} {
		if got := wantOnDemand(tc.desired, tc.base, tc.pct); got != tc.want {
			t.Errorf("wantOnDemand(%d, base %d, %d%%) = %d, want %d", tc.desired, tc.base, tc.pct, got, tc.want)
		}
	}
}

const iceManifest = `name: ice
workload: instances
capacity:
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large]
    zones: [us-east-1a]
    spotAllocationStrategy: lowest-price
instances: {name: app, command: [x]}
`

// TestICESendsLaunchesElsewhere: a pool without Spot capacity refuses the launch, the
// group records a failed activity with AWS's message, emits the launch-unsuccessful event
// and launches in another pool; with no pool left, it retries and never falls back to
// On-Demand.
func TestICESendsLaunchesElsewhere(t *testing.T) {
	world(t, iceManifest, func(t *testing.T, e *Emulator, r *proc.Fake) {
		var refused *pool // the cheapest, which lowest-price tries first
		inspect(e, func() {
			refused = spotOrder(manifest.LowestPrice, e.market.pools, nil, 0)[0]
			refused.depth = 0
			e.groups[0].setDesired(2, "test")
		})
		time.Sleep(2 * time.Minute)
		inspect(e, func() {
			g := e.groups[0]
			if len(g.live) != 2 {
				t.Fatalf("live instances %d, want 2", len(g.live))
			}
			for _, in := range g.live {
				if in.pool == refused || in.lifecycle != spotfleet.Spot {
					t.Errorf("instance in %s (%s): the refused pool or On-Demand", in.pool, in.lifecycle)
				}
			}
			failed := 0
			for _, a := range g.activities {
				if a.StatusCode == "Failed" {
					failed++
					if a.StatusMessage != ICEMessage || !strings.Contains(a.Description, refused.String()) {
						t.Errorf("failed activity: %+v", a)
					}
				}
			}
			if failed == 0 {
				t.Error("no failed activity recorded")
			}
		})
		if n := countEvents(e, spotfleet.DetailLaunchFailed); n == 0 {
			t.Error("no launch-unsuccessful event")
		}
		// Now every pool is out: the group keeps trying Spot and launches nothing else.
		var before int
		inspect(e, func() {
			before = e.acct.LaunchFailures
			for _, p := range e.market.pools {
				p.depth = 0
			}
			e.groups[0].setDesired(4, "test")
		})
		time.Sleep(time.Minute)
		inspect(e, func() {
			if got := len(e.groups[0].live); got != 2 {
				t.Errorf("with no Spot capacity the group has %d instances, want still 2", got)
			}
			// Every 10s, lowest-price tries its 2 cheapest pools.
			if got := e.acct.LaunchFailures - before; got < 6*spotInstancePools {
				t.Errorf("%d launch failures in a minute: the group should retry every %s", got, launchRetry)
			}
		})
	})
}

func countEvents(e *Emulator, detailType string) int {
	n := 0
	for _, m := range e.Queue().Receive(sqs.MaxQueued, time.Hour) {
		if strings.Contains(string(m.Body), `"detail-type":"`+detailType+`"`) {
			n++
		}
	}
	return n
}
