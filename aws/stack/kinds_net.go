package stack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/manifest"
)

func (s *Stack) ec2Tags(kind ec2types.ResourceType) []ec2types.TagSpecification {
	return []ec2types.TagSpecification{{ResourceType: kind, Tags: []ec2types.Tag{{Key: awssdk.String(aws.FleetTag), Value: awssdk.String(s.m.Name)}}}}
}

func fleetFilter(fleet string) []ec2types.Filter {
	return []ec2types.Filter{{Name: awssdk.String("tag:" + aws.FleetTag), Values: []string{fleet}}}
}

// lbServices are the services behind the load balancer.
func (s *Stack) lbServices() []manifest.Service {
	var out []manifest.Service
	for _, sv := range s.m.AllServices() {
		if sv.LoadBalancer != nil {
			out = append(out, sv)
		}
	}
	return out
}

// The security group lets the listeners' ports in from anywhere and lets the fleet's own
// members (load balancer, instances, tasks) reach each other.
var securityGroupKind = kind{
	name: "security-group",
	want: func(s *Stack) []Resource {
		var ports []string
		for _, l := range s.listenerSpecs() {
			ports = append(ports, strconv.Itoa(l.port))
		}
		slices.Sort(ports)
		return []Resource{{Name: s.n.SecurityGroup(), Fields: map[string]string{"vpc": s.env.vpc, "ingress": join(append(ports, "self"))}}}
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		// Every group of the fleet but the two of their own kinds: one left over is deleted.
		return readGroups(ctx, s, func(name string) bool {
			return name != s.n.TaskSecurityGroup() && name != s.n.ControllerSecurityGroup()
		})
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		return createSecurityGroup(ctx, s, r, "spotfleet fleet "+s.m.Name)
	},
	update: setIngress,
	remove: deleteSecurityGroup,
}

// The Fargate tasks' security group admits only the load balancer (the fleet's group), on
// each service's port: a task's address is its own, not behind an instance's group.
var taskSecurityGroupKind = kind{
	name: "task-security-group",
	want: func(s *Stack) []Resource {
		var ports []string
		fargate := false
		for _, sv := range s.ecsServices() {
			if !sv.OnFargate() || sv.Name == manifest.ControllerService { // it has its own group
				continue
			}
			fargate = true
			if p := "lb:" + strconv.Itoa(sv.Port); sv.LoadBalancer != nil && !slices.Contains(ports, p) {
				ports = append(ports, p)
			}
		}
		if !fargate {
			return nil
		}
		slices.Sort(ports)
		return []Resource{{Name: s.n.TaskSecurityGroup(), Fields: map[string]string{"vpc": s.env.vpc, "ingress": join(ports)}}}
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		return readGroups(ctx, s, func(name string) bool { return name == s.n.TaskSecurityGroup() })
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		return createSecurityGroup(ctx, s, r, "spotfleet fleet "+s.m.Name+": Fargate tasks")
	},
	update: setIngress,
	remove: deleteSecurityGroup,
}

// The controller's tasks' group admits the VPC on the controller's port: agents report
// there, and Prometheus scrapes there, from inside the VPC only.
var controllerSecurityGroupKind = kind{
	name: "controller-security-group",
	want: func(s *Stack) []Resource {
		if !s.deploysController() {
			return nil
		}
		return []Resource{{Name: s.n.ControllerSecurityGroup(), Fields: map[string]string{"vpc": s.env.vpc, "ingress": "vpc:" + strconv.Itoa(spotfleet.ControllerPort)}}}
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		return readGroups(ctx, s, func(name string) bool { return name == s.n.ControllerSecurityGroup() })
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		return createSecurityGroup(ctx, s, r, "spotfleet fleet "+s.m.Name+": the controller")
	},
	update: setIngress,
	remove: deleteSecurityGroup,
}

// readGroups reads the fleet's security groups that keep selects, each with its VPC and what
// it lets in, written as authorize takes it.
func readGroups(ctx context.Context, s *Stack, keep func(name string) bool) (map[string]map[string]string, error) {
	out, err := s.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: fleetFilter(s.m.Name)})
	if err != nil {
		return nil, err
	}
	got := map[string]map[string]string{}
	for _, g := range out.SecurityGroups {
		name, id := awssdk.ToString(g.GroupName), awssdk.ToString(g.GroupId)
		if !keep(name) {
			continue
		}
		var in []string
		for _, p := range g.IpPermissions {
			port := strconv.Itoa(int(awssdk.ToInt32(p.FromPort)))
			for _, pair := range p.UserIdGroupPairs {
				if awssdk.ToString(pair.GroupId) == id {
					in = append(in, "self")
				} else {
					in = append(in, "lb:"+port)
				}
			}
			for _, r := range p.IpRanges {
				switch cidr := awssdk.ToString(r.CidrIp); cidr {
				case "0.0.0.0/0":
					in = append(in, port)
				case s.env.cidr:
					in = append(in, "vpc:"+port)
				default:
					in = append(in, cidr+":"+port)
				}
			}
		}
		slices.Sort(in)
		got[name] = map[string]string{"vpc": awssdk.ToString(g.VpcId), "ingress": join(slices.Compact(in)), "id": id}
	}
	return got, nil
}

// createSecurityGroup makes a tagged group in the fleet's VPC and lets in what the resource
// lists.
func createSecurityGroup(ctx context.Context, s *Stack, r Resource, description string) error {
	out, err := s.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: &r.Name, VpcId: &s.env.vpc,
		Description: &description, TagSpecifications: s.ec2Tags(ec2types.ResourceTypeSecurityGroup)})
	if err != nil {
		return err
	}
	return s.authorize(ctx, awssdk.ToString(out.GroupId), r.Fields["ingress"])
}

// setIngress replaces what a group lets in with what the resource lists.
func setIngress(ctx context.Context, s *Stack, r Resource) error {
	id, err := s.securityGroupNamed(ctx, r.Name)
	if err != nil {
		return err
	}
	out, err := s.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil {
		return err
	}
	if perms := out.SecurityGroups[0].IpPermissions; len(perms) > 0 {
		if _, err := s.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: &id, IpPermissions: perms}); err != nil {
			return err
		}
	}
	return s.authorize(ctx, id, r.Fields["ingress"])
}

func deleteSecurityGroup(ctx context.Context, s *Stack, name string) error {
	id, err := s.securityGroupNamed(ctx, name)
	if err != nil {
		return err
	}
	_, err = s.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: &id})
	return err
}

// authorize lets in what an ingress field lists: a listener port from anywhere, "self"
// (the group's own members), "lb:PORT" (the fleet's group, on that port), or "vpc:PORT"
// (the VPC's addresses).
func (s *Stack) authorize(ctx context.Context, id, ingress string) error {
	var perms []ec2types.IpPermission
	for _, p := range split(ingress) {
		if p == "self" {
			perms = append(perms, ec2types.IpPermission{IpProtocol: awssdk.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: &id}}})
			continue
		}
		if lbPort, ok := strings.CutPrefix(p, "lb:"); ok {
			lb, err := s.securityGroupID(ctx)
			if err != nil {
				return err
			}
			port, err := strconv.Atoi(lbPort)
			if err != nil {
				return fmt.Errorf("ingress %q: %w", p, err)
			}
			perms = append(perms, ec2types.IpPermission{IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(int32(port)), ToPort: awssdk.Int32(int32(port)),
				UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: &lb}}})
			continue
		}
		from := "0.0.0.0/0"
		if vpcPort, ok := strings.CutPrefix(p, "vpc:"); ok {
			from, p = s.env.cidr, vpcPort
		}
		port, err := strconv.Atoi(p)
		if err != nil {
			return fmt.Errorf("ingress %q: %w", p, err)
		}
		perms = append(perms, ec2types.IpPermission{IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(int32(port)), ToPort: awssdk.Int32(int32(port)),
			IpRanges: []ec2types.IpRange{{CidrIp: &from}}})
	}
	if len(perms) == 0 {
		return nil
	}
	_, err := s.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &id, IpPermissions: perms})
	return err
}

func (s *Stack) securityGroupID(ctx context.Context) (string, error) {
	return s.securityGroupNamed(ctx, s.n.SecurityGroup())
}

func (s *Stack) securityGroupNamed(ctx context.Context, name string) (string, error) {
	out, err := s.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: fleetFilter(s.m.Name)})
	if err != nil {
		return "", err
	}
	for _, g := range out.SecurityGroups {
		if awssdk.ToString(g.GroupName) == name {
			return awssdk.ToString(g.GroupId), nil
		}
	}
	return "", fmt.Errorf("security group %s not found", name)
}

func (s *Stack) elbTags() []elbtypes.Tag {
	return []elbtypes.Tag{{Key: awssdk.String(aws.FleetTag), Value: awssdk.String(s.m.Name)}}
}

// elbTagged keeps the ARNs that carry the fleet's tag.
func (s *Stack) elbTagged(ctx context.Context, arns []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, c := range aws.Chunks(arns, 20) {
		got, err := s.elb.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: c})
		if err != nil {
			return nil, err
		}
		for _, d := range got.TagDescriptions {
			if aws.Tagged(d.Tags, s.m.Name, func(t elbtypes.Tag) (*string, *string) { return t.Key, t.Value }) {
				out[awssdk.ToString(d.ResourceArn)] = true
			}
		}
	}
	return out, nil
}

var loadBalancerKind = kind{
	name: "load-balancer",
	want: func(s *Stack) []Resource {
		if len(s.lbServices()) == 0 {
			return nil
		}
		return []Resource{{Name: s.n.LoadBalancer(), Fields: map[string]string{"subnets": join(sortedCopy(s.subnetsFor(s.taskZones()))), "scheme": "internet-facing"}}}
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		lb, err := s.loadBalancer(ctx)
		if lb == nil || err != nil {
			return nil, err
		}
		var subnets []string
		for _, z := range lb.AvailabilityZones {
			subnets = append(subnets, awssdk.ToString(z.SubnetId))
		}
		slices.Sort(subnets)
		return map[string]map[string]string{s.n.LoadBalancer(): {"subnets": join(subnets), "scheme": string(lb.Scheme)}}, nil
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		sg, err := s.securityGroupID(ctx)
		if err != nil {
			return err
		}
		_, err = s.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: &r.Name, Type: elbtypes.LoadBalancerTypeEnumApplication,
			Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, Subnets: split(r.Fields["subnets"]),
			SecurityGroups: []string{sg}, Tags: s.elbTags()})
		return err
	},
	update: func(ctx context.Context, s *Stack, r Resource) error {
		lb, err := s.loadBalancer(ctx)
		if err != nil || lb == nil {
			return errors.Join(err, fmt.Errorf("load balancer %s not found", r.Name))
		}
		_, err = s.elb.SetSubnets(ctx, &elb.SetSubnetsInput{LoadBalancerArn: lb.LoadBalancerArn, Subnets: split(r.Fields["subnets"])})
		return err
	},
	remove: func(ctx context.Context, s *Stack, name string) error {
		lb, err := s.loadBalancer(ctx)
		if err != nil || lb == nil {
			return err
		}
		_, err = s.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn})
		return err
	},
}

// loadBalancer is the fleet's load balancer, nil when there is none.
func (s *Stack) loadBalancer(ctx context.Context) (*elbtypes.LoadBalancer, error) {
	out, err := s.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{s.n.LoadBalancer()}})
	var nf *elbtypes.LoadBalancerNotFoundException
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(out.LoadBalancers) == 0 {
		return nil, nil
	}
	lb := out.LoadBalancers[0]
	ok, err := s.elbTagged(ctx, []string{awssdk.ToString(lb.LoadBalancerArn)})
	if err != nil || !ok[awssdk.ToString(lb.LoadBalancerArn)] {
		return nil, err
	}
	return &lb, nil
}

func (s *Stack) targetGroupFields(sv manifest.Service) map[string]string {
	lb := sv.LoadBalancer
	hc := lb.HealthCheck
	tt := "ip"
	if s.m.Workload == manifest.WorkloadInstances {
		tt = "instance"
	}
	return map[string]string{"port": strconv.Itoa(sv.Port), "targetType": tt, "healthPath": hc.Path,
		"healthInterval": strconv.Itoa(int(hc.Interval.D().Seconds())), "healthTimeout": strconv.Itoa(int(hc.Timeout.D().Seconds())),
		"healthyThreshold": strconv.Itoa(hc.HealthyThreshold), "unhealthyThreshold": strconv.Itoa(hc.UnhealthyThreshold),
		"deregistrationDelay": strconv.Itoa(int(lb.DeregistrationDelay.D().Seconds()))}
}

var targetGroupKind = kind{
	name: "target-group",
	want: func(s *Stack) []Resource {
		var out []Resource
		for _, sv := range s.lbServices() {
			out = append(out, Resource{Name: s.m.TargetGroupName(sv), Fields: s.targetGroupFields(sv)})
		}
		return out
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		out, err := s.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
		if err != nil {
			return nil, err
		}
		var arns []string
		for _, tg := range out.TargetGroups {
			if strings.HasPrefix(awssdk.ToString(tg.TargetGroupName), s.n.Prefix()) {
				arns = append(arns, awssdk.ToString(tg.TargetGroupArn))
			}
		}
		ours, err := s.elbTagged(ctx, arns)
		if err != nil {
			return nil, err
		}
		got := map[string]map[string]string{}
		for _, tg := range out.TargetGroups {
			if !ours[awssdk.ToString(tg.TargetGroupArn)] {
				continue
			}
			f := map[string]string{"port": strconv.Itoa(int(awssdk.ToInt32(tg.Port))), "targetType": string(tg.TargetType),
				"healthPath": awssdk.ToString(tg.HealthCheckPath), "healthInterval": strconv.Itoa(int(awssdk.ToInt32(tg.HealthCheckIntervalSeconds))),
				"healthTimeout":    strconv.Itoa(int(awssdk.ToInt32(tg.HealthCheckTimeoutSeconds))),
				"healthyThreshold": strconv.Itoa(int(awssdk.ToInt32(tg.HealthyThresholdCount))), "unhealthyThreshold": strconv.Itoa(int(awssdk.ToInt32(tg.UnhealthyThresholdCount)))}
			attrs, err := s.elb.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
			if err != nil {
				return nil, err
			}
			for _, a := range attrs.Attributes {
				if awssdk.ToString(a.Key) == aws.DeregistrationDelayKey {
					f["deregistrationDelay"] = awssdk.ToString(a.Value)
				}
			}
			got[awssdk.ToString(tg.TargetGroupName)] = f
		}
		return got, nil
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		f := r.Fields
		out, err := s.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: &r.Name, Protocol: elbtypes.ProtocolEnumHttp,
			Port: atoi32(f["port"]), VpcId: &s.env.vpc, TargetType: elbtypes.TargetTypeEnum(f["targetType"]),
			HealthCheckPath: awssdk.String(f["healthPath"]), HealthCheckIntervalSeconds: atoi32(f["healthInterval"]),
			HealthCheckTimeoutSeconds: atoi32(f["healthTimeout"]), HealthyThresholdCount: atoi32(f["healthyThreshold"]),
			UnhealthyThresholdCount: atoi32(f["unhealthyThreshold"]), Tags: s.elbTags()})
		if err != nil {
			return err
		}
		return s.setDelay(ctx, out.TargetGroups[0].TargetGroupArn, f["deregistrationDelay"])
	},
	update: func(ctx context.Context, s *Stack, r Resource) error {
		arn, err := s.targetGroupARN(ctx, r.Name)
		if err != nil {
			return err
		}
		f := r.Fields
		if _, err := s.elb.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: &arn, HealthCheckPath: awssdk.String(f["healthPath"]),
			HealthCheckIntervalSeconds: atoi32(f["healthInterval"]), HealthCheckTimeoutSeconds: atoi32(f["healthTimeout"]),
			HealthyThresholdCount: atoi32(f["healthyThreshold"]), UnhealthyThresholdCount: atoi32(f["unhealthyThreshold"])}); err != nil {
			return err
		}
		return s.setDelay(ctx, &arn, f["deregistrationDelay"])
	},
	remove: func(ctx context.Context, s *Stack, name string) error {
		arn, err := s.targetGroupARN(ctx, name)
		if err != nil {
			return err
		}
		_, err = s.elb.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: &arn})
		return err
	},
}

func (s *Stack) setDelay(ctx context.Context, arn *string, seconds string) error {
	_, err := s.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: arn,
		Attributes: []elbtypes.TargetGroupAttribute{{Key: awssdk.String(aws.DeregistrationDelayKey), Value: &seconds}}})
	return err
}

func (s *Stack) targetGroupARN(ctx context.Context, name string) (string, error) {
	out, err := s.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{name}})
	if err != nil {
		return "", err
	}
	if len(out.TargetGroups) == 0 {
		return "", fmt.Errorf("target group %s not found", name)
	}
	return awssdk.ToString(out.TargetGroups[0].TargetGroupArn), nil
}

// targetGroupOf names the target group an ARN is of, when it still exists; else the name
// with a note. A reference (a service's, a group's) to a target group deleted and made
// again by hand points at the old ARN: read by name alone, it planned as no change.
func (s *Stack) targetGroupOf(ctx context.Context, arn string) (string, error) {
	parts := strings.Split(arn, "/") // arn:...:targetgroup/<name>/<id>
	if len(parts) < 2 {
		return arn, nil
	}
	name := parts[len(parts)-2]
	out, err := s.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{name}})
	if _, ok := errors.AsType[*elbtypes.TargetGroupNotFoundException](err); ok {
		return name + " (deleted)", nil
	}
	if err != nil {
		return "", err
	}
	for _, tg := range out.TargetGroups {
		if awssdk.ToString(tg.TargetGroupArn) == arn {
			return name, nil
		}
	}
	return name + " (deleted)", nil
}

// atoi32 reads a number of a resource's fields. Those want() formats from the validated
// manifest, so one that is not a number is a bug of spotfleet's: it stops the apply there
// rather than send AWS a 0.
func atoi32(s string) *int32 {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(fmt.Sprintf("spotfleet: a resource field %q is not a number: %v", s, err))
	}
	return awssdk.Int32(int32(n))
}
