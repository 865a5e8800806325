// Package fleetview is the fleet as people read it: the status that `up --api` serves,
// `spotfleet status` prints and both dashboards draw (the emulator's and the AWS
// controller's), and the report of a run. The emulator builds it from its world, the
// controller's dashboard from a snapshot (FromSnapshot).
package fleetview

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spotfleet/spotfleet"
	"github.com/spotfleet/spotfleet/manifest"
)

// Status is the state of a fleet, as `up --api` serves it and `status` prints.
type Status struct {
	Fleet           string            `json:"fleet"`
	Workload        manifest.Workload `json:"workload"`
	EmulatedSeconds float64           `json:"emulatedSeconds"`
	Listeners       map[string]string `json:"listeners"`
	Groups          []GroupStatus     `json:"groups"`
	Services        []ServiceStatus   `json:"services,omitempty"`
	Instances       []InstanceStatus  `json:"instances"`
	Tasks           []TaskStatus      `json:"tasks,omitempty"`
	Targets         []TargetStatus    `json:"targets"`
	// Pools are the fleet's Spot pools, with or without instances, and the Spot capacity
	// each can still give (-1: no bound): the map shows a pool a shortage emptied.
	Pools           []PoolStatus `json:"pools,omitempty"`
	CostPerHour     float64      `json:"costPerHourUsd"`
	AllOnDemandHour float64      `json:"allOnDemandPerHourUsd"`
	Report          Report       `json:"report"`
	Recent          []string     `json:"recent"`
}

// PoolStatus is a Spot pool (TYPE/ZONE) and how many more instances it can give.
type PoolStatus struct {
	Pool string `json:"pool"`
	Free int    `json:"free"` // -1: no bound
}

type GroupStatus struct {
	Name         string    `json:"name"`
	Desired      int       `json:"desired"`
	InService    int       `json:"inService"`
	Pending      int       `json:"pending"`
	LastActivity *Activity `json:"lastActivity,omitempty"`
}

// ServiceStatus is a service's count against its desired, and what holds it back.
type ServiceStatus struct {
	Name    string `json:"name"`
	Desired int    `json:"desired"`
	Healthy int    `json:"healthy"`
	// Throttled is how long until the next launch attempt when tasks keep failing to start.
	Throttled string `json:"throttledFor,omitempty"`
	Covers    string `json:"covers,omitempty"` // a fallback companion: the service it covers
}

type InstanceStatus struct {
	ID        string                  `json:"id"`
	Group     string                  `json:"group"`
	Pool      string                  `json:"pool"`
	Lifecycle spotfleet.Lifecycle     `json:"lifecycle"`
	State     spotfleet.InstanceState `json:"state"`
	IP        string                  `json:"ip"`
	Container string                  `json:"containerInstance,omitempty"` // ACTIVE | DRAINING
	NoticeIn  string                  `json:"terminatesIn,omitempty"`
	Rebalance bool                    `json:"rebalanceRecommended,omitempty"`
}

type TaskStatus struct {
	ID       string               `json:"id"`
	Service  string               `json:"service"`
	Status   spotfleet.TaskStatus `json:"status"`
	Instance string               `json:"instance,omitempty"`
	Provider string               `json:"capacityProvider"`
	Address  string               `json:"address,omitempty"`
	Zone     string               `json:"zone,omitempty"`
	Healthy  bool                 `json:"healthy"` // RUNNING, and its target (if any) healthy
}

type TargetStatus struct {
	Group    string                `json:"targetGroup"`
	ID       string                `json:"id"`
	Instance string                `json:"instance"`
	State    spotfleet.TargetState `json:"state"`
	InFlight int64                 `json:"inFlight"`
	Requests int64                 `json:"requests"`
}

// ActivityStatus is how a scaling activity ended, as Auto Scaling says it.
type ActivityStatus string

const (
	ActivitySuccessful ActivityStatus = "Successful"
	ActivityFailed     ActivityStatus = "Failed"
)

// Activity is an Auto Scaling scaling activity.
type Activity struct {
	ID            string         `json:"activityId"`
	Description   string         `json:"description"`
	Cause         string         `json:"cause"`
	StatusCode    ActivityStatus `json:"statusCode"`
	StatusMessage string         `json:"statusMessage,omitempty"`
	Start         time.Time      `json:"startTime"`
	End           time.Time      `json:"endTime"`
}

// WriteText renders a status for a terminal or a log, every row.
func (st Status) WriteText(w io.Writer) { st.WriteView(w, 0) }

// WriteView renders a status in at most height lines (0: no bound), for a live view that
// must keep its first lines (the header, the totals) on a small terminal: each table gets
// its share of the rows and says how many it leaves out.
func (st Status) WriteView(w io.Writer, height int) {
	r := st.Report
	var b strings.Builder
	fmt.Fprintf(&b, "fleet %s (%s)  emulated %s\n", st.Fleet, st.Workload, Elapsed(time.Duration(st.EmulatedSeconds*float64(time.Second))))
	savings := 0.0
	if st.AllOnDemandHour > 0 {
		savings = 100 * (1 - st.CostPerHour/st.AllOnDemandHour)
	}
	fmt.Fprintf(&b, "cost $%.4f/h, all On-Demand $%.4f/h (%.0f%% saved)   load balancer %d requests (elb 5xx %d, target 5xx %d)   load %d sent, %d failed\n",
		st.CostPerHour, st.AllOnDemandHour, savings, r.LoadBalancer.Requests, r.LoadBalancer.ELB5xx, r.LoadBalancer.Target5xx, r.Requests.Total, r.Requests.Failed)
	fmt.Fprintf(&b, "interruptions %d, rebalance recommendations %d, tasks stopped while registered %d, below desired %s\n",
		r.Interruptions.Notices, r.Interruptions.RebalanceRecommendations, r.Interruptions.TasksStoppedWhileRegistered, seconds(r.Capacity.SecondsBelowDesired))
	io.WriteString(w, b.String())

	var groups, services, instances, tasks, targets []string
	for _, g := range st.Groups {
		last := ""
		if g.LastActivity != nil {
			last = string(g.LastActivity.StatusCode) + ": " + trim(g.LastActivity.Description, 70)
		}
		groups = append(groups, fmt.Sprintf("%s\t%d\t%d\t%d\t%s", g.Name, g.Desired, g.InService, g.Pending, last))
	}
	for _, s := range st.Services {
		note := ""
		switch {
		case s.Throttled != "":
			note = "tasks keep failing to start: next launch in " + s.Throttled
		case s.Covers != "":
			note = "fallback tasks for " + s.Covers
		}
		services = append(services, fmt.Sprintf("%s\t%d\t%d\t%s", s.Name, s.Desired, s.Healthy, note))
	}
	for _, in := range st.Instances {
		notice := in.NoticeIn
		if notice != "" {
			notice = "terminates in " + notice
		} else if in.Rebalance {
			notice = "rebalance recommended"
		}
		instances = append(instances, fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", in.ID, in.Group, in.Pool, in.Lifecycle, in.State, in.Container, notice))
	}
	for _, t := range st.Tasks {
		on := t.Instance
		if on == "" {
			on = t.Zone // Fargate
		}
		tasks = append(tasks, fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", ShortID(t.ID), t.Service, t.Status, on, t.Provider, t.Address))
	}
	for _, t := range st.Targets {
		targets = append(targets, fmt.Sprintf("%s\t%s\t%s\t%d\t%d", t.ID, t.Instance, t.State, t.InFlight, t.Requests))
	}
	tables := []struct {
		head string
		rows []string
	}{
		{"GROUP\tDESIRED\tIN SERVICE\tPENDING\tLAST ACTIVITY", groups},
		{"SERVICE\tDESIRED\tHEALTHY\tNOTE", services},
		{"INSTANCE\tGROUP\tPOOL\tLIFECYCLE\tSTATE\tECS\tNOTICE", instances},
		{"TASK\tSERVICE\tSTATUS\tINSTANCE OR ZONE\tPROVIDER\tADDRESS", tasks},
		{"TARGET\tINSTANCE\tSTATE\tIN FLIGHT\tREQUESTS", targets},
	}
	recent := st.Recent[max(0, len(st.Recent)-8):]
	// The rows left once the header, the tables' titles and blank lines and the recent
	// lines are counted go to the tables in turn, each cut with a line saying so.
	budget := -1
	if height > 0 {
		budget = height - 3 - 2*len(tables) - 2 - min(len(recent), 5)
		recent = recent[max(0, len(recent)-5):]
	}
	rows := make([]int, len(tables))
	for i, t := range tables {
		rows[i] = len(t.rows)
	}
	shown := fitRows(rows, budget)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for i, t := range tables {
		if len(t.rows) == 0 {
			continue
		}
		fmt.Fprintln(tw, "\n"+t.head)
		for _, row := range t.rows[:shown[i]] {
			fmt.Fprintln(tw, row)
		}
		if n := len(t.rows) - shown[i]; n > 0 {
			fmt.Fprintf(tw, "... and %d more (spotfleet status shows all)\n", n)
		}
	}
	tw.Flush()
	if len(recent) > 0 {
		fmt.Fprintln(w, "\nRECENT")
		for _, l := range recent {
			fmt.Fprintln(w, l)
		}
	}
}

// fitRows says how many of each table's rows to show in budget lines (budget < 0: all of
// them): rows go one at a time from the longest table shown, and a table that is cut
// costs a line that says so.
func fitRows(rows []int, budget int) []int {
	shown := slices.Clone(rows)
	for budget >= 0 {
		total := 0
		for i := range rows {
			total += shown[i]
			if shown[i] < rows[i] {
				total++ // the "... and N more" line
			}
		}
		if total <= budget {
			break
		}
		big := 0
		for i := range shown {
			if shown[i] > shown[big] {
				big = i
			}
		}
		if shown[big] == 0 {
			break
		}
		shown[big]--
	}
	return shown
}

// seconds prints a duration in seconds for people: "0 s", "12 s", "3m20s".
func seconds(s float64) string {
	if s < 120 {
		return fmt.Sprintf("%.0f s", s)
	}
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}

// Summary is one line for logs when there is no terminal.
func (st Status) Summary() string {
	healthy, total := 0, len(st.Targets)
	for _, t := range st.Targets {
		if t.State == spotfleet.TargetHealthy {
			healthy++
		}
	}
	spot, od := 0, 0
	for _, in := range st.Instances {
		if in.State == spotfleet.InstanceRunning || in.State == spotfleet.InstancePending {
			if in.Lifecycle == spotfleet.Spot {
				spot++
			} else {
				od++
			}
		}
	}
	capacity := fmt.Sprintf("instances spot=%d on-demand=%d", spot, od)
	if fs, f := st.fargateTasks(); fs+f > 0 {
		capacity += fmt.Sprintf(" fargate-spot=%d fargate=%d", fs, f)
	}
	r := st.Report
	return fmt.Sprintf("t=%s %s targets healthy=%d/%d lb requests=%d 5xx=%d load sent=%d failed=%d notices=%d cost=$%.4f/h",
		Elapsed(time.Duration(st.EmulatedSeconds*float64(time.Second))), capacity, healthy, total,
		r.LoadBalancer.Requests, r.LoadBalancer.ELB5xx+r.LoadBalancer.Target5xx, r.Requests.Total, r.Requests.Failed, r.Interruptions.Notices, st.CostPerHour)
}

// fargateTasks counts the Fargate Spot and Fargate tasks that run or start.
func (st Status) fargateTasks() (spot, onDemand int) {
	for _, t := range st.Tasks {
		if t.Status == spotfleet.TaskStopping || t.Status == spotfleet.TaskStopped {
			continue
		}
		switch t.Provider {
		case manifest.FargateSpot:
			spot++
		case manifest.Fargate:
			onDemand++
		}
	}
	return spot, onDemand
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.TrimSpace(s[:n]) + "..."
}
