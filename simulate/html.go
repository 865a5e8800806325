package simulate

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"time"

	"github.com/spotfleet/spotfleet/internal/chart"
)

// WriteHTML writes the report as one self-contained page: the table, a chart of cost
// against availability (one point per manifest × controller, with its 95% intervals), and
// the timeline of each one's first run, with interruptions and refused launches marked.
func (r *Report) WriteHTML(w io.Writer) error {
	var pts []chart.Point
	for _, x := range r.Results {
		pts = append(pts, chart.Point{Label: x.Manifest + " · " + x.Controller,
			X: x.AvailabilityPercent.Mean, XLow: x.AvailabilityPercent.CI95[0], XHigh: x.AvailabilityPercent.CI95[1],
			Y: x.CostUSD.Mean, YLow: x.CostUSD.CI95[0], YHigh: x.CostUSD.CI95[1]})
	}
	scatter, err := chart.Scatter(fmt.Sprintf("Cost against availability: %g days, %d runs, %s market", r.Days, r.Runs, r.Market),
		"time with every service at its desired count (%)", "cost (US dollars)", pts)
	if err != nil {
		return err
	}
	page := htmlPage{Report: r, Scatter: template.HTML(scatter), Generated: "spotfleet simulate"}
	for _, x := range r.Results {
		if len(x.Timeline) == 0 {
			continue
		}
		svg, err := timeline(x)
		if err != nil {
			return err
		}
		page.Timelines = append(page.Timelines, template.HTML(svg))
	}
	var table bytes.Buffer
	r.WriteTable(&table)
	page.Table = table.String()
	return reportTemplate.Execute(w, page)
}

// timeline charts a result's first run by day: desired and serving tasks, instances by
// lifecycle and fallback tasks, with its notices and refused launches marked.
func timeline(x Result) ([]byte, error) {
	var hours, desired, serving, spot, od, cover []float64
	for _, p := range x.Timeline {
		hours = append(hours, p.Hours)
		desired, serving = append(desired, float64(p.Desired)), append(serving, float64(p.Serving))
		spot, od, cover = append(spot, float64(p.Spot)), append(od, float64(p.OnDm)), append(cover, float64(p.Cover))
	}
	t := days(hours)
	return chart.Timeline(fmt.Sprintf("%s · %s, run 1", x.Manifest, x.Controller), "day", "tasks (units) and instances",
		[]chart.Series{{Name: "desired", X: t, Y: desired}, {Name: "serving", X: t, Y: serving},
			{Name: "Spot instances", X: t, Y: spot}, {Name: "On-Demand instances", X: t, Y: od}, {Name: "fallback tasks", X: t, Y: cover}},
		[]chart.Marks{{Name: "interruption notices", X: days(x.NoticeHours)}, {Name: "refused launches", X: days(x.RefusalHours)}})
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
	Table     string
	Scatter   template.HTML
	Timelines []template.HTML
	Generated string
}

func (p htmlPage) Wall() string {
	return (time.Duration(p.WallSeconds * float64(time.Second))).Round(time.Second).String()
}

var reportTemplate = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>spotfleet simulate: {{.Market}} market, {{.Days}} days</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 12px }
figure { margin: 1.5em 0 } svg { max-width: 100%; height: auto }
</style></head><body>
<h1>What this fleet costs, and how available it stays</h1>
<p>{{.Runs}} runs of {{.Days}} days each on the <b>{{.Market}}</b> market (seed {{.Seed}}), per manifest and controller;
means with their 95% intervals. Simulated in {{.Wall}} by {{.Generated}}. How to read it: docs/simulation.md.</p>
<pre>{{.Table}}</pre>
<figure>{{.Scatter}}</figure>
<h2>Timelines (the first run of each)</h2>
{{range .Timelines}}<figure>{{.}}</figure>
{{end}}
</body></html>
`))
