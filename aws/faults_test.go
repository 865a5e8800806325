package aws

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"

	"github.com/spotfleet/spotfleet"
)

// faults fails the first attempt of every call that changes something: with a throttling
// error in the call's protocol (RequestLimitExceeded for EC2's query protocol,
// ThrottlingException for the JSON ones) or a 500, in turn.
type faults struct {
	mu     sync.Mutex
	next   http.RoundTripper
	n      int
	failed map[string]bool
}

func (f *faults) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	key := r.Header.Get("X-Amz-Target") + string(body)
	mutating := !strings.Contains(key, "Describe") && !strings.Contains(key, "List") && !strings.Contains(key, "Get")
	f.mu.Lock()
	first := mutating && !f.failed[key]
	if first {
		f.failed[key] = true
		f.n++
	}
	n := f.n
	f.mu.Unlock()
	if !first {
		return f.next.RoundTrip(r)
	}
	resp := &http.Response{Request: r, Header: http.Header{}, ProtoMajor: 1, ProtoMinor: 1}
	switch {
	case n%2 == 0:
		resp.StatusCode, resp.Body = 500, io.NopCloser(strings.NewReader("internal error"))
	case r.Header.Get("X-Amz-Target") != "":
		resp.StatusCode = 400
		resp.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp.Header.Set("X-Amzn-Query-Error", "ThrottlingException;Sender")
		resp.Body = io.NopCloser(strings.NewReader(`{"__type":"ThrottlingException","message":"Rate exceeded"}`))
	default:
		resp.StatusCode = 503
		resp.Header.Set("Content-Type", "text/xml")
		resp.Body = io.NopCloser(strings.NewReader(`<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>x</RequestID></Response>`))
	}
	return resp, nil
}

// TestThrottlingAndServerErrorsAreRetried: every mutating call's first attempt fails
// (throttled or 500); the SDK's retryer makes it again and no action is lost.
func TestThrottlingAndServerErrorsAreRetried(t *testing.T) {
	cfg := moto(t, nil)
	m := example(t, "s3-ecs-service-autoscaled.yaml")
	fleetOnMoto(t, cfg, m)
	f := &faults{failed: map[string]bool{}}
	faulty := moto2(t, cfg, f)
	p := NewProvider(faulty, m)
	ctx := context.Background()
	s, err := p.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var spot spotfleet.Instance
	for _, in := range s.Instances {
		if in.Group == "spot" && in.Alive() {
			spot = in
		}
	}
	var target spotfleet.Target
	for _, x := range s.Targets {
		if x.Instance == spot.ID {
			target = x
		}
	}
	for name, call := range map[string]func() error{
		"DeregisterTargets":       func() error { return p.DeregisterTargets(ctx, target.TargetGroup, []spotfleet.TargetRef{target.Ref()}) },
		"DrainContainerInstances": func() error { return p.DrainContainerInstances(ctx, []string{spot.ContainerInstance}) },
		"SetDesiredCount":         func() error { return p.SetDesiredCount(ctx, "web-fallback", 2) },
		"TerminateInstances":      func() error { return p.TerminateInstances(ctx, []string{spot.ID}) },
	} {
		if err := call(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if f.n < 4 {
		t.Fatalf("only %d first attempts failed; the faults did not reach the calls", f.n)
	}
	after, err := NewProvider(cfg, m).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range after.Targets {
		if x.Ref() == target.Ref() && x.State.Registered() {
			t.Errorf("target still registered: the deregistration was lost")
		}
	}
	for _, in := range after.Instances {
		if in.ID == spot.ID && in.Alive() {
			t.Errorf("instance still alive (%s, %s): the termination was lost", in.State, in.ContainerStatus)
		}
	}
	for _, sv := range after.Services {
		if sv.Name == "web-fallback" && sv.Desired != 2 {
			t.Errorf("web-fallback desired %d: the update was lost", sv.Desired)
		}
	}
}

// moto2 is a second configuration for the same moto, through a fault transport.
func moto2(t *testing.T, base awssdk.Config, f *faults) awssdk.Config {
	t.Helper()
	f.next = ecsShim{http.DefaultTransport}
	cfg, err := LoadConfig(context.Background(), "us-east-1", Options{HTTPClient: &http.Client{Transport: f}, MaxAttempts: 4})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
