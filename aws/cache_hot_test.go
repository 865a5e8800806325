package aws

import (
	"maps"
	"slices"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestHot checks, rule by rule, which instances and tasks a round re-reads.
func TestHot(t *testing.T) {
	const (
		ciArn   = "arn:aws:ecs:us-east-1:1:container-instance/c/abc"
		taskArn = "arn:aws:ecs:us-east-1:1:task/c/0123"
		fgArn   = "arn:aws:ecs:us-east-1:1:task/c/fffe"
	)
	base := func() *cache {
		c := &cache{ecs: true,
			inst: map[string]ec2types.Instance{
				"i-run":     instance("i-run", ec2types.InstanceStateNameRunning, "10.0.0.1"),
				"i-pending": instance("i-pending", ec2types.InstanceStateNamePending, "10.0.0.2"),
				"i-bare":    instance("i-bare", ec2types.InstanceStateNameRunning, "10.0.0.3"), // no container instance yet
			},
			cis: map[string]ecstypes.ContainerInstance{
				"i-run":     {ContainerInstanceArn: awssdk.String(ciArn), Ec2InstanceId: awssdk.String("i-run")},
				"i-pending": {ContainerInstanceArn: awssdk.String("arn:aws:ecs:us-east-1:1:container-instance/c/def"), Ec2InstanceId: awssdk.String("i-pending")},
			},
			tasks: map[string]ecstypes.Task{
				taskArn: task(taskArn, ciArn, "10.0.1.1"),
				fgArn:   task(fgArn, "", "10.0.2.1"),
			},
			members: map[string]string{"i-run": "g/InService/Healthy", "i-pending": "g/Pending/Healthy", "i-gone": "g/InService/Healthy"},
			targets: map[string]string{"tg i-run:80": "healthy", "tg 10.0.1.1:80": "healthy", "tg 10.0.2.1:80": "healthy"},
		}
		return c
	}
	always := []string{"i-bare", "i-pending", "i-gone"} // a passing state, no container instance, left its group
	members := map[string]string{"i-run": "g/InService/Healthy", "i-pending": "g/Pending/Healthy"}
	same := func(c *cache) map[string]string { return maps.Clone(c.targets) }
	cases := []struct {
		name     string
		dirty    []string
		members  map[string]string
		targets  func(map[string]string)
		hot      []string
		tasks    []string
		unplaced bool
	}{
		{name: "quiet", hot: always},
		{name: "named by the controller", dirty: []string{"i-run", "0123"}, hot: append([]string{"i-run"}, always...), tasks: []string{taskArn}},
		{name: "its container instance drained", dirty: []string{ciArn}, hot: append([]string{"i-run"}, always...)},
		{name: "unhealthy in its group", members: map[string]string{"i-run": "g/InService/Unhealthy", "i-pending": "g/Pending/Healthy"}, hot: append([]string{"i-run"}, always...)},
		{name: "its target draining", targets: func(m map[string]string) { m["tg i-run:80"] = "draining" }, hot: append([]string{"i-run"}, always...)},
		{name: "a task's target draining", targets: func(m map[string]string) { m["tg 10.0.1.1:80"] = "draining" }, hot: append([]string{"i-run"}, always...)},
		{name: "a Fargate task's target gone", targets: func(m map[string]string) { delete(m, "tg 10.0.2.1:80") }, hot: always, tasks: []string{fgArn}},
		{name: "a target nobody knows", targets: func(m map[string]string) { m["tg 10.9.9.9:80"] = "initial" }, hot: always, unplaced: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			dirty := map[string]bool{}
			for _, id := range tc.dirty {
				dirty[id] = true
			}
			m := members
			if tc.members != nil {
				m = tc.members
			}
			tg := same(c)
			if tc.targets != nil {
				tc.targets(tg)
			}
			hot, tasks, unplaced := c.hot(dirty, m, tg)
			if got, want := slices.Sorted(maps.Keys(hot)), slices.Sorted(slices.Values(tc.hot)); !slices.Equal(got, want) {
				t.Errorf("hot instances %v; want %v", got, want)
			}
			if got, want := slices.Sorted(maps.Keys(tasks)), slices.Sorted(slices.Values(tc.tasks)); !slices.Equal(got, want) {
				t.Errorf("tasks to re-read %v; want %v", got, want)
			}
			if unplaced != tc.unplaced {
				t.Errorf("unplaced %v; want %v", unplaced, tc.unplaced)
			}
		})
	}
}

func instance(id string, state ec2types.InstanceStateName, ip string) ec2types.Instance {
	return ec2types.Instance{InstanceId: awssdk.String(id), State: &ec2types.InstanceState{Name: state}, PrivateIpAddress: awssdk.String(ip)}
}

func task(arn, ci, ip string) ecstypes.Task {
	t := ecstypes.Task{TaskArn: awssdk.String(arn), LastStatus: awssdk.String("RUNNING"),
		Attachments: []ecstypes.Attachment{{Details: []ecstypes.KeyValuePair{{Name: awssdk.String("privateIPv4Address"), Value: awssdk.String(ip)}}}}}
	if ci != "" {
		t.ContainerInstanceArn = awssdk.String(ci)
	}
	return t
}
