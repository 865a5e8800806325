package stack

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/aws"
)

// TestSnapshotBetweenFullReads changes the fleet behind a provider's back between two of
// its snapshots, as Auto Scaling and the ECS agent would and as the controller does, and
// checks that the snapshot it builds from its cache is the one a full read gives.
func TestSnapshotBetweenFullReads(t *testing.T) {
	rec := &calls{}
	cfg := moto(t, func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec })
	ctx := context.Background()
	m := example(t, "s3-ecs-service-autoscaled.yaml")
	m.AWS.Controller.Deploy = false
	c := &m.Capacity[0]
	c.MinSize, c.MaxSize, c.DesiredCapacity = 3, 3, 3
	byGroup := fleetOnMoto(t, cfg, m)
	g := c.Name
	ids := byGroup[g]
	if len(ids) < 3 {
		t.Fatalf("group %s has %d instances; the test needs 3", g, len(ids))
	}
	p := aws.NewProvider(cfg, m)
	p.Resync = time.Hour
	before, err := p.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The controller drains one instance and terminates another it detached; Auto
	// Scaling launches their replacements, whose agents register them.
	n := aws.Names{Fleet: m.Name}
	if err := p.DrainContainerInstances(ctx, []string{containerInstanceOf(t, before, ids[0])}); err != nil {
		t.Fatal(err)
	}
	if err := p.DetachInstances(ctx, g, ids[1:2]); err != nil {
		t.Fatal(err)
	}
	if err := p.TerminateInstances(ctx, ids[1:2]); err != nil {
		t.Fatal(err)
	}
	out, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{n.Group(g)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range out.AutoScalingGroups[0].Instances {
		if id := awssdk.ToString(in.InstanceId); !slices.Contains(ids, id) {
			registerAgent(t, ecs.NewFromConfig(cfg), n, id, awssdk.ToString(in.AvailabilityZone))
		}
	}

	rec.reset()
	cached, err := p.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rec.seen {
		if a == "ListContainerInstances" || a == "ListTasks" {
			continue // the new instances' container instances, by filter
		}
		if a != "DescribeAutoScalingGroups" && a != "DescribeScalingActivities" && a != "DescribeTargetHealth" &&
			a != "ListServices" && a != "DescribeServices" && a != "DescribeInstances" && a != "DescribeContainerInstances" && a != "DescribeTasks" {
			t.Errorf("a snapshot between full reads called %s", a)
		}
	}
	full, err := aws.NewProvider(cfg, m).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	opts := []gocmp.Option{cmpopts.IgnoreFields(spotfleet.Snapshot{}, "Time"),
		cmpopts.SortSlices(func(a, b spotfleet.Instance) bool { return a.ID < b.ID }),
		cmpopts.SortSlices(func(a, b spotfleet.Task) bool { return a.ID < b.ID }),
		cmpopts.SortSlices(func(a, b spotfleet.Target) bool { return cmp.Compare(a.ID, b.ID) < 0 }),
		cmpopts.EquateEmpty()}
	if d := gocmp.Diff(full, cached, opts...); d != "" {
		t.Errorf("the snapshot from the cache differs from a full read (-full +cached):\n%s", d)
	}
	if d := gocmp.Diff(before, cached, opts...); d == "" {
		t.Error("nothing changed between the snapshots: the test changed nothing")
	}
}

func containerInstanceOf(t *testing.T, s spotfleet.Snapshot, id string) string {
	t.Helper()
	for _, in := range s.Instances {
		if in.ID == id && in.ContainerInstance != "" {
			return in.ContainerInstance
		}
	}
	t.Fatalf("instance %s has no container instance in the snapshot", id)
	return ""
}

// registerAgent registers an instance with the cluster, as its ECS agent would.
func registerAgent(t *testing.T, e *ecs.Client, n aws.Names, id, zone string) {
	t.Helper()
	doc, _ := json.Marshal(map[string]string{"instanceId": id, "region": "us-east-1", "availabilityZone": zone})
	if _, err := e.RegisterContainerInstance(context.Background(), &ecs.RegisterContainerInstanceInput{Cluster: awssdk.String(n.Cluster()),
		InstanceIdentityDocument: awssdk.String(string(doc)),
		TotalResources: []ecstypes.Resource{{Name: awssdk.String("CPU"), Type: awssdk.String("INTEGER"), IntegerValue: 2048},
			{Name: awssdk.String("MEMORY"), Type: awssdk.String("INTEGER"), IntegerValue: 7700}}}); err != nil {
		t.Fatal(err)
	}
}

// TestFailedFullReadFallsBackToTheCache: when a full read fails (here a call only the full
// read makes is refused), the snapshot is the cache brought up to date, not an error, and
// the next round tries the full read again.
func TestFailedFullReadFallsBackToTheCache(t *testing.T) {
	refuse := &refusing{action: "Action=DescribeTargetGroupAttributes"}
	cfg := moto(t, func(rt http.RoundTripper) http.RoundTripper { refuse.next = rt; return refuse })
	m := example(t, "s2-web-app-spot-instances-alb.yaml")
	m.AWS.Controller.Deploy = false
	ids := fleetOnMoto(t, cfg, m)[m.Capacity[0].Name]
	p := aws.NewProvider(cfg, m)
	p.Resync = time.Nanosecond // every snapshot is due a full read
	ctx := context.Background()
	if _, err := p.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	refuse.on.Store(true)
	if err := p.TerminateInstances(ctx, ids[:1]); err != nil {
		t.Fatal(err)
	}
	s, err := p.Snapshot(ctx)
	if err != nil {
		t.Fatalf("a failed full read failed the snapshot: %v", err)
	}
	for _, in := range s.Instances {
		if in.ID == ids[0] && in.State == spotfleet.InstanceRunning {
			t.Errorf("instance %s terminated, still running in the snapshot from the cache", in.ID)
		}
	}
	if refuse.n.Load() == 0 {
		t.Error("the second snapshot did not try the full read")
	}
}

// refusing refuses, while on, the calls whose form body holds action.
type refusing struct {
	next   http.RoundTripper
	action string
	on     atomic.Bool
	n      atomic.Int32
}

func (f *refusing) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !f.on.Load() || !strings.Contains(string(body), f.action) {
		return f.next.RoundTrip(r)
	}
	f.n.Add(1)
	return &http.Response{Request: r, StatusCode: 403, ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{"Content-Type": {"text/xml"}},
		Body: io.NopCloser(strings.NewReader(`<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>refused by the test</Message></Error><RequestId>x</RequestId></ErrorResponse>`))}, nil
}
