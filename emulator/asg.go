package emulator

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/account"
	"github.com/spotfleet/spotfleet/emulator/imds"
	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/internal/spotdata"
	"github.com/spotfleet/spotfleet/manifest"
)

// activity is an Auto Scaling scaling activity, with the zone it tried (for the snapshot's
// failures).
type activity struct {
	fleetview.Activity
	zone string
}

// ICEMessage is what a scaling activity says when no Spot pool has capacity.
const ICEMessage = "Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request. Launching EC2 instance failed."

// launchRetry is how soon a group tries again after a failed launch. AWS does not document
// its backoff; failed activities on AWS recur every few seconds to a minute.
const launchRetry = 10 * time.Second

// spotInstancePools is how many of the cheapest pools lowest-price spreads over (the Auto
// Scaling default of SpotInstancePools).
const spotInstancePools = 2

// group is an Auto Scaling group with a mixed instances policy.
type group struct {
	e          *Emulator
	cfg        *manifest.CapacityGroup
	desired    int // capacity units
	live       []*instance
	activities []activity
	retrying   bool
	avoid      map[spotfleet.Pool]bool // Spot pools taken out of the overrides (AvoidPools)
}

func newGroup(e *Emulator, cfg *manifest.CapacityGroup) *group {
	return &group{e: e, cfg: cfg}
}

// firstSpec is the specification of the group's first instance type.
func (g *group) firstSpec() spotdata.InstanceType {
	return g.e.market.byKey[spotfleet.Pool{InstanceType: g.cfg.InstanceTypes[0].Type, Zone: g.cfg.Zones[0]}].Spec
}

// setDesired changes the desired capacity, clamped to the group's bounds, and acts on it.
func (g *group) setDesired(n int, cause string) {
	n = min(max(n, g.cfg.MinSize), g.cfg.MaxSize)
	if n != g.desired {
		g.e.changed()
		g.e.note("group %s: desired capacity %d -> %d (%s)", g.cfg.Name, g.desired, n, cause)
	}
	g.desired = n
	g.reconcile()
}

// units counts the capacity that serves: live instances that are not leaving. An instance
// with an interruption notice still counts until it terminates, as on AWS without
// capacity rebalancing.
func (g *group) units() (total, onDemand int) {
	for _, in := range g.live {
		if in.leaving {
			continue
		}
		total += in.weight
		if in.lifecycle == spotfleet.OnDemand {
			onDemand += in.weight
		}
	}
	return total, onDemand
}

// wantOnDemand is the On-Demand share of a desired capacity: the base first, then the
// percentage above it, rounded up toward On-Demand.
func wantOnDemand(desired, base, pct int) int {
	b := min(desired, base)
	return b + (max(desired-b, 0)*pct+99)/100
}

func (g *group) reconcile() {
	total, od := g.units()
	var spread *census // counted once for the batch: a count per launch was quadratic
	if total < g.desired {
		spread = g.census()
	}
	for launched := 0; total < g.desired && launched < 100; launched++ {
		lc := spotfleet.Spot
		if od < wantOnDemand(g.desired, g.cfg.OnDemandBaseCapacity, g.cfg.OnDemandPercentageAboveBaseCapacity) {
			lc = spotfleet.OnDemand
		}
		in := g.launchOne(lc, total, spread)
		if in == nil {
			g.retryLater()
			return
		}
		total += in.weight
		if lc == spotfleet.OnDemand {
			od += in.weight
		}
	}
	if total < g.desired { // launched a batch: Auto Scaling goes on with the next one
		g.e.after(time.Second, g.reconcile)
	}
	if total > g.desired {
		g.scaleIn(total, od)
	}
}

func (g *group) retryLater() {
	if g.retrying {
		return
	}
	g.retrying = true
	g.e.after(launchRetry, func() {
		g.retrying = false
		g.reconcile()
	})
}

// launchOne launches one instance of the lifecycle, trying pools in the strategy's order;
// every pool that refuses records a failed activity. It returns nil if none could launch.
func (g *group) launchOne(lc spotfleet.Lifecycle, from int, spread *census) *instance {
	e := g.e
	for _, p := range g.poolOrder(lc, spread) {
		act := activity{Activity: fleetview.Activity{ID: e.ids.uuid(), Start: e.now, End: e.now,
			Cause: fmt.Sprintf("At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d.",
				e.now.UTC().Format(imds.TimeFormat), from, g.desired)}}
		if lc == spotfleet.Spot && !p.take() {
			act.Description = fmt.Sprintf("Launching a new EC2 instance (%s).  Status Reason: %s", p, ICEMessage)
			act.StatusCode, act.StatusMessage, act.zone = fleetview.ActivityFailed, ICEMessage, p.Zone
			g.record(act)
			e.acct.LaunchFailures++
			e.acct.RefusalMarks = account.Mark(e.acct.RefusalMarks, e.elapsed())
			e.emitLaunchFailed(g, act, p)
			continue
		}
		in := e.launch(g, p, lc, g.cfg.WeightOf(p.InstanceType))
		act.Description = "Launching a new EC2 instance: " + in.id
		act.StatusCode = fleetview.ActivitySuccessful
		g.record(act)
		g.live = append(g.live, in)
		spread.perZone[p.Zone]++
		spread.perPool[p]++
		e.note("group %s launches %s %s (%s)", g.cfg.Name, in.id, p, lc)
		return in
	}
	e.note("group %s: no %s pool could launch; retrying in %s", g.cfg.Name, lc, launchRetry)
	return nil
}

func (g *group) record(a activity) {
	g.activities = append(g.activities, a)
	if len(g.activities) > 100 {
		g.activities = g.activities[len(g.activities)-50:]
	}
}

// census counts a group's instances that are not leaving, by zone and by pool: where its
// next instance goes.
type census struct {
	perZone map[string]int
	perPool map[*pool]int
}

func (g *group) census() *census {
	c := &census{perZone: map[string]int{}, perPool: map[*pool]int{}}
	for _, in := range g.live {
		if !in.leaving {
			c.perZone[in.pool.Zone]++
			c.perPool[in.pool]++
		}
	}
	return c
}

// poolOrder is the order in which the group tries pools for its next instance: zones with
// the fewest of its instances first (Auto Scaling balances zones), and within a zone the
// allocation strategy's order.
func (g *group) poolOrder(lc spotfleet.Lifecycle, spread *census) []*pool {
	perZone, perPool := spread.perZone, spread.perPool
	zones := slices.Clone(g.cfg.Zones)
	slices.SortStableFunc(zones, func(a, b string) int { return cmp.Compare(perZone[a], perZone[b]) })
	var out []*pool
	for _, z := range zones {
		var ps []*pool
		for _, it := range g.cfg.InstanceTypes {
			key := spotfleet.Pool{InstanceType: it.Type, Zone: z}
			if p := g.e.market.byKey[key]; p != nil && !(lc == spotfleet.Spot && g.avoid[key]) {
				ps = append(ps, p)
			}
		}
		if lc == spotfleet.OnDemand {
			out = append(out, ps...) // prioritized: the order of instanceTypes
			continue
		}
		out = append(out, spotOrder(g.cfg.SpotAllocationStrategy, ps, perPool, g.e.elapsed())...)
	}
	return out
}

// spotOrder orders one zone's pools by a Spot allocation strategy.
func spotOrder(strategy manifest.AllocationStrategy, ps []*pool, perPool map[*pool]int, at time.Duration) []*pool {
	price := func(p *pool) float64 { return p.spotPrice(at) }
	free := (*pool).free
	byPrice := func(a, b *pool) int { return cmp.Compare(price(a), price(b)) }
	ps = slices.Clone(ps)
	switch strategy {
	case manifest.LowestPrice:
		// Spread over the N cheapest pools only, fewest instances first.
		slices.SortStableFunc(ps, byPrice)
		ps = ps[:min(len(ps), spotInstancePools)]
		slices.SortStableFunc(ps, func(a, b *pool) int { return cmp.Compare(perPool[a], perPool[b]) })
	case manifest.Diversified:
		// Evenly over every pool, never one priced at or above On-Demand.
		ps = slices.DeleteFunc(ps, func(p *pool) bool { return price(p) >= p.OnDemandPrice() })
		slices.SortStableFunc(ps, func(a, b *pool) int {
			return cmp.Or(cmp.Compare(perPool[a], perPool[b]), byPrice(a, b))
		})
	case manifest.CapacityOptimized:
		slices.SortStableFunc(ps, func(a, b *pool) int { return cmp.Or(cmp.Compare(free(b), free(a)), byPrice(a, b)) })
	default: // price-capacity-optimized
		// The pools with the most free capacity (at least half the best pool's), cheapest
		// first; then the others by capacity.
		best := 0
		for _, p := range ps {
			best = max(best, free(p))
		}
		deep := func(p *pool) bool { return free(p) > 0 && free(p) >= best/2 }
		slices.SortStableFunc(ps, func(a, b *pool) int {
			switch da, db := deep(a), deep(b); {
			case da && db:
				return byPrice(a, b)
			case da != db:
				if da {
					return -1
				}
				return 1
			}
			return cmp.Compare(free(b), free(a))
		})
	}
	return ps
}

// scaleIn terminates instances until the group is at its desired capacity. Instances that
// run tasks are protected (ECS managed termination protection); instances that serve as
// load balancer targets drain first, as a group attached to a target group does.
func (g *group) scaleIn(total, od int) {
	want := wantOnDemand(g.desired, g.cfg.OnDemandBaseCapacity, g.cfg.OnDemandPercentageAboveBaseCapacity)
	cands := slices.DeleteFunc(slices.Clone(g.live), func(in *instance) bool {
		return in.leaving || (in.ci != nil && in.ci.busy())
	})
	perZone := map[string]int{}
	for _, in := range g.live {
		perZone[in.pool.Zone]++
	}
	excessLC := spotfleet.Spot
	if od > want {
		excessLC = spotfleet.OnDemand
	}
	slices.SortStableFunc(cands, func(a, b *instance) int {
		return cmp.Or(
			boolFirst(a.lifecycle == excessLC, b.lifecycle == excessLC),
			boolFirst(a.noticed(), b.noticed()),
			cmp.Compare(perZone[b.pool.Zone], perZone[a.pool.Zone]),
			b.launchedAt.Compare(a.launchedAt),
		)
	})
	for _, in := range cands {
		if total-in.weight < g.desired {
			continue
		}
		total -= in.weight
		in.leaving = true
		g.record(activity{Activity: fleetview.Activity{ID: g.e.ids.uuid(), Start: g.e.now, End: g.e.now, StatusCode: fleetview.ActivitySuccessful,
			Description: "Terminating EC2 instance: " + in.id,
			Cause:       fmt.Sprintf("At %s a user request update of AutoScalingGroup constraints to min: %d, max: %d, desired: %d changing the desired capacity.", g.e.now.UTC().Format(imds.TimeFormat), g.cfg.MinSize, g.cfg.MaxSize, g.desired)}})
		g.e.retire(in)
	}
}

// retire takes a scaled-in instance out of service: it drains its target, then terminates.
func (e *Emulator) retire(in *instance) {
	if in.app != nil && in.app.target != nil && in.app.target.state.Registered() {
		in.app.target.onUnused = func() { e.terminate(in, "scale-in") }
		in.app.target.tg.deregister(in.app.target, "scale-in")
		return
	}
	if in.ci != nil {
		in.ci.status = spotfleet.ContainerInstanceDraining
		e.touchInstance(in)
	}
	e.terminate(in, "scale-in")
}

// remove takes instances out of the group, and launches what it then lacks.
func (g *group) remove(ins ...*instance) {
	if len(ins) == 0 {
		return
	}
	gone := map[*instance]bool{}
	for _, in := range ins {
		gone[in] = true
	}
	g.live = slices.DeleteFunc(g.live, func(x *instance) bool { return gone[x] })
	g.e.changed() // a snapshot shows the instances out of their group
	g.reconcile()
}

func boolFirst(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}
