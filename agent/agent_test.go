package agent

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/clock"
	"github.com/spotfleet/spotfleet/internal/testing/imdsmock"
)

// metadataMock serves an interruption notice from trigger, and a rebalance recommendation
// a second later: at the same moment, the mock's whole-second comparisons let a poll see the
// recommendation before the notice now and then, and the test is about the notice.
func metadataMock(t *testing.T, trigger, terminate time.Time) *httptest.Server {
	srv := imdsmock.Start(trigger, terminate, trigger.Add(time.Second), "i-0mock")
	t.Cleanup(srv.Close)
	return srv
}

func TestWatcherSeesTheNoticeOfAThirdPartyMetadataMock(t *testing.T) {
	trigger := time.Now().Add(1500 * time.Millisecond).Truncate(time.Second)
	terminate := trigger.Add(2 * time.Minute)
	srv := metadataMock(t, trigger, terminate)

	var mu sync.Mutex
	var got []Notice
	var seenAt time.Time
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w := &Watcher{IMDS: &IMDS{Endpoint: srv.URL, Client: srv.Client(), Clock: clock.Real{}}, Interval: 100 * time.Millisecond,
		Rebalance: true, Clock: clock.Real{}, Log: slog.New(slog.DiscardHandler),
		On: func(_ context.Context, n Notice) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, n)
			if n.Kind == spotfleet.KindInterruption {
				seenAt = time.Now()
				cancel()
			}
		}}
	w.Watch(ctx)

	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].Kind != spotfleet.KindInterruption || got[0].Action != "terminate" || !got[0].Time.Equal(terminate) {
		t.Fatalf("notices %+v: want one interruption, terminate at %s", got, terminate)
	}
	// The mock compares whole seconds; a 100ms poll sees the notice within its interval.
	if late := seenAt.Sub(trigger); late < 0 || late > time.Second+200*time.Millisecond {
		t.Errorf("the notice was seen %s after it appeared", late)
	}
}

func TestIMDSRenewsARefusedToken(t *testing.T) {
	srv := metadataMock(t, time.Now().Add(-time.Second), time.Now().Add(time.Minute))
	c := &IMDS{Endpoint: srv.URL, Client: srv.Client(), Clock: clock.Real{}}
	if _, err := c.Get(context.Background(), "instance-id"); err != nil {
		t.Fatal(err)
	}
	c.token = "expired-or-forged"
	b, err := c.Get(context.Background(), "instance-id")
	if err != nil || string(b) != "i-0mock" {
		t.Fatalf("got %q, %v; want the instance ID with a new token", b, err)
	}
}

func TestIMDSWithoutService(t *testing.T) {
	c := &IMDS{Endpoint: "http://127.0.0.1:1", Client: &http.Client{Timeout: time.Second}, Clock: clock.Real{}}
	if _, err := c.Get(context.Background(), "spot/instance-action"); err == nil {
		t.Fatal("no error without a metadata service")
	}
}
