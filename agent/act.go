package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/clock"
)

// Actions is what the agent does on a notice: report it to the controller first, so the
// load balancer stops routing to the instance, then (after Delay) run the hook and, on an
// interruption, signal the service.
type Actions struct {
	Report   string       // the controller's API, such as http://10.0.0.5:7077; empty: no report
	Instance string       // this instance's ID
	Hook     string       // a shell command run on every notice; empty: none
	Signal   func() error // stops the service on an interruption; nil: none
	Delay    time.Duration
	Client   *http.Client
	Clock    clock.Clock
	Log      *slog.Logger
	// Identity reads the instance identity document and signature sent with a report
	// (IMDS.Identity); the controller takes no report without them.
	Identity func(context.Context) ([]byte, string, error)
	// StopTimeout is the time the service needs between SIGTERM and its end: once the
	// controller took a report, the agent signals no later than this (and a margin)
	// before the deadline.
	StopTimeout time.Duration
	// Lookup resolves the controller's host name to its addresses (net.DefaultResolver's
	// LookupHost when nil): a name with several, as the controller service's has, is tried
	// address by address, since only the lease holder takes a report (the others answer 503).
	Lookup func(ctx context.Context, host string) ([]string, error)
}

// reportAttempts bounds the retries of a report: the notice gives two minutes, and the
// EventBridge event reaches the controller anyway.
const reportAttempts = 5

// stopMargin is kept between the service's stop timeout and the end of the notice, as the
// controller keeps it.
const stopMargin = 5 * time.Second

// Handle acts on one notice. When the controller took the report, it owns the timing: it
// keeps the instance serving until its replacement does (or the latest safe moment), takes
// it out of the load balancer, and shuts it down, which sends SIGTERM to the service; the
// agent signals the service itself only if that has not happened a stop timeout and a
// margin before the deadline. Without a controller (or when it refused the report), the
// agent signals after Delay, the time the load balancer needs to stop routing.
func (a *Actions) Handle(ctx context.Context, n Notice) {
	a.Log.Info("notice", "kind", n.Kind, "action", n.Action, "time", n.Time)
	wait := a.Delay
	if a.Report != "" && a.report(ctx, n) && n.Kind == spotfleet.KindInterruption && !n.Time.IsZero() {
		wait = max(n.Time.Sub(a.Clock.Now())-a.StopTimeout-stopMargin, 0)
		a.Log.Info("the controller takes the instance out; signalling the service only if it still runs then", "in", wait.Round(time.Second))
	}
	if wait > 0 {
		select {
		case <-ctx.Done():
			return
		case <-a.Clock.After(wait):
		}
	}
	if a.Hook != "" {
		cmd := exec.CommandContext(ctx, "sh", "-c", a.Hook)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.Env = append(os.Environ(), "SPOTFLEET_NOTICE_KIND="+string(n.Kind), "SPOTFLEET_NOTICE_ACTION="+n.Action,
			"SPOTFLEET_NOTICE_TIME="+n.Time.UTC().Format(time.RFC3339), "SPOTFLEET_INSTANCE_ID="+a.Instance)
		if err := cmd.Run(); err != nil {
			a.Log.Warn("the --on-notice command failed", "err", err)
		}
	}
	if n.Kind == spotfleet.KindInterruption && a.Signal != nil {
		if err := a.Signal(); err != nil {
			a.Log.Warn("cannot signal the service", "err", err)
		}
	}
}

// report posts the notice to the controller and says whether it took it.
func (a *Actions) report(ctx context.Context, n Notice) bool {
	rep := spotfleet.AgentReport{Instance: a.Instance, Kind: n.Kind, Deadline: deadlineOf(n)}
	if a.Identity != nil {
		doc, sig, err := a.Identity(ctx)
		if err != nil {
			a.Log.Warn("cannot read this instance's identity document; the controller will refuse the report", "err", err)
		}
		rep.Document, rep.Signature = string(doc), sig
	}
	body, _ := json.Marshal(rep)
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		urls, err := a.urls(ctx)
		for _, url := range urls {
			if err = post(ctx, a.Client, url, body); err == nil {
				a.Log.Info("reported to the controller", "url", url)
				return true
			}
		}
		if attempt == reportAttempts || ctx.Err() != nil {
			a.Log.Warn("cannot report the notice to the controller; it will act on the EventBridge event", "err", err)
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-a.Clock.After(backoff):
		}
		backoff *= 2
	}
}

// urls are where a report may go: the controller's URL at each address of its host.
func (a *Actions) urls(ctx context.Context) ([]string, error) {
	u, err := url.Parse(strings.TrimSuffix(a.Report, "/") + "/v1/notices")
	if err != nil {
		return nil, err
	}
	if net.ParseIP(u.Hostname()) != nil {
		return []string{u.String()}, nil
	}
	lookup := a.Lookup
	if lookup == nil {
		lookup = net.DefaultResolver.LookupHost
	}
	addrs, err := lookup(ctx, u.Hostname())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, addr := range addrs {
		v := *u
		v.Host = net.JoinHostPort(addr, u.Port())
		if u.Port() == "" {
			v.Host = addr
			if strings.Contains(addr, ":") {
				v.Host = "[" + addr + "]"
			}
		}
		out = append(out, v.String())
	}
	return out, nil
}

// deadlineOf is an interruption's time, or nothing for a rebalance recommendation.
// deadlineOf is an interruption's time; a rebalance recommendation has none.
func deadlineOf(n Notice) time.Time {
	if n.Kind != spotfleet.KindInterruption {
		return time.Time{}
	}
	return n.Time
}

func post(ctx context.Context, client *http.Client, url string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("controller answered %s", resp.Status)
	}
	return nil
}
