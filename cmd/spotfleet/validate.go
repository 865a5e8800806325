package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/spotfleet/spotfleet/manifest"
)

func newValidateCmd() *cobra.Command {
	var file, output string
	cmd := &cobra.Command{
		Use:   "validate [-f FILE] [-o table|json|yaml]",
		Short: "Check a manifest and report every problem in it",
		Long: `Decodes the manifest strictly and checks it. Every error is reported at once as
FILE:LINE:COL: message (hint), and the exit status is 1. Warnings (legal but unwise: a
drain that cannot fit the 2-minute notice, a Spot group with too few instance types or
zones) are printed the same way with exit status 0.

With -o json or -o yaml, prints the effective manifest, every default filled in.`,
		Example: `  spotfleet validate -f examples/s3-ecs-service-autoscaled.yaml
  spotfleet validate -f spotfleet.yaml -o yaml   # the manifest with its defaults`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := loadManifest(file, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch output {
			case "yaml":
				return writeRendered(out, m.YAML)
			case "json":
				return writeRendered(out, m.JSON)
			}
			fmt.Fprintf(out, "%s is valid: fleet %q, workload %s, %d capacity group(s), %d service(s)\n",
				file, m.Name, m.Workload, len(m.Capacity), len(m.AllServices()))
			return nil
		},
	}
	fileFlag(cmd, &file)
	outputFlag(cmd, &output, "table", "json", "yaml")
	return cmd
}

// loadManifest loads and checks a manifest, printing its warnings and errors to errOut. It
// returns an error when the manifest cannot be used.
func loadManifest(file string, errOut io.Writer) (*manifest.Manifest, error) {
	m, diags, err := manifest.Load(file)
	if err != nil {
		return nil, err
	}
	return checked(file, m, diags, errOut)
}

// parseManifest is loadManifest of text at hand (named file in messages).
func parseManifest(file string, data []byte, errOut io.Writer) (*manifest.Manifest, error) {
	m, diags := manifest.Parse(file, data)
	return checked(file, m, diags, errOut)
}

// checked prints a manifest's diagnostics and refuses it when they hold errors.
func checked(file string, m *manifest.Manifest, diags manifest.Diagnostics, errOut io.Writer) (*manifest.Manifest, error) {
	for _, d := range diags {
		fmt.Fprintln(errOut, d.String())
	}
	if n := len(diags.Errors()); n > 0 {
		fmt.Fprintf(errOut, "%s: %d error(s); fix them and run spotfleet validate -f %s again\n", file, n, file)
		return nil, exitError{"invalid manifest"}
	}
	return m, nil
}

func writeRendered(w io.Writer, render func() ([]byte, error)) error {
	b, err := render()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
