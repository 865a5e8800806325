package emulator

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/account"
	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/internal/spotdata"
	"github.com/spotfleet/spotfleet/manifest"
)

// Fargate tasks run with no instance: a process with an address of its own (awsvpc), in a
// zone the service spreads its tasks over. Fargate Spot has a pool per zone,
// FARGATE_SPOT/<zone>, whose free capacity counts tasks, so that the scenario's
// interrupt and spotCapacity steps apply to it as to instance pools. What AWS documents and
// the emulator imitates (developerguide/fargate-capacity-providers.html and
// bestpracticesguide/ec2-and-fargate-spot.html):
//   - the interruption warning is an "ECS Task State Change" (stopCode SpotInterruption)
//     and a SIGTERM to the task at the same moment; SIGKILL comes after the stop timeout
//     (at most 120 s, so within the two minutes);
//   - the task may stay registered in its target group until it is STOPPED, which comes a
//     while after its container ends (ECSNoticesTerminationAfter);
//   - without Fargate Spot capacity the service places nothing ("Capacity is unavailable at
//     this time"), retries until capacity returns, and never falls back to Fargate.

// DefaultFargateStart is how long a Fargate task takes from its placement to RUNNING:
// provisioning its network interface, pulling its image, starting its container. AWS
// publishes no figure; users report from under a minute to a few minutes, mostly the image
// pull. 40 s is ours; a scenario's fargateStartTime sets it.
const DefaultFargateStart = 40 * time.Second

// fargateRetry is how often a service tries again to place the tasks Fargate Spot refused.
// AWS says only that services retry until capacity returns; the period is ours.
const fargateRetry = 10 * time.Second

// capacityUnavailable is the reason ECS gives when Fargate has no capacity for a task.
const capacityUnavailable = "Capacity is unavailable at this time. Please try again later or in a different availability zone"

// fargate says whether the task runs on Fargate (no instance).
func (t *task) fargate() bool { return manifest.IsFargate(t.provider) }

// host is what the task's target is indexed by: its instance, or the task itself on Fargate.
func (t *task) host() string {
	if t.ci != nil {
		return t.ci.in.id
	}
	return t.id
}

// hostInstance is the ID of the instance the task runs on; "" on Fargate.
func (t *task) hostInstance() string {
	if t.ci != nil {
		return t.ci.in.id
	}
	return ""
}

// zoneOf is the task's availability zone, once placed.
func (t *task) zoneOf() string {
	if t.ci != nil {
		return t.ci.in.pool.Zone
	}
	return t.zone
}

// placeFargate places a PROVISIONING Fargate task in the zone with the fewest of the
// service's tasks that has capacity for it. It reports false when none has (Fargate Spot
// short in every zone): ECS then creates no task at all.
func (pl *placement) placeFargate(t *task) bool {
	e := pl.s.e
	pl.counted()
	zones := slices.Clone(e.fargateZones)
	slices.SortStableFunc(zones, func(a, b string) int { return cmp.Compare(pl.perZone[a], pl.perZone[b]) })
	for _, z := range zones {
		var p *pool
		if t.provider == manifest.FargateSpot {
			if p = e.market.byKey[spotfleet.Pool{InstanceType: manifest.FargateSpot, Zone: z}]; p == nil || !p.take() {
				continue
			}
		}
		pl.perZone[z]++
		t.zone, t.pool, t.ip = z, p, e.ids.taskIPAddr()
		t.holds = p != nil
		e.touchTask(t)
		e.changed()
		e.after(max(e.opt.FargateStart-time.Second, 0), func() {
			if t.status != spotfleet.TaskProvisioning {
				return
			}
			t.status = spotfleet.TaskPending
			e.emitTaskStateChange(t)
			e.startTaskProcess(t)
		})
		return true
	}
	return false
}

// placementFailed records that Fargate Spot refused the service's tasks, as ECS does: a
// service event, an "ECS Service Action" SERVICE_TASK_PLACEMENT_FAILURE, and another try
// later. One record per scheduler round however many tasks it could not place.
func (s *service) placementFailed(provider string) {
	e := s.e
	if len(s.refusals) > 0 && !s.refusals[len(s.refusals)-1].at.Before(e.now) {
		return
	}
	id := e.ids.uuid()
	s.refusals = append(s.refusals, refusal{id: id, at: e.now, provider: provider})
	s.refusals = slices.DeleteFunc(s.refusals, func(r refusal) bool { return e.now.Sub(r.at) > spotfleet.FailuresShown })
	e.acct.LaunchFailures++
	e.acct.RefusalMarks = account.Mark(e.acct.RefusalMarks, e.elapsed())
	e.note("(service %s) was unable to place a task on %s. Reason: %s", s.cfg.Name, provider, capacityUnavailable)
	e.emit(spotfleet.DetailECSServiceAction, spotfleet.SourceECS, []string{e.serviceArn(s)}, spotfleet.ServiceActionDetail{
		EventType: "ERROR", EventName: spotfleet.EventPlacementFailure, ClusterArn: e.clusterArn(),
		CapacityProviderArns: []string{fmt.Sprintf("arn:aws:ecs:%s:%s:capacity-provider/%s", e.m.Region, AccountID, provider)},
		Reason:               capacityUnavailable, CreatedAt: e.now.UTC(),
	})
	if !s.retrying {
		s.retrying = true
		e.after(fargateRetry, func() {
			s.retrying = false
			s.kick()
		})
	}
}

// refusal is a placement Fargate Spot refused, as the service's events show it.
type refusal struct {
	id       string
	at       time.Time
	provider string
}

// interruptTask gives a running Fargate Spot task its two-minute warning: the event and
// SIGTERM at once, as AWS does; its target stays registered until the task is STOPPED.
func (e *Emulator) interruptTask(t *task) {
	if t.pool == nil || t.stopCode != "" || (t.status != spotfleet.TaskPending && t.status != spotfleet.TaskRunning) {
		return
	}
	e.acct.Notices++
	e.acct.NoticeMarks = account.Mark(e.acct.NoticeMarks, e.elapsed())
	t.release()
	t.stopCode, t.stoppedReason = spotfleet.StopCodeSpotInterruption, "Your Spot Task was interrupted."
	if t.target != nil && t.target.state.Registered() {
		e.notices[t.id] = &noticeRecord{id: t.id, alive: func() bool { return t.status != spotfleet.TaskStopped }, wallAt: time.Now()}
	}
	e.note("task %s of %s (%s) gets the Fargate Spot interruption warning and SIGTERM", fleetview.ShortID(t.id), t.svc.cfg.Name, t.pool)
	if t.proc == nil {
		e.finishStop(t)
		return
	}
	e.sigterm(t)
	t.svc.kick() // a task stopping does not count toward desired: its replacement starts now
}

// fargateSpotBand stands for Fargate Spot's interruption band in the market models: AWS
// publishes no Spot Advisor band, nor any rate, for Fargate Spot. The mildest band (under 5%
// of tasks a month) is an assumption, not data; with it the stress model also keeps a
// Fargate Spot pool's capacity ten times longer than a >20% type's (availability.go).
const fargateSpotBand = 0

// victimsIn lists what an interruption of the pool can take: its Spot instances, or its
// Fargate Spot tasks, with no notice yet.
func (e *Emulator) victimsIn(p *pool) []victim {
	var out []victim
	for _, in := range e.spotInstancesIn(p.Pool) {
		out = append(out, victim{in: in})
	}
	if p.InstanceType == manifest.FargateSpot {
		for _, t := range e.fargateSpotIn(p) {
			out = append(out, victim{task: t})
		}
	}
	return out
}

func (v victim) pool() *pool {
	if v.task != nil {
		return v.task.pool
	}
	return v.in.pool
}

// reclaim interrupts a victim that a scenario's step or a hand took: the market takes its
// place with it, so the pool's free capacity stays what it was.
func (e *Emulator) reclaim(v victim) {
	e.interruptVictim(v)
	if p := v.pool(); p.depth != Unlimited {
		p.depth--
	}
}

// interruptVictim gives an instance its notice, or a Fargate Spot task its warning.
func (e *Emulator) interruptVictim(v victim) {
	if v.task != nil {
		e.interruptTask(v.task)
		return
	}
	e.interrupt(v.in)
}

// fargateSpotIn lists the running Fargate Spot tasks of a pool that have no warning yet.
func (e *Emulator) fargateSpotIn(p *pool) []*task {
	var out []*task
	for _, s := range e.services {
		for _, t := range s.tasks {
			if t.pool == p && t.stopCode == "" && (t.status == spotfleet.TaskPending || t.status == spotfleet.TaskRunning) {
				out = append(out, t)
			}
		}
	}
	return out
}

// fargateRate is what a Fargate task costs per hour, and would cost on FARGATE; 0 for a
// task that is not billed (not placed, or not yet pulling its image). Fargate bills from
// the image pull to the task's end.
func (t *task) fargateRate() (rate, onDemand float64) {
	if !t.fargate() || t.zone == "" || t.status == spotfleet.TaskProvisioning || t.status == spotfleet.TaskStopped {
		return 0, 0
	}
	onDemand = spotdata.FargateOnDemand.Hourly(t.svc.cfg.CPU, t.svc.cfg.Memory)
	if t.pool != nil {
		return spotdata.FargateSpot.Hourly(t.svc.cfg.CPU, t.svc.cfg.Memory), onDemand
	}
	return onDemand, onDemand
}

func (e *Emulator) clusterArn() string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", e.m.Region, AccountID, e.m.Name)
}

func (e *Emulator) serviceArn(s *service) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", e.m.Region, AccountID, e.m.Name, s.cfg.Name)
}
