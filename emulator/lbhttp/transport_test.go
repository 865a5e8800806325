package lbhttp

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestTargetTransport: sequential requests share one kept connection; an answer abandoned
// part way closes its connection (its rest must not be read as the next answer); a kept
// connection the target closed is retried once for a GET, never for a POST; a cancelled
// request ends at once.
func TestTargetTransport(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			io.WriteString(w, strings.Repeat("x", 1<<20))
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		default:
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, "ok "+r.Method)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	tr := NewTransport(strings.TrimPrefix(srv.URL, "http://"))
	client := &http.Client{Transport: tr}
	get := func(path string) string {
		t.Helper()
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for range 5 {
		if got := get("/"); got != "ok GET" {
			t.Fatalf("got %q", got)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("5 requests used %d connections; want 1 kept", n)
	}

	resp, err := client.Get(srv.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Read(make([]byte, 10))
	resp.Body.Close() // abandoned
	if got := get("/"); got != "ok GET" || conns.Load() != 2 {
		t.Fatalf("after an abandoned answer: %q on %d connections; want a new one", got, conns.Load())
	}

	srv.CloseClientConnections() // the kept one is now closed by the target
	if got := get("/"); got != "ok GET" {
		t.Fatalf("GET on a connection the target closed: %q", got)
	}
	srv.CloseClientConnections()
	if _, err := client.Post(srv.URL+"/", "text/plain", strings.NewReader("body")); err == nil {
		t.Fatal("a POST was sent again on a new connection; it may not be repeated")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/slow", nil)
	began := time.Now()
	if _, err := client.Do(req); err == nil || time.Since(began) > 2*time.Second {
		t.Fatalf("a cancelled request: %v after %s", err, time.Since(began))
	}
}
