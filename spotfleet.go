// Package spotfleet holds the domain types shared by the controller, the emulator and the
// AWS provider: pools, instances, tasks, targets and the events that move them. Names and
// states are AWS's, so that what the emulator shows reads like the AWS console.
package spotfleet

import (
	"path"
	"strings"
	"time"
)

// Pool is a Spot capacity pool: one instance type in one availability zone.
type Pool struct {
	InstanceType string `json:"instanceType"`
	Zone         string `json:"zone"`
}

func (p Pool) String() string { return p.InstanceType + "/" + p.Zone }

// Matches says whether a pool pattern names the pool: TYPE/ZONE with globs in either part
// (m5.large/*, */us-east-1a, FARGATE_SPOT/*); a pattern without "/" names the types in
// every zone, so "*" is every pool. A malformed glob matches nothing.
func (p Pool) Matches(pattern string) bool {
	typ, zone, ok := strings.Cut(pattern, "/")
	if !ok {
		zone = "*"
	}
	t, _ := path.Match(typ, p.InstanceType)
	z, _ := path.Match(zone, p.Zone)
	return t && z
}

// Lifecycle is how an instance is bought.
type Lifecycle string

const (
	Spot     Lifecycle = "spot"
	OnDemand Lifecycle = "on-demand"
)

// InstanceState is an EC2 instance state.
type InstanceState string

const (
	InstancePending      InstanceState = "pending"
	InstanceRunning      InstanceState = "running"
	InstanceShuttingDown InstanceState = "shutting-down"
	InstanceTerminated   InstanceState = "terminated"
)

// ContainerInstanceStatus is an ECS container instance status.
type ContainerInstanceStatus string

const (
	ContainerInstanceActive   ContainerInstanceStatus = "ACTIVE"
	ContainerInstanceDraining ContainerInstanceStatus = "DRAINING"
)

// TaskStatus is an ECS task's last status, in lifecycle order.
type TaskStatus string

const (
	TaskProvisioning TaskStatus = "PROVISIONING"
	TaskPending      TaskStatus = "PENDING"
	TaskRunning      TaskStatus = "RUNNING"
	TaskDeactivating TaskStatus = "DEACTIVATING"
	TaskStopping     TaskStatus = "STOPPING"
	TaskStopped      TaskStatus = "STOPPED"
)

// TargetState is a load balancer target's health state.
type TargetState string

const (
	TargetInitial   TargetState = "initial"
	TargetHealthy   TargetState = "healthy"
	TargetUnhealthy TargetState = "unhealthy"
	TargetDraining  TargetState = "draining"
	TargetUnused    TargetState = "unused"
)

// Registered says whether the load balancer may still send new requests to the target
// (or will once it is healthy): everything but draining and unused.
func (s TargetState) Registered() bool { return s != TargetDraining && s != TargetUnused }

// ControllerPort is the port the controller serves its API on: agents' reports, metrics,
// health, the dashboard (up's and the AWS controller's), and the one its image exposes.
const ControllerPort = 7077

// SpotNotice is how long before termination the interruption notice comes.
const SpotNotice = 2 * time.Minute

// ECSRegisteredMemoryShare is the part of an instance's memory the ECS agent registers; the
// ECS-optimized AMI keeps the rest for the OS and the agent (an m5.large registers about
// 7.5 of its 8 GiB).
const ECSRegisteredMemoryShare = 0.94

// ECSRegisteredMemory is the memory (MiB) the ECS agent registers for an instance with
// totalMiB.
func ECSRegisteredMemory(totalMiB int) int { return int(float64(totalMiB) * ECSRegisteredMemoryShare) }
