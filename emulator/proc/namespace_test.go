//go:build linux

package proc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNamespaceHoldsWhatEscapes: a process started in a PID namespace whose descendant
// leaves its cgroup, its session and its environment (as root: the root cgroup, setsid,
// env -i), and so outlives its task, dies with the namespace's init; and the task starts
// there with the signals it would have had (SIGTERM ends it as before).
func TestNamespaceHoldsWhatEscapes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a PID namespace needs root")
	}
	init := exec.Command("sleep", "1000")
	init.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	if err := init.Start(); err != nil {
		t.Skipf("no PID namespace here: %v", err)
	}
	defer init.Process.Kill()
	r := &Runner{Namespace: init.Process.Pid, LogDir: t.TempDir(), Run: fmt.Sprint("ns", time.Now().UnixNano())}
	if err := r.Prepare(); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	token := fmt.Sprint(200000 + time.Now().UnixNano()%700000)
	// As root a process may move itself to the root cgroup, out of the run's.
	leave := "for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/unified/cgroup.procs; do echo $$ > $f; done 2>/dev/null; "
	p, err := r.Start(Spec{Name: "escaper", Argv: []string{"sh", "-c", leave + "setsid env -i sleep " + token + " & exec sleep 1000"}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(byCmdline("sleep "+token)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the escaping process never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-p.Done():
		t.Fatalf("the task ended at once (%d): started in the namespace, it must run", p.ExitCode())
	default:
	}
	p.Signal(syscall.SIGTERM)
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGTERM did not end the task in the namespace")
	}
	if left := byCmdline("sleep " + token); len(left) == 0 {
		t.Fatal("the escaped process ended with its task: the test escapes nothing")
	}
	init.Process.Kill() // the namespace's init ends: so does everything in it
	init.Wait()
	deadline = time.Now().Add(5 * time.Second)
	for len(byCmdline("sleep "+token)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the escaped process outlived the namespace's init: %v", byCmdline("sleep "+token))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// byCmdline lists the processes whose command line starts with s.
func byCmdline(s string) []string {
	var out []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err == nil && strings.HasPrefix(strings.ReplaceAll(string(b), "\x00", " "), s) {
			out = append(out, d.Name())
		}
	}
	return out
}

// TestNextRunSweepsWhatAnEarlierOneLeft: a run that ended without sweeping (up and its
// reaper killed together) leaves its file unlocked; the next run's SweepEarlierRuns kills
// what it left, and leaves a run that still goes on alone. (The docs said the next up swept
// them; nothing did.)
func TestNextRunSweepsWhatAnEarlierOneLeft(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	token := fmt.Sprint(200000 + time.Now().UnixNano()%700000)
	start := func(run, n string) *Runner {
		r := &Runner{Run: run, LogDir: t.TempDir()}
		if _, err := r.Start(Spec{Name: "left", Argv: []string{"sh", "-c", "setsid sleep " + token + n + " & exec sleep 1000"}}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	dead, alive := start("deadrun", "1"), start("liverun", "2")
	defer alive.Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(byCmdline("sleep "+token+"1")) == 0 || len(byCmdline("sleep "+token+"2")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the processes never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	dead.runFile.Close() // the run's up is gone: its lock with it, its file left
	n, err := SweepEarlierRuns()
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("SweepEarlierRuns found nothing")
	}
	deadline = time.Now().Add(5 * time.Second)
	for len(byCmdline("sleep "+token+"1")) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("what the ended run left survived the sweep: %v", byCmdline("sleep "+token+"1"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(byCmdline("sleep "+token+"2")) == 0 {
		t.Error("the sweep killed a run that still goes on")
	}
}
