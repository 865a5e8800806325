package main

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/fleetview"
)

// What a target argument can be, for the shell's completion: asked of the running up at
// --api (within a second; nothing when none answers).
const (
	targetInstances    = 1 << iota // Spot instance IDs
	targetTasks                    // short task IDs
	targetPools                    // TYPE/ZONE and TYPE/*
	targetServices                 // service names
	targetAllInstances             // every live instance, On-Demand too
)

// completeTargets completes a command's first argument from the running up's status.
func completeTargets(cmd *cobra.Command, api *string, kinds int) {
	cmd.ValidArgsFunction = func(_ *cobra.Command, args []string, typed string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		st, ok := liveStatus(*api)
		if !ok {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return filterPrefix(targetsOf(st, kinds), typed), cobra.ShellCompDirectiveNoFileComp
	}
}

// liveStatus reads a running up's status, or says none answered within a second.
func liveStatus(api string) (fleetview.Status, bool) {
	var st fleetview.Status
	client := &http.Client{Timeout: time.Second}
	resp, err := client.Get("http://" + api + "/status")
	if err != nil {
		return st, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, false
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&st)
	return st, err == nil
}

// targetsOf lists what the status offers of the kinds asked.
func targetsOf(st fleetview.Status, kinds int) []string {
	var out []string
	pools := map[string]bool{}
	for _, in := range st.Instances {
		if in.State != spotfleet.InstancePending && in.State != spotfleet.InstanceRunning {
			continue
		}
		if kinds&targetAllInstances != 0 || (kinds&targetInstances != 0 && in.Lifecycle == spotfleet.Spot) {
			out = append(out, in.ID)
		}
		if kinds&targetPools != 0 {
			pools[in.Pool] = true
			if typ, _, ok := strings.Cut(in.Pool, "/"); ok {
				pools[typ+"/*"] = true
			}
		}
	}
	for _, t := range st.Tasks {
		if kinds&targetTasks != 0 && t.Status != spotfleet.TaskStopped {
			out = append(out, t.ID[:min(8, len(t.ID))])
		}
		if kinds&targetPools != 0 && t.Provider == "FARGATE_SPOT" && t.Zone != "" {
			pools["FARGATE_SPOT/"+t.Zone], pools["FARGATE_SPOT/*"] = true, true
		}
	}
	if kinds&targetServices != 0 {
		for _, s := range st.Services {
			out = append(out, s.Name)
		}
	}
	for p := range pools {
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func filterPrefix(values []string, typed string) []string {
	return slices.DeleteFunc(values, func(v string) bool { return !strings.HasPrefix(v, typed) })
}
