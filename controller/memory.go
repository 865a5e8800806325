package controller

import (
	"math"
	"time"

	"github.com/spotfleet/spotfleet"
)

// Weights a pool's memory gets per happening, and the level below which it is usable
// again: with a half-life H, one interruption keeps a pool avoided for 2H, one rebalance
// recommendation for H, and each repeat adds to it (a fixed "forget after 3 minutes", as
// Karpenter's unavailable-offerings cache does, treats a pool that fails every hour like
// one that failed once).
const (
	weightInterruption = 1.0
	weightRebalance    = 0.5
	avoidBelow         = 0.25
)

// poolMemory remembers how recently and how often pools were interrupted or put at risk.
// The value decays exponentially, so it needs no sweeping.
type poolMemory struct {
	halfLife time.Duration
	m        map[spotfleet.Pool]memo
}

type memo struct {
	v  float64
	at time.Time
}

func newPoolMemory(halfLife time.Duration) *poolMemory {
	return &poolMemory{halfLife: halfLife, m: map[spotfleet.Pool]memo{}}
}

func (pm *poolMemory) value(p spotfleet.Pool, now time.Time) float64 {
	x, ok := pm.m[p]
	if !ok || pm.halfLife <= 0 {
		return 0
	}
	return x.v * math.Exp2(-now.Sub(x.at).Seconds()/pm.halfLife.Seconds())
}

func (pm *poolMemory) add(p spotfleet.Pool, w float64, now time.Time) {
	pm.m[p] = memo{v: pm.value(p, now) + w, at: now}
	for q := range pm.m { // keep the map to the pools that still matter
		if pm.value(q, now) < avoidBelow/64 {
			delete(pm.m, q)
		}
	}
}

// atLeast raises a pool's memory to w (if lower) without adding to it.
func (pm *poolMemory) atLeast(p spotfleet.Pool, w float64, now time.Time) {
	if v := pm.value(p, now); v < w {
		pm.add(p, w-v, now)
	}
}

// avoided returns the pools of a group to keep new Spot capacity out of: those whose
// memory is above the threshold, but never all of them. When every pool is remembered none
// is avoided: they are all as bad (a market short everywhere refuses every pool in turn),
// an Auto Scaling group needs at least one override, and picking the least bad of equals
// would change the overrides on every refusal.
func avoided(pools []spotfleet.Pool, value func(spotfleet.Pool) float64) []spotfleet.Pool {
	var out []spotfleet.Pool
	for _, p := range pools {
		if value(p) >= avoidBelow {
			out = append(out, p)
		}
	}
	if len(out) == len(pools) {
		return nil
	}
	return out
}

// forgetting is when the next remembered pool falls below the level at which it is avoided
// (zero: none is above it).
func (pm *poolMemory) forgetting(now time.Time) time.Time {
	var next time.Time
	for p := range pm.m {
		v := pm.value(p, now)
		if v < avoidBelow || pm.halfLife <= 0 {
			continue
		}
		// v·2^(-t/H) = avoidBelow at t = H·log2(v/avoidBelow); a second past it, to be below.
		t := now.Add(time.Duration(pm.halfLife.Seconds()*math.Log2(v/avoidBelow)*float64(time.Second)) + time.Second)
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next
}
