package proc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A process that calls setsid (or double-forks into a new session) leaves the process
// group that a signal to the group reaches, and would outlive `up`. Two nets catch it:
//
//   - a cgroup (v2) per process, where the machine lets spotfleet make one: everything a
//     process starts stays in its cgroup whatever it does, and cgroup.kill ends them all;
//   - everywhere, a marker in the environment (SPOTFLEET_PROC), which children inherit:
//     a sweep of /proc kills every process that carries it. Only a process that also
//     clears its environment escapes this one.

// procMarker is the environment variable that names the process a descendant belongs to.
const procMarker = "SPOTFLEET_PROC"

// cgroupRoot finds a cgroup v2 directory this process may create children in: the
// cgroup2 mount plus this process's own cgroup. It returns "" where there is none.
func cgroupRoot() string {
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	var path string
	for _, line := range strings.Split(string(own), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			path = p
		}
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil || path == "" {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(mounts))
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - FSTYPE SOURCE SUPER
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields := strings.Fields(pre)
		if !ok || len(fields) < 5 || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		root, mnt := fields[3], fields[4]
		rel, ok := strings.CutPrefix(path, root)
		if !ok {
			continue
		}
		dir := filepath.Join(mnt, rel)
		if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err == nil {
			return dir
		}
	}
	return ""
}

// cgroups makes a cgroup per process under one directory of the run.
type cgroups struct{ base string }

// newCgroups makes the run's directory, or returns nil where cgroups cannot be made (no
// cgroup v2, no permission): the environment sweep still works there.
func newCgroups(run string) *cgroups {
	root := cgroupRoot()
	if root == "" {
		return nil
	}
	base := filepath.Join(root, "spotfleet-"+run)
	if err := os.Mkdir(base, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil
	}
	if _, err := os.Stat(filepath.Join(base, "cgroup.kill")); err != nil {
		os.Remove(base) // kernels before 5.14 have no cgroup.kill
		return nil
	}
	return &cgroups{base: base}
}

// open makes a process's cgroup and opens it for clone (SysProcAttr.CgroupFD).
func (c *cgroups) open(name string) (string, *os.File, error) {
	dir := filepath.Join(c.base, sanitize(name))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", nil, err
	}
	f, err := os.Open(dir)
	if err != nil {
		os.Remove(dir)
		return "", nil, err
	}
	return dir, f, nil
}

// killCgroup ends every process in a cgroup and removes it once it is empty.
func killCgroup(dir string) {
	os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	for range 100 { // the kernel empties it within milliseconds
		if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// countCgroupTree counts the processes in a cgroup and its children.
func countCgroupTree(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "cgroup.procs" {
			b, _ := os.ReadFile(path)
			n += bytes.Count(b, []byte("\n"))
		}
		return nil
	})
	return n
}

// killCgroupTree ends everything in a cgroup and its children, and removes them.
func killCgroupTree(dir string) {
	os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			killCgroup(filepath.Join(dir, e.Name()))
		}
	}
	killCgroup(dir)
}

func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == 0 {
			return '_'
		}
		return r
	}, name)
}

// sweep kills every process whose environment holds marker (NAME=VALUE) or, with prefix,
// starts with it. It returns how many it signalled.
func sweep(marker string, prefix bool) int {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self := os.Getpid()
	n := 0
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if string(kv) == marker || (prefix && bytes.HasPrefix(kv, []byte(marker))) {
				syscall.Kill(pid, syscall.SIGKILL)
				n++
				break
			}
		}
	}
	return n
}
