package spotdata

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed spot-prices-us-east-1-2022-05-31.tsv
var zonePriceTable string

// ZonePrices are the Linux/UNIX Spot prices set in us-east-1 in the last hours of 2022-05-31,
// by type and zone ID (use1-az1 to use1-az6), the last one of each: a copy of
// shared/data/spot/spot-prices-us-east-1-2022-05-31.tsv, from ericpauley/aws-spot-price-history
// (May 2022). What they tell is how a type's price differs between zones.
var ZonePrices = sync.OnceValue(func() map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	latest := map[[2]string]string{}
	for i, line := range strings.Split(strings.TrimSpace(zonePriceTable), "\n")[1:] {
		f := strings.Split(line, "\t") // zone_id instance_type product price timestamp
		if len(f) != 5 {
			panic(fmt.Sprintf("spotdata: zone prices line %d: %q", i+2, line))
		}
		if f[2] != "Linux/UNIX" {
			continue
		}
		price, err := strconv.ParseFloat(f[3], 64)
		if err != nil || price <= 0 {
			panic(fmt.Sprintf("spotdata: zone prices line %d: price %q", i+2, f[3]))
		}
		key := [2]string{f[1], f[0]}
		if f[4] < latest[key] {
			continue
		}
		latest[key] = f[4]
		if out[f[1]] == nil {
			out[f[1]] = map[string]float64{}
		}
		out[f[1]][f[0]] = price
	}
	return out
})

// ZoneSpread is every price of ZonePrices over the mean of its type's prices, for the types
// priced in at least two zones, sorted: how far a zone's price strays from its type's.
var ZoneSpread = sync.OnceValue(func() []float64 {
	var out []float64
	for _, zones := range ZonePrices() {
		if len(zones) < 2 {
			continue
		}
		mean := MeanPrice(zones)
		for _, p := range zones {
			out = append(out, p/mean)
		}
	}
	slices.Sort(out)
	return out
})

// MeanPrice is the mean of a type's zone prices, summed in the zones' order, so that it is
// the same number every time.
func MeanPrice(zones map[string]float64) float64 {
	sum := 0.0
	for _, z := range slices.Sorted(maps.Keys(zones)) {
		sum += zones[z]
	}
	return sum / float64(len(zones))
}

//go:embed spot-price-history-c5a.2xlarge-us-east-1.csv
var historyTable string

// PriceStep is one change of a zone's Spot price.
type PriceStep struct {
	At    time.Time
	Zone  string
	Price float64
}

// PriceHistory is the DescribeSpotPriceHistory answer for c5a.2xlarge in five zones of
// us-east-1, 2023-11-11 to 2023-12-30, oldest first: a copy of
// shared/data/spot/spot-price-history-c5a.2xlarge-us-east-1.csv (soso0024/Research-Video-Encoding, MIT).
var PriceHistory = sync.OnceValue(func() []PriceStep {
	rows, err := csv.NewReader(strings.NewReader(historyTable)).ReadAll()
	if err != nil {
		panic("spotdata: price history: " + err.Error())
	}
	var out []PriceStep
	for i, r := range rows[1:] { // Timestamp,InstanceType,ProductDescription,SpotPrice,AvailabilityZone
		at, err1 := time.Parse("2006-01-02 15:04:05-07:00", r[0])
		price, err2 := strconv.ParseFloat(r[3], 64)
		if err1 != nil || err2 != nil || price <= 0 {
			panic(fmt.Sprintf("spotdata: price history row %d: %v", i+2, r))
		}
		out = append(out, PriceStep{At: at, Zone: r[4], Price: price})
	}
	slices.SortStableFunc(out, func(a, b PriceStep) int { return a.At.Compare(b.At) })
	return out
})

// Drift is how a zone's Spot price moves, fitted on PriceHistory as an autoregressive
// process of the logarithm of the price at each change: x' = Rho·x + N(0, Step²).
type Drift struct {
	ChangesPerDay float64 // price changes a day, per zone
	Rho           float64 // the log price's autocorrelation from one change to the next
	Step          float64 // standard deviation of the innovation
	SD            float64 // the stationary standard deviation of the log price
}

// PriceDrift fits Drift on PriceHistory: each zone's changes per day, lag-1 autocorrelation
// and standard deviation of the log price, averaged over the zones.
var PriceDrift = sync.OnceValue(func() Drift {
	byZone := map[string][]PriceStep{}
	for _, s := range PriceHistory() {
		byZone[s.Zone] = append(byZone[s.Zone], s)
	}
	var d Drift
	for _, steps := range byZone {
		xs := make([]float64, len(steps))
		mean := 0.0
		for i, s := range steps {
			xs[i] = math.Log(s.Price)
			mean += xs[i]
		}
		mean /= float64(len(xs))
		var ss, lag float64
		for i, x := range xs {
			ss += (x - mean) * (x - mean)
			if i > 0 {
				lag += (x - mean) * (xs[i-1] - mean)
			}
		}
		days := steps[len(steps)-1].At.Sub(steps[0].At).Hours() / 24
		d.ChangesPerDay += float64(len(steps)) / days
		d.Rho += lag / ss
		d.SD += math.Sqrt(ss / float64(len(xs)))
	}
	n := float64(len(byZone))
	d.ChangesPerDay, d.Rho, d.SD = d.ChangesPerDay/n, d.Rho/n, d.SD/n
	d.Step = d.SD * math.Sqrt(1-d.Rho*d.Rho)
	return d
})
