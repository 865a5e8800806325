package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/local"
)

// The flags that mean one thing across commands are defined here, once: the same name,
// type, default and completion wherever they appear (TestSharedFlagsAgree).

// defaultAPI is where `up` and `controller` serve their state and API, and where `status`
// and agents look for them.
var defaultAPI = "127.0.0.1:" + strconv.Itoa(spotfleet.ControllerPort)

// fileFlag is -f: the manifest.
func fileFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "file", "f", "spotfleet.yaml", "the manifest")
	completeFiles(cmd, "file")
}

// apiFlag is --api: the address of a running up's or controller's API.
func apiFlag(cmd *cobra.Command, p *string, usage string) {
	cmd.Flags().StringVar(p, "api", defaultAPI, usage)
}

// outputFlag is -o: how a command prints what it prints, the first format the default.
func outputFlag(cmd *cobra.Command, p *string, formats ...string) {
	choiceFlag(cmd, p, "output", "o", "print as "+strings.Join(formats, ", "), formats...)
}

// choiceFlag is a flag that takes one of a few values, the first the default: anything
// else is refused when the flags are parsed, with the list, and the shell completes them.
func choiceFlag(cmd *cobra.Command, p *string, name, short, usage string, values ...string) {
	*p = values[0]
	cmd.Flags().VarP(&choice{p, values}, name, short, usage)
	completeValues(cmd, name, values...)
}

type choice struct {
	value  *string
	values []string
}

func (c *choice) String() string { return *c.value }
func (c *choice) Type() string   { return "string" }

func (c *choice) Set(s string) error {
	if !slices.Contains(c.values, s) {
		return fmt.Errorf("use %s", strings.Join(c.values, ", "))
	}
	*c.value = s
	return nil
}

// controllers are what `up` and `simulate` run against the emulator, spotfleet's first.
var controllers = func() []string {
	var out []string
	for _, k := range local.Kinds {
		out = append(out, string(k))
	}
	return out
}()

// renamed keeps an old spelling of a flag working for a release, with a warning, bound to
// the same variable as its new name.
func renamed(cmd *cobra.Command, old, now string) {
	f := cmd.Flags().Lookup(now)
	cmd.Flags().Var(f.Value, old, f.Usage)
	cmd.Flags().MarkDeprecated(old, "use --"+now+"; --"+old+" goes in the next release")
}

// completeValues completes a flag with fixed values (comma-separated lists too).
func completeValues(cmd *cobra.Command, flag string, values ...string) {
	cmd.RegisterFlagCompletionFunc(flag, func(_ *cobra.Command, _ []string, typed string) ([]string, cobra.ShellCompDirective) {
		prefix := ""
		if i := strings.LastIndex(typed, ","); i >= 0 {
			prefix = typed[:i+1]
		}
		chosen := strings.Split(strings.TrimSuffix(prefix, ","), ",")
		var out []string
		for _, v := range values {
			if !slices.Contains(chosen, v) { // "spotfleet," does not offer spotfleet again
				out = append(out, prefix+v)
			}
		}
		d := cobra.ShellCompDirectiveNoFileComp
		if prefix != "" {
			d |= cobra.ShellCompDirectiveNoSpace
		}
		return out, d
	})
}

// completeFiles completes a flag with YAML files (manifests, scenarios).
func completeFiles(cmd *cobra.Command, flag string) {
	cmd.RegisterFlagCompletionFunc(flag, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
	})
}

// render prints v as JSON or YAML, or with table for people.
func render(w io.Writer, output string, v any, table func(io.Writer) error) error {
	switch output {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	case "yaml":
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		y, err := yaml.JSONToYAML(b) // the JSON field names, in YAML
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	}
	return table(w)
}
