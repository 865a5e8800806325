package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/clock"
	"github.com/spotfleet/spotfleet/manifest"
)

// Provider is the controller's view of a fleet on AWS: the calls of controller.Provider
// and controller.Queue, on the resources `apply` created.
type Provider struct {
	fleet

	mu       sync.Mutex
	tgARN    map[string]string // target group name → ARN
	queueURL string
	sizes    map[string]size             // instance type → what it registers with ECS
	avoid    map[string][]spotfleet.Pool // group → the pools last asked to avoid
	dirty    map[string]bool             // what to re-read next snapshot (cache.go)

	// Resync is how often Snapshot reads the whole fleet again (default Resync); in
	// between, it reads what changed.
	Resync time.Duration
	// Clock is the time a snapshot is of, and its cache's age; default the real clock.
	Clock     clock.Clock
	observing sync.Mutex // one snapshot at a time: they share the cache
	cache     *cache
}

// size is what an instance type registers with ECS.
type size struct{ cpu, memory int }

// NewProvider is the provider for a validated manifest's fleet.
func NewProvider(cfg awssdk.Config, m *manifest.Manifest) *Provider {
	return &Provider{fleet: newFleet(cfg, m), Clock: clock.Real{},
		tgARN: map[string]string{}, sizes: map[string]size{}, avoid: map[string][]spotfleet.Pool{},
		dirty: map[string]bool{}}
}

// fleet is a manifest with the clients of the services the provider calls.
type fleet struct {
	m   *manifest.Manifest
	n   Names
	ec2 *ec2.Client
	asg *autoscaling.Client
	ecs *ecs.Client
	elb *elb.Client
	sqs *sqs.Client
}

func newFleet(cfg awssdk.Config, m *manifest.Manifest) fleet {
	return fleet{m: m, n: Names{Fleet: m.Name}, ec2: ec2.NewFromConfig(cfg), asg: autoscaling.NewFromConfig(cfg),
		ecs: ecs.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg)}
}

// Chunks of AWS's limits per call.
const (
	drainChunk     = 10   // UpdateContainerInstancesState
	detachChunk    = 20   // DetachInstances
	terminateChunk = 1000 // TerminateInstances
)

// Chunks cuts xs into slices of at most n, as AWS's limits per call want them.
func Chunks[T any](xs []T, n int) [][]T {
	var out [][]T
	for len(xs) > 0 {
		k := min(n, len(xs))
		out = append(out, xs[:k])
		xs = xs[k:]
	}
	return out
}

// DeregisterTargets takes targets out of a target group (they drain for its
// deregistration delay).
func (p *Provider) DeregisterTargets(ctx context.Context, targetGroup string, refs []spotfleet.TargetRef) error {
	arn, err := p.targetGroupARN(ctx, targetGroup)
	if err != nil {
		return err
	}
	ts := make([]elbtypes.TargetDescription, len(refs))
	for i, r := range refs {
		ts[i] = elbtypes.TargetDescription{Id: awssdk.String(r.ID), Port: awssdk.Int32(int32(r.Port))}
	}
	_, err = p.elb.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: &arn, Targets: ts})
	return err
}

// DeregistrationDelayKey is the target group attribute of the deregistration delay.
const DeregistrationDelayKey = "deregistration_delay.timeout_seconds"

// SetDeregistrationDelay sets deregistration_delay.timeout_seconds.
func (p *Provider) SetDeregistrationDelay(ctx context.Context, targetGroup string, d time.Duration) error {
	arn, err := p.targetGroupARN(ctx, targetGroup)
	if err != nil {
		return err
	}
	_, err = p.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: &arn,
		Attributes: []elbtypes.TargetGroupAttribute{{Key: awssdk.String(DeregistrationDelayKey),
			Value: awssdk.String(strconv.Itoa(int(d.Seconds())))}}})
	if err == nil {
		p.observing.Lock() // the cache reads the attribute at full reads only
		if p.cache != nil {
			p.cache.last.delay[arn] = d.Truncate(time.Second)
		}
		p.observing.Unlock()
	}
	return err
}

// DrainContainerInstances sets container instances DRAINING, ten per call.
func (p *Provider) DrainContainerInstances(ctx context.Context, arns []string) error {
	p.touch(arns...)
	for _, c := range Chunks(arns, drainChunk) {
		out, err := p.ecs.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
			Cluster: awssdk.String(p.n.Cluster()), ContainerInstances: c, Status: ecstypes.ContainerInstanceStatusDraining})
		if err != nil {
			return err
		}
		if len(out.Failures) > 0 {
			f := out.Failures[0]
			return fmt.Errorf("UpdateContainerInstancesState: %s: %s", awssdk.ToString(f.Arn), awssdk.ToString(f.Reason))
		}
	}
	return nil
}

// DetachInstances detaches instances without lowering the group's desired capacity, twenty
// per call.
func (p *Provider) DetachInstances(ctx context.Context, group string, ids []string) error {
	p.touch(ids...)
	for _, c := range Chunks(ids, detachChunk) {
		_, err := p.asg.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: awssdk.String(p.n.Group(group)),
			InstanceIds: c, ShouldDecrementDesiredCapacity: awssdk.Bool(false)})
		if err != nil {
			return err
		}
	}
	return nil
}

// TerminateInstances terminates instances (EC2 shuts them down: SIGTERM to the processes).
func (p *Provider) TerminateInstances(ctx context.Context, ids []string) error {
	p.touch(ids...)
	for _, c := range Chunks(ids, terminateChunk) {
		if _, err := p.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: c}); err != nil {
			return err
		}
	}
	return nil
}

// SetDesiredCapacity sets a group's desired capacity, cooldowns ignored. A value outside
// the group's bounds is refused here, with the bounds in the message, as AWS refuses it.
func (p *Provider) SetDesiredCapacity(ctx context.Context, group string, units int) error {
	out, err := p.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{p.n.Group(group)}})
	if err != nil {
		return err
	}
	if len(out.AutoScalingGroups) == 0 {
		return fmt.Errorf("ValidationError: Auto Scaling group %s not found (run spotfleet apply)", p.n.Group(group))
	}
	if g := out.AutoScalingGroups[0]; units < int(awssdk.ToInt32(g.MinSize)) || units > int(awssdk.ToInt32(g.MaxSize)) {
		return fmt.Errorf("ValidationError: desired capacity %d is outside the bounds of group %s (min %d, max %d)", units, group, awssdk.ToInt32(g.MinSize), awssdk.ToInt32(g.MaxSize))
	}
	_, err = p.asg.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: awssdk.String(p.n.Group(group)),
		DesiredCapacity: awssdk.Int32(int32(units)), HonorCooldown: awssdk.Bool(false)})
	return err
}

// SetDesiredCount sets an ECS service's desired count.
func (p *Provider) SetDesiredCount(ctx context.Context, service string, count int) error {
	_, err := p.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: awssdk.String(p.n.Cluster()), Service: &service,
		DesiredCount: awssdk.Int32(int32(count))})
	return err
}

// AvoidPools trims the group's mixed instances policy's overrides. Overrides are per
// instance type (zones are subnets, shared by every type), so a type is left out while
// any of its pools is to be avoided; a group always keeps at least one type.
func (p *Provider) AvoidPools(ctx context.Context, group string, pools []spotfleet.Pool) error {
	if _, ok := p.m.Group(group); !ok {
		return fmt.Errorf("ValidationError: group %q is not in the manifest", group)
	}
	_, err := p.asg.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: awssdk.String(p.n.Group(group)),
		MixedInstancesPolicy: &asgtypes.MixedInstancesPolicy{LaunchTemplate: &asgtypes.LaunchTemplate{
			LaunchTemplateSpecification: &asgtypes.LaunchTemplateSpecification{LaunchTemplateName: awssdk.String(p.n.LaunchTemplate(group)), Version: awssdk.String("$Latest")},
			Overrides:                   p.keep(group, pools)}}})
	if err == nil {
		p.mu.Lock()
		p.avoid[group] = slices.Clone(pools)
		p.mu.Unlock()
	}
	return err
}

// keep is the group's overrides without the instance types of the pools to avoid; all of
// them when that would leave none.
func (p *Provider) keep(group string, pools []spotfleet.Pool) []asgtypes.LaunchTemplateOverrides {
	g, _ := p.m.Group(group)
	if g == nil {
		return nil
	}
	out := map[string]bool{}
	for _, pl := range pools {
		out[pl.InstanceType] = true
	}
	var keep, all []asgtypes.LaunchTemplateOverrides
	for _, it := range g.InstanceTypes {
		all = append(all, Override(it))
		if !out[it.Type] {
			keep = append(keep, Override(it))
		}
	}
	if len(keep) == 0 {
		return all
	}
	return keep
}

// Override is an instance type as a mixed instances policy lists it (with its weight, when
// it has one): what apply writes and what the provider writes back to avoid a pool.
func Override(it manifest.InstanceType) asgtypes.LaunchTemplateOverrides {
	o := asgtypes.LaunchTemplateOverrides{InstanceType: awssdk.String(it.Type)}
	if it.Weight > 1 {
		o.WeightedCapacity = awssdk.String(strconv.Itoa(it.Weight))
	}
	return o
}

func (p *Provider) targetGroupARN(ctx context.Context, name string) (string, error) {
	p.mu.Lock()
	arn, ok := p.tgARN[name]
	p.mu.Unlock()
	if ok {
		return arn, nil
	}
	out, err := p.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{name}})
	if err != nil {
		return "", err
	}
	if len(out.TargetGroups) == 0 {
		return "", fmt.Errorf("TargetGroupNotFound: target group %q does not exist (run spotfleet apply)", name)
	}
	arn = awssdk.ToString(out.TargetGroups[0].TargetGroupArn)
	p.mu.Lock()
	p.tgARN[name] = arn
	p.mu.Unlock()
	return arn, nil
}

// Spot request states of an instance about to be interrupted, as its Spot request's status
// code says (docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-request-status.html).
var interruptionStatus = []string{"marked-for-termination", "marked-for-stop", "marked-for-hibernation"}

// InterruptionPending reads the instance's Spot request (DescribeInstances for its ID,
// then DescribeSpotInstanceRequests): EC2 marks it for termination when it sends the
// notice, which an agent's report cannot forge.
func (p *Provider) InterruptionPending(ctx context.Context, id string) (bool, error) {
	out, err := p.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return false, err
	}
	var request string
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			request = awssdk.ToString(in.SpotInstanceRequestId)
		}
	}
	if request == "" {
		return false, nil // On-Demand, or not a Spot instance EC2 can interrupt
	}
	req, err := p.ec2.DescribeSpotInstanceRequests(ctx, &ec2.DescribeSpotInstanceRequestsInput{SpotInstanceRequestIds: []string{request}})
	if err != nil {
		return false, err
	}
	for _, r := range req.SpotInstanceRequests {
		if r.Status != nil && slices.Contains(interruptionStatus, awssdk.ToString(r.Status.Code)) {
			return true, nil
		}
	}
	return false, nil
}

// StopTasks stops each task (StopTask takes one): ECS sends SIGTERM, then SIGKILL after
// the task's stop timeout (StopTask on a task already stopped returns it as it is). Every
// task is tried; the errors come back together, and the next round tries again.
func (p *Provider) StopTasks(ctx context.Context, tasks []string, reason string) error {
	p.touch(tasks...)
	var errs []error
	for _, t := range tasks {
		_, err := p.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: awssdk.String(p.n.Cluster()), Task: awssdk.String(t),
			Reason: awssdk.String(trimReason(reason))})
		if err != nil {
			errs = append(errs, fmt.Errorf("task %s: %w", t, err))
		}
	}
	return errors.Join(errs...)
}

// trimReason fits StopTask's reason (at most 255 characters).
func trimReason(s string) string { return s[:min(len(s), 255)] }
