package stack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/spotfleet/spotfleet/manifest"
)

// Public SSM parameters of the images spotfleet launches unless the manifest sets one.
const (
	ecsAMIParameter       = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
	instancesAMIParameter = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
)

// discover reads the account, the network and the image, once.
func (s *Stack) discover(ctx context.Context) error {
	if s.env.vpc != "" {
		return nil
	}
	id, err := s.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("who am I (sts GetCallerIdentity): %w; check the AWS credentials and region", err)
	}
	s.env.account = awssdk.ToString(id.Account)
	if len(s.m.Capacity) > 0 { // Fargate needs no image of ours
		if err := s.discoverAMI(ctx); err != nil {
			return err
		}
	}
	return s.discoverNetwork(ctx)
}

// checkCertificates finds each HTTPS listener's certificate in ACM before anything is
// changed (plan and apply; not delete, which must work with the certificate gone): a
// wrong ARN would otherwise stop apply at the listener, with the load balancer and the
// groups made.
func (s *Stack) checkCertificates(ctx context.Context) error {
	seen := map[string]bool{}
	for _, sv := range s.lbServices() {
		arn := sv.LoadBalancer.CertificateArn
		if arn == "" || seen[arn] {
			continue
		}
		seen[arn] = true
		out, err := s.acm.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: &arn})
		var missing *acmtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &missing):
			return fmt.Errorf("service %s: loadBalancer.certificateArn %s is not a certificate in ACM in %s: request or import it there, or fix the ARN", sv.Name, arn, s.env.region)
		case err != nil:
			return fmt.Errorf("service %s: reading certificate %s from ACM: %w", sv.Name, arn, err)
		}
		switch st := out.Certificate.Status; st {
		case acmtypes.CertificateStatusExpired, acmtypes.CertificateStatusRevoked, acmtypes.CertificateStatusFailed,
			acmtypes.CertificateStatusValidationTimedOut, acmtypes.CertificateStatusInactive:
			return fmt.Errorf("service %s: certificate %s is %s in ACM: a listener cannot use it; renew or replace it", sv.Name, arn, st)
		}
	}
	return nil
}

func (s *Stack) discoverNetwork(ctx context.Context) error {
	a := s.m.AWS
	vpcs := &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: awssdk.String("is-default"), Values: []string{"true"}}}}
	if a.VPC != "" {
		vpcs = &ec2.DescribeVpcsInput{VpcIds: []string{a.VPC}}
	}
	vo, err := s.ec2.DescribeVpcs(ctx, vpcs)
	switch {
	case err != nil && a.VPC != "":
		return fmt.Errorf("reading VPC %s (aws.vpc): %w", a.VPC, err)
	case err != nil:
		return fmt.Errorf("finding the default VPC: %w", err)
	case len(vo.Vpcs) == 0:
		return fmt.Errorf("region %s has no default VPC: set aws.vpc and aws.subnets in the manifest", s.env.region)
	}
	vpc, cidr := awssdk.ToString(vo.Vpcs[0].VpcId), awssdk.ToString(vo.Vpcs[0].CidrBlock)
	in := &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: awssdk.String("vpc-id"), Values: []string{vpc}}}}
	if len(a.Subnets) > 0 {
		in.SubnetIds = a.Subnets
	}
	out, err := s.ec2.DescribeSubnets(ctx, in)
	if err != nil {
		return fmt.Errorf("reading the subnets of %s: %w", vpc, err)
	}
	subnets, public := map[string]string{}, len(out.Subnets) > 0
	for _, sn := range out.Subnets {
		z := awssdk.ToString(sn.AvailabilityZone)
		if _, ok := subnets[z]; !ok || awssdk.ToString(sn.SubnetId) < subnets[z] {
			subnets[z] = awssdk.ToString(sn.SubnetId)
		}
		public = public && awssdk.ToBool(sn.MapPublicIpOnLaunch)
	}
	for _, g := range s.m.Capacity {
		for _, z := range g.Zones {
			if subnets[z] == "" {
				return fmt.Errorf("group %s: no subnet of %s in zone %s: set aws.subnets in the manifest, or change the group's zones", g.Name, vpc, z)
			}
		}
	}
	s.env.vpc, s.env.cidr, s.env.subnets, s.env.public = vpc, cidr, subnets, public
	return nil
}

func (s *Stack) discoverAMI(ctx context.Context) error {
	if s.m.AWS.AMI != "" {
		s.env.ami = s.m.AWS.AMI
		return nil
	}
	name := instancesAMIParameter
	if s.m.Workload == manifest.WorkloadECS {
		name = ecsAMIParameter
	}
	out, err := s.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: &name})
	if err != nil {
		return fmt.Errorf("reading the image from SSM parameter %s: %w (or set aws.ami in the manifest)", name, err)
	}
	s.env.ami = awssdk.ToString(out.Parameter.Value)
	return nil
}

// subnetsFor lists the subnets of some zones, in zone order.
func (s *Stack) subnetsFor(zones []string) []string {
	var out []string
	for _, z := range zones {
		if sn := s.env.subnets[z]; sn != "" && !slices.Contains(out, sn) {
			out = append(out, sn)
		}
	}
	return out
}

// taskZones are the zones of the load balancer and the services' tasks: the groups', or
// for a fleet that runs only on Fargate every zone with a subnet (the manifest's
// aws.subnets, or the default VPC's).
func (s *Stack) taskZones() []string {
	if len(s.m.Capacity) > 0 {
		return s.allZones()
	}
	return slices.Sorted(maps.Keys(s.env.subnets))
}

// allZones lists every zone a group uses.
func (s *Stack) allZones() []string {
	var out []string
	for _, g := range s.m.Capacity {
		for _, z := range g.Zones {
			if !slices.Contains(out, z) {
				out = append(out, z)
			}
		}
	}
	slices.Sort(out)
	return out
}
