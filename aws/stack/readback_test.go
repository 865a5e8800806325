package stack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TestApplyCreatesTheStack reads back, through the APIs and not apply's output, what
// reference design S0 needs and spotfleet adds.
func TestApplyCreatesTheStack(t *testing.T) {
	cfg := moto(t, nil)
	ctx := context.Background()
	m := example(t, "s0-ecs-spot-capacity-provider.yaml")
	applyPlan(t, NewStack(cfg, m), plan(t, NewStack(cfg, m)))

	// The launch template's user data: S0's agent settings and the metadata block.
	lt, err := ec2.NewFromConfig(cfg).DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateName: awssdk.String("s0-ecs-spot"), Versions: []string{"$Latest"}})
	if err != nil {
		t.Fatal(err)
	}
	ud, _ := base64.StdEncoding.DecodeString(awssdk.ToString(lt.LaunchTemplateVersions[0].LaunchTemplateData.UserData))
	for _, want := range []string{"ECS_CLUSTER=s0-ecs", "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true", "ECS_AWSVPC_BLOCK_IMDS=true",
		"ECS_CONTAINER_STOP_TIMEOUT=30s", "--destination 169.254.169.254/32 --jump DROP"} {
		if !strings.Contains(string(ud), want) {
			t.Errorf("user data lacks %q:\n%s", want, ud)
		}
	}

	// The Spot group: mixed instances, ten types, all Spot, capacity-optimized.
	g, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"s0-ecs-spot"}})
	if err != nil || len(g.AutoScalingGroups) != 1 {
		t.Fatalf("the Spot group: %v", err)
	}
	mp := g.AutoScalingGroups[0].MixedInstancesPolicy
	if len(mp.LaunchTemplate.Overrides) != 10 || awssdk.ToInt32(mp.InstancesDistribution.OnDemandPercentageAboveBaseCapacity) != 0 ||
		awssdk.ToString(mp.InstancesDistribution.SpotAllocationStrategy) != "capacity-optimized" {
		t.Errorf("mixed instances policy: %d overrides, %d%% On-Demand, %s", len(mp.LaunchTemplate.Overrides),
			awssdk.ToInt32(mp.InstancesDistribution.OnDemandPercentageAboveBaseCapacity), awssdk.ToString(mp.InstancesDistribution.SpotAllocationStrategy))
	}

	// Capacity providers with managed scaling at 80% and termination protection; the
	// cluster's default strategy On-Demand base 1 weight 1, Spot weight 1.
	e := ecs.NewFromConfig(cfg)
	cps, err := e.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{CapacityProviders: []string{"s0-ecs-spot"}})
	if err != nil || len(cps.CapacityProviders) != 1 {
		t.Fatalf("capacity provider: %v", err)
	}
	a := cps.CapacityProviders[0].AutoScalingGroupProvider
	if awssdk.ToInt32(a.ManagedScaling.TargetCapacity) != 80 || a.ManagedTerminationProtection != ecstypes.ManagedTerminationProtectionEnabled {
		t.Errorf("capacity provider: target %d, termination protection %s", awssdk.ToInt32(a.ManagedScaling.TargetCapacity), a.ManagedTerminationProtection)
	}
	cl, err := e.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"s0-ecs"}})
	if err != nil || len(cl.Clusters) != 1 {
		t.Fatalf("cluster: %v", err)
	}
	if got := readStrategy(cl.Clusters[0].DefaultCapacityProviderStrategy); got != "s0-ecs-on-demand:1:1,s0-ecs-spot:0:1" {
		t.Errorf("default strategy %s", got)
	}
	svc, err := e.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: awssdk.String("s0-ecs"), Services: []string{"web"}})
	if err != nil || len(svc.Services) != 1 || svc.Services[0].DesiredCount != 4 || len(svc.Services[0].LoadBalancers) != 1 {
		t.Fatalf("service: %v %+v", err, svc)
	}

	// Target group: the health check and the deregistration delay of the manifest.
	l := elb.NewFromConfig(cfg)
	tgs, err := l.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{"s0-ecs-web"}})
	if err != nil {
		t.Fatal(err)
	}
	tg := tgs.TargetGroups[0]
	if awssdk.ToString(tg.HealthCheckPath) != "/healthcheck" || awssdk.ToInt32(tg.HealthCheckIntervalSeconds) != 5 || tg.TargetType != "ip" {
		t.Errorf("target group: %s every %ds, %s targets", awssdk.ToString(tg.HealthCheckPath), awssdk.ToInt32(tg.HealthCheckIntervalSeconds), tg.TargetType)
	}
	attrs, _ := l.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
	for _, at := range attrs.Attributes {
		if awssdk.ToString(at.Key) == "deregistration_delay.timeout_seconds" && awssdk.ToString(at.Value) != "60" {
			t.Errorf("deregistration delay %s, want 60", awssdk.ToString(at.Value))
		}
	}

	// The rule sends the events the controller reads to the queue, which lets it.
	eb := eventbridge.NewFromConfig(cfg)
	rule, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: awssdk.String("s0-ecs-spot-events")})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation", "EC2 Instance Launch Unsuccessful", "SpotInterruption"} {
		if !strings.Contains(awssdk.ToString(rule.EventPattern), want) {
			t.Errorf("rule pattern lacks %q: %s", want, awssdk.ToString(rule.EventPattern))
		}
	}
	targets, _ := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: rule.Name})
	if len(targets.Targets) != 1 || !strings.HasSuffix(awssdk.ToString(targets.Targets[0].Arn), ":s0-ecs-events") {
		t.Errorf("rule targets %+v", targets.Targets)
	}
	q := sqs.NewFromConfig(cfg)
	url, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: awssdk.String("s0-ecs-events")})
	if err != nil {
		t.Fatal(err)
	}
	qa, _ := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"Policy"}})
	if p := qa.Attributes["Policy"]; !strings.Contains(p, "events.amazonaws.com") || !strings.Contains(p, "rule/s0-ecs-spot-events") {
		t.Errorf("queue policy %s", p)
	}

	// The controller's role carries exactly the policy `spotfleet iam-policy` prints.
	pol, err := iam.NewFromConfig(cfg).GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: awssdk.String("s0-ecs-controller"), PolicyName: awssdk.String(controllerInlinePolicy)})
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	json.Unmarshal([]byte(unescape(awssdk.ToString(pol.PolicyDocument))), &got)
	json.Unmarshal([]byte(ControllerPolicy(m, "us-east-1", "123456789012").JSON()), &want)
	if g, w := mustJSON(got), mustJSON(want); g != w {
		t.Errorf("controller policy:\n%s\nwant\n%s", g, w)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
