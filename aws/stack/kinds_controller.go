package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/image"
	"github.com/spotfleet/spotfleet/manifest"
)

// The controller apply runs: an ECS service on FARGATE (never Spot: it must outlive the
// interruptions it handles) in the fleet's cluster, with the task role of iam-policy, its
// own log group, a security group that admits only the VPC on its port, and a private DNS
// name (Cloud Map) that the instances' agents report to and download their binary from.
const (
	// The smallest Fargate size: the controller idles at a few MiB and a few millicores.
	controllerCPU, controllerMemory = 256, 512
	controllerRetentionDays         = 30
)

// ControllerImage is how apply gets the controller's image when the manifest names none:
// Tag names a build (the same tag, the same image), Build makes it, and Check (may be nil)
// says before anything changes why Build could not.
type ControllerImage struct {
	Tag   string
	Build func(ctx context.Context) (v1.ImageIndex, error)
	Check func() error
}

func (s *Stack) deploysController() bool { return s.m.AWS.Controller.Deploy }

// runsECS says whether the stack has an ECS cluster: for the fleet's services, or for the
// controller alone (a fleet of workload instances).
func (s *Stack) runsECS() bool { return s.isECS() || s.deploysController() }

// controllerImageRef is the image the controller's tasks run: the manifest's, or the one
// apply pushes to the fleet's repository (or to Registry, for tests).
func (s *Stack) controllerImageRef() string {
	if img := s.m.AWS.Controller.Image; img != "" {
		return img
	}
	tag := "unbuilt"
	if s.Image != nil {
		tag = s.Image.Tag
	}
	repo := s.repositoryURI()
	if s.Registry != "" {
		repo = s.Registry + "/" + s.n.ControllerRepository()
	}
	return repo + ":" + tag
}

// controllerService is the controller as an ECS service, for the task definition, service
// and log group kinds to make like the fleet's own.
func (s *Stack) controllerService() manifest.Service {
	yaml, _ := s.m.YAML() // the manifest validated, so it renders
	return manifest.Service{Name: manifest.ControllerService, Image: s.controllerImageRef(),
		Command:     []string{"--api", "0.0.0.0:" + strconv.Itoa(spotfleet.ControllerPort)},
		Environment: map[string]string{aws.ManifestEnv: string(yaml), "AWS_REGION": s.env.region},
		Port:        spotfleet.ControllerPort, CPU: controllerCPU, Memory: controllerMemory, CPUArchitecture: "X86_64",
		DesiredCount: s.m.AWS.Controller.Replicas, MinimumHealthyPercent: 50, MaximumPercent: 200,
		StopTimeout:              manifest.Duration(30 * time.Second),
		CapacityProviderStrategy: []manifest.CapacityProviderStrategy{{CapacityProvider: manifest.Fargate, Weight: 1}},
		TaskRoleArn:              fmt.Sprintf("arn:aws:iam::%s:role/%s", s.env.account, s.n.ControllerRole()),
		Logs:                     manifest.Logs{RetentionDays: controllerRetentionDays}}
}

// controllerHealthCheck is the container's: the image has no shell nor curl, so the
// binary asks its own /healthz.
var controllerHealthCheck = []string{"CMD", image.BinaryPath, "healthcheck", "http://127.0.0.1:" + strconv.Itoa(spotfleet.ControllerPort) + "/healthz"}

// The controller's image in its repository, named by the build's tag: apply builds and
// pushes it when the tag is missing, so a second apply of the same spotfleet pushes nothing.
var controllerImageKind = kind{
	name: "controller-image",
	want: func(s *Stack) []Resource {
		if !s.deploysController() || s.m.AWS.Controller.Image != "" {
			return nil
		}
		return []Resource{{Name: s.controllerImageRef(), Fields: map[string]string{"platform": "linux/amd64"}}}
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		if !s.deploysController() || s.m.AWS.Controller.Image != "" {
			return nil, nil
		}
		ref := s.controllerImageRef()
		ok, err := s.imageExists(ctx, ref)
		if err != nil || !ok {
			return nil, err
		}
		return map[string]map[string]string{ref: {"platform": "linux/amd64"}}, nil
	},
	create: pushControllerImage,
	// The tag names the build; pushing it again is the only change there can be.
	update: pushControllerImage,
	remove: func(ctx context.Context, s *Stack, ref string) error {
		if s.Registry == "" {
			tag := tagOf(ref)
			_, err := s.ecr.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: awssdk.String(s.n.ControllerRepository()),
				ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: &tag}}})
			return err
		}
		r, err := name.ParseReference(ref, name.Insecure)
		if err != nil {
			return err
		}
		return remote.Delete(r, remote.WithContext(ctx))
	},
}

// imageExists asks ECR (its API: moto has no registry) or, with Registry, the registry.
func (s *Stack) imageExists(ctx context.Context, ref string) (bool, error) {
	if s.Registry == "" {
		tag := tagOf(ref)
		out, err := s.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: awssdk.String(s.n.ControllerRepository()),
			ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: &tag}}})
		var noImage *ecrtypes.ImageNotFoundException
		var noRepo *ecrtypes.RepositoryNotFoundException
		if errors.As(err, &noImage) || errors.As(err, &noRepo) {
			return false, nil
		}
		return err == nil && len(out.ImageDetails) > 0, err
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return false, err
	}
	_, err = remote.Head(r, remote.WithContext(ctx))
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}

// registryAuth logs in to ECR; another registry (the tests') takes none.
func (s *Stack) registryAuth(ctx context.Context) (authn.Authenticator, error) {
	if s.Registry != "" {
		return authn.Anonymous, nil
	}
	user, password, err := ECRLogin(ctx, s.cfg)
	if err != nil {
		return nil, err
	}
	return &authn.Basic{Username: user, Password: password}, nil
}

// tagOf is an image reference's tag ("" for none).
func tagOf(ref string) string {
	for i := len(ref) - 1; i >= 0 && ref[i] != '/'; i-- {
		if ref[i] == ':' {
			return ref[i+1:]
		}
	}
	return ""
}

// pushControllerImage builds the controller's image and pushes it under the build's tag.
func pushControllerImage(ctx context.Context, s *Stack, r Resource) error {
	if s.Image == nil {
		return errors.New("no controller image to push: set aws.controller.image, or run apply from spotfleet")
	}
	idx, err := s.Image.Build(ctx)
	if err != nil {
		return err
	}
	auth, err := s.registryAuth(ctx)
	if err != nil {
		return err
	}
	_, err = image.Push(ctx, idx, r.Name, auth)
	return err
}
