package emulator

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Load is an open-loop HTTP load: requests leave at a fixed rate whether or not earlier ones
// have answered, so a stall shows as latency and errors instead of fewer requests.
type Load struct {
	total, failed atomic.Int64
	mu            sync.Mutex
	latencies     []float64 // ms
}

// maxSamples bounds the latencies kept; beyond it every other sample is dropped.
const maxSamples = 2_000_000

// Run sends rps requests a second to url until ctx ends, then waits for those in flight.
func (l *Load) Run(ctx context.Context, url string, rps float64) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true}}
	interval := time.Duration(float64(time.Second) / rps)
	var wg sync.WaitGroup
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			client.CloseIdleConnections()
			return
		case <-tick.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.one(client, url)
		}()
	}
}

func (l *Load) one(client *http.Client, url string) {
	start := time.Now()
	resp, err := client.Get(url)
	ok := err == nil
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ok = resp.StatusCode < 400
	}
	l.total.Add(1)
	if !ok {
		l.failed.Add(1)
	}
	ms := float64(time.Since(start).Microseconds()) / 1000
	l.mu.Lock()
	if len(l.latencies) < maxSamples || l.total.Load()%2 == 0 {
		l.latencies = append(l.latencies, ms)
	}
	l.mu.Unlock()
}

// RequestStats is the load's part of the report.
type RequestStats struct {
	Total  int64   `json:"total"`
	Failed int64   `json:"failed"`
	P50Ms  float64 `json:"p50Ms"`
	P99Ms  float64 `json:"p99Ms"`
}

// Stats summarizes the load so far.
func (l *Load) Stats() RequestStats {
	if l == nil {
		return RequestStats{}
	}
	l.mu.Lock()
	lat := slices.Clone(l.latencies)
	l.mu.Unlock()
	slices.Sort(lat)
	return RequestStats{Total: l.total.Load(), Failed: l.failed.Load(), P50Ms: quantile(lat, 0.5), P99Ms: quantile(lat, 0.99)}
}

// quantile of sorted values (nearest rank), 0 when there are none.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
