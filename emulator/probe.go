package emulator

import (
	"context"
	"time"
)

// Prober performs one health check: lbhttp.HTTPProber, or proc.Fake's (a process is healthy
// while it runs).
type Prober interface {
	Probe(ctx context.Context, url string) bool
}

// minProbeTimeout keeps health checks meaningful at high --speed: a 2s timeout at speed
// 100 would be 20ms of real time, less than a loaded machine needs to answer.
const minProbeTimeout = 250 * time.Millisecond
