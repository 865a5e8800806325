package stack

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"testing"

	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/manifest"
)

// iamResource is an AWS resource as IAM sees it: its ARN and its spotfleet:fleet tag.
type iamResource struct {
	arn, fleet string
}

// allows evaluates the policy the way IAM does for what it holds: an Allow statement that
// names the action, whose resource pattern matches the ARN (* and ? as in IAM), and whose
// tag and ARN conditions hold.
func allows(p PolicyDocument, action string, r iamResource) bool {
	for _, st := range p.Statement {
		if st.Effect != "Allow" || !matchAny(st.Action, action) || !matchAny(st.Resource, r.arn) {
			continue
		}
		if conditionsHold(st.Condition, r) {
			return true
		}
	}
	return false
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		// path.Match treats / as a separator; IAM's * crosses it.
		if ok, _ := path.Match(strings.ReplaceAll(p, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00")); ok {
			return true
		}
	}
	return false
}

func conditionsHold(cond map[string]any, r iamResource) bool {
	for op, kv := range cond {
		for key, want := range kv.(map[string]string) {
			switch {
			case strings.HasSuffix(key, "ResourceTag/"+aws.FleetTag):
				if r.fleet != want {
					return false
				}
			case op == "ArnEquals" || op == "ArnLike":
				if !matchAny([]string{want}, r.arn) {
					return false
				}
			}
		}
	}
	return true
}

// fleetResources lists what apply creates for a fleet, as ARNs with their tag.
func fleetResources(m *manifest.Manifest) map[string][]iamResource {
	n := aws.Names{Fleet: m.Name}
	arn := func(service, res string) iamResource {
		return iamResource{fmt.Sprintf("arn:aws:%s:us-east-1:123456789012:%s", service, res), m.Name}
	}
	out := map[string][]iamResource{}
	for _, g := range m.Capacity {
		r := arn("autoscaling", "autoScalingGroup:0f1e2d3c-aaaa-bbbb-cccc-1234567890ab:autoScalingGroupName/"+n.Group(g.Name))
		out["autoscaling:SetDesiredCapacity"] = append(out["autoscaling:SetDesiredCapacity"], r)
		out["autoscaling:DetachInstances"] = append(out["autoscaling:DetachInstances"], r)
	}
	for _, s := range m.AllServices() {
		r := arn("elasticloadbalancing", "targetgroup/"+m.TargetGroupName(s)+"/0123456789abcdef")
		out["elasticloadbalancing:DeregisterTargets"] = append(out["elasticloadbalancing:DeregisterTargets"], r)
		out["ecs:UpdateService"] = append(out["ecs:UpdateService"], arn("ecs", "service/"+n.Cluster()+"/"+s.Name))
	}
	out["ec2:TerminateInstances"] = []iamResource{arn("ec2", "instance/i-0123456789abcdef0")}
	out["ecs:UpdateContainerInstancesState"] = []iamResource{arn("ecs", "container-instance/"+n.Cluster()+"/abc")}
	out["ecs:StopTask"] = []iamResource{arn("ecs", "task/"+n.Cluster()+"/0123456789abcdef")}
	out["sqs:DeleteMessage"] = []iamResource{arn("sqs", n.Queue())}
	out["iam:PassRole"] = []iamResource{{"arn:aws:iam::123456789012:role/" + n.InstanceRole(), m.Name}}
	return out
}

// TestPolicyCoversOnlyItsFleet: a fleet's controller policy allows every mutating call on
// its own resources and none on another fleet's, even one whose name starts with its own
// (rt-web and rt-web-2) or whose group names make the same AWS names.
func TestPolicyCoversOnlyItsFleet(t *testing.T) {
	parse := func(name, group string) *manifest.Manifest {
		m, diags := manifest.Parse("m.yaml", []byte(fmt.Sprintf(`name: %s
capacity:
  - {name: %s, instanceTypes: [m5.large, m5a.large, m6i.large]}
  - {name: od, instanceTypes: [m5.large], onDemandPercentageAboveBaseCapacity: 100}
services: [{name: web, command: [x], loadBalancer: {listenerPort: 8080}}]
`, name, group)))
		if err := diags.Err(); err != nil {
			t.Fatal(err)
		}
		return m
	}
	cases := []struct{ a, b *manifest.Manifest }{
		{parse("rt-web", "spot"), parse("rt-web-2", "spot")},
		{parse("rt-web-2", "spot"), parse("rt-web", "spot")},
		// rt-web's group "2-spot" has the AWS name rt-web-2-spot, which is rt-web-2's "spot".
		{parse("rt-web", "2-spot"), parse("rt-web-2", "spot")},
		{parse("a", "spot"), parse("ab", "spot")},
	}
	for _, c := range cases {
		pa := ControllerPolicy(c.a, "us-east-1", "123456789012")
		for action, rs := range fleetResources(c.a) {
			for _, r := range rs {
				if !allows(pa, action, r) {
					t.Errorf("fleet %s may not %s its own %s", c.a.Name, action, r.arn)
				}
			}
		}
		for action, rs := range fleetResources(c.b) {
			for _, r := range rs {
				if allows(pa, action, r) {
					t.Errorf("fleet %s's policy allows %s on fleet %s's %s", c.a.Name, action, c.b.Name, r.arn)
				}
			}
		}
	}
}

// TestTrustPolicyHasNoResource: a role's trust policy names principals and no resource (IAM
// refuses "Has prohibited field Resource", and moto refused the "Resource": null the
// documents carried); every statement of an identity policy names its resources.
func TestTrustPolicyHasNoResource(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal([]byte(trustDoc([]string{"ecs-tasks.amazonaws.com", "ec2.amazonaws.com"})), &doc); err != nil {
		t.Fatal(err)
	}
	for _, st := range doc["Statement"].([]any) {
		st := st.(map[string]any)
		if _, ok := st["Resource"]; ok {
			t.Errorf("a trust statement has a Resource: %v", st)
		}
		if st["Principal"] == nil {
			t.Errorf("a trust statement has no Principal: %v", st)
		}
	}
	for _, name := range examples {
		m, _, _ := manifest.Load("../../examples/" + name)
		for _, st := range ControllerPolicy(m, "us-east-1", "123456789012").Statement {
			if len(st.Resource) == 0 {
				t.Errorf("%s: statement %s has no Resource", name, st.Sid)
			}
		}
	}
}
