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

// TestSimulateAgreesWithUp: the interruption scenario of the README, run by `up` (real
// processes, a real load balancer, --speed 20) and by `simulate` (simulated processes on a
// virtual clock, scripted market), gives the same capacity figures within the tolerances
// below, so that the two paths cannot drift apart. They differ where real time shows: a
// process starts in a few real milliseconds, health checks answer when the process does.
func TestSimulateAgreesWithUp(t *testing.T) {
	bin := buildSpotfleet(t)
	dir := t.TempDir()
	m, sc := "../../examples/s3-ecs-service-autoscaled.yaml", "../../examples/scenarios/interrupt-half-spot.yaml"
	report := filepath.Join(dir, "up.json")
	if out, err := exec.Command(bin, "up", "-f", m, "--scenario", sc, "--speed", "20", "--for", "5m", "--api", "", "--report", report).CombinedOutput(); err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	var up struct {
		Capacity struct {
			SecondsBelowDesired, OnDemandInstanceSeconds, SpotInstanceSeconds float64
		}
		Cost struct{ USD float64 }
	}
	b, _ := os.ReadFile(report)
	if err := json.Unmarshal(b, &up); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "simulate", "-f", m, "--market", "scripted", "--scenario", sc, "--days", "0.00347222", // 5 minutes
		"--runs", "1", "--controller", "spotfleet", "-o", "json")
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
	for _, c := range []struct {
		name     string
		up, sim  float64
		abs, rel float64
	}{
		{"seconds below desired", up.Capacity.SecondsBelowDesired, s["belowDesiredSeconds"].Mean, 5, 0},
		{"Spot instance-seconds", up.Capacity.SpotInstanceSeconds, s["spotInstanceHours"].Mean * 3600, 0, 0.03},
		{"On-Demand instance-seconds", up.Capacity.OnDemandInstanceSeconds, s["onDemandInstanceHours"].Mean * 3600, 0, 0.03},
		{"cost", up.Cost.USD, s["costUsd"].Mean, 0, 0.03},
	} {
		t.Logf("%s: up %.5g, simulate %.5g", c.name, c.up, c.sim)
		if d := math.Abs(c.up - c.sim); d > c.abs+c.rel*math.Abs(c.up) {
			t.Errorf("%s: up %.4g, simulate %.4g: they differ by more than %g + %g%%", c.name, c.up, c.sim, c.abs, 100*c.rel)
		}
	}
	if !strings.Contains(stderr.String(), "load is not used") {
		t.Errorf("simulate did not say that the scenario's load is not used: %s", stderr.String())
	}
}
