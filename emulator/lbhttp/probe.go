package lbhttp

import (
	"context"
	"net/http"
)

// HTTPProber checks over real HTTP: any 2xx or 3xx is healthy, as ELB's default matcher
// accepts 200-399.
type HTTPProber struct{}

var probeClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// Probe sends one health check to url.
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
