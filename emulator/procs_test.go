package emulator

import (
	"fmt"
	"testing"

	"github.com/spotfleet/spotfleet/emulator/proc"
)

// TestEndedProcessesAreForgotten: of a service's ended processes the last keptLogs stay
// listed, in start order, beside those that run; a process restarted under a forgotten
// name is listed again. (Forgetting walked every process started, once per end.)
func TestEndedProcessesAreForgotten(t *testing.T) {
	e := &Emulator{}
	for i := range 100 {
		e.started(proc.Spec{Name: fmt.Sprintf("web-%d", i)}, "web", "", "i-1")
		if i < 95 {
			e.logEnded("web", fmt.Sprintf("web-%d", i))
		}
	}
	got := e.Processes()
	if len(got) != keptLogs+5 {
		t.Fatalf("%d processes listed, want the last %d ended and the 5 running", len(got), keptLogs)
	}
	for i, p := range got {
		if want := fmt.Sprintf("web-%d", 95-keptLogs+i); p.Name != want {
			t.Fatalf("process %d is %s, want %s", i, p.Name, want)
		}
	}
	e.started(proc.Spec{Name: "web-3"}, "web", "", "i-1") // long forgotten, started again
	if got := e.Processes(); got[len(got)-1].Name != "web-3" || len(got) != keptLogs+6 {
		t.Fatalf("a restart under a forgotten name is not listed: %v", got[len(got)-3:])
	}
	if len(e.procs) > 2*(keptLogs+6) {
		t.Errorf("%d records kept for %d listed", len(e.procs), keptLogs+6)
	}
}
