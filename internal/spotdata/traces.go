package spotdata

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Trace is a measured Spot availability series of one pool: whether one instance could be
// launched (and stayed up), sampled every Gap.
type Trace struct {
	Name string
	Gap  time.Duration
	Up   []bool
}

// skypilotTrace is the file format of the SkyPilot spot-traces: data[i] is the number of
// instances available at sample i (1-node files: 1 available, 0 not).
type skypilotTrace struct {
	Metadata struct {
		GapSeconds float64 `json:"gap_seconds"`
	} `json:"metadata"`
	Data []float64 `json:"data"`
}

// maxTraceFile bounds a trace file: the largest of the SkyPilot files is 60 KB.
const maxTraceFile = 64 << 20

// LoadTraces reads every *.json trace file under dir (SkyPilot's format), sorted by path.
func LoadTraces(dir string) ([]Trace, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".json") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []Trace
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if info.Size() > maxTraceFile {
			return nil, fmt.Errorf("%s: %d bytes, larger than a trace can be", p, info.Size())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var t skypilotTrace
		if err := json.Unmarshal(b, &t); err != nil {
			return nil, fmt.Errorf("%s: not a SkyPilot trace ({\"metadata\": {\"gap_seconds\": N}, \"data\": [...]}): %v", p, err)
		}
		if t.Metadata.GapSeconds <= 0 || len(t.Data) < 2 {
			return nil, fmt.Errorf("%s: no samples or no gap_seconds", p)
		}
		tr := Trace{Name: strings.TrimPrefix(p, dir+string(filepath.Separator)), Gap: time.Duration(t.Metadata.GapSeconds * float64(time.Second))}
		for _, v := range t.Data {
			tr.Up = append(tr.Up, v >= 1)
		}
		out = append(out, tr)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no *.json trace in %s", dir)
	}
	return out, nil
}

// Runs splits a trace into its stretches of availability and of unavailability. The first
// and last stretches are cut by the trace's ends: they are left out.
func (t Trace) Runs() (up, down []time.Duration) {
	start := 0
	for i := 1; i <= len(t.Up); i++ {
		if i < len(t.Up) && t.Up[i] == t.Up[start] {
			continue
		}
		if start > 0 && i < len(t.Up) {
			d := time.Duration(i-start) * t.Gap
			if t.Up[start] {
				up = append(up, d)
			} else {
				down = append(down, d)
			}
		}
		start = i
	}
	return up, down
}

// Availability is the share of samples at which the pool was available.
func (t Trace) Availability() float64 {
	n := 0
	for _, u := range t.Up {
		if u {
			n++
		}
	}
	return float64(n) / float64(len(t.Up))
}

//go:embed runlengths.csv
var runTable string

// RunLengths are the measured stretches of availability (up) and unavailability (down) of
// the SkyPilot 1-node AWS availability traces (shared/data/spot/traces/skypilot/availability/
// 1-node/*/*.json: 17 pools of p3.2xlarge, p3.16xlarge, p2.xlarge and p2.8xlarge in 2022-10
// and 2023-02, all of Spot Advisor band ">20%"; 1 means available), pooled, without the
// stretches cut by a file's ends. runlengths.csv is generated from them by
// `go test ./internal/spotdata -run TestRunLengthsMatchTheTraces -update`. The traces are
// from the "Can't Be Late" paper (NSDI'24), released for research.
type RunLengths struct {
	Up, Down []time.Duration // sorted
}

// Runs returns the embedded run lengths.
var Runs = sync.OnceValue(func() RunLengths {
	var r RunLengths
	for _, line := range strings.Split(strings.TrimSpace(runTable), "\n")[1:] {
		kind, secs, _ := strings.Cut(line, ",")
		s, err := strconv.Atoi(secs)
		if err != nil {
			panic("spotdata: runlengths.csv: " + line)
		}
		d := time.Duration(s) * time.Second
		if kind == "up" {
			r.Up = append(r.Up, d)
		} else {
			r.Down = append(r.Down, d)
		}
	}
	slices.Sort(r.Up)
	slices.Sort(r.Down)
	return r
})

// Draw picks one of the measured lengths at random: the empirical distribution.
func Draw(lengths []time.Duration, rng *rand.Rand) time.Duration {
	return lengths[rng.IntN(len(lengths))]
}

// TraceBand is the Spot Advisor band of the traces' instance types (p3.2xlarge and
// p2.xlarge: ">20%" in us-east-1 and us-west-2, shared/data/spot/spot-advisor-2025-06-28-flat.csv):
// a type of another band is scaled from it.
const TraceBand = 4
