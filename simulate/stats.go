package simulate

import (
	"math"
	"slices"
	"time"

	"github.com/spotfleet/spotfleet/internal/stats"
)

// Stat is a figure's mean over the runs and its 95% confidence interval (Student's t).
type Stat struct {
	Mean float64    `json:"mean"`
	CI95 [2]float64 `json:"ci95"`
	// N is how many runs had the figure: all of them, but for a fallback's reaction and
	// return, which need a cover.
	N int `json:"n"`
}

// Result is one manifest × controller over its runs. Times are seconds, costs US dollars.
type Result struct {
	Manifest   string `json:"manifest"`
	Controller string `json:"controller"`

	CostUSD        Stat `json:"costUsd"`
	AllOnDemandUSD Stat `json:"allOnDemandUsd"`
	SavingsPercent Stat `json:"savingsPercent"`
	OmniscientUSD  Stat `json:"omniscientUsd"`

	SpotInstanceHours     Stat `json:"spotInstanceHours"`
	OnDemandInstanceHours Stat `json:"onDemandInstanceHours"`

	AvailabilityPercent Stat `json:"availabilityPercent"`
	BelowDesiredSeconds Stat `json:"belowDesiredSeconds"`
	ShortfallTaskHours  Stat `json:"shortfallTaskHours"`
	OutageP99Seconds    Stat `json:"outageP99Seconds"`
	OutageMaxSeconds    Stat `json:"outageMaxSeconds"`

	// InterruptionsPer1000InstanceHours counts Fargate Spot tasks' warnings per 1,000 task-hours
	// as instances' notices per 1,000 instance-hours (OnDemandSharePercent mixes them alike).
	InterruptionsPer1000InstanceHours Stat `json:"interruptionsPer1000InstanceHours"`
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

	// Timeline is the first run, sampled (not in the JSON report).
	Timeline []Point `json:"-"`
	// NoticeHours and RefusalHours mark the first run's notices and refused launches.
	NoticeHours, RefusalHours []float64 `json:"-"`
	WallSeconds               float64   `json:"wallSeconds"`
}

// Point is the fleet at one moment of a timeline.
type Point struct {
	Hours                        float64
	Desired, Healthy, Spot, OnDm int
	Cover, UnavailablePools      int
}

// aggregate sums up the runs of one manifest × controller.
func aggregate(name, ctl string, runs []runResult) Result {
	res := Result{Manifest: name, Controller: ctl}
	per := func(f func(r runResult) (float64, bool)) Stat {
		var xs []float64
		for _, r := range runs {
			if x, ok := f(r); ok {
				xs = append(xs, x)
			}
		}
		st := meanCI(xs)
		st.N = len(xs)
		return st
	}
	always := func(f func(r runResult) float64) Stat {
		return per(func(r runResult) (float64, bool) { return f(r), true })
	}
	res.CostUSD = always(func(r runResult) float64 { return r.report.Cost.USD })
	res.AllOnDemandUSD = always(func(r runResult) float64 { return r.report.Cost.AllOnDemandUSD })
	res.SavingsPercent = always(func(r runResult) float64 { return r.report.Cost.SavingsPercent })
	res.OmniscientUSD = always(func(r runResult) float64 { return r.sim.OmniscientUSD })
	res.AvailabilityPercent = always(func(r runResult) float64 {
		if r.sim.ServedSeconds <= 0 {
			return 0
		}
		return 100 * (1 - r.report.Capacity.SecondsBelowDesired/r.sim.ServedSeconds)
	})
	res.SpotInstanceHours = always(func(r runResult) float64 { return r.report.Capacity.SpotInstanceSeconds / 3600 })
	res.OnDemandInstanceHours = always(func(r runResult) float64 { return r.report.Capacity.OnDemandInstanceSeconds / 3600 })
	res.BelowDesiredSeconds = always(func(r runResult) float64 { return r.report.Capacity.SecondsBelowDesired })
	res.ShortfallTaskHours = always(func(r runResult) float64 { return r.sim.ShortfallUnitSeconds / 3600 })
	res.OutageP99Seconds = always(func(r runResult) float64 { return quantile(seconds(r.sim.Outages), 0.99) })
	res.OutageMaxSeconds = always(func(r runResult) float64 { return quantile(seconds(r.sim.Outages), 1) })
	res.InterruptionsPer1000InstanceHours = always(func(r runResult) float64 {
		if h := (r.report.Capacity.SpotInstanceSeconds + r.report.Capacity.FargateSpotTaskSeconds) / 3600; h > 0 {
			return float64(r.report.Interruptions.Notices) / h * 1000
		}
		return 0
	})
	res.LargestBurst = always(func(r runResult) float64 { return float64(r.sim.LargestBurst) })
	res.TasksStoppedWhileRegistered = always(func(r runResult) float64 { return float64(r.report.Interruptions.TasksStoppedWhileRegistered) })
	res.DeadlineMissed = always(func(r runResult) float64 { return float64(r.report.Interruptions.DeadlineMissed) })
	res.LaunchFailures = always(func(r runResult) float64 { return float64(r.report.Capacity.LaunchFailures) })
	fallback := func(pick func(r runResult) []float64, q float64) Stat {
		return per(func(r runResult) (float64, bool) {
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
	res.OnDemandSharePercent = always(func(r runResult) float64 {
		c := r.report.Capacity // instance-seconds, and Fargate task-seconds
		od := c.OnDemandInstanceSeconds + c.FargateTaskSeconds
		if t := od + c.SpotInstanceSeconds + c.FargateSpotTaskSeconds; t > 0 {
			return 100 * od / t
		}
		return 0
	})
	res.OnDemandExcessInstanceHours = always(func(r runResult) float64 { return r.report.Capacity.OnDemandExcessInstanceSeconds / 3600 })

	first := runs[0]
	for _, s := range first.timeline {
		res.Timeline = append(res.Timeline, Point{Hours: s.At.Hours(), Desired: s.Desired, Healthy: s.Healthy,
			Spot: s.Spot, OnDm: s.OnDemand, Cover: s.CoverTasks, UnavailablePools: s.UnavailablePools})
	}
	res.NoticeHours, res.RefusalHours = hours(first.sim.NoticeMarks), hours(first.sim.RefusalMarks)
	for _, r := range runs {
		res.WallSeconds += r.wallSecond
	}
	return res
}

func seconds(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

func hours(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Hours()
	}
	return out
}

// quantile of values in any order (nearest rank); 0 for none.
func quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return stats.Quantile(s, q)
}

// meanCI is the mean and its 95% interval, mean ± t(0.975, n-1) · s / √n. With one run the
// interval is the mean itself; with none, zeros.
func meanCI(xs []float64) Stat {
	n := len(xs)
	if n == 0 {
		return Stat{}
	}
	mean := 0.0
	for _, x := range xs {
		mean += x
	}
	mean /= float64(n)
	st := Stat{Mean: round(mean), CI95: [2]float64{round(mean), round(mean)}}
	if n < 2 {
		return st
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	half := tQuantile(n-1) * math.Sqrt(ss/float64(n-1)) / math.Sqrt(float64(n))
	st.CI95 = [2]float64{round(mean - half), round(mean + half)}
	return st
}

// tQuantile is Student's t at 0.975 for df degrees of freedom (tables for df ≤ 30, the
// normal's 1.96 beyond within 0.04).
func tQuantile(df int) float64 {
	table := []float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}
	if df >= 1 && df <= len(table) {
		return table[df-1]
	}
	return 1.96
}

// round keeps 4 significant decimals past the point: reports that read the same.
func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }
