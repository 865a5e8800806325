package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/fleetview"
)

// commands lists every command of the CLI, subcommands included.
func commands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		out = append(out, commands(sub)...)
	}
	return out
}

// TestSharedFlagsAgree: a flag that means one thing has one name, type, shorthand and
// default in every command that has it, and every command that prints data takes -o.
func TestSharedFlagsAgree(t *testing.T) {
	want := map[string]struct {
		short, typ, def string
	}{
		"file":   {"f", "string", "spotfleet.yaml"},
		"api":    {"", "string", defaultAPI},
		"output": {"o", "string", "table"},
	}
	printsData := map[string]bool{"version": true, "status": true, "validate": true, "plan": true, "apply": true, "delete": true, "simulate": true}
	for _, c := range commands(newRootCmd()) {
		name := c.Name()
		c.Flags().VisitAll(func(f *pflag.Flag) {
			w, shared := want[f.Name]
			if !shared || f.Hidden {
				return
			}
			typ, def := f.Value.Type(), f.DefValue
			if name == "simulate" && f.Name == "file" { // the one command that takes several
				typ, def = "string", strings.Trim(def, "[]")
			}
			if f.Shorthand != w.short || typ != w.typ || def != w.def {
				t.Errorf("%s --%s: -%s %s default %q; want -%s %s default %q", name, f.Name, f.Shorthand, typ, def, w.short, w.typ, w.def)
			}
		})
		if printsData[name] && c.Flags().Lookup("output") == nil {
			t.Errorf("%s prints data but takes no -o", name)
		}
		for _, old := range []string{"listen", "report"} {
			if f := c.Flags().Lookup(old); f != nil && name != "up" && !f.Hidden {
				t.Errorf("%s shows --%s, renamed", name, old)
			}
		}
	}
}

// TestOldFlagNamesStillWork: --listen (controller) and --report (agent) are deprecated
// spellings of --api and --controller-url, bound to the same setting.
func TestOldFlagNamesStillWork(t *testing.T) {
	for _, c := range []struct{ cmd, old, now, value string }{
		{"controller", "listen", "api", "127.0.0.1:9999"},
		{"agent", "report", "controller-url", "http://127.0.0.1:9999"},
	} {
		var cmd *cobra.Command
		for _, x := range commands(newRootCmd()) {
			if x.Name() == c.cmd {
				cmd = x
			}
		}
		if err := cmd.Flags().Parse([]string{"--" + c.old, c.value}); err != nil {
			t.Fatal(err)
		}
		if got := cmd.Flags().Lookup(c.now).Value.String(); got != c.value {
			t.Errorf("%s --%s %s: --%s is %q", c.cmd, c.old, c.value, c.now, got)
		}
	}
}

// TestJSONOutputs: version, validate and status print JSON with -o json.
func TestJSONOutputs(t *testing.T) {
	out, _, err := run(t, "version", "-o", "json")
	var v map[string]any
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || v["version"] == nil {
		t.Errorf("version -o json: %v\n%s", err, out)
	}
	out, _, err = run(t, "validate", "-f", "../../examples/s3-ecs-service-autoscaled.yaml", "-o", "json")
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || v["name"] != "s3-web" {
		t.Errorf("validate -o json: %v\n%s", err, out)
	}
	out, _, err = run(t, "version", "-o", "yaml")
	if err != nil || !strings.HasPrefix(out, "version: ") {
		t.Errorf("version -o yaml: %v\n%s", err, out)
	}
	if _, _, err := run(t, "version", "-o", "xml"); err == nil || !strings.Contains(err.Error(), "use table, json, yaml") {
		t.Errorf("version -o xml: %v", err)
	}
}

// TestCompletion: cobra's __complete gives the values of the enum flags.
func TestCompletion(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "up", "--controller", ""}, []string{"spotfleet", "seed", "none"}},
		{[]string{"__complete", "simulate", "--controller", "spotfleet,"}, []string{"spotfleet,seed", "spotfleet,none"}},
		{[]string{"__complete", "simulate", "--market", ""}, []string{"stress", "advisor", "trace", "scripted"}},
		{[]string{"__complete", "status", "-o", ""}, []string{"table", "json", "yaml"}},
		{[]string{"__complete", "init", "--workload", ""}, []string{"ecs", "instances"}},
		{[]string{"__complete", "validate", "-f", ""}, []string{"yaml", "yml"}},
	} {
		out, _, err := run(t, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(w) + `$`).MatchString(out) {
				t.Errorf("%v: %q not offered:\n%s", c.args, w, out)
			}
		}
		if strings.Contains(out, "spotfleet,spotfleet") {
			t.Errorf("%v: offers a controller already chosen:\n%s", c.args, out)
		}
	}
}

// TestCompletionOfTargets: interrupt, capacity and logs complete their target from the
// running up's status (served here over HTTP): Spot instances, short task IDs and pools
// for interrupt; pools for capacity; services, tasks and every instance for logs. With no
// up answering, nothing is offered (and no file names).
func TestCompletionOfTargets(t *testing.T) {
	st := fleetview.Status{
		Instances: []fleetview.InstanceStatus{
			{ID: "i-0aaa", Pool: "m5.large/us-east-1a", Lifecycle: spotfleet.Spot, State: spotfleet.InstanceRunning},
			{ID: "i-0bbb", Pool: "m6i.large/us-east-1b", Lifecycle: spotfleet.OnDemand, State: spotfleet.InstanceRunning},
			{ID: "i-0ccc", Pool: "m5.large/us-east-1b", Lifecycle: spotfleet.Spot, State: spotfleet.InstanceTerminated},
		},
		Tasks:    []fleetview.TaskStatus{{ID: "8b0c91e0-1111-2222", Service: "web", Status: spotfleet.TaskRunning, Instance: "i-0aaa"}},
		Services: []fleetview.ServiceStatus{{Name: "web"}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { json.NewEncoder(w).Encode(st) }))
	defer srv.Close()
	api := strings.TrimPrefix(srv.URL, "http://")
	for _, c := range []struct {
		args       []string
		want, none []string
	}{
		{[]string{"__complete", "interrupt", "--api", api, ""}, []string{"i-0aaa", "8b0c91e0", "m5.large/us-east-1a", "m5.large/*"}, []string{"i-0bbb", "i-0ccc", "web"}},
		{[]string{"__complete", "interrupt", "--api", api, "m5"}, []string{"m5.large/us-east-1a", "m5.large/*"}, []string{"i-0aaa", "8b0c91e0"}},
		{[]string{"__complete", "capacity", "--api", api, ""}, []string{"m5.large/us-east-1a", "m6i.large/*"}, []string{"i-0aaa"}},
		{[]string{"__complete", "logs", "--api", api, ""}, []string{"web", "8b0c91e0", "i-0aaa", "i-0bbb"}, []string{"i-0ccc", "m5.large/*"}},
		{[]string{"__complete", "logs", "--api", "127.0.0.1:1", ""}, nil, []string{"web"}},
	} {
		out, _, err := run(t, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(w) + `$`).MatchString(out) {
				t.Errorf("%v: %q not offered:\n%s", c.args, w, out)
			}
		}
		for _, w := range c.none {
			if regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(w) + `$`).MatchString(out) {
				t.Errorf("%v: %q offered:\n%s", c.args, w, out)
			}
		}
		if !strings.Contains(out, ":4") { // ShellCompDirectiveNoFileComp
			t.Errorf("%v: file names may be offered:\n%s", c.args, out)
		}
	}
}

// TestBenchmarksNameTheirCommands: every section of BENCHMARKS.md with figures names the
// command that reproduces them.
func TestBenchmarksNameTheirCommands(t *testing.T) {
	b, err := os.ReadFile("../../BENCHMARKS.md")
	if err != nil {
		t.Fatal(err)
	}
	command := regexp.MustCompile("`(go (test|run) [^`]+|bench/[a-z]+\\.sh[^`]*|(go run \\./cmd/spotfleet|spotfleet|/tmp/sf|/usr/bin/time[^`]*) (up|simulate|validate)[^`]*)`")
	for _, section := range strings.Split(string(b), "\n## ")[1:] {
		title, _, _ := strings.Cut(section, "\n")
		hasFigure := regexp.MustCompile(`\| *[0-9][0-9,.]* *(ms|µs|s|MB|MiB|GB|%|req/s)`).MatchString(section) || strings.Contains(section, "|---")
		if hasFigure && !command.MatchString(section) {
			t.Errorf("BENCHMARKS.md %q has figures but no command that reproduces them", title)
		}
	}
}
