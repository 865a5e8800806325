// Package stack provisions a manifest's stack on AWS (plan, apply, delete, outputs) and
// prints the controller's IAM policy: a kind per type of resource, read by name and the
// fleet's tag, compared field by field, and changed in dependency order, creations and
// updates first. It shares names, configuration and errors with package aws.
package stack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/acm"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/manifest"
)

// Stack provisions a manifest's resources: it reads what exists (by name and the fleet
// tag), plans the difference, and applies or deletes it in dependency order.
type Stack struct {
	m    *manifest.Manifest
	n    aws.Names
	ec2  *ec2.Client
	asg  *autoscaling.Client
	ecs  *ecs.Client
	elb  *elb.Client
	sqs  *sqs.Client
	eb   *eventbridge.Client
	iam  *iam.Client
	ssm  *ssm.Client
	acm  *acm.Client
	aas  *applicationautoscaling.Client
	sts  *sts.Client
	logs *cloudwatchlogs.Client
	ddb  *dynamodb.Client
	ecr  *ecr.Client
	sd   *servicediscovery.Client
	cfg  awssdk.Config
	env  env
	// Image builds the controller's image when the manifest names none (apply pushes it
	// when its tag is missing); Registry, when set, is where it goes instead of the
	// fleet's ECR repository: a loopback registry, plain HTTP (the tests').
	Image    *ControllerImage
	Registry string
	// Reading, when set, is told which kind plan reads next (i of n), for a progress line,
	// and then "" when it is done.
	Reading func(kind string, i, n int)
}

// env is what the stack takes from the account: the network and the image.
type env struct {
	region  string
	account string
	vpc     string
	cidr    string
	subnets map[string]string // zone → subnet
	public  bool              // the subnets give instances public addresses (a default VPC's)
	ami     string
}

// Resource is one thing the stack creates, with the fields plan compares.
type Resource struct {
	Kind   string            `json:"kind"`
	Name   string            `json:"name"`
	Fields map[string]string `json:"fields,omitempty"`
}

// Diff is one field that differs, or under a create one that is set. A list field also
// says which elements it gains and loses.
type Diff struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
	// FromUnknown: the API does not return the field, and the manifest no longer wants
	// what apply recorded for it (AppliedTag); From is then "".
	FromUnknown bool     `json:"fromUnknown,omitempty"`
	Added       []string `json:"added,omitempty"`
	Removed     []string `json:"removed,omitempty"`
	// FromText and ToText are what a field compared by its hash holds (user data, an event
	// pattern, a policy, the controller's manifest), when both are known: a plan shows how
	// they differ, line by line, not two hashes.
	FromText string `json:"fromText,omitempty"`
	ToText   string `json:"toText,omitempty"`
}

// Action is what apply does to a resource.
type Action string

const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
)

// Change is what apply does to one resource.
type Change struct {
	Action Action `json:"action"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Diffs  []Diff `json:"diffs,omitempty"`
}

// kind is one type of resource: how the manifest wants it, and how it is read, created,
// updated in place and removed. Every kind updates in place: apply never removes a resource
// to change it, so that a failure leaves no less than there was.
type kind struct {
	name   string
	want   func(s *Stack) []Resource
	read   func(ctx context.Context, s *Stack) (map[string]map[string]string, error)
	create func(ctx context.Context, s *Stack, r Resource) error
	update func(ctx context.Context, s *Stack, r Resource) error
	remove func(ctx context.Context, s *Stack, name string) error
}

// NewStack is the stack of a validated manifest.
func NewStack(cfg awssdk.Config, m *manifest.Manifest) *Stack {
	return &Stack{m: m, n: aws.Names{Fleet: m.Name}, ec2: ec2.NewFromConfig(cfg), asg: autoscaling.NewFromConfig(cfg),
		ecs: ecs.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg), eb: eventbridge.NewFromConfig(cfg),
		iam: iam.NewFromConfig(cfg), ssm: ssm.NewFromConfig(cfg), acm: acm.NewFromConfig(cfg), aas: applicationautoscaling.NewFromConfig(cfg),
		sts: sts.NewFromConfig(cfg), logs: cloudwatchlogs.NewFromConfig(cfg), ddb: dynamodb.NewFromConfig(cfg), ecr: ecr.NewFromConfig(cfg),
		sd: servicediscovery.NewFromConfig(cfg), cfg: cfg, env: env{region: cfg.Region}}
}

// kinds in creation order; deletion runs it backwards.
func (s *Stack) kinds() []kind {
	return []kind{roleKind, profileKind, securityGroupKind, taskSecurityGroupKind, controllerSecurityGroupKind, discoveryKind, launchTemplateKind,
		queueKind, ruleKind, leaseTableKind, imageRepositoryKind, controllerImageKind,
		loadBalancerKind, targetGroupKind, listenerKind, listenerRuleKind, groupKind, groupScalingKind, capacityProviderKind,
		clusterKind, logGroupKind, taskDefinitionKind, serviceKind, serviceScalingKind}
}

// Plan compares what the manifest wants with what exists.
func (s *Stack) Plan(ctx context.Context) ([]Change, error) {
	if err := s.checkListeners(); err != nil {
		return nil, err
	}
	if err := s.discover(ctx); err != nil {
		return nil, err
	}
	if err := s.checkCertificates(ctx); err != nil {
		return nil, err
	}
	var out []Change
	ks := s.kinds()
	if s.Reading != nil {
		defer s.Reading("", len(ks), len(ks))
	}
	for i, k := range ks {
		if s.Reading != nil {
			s.Reading(k.name, i, len(ks))
		}
		have, err := k.read(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("reading %ss: %w", k.name, aws.Explain(err))
		}
		wanted := map[string]bool{}
		for _, r := range k.want(s) {
			wanted[r.Name] = true
			cur, ok := have[r.Name]
			if !ok {
				out = append(out, Change{Action: Create, Kind: k.name, Name: r.Name, Diffs: attributes(r.Fields)})
				continue
			}
			if d := diff(r.Fields, cur); len(d) > 0 {
				for i := range d {
					d[i].FromText, d[i].ToText = textsOf(d[i])
				}
				out = append(out, Change{Action: Update, Kind: k.name, Name: r.Name, Diffs: d})
			}
		}
		for _, name := range slices.Sorted(maps.Keys(have)) {
			if !wanted[name] {
				out = append(out, Change{Action: Delete, Kind: k.name, Name: name})
			}
		}
	}
	return out, nil
}

// Preflight checks what can be known of a plan's changes before any is made, so that an
// apply does not stop part-way on it: that the controller's image can be built (a plain go
// build of spotfleet has cgo on, and its binary cannot go into the image as it is).
func (s *Stack) Preflight(changes []Change) error {
	for _, c := range changes {
		if c.Kind == controllerImageKind.name && c.Action != Delete && s.Image != nil && s.Image.Check != nil {
			if err := s.Image.Check(); err != nil {
				return fmt.Errorf("the controller's image cannot be made: %w", err)
			}
		}
	}
	return nil
}

// Apply makes the changes of a plan: creations and updates in dependency order first, then
// the deletions of what the manifest no longer has, backwards. A failure at any step leaves
// at least what existed before (the review's apply deleted first, and a failed role update
// left a fleet without its Spot group), and the next apply goes on from there. progress is
// told about each resource before and after.
func (s *Stack) Apply(ctx context.Context, changes []Change, progress func(c Change, err error, done bool)) error {
	if err := s.Preflight(changes); err != nil {
		return err
	}
	if err := s.discover(ctx); err != nil {
		return err
	}
	if err := s.checkCertificates(ctx); err != nil {
		return err
	}
	ks := s.kinds()
	byKind := map[string]kind{}
	for _, k := range ks {
		byKind[k.name] = k
	}
	want := map[string]Resource{}
	for _, k := range ks {
		for _, r := range k.want(s) {
			want[k.name+"/"+r.Name] = r
		}
	}
	run := func(c Change, f func() error) error {
		progress(c, nil, false)
		err := aws.Explain(f())
		progress(c, err, true)
		if err != nil {
			return fmt.Errorf("%s %s %s: %w", c.Action, c.Kind, c.Name, err)
		}
		return nil
	}
	for _, c := range changes {
		k, r := byKind[c.Kind], want[c.Kind+"/"+c.Name]
		switch c.Action {
		case Create:
			if err := run(c, func() error { return k.create(ctx, s, r) }); err != nil {
				return err
			}
		case Update:
			if err := run(c, func() error { return k.update(ctx, s, r) }); err != nil {
				return err
			}
		}
	}
	for i := len(changes) - 1; i >= 0; i-- {
		if c := changes[i]; c.Action == Delete {
			if err := run(c, func() error { return byKind[c.Kind].remove(ctx, s, c.Name) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// strayInstances are the fleet's instances (by its tag) that are not terminated and that no
// group of the fleet holds.
func (s *Stack) strayInstances(ctx context.Context) ([]string, error) {
	groups, err := s.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{Filters: []asgtypes.Filter{
		{Name: awssdk.String("tag:" + aws.FleetTag), Values: []string{s.m.Name}}}})
	if err != nil {
		return nil, err
	}
	held := map[string]bool{}
	for _, g := range groups.AutoScalingGroups {
		for _, in := range g.Instances {
			held[awssdk.ToString(in.InstanceId)] = true
		}
	}
	var out []string
	p := ec2.NewDescribeInstancesPaginator(s.ec2, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: awssdk.String("tag:" + aws.FleetTag), Values: []string{s.m.Name}},
		{Name: awssdk.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Reservations {
			for _, in := range r.Instances {
				if id := awssdk.ToString(in.InstanceId); !held[id] {
					out = append(out, id)
				}
			}
		}
	}
	return out, nil
}

// Delete removes every resource of the fleet that exists, backwards, and nothing else.
func (s *Stack) Delete(ctx context.Context, progress func(c Change, err error, done bool)) error {
	if err := s.discover(ctx); err != nil {
		return err
	}
	var errs []error
	// Instances no group holds any more (the controller detaches an interrupted one before
	// it terminates it; a controller stopped between the two leaves it running) go first:
	// a group's ForceDelete takes only its members, and the security groups cannot go
	// while an instance uses them.
	strays, err := s.strayInstances(ctx)
	if err != nil {
		return fmt.Errorf("reading the fleet's instances: %w", aws.Explain(err))
	}
	for _, id := range strays {
		c := Change{Action: Delete, Kind: "instance", Name: id}
		progress(c, nil, false)
		_, err := s.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
		err = aws.Explain(err)
		progress(c, err, true)
		if err != nil {
			errs = append(errs, fmt.Errorf("terminate instance %s: %w", id, err))
		}
	}
	ks := s.kinds()
	for i := len(ks) - 1; i >= 0; i-- {
		k := ks[i]
		have, err := k.read(ctx, s)
		if err != nil {
			return fmt.Errorf("reading %ss: %w", k.name, aws.Explain(err))
		}
		for _, name := range slices.Sorted(maps.Keys(have)) {
			c := Change{Action: Delete, Kind: k.name, Name: name}
			progress(c, nil, false)
			err := k.remove(ctx, s, name)
			if isNotFound(err) { // gone since it was read: what delete wanted
				err = nil
			}
			err = aws.Explain(err)
			progress(c, err, true)
			if err != nil {
				errs = append(errs, fmt.Errorf("delete %s %s: %w", k.name, name, err))
			}
		}
	}
	return errors.Join(errs...)
}
