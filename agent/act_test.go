package agent

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/clock"
)

// TestReportReachesTheLeaderBehindOneName: the controller service's name has an address
// per task, and only the lease holder takes a report (a follower answers 503); the agent
// tries each address until one takes it.
func TestReportReachesTheLeaderBehindOneName(t *testing.T) {
	var followerHits, leaderHits atomic.Int32
	follower := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		followerHits.Add(1)
		http.Error(w, "not the leader", http.StatusServiceUnavailable)
	}))
	defer follower.Close()
	follower.Start()
	_, port, _ := net.SplitHostPort(follower.Listener.Addr().String())
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.2", port)) // the same port, as a service's tasks
	if err != nil {
		t.Skipf("127.0.0.2:%s: %v", port, err)
	}
	leader := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/notices" {
			leaderHits.Add(1)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	leader.Listener = ln
	leader.Start()
	defer leader.Close()

	a := &Actions{Report: "http://controller.web.spotfleet:" + port, Instance: "i-1", Client: http.DefaultClient, Clock: clock.Real{},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Lookup: func(_ context.Context, host string) ([]string, error) {
			if host != "controller.web.spotfleet" {
				t.Errorf("looked up %q", host)
			}
			return []string{"127.0.0.1", "127.0.0.2"}, nil
		}}
	if !a.report(context.Background(), Notice{Kind: spotfleet.KindInterruption, Time: time.Now().Add(2 * time.Minute)}) {
		t.Fatal("the report was not taken")
	}
	if followerHits.Load() != 1 || leaderHits.Load() != 1 {
		t.Fatalf("follower asked %d times, leader %d; want 1 and 1", followerHits.Load(), leaderHits.Load())
	}
	if u, _ := a.urls(context.Background()); len(u) != 2 || u[1] != "http://127.0.0.2:"+port+"/v1/notices" {
		t.Fatalf("urls %v", u)
	}
	a.Report = "http://127.0.0.9:" + strconv.Itoa(1)
	if u, _ := a.urls(context.Background()); len(u) != 1 || u[0] != "http://127.0.0.9:1/v1/notices" {
		t.Fatalf("an address is used as it is: %v", u)
	}
}
