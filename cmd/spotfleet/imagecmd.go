package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/aws/stack"
	"github.com/spotfleet/spotfleet/image"
)

func newImageCmd() *cobra.Command {
	var to, source, profile, layoutDir, ver string
	var platforms []string
	cmd := &cobra.Command{
		Use:   "image --to REF | --layout DIR [--source DIR] [--platform OS/ARCH ...]",
		Short: "Build the controller's container image without Docker, and push it",
		Long: `Builds the spotfleet controller's container image and pushes it to REF: for each platform a
static build of ./cmd/spotfleet from the source directory (go build, CGO off), the build
host's CA certificates, a non-root user (65532) and ENTRYPOINT ["spotfleet", "controller"],
with OCI labels giving the version; no Docker, no base image to download (go-containerregistry
assembles the layers). The same source gives the same digest.

--source defaults to the spotfleet module around the working directory, else the one this
binary was built from (if it is still there), else its release's source in the Go module
cache; without any, the running binary goes in as it is, when it is a static linux build,
for its own platform alone. REF is any registry: ECR (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME:TAG, logged in with
the AWS credentials through GetAuthorizationToken, into the repository apply creates:
spotfleet outputs prints it), another one
with the credentials of ~/.docker/config.json, or plain HTTP on a loopback address only (a
local test registry). --layout DIR writes the image as an OCI image layout instead (what a
release keeps: .goreleaser.yaml). A Dockerfile beside the source does the same with Docker.`,
		Example: `  spotfleet image --to 123456789012.dkr.ecr.us-east-1.amazonaws.com/web-controller:v1.2.3
  spotfleet image --to 127.0.0.1:5000/web-controller:dev --platform linux/amd64
  spotfleet image --layout dist/image --version v1.2.3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (to == "") == (layoutDir == "") {
				return fmt.Errorf("give --to, the image reference to push to (such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/web-controller:v1), or --layout, a directory to write the image to")
			}
			ctx := cmd.Context()
			o := image.Options{Version: cmp.Or(ver, versionString()), Source: source,
				Log: func(format string, args ...any) { fmt.Fprintf(cmd.ErrOrStderr(), format+"\n", args...) }}
			if o.Source == "" {
				o.Source = findSource(ctx)
			}
			for _, p := range platforms {
				goos, arch, ok := strings.Cut(p, "/")
				if !ok || goos != "linux" || (arch != "amd64" && arch != "arm64") {
					return fmt.Errorf("--platform %q: use linux/amd64 or linux/arm64", p)
				}
				o.Platforms = append(o.Platforms, v1.Platform{OS: goos, Architecture: arch})
			}
			if layoutDir != "" {
				idx, err := image.Build(ctx, o)
				if err == nil {
					err = image.WriteLayout(idx, layoutDir)
				}
				if err != nil {
					return err
				}
				d, err := idx.Digest()
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (index %s)\n", layoutDir, d)
				return nil
			}
			auth, err := registryAuth(ctx, to, profile)
			if err != nil {
				return err
			}
			idx, err := image.Build(ctx, o)
			if err != nil {
				return err
			}
			ref, err := image.Push(ctx, idx, to, auth)
			if err != nil {
				return err
			}
			d, err := idx.Digest()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pushed %s@%s\n", ref.Context().Name(), d)
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the image reference to push to (REGISTRY/REPOSITORY:TAG)")
	cmd.Flags().StringVar(&layoutDir, "layout", "", "write the image as an OCI image layout in this new directory instead of pushing it")
	cmd.Flags().StringVar(&ver, "version", "", "the version the image's label and its binary say (default: this spotfleet's)")
	cmd.Flags().StringVar(&source, "source", "", "the spotfleet source directory to build from (default: the module around the working directory, else the one this binary was built from, else its release's in the Go module cache)")
	cmd.Flags().StringArrayVar(&platforms, "platform", nil, "a platform to build, linux/amd64 or linux/arm64; repeatable (default: both)")
	cmd.Flags().StringVar(&profile, "profile", "", "AWS profile for ECR (default: AWS_PROFILE)")
	return cmd
}

// registryAuth is how to log in to the registry of ref: ECR through the AWS credentials, a
// loopback registry with none, else the Docker config's.
func registryAuth(ctx context.Context, ref, profile string) (authn.Authenticator, error) {
	region, ok := stack.ECRRegion(ref)
	if !ok {
		return nil, nil
	}
	cfg, err := aws.LoadConfig(ctx, region, aws.Options{Region: region, Profile: profile})
	if err != nil {
		return nil, err
	}
	user, password, err := stack.ECRLogin(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &authn.Basic{Username: user, Password: password}, nil
}

// findSource is the spotfleet source to build images from when no --source is given: the
// module around the working directory, the one this binary was built from, or a released
// version's in the module cache (image.FindSource); "" when there is none.
func findSource(ctx context.Context) string {
	wd, _ := os.Getwd()
	return image.FindSource(ctx, wd, versionString())
}

// controllerImage is what apply pushes when the manifest names no controller image: this
// spotfleet for linux/amd64 (the controller runs on FARGATE X86_64), built from its source
// (source, else findSource's) when there is one, else the running binary as it is when it
// is a static linux/amd64 build. Check says before any change whether that can work.
func controllerImage(ctx context.Context, log io.Writer, source string) *stack.ControllerImage {
	if source == "" {
		source = findSource(ctx)
	}
	o := image.Options{Version: versionString(), Source: source, Platforms: []v1.Platform{{OS: "linux", Architecture: "amd64"}},
		Log: func(format string, args ...any) { fmt.Fprintf(log, format+"\n", args...) }}
	return &stack.ControllerImage{Tag: buildTag(), Build: func(ctx context.Context) (v1.ImageIndex, error) { return image.Build(ctx, o) },
		Check: func() error { return image.Check(o) }}
}

// buildTag names this spotfleet's image: its version, or for a development build "dev-"
// and the running binary's hash, so that a rebuilt spotfleet pushes a new image (and apply
// rolls the controller) while the same one pushes nothing.
func buildTag() string {
	if v := versionString(); v != "dev" {
		return invalidTagChars.ReplaceAllString(v, "-")
	}
	h := sha256.New()
	if exe, err := os.Executable(); err == nil {
		if f, err := os.Open(exe); err == nil {
			io.Copy(h, f)
			f.Close()
		}
	}
	return "dev-" + hex.EncodeToString(h.Sum(nil))[:12]
}

var invalidTagChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)
