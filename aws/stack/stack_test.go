package stack

import (
	"fmt"

	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	tagging "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	taggingtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"
	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/manifest"
)

// calls counts the AWS calls that go out, by action.
type calls struct {
	mu   sync.Mutex
	seen []string
	next http.RoundTripper
}

func (c *calls) RoundTrip(r *http.Request) (*http.Response, error) {
	action := actionOf(r)
	if i := strings.LastIndex(action, "."); i >= 0 {
		action = action[i+1:]
	}
	c.mu.Lock()
	c.seen = append(c.seen, action)
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// actionOf is the API action of a request: X-Amz-Target for the JSON protocols, the form's
// Action for the query ones (the body is read and put back).
func actionOf(r *http.Request) string {
	action := r.Header.Get("X-Amz-Target")
	if action == "" && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		if q, perr := url.ParseQuery(string(body)); err == nil && perr == nil {
			action = q.Get("Action")
		}
	}
	return action
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
	return p
}

var examples = []string{"s0-ecs-spot-capacity-provider.yaml", "s1-spot-with-ondemand-backup.yaml", "s2-web-app-spot-instances-alb.yaml",
	"s3-ecs-service-autoscaled.yaml", "s4-graceful-shutdown.yaml", "production.yaml", "s3-fargate-spot.yaml"}

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
// maximum and an added instance type, a health check's path, a service's maximumPercent,
// which moto does not read back) plans exactly that change, and applying it leaves nothing
// to change.
func TestPlanShowsAnEdit(t *testing.T) {
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			cfg := moto(t, nil)
			m := example(t, name)
			if len(m.Capacity) == 0 {
				t.Skip("edits a capacity group; the example has none") // its service edit: TestFargateStack
			}
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
			oldTypes := NewStack(cfg, m).groupFields(*g)["overrides"]
			g.InstanceTypes = append(slices.Clone(g.InstanceTypes), manifest.InstanceType{Type: "m7a.large", Weight: 1})
			want := []Change{
				{Action: "update", Kind: "target-group", Name: m.TargetGroupName(*sv), Diffs: []Diff{{Field: "healthPath", From: oldPath, To: "/edited"}}},
				{Action: "update", Kind: "auto-scaling-group", Name: m.Name + "-" + g.Name, Diffs: []Diff{
					{Field: "max", From: fmt.Sprint(oldMax), To: fmt.Sprint(g.MaxSize)},
					{Field: "overrides", From: oldTypes, To: NewStack(cfg, m).groupFields(*g)["overrides"], Added: []string{"m7a.large:1"}}}},
			}
			if m.Workload == manifest.WorkloadECS { // a field moto's DescribeServices does not return
				sv := &m.Services[0]
				sv.MaximumPercent += 50
				edited := []Diff{{Field: "maximumPercent", To: fmt.Sprint(sv.MaximumPercent), FromUnknown: true}}
				want = append(want, Change{Action: "update", Kind: "ecs-service", Name: sv.Name, Diffs: edited})
				if m.Covers(manifest.CoverServiceName(sv.Name)) != "" { // its fallback companion follows it
					want = append(want, Change{Action: "update", Kind: "ecs-service", Name: manifest.CoverServiceName(sv.Name), Diffs: edited})
				}
			}
			planEdit(t, cfg, m, want)
		})
	}
}

// planEdit checks that after an edit of m the plan is exactly want, and that once applied
// nothing is left to change.
// Every edit also changes the controller's task definition, which carries the manifest:
// that change is checked to be the manifest's alone, and the rest compared with want.
func planEdit(t *testing.T, cfg awssdk.Config, m *manifest.Manifest, want []Change) {
	t.Helper()
	got := plan(t, NewStack(cfg, m))
	var rest []Change
	manifestChanged := false
	for _, c := range got {
		if c.Kind == "task-definition" && c.Name == m.Name+"-"+manifest.ControllerService {
			manifestChanged = len(c.Diffs) == 1 && c.Diffs[0].Field == "environment" && len(c.Diffs[0].Added) == 1 && len(c.Diffs[0].Removed) == 1 &&
				strings.HasPrefix(c.Diffs[0].Added[0], aws.ManifestEnv+"=sha256:")
			continue
		}
		rest = append(rest, c)
	}
	if !manifestChanged {
		t.Errorf("the controller's manifest is not a change of the plan: %+v", got)
	}
	if d := cmp.Diff(want, rest); d != "" {
		t.Fatalf("plan after the edit (-want +got):\n%s", d)
	}
	applyPlan(t, NewStack(cfg, m), got)
	if again := plan(t, NewStack(cfg, m)); len(again) > 0 {
		t.Errorf("after applying the edit: %+v", again)
	}
}

// TestDeleteLeavesNothingTagged: delete removes everything apply made (the tagging API
// finds nothing of the fleet left but terminated instances, and the plan is the first
// one again), and nothing else: a resource of another fleet, and an untagged one of the
// same name, stay. A second delete finds nothing to do.
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
			// moto allows one private DNS namespace per VPC (AWS, one per name).
			other.AWS.Controller.Deploy = false
			applyPlan(t, NewStack(cfg, other), plan(t, NewStack(cfg, other)))
			first := plan(t, NewStack(cfg, m))
			applyPlan(t, NewStack(cfg, m), first)
			sq := sqs.NewFromConfig(cfg)
			if _, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: awssdk.String(m.Name + "-mine")}); err != nil {
				t.Fatal(err)
			}
			// An instance the controller detached and did not terminate (it stopped in
			// between): delete left two running (#32).
			detached := detachOne(t, cfg, m)

			if err := NewStack(cfg, m).Delete(ctx, func(Change, error, bool) {}); err != nil {
				t.Fatal(err)
			}
			left := tagged(t, cfg, m.Name)
			if len(left) > 0 {
				t.Errorf("tagged resources left after delete: %v", left)
			}
			if detached != "" {
				out, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{detached}})
				if err != nil {
					t.Fatal(err)
				}
				if st := out.Reservations[0].Instances[0].State.Name; st != ec2types.InstanceStateNameTerminated && st != ec2types.InstanceStateNameShuttingDown {
					t.Errorf("the detached instance %s is %s after delete", detached, st)
				}
			}
			if d := cmp.Diff(first, plan(t, NewStack(cfg, m))); d != "" {
				t.Errorf("the plan after delete is not the first one (-first +after):\n%s", d)
			}
			var again []string
			if err := NewStack(cfg, m).Delete(ctx, func(c Change, _ error, done bool) {
				if done {
					again = append(again, c.Kind+" "+c.Name)
				}
			}); err != nil || len(again) > 0 {
				t.Errorf("a second delete: %v, deleted %v", err, again)
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

// detachOne detaches an instance of the fleet's first group that has one, as the controller
// does with an interrupted one, and returns its ID ("" for a fleet with none).
func detachOne(t *testing.T, cfg awssdk.Config, m *manifest.Manifest) string {
	t.Helper()
	a := autoscaling.NewFromConfig(cfg)
	for _, g := range m.Capacity {
		name := m.Name + "-" + g.Name
		out, err := a.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.AutoScalingGroups) == 0 || len(out.AutoScalingGroups[0].Instances) == 0 {
			continue
		}
		id := awssdk.ToString(out.AutoScalingGroups[0].Instances[0].InstanceId)
		if _, err := a.DetachInstances(context.Background(), &autoscaling.DetachInstancesInput{AutoScalingGroupName: &name,
			InstanceIds: []string{id}, ShouldDecrementDesiredCapacity: awssdk.Bool(false)}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	return ""
}

// tagged lists the fleet's tagged resources that still exist (terminated instances aside).
func tagged(t *testing.T, cfg awssdk.Config, fleet string) []string {
	t.Helper()
	ctx := context.Background()
	out, err := tagging.NewFromConfig(cfg).GetResources(ctx, &tagging.GetResourcesInput{
		TagFilters: []taggingtypes.TagFilter{{Key: awssdk.String(aws.FleetTag), Values: []string{fleet}}}})
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

// byAPI counts the calls seen by API.
func (c *calls) byAPI() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for _, a := range c.seen {
		out[a]++
	}
	return out
}
