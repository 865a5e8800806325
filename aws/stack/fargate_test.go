package stack

import (
	"context"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/google/go-cmp/cmp"

	"github.com/spotfleet/spotfleet"
)

// TestFargateStack reads back what apply makes of the S3 design on Fargate Spot: a cluster
// associated with FARGATE and FARGATE_SPOT, FARGATE_SPOT its default; a Fargate task
// definition; the service and its fallback companion on the latest platform, in the
// tasks' security group that admits only the load balancer; an ip target group; and a rule
// that also takes the cluster's placement failures. No group, launch template or instance
// role, and a controller policy without them.
func TestFargateStack(t *testing.T) {
	cfg := moto(t, nil)
	ctx := context.Background()
	m := example(t, "s3-fargate-spot.yaml")
	first := plan(t, NewStack(cfg, m))
	for _, c := range first {
		switch c.Kind {
		case "auto-scaling-group", "launch-template", "capacity-provider", "instance-profile":
			t.Errorf("plan creates %s %s; a Fargate fleet has no instance", c.Kind, c.Name)
		}
	}
	applyPlan(t, NewStack(cfg, m), first)

	e := ecs.NewFromConfig(cfg)
	cl, err := e.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"s3-fargate"}})
	if err != nil || len(cl.Clusters) != 1 {
		t.Fatalf("cluster: %v", err)
	}
	if got := strings.Join(cl.Clusters[0].CapacityProviders, ","); got != "FARGATE,FARGATE_SPOT" {
		t.Errorf("cluster capacity providers %s, want FARGATE,FARGATE_SPOT", got)
	}
	if got := readStrategy(cl.Clusters[0].DefaultCapacityProviderStrategy); got != "FARGATE_SPOT:0:1" {
		t.Errorf("default strategy %s, want FARGATE_SPOT:0:1 (S3's seed)", got)
	}
	td, err := e.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: awssdk.String("s3-fargate-web")})
	if err != nil {
		t.Fatal(err)
	}
	d := td.TaskDefinition
	if len(d.RequiresCompatibilities) != 1 || d.RequiresCompatibilities[0] != ecstypes.CompatibilityFargate || d.NetworkMode != ecstypes.NetworkModeAwsvpc ||
		awssdk.ToString(d.Cpu) != "256" || awssdk.ToString(d.Memory) != "512" || awssdk.ToString(d.ExecutionRoleArn) == "" {
		t.Errorf("task definition: %v, %s, cpu %s memory %s, execution role %q; want FARGATE, awsvpc, 256/512, a role",
			d.RequiresCompatibilities, d.NetworkMode, awssdk.ToString(d.Cpu), awssdk.ToString(d.Memory), awssdk.ToString(d.ExecutionRoleArn))
	}

	sgs, err := ec2.NewFromConfig(cfg).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: fleetFilter(m.Name)})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, g := range sgs.SecurityGroups {
		ids[awssdk.ToString(g.GroupName)] = awssdk.ToString(g.GroupId)
	}
	for _, g := range sgs.SecurityGroups {
		if awssdk.ToString(g.GroupName) != "s3-fargate-tasks" {
			continue
		}
		if len(g.IpPermissions) != 1 || awssdk.ToInt32(g.IpPermissions[0].FromPort) != 5000 || len(g.IpPermissions[0].IpRanges) != 0 ||
			len(g.IpPermissions[0].UserIdGroupPairs) != 1 || awssdk.ToString(g.IpPermissions[0].UserIdGroupPairs[0].GroupId) != ids["s3-fargate"] {
			t.Errorf("tasks' security group lets in %+v; want port 5000 from the load balancer's group only", g.IpPermissions)
		}
	}
	svcs, err := e.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: awssdk.String("s3-fargate"), Services: []string{"web", "web-fallback"}})
	if err != nil || len(svcs.Services) != 2 {
		t.Fatalf("services: %v", err)
	}
	for _, sv := range svcs.Services {
		nc := sv.NetworkConfiguration
		if nc == nil || nc.AwsvpcConfiguration == nil || !cmp.Equal(nc.AwsvpcConfiguration.SecurityGroups, []string{ids["s3-fargate-tasks"]}) || len(nc.AwsvpcConfiguration.Subnets) == 0 {
			t.Errorf("service %s network %+v; want subnets and the tasks' security group", awssdk.ToString(sv.ServiceName), nc)
		}
		if pv := awssdk.ToString(sv.PlatformVersion); pv != "" && pv != "LATEST" { // moto may not keep it
			t.Errorf("service %s platform %s, want LATEST", awssdk.ToString(sv.ServiceName), pv)
		}
	}

	tgs, err := elb.NewFromConfig(cfg).DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{"s3-fargate-web"}})
	if err != nil || len(tgs.TargetGroups) != 1 || tgs.TargetGroups[0].TargetType != "ip" {
		t.Fatalf("target group: %v %+v; want one of type ip", err, tgs)
	}
	rule, err := eventbridge.NewFromConfig(cfg).DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: awssdk.String("s3-fargate-spot-events")})
	if err != nil {
		t.Fatal(err)
	}
	pattern := awssdk.ToString(rule.EventPattern)
	for _, want := range []string{spotfleet.DetailECSServiceAction, spotfleet.EventPlacementFailure, "cluster/s3-fargate", spotfleet.StopCodeSpotInterruption} {
		if !strings.Contains(pattern, want) {
			t.Errorf("rule pattern lacks %q: %s", want, pattern)
		}
	}
	if strings.Contains(pattern, "AutoScalingGroupName") {
		t.Errorf("rule pattern names groups the fleet does not have: %s", pattern)
	}

	policy := ControllerPolicy(m, "us-east-1", "123456789012").JSON()
	for _, not := range []string{"autoscaling:SetDesiredCapacity", "ec2:RunInstances", "ecs:UpdateContainerInstancesState", "iam:PassRole"} {
		if strings.Contains(policy, not) {
			t.Errorf("the controller policy allows %s, which a Fargate fleet never calls", not)
		}
	}
	for _, want := range []string{"ecs:UpdateService", "elasticloadbalancing:DeregisterTargets", "ecs:DescribeServices"} {
		if !strings.Contains(policy, want) {
			t.Errorf("the controller policy lacks %s", want)
		}
	}

	// An edit of the task's size plans as exactly that.
	m.Services[0].Memory = 1024
	planEdit(t, cfg, m, []Change{{Action: "update", Kind: "task-definition", Name: "s3-fargate-web", Diffs: []Diff{{Field: "memory", From: "512", To: "1024"}}}})
}
