package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spotfleet/spotfleet/dashboard"
	"github.com/spotfleet/spotfleet/emulator"
)

// The commands that act by hand on a running spotfleet up, as its dashboard's buttons do.

func newInterruptCmd() *cobra.Command {
	var api string
	var req emulator.InterruptRequest
	cmd := &cobra.Command{
		Use:   "interrupt [--api ADDR] TARGET [--count N | --fraction F] [--rebalance]",
		Short: "Give Spot instances of a running spotfleet up their interruption notice now",
		Long: `Does by hand what a scenario's interrupt step does, on a running "spotfleet up": the
instance gets the 2-minute Spot interruption notice (its metadata service shows it, the
event goes to the queue, the controller acts), or with --rebalance a rebalance
recommendation. TARGET is an instance ID (i-...), a task ID (its instance; a Fargate Spot
task gets the warning and SIGTERM itself, as on AWS), or pools as TYPE/ZONE globs,
comma-separated (m5.large/*, */us-east-1a, FARGATE_SPOT/*), of whose running Spot instances
and Fargate Spot tasks --count or --fraction are picked at random (one by default). An On-Demand
instance, one that already has its notice, or a glob that matches no running Spot instance
is refused, and nothing happens. The action shows in the live view, on the dashboard and in
the report. Only the emulator takes it: on AWS use AWS FIS.`,
		Example: `  spotfleet interrupt i-0a1b2c3d4e5f60718
  spotfleet interrupt 'm5.large/*' --fraction 0.5
  spotfleet interrupt '*/us-east-1a' --count 2 --rebalance
  spotfleet interrupt 'FARGATE_SPOT/*' --fraction 0.5`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Target = args[0]
			var res dashboard.ActionResult
			if err := postAction(api, "/v1/interrupt", req, &res); err != nil {
				return err
			}
			what := "interruption notice"
			if req.Rebalance {
				what = "rebalance recommendation"
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s sent to %s\n", what, strings.Join(res.Instances, ", "))
			return err
		},
	}
	apiFlag(cmd, &api, "the --api address of the running spotfleet up")
	completeTargets(cmd, &api, targetInstances|targetTasks|targetPools)
	cmd.Flags().IntVar(&req.Count, "count", 0, "with pools: how many of their Spot instances (default 1)")
	cmd.Flags().Float64Var(&req.Fraction, "fraction", 0, "with pools: the share of their Spot instances, rounded up (0 to 1)")
	cmd.Flags().BoolVar(&req.Rebalance, "rebalance", false, "send a rebalance recommendation instead of an interruption notice")
	cmd.MarkFlagsMutuallyExclusive("count", "fraction")
	return cmd
}

func newCapacityCmd() *cobra.Command {
	var api string
	cmd := &cobra.Command{
		Use:   "capacity [--api ADDR] POOLS 0|N|unlimited",
		Short: "Set the free Spot capacity of pools of a running spotfleet up",
		Long: `Does by hand what a scenario's spotCapacity step does: POOLS (TYPE/ZONE globs,
comma-separated) get N free Spot instances, 0 for none (new Spot launches there fail with
InsufficientInstanceCapacity, as AWS's do) or unlimited; FARGATE_SPOT/ZONE pools count
tasks (with none, ECS places no Fargate Spot task: "Capacity is unavailable"). Running instances stay. A glob that
matches none of the fleet's pools is refused, and nothing changes.`,
		Example: `  spotfleet capacity '*/*' 0            # no Spot anywhere: watch the fallback
  spotfleet capacity 'm5.large/us-east-1a' 2
  spotfleet capacity '*/*' unlimited    # Spot is back
  spotfleet capacity 'FARGATE_SPOT/*' 0 # no Fargate Spot anywhere`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := -1
			if args[1] != "unlimited" {
				v, err := strconv.Atoi(args[1])
				if err != nil || v < 0 {
					return fmt.Errorf("capacity %q: give 0 or more instances, or unlimited", args[1])
				}
				n = v
			}
			var res dashboard.ActionResult
			if err := postAction(api, "/v1/capacity", dashboard.CapacityRequest{Pools: strings.Split(args[0], ","), Instances: n}, &res); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "Spot capacity %s in %s\n", args[1], strings.Join(res.Pools, ", "))
			return err
		},
	}
	apiFlag(cmd, &api, "the --api address of the running spotfleet up")
	completeTargets(cmd, &api, targetPools)
	return cmd
}

func newLogsCmd() *cobra.Command {
	var api string
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs [--api ADDR] SERVICE|TASK|INSTANCE [-f]",
		Short: "Print the output of a service's tasks in a running spotfleet up",
		Long: `Prints the output of every task a service ran (in the order they started, across
restarts and replacements), of one task, or under workload instances of the service on one
instance; each line starts with the service, the task and the instance, as docker compose
logs does. -f keeps printing what they add, and the tasks the service starts later, until
Ctrl-C. The output is what up keeps in its log directory (2 x 10 MiB per task).`,
		Example: `  spotfleet logs web -f
  spotfleet logs 8f3a2b1c-...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{"target": {args[0]}}
			if follow {
				q.Set("follow", "1")
			}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, "http://"+api+"/v1/logs?"+q.Encode(), nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				if cmd.Context().Err() != nil {
					return nil // Ctrl-C
				}
				return noUp(api, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return answerError(api, resp)
			}
			_, err = io.Copy(cmd.OutOrStdout(), resp.Body)
			if cmd.Context().Err() != nil {
				return nil
			}
			return err
		},
	}
	apiFlag(cmd, &api, "the --api address of the running spotfleet up")
	completeTargets(cmd, &api, targetServices|targetTasks|targetAllInstances)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output until Ctrl-C")
	return cmd
}

// postAction takes the run's token from up and posts an action with it.
func postAction(api, path string, body, result any) error {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + api + "/v1/session")
	if err != nil {
		return noUp(api, err)
	}
	var s dashboard.Session
	err = json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s did not answer as spotfleet up does (%s): is it an up of this version?", api, resp.Status)
	}
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, "http://"+api+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(dashboard.TokenHeader, s.Token)
	resp, err = client.Do(req)
	if err != nil {
		return noUp(api, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return answerError(api, resp)
	}
	return json.NewDecoder(resp.Body).Decode(result)
}

func noUp(api string, err error) error {
	return fmt.Errorf("no spotfleet up answers on %s: %v (start one with spotfleet up, or pass its --api address)", api, err)
}

// answerError is up's refusal, in its own words.
func answerError(api string, resp *http.Response) error {
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode == http.StatusNotFound && len(msg) == 0 || strings.HasPrefix(string(msg), "404 page not found") {
		return fmt.Errorf("%s does not take this request (%s): is it a spotfleet controller on AWS? Only up's emulator does", api, resp.Status)
	}
	return fmt.Errorf("%s", strings.TrimSpace(string(msg)))
}
