package aws

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"golang.org/x/sync/errgroup"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/manifest"
)

// The provider keeps the fleet it read (the informer pattern): a full read every Resync,
// and in between rounds whose calls do not grow with the fleet. A round reads what is one
// call whatever the fleet's size (the groups with their members, the recent scaling
// activities, each target group's targets, the services) and re-reads by ID only the
// instances that may have changed:
//   - those the controller names (the instances of the round's events and notices, Changed),
//   - those the provider's own calls touched,
//   - those whose membership, lifecycle or health in their group changed, or whose
//     targets changed state,
//   - those in a passing state (pending, stopping, shutting-down), and under ECS those
//     running without a container instance yet;
//
// with, under ECS, their container instances and tasks. Tasks that start elsewhere (a
// service's replacement on an instance that did not change) show as a target the view
// cannot place, or as a service whose running and pending counts differ from the view's:
// the service's tasks are then listed, at most once per sweepEvery, and only the new ones
// described.

// Resync is how often the provider reads the whole fleet again by default.
const Resync = time.Minute

// sweepEvery bounds how often a service's task list is read between full reads.
const sweepEvery = 10 * time.Second

// Per-call limits of the reads by ID.
const (
	instanceFilterChunk = 200 // values of one DescribeInstances filter
	describeChunk       = 100 // DescribeContainerInstances, DescribeTasks
	ciFilterChunk       = 50  // instance IDs in one ListContainerInstances filter expression
)

type cache struct {
	read    time.Time // the last full read
	swept   time.Time // the last listing of a service's tasks
	last    raw       // groups, activities, services and targets as last read
	inst    map[string]ec2types.Instance
	cis     map[string]ecstypes.ContainerInstance // by EC2 instance ID
	tasks   map[string]ecstypes.Task              // by ARN
	members map[string]string                     // instance → its group, lifecycle state and health
	targets map[string]string                     // target group ARN, ID and port → state
	ecs     bool                                  // every running instance registers with the cluster
}

// Changed tells the provider which instances (or Fargate tasks) the controller's inputs
// name, so that the next snapshot re-reads them.
func (p *Provider) Changed(ids []string) { p.touch(ids...) }

func (p *Provider) touch(ids ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		if id != "" {
			p.dirty[id] = true
		}
	}
}

// takeDirty empties the set of IDs to re-read; giveBack restores it when the round fails.
func (p *Provider) takeDirty() map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.dirty
	p.dirty = map[string]bool{}
	return d
}

func (p *Provider) giveBack(d map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	maps.Copy(p.dirty, d)
}

// observe returns the fleet as raw reads: a full read when due, else the cache brought up
// to date.
func (p *Provider) observe(ctx context.Context, now time.Time) (*raw, error) {
	dirty := p.takeDirty()
	if p.cache == nil || now.Sub(p.cache.read) >= cmp.Or(p.Resync, Resync) {
		r, err := p.readAll(ctx)
		switch {
		case err == nil:
			// The next full read is due a Resync after this one ends: at 10,000
			// instances a full read takes long, and rounds in between must be cheap.
			p.cache = newCache(r, p.Clock.Now(), p.m.Workload == manifest.WorkloadECS)
			return p.cache.raw(), nil
		case p.cache == nil || ctx.Err() != nil:
			p.giveBack(dirty)
			return nil, err
		}
		// A full read that fails (throttled, say) leaves the cache to be brought up to
		// date as between full reads; the next round tries the full read again.
	}
	if err := p.refresh(ctx, p.cache, dirty, now); err != nil {
		p.giveBack(dirty)
		return nil, err
	}
	return p.cache.raw(), nil
}

func newCache(r *raw, now time.Time, ecsWorkload bool) *cache {
	c := &cache{read: now, swept: now, last: *r, inst: map[string]ec2types.Instance{}, cis: map[string]ecstypes.ContainerInstance{},
		tasks: map[string]ecstypes.Task{}, ecs: ecsWorkload}
	for _, in := range r.instances {
		c.inst[awssdk.ToString(in.InstanceId)] = in
	}
	for _, ci := range r.cis {
		c.cis[awssdk.ToString(ci.Ec2InstanceId)] = ci
	}
	for _, t := range r.tasks {
		c.tasks[awssdk.ToString(t.TaskArn)] = t
	}
	c.members, c.targets = membersOf(r), targetsOf(r)
	return c
}

// raw is the cache as one read's results, in a stable order.
func (c *cache) raw() *raw {
	r := c.last
	r.instances = sortedValues(c.inst)
	r.cis = sortedValues(c.cis)
	r.tasks = sortedValues(c.tasks)
	return &r
}

func sortedValues[T any](m map[string]T) []T {
	out := make([]T, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

func membersOf(r *raw) map[string]string {
	out := map[string]string{}
	for _, g := range r.groups {
		for _, in := range g.Instances {
			out[awssdk.ToString(in.InstanceId)] = awssdk.ToString(g.AutoScalingGroupName) + "/" + string(in.LifecycleState) + "/" + awssdk.ToString(in.HealthStatus)
		}
	}
	return out
}

func targetsOf(r *raw) map[string]string {
	out := map[string]string{}
	for arn, hs := range r.health {
		for _, h := range hs {
			out[arn+" "+awssdk.ToString(h.Target.Id)+":"+strconv.Itoa(int(awssdk.ToInt32(h.Target.Port)))] = string(h.TargetHealth.State)
		}
	}
	return out
}

// refresh brings the cache up to date with the calls of one round.
func (p *Provider) refresh(ctx context.Context, c *cache, dirty map[string]bool, now time.Time) error {
	r := raw{tgs: c.last.tgs, delay: c.last.delay}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return p.readGroups(gctx, &r) })
	g.Go(func() error { return p.readHealth(gctx, &r) })
	ecsWorkload := p.m.Workload == manifest.WorkloadECS
	if ecsWorkload {
		g.Go(func() error { return p.readServices(gctx, &r) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	members, targets := membersOf(&r), targetsOf(&r)
	hot, tasks, unplaced := c.hot(dirty, members, targets)
	fresh, err := p.describeInstances(ctx, slices.Sorted(maps.Keys(hot)))
	if err != nil {
		return err
	}
	for id := range hot {
		if in, ok := fresh[id]; ok {
			c.inst[id] = in
		} else {
			delete(c.inst, id) // terminated, or never the fleet's
		}
	}
	if ecsWorkload {
		if err := p.refreshECS(ctx, c, &r, hot, tasks, unplaced, now); err != nil {
			return err
		}
	}
	c.last.groups, c.last.activities, c.last.health, c.last.services = r.groups, r.activities, r.health, r.services
	c.members, c.targets = members, targets
	return nil
}

// hot lists the instances and the tasks (by ARN) to re-read, and says whether a target
// names an address the cache cannot place (a task it has not seen).
func (c *cache) hot(dirty map[string]bool, members, targets map[string]string) (hot, tasks map[string]bool, unplaced bool) {
	hot, tasks = map[string]bool{}, map[string]bool{}
	for arn := range c.tasks { // tasks the controller named or stopped, by ID (the end of the ARN)
		if dirty[arn[strings.LastIndexByte(arn, '/')+1:]] {
			tasks[arn] = true
		}
	}
	var drained map[string]string // container instance ARN → instance
	for id := range dirty {
		switch {
		case strings.HasPrefix(id, "i-"):
			hot[id] = true
		case strings.Contains(id, ":container-instance/"):
			if drained == nil {
				drained = c.instanceOfCI()
			}
			if in, ok := drained[id]; ok {
				hot[in] = true
			}
		}
	}
	for id, m := range members {
		if c.members[id] != m {
			hot[id] = true
		}
	}
	for id := range c.members {
		if _, ok := members[id]; !ok {
			hot[id] = true
		}
	}
	for id, in := range c.inst {
		switch in.State.Name {
		case ec2types.InstanceStateNamePending, ec2types.InstanceStateNameStopping, ec2types.InstanceStateNameShuttingDown:
			hot[id] = true
		case ec2types.InstanceStateNameRunning:
			if _, ok := c.cis[id]; !ok && c.ecs {
				hot[id] = true
			}
		}
	}
	byIP := c.addresses()
	mark := func(owner string) {
		if strings.HasPrefix(owner, "i-") {
			hot[owner] = true
		} else if owner != "" {
			tasks[owner] = true
		}
	}
	for k, state := range targets {
		if c.targets[k] == state {
			continue
		}
		id := targetID(k)
		switch owner, ok := byIP[id]; {
		case strings.HasPrefix(id, "i-"):
			hot[id] = true
		case ok:
			mark(owner)
		default:
			unplaced = true
		}
	}
	for k := range c.targets {
		if _, ok := targets[k]; !ok {
			if id := targetID(k); strings.HasPrefix(id, "i-") {
				hot[id] = true
			} else {
				mark(byIP[id])
			}
		}
	}
	return hot, tasks, unplaced
}

// targetID is the instance ID or address of a key of cache.targets.
func targetID(k string) string { return k[strings.IndexByte(k, ' ')+1 : strings.LastIndexByte(k, ':')] }

func (c *cache) instanceOfCI() map[string]string {
	out := make(map[string]string, len(c.cis))
	for id, ci := range c.cis {
		out[awssdk.ToString(ci.ContainerInstanceArn)] = id
	}
	return out
}

// addresses maps the private addresses the cache knows to their owner: an instance's
// address to the instance, an awsvpc task's to its instance or, on Fargate, its ARN.
func (c *cache) addresses() map[string]string {
	out := make(map[string]string, len(c.inst)+len(c.tasks))
	for id, in := range c.inst {
		out[awssdk.ToString(in.PrivateIpAddress)] = id
	}
	byCI := c.instanceOfCI()
	for arn, t := range c.tasks {
		if ip := TaskIP(t); ip != "" {
			out[ip] = cmp.Or(byCI[awssdk.ToString(t.ContainerInstanceArn)], arn)
		}
	}
	return out
}

// describeInstances reads the fleet's live instances among ids, by filter: an ID that is
// not the fleet's, or no longer exists, is left out instead of failing the call.
func (p *Provider) describeInstances(ctx context.Context, ids []string) (map[string]ec2types.Instance, error) {
	out := map[string]ec2types.Instance{}
	for _, c := range Chunks(ids, instanceFilterChunk) {
		err := p.instancesWhere(ctx, []ec2types.Filter{{Name: awssdk.String("instance-id"), Values: c}},
			func(in ec2types.Instance) { out[awssdk.ToString(in.InstanceId)] = in })
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// refreshECS re-reads the container instances and tasks of the hot instances, finds the
// container instances of new ones, and lists a service's tasks when the cache lacks some.
func (p *Provider) refreshECS(ctx context.Context, c *cache, r *raw, hot, want map[string]bool, unplaced bool, now time.Time) error {
	cluster := awssdk.String(p.n.Cluster())
	onCI := map[string][]string{} // container instance ARN → its live tasks in the cache
	for arn, t := range c.tasks {
		onCI[awssdk.ToString(t.ContainerInstanceArn)] = append(onCI[awssdk.ToString(t.ContainerInstanceArn)], arn)
	}
	var cis, unregistered []string
	for _, id := range slices.Sorted(maps.Keys(hot)) {
		in, alive := c.inst[id]
		ci, registered := c.cis[id]
		switch {
		case registered && !alive:
			for _, t := range onCI[awssdk.ToString(ci.ContainerInstanceArn)] {
				want[t] = true
			}
			delete(c.cis, id)
		case registered:
			cis = append(cis, awssdk.ToString(ci.ContainerInstanceArn))
		case alive && in.State.Name == ec2types.InstanceStateNameRunning:
			unregistered = append(unregistered, id)
		}
	}
	if len(unregistered) > 0 {
		known := c.instanceOfCI()
		for _, ch := range Chunks(unregistered, ciFilterChunk) {
			// The filter selects the new instances' container instances; an
			// implementation that ignores it lists them all, and those known are skipped.
			pages := ecs.NewListContainerInstancesPaginator(p.ecs, &ecs.ListContainerInstancesInput{Cluster: cluster,
				Filter: awssdk.String("ec2InstanceId in [" + strings.Join(ch, ",") + "]")})
			for pages.HasMorePages() {
				page, err := pages.NextPage(ctx)
				if err != nil {
					return err
				}
				for _, arn := range page.ContainerInstanceArns {
					if _, ok := known[arn]; !ok && !slices.Contains(cis, arn) {
						cis = append(cis, arn)
					}
				}
			}
		}
	}
	for _, ch := range Chunks(cis, describeChunk) {
		out, err := p.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: cluster, ContainerInstances: ch})
		if err != nil {
			return err
		}
		for _, ci := range out.ContainerInstances {
			arn := awssdk.ToString(ci.ContainerInstanceArn)
			c.cis[awssdk.ToString(ci.Ec2InstanceId)] = ci
			for _, t := range onCI[arn] {
				want[t] = true
			}
			if int(ci.RunningTasksCount+ci.PendingTasksCount) == len(onCI[arn]) {
				continue
			}
			listed, err := p.listTasks(ctx, &ecs.ListTasksInput{Cluster: cluster, ContainerInstance: &arn})
			if err != nil {
				return err
			}
			for _, t := range listed {
				want[t] = true
			}
		}
	}
	if (unplaced || c.countsDiffer(r.services)) && now.Sub(c.swept) >= sweepEvery {
		c.swept = now
		for _, s := range r.services {
			listed, err := p.listTasks(ctx, &ecs.ListTasksInput{Cluster: cluster, ServiceName: s.ServiceName})
			if err != nil {
				return err
			}
			for _, t := range listed {
				if _, ok := c.tasks[t]; !ok {
					want[t] = true
				}
			}
			for arn, t := range c.tasks { // told to stop since: their state is news
				if awssdk.ToString(t.Group) == "service:"+awssdk.ToString(s.ServiceName) && !slices.Contains(listed, arn) {
					want[arn] = true
				}
			}
		}
	}
	return p.describeTasks(ctx, c, slices.Sorted(maps.Keys(want)))
}

// describeTasks reads tasks by ARN into the cache; a stopped or missing one leaves it.
func (p *Provider) describeTasks(ctx context.Context, c *cache, arns []string) error {
	for _, ch := range Chunks(arns, describeChunk) {
		out, err := p.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: awssdk.String(p.n.Cluster()), Tasks: ch})
		if err != nil {
			return err
		}
		for _, arn := range ch {
			delete(c.tasks, arn)
		}
		for _, t := range out.Tasks {
			if awssdk.ToString(t.LastStatus) != string(spotfleet.TaskStopped) {
				c.tasks[awssdk.ToString(t.TaskArn)] = t
			}
		}
	}
	return nil
}

func (p *Provider) listTasks(ctx context.Context, in *ecs.ListTasksInput) ([]string, error) {
	var out []string
	pages := ecs.NewListTasksPaginator(p.ecs, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.TaskArns...)
	}
	return out, nil
}

// countsDiffer says whether ECS counts, for some service, other running and pending tasks
// than the cache holds.
func (c *cache) countsDiffer(services []ecstypes.Service) bool {
	live := map[string]int{}
	for _, t := range c.tasks {
		switch spotfleet.TaskStatus(awssdk.ToString(t.LastStatus)) {
		case spotfleet.TaskPending, spotfleet.TaskRunning, "PROVISIONING", "ACTIVATING":
			live[awssdk.ToString(t.Group)]++
		}
	}
	for _, s := range services {
		if live["service:"+awssdk.ToString(s.ServiceName)] != int(s.RunningCount+s.PendingCount) {
			return true
		}
	}
	return false
}
