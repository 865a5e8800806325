package spotdata

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite traces.csv and the price copies from shared/data/spot")

// shared is where the data is in the workspace; absent on a bare checkout.
const shared = "../../../shared/data/spot"

// TestEmbeddedTracesMatchTheFiles: traces.csv holds exactly the SkyPilot AWS traces (checked
// where shared/data/spot is present), and the price tables are copies of theirs.
func TestEmbeddedTracesMatchTheFiles(t *testing.T) {
	traces, err := LoadTraces(shared + "/traces/skypilot")
	if err != nil {
		t.Skipf("the traces are not here (%v): checking only that the tables parse", err)
	}
	var b strings.Builder
	b.WriteString("name,gap_seconds,nodes,runs\n")
	n := 0
	for _, tr := range traces {
		if !tr.AWS() {
			continue
		}
		n++
		b.WriteString(encodeTrace(tr) + "\n")
	}
	copies := map[string]string{"spot-prices-us-east-1-2022-05-31.tsv": zonePriceTable, "spot-price-history-c5a.2xlarge-us-east-1.csv": historyTable}
	if *update {
		if err := os.WriteFile("traces.csv", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		for name := range copies {
			data, err := os.ReadFile(shared + "/" + name)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	if b.String() != traceTable {
		t.Fatal("traces.csv is not what the traces give: go test ./internal/spotdata -run TestEmbeddedTracesMatchTheFiles -update")
	}
	for name, embedded := range copies {
		if data, err := os.ReadFile(shared + "/" + name); err != nil || string(data) != embedded {
			t.Errorf("%s is not a copy of shared/data/spot's (%v): -update", name, err)
		}
	}
	if n != 30 {
		t.Errorf("%d AWS traces, want the 30 files", n)
	}
}

// TestEmbeddedTraces: the embedded traces decode to what the summary of the files says
// (shared/data/spot/traces/skypilot/summary_1node.txt).
func TestEmbeddedTraces(t *testing.T) {
	by := map[string]Trace{}
	for _, tr := range Embedded() {
		by[tr.Name] = tr
	}
	tr, ok := by["preemption/1-node/aws-04-19-2023/us-east-1c_intel_64.json"]
	if !ok {
		t.Fatalf("no r5.16xlarge trace among %d", len(by))
	}
	// summary_1node.txt: gap 34 s, 152 h, available 0.639, 129 stretches with capacity.
	if tr.Gap != 34*time.Second || tr.Nodes != 1 || tr.InstanceType() != "r5.16xlarge" || tr.Zone() != "us-east-1c" || tr.Region() != "us-east-1" {
		t.Errorf("%s: gap %s, %d nodes, %s in %s (%s)", tr.Name, tr.Gap, tr.Nodes, tr.InstanceType(), tr.Zone(), tr.Region())
	}
	if a := tr.Availability(); a < 0.634 || a > 0.644 {
		t.Errorf("availability %.3f, want 0.639", a)
	}
	if h := tr.Duration().Hours(); h < 151 || h > 153 {
		t.Errorf("%.1f h, want 152", h)
	}
	deep := by["availability/16-node/aws-08-27-2023/us-west-2a_v100_1.json"]
	if deep.Nodes != 16 || slices.Max(deep.Count) != 16 || deep.Set() != "availability/16-node/aws-08-27-2023" {
		t.Errorf("16-node trace: %d nodes, at most %d, set %q", deep.Nodes, slices.Max(deep.Count), deep.Set())
	}
}

func TestRunsOfATrace(t *testing.T) {
	tr := Trace{Gap: time.Minute, Nodes: 1, Count: []int{1, 1, 0, 0, 0, 1, 0, 1, 1}}
	up, down := tr.Runs()
	// The first (up 2) and last (up 2) stretches are cut by the ends.
	if len(up) != 1 || up[0] != time.Minute || len(down) != 2 || down[0] != 3*time.Minute || down[1] != time.Minute {
		t.Errorf("up %v down %v", up, down)
	}
	if tr.Losses() != 2 {
		t.Errorf("%d losses, want 2", tr.Losses())
	}
	if _, err := LoadTraces(t.TempDir() + "/none"); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("a directory that does not exist: %v", err)
	}
	if _, err := LoadTraces(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no *.json trace") {
		t.Errorf("a directory without traces: %v", err)
	}
	back, err := decodeTrace(encodeTrace(Trace{Name: "x/us-east-1a_v100_1.json", Gap: time.Minute, Nodes: 1, Count: tr.Count}))
	if err != nil || !slices.Equal(back.Count, tr.Count) || back.Gap != time.Minute {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

// TestPrices: the zone prices and the drift fitted on the c5a.2xlarge history are what the
// files say.
func TestPrices(t *testing.T) {
	// shared/data/spot/README.md: m5.large $0.0416-0.0424 a zone.
	m5 := ZonePrices()["m5.large"]
	if len(m5) < 2 || slices.Min(mapValues(m5)) < 0.0415 || slices.Max(mapValues(m5)) > 0.0425 {
		t.Errorf("m5.large by zone: %v", m5)
	}
	s := ZoneSpread()
	if p5, p95 := s[len(s)/20], s[len(s)*19/20]; len(s) < 1000 || p5 < 0.7 || p95 > 1.3 || s[0] < 0.4 || s[len(s)-1] > 2.5 {
		t.Errorf("%d spreads from %.3f to %.3f, p5 %.3f, p95 %.3f", len(s), s[0], s[len(s)-1], p5, p95)
	}
	d := PriceDrift()
	// About 3.5 changes a day in each zone, prices within 12-21% over seven weeks.
	if d.ChangesPerDay < 3 || d.ChangesPerDay > 4 || d.Rho < 0.95 || d.Rho >= 1 || d.SD < 0.02 || d.SD > 0.06 {
		t.Errorf("drift %+v", d)
	}
}

func mapValues(m map[string]float64) []float64 {
	var out []float64
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestAccelerated(t *testing.T) {
	for name, want := range map[string]bool{"p3.2xlarge": true, "g4dn.xlarge": true, "inf2.xlarge": true, "m5.large": false, "r5.16xlarge": false, "c6gn.large": false, "FARGATE_SPOT": false} {
		if Accelerated(name) != want {
			t.Errorf("Accelerated(%s) = %v", name, !want)
		}
	}
}

// FuzzLoadTrace: a trace file is read or refused with an error, never a panic, and what is
// read holds counts within what its samples say.
func FuzzLoadTrace(f *testing.F) {
	f.Add([]byte(`{"metadata": {"gap_seconds": 60}, "data": [1, 0, 1]}`))
	f.Add([]byte(`{"metadata": {"gap_seconds": 300}, "data": [16, 3, 0, 16]}`))
	f.Add([]byte(`{"metadata": {"gap_seconds": -1}, "data": [1]}`))
	f.Add([]byte(`{"data": [1e300, -5]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(dir+"/us-east-1a_v100_1.json", data, 0o644); err != nil {
			t.Fatal(err)
		}
		traces, err := LoadTraces(dir)
		if err != nil {
			return
		}
		for _, tr := range traces {
			if tr.Gap <= 0 || tr.Len() < 2 || tr.Nodes < 1 {
				t.Fatalf("accepted %+v", tr)
			}
			for _, c := range tr.Count {
				if c < 0 || c > tr.Nodes {
					t.Fatalf("count %d of %d nodes", c, tr.Nodes)
				}
			}
			if back, err := decodeTrace(encodeTrace(tr)); err != nil || !slices.Equal(back.Count, tr.Count) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}
