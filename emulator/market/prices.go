package market

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/spotfleet/spotfleet/internal/spotdata"
)

// A pool's Spot price is its type's (the Spot Advisor's savings off On-Demand), times its
// zone's factor, times a drift. The zone's factor is what
// spotdata.ZonePrices (us-east-1, 2022-05-31) says of the type in that zone against its
// mean over the zones; a type or zone it does not price draws one of the factors it holds
// (spotdata.ZoneSpread). The drift moves at spotdata.PriceDrift's pace (c5a.2xlarge, five
// zones, seven weeks of 2023): an autoregressive log price, changed about 3.5 times a day.
type prices struct {
	base  float64
	rng   randSource
	steps []priceStep // from 0, in order
	x     float64     // the drift's log price at the last step
	flat  bool
}

type priceStep struct {
	at    time.Duration
	price float64
}

type randSource interface {
	Float64() float64
	NormFloat64() float64
	ExpFloat64() float64
}

func newPrices(seed uint64, p Pool, flat bool) prices {
	if flat {
		return prices{base: p.Spec.SpotUSD(), steps: []priceStep{{0, p.Spec.SpotUSD()}}, flat: true}
	}
	r := stream(seed, "price", p.InstanceType, p.Zone)
	d := spotdata.PriceDrift()
	pr := prices{base: p.Spec.SpotUSD() * zoneFactor(seed, p), rng: r, x: d.SD * r.NormFloat64()}
	pr.steps = []priceStep{{0, pr.base * math.Exp(pr.x)}}
	return pr
}

// zoneIDs maps the zone names of us-east-1 to the zone IDs of the price file. An account's
// names map to IDs its own way (AWS shuffles them per account): this is an assumption, and
// what matters is only that zones differ as the file says they do.
func zoneID(zone string) string {
	rest, ok := strings.CutPrefix(zone, "us-east-1")
	if !ok || len(rest) != 1 || rest[0] < 'a' || rest[0] > 'f' {
		return ""
	}
	return "use1-az" + string('1'+rest[0]-'a')
}

func zoneFactor(seed uint64, p Pool) float64 {
	if zones := spotdata.ZonePrices()[p.InstanceType]; len(zones) >= 2 {
		if price, ok := zones[zoneID(p.Zone)]; ok {
			return price / spotdata.MeanPrice(zones)
		}
	}
	spread := spotdata.ZoneSpread()
	return spread[int(uniform(seed, 0, "zone-price", p.InstanceType, p.Zone)*float64(len(spread)))]
}

// extend draws the price's changes up to h.
func (pr *prices) extend(h time.Duration) {
	if pr.flat {
		return
	}
	d := spotdata.PriceDrift()
	perHour := d.ChangesPerDay / 24
	for {
		last := pr.steps[len(pr.steps)-1].at
		if last >= h {
			return
		}
		at := last + time.Duration(pr.rng.ExpFloat64()/perHour*float64(time.Hour))
		pr.x = d.Rho*pr.x + d.Step*pr.rng.NormFloat64()
		pr.steps = append(pr.steps, priceStep{at, pr.base * math.Exp(pr.x)})
	}
}

// at is the price at t.
func (pr *prices) at(t time.Duration) float64 {
	i := sort.Search(len(pr.steps), func(i int) bool { return pr.steps[i].at > t }) - 1
	return pr.steps[max(i, 0)].price
}

// cost is the integral of the price over [from, to), in dollars for one instance.
func (pr *prices) cost(from, to time.Duration) float64 {
	usd := 0.0
	i := max(sort.Search(len(pr.steps), func(i int) bool { return pr.steps[i].at > from })-1, 0)
	for t := from; t < to; i++ {
		end := to
		if i+1 < len(pr.steps) && pr.steps[i+1].at < to {
			end = pr.steps[i+1].at
		}
		usd += pr.steps[i].price * (end - t).Hours()
		t = end
	}
	return usd
}

// SpotPrice is pool i's Spot price per hour at t.
func (m *Market) SpotPrice(i int, t time.Duration) float64 {
	m.pricesTo(i, t)
	return m.prices[i].at(t)
}

// SpotCost is what one Spot instance of pool i costs from from to to.
func (m *Market) SpotCost(i int, from, to time.Duration) float64 {
	m.pricesTo(i, to)
	return m.prices[i].cost(from, to)
}

func (m *Market) pricesTo(i int, t time.Duration) {
	if !m.prices[i].flat && t >= m.prices[i].steps[len(m.prices[i].steps)-1].at {
		m.prices[i].extend(t + 24*time.Hour)
	}
}
