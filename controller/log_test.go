package controller

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet/internal/testing/testio"
)

// TestLogSaysWhatItDoes: a line of summary every minute at info level (notices, rounds,
// the last round's duration), and no zero deadline on a rebalance recommendation.
func TestLogSaysWhatItDoes(t *testing.T) {
	withRig(t, fleet, func(t *testing.T, r *rig) {
		var buf testio.Buffer
		r.cfg.Log = slog.New(slog.NewTextHandler(&buf, nil))
		r.startController()
		in := r.busySpot()
		r.send("EC2 Instance Rebalance Recommendation", eventID(1), map[string]string{"instance-id": in.ID})
		time.Sleep(3*time.Minute + 5*time.Second)
		out := buf.String()
		if n := strings.Count(out, "msg=summary"); n < 2 {
			t.Errorf("%d summary lines in 3 minutes, want one a minute:\n%s", n, out)
		}
		for _, want := range []string{"notices=", "rounds=", "lastRound=", "events="} {
			if !strings.Contains(out, want) {
				t.Errorf("the summary lacks %s:\n%s", want, out)
			}
		}
		if strings.Contains(out, "deadline=0001") {
			t.Errorf("a zero deadline in the log:\n%s", out)
		}
	})
}
