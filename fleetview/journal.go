package fleetview

import (
	"fmt"
	"strings"
	"time"
)

// Journal is the recent happenings of a fleet, a line each, as the live view, the
// dashboard and a log without a terminal show them. It is not safe for concurrent use:
// its owner locks it.
type Journal struct {
	lines   []string
	noted   uint64 // lines noted so far (Since)
	last    string // the last happening's text, and how often it came again since
	repeats int
}

// Note adds a happening at a moment of the run. The same text again right after is one
// line with its count and the latest time: a retry every 10 s of a shortage filled the
// last events with one line.
func (j *Journal) Note(at time.Duration, msg string) {
	line := fmt.Sprintf("%7s  %s", Elapsed(at), msg)
	if msg == j.last && len(j.lines) > 0 {
		j.repeats++
		j.lines[len(j.lines)-1] = fmt.Sprintf("%s (×%d)", line, j.repeats+1)
		return
	}
	j.last, j.repeats = msg, 0
	j.lines = append(j.lines, line)
	j.noted++
	if len(j.lines) > 200 {
		j.lines = j.lines[len(j.lines)-100:]
	}
}

// Since is the lines noted after the first since (the count an earlier call returned), and
// the count now. Of a burst of more lines than it keeps, the oldest are gone: the first
// line then says how many.
func (j *Journal) Since(since uint64) ([]string, uint64) {
	if since >= j.noted {
		return nil, j.noted
	}
	n := j.noted - since
	var out []string
	if kept := uint64(len(j.lines)); n > kept {
		out = append(out, fmt.Sprintf("(%d earlier lines not kept)", n-kept))
		n = kept
	}
	return append(out, j.lines[uint64(len(j.lines))-n:]...), j.noted
}

// Last is the last n lines at most.
func (j *Journal) Last(n int) []string {
	return append([]string(nil), j.lines[max(0, len(j.lines)-n):]...)
}

// Elapsed writes a duration of the run as minutes:seconds.
func Elapsed(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// ShortIDLen is how many characters of a task's or an instance's ID a table prints.
const ShortIDLen = 8

// ShortID is an AWS ID's first ShortIDLen characters, as a table shows it.
func ShortID(id string) string { return id[:min(ShortIDLen, len(id))] }

// TaskIDMatches says whether a task ID is named by s: the ID itself, or its first
// ShortIDLen characters or more, as status prints it.
func TaskIDMatches(id, s string) bool {
	return id != "" && (id == s || (len(s) >= ShortIDLen && strings.HasPrefix(id, s)))
}
