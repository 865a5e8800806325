package emulator

import (
	"time"

	"github.com/spotfleet/spotfleet/emulator/proc"
)

// instanceApp is the service running once on an instance under workload instances; the
// instance is its load balancer target (reference design S2).
type instanceApp struct {
	svc      *service
	proc     proc.Process
	target   *target
	failures int  // starts in a row that failed or crashed within crashWindow
	stopping bool // its instance shuts down: it got SIGTERM
}

// appRestartDelay is how soon a crashed service is started again on its instance, as an
// init system would (Restart=on-failure); it doubles with each start in a row that fails
// or crashes within crashWindow, up to appRestartMax (systemd's RestartSteps), so that a
// service that cannot start does not start thousands of times.
const (
	appRestartDelay = 10 * time.Second
	appRestartMax   = 10 * time.Minute
)

// restartDelay counts a failed start and says when to try again.
func (a *instanceApp) restartDelay() time.Duration {
	a.failures++
	return min(appRestartDelay<<min(a.failures-1, 10), appRestartMax)
}

func (e *Emulator) startInstanceApp(in *instance) {
	if len(e.services) == 0 || !in.alive() || in.leaving {
		return
	}
	svc := e.services[0]
	cfg := svc.cfg
	if in.app == nil {
		in.app = &instanceApp{svc: svc}
	}
	spec := proc.Spec{Name: cfg.Name + "-" + in.id, Argv: cfg.Command, Env: e.processEnv(cfg, in.ip, in)}
	proc, err := e.startProcess(spec)
	e.started(spec, cfg.Name, "", in.id)
	if err != nil {
		e.logEnded(cfg.Name, spec.Name)
		d := in.app.restartDelay()
		e.note("%s: service %s failed to start: %v; retrying in %s", in.id, cfg.Name, err, d)
		e.after(d, func() { e.startInstanceApp(in) })
		return
	}
	in.app.proc = proc
	e.touchInstance(in)
	startedAt := e.now
	e.after(crashWindow, func() {
		if in.app.proc == proc && alive(proc) {
			in.app.failures = 0
		}
	})
	e.whenExited(proc, func() {
		e.logEnded(cfg.Name, spec.Name)
		if t := in.app.target; t != nil {
			t.tg.simWatch(t)
		}
		switch code := proc.ExitCode(); {
		case !in.alive() || in.leaving:
		case code == 0 || code == 128+15:
			// A clean exit (or one by SIGTERM, such as an agent stopping its service on a
			// notice) is not restarted, as systemd's Restart=on-failure does not.
			e.note("%s: service %s exited cleanly (code %d); not restarted", in.id, cfg.Name, code)
		default:
			d := appRestartDelay
			if e.now.Sub(startedAt) < crashWindow {
				d = in.app.restartDelay()
			}
			e.note("%s: service %s exited (code %d); restarting in %s", in.id, cfg.Name, proc.ExitCode(), d)
			e.after(d, func() { e.startInstanceApp(in) })
		}
	})
	if svc.tg != nil && in.app.target == nil {
		in.app.target = svc.tg.register(in.ip, in.id, nil)
		e.touchInstance(in)
	}
}

// appLost handles an instance that terminated under workload instances: the load balancer
// keeps its target until it notices the instance is gone.
func (e *Emulator) appLost(in *instance) {
	t := in.app.target
	if t == nil {
		return
	}
	if t.state.Registered() {
		e.acct.StoppedWhileRegistered++
	}
	e.after(e.opt.ECSNoticesTerminationAfter, func() { t.tg.deregister(t, "instance terminated") })
}
