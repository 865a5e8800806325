package spotdata

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite runlengths.csv from the traces in shared/data/spot")

// sharedTraces is where the traces are in the workspace; absent on a bare checkout.
const sharedTraces = "../../../shared/data/spot/traces/skypilot/availability/1-node"

// TestRunLengthsMatchTheTraces: runlengths.csv holds exactly the run lengths of the SkyPilot
// 1-node AWS availability traces (checked where shared/data/spot is present).
func TestRunLengthsMatchTheTraces(t *testing.T) {
	traces, err := LoadTraces(sharedTraces)
	if err != nil {
		t.Skipf("the traces are not here (%v): checking only that the table parses", err)
	}
	var b strings.Builder
	b.WriteString("kind,seconds\n")
	for _, tr := range traces {
		up, down := tr.Runs()
		for _, d := range up {
			fmt.Fprintf(&b, "up,%d\n", int(d/time.Second))
		}
		for _, d := range down {
			fmt.Fprintf(&b, "down,%d\n", int(d/time.Second))
		}
	}
	if *update {
		if err := os.WriteFile("runlengths.csv", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if b.String() != runTable && !*update {
		t.Fatal("runlengths.csv is not what the traces give: go test ./internal/spotdata -run TestRunLengthsMatchTheTraces -update")
	}
	if len(traces) != 17 {
		t.Errorf("%d traces, want the 17 files of the two AWS days", len(traces))
	}
}

func TestRunLengthsParse(t *testing.T) {
	r := Runs()
	if len(r.Up) < 1000 || len(r.Down) < 1000 {
		t.Fatalf("%d up and %d down runs, want the traces' thousands", len(r.Up), len(r.Down))
	}
	mean := func(ds []time.Duration) time.Duration {
		var s time.Duration
		for _, d := range ds {
			s += d
		}
		return s / time.Duration(len(ds))
	}
	// shared/data/spot/traces/skypilot/summary_1node.txt: mean up runs of 0.7-10.4 h, down
	// runs of 0.5-12.2 h per file.
	if u, d := mean(r.Up), mean(r.Down); u < time.Hour || u > 6*time.Hour || d < 30*time.Minute || d > 4*time.Hour {
		t.Errorf("mean up %s, down %s: out of the traces' range", u, d)
	}
}

func TestRunsOfATrace(t *testing.T) {
	tr := Trace{Gap: time.Minute, Up: []bool{true, true, false, false, false, true, false, true, true}}
	up, down := tr.Runs()
	// The first (up 2) and last (up 2) stretches are cut by the ends.
	if fmt.Sprint(up) != "[1m0s]" || fmt.Sprint(down) != "[3m0s 1m0s]" {
		t.Errorf("up %v down %v", up, down)
	}
	if _, err := LoadTraces(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("no error for a directory without traces")
	}
}
