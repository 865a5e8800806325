package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/spotfleet/spotfleet/clock"
)

// TestLoadRateIsInEmulatedTime: the load sends rps per emulated second whatever the speed
// (it sent rps per real second, so half as many at twice the speed).
func TestLoadRateIsInEmulatedTime(t *testing.T) {
	for _, speed := range []float64{50, 100} {
		var hits atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
		clk := clock.NewScaled(speed)
		ctx, cancel := context.WithTimeout(context.Background(), clk.Wall(time.Minute))
		var l Load
		start := clk.Now()
		ended := make(chan time.Time, 1)
		context.AfterFunc(ctx, func() { ended <- clk.Now() })
		l.Run(ctx, clk, srv.URL, 50)
		cancel()
		end := <-ended
		srv.Close()
		elapsed := end.Sub(start).Seconds()
		st := l.Stats()
		// 50 per emulated second until the end, give or take the last ticks' requests (15%
		// for a slow machine or the race detector; at real time it would be 100 times fewer).
		if due := int64(50 * elapsed); st.Total+st.NotSent < due-due*15/100 || st.Total+st.NotSent > due+due*15/100 || st.Failed != 0 {
			t.Errorf("speed %g: %d sent, %d not sent, %d failed in %.1f emulated seconds; want about %d due", speed, st.Total, st.NotSent, st.Failed, elapsed, due)
		}
	}
}

// TestLoadCountsWhatItCannotSend: requests that would exceed the in-flight bound are
// counted as not sent, not queued up to leave late.
func TestLoadCountsWhatItCannotSend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l Load
		l.inflight.Store(maxInflight) // as if every slot were taken by slow answers
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		l.Run(ctx, clock.Real{}, "http://127.0.0.1:1/", 100)
		cancel()
		if l.Behind() < 90 || l.Stats().Total != 0 {
			t.Errorf("behind %d, sent %d; want about 100 behind and none sent", l.Behind(), l.Stats().Total)
		}
	})
}

// TestFailuresSayWhatFailed: a failed request is described in the stats (when, how long,
// what: the status and who answered it, or the client's error), the first maxFailures of
// them, so that one failure in 100,000 can be read back (issue 31, item 11).
func TestFailuresSayWhatFailed(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 {
			w.Header().Set("Server", "awselb/2.0")
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	clk := clock.NewScaled(10)
	ctx, cancel := context.WithTimeout(context.Background(), clk.Wall(10*time.Second))
	defer cancel()
	var l Load
	l.Run(ctx, clk, srv.URL, 20)
	st := l.Stats()
	if st.Failed < maxFailures || len(st.Failures) != maxFailures {
		t.Fatalf("%d failed, %d described; want every other request failed and the first %d described", st.Failed, len(st.Failures), maxFailures)
	}
	f := st.Failures[0]
	if f.Error != "502 Bad Gateway from awselb/2.0" || f.AtSeconds < 0 || f.AtSeconds > 10 || f.Ms <= 0 {
		t.Errorf("the first failure reads %+v", f)
	}
	srv.Close()
	var gone Load
	ctx, cancel = context.WithTimeout(context.Background(), clk.Wall(time.Second))
	defer cancel()
	gone.Run(ctx, clk, srv.URL, 20)
	if st := gone.Stats(); len(st.Failures) == 0 || st.Failures[0].Error == "" {
		t.Errorf("requests to a closed server: %+v", st)
	}
}
