package aws

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// motoGaps are fields moto does not keep, so that a plan against it always shows them
// changed: DescribeServices returns no capacityProviderStrategy, deploymentConfiguration or
// healthCheckGracePeriodSeconds. docs/aws.md lists them.
var motoGaps = map[string][]string{"ecs-service": {"strategy", "maximumPercent", "minimumHealthyPercent", "healthCheckGracePeriod"}}

// withoutMotoGaps drops the diffs of fields moto does not keep, and the updates left empty.
func withoutMotoGaps(plan []Change) []Change {
	var out []Change
	for _, c := range plan {
		if c.Action == "update" {
			c.Diffs = slices.DeleteFunc(slices.Clone(c.Diffs), func(d Diff) bool { return slices.Contains(motoGaps[c.Kind], d.Field) })
			if len(c.Diffs) == 0 {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// calls counts the AWS calls that go out, by action.
type calls struct {
	mu   sync.Mutex
	seen []string
	next http.RoundTripper
}

func (c *calls) RoundTrip(r *http.Request) (*http.Response, error) {
	action := r.Header.Get("X-Amz-Target")
	if action == "" && r.Body != nil { // query protocols: Action=... in the form body
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		if q, err := url.ParseQuery(string(body)); err == nil {
			action = q.Get("Action")
		}
	}
	if i := strings.LastIndex(action, "."); i >= 0 {
		action = action[i+1:]
	}
	c.mu.Lock()
	c.seen = append(c.seen, action)
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// mutating lists the calls seen that change something (not Describe, List or Get).
func (c *calls) mutating() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, a := range c.seen {
		if !strings.HasPrefix(a, "Describe") && !strings.HasPrefix(a, "List") && !strings.HasPrefix(a, "Get") {
			out = append(out, a)
		}
	}
	return out
}

func (c *calls) reset() {
	c.mu.Lock()
	c.seen = nil
	c.mu.Unlock()
}

func applyPlan(t *testing.T, s *Stack, plan []Change) {
	t.Helper()
	if err := s.Apply(context.Background(), plan, func(Change, error, bool) {}); err != nil {
		t.Fatal(err)
	}
}

func plan(t *testing.T, s *Stack) []Change {
	t.Helper()
	p, err := s.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return withoutMotoGaps(p)
}

var examples = []string{"s0-ecs-spot-capacity-provider.yaml", "s1-spot-with-ondemand-backup.yaml", "s2-web-app-spot-instances-alb.yaml",
	"s3-ecs-service-autoscaled.yaml", "s4-graceful-shutdown.yaml"}

// TestApplyIsIdempotent: for every example, apply creates everything, and a second apply
// plans nothing and makes no mutating call.
func TestApplyIsIdempotent(t *testing.T) {
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			rec := &calls{}
			cfg := moto(t, func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec })
			m := example(t, name)
			first := plan(t, NewStack(cfg, m))
			for _, c := range first {
				if c.Action != "create" {
					t.Errorf("first plan: %s %s %s, want only creations", c.Action, c.Kind, c.Name)
				}
			}
			applyPlan(t, NewStack(cfg, m), first)
			rec.reset()
			s := NewStack(cfg, m)
			again := plan(t, s)
			applyPlan(t, s, again)
			for _, c := range again {
				t.Errorf("second plan: %s %s %s %v", c.Action, c.Kind, c.Name, c.Diffs)
			}
			if mut := rec.mutating(); len(mut) > 0 {
				t.Errorf("the second apply called %v", mut)
			}
		})
	}
}
