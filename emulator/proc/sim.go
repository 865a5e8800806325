package proc

import (
	"syscall"
	"time"
)

// Timeline is the world a simulated process lives in: its timers and its lock. Every
// method is called under the world's lock.
type Timeline interface {
	After(d time.Duration, f func()) // run f in the world's time, d from now
	Exited()                         // a process ended: what serves changed
	Closed() bool                    // the world has ended; nothing more is scheduled
}

// Graceful is how long a simulated service takes to finish its in-flight requests and
// exit after SIGTERM (a service that handles SIGTERM; the stop timeout bounds it).
const Graceful = time.Second

// Sim is a process that exists only in a world's timeline (`spotfleet simulate`): it runs
// until it is signalled, and its exit is a timer of the world, not a goroutine, so that a
// simulation is the same on every run. Its methods are called under the world's lock.
type Sim struct {
	t      Timeline
	done   chan struct{}
	exited bool
	code   int
	onExit []func()
	term   bool
}

// NewSim starts a simulated process in t.
func NewSim(t Timeline) *Sim { return &Sim{t: t, done: make(chan struct{})} }

// Signal ends the process: at once on SIGKILL, after Graceful on any other signal.
func (p *Sim) Signal(sig syscall.Signal) error {
	if p.exited {
		return nil
	}
	if sig == syscall.SIGKILL {
		p.exit(-1)
		return nil
	}
	if !p.term {
		p.term = true
		p.t.After(Graceful, func() { p.exit(128 + int(syscall.SIGTERM)) })
	}
	return nil
}

// Kill is Signal(SIGKILL).
func (p *Sim) Kill() { p.Signal(syscall.SIGKILL) }

// Done is closed when the process has ended.
func (p *Sim) Done() <-chan struct{} { return p.done }

// Running says whether the process has not ended yet, without a channel operation (a
// simulation asks it of every task at every change).
func (p *Sim) Running() bool { return !p.exited }

// ExitCode is the process's exit status once it has ended.
func (p *Sim) ExitCode() int { return p.code }

// OnExit runs f in the world's time once the process has ended.
func (p *Sim) OnExit(f func()) { p.onExit = append(p.onExit, f) }

func (p *Sim) exit(code int) {
	if p.exited {
		return
	}
	p.exited, p.code = true, code
	close(p.done)
	if p.t.Closed() {
		return
	}
	p.t.Exited()
	for _, f := range p.onExit {
		p.t.After(0, f)
	}
}
