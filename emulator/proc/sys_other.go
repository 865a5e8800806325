//go:build !linux

package proc

import (
	"errors"
	"syscall"
)

// Elsewhere than Linux (macOS) there is no parent-death signal, no cgroups and no PID
// namespaces: the nets that hold are the process group, the environment marker and the
// reaper (proctree.go), and a task that leaves its group and its environment can outlive
// up (docs/emulator.md).

func ownGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func noDeathSignal(*syscall.SysProcAttr) {}

func intoCgroup(*syscall.SysProcAttr, int) {}

var errNoNamespaces = errors.New("PID namespaces are Linux's alone")

func reaperAttr(namespace bool) (*syscall.SysProcAttr, error) {
	if namespace {
		return nil, errNoNamespaces
	}
	return &syscall.SysProcAttr{Setpgid: true}, nil
}

func enterPIDNamespace(int) error { return errNoNamespaces }

func DiesWithParent() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
