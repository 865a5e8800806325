package manifest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// base is a valid manifest that the cases below extend; its lines are numbered so that the
// positions in the cases can be checked by eye.
const base = `name: web
capacity:
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large]
  - name: od
    instanceTypes: [m5.large]
    onDemandPercentageAboveBaseCapacity: 100
`

func diagStrings(ds Diagnostics) []string {
	if len(ds) == 0 {
		return nil
	}
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.String()
	}
	return out
}

func TestValidationRules(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"valid", base + "services:\n  - {name: web, command: [x]}\n", nil},
		{"unknown field with a hint", base + "services:\n  - {name: web, command: [x], desiredcount: 3}\n",
			[]string{`m.yaml:9:31: unknown field "desiredcount" (did you mean "desiredCount"?)`}},
		{"truncated field name", "name: web\ncapacity:\n  - name: spot\n    instanceTypes: [m5.large, m5a.large, m6i.large]\n    onDemandBase: 1\nservices: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:5:5: unknown field "onDemandBase" (did you mean "onDemandBaseCapacity"?)`}},
		{"unknown field, no close match", base + "colour: blue\nservices: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:8:1: unknown field "colour" (known fields: name, region, workload, capacity, fallback, rebalance, services, instances, interruptions, aws, local)`}},
		{"wrong type", base + "services:\n  - {name: web, command: [x], desiredCount: two}\n",
			[]string{`m.yaml:9:45: desiredCount: expected a whole number, got the string "two"`}},
		{"duration without unit", base + "services:\n  - {name: web, command: [x], stopTimeout: 30}\n",
			[]string{`m.yaml:9:44: stopTimeout: expected a duration, got the number 30 (a number needs a unit: 30s)`}},
		{"bad duration", base + "services:\n  - {name: web, command: [x], stopTimeout: soon}\n",
			[]string{`m.yaml:9:44: stopTimeout: "soon" is not a duration (a Go duration such as 30s, 5m or 1h30m)`}},
		{"duration out of range", base + "services:\n  - {name: web, command: [x], stopTimeout: 3m}\n",
			[]string{`m.yaml:9:44: stopTimeout: 3m is out of range: must be between 0s and 2m`}},
		{"number out of range", base + "services:\n  - {name: web, command: [x], maximumPercent: 50}\n",
			[]string{`m.yaml:9:47: maximumPercent: 50 is out of range: must be between 100 and 1000`}},
		{"bad enum", base + "rebalance: replase\nservices: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:8:12: rebalance: "replase" is not a valid value (did you mean "replace"? one of: replace, drain, ignore)`}},
		{"string expected", base + "services:\n  - {name: 42, command: [x]}\n",
			[]string{`m.yaml:9:12: name: expected a string, got the number 42 (quote it: "...")`}},
		{"missing required", "name: web\ncapacity:\n  - name: spot\nservices: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:3:5: capacity[0]: missing required field "instanceTypes"`}},
		{"key set twice (caught by the YAML parser)", base + "services: [{name: w, command: [x]}]\nname: other\n",
			[]string{`m.yaml:9:1: key "name" is set twice (first on line 1) (remove one of them)`}},
		{"unknown strategy provider", base + "services:\n  - name: web\n    command: [x]\n    capacityProviderStrategy:\n      - {capacityProvider: spto, weight: 1}\n",
			[]string{`m.yaml:12:28: capacity provider "spto" does not exist (did you mean "spot"?)`}},
		{"two bases", base + "services:\n  - name: web\n    command: [x]\n    capacityProviderStrategy:\n      - {capacityProvider: spot, base: 1}\n      - {capacityProvider: od, base: 2}\n",
			[]string{`m.yaml:13:38: a second provider sets base (ECS allows a base on one provider of a strategy)`}},
		{"all weights zero", base + "services:\n  - name: web\n    command: [x]\n    capacityProviderStrategy:\n      - {capacityProvider: spot, weight: 0}\n",
			[]string{`m.yaml:12:7: every weight is 0: give at least one provider a weight`}},
		{"fallback to a missing group", base + "fallback: {from: spot, to: on-demand}\nservices: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:8:28: capacity group "on-demand" does not exist (known: spot, od)`}},
		{"fallback to itself", base + "fallback: {from: spot, to: spot}\nservices: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:8:28: fallback.to is the same group as fallback.from (name an On-Demand group)`}},
		{"fallback to a Spot group", base + "fallback: {from: od, to: spot}\nservices: [{name: w, command: [x]}]\n",
			[]string{
				`m.yaml:8:18: warning: fallback.from "od" is all On-Demand: it has no Spot shortfall to cover`,
				`m.yaml:8:26: warning: fallback.to "spot" launches Spot too, so the cover may itself be short (set onDemandPercentageAboveBaseCapacity: 100 on it)`,
			}},
		{"drain longer than the notice", base + "services:\n  - name: web\n    command: [x]\n    loadBalancer: {deregistrationDelay: 100s}\n",
			[]string{`m.yaml:11:41: warning: deregistrationDelay 1m40s plus stopTimeout 30s is 2m10s, longer than the 2-minute Spot notice (the controller will clamp the drain to the time left; lower deregistrationDelay to keep it whole)`}},
		{"few types, one zone", "name: web\ncapacity:\n  - name: spot\n    instanceTypes: [m5.large]\n    zones: [us-east-1a]\nservices: [{name: w, command: [x]}]\n",
			[]string{
				`m.yaml:4:20: warning: Spot group "spot" has only 1 instance type(s) (diversify across 3 or more types of one size so one pool's shortage does not empty the group)`,
				`m.yaml:5:12: warning: Spot group "spot" uses only 1 zone (use 2 or more zones: a zone's Spot capacity can go from all to none within hours)`,
			}},
		{"unknown instance type", "name: web\ncapacity:\n  - name: spot\n    instanceTypes: [m5.large, m5a.large, m5.lrage]\nservices: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:4:42: unknown instance type "m5.lrage" (did you mean "m5.large"?)`}},
		{"weighted types and a bad weight", "name: web\ncapacity:\n  - name: spot\n    instanceTypes: [m5.large, {type: m5.xlarge, weight: 2}, {type: m6i.large, weight: 0}]\nservices: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:4:87: weight: 0 is out of range: must be between 1 and 999`}},
		{"mixed architectures", "name: web\ncapacity:\n  - name: spot\n    instanceTypes: [m5.large, m6g.large, m6i.large]\nservices: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:4:20: warning: group "spot" mixes arm64 and x86_64 instance types (one AMI boots one architecture: split the group by architecture)`,
				`m.yaml:4:20: warning: group "spot" has arm64 types: the agent apply installs is x86_64 only, so arm64 instances run none (their interruptions still come from EventBridge; run spotfleet agent yourself on them for the second path)`}},
		{"arm64 without the controller's agent", "name: web\ncapacity:\n  - name: spot\n    instanceTypes: [m6g.large, c6g.large, r6g.large]\nservices: [{name: w, command: [x]}]\naws:\n  controller: {deploy: false}\n", nil},
		{"the controller's service name", "name: web\ncapacity:\n  - name: spot\n    instanceTypes: [m5.large, m5a.large, m6i.large]\nservices: [{name: spotfleet-controller, command: [x]}]\naws:\n  controller: {image: 'not an image'}\n",
			[]string{`m.yaml:5:19: service name "spotfleet-controller" is the controller's on AWS (choose another name)`, `m.yaml:7:23: "not an image" is not an image reference (such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/web-controller:v1.2.3)`}},
		{"zone of another region", "name: web\ncapacity:\n  - name: spot\n    instanceTypes: [m5.large, m5a.large, m6i.large]\n    zones: [us-east-1a, us-west-2a]\nservices: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:5:25: zone "us-west-2a" is not a zone of region us-east-1 (zones of us-east-1 are us-east-1a, us-east-1b, ...)`}},
		{"min above max", "name: web\ncapacity:\n  - name: spot\n    instanceTypes: [m5.large, m5a.large, m6i.large]\n    minSize: 5\n    maxSize: 3\nservices: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:5:14: minSize 5 is larger than maxSize 3`}},
		{"duplicate group", base + "  - name: spot\n    instanceTypes: [m5.large, m5a.large, m6i.large]\nservices: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:8:11: group name "spot" is used twice`}},
		{"reserved group prefix", "name: web\ncapacity:\n  - name: ecs-spot\n    instanceTypes: [m5.large, m5a.large, m6i.large]\nservices: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:3:11: group name "ecs-spot" may not start with aws, ecs or fargate (ECS reserves these prefixes for its own capacity providers)`}},
		{"bad fleet name", strings.Replace(base, "name: web", "name: Web_App", 1) + "services: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:1:7: name "Web_App" is not a valid fleet name (lowercase letters, digits and dashes, starting with a letter, at most 20 characters: it prefixes names AWS limits to 32)`}},
		{"ecs without services", base, []string{`m.yaml:1:1: workload ecs needs at least one service (add a services: list, or set workload: instances)`}},
		{"instances service under ecs", base + "services: [{name: w, command: [x]}]\ninstances: {name: w2, command: [x]}\n",
			[]string{`m.yaml:9:12: instances applies only under workload: instances (use services: under workload ecs, or set workload: instances)`}},
		{"instances with desiredCount", base + "workload: instances\ninstances: {name: w, command: [x], desiredCount: 3}\n",
			[]string{`m.yaml:9:50: desiredCount does not apply under workload: instances (size the capacity groups with desiredCapacity instead)`}},
		{"no image nor command", base + "services: [{name: w}]\n",
			[]string{`m.yaml:8:12: service "w" needs an image or a command (image runs on AWS, command on the local emulator)`}},
		{"duplicate service and listener port", base + "services:\n  - {name: w, command: [x], loadBalancer: {listenerPort: 9000}}\n  - {name: w, command: [x], loadBalancer: {listenerPort: 9000}}\n",
			[]string{`m.yaml:10:12: service name "w" is already used by services[0]`, `m.yaml:10:58: listenerPort 9000 already sends every request to services[0].loadBalancer: two services without hosts or paths cannot share it (give one of them hosts or paths, or another listenerPort)`}},
		{"services share a listener by path", base + "services:\n  - {name: w, command: [x], loadBalancer: {listenerPort: 9000}}\n  - {name: a, command: [x], loadBalancer: {listenerPort: 9000, paths: [/api/*]}}\n", nil},
		{"a shared listener differs", base + "services:\n  - {name: w, command: [x], loadBalancer: {listenerPort: 9000, protocol: HTTPS}}\n  - {name: a, command: [x], loadBalancer: {listenerPort: 9000, paths: [/api/*]}}\n",
			[]string{`m.yaml:9:43: warning: HTTPS without certificateArn: spotfleet up serves a self-signed certificate, apply will refuse (an ACM certificate's ARN; the emulator needs none)`,
				`m.yaml:10:43: listenerPort 9000 is shared with services[0].loadBalancer, whose listener differs in protocol, certificate or redirect (give them the same protocol, certificateArn and redirectHttpFrom, or another listenerPort)`}},
		{"redirect from HTTP", base + "services:\n  - {name: w, command: [x], loadBalancer: {listenerPort: 9000, redirectHttpFrom: 80}}\n",
			[]string{`m.yaml:9:82: redirectHttpFrom redirects to HTTPS; the listener is HTTP (set protocol: HTTPS)`}},
		{"bad paths and hosts", base + "services:\n  - {name: w, command: [x], loadBalancer: {paths: [api], hosts: [\"a b\"]}}\n",
			[]string{`m.yaml:9:52: "api" is not a path pattern (a path starting with / such as /api/*, at most 128 characters)`,
				`m.yaml:9:66: "a b" is not a host name pattern (letters, digits, dashes, dots and the wildcards * and ?, such as api.example.com or *.example.com)`}},
		{"secrets, role and logs", base + "services:\n  - name: w\n    command: [x]\n    environment: {DB: x}\n    taskRoleArn: role/web\n    logs: {retentionDays: 10}\n    secrets:\n      - {name: DB, valueFrom: arn:aws:ssm:us-east-1:123456789012:parameter/db}\n      - {name: KEY, valueFrom: key}\n",
			[]string{`m.yaml:12:18: "role/web" is not an IAM role ARN (such as arn:aws:iam::123456789012:role/web-task)`,
				`m.yaml:13:27: CloudWatch Logs keeps logs 10 days: not a retention it offers (one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)`,
				`m.yaml:15:16: DB is both a secret and an environment variable (keep it in one of environment and secrets)`,
				`m.yaml:16:32: "key" is not the ARN of an SSM parameter or a Secrets Manager secret (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME or arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)`}},
		{"health check timeout not below interval", base + "services:\n  - {name: w, command: [x], loadBalancer: {healthCheck: {interval: 5s, timeout: 5s}}}\n",
			[]string{`m.yaml:9:81: healthCheck timeout 5s must be less than its interval 5s`}},
		{"autoscaling bounds", base + "services:\n  - name: w\n    command: [x]\n    desiredCount: 5\n    autoscaling: {minCount: 1, maxCount: 3, targetTracking: [{metric: CPUUtilization, target: 70}]}\n",
			[]string{`m.yaml:12:18: desiredCount 5 is outside minCount..maxCount (1..3)`}},
		{"request count needs a load balancer", base + "services:\n  - name: w\n    command: [x]\n    autoscaling: {targetTracking: [{metric: RequestCountPerTarget, target: 100}]}\n",
			[]string{`m.yaml:11:45: RequestCountPerTarget needs a load balancer (add a loadBalancer to the service)`}},
		{"cpu target above 100", base + "services:\n  - name: w\n    command: [x]\n    autoscaling: {targetTracking: [{metric: CPUUtilization, target: 170}]}\n",
			[]string{`m.yaml:11:69: target 170 is above 100 percent`}},
		{"task too big", base + "services:\n  - {name: w, command: [x], cpu: 4096, memory: 32768}\n",
			[]string{
				`m.yaml:9:48: a task of cpu 4096 and memory 32768 MiB fits on no instance type of group "spot" (lower cpu/memory or add larger instance types)`,
				`m.yaml:9:48: a task of cpu 4096 and memory 32768 MiB fits on no instance type of group "od" (lower cpu/memory or add larger instance types)`,
			}},
		{"single Spot task", base + "services:\n  - {name: w, command: [x], desiredCount: 1, capacityProviderStrategy: [{capacityProvider: spot}]}\n",
			[]string{`m.yaml:9:43: warning: desiredCount 1 on Spot: an interruption takes the only task (run 2 or more tasks)`}},
		{"bad webhook", base + "services: [{name: w, command: [x]}]\ninterruptions: {notify: [{webhook: 'ftp://x'}]}\n",
			[]string{`m.yaml:9:36: webhook "ftp://x" is not an http or https URL (such as https://hooks.example.com/spot)`}},
		{"merge keys refused", base + "services:\n  - &s {name: w, command: [x]}\n  - <<: *s\n    name: w2\n",
			[]string{`m.yaml:10:5: merge keys (<<) are not supported (write the fields out, or use an alias (*name) for a whole value)`}},
		{"two documents", base + "services: [{name: w, command: [x]}]\n---\nname: other\n",
			[]string{`m.yaml:10:1: a manifest is one YAML document; remove the second one (after ---)`}},
		{"empty file", "", []string{`m.yaml:1:1: the file is empty`}},
		{"syntax error", "name: web\ncapacity: [\n", []string{`m.yaml:2:11: a list opened with [ is not closed (close it with ], or quote a value that holds [ ] { } , or #)`}},
		{"document is not a mapping", "- a\n- b\n", []string{`m.yaml:1:1: the document: expected a mapping (key: value lines), got a list`}},
		{"no instance types", "name: web\ncapacity:\n  - name: spot\n    instanceTypes: []\nservices: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:4:20: group "spot" has no instance types (list 3 or more types of one size, such as [m5.large, m5a.large, m6i.large])`}},
		{"empty program", base + "services: [{name: w, command: [\"\", x]}]\n",
			[]string{`m.yaml:8:32: the command's program is empty (name the program to run, such as [python3, -m, http.server])`}},
		{"NUL in an argument", base + "services: [{name: w, command: [x, \"a\\0b\"]}]\n",
			[]string{`m.yaml:8:35: argument 1 holds a NUL character, which no process can receive`}},
		{"bad environment names", base + "services: [{name: w, command: [x], environment: {\"A=B\": 1, \"C\\0\": 2, D: \"x\\0\"}}]\n",
			[]string{
				`m.yaml:8:50: environment variable name "A=B" holds "=" or NUL (names are letters, digits and underscores)`,
				`m.yaml:8:60: environment variable name "C\x00" holds "=" or NUL (names are letters, digits and underscores)`,
				`m.yaml:8:70: environment variable D holds a NUL character`,
			}},
		{"fallback after shorter than a launch", base + "fallback: {from: spot, to: od, after: 30s}\nservices: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:8:39: warning: fallback.after 30s is shorter than a normal launch (at least 2m, or capacity that is only booting gets covered too; refused launches are covered at once whatever after says)`}},
		{"byte-order mark", "\ufeff" + base + "services: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:1:1: warning: the file starts with a byte-order mark, which is ignored (save it as UTF-8 without BOM)`}},
		{"unknown alias, reported once", base + "services: [{name: *nope, command: [x]}]\n",
			[]string{`m.yaml:8:19: unknown alias *nope (define it first with &nope on the value to repeat)`}},
		{"integer too large", base + "services: [{name: w, command: [x], desiredCount: 12345678901234567890123}]\n",
			[]string{`m.yaml:8:50: desiredCount: 12345678901234567890123 is too large: must be at most 5000`}},
		{"tab indentation", "name: web\ncapacity:\n\t- name: spot\n",
			[]string{`m.yaml:3:1: a tab indents this line; YAML indents with spaces only (replace the tab with spaces)`}},
		{"key indented under a value", "name: web\n region: us-east-1\n",
			[]string{`m.yaml:2:2: "region" is indented more than "name" on line 1, which already has a value (indent it 0 spaces, as "name", to set both)`}},
		{"a key dedented between its siblings", base + "services:\n  - name: w\n    command: [x]\n    cpu: 256\n   port: 8080\n    memory: 512\n",
			[]string{`m.yaml:12:4: key "port" is indented 3 spaces, less than "cpu" above it and "memory" below it (indent it 4 spaces, as "cpu")`}},
		{"key indented between levels", base + "    minSize: 1\n  maxSize: 3\nservices: [{name: w, command: [x]}]\n",
			[]string{`m.yaml:9:3: key "maxSize" is indented 2 spaces, which matches no mapping above it (indent it 4 spaces to go with "minSize" (line 8), or 0 spaces to go with "capacity" (line 2))`}},
		{"a service name that is a path", base + "services: [{name: ../../../tmp/pwn, command: [x]}]\n",
			[]string{`m.yaml:8:19: service name "../../../tmp/pwn" is not valid (letters, digits and dashes, not at either end, at most 64 characters: it names the service's target group, task family and files)`}},
		{"a service name with a NUL", base + "services: [{name: \"w\\0b\", command: [x]}]\n",
			[]string{`m.yaml:8:19: service name "w\x00b" is not valid (letters, digits and dashes, not at either end, at most 64 characters: it names the service's target group, task family and files)`}},
		{"a unicode service name", base + "services: [{name: wéb, command: [x]}]\n",
			[]string{`m.yaml:8:19: service name "wéb" is not valid (letters, digits and dashes, not at either end, at most 64 characters: it names the service's target group, task family and files)`}},
		{"a service name of 300 characters", base + "services: [{name: " + strings.Repeat("w", 300) + ", command: [x]}]\n",
			[]string{`m.yaml:8:19: service name "` + strings.Repeat("w", 40) + `..." is not valid (letters, digits and dashes, not at either end, at most 64 characters: it names the service's target group, task family and files)`}},
		{"a target group name over AWS's 32", base + "services: [{name: a-service-of-thirty-characters, command: [x], loadBalancer: {listenerPort: 8080}}]\n",
			[]string{`m.yaml:8:19: service name "a-service-of-thirty-characters" is too long: its target group web-a-service-of-thirty-characters would be longer than AWS's 32 characters (at most 28 characters with the fleet's name "web")`}},
		{"all errors at once", "name: web\nworkload: ecss\ncapacity:\n  - name: spot\n    instanceTypes: [m5.large, m5a.large, m6i.large]\n    maxSize: ten\nservices: [{name: w, command: [x], port: 0}]\n",
			[]string{
				`m.yaml:2:11: workload: "ecss" is not a valid value (did you mean "ecs"? one of: ecs, instances)`,
				`m.yaml:6:14: maxSize: expected a whole number, got the string "ten"`,
				`m.yaml:7:42: port: 0 is out of range: must be between 1 and 65535`,
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Parse("m.yaml", []byte(tc.yaml))
			if diff := cmp.Diff(tc.want, diagStrings(diags)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	m, diags := Parse("m.yaml", []byte(base+"services:\n  - name: web\n    command: [x]\n    autoscaling: {maxCount: 6, targetTracking: [{metric: CPUUtilization, target: 70}]}\n"))
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	g := m.Capacity[0]
	if m.Region != "us-east-1" || m.Workload != WorkloadECS || m.Rebalance != RebalanceReplace {
		t.Errorf("top-level defaults: %q %q %q", m.Region, m.Workload, m.Rebalance)
	}
	if diff := cmp.Diff([]string{"us-east-1a", "us-east-1b", "us-east-1c"}, g.Zones); diff != "" {
		t.Errorf("zones: %s", diff)
	}
	if g.MaxSize != 10 || g.SpotAllocationStrategy != PriceCapacityOptimized || g.TargetCapacityPercent != 100 || g.InstanceTypes[0].Weight != 1 {
		t.Errorf("group defaults: %+v", g)
	}
	s := m.Services[0]
	if s.DesiredCount != 2 || s.MinimumHealthyPercent != 100 || s.MaximumPercent != 200 || s.StopTimeout.String() != "30s" {
		t.Errorf("service defaults: %+v", s)
	}
	want := []CapacityProviderStrategy{{CapacityProvider: "spot", Weight: 1}, {CapacityProvider: "od", Base: 1, Weight: 1}}
	if diff := cmp.Diff(want, s.CapacityProviderStrategy); diff != "" {
		t.Errorf("default strategy (S0: On-Demand base 1): %s", diff)
	}
	if a := s.Autoscaling; a.MinCount != 2 || a.MaxCount != 6 || a.TargetTracking[0].ScaleInCooldown.String() != "5m" {
		t.Errorf("autoscaling defaults: %+v", a)
	}
}
