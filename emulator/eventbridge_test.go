package emulator

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/emulator/sqs"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var volatile = []struct {
	re  *regexp.Regexp
	sub string
}{
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}`), "<uuid>"},
	{regexp.MustCompile(`i-0[0-9a-f]{16}`), "<instance-id>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`), "<time>"},
	{regexp.MustCompile(`us-east-1[a-z]`), "<zone>"},
}

func normalize(b []byte) []byte {
	var v any
	json.Unmarshal(b, &v)
	out, _ := json.MarshalIndent(v, "", "  ")
	for _, x := range volatile {
		out = x.re.ReplaceAll(out, []byte(x.sub))
	}
	return append(out, '\n')
}

const eventsManifest = `name: events
capacity:
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large]
    zones: [us-east-1a, us-east-1b]
    desiredCapacity: 1
    spotAllocationStrategy: capacity-optimized
services:
  - name: web
    command: [x]
    desiredCount: 1
    loadBalancer: {listenerPort: 9102, healthCheck: {path: /h}}
`

// TestEventsMatchAWSShapes: every event kind the emulator emits has the EventBridge shape
// of AWS's documentation (golden files in testdata/events), and reads back as its kind.
func TestEventsMatchAWSShapes(t *testing.T) {
	world(t, eventsManifest, func(t *testing.T, e *Emulator, r *proc.Fake) {
		time.Sleep(3 * time.Minute)
		inspect(e, func() {
			var in *instance
			for _, x := range e.instOrder {
				if x.ci != nil && x.ci.busy() {
					in = x
				}
			}
			if in == nil {
				t.Fatal("no instance runs the task")
			}
			e.recommendRebalance(in)
			e.interrupt(in)
			for _, p := range e.market.pools {
				p.depth = 0
			}
			e.groups[0].setDesired(3, "test")
		})
		time.Sleep(30 * time.Second)
		first := map[string][]byte{}
		inspect(e, func() { // the fleet's rule takes no task change but a Spot interruption's
			for _, s := range e.services {
				for _, t := range s.tasks {
					if t.ci != nil && first[spotfleet.DetailECSTaskStateChange] == nil {
						first[spotfleet.DetailECSTaskStateChange] = e.taskEvent(t)
					}
				}
			}
		})
		for _, m := range e.Queue().Receive(sqs.MaxQueued, time.Hour) {
			var env spotfleet.Envelope
			if err := json.Unmarshal(m.Body, &env); err != nil {
				t.Fatal(err)
			}
			if _, seen := first[env.DetailType]; !seen {
				first[env.DetailType] = m.Body
			}
		}
		kinds := map[string]spotfleet.EventKind{
			spotfleet.DetailSpotInterruption:   spotfleet.KindInterruption,
			spotfleet.DetailRebalance:          spotfleet.KindRebalance,
			spotfleet.DetailStateChange:        spotfleet.KindStateChange,
			spotfleet.DetailLaunchFailed:       spotfleet.KindLaunchFailed,
			spotfleet.DetailECSTaskStateChange: spotfleet.KindOther,
		}
		for dt, kind := range kinds {
			body, ok := first[dt]
			if !ok {
				t.Errorf("no %q event was emitted", dt)
				continue
			}
			ev, err := spotfleet.ParseEvent(body)
			if err != nil || ev.Kind != kind {
				t.Errorf("%s: parsed as %v, %v; want %s", dt, ev.Kind, err, kind)
			}
			golden := filepath.Join("testdata", "events", strings.ToLower(strings.ReplaceAll(dt, " ", "-"))+".json")
			got := normalize(body)
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				os.WriteFile(golden, got, 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (go test ./emulator -run TestEventsMatchAWSShapes -update):\n%s", dt, golden, got)
			}
		}
	})
}
