package emulator

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// ProcSpec is a process to start for a task or an instance's service.
type ProcSpec struct {
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

// Runner starts processes.
type Runner interface {
	Start(spec ProcSpec) (Process, error)
}

// ProcessRunner starts real processes, each in a process group of its own so that a signal
// reaches whatever the command spawned. Each is also killed if spotfleet dies (parent-death
// signal), and, with a Reaper, even its grandchildren are.
type ProcessRunner struct {
	Executable string // what "spotfleet" means in a command
	LogDir     string
	Env        []string
	Reaper     io.Writer // a reaper's stdin (see RunReaper); optional
	mu         sync.Mutex
}

type osProcess struct {
	cmd    *exec.Cmd
	pgid   int
	done   chan struct{}
	code   int
	runner *ProcessRunner
}

func (r *ProcessRunner) Start(spec ProcSpec) (Process, error) {
	if len(spec.Argv) == 0 {
		return nil, fmt.Errorf("%s: empty command", spec.Name)
	}
	argv := append([]string(nil), spec.Argv...)
	if argv[0] == "spotfleet" && r.Executable != "" {
		argv[0] = r.Executable
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), r.Env...), spec.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if r.LogDir != "" {
		f, err := os.OpenFile(filepath.Join(r.LogDir, spec.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			cmd.Stdout, cmd.Stderr = f, f
			defer f.Close() // the child holds its own descriptor
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &osProcess{cmd: cmd, pgid: cmd.Process.Pid, done: make(chan struct{}), runner: r}
	r.tellReaper("%d", p.pgid)
	go func() {
		err := cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		if err != nil && p.code == 0 {
			p.code = -1
		}
		// Whatever the leader left behind in its group goes with it.
		syscall.Kill(-p.pgid, syscall.SIGKILL)
		r.tellReaper("-%d", p.pgid)
		close(p.done)
	}()
	return p, nil
}

func (r *ProcessRunner) tellReaper(format string, args ...any) {
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

// RunReaper is the body of `spotfleet reaper`, a helper that outlives a killed `up`: it
// reads process group IDs from r ("123" to watch, "-123" to forget) and, when r reaches
// end of file because `up` exited for any reason, SIGKILL included, kills every group it
// still watches.
func RunReaper(r io.Reader) {
	groups := map[int]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		n, err := strconv.Atoi(strings.TrimPrefix(line, "-"))
		if err != nil || n <= 1 {
			continue
		}
		groups[n] = !strings.HasPrefix(line, "-")
	}
	for pgid, live := range groups {
		if live {
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}
}
