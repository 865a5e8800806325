// Package aws is spotfleet's runtime on AWS: the provider the controller runs on
// (aws-sdk-go-v2: the world view and its cache, the calls, the event queue, the lease), and
// what provisioning shares with it (the names, the tag, the configuration, the errors
// explained). Provisioning itself (plan, apply, delete) is aws/stack. Everything spotfleet
// creates is tagged spotfleet:fleet=<name> and named from the fleet's name (Names), so that
// what exists is found again without a state file.
package aws

import (
	"slices"
	"strconv"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/manifest"
)

// FleetTag is the tag every resource spotfleet creates carries, with the fleet's name.
const FleetTag = "spotfleet:fleet"

// Tagged says whether tags, of any AWS service's tag type (kv reads one), include the
// fleet's: what a read finds by name is the fleet's only with it.
func Tagged[T any](tags []T, fleet string, kv func(T) (key, value *string)) bool {
	return slices.ContainsFunc(tags, func(t T) bool {
		k, v := kv(t)
		return awssdk.ToString(k) == FleetTag && awssdk.ToString(v) == fleet
	})
}

// Names derives AWS names from the manifest's, for the provider and for provisioning alike.
// Capacity providers, roles, queues and load balancers are per account or region, so every
// name starts with the fleet's (Prefix).
type Names struct{ Fleet string }

// Prefix starts the name of everything of the fleet's that has another part.
func (n Names) Prefix() string { return n.Fleet + "-" }

// ScalingPolicy names a target tracking policy on metric.
func (n Names) ScalingPolicy(metric string) string { return n.Prefix() + strings.ToLower(metric) }

func (n Names) Group(g string) string          { return n.Prefix() + g }
func (n Names) LaunchTemplate(g string) string { return n.Prefix() + g }
func (n Names) CapacityProvider(g string) string {
	if manifest.IsFargate(g) { // every account's own, by these names
		return g
	}
	return n.Prefix() + g
}
func (n Names) Cluster() string            { return n.Fleet }
func (n Names) TaskFamily(s string) string { return n.Prefix() + s }
func (n Names) LoadBalancer() string       { return n.Fleet }
func (n Names) Queue() string              { return n.Fleet + "-events" }
func (n Names) Rule() string               { return n.Fleet + "-spot-events" }
func (n Names) SecurityGroup() string      { return n.Fleet }
func (n Names) TaskSecurityGroup() string  { return n.Fleet + "-tasks" }
func (n Names) LeaseTable() string         { return n.Fleet + "-lease" }
func (n Names) ControllerRepository() string {
	return n.Fleet + "-controller"
}
func (n Names) ControllerSecurityGroup() string { return n.Fleet + "-controller" }

// The controller's private DNS: a Cloud Map namespace per fleet, its service "controller".
func (n Names) Namespace() string      { return n.Fleet + ".spotfleet" }
func (n Names) ControllerHost() string { return "controller." + n.Namespace() }

func (n Names) InstanceRole() string   { return n.Fleet + "-instance" }
func (n Names) ExecutionRole() string  { return n.Fleet + "-task-execution" }
func (n Names) ControllerRole() string { return n.Fleet + "-controller" }

// groupOf maps an Auto Scaling group or capacity provider name back to the manifest's
// group (FARGATE and FARGATE_SPOT as they are); ok is false for one that is not the fleet's.
func (n Names) GroupOf(aws string) (string, bool) {
	if manifest.IsFargate(aws) {
		return aws, true
	}
	g, ok := strings.CutPrefix(aws, n.Prefix())
	return g, ok && g != ""
}

// ManifestEnv carries the manifest to the controller's tasks, which have no file.
const ManifestEnv = "SPOTFLEET_MANIFEST"

// ControllerURL is where the agents reach the controller, inside the fleet's VPC: its
// private DNS name (Cloud Map) on its port.
func ControllerURL(fleet string) string {
	return "http://" + Names{Fleet: fleet}.ControllerHost() + ":" + strconv.Itoa(spotfleet.ControllerPort)
}
