package proc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
)

// Each run of up holds a lock on a file named after it in a directory of the user's while
// it runs. A run whose file is no longer locked has ended, and whatever it left (up and its
// reaper killed together: nobody swept) is swept by the next run: its cgroups killed and
// every process that carries its marker (SweepEarlierRuns). Only the run's name is read
// from the directory, never a path: the cgroup is derived from it.

// runName is what a run's name may be (up's: base 36 of a time).
var runName = regexp.MustCompile(`^[a-z0-9]{1,32}$`)

// runsDir is the user's directory of runs, made private; "" where none can be trusted.
func runsDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "spotfleet", "runs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return ""
	}
	fi, err := os.Stat(dir)
	st, ok := fi.Sys().(*syscall.Stat_t)
	if err != nil || !ok || int(st.Uid) != os.Geteuid() || fi.Mode().Perm()&0o022 != 0 {
		return "" // someone else's, or writable by others: not a list to act on
	}
	return dir
}

// register takes the run's file and holds its lock until the runner closes.
func (r *Runner) register() {
	dir := runsDir()
	if dir == "" || !runName.MatchString(r.Run) {
		return
	}
	f, err := os.OpenFile(filepath.Join(dir, r.Run), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return
	}
	r.runFile = f
}

// unregister removes the run's file: it ended, and swept what it started.
func (r *Runner) unregister() {
	if r.runFile != nil {
		os.Remove(r.runFile.Name())
		r.runFile.Close()
		r.runFile = nil
	}
}

// SweepEarlierRuns kills what runs of up that ended without their own sweep left behind,
// and says how many processes it found.
func SweepEarlierRuns() (int, error) {
	dir := runsDir()
	if dir == "" {
		return 0, errors.New("no private directory of runs")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	root := cgroupRoot()
	n := 0
	for _, e := range entries {
		run := e.Name()
		if !runName.MatchString(run) {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, run), os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close() // a run that still goes on
			continue
		}
		if root != "" {
			if base := filepath.Join(root, "spotfleet-"+run); exists(base) {
				n += countCgroupTree(base)
				killCgroupTree(base)
			}
		}
		n += sweep(fmt.Sprintf("%s=%s/", procMarker, run), true)
		os.Remove(f.Name())
		f.Close()
	}
	return n, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
