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
		{"Fargate Spot task interrupted", fargateWarning, KindTaskStopped, "", false},
		{"Fargate task interrupted, with no task", strings.Replace(fargateWarning, `"taskArn"`, `"taskArm"`, 1), "", "", true},
		{"Fargate Spot placement failure", placementFailure, KindLaunchFailed, "", false},
		{"placement failure naming no provider", strings.Replace(placementFailure, `"capacityProviderArns"`, `"providers"`, 1), "", "", true},
		{"service steady state", strings.Replace(placementFailure, "SERVICE_TASK_PLACEMENT_FAILURE", "SERVICE_STEADY_STATE", 1), KindOther, "", false},
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
			if tt.body == fargateWarning && ev.Task != "4c7d0f4a2a4c4e3f9a8e1b2c3d4e5f60" {
				t.Errorf("task %q, want the task ID of the taskArn", ev.Task)
			}
			if tt.body == placementFailure && (ev.Group != "FARGATE_SPOT" || !CapacityError(ev.Message) || ev.Activity != "7b1e") {
				t.Errorf("placement failure read as group %q, message %q, activity %q; want FARGATE_SPOT refused for capacity, the event's ID", ev.Group, ev.Message, ev.Activity)
			}
		})
	}
}

// fargateWarning is the warning of a Fargate Spot task as EventBridge delivers it: no
// container instance. placementFailure is a service that Fargate Spot could not place.
const (
	fargateWarning = `{"version":"0","id":"9f2e","detail-type":"ECS Task State Change","source":"aws.ecs","account":"123456789012","time":"2026-11-30T10:00:00Z","region":"us-east-1",
"resources":["arn:aws:ecs:us-east-1:123456789012:task/web/4c7d0f4a2a4c4e3f9a8e1b2c3d4e5f60"],
"detail":{"clusterArn":"arn:aws:ecs:us-east-1:123456789012:cluster/web","taskArn":"arn:aws:ecs:us-east-1:123456789012:task/web/4c7d0f4a2a4c4e3f9a8e1b2c3d4e5f60",
"launchType":"FARGATE","capacityProviderName":"FARGATE_SPOT","lastStatus":"RUNNING","desiredStatus":"STOPPED","stopCode":"SpotInterruption","stoppedReason":"Your Spot Task was interrupted.","availabilityZone":"us-east-1a","version":3}}`
	placementFailure = `{"version":"0","id":"7b1e","detail-type":"ECS Service Action","source":"aws.ecs","account":"123456789012","time":"2026-11-30T10:00:00Z","region":"us-east-1",
"resources":["arn:aws:ecs:us-east-1:123456789012:service/web/web"],
"detail":{"eventType":"ERROR","eventName":"SERVICE_TASK_PLACEMENT_FAILURE","clusterArn":"arn:aws:ecs:us-east-1:123456789012:cluster/web",
"capacityProviderArns":["arn:aws:ecs:us-east-1:123456789012:capacity-provider/FARGATE","arn:aws:ecs:us-east-1:123456789012:capacity-provider/FARGATE_SPOT"],
"reason":"Capacity is unavailable at this time. Please try again later or in a different availability zone","createdAt":"2026-11-30T10:00:00.000Z"}}`
)

// FuzzParseEvent: whatever a queue delivers, ParseEvent returns an event or an error
// wrapping ErrMalformed, and never panics; events that start a notice name an instance.
func FuzzParseEvent(f *testing.F) {
	entries, _ := os.ReadDir(filepath.Join("emulator", "testdata", "events"))
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join("emulator", "testdata", "events", e.Name()))
		f.Add(b)
	}
	f.Add([]byte(`{"id":"1","detail-type":"EC2 Spot Instance Interruption Warning","time":"2026-01-01T00:00:00Z","detail":{"instance-id":"i-1"}}`))
	f.Add([]byte(fargateWarning))
	f.Add([]byte(placementFailure))
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
		case KindTaskStopped:
			if ev.ContainerInstance == "" && ev.Task == "" {
				t.Fatal("task interruption naming neither a container instance nor a task")
			}
		case KindOther:
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
