package stack

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/controller"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/manifest"
)

// runController runs the spotfleet controller against the fleet on moto until the test ends.
func runController(t *testing.T, cfg awssdk.Config, m *manifest.Manifest) *aws.Provider {
	t.Helper()
	p := aws.NewProvider(cfg, m)
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("DEBUG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	c, err := controller.New(controller.Config{Manifest: m, Provider: p, Queue: p, Tick: 200 * time.Millisecond, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

// event is an EventBridge envelope as the rule delivers it to the queue, sent now.
func event(t *testing.T, id, detailType, source string, detail any) []byte {
	t.Helper()
	return eventAt(t, time.Now(), id, detailType, source, detail)
}

func eventAt(t *testing.T, at time.Time, id, detailType, source string, detail any) []byte {
	t.Helper()
	d, _ := json.Marshal(detail)
	b, _ := json.Marshal(spotfleet.Envelope{Version: "0", ID: id, DetailType: detailType, Source: source,
		Account: "123456789012", Time: at.UTC().Truncate(time.Second), Region: "us-east-1", Detail: d})
	return b
}

// eventually polls cond for up to 15 s of real time (the controller runs on the real
// clock against a real server here).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("after 15 s: %s", what)
}

// queued says how many messages the queue has: visible, and hidden (held by the controller).
func queued(t *testing.T, cfg awssdk.Config, m *manifest.Manifest) (visible, hidden string) {
	q := sqs.NewFromConfig(cfg)
	url, err := q.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: awssdk.String(aws.Names{Fleet: m.Name}.Queue())})
	if err != nil {
		t.Fatal(err)
	}
	a, err := q.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if err != nil {
		t.Fatal(err)
	}
	return a.Attributes["ApproximateNumberOfMessages"], a.Attributes["ApproximateNumberOfMessagesNotVisible"]
}

// TestControllerOnMotoInterruption: an interruption warning for an instance of the fleet
// takes its targets out and its container instance to DRAINING; a duplicate and an event
// for a foreign instance change nothing and are deleted. The warning was sent 110 s ago:
// with 10 s left the instance leaves the load balancer at once (a fresh one keeps serving
// until its replacement does, which moto's instances never do; the emulator's tests show
// that timing).
func TestControllerOnMotoInterruption(t *testing.T) {
	rec := &calls{}
	cfg := moto(t, func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec })
	m := example(t, "s3-ecs-service-autoscaled.yaml")
	byGroup := fleetOnMoto(t, cfg, m)
	spot := byGroup["spot"][0]
	p := runController(t, cfg, m)
	ctx := context.Background()

	if err := p.SendMessage(ctx, eventAt(t, time.Now().Add(-110*time.Second), "e-1", spotfleet.DetailSpotInterruption, "aws.ec2", interruption(spot))); err != nil {
		t.Fatal(err)
	}
	tg, _ := NewStack(cfg, m).targetGroupARN(ctx, "s3-web-web")
	ip := privateIP(t, cfg, spot)
	e := ecs.NewFromConfig(cfg)
	eventually(t, "targets deregistered and container instance DRAINING", func() bool {
		h, err := elb.NewFromConfig(cfg).DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: &tg})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range h.TargetHealthDescriptions {
			if awssdk.ToString(d.Target.Id) == ip && d.TargetHealth.State != "draining" {
				return false
			}
		}
		list, _ := e.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: awssdk.String("s3-web"), Filter: awssdk.String("ec2InstanceId == " + spot)})
		cis, err := e.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: awssdk.String("s3-web"), ContainerInstances: list.ContainerInstanceArns})
		if err != nil {
			t.Fatal(err)
		}
		for _, ci := range cis.ContainerInstances {
			if awssdk.ToString(ci.Ec2InstanceId) == spot {
				return awssdk.ToString(ci.Status) == "DRAINING"
			}
		}
		return false
	})
	eventually(t, "the instance detached from its group", func() bool {
		g, _ := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"s3-web-spot"}})
		return !slices.ContainsFunc(g.AutoScalingGroups[0].Instances, func(i asgtypes.Instance) bool { return awssdk.ToString(i.InstanceId) == spot })
	})

	// The drain's deregistration delay, clamped to the notice's time left, goes back to the
	// manifest's once the target is gone (at once on moto): wait for it, so that what
	// follows sees only what the next events cause.
	eventually(t, "the deregistration delay restored", func() bool {
		a, err := elb.NewFromConfig(cfg).DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: &tg})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range a.Attributes {
			if awssdk.ToString(x.Key) == "deregistration_delay.timeout_seconds" {
				return awssdk.ToString(x.Value) == "10"
			}
		}
		return false
	})
	drains := count(rec.mutating(), "UpdateContainerInstancesState")
	if err := p.SendMessage(ctx, event(t, "e-2", spotfleet.DetailSpotInterruption, "aws.ec2", interruption(spot))); err != nil {
		t.Fatal(err)
	}
	if err := p.SendMessage(ctx, event(t, "e-3", spotfleet.DetailSpotInterruption, "aws.ec2", interruption("i-0123456789abcdef0"))); err != nil {
		t.Fatal(err)
	}
	rec.reset()
	// The interruption's message stays held until its instance is gone; the others go.
	eventually(t, "the duplicate and the foreign event deleted", func() bool {
		v, h := queued(t, cfg, m)
		return v == "0" && h == "1"
	})
	for _, call := range rec.mutating() {
		if call != "DeleteMessage" && call != "ChangeMessageVisibility" && call != "SendMessage" && call != "ReceiveMessage" {
			t.Errorf("a duplicate or foreign event led to %s", call)
		}
	}
	if drains != 1 {
		t.Errorf("%d drains for the interruption, want 1", drains)
	}
}

// TestControllerOnMotoLaunchFailureCovers: the Spot group is short (an instance of it is
// stopped: moto launches every instance a group asks for, so a real shortage cannot
// happen there) and a launch-unsuccessful event says why; the controller covers the
// missing units on the On-Demand group at once.
func TestControllerOnMotoLaunchFailureCovers(t *testing.T) {
	cfg := moto(t, nil)
	m := example(t, "s1-spot-with-ondemand-backup.yaml")
	byGroup := fleetOnMoto(t, cfg, m)
	ctx := context.Background()
	p := aws.NewProvider(cfg, m)
	short := byGroup["spot"][0]
	if _, err := ec2.NewFromConfig(cfg).StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{short}}); err != nil {
		t.Fatal(err)
	}
	runController(t, cfg, m)
	if err := p.SendMessage(ctx, event(t, "e-1", spotfleet.DetailLaunchFailed, "aws.autoscaling", spotfleet.LaunchFailedDetail{
		StatusCode: "Failed", AutoScalingGroupName: "s1-backup-spot", ActivityID: "a-1", StatusMessage: emulator.ICEMessage,
		Details: map[string]string{"Availability Zone": "us-east-1a"}})); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the On-Demand group covers the missing unit", func() bool {
		g, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"s1-backup-on-demand"}})
		if err != nil {
			t.Fatal(err)
		}
		return awssdk.ToInt32(g.AutoScalingGroups[0].DesiredCapacity) >= 1
	})
}

func privateIP(t *testing.T, cfg awssdk.Config, id string) string {
	d, err := ec2.NewFromConfig(cfg).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	return awssdk.ToString(d.Reservations[0].Instances[0].PrivateIpAddress)
}

func count(xs []string, x string) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}

func interruption(id string) spotfleet.SpotInterruptionDetail {
	return spotfleet.SpotInterruptionDetail{InstanceID: id, InstanceAction: "terminate"}
}
