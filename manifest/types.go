// Package manifest is spotfleet.yaml: its types, defaults, strict decoding and validation.
//
// The struct tags below are the one place each field is documented: they drive decoding
// (unknown fields, types, enums, ranges), defaults, `spotfleet schema` and `spotfleet init`.
// Field names follow eksctl for capacity and ECS for services; they are a contract.
package manifest

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/internal/strictyaml"
)

// Duration is a Go duration such as "30s" or "5m".
type Duration = strictyaml.Duration

// Workload is how the fleet runs its service.
type Workload string

const (
	WorkloadECS       Workload = "ecs"       // tasks on container instances
	WorkloadInstances Workload = "instances" // the service runs once on each instance, which is the target (S2)
)

// RebalanceAction is what a rebalance recommendation does.
type RebalanceAction string

const (
	RebalanceReplace RebalanceAction = "replace"
	RebalanceDrain   RebalanceAction = "drain"
	RebalanceIgnore  RebalanceAction = "ignore"
)

// AllocationStrategy spreads a group's Spot instances over its pools, as the Auto Scaling
// API spells it.
type AllocationStrategy string

const (
	LowestPrice            AllocationStrategy = "lowest-price"
	Diversified            AllocationStrategy = "diversified"
	CapacityOptimized      AllocationStrategy = "capacity-optimized"
	PriceCapacityOptimized AllocationStrategy = "price-capacity-optimized"
)

// Manifest is the whole of spotfleet.yaml.
type Manifest struct {
	Name          string          `yaml:"name" required:"true" doc:"Names every resource of the fleet (cluster, groups, load balancer): lowercase letters, digits and dashes, at most 20 characters."`
	Region        string          `yaml:"region" default:"us-east-1" doc:"AWS region. The local emulator prices instances with us-east-1 data whatever the region."`
	Workload      Workload        `yaml:"workload" default:"ecs" enum:"ecs,instances" doc:"ecs: services run as ECS tasks on container instances. instances: the service runs once on each instance and the instance is the load balancer target (S2)."`
	Capacity      []CapacityGroup `yaml:"capacity,omitempty" doc:"Capacity groups. Each is an Auto Scaling group and, under workload ecs, a capacity provider of the same name. Needed unless every service runs on Fargate (FARGATE, FARGATE_SPOT)."`
	Fallback      *Fallback       `yaml:"fallback,omitempty" doc:"Cover a Spot shortfall with On-Demand capacity within seconds, and return to Spot when it recovers. Absent: no fallback (what ECS and Auto Scaling do alone)."`
	Rebalance     RebalanceAction `yaml:"rebalance" default:"replace" enum:"replace,drain,ignore" doc:"What a rebalance recommendation does: replace starts capacity in another pool and drains the at-risk instance once it is healthy; drain drains at once; ignore only records it."`
	Services      []Service       `yaml:"services,omitempty" doc:"The services, under workload ecs."`
	Instances     *Service        `yaml:"instances,omitempty" doc:"The service run on every instance, under workload instances. capacityProviderStrategy and desiredCount do not apply: the groups' desiredCapacity sizes it."`
	Interruptions Interruptions   `yaml:"interruptions" doc:"What happens around an interruption besides draining."`
	AWS           AWS             `yaml:"aws" doc:"Where the fleet goes on AWS (spotfleet apply); the local emulator ignores it."`
	Local         Local           `yaml:"local" doc:"What only the local emulator (spotfleet up) uses; AWS ignores it."`
}

// Local holds what the emulator needs that AWS takes from elsewhere.
type Local struct {
	EnvFile string `yaml:"envFile,omitempty" doc:"A file of KEY=VALUE lines (# comments) giving the services' secrets their values on the emulator, in place of SSM Parameter Store and Secrets Manager; relative to the manifest. spotfleet up --env-file overrides it." example:"secrets.env"`
}

// AWS holds what provisioning on AWS needs beyond the fleet itself.
type AWS struct {
	VPC        string        `yaml:"vpc,omitempty" doc:"The VPC (vpc-...). Default: the region's default VPC." example:"vpc-0123456789abcdef0"`
	Subnets    []string      `yaml:"subnets,omitempty" doc:"Subnets (subnet-...) of the VPC, one or more per zone the groups use. Default: the VPC's subnets in those zones." example:"[subnet-0123456789abcdef0, subnet-0fedcba9876543210]"`
	AMI        string        `yaml:"ami,omitempty" doc:"The instances' image (ami-...). Default: the ECS-optimized Amazon Linux 2023 AMI (workload ecs) or Amazon Linux 2023 (workload instances), from their public SSM parameters." example:"ami-0123456789abcdef0"`
	Controller AWSController `yaml:"controller" doc:"The controller on AWS: apply runs it as an ECS service on FARGATE (never Spot), and the instances' agents report to it."`
}

// AWSController is how apply deploys the controller.
type AWSController struct {
	Deploy   bool   `yaml:"deploy" default:"true" doc:"Deploy the controller as the ECS service <name>-controller. false: run spotfleet controller yourself (docs/aws.md); the agents are then not installed either."`
	Image    string `yaml:"image,omitempty" doc:"A controller image to run (as spotfleet image pushes it) instead of the one apply builds from this spotfleet and pushes to the repository <name>-controller." example:"123456789012.dkr.ecr.us-east-1.amazonaws.com/web-controller:v1.2.3"`
	Replicas int    `yaml:"replicas" default:"2" min:"1" max:"5" doc:"Controller tasks, spread over zones. They share a lease: one acts, the others take over within seconds of its end."`
}

// CapacityGroup is one Auto Scaling group with a mixed instances policy.
type CapacityGroup struct {
	Name                                string             `yaml:"name" required:"true" doc:"The group's name, unique in the manifest; under ecs also its capacity provider's name."`
	InstanceTypes                       []InstanceType     `yaml:"instanceTypes" required:"true" doc:"Instance types to launch, as names (m5.large) or as {type: m5.large, weight: 2} where weight is the capacity units one instance counts for. Diversify: 3 or more types of one size."`
	Zones                               []string           `yaml:"zones,omitempty" doc:"Availability zones. Default: the region's a, b and c zones."`
	MinSize                             int                `yaml:"minSize" default:"0" min:"0" max:"10000" doc:"Fewest instances (or capacity units, with weights)."`
	MaxSize                             int                `yaml:"maxSize" default:"10" min:"0" max:"10000" doc:"Most instances (or capacity units, with weights)."`
	DesiredCapacity                     int                `yaml:"desiredCapacity" min:"0" max:"10000" doc:"Starting size. Under ecs, managed scaling sets it afterwards. Default: minSize."`
	OnDemandBaseCapacity                int                `yaml:"onDemandBaseCapacity" default:"0" min:"0" max:"10000" doc:"The first units of the group are On-Demand."`
	OnDemandPercentageAboveBaseCapacity int                `yaml:"onDemandPercentageAboveBaseCapacity" default:"0" min:"0" max:"100" doc:"Percent On-Demand above the base, rounded toward On-Demand. 0 is all Spot, 100 all On-Demand."`
	SpotAllocationStrategy              AllocationStrategy `yaml:"spotAllocationStrategy" default:"price-capacity-optimized" enum:"lowest-price,diversified,capacity-optimized,price-capacity-optimized" doc:"How Spot instances are spread over the pools (instance type x zone)."`
	TargetCapacityPercent               int                `yaml:"targetCapacityPercent" default:"100" min:"1" max:"100" doc:"ECS managed scaling target: the share of the group's instances that tasks need. Below 100 keeps spare instances for fast placement."`
}

// InstanceType is an instance type with its weight in capacity units.
type InstanceType struct {
	Type   string `yaml:"type" required:"true" doc:"An EC2 instance type such as m5.large."`
	Weight int    `yaml:"weight" default:"1" min:"1" max:"999" doc:"Capacity units one instance of this type counts for."`
}

// DecodeScalar accepts the short form: a bare instance type name, weight 1.
func (t *InstanceType) DecodeScalar(s string) error {
	t.Type, t.Weight = s, 1
	return nil
}

// MarshalYAML writes the short form when the weight is 1.
func (t InstanceType) MarshalYAML() (any, error) {
	if t.Weight <= 1 {
		return t.Type, nil
	}
	return map[string]any{"type": t.Type, "weight": t.Weight}, nil
}

// Fallback moves a Spot shortfall onto another group and back.
type Fallback struct {
	From        string   `yaml:"from" required:"true" doc:"The Spot group whose shortfall is covered, or FARGATE_SPOT."`
	To          string   `yaml:"to" required:"true" doc:"The group that covers it, normally all On-Demand; FARGATE when from is FARGATE_SPOT."`
	After       Duration `yaml:"after" default:"3m" min:"0s" max:"1h" doc:"How long a shortfall without a refused launch (the from group below its desired capacity, tasks PROVISIONING beyond what its booting instances hold) lasts before it is covered: longer than a normal launch (one boot, plus one managed-scaling reading under ecs), so that a fleet that is only starting is not covered. A capacity error (InsufficientInstanceCapacity and the like) is covered at once."`
	ReturnAfter Duration `yaml:"returnAfter" default:"5m" min:"0s" max:"24h" doc:"How long after the last sign of shortage (a refused launch, more capacity lost) the cover is given back. It goes step by step, each unit only once the Spot capacity replacing it is healthy; a pool that fails again restarts the clock."`
}

// Service is an ECS service, or under workload instances the process run on each instance.
type Service struct {
	Name                     string                     `yaml:"name" required:"true" doc:"The service's name, unique in the manifest."`
	Image                    string                     `yaml:"image,omitempty" doc:"Container image, used on AWS."`
	Command                  []string                   `yaml:"command,omitempty" doc:"The process each task runs on the local emulator (and the container command on AWS when set). It gets HOST and PORT to listen on."`
	Environment              map[string]string          `yaml:"environment,omitempty" doc:"Environment variables for the task."`
	Secrets                  []Secret                   `yaml:"secrets,omitempty" doc:"Environment variables whose values ECS reads, when a task starts, from SSM Parameter Store or Secrets Manager (the task execution role is allowed exactly these). On the emulator they come from local.envFile." example:"[{name: DB_PASSWORD, valueFrom: \"arn:aws:ssm:us-east-1:123456789012:parameter/web/db-password\"}]"`
	TaskRoleArn              string                     `yaml:"taskRoleArn,omitempty" doc:"On AWS, the IAM role (arn:aws:iam::ACCOUNT:role/NAME) whose permissions the task's code has. Absent: none." example:"arn:aws:iam::123456789012:role/web-task"`
	Logs                     Logs                       `yaml:"logs" doc:"Where the task's output goes on AWS (the awslogs driver); the emulator keeps it in its log directory."`
	Port                     int                        `yaml:"port" default:"8080" min:"1" max:"65535" doc:"The port the service listens on."`
	CPU                      int                        `yaml:"cpu" default:"256" min:"128" max:"16384" doc:"CPU units reserved per task (1024 = 1 vCPU)."`
	Memory                   int                        `yaml:"memory" default:"512" min:"6" max:"122880" doc:"Memory reserved per task, MiB."`
	DesiredCount             int                        `yaml:"desiredCount" default:"2" min:"0" max:"5000" doc:"Tasks to run. Two or more keep a service up while one is interrupted."`
	MinimumHealthyPercent    int                        `yaml:"minimumHealthyPercent" default:"100" min:"0" max:"100" doc:"During replacements, the share of desiredCount that must stay running and healthy."`
	MaximumPercent           int                        `yaml:"maximumPercent" default:"200" min:"100" max:"1000" doc:"During replacements, the most tasks that may run, as a share of desiredCount."`
	StopTimeout              Duration                   `yaml:"stopTimeout" default:"30s" min:"0s" max:"120s" doc:"Time between SIGTERM and SIGKILL when a task stops (ECS_CONTAINER_STOP_TIMEOUT)."`
	HealthCheckGracePeriod   Duration                   `yaml:"healthCheckGracePeriod" default:"0s" min:"0s" max:"2147483647s" doc:"How long failing load balancer health checks are ignored after a task starts."`
	CapacityProviderStrategy []CapacityProviderStrategy `yaml:"capacityProviderStrategy,omitempty" doc:"How tasks are spread over capacity providers: base tasks on the one provider that sets it, the rest by weight. A provider is a capacity group, or FARGATE or FARGATE_SPOT (tasks with no instance, awsvpc networking); ECS does not mix the two kinds in one strategy. Default: an all-On-Demand group base 1 weight 1 and the Spot groups weight 1 (S0), or every group weight 1."`
	CPUArchitecture          string                     `yaml:"cpuArchitecture" default:"X86_64" enum:"X86_64,ARM64" doc:"The task's CPU architecture on Fargate (its runtimePlatform; Linux). FARGATE_SPOT runs X86_64 only. On capacity groups the instance types decide."`
	LoadBalancer             *LoadBalancer              `yaml:"loadBalancer,omitempty" doc:"An Application Load Balancer in front of the service. Absent: the service gets no traffic from a load balancer."`
	Autoscaling              *Autoscaling               `yaml:"autoscaling,omitempty" doc:"Target tracking on the task count (on the Spot group's instance count under workload instances)."`
}

// Secret is an environment variable read from a secret store when a task starts.
type Secret struct {
	Name      string `yaml:"name" required:"true" doc:"The environment variable."`
	ValueFrom string `yaml:"valueFrom" required:"true" doc:"The ARN of an SSM parameter (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME) or of a Secrets Manager secret (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME, optionally :KEY:: for one JSON key)."`
}

// Logs is a service's CloudWatch Logs configuration.
type Logs struct {
	Group         string `yaml:"group,omitempty" doc:"The log group. Default: /spotfleet/<name>/<service>. apply creates it with the fleet's tag, and delete removes it." example:"/spotfleet/web/web"`
	RetentionDays int    `yaml:"retentionDays" default:"30" doc:"How long CloudWatch keeps the logs: one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 days."`
}

// CapacityProviderStrategy is one item of an ECS capacity-provider strategy.
type CapacityProviderStrategy struct {
	CapacityProvider string `yaml:"capacityProvider" required:"true" doc:"A capacity group's name, or FARGATE or FARGATE_SPOT."`
	Base             int    `yaml:"base" default:"0" min:"0" max:"100000" doc:"Tasks placed on this provider first. Only one provider may set it."`
	Weight           int    `yaml:"weight" default:"1" min:"0" max:"1000" doc:"Share of the tasks above the base."`
}

// LoadBalancer is a listener, a target group and its health check.
type LoadBalancer struct {
	ListenerPort        int         `yaml:"listenerPort" default:"8080" min:"1" max:"65535" doc:"The listener's port (127.0.0.1 on the emulator). Services with the same listenerPort share its listener, told apart by hosts and paths."`
	Protocol            string      `yaml:"protocol" default:"HTTP" enum:"HTTP,HTTPS" doc:"The listener's protocol. HTTPS needs certificateArn on AWS; the emulator serves a self-signed certificate it makes for the run."`
	CertificateArn      string      `yaml:"certificateArn,omitempty" doc:"With HTTPS, the ACM certificate (arn:aws:acm:REGION:ACCOUNT:certificate/ID) the listener presents on AWS." example:"arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"`
	RedirectHTTPFrom    int         `yaml:"redirectHttpFrom,omitempty" doc:"With HTTPS, a port where an HTTP listener answers every request with a 301 to the same URL over HTTPS (80, or 8080 locally)." example:"80"`
	Hosts               []string    `yaml:"hosts,omitempty" doc:"Route to this service only requests for these host names (the Host header; * and ? are wildcards, case does not matter)." example:"[www.example.com]"`
	Paths               []string    `yaml:"paths,omitempty" doc:"Route to this service only requests whose path matches one of these (* and ? are wildcards: /api/*). With hosts too, both must match. On a shared listener, rules are tried in manifest order and the service with neither hosts nor paths takes the rest (without one, the rest get 404)." example:"[\"/*\"]"`
	DeregistrationDelay Duration    `yaml:"deregistrationDelay" default:"60s" min:"0s" max:"3600s" doc:"How long a deregistered target drains in-flight requests. AWS defaults to 300s, which cannot fit the 2-minute Spot notice; spotfleet defaults to 60s and clamps it to the time left."`
	HealthCheck         HealthCheck `yaml:"healthCheck" doc:"The target group's health check."`
}

// HealthCheck is a target group health check (ranges as the ELB API allows).
type HealthCheck struct {
	Path               string   `yaml:"path" default:"/" doc:"HTTP path checked on each target; any 2xx or 3xx is healthy."`
	Interval           Duration `yaml:"interval" default:"5s" min:"5s" max:"300s" doc:"Time between checks."`
	Timeout            Duration `yaml:"timeout" default:"2s" min:"2s" max:"120s" doc:"Time after which a check fails; less than interval."`
	HealthyThreshold   int      `yaml:"healthyThreshold" default:"2" min:"2" max:"10" doc:"Consecutive successes before a target is healthy."`
	UnhealthyThreshold int      `yaml:"unhealthyThreshold" default:"3" min:"2" max:"10" doc:"Consecutive failures before a target is unhealthy."`
}

// Autoscaling is Application Auto Scaling target tracking on the service.
type Autoscaling struct {
	MinCount       int              `yaml:"minCount" min:"0" max:"5000" doc:"Fewest tasks. Default: desiredCount."`
	MaxCount       int              `yaml:"maxCount" min:"0" max:"5000" doc:"Most tasks. Default: desiredCount."`
	TargetTracking []TargetTracking `yaml:"targetTracking" required:"true" doc:"Target tracking policies; the one asking for the most tasks wins."`
}

// TargetTracking is one target tracking policy.
type TargetTracking struct {
	Metric           string   `yaml:"metric" required:"true" enum:"CPUUtilization,MemoryUtilization,RequestCountPerTarget" doc:"CPUUtilization and MemoryUtilization are the service average in percent; RequestCountPerTarget is requests per target per minute and needs a loadBalancer."`
	Target           float64  `yaml:"target" required:"true" min:"0.001" max:"1000000" doc:"The value to hold the metric at."`
	ScaleInCooldown  Duration `yaml:"scaleInCooldown" default:"300s" min:"0s" max:"3600s" doc:"Time after a scale-in before the next scale-in."`
	ScaleOutCooldown Duration `yaml:"scaleOutCooldown" default:"60s" min:"0s" max:"3600s" doc:"Time after a scale-out before the next scale-out."`
}

// Interruptions holds what happens around an interruption besides draining.
type Interruptions struct {
	Notify []Notify `yaml:"notify,omitempty" doc:"Where each phase of an interruption (received, deregistered, replacement ready, stopped, terminated) is posted." example:"[{webhook: \"https://hooks.example.com/spot\"}]"`
	// RebalanceMaxPercent bounds make-before-break: each replacement holds an extra instance.
	RebalanceMaxPercent int      `yaml:"rebalanceMaxPercent" default:"10" min:"1" max:"100" doc:"With rebalance replace, the most instances replaced at once, as a percent of the fleet's instances (at least one)."`
	PoolMemory          Duration `yaml:"poolMemory" default:"5m" min:"0s" max:"24h" doc:"Half-life of the memory of an interrupted or at-risk pool. A pool is avoided for new Spot capacity while its memory lasts: about two half-lives after an interruption, one after a rebalance recommendation, longer when it repeats. 0s forgets at once."`
}

// Notify is one notification target.
type Notify struct {
	Webhook string `yaml:"webhook" required:"true" doc:"An http or https URL that receives a JSON POST per phase."`
}

// LogGroup is the service's log group on AWS.
func (m *Manifest) LogGroup(s Service) string {
	if s.Logs.Group != "" {
		return s.Logs.Group
	}
	return "/spotfleet/" + m.Name + "/" + s.Name
}

// URL is where the service answers on a load balancer reached at host (its DNS name on
// AWS, the listener's address locally) and port: the first literal host name of its rules
// when it has one, and the literal start of its first path. The scheme's own port is left
// out.
func (lb *LoadBalancer) URL(host string, port int) string {
	scheme, standard := "http", 80
	if lb.Protocol == "HTTPS" {
		scheme, standard = "https", 443
	}
	for _, h := range lb.Hosts {
		if !strings.ContainsAny(h, "*?") {
			host = h
			break
		}
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: "/"}
	if port == standard {
		u.Host = host
	}
	if len(lb.Paths) > 0 {
		if p := lb.Paths[0][:strings.IndexAny(lb.Paths[0]+"*", "*?")]; p != "" {
			u.Path = p
		}
	}
	return u.String()
}

// Routed says whether the load balancer sends a service only some requests.
func (lb *LoadBalancer) Routed() bool { return len(lb.Hosts) > 0 || len(lb.Paths) > 0 }

// Group returns the capacity group of that name.
func (m *Manifest) Group(name string) (*CapacityGroup, bool) {
	for i := range m.Capacity {
		if m.Capacity[i].Name == name {
			return &m.Capacity[i], true
		}
	}
	return nil, false
}

// AllOnDemand says whether the group never launches Spot.
// WeightOf is the capacity units an instance of the type counts for in the group (1 when
// the group does not weight it).
func (g *CapacityGroup) WeightOf(instanceType string) int {
	for _, it := range g.InstanceTypes {
		if it.Type == instanceType {
			return max(it.Weight, 1)
		}
	}
	return 1
}

// UnitsPerInstance is what one instance of its first type counts for: the unit in which
// managed scaling and a fallback to the group count instances.
func (g *CapacityGroup) UnitsPerInstance() int { return g.WeightOf(g.InstanceTypes[0].Type) }

func (g *CapacityGroup) AllOnDemand() bool { return g.OnDemandPercentageAboveBaseCapacity == 100 }

// TargetGroupName is the name of a service's target group.
func (m *Manifest) TargetGroupName(s Service) string { return m.Name + "-" + s.Name }

// AllServices returns the services to run: the ECS services, or the instances service.
func (m *Manifest) AllServices() []Service {
	if m.Workload == WorkloadInstances && m.Instances != nil {
		return []Service{*m.Instances}
	}
	return m.Services
}

func (t InstanceType) String() string {
	if t.Weight <= 1 {
		return t.Type
	}
	return t.Type + "(weight " + strconv.Itoa(t.Weight) + ")"
}

var _ fmt.Stringer = InstanceType{} // printed in messages

// Uses says whether the service's capacity provider strategy names the provider.
func (s Service) Uses(provider string) bool {
	for _, st := range s.CapacityProviderStrategy {
		if st.CapacityProvider == provider {
			return true
		}
	}
	return false
}

// SpotPools lists the Spot pools of the fleet: every instance type of a group in each of
// its zones, and FARGATE_SPOT in each Fargate zone when a service runs on it.
func (m *Manifest) SpotPools() []spotfleet.Pool {
	var out []spotfleet.Pool
	for _, g := range m.Capacity {
		for _, it := range g.InstanceTypes {
			for _, z := range g.Zones {
				if p := (spotfleet.Pool{InstanceType: it.Type, Zone: z}); !slices.Contains(out, p) {
					out = append(out, p)
				}
			}
		}
	}
	if slices.ContainsFunc(m.Services, func(s Service) bool { return s.Uses(FargateSpot) }) {
		for _, z := range m.FargateZones() {
			out = append(out, spotfleet.Pool{InstanceType: FargateSpot, Zone: z})
		}
	}
	return out
}
