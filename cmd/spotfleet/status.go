package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"github.com/spotfleet/spotfleet/fleetview"
)

func newStatusCmd() *cobra.Command {
	var api, output string
	cmd := &cobra.Command{
		Use:   "status [--api ADDR] [-o table|json|yaml]",
		Short: "Print the state of a running spotfleet up",
		Long: `Asks a running "spotfleet up" for its state (instances by pool and lifecycle, groups and
their last scaling activity, tasks, load balancer targets, requests and errors, cost per
hour against all On-Demand) and prints it as a table or as JSON.`,
		Example: `  spotfleet status
  spotfleet status --api 127.0.0.1:7077 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client := &http.Client{Timeout: 5 * time.Second}
			resp, err := client.Get("http://" + api + "/status")
			if err != nil {
				return noUp(api, err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s answered %s", api, resp.Status)
			}
			if output == "json" {
				_, err = cmd.OutOrStdout().Write(body)
				return err
			}
			var st fleetview.Status
			if err := json.Unmarshal(body, &st); err != nil {
				return fmt.Errorf("%s did not answer with a spotfleet status: %v", api, err)
			}
			return render(cmd.OutOrStdout(), output, st, func(w io.Writer) error { st.WriteText(w); return nil })
		},
	}
	apiFlag(cmd, &api, "the --api address of the running spotfleet up")
	outputFlag(cmd, &output, "table", "json", "yaml")
	return cmd
}
