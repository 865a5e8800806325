// Package proc runs the processes of `spotfleet up`'s tasks and instance services, and
// makes sure none outlives the run: a process group each, a cgroup each where the machine
// gives one, an environment marker children inherit, as root a PID namespace whose init is
// the reaper (namespace.go), and a sweep of what earlier runs left (runs.go). Fake runs
// processes in memory, for tests and simulations.
package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Spec is a process to start for a task or an instance's service.
type Spec struct {
	Name string // for its log file
	Argv []string
	Env  []string
}

// Process is a started process group.
type Process interface {
	Signal(sig syscall.Signal) error // to the whole process group
	Kill()
	Done() <-chan struct{}
	ExitCode() int // valid after Done
}

// Runner starts real processes, each in a process group of its own so that a signal
// reaches whatever the command spawned. Each is also killed if spotfleet dies (parent-death
// signal), and, with a Reaper, even its grandchildren are.
type Runner struct {
	Executable string // what "spotfleet" means in a command
	LogDir     string
	Env        []string
	Reaper     io.Writer // a reaper's stdin (see RunReaper); optional
	// Run names this run: processes carry SPOTFLEET_PROC=<Run>/<name>, and their cgroups
	// live under spotfleet-<Run> (proctree.go). Default: the process ID.
	Run string
	// Namespace, when set, is a process whose PID namespace the processes start in: up's
	// reaper, that namespace's init (namespace.go). When it ends, the kernel kills every
	// process in the namespace, whatever it did to leave its group, session, cgroup or
	// environment.
	Namespace int
	// NamespaceErr says why the processes do not start in Namespace (the first Start sets it).
	NamespaceErr error

	mu      sync.Mutex
	once    sync.Once
	cgroups *cgroups // nil where the machine gives none
	spawner *spawner // nil without Namespace, or where it cannot be entered
	runFile *os.File // locked while the run goes on (runs.go)
}

func (r *Runner) init() {
	r.once.Do(func() {
		if r.Run == "" {
			r.Run = strconv.Itoa(os.Getpid())
		}
		r.register()
		r.cgroups = newCgroups(r.Run)
		if r.cgroups != nil {
			r.tellReaper("cgroup %s", r.cgroups.base)
		}
		r.tellReaper("run %s", r.Run)
		if r.Namespace > 0 {
			r.spawner, r.NamespaceErr = newSpawner(r.Namespace)
		}
	})
}

// Prepare makes the run's cgroups and enters the namespace (Start does it otherwise); it
// returns why the processes will not start in Namespace, when it is set and cannot be
// entered.
func (r *Runner) Prepare() error {
	r.init()
	return r.NamespaceErr
}

// start starts a command, in the namespace when there is one.
func (r *Runner) start(cmd *exec.Cmd) error {
	if r.spawner != nil {
		// No parent-death signal there: the child, whose parent is outside its namespace,
		// sees a parent of 0 and would take it for dead (Go's forkExec then kills it). The
		// namespace's end does that job.
		noDeathSignal(cmd.SysProcAttr)
		return r.spawner.start(cmd)
	}
	return cmd.Start()
}

// Close ends whatever is left of every process started, their escaped descendants
// included, and removes the run's cgroups.
func (r *Runner) Close() {
	r.init()
	if r.cgroups != nil {
		killCgroupTree(r.cgroups.base)
	}
	sweep(procMarker+"="+r.Run+"/", true)
	if r.spawner != nil {
		r.spawner.close()
	}
	r.unregister()
}

type osProcess struct {
	cmd    *exec.Cmd
	pgid   int
	done   chan struct{}
	code   int
	runner *Runner
}

func (r *Runner) Start(spec Spec) (Process, error) {
	if len(spec.Argv) == 0 {
		return nil, fmt.Errorf("%s: empty command", spec.Name)
	}
	// The name becomes a file and a cgroup name: the manifest's checks keep it plain, and
	// this keeps it so whatever made the spec.
	if spec.Name == "" || spec.Name != filepath.Base(spec.Name) || strings.ContainsRune(spec.Name, 0) || spec.Name[0] == '.' {
		return nil, fmt.Errorf("process name %q is not a plain file name", spec.Name)
	}
	argv := append([]string(nil), spec.Argv...)
	if argv[0] == "spotfleet" && r.Executable != "" {
		argv[0] = r.Executable
	}
	r.init()
	marker := procMarker + "=" + r.Run + "/" + spec.Name
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append(append(os.Environ(), r.Env...), spec.Env...), marker)
	cmd.SysProcAttr = ownGroup()
	var cgroup string
	if r.cgroups != nil {
		if dir, fd, err := r.cgroups.open(spec.Name); err == nil {
			defer fd.Close()
			cgroup = dir
			intoCgroup(cmd.SysProcAttr, int(fd.Fd()))
		}
	}
	var log *cappedLog
	if r.LogDir != "" {
		log = newCappedLog(filepath.Join(r.LogDir, spec.Name+".log"), MaxTaskLog)
		cmd.Stdout, cmd.Stderr = log, log
		// Output still held open by something the process left behind must not keep Wait
		// from returning: the group is killed after Wait.
		cmd.WaitDelay = time.Second
	}
	err := r.start(cmd)
	if err != nil && cgroup != "" && !errors.Is(err, exec.ErrNotFound) {
		// A kernel without clone into a cgroup: start it without; the sweep still holds.
		os.Remove(cgroup)
		cgroup = ""
		cmd = rebuild(cmd)
		err = r.start(cmd)
	}
	if err != nil {
		if cgroup != "" {
			os.Remove(cgroup)
		}
		log.Close()
		return nil, err
	}
	p := &osProcess{cmd: cmd, pgid: cmd.Process.Pid, done: make(chan struct{}), runner: r}
	r.tellReaper("%d", p.pgid)
	go func() {
		err := cmd.Wait()
		log.Close()
		p.code = cmd.ProcessState.ExitCode()
		if err != nil && p.code == 0 {
			p.code = -1
		}
		// Whatever the leader left behind goes with it: its group, its cgroup, and what
		// carries its marker (a descendant that started a session of its own).
		syscall.Kill(-p.pgid, syscall.SIGKILL)
		if cgroup != "" {
			killCgroup(cgroup)
		}
		sweep(marker, false)
		r.tellReaper("-%d", p.pgid)
		close(p.done)
	}()
	return p, nil
}

func (r *Runner) tellReaper(format string, args ...any) {
	if r.Reaper == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.Reaper, format+"\n", args...)
}

func (p *osProcess) Signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	return syscall.Kill(-p.pgid, sig)
}

func (p *osProcess) Kill()                 { p.Signal(syscall.SIGKILL) }
func (p *osProcess) Done() <-chan struct{} { return p.done }
func (p *osProcess) ExitCode() int         { return p.code }

// rebuild copies a command that failed to start so that it can be started again.
func rebuild(c *exec.Cmd) *exec.Cmd {
	n := exec.Command(c.Path, c.Args[1:]...)
	n.Env, n.Stdout, n.Stderr, n.WaitDelay = c.Env, c.Stdout, c.Stderr, c.WaitDelay
	n.SysProcAttr = ownGroup()
	return n
}

// MaxTaskLog is how much output of one process is kept: the log file is renamed to
// NAME.log.1 when it reaches this size and a new one begins, so a process keeps at most
// twice this on disk however much it writes.
const MaxTaskLog = 10 << 20

// cappedLog is a process's output file, rotated at a size.
type cappedLog struct {
	path  string
	limit int64
	mu    sync.Mutex
	f     *os.File
	size  int64
	err   error
}

func newCappedLog(path string, limit int64) *cappedLog {
	return &cappedLog{path: path, limit: limit}
}

// Write never fails toward the process: output that cannot be written is dropped, as a
// full disk would drop it, rather than making the process's writes fail.
func (l *cappedLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil && l.err == nil {
		l.f, l.err = os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	}
	if l.err != nil {
		return len(b), nil
	}
	if l.size+int64(len(b)) > l.limit && l.size > 0 {
		l.f.Close()
		os.Rename(l.path, l.path+".1")
		l.f, l.err = os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		l.size = 0
		if l.err != nil {
			return len(b), nil
		}
	}
	n, _ := l.f.Write(b)
	l.size += int64(n)
	return len(b), nil
}

func (l *cappedLog) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	return nil
}

// Forget removes the log files of a process that ended (the emulator keeps the last few of
// each service's).
func (r *Runner) Forget(name string) {
	if r.LogDir == "" || name != filepath.Base(name) {
		return
	}
	base := filepath.Join(r.LogDir, name+".log")
	os.Remove(base)
	os.Remove(base + ".1")
}

// CPU reads the CPU time of the process and its reaped children from /proc.
func (p *osProcess) CPU() time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pgid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 15 {
		return 0
	}
	var ticks int64
	for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime
		v, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ is 100 on Linux
}
