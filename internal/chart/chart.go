// Package chart draws spotfleet's charts as SVG with gonum.org/v1/plot: a scatter of
// strategies with their confidence intervals, and a timeline of a fleet with its events
// marked. The SVG is self-contained (no file fetched to show it).
package chart

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Point is one labelled point with its interval on each axis (equal to the value where
// there is none).
type Point struct {
	Label          string
	X, XLow, XHigh float64
	Y, YLow, YHigh float64
}

// palette is a few colours that read apart, the same order everywhere.
var palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{214, 39, 40, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{255, 127, 14, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
	color.RGBA{127, 127, 127, 255}, color.RGBA{23, 190, 207, 255},
}

// Color is the i-th colour of the charts.
func Color(i int) color.Color { return palette[i%len(palette)] }

// CSS is the i-th colour of the charts as CSS writes it, for a legend beside the chart.
func CSS(i int) string {
	r, g, b, _ := Color(i).RGBA()
	return fmt.Sprintf("#%02x%02x%02x", r>>8, g>>8, b>>8)
}

// Scatter draws the points with their intervals as error bars, the i-th in Color(i). Its
// legend is the caller's to draw beside it (CSS): inside, it covered the points.
func Scatter(title, xLabel, yLabel string, pts []Point) ([]byte, error) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xLabel, yLabel
	p.Add(plotter.NewGrid())
	for i, pt := range pts {
		xy := plotter.XYs{{X: pt.X, Y: pt.Y}}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return nil, err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: Color(i), Radius: vg.Points(4), Shape: draw.CircleGlyph{}}
		bars := errs{xy, pt.X - pt.XLow, pt.XHigh - pt.X, pt.Y - pt.YLow, pt.YHigh - pt.Y}
		xe, err := plotter.NewXErrorBars(bars)
		if err != nil {
			return nil, err
		}
		ye, err := plotter.NewYErrorBars(bars)
		if err != nil {
			return nil, err
		}
		xe.Color, ye.Color = Color(i), Color(i)
		p.Add(s, xe, ye)
	}
	pad(p, pts)
	return svg(p, 9*vg.Inch, 5.5*vg.Inch)
}

// pad widens the axes a little around the points and their intervals, so that a point on
// the edge is not cut.
func pad(p *plot.Plot, pts []Point) {
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, pt := range pts {
		minX, maxX = min(minX, pt.XLow, pt.X), max(maxX, pt.XHigh, pt.X)
		minY, maxY = min(minY, pt.YLow, pt.Y), max(maxY, pt.YHigh, pt.Y)
	}
	dx, dy := max((maxX-minX)*0.1, 1e-3), max((maxY-minY)*0.1, 1e-3)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = minX-dx, maxX+dx, minY-dy, maxY+dy
}

type errs struct {
	plotter.XYs
	xl, xh, yl, yh float64
}

func (e errs) XError(int) (float64, float64) { return e.xl, e.xh }
func (e errs) YError(int) (float64, float64) { return e.yl, e.yh }

// Series is a line of a timeline.
type Series struct {
	Name string
	X, Y []float64
}

// Marks are events drawn as ticks at the foot of a timeline.
type Marks struct {
	Name string
	X    []float64
}

// Timeline draws the series as step lines (the i-th in Color(i); the first dashed and on
// top, so that a line equal to it shows beside it), and each kind of mark as a row of ticks
// below the lowest line (in Color(len(series)+i)). Its legend is the caller's to draw
// beside it: inside, it covered the data.
func Timeline(title, xLabel, yLabel string, series []Series, marks []Marks) ([]byte, error) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xLabel, yLabel
	p.Add(plotter.NewGrid())
	top := 0.0
	for _, s := range series {
		for _, y := range s.Y {
			top = max(top, y)
		}
	}
	var first *plotter.Line
	for i, s := range series {
		xy := make(plotter.XYs, len(s.X))
		for j := range s.X {
			xy[j].X, xy[j].Y = s.X[j], s.Y[j]
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.StepStyle = plotter.PreStep
		l.Color, l.Width = Color(i), vg.Points(1.2)
		if i == 0 {
			l.Width, l.Dashes = vg.Points(2), []vg.Length{vg.Points(5), vg.Points(3)}
			first = l
			continue
		}
		p.Add(l)
	}
	if first != nil {
		p.Add(first)
	}
	for i, m := range marks {
		if len(m.X) == 0 {
			continue
		}
		// Each kind of mark on its own row under the lines: -4% and -8% of the top.
		y := -top * 0.04 * float64(i+1)
		xy := make(plotter.XYs, len(m.X))
		for j, x := range m.X {
			xy[j].X, xy[j].Y = x, y
		}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return nil, err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: Color(len(series) + i), Radius: vg.Points(2.5), Shape: draw.PyramidGlyph{}}
		p.Add(s)
	}
	p.Y.Min = -top * 0.04 * float64(len(marks)+1)
	p.Y.Max = top * 1.15
	return svg(p, 11*vg.Inch, 4*vg.Inch)
}

func svg(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	wt, err := p.WriterTo(w, h, "svg")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
