package spotfleet

import "time"

// Snapshot is what a provider shows of the fleet at one moment: everything the controller
// decides on. It is a copy; holding it holds no lock.
type Snapshot struct {
	// Version numbers the snapshot for a delta that follows it (SnapshotDelta.Since); 0
	// when the backend does not number them.
	Version      uint64
	Time         time.Time
	Groups       []Group
	Instances    []Instance
	Services     []Service
	Tasks        []Task
	TargetGroups []TargetGroup
	Targets      []Target
}

// FailuresShown is how far back a snapshot shows failed launches (a group's scaling
// activities, a Fargate Spot service's refusals): the APIs page back further, but only
// recent failures tell whether Spot is short now.
const FailuresShown = 10 * time.Minute

// Group is an Auto Scaling group.
type Group struct {
	Name string // the manifest's
	// Native is its name in the backend's own calls and events when that differs (on AWS
	// the Auto Scaling group and its capacity provider are <fleet>-<name>): events are
	// matched to the group by it, so backend naming stays in the backend.
	Native           string
	Desired          int // capacity units
	MinSize, MaxSize int
	Pools            []Pool // every pool its mixed instances policy can launch in
	Avoided          []Pool // pools it is told not to launch Spot in for now
	// InstanceCPU and InstanceMemory are what one instance of its first instance type
	// registers with ECS (CPU units, MiB); 0 when unknown or not ECS.
	InstanceCPU, InstanceMemory int
	// Failures are its recent failed launches (scaling activities), oldest first.
	Failures []LaunchFailure
}

// LaunchFailure is a failed scaling activity of a group.
type LaunchFailure struct {
	ActivityID string
	Time       time.Time
	Zone       string // empty when the activity does not say
	Message    string // the status message, which holds the EC2 error code
}

// Instance is an EC2 instance of the fleet.
type Instance struct {
	ID         string
	Group      string // empty once detached from its group
	Pool       Pool
	Lifecycle  Lifecycle
	State      InstanceState
	Weight     int // capacity units
	LaunchedAt time.Time
	// ContainerInstance is its ECS container instance ARN (workload ecs), and
	// ContainerStatus that container instance's status.
	ContainerInstance string
	ContainerStatus   ContainerInstanceStatus
	// CPU and Memory are what its container instance registered (CPU units, MiB).
	CPU, Memory int
	// Healthy says the instance serves: under workload instances its target is healthy
	// (or it has none and its service runs); under ecs its container instance is ACTIVE
	// and running.
	Healthy bool
}

// Alive says whether the instance is pending or running.
func (i Instance) Alive() bool { return i.State == InstancePending || i.State == InstanceRunning }

// Service is an ECS service (or, under workload instances, the per-instance service).
type Service struct {
	Name        string
	Desired     int
	StopTimeout time.Duration
	TargetGroup string // empty without a load balancer
	// CPU and Memory are what each task reserves (CPU units, MiB).
	CPU, Memory int
	// Covers names the service this one covers on the fallback group (the fallback's
	// companion service); empty for the manifest's own services.
	Covers string
	// Refusals are its recent placements that FARGATE_SPOT refused for want of capacity
	// (its service events), oldest first: Fargate Spot's launch failures.
	Refusals []LaunchFailure
}

// Task is an ECS task that is not yet STOPPED.
type Task struct {
	ID       string
	Service  string
	Instance string // empty while PROVISIONING, and on Fargate
	Provider string
	Status   TaskStatus
	Healthy  bool   // RUNNING and its target (if any) healthy
	Zone     string // its availability zone, once placed
}

// TargetGroup is a load balancer target group.
type TargetGroup struct {
	Name                string
	DeregistrationDelay time.Duration
}

// Target is a registered or draining load balancer target.
type Target struct {
	TargetGroup string
	ID          string // an IP address (ecs tasks) or an instance ID (workload instances)
	Port        int
	Instance    string // the instance it runs on; empty on Fargate
	Task        string // the ECS task it is (workload ecs)
	State       TargetState
}

// TargetRef names a target within its target group, as DeregisterTargets takes it.
type TargetRef struct {
	ID   string
	Port int
}

// Ref is the target's name within its target group.
func (t Target) Ref() TargetRef { return TargetRef{ID: t.ID, Port: t.Port} }

// Message is an event queue message as its receiver sees it.
type Message struct {
	ID            string
	ReceiptHandle string
	Body          []byte
	ReceiveCount  int
}
