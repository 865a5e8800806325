package emulator

import (
	"context"
	"net/http"
	"time"
)

// Prober performs one health check.
type Prober interface {
	Probe(ctx context.Context, url string) bool
}

// HTTPProber checks over real HTTP: any 2xx or 3xx is healthy, as ELB's default matcher
// accepts 200-399.
type HTTPProber struct{}

var probeClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

func (HTTPProber) Probe(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	resp, err := probeClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

// minProbeTimeout keeps health checks meaningful at high --speed: a 2s timeout at speed
// 100 would be 20ms of real time, less than a loaded machine needs to answer.
const minProbeTimeout = 250 * time.Millisecond
