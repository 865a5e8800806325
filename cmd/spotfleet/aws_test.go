package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/spotfleet/spotfleet/aws"
	"github.com/spotfleet/spotfleet/aws/stack"
	"github.com/spotfleet/spotfleet/internal/testing/imagetest"
	"github.com/spotfleet/spotfleet/internal/testing/motoserver"
)

// TestAWSCommands drives plan, apply, controller's self-check and delete as a user would,
// against moto, with the controller's image built from this source and pushed to an
// in-memory registry (moto has none), then read back.
func TestAWSCommands(t *testing.T) {
	srv, skip := motoserver.Start()
	if srv == nil {
		t.Skip(skip)
	}
	defer srv.Stop()
	srv.Env(t.Setenv)
	file := "../../examples/s2-web-app-spot-instances-alb.yaml"
	host := imagetest.Registry(t)
	runAWS := func(t *testing.T, args ...string) (string, error) {
		if args[0] != "outputs" && args[0] != "controller" {
			args = append(args, "--registry", host)
		}
		return runAWS(t, args...)
	}

	out, err := runAWS(t, "apply", "-f", file)
	if err == nil || !strings.Contains(err.Error(), "--approve") {
		t.Fatalf("apply without a terminal nor --approve: %v\n%s", err, out)
	}
	out, err = runAWS(t, "plan", "-f", file, "--detailed-exitcode")
	if !errors.Is(err, exitStatus{code: 2}) || !strings.Contains(out, "Plan: 20 to create, 0 to update, 0 to delete.") ||
		!strings.Contains(out, "+ create auto-scaling-group s2-web-spot") || !strings.Contains(out, "overrides ") {
		t.Fatalf("plan --detailed-exitcode before apply: %v, want exit status 2\n%s", err, out)
	}
	if out, err = runAWS(t, "apply", "-f", file, "--approve"); err != nil || !strings.Contains(out, "Applied.") ||
		!strings.Contains(out, "service web") || !strings.Contains(out, "elb.amazonaws.com") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if out, err = runAWS(t, "plan", "-f", file, "-o", "json", "--detailed-exitcode"); err != nil || !strings.Contains(out, `"changes": []`) ||
		!strings.Contains(out, `"command": "plan"`) {
		t.Fatalf("plan after apply: %v\n%s", err, out)
	}
	var outputs stack.Outputs
	if out, _, err := run(t, "outputs", "-f", file, "-o", "json"); err != nil || json.Unmarshal([]byte(out), &outputs) != nil ||
		len(outputs.Services) != 1 || !strings.HasPrefix(outputs.Services[0].URL, "http://") || !strings.Contains(outputs.Queue, "s2-web-events") ||
		outputs.ImageRepository != "123456789012.dkr.ecr.us-east-1.amazonaws.com/s2-web-controller" ||
		outputs.Controller != "http://controller.s2-web.spotfleet:7077" {
		t.Fatalf("outputs: %v\n%s", err, out)
	}
	// The image apply built from this source and pushed, read back; its binary runs.
	archs, bin := imagetest.Read(t, host+"/s2-web-controller:"+buildTag(), versionString())
	if len(archs) != 1 {
		t.Fatalf("apply pushed %v; want linux/amd64 alone (the controller runs on X86_64)", archs)
	}
	if runtime.GOARCH == "amd64" {
		if out, err := exec.Command(bin, "healthcheck", "--help").CombinedOutput(); err != nil || !strings.Contains(string(out), "health check") {
			t.Fatalf("the image's spotfleet healthcheck --help: %v\n%s", err, out)
		}
	}

	// An edit of one field plans exactly that field, element by element for a list.
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	edited := filepath.Join(t.TempDir(), "edited.yaml")
	if err := os.WriteFile(edited, bytes.Replace(raw, []byte("[m5.large, "), []byte("[m5.large, c5.large, "), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runAWS(t, "plan", "-f", edited, "--detailed-exitcode")
	if !errors.Is(err, exitStatus{code: 2}) || !strings.Contains(out, "~ update auto-scaling-group s2-web-spot\n    overrides + c5.large:1\n") ||
		!strings.Contains(out, "~ update task-definition s2-web-spotfleet-controller\n    environment:\n") || !strings.Contains(out, "      +   - c5.large\n") ||
		!strings.Contains(out, "Plan: 0 to create, 2 to update, 0 to delete.") {
		t.Fatalf("plan after an edit: %v\n%s", err, out)
	}
	if out, err = runAWS(t, "apply", "-f", file, "--approve"); err != nil || !strings.Contains(out, "No changes") {
		t.Fatalf("second apply: %v\n%s", err, out)
	}

	// The controller refuses to run when events cannot reach it, and says what to do.
	cfg, err := aws.LoadConfig(context.Background(), "us-east-1", aws.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eventbridge.NewFromConfig(cfg).DisableRule(context.Background(), &eventbridge.DisableRuleInput{Name: strPtr("s2-web-spot-events")}); err != nil {
		t.Fatal(err)
	}
	if _, err = runAWS(t, "controller", "-f", file); err == nil || !strings.Contains(err.Error(), "is DISABLED") {
		t.Fatalf("controller with the rule disabled: %v", err)
	}
	// As in its ECS task: no file, the manifest in the environment.
	raw, _ = os.ReadFile(file)
	t.Setenv(aws.ManifestEnv, string(raw))
	if _, err = runAWS(t, "controller"); err == nil || !strings.Contains(err.Error(), "s2-web-spot-events is DISABLED") {
		t.Fatalf("controller with the manifest in %s: %v", aws.ManifestEnv, err)
	}

	// iam-policy: the account from --account, from the credentials, or * with a warning.
	if out, errOut, err := run(t, "iam-policy", "-f", file); err != nil || !strings.Contains(errOut, "warning: no --account") || !strings.Contains(out, ":*:autoScalingGroup") {
		t.Errorf("iam-policy without --account: %v\n%s%s", err, out, errOut)
	}
	if out, errOut, err := run(t, "iam-policy", "-f", file, "--account", "auto"); err != nil || errOut != "" || !strings.Contains(out, ":123456789012:autoScalingGroup") {
		t.Errorf("iam-policy --account auto: %v\n%s%s", err, out, errOut)
	}
	if _, _, err := run(t, "iam-policy", "-f", file, "--account", "12345"); err == nil || !strings.Contains(err.Error(), "12 digits") {
		t.Errorf("iam-policy --account 12345: %v", err)
	}

	if out, err = runAWS(t, "delete", "-f", file, "--approve"); err != nil || !regexp.MustCompile(`Deleted [0-9]+ resources of fleet`).MatchString(out) {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	if out, err = runAWS(t, "outputs", "-f", file); err == nil || !strings.Contains(out+err.Error(), "is on AWS (never applied, or deleted): spotfleet apply") {
		t.Errorf("outputs after delete: %v\n%s", err, out)
	}
	if out, err = runAWS(t, "delete", "-f", file, "--approve"); err != nil || !strings.Contains(out, "nothing to delete") {
		t.Errorf("a second delete says nothing was there: %v\n%s", err, out)
	}

	// A failure part-way (a registry that answers reads but refuses every push) says how far
	// apply went, what failed, and the ways on, each of which exists.
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, http.StatusNotFound)
		default:
			http.Error(w, `{"errors":[{"code":"DENIED","message":"pushes refused"}]}`, http.StatusForbidden)
		}
	}))
	defer refusing.Close()
	stdout, stderr, err := run(t, "apply", "-f", file, "--approve", "--registry", strings.TrimPrefix(refusing.URL, "http://")) // not the test's registry
	out = stdout + stderr
	if err == nil || !regexp.MustCompile(`apply made [0-9]+ of the [0-9]+ changes, then controller-image \S+ failed`).MatchString(err.Error()) ||
		!strings.Contains(err.Error(), "spotfleet delete -f "+file+" --approve") {
		t.Errorf("a failed apply: %v\n%s", err, out)
	}
	if out, err = runAWS(t, "delete", "-f", file, "--approve"); err != nil {
		t.Errorf("delete after a failed apply: %v\n%s", err, out)
	}
	if out, err = runAWS(t, "plan", "-f", file); err != nil || !strings.Contains(out, "Plan: 20 to create, 0 to update, 0 to delete.") {
		t.Fatalf("plan after delete: %v\n%s", err, out)
	}
	if out, err = runAWS(t, "delete", "-f", file, "--approve", "-o", "json"); err != nil || !strings.Contains(out, `"changes": []`) {
		t.Fatalf("a second delete: %v\n%s", err, out)
	}
}

func strPtr(s string) *string { return &s }

func runAWS(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, errOut, err := run(t, args...)
	return out + errOut, err
}

// TestAWSCommandsWithoutCredentials: plan with no credentials anywhere fails at once, in
// one line that says what to set, instead of the SDK's chain of errors.
func TestAWSCommandsWithoutCredentials(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
	t.Setenv("AWS_CONFIG_FILE", empty)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	out, err := runAWS(t, "plan", "-f", "../../examples/s2-web-app-spot-instances-alb.yaml")
	if err == nil || !strings.Contains(err.Error(), "no AWS credentials") || !strings.Contains(err.Error(), "AWS_PROFILE=NAME") {
		t.Fatalf("got %v\n%s", err, out)
	}
}
