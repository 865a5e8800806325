package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet/controller"
	"github.com/spotfleet/spotfleet/emulator"
	"github.com/spotfleet/spotfleet/emulator/lbhttp"
	"github.com/spotfleet/spotfleet/emulator/proc"
	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/manifest"
)

// running is an emulator with fake processes that boots in milliseconds, served by a
// dashboard over real HTTP; its processes' logs go to the returned directory.
func running(t *testing.T) (*Server, *httptest.Server, *emulator.Emulator, string) {
	t.Helper()
	m, diags := manifest.Parse("d.yaml", []byte(`name: d
capacity:
  - {name: spot, instanceTypes: [m5.large, m5a.large, m6i.large], zones: [us-east-1a], minSize: 2}
services: [{name: web, command: [x], desiredCount: 2}]
`))
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	e, err := emulator.New(m, emulator.Options{Runner: &proc.Fake{}, Prober: &proc.Fake{}, Listen: lbhttp.MemListen, BootTime: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go e.Run(ctx)
	t.Cleanup(func() { cancel(); e.Close() })
	dir := t.TempDir()
	s, err := New(world{e}, nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	deadline := time.Now().Add(5 * time.Second)
	for len(e.Processes()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the tasks never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s, srv, e, dir
}

type world struct{ *emulator.Emulator }

func (w world) Status() fleetview.Status { return w.Emulator.Status(nil) }

func do(t *testing.T, method, url, host, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if host != "" {
		req.Host = host
	}
	if token != "" {
		req.Header.Set(TokenHeader, token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAPIGuardsItsActions: the page carries the run's token; an action needs it, as JSON,
// from a loopback Host; bad requests and unknown targets are refused and change nothing.
func TestAPIGuardsItsActions(t *testing.T) {
	s, srv, e, _ := running(t)
	if code, body := do(t, "GET", srv.URL+"/", "", "", ""); code != 200 || !strings.Contains(body, `content="`+s.token+`"`) {
		t.Fatalf("page: %d", code)
	}
	if code, _ := do(t, "GET", srv.URL+"/v1/dashboard", "spotfleet.evil.example", "", ""); code != http.StatusForbidden {
		t.Errorf("a rebound DNS name: %d, want 403", code)
	}
	for _, c := range []struct {
		token, body string
		code        int
		msg         string
	}{
		{"", `{"target":"m5.large/*"}`, 403, "missing or wrong X-Spotfleet-Token"},
		{"wrong", `{"target":"m5.large/*"}`, 403, "missing or wrong"},
		{s.token, `{"target":`, 400, "bad request"},
		{s.token, `{"target":"m5.large/*","colour":1}`, 400, `unknown field "colour"`},
		{s.token, `{"target":"i-0000000000000dead"}`, 404, "no running instance i-0000000000000dead"},
	} {
		if code, body := do(t, "POST", srv.URL+"/v1/interrupt", "", c.token, c.body); code != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("POST %s with token %q: %d %q, want %d %q", c.body, c.token, code, body, c.code, c.msg)
		}
	}
	if r := e.Report(nil); r.Interruptions.Notices != 0 || len(r.Actions) != 0 {
		t.Fatalf("refused requests acted: %+v", r)
	}
	code, body := do(t, "POST", srv.URL+"/v1/capacity", "", s.token, `{"pools":["m5a.large/*"],"instances":0}`)
	var res ActionResult
	if code != 200 || json.Unmarshal([]byte(body), &res) != nil || len(res.Pools) != 1 || res.Pools[0] != "m5a.large/us-east-1a" {
		t.Errorf("capacity: %d %s", code, body)
	}
	code, body = do(t, "GET", srv.URL+"/v1/dashboard", "", "", "")
	var st State
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil || st.Status.Fleet != "d" || len(st.Timeline.Marks) == 0 || st.Timeline.Marks[0].Kind != "action" {
		t.Errorf("dashboard state after an action: %d %.300s", code, body)
	}
}

// TestLogsFollowATask: a service's logs are its tasks' lines with their prefix; with follow
// a line added later arrives, and an unknown target is a 404.
func TestLogsFollowATask(t *testing.T) {
	_, srv, e, dir := running(t)
	procs := e.Processes()
	for i, p := range procs {
		os.WriteFile(filepath.Join(dir, p.Name+".log"), []byte("hello "+string(rune('a'+i))+"\n"), 0o644)
	}
	code, body := do(t, "GET", srv.URL+"/v1/logs?target=web", "", "", "")
	want := "web " + procs[0].Task + " (" + procs[0].Instance + ") | hello a\n"
	if code != 200 || !strings.Contains(body, want) || strings.Count(body, "\n") != len(procs) {
		t.Errorf("logs: %d %q, want a line %q per task", code, body, want)
	}
	if code, body := do(t, "GET", srv.URL+"/v1/logs?target=nosuch", "", "", ""); code != 404 || !strings.Contains(body, `no service, task or instance "nosuch"`) {
		t.Errorf("unknown target: %d %q", code, body)
	}
	// The short task ID status prints, and an instance's ID under workload ecs: its tasks.
	if code, body := do(t, "GET", srv.URL+"/v1/logs?target="+procs[0].Task[:8], "", "", ""); code != 200 || body != want {
		t.Errorf("logs of %s: %d %q, want %q", procs[0].Task[:8], code, body, want)
	}
	if code, body := do(t, "GET", srv.URL+"/v1/logs?target="+procs[0].Instance, "", "", ""); code != 200 || !strings.Contains(body, want) {
		t.Errorf("logs of instance %s: %d %q, want its task's %q", procs[0].Instance, code, body, want)
	}
	if code, _ := do(t, "GET", srv.URL+"/v1/logs?target="+procs[0].Task[:5], "", "", ""); code != 404 {
		t.Errorf("a 5-character prefix: %d, want 404 (too short to name a task)", code)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/logs?follow=1&target="+procs[1].Task, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	if !lines.Scan() || !strings.HasSuffix(lines.Text(), "| hello b") {
		t.Fatalf("first line: %q", lines.Text())
	}
	f, _ := os.OpenFile(filepath.Join(dir, procs[1].Name+".log"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("later\n")
	f.Close()
	if !lines.Scan() || !strings.HasSuffix(lines.Text(), "| later") {
		t.Fatalf("followed line: %q (%v)", lines.Text(), lines.Err())
	}
}

// TestObservedIsReadOnly: the controller's dashboard (as on AWS) shows what its last round
// saw, the same instances and healthy tasks as the world has, with no token, no button and
// no action route.
func TestObservedIsReadOnly(t *testing.T) {
	_, _, e, _ := running(t)
	m, _ := manifest.Parse("d.yaml", []byte(`name: d
capacity:
  - {name: spot, instanceTypes: [m5.large, m5a.large, m6i.large], zones: [us-east-1a], minSize: 2}
services: [{name: web, command: [x], desiredCount: 2}]
`))
	c, err := controller.New(controller.Config{Manifest: m, Provider: e, Queue: e.Queue(), Account: emulator.AccountID, Tick: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	s, err := NewReadOnly(Observed{Manifest: m, Controller: c, Start: time.Now()}, c.Stats)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	want := e.Status(nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := do(t, "GET", srv.URL+"/v1/dashboard", "", "", "")
		var st State
		if code != 200 || json.Unmarshal([]byte(body), &st) != nil {
			t.Fatalf("%d %s", code, body)
		}
		if st.ReadOnly && len(st.Status.Instances) == len(want.Instances) && len(st.Status.Services) == 1 && st.Status.Services[0].Healthy == want.Services[0].Healthy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the controller's view %+v never matched the world's %d instances", st.Status, len(want.Instances))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := do(t, "GET", srv.URL+"/", "", "", ""); code != 200 || !strings.Contains(body, `name="spotfleet-readonly" content="true"`) || !strings.Contains(body, `name="spotfleet-token" content=""`) {
		t.Errorf("page: %d", code)
	}
	for _, path := range []string{"/v1/interrupt", "/v1/capacity"} {
		if code, _ := do(t, "POST", srv.URL+path, "", "", `{}`); code != http.StatusMethodNotAllowed && code != http.StatusNotFound {
			t.Errorf("POST %s: %d, want no such route", path, code)
		}
	}
	if code, _ := do(t, "GET", srv.URL+"/v1/session", "", "", ""); code != http.StatusNotFound {
		t.Errorf("session: %d, want 404", code)
	}
}

// TestLogsStreamInBoundedMemory: a 6 MB log of empty lines, a 2 MB rotated part and a
// line of 1 MB with no newline are served whole, line by line with their prefixes, while
// the whole process allocates a few megabytes (the review's 15 MB log took `up` from 64 MB
// to 2.24 GB, three at once 6.58 GB; the answer was 65 times the log, built in memory).
func TestLogsStreamInBoundedMemory(t *testing.T) {
	_, srv, e, dir := running(t)
	p := e.Processes()[0]
	log := filepath.Join(dir, p.Name+".log")
	os.WriteFile(log+".1", []byte(strings.Repeat("\n", 2<<20)), 0o644)
	os.WriteFile(log, []byte(strings.Repeat("\n", 6<<20)+strings.Repeat("x", 1<<20)), 0o644)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, err := http.Get(srv.URL + "/v1/logs?target=" + p.Task)
	if err != nil {
		t.Fatal(err)
	}
	lines, longest := 0, 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 256<<10), 256<<10)
	for sc.Scan() {
		lines++
		longest = max(longest, len(sc.Bytes()))
	}
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	prefix := len(prefixOf(p))
	if want := 8<<20 + 16; lines != want || longest != prefix+maxLine {
		t.Errorf("%d lines, the longest %d bytes; want %d (the 1 MB line in 64 KiB pieces) and %d", lines, longest, want, prefix+maxLine)
	}
	if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 16 {
		t.Errorf("serving %d lines allocated %d MB, want at most 16", lines, mb)
	}
}
