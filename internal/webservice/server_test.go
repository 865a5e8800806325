package webservice

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestHealthcheckHeaders(t *testing.T) {
	var down atomic.Bool
	h := Handler(Config{InstanceID: "i-1", TaskID: "t-1"}, &down)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthcheck", nil))
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-cache, no-store, must-revalidate" || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("got %d %v", rec.Code, rec.Header())
	}
	down.Store(true)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthcheck", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("healthcheck while shutting down: got %d, want 503", rec.Code)
	}
}

func TestRootReportsInstanceAndTaskWithCORS(t *testing.T) {
	h := Handler(Config{InstanceID: "i-abc", TaskID: "task-7"}, new(atomic.Bool))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/hello", nil))
	var got map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["instance"] != "i-abc" || got["task"] != "task-7" || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("got %v %v", got, rec.Header())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("OPTIONS", "/", nil))
	if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Methods") == "" {
		t.Fatalf("preflight: got %d %v", rec.Code, rec.Header())
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"HOST": "127.0.0.9", "PORT": "6001", "INSTANCE_ID": "i-1", "STOP_TIMEOUT": "5s", "SHUTDOWN_DELAY": "2s"}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || c.Addr != "127.0.0.9:6001" || c.StopTimeout != 5*time.Second || c.ShutdownDelay != 2*time.Second {
		t.Fatalf("got %+v, %v", c, err)
	}
	env["SHUTDOWN_DELAY"] = "-1s"
	if _, err := ConfigFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("SHUTDOWN_DELAY=-1s: want an error")
	}
	env["SHUTDOWN_DELAY"] = ""
	env["PORT"] = "http"
	if _, err := ConfigFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("PORT=http: want an error")
	}
}

// TestSIGTERMFinishesInFlightRequest runs the real binary, sends SIGTERM while a slow
// request is in flight, and checks that the request completes and the process exits 0.
func TestSIGTERMFinishesInFlightRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a process")
	}
	cmd, base, port, logs := startService(t)

	type result struct {
		code int
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/?delay=1500ms")
		if err != nil {
			done <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{code: resp.StatusCode, body: string(b)}
	}()
	time.Sleep(300 * time.Millisecond) // let the slow request reach the handler
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond); err == nil {
		t.Error("a new connection was accepted after SIGTERM")
	}
	r := <-done
	if r.err != nil || r.code != 200 {
		t.Fatalf("in-flight request: code %d, err %v, logs:\n%s", r.code, r.err, logs.String())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v, want 0; logs:\n%s", err, logs.String())
	}
}

// startService builds the example service and runs it on a free loopback port with a 10 s
// stop timeout and the extra environment given, until the test ends; it returns once the
// service answers.
func startService(t *testing.T, env ...string) (cmd *exec.Cmd, base string, port int, logs *bytes.Buffer) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "webservice")
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/webservice").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	port = freePort(t)
	cmd = exec.Command(bin)
	cmd.Env = append([]string{"HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port), "INSTANCE_ID=i-test", "STOP_TIMEOUT=10s"}, env...)
	logs = &bytes.Buffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	waitUp(t, base+"/healthcheck")
	return cmd, base, port, logs
}

func waitUp(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not come up", url)
}

// TestShutdownDelayKeepsServing: with SHUTDOWN_DELAY the process still answers new
// requests after SIGTERM (its health check failing), then stops and exits 0.
func TestShutdownDelayKeepsServing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a process")
	}
	cmd, base, _, _ := startService(t, "SHUTDOWN_DELAY=1s")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for path, want := range map[string]int{"/": http.StatusOK, "/healthcheck": http.StatusServiceUnavailable} {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("%s after SIGTERM, within the delay: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s after SIGTERM: %d, want %d", path, resp.StatusCode, want)
		}
	}
	start := time.Now()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v, want 0", err)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("exited %s after the check; want it to serve out the 1s delay", d)
	}
}
