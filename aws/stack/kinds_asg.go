package stack

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/manifest"
)

// userData is what an instance runs at boot. Under workload ecs (reference design S0): the
// ECS agent's configuration (its cluster, Spot draining on the interruption notice,
// containers kept off the metadata service, the stop timeout) and an iptables rule that
// keeps bridge-networked containers off the metadata service too. Under workload instances:
// the service's command as a systemd unit that restarts on failure, with HOST, PORT and the
// manifest's environment.
func userData(m *manifest.Manifest) string {
	var b strings.Builder
	b.WriteString("#!/bin/bash\nset -euo pipefail\n")
	if m.Workload == manifest.WorkloadECS {
		stop := 0
		for _, s := range m.Services {
			stop = max(stop, int(s.StopTimeout.D().Seconds()))
		}
		fmt.Fprintf(&b, "cat >> /etc/ecs/ecs.config <<'EOF'\nECS_CLUSTER=%s\nECS_ENABLE_SPOT_INSTANCE_DRAINING=true\nECS_AWSVPC_BLOCK_IMDS=true\nECS_CONTAINER_STOP_TIMEOUT=%ds\nEOF\n", m.Name, stop)
		b.WriteString("iptables --insert DOCKER-USER 1 --in-interface docker+ --destination 169.254.169.254/32 --jump DROP\n")
		b.WriteString("iptables-save > /etc/sysconfig/iptables\n")
		agentUnit(&b, m, stop)
		return b.String()
	}
	s := m.Instances
	var env []string
	env = append(env, "HOST=0.0.0.0", "PORT="+strconv.Itoa(s.Port))
	for _, k := range slices.Sorted(maps.Keys(s.Environment)) {
		env = append(env, k+"="+s.Environment[k])
	}
	var args []string
	for _, a := range s.Command {
		args = append(args, strconv.Quote(a))
	}
	fmt.Fprintf(&b, "cat > /etc/systemd/system/%s.service <<'EOF'\n[Unit]\nDescription=%s (spotfleet)\nAfter=network-online.target\n\n[Service]\n", s.Name, s.Name)
	for _, e := range env {
		fmt.Fprintf(&b, "Environment=%s\n", strconv.Quote(e))
	}
	fmt.Fprintf(&b, "ExecStart=%s\nRestart=on-failure\nKillSignal=SIGTERM\nTimeoutStopSec=%d\n\n[Install]\nWantedBy=multi-user.target\nEOF\n",
		strings.Join(args, " "), int(s.StopTimeout.D().Seconds()))
	fmt.Fprintf(&b, "systemctl daemon-reload\nsystemctl enable --now %s.service\n", s.Name)
	agentUnit(&b, m, int(s.StopTimeout.D().Seconds()))
	return b.String()
}

// agentUnit installs spotfleet agent as a systemd unit when apply deploys the controller:
// its binary is the controller's own, downloaded from the controller service (so the
// instances need no credentials and no registry client; ExecStartPre waits for the
// controller), and it reports to the controller's private DNS name. The controller's
// security group admits only the VPC, which is what this trusts.
func agentUnit(b *strings.Builder, m *manifest.Manifest, stopSeconds int) {
	if !m.AWS.Controller.Deploy {
		return
	}
	url := aws.ControllerURL(m.Name)
	// $$ is systemd's literal $: the shell runs uname.
	fmt.Fprintf(b, `cat > /etc/systemd/system/spotfleet-agent.service <<'EOF'
[Unit]
Description=spotfleet agent: reports Spot notices to the controller
After=network-online.target
Wants=network-online.target

[Service]
ExecStartPre=/bin/sh -c 'until curl -fsS --max-time 60 -o /usr/local/bin/spotfleet.part %s/v1/agent/linux/$$(uname -m); do sleep 5; done; chmod 755 /usr/local/bin/spotfleet.part; mv /usr/local/bin/spotfleet.part /usr/local/bin/spotfleet'
ExecStart=/usr/local/bin/spotfleet agent --controller-url %s --stop-timeout %ds
Restart=always
RestartSec=5
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
systemctl daemon-reload
systemctl enable --now --no-block spotfleet-agent.service
`, url, url, stopSeconds)
}

var launchTemplateKind = kind{
	name: "launch-template",
	want: func(s *Stack) []Resource {
		profile := ""
		if s.m.Workload == manifest.WorkloadECS {
			profile = s.n.InstanceRole()
		}
		ud := textHash(userData(s.m))
		var out []Resource
		for _, g := range s.m.Capacity {
			out = append(out, Resource{Name: s.n.LaunchTemplate(g.Name), Fields: map[string]string{"ami": s.env.ami, "userData": ud, "instanceProfile": profile}})
		}
		return out
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		out, err := s.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{Filters: fleetFilter(s.m.Name)})
		if err != nil {
			return nil, err
		}
		got := map[string]map[string]string{}
		for _, lt := range out.LaunchTemplates {
			v, err := s.ec2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: lt.LaunchTemplateId, Versions: []string{"$Latest"}})
			if err != nil {
				return nil, err
			}
			f := map[string]string{}
			if len(v.LaunchTemplateVersions) > 0 {
				d := v.LaunchTemplateVersions[0].LaunchTemplateData
				f["ami"] = awssdk.ToString(d.ImageId)
				if raw, err := base64.StdEncoding.DecodeString(awssdk.ToString(d.UserData)); err == nil {
					f["userData"] = textHash(string(raw))
				}
				if d.IamInstanceProfile != nil {
					f["instanceProfile"] = awssdk.ToString(d.IamInstanceProfile.Name)
				}
			}
			got[awssdk.ToString(lt.LaunchTemplateName)] = f
		}
		return got, nil
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		data, err := s.launchTemplateData(ctx, r)
		if err != nil {
			return err
		}
		_, err = s.ec2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: &r.Name, LaunchTemplateData: data,
			TagSpecifications: s.ec2Tags(ec2types.ResourceTypeLaunchTemplate)})
		return err
	},
	update: func(ctx context.Context, s *Stack, r Resource) error {
		data, err := s.launchTemplateData(ctx, r)
		if err != nil {
			return err
		}
		v, err := s.ec2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: &r.Name, LaunchTemplateData: data})
		if err != nil {
			return err
		}
		_, err = s.ec2.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateName: &r.Name,
			DefaultVersion: awssdk.String(strconv.Itoa(int(awssdk.ToInt64(v.LaunchTemplateVersion.VersionNumber))))})
		return err
	},
	remove: func(ctx context.Context, s *Stack, name string) error {
		_, err := s.ec2.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: &name})
		return err
	},
}

func (s *Stack) launchTemplateData(ctx context.Context, r Resource) (*ec2types.RequestLaunchTemplateData, error) {
	sg, err := s.securityGroupID(ctx)
	if err != nil {
		return nil, err
	}
	d := &ec2types.RequestLaunchTemplateData{ImageId: awssdk.String(r.Fields["ami"]), SecurityGroupIds: []string{sg},
		UserData: awssdk.String(base64.StdEncoding.EncodeToString([]byte(userData(s.m)))),
		MetadataOptions: &ec2types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: ec2types.LaunchTemplateHttpTokensStateRequired,
			HttpPutResponseHopLimit: awssdk.Int32(2)},
		TagSpecifications: []ec2types.LaunchTemplateTagSpecificationRequest{{ResourceType: ec2types.ResourceTypeInstance,
			Tags: []ec2types.Tag{{Key: awssdk.String(aws.FleetTag), Value: awssdk.String(s.m.Name)}}}}}
	if p := r.Fields["instanceProfile"]; p != "" {
		d.IamInstanceProfile = &ec2types.LaunchTemplateIamInstanceProfileSpecificationRequest{Name: &p}
	}
	return d, nil
}

func (s *Stack) groupFields(g manifest.CapacityGroup) map[string]string {
	var ov []string
	for _, it := range g.InstanceTypes {
		ov = append(ov, it.Type+":"+strconv.Itoa(max(1, it.Weight)))
	}
	f := map[string]string{"min": strconv.Itoa(g.MinSize), "max": strconv.Itoa(g.MaxSize), "overrides": join(ov),
		"onDemandBase": strconv.Itoa(g.OnDemandBaseCapacity), "onDemandPercent": strconv.Itoa(g.OnDemandPercentageAboveBaseCapacity),
		"spotStrategy": string(g.SpotAllocationStrategy), "subnets": join(sortedCopy(s.subnetsFor(g.Zones))), "targetGroups": "",
		"protectFromScaleIn": strconv.FormatBool(s.m.Workload == manifest.WorkloadECS)}
	if s.m.Workload == manifest.WorkloadInstances {
		var tgs []string
		for _, sv := range s.lbServices() {
			tgs = append(tgs, s.m.TargetGroupName(sv))
		}
		f["targetGroups"] = join(tgs)
	}
	return f
}

func sortedCopy(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

// The desired capacity is set when a group is created, not compared afterwards: managed
// scaling, target tracking and the controller's fallback change it at run time.
var groupKind = kind{
	name: "auto-scaling-group",
	want: func(s *Stack) []Resource {
		var out []Resource
		for _, g := range s.m.Capacity {
			out = append(out, Resource{Name: s.n.Group(g.Name), Fields: s.groupFields(g)})
		}
		return out
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		// Groups the manifest no longer has are found by the fleet tag.
		tagged, err := s.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{Filters: []asgtypes.Filter{
			{Name: awssdk.String("tag:" + aws.FleetTag), Values: []string{s.m.Name}}}})
		if err != nil {
			return nil, err
		}
		got := map[string]map[string]string{}
		for _, g := range tagged.AutoScalingGroups {
			if got[awssdk.ToString(g.AutoScalingGroupName)], err = s.readGroup(ctx, g); err != nil {
				return nil, err
			}
		}
		return got, nil
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		g := s.groupConfig(r.Name)
		in := &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: &r.Name, MinSize: atoi32(r.Fields["min"]), MaxSize: atoi32(r.Fields["max"]),
			DesiredCapacity: awssdk.Int32(int32(g.DesiredCapacity)), VPCZoneIdentifier: awssdk.String(r.Fields["subnets"]),
			MixedInstancesPolicy:             s.mixedPolicy(g),
			NewInstancesProtectedFromScaleIn: awssdk.Bool(r.Fields["protectFromScaleIn"] == "true"),
			Tags: []asgtypes.Tag{{Key: awssdk.String(aws.FleetTag), Value: awssdk.String(s.m.Name), PropagateAtLaunch: awssdk.Bool(true)},
				{Key: awssdk.String("AmazonECSManaged"), Value: awssdk.String(""), PropagateAtLaunch: awssdk.Bool(true)}}}
		if s.m.Workload != manifest.WorkloadECS {
			in.Tags = in.Tags[:1]
		}
		if g.DesiredCapacity > 1 && len(g.InstanceTypes) > 0 && anyWeight(g) {
			in.DesiredCapacityType = awssdk.String("units")
		}
		for _, tg := range split(r.Fields["targetGroups"]) {
			if tg == "" {
				continue
			}
			arn, err := s.targetGroupARN(ctx, tg)
			if err != nil {
				return err
			}
			in.TargetGroupARNs = append(in.TargetGroupARNs, arn)
		}
		_, err := s.asg.CreateAutoScalingGroup(ctx, in)
		return err
	},
	update: func(ctx context.Context, s *Stack, r Resource) error {
		g := s.groupConfig(r.Name)
		_, err := s.asg.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: &r.Name,
			MinSize: atoi32(r.Fields["min"]), MaxSize: atoi32(r.Fields["max"]), VPCZoneIdentifier: awssdk.String(r.Fields["subnets"]),
			MixedInstancesPolicy: s.mixedPolicy(g), NewInstancesProtectedFromScaleIn: awssdk.Bool(r.Fields["protectFromScaleIn"] == "true")})
		if err != nil {
			return err
		}
		return s.syncGroupTargetGroups(ctx, r)
	},
	remove: func(ctx context.Context, s *Stack, name string) error {
		// Unprotected and emptied first, so that its instances go whatever its scale-in
		// protection (ForceDelete should see to that, but not every implementation does).
		out, err := s.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
		if err != nil {
			return err
		}
		var ids []string
		for _, g := range out.AutoScalingGroups {
			for _, in := range g.Instances {
				ids = append(ids, awssdk.ToString(in.InstanceId))
			}
		}
		for _, c := range aws.Chunks(ids, 50) {
			if _, err := s.asg.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: &name,
				InstanceIds: c, ProtectedFromScaleIn: awssdk.Bool(false)}); err != nil {
				return err
			}
		}
		if _, err := s.asg.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: &name,
			MinSize: awssdk.Int32(0), MaxSize: awssdk.Int32(0), DesiredCapacity: awssdk.Int32(0)}); err != nil {
			return err
		}
		_, err = s.asg.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: &name, ForceDelete: awssdk.Bool(true)})
		return err
	},
}

// syncGroupTargetGroups attaches the group to the target groups it should register its
// instances with, by their current ARNs, and detaches it from the rest (one deleted and
// made again by hand included), attaching first.
func (s *Stack) syncGroupTargetGroups(ctx context.Context, r Resource) error {
	out, err := s.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{r.Name}})
	if err != nil || len(out.AutoScalingGroups) == 0 {
		return err
	}
	have := out.AutoScalingGroups[0].TargetGroupARNs
	var want []string
	for _, tg := range split(r.Fields["targetGroups"]) {
		if tg == "" {
			continue
		}
		arn, err := s.targetGroupARN(ctx, tg)
		if err != nil {
			return err
		}
		want = append(want, arn)
	}
	if add := slices.DeleteFunc(slices.Clone(want), func(a string) bool { return slices.Contains(have, a) }); len(add) > 0 {
		if _, err := s.asg.AttachLoadBalancerTargetGroups(ctx, &autoscaling.AttachLoadBalancerTargetGroupsInput{AutoScalingGroupName: &r.Name, TargetGroupARNs: add}); err != nil {
			return err
		}
	}
	if drop := slices.DeleteFunc(slices.Clone(have), func(a string) bool { return slices.Contains(want, a) }); len(drop) > 0 {
		_, err := s.asg.DetachLoadBalancerTargetGroups(ctx, &autoscaling.DetachLoadBalancerTargetGroupsInput{AutoScalingGroupName: &r.Name, TargetGroupARNs: drop})
		return err
	}
	return nil
}

func anyWeight(g manifest.CapacityGroup) bool {
	return slices.ContainsFunc(g.InstanceTypes, func(it manifest.InstanceType) bool { return it.Weight > 1 })
}

func (s *Stack) groupConfig(asgName string) manifest.CapacityGroup {
	name, _ := s.n.GroupOf(asgName)
	g, _ := s.m.Group(name)
	if g == nil {
		return manifest.CapacityGroup{Name: name}
	}
	return *g
}

func (s *Stack) mixedPolicy(g manifest.CapacityGroup) *asgtypes.MixedInstancesPolicy {
	var ov []asgtypes.LaunchTemplateOverrides
	for _, it := range g.InstanceTypes {
		ov = append(ov, aws.Override(it))
	}
	return &asgtypes.MixedInstancesPolicy{
		LaunchTemplate: &asgtypes.LaunchTemplate{LaunchTemplateSpecification: &asgtypes.LaunchTemplateSpecification{
			LaunchTemplateName: awssdk.String(s.n.LaunchTemplate(g.Name)), Version: awssdk.String("$Latest")}, Overrides: ov},
		InstancesDistribution: &asgtypes.InstancesDistribution{OnDemandBaseCapacity: awssdk.Int32(int32(g.OnDemandBaseCapacity)),
			OnDemandPercentageAboveBaseCapacity: awssdk.Int32(int32(g.OnDemandPercentageAboveBaseCapacity)),
			SpotAllocationStrategy:              awssdk.String(string(g.SpotAllocationStrategy)), OnDemandAllocationStrategy: awssdk.String("prioritized")},
	}
}

func (s *Stack) readGroup(ctx context.Context, g asgtypes.AutoScalingGroup) (map[string]string, error) {
	f := map[string]string{"min": strconv.Itoa(int(awssdk.ToInt32(g.MinSize))), "max": strconv.Itoa(int(awssdk.ToInt32(g.MaxSize))),
		"protectFromScaleIn": strconv.FormatBool(awssdk.ToBool(g.NewInstancesProtectedFromScaleIn))}
	subnets := strings.Split(awssdk.ToString(g.VPCZoneIdentifier), ",")
	slices.Sort(subnets)
	f["subnets"] = join(subnets)
	if mp := g.MixedInstancesPolicy; mp != nil {
		if mp.LaunchTemplate != nil {
			var ov []string
			for _, o := range mp.LaunchTemplate.Overrides {
				w := awssdk.ToString(o.WeightedCapacity)
				if w == "" {
					w = "1"
				}
				ov = append(ov, awssdk.ToString(o.InstanceType)+":"+w)
			}
			f["overrides"] = join(ov)
		}
		if d := mp.InstancesDistribution; d != nil {
			f["onDemandBase"] = strconv.Itoa(int(awssdk.ToInt32(d.OnDemandBaseCapacity)))
			f["onDemandPercent"] = strconv.Itoa(int(awssdk.ToInt32(d.OnDemandPercentageAboveBaseCapacity)))
			f["spotStrategy"] = awssdk.ToString(d.SpotAllocationStrategy)
		}
	}
	var tgs []string
	for _, arn := range g.TargetGroupARNs {
		name, err := s.targetGroupOf(ctx, arn)
		if err != nil {
			return nil, err
		}
		tgs = append(tgs, name)
	}
	f["targetGroups"] = join(tgs)
	return f, nil
}

// Target tracking of the Spot group under workload instances (S2's request count per
// target, or CPU), as the group's own scaling policies.
var groupScalingKind = kind{
	name: "group-scaling-policy",
	want: func(s *Stack) []Resource {
		sv := s.m.Instances
		if s.m.Workload != manifest.WorkloadInstances || sv == nil || sv.Autoscaling == nil {
			return nil
		}
		var out []Resource
		for _, p := range sv.Autoscaling.TargetTracking {
			out = append(out, Resource{Name: s.n.ScalingPolicy(p.Metric), Fields: map[string]string{
				"group": s.primaryGroup(), "metric": p.Metric, "target": strconv.FormatFloat(p.Target, 'f', -1, 64)}})
		}
		return out
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		got := map[string]map[string]string{}
		out, err := s.asg.DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: awssdk.String(s.n.Group(s.primaryGroup()))})
		var nf interface{ ErrorCode() string }
		if errors.As(err, &nf) && nf.ErrorCode() == "ValidationError" {
			return got, nil // no such group
		}
		if err != nil {
			return nil, err
		}
		for _, p := range out.ScalingPolicies {
			name := awssdk.ToString(p.PolicyName)
			if !strings.HasPrefix(name, s.n.Prefix()) || p.TargetTrackingConfiguration == nil {
				continue
			}
			c := p.TargetTrackingConfiguration
			metric := ""
			if c.PredefinedMetricSpecification != nil {
				metric = strings.TrimPrefix(strings.TrimPrefix(string(c.PredefinedMetricSpecification.PredefinedMetricType), "ASGAverage"), "ALB")
			}
			got[name] = map[string]string{"group": strings.TrimPrefix(awssdk.ToString(p.AutoScalingGroupName), s.n.Prefix()), "metric": metric,
				"target": strconv.FormatFloat(awssdk.ToFloat64(c.TargetValue), 'f', -1, 64)}
		}
		return got, nil
	},
	create: func(ctx context.Context, s *Stack, r Resource) error { return s.putGroupPolicy(ctx, r) },
	update: func(ctx context.Context, s *Stack, r Resource) error { return s.putGroupPolicy(ctx, r) },
	remove: func(ctx context.Context, s *Stack, name string) error {
		_, err := s.asg.DeletePolicy(ctx, &autoscaling.DeletePolicyInput{AutoScalingGroupName: awssdk.String(s.n.Group(s.primaryGroup())), PolicyName: &name})
		return err
	},
}

// primaryGroup is the group target tracking sizes: fallback.from, else the first.
func (s *Stack) primaryGroup() string {
	if f := s.m.Fallback; f != nil {
		return f.From
	}
	return s.m.Capacity[0].Name
}

func (s *Stack) putGroupPolicy(ctx context.Context, r Resource) error {
	target, err := strconv.ParseFloat(r.Fields["target"], 64)
	if err != nil {
		return fmt.Errorf("target %q: %w", r.Fields["target"], err)
	}
	spec := &asgtypes.PredefinedMetricSpecification{}
	switch r.Fields["metric"] {
	case "RequestCountPerTarget":
		spec.PredefinedMetricType = asgtypes.MetricTypeALBRequestCountPerTarget
		lb, err := s.loadBalancer(ctx)
		if err != nil || lb == nil {
			return errors.Join(err, errors.New("RequestCountPerTarget needs the load balancer"))
		}
		tg, err := s.targetGroupARN(ctx, s.m.TargetGroupName(*s.m.Instances))
		if err != nil {
			return err
		}
		spec.ResourceLabel = awssdk.String(albLabel(awssdk.ToString(lb.LoadBalancerArn), tg))
	case "CPUUtilization":
		spec.PredefinedMetricType = asgtypes.MetricTypeASGAverageCPUUtilization
	default:
		return fmt.Errorf("not supported yet: target tracking on %s for a group", r.Fields["metric"])
	}
	_, err = s.asg.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{AutoScalingGroupName: awssdk.String(s.n.Group(r.Fields["group"])),
		PolicyName: &r.Name, PolicyType: awssdk.String("TargetTrackingScaling"),
		TargetTrackingConfiguration: &asgtypes.TargetTrackingConfiguration{TargetValue: &target, PredefinedMetricSpecification: spec}})
	return err
}

// albLabel is a request-count metric's resource label: app/<lb>/<id>/targetgroup/<tg>/<id>.
func albLabel(lbARN, tgARN string) string {
	_, lb, _ := strings.Cut(lbARN, ":loadbalancer/")
	_, tg, _ := strings.Cut(tgARN, ":")
	if i := strings.Index(tgARN, "targetgroup/"); i >= 0 {
		tg = tgARN[i:]
	}
	return lb + "/" + tg
}
