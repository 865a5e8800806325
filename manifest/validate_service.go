package manifest

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// The production fields of a service: its listener (HTTPS, redirect, host and path rules),
// secrets, task role and logs. Formats are the AWS APIs' own, so that what validates here
// is not refused by apply.

// listenerUser is a service's load balancer on a listener port.
type listenerUser struct {
	path string
	lb   *LoadBalancer
}

var (
	certificateARN = regexp.MustCompile(`^arn:aws[a-z-]*:(acm:[a-z0-9-]+:\d{12}:certificate|iam::\d{12}:server-certificate)/\S+$`)
	roleARN        = bounded(2048, `^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$`)
	secretARN      = regexp.MustCompile(`^arn:aws[a-z-]*:(ssm:[a-z0-9-]+:\d{12}:parameter/\S+|secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+)$`)
	envName        = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	hostPattern    = bounded(128, `^[A-Za-z0-9.*?-]+$`)
	pathPattern    = bounded(128, `^[/*][A-Za-z0-9_\-.$/~"'@:+&*?]*$`)
	logGroupName   = bounded(512, `^[.\-_/#A-Za-z0-9]+$`)
)

// boundedPattern is a pattern with a length limit checked apart: a counted repetition such
// as {1,512} compiles into that many copies of its class, which cost 13 ms and 1.5 MB at
// every start of the binary (up starts one per task).
type boundedPattern struct {
	re  *regexp.Regexp
	max int
}

func bounded(max int, expr string) boundedPattern {
	return boundedPattern{regexp.MustCompile(expr), max}
}

func (b boundedPattern) MatchString(s string) bool { return len(s) <= b.max && b.re.MatchString(s) }

// retentionDays are the values CloudWatch Logs' PutRetentionPolicy takes.
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// maxRuleValues is ALB's limit on the values of one rule's conditions.
const maxRuleValues = 5

func (c *checker) loadBalancer(lb *LoadBalancer, p string) {
	switch {
	case lb.Protocol == "HTTPS" && lb.CertificateArn == "":
		c.warnf(p+".certificateArn", "an ACM certificate's ARN; the emulator needs none", "HTTPS without certificateArn: spotfleet up serves a self-signed certificate, apply will refuse")
	case lb.Protocol != "HTTPS" && lb.CertificateArn != "":
		c.errorf(p+".certificateArn", "set protocol: HTTPS", "certificateArn needs protocol HTTPS")
	case lb.CertificateArn != "" && !certificateARN.MatchString(lb.CertificateArn):
		c.errorf(p+".certificateArn", "such as arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-...", "%q is not an ACM or IAM certificate ARN", lb.CertificateArn)
	}
	if r := lb.RedirectHTTPFrom; r != 0 {
		switch {
		case lb.Protocol != "HTTPS":
			c.errorf(p+".redirectHttpFrom", "set protocol: HTTPS", "redirectHttpFrom redirects to HTTPS; the listener is HTTP")
		case r < 1 || r > 65535:
			c.errorf(p+".redirectHttpFrom", "", "redirectHttpFrom %d is not a port", r)
		case r == lb.ListenerPort:
			c.errorf(p+".redirectHttpFrom", "", "redirectHttpFrom %d is the listener's own port", r)
		}
	}
	for i, h := range lb.Hosts {
		if !hostPattern.MatchString(h) {
			c.errorf(fmt.Sprintf("%s.hosts[%d]", p, i), "letters, digits, dashes, dots and the wildcards * and ?, such as api.example.com or *.example.com", "%q is not a host name pattern", h)
		}
	}
	for i, x := range lb.Paths {
		if !pathPattern.MatchString(x) {
			c.errorf(fmt.Sprintf("%s.paths[%d]", p, i), "a path starting with / such as /api/*, at most 128 characters", "%q is not a path pattern", x)
		}
	}
	if n := len(lb.Hosts) + len(lb.Paths); n > maxRuleValues {
		c.errorf(p+".paths", "split the service's routes, or use wildcards", "%d hosts and paths: a load balancer rule takes at most %d", n, maxRuleValues)
	}
}

// listeners checks the services that share each listener port: one listener has one
// protocol, certificate and redirect, one default, and rules that can each be reached.
func (c *checker) listeners(ports map[int][]listenerUser) {
	for _, port := range slices.Sorted(maps.Keys(ports)) {
		users := ports[port]
		first := users[0]
		var dflt string
		seen := map[string]string{}
		for _, u := range users {
			if u != first && (u.lb.Protocol != first.lb.Protocol || u.lb.CertificateArn != first.lb.CertificateArn || u.lb.RedirectHTTPFrom != first.lb.RedirectHTTPFrom) {
				c.errorf(u.path+".protocol", "give them the same protocol, certificateArn and redirectHttpFrom, or another listenerPort",
					"listenerPort %d is shared with %s, whose listener differs in protocol, certificate or redirect", port, first.path)
			}
			if !u.lb.Routed() {
				if dflt != "" {
					c.errorf(u.path+".listenerPort", "give one of them hosts or paths, or another listenerPort",
						"listenerPort %d already sends every request to %s: two services without hosts or paths cannot share it", port, dflt)
				}
				dflt = u.path
				continue
			}
			key := strings.Join(u.lb.Hosts, ",") + " " + strings.Join(u.lb.Paths, ",")
			if prev, dup := seen[key]; dup {
				c.warnf(u.path+".paths", "give it other hosts or paths", "the same hosts and paths as %s, whose rule comes first: no request reaches it", prev)
			}
			seen[key] = u.path
		}
		if r := first.lb.RedirectHTTPFrom; r != 0 {
			if _, clash := ports[r]; clash {
				c.errorf(first.path+".redirectHttpFrom", "", "redirectHttpFrom %d is another service's listenerPort", r)
			}
		}
	}
}

func (c *checker) secrets(m *Manifest, s *Service, p string) {
	if m.Workload == WorkloadInstances && (len(s.Secrets) > 0 || s.TaskRoleArn != "") {
		c.errorf(p+".secrets", "use workload ecs, or give the instances a role of their own", "not supported yet: secrets and taskRoleArn under workload instances")
	}
	if s.TaskRoleArn != "" && !roleARN.MatchString(s.TaskRoleArn) {
		c.errorf(p+".taskRoleArn", "such as arn:aws:iam::123456789012:role/web-task", "%q is not an IAM role ARN", s.TaskRoleArn)
	}
	seen := map[string]bool{}
	for i, x := range s.Secrets {
		sp := fmt.Sprintf("%s.secrets[%d]", p, i)
		switch {
		case !envName.MatchString(x.Name):
			c.errorf(sp+".name", "letters, digits and underscores, not starting with a digit", "%q is not an environment variable name", x.Name)
		case seen[x.Name]:
			c.errorf(sp+".name", "", "secret %s appears twice", x.Name)
		case s.Environment[x.Name] != "":
			c.errorf(sp+".name", "keep it in one of environment and secrets", "%s is both a secret and an environment variable", x.Name)
		}
		seen[x.Name] = true
		if !secretARN.MatchString(x.ValueFrom) {
			c.errorf(sp+".valueFrom", "arn:aws:ssm:REGION:ACCOUNT:parameter/NAME or arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME",
				"%q is not the ARN of an SSM parameter or a Secrets Manager secret", x.ValueFrom)
		}
	}
	if !slices.Contains(retentionDays, s.Logs.RetentionDays) {
		c.errorf(p+".logs.retentionDays", "one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653", "CloudWatch Logs keeps logs %d days: not a retention it offers", s.Logs.RetentionDays)
	}
	if g := s.Logs.Group; g != "" && !logGroupName.MatchString(g) {
		c.errorf(p+".logs.group", "letters, digits and . - _ / #", "%q is not a log group name", g)
	}
}
