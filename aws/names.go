// Package aws is spotfleet on AWS: the provider the controller runs on (aws-sdk-go-v2),
// and the provisioning of a manifest's stack (plan, apply, delete). Everything it creates
// is tagged spotfleet:fleet=<name> and named from the fleet's name, so that what exists is
// found again without a state file.
package aws

import (
	"slices"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"

	"github.com/spotfleet/spotfleet/manifest"
)

// FleetTag is the tag every resource spotfleet creates carries, with the fleet's name.
const FleetTag = "spotfleet:fleet"

// fleetTagged says whether tags, of any AWS service's tag type (kv reads one), include the
// fleet's: what a read finds by name is the fleet's only with it.
func fleetTagged[T any](tags []T, fleet string, kv func(T) (key, value *string)) bool {
	return slices.ContainsFunc(tags, func(t T) bool {
		k, v := kv(t)
		return awssdk.ToString(k) == FleetTag && awssdk.ToString(v) == fleet
	})
}

// names derives AWS names from the manifest's. Capacity providers, roles, queues and
// load balancers are per account or region, so every name starts with the fleet's.
type names struct{ fleet string }

func (n names) group(g string) string          { return n.fleet + "-" + g }
func (n names) launchTemplate(g string) string { return n.fleet + "-" + g }
func (n names) capacityProvider(g string) string {
	if manifest.IsFargate(g) { // every account's own, by these names
		return g
	}
	return n.fleet + "-" + g
}
func (n names) cluster() string            { return n.fleet }
func (n names) taskFamily(s string) string { return n.fleet + "-" + s }
func (n names) loadBalancer() string       { return n.fleet }
func (n names) queue() string              { return n.fleet + "-events" }
func (n names) rule() string               { return n.fleet + "-spot-events" }
func (n names) securityGroup() string      { return n.fleet }
func (n names) taskSecurityGroup() string  { return n.fleet + "-tasks" }
func (n names) leaseTable() string         { return n.fleet + "-lease" }
func (n names) controllerRepository() string {
	return n.fleet + "-controller"
}
func (n names) controllerSecurityGroup() string { return n.fleet + "-controller" }

// The controller's private DNS: a Cloud Map namespace per fleet, its service "controller".
func (n names) namespace() string      { return n.fleet + ".spotfleet" }
func (n names) controllerHost() string { return "controller." + n.namespace() }

func (n names) instanceRole() string   { return n.fleet + "-instance" }
func (n names) executionRole() string  { return n.fleet + "-task-execution" }
func (n names) controllerRole() string { return n.fleet + "-controller" }

// groupOf maps an Auto Scaling group or capacity provider name back to the manifest's
// group (FARGATE and FARGATE_SPOT as they are); ok is false for one that is not the fleet's.
func (n names) groupOf(aws string) (string, bool) {
	if manifest.IsFargate(aws) {
		return aws, true
	}
	g, ok := strings.CutPrefix(aws, n.fleet+"-")
	return g, ok && g != ""
}
