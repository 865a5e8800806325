package aws

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"golang.org/x/sync/errgroup"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/manifest"
)

// raw is what one snapshot reads, before it is joined.
type raw struct {
	groups     []asgtypes.AutoScalingGroup
	activities map[string][]asgtypes.Activity
	instances  []ec2types.Instance
	cis        []ecstypes.ContainerInstance
	services   []ecstypes.Service
	tasks      []ecstypes.Task
	tgs        []elbtypes.TargetGroup
	delay      map[string]time.Duration                      // target group ARN → deregistration delay
	health     map[string][]elbtypes.TargetHealthDescription // target group ARN → targets
}

// Snapshot reads the fleet: its groups (with recent failed launches), instances, ECS
// container instances, services and tasks, target groups and their targets. Between full
// reads it re-reads only what changed (cache.go). Any failed read fails the snapshot (the
// controller tries again next round).
func (p *Provider) Snapshot(ctx context.Context) (spotfleet.Snapshot, error) {
	p.observing.Lock()
	defer p.observing.Unlock()
	now := p.Clock.Now()
	r, err := p.observe(ctx, now)
	if err != nil {
		return spotfleet.Snapshot{}, err
	}
	if err := p.readSizes(ctx, r.groups); err != nil {
		return spotfleet.Snapshot{}, err
	}
	return p.join(r, now), nil
}

// readAll reads the whole fleet, concurrently.
func (p *Provider) readAll(ctx context.Context) (*raw, error) {
	var r raw
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return p.readGroups(gctx, &r) })
	g.Go(func() error { return p.readInstances(gctx, &r) })
	if p.m.Workload == manifest.WorkloadECS {
		g.Go(func() error { return p.readECS(gctx, &r) })
	}
	g.Go(func() error { return p.readTargets(gctx, &r) })
	return &r, g.Wait()
}

func (p *Provider) readGroups(ctx context.Context, r *raw) error {
	var asgNames []string
	for _, g := range p.m.Capacity {
		asgNames = append(asgNames, p.n.Group(g.Name))
	}
	out, err := p.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: asgNames})
	if err != nil {
		return err
	}
	r.groups = out.AutoScalingGroups
	r.activities = map[string][]asgtypes.Activity{}
	for _, g := range r.groups {
		acts, err := p.asg.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: g.AutoScalingGroupName, MaxRecords: awssdk.Int32(20)})
		if err != nil {
			return err
		}
		r.activities[awssdk.ToString(g.AutoScalingGroupName)] = acts.Activities
	}
	return nil
}

func (p *Provider) readInstances(ctx context.Context, r *raw) error {
	return p.instancesWhere(ctx, nil, func(in ec2types.Instance) { r.instances = append(r.instances, in) })
}

// instancesWhere pages through the fleet's live instances that match the extra filters.
func (p *Provider) instancesWhere(ctx context.Context, extra []ec2types.Filter, each func(ec2types.Instance)) error {
	pages := ec2.NewDescribeInstancesPaginator(p.ec2, &ec2.DescribeInstancesInput{Filters: append([]ec2types.Filter{
		{Name: awssdk.String("tag:" + FleetTag), Values: []string{p.m.Name}},
		{Name: awssdk.String("instance-state-name"), Values: []string{"pending", "running", "shutting-down", "stopping"}},
	}, extra...)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, res := range out.Reservations {
			for _, in := range res.Instances {
				each(in)
			}
		}
	}
	return nil
}

func (p *Provider) readECS(ctx context.Context, r *raw) error {
	cluster := awssdk.String(p.n.Cluster())
	var arns []string
	cis := ecs.NewListContainerInstancesPaginator(p.ecs, &ecs.ListContainerInstancesInput{Cluster: cluster})
	for cis.HasMorePages() {
		out, err := cis.NextPage(ctx)
		if err != nil {
			return err
		}
		arns = append(arns, out.ContainerInstanceArns...)
	}
	for _, c := range Chunks(arns, describeChunk) {
		out, err := p.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: cluster, ContainerInstances: c})
		if err != nil {
			return err
		}
		r.cis = append(r.cis, out.ContainerInstances...)
	}
	if err := p.readServices(ctx, r); err != nil {
		return err
	}
	tasks, err := p.listTasks(ctx, &ecs.ListTasksInput{Cluster: cluster})
	if err != nil {
		return err
	}
	for _, c := range Chunks(tasks, describeChunk) {
		out, err := p.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: cluster, Tasks: c})
		if err != nil {
			return err
		}
		r.tasks = append(r.tasks, out.Tasks...)
	}
	return nil
}

// readServices reads the cluster's services (as many as the manifest has, whatever the
// fleet's size).
func (p *Provider) readServices(ctx context.Context, r *raw) error {
	cluster := awssdk.String(p.n.Cluster())
	var svcs []string
	sp := ecs.NewListServicesPaginator(p.ecs, &ecs.ListServicesInput{Cluster: cluster})
	for sp.HasMorePages() {
		out, err := sp.NextPage(ctx)
		if err != nil {
			return err
		}
		svcs = append(svcs, out.ServiceArns...)
	}
	for _, c := range Chunks(svcs, 10) {
		out, err := p.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: cluster, Services: c})
		if err != nil {
			return err
		}
		r.services = append(r.services, out.Services...)
	}
	return nil
}

func (p *Provider) readTargets(ctx context.Context, r *raw) error {
	var tgNames []string
	for _, s := range p.m.AllServices() {
		if s.LoadBalancer != nil {
			tgNames = append(tgNames, p.m.TargetGroupName(s))
		}
	}
	r.delay, r.health = map[string]time.Duration{}, map[string][]elbtypes.TargetHealthDescription{}
	if len(tgNames) == 0 {
		return nil
	}
	out, err := p.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: tgNames})
	if err != nil {
		return err
	}
	r.tgs = out.TargetGroups
	for _, tg := range r.tgs {
		p.mu.Lock()
		p.tgARN[awssdk.ToString(tg.TargetGroupName)] = awssdk.ToString(tg.TargetGroupArn)
		p.mu.Unlock()
		attrs, err := p.elb.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
		if err != nil {
			return err
		}
		for _, a := range attrs.Attributes {
			if awssdk.ToString(a.Key) == DeregistrationDelayKey {
				// An unreadable delay is left unknown (the controller then assumes ELB's
				// default), not read as 0.
				if s, err := strconv.Atoi(awssdk.ToString(a.Value)); err == nil {
					r.delay[awssdk.ToString(tg.TargetGroupArn)] = time.Duration(s) * time.Second
				}
			}
		}
	}
	return p.readHealth(ctx, r)
}

// readHealth reads the targets of the target groups r names: one call per group (the
// call is not paginated), whatever the number of targets.
func (p *Provider) readHealth(ctx context.Context, r *raw) error {
	r.health = map[string][]elbtypes.TargetHealthDescription{}
	for _, tg := range r.tgs {
		h, err := p.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
		if err != nil {
			return err
		}
		r.health[awssdk.ToString(tg.TargetGroupArn)] = h.TargetHealthDescriptions
	}
	return nil
}

// readSizes learns what each group's first instance type registers with ECS, once.
func (p *Provider) readSizes(ctx context.Context, groups []asgtypes.AutoScalingGroup) error {
	if p.m.Workload != manifest.WorkloadECS {
		return nil
	}
	var want []ec2types.InstanceType
	p.mu.Lock()
	for _, g := range p.m.Capacity {
		it := ec2types.InstanceType(g.InstanceTypes[0].Type)
		if _, ok := p.sizes[string(it)]; !ok && !slices.Contains(want, it) {
			want = append(want, it)
		}
	}
	p.mu.Unlock()
	if len(want) == 0 {
		return nil
	}
	out, err := p.ec2.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: want})
	if err != nil {
		// Sizes only sharpen the fallback's instance count (unknown: one task per
		// instance); a snapshot does not fail for them. The next one asks again.
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, it := range out.InstanceTypes {
		s := size{}
		if it.VCpuInfo != nil {
			s.cpu = int(awssdk.ToInt32(it.VCpuInfo.DefaultVCpus)) * 1024
		}
		if it.MemoryInfo != nil {
			s.memory = spotfleet.ECSRegisteredMemory(int(awssdk.ToInt64(it.MemoryInfo.SizeInMiB)))
		}
		p.sizes[string(it.InstanceType)] = s
	}
	return nil
}

// join builds the snapshot from what the reads returned, noun by noun in the order they
// depend on each other: the groups (which name their instances), the addresses, the
// targets (instance and task health read them), the instances, the services, the tasks.
func (p *Provider) join(r *raw, now time.Time) spotfleet.Snapshot {
	snap := spotfleet.Snapshot{Time: now}
	var members membership
	snap.Groups, members = p.joinGroups(r, now)
	addr := indexAddresses(r)
	var h health
	snap.TargetGroups, snap.Targets, h = joinTargets(r, addr)
	snap.Instances = p.joinInstances(r, members, addr, h)
	var tgOfService map[string]string
	snap.Services, tgOfService = p.joinServices(r, h, now)
	snap.Tasks = p.joinTasks(r, addr, h, tgOfService)
	return snap
}

// membership is what the groups say of their instances.
type membership struct {
	group  map[string]string // instance → manifest group
	weight map[string]int
}

func (p *Provider) joinGroups(r *raw, now time.Time) ([]spotfleet.Group, membership) {
	var out []spotfleet.Group
	m := membership{group: map[string]string{}, weight: map[string]int{}}
	for _, g := range r.groups {
		name, ok := p.n.GroupOf(awssdk.ToString(g.AutoScalingGroupName))
		cfg, known := p.m.Group(name)
		if !ok || !known {
			continue
		}
		sg := spotfleet.Group{Name: name, Native: awssdk.ToString(g.AutoScalingGroupName), Desired: int(awssdk.ToInt32(g.DesiredCapacity)),
			MinSize: int(awssdk.ToInt32(g.MinSize)), MaxSize: int(awssdk.ToInt32(g.MaxSize))}
		zones := g.AvailabilityZones
		if len(zones) == 0 {
			zones = cfg.Zones
		}
		for _, z := range zones {
			for _, it := range cfg.InstanceTypes {
				sg.Pools = append(sg.Pools, spotfleet.Pool{InstanceType: it.Type, Zone: z})
			}
		}
		p.mu.Lock()
		sg.Avoided = p.avoided(name, g, sg.Pools)
		if s, ok := p.sizes[cfg.InstanceTypes[0].Type]; ok {
			sg.InstanceCPU, sg.InstanceMemory = s.cpu, s.memory
		}
		p.mu.Unlock()
		sg.Failures = launchFailures(r.activities[awssdk.ToString(g.AutoScalingGroupName)], now)
		out = append(out, sg)
		for _, in := range g.Instances {
			id := awssdk.ToString(in.InstanceId)
			m.group[id] = name
			m.weight[id] = weightOf(awssdk.ToString(in.WeightedCapacity))
		}
	}
	return out, m
}

// launchFailures are a group's failed scaling activities of the last FailuresShown.
func launchFailures(activities []asgtypes.Activity, now time.Time) []spotfleet.LaunchFailure {
	var out []spotfleet.LaunchFailure
	for _, a := range activities {
		end := awssdk.ToTime(a.EndTime)
		if end.IsZero() {
			end = awssdk.ToTime(a.StartTime)
		}
		if a.StatusCode == asgtypes.ScalingActivityStatusCodeFailed && now.Sub(end) <= spotfleet.FailuresShown {
			out = append(out, spotfleet.LaunchFailure{ActivityID: awssdk.ToString(a.ActivityId), Time: end,
				Zone: activityZone(awssdk.ToString(a.Details)), Message: awssdk.ToString(a.StatusMessage)})
		}
	}
	return out
}

// addresses say which instance and which task an address or a container instance is.
type addresses struct {
	instanceOfIP map[string]string // private IP (an instance's or an awsvpc task's) → instance
	taskOfIP     map[string]string // an awsvpc task's private IP → the task's ID
	ciOf         map[string]*ecstypes.ContainerInstance
	instanceOfCI map[string]string // container instance ARN → instance
}

func indexAddresses(r *raw) addresses {
	a := addresses{instanceOfIP: map[string]string{}, taskOfIP: map[string]string{}, ciOf: map[string]*ecstypes.ContainerInstance{},
		instanceOfCI: map[string]string{}}
	for i := range r.cis {
		ci := &r.cis[i]
		a.ciOf[awssdk.ToString(ci.Ec2InstanceId)] = ci
		a.instanceOfCI[awssdk.ToString(ci.ContainerInstanceArn)] = awssdk.ToString(ci.Ec2InstanceId)
	}
	for _, in := range r.instances {
		a.instanceOfIP[awssdk.ToString(in.PrivateIpAddress)] = awssdk.ToString(in.InstanceId)
	}
	for _, t := range r.tasks {
		if ip := TaskIP(t); ip != "" {
			a.instanceOfIP[ip] = a.instanceOfCI[awssdk.ToString(t.ContainerInstanceArn)]
			a.taskOfIP[ip] = taskID(t)
		}
	}
	return a
}

// health is what the targets say of the instances and tasks behind them.
type health struct {
	tgName    map[string]string // target group ARN → name
	healthy   map[string]bool   // "id:port" of a healthy target
	hasTarget map[string]bool   // instances with a target
}

func joinTargets(r *raw, addr addresses) ([]spotfleet.TargetGroup, []spotfleet.Target, health) {
	var groups []spotfleet.TargetGroup
	var targets []spotfleet.Target
	h := health{tgName: map[string]string{}, healthy: map[string]bool{}, hasTarget: map[string]bool{}}
	for _, tg := range r.tgs {
		arn, name := awssdk.ToString(tg.TargetGroupArn), awssdk.ToString(tg.TargetGroupName)
		h.tgName[arn] = name
		groups = append(groups, spotfleet.TargetGroup{Name: name, DeregistrationDelay: r.delay[arn]})
		for _, th := range r.health[arn] {
			id, port := awssdk.ToString(th.Target.Id), int(awssdk.ToInt32(th.Target.Port))
			state := spotfleet.TargetState(th.TargetHealth.State)
			st := spotfleet.Target{TargetGroup: name, ID: id, Port: port, Instance: id, State: state}
			if !strings.HasPrefix(id, "i-") { // an IP: a task's, on an instance or on Fargate
				st.Instance, st.Task = addr.instanceOfIP[id], addr.taskOfIP[id]
			}
			targets = append(targets, st)
			h.hasTarget[st.Instance] = true
			if state == spotfleet.TargetHealthy {
				h.healthy[id+":"+strconv.Itoa(port)] = true
			}
		}
	}
	return groups, targets, h
}

func (p *Provider) joinInstances(r *raw, members membership, addr addresses, h health) []spotfleet.Instance {
	var out []spotfleet.Instance
	for _, in := range r.instances {
		id := awssdk.ToString(in.InstanceId)
		it := string(in.InstanceType)
		si := spotfleet.Instance{ID: id, Group: members.group[id], State: spotfleet.InstanceState(in.State.Name),
			Pool:      spotfleet.Pool{InstanceType: it, Zone: awssdk.ToString(in.Placement.AvailabilityZone)},
			Lifecycle: spotfleet.OnDemand, Weight: members.weight[id], LaunchedAt: awssdk.ToTime(in.LaunchTime)}
		// EC2 marks Spot instances; a group with no On-Demand base or share launches only
		// Spot, whatever an implementation that does not mark them says.
		origin := si.Group
		for _, tag := range in.Tags { // a detached instance keeps its group's tag
			if awssdk.ToString(tag.Key) == "aws:autoscaling:groupName" && origin == "" {
				origin, _ = p.n.GroupOf(awssdk.ToString(tag.Value))
			}
		}
		g, known := p.m.Group(origin)
		if in.InstanceLifecycle == ec2types.InstanceLifecycleTypeSpot ||
			(known && g.OnDemandBaseCapacity == 0 && g.OnDemandPercentageAboveBaseCapacity == 0) {
			si.Lifecycle = spotfleet.Spot
		}
		if si.Weight == 0 { // not a member: weighed as its group weighs the type
			si.Weight = 1
			if known {
				si.Weight = g.WeightOf(it)
			}
		}
		running := si.State == spotfleet.InstanceRunning
		if ci := addr.ciOf[id]; ci != nil {
			si.ContainerInstance = awssdk.ToString(ci.ContainerInstanceArn)
			si.ContainerStatus = spotfleet.ContainerInstanceStatus(awssdk.ToString(ci.Status))
			si.CPU, si.Memory = resource(ci.RegisteredResources, "CPU"), resource(ci.RegisteredResources, "MEMORY")
			si.Healthy = running && si.ContainerStatus == spotfleet.ContainerInstanceActive
		} else if p.m.Workload == manifest.WorkloadInstances {
			port := 0
			if s := p.m.Instances; s != nil {
				port = s.Port
			}
			si.Healthy = running && (!h.hasTarget[id] || h.healthy[id+":"+strconv.Itoa(port)])
		}
		out = append(out, si)
	}
	return out
}

// joinServices returns the services, and the target group of each.
func (p *Provider) joinServices(r *raw, h health, now time.Time) ([]spotfleet.Service, map[string]string) {
	var out []spotfleet.Service
	tgOfService := map[string]string{}
	for _, s := range r.services {
		name := awssdk.ToString(s.ServiceName)
		if name == manifest.ControllerService { // the controllers themselves: not the fleet's
			continue
		}
		ss := spotfleet.Service{Name: name, Desired: int(s.DesiredCount), Covers: p.m.Covers(name)}
		if cfg, ok := p.m.ECSService(name); ok {
			ss.StopTimeout, ss.CPU, ss.Memory = cfg.StopTimeout.D(), cfg.CPU, cfg.Memory
		}
		for _, lb := range s.LoadBalancers {
			ss.TargetGroup = h.tgName[awssdk.ToString(lb.TargetGroupArn)]
		}
		ss.Refusals = p.refusals(s, now)
		tgOfService[name] = ss.TargetGroup
		out = append(out, ss)
	}
	if s := p.m.Instances; s != nil && p.m.Workload == manifest.WorkloadInstances {
		ss := spotfleet.Service{Name: s.Name, StopTimeout: s.StopTimeout.D()}
		if s.LoadBalancer != nil {
			ss.TargetGroup = p.m.TargetGroupName(*s)
		}
		out = append(out, ss)
	}
	return out, tgOfService
}

func (p *Provider) joinTasks(r *raw, addr addresses, h health, tgOfService map[string]string) []spotfleet.Task {
	var out []spotfleet.Task
	for _, t := range r.tasks {
		if t.LastStatus != nil && *t.LastStatus == string(spotfleet.TaskStopped) {
			continue
		}
		svc, _ := strings.CutPrefix(awssdk.ToString(t.Group), "service:")
		if svc == manifest.ControllerService {
			continue
		}
		st := spotfleet.Task{ID: taskID(t), Service: svc, Zone: awssdk.ToString(t.AvailabilityZone),
			Instance: addr.instanceOfCI[awssdk.ToString(t.ContainerInstanceArn)], Status: spotfleet.TaskStatus(awssdk.ToString(t.LastStatus))}
		st.Provider, _ = p.n.GroupOf(awssdk.ToString(t.CapacityProviderName))
		if st.Status == spotfleet.TaskRunning {
			st.Healthy = tgOfService[svc] == "" || h.healthy[TaskIP(t)+":"+strconv.Itoa(p.portOf(svc))]
		}
		out = append(out, st)
	}
	return out
}

// avoided reports the pools last asked to avoid while the group's overrides are still what
// that request set, else the pools of the instance types its overrides leave out (after a
// restart, or a change by someone else). Callers hold p.mu.
func (p *Provider) avoided(group string, g asgtypes.AutoScalingGroup, pools []spotfleet.Pool) []spotfleet.Pool {
	in := map[string]bool{}
	if g.MixedInstancesPolicy != nil && g.MixedInstancesPolicy.LaunchTemplate != nil {
		for _, o := range g.MixedInstancesPolicy.LaunchTemplate.Overrides {
			in[awssdk.ToString(o.InstanceType)] = true
		}
	}
	if len(in) == 0 {
		return nil
	}
	if asked, ok := p.avoid[group]; ok && slices.Equal(p.overridesFor(group, asked), sortedKeys(in)) {
		return asked
	}
	var out []spotfleet.Pool
	for _, pl := range pools {
		if !in[pl.InstanceType] {
			out = append(out, pl)
		}
	}
	return out
}

// overridesFor lists, sorted, the instance types AvoidPools keeps for a set of pools.
func (p *Provider) overridesFor(group string, pools []spotfleet.Pool) []string {
	var out []string
	for _, o := range p.keep(group, pools) {
		out = append(out, awssdk.ToString(o.InstanceType))
	}
	slices.Sort(out)
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (p *Provider) portOf(service string) int {
	s, _ := p.m.ECSService(service) // a companion's is its service's
	return s.Port
}

// taskID is a task's ID, the end of its ARN: what an interruption event names, and what
// StopTask takes.
func taskID(t ecstypes.Task) string {
	arn := awssdk.ToString(t.TaskArn)
	return arn[strings.LastIndexByte(arn, '/')+1:]
}

// refusals are the service's recent events that say Fargate Spot could not place a task
// for want of capacity ("... was unable to place a task. Reason: Capacity is unavailable
// at this time ..."): what the controller covers at once. Only a manifest service that
// runs on FARGATE_SPOT has them (its events do not say which provider refused; its
// fallback companion runs on FARGATE).
func (p *Provider) refusals(s ecstypes.Service, now time.Time) []spotfleet.LaunchFailure {
	name := awssdk.ToString(s.ServiceName)
	if cfg, ok := p.m.ECSService(name); !ok || p.m.Covers(name) != "" || !cfg.Uses(manifest.FargateSpot) {
		return nil
	}
	var out []spotfleet.LaunchFailure
	for _, ev := range s.Events { // newest first
		at, msg := awssdk.ToTime(ev.CreatedAt), awssdk.ToString(ev.Message)
		if now.Sub(at) > spotfleet.FailuresShown {
			break
		}
		if strings.Contains(msg, "unable to place a task") && spotfleet.CapacityError(msg) {
			out = append(out, spotfleet.LaunchFailure{ActivityID: awssdk.ToString(ev.Id), Time: at, Message: msg})
		}
	}
	slices.Reverse(out)
	return out
}

// taskIP is an awsvpc task's private address.
// TaskIP is the private address of an awsvpc task (its network interface's).
func TaskIP(t ecstypes.Task) string {
	for _, a := range t.Attachments {
		for _, d := range a.Details {
			if awssdk.ToString(d.Name) == "privateIPv4Address" {
				return awssdk.ToString(d.Value)
			}
		}
	}
	return ""
}

func resource(rs []ecstypes.Resource, name string) int {
	for _, r := range rs {
		if awssdk.ToString(r.Name) == name {
			return int(r.IntegerValue)
		}
	}
	return 0
}

// activityZone reads the zone from a scaling activity's Details (a JSON object with
// "Availability Zone" and "Subnet ID").
func activityZone(details string) string {
	var d map[string]string
	if json.Unmarshal([]byte(details), &d) != nil {
		return ""
	}
	return d["Availability Zone"]
}

// weightOf reads an instance's weighted capacity: none (a group without weights) or an
// unreadable one is 1, as Auto Scaling counts it. (It was read as 0, which counted the
// instance as no capacity at all.)
func weightOf(s string) int {
	if n, err := strconv.Atoi(s); err == nil && n >= 1 {
		return n
	}
	return 1
}
