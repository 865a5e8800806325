package stack

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/controller"
	"github.com/spotfleet/spotfleet/manifest"
)

// TestLeaseOnMoto: the DynamoDB lease, as the controllers use it: one holder at a time,
// renewals keep the token, a lapsed holding goes to the next holder with the next token,
// and the old holder is fenced; without the table it says to run apply.
func TestLeaseOnMoto(t *testing.T) {
	cfg := moto(t, nil)
	ctx := context.Background()
	m := example(t, "s0-ecs-spot-capacity-provider.yaml")
	l := aws.NewLease(cfg, m, nil)
	if _, err := l.Hold(ctx, "a", time.Second); err == nil || !strings.Contains(err.Error(), "run spotfleet apply") {
		t.Errorf("Hold without the table: %v; want it to say to run apply", err)
	}
	applyPlan(t, NewStack(cfg, m), plan(t, NewStack(cfg, m)))
	a, err := l.Hold(ctx, "a", 2*time.Second)
	if err != nil || a != 1 {
		t.Fatalf("a takes the free lease: %d, %v", a, err)
	}
	if _, err := l.Hold(ctx, "b", 2*time.Second); !errors.Is(err, spotfleet.ErrLeaseHeld) {
		t.Errorf("b takes a held lease: %v", err)
	}
	if again, err := l.Hold(ctx, "a", 2*time.Second); err != nil || again != a {
		t.Errorf("a renews: %d, %v; want token %d", again, err, a)
	}
	if err := l.Fence(ctx, "a", a); err != nil {
		t.Errorf("a fenced while it holds the lease: %v", err)
	}
	time.Sleep(2100 * time.Millisecond)
	b, err := l.Hold(ctx, "b", 2*time.Second)
	if err != nil || b != a+1 {
		t.Fatalf("b takes the lapsed lease: %d, %v; want token %d", b, err, a+1)
	}
	if err := l.Fence(ctx, "a", a); !errors.Is(err, spotfleet.ErrLeaseLost) {
		t.Errorf("a fenced after b took over: %v", err)
	}
	if _, err := l.Hold(ctx, "a", 2*time.Second); !errors.Is(err, spotfleet.ErrLeaseHeld) {
		t.Errorf("a takes b's lease back: %v", err)
	}
}

// TestTwoControllersOnMoto: two controllers of one fleet on moto, on the DynamoDB lease
// (a 2 s TTL here): only the leader acts on an interruption; once it is gone the other
// acts on the next one within the TTL and a tick.
func TestTwoControllersOnMoto(t *testing.T) {
	rec := &calls{}
	cfg := moto(t, func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec })
	m := example(t, "s3-ecs-service-autoscaled.yaml")
	spot := fleetOnMoto(t, cfg, m)["spot"]
	ctx := context.Background()
	start := func(holder string) (*controller.Controller, context.CancelFunc, chan struct{}) {
		p := aws.NewProvider(cfg, m)
		c, err := controller.New(controller.Config{Manifest: m, Provider: p, Queue: p, Tick: 200 * time.Millisecond, Log: slog.New(slog.DiscardHandler),
			Lease: aws.NewLease(cfg, m, nil), Holder: holder, LeaseTTL: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { c.Run(cctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		return c, cancel, done
	}
	first, kill, dead := start("first")
	eventually(t, "the first controller leads", func() bool { return first.Leading() })
	second, _, _ := start("second")
	time.Sleep(time.Second)
	if second.Leading() {
		t.Fatal("both controllers lead")
	}
	p := aws.NewProvider(cfg, m)
	send := func(id, instance string) {
		if err := p.SendMessage(ctx, eventAt(t, time.Now().Add(-110*time.Second), id, spotfleet.DetailSpotInterruption, "aws.ec2", interruption(instance))); err != nil {
			t.Fatal(err)
		}
	}
	send("e-1", spot[0])
	eventually(t, "the leader handles the first interruption", func() bool { return first.Stats().Notices == 1 })
	if second.Stats().Notices != 0 {
		t.Errorf("the follower took a notice while the leader led")
	}
	kill()
	<-dead
	died := time.Now()
	eventually(t, "the follower leads", func() bool { return second.Leading() })
	took := time.Since(died)
	// The next interruption, of a Spot instance still running: the dead leader may have
	// detached or ended the first one, and its group launched another.
	next := ""
	for _, in := range liveSpot(t, cfg, m) {
		if in != spot[0] {
			next = in
		}
	}
	if next == "" {
		next = spot[0]
	}
	send("e-2", next)
	eventually(t, "the new leader handles the next interruption", func() bool { return second.Stats().Notices >= 1 })
	if took > 2*time.Second+time.Second {
		t.Errorf("the follower took over %s after the leader died; want within the TTL (2 s) and a round", took)
	}
	t.Logf("the follower led %s after the leader died", took.Round(time.Millisecond))
}

// liveSpot lists the running instances of the fleet's Spot group.
func liveSpot(t *testing.T, cfg awssdk.Config, m *manifest.Manifest) []string {
	t.Helper()
	g, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{aws.Names{Fleet: m.Name}.Group("spot")}})
	if err != nil || len(g.AutoScalingGroups) == 0 {
		t.Fatalf("the Spot group: %v", err)
	}
	var out []string
	for _, in := range g.AutoScalingGroups[0].Instances {
		if in.LifecycleState == "InService" || in.LifecycleState == "Pending" {
			out = append(out, awssdk.ToString(in.InstanceId))
		}
	}
	return out
}
