package proc

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// ownGroup starts a process in a process group of its own (signalled as one), killed if
// spotfleet dies.
func ownGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// noDeathSignal drops the parent-death signal of a process started in the namespace (see
// Runner.start).
func noDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = 0 }

// intoCgroup starts a process in the cgroup open as fd.
func intoCgroup(a *syscall.SysProcAttr, fd int) { a.UseCgroupFD, a.CgroupFD = true, fd }

// reaperAttr starts the reaper in a process group of its own, and with namespace as the
// init of a new PID namespace.
func reaperAttr(namespace bool) (*syscall.SysProcAttr, error) {
	a := &syscall.SysProcAttr{Setpgid: true}
	if namespace {
		a.Cloneflags = syscall.CLONE_NEWPID
	}
	return a, nil
}

// enterPIDNamespace moves the calling thread into the PID namespace open as fd.
func enterPIDNamespace(fd int) error { return unix.Setns(fd, unix.CLONE_NEWPID) }

// DiesWithParent is the attributes of a child that is killed when its parent dies
// (Linux's parent-death signal; elsewhere there is none, and the caller's own exit path
// must end it).
func DiesWithParent() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
