package stack

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/manifest"
)

// Outputs are what a user of an applied fleet needs to reach it: where each service
// answers, the event queue, the cluster.
type Outputs struct {
	Fleet        string          `json:"fleet"`
	Region       string          `json:"region"`
	LoadBalancer string          `json:"loadBalancer,omitempty"` // its DNS name
	Services     []ServiceOutput `json:"services"`
	Queue        string          `json:"queueUrl,omitempty"`
	Cluster      string          `json:"cluster,omitempty"`
	// ImageRepository is where spotfleet image --to pushes the controller's image.
	ImageRepository string `json:"imageRepository,omitempty"`
	// Controller is where the agents reach the controller service, inside the VPC.
	Controller string `json:"controller,omitempty"`
}

// ServiceOutput is where one service answers; URL is "" for a service with no load
// balancer.
type ServiceOutput struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

// Outputs reads the applied fleet's outputs. A resource that does not exist (yet) is left
// out, so that outputs after a partial apply show what there is.
func (s *Stack) Outputs(ctx context.Context) (*Outputs, error) {
	o := &Outputs{Fleet: s.m.Name, Region: s.env.region, Services: []ServiceOutput{}}
	lb, err := s.loadBalancer(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the load balancer: %w", err)
	}
	if lb != nil {
		o.LoadBalancer = awssdk.ToString(lb.DNSName)
	}
	for _, sv := range s.m.AllServices() {
		out := ServiceOutput{Name: sv.Name}
		if lb != nil && sv.LoadBalancer != nil {
			out.URL = sv.LoadBalancer.URL(o.LoadBalancer, sv.LoadBalancer.ListenerPort)
		}
		o.Services = append(o.Services, out)
	}
	q, err := s.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: awssdk.String(s.n.Queue())})
	switch {
	case err == nil:
		o.Queue = awssdk.ToString(q.QueueUrl)
	case !isNotFound(err):
		return nil, fmt.Errorf("reading the queue: %w", err)
	}
	repo, err := imageRepositoryKind.read(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("reading the image repository: %w", err)
	}
	if _, ok := repo[s.n.ControllerRepository()]; ok {
		if s.env.account == "" { // outputs alone does not discover the account
			id, err := s.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil {
				return nil, fmt.Errorf("who am I (sts GetCallerIdentity): %w", err)
			}
			s.env.account = awssdk.ToString(id.Account)
		}
		o.ImageRepository = s.repositoryURI()
	}
	if s.runsECS() {
		have, err := clusterKind.read(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("reading the cluster: %w", err)
		}
		if _, ok := have[s.n.Cluster()]; ok {
			o.Cluster = s.n.Cluster()
		}
		svcs, err := serviceKind.read(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("reading the services: %w", err)
		}
		if _, ok := svcs[manifest.ControllerService]; ok {
			o.Controller = aws.ControllerURL(s.m.Name)
		}
	}
	return o, nil
}
