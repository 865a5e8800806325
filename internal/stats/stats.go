// Package stats holds the few statistics the reports share, so that a percentile means
// the same in `up`'s report and in `simulate`'s.
package stats

import "math"

// Quantile is the nearest-rank q-quantile of sorted values: the smallest value with at
// least q of the values at or below it. 0 when there are none.
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
