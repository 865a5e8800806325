package main

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/spotfleet/spotfleet/manifest"
)

func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the manifest, for editor completion",
		Long: `Prints a JSON Schema (draft 2020-12) of spotfleet.yaml. Editors that understand the
yaml-language-server comment complete and check the manifest with it.`,
		Example: `  spotfleet schema > spotfleet.schema.json
  # then, first line of spotfleet.yaml:
  # yaml-language-server: $schema=./spotfleet.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(manifest.Schema())
		},
	}
}
