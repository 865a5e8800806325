package stack

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/spotfleet/spotfleet/manifest"
)

// sslPolicy is the listeners' TLS policy: TLS 1.3 and 1.2 only, AWS's recommended one.
const sslPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

// listenerSpec is one listener of the fleet's load balancer: the services that share its
// port (in manifest order), or, with redirect set, an HTTP port redirecting to another.
type listenerSpec struct {
	port         int
	protocol     string
	certificate  string
	redirectTo   int                // a redirect listener's HTTPS port
	defaultTG    string             // the service without hosts or paths, "" for none
	routed       []manifest.Service // services with hosts or paths, in rule order
	redirectFrom int
}

// listenerSpecs are the fleet's listeners: one per listener port, and one per redirect
// port. Validation makes the services of a port agree on protocol, certificate and
// redirect, and gives a port at most one default.
func (s *Stack) listenerSpecs() []listenerSpec {
	var out []listenerSpec
	at := map[int]int{}
	for _, sv := range s.lbServices() {
		lb := sv.LoadBalancer
		i, ok := at[lb.ListenerPort]
		if !ok {
			i, at[lb.ListenerPort] = len(out), len(out)
			out = append(out, listenerSpec{port: lb.ListenerPort, protocol: lb.Protocol, certificate: lb.CertificateArn, redirectFrom: lb.RedirectHTTPFrom})
		}
		if lb.Routed() {
			out[i].routed = append(out[i].routed, sv)
		} else {
			out[i].defaultTG = s.m.TargetGroupName(sv)
		}
	}
	for _, l := range out {
		if l.redirectFrom != 0 {
			out = append(out, listenerSpec{port: l.redirectFrom, protocol: "HTTP", redirectTo: l.port})
		}
	}
	return out
}

// defaultAction is how a listener's default action is written in its fields.
func (l listenerSpec) defaultAction() string {
	switch {
	case l.redirectTo != 0:
		return "redirect:HTTPS:" + strconv.Itoa(l.redirectTo)
	case l.defaultTG != "":
		return "forward:" + l.defaultTG
	}
	return "fixed-response:404"
}

// checkListeners refuses what validation lets through for the emulator's sake but AWS
// cannot take: HTTPS without a certificate.
func (s *Stack) checkListeners() error {
	for _, sv := range s.lbServices() {
		if lb := sv.LoadBalancer; lb.Protocol == "HTTPS" && lb.CertificateArn == "" {
			return fmt.Errorf("service %s: protocol HTTPS needs loadBalancer.certificateArn on AWS (an ACM certificate's ARN; only the emulator makes its own)", sv.Name)
		}
	}
	return nil
}

// A listener per port: HTTP or HTTPS (the certificate, TLS 1.2+), whose default action
// forwards to the service without hosts or paths, answers 404 when every service has
// some, or, on a redirect port, sends a 301 to HTTPS.
var listenerKind = kind{
	name: "listener",
	want: func(s *Stack) []Resource {
		var out []Resource
		for _, l := range s.listenerSpecs() {
			out = append(out, Resource{Name: strconv.Itoa(l.port), Fields: map[string]string{
				"protocol": l.protocol, "certificate": l.certificate, "default": l.defaultAction()}})
		}
		return out
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		ls, err := s.listeners(ctx)
		if err != nil {
			return nil, err
		}
		got := map[string]map[string]string{}
		for port, l := range ls {
			got[port] = l.fields
		}
		return got, nil
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		lb, err := s.loadBalancer(ctx)
		if err != nil || lb == nil {
			return errors.Join(err, errors.New("the load balancer does not exist"))
		}
		in := &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: atoi32(r.Name), Protocol: elbtypes.ProtocolEnum(r.Fields["protocol"]), Tags: s.elbTags()}
		if in.DefaultActions, err = s.listenerAction(ctx, r.Fields["default"]); err != nil {
			return err
		}
		if c := r.Fields["certificate"]; c != "" {
			in.Certificates, in.SslPolicy = []elbtypes.Certificate{{CertificateArn: &c}}, awssdk.String(sslPolicy)
		}
		_, err = s.elb.CreateListener(ctx, in)
		return err
	},
	update: func(ctx context.Context, s *Stack, r Resource) error {
		l, err := s.listener(ctx, r.Name)
		if err != nil {
			return err
		}
		in := &elb.ModifyListenerInput{ListenerArn: &l.arn, Protocol: elbtypes.ProtocolEnum(r.Fields["protocol"])}
		if in.DefaultActions, err = s.listenerAction(ctx, r.Fields["default"]); err != nil {
			return err
		}
		if c := r.Fields["certificate"]; c != "" {
			in.Certificates, in.SslPolicy = []elbtypes.Certificate{{CertificateArn: &c}}, awssdk.String(sslPolicy)
		}
		_, err = s.elb.ModifyListener(ctx, in)
		return err
	},
	remove: func(ctx context.Context, s *Stack, name string) error {
		l, err := s.listener(ctx, name)
		if err != nil {
			return err
		}
		_, err = s.elb.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: &l.arn})
		return err
	},
}

// listenerAction is the action a default field stands for.
func (s *Stack) listenerAction(ctx context.Context, field string) ([]elbtypes.Action, error) {
	kind, arg, _ := strings.Cut(field, ":")
	switch kind {
	case "forward":
		tg, err := s.targetGroupARN(ctx, arg)
		if err != nil {
			return nil, err
		}
		return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: &tg}}, nil
	case "redirect":
		_, port, _ := strings.Cut(arg, ":")
		return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumRedirect, RedirectConfig: &elbtypes.RedirectActionConfig{
			Protocol: awssdk.String("HTTPS"), Port: &port, StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp301}}}, nil
	}
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
		StatusCode: awssdk.String("404"), ContentType: awssdk.String("text/plain"), MessageBody: awssdk.String("no rule of this listener matches")}}}, nil
}

// A rule per service with hosts or paths, on its port's listener, in manifest order
// (priority 1, 2, ...): its host-header and path-pattern conditions forward to its target
// group. Rules have no names; the fleet's are "<port>/<service>".
var listenerRuleKind = kind{
	name: "listener-rule",
	want: func(s *Stack) []Resource {
		var out []Resource
		for _, l := range s.listenerSpecs() {
			for i, sv := range l.routed {
				out = append(out, Resource{Name: ruleName(l.port, sv.Name), Fields: map[string]string{
					"priority": strconv.Itoa(i + 1), "hosts": join(sv.LoadBalancer.Hosts), "paths": join(sv.LoadBalancer.Paths),
					"targetGroup": s.m.TargetGroupName(sv)}})
			}
		}
		return out
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		rules, err := s.rules(ctx)
		if err != nil {
			return nil, err
		}
		got := map[string]map[string]string{}
		for name, r := range rules {
			got[name] = r.fields
		}
		return got, nil
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		port, _, _ := strings.Cut(r.Name, "/")
		l, err := s.listener(ctx, port)
		if err != nil {
			return err
		}
		tg, err := s.targetGroupARN(ctx, r.Fields["targetGroup"])
		if err != nil {
			return err
		}
		_, err = s.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: &l.arn, Priority: atoi32(r.Fields["priority"]),
			Conditions: ruleConditions(r.Fields), Tags: s.elbTags(),
			Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: &tg}}})
		return err
	},
	update: func(ctx context.Context, s *Stack, r Resource) error {
		rules, err := s.rules(ctx)
		if err != nil {
			return err
		}
		have, ok := rules[r.Name]
		if !ok {
			return fmt.Errorf("rule %s not found", r.Name)
		}
		tg, err := s.targetGroupARN(ctx, r.Fields["targetGroup"])
		if err != nil {
			return err
		}
		if _, err := s.elb.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: &have.arn, Conditions: ruleConditions(r.Fields),
			Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: &tg}}}); err != nil {
			return err
		}
		if have.fields["priority"] == r.Fields["priority"] {
			return nil
		}
		_, err = s.elb.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{RulePriorities: []elbtypes.RulePriorityPair{
			{RuleArn: &have.arn, Priority: atoi32(r.Fields["priority"])}}})
		return err
	},
	remove: func(ctx context.Context, s *Stack, name string) error {
		rules, err := s.rules(ctx)
		if err != nil {
			return err
		}
		r, ok := rules[name]
		if !ok {
			return nil
		}
		_, err = s.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: &r.arn})
		return err
	},
}

func ruleName(port int, service string) string { return strconv.Itoa(port) + "/" + service }

func ruleConditions(f map[string]string) []elbtypes.RuleCondition {
	var out []elbtypes.RuleCondition
	if h := split(f["hosts"]); len(h) > 0 {
		out = append(out, elbtypes.RuleCondition{Field: awssdk.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: h}})
	}
	if p := split(f["paths"]); len(p) > 0 {
		out = append(out, elbtypes.RuleCondition{Field: awssdk.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: p}})
	}
	return out
}

// found is a listener or rule as read: its ARN and its fields.
type found struct {
	arn    string
	fields map[string]string
}

// listeners reads the load balancer's listeners by port.
func (s *Stack) listeners(ctx context.Context) (map[string]found, error) {
	lb, err := s.loadBalancer(ctx)
	if lb == nil || err != nil {
		return nil, err
	}
	out, err := s.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil {
		return nil, err
	}
	got := map[string]found{}
	for _, l := range out.Listeners {
		f := map[string]string{"protocol": string(l.Protocol), "certificate": "", "default": ""}
		if len(l.Certificates) > 0 {
			f["certificate"] = awssdk.ToString(l.Certificates[0].CertificateArn)
		}
		for _, a := range l.DefaultActions {
			switch a.Type {
			case elbtypes.ActionTypeEnumForward:
				tg, err := s.targetGroupOf(ctx, forwardTarget(a))
				if err != nil {
					return nil, err
				}
				f["default"] = "forward:" + tg
			case elbtypes.ActionTypeEnumRedirect:
				if rc := a.RedirectConfig; rc != nil {
					f["default"] = "redirect:" + awssdk.ToString(rc.Protocol) + ":" + awssdk.ToString(rc.Port)
				}
			case elbtypes.ActionTypeEnumFixedResponse:
				if fc := a.FixedResponseConfig; fc != nil {
					f["default"] = "fixed-response:" + awssdk.ToString(fc.StatusCode)
				}
			}
		}
		got[strconv.Itoa(int(awssdk.ToInt32(l.Port)))] = found{arn: awssdk.ToString(l.ListenerArn), fields: f}
	}
	return got, nil
}

func (s *Stack) listener(ctx context.Context, port string) (found, error) {
	ls, err := s.listeners(ctx)
	if err != nil {
		return found{}, err
	}
	l, ok := ls[port]
	if !ok {
		return found{}, fmt.Errorf("listener on port %s not found", port)
	}
	return l, nil
}

// rules reads the listeners' rules that forward to one of the fleet's target groups, by
// "<port>/<service>".
func (s *Stack) rules(ctx context.Context) (map[string]found, error) {
	ls, err := s.listeners(ctx)
	if err != nil || len(ls) == 0 {
		return nil, err
	}
	got := map[string]found{}
	for port, l := range ls {
		out, err := s.elb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: &l.arn})
		if err != nil {
			return nil, err
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("listener port %q: %w", port, err)
		}
		for _, r := range out.Rules {
			if awssdk.ToBool(r.IsDefault) || len(r.Actions) == 0 {
				continue
			}
			tg := targetGroupName(forwardTarget(r.Actions[0]))
			svc, ok := s.n.GroupOf(tg) // a target group is named as a group is: <fleet>-<name>
			if !ok {
				continue
			}
			current, err := s.targetGroupOf(ctx, forwardTarget(r.Actions[0]))
			if err != nil {
				return nil, err
			}
			f := map[string]string{"priority": awssdk.ToString(r.Priority), "hosts": "", "paths": "", "targetGroup": current}
			for _, c := range r.Conditions {
				switch awssdk.ToString(c.Field) {
				case "host-header":
					f["hosts"] = join(conditionValues(c.Values, c.HostHeaderConfig != nil, func() []string { return c.HostHeaderConfig.Values }))
				case "path-pattern":
					f["paths"] = join(conditionValues(c.Values, c.PathPatternConfig != nil, func() []string { return c.PathPatternConfig.Values }))
				}
			}
			got[ruleName(p, svc)] = found{arn: awssdk.ToString(r.RuleArn), fields: f}
		}
	}
	return got, nil
}

// conditionValues reads a condition in either of the API's forms.
func conditionValues(legacy []string, hasConfig bool, config func() []string) []string {
	if hasConfig && len(config()) > 0 {
		return config()
	}
	return legacy
}

// forwardTarget is the target group an action forwards to, in either of the API's forms.
func forwardTarget(a elbtypes.Action) string {
	if arn := awssdk.ToString(a.TargetGroupArn); arn != "" {
		return arn
	}
	if fc := a.ForwardConfig; fc != nil && len(fc.TargetGroups) > 0 {
		return awssdk.ToString(fc.TargetGroups[0].TargetGroupArn)
	}
	return ""
}

// targetGroupName is the name in a target group's ARN
// (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID).
func targetGroupName(arn string) string {
	parts := strings.Split(arn, "/")
	if len(parts) < 3 {
		return ""
	}
	return parts[len(parts)-2]
}
