package stack

import (
	"context"
	"strconv"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// TestProductionExampleOnAWS reads back, through the APIs, what the production example's
// fields make: an HTTPS listener with the certificate and a TLS 1.2+ policy, the HTTP
// port's 301 to HTTPS, api's path rule, task definitions with secrets, task role and
// awslogs, log groups with their retention, and an execution role that may read exactly
// the secrets. Its outputs name the HTTPS URLs.
func TestProductionExampleOnAWS(t *testing.T) {
	cfg := moto(t, nil)
	ctx := context.Background()
	m := example(t, "production.yaml")
	s := NewStack(cfg, m)
	applyPlan(t, s, plan(t, s))
	cert := m.Services[0].LoadBalancer.CertificateArn

	lb, err := s.loadBalancer(ctx)
	if err != nil || lb == nil {
		t.Fatalf("load balancer: %v", err)
	}
	c := elb.NewFromConfig(cfg)
	ls, err := c.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil || len(ls.Listeners) != 2 {
		t.Fatalf("listeners: %v, %d", err, len(ls.Listeners))
	}
	var https elbtypes.Listener
	for _, l := range ls.Listeners {
		switch awssdk.ToInt32(l.Port) {
		case 8443:
			https = l
			if l.Protocol != elbtypes.ProtocolEnumHttps || len(l.Certificates) != 1 || awssdk.ToString(l.Certificates[0].CertificateArn) != cert ||
				awssdk.ToString(l.SslPolicy) != sslPolicy || targetGroupName(forwardTarget(l.DefaultActions[0])) != "prod-web-web" {
				t.Errorf("HTTPS listener: %s, %v, %s, default %v", l.Protocol, l.Certificates, awssdk.ToString(l.SslPolicy), l.DefaultActions)
			}
		case 8080:
			rc := l.DefaultActions[0].RedirectConfig
			if l.Protocol != elbtypes.ProtocolEnumHttp || rc == nil || awssdk.ToString(rc.Protocol) != "HTTPS" || awssdk.ToString(rc.Port) != "8443" ||
				rc.StatusCode != elbtypes.RedirectActionStatusCodeEnumHttp301 {
				t.Errorf("redirect listener: %s, %+v", l.Protocol, rc)
			}
		}
	}
	rules, err := c.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: https.ListenerArn})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, r := range rules.Rules {
		if !awssdk.ToBool(r.IsDefault) {
			paths = append(paths, awssdk.ToString(r.Priority)+" "+join(r.Conditions[0].PathPatternConfig.Values)+" → "+targetGroupName(forwardTarget(r.Actions[0])))
		}
	}
	if got := strings.Join(paths, "; "); got != "1 /api/* → prod-web-api" {
		t.Errorf("rules: %s", got)
	}

	td, err := ecs.NewFromConfig(cfg).DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: awssdk.String("prod-web-api")})
	if err != nil {
		t.Fatal(err)
	}
	cd := td.TaskDefinition.ContainerDefinitions[0]
	if awssdk.ToString(td.TaskDefinition.TaskRoleArn) != m.Services[1].TaskRoleArn || len(cd.Secrets) != 1 ||
		awssdk.ToString(cd.Secrets[0].ValueFrom) != m.Services[1].Secrets[0].ValueFrom || cd.LogConfiguration == nil ||
		cd.LogConfiguration.Options["awslogs-group"] != "/spotfleet/prod-web/api" || cd.LogConfiguration.Options["awslogs-stream-prefix"] != "api" {
		t.Errorf("api's task definition: role %s, secrets %v, logs %+v", awssdk.ToString(td.TaskDefinition.TaskRoleArn), cd.Secrets, cd.LogConfiguration)
	}

	groups, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: awssdk.String("/spotfleet/prod-web/")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range groups.LogGroups {
		got = append(got, awssdk.ToString(g.LogGroupName)+":"+itoa(awssdk.ToInt32(g.RetentionInDays)))
	}
	if strings.Join(got, " ") != "/spotfleet/prod-web/api:90 /spotfleet/prod-web/spotfleet-controller:30 /spotfleet/prod-web/web:30" {
		t.Errorf("log groups: %v", got)
	}

	pol, err := iam.NewFromConfig(cfg).GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: awssdk.String("prod-web-task-execution"), PolicyName: awssdk.String(secretsInlinePolicy)})
	if err != nil {
		t.Fatal(err)
	}
	doc := unescape(awssdk.ToString(pol.PolicyDocument))
	for _, want := range []string{`"ssm:GetParameters"`, `"arn:aws:ssm:us-east-1:123456789012:parameter/prod-web/db-password"`,
		`"secretsmanager:GetSecretValue"`, `"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod-web/session-AbCdEf"`} {
		if !strings.Contains(doc, want) {
			t.Errorf("the execution role's policy lacks %s: %s", want, doc)
		}
	}

	o, err := s.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dns := awssdk.ToString(lb.DNSName)
	if len(o.Services) != 2 || o.Services[0].URL != "https://"+dns+":8443/" || o.Services[1].URL != "https://"+dns+":8443/api/" {
		t.Errorf("outputs: %+v", o.Services)
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// TestPlanFindsTheCertificate: an HTTPS listener whose certificate is not in ACM stops plan
// and apply before anything is made, saying which service and what to do (the listener
// would have failed part-way through apply); delete does not need it.
func TestPlanFindsTheCertificate(t *testing.T) {
	cfg := moto(t, nil)
	ctx := context.Background()
	m := example(t, "production.yaml")
	for i := range m.Services {
		if lb := m.Services[i].LoadBalancer; lb != nil && lb.CertificateArn != "" {
			lb.CertificateArn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
		}
	}
	s := NewStack(cfg, m)
	_, err := s.Plan(ctx)
	if err == nil || !strings.Contains(err.Error(), "is not a certificate in ACM") || !strings.Contains(err.Error(), "service web") {
		t.Fatalf("plan with a certificate that does not exist: %v", err)
	}
	if err := s.Apply(ctx, []Change{{Action: Create, Kind: "role", Name: "x"}}, func(Change, error, bool) {}); err == nil {
		t.Fatal("apply with a certificate that does not exist went ahead")
	}
	if err := s.Delete(ctx, func(Change, error, bool) {}); err != nil {
		t.Errorf("delete of a fleet whose certificate is gone: %v", err)
	}
}
