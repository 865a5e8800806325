package proc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTaskLogIsCapped: a process's output beyond MaxTaskLog goes to a new file, the old one
// kept once as .1, so at most twice the cap stays on disk.
func TestTaskLogIsCapped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web-1.log")
	l := newCappedLog(path, 1000)
	line := []byte(strings.Repeat("x", 99) + "\n")
	for range 35 { // 3,500 bytes
		if n, err := l.Write(line); n != len(line) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	l.Close()
	cur, _ := os.ReadFile(path)
	old, _ := os.ReadFile(path + ".1")
	if len(cur) > 1000 || len(old) != 1000 || len(cur)+len(old) < 1000 {
		t.Errorf("current %d bytes, previous %d; want each at most 1000 and the newest output kept", len(cur), len(old))
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 2 {
		t.Errorf("%d files, want 2", len(entries))
	}
}

// sleeping lists the sleep processes whose command line holds mark.
func sleeping(mark string) []int {
	var out []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || !strings.HasPrefix(string(cmdline), "sleep\x00"+mark) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if f := strings.Fields(string(stat)); len(f) > 2 && f[2] == "Z" {
			continue // a zombie is gone; only its parent has not reaped it
		}
		var pid int
		fmt.Sscan(d.Name(), &pid)
		out = append(out, pid)
	}
	return out
}

func waitGone(t *testing.T, mark string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(sleeping(mark)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("processes survived: %v", sleeping(mark))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// escaper is a task that starts a process in a session of its own (setsid), out of reach
// of a signal to its process group, and one that also clears its environment.
func escaper(mark string) []string {
	return []string{"sh", "-c", fmt.Sprintf("setsid sleep %[1]s.1 & setsid env -i sleep %[1]s.2 & exec sleep %[1]s.3", mark)}
}

func requireSetsid(t *testing.T) {
	for _, bin := range []string{"setsid", "env", "sleep"} {
		if _, err := os.Stat("/usr/bin/" + bin); err != nil {
			t.Skipf("no %s here", bin)
		}
	}
}

// TestStoppedTaskTakesItsEscapedProcesses: killing a task ends what it started in a new
// session too (its cgroup where the machine has them; else the processes that keep its
// environment marker).
func TestStoppedTaskTakesItsEscapedProcesses(t *testing.T) {
	requireSetsid(t)
	mark := fmt.Sprintf("%d", 40000+time.Now().UnixNano()%10000)
	r := &Runner{Run: "t" + mark}
	defer r.Close()
	p, err := r.Start(Spec{Name: "web-1", Argv: escaper(mark)})
	if err != nil {
		t.Fatal(err)
	}
	for len(sleeping(mark)) < 3 {
		time.Sleep(10 * time.Millisecond)
	}
	if r.cgroups == nil {
		t.Log("no cgroups here: only the environment sweep catches them")
	}
	p.Signal(syscall.SIGKILL)
	<-p.Done()
	if r.cgroups == nil {
		// The process that cleared its environment is caught by Close's cgroup only.
		if left := sleeping(mark); len(left) > 1 {
			t.Fatalf("%d processes survived the task", len(left))
		}
		r.Close()
	}
	waitGone(t, mark)
}

// TestReaperTakesEscapedProcesses: when up dies, the reaper ends the run's processes that
// left their process group.
func TestReaperTakesEscapedProcesses(t *testing.T) {
	requireSetsid(t)
	mark := fmt.Sprintf("%d", 50000+time.Now().UnixNano()%10000)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { RunReaper(pr); close(done) }()
	r := &Runner{Run: "t" + mark, Reaper: pw}
	if _, err := r.Start(Spec{Name: "web-1", Argv: escaper(mark)}); err != nil {
		t.Fatal(err)
	}
	for len(sleeping(mark)) < 3 {
		time.Sleep(10 * time.Millisecond)
	}
	pw.Close() // up is gone
	<-done
	if r.cgroups == nil {
		t.Skip("no cgroups here: a process that clears its environment and leaves its session escapes (docs/emulator.md)")
	}
	waitGone(t, mark)
}

// TestProcessNamesArePlain: a process whose name is not a plain file name is not started,
// and nothing is written outside the log directory (the review's service name
// ../../../tmp/pwn made up write /tmp/pwn-<task>.log).
func TestProcessNamesArePlain(t *testing.T) {
	dir := t.TempDir()
	r := &Runner{LogDir: filepath.Join(dir, "logs")}
	os.Mkdir(r.LogDir, 0o755)
	for _, name := range []string{"../escape", "a/b", "", ".hidden", "nul\x00x"} {
		if p, err := r.Start(Spec{Name: name, Argv: []string{"true"}}); err == nil {
			p.Kill()
			t.Errorf("Start(%q) started", name)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "escape.log")); err == nil {
		t.Error("a log was written outside the log directory")
	}
}
