package emulator

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spotfleet/spotfleet"
)

// AccountID is the emulated AWS account.
const AccountID = "123456789012"

// emit wraps a detail in an EventBridge envelope and delivers it to the queue.
func (e *Emulator) emit(detailType, source string, resources []string, detail any) {
	e.changed()
	e.bus.SendLocked(e.envelope(detailType, source, resources, detail))
}

// envelope renders an EventBridge event.
func (e *Emulator) envelope(detailType, source string, resources []string, detail any) []byte {
	d, err := json.Marshal(detail)
	if err != nil {
		panic(err) // details are our own structs
	}
	env := spotfleet.Envelope{Version: "0", ID: e.ids.uuid(), DetailType: detailType, Source: source,
		Account: AccountID, Time: e.now.UTC().Truncate(1e9), Region: e.m.Region, Resources: resources, Detail: d}
	if resources == nil {
		env.Resources = []string{}
	}
	b, err := json.Marshal(env)
	if err != nil {
		panic(err)
	}
	return b
}

func (e *Emulator) instanceArn(in *instance) string {
	return fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", e.m.Region, AccountID, in.id)
}

func (e *Emulator) emitStateChange(in *instance) {
	e.touchInstance(in)
	e.emit(spotfleet.DetailStateChange, spotfleet.SourceEC2, []string{e.instanceArn(in)},
		spotfleet.StateChangeDetail{InstanceID: in.id, State: in.state})
}

func (e *Emulator) emitSpotInterruption(in *instance) {
	e.emit(spotfleet.DetailSpotInterruption, spotfleet.SourceEC2, []string{e.instanceArn(in)},
		spotfleet.SpotInterruptionDetail{InstanceID: in.id, InstanceAction: "terminate"})
}

func (e *Emulator) emitRebalance(in *instance) {
	e.emit(spotfleet.DetailRebalance, spotfleet.SourceEC2, []string{e.instanceArn(in)},
		spotfleet.RebalanceDetail{InstanceID: in.id})
}

func (e *Emulator) groupArn(g *group) string {
	return fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s", e.m.Region, AccountID, e.ids.uuid(), g.cfg.Name)
}

func (e *Emulator) emitLaunchFailed(g *group, a activity, p *pool) {
	e.emit(spotfleet.DetailLaunchFailed, spotfleet.SourceAutoScaling, []string{e.groupArn(g)}, spotfleet.LaunchFailedDetail{
		StatusCode: "Failed", AutoScalingGroupName: g.cfg.Name, ActivityID: a.ID,
		Details:   map[string]string{"Availability Zone": p.Zone, "Subnet ID": "subnet-emulated-" + p.Zone},
		RequestID: e.ids.uuid(), StatusMessage: a.StatusMessage, EndTime: a.End.UTC(), StartTime: a.Start.UTC(),
		Cause: a.Cause,
	})
}

// emitTaskStateChange sends a task's change to the queue when the fleet's rule matches it:
// the rule `spotfleet apply` creates takes only the tasks that ECS stopped for a Spot
// interruption (stopCode SpotInterruption), not the thousands of others a fleet makes.
func (e *Emulator) emitTaskStateChange(t *task) {
	t.version++
	e.touchTask(t)
	e.changed()
	if t.stopCode == spotfleet.StopCodeSpotInterruption {
		e.bus.SendLocked(e.taskEvent(t))
	}
}

// taskEvent renders an "ECS Task State Change" of a task as it is now.
func (e *Emulator) taskEvent(t *task) []byte {
	arn := fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", e.m.Region, AccountID, e.m.Name, t.id)
	d := spotfleet.ECSTaskDetail{
		ClusterArn:        fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", e.m.Region, AccountID, e.m.Name),
		TaskArn:           arn,
		TaskDefinitionArn: fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s-%s:1", e.m.Region, AccountID, e.m.Name, t.svc.cfg.Name),
		Group:             "service:" + t.svc.cfg.Name, LaunchType: "EC2", CapacityProviderName: t.provider,
		LastStatus: t.status, DesiredStatus: spotfleet.TaskRunning,
		CreatedAt: t.createdAt.UTC(), UpdatedAt: e.now.UTC(), Version: t.version,
		StopCode: t.stopCode, StoppedReason: t.stoppedReason,
	}
	if t.ci != nil {
		d.ContainerInstanceArn = t.ci.arn
	}
	if t.fargate() {
		d.LaunchType = "FARGATE"
	}
	d.AvailabilityZone = t.zoneOf()
	if t.status == spotfleet.TaskDeactivating || t.status == spotfleet.TaskStopping || t.status == spotfleet.TaskStopped {
		d.DesiredStatus = spotfleet.TaskStopped
	}
	for _, ts := range []struct {
		at  *time.Time
		dst **time.Time
	}{{&t.startedAt, &d.StartedAt}, {&t.stoppingAt, &d.StoppingAt}, {&t.stoppedAt, &d.StoppedAt}} {
		if !ts.at.IsZero() {
			u := ts.at.UTC()
			*ts.dst = &u
		}
	}
	return e.envelope(spotfleet.DetailECSTaskStateChange, spotfleet.SourceECS, []string{arn}, d)
}
