package proc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A task can leave every net the process runner casts (proctree.go): a process group by
// setsid, the environment marker by env -i, and, as root, its cgroup by writing its PID to
// the root cgroup's cgroup.procs (the review's task did all three and outlived up). A PID
// namespace cannot be left: when its init ends, the kernel kills every process in it. Under
// up run as root, the reaper is started as the init of a namespace of its own, and the
// tasks are started in it; whatever happens to up, the reaper ends, and everything with it.

// spawner starts processes in another process's PID namespace. A thread that enters a PID
// namespace (setns) starts its children there, so one thread, locked to its goroutine and
// never given back, does all the starting.
type spawner struct {
	mu     sync.Mutex
	reqs   chan spawnRequest
	closed bool
}

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// newSpawner enters the PID namespace of process pid on a thread of its own.
func newSpawner(pid int) (*spawner, error) {
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		return nil, err
	}
	s := &spawner{reqs: make(chan spawnRequest)}
	ready := make(chan error, 1)
	go func() {
		// Never unlocked: the thread has left this process's namespace for its children,
		// and ends with the goroutine. (The runtime makes its new threads from a clean
		// template thread, not from a locked one, so none inherits it.) A child's
		// parent-death signal follows this thread, which lives as long as the runner.
		runtime.LockOSThread()
		err := enterPIDNamespace(int(ns.Fd()))
		ns.Close()
		ready <- err
		if err != nil {
			return
		}
		for req := range s.reqs {
			req.done <- req.cmd.Start()
		}
	}()
	if err := <-ready; err != nil {
		return nil, fmt.Errorf("entering the PID namespace of process %d: %w", pid, err)
	}
	return s, nil
}

func (s *spawner) start(cmd *exec.Cmd) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("the process runner is closed")
	}
	done := make(chan error, 1)
	s.reqs <- spawnRequest{cmd: cmd, done: done}
	return <-done
}

func (s *spawner) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.reqs)
	}
}

// InitNamespace is what the reaper does as the init of a PID namespace: it reaps the
// processes the namespace's orphans become (an init that does not leaves zombies), until
// stop is closed. Elsewhere it returns at once.
func InitNamespace(stop <-chan struct{}) {
	if os.Getpid() != 1 {
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGCHLD)
	defer signal.Stop(sig)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		for {
			var ws unix.WaitStatus
			if pid, _ := unix.Wait4(-1, &ws, unix.WNOHANG, nil); pid <= 0 {
				break
			}
		}
		select {
		case <-stop:
			return
		case <-sig:
		case <-tick.C:
		}
	}
}
