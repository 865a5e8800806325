package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/spotfleet/spotfleet/manifest"
)

// SelfCheck verifies, before the controller starts, that events can reach it: the queue
// exists, and the rule is enabled and delivers to that queue. Each failure says what to do.
func SelfCheck(ctx context.Context, cfg awssdk.Config, m *manifest.Manifest) error {
	n := Names{Fleet: m.Name}
	q := sqs.NewFromConfig(cfg)
	url, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: awssdk.String(n.Queue())})
	if err != nil {
		return fmt.Errorf("self-check: the event queue %s is not there (%v): run spotfleet apply -f <manifest>", n.Queue(), err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return fmt.Errorf("self-check: reading the queue %s: %w", n.Queue(), err)
	}
	arn := attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	eb := eventbridge.NewFromConfig(cfg)
	rule, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: awssdk.String(n.Rule())})
	if err != nil {
		return fmt.Errorf("self-check: the EventBridge rule %s is not there (%v): run spotfleet apply -f <manifest>", n.Rule(), err)
	}
	if rule.State != ebtypes.RuleStateEnabled {
		return fmt.Errorf("self-check: the EventBridge rule %s is %s, so no event reaches the controller: enable it (aws events enable-rule --name %s) or run spotfleet apply", n.Rule(), rule.State, n.Rule())
	}
	ts, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: rule.Name})
	if err != nil {
		return fmt.Errorf("self-check: reading the targets of rule %s: %w", n.Rule(), err)
	}
	for _, t := range ts.Targets {
		if awssdk.ToString(t.Arn) == arn {
			return nil
		}
	}
	return fmt.Errorf("self-check: the EventBridge rule %s does not deliver to the queue %s: run spotfleet apply -f <manifest>", n.Rule(), arn)
}
