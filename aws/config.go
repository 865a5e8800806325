package aws

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
)

// Options select the account, region and endpoint. The rest is the standard AWS
// configuration: the credentials chain, AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL.
type Options struct {
	Region  string // default: the configuration's, else the manifest's
	Profile string
	// HTTPClient carries the calls; default the SDK's with a 30 s timeout per request.
	// Tests pass one whose transport injects faults or adapts to moto.
	HTTPClient *http.Client
	// MaxAttempts per call, retries included; default 8.
	MaxAttempts int
}

// LoadConfig reads the AWS configuration. Calls are paced per API (ratelimit.go) and retried by the SDK's standard retryer
// (exponential backoff with jitter, up to 20 s between attempts) on throttling
// (RequestLimitExceeded, ThrottlingException, ...), 5xx and connection errors.
func LoadConfig(ctx context.Context, region string, o Options) (awssdk.Config, error) {
	var hc config.HTTPClient = awshttp.NewBuildableClient().WithTimeout(30 * time.Second) // takes AWS_CA_BUNDLE
	if o.HTTPClient != nil {
		hc = o.HTTPClient
	}
	attempts := o.MaxAttempts
	if attempts == 0 {
		attempts = 8
	}
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(hc),
		config.WithRetryer(func() awssdk.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = attempts
				so.MaxBackoff = 20 * time.Second
			})
		}),
	}
	opts = append(opts, config.WithAPIOptions([]func(*middleware.Stack) error{newPacer().add}), config.WithLogger(sdkLogger{}))
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return awssdk.Config{}, fmt.Errorf("reading the AWS configuration: %w", err)
	}
	switch {
	case o.Region != "":
		cfg.Region = o.Region
	case cfg.Region == "":
		cfg.Region = region
	}
	return cfg, nil
}

// sdkLogger sends the SDK's own messages to the log at debug level: its warnings (such as
// "falling back to IMDSv1" while it looks for credentials) are for someone debugging the
// credentials chain, and printed on a user's terminal they read as spotfleet's errors.
type sdkLogger struct{}

func (sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	slog.Debug("aws sdk: "+fmt.Sprintf(format, v...), "classification", string(c))
}
