package stack

import (
	"encoding/json"
	"fmt"

	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/manifest"
)

// PolicyDocument is an IAM policy.
type PolicyDocument struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of an IAM policy.
type Statement struct {
	Sid       string            `json:"Sid"`
	Effect    string            `json:"Effect"`
	Action    []string          `json:"Action"`
	Resource  []string          `json:"Resource,omitempty"` // none in a trust policy: IAM refuses one there
	Condition map[string]any    `json:"Condition,omitempty"`
	Principal map[string]string `json:"Principal,omitempty"`
}

// ControllerPolicy is the least-privilege policy of `spotfleet controller` for a fleet:
// exactly the calls the AWS provider makes, the mutating ones limited to the fleet's
// resources. Describe and list calls take no resource-level permissions on AWS, so they
// are on "*". account may be "*" when it is not known.
func ControllerPolicy(m *manifest.Manifest, region, account string) PolicyDocument {
	n := aws.Names{Fleet: m.Name}
	arn := func(service, resource string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, account, resource)
	}
	var groupARNs, tgARNs []string
	for _, g := range m.Capacity {
		groupARNs = append(groupARNs, arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/"+n.Group(g.Name)))
	}
	for _, s := range m.AllServices() {
		if s.LoadBalancer != nil {
			tgARNs = append(tgARNs, arn("elasticloadbalancing", "targetgroup/"+m.TargetGroupName(s)+"/*"))
		}
	}
	st := []Statement{
		{Sid: "Observe", Effect: "Allow", Resource: []string{"*"}, Action: []string{
			"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities",
			"ec2:DescribeInstances", "ec2:DescribeInstanceTypes", "ec2:DescribeSpotInstanceRequests",
			"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
			"elasticloadbalancing:DescribeTargetHealth",
		}},
	}
	// A fleet on Fargate alone has no group, instance or container instance to act on.
	if len(groupARNs) > 0 {
		st = append(st,
			// Exact names, and the fleet's tag: a prefix (rt-web-*) would also cover fleet
			// rt-web-2's groups.
			Statement{Sid: "Groups", Effect: "Allow", Resource: groupARNs,
				Action:    []string{"autoscaling:DetachInstances", "autoscaling:SetDesiredCapacity", "autoscaling:UpdateAutoScalingGroup"},
				Condition: map[string]any{"StringEquals": map[string]string{"autoscaling:ResourceTag/" + aws.FleetTag: m.Name}}},
			// Updating a group's overrides needs the right to launch from its launch template.
			Statement{Sid: "LaunchTemplate", Effect: "Allow", Action: []string{"ec2:RunInstances"}, Resource: []string{"*"},
				Condition: map[string]any{"ArnLike": map[string]string{"ec2:LaunchTemplate": arn("ec2", "launch-template/*")},
					"StringEquals": map[string]string{"aws:ResourceTag/" + aws.FleetTag: m.Name}}},
			Statement{Sid: "Terminate", Effect: "Allow", Action: []string{"ec2:TerminateInstances"}, Resource: []string{arn("ec2", "instance/*")},
				Condition: map[string]any{"StringEquals": map[string]string{"aws:ResourceTag/" + aws.FleetTag: m.Name}}})
	}
	if len(tgARNs) > 0 {
		st = append(st, Statement{Sid: "TargetGroups", Effect: "Allow", Resource: tgARNs,
			Action:    []string{"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:ModifyTargetGroupAttributes"},
			Condition: map[string]any{"StringEquals": map[string]string{"aws:ResourceTag/" + aws.FleetTag: m.Name}}})
	}
	st = append(st,
		Statement{Sid: "Queue", Effect: "Allow", Resource: []string{arn("sqs", n.Queue())}, Action: []string{
			"sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}},
		Statement{Sid: "aws.SelfCheck", Effect: "Allow", Resource: []string{arn("events", "rule/"+n.Rule())},
			Action: []string{"events:DescribeRule", "events:ListTargetsByRule"}},
		// The controllers' lease: one item, taken and renewed by conditional writes.
		Statement{Sid: "aws.Lease", Effect: "Allow", Resource: []string{arn("dynamodb", "table/"+n.LeaseTable())},
			Action: []string{"dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:UpdateItem"}})
	if m.Workload == manifest.WorkloadECS {
		st = append(st,
			Statement{Sid: "ObserveECS", Effect: "Allow", Resource: []string{"*"}, Action: []string{
				"ecs:ListContainerInstances", "ecs:DescribeContainerInstances", "ecs:ListServices",
				"ecs:DescribeServices", "ecs:ListTasks", "ecs:DescribeTasks"},
				Condition: map[string]any{"ArnEquals": map[string]string{"ecs:cluster": arn("ecs", "cluster/"+n.Cluster())}}},
			Statement{Sid: "Services", Effect: "Allow", Resource: []string{arn("ecs", "service/"+n.Cluster()+"/*")},
				Action: []string{"ecs:UpdateService"}},
			Statement{Sid: "StopTasks", Effect: "Allow", Resource: []string{arn("ecs", "task/"+n.Cluster()+"/*")},
				Action: []string{"ecs:StopTask"}})
		if len(m.Capacity) > 0 {
			st = append(st,
				Statement{Sid: "Drain", Effect: "Allow", Resource: []string{arn("ecs", "container-instance/"+n.Cluster()+"/*")},
					Action: []string{"ecs:UpdateContainerInstancesState"}},
				Statement{Sid: "PassInstanceRole", Effect: "Allow", Resource: []string{fmt.Sprintf("arn:aws:iam::%s:role/%s", account, n.InstanceRole())},
					Action: []string{"iam:PassRole"}})
		}
	}
	return PolicyDocument{Version: "2012-10-17", Statement: st}
}

// JSON is the policy as IAM takes it.
func (p PolicyDocument) JSON() string {
	b, _ := json.MarshalIndent(p, "", "  ")
	return string(b)
}
