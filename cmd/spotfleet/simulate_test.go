package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSimulateAgreesWithUp: up (real processes, real requests through the load balancer)
// and simulate (simulated processes, requests as a fluid) run the README's interruption
// scenario under ECS alone, which stops tasks while the load balancer still routes to
// them, and under spotfleet; their instance-seconds, costs, time below desired,
// availability and share of failed requests agree. Measured: ECS alone fails 2.2% of up's
// real requests, 2.2% by up's fluid and 2.8% by simulate's; spotfleet none.
func TestSimulateAgreesWithUp(t *testing.T) {
	bin := buildSpotfleet(t)
	dir := t.TempDir()
	m, sc := "../../examples/s3-ecs-service-autoscaled.yaml", "../../examples/scenarios/interrupt-half-spot.yaml"
	for _, ctl := range []string{"none", "spotfleet"} {
		t.Run(ctl, func(t *testing.T) {
			report := filepath.Join(dir, ctl+".json")
			upOut, err := exec.Command(bin, "up", "-f", m, "--scenario", sc, "--speed", "20", "--for", "5m", "--api", "", "--controller", ctl, "--report", report).CombinedOutput()
			if err != nil {
				t.Fatalf("up: %v\n%s", err, upOut)
			}
			// Without a terminal, up says when the notice came and what was done about it.
			for _, want := range []string{"market: interrupting", "gets the Spot interruption notice", "% available", "cheapest On-Demand fleet"} {
				if !strings.Contains(string(upOut), want) {
					t.Errorf("up's output without a terminal lacks %q:\n%s", want, upOut)
				}
			}
			if ctl == "spotfleet" && !strings.Contains(string(upOut), "detached from group") {
				t.Errorf("up's output does not say what the controller did:\n%s", upOut)
			}
			var up struct {
				Requests struct{ Total, Failed float64 }
				Capacity struct {
					SecondsBelowDesired, OnDemandInstanceSeconds, SpotInstanceSeconds, AvailabilityPercent float64
				}
				Services []struct{ RequestsFailedPercent float64 }
				Cost     struct{ USD float64 }
			}
			b, _ := os.ReadFile(report)
			if err := json.Unmarshal(b, &up); err != nil || len(up.Services) != 1 || up.Requests.Total < 10000 {
				t.Fatalf("up's report: %v\n%s", err, b)
			}
			cmd := exec.Command(bin, "simulate", "-f", m, "--market", "scripted", "--scenario", sc, "--days", "0.00347222", // 5 minutes
				"--runs", "1", "--controller", ctl, "-o", "json")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("simulate: %v\n%s", err, stderr.String())
			}
			var sim struct {
				Results []map[string]json.RawMessage
			}
			if err := json.Unmarshal(out, &sim); err != nil || len(sim.Results) != 1 {
				t.Fatalf("simulate -o json: %v\n%s", err, out)
			}
			s := map[string]struct{ Mean float64 }{}
			for k, v := range sim.Results[0] {
				var x struct{ Mean float64 }
				if json.Unmarshal(v, &x) == nil {
					s[k] = x
				}
			}
			measured := 100 * up.Requests.Failed / up.Requests.Total
			for _, c := range []struct {
				name     string
				up, sim  float64
				abs, rel float64
			}{
				{"seconds below desired", up.Capacity.SecondsBelowDesired, s["belowDesiredSeconds"].Mean, 5, 0},
				{"availability %", up.Capacity.AvailabilityPercent, s["availabilityPercent"].Mean, 1, 0},
				{"failed requests % (up measured, simulate's fluid)", measured, s["requestsFailedPercent"].Mean, 1, 0},
				{"failed requests % (up measured, up's fluid)", measured, up.Services[0].RequestsFailedPercent, 0.5, 0},
				{"Spot instance-seconds", up.Capacity.SpotInstanceSeconds, s["spotInstanceHours"].Mean * 3600, 0, 0.03},
				{"On-Demand instance-seconds", up.Capacity.OnDemandInstanceSeconds, s["onDemandInstanceHours"].Mean * 3600, 0, 0.03},
				{"cost", up.Cost.USD, s["costUsd"].Mean, 0, 0.03},
			} {
				t.Logf("%s: up %.5g, simulate %.5g", c.name, c.up, c.sim)
				if d := math.Abs(c.up - c.sim); d > c.abs+c.rel*math.Abs(c.up) {
					t.Errorf("%s: up %.4g, simulate %.4g: they differ by more than %g + %g%%", c.name, c.up, c.sim, c.abs, 100*c.rel)
				}
			}
			if ctl == "none" && measured < 0.5 {
				t.Errorf("ECS alone failed %.2f%% of the requests: the scenario should make it stop tasks the load balancer still routes to", measured)
			}
		})
	}
}
