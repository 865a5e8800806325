package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/spotfleet/spotfleet/manifest"
)

func newInitCmd() *cobra.Command {
	var workload string
	cmd := &cobra.Command{
		Use:   "init [--workload ecs|instances]",
		Short: "Print a commented manifest that documents every field",
		Long: `Prints a complete spotfleet.yaml with a comment on every field: what it does, its
default and its allowed values. It validates as printed and runs on the local emulator.`,
		Example: `  spotfleet init > spotfleet.yaml
  spotfleet init --workload instances > spotfleet.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			text, err := manifest.Template(workload)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), text)
			return nil
		},
	}
	choiceFlag(cmd, &workload, "workload", "", "ecs (tasks on container instances) or instances (the service on each instance)",
		string(manifest.WorkloadECS), string(manifest.WorkloadInstances))
	return cmd
}
