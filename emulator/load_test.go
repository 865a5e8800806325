package emulator

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

// TestLoadRateIsInEmulatedTime: the same emulated minute at speed 100 and at speed 200 sends
// the same requests, rps per emulated second (it sent half as many at twice the speed).
func TestLoadRateIsInEmulatedTime(t *testing.T) {
	for _, speed := range []float64{100, 200} {
		var hits atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
		clk := clock.NewScaled(speed)
		ctx, cancel := context.WithTimeout(context.Background(), clk.Wall(time.Minute))
		var l Load
		l.Run(ctx, clk, srv.URL, 50)
		cancel()
		srv.Close()
		st := l.Stats()
		// 50 per emulated second for an emulated minute: 3,000, give or take what the wall
		// clock's timeout adds or takes (in real time at this speed, 15 would leave).
		if st.Total < 2850 || st.Total > 3150 || st.Failed != 0 || st.NotSent != 0 {
			t.Errorf("speed %g: %d sent, %d failed, %d not sent; want about 3000, 0, 0", speed, st.Total, st.Failed, st.NotSent)
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
