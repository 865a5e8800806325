package proc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Reaper is the helper process (`spotfleet reaper`, RunReaper) that kills every process of
// a run when its stdin closes: when the run ends, however it ends, SIGKILL included.
type Reaper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	once  sync.Once
}

// Supervise starts the reaper (exe reaper) and the runner of a run's processes, which
// carry env. As root, the reaper is the init of a PID namespace the processes start in, so
// that none can outlive the run whatever it does (a root task left its cgroup, its session
// and its environment marker and outlived up, #32). Where that cannot be (not root, no
// namespaces), the nets of proctree.go hold, and a process that leaves all three escapes
// (docs/emulator.md); warn hears why.
func Supervise(exe, logDir, run string, env []string, warn io.Writer) (*Reaper, *Runner, error) {
	namespace := os.Geteuid() == 0
	for {
		reaper, err := StartReaper(exe, namespace)
		if err != nil && namespace {
			namespace = false
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		runner := &Runner{Executable: exe, LogDir: logDir, Reaper: reaper.stdin, Run: run, Env: env}
		if namespace {
			runner.Namespace = reaper.cmd.Process.Pid
		}
		if err := runner.Prepare(); err != nil {
			fmt.Fprintf(warn, "warning: tasks start outside a PID namespace of the run (%v): a task that leaves its session, cgroup and environment can outlive up\n", err)
			reaper.Finish()
			namespace = false
			continue
		}
		return reaper, runner, nil
	}
}

// StartReaper starts the reaper; with namespace, as the init of a PID namespace of its own,
// which the processes are then started in (namespace.go).
func StartReaper(exe string, namespace bool) (*Reaper, error) {
	cmd := exec.Command(exe, "reaper")
	// Its own process group: a Ctrl-C meant for up must not kill it first.
	attr, err := reaperAttr(namespace)
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = attr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the process reaper: %w", err)
	}
	return &Reaper{cmd: cmd, stdin: stdin}, nil
}

// Finish closes the reaper's stdin, which makes it kill every process group named there,
// and waits for it; once, from whichever of the run's exits comes first.
func (r *Reaper) Finish() {
	r.once.Do(func() {
		r.stdin.Close()
		r.cmd.Wait()
	})
}

// RunReaper is the body of `spotfleet reaper`, a helper that outlives a killed `up`. It
// reads lines from r: "123" to watch a process group, "-123" to forget it, "cgroup DIR" for
// the run's cgroups, "run ID" for the run's environment marker. When r reaches end of file
// because `up` exited for any reason, SIGKILL included, it kills every group it still
// watches, everything in the run's cgroups, and every process that carries the marker.
func RunReaper(r io.Reader) {
	stop := make(chan struct{})
	defer close(stop)
	go InitNamespace(stop)
	groups := map[int]bool{}
	var cgroupDirs, runs []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if dir, ok := strings.CutPrefix(line, "cgroup "); ok {
			cgroupDirs = append(cgroupDirs, dir)
			continue
		}
		if run, ok := strings.CutPrefix(line, "run "); ok {
			runs = append(runs, run)
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(line, "-"))
		if err != nil || n <= 1 {
			continue
		}
		groups[n] = !strings.HasPrefix(line, "-")
	}
	for _, dir := range cgroupDirs {
		killCgroupTree(dir)
	}
	if os.Getpid() == 1 {
		// The init of the run's PID namespace: its end kills every process in it, and the
		// groups and markers name PIDs of a namespace it cannot see.
		return
	}
	for pgid, live := range groups {
		if live {
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}
	for _, run := range runs {
		sweep(procMarker+"="+run+"/", true)
	}
}
