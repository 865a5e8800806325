package stack

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/internal/testing/awsanswer"
)

// TestAccessDeniedNamesTheActionAndResource: a call IAM refuses, as AWS words it (with the
// action and resource in the message, or without, as EC2 does), fails apply with the
// action, the resource when AWS gave it, and where the needed policy is.
func TestAccessDeniedNamesTheActionAndResource(t *testing.T) {
	cases := []struct {
		name, only string
		resp       awsanswer.Transport
		want       string
	}{
		{"ecs", "CreateService", awsanswer.Transport{Status: 400, ContentType: "application/x-amz-json-1.1",
			Body: `{"__type":"AccessDeniedException","message":"User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecs:CreateService on resource: arn:aws:ecs:us-east-1:123456789012:service/s3-web/web because no identity-based policy allows the ecs:CreateService action"}`},
			"AWS denied ecs:CreateService on arn:aws:ecs:us-east-1:123456789012:service/s3-web/web to these credentials"},
		{"ec2", "Action=CreateLaunchTemplate", awsanswer.Transport{Status: 403, ContentType: "text/xml",
			Body: `<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation. Encoded authorization failure message: abc</Message></Error></Errors><RequestID>x</RequestID></Response>`},
			"AWS denied ec2:CreateLaunchTemplate to these credentials"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := moto(t, func(rt http.RoundTripper) http.RoundTripper {
				c.resp.Only, c.resp.Next = c.only, rt
				return c.resp
			})
			s := NewStack(cfg, example(t, "s3-ecs-service-autoscaled.yaml"))
			p, err := s.Plan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			err = s.Apply(context.Background(), p, func(Change, error, bool) {})
			var denied *aws.AccessDeniedError
			if !errors.As(err, &denied) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "spotfleet iam-policy") {
				t.Fatalf("got %v", err)
			}
		})
	}
}
