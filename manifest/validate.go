package manifest

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/internal/spotdata"
	"github.com/spotfleet/spotfleet/internal/strictyaml"
)

// Limits of the names AWS gives the fleet's resources: a target group's name (fleet-service)
// is at most 32 characters, a launch template's (fleet-group) at most 128.
const (
	maxTargetGroupName    = 32
	maxLaunchTemplateName = 128
	maxServiceName        = 64 // a file name under up, a log line's prefix: readable
)

var (
	imageRef  = bounded(4096, `^[a-z0-9][a-z0-9.:-]*(/[a-z0-9._-]+)+(:[A-Za-z0-9_][A-Za-z0-9_.-]*|@sha256:[a-f0-9]+)$`)
	fleetName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)
	groupName = bounded(255, `^[A-Za-z0-9_-]+$`)
	// A service's name goes into its target group's (letters, digits and dashes, no dash
	// at either end), its task family, ECS's service name, its log group and, under up,
	// its processes' log file names: the strictest of them.
	serviceName = bounded(maxServiceName, `^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$`)
	region      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
)

// checker collects findings against the source positions of the decoded manifest.
type checker struct {
	src   *strictyaml.Source
	diags strictyaml.Diagnostics
	// The findings of each severity past the cap: counted apart, so that hundreds of
	// warnings neither crowd out an error nor read as one.
	errors, warnings   int
	droppedE, droppedW int
}

func (c *checker) errorf(path, hint, format string, args ...any) {
	if c.src.Failed(path) || c.full() {
		return
	}
	c.errors++
	c.diags = append(c.diags, c.src.At(path, strictyaml.Error, hint, format, args...))
}

func (c *checker) warnf(path, hint, format string, args ...any) {
	if c.src.Failed(path) {
		return
	}
	if c.warnings >= strictyaml.MaxDiagnostics {
		c.droppedW++
		return
	}
	c.warnings++
	c.diags = append(c.diags, c.src.At(path, strictyaml.Warning, hint, format, args...))
}

// full says whether the errors reached the cap (strictyaml.Capped keeps no more), and
// counts the one not kept: a file with thousands of mistakes must not cost a did-you-mean
// search each.
func (c *checker) full() bool {
	if c.errors < strictyaml.MaxDiagnostics {
		return false
	}
	c.droppedE++
	return true
}

// unknownRef reports a name that does not exist among the known ones, with a suggestion.
func (c *checker) unknownRef(path, what, name string, known []string) {
	if c.full() {
		return
	}
	hint := "known: " + strings.Join(known, ", ")
	if len(known) > 20 {
		hint = ""
	}
	if s := strictyaml.Suggest(name, known); s != "" {
		hint = fmt.Sprintf("did you mean %q?", s)
	}
	c.errorf(path, hint, "%s %q does not exist", what, name)
}

func validate(m *Manifest, src *strictyaml.Source) strictyaml.Diagnostics {
	c := &checker{src: src}
	if !fleetName.MatchString(m.Name) || strings.HasSuffix(m.Name, "-") {
		c.errorf("name", "lowercase letters, digits and dashes, starting with a letter, at most 20 characters: it prefixes names AWS limits to 32", "name %q is not a valid fleet name", m.Name)
	}
	if !region.MatchString(m.Region) {
		c.errorf("region", "such as us-east-1", "region %q is not a region name", m.Region)
	}
	c.capacity(m)
	c.fallback(m)
	c.workload(m)
	c.aws(m.AWS)
	c.controller(m)
	seenNames := map[string]string{}
	ports := map[int][]listenerUser{}
	for i := range m.Services {
		p := fmt.Sprintf("services[%d]", i)
		s := &m.Services[i]
		if prev, dup := seenNames[s.Name]; dup {
			c.errorf(p+".name", "", "service name %q is already used by %s", s.Name, prev)
		}
		seenNames[s.Name] = p
		if s.Name == ControllerService {
			c.errorf(p+".name", "choose another name", "service name %q is the controller's on AWS", s.Name)
		}
		c.serviceName(m, s, p)
		c.service(m, s, p, ports)
	}
	if m.Instances != nil {
		c.serviceName(m, m.Instances, "instances")
		c.service(m, m.Instances, "instances", ports)
	}
	if procs, _ := m.LocalPeak(); procs > DefaultMaxProcesses {
		path := "services"
		if m.Workload == WorkloadInstances {
			path = "capacity"
		}
		c.warnf(path, "fine on AWS; to run it locally, lower the counts or give up --max-processes and the memory (about 10 MB a process)",
			"spotfleet up would run up to %d processes at once, over its default budget of %d", procs, DefaultMaxProcesses)
	}
	c.listeners(ports)
	for i, n := range m.Interruptions.Notify {
		p := fmt.Sprintf("interruptions.notify[%d].webhook", i)
		if u, err := url.Parse(n.Webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.errorf(p, "such as https://hooks.example.com/spot", "webhook %q is not an http or https URL", n.Webhook)
		}
	}
	src.Dropped += c.droppedE
	src.DroppedWarnings += c.droppedW
	return c.diags
}

func (c *checker) capacity(m *Manifest) {
	// Under ecs, each service's strategy says what is missing (a group it names, or a
	// strategy at all when it could run on Fargate).
	if len(m.Capacity) == 0 && (m.Workload != WorkloadECS || len(m.Services) == 0) {
		c.errorf("capacity", "add a capacity group (under workload ecs, services may run on FARGATE or FARGATE_SPOT instead)", "capacity needs at least one group")
	}
	seen := map[string]bool{}
	for i := range m.Capacity {
		g := &m.Capacity[i]
		p := fmt.Sprintf("capacity[%d]", i)
		switch {
		case !groupName.MatchString(g.Name):
			c.errorf(p+".name", "letters, digits, dashes and underscores", "group name %q is not valid", g.Name)
		case len(m.Name)+1+len(g.Name) > maxLaunchTemplateName:
			c.errorf(p+".name", fmt.Sprintf("at most %d characters with the fleet's name %q", maxLaunchTemplateName-len(m.Name)-1, m.Name),
				"group name %q is too long: its launch template %s-%s would be longer than AWS's %d characters", clipName(g.Name), m.Name, clipName(g.Name), maxLaunchTemplateName)
		case hasAnyPrefix(strings.ToLower(g.Name), "aws", "ecs", "fargate"):
			c.errorf(p+".name", "ECS reserves these prefixes for its own capacity providers", "group name %q may not start with aws, ecs or fargate", g.Name)
		case seen[g.Name]:
			c.errorf(p+".name", "", "group name %q is used twice", g.Name)
		}
		seen[g.Name] = true
		c.instanceTypes(g, p)
		zones := map[string]bool{}
		for j, z := range g.Zones {
			zp := fmt.Sprintf("%s.zones[%d]", p, j)
			if !strings.HasPrefix(z, m.Region) || len(z) != len(m.Region)+1 || z[len(z)-1] < 'a' || z[len(z)-1] > 'z' {
				c.errorf(zp, fmt.Sprintf("zones of %s are %sa, %sb, ...", m.Region, m.Region, m.Region), "zone %q is not a zone of region %s", z, m.Region)
			}
			if zones[z] {
				c.errorf(zp, "", "zone %q is listed twice", z)
			}
			zones[z] = true
		}
		if g.MinSize > g.MaxSize {
			c.errorf(p+".minSize", "", "minSize %d is larger than maxSize %d", g.MinSize, g.MaxSize)
		} else if g.DesiredCapacity < g.MinSize || g.DesiredCapacity > g.MaxSize {
			c.errorf(p+".desiredCapacity", "", "desiredCapacity %d is outside minSize..maxSize (%d..%d)", g.DesiredCapacity, g.MinSize, g.MaxSize)
		}
		if !g.AllOnDemand() {
			if n := len(g.InstanceTypes); n > 0 && n < 3 {
				c.warnf(p+".instanceTypes", "diversify across 3 or more types of one size so one pool's shortage does not empty the group", "Spot group %q has only %d instance type(s)", g.Name, len(g.InstanceTypes))
			}
			if len(g.Zones) < 2 {
				c.warnf(p+".zones", "use 2 or more zones: a zone's Spot capacity can go from all to none within hours", "Spot group %q uses only %d zone", g.Name, len(g.Zones))
			}
		}
	}
}

func (c *checker) instanceTypes(g *CapacityGroup, p string) {
	if len(g.InstanceTypes) == 0 {
		c.errorf(p+".instanceTypes", "list 3 or more types of one size, such as [m5.large, m5a.large, m6i.large]", "group %q has no instance types", g.Name)
		return
	}
	seen := map[string]bool{}
	archs := map[string]bool{}
	for j, it := range g.InstanceTypes {
		tp := fmt.Sprintf("%s.instanceTypes[%d]", p, j)
		if seen[it.Type] {
			c.errorf(tp, "", "instance type %q is listed twice", it.Type)
		}
		seen[it.Type] = true
		spec, ok := spotdata.Lookup(it.Type)
		if !ok {
			if c.full() {
				continue
			}
			hint := "see the types of the region in the EC2 console"
			if s := strictyaml.Suggest(it.Type, spotdata.Names()); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			c.errorf(tp, hint, "unknown instance type %q", it.Type)
			continue
		}
		archs[spec.Arch] = true
	}
	if len(archs) > 1 {
		c.warnf(p+".instanceTypes", "one AMI boots one architecture: split the group by architecture", "group %q mixes arm64 and x86_64 instance types", g.Name)
	}
}

func (c *checker) fallback(m *Manifest) {
	f := m.Fallback
	if f == nil {
		return
	}
	if c.fargateFallback(f) {
		return
	}
	names := groupNames(m)
	from, okFrom := m.Group(f.From)
	to, okTo := m.Group(f.To)
	if !okFrom {
		c.unknownRef("fallback.from", "capacity group", f.From, names)
	}
	if !okTo {
		c.unknownRef("fallback.to", "capacity group", f.To, names)
	}
	if okFrom && okTo && f.From == f.To {
		c.errorf("fallback.to", "name an On-Demand group", "fallback.to is the same group as fallback.from")
		return
	}
	if okFrom && from.AllOnDemand() {
		c.warnf("fallback.from", "", "fallback.from %q is all On-Demand: it has no Spot shortfall to cover", f.From)
	}
	if okTo && !to.AllOnDemand() {
		c.warnf("fallback.to", "set onDemandPercentageAboveBaseCapacity: 100 on it", "fallback.to %q launches Spot too, so the cover may itself be short", f.To)
	}
	if launch := NormalLaunch(m.Workload); f.After.D() < launch {
		c.warnf("fallback.after", fmt.Sprintf("at least %s, or capacity that is only booting gets covered too; refused launches are covered at once whatever after says", Duration(launch)),
			"fallback.after %s is shorter than a normal launch", f.After)
	}
}

// Times a normal launch takes, for the fallback: an instance boots and registers in about a
// minute (the emulator's default boot time), and under ECS managed scaling asks for it only
// at its next one-minute reading.
const (
	instanceBoot         = time.Minute
	managedScalingPeriod = time.Minute
)

// NormalLaunch is how long capacity that is only on its way may take before a shortfall
// without a refused launch is late: one boot, plus one managed-scaling reading under ecs.
func NormalLaunch(workload Workload) time.Duration {
	if workload == WorkloadECS {
		return managedScalingPeriod + instanceBoot
	}
	return instanceBoot
}

// serviceName checks a service's name against the rules of every place it goes, so that a
// name that would fail apply part-way, or reach the file system as a path, fails here.
func (c *checker) serviceName(m *Manifest, s *Service, p string) {
	switch {
	case s.Name == "":
		return // required: reported by decoding
	case !serviceName.MatchString(s.Name):
		c.errorf(p+".name", fmt.Sprintf("letters, digits and dashes, not at either end, at most %d characters: it names the service's target group, task family and files", maxServiceName),
			"service name %q is not valid", clipName(s.Name))
	case s.LoadBalancer != nil && len(m.TargetGroupName(*s)) > maxTargetGroupName:
		c.errorf(p+".name", fmt.Sprintf("at most %d characters with the fleet's name %q", maxTargetGroupName-len(m.Name)-1, m.Name),
			"service name %q is too long: its target group %s would be longer than AWS's %d characters", s.Name, m.TargetGroupName(*s), maxTargetGroupName)
	}
}

// clipName shortens a name quoted in a message.
func clipName(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func (c *checker) workload(m *Manifest) {
	switch m.Workload {
	case WorkloadECS:
		if len(m.Services) == 0 {
			c.errorf("services", "add a services: list, or set workload: instances", "workload ecs needs at least one service")
		}
		if m.Instances != nil {
			c.errorf("instances", "use services: under workload ecs, or set workload: instances", "instances applies only under workload: instances")
		}
	case WorkloadInstances:
		if m.Instances == nil {
			c.errorf("workload", "add an instances: block with the service to run on each instance", "workload instances needs an instances: service")
		}
		if len(m.Services) > 0 {
			c.errorf("services", "move the service under instances:, or set workload: ecs", "services applies only under workload: ecs")
		}
		if m.Instances != nil && m.Instances.DesiredCount != 0 {
			c.errorf("instances.desiredCount", "size the capacity groups with desiredCapacity instead", "desiredCount does not apply under workload: instances")
		}
		if m.Instances != nil && len(m.Instances.CapacityProviderStrategy) > 0 {
			c.errorf("instances.capacityProviderStrategy", "the service runs on every instance of every group", "capacityProviderStrategy does not apply under workload: instances")
		}
	}
}

func (c *checker) service(m *Manifest, s *Service, p string, ports map[int][]listenerUser) {
	if s.Image == "" && len(s.Command) == 0 {
		c.errorf(p, "image runs on AWS, command on the local emulator", "service %q needs an image or a command", s.Name)
	}
	c.command(s, p)
	if m.Workload == WorkloadECS {
		c.strategy(m, s, p)
	}
	if s.MinimumHealthyPercent == 100 && s.MaximumPercent == 100 {
		c.warnf(p+".maximumPercent", "raise maximumPercent (200 is the ECS default)", "maximumPercent 100 with minimumHealthyPercent 100 leaves no room to start a replacement before a task stops")
	}
	if m.Workload == WorkloadECS && s.DesiredCount == 1 && c.usesSpot(m, s) {
		c.warnf(p+".desiredCount", "run 2 or more tasks", "desiredCount 1 on Spot: an interruption takes the only task")
	}
	if lb := s.LoadBalancer; lb != nil {
		lp := p + ".loadBalancer"
		ports[lb.ListenerPort] = append(ports[lb.ListenerPort], listenerUser{lp, lb})
		c.loadBalancer(lb, lp)
		if lb.HealthCheck.Timeout >= lb.HealthCheck.Interval {
			c.errorf(lp+".healthCheck.timeout", "", "healthCheck timeout %s must be less than its interval %s", lb.HealthCheck.Timeout, lb.HealthCheck.Interval)
		}
		// On Fargate Spot the SIGTERM comes with the warning: the drain and the stop overlap.
		if total := lb.DeregistrationDelay.D() + s.StopTimeout.D(); total > spotfleet.SpotNotice && !s.OnFargate() {
			c.warnf(lp+".deregistrationDelay", "the controller will clamp the drain to the time left; lower deregistrationDelay to keep it whole", "deregistrationDelay %s plus stopTimeout %s is %s, longer than the 2-minute Spot notice", lb.DeregistrationDelay, s.StopTimeout, Duration(total))
		}
	}
	if a := s.Autoscaling; a != nil {
		c.autoscaling(s, a, p+".autoscaling", m.Workload)
	}
	c.secrets(m, s, p)
	c.fits(m, s, p)
	c.fargate(s, p)
}

func (c *checker) strategy(m *Manifest, s *Service, p string) {
	names := append(groupNames(m), Fargate, FargateSpot)
	seen := map[string]bool{}
	bases, weight := 0, 0
	if len(s.CapacityProviderStrategy) == 0 && len(m.Capacity) == 0 {
		c.errorf(p, "such as capacityProviderStrategy: [{capacityProvider: FARGATE_SPOT, weight: 1}]", "service %q needs a capacityProviderStrategy: the fleet has no capacity group", s.Name)
	}
	fargate := s.OnFargate()
	for i, st := range s.CapacityProviderStrategy {
		sp := fmt.Sprintf("%s.capacityProviderStrategy[%d]", p, i)
		_, group := m.Group(st.CapacityProvider)
		switch {
		case IsFargate(st.CapacityProvider):
		case !group:
			c.unknownRef(sp+".capacityProvider", "capacity provider", st.CapacityProvider, names)
		case fargate:
			c.errorf(sp+".capacityProvider", "ECS takes either FARGATE and FARGATE_SPOT or capacity groups in one strategy: give the service one kind",
				"capacity group %q in a strategy with Fargate providers", st.CapacityProvider)
		}
		if seen[st.CapacityProvider] {
			c.errorf(sp+".capacityProvider", "", "capacity provider %q appears twice in the strategy", st.CapacityProvider)
		}
		seen[st.CapacityProvider] = true
		if st.Base > 0 {
			bases++
			if bases > 1 {
				c.errorf(sp+".base", "ECS allows a base on one provider of a strategy", "a second provider sets base")
			}
		}
		weight += st.Weight
	}
	if len(s.CapacityProviderStrategy) > 0 && weight == 0 {
		c.errorf(p+".capacityProviderStrategy", "", "every weight is 0: give at least one provider a weight")
	}
}

func (c *checker) autoscaling(s *Service, a *Autoscaling, p string, workload Workload) {
	if a.MinCount > a.MaxCount {
		c.errorf(p+".minCount", "", "minCount %d is larger than maxCount %d", a.MinCount, a.MaxCount)
	} else if workload == WorkloadECS && (s.DesiredCount < a.MinCount || s.DesiredCount > a.MaxCount) {
		c.errorf(p, "", "desiredCount %d is outside minCount..maxCount (%d..%d)", s.DesiredCount, a.MinCount, a.MaxCount)
	}
	metrics := map[string]bool{}
	for i, t := range a.TargetTracking {
		tp := fmt.Sprintf("%s.targetTracking[%d]", p, i)
		if metrics[t.Metric] {
			c.errorf(tp+".metric", "", "metric %s has two policies", t.Metric)
		}
		metrics[t.Metric] = true
		if t.Metric == "RequestCountPerTarget" && s.LoadBalancer == nil {
			c.errorf(tp+".metric", "add a loadBalancer to the service", "RequestCountPerTarget needs a load balancer")
		}
		if t.Metric != "RequestCountPerTarget" && t.Target > 100 {
			c.errorf(tp+".target", "", "target %g is above 100 percent", t.Target)
		}
	}
}

// fits checks that the task fits on at least one instance type of each group it may use.
func (c *checker) fits(m *Manifest, s *Service, p string) {
	groups := m.Capacity
	if m.Workload == WorkloadECS {
		groups = nil
		for _, st := range s.CapacityProviderStrategy {
			if g, ok := m.Group(st.CapacityProvider); ok {
				groups = append(groups, *g)
			}
		}
	}
	for _, g := range groups {
		fit := len(g.InstanceTypes) == 0 // reported elsewhere
		for _, it := range g.InstanceTypes {
			spec, ok := spotdata.Lookup(it.Type)
			fit = fit || !ok || (spec.VCPU*1024 >= s.CPU && spec.MemoryMiB >= s.Memory)
		}
		if !fit {
			c.errorf(p+".memory", "lower cpu/memory or add larger instance types", "a task of cpu %d and memory %d MiB fits on no instance type of group %q", s.CPU, s.Memory, g.Name)
		}
	}
}

func (c *checker) usesSpot(m *Manifest, s *Service) bool {
	for _, st := range s.CapacityProviderStrategy {
		if g, ok := m.Group(st.CapacityProvider); (ok && !g.AllOnDemand() || st.CapacityProvider == FargateSpot) && st.Weight > 0 {
			return true
		}
	}
	return false
}

func groupNames(m *Manifest) []string {
	out := make([]string, len(m.Capacity))
	for i, g := range m.Capacity {
		out[i] = g.Name
	}
	return out
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

var awsID = regexp.MustCompile(`^(vpc|subnet|ami)-[0-9a-f]{8,17}$`)

func (c *checker) aws(a AWS) {
	check := func(path, prefix, id string) {
		if !awsID.MatchString(id) || !strings.HasPrefix(id, prefix+"-") {
			c.errorf(path, "such as "+prefix+"-0123456789abcdef0", "%q is not a %s ID", id, prefix)
		}
	}
	if a.VPC != "" {
		check("aws.vpc", "vpc", a.VPC)
	}
	for i, sn := range a.Subnets {
		check(fmt.Sprintf("aws.subnets[%d]", i), "subnet", sn)
	}
	if a.AMI != "" {
		check("aws.ami", "ami", a.AMI)
	}
	if len(a.Subnets) > 0 && a.VPC == "" {
		c.errorf("aws.subnets", "name the VPC they belong to", "aws.subnets without aws.vpc")
	}
}

// controller checks what apply's controller service needs.
func (c *checker) controller(m *Manifest) {
	ctl := m.AWS.Controller
	if ctl.Image != "" && !imageRef.MatchString(ctl.Image) {
		c.errorf("aws.controller.image", "such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/web-controller:v1.2.3", "%q is not an image reference", ctl.Image)
	}
	if !ctl.Deploy {
		return
	}
	// The agents download their binary from the controller, which runs on X86_64.
	for i, g := range m.Capacity {
		for _, it := range g.InstanceTypes {
			if spec, ok := spotdata.Lookup(it.Type); ok && spec.Arch == "arm64" {
				c.warnf(fmt.Sprintf("capacity[%d].instanceTypes", i), "their interruptions still come from EventBridge; run spotfleet agent yourself on them for the second path",
					"group %q has arm64 types: the agent apply installs is x86_64 only, so arm64 instances run none", g.Name)
				break
			}
		}
	}
}

// command checks what can be known of a process before it starts: its program is named, and
// no argument or variable holds what the operating system cannot pass (NUL, or "=" in a
// variable's name).
func (c *checker) command(s *Service, p string) {
	if len(s.Command) > 0 && strings.TrimSpace(s.Command[0]) == "" {
		c.errorf(p+".command[0]", "name the program to run, such as [python3, -m, http.server]", "the command's program is empty")
	}
	for i, arg := range s.Command {
		if strings.ContainsRune(arg, 0) {
			c.errorf(fmt.Sprintf("%s.command[%d]", p, i), "", "argument %d holds a NUL character, which no process can receive", i)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Environment)) {
		kp := p + ".environment." + k
		switch {
		case k == "":
			c.errorf(kp, "", "an environment variable has an empty name")
		case strings.ContainsAny(k, "=\x00"):
			c.errorf(kp, "names are letters, digits and underscores", "environment variable name %q holds \"=\" or NUL", k)
		case strings.ContainsRune(s.Environment[k], 0):
			c.errorf(kp, "", "environment variable %s holds a NUL character", k)
		}
	}
}
