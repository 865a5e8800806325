package aws

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// TestCallsArePaced makes more calls of one API than its bucket holds: those past the
// bucket wait for its refill, while another API's calls do not wait for them.
func TestCallsArePaced(t *testing.T) {
	cfg := moto(t, nil)
	client := ec2.NewFromConfig(cfg)
	ctx := context.Background()
	const extra = 30
	began := time.Now()
	for range bucketSize + extra {
		if _, err := client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if took, least := time.Since(began), time.Duration(extra)*time.Second/bucketRefill; took < least*9/10 {
		t.Errorf("%d calls of one API took %s; the pacer should have held them at least %s", bucketSize+extra, took, least)
	}
	began = time.Now()
	if _, err := sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("a call of another API waited %s: each API has its own bucket", took)
	}
}
