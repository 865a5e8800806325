package aws

import (
	"context"
	"encoding/json"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/spotfleet/spotfleet/internal/conformance"
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
	n := names{m.Name}
	byGroup := map[string][]string{}
	e, l := ecs.NewFromConfig(cfg), elb.NewFromConfig(cfg)
	for _, g := range m.Capacity {
		out, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{n.group(g.Name)}})
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
					doc, _ := json.Marshal(map[string]string{"instanceId": awssdk.ToString(in.InstanceId), "region": "us-east-1",
						"availabilityZone": awssdk.ToString(in.Placement.AvailabilityZone)})
					if _, err := e.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: awssdk.String(n.cluster()),
						InstanceIdentityDocument: awssdk.String(string(doc)),
						TotalResources: []ecstypes.Resource{{Name: awssdk.String("CPU"), Type: awssdk.String("INTEGER"), IntegerValue: 2048},
							{Name: awssdk.String("MEMORY"), Type: awssdk.String("INTEGER"), IntegerValue: 7700}}}); err != nil {
						t.Fatal(err)
					}
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
	p := NewProvider(cfg, m)
	conformance.Run(t, conformance.Fixture{Provider: p, Queue: p})
}
