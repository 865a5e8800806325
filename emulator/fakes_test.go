package emulator

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/spotfleet/spotfleet/manifest"
)

// fakeRunner starts fake processes: each "listens" on its HOST until it gets a signal,
// and exits at once on SIGTERM (or SIGKILL).
type fakeRunner struct {
	mu    sync.Mutex
	procs map[string]*fakeProc // by HOST
	all   []*fakeProc
}

type fakeProc struct {
	host string
	done chan struct{}
	once sync.Once
	mu   sync.Mutex
	sigs []syscall.Signal
	code int
	spec ProcSpec
}

func (r *fakeRunner) Start(spec ProcSpec) (Process, error) {
	p := &fakeProc{done: make(chan struct{}), spec: spec}
	for _, kv := range spec.Env {
		if h, ok := strings.CutPrefix(kv, "HOST="); ok {
			p.host = h
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.procs == nil {
		r.procs = map[string]*fakeProc{}
	}
	r.procs[p.host] = p
	r.all = append(r.all, p)
	return p, nil
}

func (p *fakeProc) Signal(sig syscall.Signal) error {
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
func (p *fakeProc) Kill()                 { p.Signal(syscall.SIGKILL) }
func (p *fakeProc) Done() <-chan struct{} { return p.done }
func (p *fakeProc) ExitCode() int         { return p.code }

func (p *fakeProc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Probe is healthy while the process at the URL's host is alive.
func (r *fakeRunner) Probe(_ context.Context, u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	r.mu.Lock()
	p := r.procs[pu.Hostname()]
	r.mu.Unlock()
	return p != nil && p.alive()
}

// memListener is an in-memory listener: Accept blocks on a channel, which synctest counts
// as durably blocked (a real socket would stop virtual time).
type memListener struct {
	addr   string
	closed chan struct{}
	once   sync.Once
}

func memListen(addr string) (net.Listener, error) {
	return &memListener{addr: addr, closed: make(chan struct{})}, nil
}

func (l *memListener) Accept() (net.Conn, error) {
	<-l.closed
	return nil, errors.New("listener closed")
}
func (l *memListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *memListener) Addr() net.Addr { return fakeAddr(l.addr) }

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }

// world runs an emulator for a manifest inside a synctest bubble, with fake processes and
// in-memory listeners, and hands it to f with the bubble's t; time passes with time.Sleep.
func world(t *testing.T, yaml string, f func(t *testing.T, e *Emulator, r *fakeRunner)) {
	t.Helper()
	m, diags := manifest.Parse("test.yaml", []byte(yaml))
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{}
		e, err := New(m, Options{Runner: r, Prober: r, Listen: memListen, Seed: 7, BootTime: 60 * time.Second, AgentDrainsOnNotice: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { e.Run(ctx); close(done) }()
		defer func() { // also when f calls t.Fatal
			cancel()
			<-done
			e.Close()
		}()
		f(t, e, r)
	})
}

// inspect runs f under the world lock.
func inspect(e *Emulator, f func()) {
	e.lock()
	defer e.unlock()
	f()
}
