package aws

import (
	"context"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// AWS throttles each API of an account and region with a token bucket, and a throttled
// call costs a retry with backoff. The pacer keeps spotfleet's calls inside a bucket per
// API itself, so that a burst of work is slowed rather than throttled into retries.
//
// The bucket is EC2's for a non-mutating action, the one AWS publishes: 100 tokens, 20 a
// second back (docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html). The
// other services' pages give no figures; where an API's real bucket is smaller, the SDK's
// retries still correct a throttled call.
const (
	bucketRefill = 20 // tokens a second
	bucketSize   = 100
)

// pacer holds a bucket per service and API.
type pacer struct {
	mu  sync.Mutex
	per map[string]*rate.Limiter
}

func newPacer() *pacer { return &pacer{per: map[string]*rate.Limiter{}} }

func (p *pacer) limiter(service, op string) *rate.Limiter {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := service + "." + op
	if l, ok := p.per[k]; ok {
		return l
	}
	l := rate.NewLimiter(bucketRefill, bucketSize)
	p.per[k] = l
	return l
}

// add puts the pacer after the retry middleware, so that every attempt (a retried call
// spends a token at AWS too) waits for its token.
func (p *pacer) add(s *middleware.Stack) error {
	return s.Finalize.Insert(middleware.FinalizeMiddlewareFunc("spotfleet.Pace",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if err := p.limiter(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)).Wait(ctx); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			return next.HandleFinalize(ctx, in)
		}), "Retry", middleware.After)
}
