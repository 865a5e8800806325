package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "spotfleet",
		Short: "Run container services on EC2 Spot with no dropped request",
		Long: `spotfleet runs a stateless service on a mix of EC2 Spot and On-Demand capacity from one
manifest (spotfleet.yaml): it takes interrupted instances out of the load balancer before
their tasks stop, replaces capacity before it is lost, falls back to On-Demand when Spot is
short and returns when it recovers.`,
		Example: `  spotfleet init > spotfleet.yaml
  spotfleet validate -f spotfleet.yaml`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newInitCmd(), newValidateCmd(), newSchemaCmd(), newVersionCmd(), newExampleServiceCmd(), newUpCmd(), newStatusCmd(), newInterruptCmd(), newCapacityCmd(), newLogsCmd(), newAgentCmd(), newHealthcheckCmd(), newReaperCmd(),
		newPlanCmd(), newApplyCmd(), newOutputsCmd(), newDeleteCmd(), newControllerCmd(), newIAMPolicyCmd(), newImageCmd(), newSimulateCmd())
	return root
}
