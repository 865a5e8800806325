package stack

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/spotfleet/spotfleet/aws"
)

// ecrHost is an ECR registry's host name, with its region.
var ecrHost = regexp.MustCompile(`^\d{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$`)

// ECRRegion says whether an image reference is in ECR, and in which region.
func ECRRegion(ref string) (string, bool) {
	host, _, _ := strings.Cut(ref, "/")
	m := ecrHost.FindStringSubmatch(host)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// ECRLogin is the user name and password a registry client sends to ECR, from
// GetAuthorizationToken (valid 12 hours).
func ECRLogin(ctx context.Context, cfg awssdk.Config) (user, password string, err error) {
	out, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return "", "", aws.Explain(err)
	}
	if len(out.AuthorizationData) == 0 {
		return "", "", fmt.Errorf("ECR returned no authorization data")
	}
	b, err := base64.StdEncoding.DecodeString(awssdk.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		return "", "", fmt.Errorf("ECR's authorization token: %w", err)
	}
	user, password, ok := strings.Cut(string(b), ":")
	if !ok {
		return "", "", fmt.Errorf("ECR's authorization token is not user:password")
	}
	return user, password, nil
}
