package simulate

// Result is one manifest × controller over its runs. Times are seconds, costs US dollars.
type Result struct {
	Manifest   string `json:"manifest"`
	Controller string `json:"controller"`

	// CostUSD is what the fleet cost; OnDemandFleetUSD what the cheapest On-Demand fleet
	// of the manifest's types that runs the desired tasks would have (the baseline a team
	// without Spot pays), and SavedAgainstOnDemandFleetPercent the difference. AllOnDemandUSD
	// reprices the fleet's own instance-seconds at On-Demand (SavingsPercent against it):
	// kept for comparison, it flatters any fleet that holds more than it needs.
	CostUSD                          Stat `json:"costUsd"`
	OnDemandFleetUSD                 Stat `json:"onDemandFleetUsd"`
	SavedAgainstOnDemandFleetPercent Stat `json:"savedAgainstOnDemandFleetPercent"`
	AllOnDemandUSD                   Stat `json:"allOnDemandUsd"`
	SavingsPercent                   Stat `json:"savingsPercent"`

	SpotInstanceHours     Stat `json:"spotInstanceHours"`
	OnDemandInstanceHours Stat `json:"onDemandInstanceHours"`

	// AvailabilityPercent is the share of time every service served at least its desired
	// count; RequestsFailedPercent the share of all services' requests that failed
	// (docs/simulation.md says how both are measured). Services gives each service's own.
	AvailabilityPercent   Stat            `json:"availabilityPercent"`
	RequestsFailedPercent Stat            `json:"requestsFailedPercent"`
	Services              []ServiceResult `json:"services"`
	BelowDesiredSeconds   Stat            `json:"belowDesiredSeconds"`
	ShortfallTaskHours    Stat            `json:"shortfallTaskHours"`
	OutageP99Seconds      Stat            `json:"outageP99Seconds"`
	OutageMaxSeconds      Stat            `json:"outageMaxSeconds"`

	// InterruptionsPer1000InstanceHours counts Fargate Spot tasks' warnings per 1,000 task-hours
	// as instances' notices per 1,000 instance-hours (OnDemandSharePercent mixes them alike).
	InterruptionsPer1000InstanceHours Stat `json:"interruptionsPer1000InstanceHours"`
	Interruptions                     Stat `json:"interruptions"`
	LargestBurst                      Stat `json:"largestBurst"`
	TasksStoppedWhileRegistered       Stat `json:"tasksStoppedWhileRegistered"`
	DeadlineMissed                    Stat `json:"deadlineMissed"`
	LaunchFailures                    Stat `json:"launchFailures"`

	ReactionP50Seconds          Stat `json:"reactionSecondsP50"`
	ReactionP95Seconds          Stat `json:"reactionSecondsP95"`
	BackToSpotP50Seconds        Stat `json:"backToSpotSecondsP50"`
	BackToSpotP95Seconds        Stat `json:"backToSpotSecondsP95"`
	OnDemandSharePercent        Stat `json:"onDemandSharePercent"`
	OnDemandExcessInstanceHours Stat `json:"onDemandExcessInstanceHours"`

	// VsBaseline is the row's difference to the baseline row in the same runs.
	VsBaseline *Comparison `json:"vsBaseline,omitempty"`

	// Timeline is the first run, sampled (not in the JSON report).
	Timeline []Point `json:"-"`
	// NoticeHours and RefusalHours mark the first run's notices and refused launches.
	NoticeHours, RefusalHours []float64 `json:"-"`
	WallSeconds               float64   `json:"wallSeconds"`

	values map[string][]float64 // per run, of the figures compared with a baseline
}

// ServiceResult is one service over the runs.
type ServiceResult struct {
	Name                  string `json:"name"`
	AvailabilityPercent   Stat   `json:"availabilityPercent"`
	RequestsFailedPercent Stat   `json:"requestsFailedPercent"`
}

// Comparison is a row against its baseline (Options.Baseline): this row minus the
// baseline's, run by run.
type Comparison struct {
	Baseline                    string `json:"baseline"` // manifest · controller
	CostUSD                     Diff   `json:"costUsd"`
	AvailabilityPercent         Diff   `json:"availabilityPercent"`
	RequestsFailedPercent       Diff   `json:"requestsFailedPercent"`
	TasksStoppedWhileRegistered Diff   `json:"tasksStoppedWhileRegistered"`
	DeadlineMissed              Diff   `json:"deadlineMissed"`
}

// Point is the fleet at one moment of a timeline.
type Point struct {
	Hours                        float64
	Desired, Serving, Spot, OnDm int
	Cover, UnavailablePools      int
}

// figure is one figure of a run, with what it can be.
type figure struct {
	of     func(r runResult) float64
	bounds bounds
}

// compared are the figures a Comparison gives, by name.
var compared = map[string]figure{
	"cost":         {func(r runResult) float64 { return r.report.Cost.USD }, nonNegative},
	"availability": {func(r runResult) float64 { return r.report.Capacity.AvailabilityPercent }, percent},
	"failed":       {requestsFailed, percent},
	"stopped":      {func(r runResult) float64 { return float64(r.report.Interruptions.TasksStoppedWhileRegistered) }, nonNegative},
	"deadline":     {func(r runResult) float64 { return float64(r.report.Interruptions.DeadlineMissed) }, nonNegative},
}

// requestsFailed is the share of every service's requests that failed in a run.
func requestsFailed(r runResult) float64 {
	var total, failed float64
	for _, s := range r.report.Services {
		total += s.Requests
		failed += s.RequestsFailed
	}
	if total <= 0 {
		return 0
	}
	return 100 * failed / total
}

// aggregate sums up the runs of one manifest × controller.
func aggregate(name, ctl string, runs []runResult) Result {
	res := Result{Manifest: name, Controller: ctl, values: map[string][]float64{}}
	per := func(b bounds, f func(r runResult) (float64, bool)) Stat {
		var xs []float64
		for _, r := range runs {
			if x, ok := f(r); ok {
				xs = append(xs, x)
			}
		}
		return statOf(xs, b)
	}
	always := func(b bounds, f func(r runResult) float64) Stat {
		return per(b, func(r runResult) (float64, bool) { return f(r), true })
	}
	for name, f := range compared {
		for _, r := range runs {
			res.values[name] = append(res.values[name], f.of(r))
		}
	}
	res.CostUSD = statOf(res.values["cost"], nonNegative)
	res.AvailabilityPercent = statOf(res.values["availability"], percent)
	res.RequestsFailedPercent = statOf(res.values["failed"], percent)
	res.TasksStoppedWhileRegistered = statOf(res.values["stopped"], nonNegative)
	res.DeadlineMissed = statOf(res.values["deadline"], nonNegative)
	res.OnDemandFleetUSD = always(nonNegative, func(r runResult) float64 { return r.report.Cost.OnDemandFleetUSD })
	res.SavedAgainstOnDemandFleetPercent = always(anyValue, func(r runResult) float64 { return r.report.Cost.SavedAgainstOnDemandFleetPercent })
	res.AllOnDemandUSD = always(nonNegative, func(r runResult) float64 { return r.report.Cost.AllOnDemandUSD })
	res.SavingsPercent = always(anyValue, func(r runResult) float64 { return r.report.Cost.SavingsPercent })
	for i, s := range runs[0].report.Services {
		sr := ServiceResult{Name: s.Name}
		sr.AvailabilityPercent = always(percent, func(r runResult) float64 { return r.report.Services[i].AvailabilityPercent })
		sr.RequestsFailedPercent = always(percent, func(r runResult) float64 { return r.report.Services[i].RequestsFailedPercent })
		res.Services = append(res.Services, sr)
	}
	res.SpotInstanceHours = always(nonNegative, func(r runResult) float64 { return r.report.Capacity.SpotInstanceSeconds / 3600 })
	res.OnDemandInstanceHours = always(nonNegative, func(r runResult) float64 { return r.report.Capacity.OnDemandInstanceSeconds / 3600 })
	res.BelowDesiredSeconds = always(nonNegative, func(r runResult) float64 { return r.report.Capacity.SecondsBelowDesired })
	res.ShortfallTaskHours = always(nonNegative, func(r runResult) float64 { return r.sim.ShortfallUnitSeconds / 3600 })
	res.OutageP99Seconds = always(nonNegative, func(r runResult) float64 { return quantile(seconds(r.sim.Outages), 0.99) })
	res.OutageMaxSeconds = always(nonNegative, func(r runResult) float64 { return quantile(seconds(r.sim.Outages), 1) })
	res.InterruptionsPer1000InstanceHours = always(nonNegative, func(r runResult) float64 {
		if h := (r.report.Capacity.SpotInstanceSeconds + r.report.Capacity.FargateSpotTaskSeconds) / 3600; h > 0 {
			return float64(r.report.Interruptions.Notices) / h * 1000
		}
		return 0
	})
	res.Interruptions = always(nonNegative, func(r runResult) float64 { return float64(r.report.Interruptions.Notices) })
	res.LargestBurst = always(nonNegative, func(r runResult) float64 { return float64(r.sim.LargestBurst) })
	res.LaunchFailures = always(nonNegative, func(r runResult) float64 { return float64(r.report.Capacity.LaunchFailures) })
	fallback := func(pick func(r runResult) []float64, q float64) Stat {
		return per(nonNegative, func(r runResult) (float64, bool) {
			xs := pick(r)
			return quantile(xs, q), len(xs) > 0
		})
	}
	reaction := func(r runResult) []float64 {
		if r.ctl == nil {
			return nil
		}
		return r.ctl.Fallback.ReactionSeconds
	}
	back := func(r runResult) []float64 {
		if r.ctl == nil {
			return nil
		}
		return r.ctl.Fallback.BackToSpotSeconds
	}
	res.ReactionP50Seconds, res.ReactionP95Seconds = fallback(reaction, 0.5), fallback(reaction, 0.95)
	res.BackToSpotP50Seconds, res.BackToSpotP95Seconds = fallback(back, 0.5), fallback(back, 0.95)
	res.OnDemandSharePercent = always(percent, func(r runResult) float64 {
		c := r.report.Capacity // instance-seconds, and Fargate task-seconds
		od := c.OnDemandInstanceSeconds + c.FargateTaskSeconds
		if t := od + c.SpotInstanceSeconds + c.FargateSpotTaskSeconds; t > 0 {
			return 100 * od / t
		}
		return 0
	})
	res.OnDemandExcessInstanceHours = always(nonNegative, func(r runResult) float64 { return r.report.Capacity.OnDemandExcessInstanceSeconds / 3600 })

	first := runs[0]
	for _, s := range first.timeline {
		res.Timeline = append(res.Timeline, Point{Hours: s.At.Hours(), Desired: s.Desired, Serving: s.Serving,
			Spot: s.Spot, OnDm: s.OnDemand, Cover: s.CoverTasks, UnavailablePools: s.UnavailablePools})
	}
	res.NoticeHours, res.RefusalHours = hours(first.sim.NoticeMarks), hours(first.sim.RefusalMarks)
	for _, r := range runs {
		res.WallSeconds += r.wallSecond
	}
	return res
}

// compare sets the row's comparison with its baseline row.
func (res *Result) compare(base *Result) {
	d := func(name string, b bounds) Diff { return diffOf(res.values[name], base.values[name], b) }
	res.VsBaseline = &Comparison{Baseline: base.Manifest + " · " + base.Controller,
		CostUSD: d("cost", anyValue), AvailabilityPercent: d("availability", bounds{-100, 100}),
		RequestsFailedPercent:       d("failed", bounds{-100, 100}),
		TasksStoppedWhileRegistered: d("stopped", anyValue), DeadlineMissed: d("deadline", anyValue)}
}
