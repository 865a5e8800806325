package emulator

import (
	"net"
	"slices"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/emulator/account"
	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/emulator/touch"
	"github.com/spotfleet/spotfleet/manifest"
)

// instance is an EC2 instance of one of the fleet's groups.
type instance struct {
	id        string
	g         *group
	pool      *pool
	lifecycle spotfleet.Lifecycle
	state     spotfleet.InstanceState
	ip        string
	weight    int

	launchedAt, runningAt time.Time
	noticeAt, deadline    time.Time // Spot interruption notice, and when it terminates
	rebalanceAt           time.Time // rebalance recommendation
	leaving               bool      // scale-in chose it: it drains, then terminates
	detached              bool      // no longer in its group, which launched a replacement
	holds                 bool      // a place in its Spot pool (release)

	imds   net.Listener
	tokens map[string]time.Time // IMDSv2 session tokens and their expiry

	ci  *containerInstance // workload ecs
	app *instanceApp       // workload instances: the service on this instance

	seen touch.Mark[spotfleet.Instance] // what the last snapshot or delta showed (delta.go)
}

func (in *instance) alive() bool {
	return in.state == spotfleet.InstancePending || in.state == spotfleet.InstanceRunning
}

func (in *instance) noticed() bool { return !in.noticeAt.IsZero() }

// release gives the instance's place in its Spot pool back: at its notice (the market took
// it) or its end, whichever is first.
func (in *instance) release() {
	if in.holds {
		in.holds = false
		in.pool.used--
	}
}

// processes lists what runs on the instance, to be killed with it.
func (in *instance) processes() []proc.Process {
	var out []proc.Process
	if in.ci != nil {
		for _, t := range in.ci.tasks {
			if t.proc != nil {
				out = append(out, t.proc)
			}
		}
	}
	if in.app != nil && in.app.proc != nil {
		out = append(out, in.app.proc)
	}
	return out
}

// launch starts an instance in the pool: pending now, running after the boot time.
func (e *Emulator) launch(g *group, p *pool, lc spotfleet.Lifecycle, weight int) *instance {
	in := &instance{
		id: e.ids.next("i"), g: g, pool: p, lifecycle: lc, state: spotfleet.InstancePending, holds: lc == spotfleet.Spot,
		ip: e.ids.instanceIP(), weight: weight, launchedAt: e.now, tokens: map[string]time.Time{},
	}
	e.instances[in.id] = in
	e.instOrder = append(e.instOrder, in)
	if !e.opt.Simulated { // nothing in a simulation reads a metadata service
		e.startIMDS(in)
	}
	e.emitStateChange(in)
	e.after(e.opt.BootTime, func() { e.boot(in) })
	return in
}

// startIMDS serves the instance's metadata service on its own address.
func (e *Emulator) startIMDS(in *instance) {
	l, err := e.opt.Listen(net.JoinHostPort(in.ip, "0"))
	if err != nil {
		e.log.Warn("metadata service not started", "instance", in.id, "err", err)
		return
	}
	in.imds = l
	srv := e.imdsServer()
	e.bg.Go(func() { srv.Serve(l) })
}

func (e *Emulator) boot(in *instance) {
	if in.state != spotfleet.InstancePending {
		return
	}
	in.state = spotfleet.InstanceRunning
	in.runningAt = e.now
	e.emitStateChange(in)
	e.note("%s %s (%s, %s) is running", in.id, in.pool, in.lifecycle, in.g.cfg.Name)
	switch e.m.Workload {
	case manifest.WorkloadECS:
		e.registerContainerInstance(in)
	case manifest.WorkloadInstances:
		e.startInstanceApp(in)
	}
}

// interrupt gives a Spot instance its 2-minute notice; it terminates at the deadline.
func (e *Emulator) interrupt(in *instance) {
	if in.lifecycle != spotfleet.Spot || !in.alive() || in.noticed() {
		return
	}
	in.noticeAt, in.deadline = e.now, e.now.Add(spotfleet.SpotNotice)
	in.release()
	e.acct.Notices++
	e.acct.NoticeMarks = account.Mark(e.acct.NoticeMarks, e.elapsed())
	if e.hasRegisteredTargets(in.id) {
		e.notices[in.id] = &noticeRecord{id: in.id, alive: in.alive, wallAt: time.Now()}
	}
	e.emitSpotInterruption(in)
	e.note("%s %s gets the Spot interruption notice (terminates at +2m)", in.id, in.pool)
	if e.opt.AgentDrainsOnNotice && in.ci != nil {
		// The ECS agent polls the metadata service and drains its instance within seconds.
		e.after(2*time.Second, func() {
			if in.alive() && in.ci != nil {
				e.drainContainerInstance(in.ci, "the ECS agent saw the Spot interruption notice")
			}
		})
	}
	e.at(in.deadline, func() { e.terminate(in, "Spot interruption") })
}

// recommendRebalance gives a Spot instance a rebalance recommendation.
func (e *Emulator) recommendRebalance(in *instance) {
	if in.lifecycle != spotfleet.Spot || !in.alive() || in.noticed() || !in.rebalanceAt.IsZero() {
		return
	}
	in.rebalanceAt = e.now
	e.acct.Rebalances++
	e.emitRebalance(in)
	e.note("%s %s gets a rebalance recommendation", in.id, in.pool)
}

// terminate ends an instance and everything on it, at once.
func (e *Emulator) terminate(in *instance, reason string) {
	if !in.alive() {
		return
	}
	in.state = spotfleet.InstanceShuttingDown
	in.release()
	e.emitStateChange(in)
	alive := 0
	for _, p := range in.processes() {
		select {
		case <-p.Done():
		default:
			alive++
			p.Kill()
		}
	}
	if in.noticed() && alive > 0 {
		e.acct.DeadlineMissed++
	}
	e.note("%s %s terminated (%s)%s", in.id, in.pool, reason, plural(alive, ", killing %d running process", ", killing %d running processes"))
	e.instanceEnded(in.id)
	if in.ci != nil {
		e.instanceLost(in.ci)
	}
	if in.app != nil {
		e.appLost(in)
	}
	if in.imds != nil {
		in.imds.Close()
	}
	e.after(2*time.Second, func() {
		in.state = spotfleet.InstanceTerminated
		e.emitStateChange(in)
		e.after(10*time.Minute, func() { e.forget(in) })
	})
	in.g.remove(in)
}

// spotInstancesIn lists the live Spot instances of a pool that have no notice yet.
func (e *Emulator) spotInstancesIn(p spotfleet.Pool) []*instance {
	var out []*instance
	for _, in := range e.instOrder {
		if in.pool.Pool == p && in.lifecycle == spotfleet.Spot && in.alive() && !in.noticed() {
			out = append(out, in)
		}
	}
	return out
}

// forget drops a terminated instance from the world, so that long runs stay small; the
// status shows it as terminated until then.
func (e *Emulator) forget(in *instance) {
	e.delta.instances.Gone(in)
	e.ids.release(in.ip)
	delete(e.instances, in.id)
	e.instOrder = slices.DeleteFunc(e.instOrder, func(x *instance) bool { return x == in })
}

func (e *Emulator) instanceByIP(ip string) *instance {
	for _, in := range e.instOrder {
		if in.ip == ip && in.state != spotfleet.InstanceTerminated {
			return in
		}
	}
	return nil
}
