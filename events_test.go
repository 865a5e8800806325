package spotfleet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseEvent(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("emulator", "testdata", "events", name))
		if err != nil {
			t.Fatal(err)
		}
		// The golden events hold placeholders where values vary from run to run.
		return strings.NewReplacer("<time>", "2026-11-22T07:00:00Z", "<instance-id>", "i-0123456789abcdef0").Replace(string(b))
	}
	tests := []struct {
		name, body string
		kind       EventKind
		instance   string
		malformed  bool
	}{
		{"interruption", read("ec2-spot-instance-interruption-warning.json"), KindInterruption, "i-", false},
		{"rebalance", read("ec2-instance-rebalance-recommendation.json"), KindRebalance, "i-", false},
		{"state change", read("ec2-instance-state-change-notification.json"), KindStateChange, "i-", false},
		{"launch failed", read("ec2-instance-launch-unsuccessful.json"), KindLaunchFailed, "", false},
		{"task stopped, not by an interruption", read("ecs-task-state-change.json"), KindOther, "", false},
		{"task stopped by an interruption", strings.Replace(read("ecs-task-state-change.json"), `"lastStatus"`, `"stopCode": "SpotInterruption", "lastStatus"`, 1), KindTaskStopped, "", false},
		{"unknown detail type", `{"id":"1","detail-type":"AWS API Call via CloudTrail","time":"2026-01-01T00:00:00Z","detail":{}}`, KindOther, "", false},
		{"not JSON", `{"id":`, "", "", true},
		{"no time", `{"id":"1","detail-type":"EC2 Spot Instance Interruption Warning","detail":{"instance-id":"i-1"}}`, "", "", true},
		{"no instance", `{"id":"1","detail-type":"EC2 Spot Instance Interruption Warning","time":"2026-01-01T00:00:00Z","detail":{}}`, "", "", true},
		{"detail of the wrong type", `{"id":"1","detail-type":"EC2 Instance Rebalance Recommendation","time":"2026-01-01T00:00:00Z","detail":"i-1"}`, "", "", true},
		{"array", `[]`, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := ParseEvent([]byte(tt.body))
			if tt.malformed {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("got %v, want an error wrapping ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind != tt.kind || !strings.HasPrefix(ev.InstanceID, tt.instance) {
				t.Errorf("got kind %q instance %q, want %q and an instance starting %q", ev.Kind, ev.InstanceID, tt.kind, tt.instance)
			}
			if (ev.Kind == KindInterruption || ev.Kind == KindTaskStopped) && ev.Deadline != ev.Time.Add(2*time.Minute) {
				t.Errorf("deadline %s, want the event time %s + 2m", ev.Deadline, ev.Time)
			}
		})
	}
}

// FuzzParseEvent: whatever a queue delivers, ParseEvent returns an event or an error
// wrapping ErrMalformed, and never panics; events that start a notice name an instance.
func FuzzParseEvent(f *testing.F) {
	entries, _ := os.ReadDir(filepath.Join("emulator", "testdata", "events"))
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join("emulator", "testdata", "events", e.Name()))
		f.Add(b)
	}
	f.Add([]byte(`{"id":"1","detail-type":"EC2 Spot Instance Interruption Warning","time":"2026-01-01T00:00:00Z","detail":{"instance-id":"i-1"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseEvent(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		switch ev.Kind {
		case KindInterruption, KindRebalance, KindStateChange:
			if ev.InstanceID == "" {
				t.Fatalf("%s event without an instance", ev.Kind)
			}
		case KindLaunchFailed:
			if ev.Group == "" {
				t.Fatal("launch failure without a group")
			}
		case KindTaskStopped, KindOther:
		default:
			t.Fatalf("unknown kind %q", ev.Kind)
		}
	})
}

func TestCapacityError(t *testing.T) {
	for _, c := range []struct {
		msg  string
		want bool
	}{
		{"Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request. Launching EC2 instance failed.", true},
		{"There is no Spot capacity available that matches your request.", true},
		{"Could not launch Spot Instances. MaxSpotInstanceCountExceeded - Max spot instance count exceeded. Launching EC2 instance failed.", true},
		{"You have requested more vCPU capacity than your current vCPU limit of 32 allows. VcpuLimitExceeded", true},
		{"Could not launch On-Demand Instances. UnfulfillableCapacity - Unable to fulfill capacity due to your request configuration.", true},
		{"The image id '[ami-0123]' does not exist. Launching EC2 instance failed.", false},
		{"Invalid IamInstanceProfile name", false},
		{"", false},
	} {
		if got := CapacityError(c.msg); got != c.want {
			t.Errorf("CapacityError(%q) = %v, want %v", c.msg, got, c.want)
		}
	}
}
