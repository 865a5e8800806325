package httpserver

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serve starts a server of a /healthz and a /v1/notices that reads its body, within l.
func serve(t *testing.T, l Limits) (*Server, string) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("POST /v1/notices", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(mux, l)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, ln.Addr().String()
}

// from is a client whose connections come from the loopback address src.
func from(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// slowBodies opens n connections from src that each send a POST's header and then a byte
// of its body now and then, as the review's attacker did; it returns how many it opened.
func slowBodies(t *testing.T, addr, src string, n int) int {
	t.Helper()
	opened := 0
	for range n {
		c, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}).Dial("tcp", addr)
		if err != nil {
			t.Logf("dial %d: %v", opened, err)
			break
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST /v1/notices HTTP/1.1\r\nHost: %s\r\nContent-Length: 100000\r\n\r\n{", addr)
		opened++
	}
	return opened
}

// TestSlowClientsDoNotStarveTheOthers: with the connections of one host held by slow
// bodies past its share, /healthz and an agent's report from other hosts answer at once,
// and the slow ones are cut when their read timeout passes. The test runs with lower caps
// than the default (fewer file descriptors); SPOTFLEET_SLOW_CONNS raises the count.
func TestSlowClientsDoNotStarveTheOthers(t *testing.T) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("SPOTFLEET_SLOW_CONNS")); err == nil {
		n = v
	}
	l := Limits{ReadHeader: time.Second, Read: 2 * time.Second, Write: 2 * time.Second, Idle: time.Second,
		MaxBody: 64 << 10, MaxConns: 200, MaxConnsPerHost: 100}
	s, addr := serve(t, l)
	opened := slowBodies(t, addr, "127.0.0.2", n)
	t.Logf("%d slow connections opened, %d refused by the server", opened, s.Refused())

	start := time.Now()
	resp, err := from("127.0.0.1").Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("/healthz under %d slow connections: %v", opened, err)
	}
	resp.Body.Close()
	resp, err = from("127.0.0.3").Post("http://"+addr+"/v1/notices", "application/json", strings.NewReader(`{"kind":"interruption"}`))
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("a report under %d slow connections: %v %v", opened, resp, err)
	}
	resp.Body.Close()
	t.Logf("/healthz and a report answered in %v", time.Since(start))
	if s.Refused() < int64(opened-l.MaxConnsPerHost) {
		t.Errorf("%d connections refused, want at least %d (the attacker's past its share)", s.Refused(), opened-l.MaxConnsPerHost)
	}

	// Past the read timeout the slow connections are gone: the attacker's host gets in again.
	time.Sleep(l.Read + 500*time.Millisecond)
	if resp, err := from("127.0.0.2").Get("http://" + addr + "/healthz"); err != nil {
		t.Errorf("the slow host after its connections timed out: %v", err)
	} else {
		resp.Body.Close()
	}
}

// TestBodiesAndHostsAreChecked: a body past the cap is refused, announced or not; a Host
// the policy does not accept gets 403.
func TestBodiesAndHostsAreChecked(t *testing.T) {
	_, addr := serve(t, Limits{ReadHeader: time.Second, Read: 2 * time.Second, MaxBody: 1000})
	c := from("127.0.0.1")
	for name, body := range map[string]io.Reader{
		"announced": strings.NewReader(strings.Repeat("x", 1001)),
		"chunked":   io.MultiReader(strings.NewReader(strings.Repeat("x", 2000))),
	} {
		resp, err := c.Post("http://"+addr+"/v1/notices", "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s body of 2 KB: %d, want 413", name, resp.StatusCode)
		}
	}

	h := Hosts(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), AddressOr("controller.t.spotfleet.internal"))
	for host, want := range map[string]int{
		"127.0.0.1:7077": 200, "localhost": 200, "10.0.3.7:7077": 200, "[::1]:7077": 200,
		"controller.t.spotfleet.internal:7077": 200, "CONTROLLER.t.spotfleet.internal": 200,
		"evil.example": 403, "evil.example:7077": 403, "": 403,
	} {
		req, _ := http.NewRequest("GET", "http://x/healthz", nil)
		req.Host = host
		w := &recorder{header: http.Header{}, code: 200}
		h.ServeHTTP(w, req)
		if w.code != want {
			t.Errorf("Host %q: %d, want %d", host, w.code, want)
		}
	}
	if !Loopback("127.0.0.5") || Loopback("10.0.0.1") || Loopback("localhost.evil.example") {
		t.Error("Loopback accepts the wrong names")
	}
}

type recorder struct {
	header http.Header
	code   int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(code int)        { r.code = code }
