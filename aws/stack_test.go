package aws

import (
	"fmt"

	"bytes"
	"context"
	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	tagging "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	taggingtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"
	"github.com/spotfleet/spotfleet/manifest"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// motoGaps are fields moto does not keep, so that a plan against it always shows them
// changed: DescribeServices returns no capacityProviderStrategy, deploymentConfiguration or
// healthCheckGracePeriodSeconds. docs/aws.md lists them.
var motoGaps = map[string][]string{"ecs-service": {"strategy", "maximumPercent", "minimumHealthyPercent", "healthCheckGracePeriod"}}

// withoutMotoGaps drops the diffs of fields moto does not keep, and the updates left empty.
func withoutMotoGaps(plan []Change) []Change {
	var out []Change
	for _, c := range plan {
		if c.Action == "update" {
			c.Diffs = slices.DeleteFunc(slices.Clone(c.Diffs), func(d Diff) bool { return slices.Contains(motoGaps[c.Kind], d.Field) })
			if len(c.Diffs) == 0 {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// calls counts the AWS calls that go out, by action.
type calls struct {
	mu   sync.Mutex
	seen []string
	next http.RoundTripper
}

func (c *calls) RoundTrip(r *http.Request) (*http.Response, error) {
	action := r.Header.Get("X-Amz-Target")
	if action == "" && r.Body != nil { // query protocols: Action=... in the form body
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		if q, err := url.ParseQuery(string(body)); err == nil {
			action = q.Get("Action")
		}
	}
	if i := strings.LastIndex(action, "."); i >= 0 {
		action = action[i+1:]
	}
	c.mu.Lock()
	c.seen = append(c.seen, action)
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// mutating lists the calls seen that change something (not Describe, List or Get).
func (c *calls) mutating() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, a := range c.seen {
		if !strings.HasPrefix(a, "Describe") && !strings.HasPrefix(a, "List") && !strings.HasPrefix(a, "Get") {
			out = append(out, a)
		}
	}
	return out
}

func (c *calls) reset() {
	c.mu.Lock()
	c.seen = nil
	c.mu.Unlock()
}

func applyPlan(t *testing.T, s *Stack, plan []Change) {
	t.Helper()
	if err := s.Apply(context.Background(), plan, func(Change, error, bool) {}); err != nil {
		t.Fatal(err)
	}
}

func plan(t *testing.T, s *Stack) []Change {
	t.Helper()
	p, err := s.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return withoutMotoGaps(p)
}

var examples = []string{"s0-ecs-spot-capacity-provider.yaml", "s1-spot-with-ondemand-backup.yaml", "s2-web-app-spot-instances-alb.yaml",
	"s3-ecs-service-autoscaled.yaml", "s4-graceful-shutdown.yaml"}

// TestApplyIsIdempotent: for every example, apply creates everything, and a second apply
// plans nothing and makes no mutating call.
func TestApplyIsIdempotent(t *testing.T) {
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			rec := &calls{}
			cfg := moto(t, func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec })
			m := example(t, name)
			first := plan(t, NewStack(cfg, m))
			for _, c := range first {
				if c.Action != "create" {
					t.Errorf("first plan: %s %s %s, want only creations", c.Action, c.Kind, c.Name)
				}
			}
			applyPlan(t, NewStack(cfg, m), first)
			rec.reset()
			s := NewStack(cfg, m)
			again := plan(t, s)
			applyPlan(t, s, again)
			for _, c := range again {
				t.Errorf("second plan: %s %s %s %v", c.Action, c.Kind, c.Name, c.Diffs)
			}
			if mut := rec.mutating(); len(mut) > 0 {
				t.Errorf("the second apply called %v", mut)
			}
		})
	}
}

// TestPlanShowsAnEdit: for every example, after an apply, a manifest edit (a group's
// maximum, a health check's path) plans exactly that change, and applying it leaves nothing
// to change.
func TestPlanShowsAnEdit(t *testing.T) {
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			cfg := moto(t, nil)
			m := example(t, name)
			applyPlan(t, NewStack(cfg, m), plan(t, NewStack(cfg, m)))

			g := &m.Capacity[len(m.Capacity)-1]
			oldMax := g.MaxSize
			g.MaxSize += 2
			sv := &m.AllServices()[0]
			if m.Workload == manifest.WorkloadInstances {
				sv = m.Instances
			}
			oldPath := sv.LoadBalancer.HealthCheck.Path
			sv.LoadBalancer.HealthCheck.Path = "/edited"
			got := plan(t, NewStack(cfg, m))
			want := []Change{
				{Action: "update", Kind: "target-group", Name: m.TargetGroupName(*sv), Diffs: []Diff{{Field: "healthPath", From: oldPath, To: "/edited"}}},
				{Action: "update", Kind: "auto-scaling-group", Name: m.Name + "-" + g.Name, Diffs: []Diff{{Field: "max", From: fmt.Sprint(oldMax), To: fmt.Sprint(g.MaxSize)}}},
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("plan after the edit (-want +got):\n%s", d)
			}
			applyPlan(t, NewStack(cfg, m), got)
			if again := plan(t, NewStack(cfg, m)); len(again) > 0 {
				t.Errorf("after applying the edit: %+v", again)
			}
		})
	}
}

// TestDeleteLeavesNothingTagged: delete removes everything apply made (the tagging API
// finds nothing of the fleet left but terminated instances), and nothing else: a resource
// of another fleet, and an untagged one of the same name, stay.
func TestDeleteLeavesNothingTagged(t *testing.T) {
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			cfg := moto(t, nil)
			ctx := context.Background()
			m := example(t, name)
			other := example(t, "s4-graceful-shutdown.yaml")
			if m.Name == other.Name {
				other = example(t, "s1-spot-with-ondemand-backup.yaml")
			}
			applyPlan(t, NewStack(cfg, other), plan(t, NewStack(cfg, other)))
			applyPlan(t, NewStack(cfg, m), plan(t, NewStack(cfg, m)))
			sq := sqs.NewFromConfig(cfg)
			if _, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: awssdk.String(m.Name + "-mine")}); err != nil {
				t.Fatal(err)
			}

			if err := NewStack(cfg, m).Delete(ctx, func(Change, error, bool) {}); err != nil {
				t.Fatal(err)
			}
			left := tagged(t, cfg, m.Name)
			if len(left) > 0 {
				t.Errorf("tagged resources left after delete: %v", left)
			}
			for _, c := range plan(t, NewStack(cfg, m)) {
				if c.Action != "create" {
					t.Errorf("after delete: %s %s %s", c.Action, c.Kind, c.Name)
				}
			}
			if again := plan(t, NewStack(cfg, other)); len(again) > 0 {
				t.Errorf("the other fleet changed: %+v", again)
			}
			if _, err := sq.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: awssdk.String(m.Name + "-mine")}); err != nil {
				t.Errorf("an untagged queue was deleted: %v", err)
			}
		})
	}
}

// tagged lists the fleet's tagged resources that still exist (terminated instances aside).
func tagged(t *testing.T, cfg awssdk.Config, fleet string) []string {
	t.Helper()
	ctx := context.Background()
	out, err := tagging.NewFromConfig(cfg).GetResources(ctx, &tagging.GetResourcesInput{
		TagFilters: []taggingtypes.TagFilter{{Key: awssdk.String(FleetTag), Values: []string{fleet}}}})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, r := range out.ResourceTagMappingList {
		arn := awssdk.ToString(r.ResourceARN)
		if !gone(ctx, cfg, arn) {
			left = append(left, arn)
		}
	}
	return left
}

// gone says whether a resource the tagging API still lists has ended: a terminated
// instance, an INACTIVE ECS cluster, service or task definition (AWS keeps showing those
// for a while).
func gone(ctx context.Context, cfg awssdk.Config, arn string) bool {
	e := ecs.NewFromConfig(cfg)
	switch {
	case strings.Contains(arn, ":instance/"):
		id := arn[strings.LastIndex(arn, "/")+1:]
		d, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		return err == nil && len(d.Reservations) > 0 && d.Reservations[0].Instances[0].State.Name == ec2types.InstanceStateNameTerminated
	case strings.Contains(arn, ":cluster/"):
		d, err := e.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{arn}})
		return err == nil && (len(d.Clusters) == 0 || awssdk.ToString(d.Clusters[0].Status) == "INACTIVE")
	case strings.Contains(arn, ":service/"):
		parts := strings.Split(arn, "/")
		d, err := e.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &parts[len(parts)-2], Services: []string{arn}})
		return err == nil && (len(d.Services) == 0 || awssdk.ToString(d.Services[0].Status) == "INACTIVE")
	case strings.Contains(arn, ":task-definition/"):
		d, err := e.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: &arn})
		return err != nil || d.TaskDefinition.Status == ecstypes.TaskDefinitionStatusInactive
	}
	return false
}
