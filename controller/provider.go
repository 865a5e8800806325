// Package controller is spotfleet's brain: it reads the fleet (a provider's snapshot) and
// the events that move it (the event queue, the on-instance agent), decides with pure
// functions, and applies the decisions through the provider. Every effect is idempotent
// and re-derived from the provider's state, so a duplicated event, a failed call or a
// restart costs a repeated call at most, never a repeated effect.
package controller

import (
	"context"
	"time"

	"github.com/spotfleet/spotfleet"
)

// Observer reads the fleet.
type Observer interface {
	Snapshot(ctx context.Context) (spotfleet.Snapshot, error)
}

// Deltas is an Observer that says what changed since a snapshot it numbered
// (Snapshot.Version): the controller keeps its picture of the fleet between rounds, and a
// round works in proportion to what changed. ok is false when it cannot follow since (a
// snapshot then starts over).
type Deltas interface {
	SnapshotDelta(ctx context.Context, since uint64) (d spotfleet.SnapshotDelta, ok bool, err error)
}

// Watcher is an Observer that keeps what it read between snapshots (the AWS provider,
// whose full read grows with the fleet). Before each snapshot the controller names the
// instances (and Fargate tasks) that its inputs and its notices in flight are about: they
// are read afresh, whatever else the watcher re-reads.
type Watcher interface {
	Changed(ids []string)
}

// LoadBalancer takes targets out of service.
type LoadBalancer interface {
	DeregisterTargets(ctx context.Context, targetGroup string, targets []spotfleet.TargetRef) error
	// SetDeregistrationDelay changes how long targets deregistered from now on drain.
	SetDeregistrationDelay(ctx context.Context, targetGroup string, d time.Duration) error
}

// Cluster drains ECS container instances, stops tasks and scales the fallback's companion
// services.
type Cluster interface {
	DrainContainerInstances(ctx context.Context, arns []string) error
	// SetDesiredCount is UpdateService with a new desired count.
	SetDesiredCount(ctx context.Context, service string, count int) error
	// StopTasks is StopTask for each task: SIGTERM, then SIGKILL after its stop timeout. A
	// task already stopping or gone is left as it is.
	StopTasks(ctx context.Context, tasks []string, reason string) error
}

// Capacity replaces and retires instances.
type Capacity interface {
	// DetachInstances takes instances out of their group without lowering its desired
	// capacity: the group launches replacements now; the instances keep running.
	DetachInstances(ctx context.Context, group string, ids []string) error
	TerminateInstances(ctx context.Context, ids []string) error
	// AvoidPools sets the pools the group must not launch Spot in (replacing the last set).
	AvoidPools(ctx context.Context, group string, pools []spotfleet.Pool) error
	// SetDesiredCapacity sets a group's desired capacity (capacity units, within its
	// bounds); on scale-in the group deregisters what it terminates first.
	SetDesiredCapacity(ctx context.Context, group string, units int) error
}

// Notices confirms an interruption reported by an agent from a source other than the
// agent: on AWS the instance's Spot request status (marked-for-termination).
type Notices interface {
	InterruptionPending(ctx context.Context, instance string) (bool, error)
}

// Provider is everything the controller calls: the emulator and the AWS provider.
type Provider interface {
	Observer
	LoadBalancer
	Cluster
	Capacity
	Notices
}

// Queue is the event queue EventBridge delivers to (SQS semantics: at-least-once, a
// visibility timeout, delete when handled).
type Queue interface {
	ReceiveMessages(ctx context.Context, max int, wait, visibility time.Duration) ([]spotfleet.Message, error)
	DeleteMessage(ctx context.Context, receiptHandle string) error
	ChangeMessageVisibility(ctx context.Context, receiptHandle string, d time.Duration) error
}
