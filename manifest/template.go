package manifest

import (
	"fmt"
	"reflect"

	"github.com/spotfleet/spotfleet/internal/strictyaml"
)

// SchemaID is where the manifest's JSON Schema is published.
const SchemaID = "https://github.com/spotfleet/spotfleet/manifest/spotfleet.schema.json"

// Schema returns the JSON Schema of the manifest.
func Schema() map[string]any {
	return strictyaml.Schema(reflect.TypeFor[Manifest](), SchemaID, "spotfleet.yaml")
}

// Template returns a complete, commented manifest for the workload that validates as is.
func Template(workload string) (string, error) {
	m, ok := sample()[Workload(workload)]
	if !ok {
		return "", fmt.Errorf("--workload %q: use %s or %s", workload, WorkloadECS, WorkloadInstances)
	}
	header := "# spotfleet.yaml: one fleet on EC2 Spot with On-Demand fallback.\n" +
		"# Check it with: spotfleet validate -f spotfleet.yaml   Reference: docs/manifest.md\n\n"
	// desiredCount does not apply under workload instances: the groups size the fleet.
	// secrets and taskRoleArn are not supported there yet, and Fargate runs no instance.
	return header + strictyaml.Template(m, "instances.desiredCount", "instances.secrets", "instances.taskRoleArn", "instances.cpuArchitecture"), nil
}

func sample() map[Workload]*Manifest {
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	capacity := []CapacityGroup{
		{Name: "spot", InstanceTypes: types("m5.large", "m5a.large", "m5d.large", "m5n.large", "m6i.large", "m7i.large"), Zones: zones,
			MinSize: 0, MaxSize: 10, DesiredCapacity: 2, SpotAllocationStrategy: PriceCapacityOptimized, TargetCapacityPercent: 80},
		{Name: "on-demand", InstanceTypes: types("m5.large", "m6i.large"), Zones: zones, MaxSize: 10,
			OnDemandPercentageAboveBaseCapacity: 100, SpotAllocationStrategy: PriceCapacityOptimized, TargetCapacityPercent: 100},
	}
	hc := HealthCheck{Path: "/healthcheck", Interval: sec(5), Timeout: sec(2), HealthyThreshold: 2, UnhealthyThreshold: 3}
	svc := Service{
		Name: "web", Image: "public.ecr.aws/example/web:latest", Command: []string{"spotfleet", "example-service"},
		Environment: map[string]string{"GREETING": "hello"},
		Port:        5000, CPU: 256, Memory: 512, DesiredCount: 2, MinimumHealthyPercent: 100, MaximumPercent: 200,
		StopTimeout: sec(30), HealthCheckGracePeriod: sec(30), CPUArchitecture: "X86_64",
		CapacityProviderStrategy: []CapacityProviderStrategy{{CapacityProvider: "on-demand", Base: 1, Weight: 1}, {CapacityProvider: "spot", Weight: 1}},
		Logs:                     Logs{RetentionDays: 30},
		LoadBalancer:             &LoadBalancer{ListenerPort: 8080, Protocol: "HTTP", DeregistrationDelay: sec(60), HealthCheck: hc},
		Autoscaling: &Autoscaling{MinCount: 2, MaxCount: 10, TargetTracking: []TargetTracking{
			{Metric: "CPUUtilization", Target: 70, ScaleInCooldown: sec(300), ScaleOutCooldown: sec(60)},
		}},
	}
	fallback := &Fallback{From: "spot", To: "on-demand", After: sec(180), ReturnAfter: sec(300)}
	// No webhook: one in a template would be called on the first run.
	notify := Interruptions{RebalanceMaxPercent: 10, PoolMemory: sec(300)}
	aws := AWS{Controller: AWSController{Deploy: true, Replicas: 2}}
	ecs := &Manifest{Name: "web", Region: "us-east-1", Workload: WorkloadECS, Capacity: capacity, Fallback: fallback,
		Rebalance: RebalanceReplace, Services: []Service{svc}, Interruptions: notify, AWS: aws}

	inst := svc
	inst.DesiredCount, inst.CapacityProviderStrategy = 0, nil
	instCapacity := append([]CapacityGroup(nil), capacity...)
	instCapacity[0].DesiredCapacity, instCapacity[0].MinSize = 2, 2
	instances := &Manifest{Name: "web", Region: "us-east-1", Workload: WorkloadInstances, Capacity: instCapacity, Fallback: fallback,
		Rebalance: RebalanceReplace, Instances: &inst, Interruptions: notify, AWS: aws}
	return map[Workload]*Manifest{WorkloadECS: ecs, WorkloadInstances: instances}
}

func types(names ...string) []InstanceType {
	out := make([]InstanceType, len(names))
	for i, n := range names {
		out[i] = InstanceType{Type: n, Weight: 1}
	}
	return out
}

func sec(n int) Duration { return Duration(int64(n) * 1e9) }
