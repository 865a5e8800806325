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

	"github.com/aws/amazon-ec2-metadata-mock/pkg/config"
	"github.com/aws/amazon-ec2-metadata-mock/pkg/mock/imdsv2"
	"github.com/aws/amazon-ec2-metadata-mock/pkg/mock/spot"
	spotcfg "github.com/aws/amazon-ec2-metadata-mock/pkg/mock/spot/config"
	"github.com/spotfleet/spotfleet/controller"
)

// TestAgentReportsThenStopsItsCommand runs `spotfleet agent -- sleep 60` against
// amazon-ec2-metadata-mock: when the notice appears, the controller gets the report, and
// sleep gets SIGTERM; the agent exits with sleep's status.
func TestAgentReportsThenStopsItsCommand(t *testing.T) {
	bin := buildSpotfleet(t)
	terminate := time.Now().Add(2 * time.Minute).UTC().Truncate(time.Second)
	spot.SetConfig(config.Config{MockIPCount: -1, MockTriggerTime: time.Now().Add(time.Second).UTC().Format(time.RFC3339),
		RebalanceTriggerTime: time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		SpotConfig:           spotcfg.Config{InstanceAction: "terminate", TerminationTime: terminate.Format(time.RFC3339)}})
	mux := http.NewServeMux()
	mux.HandleFunc("/latest/api/token", imdsv2.GenerateToken)
	mux.HandleFunc("/latest/meta-data/", imdsv2.ValidateToken(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/meta-data/instance-id" {
			w.Write([]byte("i-0agenttest"))
			return
		}
		spot.Handler(w, r)
	}))
	imds := httptest.NewServer(mux)
	defer imds.Close()

	var mu sync.Mutex
	var reports []controller.AgentReport
	ctl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rep controller.AgentReport
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

	start := time.Now()
	cmd := exec.Command(bin, "agent", "--imds", imds.URL, "--report", ctl.URL, "--delay", "0s", "--interval", "100ms", "--", "sleep", "60")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 128+15 {
		t.Fatalf("agent: %v, want exit status 143 (sleep ended by SIGTERM)\n%s", err, out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("sleep was stopped after %s, want within seconds of the notice", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 1 || reports[0].Instance != "i-0agenttest" || reports[0].Kind != "interruption" || !reports[0].Deadline.Equal(terminate) {
		t.Errorf("reports %+v: want one interruption of i-0agenttest, deadline %s\n%s", reports, terminate, out)
	}
}
