package fleetview

import (
	"fmt"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// TestLiveViewFitsTheTerminal: a fleet of 60 instances and 120 targets rendered for a
// 47-line view (a 50-line terminal less up's header) takes at most 47 lines, keeps its
// totals on top, and says what each cut table leaves out.
func TestLiveViewFitsTheTerminal(t *testing.T) {
	st := Status{Fleet: "big", Workload: "ecs", Groups: []GroupStatus{{Name: "spot", Desired: 60, InService: 60}}}
	for i := range 60 {
		st.Instances = append(st.Instances, InstanceStatus{ID: fmt.Sprintf("i-%02d", i), Group: "spot", Pool: "m5.large/us-east-1a"})
		for j := range 2 {
			st.Targets = append(st.Targets, TargetStatus{ID: fmt.Sprintf("127.0.%d.%d:80", i, j), Instance: fmt.Sprintf("i-%02d", i)})
		}
	}
	for i := range 20 {
		st.Recent = append(st.Recent, fmt.Sprintf("  0:%02d  something happened", i))
	}
	var b strings.Builder
	st.WriteView(&b, 47)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) > 47 {
		t.Errorf("%d lines for a 47-line view:\n%s", len(lines), b.String())
	}
	if !strings.HasPrefix(lines[0], "fleet big") || !strings.HasPrefix(lines[1], "cost $") {
		t.Errorf("the totals are not on top:\n%s", b.String())
	}
	for _, want := range []string{"GROUP", "INSTANCE", "TARGET", "more (spotfleet status shows all)", "RECENT", "0:19  something happened"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the view lacks %q:\n%s", want, b.String())
		}
	}

	b.Reset()
	st.WriteText(&b)
	if n := strings.Count(b.String(), "\n"); n < 180 || strings.Contains(b.String(), "more (spotfleet") {
		t.Errorf("status prints every row (%d lines):\n%s", n, b.String())
	}
}

// TestFitRows: the rows shown and the lines that say what was cut fit the budget whenever
// the budget can hold one line per table, and a table is cut only when the rest would not
// fit otherwise.
func TestFitRows(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rows := rapid.SliceOfN(rapid.IntRange(0, 300), 1, 6).Draw(t, "rows")
		budget := rapid.IntRange(len(rows), 400).Draw(t, "budget")
		shown := fitRows(rows, budget)
		lines, all := 0, 0
		for i := range rows {
			if shown[i] < 0 || shown[i] > rows[i] {
				t.Fatalf("table %d: %d of %d rows shown", i, shown[i], rows[i])
			}
			lines += shown[i]
			if shown[i] < rows[i] {
				lines++
			}
			all += rows[i]
		}
		if lines > budget {
			t.Fatalf("%v shown of %v: %d lines for %d", shown, rows, lines, budget)
		}
		if all <= budget {
			for i := range rows {
				if shown[i] != rows[i] {
					t.Fatalf("%v shown of %v although all %d fit in %d", shown, rows, all, budget)
				}
			}
		}
		if got := fitRows(rows, -1); fmt.Sprint(got) != fmt.Sprint(rows) {
			t.Fatalf("no budget: %v shown of %v", got, rows)
		}
	})
}
