package stack

import (
	"context"
	"errors"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/spotfleet/spotfleet/aws"
)

// imageLifecycle keeps the controller repository's last 10 images: a push per release,
// and room to roll back.
const imageLifecycle = `{"rules":[{"rulePriority":1,"description":"keep the last 10 images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}]}`

// The controller's image repository, `spotfleet image --to` pushes to it: scanned on push,
// its old images expired. delete removes it with its images.
var imageRepositoryKind = kind{
	name: "image-repository",
	want: func(s *Stack) []Resource {
		return []Resource{{Name: s.n.ControllerRepository(), Fields: map[string]string{"scanOnPush": "true", "lifecycle": docHash(imageLifecycle)}}}
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		name := s.n.ControllerRepository()
		out, err := s.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
		var nf *ecrtypes.RepositoryNotFoundException
		if errors.As(err, &nf) {
			return nil, nil
		}
		if err != nil || len(out.Repositories) == 0 {
			return nil, err
		}
		r := out.Repositories[0]
		tags, err := s.ecr.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: r.RepositoryArn})
		if err != nil {
			return nil, err
		}
		if !aws.Tagged(tags.Tags, s.m.Name, func(t ecrtypes.Tag) (*string, *string) { return t.Key, t.Value }) {
			return nil, nil
		}
		f := map[string]string{"scanOnPush": "false", "lifecycle": ""}
		if c := r.ImageScanningConfiguration; c != nil && c.ScanOnPush {
			f["scanOnPush"] = "true"
		}
		lp, err := s.ecr.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: &name})
		var none *ecrtypes.LifecyclePolicyNotFoundException
		switch {
		case err == nil:
			f["lifecycle"] = docHash(awssdk.ToString(lp.LifecyclePolicyText))
		case !errors.As(err, &none):
			return nil, err
		}
		return map[string]map[string]string{name: f}, nil
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		if _, err := s.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: &r.Name,
			ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true},
			Tags:                       []ecrtypes.Tag{{Key: awssdk.String(aws.FleetTag), Value: awssdk.String(s.m.Name)}}}); err != nil {
			return err
		}
		return putLifecycle(ctx, s, r.Name)
	},
	update: func(ctx context.Context, s *Stack, r Resource) error {
		if _, err := s.ecr.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{RepositoryName: &r.Name,
			ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true}}); err != nil {
			return err
		}
		return putLifecycle(ctx, s, r.Name)
	},
	remove: func(ctx context.Context, s *Stack, name string) error {
		_, err := s.ecr.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: &name, Force: true})
		return err
	},
}

func putLifecycle(ctx context.Context, s *Stack, name string) error {
	_, err := s.ecr.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: &name, LifecyclePolicyText: awssdk.String(imageLifecycle)})
	return err
}

// repositoryURI is where the controller's images go: ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME.
func (s *Stack) repositoryURI() string {
	return s.env.account + ".dkr.ecr." + s.env.region + ".amazonaws.com/" + s.n.ControllerRepository()
}
