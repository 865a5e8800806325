package stack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/aws/smithy-go"
	"github.com/spotfleet/spotfleet/aws"
)

// controllerRecordTTL is the DNS TTL of the controller's addresses: short, so that an agent
// finds a replaced task within seconds.
const controllerRecordTTL = 10

// The controller's private DNS name, controller.<name>.spotfleet in the fleet's VPC: a Cloud
// Map namespace with one service, which ECS keeps to the running tasks' addresses (one A
// record each). Agents try each address: a follower answers 503, the leader takes the report.
var discoveryKind = kind{
	name: "service-discovery",
	want: func(s *Stack) []Resource {
		if !s.deploysController() {
			return nil
		}
		return []Resource{{Name: s.n.Namespace(), Fields: map[string]string{"services": "controller"}}}
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		ns, err := s.namespace(ctx)
		if err != nil || ns == nil {
			return nil, err
		}
		svcs, err := s.discoveryServices(ctx, awssdk.ToString(ns.Id))
		if err != nil {
			return nil, err
		}
		var names []string
		for _, sv := range svcs {
			names = append(names, awssdk.ToString(sv.Name))
		}
		slices.Sort(names)
		return map[string]map[string]string{s.n.Namespace(): {"services": join(names)}}, nil
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		out, err := s.sd.CreatePrivateDnsNamespace(ctx, &servicediscovery.CreatePrivateDnsNamespaceInput{Name: &r.Name, Vpc: &s.env.vpc,
			Description: awssdk.String("spotfleet fleet " + s.m.Name + ": the controller's address"),
			Tags:        []sdtypes.Tag{{Key: awssdk.String(aws.FleetTag), Value: awssdk.String(s.m.Name)}}})
		switch {
		case err == nil:
			if err := s.waitOperation(ctx, awssdk.ToString(out.OperationId)); err != nil {
				return err
			}
		case alreadyMade(err):
			// The SDK retried a create whose first attempt went through (its answer was
			// lost): AWS answers the retry, which carries the same request ID, with the same
			// operation; moto refuses it. The namespace is ours if it carries our tag.
			if ns, lerr := s.namespace(ctx); lerr != nil || ns == nil {
				return err
			}
		default:
			return err
		}
		return discoveryServices(ctx, s, r)
	},
	update: discoveryServices,
	remove: func(ctx context.Context, s *Stack, name string) error {
		ns, err := s.namespace(ctx)
		if err != nil || ns == nil {
			return err
		}
		svcs, err := s.discoveryServices(ctx, awssdk.ToString(ns.Id))
		if err != nil {
			return err
		}
		for _, sv := range svcs {
			if err := s.deleteDiscoveryService(ctx, sv.Id); stepDone(err) != nil {
				return err
			}
		}
		out, err := s.sd.DeleteNamespace(ctx, &servicediscovery.DeleteNamespaceInput{Id: ns.Id})
		if err != nil {
			return err
		}
		return s.waitOperation(ctx, awssdk.ToString(out.OperationId))
	},
}

// deleteDiscoveryService deletes a Cloud Map service once ECS has deregistered the stopped
// tasks' addresses from it, which it does some seconds after the ECS service is deleted.
func (s *Stack) deleteDiscoveryService(ctx context.Context, id *string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for {
		_, err := s.sd.DeleteService(ctx, &servicediscovery.DeleteServiceInput{Id: id})
		var inUse *sdtypes.ResourceInUse
		if !errors.As(err, &inUse) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the controller's addresses are still registered: %w", err)
		case <-time.After(5 * time.Second):
		}
	}
}

// discoveryServices creates the namespace's controller service when it is missing.
func discoveryServices(ctx context.Context, s *Stack, r Resource) error {
	ns, err := s.namespace(ctx)
	if err != nil {
		return err
	}
	if ns == nil {
		return fmt.Errorf("namespace %s not found", r.Name)
	}
	svcs, err := s.discoveryServices(ctx, awssdk.ToString(ns.Id))
	if err != nil || len(svcs) > 0 {
		return err
	}
	_, err = s.sd.CreateService(ctx, &servicediscovery.CreateServiceInput{Name: awssdk.String("controller"), NamespaceId: ns.Id,
		DnsConfig: &sdtypes.DnsConfig{RoutingPolicy: sdtypes.RoutingPolicyMultivalue,
			DnsRecords: []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeA, TTL: awssdk.Int64(controllerRecordTTL)}}},
		// ECS reports the tasks' health: an unhealthy task's address leaves the answers.
		HealthCheckCustomConfig: &sdtypes.HealthCheckCustomConfig{},
		Tags:                    []sdtypes.Tag{{Key: awssdk.String(aws.FleetTag), Value: awssdk.String(s.m.Name)}}})
	if alreadyMade(err) { // a retried create whose first attempt went through
		return nil
	}
	return err
}

// alreadyMade says a create was refused because what it creates exists.
func alreadyMade(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "ConflictingDomainExists", "NamespaceAlreadyExists", "ServiceAlreadyExists":
		return true
	}
	return false
}

// namespace is the fleet's namespace, nil when there is none (or only someone else's of the
// same name).
func (s *Stack) namespace(ctx context.Context) (*sdtypes.NamespaceSummary, error) {
	p := servicediscovery.NewListNamespacesPaginator(s.sd, &servicediscovery.ListNamespacesInput{
		Filters: []sdtypes.NamespaceFilter{{Name: sdtypes.NamespaceFilterNameType, Values: []string{string(sdtypes.NamespaceTypeDnsPrivate)}}}})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, ns := range out.Namespaces {
			if awssdk.ToString(ns.Name) != s.n.Namespace() {
				continue
			}
			tags, err := s.sd.ListTagsForResource(ctx, &servicediscovery.ListTagsForResourceInput{ResourceARN: ns.Arn})
			if err != nil {
				return nil, err
			}
			if aws.Tagged(tags.Tags, s.m.Name, func(t sdtypes.Tag) (*string, *string) { return t.Key, t.Value }) {
				return &ns, nil
			}
		}
	}
	return nil, nil
}

func (s *Stack) discoveryServices(ctx context.Context, namespace string) ([]sdtypes.ServiceSummary, error) {
	out, err := s.sd.ListServices(ctx, &servicediscovery.ListServicesInput{Filters: []sdtypes.ServiceFilter{
		{Name: sdtypes.ServiceFilterNameNamespaceId, Values: []string{namespace}, Condition: sdtypes.FilterConditionEq}}})
	if err != nil {
		return nil, err
	}
	return out.Services, nil
}

// controllerRegistry is the ARN of the controller's discovery service, for ECS to register
// its tasks in.
func (s *Stack) controllerRegistry(ctx context.Context) (string, error) {
	ns, err := s.namespace(ctx)
	if err != nil {
		return "", err
	}
	if ns != nil {
		svcs, err := s.discoveryServices(ctx, awssdk.ToString(ns.Id))
		if err != nil {
			return "", err
		}
		for _, sv := range svcs {
			if awssdk.ToString(sv.Name) == "controller" {
				return awssdk.ToString(sv.Arn), nil
			}
		}
	}
	return "", fmt.Errorf("the controller's discovery service in %s not found", s.n.Namespace())
}

// waitOperation waits for a Cloud Map operation (a namespace is made or removed
// asynchronously: a minute or so on AWS).
func (s *Stack) waitOperation(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for {
		out, err := s.sd.GetOperation(ctx, &servicediscovery.GetOperationInput{OperationId: &id})
		if err != nil {
			return err
		}
		switch out.Operation.Status {
		case sdtypes.OperationStatusSuccess:
			return nil
		case sdtypes.OperationStatusFail:
			return fmt.Errorf("Cloud Map operation %s failed: %s", id, awssdk.ToString(out.Operation.ErrorMessage))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("Cloud Map operation %s: %w", id, ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
}
