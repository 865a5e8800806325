package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/controller"
	"github.com/spotfleet/spotfleet/internal/testing/motoserver"
	"github.com/spotfleet/spotfleet/internal/testing/testio"
)

// TestControllerProcessesShareALease runs two spotfleet controller processes for one fleet
// on moto. One leads; stopped (SIGSTOP) past its lease, the other takes over, and once
// resumed (SIGCONT) the first follows and acts on nothing; killed (SIGKILL), the leader is
// replaced within the lease's TTL and a tick, and the follower handles the next
// interruption.
func TestControllerProcessesShareALease(t *testing.T) {
	srv, skip := motoserver.Start()
	if srv == nil {
		t.Skip(skip)
	}
	defer srv.Stop()
	srv.Env(t.Setenv)
	bin := buildSpotfleet(t)
	// The two controllers are run here, so apply deploys none (aws.controller.deploy).
	raw, err := os.ReadFile("../../examples/s2-web-app-spot-instances-alb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "s2.yaml")
	if err := os.WriteFile(file, append(raw, "aws:\n  controller:\n    deploy: false\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runAWS(t, "apply", "-f", file, "--approve"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	type proc struct {
		api string
		cmd *exec.Cmd
		log *testio.Buffer
	}
	start := func() *proc {
		api, _ := freeAddr(t)
		p := &proc{api: api, cmd: exec.Command(bin, "controller", "-f", file, "--api", api), log: &testio.Buffer{}}
		p.cmd.Stderr = p.log
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.cmd.Process.Signal(syscall.SIGCONT); p.cmd.Process.Kill(); p.cmd.Wait() })
		return p
	}
	metric := func(p *proc, name string) float64 {
		resp, err := http.Get("http://" + p.api + "/metrics")
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(b)
		if m == nil {
			return -1
		}
		var v float64
		fmt.Sscan(string(m[1]), &v)
		return v
	}
	var a *proc
	leads := func(p *proc) bool { return metric(p, "spotfleet_leader") == 1 }
	waitUntil := func(what string, limit time.Duration, ok func() bool) time.Duration {
		t.Helper()
		began := time.Now()
		for time.Since(began) < limit {
			if ok() {
				return time.Since(began)
			}
			time.Sleep(50 * time.Millisecond)
		}
		resp, _ := http.Get("http://" + a.api + "/metrics")
		var events []byte
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			events = regexp.MustCompile(`(?m)^spotfleet_events_total.*$`).Find(b)
		}
		t.Fatalf("after %s: %s\nfirst controller's log:\n%s%s", limit, what, a.log.String(), events)
		return 0
	}

	a = start()
	waitUntil("the first controller leads", 30*time.Second, func() bool { return leads(a) })
	b := start()
	waitUntil("the second controller serves", 30*time.Second, func() bool { return metric(b, "spotfleet_leader") == 0 })
	// A follower serves the agents their binary (its own) and answers its health check.
	if resp, err := http.Get("http://" + b.api + "/v1/agent/linux/" + map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]); err != nil {
		t.Fatal(err)
	} else {
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want, _ := os.ReadFile(bin)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
			t.Errorf("GET /v1/agent: %s, %d bytes; want the binary's %d", resp.Status, len(got), len(want))
		}
	}
	if out, err := exec.Command(bin, "healthcheck", "http://"+b.api+"/healthz").CombinedOutput(); err != nil {
		t.Errorf("healthcheck of a running controller: %v\n%s", err, out)
	}
	if code := getWithHost(t, "http://"+b.api+"/healthz", "spotfleet.evil.example"); code != http.StatusForbidden {
		t.Errorf("/healthz for a rebound DNS name: %d, want 403", code)
	}
	if out, err := exec.Command(bin, "healthcheck", "http://"+b.api+"/nothing").CombinedOutput(); err == nil {
		t.Errorf("healthcheck of a 404 passed:\n%s", out)
	}
	time.Sleep(2 * time.Second)
	if leads(b) {
		t.Fatal("both controllers lead")
	}

	a.cmd.Process.Signal(syscall.SIGSTOP)
	took := waitUntil("the second controller takes over from the stopped one", controller.LeaseTTL+10*time.Second, func() bool { return leads(b) })
	t.Logf("stopped leader replaced after %s", took.Round(time.Millisecond))
	a.cmd.Process.Signal(syscall.SIGCONT)
	waitUntil("the resumed controller follows", 10*time.Second, func() bool { return metric(a, "spotfleet_leader") == 0 })
	time.Sleep(2 * time.Second)
	if !leads(b) || leads(a) {
		t.Fatalf("after the first resumed: first leads %v, second %v; want the second alone", leads(a), leads(b))
	}

	// The leader is killed; an interruption comes at once: the survivor acts on it.
	cfg, err := aws.LoadConfig(context.Background(), "us-east-1", aws.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"s2-web-spot"}})
	if err != nil || len(g.AutoScalingGroups) == 0 || len(g.AutoScalingGroups[0].Instances) == 0 {
		t.Fatalf("the Spot group's instances: %v", err)
	}
	instance := awssdk.ToString(g.AutoScalingGroups[0].Instances[0].InstanceId)
	b.cmd.Process.Kill()
	killed := time.Now()
	// A receive the dead leader left pending (a 1 s long poll) would take the message and
	// hide it for the 30 s visibility timeout, as SQS does: the event comes after it ended.
	time.Sleep(1500 * time.Millisecond)
	d, _ := json.Marshal(spotfleet.SpotInterruptionDetail{InstanceID: instance, InstanceAction: "terminate"})
	body, _ := json.Marshal(spotfleet.Envelope{Version: "0", ID: "e-kill", DetailType: spotfleet.DetailSpotInterruption, Source: "aws.ec2",
		Account: "123456789012", Time: time.Now().UTC().Truncate(time.Second), Region: "us-east-1", Detail: d})
	q := sqs.NewFromConfig(cfg)
	url, err := q.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: awssdk.String("s2-web-events")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: url.QueueUrl, MessageBody: awssdk.String(string(body))}); err != nil {
		t.Fatal(err)
	}
	waitUntil("the survivor accepts the interruption", controller.LeaseTTL+10*time.Second, func() bool {
		return metric(a, `spotfleet_events_total{kind="interruption",outcome="accepted"}`) == 1
	})
	acted := time.Since(killed)
	t.Logf("killed leader: the survivor accepted the next interruption %s after", acted.Round(time.Millisecond))
	if acted > controller.LeaseTTL+5*time.Second+time.Second {
		t.Errorf("the survivor acted %s after the kill; want within the lease's TTL (10 s), its renewal period and a tick (5 s)", acted)
	}
	if strings.Contains(a.log.String(), `"level":"ERROR"`) || bytes.Contains([]byte(a.log.String()), []byte("panic")) {
		t.Errorf("the survivor's log has errors:\n%s", a.log.String())
	}
}
