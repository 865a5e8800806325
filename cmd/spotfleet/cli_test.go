package main

import (
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spotfleet/spotfleet/aws/stack"

	"github.com/spf13/cobra"

	"github.com/spotfleet/spotfleet/manifest"
)

// run executes the CLI in-process and returns stdout, stderr and the error.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func TestValidateExamplesAndRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.yaml")
	if len(files) < 5 {
		t.Fatalf("examples: %v", files)
	}
	for _, f := range files {
		out, errOut, err := run(t, "validate", "-f", f)
		if err != nil || errOut != "" || !strings.Contains(out, "is valid") {
			t.Errorf("validate %s: %v\n%s%s", f, err, out, errOut)
			continue
		}
		y, _, err := run(t, "validate", "-f", f, "-o", "yaml")
		if err != nil {
			t.Fatal(err)
		}
		eff := filepath.Join(t.TempDir(), "effective.yaml")
		os.WriteFile(eff, []byte(y), 0o644)
		y2, errOut, err := run(t, "validate", "-f", eff, "-o", "yaml")
		if err != nil || y2 != y {
			t.Errorf("%s: -o yaml does not round-trip: %v %s\nfirst:\n%s\nsecond:\n%s", f, err, errOut, y, y2)
		}
		j, _, err := run(t, "validate", "-f", f, "-o", "json")
		if err != nil || !json.Valid([]byte(j)) {
			t.Errorf("%s: -o json: %v\n%s", f, err, j)
		}
	}
}

func TestValidateReportsErrorsAndExits1(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("name: web\ncapacity:\n  - name: spot\n    instanceTypes: [m5.large, m5a.large, m6i.large]\n    onDemandBase: 1\nservices: [{name: w, command: [x], stopTimeout: 30}]\n"), 0o644)
	_, errOut, err := run(t, "validate", "-f", bad)
	var exit exitError
	if !errors.As(err, &exit) {
		t.Fatalf("want an exitError, got %v", err)
	}
	for _, want := range []string{
		bad + `:5:5: unknown field "onDemandBase" (did you mean "onDemandBaseCapacity"?)`,
		bad + `:6:49: stopTimeout: expected a duration, got the number 30 (a number needs a unit: 30s)`,
		"2 error(s)",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if _, _, err := run(t, "validate", "-f", filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "spotfleet init") {
		t.Errorf("missing file: want an error that says how to create one, got %v", err)
	}
	if _, _, err := run(t, "validate", "-f", bad, "-o", "toml"); err == nil {
		t.Error("-o toml: want an error")
	}
}

func TestWarningsExitZero(t *testing.T) {
	f := filepath.Join(t.TempDir(), "warn.yaml")
	os.WriteFile(f, []byte("name: web\ncapacity: [{name: spot, instanceTypes: [m5.large]}]\nservices: [{name: w, command: [x]}]\n"), 0o644)
	out, errOut, err := run(t, "validate", "-f", f)
	if err != nil || !strings.Contains(errOut, "warning: Spot group") || !strings.Contains(out, "is valid") {
		t.Fatalf("err %v\nstdout %s\nstderr %s", err, out, errOut)
	}
}

func TestInitOutputValidates(t *testing.T) {
	for _, w := range []string{"ecs", "instances"} {
		out, _, err := run(t, "init", "--workload", w)
		if err != nil {
			t.Fatal(err)
		}
		if _, diags := manifest.Parse("init.yaml", []byte(out)); len(diags) > 0 {
			t.Errorf("init --workload %s: %v", w, diags)
		}
	}
	if _, _, err := run(t, "init", "--workload", "lambda"); err == nil {
		t.Error("init --workload lambda: want an error")
	}
}

func TestSchemaAndVersion(t *testing.T) {
	out, _, err := run(t, "schema")
	var s map[string]any
	if err != nil || json.Unmarshal([]byte(out), &s) != nil || s["$schema"] == nil {
		t.Fatalf("schema: %v\n%s", err, out)
	}
	out, _, err = run(t, "version")
	if err != nil || !strings.HasPrefix(out, "spotfleet ") {
		t.Fatalf("version: %v %q", err, out)
	}
	// A release's stamps, and whether the binary is static, as the build info says.
	defer func(v, c, d string) { version, commit, date = v, c, d }(version, commit, date)
	version, commit, date = "v1.2.3", "0123abc", "2026-12-08T00:00:00Z"
	out, _, err = run(t, "version", "-o", "json")
	var v versionInfo
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || v.Version != "v1.2.3" || v.Commit != "0123abc" ||
		v.BuiltAt != date || v.Go != runtime.Version() {
		t.Fatalf("version -o json: %v\n%s", err, out)
	}
	exe, _ := os.Executable()
	if info, err := buildinfo.ReadFile(exe); err == nil && v.Static != strings.Contains(info.String(), "CGO_ENABLED=0") {
		t.Errorf("version says static %v of a binary built with\n%s", v.Static, info)
	}
}

// TestEveryCommandExplainsItself: --help of every command has a description and an example
// (version and help excepted, which need none).
func TestEveryCommandExplainsItself(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			if sub.Short == "" || (sub.Name() != "version" && (sub.Long == "" || sub.Example == "")) {
				t.Errorf("%s: missing Short, Long or Example", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(newRootCmd())
}

// TestPlanShowsTextsLineByLine: a field plan compares by its hash (the controller's
// manifest, user data) is shown as the lines that change, with one line of context, not
// as two hashes.
func TestPlanShowsTextsLineByLine(t *testing.T) {
	from := "name: web\naws:\n  controller:\n    replicas: 2\n    image: x\nservices: []\n"
	to := "name: web\naws:\n  controller:\n    replicas: 3\n    image: x\nservices: []\n"
	var b strings.Builder
	err := printPlan(&b, []stack.Change{{Action: stack.Update, Kind: "task-definition", Name: "web-spotfleet-controller", Diffs: []stack.Diff{
		{Field: "environment", From: "SPOTFLEET_MANIFEST=sha256:aaa", To: "SPOTFLEET_MANIFEST=sha256:bbb", Added: []string{"SPOTFLEET_MANIFEST=sha256:bbb"},
			Removed: []string{"SPOTFLEET_MANIFEST=sha256:aaa"}, FromText: from, ToText: to}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "~ update task-definition web-spotfleet-controller\n    environment:\n          controller:\n      -     replicas: 2\n      +     replicas: 3\n            image: x\n"
	if !strings.Contains(b.String(), want) || strings.Contains(b.String(), "sha256") {
		t.Errorf("plan:\n%s\nwant:\n%s", b.String(), want)
	}
}
