package spotfleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Event detail types, as EventBridge spells them.
const (
	DetailSpotInterruption   = "EC2 Spot Instance Interruption Warning"
	DetailRebalance          = "EC2 Instance Rebalance Recommendation"
	DetailStateChange        = "EC2 Instance State-change Notification"
	DetailLaunchFailed       = "EC2 Instance Launch Unsuccessful"
	DetailECSTaskStateChange = "ECS Task State Change"
	DetailECSServiceAction   = "ECS Service Action"
)

// EventPlacementFailure is the "ECS Service Action" event name of a service that could not
// place a task: on Fargate Spot, for want of capacity.
const EventPlacementFailure = "SERVICE_TASK_PLACEMENT_FAILURE"

// StopCodeSpotInterruption is the stopCode of a task ECS stopped because its instance got
// the Spot interruption notice (the fleet's rule takes only these task changes).
const StopCodeSpotInterruption = "SpotInterruption"

// Event sources, as EventBridge names the AWS services.
const (
	SourceEC2         = "aws.ec2"
	SourceECS         = "aws.ecs"
	SourceAutoScaling = "aws.autoscaling"
)

// SourceOf is the one source that sends a detail type spotfleet reads.
func SourceOf(detailType string) (string, bool) {
	switch detailType {
	case DetailSpotInterruption, DetailRebalance, DetailStateChange:
		return SourceEC2, true
	case DetailLaunchFailed:
		return SourceAutoScaling, true
	case DetailECSTaskStateChange, DetailECSServiceAction:
		return SourceECS, true
	}
	return "", false
}

// Envelope is an EventBridge event as delivered to a queue.
type Envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// SpotInterruptionDetail is the detail of a Spot interruption warning.
type SpotInterruptionDetail struct {
	InstanceID     string `json:"instance-id"`
	InstanceAction string `json:"instance-action"`
}

// RebalanceDetail is the detail of a rebalance recommendation.
type RebalanceDetail struct {
	InstanceID string `json:"instance-id"`
}

// StateChangeDetail is the detail of an EC2 instance state change.
type StateChangeDetail struct {
	InstanceID string        `json:"instance-id"`
	State      InstanceState `json:"state"`
}

// LaunchFailedDetail is the detail of an Auto Scaling "EC2 Instance Launch Unsuccessful".
type LaunchFailedDetail struct {
	StatusCode           string            `json:"StatusCode"`
	AutoScalingGroupName string            `json:"AutoScalingGroupName"`
	ActivityID           string            `json:"ActivityId"`
	Details              map[string]string `json:"Details"`
	RequestID            string            `json:"RequestId"`
	StatusMessage        string            `json:"StatusMessage"`
	EndTime              time.Time         `json:"EndTime"`
	EC2InstanceID        string            `json:"EC2InstanceId"`
	StartTime            time.Time         `json:"StartTime"`
	Cause                string            `json:"Cause"`
}

// ECSTaskDetail is the part of an "ECS Task State Change" detail spotfleet reads and writes.
type ECSTaskDetail struct {
	ClusterArn           string     `json:"clusterArn"`
	TaskArn              string     `json:"taskArn"`
	TaskDefinitionArn    string     `json:"taskDefinitionArn"`
	ContainerInstanceArn string     `json:"containerInstanceArn,omitempty"`
	Group                string     `json:"group"`
	LaunchType           string     `json:"launchType"`
	CapacityProviderName string     `json:"capacityProviderName,omitempty"`
	AvailabilityZone     string     `json:"availabilityZone,omitempty"`
	LastStatus           TaskStatus `json:"lastStatus"`
	DesiredStatus        TaskStatus `json:"desiredStatus"`
	CreatedAt            time.Time  `json:"createdAt"`
	StartedAt            *time.Time `json:"startedAt,omitempty"`
	StoppingAt           *time.Time `json:"stoppingAt,omitempty"`
	StoppedAt            *time.Time `json:"stoppedAt,omitempty"`
	StopCode             string     `json:"stopCode,omitempty"`
	StoppedReason        string     `json:"stoppedReason,omitempty"`
	UpdatedAt            time.Time  `json:"updatedAt"`
	Version              int        `json:"version"`
}

// ServiceActionDetail is the detail of an "ECS Service Action" event. It carries no
// version, unlike the task and container instance events.
type ServiceActionDetail struct {
	EventType            string    `json:"eventType"` // INFO, WARN, ERROR
	EventName            string    `json:"eventName"`
	ClusterArn           string    `json:"clusterArn"`
	CapacityProviderArns []string  `json:"capacityProviderArns,omitempty"`
	Reason               string    `json:"reason,omitempty"`
	CreatedAt            time.Time `json:"createdAt"`
}

// EventKind is what an event means to spotfleet.
type EventKind string

const (
	KindInterruption EventKind = "interruption"
	KindRebalance    EventKind = "rebalance"
	KindStateChange  EventKind = "state-change"
	KindLaunchFailed EventKind = "launch-failed"
	KindTaskStopped  EventKind = "task-stopped" // ECS task stopped with stopCode SpotInterruption
	KindOther        EventKind = "other"
)

// Event is an envelope read for what spotfleet acts on.
type Event struct {
	ID         string
	Kind       EventKind
	Time       time.Time
	InstanceID string // interruption, rebalance, state change, launch failure
	// Task is the ID of a Fargate task stopped by an interruption (no container instance).
	Task     string
	Deadline time.Time     // interruption: event time + 2 minutes (the event carries none)
	State    InstanceState // state change
	Group    string        // launch failure: the Auto Scaling group, or FARGATE_SPOT
	Message  string        // launch failure: the status message
	Zone     string        // launch failure: the availability zone, when it says
	Activity string        // launch failure: the scaling activity ID
	// ContainerInstance is the container instance ARN of a task stopped by an interruption.
	ContainerInstance string
	Envelope          Envelope
}

// ErrMalformed wraps every reason an event cannot be read.
var ErrMalformed = errors.New("malformed event")

// ParseEvent reads an EventBridge event. Unknown detail types are KindOther, not errors;
// an event that cannot be read is an error wrapping ErrMalformed.
func ParseEvent(body []byte) (Event, error) {
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if env.ID == "" || env.DetailType == "" || env.Time.IsZero() {
		return Event{}, fmt.Errorf("%w: missing id, detail-type or time", ErrMalformed)
	}
	ev := Event{ID: env.ID, Time: env.Time, Envelope: env, Kind: KindOther}
	bad := func(err error) (Event, error) {
		return Event{}, fmt.Errorf("%w: %s detail: %v", ErrMalformed, env.DetailType, err)
	}
	switch env.DetailType {
	case DetailSpotInterruption:
		var d SpotInterruptionDetail
		if err := json.Unmarshal(env.Detail, &d); err != nil || d.InstanceID == "" {
			return bad(orMissing(err, "instance-id"))
		}
		ev.Kind, ev.InstanceID, ev.Deadline = KindInterruption, d.InstanceID, env.Time.Add(SpotNotice)
	case DetailRebalance:
		var d RebalanceDetail
		if err := json.Unmarshal(env.Detail, &d); err != nil || d.InstanceID == "" {
			return bad(orMissing(err, "instance-id"))
		}
		ev.Kind, ev.InstanceID = KindRebalance, d.InstanceID
	case DetailStateChange:
		var d StateChangeDetail
		if err := json.Unmarshal(env.Detail, &d); err != nil || d.InstanceID == "" {
			return bad(orMissing(err, "instance-id"))
		}
		ev.Kind, ev.InstanceID, ev.State = KindStateChange, d.InstanceID, d.State
	case DetailLaunchFailed:
		var d LaunchFailedDetail
		if err := json.Unmarshal(env.Detail, &d); err != nil || d.AutoScalingGroupName == "" {
			return bad(orMissing(err, "AutoScalingGroupName"))
		}
		ev.Kind, ev.Group, ev.Message, ev.InstanceID = KindLaunchFailed, d.AutoScalingGroupName, d.StatusMessage, d.EC2InstanceID
		ev.Zone, ev.Activity = d.Details["Availability Zone"], d.ActivityID
	case DetailECSTaskStateChange:
		// Only the stop code and the container instance are read: most task state changes
		// are not interruptions, and a fleet sends thousands of them.
		var d struct {
			ContainerInstanceArn string `json:"containerInstanceArn"`
			TaskArn              string `json:"taskArn"`
			StopCode             string `json:"stopCode"`
		}
		if err := json.Unmarshal(env.Detail, &d); err != nil {
			return bad(err)
		}
		if d.StopCode == StopCodeSpotInterruption {
			ev.Kind, ev.ContainerInstance = KindTaskStopped, d.ContainerInstanceArn
			ev.Deadline = env.Time.Add(SpotNotice)
			if d.ContainerInstanceArn == "" { // Fargate: the task itself was interrupted
				if ev.Task = lastPart(d.TaskArn); ev.Task == "" {
					return bad(errors.New("no containerInstanceArn nor taskArn"))
				}
			}
		}
	case DetailECSServiceAction:
		var d ServiceActionDetail
		if err := json.Unmarshal(env.Detail, &d); err != nil {
			return bad(err)
		}
		if d.EventName != EventPlacementFailure {
			break
		}
		// Which provider refused is not said when a strategy has several: Fargate Spot
		// is the one that runs short.
		for _, arn := range d.CapacityProviderArns {
			if p := lastPart(arn); ev.Group == "" || p == "FARGATE_SPOT" {
				ev.Group = p
			}
		}
		if ev.Group == "" {
			return bad(errors.New("no capacityProviderArns"))
		}
		ev.Kind, ev.Message, ev.Activity = KindLaunchFailed, d.Reason, env.ID
	}
	return ev, nil
}

// lastPart is what follows an ARN's last "/": a task's ID, a capacity provider's name.
func lastPart(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

func orMissing(err error, field string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("no %s", field)
}
