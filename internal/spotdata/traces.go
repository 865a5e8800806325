package spotdata

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Trace is a measured Spot series of one pool: how many of the instances asked for were
// available (launched, and still up), sampled every Gap.
type Trace struct {
	// Name is the file's path under the traces directory, SkyPilot's layout:
	// KIND/N-node/CLOUD-MM-DD-YYYY/ZONE_ACCELERATOR.json, such as
	// availability/1-node/aws-02-15-2023/us-east-1a_v100_1.json.
	Name  string
	Gap   time.Duration
	Nodes int   // instances asked for: 1, 4 or 16
	Count []int // instances available at each sample, 0 to Nodes
}

// Up says whether the pool had any capacity at sample i: the 1-node files' 1.
func (t Trace) Up(i int) bool { return t.Count[i] >= 1 }

// Len is the number of samples.
func (t Trace) Len() int { return len(t.Count) }

// Duration is how long the trace covers.
func (t Trace) Duration() time.Duration { return time.Duration(len(t.Count)) * t.Gap }

// Set is the traces' measurement set: their kind, node count and cloud-date directory
// (availability/1-node/aws-02-15-2023). Traces of one set ran at the same time.
func (t Trace) Set() string { return path.Dir(t.Name) }

// Zone is the zone in the file's name ("" if the name does not follow SkyPilot's layout).
func (t Trace) Zone() string {
	z, _, ok := strings.Cut(path.Base(t.Name), "_")
	if !ok {
		return ""
	}
	return z
}

// Region is the zone's region (us-east-1 of us-east-1a).
func (t Trace) Region() string {
	z := t.Zone()
	if z == "" {
		return ""
	}
	return strings.TrimRight(z, "abcdefghijklmnopqrstuvwxyz")
}

// accelerators are the instance types behind the traces' names: SkyPilot asked for an
// accelerator count, which AWS serves with these types (the "Can't Be Late" paper's
// appendix; intel_64 is 64 Intel vCPUs, an r5.16xlarge, per shared/data/spot/README.md).
var accelerators = map[string]string{
	"v100_1":   "p3.2xlarge",
	"v100_8":   "p3.16xlarge",
	"k80_1":    "p2.xlarge",
	"k80_8":    "p2.8xlarge",
	"intel_64": "r5.16xlarge",
}

// InstanceType is the type the trace measured ("" if unknown).
func (t Trace) InstanceType() string {
	_, acc, _ := strings.Cut(strings.TrimSuffix(path.Base(t.Name), ".json"), "_")
	return accelerators[acc]
}

// AWS says whether the trace was measured on AWS (not GCP).
func (t Trace) AWS() bool {
	return strings.Contains(t.Name, "/aws-") || strings.HasPrefix(t.Set(), "aws-")
}

// skypilotTrace is the file format of the SkyPilot spot-traces: data[i] is the number of
// instances available at sample i.
type skypilotTrace struct {
	Metadata struct {
		GapSeconds float64 `json:"gap_seconds"`
	} `json:"metadata"`
	Data []float64 `json:"data"`
}

// maxTraceFile bounds a trace file: the largest of the SkyPilot files is 0.6 MB.
const maxTraceFile = 64 << 20

// LoadTraces reads every *.json trace file under dir (SkyPilot's format), sorted by path.
func LoadTraces(dir string) ([]Trace, error) {
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("%s is not a directory: give one that holds SkyPilot trace files (*.json), or leave --traces out for the embedded ones", dir)
	}
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
		rel, _ := filepath.Rel(dir, p)
		tr := Trace{Name: filepath.ToSlash(rel), Gap: time.Duration(t.Metadata.GapSeconds * float64(time.Second)), Nodes: 1}
		for _, v := range t.Data {
			if v < 0 || v > 1e6 {
				return nil, fmt.Errorf("%s: a count of %g instances", p, v)
			}
			tr.Count = append(tr.Count, int(v))
			tr.Nodes = max(tr.Nodes, int(v))
		}
		if n, err := strconv.Atoi(strings.TrimSuffix(path.Base(path.Dir(path.Dir(tr.Name))), "-node")); err == nil && n >= tr.Nodes {
			tr.Nodes = n
		}
		out = append(out, tr)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no *.json trace in %s", dir)
	}
	return out, nil
}

// Runs splits a trace into its stretches with capacity (up) and without (down). The first
// and last stretches are cut by the trace's ends: they are left out.
func (t Trace) Runs() (up, down []time.Duration) {
	start := 0
	for i := 1; i <= t.Len(); i++ {
		if i < t.Len() && t.Up(i) == t.Up(start) {
			continue
		}
		if start > 0 && i < t.Len() {
			d := time.Duration(i-start) * t.Gap
			if t.Up(start) {
				up = append(up, d)
			} else {
				down = append(down, d)
			}
		}
		start = i
	}
	return up, down
}

// Availability is the share of samples at which the pool had capacity.
func (t Trace) Availability() float64 {
	n := 0
	for i := range t.Count {
		if t.Up(i) {
			n++
		}
	}
	return float64(n) / float64(t.Len())
}

// Losses counts the samples at which the pool went from capacity to none.
func (t Trace) Losses() int {
	n := 0
	for i := 1; i < t.Len(); i++ {
		if t.Up(i-1) && !t.Up(i) {
			n++
		}
	}
	return n
}

//go:embed traces.csv
var traceTable string

// Embedded are the SkyPilot AWS traces of shared/data/spot/traces/skypilot (availability
// and preemption, 1, 4 and 16 nodes: p3.2xlarge, p3.16xlarge, p2.xlarge, p2.8xlarge and
// r5.16xlarge in us-east-1, us-east-2 and us-west-2, 2022-10 to 2023-08), run-length
// encoded in traces.csv, which `go test ./internal/spotdata -run TestEmbeddedTracesMatchTheFiles
// -update` writes from the files. From the "Can't Be Late" paper (NSDI'24), released for
// research: cited wherever a figure comes from them.
var Embedded = sync.OnceValue(func() []Trace {
	var out []Trace
	for _, line := range strings.Split(strings.TrimSpace(traceTable), "\n")[1:] {
		tr, err := decodeTrace(line)
		if err != nil {
			panic("spotdata: traces.csv: " + err.Error()) // embedded: a test reads it
		}
		out = append(out, tr)
	}
	return out
})

// encodeTrace writes a trace as one line: name,gap seconds,nodes,count×samples ...
func encodeTrace(t Trace) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s,%g,%d,", t.Name, t.Gap.Seconds(), t.Nodes)
	for i := 0; i < t.Len(); {
		j := i
		for j < t.Len() && t.Count[j] == t.Count[i] {
			j++
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%dx%d", t.Count[i], j-i)
		i = j
	}
	return b.String()
}

func decodeTrace(line string) (Trace, error) {
	f := strings.Split(line, ",")
	if len(f) != 4 {
		return Trace{}, fmt.Errorf("%q: want name,gap,nodes,runs", line)
	}
	gap, err1 := strconv.ParseFloat(f[1], 64)
	nodes, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil {
		return Trace{}, fmt.Errorf("%s: gap %q, nodes %q", f[0], f[1], f[2])
	}
	t := Trace{Name: f[0], Gap: time.Duration(gap * float64(time.Second)), Nodes: nodes}
	for _, run := range strings.Fields(f[3]) {
		v, n, _ := strings.Cut(run, "x")
		c, err1 := strconv.Atoi(v)
		k, err2 := strconv.Atoi(n)
		if err1 != nil || err2 != nil || k < 1 {
			return Trace{}, fmt.Errorf("%s: run %q", f[0], run)
		}
		for range k {
			t.Count = append(t.Count, c)
		}
	}
	return t, nil
}

// TraceBand is the Spot Advisor band of every traced type (p3.2xlarge, p3.16xlarge,
// p2.xlarge, p2.8xlarge and r5.16xlarge: ">20%" in us-east-1,
// shared/data/spot/spot-advisor-2025-06-28-flat.csv).
const TraceBand = 4
