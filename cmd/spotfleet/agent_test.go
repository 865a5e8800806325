package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/internal/testing/imdsmock"
)

// TestAgentReportsThenStopsItsCommand runs `spotfleet agent -- sleep 60` against
// amazon-ec2-metadata-mock: when the notice appears, the controller gets the report with
// the identity document, and sleep gets SIGTERM a stop timeout and a margin before the
// deadline (the controller took the report: it would shut the instance down sooner); the
// agent exits with sleep's status.
func TestAgentReportsThenStopsItsCommand(t *testing.T) {
	bin := buildSpotfleet(t)
	terminate := time.Now().Add(2 * time.Minute).UTC().Truncate(time.Second)
	imds := imdsmock.Start(time.Now().Add(time.Second), terminate, time.Now().Add(time.Hour), "i-0agenttest")
	defer imds.Close()

	var mu sync.Mutex
	var reports []spotfleet.AgentReport
	ctl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rep spotfleet.AgentReport
		if r.URL.Path != "/v1/notices" || json.NewDecoder(r.Body).Decode(&rep) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		mu.Lock()
		reports = append(reports, rep)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer ctl.Close()

	// Deadline 2m away, stop timeout 110s, margin 5s: the signal about 5s in.
	out, d := agentStopsSleep(t, bin, "--imds", imds.URL, "--controller-url", ctl.URL, "--stop-timeout", "110s")
	if d < 4*time.Second || d > 10*time.Second {
		t.Errorf("sleep was stopped after %s, want about 5s (deadline - stop timeout - margin)", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 1 || reports[0].Instance != "i-0agenttest" || reports[0].Kind != "interruption" || !reports[0].Deadline.Equal(terminate) ||
		reports[0].Document == "" || reports[0].Signature == "" {
		t.Errorf("reports %+v: want one interruption of i-0agenttest, deadline %s, with the identity document\n%s", reports, terminate, out)
	}
}

// TestAgentWithoutAControllerStopsAfterDelay: when the controller refuses the report (or
// there is none), the agent stops its command after --delay, as the load balancer needs.
func TestAgentWithoutAControllerStopsAfterDelay(t *testing.T) {
	bin := buildSpotfleet(t)
	imds := imdsmock.Start(time.Now().Add(time.Second), time.Now().Add(2*time.Minute).UTC().Truncate(time.Second), time.Now().Add(time.Hour), "i-0agenttest")
	defer imds.Close()
	ctl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
	}))
	defer ctl.Close()
	if _, d := agentStopsSleep(t, bin, "--imds", imds.URL, "--controller-url", ctl.URL, "--delay", "1s"); d > 15*time.Second {
		t.Errorf("sleep was stopped after %s, want within seconds (report retries, then --delay)", d)
	}
}

// agentStopsSleep runs `spotfleet agent ARGS -- sleep 60`, polling every 100 ms, and
// checks that the agent ended sleep with SIGTERM (exit status 143); it returns the
// agent's output and how long that took.
func agentStopsSleep(t *testing.T, bin string, args ...string) ([]byte, time.Duration) {
	t.Helper()
	start := time.Now()
	out, err := exec.Command(bin, append(append([]string{"agent", "--interval", "100ms"}, args...), "--", "sleep", "60")...).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 128+15 {
		t.Fatalf("agent: %v, want exit status 143 (sleep ended by SIGTERM)\n%s", err, out)
	}
	return out, time.Since(start)
}
