package emulator

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/emulator/touch"
	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/manifest"
)

type cluster struct {
	name string
	cis  []*containerInstance
}

// containerInstance is an instance registered to the ECS cluster.
type containerInstance struct {
	arn              string
	in               *instance
	status           spotfleet.ContainerInstanceStatus
	cpu, mem         int // registered
	cpuUsed, memUsed int
	tasks            []*task // not yet STOPPED
}

// busy says whether tasks run on it: managed termination protection keeps it from scale-in.
func (ci *containerInstance) busy() bool { return len(ci.tasks) > 0 }

func (ci *containerInstance) fits(cpu, mem int) bool {
	return ci.status == spotfleet.ContainerInstanceActive && ci.in.state == spotfleet.InstanceRunning &&
		ci.cpu-ci.cpuUsed >= cpu && ci.mem-ci.memUsed >= mem
}

// task is an ECS task; its container is a real process.
type task struct {
	id       string
	svc      *service
	provider string
	status   spotfleet.TaskStatus
	ci       *containerInstance
	ip       string
	proc     proc.Process
	target   *target
	zone     string // Fargate: where it was placed
	pool     *pool  // FARGATE_SPOT: the pool it holds a place of
	holds    bool   // the place (release)

	createdAt, startedAt, stoppingAt, stoppedAt time.Time
	stopCode, stoppedReason                     string
	version                                     int

	seen touch.Mark[spotfleet.Task] // what the last snapshot or delta showed (delta.go)
}

// release gives a Fargate Spot task's place in its pool back: at its warning (the market
// took it) or its end.
func (t *task) release() {
	if t.holds {
		t.holds = false
		t.pool.used--
	}
}

func (t *task) healthy() bool {
	if t.status != spotfleet.TaskRunning {
		return false
	}
	return t.target == nil || t.target.state == spotfleet.TargetHealthy
}

func (e *Emulator) registerContainerInstance(in *instance) {
	ci := &containerInstance{
		arn: fmt.Sprintf("arn:aws:ecs:%s:%s:container-instance/%s/%s", e.m.Region, AccountID, e.cluster.name, e.ids.uuid()),
		in:  in, status: spotfleet.ContainerInstanceActive,
		cpu: in.pool.Spec.VCPU * 1024, mem: spotfleet.ECSRegisteredMemory(in.pool.Spec.MemoryMiB),
	}
	in.ci = ci
	e.touchInstance(in)
	e.cluster.cis = append(e.cluster.cis, ci)
	e.kickServices()
}

// drainContainerInstance sets an instance DRAINING: it gets no new tasks, and its service
// tasks are replaced within the services' deployment limits.
func (e *Emulator) drainContainerInstance(ci *containerInstance, reason string) {
	if ci.status == spotfleet.ContainerInstanceDraining {
		return
	}
	ci.status = spotfleet.ContainerInstanceDraining
	e.touchInstance(ci.in)
	e.changed()
	e.note("container instance on %s DRAINING: %s", ci.in.id, reason)
	e.kickServices()
}

// instanceLost handles the termination of a container instance: its processes are dead.
// ECS marks its tasks STOPPED (and deregisters their targets) only after a while; until
// then the load balancer still routes to them.
func (e *Emulator) instanceLost(ci *containerInstance) {
	for _, t := range ci.tasks {
		if t.target != nil && t.target.state.Registered() {
			e.acct.StoppedWhileRegistered++
		}
	}
	e.after(e.opt.ECSNoticesTerminationAfter, func() {
		for _, t := range slices.Clone(ci.tasks) {
			t.stopCode, t.stoppedReason = "TerminationNotice", fmt.Sprintf("Host EC2 (instance %s) terminated.", ci.in.id)
			e.finishStop(t)
		}
		e.cluster.cis = slices.DeleteFunc(e.cluster.cis, func(x *containerInstance) bool { return x == ci })
	})
}

// service is an ECS service (or, under workload instances, the per-instance service).
type service struct {
	e       *Emulator
	cfg     manifest.Service
	desired int
	tasks   []*task // not yet STOPPED
	tg      *targetGroup
	kicked  bool
	covers  *service // the service whose fallback tasks this companion runs

	lastScaleOut, lastScaleIn time.Time

	// The service throttle: tasks that stop before they run (PENDING to STOPPED), or exit
	// within crashWindow of RUNNING, push the next launch attempt back, doubling up to
	// throttleMax; a task that stays RUNNING for crashWindow resets it.
	failedStarts   int
	throttledUntil time.Time

	refusals []refusal // placements Fargate Spot refused lately (fargate.go)
	retrying bool      // a placement retry is scheduled
}

// Throttle of launch attempts after tasks fail to start. ECS documents an incrementally
// increased delay "up to a maximum of 27 minutes" and no schedule
// (docs.aws.amazon.com/AmazonECS/latest/developerguide/service-throttle-logic.html); the
// doubling from 10 seconds is ours.
const (
	throttleFirst = 10 * time.Second
	throttleMax   = 27 * time.Minute
)

// crashWindow is how long a task must stay RUNNING for its start to count as a success: one
// that exits sooner is a crash loop, not a service, and is throttled as one that never ran.
// (A task that ran a second and exited 1 reset the throttle at RUNNING, and up restarted it
// without pause: 321 log files, 1.5 GB a minute.)
const crashWindow = time.Minute

// startFailed counts a task that stopped before it ran, and throttles the next launches.
func (s *service) startFailed() {
	s.e.acct.FailedStarts++
	if s.throttled() {
		return // a task of the same launch round: the delay doubles once per round
	}
	s.failedStarts++
	d := throttleFirst << min(s.failedStarts-1, 20)
	d = min(d, throttleMax)
	s.throttledUntil = s.e.now.Add(d)
	if s.failedStarts >= 2 {
		s.e.note("(service %s) is unable to consistently start tasks successfully; next launch in %s", s.cfg.Name, d)
	}
	s.e.at(s.throttledUntil, s.kick)
}

// Throttled says whether the service waits before its next launch attempt.
func (s *service) throttled() bool { return s.e.now.Before(s.throttledUntil) }

func newService(e *Emulator, s manifest.Service) *service {
	return &service{e: e, cfg: s, desired: s.DesiredCount}
}

func (e *Emulator) kickServices() {
	for _, s := range e.services {
		s.kick()
	}
}

// kick schedules a reconcile now, once however often it is asked for.
func (s *service) kick() {
	if s.kicked || s.e.m.Workload != manifest.WorkloadECS {
		return
	}
	s.kicked = true
	s.e.after(0, func() {
		s.kicked = false
		s.reconcile()
	})
}

// reconcile is the ECS service scheduler: it keeps desiredCount tasks running off DRAINING
// instances, starting replacements while the total stays within maximumPercent and
// stopping tasks on DRAINING instances while the healthy count stays at or above
// minimumHealthyPercent.
func (s *service) reconcile() {
	pl := s.placement()
	for _, t := range slices.Clone(s.tasks) {
		pl.place(t) // PROVISIONING tasks take room that opened since
	}
	var keep, draining []*task
	for _, t := range s.tasks {
		switch {
		case t.status == spotfleet.TaskDeactivating || t.status == spotfleet.TaskStopping:
		case t.ci != nil && t.ci.status == spotfleet.ContainerInstanceDraining:
			draining = append(draining, t)
		default:
			keep = append(keep, t)
		}
	}
	live := len(keep) + len(draining)
	maxTotal := s.desired * s.cfg.MaximumPercent / 100
	minHealthy := int(math.Ceil(float64(s.desired*s.cfg.MinimumHealthyPercent) / 100))

	if !s.throttled() {
		counts := map[string]int{}
		for _, t := range keep {
			counts[t.provider]++
		}
		for range min(s.desired-len(keep), maxTotal-live) {
			if t := s.startTask(counts, pl); t != nil {
				keep = append(keep, t)
			}
		}
	}
	if extra := len(keep) - s.desired; extra > 0 {
		slices.SortStableFunc(keep, func(a, b *task) int {
			return cmp.Or(boolFirst(!a.healthy(), !b.healthy()), b.createdAt.Compare(a.createdAt))
		})
		for _, t := range keep[:extra] {
			s.e.stopTask(t, "ServiceSchedulerInitiated", "Service scaled in")
		}
		keep = keep[extra:]
	}

	healthy := 0
	for _, t := range s.tasks {
		if t.healthy() && t.status == spotfleet.TaskRunning {
			healthy++
		}
	}
	slices.SortStableFunc(draining, func(a, b *task) int { return boolFirst(!a.healthy(), !b.healthy()) })
	for _, t := range draining {
		if t.healthy() {
			if healthy-1 < minHealthy {
				continue
			}
			healthy--
		}
		s.e.stopTask(t, "ServiceSchedulerInitiated", "Task stopped because its container instance is draining")
	}

	grace := s.cfg.HealthCheckGracePeriod.D()
	for _, t := range keep {
		if t.target != nil && t.target.state == spotfleet.TargetUnhealthy && s.e.now.Sub(t.startedAt) >= grace {
			s.e.stopTask(t, "ServiceSchedulerInitiated", "Task failed ELB health checks in target group "+s.tg.name)
		}
	}
}

// startTask creates a task on the provider the strategy picks, given the tasks kept per
// provider (which it counts in). It returns nil when Fargate refused to place it: ECS then
// creates no task.
func (s *service) startTask(counts map[string]int, pl *placement) *task {
	e := s.e
	t := &task{id: e.ids.uuid(), svc: s, provider: manifest.NextProvider(s.cfg.CapacityProviderStrategy, counts),
		status: spotfleet.TaskProvisioning, createdAt: e.now}
	if t.fargate() && !pl.placeFargate(t) {
		s.placementFailed(t.provider)
		return nil
	}
	counts[t.provider]++
	s.tasks = append(s.tasks, t)
	e.touchTask(t)
	pl.place(t)
	return t
}

// placement places a service's PROVISIONING tasks: spread across zones, then instances. It
// counts the service's tasks per zone once and keeps the counts as it places. Once a task
// finds no room on a provider, none of the service's (all of one size) will in the same
// round: trying each against every instance made a shortage's rounds cost waiting tasks ×
// instances (a month of the stress market at 3,000 tasks spent 14% there).
type placement struct {
	s       *service
	perZone map[string]int
	full    map[string]bool // providers with no room left for the service's tasks
}

func (s *service) placement() *placement { return &placement{s: s, full: map[string]bool{}} }

// counted counts the service's tasks per zone, when a task first needs placing: most
// rounds place none, and counting was a walk of every task (9% of a stress month).
func (pl *placement) counted() {
	if pl.perZone != nil {
		return
	}
	pl.perZone = map[string]int{}
	for _, x := range pl.s.tasks {
		if z := x.zoneOf(); z != "" {
			pl.perZone[z]++
		}
	}
}

// place puts a PROVISIONING task on an instance of its provider with room, in the zone with
// the fewest of the service's tasks, then on the instance with the fewest; without room it
// waits, as ECS leaves it in PROVISIONING.
func (pl *placement) place(t *task) {
	if t.status != spotfleet.TaskProvisioning || t.fargate() || pl.full[t.provider] {
		return // Fargate places at creation (placeFargate)
	}
	e, s := pl.s.e, pl.s
	pl.counted()
	var best *containerInstance
	bestN := 0
	for _, ci := range e.cluster.cis {
		if ci.in.g.cfg.Name != t.provider || !ci.fits(s.cfg.CPU, s.cfg.Memory) {
			continue
		}
		n := ci.tasksOf(s)
		if best == nil || cmp.Or(cmp.Compare(pl.perZone[ci.in.pool.Zone], pl.perZone[best.in.pool.Zone]), cmp.Compare(n, bestN)) < 0 {
			best, bestN = ci, n
		}
	}
	if best == nil {
		pl.full[t.provider] = true
		return
	}
	pl.perZone[best.in.pool.Zone]++
	t.ci = best
	best.tasks = append(best.tasks, t)
	best.cpuUsed += s.cfg.CPU
	best.memUsed += s.cfg.Memory
	t.ip = e.ids.taskIPAddr()
	t.status = spotfleet.TaskPending
	e.emitTaskStateChange(t)
	e.startTaskProcess(t)
}

// tasksOf counts the service's tasks on the container instance.
func (ci *containerInstance) tasksOf(s *service) int {
	n := 0
	for _, t := range ci.tasks {
		if t.svc == s {
			n++
		}
	}
	return n
}

func (e *Emulator) startTaskProcess(t *task) {
	cfg := t.svc.cfg
	var in *instance
	if t.ci != nil {
		in = t.ci.in
	}
	spec := proc.Spec{Name: cfg.Name + "-" + t.id, Argv: cfg.Command, Env: append(e.processEnv(cfg, t.ip, in), "TASK_ID="+t.id)}
	proc, err := e.startProcess(spec)
	e.started(spec, cfg.Name, t.id, t.hostInstance())
	if err != nil {
		// As ECS: the task goes from PENDING to STOPPED with the container's error, a
		// moment later (not within the placement that is still going on).
		e.note("task %s of %s failed to start: %v", fleetview.ShortID(t.id), cfg.Name, err)
		e.logEnded(cfg.Name, spec.Name)
		t.stopCode, t.stoppedReason = "TaskFailedToStart", "CannotStartContainerError: "+err.Error()
		e.after(0, func() { e.finishStop(t) })
		return
	}
	t.proc = proc
	e.whenExited(proc, func() {
		e.logEnded(cfg.Name, spec.Name)
		e.procExited(t)
		if t.target != nil {
			t.target.tg.simWatch(t.target) // its load balancer notices a process that died
		}
	})
	// The container is up a moment after the process starts.
	e.after(time.Second, func() {
		if t.status != spotfleet.TaskPending {
			return
		}
		t.status = spotfleet.TaskRunning
		t.startedAt = e.now
		e.after(crashWindow, func() {
			if t.status == spotfleet.TaskRunning {
				t.svc.failedStarts = 0
			}
		})
		e.emitTaskStateChange(t)
		if t.svc.tg != nil {
			t.target = t.svc.tg.register(t.ip, t.host(), t)
		}
		where := t.zone
		if in != nil {
			where = in.id
		}
		e.note("task %s of %s RUNNING on %s (%s)", fleetview.ShortID(t.id), cfg.Name, where, t.provider)
	})
}

// processEnv is the environment of a service process on an instance: where to listen, who
// it is, its metadata service, its stop budget in real time, the manifest's variables and
// its secrets' values.
func (e *Emulator) processEnv(cfg manifest.Service, ip string, in *instance) []string {
	env := []string{"HOST=" + ip, "PORT=" + strconv.Itoa(cfg.Port), "STOP_TIMEOUT=" + e.clock.Wall(cfg.StopTimeout.D()).String()}
	if in != nil { // a Fargate task has no instance, nor its metadata service
		env = append(env, "INSTANCE_ID="+in.id, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+in.imdsEndpoint())
	}
	for k, v := range cfg.Environment {
		env = append(env, k+"="+v)
	}
	for _, x := range cfg.Secrets {
		env = append(env, x.Name+"="+e.opt.Secrets[x.Name])
	}
	return env
}

// stopTask stops a task the ECS way: out of the load balancer first (DEACTIVATING, for at
// most the deregistration delay), then SIGTERM (STOPPING), SIGKILL after the stop timeout.
func (e *Emulator) stopTask(t *task, code, reason string) {
	switch t.status {
	case spotfleet.TaskDeactivating, spotfleet.TaskStopping, spotfleet.TaskStopped:
		return
	}
	t.stopCode, t.stoppedReason = code, reason
	if t.proc == nil {
		e.finishStop(t)
		return
	}
	t.status = spotfleet.TaskDeactivating
	e.emitTaskStateChange(t)
	if tg := t.target; tg != nil && t.target.state != spotfleet.TargetUnused {
		t.target.onUnused = func() { e.sigterm(t) }
		if t.target.state.Registered() {
			t.target.tg.deregister(t.target, fmt.Sprintf("task %s stopping: %s", fleetview.ShortID(t.id), reason))
		}
		return
	}
	e.sigterm(t)
}

func (e *Emulator) sigterm(t *task) {
	if t.status == spotfleet.TaskStopping || t.status == spotfleet.TaskStopped {
		return
	}
	t.status = spotfleet.TaskStopping
	t.stoppingAt = e.now
	if t.target != nil && t.target.state.Registered() && !t.warned() {
		e.acct.StoppedWhileRegistered++
	}
	e.emitTaskStateChange(t)
	t.proc.Signal(syscall.SIGTERM)
	e.after(t.svc.cfg.StopTimeout.D(), func() {
		if t.status == spotfleet.TaskStopping {
			t.proc.Kill()
		}
	})
}

// procExited is called when a task's process ends.
func (e *Emulator) procExited(t *task) {
	if t.status == spotfleet.TaskStopped || (t.ci != nil && !t.ci.in.alive()) {
		return // an instance that died takes its tasks down by instanceLost
	}
	if t.warned() {
		// A Fargate Spot task's SIGTERM came with the warning: what counts is whether its
		// process ended while the load balancer could still route to it. ECS marks it
		// STOPPED, and only then deregisters it, a while after its container ends.
		if t.target != nil && t.target.state.Registered() {
			e.acct.StoppedWhileRegistered++
		}
		e.after(e.opt.ECSNoticesTerminationAfter, func() { e.finishStop(t) })
		return
	}
	if t.status != spotfleet.TaskStopping {
		t.stopCode, t.stoppedReason = "EssentialContainerExited", fmt.Sprintf("Essential container in task exited (exit code %d)", t.proc.ExitCode())
	}
	e.finishStop(t)
}

// warned says whether the task is a Fargate Spot task that got the interruption warning.
func (t *task) warned() bool { return t.ci == nil && t.stopCode == spotfleet.StopCodeSpotInterruption }

// finishStop makes a task STOPPED and frees its resources.
func (e *Emulator) finishStop(t *task) {
	if t.status == spotfleet.TaskStopped {
		return
	}
	if t.target != nil && t.target.state.Registered() {
		t.target.onUnused = nil
		t.target.tg.deregister(t.target, "task stopped")
	}
	crashed := t.status == spotfleet.TaskRunning && t.stopCode == "EssentialContainerExited" && e.now.Sub(t.startedAt) < crashWindow
	if crashed || (t.status == spotfleet.TaskPending && (t.stopCode == "TaskFailedToStart" || t.stopCode == "EssentialContainerExited")) {
		t.svc.startFailed() // it never ran, or not for long: the service throttles its next launches
	}
	t.status = spotfleet.TaskStopped
	t.stoppedAt = e.now
	t.release()
	if t.ip != "" && (t.target == nil || t.target.state == spotfleet.TargetUnused) {
		e.ids.release(t.ip) // else once its target is unused
	}
	if ci := t.ci; ci != nil {
		ci.tasks = slices.DeleteFunc(ci.tasks, func(x *task) bool { return x == t })
		ci.cpuUsed -= t.svc.cfg.CPU
		ci.memUsed -= t.svc.cfg.Memory
		if !ci.busy() && ci.in.alive() && !ci.in.detached {
			// Its scale-in protection is gone: a group above its desired capacity may
			// now terminate it.
			e.after(0, ci.in.g.reconcile)
		}
	}
	t.svc.tasks = slices.DeleteFunc(t.svc.tasks, func(x *task) bool { return x == t })
	e.delta.tasks.Gone(t)
	e.emitTaskStateChange(t)
	e.note("task %s of %s STOPPED: %s", fleetview.ShortID(t.id), t.svc.cfg.Name, t.stoppedReason)
	e.kickServices()
}

func (e *Emulator) targetHealthChanged(t *target) {
	if t.task != nil {
		t.task.svc.kick()
	}
}

// managedScalingPeriod is how often ECS managed scaling evaluates CapacityProviderReservation
// (a one-minute CloudWatch metric); scale-in waits for managedScaleInPeriods low readings,
// as its alarm needs 15 datapoints.
const (
	managedScalingPeriod  = time.Minute
	managedScaleInPeriods = 15
)

// scheduleManagedScaling keeps each capacity provider's CapacityProviderReservation
// (M / N × 100) at its targetCapacityPercent.
func (e *Emulator) scheduleManagedScaling() {
	if e.cluster == nil {
		return
	}
	low := map[*group]int{}
	var tick func()
	tick = func() {
		for _, g := range e.groups {
			want := e.instancesNeeded(g)
			cur := g.desired / g.cfg.UnitsPerInstance()
			switch {
			case want > cur:
				low[g] = 0
				g.setDesired(want*g.cfg.UnitsPerInstance(), fmt.Sprintf("managed scaling: CapacityProviderReservation above %d%%", g.cfg.TargetCapacityPercent))
			case want < cur:
				if low[g]++; low[g] >= managedScaleInPeriods {
					low[g] = 0
					g.setDesired(want*g.cfg.UnitsPerInstance(), "managed scaling: CapacityProviderReservation below target for 15 minutes")
				}
			default:
				low[g] = 0
			}
		}
		e.after(managedScalingPeriod, tick)
	}
	e.after(managedScalingPeriod, tick)
}

// instancesNeeded is ceil(M × 100 / targetCapacity): M counts the instances that run tasks
// plus those that the provider's PROVISIONING tasks need (at least one when any wait).
func (e *Emulator) instancesNeeded(g *group) int {
	m := 0
	for _, in := range g.live {
		if in.ci != nil && in.ci.busy() {
			m++
		}
	}
	spec := g.firstSpec()
	demand := 0.0
	for _, s := range e.services {
		for _, t := range s.tasks {
			if t.status == spotfleet.TaskProvisioning && t.provider == g.cfg.Name {
				demand += max(float64(s.cfg.CPU)/float64(spec.VCPU*1024), float64(s.cfg.Memory)/(float64(spec.MemoryMiB)*spotfleet.ECSRegisteredMemoryShare))
			}
		}
	}
	if demand > 0 {
		m += max(1, int(math.Ceil(demand)))
	}
	return int(math.Ceil(float64(m*100) / float64(g.cfg.TargetCapacityPercent)))
}

// missingSecrets says which secrets have no value, and where to give them one.
func missingSecrets(m *manifest.Manifest, values map[string]string) error {
	var missing []string
	for _, s := range m.AllServices() {
		for _, x := range s.Secrets {
			if _, ok := values[x.Name]; !ok && !slices.Contains(missing, x.Name) {
				missing = append(missing, x.Name)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("secrets with no value on the emulator: %s; give them one in the file of local.envFile (or --env-file), as NAME=value lines",
		strings.Join(missing, ", "))
}
