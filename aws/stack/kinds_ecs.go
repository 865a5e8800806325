package stack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/manifest"
)

// ecsTags are the tags of a new ECS resource: the fleet's, and the record of what it was
// created with (AppliedTag; ECS resources record it, as moto's DescribeServices does not
// return every field a service takes).
func (s *Stack) ecsTags(r Resource) []ecstypes.Tag {
	return []ecstypes.Tag{{Key: awssdk.String(aws.FleetTag), Value: awssdk.String(s.m.Name)},
		{Key: awssdk.String(AppliedTag), Value: awssdk.String(record(r.Fields))}}
}

// recordECS replaces the record of an updated ECS resource.
func (s *Stack) recordECS(ctx context.Context, arn *string, r Resource) error {
	_, err := s.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: s.ecsTags(r)[1:]})
	return err
}

// ecsRead is the fields read of an ECS resource, with its record.
func ecsRead(f map[string]string, tags []ecstypes.Tag) map[string]string {
	for _, t := range tags {
		if awssdk.ToString(t.Key) == AppliedTag {
			f[fieldApplied] = awssdk.ToString(t.Value)
		}
	}
	return f
}

func ecsTagged(tags []ecstypes.Tag, fleet string) bool {
	return aws.Tagged(tags, fleet, func(t ecstypes.Tag) (*string, *string) { return t.Key, t.Value })
}

func (s *Stack) isECS() bool { return s.m.Workload == manifest.WorkloadECS }

// A capacity provider per group: managed scaling at the group's targetCapacityPercent,
// managed termination protection (instances with tasks are not scaled in) and managed
// draining (an instance Auto Scaling terminates is drained first).
var capacityProviderKind = kind{
	name: "capacity-provider",
	want: func(s *Stack) []Resource {
		if !s.isECS() {
			return nil
		}
		var out []Resource
		for _, g := range s.m.Capacity {
			out = append(out, Resource{Name: s.n.CapacityProvider(g.Name), Fields: map[string]string{
				"group": s.n.Group(g.Name), "targetCapacity": strconv.Itoa(g.TargetCapacityPercent), "managedTerminationProtection": "ENABLED"}})
		}
		return out
	},
	read: readCapacityProviders,
	create: func(ctx context.Context, s *Stack, r Resource) error {
		g, err := s.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{r.Fields["group"]}})
		if err != nil {
			return err
		}
		if len(g.AutoScalingGroups) == 0 {
			return fmt.Errorf("group %s does not exist", r.Fields["group"])
		}
		_, err = s.ecs.CreateCapacityProvider(ctx, &ecs.CreateCapacityProviderInput{Name: &r.Name, Tags: s.ecsTags(r),
			AutoScalingGroupProvider: &ecstypes.AutoScalingGroupProvider{AutoScalingGroupArn: g.AutoScalingGroups[0].AutoScalingGroupARN,
				ManagedScaling:               &ecstypes.ManagedScaling{Status: ecstypes.ManagedScalingStatusEnabled, TargetCapacity: atoi32(r.Fields["targetCapacity"])},
				ManagedTerminationProtection: ecstypes.ManagedTerminationProtectionEnabled,
				ManagedDraining:              ecstypes.ManagedDrainingEnabled}})
		return err
	},
	update: func(ctx context.Context, s *Stack, r Resource) error {
		if have, err := readCapacityProviders(ctx, s); err != nil {
			return err
		} else if g := have[r.Name]["group"]; g != r.Fields["group"] {
			// ECS cannot move a provider to another group, and apply does not delete it to
			// make it again (a failure would leave less than there was).
			return fmt.Errorf("capacity provider %s uses %s, and ECS cannot move a provider to another group: "+
				"remove the group from the manifest and apply (its provider is deleted), then put it back and apply", r.Name, g)
		}
		out, err := s.ecs.UpdateCapacityProvider(ctx, &ecs.UpdateCapacityProviderInput{Name: &r.Name,
			AutoScalingGroupProvider: &ecstypes.AutoScalingGroupProviderUpdate{
				ManagedScaling:               &ecstypes.ManagedScaling{Status: ecstypes.ManagedScalingStatusEnabled, TargetCapacity: atoi32(r.Fields["targetCapacity"])},
				ManagedTerminationProtection: ecstypes.ManagedTerminationProtectionEnabled,
				ManagedDraining:              ecstypes.ManagedDrainingEnabled}})
		if err != nil {
			return err
		}
		return s.recordECS(ctx, out.CapacityProvider.CapacityProviderArn, r)
	},
	// ECS deletes only a provider no cluster lists: it leaves the fleet's cluster first (the
	// cluster's update kept it there until now, for the services that still used it).
	remove: func(ctx context.Context, s *Stack, name string) error {
		out, err := s.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{s.n.Cluster()}})
		if err != nil {
			return err
		}
		for _, c := range out.Clusters {
			if awssdk.ToString(c.Status) != "ACTIVE" || !slices.Contains(c.CapacityProviders, name) {
				continue
			}
			if _, err := s.ecs.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: c.ClusterName,
				CapacityProviders:               slices.DeleteFunc(slices.Clone(c.CapacityProviders), func(p string) bool { return p == name }),
				DefaultCapacityProviderStrategy: append([]ecstypes.CapacityProviderStrategyItem{}, c.DefaultCapacityProviderStrategy...)}); err != nil {
				return err
			}
		}
		_, err = s.ecs.DeleteCapacityProvider(ctx, &ecs.DeleteCapacityProviderInput{CapacityProvider: &name})
		return err
	},
}

// readCapacityProviders reads the fleet's providers, not only the manifest's names: one
// whose group left the manifest is deleted, not left behind. Those are the providers of the
// fleet's groups (found by their tag) and those its cluster lists. (Listing every provider
// of the account would find them too, but moto cannot.)
func readCapacityProviders(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
	names, err := s.providerCandidates(ctx)
	if err != nil || len(names) == 0 { // none asked for lists every one, FARGATE's too
		return nil, err
	}
	got := map[string]map[string]string{}
	in := &ecs.DescribeCapacityProvidersInput{CapacityProviders: names, Include: []ecstypes.CapacityProviderField{ecstypes.CapacityProviderFieldTags}}
	for {
		out, err := s.ecs.DescribeCapacityProviders(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, cp := range out.CapacityProviders {
			if !ecsTagged(cp.Tags, s.m.Name) || cp.Status != ecstypes.CapacityProviderStatusActive {
				continue
			}
			f := map[string]string{}
			if a := cp.AutoScalingGroupProvider; a != nil {
				group, err := s.groupByARN(ctx, awssdk.ToString(a.AutoScalingGroupArn))
				if err != nil {
					return nil, err
				}
				f["group"] = group
				f["managedTerminationProtection"] = string(a.ManagedTerminationProtection)
				if a.ManagedScaling != nil {
					f["targetCapacity"] = strconv.Itoa(int(awssdk.ToInt32(a.ManagedScaling.TargetCapacity)))
				}
			}
			got[awssdk.ToString(cp.Name)] = ecsRead(f, cp.Tags)
		}
		if out.NextToken == nil {
			return got, nil
		}
		in.NextToken = out.NextToken
	}
}

// providerCandidates are the names the fleet's providers may have: the manifest's
// groups', the fleet's tagged groups' and those its cluster lists, but the accounts' own
// (FARGATE, FARGATE_SPOT).
func (s *Stack) providerCandidates(ctx context.Context) ([]string, error) {
	var names []string
	add := func(n string) {
		if !manifest.IsFargate(n) && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, g := range s.m.Capacity {
		add(s.n.CapacityProvider(g.Name))
	}
	groups, err := s.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{Filters: []asgtypes.Filter{
		{Name: awssdk.String("tag:" + aws.FleetTag), Values: []string{s.m.Name}}}})
	if err != nil {
		return nil, err
	}
	for _, g := range groups.AutoScalingGroups {
		if name, ok := s.n.GroupOf(awssdk.ToString(g.AutoScalingGroupName)); ok {
			add(s.n.CapacityProvider(name))
		}
	}
	out, err := s.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{s.n.Cluster()}})
	if err != nil {
		return nil, err
	}
	for _, c := range out.Clusters {
		for _, p := range c.CapacityProviders {
			add(p)
		}
	}
	return names, nil
}

// groupByARN names the Auto Scaling group an ARN is of, when that group still exists; else
// the name with a note, so that a provider of a group deleted and made again by hand (a new
// ARN behind the same name) plans as a change, not as nothing.
func (s *Stack) groupByARN(ctx context.Context, arn string) (string, error) {
	name := arn[strings.LastIndex(arn, "/")+1:]
	out, err := s.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		return "", err
	}
	for _, g := range out.AutoScalingGroups {
		if awssdk.ToString(g.AutoScalingGroupARN) == arn {
			return name, nil
		}
	}
	return name + " (deleted)", nil
}

// clusterStrategy is the cluster's default strategy: the first service's (S0: On-Demand
// base 1 weight 1, Spot weight 1).
func (s *Stack) clusterStrategy() []manifest.CapacityProviderStrategy {
	if len(s.m.Services) == 0 {
		return nil
	}
	return s.m.Services[0].CapacityProviderStrategy
}

func strategyString(n aws.Names, st []manifest.CapacityProviderStrategy) string {
	var out []string
	for _, x := range st {
		out = append(out, fmt.Sprintf("%s:%d:%d", n.CapacityProvider(x.CapacityProvider), x.Base, x.Weight))
	}
	return join(out)
}

func strategyOf(n aws.Names, st []manifest.CapacityProviderStrategy) []ecstypes.CapacityProviderStrategyItem {
	var out []ecstypes.CapacityProviderStrategyItem
	for _, x := range st {
		out = append(out, ecstypes.CapacityProviderStrategyItem{CapacityProvider: awssdk.String(n.CapacityProvider(x.CapacityProvider)),
			Base: int32(x.Base), Weight: int32(x.Weight)})
	}
	return out
}

func readStrategy(st []ecstypes.CapacityProviderStrategyItem) string {
	var out []string
	for _, x := range st {
		out = append(out, fmt.Sprintf("%s:%d:%d", awssdk.ToString(x.CapacityProvider), x.Base, x.Weight))
	}
	return join(out)
}

var clusterKind = kind{
	name: "ecs-cluster",
	want: func(s *Stack) []Resource {
		if !s.runsECS() {
			return nil
		}
		var cps []string
		for _, g := range s.m.Capacity {
			if s.isECS() { // a fleet of workload instances has a cluster for the controller alone
				cps = append(cps, s.n.CapacityProvider(g.Name))
			}
		}
		cps = append(cps, s.fargateProviders()...)
		return []Resource{{Name: s.n.Cluster(), Fields: map[string]string{"capacityProviders": join(cps), "defaultStrategy": strategyString(s.n, s.clusterStrategy())}}}
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		out, err := s.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{s.n.Cluster()}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags}})
		if err != nil {
			return nil, err
		}
		got := map[string]map[string]string{}
		for _, c := range out.Clusters {
			if awssdk.ToString(c.Status) != "ACTIVE" || !ecsTagged(c.Tags, s.m.Name) {
				continue
			}
			got[awssdk.ToString(c.ClusterName)] = ecsRead(map[string]string{"capacityProviders": join(c.CapacityProviders), "defaultStrategy": readStrategy(c.DefaultCapacityProviderStrategy)}, c.Tags)
		}
		return got, nil
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		_, err := s.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: &r.Name, Tags: s.ecsTags(r)})
		if err != nil {
			return err
		}
		_, err = clusterProviders(ctx, s, r)
		return err
	},
	update: func(ctx context.Context, s *Stack, r Resource) error {
		// The fleet's providers the cluster lists and the manifest no longer wants stay
		// listed: services may still use them until their own update, and ECS refuses to
		// drop a provider in use. Each leaves the cluster when it is deleted, after.
		out, err := s.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{r.Name}})
		if err != nil {
			return err
		}
		own, err := readCapacityProviders(ctx, s)
		if err != nil {
			return err
		}
		keep := split(r.Fields["capacityProviders"])
		for _, c := range out.Clusters {
			for _, p := range c.CapacityProviders {
				if _, ours := own[p]; ours && !slices.Contains(keep, p) {
					keep = append(keep, p)
				}
			}
		}
		listed := Resource{Name: r.Name, Fields: maps.Clone(r.Fields)}
		listed.Fields["capacityProviders"] = join(keep)
		c, err := clusterProviders(ctx, s, listed)
		if err != nil {
			return err
		}
		return s.recordECS(ctx, c.ClusterArn, r)
	},
	remove: func(ctx context.Context, s *Stack, name string) error {
		if _, err := s.ecs.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: &name,
			CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{}}); err != nil {
			return err
		}
		_, err := s.ecs.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: &name})
		return err
	},
}

func clusterProviders(ctx context.Context, s *Stack, r Resource) (*ecstypes.Cluster, error) {
	// The API requires both lists, empty ones included (a cluster for the controller alone
	// has no default strategy).
	out, err := s.ecs.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: &r.Name,
		CapacityProviders:               append([]string{}, split(r.Fields["capacityProviders"])...),
		DefaultCapacityProviderStrategy: append([]ecstypes.CapacityProviderStrategyItem{}, strategyOf(s.n, s.clusterStrategy())...)})
	if err != nil {
		return nil, err
	}
	return out.Cluster, nil
}

// fargateProviders are the Fargate capacity providers the services use: every account has
// them, and a cluster has to be associated with them (PutClusterCapacityProviders).
func (s *Stack) fargateProviders() []string {
	var out []string
	for _, p := range []string{manifest.Fargate, manifest.FargateSpot} {
		for _, sv := range s.ecsServices() {
			if slices.ContainsFunc(sv.CapacityProviderStrategy, func(x manifest.CapacityProviderStrategy) bool { return x.CapacityProvider == p }) {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// fargatePlatform is the Fargate platform version of a service's tasks: the latest, 1.4.0
// for Linux today; Fargate Spot needs 1.3.0 or later.
const fargatePlatform = "LATEST"

func (s *Stack) taskFields(sv manifest.Service) map[string]string {
	var env, secrets []string
	for _, k := range slices.Sorted(maps.Keys(sv.Environment)) {
		env = append(env, envField(k, sv.Environment[k]))
	}
	for _, x := range sv.Secrets {
		secrets = append(secrets, x.Name+"="+x.ValueFrom)
	}
	slices.Sort(secrets)
	f := map[string]string{"image": sv.Image, "cpu": strconv.Itoa(sv.CPU), "memory": strconv.Itoa(sv.Memory),
		"port": strconv.Itoa(sv.Port), "command": join(sv.Command), "environment": join(env), "secrets": join(secrets),
		"taskRole": sv.TaskRoleArn, "logGroup": s.m.LogGroup(sv), "stopTimeout": strconv.Itoa(int(sv.StopTimeout.D().Seconds())),
		"compatibility": string(ecstypes.CompatibilityEc2)}
	if sv.OnFargate() {
		f["compatibility"], f["cpuArchitecture"] = string(ecstypes.CompatibilityFargate), sv.CPUArchitecture
	}
	if sv.Name == manifest.ControllerService {
		f["healthCheck"] = join(controllerHealthCheck)
	}
	return f
}

// envField is a variable as plan shows it: the controller's manifest by its hash, not as
// a page of YAML.
func envField(k, v string) string {
	if k == aws.ManifestEnv {
		v = "sha256:" + textHash(v)
	}
	return k + "=" + v
}

// taskServices are the services with a task definition of their own: the manifest's (a
// companion runs its service's), and the controller.
func (s *Stack) taskServices() []manifest.Service {
	var out []manifest.Service
	if s.isECS() {
		out = slices.Clone(s.m.Services)
	}
	if s.deploysController() {
		out = append(out, s.controllerService())
	}
	return out
}

var taskDefinitionKind = kind{
	name: "task-definition",
	want: func(s *Stack) []Resource {
		var out []Resource
		for _, sv := range s.taskServices() {
			out = append(out, Resource{Name: s.n.TaskFamily(sv.Name), Fields: s.taskFields(sv)})
		}
		return out
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		got := map[string]map[string]string{}
		fams, err := s.ecs.ListTaskDefinitionFamilies(ctx, &ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: awssdk.String(s.n.Prefix()), Status: ecstypes.TaskDefinitionFamilyStatusActive})
		if err != nil {
			return nil, err
		}
		for _, fam := range fams.Families {
			out, err := s.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: &fam, Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
			if err != nil {
				return nil, err
			}
			// An INACTIVE (deregistered) revision is gone, though AWS lists its family
			// for a while and moto for ever.
			td := out.TaskDefinition
			if !ecsTagged(out.Tags, s.m.Name) || td.Status != ecstypes.TaskDefinitionStatusActive || len(td.ContainerDefinitions) == 0 {
				continue
			}
			c := td.ContainerDefinitions[0]
			var env, secrets []string
			for _, e := range c.Environment {
				env = append(env, envField(awssdk.ToString(e.Name), awssdk.ToString(e.Value)))
			}
			slices.Sort(env)
			for _, x := range c.Secrets {
				secrets = append(secrets, awssdk.ToString(x.Name)+"="+awssdk.ToString(x.ValueFrom))
			}
			slices.Sort(secrets)
			f := map[string]string{"image": awssdk.ToString(c.Image), "cpu": strconv.Itoa(int(c.Cpu)), "memory": strconv.Itoa(int(awssdk.ToInt32(c.Memory))),
				"command": join(c.Command), "environment": join(env), "secrets": join(secrets), "taskRole": awssdk.ToString(td.TaskRoleArn),
				"stopTimeout": strconv.Itoa(int(awssdk.ToInt32(c.StopTimeout)))}
			if lc := c.LogConfiguration; lc != nil {
				f["logGroup"] = lc.Options["awslogs-group"]
			}
			if len(c.PortMappings) > 0 {
				f["port"] = strconv.Itoa(int(awssdk.ToInt32(c.PortMappings[0].ContainerPort)))
			}
			if len(td.RequiresCompatibilities) > 0 {
				f["compatibility"] = string(td.RequiresCompatibilities[0])
			}
			if rp := td.RuntimePlatform; rp != nil && rp.CpuArchitecture != "" {
				f["cpuArchitecture"] = string(rp.CpuArchitecture)
			}
			if hc := c.HealthCheck; hc != nil {
				f["healthCheck"] = join(hc.Command)
			}
			got[fam] = ecsRead(f, out.Tags)
		}
		return got, nil
	},
	create: registerTask,
	update: func(ctx context.Context, s *Stack, r Resource) error {
		if err := registerTask(ctx, s, r); err != nil {
			return err
		}
		return s.rollServices(ctx, r.Name)
	},
	remove: func(ctx context.Context, s *Stack, family string) error {
		out, err := s.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: &family, Status: ecstypes.TaskDefinitionStatusActive})
		if err != nil {
			return err
		}
		for _, arn := range out.TaskDefinitionArns {
			if _, err := s.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: &arn}); err != nil {
				return err
			}
		}
		return nil
	},
}

// registerTask registers a revision of a service's task definition: awsvpc networking (each
// task its own address, the load balancer's IP target), the image and command, the port,
// the environment and secrets, the task role, and awslogs into the service's log group.
func registerTask(ctx context.Context, s *Stack, r Resource) error {
	sv := s.serviceConfig(strings.TrimPrefix(r.Name, s.n.Prefix()))
	var env []ecstypes.KeyValuePair
	for _, k := range slices.Sorted(maps.Keys(sv.Environment)) {
		env = append(env, ecstypes.KeyValuePair{Name: awssdk.String(k), Value: awssdk.String(sv.Environment[k])})
	}
	var secrets []ecstypes.Secret
	for _, x := range sv.Secrets {
		secrets = append(secrets, ecstypes.Secret{Name: awssdk.String(x.Name), ValueFrom: awssdk.String(x.ValueFrom)})
	}
	c := ecstypes.ContainerDefinition{Name: awssdk.String("app"), Image: awssdk.String(sv.Image), Cpu: int32(sv.CPU), Memory: awssdk.Int32(int32(sv.Memory)),
		Essential: awssdk.Bool(true), Environment: env, Secrets: secrets, StopTimeout: awssdk.Int32(int32(sv.StopTimeout.D().Seconds())),
		PortMappings: []ecstypes.PortMapping{{ContainerPort: awssdk.Int32(int32(sv.Port)), Protocol: ecstypes.TransportProtocolTcp}},
		LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
			"awslogs-group": s.m.LogGroup(sv), "awslogs-region": s.env.region, "awslogs-stream-prefix": sv.Name}},
		Command: sv.Command}
	if sv.Name == manifest.ControllerService {
		c.HealthCheck = &ecstypes.HealthCheck{Command: controllerHealthCheck, Interval: awssdk.Int32(10), Timeout: awssdk.Int32(5),
			Retries: awssdk.Int32(3), StartPeriod: awssdk.Int32(30)}
	}
	in := &ecs.RegisterTaskDefinitionInput{Family: &r.Name, NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityEc2}, ContainerDefinitions: []ecstypes.ContainerDefinition{c},
		ExecutionRoleArn: awssdk.String(fmt.Sprintf("arn:aws:iam::%s:role/%s", s.env.account, s.n.ExecutionRole())), Tags: s.ecsTags(r)}
	if sv.TaskRoleArn != "" {
		in.TaskRoleArn = &sv.TaskRoleArn
	}
	if sv.OnFargate() { // the task's size is Fargate's unit of capacity and of price
		in.RequiresCompatibilities = []ecstypes.Compatibility{ecstypes.CompatibilityFargate}
		in.Cpu, in.Memory = awssdk.String(strconv.Itoa(sv.CPU)), awssdk.String(strconv.Itoa(sv.Memory))
		in.RuntimePlatform = &ecstypes.RuntimePlatform{CpuArchitecture: ecstypes.CPUArchitecture(sv.CPUArchitecture), OperatingSystemFamily: ecstypes.OSFamilyLinux}
	}
	_, err := s.ecs.RegisterTaskDefinition(ctx, in)
	return err
}

// rollServices moves the services that run a task family to its newest revision (ECS then
// replaces their tasks, as a deployment): a service names its family, which plan compares,
// so a new revision alone would otherwise leave the running tasks on the old one.
func (s *Stack) rollServices(ctx context.Context, family string) error {
	have, err := serviceKind.read(ctx, s)
	if err != nil {
		return err
	}
	for _, sv := range s.ecsServices() {
		if _, ok := have[sv.Name]; !ok || s.serviceFields(sv)["taskDefinition"] != family {
			continue
		}
		if _, err := s.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: awssdk.String(s.n.Cluster()), Service: awssdk.String(sv.Name),
			TaskDefinition: &family}); err != nil {
			return err
		}
	}
	return nil
}

// ecsServices are the services to run: the manifest's, and under a fallback each one's
// companion on the fallback group (at desired 0 until the controller covers with it).
func (s *Stack) ecsServices() []manifest.Service {
	return append(s.taskServices(), s.m.CoverServices()...)
}

func (s *Stack) serviceFields(sv manifest.Service) map[string]string {
	family := s.n.TaskFamily(sv.Name)
	if c := s.m.Covers(sv.Name); c != "" {
		family = s.n.TaskFamily(c)
	}
	tg := ""
	if sv.LoadBalancer != nil {
		base := sv
		if c := s.m.Covers(sv.Name); c != "" {
			base.Name = c
		}
		tg = s.m.TargetGroupName(base)
	}
	f := map[string]string{"taskDefinition": family, "strategy": strategyString(s.n, sv.CapacityProviderStrategy), "targetGroup": tg,
		"minimumHealthyPercent": strconv.Itoa(sv.MinimumHealthyPercent), "maximumPercent": strconv.Itoa(sv.MaximumPercent),
		"healthCheckGracePeriod": strconv.Itoa(int(sv.HealthCheckGracePeriod.D().Seconds()))}
	if sv.OnFargate() {
		f["platformVersion"] = fargatePlatform
	}
	if s.fixedCount(sv) {
		f["desiredCount"] = strconv.Itoa(sv.DesiredCount)
	}
	return f
}

// fixedCount says whether the manifest alone sets a service's desired count (the
// controller's replicas, a service without target tracking), so that plan compares it and
// apply changes it. A companion service's is the controller's to set, and target
// tracking's between minCount and maxCount: plan leaves those alone.
func (s *Stack) fixedCount(sv manifest.Service) bool {
	return sv.Autoscaling == nil && s.m.Covers(sv.Name) == ""
}

// The desired count is set when a service is created, and compared afterwards only where
// the manifest alone sets it (fixedCount): target tracking and the controller's fallback
// change the others at run time.
var serviceKind = kind{
	name: "ecs-service",
	want: func(s *Stack) []Resource {
		var out []Resource
		for _, sv := range s.ecsServices() {
			out = append(out, Resource{Name: sv.Name, Fields: s.serviceFields(sv)})
		}
		return out
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		if !s.runsECS() {
			return nil, nil
		}
		cluster := awssdk.String(s.n.Cluster())
		list, err := s.ecs.ListServices(ctx, &ecs.ListServicesInput{Cluster: cluster})
		if err != nil {
			if _, ok := errors.AsType[*ecstypes.ClusterNotFoundException](err); ok {
				return nil, nil // nothing of the fleet's on ECS yet
			}
			return nil, err
		}
		got := map[string]map[string]string{}
		for _, c := range aws.Chunks(list.ServiceArns, 10) {
			out, err := s.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: cluster, Services: c, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
			if err != nil {
				return nil, err
			}
			for _, sv := range out.Services {
				if awssdk.ToString(sv.Status) != "ACTIVE" || !ecsTagged(sv.Tags, s.m.Name) {
					continue
				}
				td := awssdk.ToString(sv.TaskDefinition)
				td = td[strings.LastIndex(td, "/")+1:]
				td, _, _ = strings.Cut(td, ":")
				// A field AWS does not return is left out, for the record to answer for
				// (moto returns no strategy, deployment configuration or grace period).
				f := map[string]string{"taskDefinition": td, "targetGroup": "", "desiredCount": strconv.Itoa(int(sv.DesiredCount))}
				if len(sv.CapacityProviderStrategy) > 0 {
					f["strategy"] = readStrategy(sv.CapacityProviderStrategy)
				}
				if d := sv.DeploymentConfiguration; d != nil && d.MaximumPercent != nil {
					f["minimumHealthyPercent"] = strconv.Itoa(int(awssdk.ToInt32(d.MinimumHealthyPercent)))
					f["maximumPercent"] = strconv.Itoa(int(awssdk.ToInt32(d.MaximumPercent)))
				}
				if sv.HealthCheckGracePeriodSeconds != nil {
					f["healthCheckGracePeriod"] = strconv.Itoa(int(*sv.HealthCheckGracePeriodSeconds))
				}
				if pv := awssdk.ToString(sv.PlatformVersion); pv != "" {
					f["platformVersion"] = pv
				}
				for _, lb := range sv.LoadBalancers {
					if f["targetGroup"], err = s.targetGroupOf(ctx, awssdk.ToString(lb.TargetGroupArn)); err != nil {
						return nil, err
					}
				}
				got[awssdk.ToString(sv.ServiceName)] = ecsRead(f, sv.Tags)
			}
		}
		return got, nil
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		sv := s.serviceConfig(r.Name)
		sgName := s.n.SecurityGroup()
		switch {
		case sv.Name == manifest.ControllerService:
			sgName = s.n.ControllerSecurityGroup()
		case sv.OnFargate():
			sgName = s.n.TaskSecurityGroup()
		}
		sg, err := s.securityGroupNamed(ctx, sgName)
		if err != nil {
			return err
		}
		vpc := &ecstypes.AwsVpcConfiguration{Subnets: s.subnetsFor(s.taskZones()), SecurityGroups: []string{sg}}
		if sv.OnFargate() && s.env.public {
			// Subnets that give instances public addresses route out through an internet
			// gateway (a default VPC's): a Fargate task there needs one to pull its image.
			vpc.AssignPublicIp = ecstypes.AssignPublicIpEnabled
		}
		in := &ecs.CreateServiceInput{Cluster: awssdk.String(s.n.Cluster()), ServiceName: &r.Name, TaskDefinition: awssdk.String(r.Fields["taskDefinition"]),
			DesiredCount: awssdk.Int32(int32(sv.DesiredCount)), CapacityProviderStrategy: strategyOf(s.n, sv.CapacityProviderStrategy),
			DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: atoi32(r.Fields["minimumHealthyPercent"]), MaximumPercent: atoi32(r.Fields["maximumPercent"])},
			NetworkConfiguration:    &ecstypes.NetworkConfiguration{AwsvpcConfiguration: vpc},
			Tags:                    s.ecsTags(r), PropagateTags: ecstypes.PropagateTagsService}
		if sv.Name == manifest.ControllerService {
			arn, err := s.controllerRegistry(ctx)
			if err != nil {
				return err
			}
			in.ServiceRegistries = []ecstypes.ServiceRegistry{{RegistryArn: &arn}}
		}
		if pv := r.Fields["platformVersion"]; pv != "" {
			in.PlatformVersion = &pv
		}
		if tg := r.Fields["targetGroup"]; tg != "" {
			arn, err := s.targetGroupARN(ctx, tg)
			if err != nil {
				return err
			}
			in.LoadBalancers = []ecstypes.LoadBalancer{{TargetGroupArn: &arn, ContainerName: awssdk.String("app"), ContainerPort: awssdk.Int32(int32(sv.Port))}}
			in.HealthCheckGracePeriodSeconds = atoi32(r.Fields["healthCheckGracePeriod"])
		}
		_, err = s.ecs.CreateService(ctx, in)
		return err
	},
	update: func(ctx context.Context, s *Stack, r Resource) error {
		sv := s.serviceConfig(r.Name)
		in := &ecs.UpdateServiceInput{Cluster: awssdk.String(s.n.Cluster()), Service: &r.Name, TaskDefinition: awssdk.String(r.Fields["taskDefinition"]),
			CapacityProviderStrategy: strategyOf(s.n, sv.CapacityProviderStrategy),
			DeploymentConfiguration:  &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: atoi32(r.Fields["minimumHealthyPercent"]), MaximumPercent: atoi32(r.Fields["maximumPercent"])}}
		if pv := r.Fields["platformVersion"]; pv != "" {
			in.PlatformVersion = &pv
		}
		if n, ok := r.Fields["desiredCount"]; ok {
			in.DesiredCount = atoi32(n)
		}
		if tg := r.Fields["targetGroup"]; tg != "" {
			in.HealthCheckGracePeriodSeconds = atoi32(r.Fields["healthCheckGracePeriod"])
			// By the target group's current ARN: one deleted and made again by hand is a
			// new one, and the service is moved to it.
			arn, err := s.targetGroupARN(ctx, tg)
			if err != nil {
				return err
			}
			in.LoadBalancers = []ecstypes.LoadBalancer{{TargetGroupArn: &arn, ContainerName: awssdk.String("app"), ContainerPort: awssdk.Int32(int32(sv.Port))}}
		}
		out, err := s.ecs.UpdateService(ctx, in)
		if err != nil {
			return err
		}
		return s.recordECS(ctx, out.Service.ServiceArn, r)
	},
	remove: func(ctx context.Context, s *Stack, name string) error {
		_, err := s.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: awssdk.String(s.n.Cluster()), Service: &name, Force: awssdk.Bool(true)})
		return err
	},
}

func (s *Stack) serviceConfig(name string) manifest.Service {
	for _, sv := range s.ecsServices() {
		if sv.Name == name {
			return sv
		}
	}
	return manifest.Service{Name: name}
}

// Service target tracking (Application Auto Scaling): a scalable target between minCount
// and maxCount, and a target tracking policy per metric.
var serviceScalingKind = kind{
	name: "service-scaling",
	want: func(s *Stack) []Resource {
		if !s.isECS() {
			return nil
		}
		var out []Resource
		for _, sv := range s.m.Services {
			a := sv.Autoscaling
			if a == nil {
				continue
			}
			var pols []string
			for _, p := range a.TargetTracking {
				pols = append(pols, fmt.Sprintf("%s:%g", p.Metric, p.Target))
			}
			out = append(out, Resource{Name: s.scalingID(sv.Name), Fields: map[string]string{"min": strconv.Itoa(a.MinCount), "max": strconv.Itoa(a.MaxCount), "policies": join(pols)}})
		}
		return out
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		if !s.isECS() {
			return nil, nil
		}
		var ids []string
		for _, sv := range s.m.Services {
			ids = append(ids, s.scalingID(sv.Name))
		}
		out, err := s.aas.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: ids})
		if err != nil {
			return nil, err
		}
		got := map[string]map[string]string{}
		for _, t := range out.ScalableTargets {
			id := awssdk.ToString(t.ResourceId)
			pols, err := s.aas.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: &id})
			if err != nil {
				return nil, err
			}
			var ps []string
			for _, p := range pols.ScalingPolicies {
				if c := p.TargetTrackingScalingPolicyConfiguration; c != nil && c.PredefinedMetricSpecification != nil {
					metric := strings.TrimPrefix(strings.TrimPrefix(string(c.PredefinedMetricSpecification.PredefinedMetricType), "ECSServiceAverage"), "ALB")
					ps = append(ps, fmt.Sprintf("%s:%g", metric, awssdk.ToFloat64(c.TargetValue)))
				}
			}
			got[id] = map[string]string{"min": strconv.Itoa(int(awssdk.ToInt32(t.MinCapacity))), "max": strconv.Itoa(int(awssdk.ToInt32(t.MaxCapacity))), "policies": join(ps)}
		}
		return got, nil
	},
	create: putServiceScaling,
	update: putServiceScaling,
	remove: func(ctx context.Context, s *Stack, id string) error {
		_, err := s.aas.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
			ResourceId: &id, ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
		return err
	},
}

func (s *Stack) scalingID(service string) string { return "service/" + s.n.Cluster() + "/" + service }

func putServiceScaling(ctx context.Context, s *Stack, r Resource) error {
	if _, err := s.aas.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceId: &r.Name, ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
		MinCapacity: atoi32(r.Fields["min"]), MaxCapacity: atoi32(r.Fields["max"])}); err != nil {
		return err
	}
	svc := r.Name[strings.LastIndex(r.Name, "/")+1:]
	sv := s.serviceConfig(svc)
	if sv.Autoscaling == nil {
		return nil
	}
	for _, p := range sv.Autoscaling.TargetTracking {
		var metric aastypes.MetricType
		spec := &aastypes.PredefinedMetricSpecification{}
		switch p.Metric {
		case "CPUUtilization":
			metric = aastypes.MetricTypeECSServiceAverageCPUUtilization
		case "MemoryUtilization":
			metric = aastypes.MetricTypeECSServiceAverageMemoryUtilization
		case "RequestCountPerTarget":
			metric = aastypes.MetricTypeALBRequestCountPerTarget
			lb, err := s.loadBalancer(ctx)
			if err != nil || lb == nil {
				return fmt.Errorf("RequestCountPerTarget needs the load balancer: %v", err)
			}
			tg, err := s.targetGroupARN(ctx, s.m.TargetGroupName(sv))
			if err != nil {
				return err
			}
			spec.ResourceLabel = awssdk.String(albLabel(awssdk.ToString(lb.LoadBalancerArn), tg))
		default:
			return fmt.Errorf("not supported yet: target tracking on %s", p.Metric)
		}
		spec.PredefinedMetricType = metric
		target := p.Target
		if _, err := s.aas.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: &r.Name,
			ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount, PolicyName: awssdk.String(svc + "-" + strings.ToLower(p.Metric)),
			PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
			TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: &target,
				PredefinedMetricSpecification: spec, ScaleInCooldown: awssdk.Int32(int32(p.ScaleInCooldown.D().Seconds())),
				ScaleOutCooldown: awssdk.Int32(int32(p.ScaleOutCooldown.D().Seconds()))}}); err != nil {
			return err
		}
	}
	return nil
}
