package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spotfleet/spotfleet/fleetview"
	"github.com/spotfleet/spotfleet/internal/testing/testio"
)

// buildSpotfleet builds this binary once per test run.
func buildSpotfleet(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs processes")
	}
	bin := filepath.Join(t.TempDir(), "spotfleet")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String(), ln.Addr().(*net.TCPAddr).Port
}

// pythonFleet is a manifest whose task is not the example service: python's http.server.
func pythonFleet(t *testing.T, listenerPort int, command string) string {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	// The interpreter itself rather than a version manager's shim (pyenv's is a shell
	// script that takes seconds to start on a loaded machine, longer than the health
	// checks wait at the tests' speed).
	if exe, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output(); err == nil && len(bytes.TrimSpace(exe)) > 0 {
		command = strings.ReplaceAll(command, "python3 ", string(bytes.TrimSpace(exe))+" ")
	}
	dir := t.TempDir()
	m := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(m, []byte(fmt.Sprintf(`name: py
capacity:
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large]
    zones: [us-east-1a, us-east-1b]
    desiredCapacity: 2
services:
  - name: files
    command: [sh, -c, '%s']
    port: 8000
    desiredCount: 2
    stopTimeout: 10s
    capacityProviderStrategy: [{capacityProvider: spot}]
    loadBalancer:
      listenerPort: %d
      deregistrationDelay: 10s
      healthCheck: {path: /, interval: 5s, timeout: 2s}
`, command, listenerPort)), 0o644)
	return m
}

// TestUpRunsAnyCommand: a plain python3 -m http.server serves through the load balancer.
func TestUpRunsAnyCommand(t *testing.T) {
	bin := buildSpotfleet(t)
	_, lport := freeAddr(t)
	api, _ := freeAddr(t)
	m := pythonFleet(t, lport, `exec python3 -m http.server "$PORT" --bind "$HOST"`)
	dir := filepath.Dir(m)
	sc := filepath.Join(dir, "scenario.yaml")
	os.WriteFile(sc, []byte("bootTime: 10s\nload: {rps: 20, path: /}\n"), 0o644)
	report := filepath.Join(dir, "r.json")
	cmd := exec.Command(bin, "up", "-f", m, "--scenario", sc, "--speed", "20", "--for", "4m", "--report", report, "--api", api)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	var r fleetview.Report
	b, err := os.ReadFile(report)
	if err != nil || json.Unmarshal(b, &r) != nil {
		t.Fatalf("report: %v\n%s\n%s", err, b, out)
	}
	if r.Requests.Total < 50 || r.Requests.Failed != 0 || r.LoadBalancer.Requests < r.Requests.Total || r.LoadBalancer.ELB5xx != 0 {
		t.Errorf("python service through the load balancer: %+v %+v\n%s", r.Requests, r.LoadBalancer, out)
	}
	if r.EmulatedSeconds < 180 || r.Capacity.SpotInstanceSeconds <= 0 || r.Cost.SavingsPercent <= 30 {
		t.Errorf("report: %+v", r)
	}
	// The task output goes with the run (no --keep-logs).
	_, after, found := strings.Cut(string(out), "task output: ")
	logDir, _, _ := strings.Cut(after, " ")
	if !found || logDir == "" {
		t.Fatalf("up did not say where the task output is:\n%s", out)
	}
	if _, err := os.Stat(logDir); !os.IsNotExist(err) {
		t.Errorf("the log directory %s is still there after the run (%v)", logDir, err)
	}
}

// TestNoProcessSurvivesKilledUp: up is killed with SIGKILL while its tasks run; every task
// process (and what it spawned) is gone soon after.
func TestNoProcessSurvivesKilledUp(t *testing.T) {
	bin := buildSpotfleet(t)
	_, lport := freeAddr(t)
	api, _ := freeAddr(t)
	// The shell stays as the parent of python: a grandchild that the parent-death signal
	// alone would leave behind; and sleep leaves the process group for a session of its
	// own, out of reach of a signal to the group.
	m := pythonFleet(t, lport, `setsid sleep 1000 & python3 -m http.server "$PORT" --bind "$HOST" & wait`)
	sc := filepath.Join(filepath.Dir(m), "scenario.yaml")
	os.WriteFile(sc, []byte("bootTime: 5s\n"), 0o644)
	mark := fmt.Sprintf("SPOTFLEET_TEST_MARK=%d", time.Now().UnixNano())
	cmd := exec.Command(bin, "up", "-f", m, "--scenario", sc, "--speed", "20", "--api", api)
	cmd.Env = append(os.Environ(), mark)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(30 * time.Second)
	for len(marked(mark)) < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("the tasks never started (marked processes: %v)", marked(mark))
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitTasksRunning(t, api, 2)
	// status -o json and yaml against the running up.
	out, _, err := run(t, "status", "--api", api, "-o", "json")
	var st fleetview.Status
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.Fleet != "py" {
		t.Errorf("status -o json: %v\n%s", err, out)
	}
	if out, _, err := run(t, "status", "--api", api, "-o", "yaml"); err != nil || !strings.Contains(out, "fleet: py") {
		t.Errorf("status -o yaml: %v\n%s", err, out)
	}
	if code := getWithHost(t, "http://"+api+"/status", "spotfleet.evil.example"); code != http.StatusForbidden {
		t.Errorf("/status for a rebound DNS name: %d, want 403", code)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	deadline = time.Now().Add(10 * time.Second)
	for {
		left := marked(mark)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes survived up's SIGKILL: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// getWithHost GETs url with the Host header set to host, as a browser on a page whose DNS
// name was rebound to the address would.
func getWithHost(t *testing.T, url, host string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitTasksRunning(t *testing.T, api string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + api + "/status")
		if err == nil {
			var st fleetview.Status
			json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			running := 0
			for _, task := range st.Tasks {
				if task.Status == "RUNNING" {
					running++
				}
			}
			if running >= n {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("fewer than %d tasks RUNNING", n)
}

// marked lists the processes whose environment holds the mark, other than the reaper.
func marked(mark string) []string {
	var out []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil || !strings.Contains(string(env), mark) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		line := strings.ReplaceAll(string(cmdline), "\x00", " ")
		if strings.Contains(line, " reaper") || strings.HasPrefix(line, "spotfleet up") {
			continue
		}
		out = append(out, d.Name()+": "+line)
	}
	return out
}

// TestUpInterruptionsDropNothing interrupts half the Spot instances under load, with a
// service that exits at once on SIGTERM (python's http.server): with the spotfleet
// controller no request fails and no task is stopped while the load balancer routes to it.
func TestUpInterruptionsDropNothing(t *testing.T) {
	bin := buildSpotfleet(t)
	_, lport := freeAddr(t)
	m := pythonFleet(t, lport, `exec python3 -m http.server "$PORT" --bind "$HOST"`)
	r, out := upWithInterruption(t, bin, m, "fraction: 0.5", "")
	if r.Interruptions.Notices != 1 || r.ControllerStats == nil || r.ControllerStats.Notices != 1 {
		t.Fatalf("want one interruption handled by the controller: %+v %+v\n%s", r.Interruptions, r.ControllerStats, out)
	}
	if r.Requests.Total < 200 || r.Requests.Failed != 0 || r.LoadBalancer.ELB5xx != 0 || r.Interruptions.TasksStoppedWhileRegistered != 0 {
		t.Errorf("requests %+v, load balancer %+v, interruptions %+v: want none failed\n%s", r.Requests, r.LoadBalancer, r.Interruptions, out)
	}
}

// TestAgentInTheEmulator runs a workload-instances fleet whose service is wrapped by
// `spotfleet agent`: on the notice the agent (reading its instance's emulated metadata
// service) reports to the controller through up's API, then stops the service; no request
// fails and no service is killed at the deadline.
func TestAgentInTheEmulator(t *testing.T) {
	bin := buildSpotfleet(t)
	_, lport := freeAddr(t)
	api, _ := freeAddr(t)
	dir := t.TempDir()
	m := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(m, []byte(fmt.Sprintf(`name: agents
workload: instances
capacity:
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large]
    zones: [us-east-1a, us-east-1b]
    minSize: 2
    desiredCapacity: 2
instances:
  name: web
  command: [spotfleet, agent, --report, "http://%s", --delay, 1s, --interval, 200ms, --, spotfleet, example-service]
  port: 5000
  stopTimeout: 20s
  loadBalancer: {listenerPort: %d, deregistrationDelay: 30s, healthCheck: {path: /healthcheck}}
`, api, lport)), 0o644)
	r, out := upWithInterruption(t, bin, m, "count: 1", api)
	if r.ControllerStats == nil || r.ControllerStats.Events["duplicate"] < 1 || r.ControllerStats.Events["unauthenticated"] != 0 {
		t.Errorf("the agent's report (signed with its identity document) and the queue's event should meet as one notice and a duplicate: %+v\n%s", r.ControllerStats, out)
	}
	if r.Requests.Failed != 0 || r.Interruptions.DeadlineMissed != 0 || r.Interruptions.TasksStoppedWhileRegistered != 0 {
		t.Errorf("requests %+v, interruptions %+v: want none failed, no deadline missed\n%s", r.Requests, r.Interruptions, out)
	}
}

// upWithInterruption runs up on a manifest for 4 emulated minutes at speed 10, under 40
// requests/s, interrupting Spot instances (as the interrupt step's size says) at 1m, and
// returns its report and output.
func upWithInterruption(t *testing.T, bin, manifest, size, api string) (upReport, []byte) {
	t.Helper()
	dir := filepath.Dir(manifest)
	sc := filepath.Join(dir, "scenario.yaml")
	os.WriteFile(sc, []byte("bootTime: 20s\nload: {rps: 40, path: /}\nsteps:\n  - {at: 1m, interrupt: {pools: ['*'], "+size+"}}\n"), 0o644)
	report := filepath.Join(dir, "r.json")
	out, err := exec.Command(bin, "up", "-f", manifest, "--scenario", sc, "--speed", "10", "--for", "4m", "--report", report, "--api", api).CombinedOutput()
	if err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	var r upReport
	b, err := os.ReadFile(report)
	if err != nil || json.Unmarshal(b, &r) != nil {
		t.Fatalf("report: %v\n%s\n%s", err, b, out)
	}
	return r, out
}

// TestUpRunsTheProductionExample: the production example runs as it is (its secrets'
// values from its local.envFile) on free ports: HTTPS with the run's certificate, / served
// by web and /api/ by api on the one listener, and the HTTP port's 301 to HTTPS.
func TestUpRunsTheProductionExample(t *testing.T) {
	bin := buildSpotfleet(t)
	_, httpsPort := freeAddr(t)
	_, httpPort := freeAddr(t)
	file := writeExample(t, t.TempDir(), "production.yaml",
		strings.NewReplacer("8443", strconv.Itoa(httpsPort), "8080", strconv.Itoa(httpPort)), "production.env")
	up := startUp(t, bin, file, "bootTime: 5s\n", "--speed", "20", "--controller", "none")
	out := up.out

	// The certificate's file, from what up prints.
	var ca string
	for deadline := time.Now().Add(30 * time.Second); ca == ""; time.Sleep(50 * time.Millisecond) {
		if _, after, ok := strings.Cut(out.String(), "--cacert "); ok {
			ca, _, _ = strings.Cut(after, " ")
		}
		if time.Now().After(deadline) {
			t.Fatalf("up did not print its certificate:\n%s", out.String())
		}
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// servedBy asks path over HTTPS until a task answers, and says whose service it is.
	servedBy := func(path string) string {
		deadline := time.Now().Add(60 * time.Second)
		for ; time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d%s", httpsPort, path))
			if err != nil {
				continue
			}
			var body struct{ Task string }
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				continue
			}
			for _, tk := range up.status().Tasks {
				if tk.ID == body.Task {
					return tk.Service
				}
			}
		}
		t.Fatalf("no task answered %s:\n%s", path, out.String())
		return ""
	}
	if got := servedBy("/"); got != "web" {
		t.Errorf("/ served by %s, want web", got)
	}
	if got := servedBy("/api/orders"); got != "api" {
		t.Errorf("/api/orders served by %s, want api", got)
	}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/api/orders?x=1", httpPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := fmt.Sprintf("https://127.0.0.1:%d/api/orders?x=1", httpsPort); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Errorf("HTTP port: %d to %q, want 301 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}

// runningUp is a spotfleet up a test started, on a free --api address; it gets Ctrl-C
// when the test ends.
type runningUp struct {
	api string
	out *testio.Buffer
}

// writeExample copies examples/NAME (and the files named in also) into dir, with the
// manifest's text replaced as r says (free ports, other sizes), and returns its path.
func writeExample(t *testing.T, dir, name string, r *strings.Replacer, also ...string) string {
	t.Helper()
	for _, f := range append([]string{name}, also...) {
		raw, err := os.ReadFile("../../examples/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if f == name {
			raw = []byte(r.Replace(string(raw)))
		}
		if err := os.WriteFile(filepath.Join(dir, f), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, name)
}

// startUp runs up on a manifest with a scenario's text, and the flags given.
func startUp(t *testing.T, bin, file, scenario string, flags ...string) *runningUp {
	t.Helper()
	api, _ := freeAddr(t)
	sc := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(sc, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	u := &runningUp{api: api, out: &testio.Buffer{}}
	cmd := exec.Command(bin, append([]string{"up", "-f", file, "--scenario", sc, "--api", api}, flags...)...)
	cmd.Stdout, cmd.Stderr = u.out, u.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	return u
}

// status is the running up's, the zero Status while it does not answer.
func (u *runningUp) status() fleetview.Status {
	var st fleetview.Status
	getJSON("http://"+u.api+"/status", &st)
	return st
}

// waitFor waits up to a minute for the fleet to be as ok says.
func (u *runningUp) waitFor(t *testing.T, what string, ok func(fleetview.Status) bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !ok(u.status()); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never happened:\n%s", what, u.out.String())
		}
	}
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// TestUpFargateSpotInterruption: examples/s3-fargate-spot.yaml as it is (real example
// service processes, real HTTP) with one of its two Fargate Spot tasks interrupted under
// load: the controller takes the task's target out within a second of the warning (its
// SIGTERM came with it), no request fails, and the task is billed as Fargate Spot.
func TestUpFargateSpotInterruption(t *testing.T) {
	bin := buildSpotfleet(t)
	_, lport := freeAddr(t)
	dir := t.TempDir()
	file := writeExample(t, dir, "s3-fargate-spot.yaml", strings.NewReplacer("listenerPort: 8084", "listenerPort: "+strconv.Itoa(lport)))
	sc := filepath.Join(dir, "scenario.yaml")
	os.WriteFile(sc, []byte("fargateStartTime: 10s\nload: {rps: 40, path: /}\nsteps:\n  - {at: 1m, interrupt: {pools: ['FARGATE_SPOT/*'], fraction: 0.5}}\n"), 0o644)
	report := filepath.Join(dir, "r.json")
	out, err := exec.Command(bin, "up", "-f", file, "--scenario", sc, "--speed", "5", "--for", "3m", "--report", report, "--api", "").CombinedOutput()
	if err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	var r upReport
	if b, err := os.ReadFile(report); err != nil || json.Unmarshal(b, &r) != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	i := r.Interruptions
	if i.Notices != 1 || r.ControllerStats == nil || r.ControllerStats.Notices != 1 {
		t.Fatalf("want one Fargate Spot warning handled by the controller: %+v %+v\n%s", i, r.ControllerStats, out)
	}
	if r.Requests.Total < 200 || r.Requests.Failed != 0 || i.TasksStoppedWhileRegistered != 0 || i.NoticeToDeregisteredWall.P99 > 1000 {
		t.Errorf("requests %+v, interruptions %+v: want none failed, the target out within 1 s (wall)\n%s", r.Requests, i, out)
	}
	if r.Capacity.FargateSpotTaskSeconds <= 0 || r.Capacity.OnDemandInstanceSeconds+r.Capacity.SpotInstanceSeconds != 0 || !strings.Contains(string(out), "Fargate Spot and") {
		t.Errorf("capacity %+v: want Fargate Spot task-seconds and no instance, said on the last line\n%s", r.Capacity, out)
	}
}
