// Package loadgen is the built-in load of `spotfleet up`: open-loop HTTP requests at a rate
// of the emulated clock, with the latencies and failures its report gives.
package loadgen

import (
	"cmp"
	"context"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spotfleet/spotfleet/clock"
	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/internal/stats"
)

// Load is an open-loop HTTP load: requests leave at a fixed rate whether or not earlier ones
// have answered, so a stall shows as latency and errors instead of fewer requests. The rate
// is per second of its clock's time (emulated time under up --speed), so that a scenario
// sends the same requests at any speed.
type Load struct {
	// Client sends the requests; default a plain one. The emulator's (Emulator.Client)
	// trusts its HTTPS listeners and reaches host-routed services.
	Client *http.Client
	// Origin is what a failure's time counts from (up: the run's start, so that it reads
	// as the other lines do); default the load's own start.
	Origin time.Time

	total, failed, behind atomic.Int64
	inflight              atomic.Int64
	mu                    sync.Mutex
	latencies             []float64 // ms
	failures              []fleetview.RequestFailure
	start                 time.Time // of the run, on its clock
	clk                   clock.Clock
}

// maxFailures bounds the failed requests the report describes one by one: a rare failure
// (one in 100,000 under a Fargate Spot shortage, issue 31) must say what it was.
const maxFailures = 20

// maxSamples bounds the latencies kept; beyond it every other sample is dropped.
const maxSamples = 2_000_000

// maxInflight bounds the requests waiting for an answer: past it the machine cannot keep
// up, and a request that cannot leave on time is counted behind instead of sent late.
const maxInflight = 4096

// Run sends rps requests per second of clk's time to url until ctx ends, then waits for
// those in flight.
func (l *Load) Run(ctx context.Context, clk clock.Clock, url string, rps float64) {
	client := l.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true}}
	}
	// Requests leave in small batches, as many as are due: a timer per request cannot
	// keep 20,000 a second (50 requests/s at speed 400) on time.
	every := max(clk.Wall(time.Duration(float64(time.Second)/rps)), time.Millisecond)
	tick := time.NewTicker(every)
	defer tick.Stop()
	// What falls due within the last tick before the end would have left at the next one:
	// that is the load's granularity, not the machine falling behind.
	perTick := int64(math.Ceil(rps * every.Seconds() / clk.Wall(time.Second).Seconds()))
	start := clk.Now()
	l.mu.Lock()
	l.start, l.clk = cmp.Or(l.Origin, start), clk
	l.mu.Unlock()
	// The end is when ctx ends, not when this loop, busy or descheduled on a loaded
	// machine, notices it: at --speed 100 a tenth of a second late is 500 requests more due.
	var end atomic.Pointer[time.Time]
	defer context.AfterFunc(ctx, func() { t := clk.Now(); end.Store(&t) })()
	var sent int64
	var wg sync.WaitGroup
	for {
		select {
		case <-ctx.Done():
			// What fell due but did not leave before the end is behind too.
			until := clk.Now()
			if t := end.Load(); t != nil {
				until = *t
			}
			if due := int64(until.Sub(start).Seconds()*rps) - perTick; due > sent {
				l.behind.Add(due - sent)
			}
			wg.Wait()
			client.CloseIdleConnections()
			return
		case <-tick.C:
		}
		due := int64(clk.Now().Sub(start).Seconds() * rps)
		for ; sent < due && ctx.Err() == nil; sent++ {
			if l.inflight.Load() >= maxInflight {
				l.behind.Add(1)
				continue
			}
			l.inflight.Add(1)
			wg.Go(func() {
				defer l.inflight.Add(-1)
				l.one(client, url)
			})
		}
	}
}

// Behind counts the requests that could not leave on time because too many were waiting
// for an answer: the machine (or the service) could not keep up with the rate.
func (l *Load) Behind() int64 {
	if l == nil {
		return 0
	}
	return l.behind.Load()
}

func (l *Load) one(client *http.Client, url string) {
	start := time.Now()
	resp, err := client.Get(url)
	var what string
	switch {
	case err != nil:
		what = err.Error()
	default:
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			what = "reading the answer: " + err.Error()
		}
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			what = resp.Status
			if h := resp.Header.Get("Server"); h != "" {
				what += " from " + h
			}
		}
	}
	l.total.Add(1)
	if what != "" {
		l.failed.Add(1)
	}
	ms := float64(time.Since(start).Microseconds()) / 1000
	l.mu.Lock()
	if what != "" && len(l.failures) < maxFailures {
		f := fleetview.RequestFailure{Error: what, Ms: ms}
		if l.clk != nil {
			f.AtSeconds = math.Round(l.clk.Now().Sub(l.start).Seconds()*10) / 10
		}
		l.failures = append(l.failures, f)
	}
	if len(l.latencies) < maxSamples || l.total.Load()%2 == 0 {
		l.latencies = append(l.latencies, ms)
	}
	l.mu.Unlock()
}

func (l *Load) Stats() fleetview.RequestStats {
	if l == nil {
		return fleetview.RequestStats{}
	}
	l.mu.Lock()
	lat := slices.Clone(l.latencies)
	failures := slices.Clone(l.failures)
	l.mu.Unlock()
	slices.Sort(lat)
	return fleetview.RequestStats{Total: l.total.Load(), Failed: l.failed.Load(), P50Ms: stats.Quantile(lat, 0.5), P99Ms: stats.Quantile(lat, 0.99),
		NotSent: l.behind.Load(), Failures: failures}
}
