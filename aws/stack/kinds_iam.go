package stack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/manifest"
)

// AWS managed policies the roles use.
const (
	ecsInstancePolicy      = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
	ecsTaskExecutionPolicy = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
	controllerInlinePolicy = "spotfleet-controller"
	secretsInlinePolicy    = "spotfleet-secrets"
)

// role is an IAM role spotfleet creates: who may assume it, and what it may do.
type role struct {
	name    string
	trust   []string // service principals
	managed []string
	inline  string // an inline policy document, "" for none
	policy  string // the inline policy's name
}

// hasInstances says whether the fleet runs instances: a fleet on Fargate alone has none,
// and needs no instance role.
func (s *Stack) hasInstances() bool { return len(s.m.Capacity) > 0 }

func (s *Stack) roles() []role {
	n := s.n
	ctl := ControllerPolicy(s.m, s.env.region, s.env.account).JSON()
	out := []role{{name: n.ControllerRole(), trust: []string{"ec2.amazonaws.com", "ecs-tasks.amazonaws.com"}, inline: ctl, policy: controllerInlinePolicy}}
	if s.isECS() && s.hasInstances() {
		out = append(out, role{name: n.InstanceRole(), trust: []string{"ec2.amazonaws.com"}, managed: []string{ecsInstancePolicy}})
	}
	if s.runsECS() { // the controller's tasks pull their image and write logs with it too
		out = append(out, role{name: n.ExecutionRole(), trust: []string{"ecs-tasks.amazonaws.com"}, managed: []string{ecsTaskExecutionPolicy},
			inline: s.secretsPolicy(), policy: secretsInlinePolicy})
	}
	return out
}

// secretsPolicy lets the task execution role read exactly the services' secrets (ECS reads
// them as the task starts); "" when there are none. Secrets encrypted with a customer
// managed KMS key also need kms:Decrypt on it, which is the key owner's to grant.
func (s *Stack) secretsPolicy() string {
	var params, secrets []string
	for _, sv := range s.m.Services {
		for _, x := range sv.Secrets {
			if strings.Contains(x.ValueFrom, ":ssm:") {
				params = append(params, x.ValueFrom)
				continue
			}
			// A JSON key or version after the secret's ARN (…:secret:NAME:KEY:STAGE:ID) is
			// not part of the resource.
			parts := strings.SplitN(x.ValueFrom, ":", 8)
			secrets = append(secrets, strings.Join(parts[:min(7, len(parts))], ":"))
		}
	}
	if len(params)+len(secrets) == 0 {
		return ""
	}
	doc := PolicyDocument{Version: "2012-10-17"}
	if len(params) > 0 {
		doc.Statement = append(doc.Statement, Statement{Sid: "ReadParameters", Effect: "Allow", Action: []string{"ssm:GetParameters"}, Resource: sortedUnique(params)})
	}
	if len(secrets) > 0 {
		doc.Statement = append(doc.Statement, Statement{Sid: "ReadSecrets", Effect: "Allow", Action: []string{"secretsmanager:GetSecretValue"}, Resource: sortedUnique(secrets)})
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

func sortedUnique(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

func (r role) fields() map[string]string {
	f := map[string]string{"trust": join(r.trust), "managedPolicies": join(r.managed), "inlinePolicy": ""}
	if r.inline != "" {
		f["inlinePolicy"] = docHash(r.inline)
	}
	return f
}

var roleKind = kind{
	name: "iam-role",
	want: func(s *Stack) []Resource {
		var out []Resource
		for _, r := range s.roles() {
			out = append(out, Resource{Name: r.name, Fields: r.fields()})
		}
		return out
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		out := map[string]map[string]string{}
		for _, want := range []role{s.role(s.n.ControllerRole()), s.role(s.n.InstanceRole()), s.role(s.n.ExecutionRole())} {
			name := want.name
			got, err := s.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: &name})
			var nf *iamtypes.NoSuchEntityException
			if errors.As(err, &nf) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if !iamTagged(got.Role.Tags, s.m.Name) {
				continue // someone else's role of the same name: not ours to change
			}
			r := role{name: name, trust: trustServices(awssdk.ToString(got.Role.AssumeRolePolicyDocument))}
			att, err := s.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: &name})
			if err != nil {
				return nil, err
			}
			for _, p := range att.AttachedPolicies {
				r.managed = append(r.managed, awssdk.ToString(p.PolicyArn))
			}
			slices.Sort(r.managed)
			if want.policy != "" {
				pol, err := s.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &name, PolicyName: &want.policy})
				switch {
				case err == nil:
					r.inline = unescape(awssdk.ToString(pol.PolicyDocument))
				case !errors.As(err, &nf):
					return nil, err
				}
			}
			out[name] = r.fields()
		}
		return out, nil
	},
	create: func(ctx context.Context, s *Stack, res Resource) error {
		r := s.role(res.Name)
		_, err := s.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &r.name, AssumeRolePolicyDocument: awssdk.String(trustDoc(r.trust)),
			Description: awssdk.String("spotfleet fleet " + s.m.Name),
			Tags:        []iamtypes.Tag{{Key: awssdk.String(aws.FleetTag), Value: awssdk.String(s.m.Name)}}})
		if err != nil {
			return err
		}
		return s.syncRole(ctx, r, nil)
	},
	update: func(ctx context.Context, s *Stack, res Resource) error {
		r := s.role(res.Name)
		if _, err := s.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: &r.name, PolicyDocument: awssdk.String(trustDoc(r.trust))}); err != nil {
			return err
		}
		att, err := s.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: &r.name})
		if err != nil {
			return err
		}
		have := []string{} // not nil: syncRole tells an update by it
		for _, p := range att.AttachedPolicies {
			have = append(have, awssdk.ToString(p.PolicyArn))
		}
		return s.syncRole(ctx, r, have)
	},
	remove: func(ctx context.Context, s *Stack, name string) error {
		att, err := s.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: &name})
		if err != nil {
			return err
		}
		for _, p := range att.AttachedPolicies {
			if _, err := s.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: &name, PolicyArn: p.PolicyArn}); stepDone(err) != nil {
				return err
			}
		}
		inl, err := s.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: &name})
		if err != nil {
			return err
		}
		for _, p := range inl.PolicyNames {
			if _, err := s.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: &name, PolicyName: &p}); stepDone(err) != nil {
				return err
			}
		}
		_, err = s.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: &name})
		return err
	},
}

func (s *Stack) role(name string) role {
	for _, r := range s.roles() {
		if r.name == name {
			return r
		}
	}
	return role{name: name}
}

// syncRole attaches and detaches managed policies to match, and puts the inline policy;
// have is nil for a role just created, the attached policies for one updated.
func (s *Stack) syncRole(ctx context.Context, r role, have []string) error {
	for _, p := range r.managed {
		if !slices.Contains(have, p) {
			if _, err := s.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &r.name, PolicyArn: &p}); err != nil {
				return err
			}
		}
	}
	for _, p := range have {
		if !slices.Contains(r.managed, p) {
			if _, err := s.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: &r.name, PolicyArn: &p}); err != nil {
				return err
			}
		}
	}
	switch {
	case r.inline != "":
		_, err := s.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &r.name, PolicyName: &r.policy, PolicyDocument: &r.inline})
		return err
	case r.policy != "" && have != nil: // an update that no longer wants it (the last secret went)
		_, err := s.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: &r.name, PolicyName: &r.policy})
		return stepDone(err)
	}
	return nil
}

var profileKind = kind{
	name: "instance-profile",
	want: func(s *Stack) []Resource {
		if s.m.Workload != manifest.WorkloadECS || !s.hasInstances() {
			return nil
		}
		return []Resource{{Name: s.n.InstanceRole(), Fields: map[string]string{"role": s.n.InstanceRole()}}}
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		name := s.n.InstanceRole()
		got, err := s.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: &name})
		var nf *iamtypes.NoSuchEntityException
		if errors.As(err, &nf) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if !iamTagged(got.InstanceProfile.Tags, s.m.Name) {
			return nil, nil
		}
		var roles []string
		for _, r := range got.InstanceProfile.Roles {
			roles = append(roles, awssdk.ToString(r.RoleName))
		}
		return map[string]map[string]string{name: {"role": join(roles)}}, nil
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		if _, err := s.iam.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: &r.Name,
			Tags: []iamtypes.Tag{{Key: awssdk.String(aws.FleetTag), Value: awssdk.String(s.m.Name)}}}); err != nil {
			return err
		}
		_, err := s.iam.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: &r.Name, RoleName: awssdk.String(r.Fields["role"])})
		return err
	},
	// A profile holds one role: another one (changed by hand) goes, the fleet's comes.
	update: func(ctx context.Context, s *Stack, r Resource) error {
		got, err := s.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: &r.Name})
		if err != nil {
			return err
		}
		for _, role := range got.InstanceProfile.Roles {
			if awssdk.ToString(role.RoleName) == r.Fields["role"] {
				return nil
			}
			if _, err := s.iam.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: &r.Name, RoleName: role.RoleName}); stepDone(err) != nil {
				return err
			}
		}
		_, err = s.iam.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: &r.Name, RoleName: awssdk.String(r.Fields["role"])})
		return err
	},
	remove: func(ctx context.Context, s *Stack, name string) error {
		got, err := s.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: &name})
		if err != nil {
			return err
		}
		for _, r := range got.InstanceProfile.Roles {
			if _, err := s.iam.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: &name, RoleName: r.RoleName}); stepDone(err) != nil {
				return err
			}
		}
		_, err = s.iam.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: &name})
		return err
	},
}

func iamTagged(tags []iamtypes.Tag, fleet string) bool {
	return aws.Tagged(tags, fleet, func(t iamtypes.Tag) (*string, *string) { return t.Key, t.Value })
}

func trustDoc(services []string) string {
	doc := PolicyDocument{Version: "2012-10-17"}
	for _, svc := range services {
		doc.Statement = append(doc.Statement, Statement{Sid: strings.ReplaceAll(strings.Split(svc, ".")[0], "-", ""), Effect: "Allow",
			Action: []string{"sts:AssumeRole"}, Principal: map[string]string{"Service": svc}})
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// trustServices reads the service principals of a trust policy (IAM returns it URL-encoded).
func trustServices(doc string) []string {
	var d struct {
		Statement []struct {
			Principal struct {
				Service any `json:"Service"`
			} `json:"Principal"`
		} `json:"Statement"`
	}
	if json.Unmarshal([]byte(unescape(doc)), &d) != nil {
		return nil
	}
	var out []string
	for _, st := range d.Statement {
		switch v := st.Principal.Service.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func unescape(doc string) string {
	if u, err := url.QueryUnescape(doc); err == nil && strings.HasPrefix(strings.TrimSpace(u), "{") {
		return u
	}
	return doc
}

// docHash identifies a JSON document whatever its spacing and key order.
func docHash(doc string) string {
	var v any
	if json.Unmarshal([]byte(doc), &v) == nil {
		if b, err := json.Marshal(v); err == nil {
			doc = string(b)
		}
	}
	h := textHash(doc)
	if b, err := json.MarshalIndent(v, "", "  "); err == nil {
		texts.Store(h, string(b)) // shown a line a key
	}
	return h
}

// textHash identifies a text (plan compares hashes of long fields such as user data), and
// remembers it for the plan to show (textsOf).
func textHash(text string) string {
	sum := sha256.Sum256([]byte(text))
	h := hex.EncodeToString(sum[:6])
	texts.Store(h, text)
	return h
}

// texts is the text behind each hash a plan of this process compared: a plan and its
// apply read a few texts (user data, patterns, policies, manifests).
var texts sync.Map

// textsOf is what a diff's hashes stand for, when both are known: the field's own, or
// the two values of a list element that holds a hash (the controller's manifest in its
// environment, KEY=sha256:HASH).
func textsOf(d Diff) (from, to string) {
	lookup := func(h string) string {
		if t, ok := texts.Load(h); ok {
			return t.(string)
		}
		return ""
	}
	if from, to = lookup(d.From), lookup(d.To); from != "" && to != "" {
		return from, to
	}
	for _, a := range d.Added {
		k, h, ok := strings.Cut(a, "=sha256:")
		if !ok {
			continue
		}
		for _, r := range d.Removed {
			if k2, h2, ok := strings.Cut(r, "=sha256:"); ok && k2 == k {
				if from, to = lookup(h2), lookup(h); from != "" && to != "" {
					return from, to
				}
			}
		}
	}
	return "", ""
}
