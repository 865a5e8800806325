package aws

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// CheckAccess makes sure, before anything else, that the credentials resolve and AWS
// answers, and returns the account. It fails within timeout with one line that says what
// to do: the SDK would otherwise print its credential chain's raw errors, or retry a
// network that is down for over a minute in silence.
func CheckAccess(ctx context.Context, cfg awssdk.Config, timeout time.Duration) (string, error) {
	start := time.Now() // the network's time, which no injected clock stands for
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if cfg.Credentials == nil {
		return "", errNoCredentials(errors.New("no credentials provider"))
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", errNoCredentials(err)
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err == nil {
		return awssdk.ToString(out.Account), nil
	}
	var api smithy.APIError
	switch {
	case errors.As(err, &api) && isExpired(api.ErrorCode()):
		return "", fmt.Errorf("the AWS credentials (from %s) have expired (%s): refresh them (aws sso login, or new keys) and run this again",
			creds.Source, api.ErrorCode())
	case errors.As(err, &api) && isRefused(api.ErrorCode()):
		return "", fmt.Errorf("AWS refused the credentials (from %s): %s; check the key, or choose another profile with --profile or AWS_PROFILE",
			creds.Source, api.ErrorCode())
	case errors.As(err, &api):
		return "", fmt.Errorf("who am I (sts GetCallerIdentity): %w", Explain(err))
	}
	return "", fmt.Errorf("cannot reach AWS at %s (%v, after %s; the limit is %s): check the network, a proxy (HTTPS_PROXY), or AWS_ENDPOINT_URL",
		stsEndpoint(cfg), lastCause(err), time.Since(start).Round(100*time.Millisecond), timeout)
}

func errNoCredentials(err error) error {
	return fmt.Errorf("no AWS credentials: tried the environment (AWS_ACCESS_KEY_ID, AWS_PROFILE), the shared files "+
		"(~/.aws/credentials, ~/.aws/config), SSO, web identity, the ECS task role and the EC2 instance role. "+
		"Set a profile (aws configure --profile NAME, then --profile NAME or AWS_PROFILE=NAME) or export keys [%v]", lastCause(err))
}

func isExpired(code string) bool {
	return code == "ExpiredToken" || code == "ExpiredTokenException" || code == "RequestExpired" || code == "TokenRefreshRequired"
}

func isRefused(code string) bool {
	return code == "InvalidClientTokenId" || code == "SignatureDoesNotMatch" || code == "UnrecognizedClientException" || code == "AuthFailure"
}

func stsEndpoint(cfg awssdk.Config) string {
	if cfg.BaseEndpoint != nil {
		return *cfg.BaseEndpoint
	}
	return "https://sts." + cfg.Region + ".amazonaws.com"
}

// lastCause is the innermost message of an SDK error chain, which says what happened
// ("connection refused", "context deadline exceeded") without the layers around it.
func lastCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// AccessDeniedError is a call that IAM refused.
type AccessDeniedError struct {
	Action   string // ecs:CreateService
	Resource string // "" when AWS did not say
	err      error
}

func (e *AccessDeniedError) Error() string {
	on := ""
	if e.Resource != "" {
		on = " on " + e.Resource
	}
	return fmt.Sprintf("AWS denied %s%s to these credentials: grant it to them (apply needs to create every resource of docs/aws.md; "+
		"the controller needs only what spotfleet iam-policy -f FILE prints)", e.Action, on)
}

func (e *AccessDeniedError) Unwrap() error { return e.err }

var deniedOn = regexp.MustCompile(`not authorized to perform: (\S+)(?: on resource: (\S+))?`)

// Explain turns an access-denied error into an AccessDeniedError that names the action and
// the resource; other errors are returned as they are.
func Explain(err error) error {
	var api smithy.APIError
	if err == nil || !errors.As(err, &api) {
		return err
	}
	switch api.ErrorCode() {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation", "UnauthorizedAccess":
	default:
		return err
	}
	d := &AccessDeniedError{err: err}
	if m := deniedOn.FindStringSubmatch(api.ErrorMessage()); m != nil {
		d.Action, d.Resource = m[1], strings.TrimSuffix(m[2], ".")
	}
	var op *smithy.OperationError
	if d.Action == "" && errors.As(err, &op) {
		d.Action = iamPrefix(op.ServiceID) + ":" + op.OperationName
	}
	return d
}

// iamPrefix is the IAM action prefix of an SDK service ID.
func iamPrefix(serviceID string) string {
	switch serviceID {
	case "Auto Scaling":
		return "autoscaling"
	case "Elastic Load Balancing v2":
		return "elasticloadbalancing"
	case "EventBridge":
		return "events"
	case "Application Auto Scaling":
		return "application-autoscaling"
	case "CloudWatch Logs":
		return "logs"
	}
	return strings.ToLower(strings.ReplaceAll(serviceID, " ", ""))
}

// Account is the AWS account of the credentials (sts GetCallerIdentity): the controller
// acts only on events of this account.
func Account(ctx context.Context, cfg awssdk.Config) (string, error) {
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("who am I (sts GetCallerIdentity): %w; check the AWS credentials and region", err)
	}
	return awssdk.ToString(id.Account), nil
}
