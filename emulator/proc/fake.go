package proc

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Fake starts processes that exist only in memory, for tests and simulations: each
// "listens" on its HOST until it gets a signal, and exits at once on SIGTERM (or SIGKILL).
// It is also a Prober: a process is healthy while it runs.
type Fake struct {
	// StartErr, when set, makes Start fail for the processes it returns an error for (a
	// command that does not exist); ExitsAtOnce makes a process exit with status 1 as it
	// starts (a command that crashes on start).
	StartErr    func(Spec) error
	ExitsAtOnce func(Spec) bool
	// CrashAfter, when set and positive for a process, makes it exit with status 1 that
	// long after it starts (a service that crashes once it runs).
	CrashAfter func(Spec) time.Duration

	mu     sync.Mutex
	procs  map[string]*fakeProcess // by HOST
	all    []*fakeProcess
	starts int
}

// Starts counts the processes started (and the failed attempts).
func (r *Fake) Starts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts
}

type fakeProcess struct {
	host string
	done chan struct{}
	once sync.Once
	mu   sync.Mutex
	sigs []syscall.Signal
	code int
	spec Spec
}

func (r *Fake) Start(spec Spec) (Process, error) {
	r.mu.Lock()
	r.starts++
	r.mu.Unlock()
	if r.StartErr != nil {
		if err := r.StartErr(spec); err != nil {
			return nil, err
		}
	}
	p := &fakeProcess{done: make(chan struct{}), spec: spec}
	if r.ExitsAtOnce != nil && r.ExitsAtOnce(spec) {
		p.code = 1
		p.once.Do(func() { close(p.done) })
	}
	if r.CrashAfter != nil {
		if d := r.CrashAfter(spec); d > 0 {
			time.AfterFunc(d, func() {
				p.once.Do(func() {
					p.mu.Lock()
					p.code = 1
					p.mu.Unlock()
					close(p.done)
				})
			})
		}
	}
	for _, kv := range spec.Env {
		if h, ok := strings.CutPrefix(kv, "HOST="); ok {
			p.host = h
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.procs == nil {
		r.procs = map[string]*fakeProcess{}
	}
	r.procs[p.host] = p
	r.all = append(r.all, p)
	return p, nil
}

func (p *fakeProcess) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	p.sigs = append(p.sigs, sig)
	p.mu.Unlock()
	p.once.Do(func() {
		if sig == syscall.SIGKILL {
			p.code = -1
		}
		close(p.done)
	})
	return nil
}
func (p *fakeProcess) Kill()                 { p.Signal(syscall.SIGKILL) }
func (p *fakeProcess) Done() <-chan struct{} { return p.done }
func (p *fakeProcess) ExitCode() int         { return p.code }

func (p *fakeProcess) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Probe is healthy while the process at the URL's host is alive.
func (r *Fake) Probe(_ context.Context, u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	r.mu.Lock()
	p := r.procs[pu.Hostname()]
	r.mu.Unlock()
	return p != nil && p.alive()
}
