package fleetview

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestJournal: a happening repeated is one line with its count; a reader that fell behind
// by more than the journal keeps is told how many lines it missed; IDs are named by their
// first eight characters or more.
func TestJournal(t *testing.T) {
	var j Journal
	j.Note(61*time.Second, "refused")
	j.Note(71*time.Second, "refused")
	j.Note(81*time.Second, "refused")
	lines, n := j.Since(0)
	if n != 1 || len(lines) != 1 || lines[0] != "   1:21  refused (×3)" {
		t.Fatalf("three of the same: %q (%d)", lines, n)
	}
	for i := range 300 {
		j.Note(time.Duration(i)*time.Second, fmt.Sprint("event ", i))
	}
	lines, n = j.Since(1)
	if n != 301 || !strings.HasPrefix(lines[0], "(") || !strings.HasSuffix(lines[len(lines)-1], "event 299") {
		t.Errorf("after 300 more: %d lines, first %q, last %q, count %d", len(lines), lines[0], lines[len(lines)-1], n)
	}
	if got := j.Last(2); len(got) != 2 || !strings.HasSuffix(got[1], "event 299") {
		t.Errorf("Last(2) = %q", got)
	}
	if !TaskIDMatches("8b0c91e0-1234", "8b0c91e0") || TaskIDMatches("8b0c91e0-1234", "8b0c91") || TaskIDMatches("", "") {
		t.Error("TaskIDMatches")
	}
}
