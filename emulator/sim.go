package emulator

import (
	"slices"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/proc"
)

// Simulated mode (Options.Simulated) is the emulator without the outside world, for
// `spotfleet simulate`: tasks are simulated processes, health checks are computed rather
// than sent, nothing listens, and time is whatever the clock says (a virtual clock that the
// simulator moves from one timer to the next). Everything else (the market, EC2, Auto
// Scaling, ECS, target states, the queue and the accounting) is the code `up` runs.

// simTimeline is the world as its simulated processes see it (proc.Sim).
type simTimeline struct{ e *Emulator }

func (t simTimeline) After(d time.Duration, f func()) { t.e.after(d, f) }
func (t simTimeline) Exited()                         { t.e.changed() } // what serves changed (serving.go)
func (t simTimeline) Closed() bool                    { return t.e.closed }

// whenExited runs f under the world lock once the process has ended: a timer of the world
// for a simulated process, a goroutine that waits for a real one. Callers hold the lock.
func (e *Emulator) whenExited(p proc.Process, f func()) {
	if sp, ok := p.(*proc.Sim); ok {
		sp.OnExit(f)
		return
	}
	go func() {
		<-p.Done()
		e.handOff(f)
	}()
}

// alive says whether a process still runs. Callers hold the lock.
func alive(p proc.Process) bool {
	if p == nil {
		return false
	}
	if sp, ok := p.(*proc.Sim); ok {
		return sp.Running()
	}
	select {
	case <-p.Done():
		return false
	default:
		return true
	}
}

// simWatch computes a target's health checks in simulated mode, where the check of a
// simulated process is known without sending it: the target is checked at the target
// group's ticks while its state can still change (initial, or its process ended), and not
// at all while it is stable, so that a month of a thousand healthy targets costs nothing.
func (tg *targetGroup) simWatch(t *target) {
	e := tg.e
	if !e.opt.Simulated || t.probing || !t.state.Registered() {
		return
	}
	t.probing = true
	interval := tg.lb.HealthCheck.Interval.D()
	next := e.start.Add(e.now.Sub(e.start).Truncate(interval) + interval)
	e.at(next, func() {
		t.probing = false
		if !t.state.Registered() {
			return
		}
		ok := tg.serving(t)
		tg.probed(t, ok)
		if stable := (ok && t.state == spotfleet.TargetHealthy) || (!ok && t.state == spotfleet.TargetUnhealthy); !stable {
			tg.simWatch(t)
		}
	})
}

// serving says whether a target's process answers its health check: it runs.
func (tg *targetGroup) serving(t *target) bool {
	if t.task != nil {
		return alive(t.task.proc)
	}
	if in := tg.e.instances[t.instanceID]; in != nil && in.app != nil {
		return alive(in.app.proc)
	}
	return false
}

// NextEvent is when the world's next timer is due; ok is false when none is.
func (e *Emulator) NextEvent() (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.timers) == 0 {
		return time.Time{}, false
	}
	return e.timers[0].at, true
}

// Advance brings the world to its clock's time, running every timer due by then.
func (e *Emulator) Advance() {
	e.lock()
	e.unlock()
}

// startProcess starts a service's process: a simulated one in simulated mode.
func (e *Emulator) startProcess(spec proc.Spec) (proc.Process, error) {
	if e.opt.Simulated {
		return proc.NewSim(simTimeline{e}), nil
	}
	return e.opt.Runner.Start(spec)
}

// ProcessRecord is a service process the emulator started: a task's container, or under
// workload instances the service on an instance. Its output is Name + ".log" in the
// runner's log directory (Name + ".log.1" holds the older part once it outgrew its cap).
type ProcessRecord struct {
	Service   string  `json:"service"`
	Task      string  `json:"task,omitempty"`
	Instance  string  `json:"instance"`
	Name      string  `json:"name"`
	StartedAt float64 `json:"startedAtSeconds"` // emulated
}

// started records a process start, failed or not (its log says why). Callers hold the lock.
func (e *Emulator) started(spec proc.Spec, service, task, instance string) {
	if e.opt.Simulated {
		return
	}
	if e.forgotten[spec.Name] { // a restart under the same name: only the old records go
		e.compactProcesses()
	}
	e.procs = append(e.procs, ProcessRecord{Service: service, Task: task, Instance: instance, Name: spec.Name,
		StartedAt: round(e.elapsed().Seconds(), 1)})
}

// keptLogs is how many ended processes of a service keep their logs: a crash loop under up
// must not fill the disk with a file per restart. The older ones are removed, and leave
// Processes.
const keptLogs = 20

// logForgetter removes the log of a process that ended (proc.Runner).
type logForgetter interface{ Forget(name string) }

// logEnded notes that a service's process ended, and forgets the logs of its processes
// that ended before the last keptLogs. Callers hold the lock.
func (e *Emulator) logEnded(service, name string) {
	if e.opt.Simulated {
		return
	}
	if e.ended == nil {
		e.ended = map[string][]string{}
	}
	ended := append(e.ended[service], name)
	if len(ended) > keptLogs {
		old := ended[0]
		ended = ended[1:]
		e.forgetProcess(old)
		if f, ok := e.opt.Runner.(logForgetter); ok {
			f.Forget(old)
		}
	}
	e.ended[service] = ended
}

// forgetProcess takes a process out of Processes. The list is compacted once half of it is
// forgotten: deleting each at once made every end a walk of every process started, and a
// burst of 10,000 ends quadratic (BenchmarkNotices). Callers hold the lock.
func (e *Emulator) forgetProcess(name string) {
	if e.forgotten == nil {
		e.forgotten = map[string]bool{}
	}
	e.forgotten[name] = true
	if len(e.forgotten) > len(e.procs)/2 {
		e.compactProcesses()
	}
}

func (e *Emulator) compactProcesses() {
	e.procs = slices.DeleteFunc(e.procs, func(p ProcessRecord) bool { return e.forgotten[p.Name] })
	clear(e.forgotten)
}

// Processes lists the service processes started so far, in order, but those whose logs
// were removed.
func (e *Emulator) Processes() []ProcessRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(e.procs), func(p ProcessRecord) bool { return e.forgotten[p.Name] })
}

// changed counts a change of what a snapshot shows. Callers hold the lock.
func (e *Emulator) changed() { e.version++ }

// Version counts the changes a snapshot can show (instances, tasks, targets, desired
// capacities, container instance states): a simulation steps the controller when it moves.
func (e *Emulator) Version() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.version
}
