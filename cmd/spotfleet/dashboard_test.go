package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/fleetview"
)

// browser finds Chromium (or Chrome); .ci/run installs it.
func browser(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium to drive (apt-get install chromium; .ci/run installs it)")
	return ""
}

// TestDashboardInABrowser opens the dashboard of a running up in headless Chromium: no
// console error; the page's instance and healthy-task counts are /status's; an instance
// interrupted with spotfleet interrupt, and one interrupted with the page's own button,
// each show on the map (their notice) and on the timeline (a mark) within 2 s. A
// screenshot goes to the test's log directory, and to docs/dashboard.png with
// SPOTFLEET_SCREENSHOT=1.
func TestDashboardInABrowser(t *testing.T) {
	chrome := browser(t)
	bin := buildSpotfleet(t)
	_, lport := freeAddr(t)
	// Two Spot instances from the start, so that there is one to interrupt by each means.
	file := writeExample(t, t.TempDir(), "s3-ecs-service-autoscaled.yaml", strings.NewReplacer(
		"listenerPort: 8083", "listenerPort: "+strconv.Itoa(lport),
		"    minSize: 0\n    maxSize: 6\n    desiredCapacity: 1", "    minSize: 2\n    maxSize: 6\n    desiredCapacity: 2"))
	up := startUp(t, bin, file, "bootTime: 5s\nload: {rps: 20, path: /}\n", "--speed", "10")
	api, out, status := up.api, up.out, up.status
	up.waitFor(t, "two Spot instances and two healthy tasks", func(st fleetview.Status) bool { return len(spotRunning(st)) >= 2 && healthy(st) >= 2 })

	ctx, consoleErrors := openDashboard(t, chrome, api, out)

	// The page's counts are /status's (read again until they agree: the fleet moves).
	agree := false
	for range 20 {
		insts, err := chromedp.Run(ctx, chromedp.Text("#count-instances"))
		if err != nil {
			t.Fatal(err)
		}
		tasks, err := chromedp.Run(ctx, chromedp.Text("#count-healthy"))
		if err != nil {
			t.Fatal(err)
		}
		st := status()
		if insts == strconv.Itoa(live(st)) && tasks == strconv.Itoa(healthy(st)) {
			agree = true
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !agree {
		t.Errorf("the page's instance and healthy-task counts never matched /status")
	}

	spot := spotRunning(status())
	// Interrupted from the command line: the map and the timeline show it within 2 s.
	start := time.Now()
	if b, err := exec.Command(bin, "interrupt", "--api", api, spot[0]).CombinedOutput(); err != nil {
		t.Fatalf("spotfleet interrupt: %v\n%s", err, b)
	}
	shows(t, ctx, spot[0], start)

	// Interrupted with the page's button.
	start = time.Now()
	button := fmt.Sprintf(`span.inst[data-id=%q] button.interrupt`, spot[1])
	if err := chromedp.Do(ctx, chromedp.Click(button)); err != nil {
		t.Fatalf("clicking %s: %v", button, err)
	}
	shows(t, ctx, spot[1], start)

	// A little more of the timeline for the picture; quality 100 is a PNG (less, a JPEG).
	time.Sleep(1500 * time.Millisecond)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(t.TempDir(), "dashboard.png")
	if os.Getenv("SPOTFLEET_SCREENSHOT") == "1" {
		shot = "../../docs/dashboard.png"
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)

	// A Spot shortage: every pool's capacity taken away. The map still shows every Spot
	// pool (to give it back), the refusals of the retries are one mark, and the last events
	// hold no line twice.
	if b, err := exec.Command(bin, "capacity", "--api", api, "*", "0").CombinedOutput(); err != nil {
		t.Fatalf("spotfleet capacity: %v\n%s", err, b)
	}
	time.Sleep(6 * time.Second) // a minute at speed 10: six retries of each group
	pools := len(status().Pools)
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#map .pool.empty-capacity").length`))
	if err != nil || pools == 0 || shown < pools {
		t.Errorf("under the shortage the map shows %d pools without capacity (%v), the fleet has %d Spot pools", shown, err, pools)
	}
	refusals, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#marks li.launch-failure").length`))
	if err != nil || refusals > 2 {
		t.Errorf("%d refused-launch marks listed (%v); want the run as one (one a group at most)", refusals, err)
	}
	events, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#events li")].map((li) => li.textContent.replace(/^\s*\S+\s+/, "").replace(/ \(×\d+\)$/, ""))`))
	seen := map[string]bool{}
	for i, e := range events {
		if i > 0 && seen[e] && events[i-1] == e {
			t.Errorf("the last events repeat %q", e)
		}
		seen[e] = true
	}
	if err != nil || len(events) == 0 {
		t.Errorf("last events: %v %q", err, events)
	}

	// At 420 pixels: nothing scrolls sideways but the map, the charts are one a row, none
	// over another, none wider than the screen.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(420, 900)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // a poll or two: the charts take their boxes' width
	type box struct{ Left, Top, Right, Bottom float64 }
	figs, err := chromedp.Run(ctx, chromedp.Evaluate[[]box](`[...document.querySelectorAll(".charts figure, #chart-phases")].map((f) => { const r = f.getBoundingClientRect(); return {Left: r.left, Top: r.top, Right: r.right, Bottom: r.bottom}; })`))
	if err != nil {
		t.Fatal(err)
	}
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil || wide > 420 {
		over, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > 421 && !e.closest("#map")).slice(0, 8).map((e) => e.tagName + "#" + e.id + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))`))
		t.Errorf("at 420 px the page is %d px wide (%v): %q", wide, err, over)
	}
	for i, a := range figs {
		if a.Right > 421 || a.Left < 0 {
			t.Errorf("chart %d at 420 px spans %.0f-%.0f px", i, a.Left, a.Right)
		}
		for _, b := range figs[i+1:] {
			if a.Left < b.Right && b.Left < a.Right && a.Top < b.Bottom && b.Top < a.Bottom {
				t.Errorf("charts overlap at 420 px: %+v and %+v", a, b)
			}
		}
	}
	canvases, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[...document.querySelectorAll("canvas")].map((c) => Math.round(c.getBoundingClientRect().right))`))
	for _, r := range canvases {
		if r > 421 {
			t.Errorf("a chart's canvas ends at %d px, past the 420 px screen (%v)", r, err)
		}
	}
	png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shot = filepath.Join(t.TempDir(), "dashboard-420.png")
	if os.Getenv("SPOTFLEET_SCREENSHOT") == "1" {
		shot = "../../docs/dashboard-420.png"
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

// openDashboard opens up's dashboard at api in headless Chromium, and returns the page's
// context and what its console said of errors so far.
func openDashboard(t *testing.T, chrome, api string, out fmt.Stringer) (context.Context, func() []string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(1400, 1200))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel)
	var mu sync.Mutex
	var consoleErrors []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			consoleErrors = append(consoleErrors, fmt.Sprintf("%s (line %d)", ev.ExceptionDetails.Text, ev.ExceptionDetails.LineNumber))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range ev.Args {
					args = append(args, cmp.Or(string(a.Value), a.Description))
				}
				consoleErrors = append(consoleErrors, strings.Join(args, " "))
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				consoleErrors = append(consoleErrors, ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	}); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+api+"/"), chromedp.WaitVisible(`#live.ok`)); err != nil {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("opening the dashboard: %v; console errors %q\n%s", err, consoleErrors, out.String())
	}
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(consoleErrors)
	}
}

// TestDashboardShowsFargate: the map of a fleet on Fargate Spot shows each task in its
// FARGATE_SPOT/<zone> pool, and the task's own button gives it the warning, which the map
// and /status show within 2 s.
func TestDashboardShowsFargate(t *testing.T) {
	chrome := browser(t)
	bin := buildSpotfleet(t)
	_, lport := freeAddr(t)
	file := writeExample(t, t.TempDir(), "s3-fargate-spot.yaml", strings.NewReplacer("listenerPort: 8084", "listenerPort: "+strconv.Itoa(lport)))
	up := startUp(t, bin, file, "fargateStartTime: 5s\n", "--speed", "10")
	up.waitFor(t, "two healthy tasks", func(st fleetview.Status) bool { return healthy(st) >= 2 })
	ctx, consoleErrors := openDashboard(t, chrome, up.api, up.out)
	var task fleetview.TaskStatus
	for _, x := range up.status().Tasks {
		if x.Provider == "FARGATE_SPOT" && x.Status == spotfleet.TaskRunning {
			task = x
		}
	}
	chip := fmt.Sprintf(`div.pool[data-pool=%q] span.inst[data-id=%q]`, "FARGATE_SPOT/"+task.Zone, task.ID)
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chip), chromedp.Click(chip+" button.interrupt")); err != nil {
		t.Fatalf("the task's chip and button %s: %v", chip, err)
	}
	for {
		warned, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q) !== null", chip+".shutting-down")))
		if err != nil {
			t.Fatal(err)
		}
		stopping := false
		for _, x := range up.status().Tasks {
			stopping = stopping || (x.ID == task.ID && x.Status != spotfleet.TaskRunning)
		}
		if warned && stopping {
			break
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("task %s after 2 s: warned on the map %v, in /status %v", task.ID, warned, stopping)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

// shows waits until the map shows the instance's notice and the timeline has a mark
// naming it, and fails past 2 s (wall) from start.
func shows(t *testing.T, ctx context.Context, id string, start time.Time) {
	t.Helper()
	noticed := fmt.Sprintf(`span.inst.noticed[data-id=%q]`, id)
	mark := fmt.Sprintf(`Array.from(document.querySelectorAll('#marks li')).some((li) => li.textContent.includes(%q))`, id)
	for {
		onMap, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q) !== null", noticed)))
		if err != nil {
			t.Fatal(err)
		}
		onTimeline, err := chromedp.Run(ctx, chromedp.Evaluate[bool](mark))
		if err != nil {
			t.Fatal(err)
		}
		if onMap && onTimeline {
			t.Logf("%s on the map and the timeline after %s", id, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("%s after 2 s: on the map %v, on the timeline %v", id, onMap, onTimeline)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func spotRunning(st fleetview.Status) []string {
	var out []string
	for _, in := range st.Instances {
		if in.Lifecycle == spotfleet.Spot && in.State == spotfleet.InstanceRunning && in.NoticeIn == "" {
			out = append(out, in.ID)
		}
	}
	return out
}

func live(st fleetview.Status) int {
	n := 0
	for _, in := range st.Instances {
		if in.State != spotfleet.InstanceTerminated {
			n++
		}
	}
	return n
}

func healthy(st fleetview.Status) int {
	n := 0
	for _, s := range st.Services {
		n += s.Healthy
	}
	return n
}

// TestHandCommands: spotfleet capacity, interrupt and logs against a running up, with good
// and bad targets: a bad one is a clear error, exit status 1, and nothing happens.
func TestHandCommands(t *testing.T) {
	bin := buildSpotfleet(t)
	_, lport := freeAddr(t)
	dir := t.TempDir()
	file := writeExample(t, dir, "s3-ecs-service-autoscaled.yaml", strings.NewReplacer("listenerPort: 8083", "listenerPort: "+strconv.Itoa(lport)))
	up := startUp(t, bin, file, "bootTime: 5s\n", "--speed", "10", "--report", filepath.Join(dir, "r.json"))
	api, status := up.api, up.status
	up.waitFor(t, "two healthy tasks", func(st fleetview.Status) bool { return healthy(st) >= 2 })
	run := func(args ...string) (string, error) {
		b, err := exec.Command(bin, append(args, "--api", api)...).CombinedOutput()
		return string(b), err
	}
	for _, bad := range []struct {
		args []string
		msg  string
	}{
		{[]string{"interrupt", "i-0000000000000dead"}, "no running instance i-0000000000000dead"},
		{[]string{"interrupt", "c5.large/*"}, "pools c5.large/* hold no running Spot instance"},
		{[]string{"interrupt", "m5.large/*", "--count", "1", "--fraction", "0.5"}, "none of the others can be"},
		{[]string{"capacity", "zz/*", "0"}, "pools zz/* match none of the fleet's"},
		{[]string{"capacity", "*/*", "some"}, `capacity "some": give 0 or more instances, or unlimited`},
		{[]string{"logs", "nosuch"}, `no service, task or instance "nosuch" has run`},
	} {
		if b, err := run(bad.args...); err == nil || !strings.Contains(b, bad.msg) {
			t.Errorf("%v: %v\n%s\nwant %q", bad.args, err, b, bad.msg)
		}
	}
	if st := status(); st.Report.Interruptions.Notices != 0 || len(st.Report.Actions) != 0 {
		t.Fatalf("refused commands acted: %+v", st.Report)
	}
	if b, err := run("capacity", "*/*", "0"); err != nil || !strings.Contains(b, "Spot capacity 0 in ") {
		t.Errorf("capacity: %v\n%s", err, b)
	}
	spot := spotRunning(status())
	if b, err := run("interrupt", spot[0]); err != nil || !strings.Contains(b, "interruption notice sent to "+spot[0]) {
		t.Errorf("interrupt: %v\n%s", err, b)
	}
	b, err := run("logs", "web")
	if err != nil || !strings.Contains(b, "web ") || !strings.Contains(b, "msg=serving") {
		t.Errorf("logs: %v\n%s", err, b)
	}
	if st := status(); st.Report.Interruptions.Notices != 1 || len(st.Report.Actions) != 2 {
		t.Errorf("after the commands: %d notices, actions %+v", st.Report.Interruptions.Notices, st.Report.Actions)
	}
}
