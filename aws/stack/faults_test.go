package stack

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/aws"
)

// faults fails the first attempt of every call that changes something: with a throttling
// error in the call's protocol (RequestLimitExceeded for EC2's query protocol,
// ThrottlingException for the JSON ones) or a 500, in turn. With lost set, it fails only
// the query-protocol actions named there, after they reached AWS: only the answer is lost
// (a 500 in its place), and the retry finds the change made.
type faults struct {
	mu     sync.Mutex
	next   http.RoundTripper
	lost   []string
	n      int
	failed map[string]bool
}

func (f *faults) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	key := r.Header.Get("X-Amz-Target") + string(body)
	mutating := !strings.Contains(key, "Describe") && !strings.Contains(key, "List") && !strings.Contains(key, "Get")
	if f.lost != nil {
		mutating = slices.ContainsFunc(f.lost, func(a string) bool { return strings.Contains(key, "Action="+a+"&") })
	}
	f.mu.Lock()
	first := mutating && !f.failed[key]
	if first {
		f.failed[key] = true
		f.n++
	}
	n := f.n
	f.mu.Unlock()
	if !first {
		resp, err := f.next.RoundTrip(r)
		if err == nil && mutating && resp.StatusCode == 500 && strings.Contains(key, "Action=RemoveRoleFromInstanceProfile&") {
			// moto fails (list.remove) where AWS answers NoSuchEntity: the role is not in it.
			resp.Body.Close()
			resp.StatusCode, resp.Header = 404, http.Header{"Content-Type": {"text/xml"}}
			resp.Body = io.NopCloser(strings.NewReader(`<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>not in the profile</Message></Error><RequestId>x</RequestId></ErrorResponse>`))
		}
		return resp, err
	}
	if f.lost != nil {
		answer, err := f.next.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		answer.Body.Close()
	}
	resp := &http.Response{Request: r, Header: http.Header{}, ProtoMajor: 1, ProtoMinor: 1}
	switch {
	case f.lost != nil || n%2 == 0:
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
	p := aws.NewProvider(faulty, m)
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
	after, err := aws.NewProvider(cfg, m).Snapshot(ctx)
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

// TestDeleteWhenAnswersAreLost: the steps of removing a role and an instance profile reach
// AWS but their first answers are lost, so the retries find the policy already detached and
// the role already out of the profile (NoSuchEntity). A step that finds its work done is not
// the resource gone: Delete must still leave nothing of the fleet. (Only IAM: moto answers
// other repeated deletes unlike AWS, with a 500 or a MissingParameter.)
func TestDeleteWhenAnswersAreLost(t *testing.T) {
	cfg := moto(t, nil)
	m := example(t, "s3-ecs-service-autoscaled.yaml")
	applyPlan(t, NewStack(cfg, m), plan(t, NewStack(cfg, m)))
	f := &faults{failed: map[string]bool{}, lost: []string{"DetachRolePolicy", "DeleteRolePolicy", "RemoveRoleFromInstanceProfile"}}
	if err := NewStack(moto2(t, cfg, f), m).Delete(context.Background(), func(Change, error, bool) {}); err != nil {
		t.Fatal(err)
	}
	if f.n < 3 {
		t.Fatalf("only %d answers were lost; the faults did not reach the calls", f.n)
	}
	if left := tagged(t, cfg, m.Name); len(left) > 0 {
		t.Errorf("tagged resources left after delete: %v", left)
	}
	for _, c := range plan(t, NewStack(cfg, m)) {
		if c.Action != "create" {
			t.Errorf("left after delete: %s %s (the plan wants to %s it)", c.Kind, c.Name, c.Action)
		}
	}
}

// moto2 is a second configuration for the same moto, through a fault transport.
func moto2(t *testing.T, base awssdk.Config, f *faults) awssdk.Config {
	t.Helper()
	f.next = ecsShim{http.DefaultTransport}
	cfg, err := aws.LoadConfig(context.Background(), "us-east-1", aws.Options{HTTPClient: &http.Client{Transport: f}, MaxAttempts: 4})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
