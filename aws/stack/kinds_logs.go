package stack

import (
	"context"
	"strconv"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/spotfleet/spotfleet/aws"
)

// A log group per ECS service (a fallback companion writes to the group of the service it
// covers) and the controller's, with the service's retention. Tasks write to it with the awslogs driver.
var logGroupKind = kind{
	name: "log-group",
	want: func(s *Stack) []Resource {
		var out []Resource
		for _, sv := range s.taskServices() {
			out = append(out, Resource{Name: s.m.LogGroup(sv), Fields: map[string]string{"retentionDays": strconv.Itoa(sv.Logs.RetentionDays)}})
		}
		return out
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		got := map[string]map[string]string{}
		for _, sv := range s.taskServices() {
			name := s.m.LogGroup(sv)
			out, err := s.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: &name})
			if err != nil {
				return nil, err
			}
			for _, g := range out.LogGroups {
				if awssdk.ToString(g.LogGroupName) != name {
					continue
				}
				tags, err := s.logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: awssdk.String(strings.TrimSuffix(awssdk.ToString(g.Arn), ":*"))})
				if err != nil {
					return nil, err
				}
				if tags.Tags[aws.FleetTag] != s.m.Name {
					continue // someone else's group of the same name
				}
				got[name] = map[string]string{"retentionDays": strconv.Itoa(int(awssdk.ToInt32(g.RetentionInDays)))}
			}
		}
		return got, nil
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		if _, err := s.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &r.Name, Tags: map[string]string{aws.FleetTag: s.m.Name}}); err != nil {
			return err
		}
		return putRetention(ctx, s, r)
	},
	update: putRetention,
	remove: func(ctx context.Context, s *Stack, name string) error {
		_, err := s.logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: &name})
		return err
	},
}

func putRetention(ctx context.Context, s *Stack, r Resource) error {
	_, err := s.logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: &r.Name, RetentionInDays: atoi32(r.Fields["retentionDays"])})
	return err
}
