package stack

import (
	"context"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/internal/testing/conformance"
	"github.com/spotfleet/spotfleet/manifest"
)

// fleetOnMoto applies a manifest on moto and then does what AWS would do on its own:
// moto launches the groups' instances but runs no ECS agent and no service scheduler, so
// the test registers each instance as a container instance (as its agent would) and each
// instance's address as a target of the service's target group (as ECS would for a task).
// It returns the instances by group.
func fleetOnMoto(t *testing.T, cfg awssdk.Config, m *manifest.Manifest) map[string][]string {
	t.Helper()
	ctx := context.Background()
	applyPlan(t, NewStack(cfg, m), plan(t, NewStack(cfg, m)))
	n := aws.Names{Fleet: m.Name}
	byGroup := map[string][]string{}
	e, l := ecs.NewFromConfig(cfg), elb.NewFromConfig(cfg)
	for _, g := range m.Capacity {
		out, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{n.Group(g.Name)}})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range out.AutoScalingGroups[0].Instances {
			byGroup[g.Name] = append(byGroup[g.Name], awssdk.ToString(in.InstanceId))
		}
	}
	for _, ids := range byGroup {
		d, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range d.Reservations {
			for _, in := range r.Instances {
				if m.Workload == manifest.WorkloadECS {
					registerAgent(t, e, n, awssdk.ToString(in.InstanceId), awssdk.ToString(in.Placement.AvailabilityZone))
				}
				for _, sv := range m.AllServices() {
					if sv.LoadBalancer == nil || m.Workload == manifest.WorkloadInstances {
						continue
					}
					tg, err := NewStack(cfg, m).targetGroupARN(ctx, m.TargetGroupName(sv))
					if err != nil {
						t.Fatal(err)
					}
					if _, err := l.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: &tg, Targets: []elbtypes.TargetDescription{
						{Id: in.PrivateIpAddress, Port: awssdk.Int32(int32(sv.Port))}}}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	return byGroup
}

// TestProviderConformance runs the provider contract against the AWS provider on moto (the
// same suite runs against the emulator, in emulator/).
func TestProviderConformance(t *testing.T) {
	cfg := moto(t, nil)
	m := example(t, "s3-ecs-service-autoscaled.yaml")
	fleetOnMoto(t, cfg, m)
	p := aws.NewProvider(cfg, m)
	conformance.Run(t, conformance.Fixture{Provider: p, Queue: p})
}

// TestFargateConformance runs the contract of a fleet on Fargate against the AWS provider on
// moto, once the test has done what ECS would: moto has no service scheduler, and its
// RunTask places Fargate tasks only with launchType FARGATE (with a capacity-provider
// strategy it looks for container instances), so the test starts the service's tasks that
// way, in the tasks' security group, and registers their addresses in the target group.
func TestFargateConformance(t *testing.T) {
	cfg := moto(t, nil)
	ctx := context.Background()
	m := example(t, "s3-fargate-spot.yaml")
	s := NewStack(cfg, m)
	applyPlan(t, s, plan(t, s))
	sg, err := s.securityGroupNamed(ctx, s.n.TaskSecurityGroup())
	if err != nil {
		t.Fatal(err)
	}
	e := ecs.NewFromConfig(cfg)
	run, err := e.RunTask(ctx, &ecs.RunTaskInput{Cluster: awssdk.String(s.n.Cluster()), TaskDefinition: awssdk.String(s.n.TaskFamily("web")),
		LaunchType: ecstypes.LaunchTypeFargate, Group: awssdk.String("service:web"), Count: awssdk.Int32(2),
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: s.subnetsFor(s.taskZones()), SecurityGroups: []string{sg}}}})
	if err != nil || len(run.Tasks) != 2 {
		t.Fatalf("RunTask: %v", err)
	}
	tg, err := s.targetGroupARN(ctx, m.TargetGroupName(m.Services[0]))
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range run.Tasks {
		if _, err := elb.NewFromConfig(cfg).RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: &tg, Targets: []elbtypes.TargetDescription{
			{Id: awssdk.String(aws.TaskIP(task)), Port: awssdk.Int32(int32(m.Services[0].Port))}}}); err != nil {
			t.Fatal(err)
		}
	}
	p := aws.NewProvider(cfg, m)
	conformance.RunFargate(t, conformance.FargateFixture{Fixture: conformance.Fixture{Provider: p, Queue: p}})
}
