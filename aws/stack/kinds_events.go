package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/manifest"
)

// eventPattern matches the events the controller reads: Spot interruption warnings and
// rebalance recommendations, instance state changes, failed launches of the fleet's groups
// and, under ECS, tasks stopped by a Spot interruption and, with Fargate, the cluster's
// services that could not place a task (Fargate Spot short). A fleet on Fargate alone has
// no instance and no group, and EventBridge refuses an empty list.
func (s *Stack) eventPattern() string {
	var groups []string
	for _, g := range s.m.Capacity {
		groups = append(groups, s.n.Group(g.Name))
	}
	var or []map[string]any
	if len(groups) > 0 {
		or = append(or,
			map[string]any{"source": []string{spotfleet.SourceEC2}, "detail-type": []string{spotfleet.DetailSpotInterruption, spotfleet.DetailRebalance, spotfleet.DetailStateChange}},
			map[string]any{"source": []string{spotfleet.SourceAutoScaling}, "detail-type": []string{spotfleet.DetailLaunchFailed}, "detail": map[string]any{"AutoScalingGroupName": groups}})
	}
	if s.m.Workload == manifest.WorkloadECS {
		or = append(or, map[string]any{"source": []string{spotfleet.SourceECS}, "detail-type": []string{spotfleet.DetailECSTaskStateChange},
			"detail": map[string]any{"stopCode": []string{spotfleet.StopCodeSpotInterruption}}})
	}
	if len(s.fargateProviders()) > 0 {
		or = append(or, map[string]any{"source": []string{spotfleet.SourceECS}, "detail-type": []string{spotfleet.DetailECSServiceAction},
			"detail": map[string]any{"eventName": []string{spotfleet.EventPlacementFailure},
				"clusterArn": []string{fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", s.env.region, s.env.account, s.n.Cluster())}}})
	}
	pattern := map[string]any{"$or": or}
	if len(or) == 1 {
		pattern = or[0]
	}
	b, _ := json.Marshal(pattern)
	return string(b)
}

func (s *Stack) queueARN() string {
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", s.env.region, s.env.account, s.n.Queue())
}

func (s *Stack) ruleARN() string {
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", s.env.region, s.env.account, s.n.Rule())
}

// queuePolicy lets the fleet's rule, and only it, send to the queue.
func (s *Stack) queuePolicy() string {
	doc := map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{
		"Sid": "EventBridge", "Effect": "Allow", "Principal": map[string]string{"Service": "events.amazonaws.com"},
		"Action": "sqs:SendMessage", "Resource": s.queueARN(),
		"Condition": map[string]any{"ArnEquals": map[string]string{"aws:SourceArn": s.ruleARN()}},
	}}}
	b, _ := json.Marshal(doc)
	return string(b)
}

// The queue keeps events for a day (a controller that is down for less misses nothing)
// and hides a received message for 30 s (the controller extends it while it works).
var queueKind = kind{
	name: "sqs-queue",
	want: func(s *Stack) []Resource {
		return []Resource{{Name: s.n.Queue(), Fields: map[string]string{"policy": docHash(s.queuePolicy()), "retention": "86400", "visibility": "30"}}}
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		url, err := s.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: awssdk.String(s.n.Queue())})
		var nf *sqstypes.QueueDoesNotExist
		if errors.As(err, &nf) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		tags, err := s.sqs.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: url.QueueUrl})
		if err != nil {
			return nil, err
		}
		if tags.Tags[aws.FleetTag] != s.m.Name {
			return nil, nil
		}
		attrs, err := s.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			return nil, err
		}
		a := attrs.Attributes
		return map[string]map[string]string{s.n.Queue(): {"policy": docHash(a["Policy"]), "retention": a["MessageRetentionPeriod"], "visibility": a["VisibilityTimeout"]}}, nil
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		_, err := s.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &r.Name, Tags: map[string]string{aws.FleetTag: s.m.Name}, Attributes: s.queueAttributes(r)})
		return err
	},
	update: func(ctx context.Context, s *Stack, r Resource) error {
		url, err := s.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: &r.Name})
		if err != nil {
			return err
		}
		_, err = s.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: url.QueueUrl, Attributes: s.queueAttributes(r)})
		return err
	},
	remove: func(ctx context.Context, s *Stack, name string) error {
		url, err := s.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: &name})
		if err != nil {
			return err
		}
		_, err = s.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: url.QueueUrl})
		return err
	},
}

func (s *Stack) queueAttributes(r Resource) map[string]string {
	return map[string]string{"Policy": s.queuePolicy(), "MessageRetentionPeriod": r.Fields["retention"], "VisibilityTimeout": r.Fields["visibility"]}
}

var ruleKind = kind{
	name: "event-rule",
	want: func(s *Stack) []Resource {
		return []Resource{{Name: s.n.Rule(), Fields: map[string]string{"pattern": docHash(s.eventPattern()), "target": s.queueARN(), "state": "ENABLED"}}}
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		r, err := s.eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: awssdk.String(s.n.Rule())})
		var nf *ebtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		tags, err := s.eb.ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: r.Arn})
		if err != nil {
			return nil, err
		}
		if !aws.Tagged(tags.Tags, s.m.Name, func(t ebtypes.Tag) (*string, *string) { return t.Key, t.Value }) {
			return nil, nil
		}
		ts, err := s.eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: r.Name})
		if err != nil {
			return nil, err
		}
		target := ""
		for _, t := range ts.Targets {
			target = awssdk.ToString(t.Arn)
		}
		return map[string]map[string]string{s.n.Rule(): {"pattern": docHash(awssdk.ToString(r.EventPattern)), "target": target, "state": string(r.State)}}, nil
	},
	create: putRule,
	update: putRule,
	remove: func(ctx context.Context, s *Stack, name string) error {
		if _, err := s.eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: &name, Ids: []string{"queue"}}); err != nil {
			return err
		}
		_, err := s.eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: &name})
		return err
	},
}

func putRule(ctx context.Context, s *Stack, r Resource) error {
	if _, err := s.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: &r.Name, EventPattern: awssdk.String(s.eventPattern()), State: ebtypes.RuleStateEnabled,
		Description: awssdk.String("Spot events of fleet " + s.m.Name + " for its spotfleet controller"),
		Tags:        []ebtypes.Tag{{Key: awssdk.String(aws.FleetTag), Value: awssdk.String(s.m.Name)}}}); err != nil {
		return err
	}
	_, err := s.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: &r.Name, Targets: []ebtypes.Target{{Id: awssdk.String("queue"), Arn: awssdk.String(r.Fields["target"])}}})
	return err
}
