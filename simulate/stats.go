package simulate

import (
	"math"
	"slices"
	"time"

	"github.com/spotfleet/spotfleet/internal/stats"
)

// Stat is a figure over the runs: its mean with a 95% confidence interval (Student's t,
// clipped to what the figure can be), and its distribution: the 5th, 50th and 95th
// percentiles, the least and the most.
type Stat struct {
	Mean float64    `json:"mean"`
	CI95 [2]float64 `json:"ci95"`
	P5   float64    `json:"p5"`
	P50  float64    `json:"p50"`
	P95  float64    `json:"p95"`
	Min  float64    `json:"min"`
	Max  float64    `json:"max"`
	// N is how many runs had the figure: all of them, but for a fallback's reaction and
	// return, which need a cover.
	N int `json:"n"`
}

// Diff is a row's difference to its baseline row in the same runs (the same market in
// run i): the mean of the runs' differences and its paired 95% interval.
type Diff struct {
	Mean float64    `json:"mean"`
	CI95 [2]float64 `json:"ci95"`
}

// bounds are what a figure can be.
type bounds struct{ lo, hi float64 }

var (
	percent     = bounds{0, 100}
	nonNegative = bounds{0, math.Inf(1)}
	anyValue    = bounds{math.Inf(-1), math.Inf(1)}
)

// statOf sums up values of one figure over the runs.
func statOf(xs []float64, b bounds) Stat {
	n := len(xs)
	if n == 0 {
		return Stat{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	mean, half := meanHalf(xs)
	return Stat{Mean: round(mean), CI95: [2]float64{round(max(mean-half, b.lo)), round(min(mean+half, b.hi))},
		P5: round(stats.Quantile(s, 0.05)), P50: round(stats.Quantile(s, 0.5)), P95: round(stats.Quantile(s, 0.95)),
		Min: round(s[0]), Max: round(s[n-1]), N: n}
}

// diffOf is the paired difference of two figures' values in the same runs; b bounds the
// difference (for a percentage, −100 to 100).
func diffOf(xs, base []float64, b bounds) Diff {
	n := min(len(xs), len(base))
	if n == 0 {
		return Diff{}
	}
	d := make([]float64, n)
	for i := range n {
		d[i] = xs[i] - base[i]
	}
	mean, half := meanHalf(d)
	return Diff{Mean: round(mean), CI95: [2]float64{round(max(mean-half, b.lo)), round(min(mean+half, b.hi))}}
}

// meanHalf is the mean and the half width of its 95% interval, t(0.975, n−1)·s/√n (0
// with one value).
func meanHalf(xs []float64) (mean, half float64) {
	n := len(xs)
	for _, x := range xs {
		mean += x
	}
	mean /= float64(n)
	if n < 2 {
		return mean, 0
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, tQuantile(n-1) * math.Sqrt(ss/float64(n-1)) / math.Sqrt(float64(n))
}

// tQuantile is Student's t at 0.975 for df degrees of freedom (tables for df ≤ 30, the
// normal's 1.96 beyond within 0.04).
func tQuantile(df int) float64 {
	table := []float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}
	if df >= 1 && df <= len(table) {
		return table[df-1]
	}
	return 1.96
}

// round keeps 4 significant decimals past the point: reports that read the same.
func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func seconds(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

func hours(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Hours()
	}
	return out
}

// quantile of values in any order (nearest rank); 0 for none.
func quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return stats.Quantile(s, q)
}
