package stack

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/manifest"
)

// refuse fails every call that changes something once armed, with a 403 no retry makes
// again: a permission, a limit or a validation error in the middle of an apply.
type refuse struct {
	next  http.RoundTripper
	mu    sync.Mutex
	armed bool
	hit   []string
}

func (f *refuse) arm(on bool) {
	f.mu.Lock()
	f.armed = on
	f.mu.Unlock()
}

func (f *refuse) RoundTrip(r *http.Request) (*http.Response, error) {
	action := actionOf(r)
	if i := strings.LastIndex(action, "."); i >= 0 {
		action = action[i+1:]
	}
	f.mu.Lock()
	armed := f.armed && !strings.HasPrefix(action, "Describe") && !strings.HasPrefix(action, "List") && !strings.HasPrefix(action, "Get")
	if armed {
		f.hit = append(f.hit, action)
	}
	f.mu.Unlock()
	if !armed {
		return f.next.RoundTrip(r)
	}
	return &http.Response{Request: r, StatusCode: http.StatusForbidden, ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"text/xml"}},
		Body:   io.NopCloser(strings.NewReader(`<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>refused by the test</Message></Error><RequestId>x</RequestId></ErrorResponse>`))}, nil
}

// existing is what exists of the manifest's resources and of the fleet's old ones, by the
// plan: what it wants and does not create, and what it deletes.
func existing(changes []Change, wants map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k := range wants {
		out[k] = true
	}
	for _, c := range changes {
		switch c.Action {
		case Create:
			delete(out, c.Kind+" "+c.Name)
		case Delete:
			out[c.Kind+" "+c.Name] = true
		}
	}
	return out
}

func wanted(s *Stack) map[string]bool {
	out := map[string]bool{}
	for _, k := range s.kinds() {
		for _, r := range k.want(s) {
			out[k.name+" "+r.Name] = true
		}
	}
	return out
}

// renameSpot is the S3 example with its Spot group renamed (a new group, launch template and
// capacity provider, the cluster, the service and the fallback changed, the old ones
// deleted) and its health check moved: creations, updates and deletions in one plan.
func renameSpot(m *manifest.Manifest) {
	for i := range m.Capacity {
		if m.Capacity[i].Name == "spot" {
			m.Capacity[i].Name = "spot2"
		}
	}
	m.Fallback.From = "spot2"
	for i := range m.Services {
		for j := range m.Services[i].CapacityProviderStrategy {
			if m.Services[i].CapacityProviderStrategy[j].CapacityProvider == "spot" {
				m.Services[i].CapacityProviderStrategy[j].CapacityProvider = "spot2"
			}
		}
		m.Services[i].LoadBalancer.HealthCheck.Path = "/moved"
	}
}

// TestApplyFailureLeavesAtLeastWhatWasThere fails an apply at each of its steps in turn
// (every change from that step on is refused): what existed before still exists (but, once
// the deletions have begun, what the manifest no longer has), and the next apply goes on to
// the end. The review's apply deleted first: a failed role update left the fleet without
// its Spot group.
func TestApplyFailureLeavesAtLeastWhatWasThere(t *testing.T) {
	ctx := context.Background()
	base := func(t *testing.T, f *refuse) (awssdk.Config, *manifest.Manifest, []Change) {
		cfg := moto(t, func(rt http.RoundTripper) http.RoundTripper { f.next = rt; return f })
		m := example(t, "s3-ecs-service-autoscaled.yaml")
		applyPlan(t, NewStack(cfg, m), plan(t, NewStack(cfg, m)))
		renameSpot(m)
		return cfg, m, plan(t, NewStack(cfg, m))
	}
	_, _, edit := base(t, &refuse{})
	var kinds []string
	for _, c := range edit {
		kinds = append(kinds, string(c.Action)+" "+c.Kind+" "+c.Name)
	}
	t.Logf("the edit's plan: %s", strings.Join(kinds, "; "))
	for step := range edit {
		t.Run(fmt.Sprintf("step %d", step), func(t *testing.T) {
			f := &refuse{}
			cfg, m, changes := base(t, f)
			before := existing(changes, wanted(NewStack(cfg, m)))
			n, at := 0, Change{}
			err := NewStack(cfg, m).Apply(ctx, changes, func(c Change, _ error, done bool) {
				if !done {
					if n == step {
						f.arm(true)
						at = c
					}
					n++
				}
			})
			f.arm(false)
			if err == nil {
				t.Fatalf("the apply refused from step %d succeeded (refused: %v)", step, f.hit)
			}
			// Nothing is gone, but what the plan deletes once everything else is done.
			after := existing(plan(t, NewStack(cfg, m)), wanted(NewStack(cfg, m)))
			deleting := at.Action == Delete
			for r := range before {
				if !after[r] && (!deleting || wanted(NewStack(cfg, m))[r]) {
					t.Errorf("%s existed before the apply that failed at %s %s %s (%v), and is gone", r, at.Action, at.Kind, at.Name, err)
				}
			}
			applyPlan(t, NewStack(cfg, m), plan(t, NewStack(cfg, m)))
			if again := plan(t, NewStack(cfg, m)); len(again) > 0 {
				t.Errorf("the next apply did not finish: %+v", again)
			}
		})
	}
}

// TestReferencesAreByIdentity: a target group deleted and made again by hand under the same
// name is a new one: the services, listeners and rules that pointed at the old ARN plan as
// updates, and apply moves them to the new one. A capacity provider whose group was made
// again plans as an update too, which apply refuses with what to do (ECS cannot move a
// provider). Read by name alone, both planned as "No changes".
func TestReferencesAreByIdentity(t *testing.T) {
	ctx := context.Background()
	cfg := moto(t, nil)
	m := example(t, "s3-ecs-service-autoscaled.yaml")
	applyPlan(t, NewStack(cfg, m), plan(t, NewStack(cfg, m)))
	l := elb.NewFromConfig(cfg)
	name := m.TargetGroupName(m.Services[0])
	old, err := l.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	tg := old.TargetGroups[0]
	for _, lb := range tg.LoadBalancerArns { // AWS refuses to delete a target group a listener uses
		ls, err := l.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: &lb})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ls.Listeners {
			if _, err := l.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: x.ListenerArn}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := l.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn}); err != nil {
		t.Fatal(err)
	}
	made, err := l.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: &name, Protocol: tg.Protocol, Port: tg.Port, VpcId: tg.VpcId,
		TargetType: tg.TargetType, HealthCheckPath: tg.HealthCheckPath, Tags: []elbtypes.Tag{{Key: awssdk.String(aws.FleetTag), Value: &m.Name}}})
	if err != nil {
		t.Fatal(err)
	}
	changes := plan(t, NewStack(cfg, m))
	var services []string
	for _, c := range changes {
		if c.Kind == "ecs-service" {
			services = append(services, c.Name)
			if len(c.Diffs) != 1 || c.Diffs[0].Field != "targetGroup" || c.Diffs[0].From != name+" (deleted)" {
				t.Errorf("%s: %+v, want the target group from %q", c.Name, c.Diffs, name+" (deleted)")
			}
		}
	}
	if len(services) == 0 {
		t.Fatalf("no service plans a change after its target group was made again: %+v", changes)
	}
	applyPlan(t, NewStack(cfg, m), changes)
	if again := plan(t, NewStack(cfg, m)); len(again) > 0 {
		t.Errorf("after the apply: %+v", again)
	}
	svs, err := ecs.NewFromConfig(cfg).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &m.Name, Services: services})
	if err != nil {
		t.Fatal(err)
	}
	for _, sv := range svs.Services {
		if len(sv.LoadBalancers) != 1 || awssdk.ToString(sv.LoadBalancers[0].TargetGroupArn) != awssdk.ToString(made.TargetGroups[0].TargetGroupArn) {
			t.Errorf("service %s points at %+v, want the new target group", awssdk.ToString(sv.ServiceName), sv.LoadBalancers)
		}
	}

	// The Spot group, deleted and made again by hand.
	a := autoscaling.NewFromConfig(cfg)
	group := m.Name + "-spot"
	g, err := a.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		t.Fatal(err)
	}
	was := g.AutoScalingGroups[0]
	was.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification = &asgtypes.LaunchTemplateSpecification{
		LaunchTemplateName: &group, Version: awssdk.String("$Latest")}
	if _, err := a.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: &group, ForceDelete: awssdk.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: &group, MinSize: was.MinSize, MaxSize: was.MaxSize,
		VPCZoneIdentifier: was.VPCZoneIdentifier, MixedInstancesPolicy: was.MixedInstancesPolicy, NewInstancesProtectedFromScaleIn: was.NewInstancesProtectedFromScaleIn,
		Tags: []asgtypes.Tag{{Key: awssdk.String(aws.FleetTag), Value: &m.Name, PropagateAtLaunch: awssdk.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	changes = plan(t, NewStack(cfg, m))
	var provider *Change
	for i, c := range changes {
		if c.Kind == "capacity-provider" {
			provider = &changes[i]
		}
	}
	if provider == nil || provider.Action != "update" || provider.Diffs[0].From != group+" (deleted)" {
		t.Fatalf("the provider of a group made again: %+v, want an update from %q", changes, group+" (deleted)")
	}
	err = NewStack(cfg, m).Apply(ctx, changes, func(Change, error, bool) {})
	if err == nil || !strings.Contains(err.Error(), "cannot move a provider to another group") {
		t.Errorf("apply of the provider's change: %v, want a refusal that says what to do", err)
	}
}
