package simulate

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"time"

	"github.com/spotfleet/spotfleet/internal/chart"
)

// WriteHTML writes the report as one self-contained page: the table, a chart of cost
// against availability (one point per manifest × controller, with its 95% intervals), and
// the timeline of each one's first run, with interruptions and refused launches marked.
// Legends are HTML beside the charts, and the timelines keep only the points where a line
// changes, so that a month of a large fleet is a page of kilobytes.
func (r *Report) WriteHTML(w io.Writer) error {
	var pts []chart.Point
	page := htmlPage{Report: r, Generated: "spotfleet simulate"}
	for i, x := range r.Results {
		pts = append(pts, chart.Point{Label: x.Manifest + " · " + x.Controller,
			X: x.AvailabilityPercent.Mean, XLow: x.AvailabilityPercent.CI95[0], XHigh: x.AvailabilityPercent.CI95[1],
			Y: x.CostUSD.Mean, YLow: x.CostUSD.CI95[0], YHigh: x.CostUSD.CI95[1]})
		page.Legend = append(page.Legend, legendItem{Name: x.Manifest + " · " + x.Controller, Color: chart.CSS(i)})
	}
	scatter, err := chart.Scatter(fmt.Sprintf("Cost against availability: %g days, %d runs, %s market", r.Days, r.Runs, r.Market),
		"time with every service at its desired count serving (%)", "cost (US dollars)", pts)
	if err != nil {
		return err
	}
	page.Scatter = template.HTML(scatter)
	for _, x := range r.Results {
		if len(x.Timeline) == 0 {
			continue
		}
		tl, err := timeline(x)
		if err != nil {
			return err
		}
		page.Timelines = append(page.Timelines, tl)
	}
	return reportTemplate.Execute(w, page)
}

// timelineChart is one timeline with its legend.
type timelineChart struct {
	SVG    template.HTML
	Legend []legendItem
}

type legendItem struct{ Name, Color string }

// timeline charts a result's first run by day: desired and serving tasks, instances by
// lifecycle and fallback tasks, with its notices and refused launches marked.
func timeline(x Result) (timelineChart, error) {
	var hours, desired, serving, spot, od, cover []float64
	for _, p := range x.Timeline {
		hours = append(hours, p.Hours)
		desired, serving = append(desired, float64(p.Desired)), append(serving, float64(p.Serving))
		spot, od, cover = append(spot, float64(p.Spot)), append(od, float64(p.OnDm)), append(cover, float64(p.Cover))
	}
	t := days(hours)
	series := []chart.Series{steps("desired", t, desired), steps("serving", t, serving),
		steps("Spot instances", t, spot), steps("On-Demand instances", t, od), steps("fallback tasks", t, cover)}
	span := 1.0
	if len(t) > 0 {
		span = max(t[len(t)-1], 1e-9)
	}
	marks := []chart.Marks{{Name: "interruption notices", X: thin(days(x.NoticeHours), span)}, {Name: "refused launches", X: thin(days(x.RefusalHours), span)}}
	svg, err := chart.Timeline(fmt.Sprintf("%s · %s, run 1", x.Manifest, x.Controller), "day", "tasks (units) and instances", series, marks)
	if err != nil {
		return timelineChart{}, err
	}
	tc := timelineChart{SVG: template.HTML(svg)}
	for i, s := range series {
		tc.Legend = append(tc.Legend, legendItem{Name: s.Name, Color: chart.CSS(i)})
	}
	for i, m := range []struct {
		name string
		n    int
	}{{"interruption notices", len(x.NoticeHours)}, {"refused launches", len(x.RefusalHours)}} {
		if m.n > 0 {
			tc.Legend = append(tc.Legend, legendItem{Name: fmt.Sprintf("%s (%d)", m.name, m.n), Color: chart.CSS(len(series) + i)})
		}
	}
	return tc, nil
}

// steps keeps the points of a step line where it changes: the first and last of each run
// of equal values.
func steps(name string, x, y []float64) chart.Series {
	s := chart.Series{Name: name}
	for i := range y {
		if i == 0 || i == len(y)-1 || y[i] != y[i-1] || y[i] != y[i+1] {
			s.X, s.Y = append(s.X, x[i]), append(s.Y, y[i])
		}
	}
	return s
}

// thin keeps one mark per thousandth of the span: ten thousand notices drawn one by one
// made a page of megabytes and a barcode.
func thin(xs []float64, span float64) []float64 {
	var out []float64
	last := math.Inf(-1)
	for _, x := range xs {
		if x-last >= span/1000 {
			out, last = append(out, x), x
		}
	}
	return out
}

func days(hours []float64) []float64 {
	out := make([]float64, len(hours))
	for i, h := range hours {
		out[i] = h / 24
	}
	return out
}

type htmlPage struct {
	*Report
	Scatter   template.HTML
	Legend    []legendItem
	Timelines []timelineChart
	Generated string
}

func (p htmlPage) Wall() string {
	return (time.Duration(p.WallSeconds * float64(time.Second))).Round(time.Second).String()
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"f":   func(format string, v ...any) string { return fmt.Sprintf(format, v...) },
	"dur": dur, "optional": optional,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>spotfleet simulate: {{.Market}} market, {{.Days}} days</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 1400px }
.scroll { overflow-x: auto; max-width: 100% }
table { border-collapse: collapse; font-size: 13px; white-space: nowrap }
th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right }
th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left }
figure { margin: 1.5em 0 } svg { max-width: 100%; height: auto; display: block }
ul.legend { list-style: none; padding: 0; margin: 0.3em 0; display: flex; flex-wrap: wrap; gap: 0.3em 1.2em; font-size: 13px }
ul.legend span { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.35em; vertical-align: -0.1em; border-radius: 2px }
</style></head><body>
<h1>What this fleet costs, and how available it stays</h1>
<p>{{.Runs}} runs of {{.Days}} days each on the <b>{{.Market}}</b> market (intensity {{.Intensity}}, seed {{.Seed}}); run i is the same market
for every row. Means with their 95% intervals; availability is the share of time every service had its desired count serving,
failed requests the share that would have failed. Simulated in {{.Wall}} by {{.Generated}}. How to read it: docs/simulation.md.</p>
<div class="scroll"><table id="results">
<tr><th>manifest</th><th>controller</th><th>cost $</th><th>saved vs On-Demand fleet</th><th>available %</th><th>worst run</th>
<th>failed requests %</th><th>stopped registered</th><th>interruptions</th><th>On-Demand</th><th>reaction p50</th><th>back to Spot p50</th>
{{if .Baseline}}<th>Δ cost $ vs {{.Baseline}}</th><th>Δ available, points</th><th>Δ failed, points</th>{{end}}</tr>
{{range .Results}}<tr><td>{{.Manifest}}</td><td>{{.Controller}}</td>
<td>{{f "%.2f [%.2f, %.2f]" .CostUSD.Mean (index .CostUSD.CI95 0) (index .CostUSD.CI95 1)}}</td>
<td>{{f "%.1f%%" .SavedAgainstOnDemandFleetPercent.Mean}}</td>
<td>{{f "%.3f [%.3f, %.3f]" .AvailabilityPercent.Mean (index .AvailabilityPercent.CI95 0) (index .AvailabilityPercent.CI95 1)}}</td>
<td>{{f "%.3f" .AvailabilityPercent.Min}}</td><td>{{f "%.4f" .RequestsFailedPercent.Mean}}</td>
<td>{{f "%.1f" .TasksStoppedWhileRegistered.Mean}}</td><td>{{f "%.1f" .Interruptions.Mean}}</td>
<td>{{f "%.1f%%" .OnDemandSharePercent.Mean}}</td><td>{{optional .ReactionP50Seconds}}</td><td>{{optional .BackToSpotP50Seconds}}</td>
{{if $.Baseline}}{{with .VsBaseline}}<td>{{f "%+.2f [%+.2f, %+.2f]" .CostUSD.Mean (index .CostUSD.CI95 0) (index .CostUSD.CI95 1)}}</td>
<td>{{f "%+.4f [%+.4f, %+.4f]" .AvailabilityPercent.Mean (index .AvailabilityPercent.CI95 0) (index .AvailabilityPercent.CI95 1)}}</td>
<td>{{f "%+.4f" .RequestsFailedPercent.Mean}}</td>{{else}}<td>baseline</td><td></td><td></td>{{end}}{{end}}</tr>
{{end}}</table></div>
<figure>{{.Scatter}}
<ul class="legend">{{range .Legend}}<li><span style="background:{{.Color}}"></span>{{.Name}}</li>{{end}}</ul></figure>
<h2>Timelines (the first run of each)</h2>
{{range .Timelines}}<figure>{{.SVG}}
<ul class="legend">{{range .Legend}}<li><span style="background:{{.Color}}"></span>{{.Name}}</li>{{end}}</ul></figure>
{{end}}
</body></html>
`))
