package stack

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/internal/testing/imagetest"
	"github.com/spotfleet/spotfleet/manifest"
)

// TestControllerService: apply builds the controller's image once per tag and pushes it
// (here to an in-memory registry, read back through its API), and runs the controller as
// an ECS service on FARGATE with the replicas, its task role, log group, health check,
// security group (the VPC only), private DNS name and the manifest; the instances' user
// data installs the agent. A second apply does nothing, a new build rolls the service to a
// new revision, delete removes it all (the image too), and deploy: false makes none of it.
// For every example (S2 is of workload instances: a cluster for the controller alone).
func TestControllerService(t *testing.T) {
	for _, file := range examples {
		t.Run(file, func(t *testing.T) {
			cfg := moto(t, nil)
			ctx := context.Background()
			host := imagetest.Registry(t)
			m := example(t, file)
			m.AWS.Controller.Image = ""
			builds := 0
			var built v1.ImageIndex
			stack := func(tag string) *Stack {
				s := NewStack(cfg, m)
				s.Registry = host
				s.Image = &ControllerImage{Tag: tag, Build: func(context.Context) (v1.ImageIndex, error) {
					builds++
					var err error
					built, err = random.Index(256, 1, 1)
					return built, err
				}}
				return s
			}
			first := plan(t, stack("t1"))
			for _, want := range []string{"controller-image/" + host + "/" + m.Name + "-controller:t1", "service-discovery/" + m.Name + ".spotfleet",
				"controller-security-group/" + m.Name + "-controller", "log-group//spotfleet/" + m.Name + "/spotfleet-controller",
				"task-definition/" + m.Name + "-spotfleet-controller", "ecs-service/spotfleet-controller", "ecs-cluster/" + m.Name} {
				if !slices.ContainsFunc(first, func(c Change) bool { return c.Action == "create" && c.Kind+"/"+c.Name == want }) {
					t.Errorf("the plan does not create %s", want)
				}
			}
			applyPlan(t, stack("t1"), first)
			ref := host + "/" + m.Name + "-controller:t1"
			r, _ := name.ParseReference(ref, name.Insecure)
			pushed, err := remote.Index(r)
			if err != nil {
				t.Fatalf("the image is not in the registry: %v", err)
			}
			if d1, _ := pushed.Digest(); builds != 1 || d1 != must(built.Digest()) {
				t.Fatalf("%d builds; pushed %v", builds, d1)
			}

			ec := ecs.NewFromConfig(cfg)
			svcs, err := ec.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &m.Name, Services: []string{manifest.ControllerService}})
			if err != nil || len(svcs.Services) != 1 {
				t.Fatalf("the controller service: %v %+v", err, svcs)
			}
			sv := svcs.Services[0]
			if sv.DesiredCount != 2 || len(sv.ServiceRegistries) != 1 {
				t.Errorf("desired %d, registries %+v", sv.DesiredCount, sv.ServiceRegistries)
			}
			// The default VPC's subnets route out through an internet gateway only for a
			// task with a public address: without one it could not pull its image.
			if nc := sv.NetworkConfiguration; nc == nil || nc.AwsvpcConfiguration.AssignPublicIp != ecstypes.AssignPublicIpEnabled {
				t.Errorf("network configuration %+v", nc)
			}
			td, err := ec.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: sv.TaskDefinition})
			if err != nil {
				t.Fatal(err)
			}
			c := td.TaskDefinition.ContainerDefinitions[0]
			env := map[string]string{}
			for _, e := range c.Environment {
				env[awssdk.ToString(e.Name)] = awssdk.ToString(e.Value)
			}
			carried, diags := manifest.Parse("env", []byte(env[aws.ManifestEnv]))
			switch {
			case awssdk.ToString(c.Image) != ref:
				t.Errorf("image %s, want %s", awssdk.ToString(c.Image), ref)
			case diags.Err() != nil || carried.Name != m.Name || len(carried.Capacity) != len(m.Capacity):
				t.Errorf("the manifest in %s: %v", aws.ManifestEnv, diags.Err())
			case !slices.Equal(td.TaskDefinition.RequiresCompatibilities, []ecstypes.Compatibility{ecstypes.CompatibilityFargate}):
				t.Errorf("compatibilities %v", td.TaskDefinition.RequiresCompatibilities)
			case !strings.HasSuffix(awssdk.ToString(td.TaskDefinition.TaskRoleArn), ":role/"+m.Name+"-controller"):
				t.Errorf("task role %s", awssdk.ToString(td.TaskDefinition.TaskRoleArn))
			case c.HealthCheck == nil || !slices.Contains(c.HealthCheck.Command, "http://127.0.0.1:7077/healthz"):
				t.Errorf("health check %+v", c.HealthCheck)
			case c.LogConfiguration.Options["awslogs-group"] != "/spotfleet/"+m.Name+"/spotfleet-controller":
				t.Errorf("logs %v", c.LogConfiguration.Options)
			}
			logs, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: awssdk.String("/spotfleet/" + m.Name + "/spotfleet-controller")})
			if err != nil || len(logs.LogGroups) != 1 || awssdk.ToInt32(logs.LogGroups[0].RetentionInDays) != 30 {
				t.Errorf("the controller's log group: %v %+v", err, logs)
			}

			e2 := ec2.NewFromConfig(cfg)
			sgs, err := e2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: fleetFilter(m.Name)})
			if err != nil {
				t.Fatal(err)
			}
			vpcs, _ := e2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
			for _, g := range sgs.SecurityGroups {
				if awssdk.ToString(g.GroupName) != m.Name+"-controller" {
					continue
				}
				p := g.IpPermissions
				if len(p) != 1 || awssdk.ToInt32(p[0].FromPort) != 7077 || len(p[0].IpRanges) != 1 || len(p[0].UserIdGroupPairs) != 0 ||
					awssdk.ToString(p[0].IpRanges[0].CidrIp) != awssdk.ToString(vpcs.Vpcs[0].CidrBlock) {
					t.Errorf("the controller's group lets in %+v; want 7077 from the VPC only", p)
				}
			}
			nss, err := servicediscovery.NewFromConfig(cfg).ListNamespaces(ctx, &servicediscovery.ListNamespacesInput{})
			if err != nil || len(nss.Namespaces) != 1 || awssdk.ToString(nss.Namespaces[0].Name) != m.Name+".spotfleet" {
				t.Errorf("namespaces: %v %+v", err, nss)
			}
			if len(m.Capacity) > 0 { // a fleet on Fargate alone has no instance to run an agent on
				lts, err := e2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: awssdk.String(m.Name + "-" + m.Capacity[0].Name), Versions: []string{"$Latest"}})
				if err != nil {
					t.Fatal(err)
				}
				ud, _ := base64.StdEncoding.DecodeString(awssdk.ToString(lts.LaunchTemplateVersions[0].LaunchTemplateData.UserData))
				if !strings.Contains(string(ud), "spotfleet agent --controller-url http://controller."+m.Name+".spotfleet:7077") ||
					!strings.Contains(string(ud), "/v1/agent/linux/$$(uname -m)") {
					t.Errorf("the user data runs no agent:\n%s", ud)
				}
			}
			if again := plan(t, stack("t1")); len(again) > 0 || builds != 1 {
				t.Fatalf("a second plan: %+v (%d builds)", again, builds)
			}

			// More replicas: the plan says 2 → 3 (and the controller's task definition carries
			// the new manifest), apply sets it, and the next plan has nothing.
			m.AWS.Controller.Replicas = 3
			more := plan(t, stack("t1"))
			if !slices.ContainsFunc(more, func(c Change) bool {
				return c.Kind == "ecs-service" && c.Name == manifest.ControllerService && slices.ContainsFunc(c.Diffs, func(d Diff) bool {
					return d.Field == "desiredCount" && d.From == "2" && d.To == "3"
				})
			}) {
				t.Fatalf("the plan for 3 replicas: %+v", more)
			}
			// The manifest the controller carries is compared by its hash, and shown as text.
			if !slices.ContainsFunc(more, func(c Change) bool {
				return c.Kind == "task-definition" && slices.ContainsFunc(c.Diffs, func(d Diff) bool {
					return d.Field == "environment" && strings.Contains(d.ToText, "replicas: 3") && d.FromText != "" && !strings.Contains(d.FromText, "replicas: 3")
				})
			}) {
				t.Errorf("the plan does not show the manifest's text: %+v", more)
			}
			applyPlan(t, stack("t1"), more)
			svcs, _ = ec.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &m.Name, Services: []string{manifest.ControllerService}})
			if n := svcs.Services[0].DesiredCount; n != 3 {
				t.Errorf("after apply the controller service wants %d tasks, want 3", n)
			}
			if again := plan(t, stack("t1")); len(again) > 0 {
				t.Errorf("a plan after the replicas applied: %+v", again)
			}

			// A new build: pushed, a new revision, and the service moved to it.
			next := plan(t, stack("t2"))
			applyPlan(t, stack("t2"), next)
			if builds != 2 {
				t.Errorf("%d builds after a new tag", builds)
			}
			svcs, _ = ec.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &m.Name, Services: []string{manifest.ControllerService}})
			td, _ = ec.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svcs.Services[0].TaskDefinition})
			if img := awssdk.ToString(td.TaskDefinition.ContainerDefinitions[0].Image); !strings.HasSuffix(img, ":t2") {
				t.Errorf("after the new build the service runs %s", img)
			}

			if err := stack("t2").Delete(ctx, func(Change, error, bool) {}); err != nil {
				t.Fatal(err)
			}
			for _, tag := range []string{"t1", "t2"} {
				r, _ := name.ParseReference(host+"/"+m.Name+"-controller:"+tag, name.Insecure)
				if _, err := remote.Head(r); err == nil && tag == "t2" {
					t.Errorf("the image %s is left after delete", tag)
				}
			}
			if nss, _ := servicediscovery.NewFromConfig(cfg).ListNamespaces(ctx, &servicediscovery.ListNamespacesInput{}); len(nss.Namespaces) != 0 {
				t.Errorf("namespaces left: %+v", nss.Namespaces)
			}
			if left := tagged(t, cfg, m.Name); len(left) > 0 {
				t.Errorf("tagged resources left after delete: %v", left)
			}

			m.AWS.Controller.Deploy = false
			for _, c := range plan(t, stack("t1")) {
				if strings.HasPrefix(c.Kind, "controller-") || strings.Contains(c.Name, manifest.ControllerService) || c.Kind == "service-discovery" {
					t.Errorf("with deploy: false the plan has %s %s", c.Kind, c.Name)
				}
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestDiscoveryCreateIsRetrySafe: a create of the controller's namespace retried after its
// first attempt went through (the SDK retries a call whose answer it lost) finds the
// namespace made and goes on; someone else's namespace in the way is still an error.
func TestDiscoveryCreateIsRetrySafe(t *testing.T) {
	cfg := moto(t, nil)
	ctx := context.Background()
	m := example(t, "s2-web-app-spot-instances-alb.yaml")
	s := NewStack(cfg, m)
	if err := s.discover(ctx); err != nil {
		t.Fatal(err)
	}
	r := discoveryKind.want(s)[0]
	if err := discoveryKind.create(ctx, s, r); err != nil {
		t.Fatal(err)
	}
	if err := discoveryKind.create(ctx, s, r); err != nil {
		t.Fatalf("a second create of our namespace: %v", err)
	}
	other := example(t, "s0-ecs-spot-capacity-provider.yaml")
	so := NewStack(cfg, other)
	if err := so.discover(ctx); err != nil {
		t.Fatal(err)
	}
	if err := discoveryKind.create(ctx, so, discoveryKind.want(so)[0]); err == nil {
		t.Fatal("moto let a second namespace into the VPC: the retry test above shows nothing")
	}
}
