package aws

import (
	"testing"
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/manifest"
)

// TestRefusalsFromServiceEvents: a FARGATE_SPOT service's recent "unable to place a task ...
// Capacity is unavailable" events are its refusals, oldest first; older events, other
// reasons, and the FARGATE companion's events are not (moto keeps no service events, so the
// events are written here as ECS words them).
func TestRefusalsFromServiceEvents(t *testing.T) {
	m, diags, err := manifest.Load("../examples/s3-fargate-spot.yaml")
	if err != nil || diags.Err() != nil {
		t.Fatal(err, diags)
	}
	p := NewProvider(awssdk.Config{Region: "us-east-1"}, m)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	ev := func(id string, ago time.Duration, msg string) ecstypes.ServiceEvent {
		at := now.Add(-ago)
		return ecstypes.ServiceEvent{Id: awssdk.String(id), CreatedAt: &at, Message: awssdk.String(msg)}
	}
	refused := "(service web) was unable to place a task. Reason: Capacity is unavailable at this time. Please try again later or in a different availability zone. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
	events := []ecstypes.ServiceEvent{ // newest first, as DescribeServices returns them
		ev("3", 10*time.Second, refused),
		ev("2", time.Minute, "(service web) has reached a steady state."),
		ev("1", 2*time.Minute, refused),
		ev("0", 20*time.Minute, refused),
	}
	got := p.refusals(ecstypes.Service{ServiceName: awssdk.String("web"), Events: events}, now)
	if len(got) != 2 || got[0].ActivityID != "1" || got[1].ActivityID != "3" || !spotfleet.CapacityError(got[1].Message) {
		t.Errorf("refusals %+v; want events 1 and 3, oldest first", got)
	}
	if got := p.refusals(ecstypes.Service{ServiceName: awssdk.String("web-fallback"), Events: events}, now); len(got) != 0 {
		t.Errorf("the FARGATE companion's refusals %+v; want none", got)
	}
}
