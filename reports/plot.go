package reports

import (
	"bytes"
	"fmt"
	"html"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	benchresult "github.com/hnspath/hnspath/bench/result"
)

// Plot colours (colour-blind safe, Okabe and Ito).
var (
	colNew   = color.RGBA{0, 114, 178, 255}   // blue
	colOld   = color.RGBA{153, 153, 153, 255} // grey
	colFit   = color.RGBA{230, 159, 0, 255}   // orange
	colIdeal = color.RGBA{0, 158, 115, 255}   // green
)

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// svgPlot renders p as an inline SVG element: no XML prolog, a <title>
// first (the accessible name, and what a browser shows on hover), a class,
// and a width that shrinks with the page.
func svgPlot(p *plot.Plot, w, h vg.Length, title string) (string, error) {
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", fmt.Errorf("plot %q: %w", title, err)
	}
	s := b.String()
	i := strings.Index(s, "<svg")
	if i < 0 {
		return "", fmt.Errorf("plot %q: no <svg> element", title)
	}
	s = s[i:]
	end := strings.Index(s, ">")
	open := s[:end]
	open = strings.Replace(open, "<svg ", `<svg class="plot" role="img" style="max-width:100%;height:auto" `, 1)
	return open + ">\n<title>" + html.EscapeString(title) + "</title>" + s[end+1:], nil
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Tick.Marker = siTicks{}
	p.Y.Tick.Marker = siTicks{}
	return p
}

// siTicks are gonum's default ticks labelled with SI prefixes (25M, not
// 2.5e+07).
type siTicks struct{}

func (siTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = tickLabel(ts[i].Value)
		}
	}
	return ts
}

// siLogTicks are gonum's log ticks labelled like siTicks.
type siLogTicks struct{}

func (siLogTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.LogTicks{Prec: -1}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = tickLabel(ts[i].Value)
		}
	}
	return ts
}

// tickLabel prints v with up to 3 significant digits and an SI prefix.
func tickLabel(v float64) string {
	a := math.Abs(v)
	for _, p := range []struct {
		scale float64
		p     string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if a >= p.scale {
			return strconv.FormatFloat(v/p.scale, 'g', 3, 64) + p.p
		}
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// hbars is a horizontal bar chart of values with intervals [lo, hi]
// (NaN: none) and its nominal labels.
type hbars struct {
	labels     []string
	vals       []float64
	lo, hi     []float64
	color      color.Color
	offset     vg.Length
	legend     string
	barWidth   vg.Length
	noInterval bool
}

// addBars adds bar charts (one per hbars, grouped around each row) with
// their intervals, and writes each row's label above its bars inside the
// plot. Labels are not axis ticks: gonum measures text with its own font,
// and a browser without it draws wider text, which would be clipped at the
// plot's edge.
func addBars(p *plot.Plot, sets ...hbars) error {
	if len(sets) == 0 || len(sets[0].vals) == 0 {
		return nil
	}
	// The first row goes on top: row i at y = n-1-i.
	n := len(sets[0].labels)
	rev := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for i, x := range v {
			out[len(v)-1-i] = x
		}
		return out
	}
	var top vg.Length
	for _, s := range sets {
		s.vals, s.lo, s.hi = rev(s.vals), rev(s.lo), rev(s.hi)
		bc, err := plotter.NewBarChart(plotter.Values(s.vals), s.barWidth)
		if err != nil {
			return err
		}
		bc.Horizontal = true
		bc.Color = s.color
		bc.LineStyle.Width = 0
		bc.Offset = s.offset
		p.Add(bc)
		if s.legend != "" {
			p.Legend.Add(s.legend, bc)
		}
		top = max(top, s.offset+s.barWidth/2)
		if s.noInterval {
			continue
		}
		// Interval bars sit at each bar's y (its index).
		var pts plotter.XYs
		var errs plotter.XErrors
		for i := range s.vals {
			if s.lo == nil || !isFinite(s.lo[i]) || !isFinite(s.hi[i]) {
				continue
			}
			pts = append(pts, plotter.XY{X: s.vals[i], Y: float64(i)})
			errs = append(errs, struct{ Low, High float64 }{s.vals[i] - s.lo[i], s.hi[i] - s.vals[i]})
		}
		if len(pts) == 0 {
			continue
		}
		eb := &plotter.XErrorBars{XYs: pts, XErrors: errs, LineStyle: draw.LineStyle{Color: color.Black, Width: vg.Points(1)}, CapWidth: vg.Points(6)}
		if s.offset != 0 {
			p.Add(offsetPlotter{eb, s.offset})
		} else {
			p.Add(eb)
		}
	}
	lx := plotter.XYLabels{Labels: sets[0].labels}
	for i := range n {
		lx.XYs = append(lx.XYs, plotter.XY{X: 0, Y: float64(n - 1 - i)})
	}
	lb, err := plotter.NewLabels(lx)
	if err != nil {
		return err
	}
	lb.Offset = vg.Point{X: vg.Points(2), Y: top + vg.Points(3)}
	for i := range lb.TextStyle {
		lb.TextStyle[i].Font.Size = vg.Points(10)
	}
	p.Add(lb)
	p.Y.Tick.Marker = plot.ConstantTicks{}
	p.Y.Min, p.Y.Max = -0.5, float64(n)-0.2
	p.X.Min = 0
	hi := 0.0
	for _, s := range sets {
		for i, v := range s.vals {
			hi = max(hi, v)
			if !s.noInterval && i < len(s.hi) && isFinite(s.hi[i]) {
				hi = max(hi, s.hi[i])
			}
		}
	}
	p.X.Max = hi * 1.08 // room for the last tick label
	return nil
}

// offsetPlotter draws interval bars shifted vertically by a fixed length,
// onto grouped bars.
type offsetPlotter struct {
	*plotter.XErrorBars
	off vg.Length
}

func (o offsetPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	c.Rectangle.Min.Y += o.off
	c.Rectangle.Max.Y += o.off
	o.XErrorBars.Plot(c, p)
}

// barsHeight is the height of a bar chart of n rows of groups bars.
func barsHeight(n, groups int) vg.Length {
	return vg.Points(float64(80 + n*(groups*12+24)))
}

const plotWidth = 7.5 * vg.Inch

// throughputPlot shows each benchmark's median in one unit (pkts/s for
// hnspath-bench files) with its confidence interval.
func throughputPlot(bn *Bench) (string, error) {
	unit := benchresult.UnitPacketsPerSec
	if bn.Format == FormatGoBench && len(bn.Units) > 0 {
		unit = bn.Units[0]
	}
	s := hbars{color: colNew, barWidth: vg.Points(12)}
	for _, r := range bn.Rows {
		m, ok := r.Metric(unit)
		if !ok || !isFinite(float64(m.Median)) {
			continue
		}
		s.labels = append(s.labels, r.Name)
		s.vals = append(s.vals, float64(m.Median))
		s.lo, s.hi = append(s.lo, float64(m.Lo)), append(s.hi, float64(m.Hi))
	}
	if len(s.vals) == 0 {
		return "", nil
	}
	title := fmt.Sprintf("%s per benchmark: median and %.0f%% confidence interval (%s)", unit, bn.Confidence*100, bn.File)
	p := newPlot(fmt.Sprintf("%s: median, %.0f%% interval", unit, bn.Confidence*100), unit, "")
	if err := addBars(p, s); err != nil {
		return "", err
	}
	return svgPlot(p, plotWidth, barsHeight(len(s.vals), 1), title)
}

// fitPlot shows a cost fit: the medians and the fitted line (against
// log10 of the key when that fits better).
func fitPlot(f benchresult.Fit) (string, error) {
	if len(f.Points) == 0 {
		return "", nil
	}
	best, isLog := f.Best()
	title := fmt.Sprintf("%s vs %s: %s", f.Unit, f.Key, f.Group)
	p := newPlot(f.Unit+" vs "+f.Key, f.Key, f.Unit)
	if isLog {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = siLogTicks{}
	}
	var pts plotter.XYs
	for _, pt := range f.Points {
		if (isLog && pt.X <= 0) || !isFinite(pt.X) || !isFinite(pt.Y) {
			continue
		}
		pts = append(pts, plotter.XY{X: pt.X, Y: pt.Y})
	}
	if len(pts) == 0 {
		return "", nil
	}
	sc, err := plotter.NewScatter(pts)
	if err != nil {
		return "", err
	}
	sc.GlyphStyle.Color = colNew
	sc.GlyphStyle.Radius = vg.Points(3.5)
	p.Add(sc)
	p.Legend.Add("median", sc)
	fn := plotter.NewFunction(func(x float64) float64 {
		if isLog {
			return best.Intercept + best.Slope*math.Log10(x)
		}
		return best.Intercept + best.Slope*x
	})
	fn.Color = colFit
	fn.Width = vg.Points(1.5)
	fn.Samples = 100
	p.Add(fn)
	r2 := "R² -"
	if !math.IsNaN(best.R2) {
		r2 = fmt.Sprintf("R² %.3f", best.R2)
	}
	p.Legend.Add("fit ("+r2+")", fn)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Y.Min = 0
	return svgPlot(p, 6*vg.Inch, 3.5*vg.Inch, title)
}

// scalingPlot shows throughput against cores, with perfect scaling from the
// smallest core count for reference.
func scalingPlot(s benchresult.Scaling) (string, error) {
	if len(s.Points) == 0 {
		return "", nil
	}
	title := "pkts/s vs cores: " + s.Group
	p := newPlot("pkts/s vs cores", "cores", "pkts/s")
	var pts, ideal plotter.XYs
	base := s.Points[0].PacketsPerSec / float64(max(s.BaseCores, 1))
	for _, pt := range s.Points {
		if !isFinite(pt.PacketsPerSec) || !isFinite(base) {
			continue
		}
		pts = append(pts, plotter.XY{X: float64(pt.Cores), Y: pt.PacketsPerSec})
		ideal = append(ideal, plotter.XY{X: float64(pt.Cores), Y: base * float64(pt.Cores)})
	}
	if len(pts) == 0 {
		return "", nil
	}
	l, sc, err := plotter.NewLinePoints(pts)
	if err != nil {
		return "", err
	}
	l.Color, sc.Color = colNew, colNew
	p.Add(l, sc)
	p.Legend.Add("measured (median)", l, sc)
	li, err := plotter.NewLine(ideal)
	if err != nil {
		return "", err
	}
	li.Color = colIdeal
	li.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(li)
	p.Legend.Add("linear scaling", li)
	p.Legend.Top = true
	p.Legend.Left = true
	p.X.Min, p.Y.Min = 0, 0
	return svgPlot(p, 6*vg.Inch, 3.5*vg.Inch, title)
}

// comparisonPlot shows the gating unit's medians, baseline against this
// run, with their intervals.
func comparisonPlot(c *BenchComparison) (string, error) {
	var rows []CompareRow
	for _, r := range c.Rows {
		if r.Gate {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return "", nil
	}
	unit := rows[0].Unit
	const bw = 10
	old := hbars{color: colOld, barWidth: vg.Points(bw), offset: vg.Points(bw / 2), legend: "baseline"}
	cur := hbars{color: colNew, barWidth: vg.Points(bw), offset: -vg.Points(bw / 2), legend: "this run"}
	for _, r := range rows {
		if r.Unit != unit || !isFinite(float64(r.Old.Median)) || !isFinite(float64(r.New.Median)) {
			continue
		}
		label := r.Name
		if r.Verdict != "~" {
			label += " (" + r.Verdict + ")"
		}
		old.labels, cur.labels = append(old.labels, label), append(cur.labels, label)
		old.vals, cur.vals = append(old.vals, float64(r.Old.Median)), append(cur.vals, float64(r.New.Median))
		old.lo, old.hi = append(old.lo, float64(r.Old.Lo)), append(old.hi, float64(r.Old.Hi))
		cur.lo, cur.hi = append(cur.lo, float64(r.New.Lo)), append(cur.hi, float64(r.New.Hi))
	}
	if len(cur.vals) == 0 {
		return "", nil
	}
	title := fmt.Sprintf("baseline %s vs this run, %s: %s", c.Baseline, unit, c.verdictWord())
	p := newPlot(unit+": baseline vs this run", unit, "")
	if err := addBars(p, old, cur); err != nil {
		return "", err
	}
	p.Legend.Top = true
	return svgPlot(p, plotWidth, barsHeight(len(cur.vals), 2), title)
}

// modesCostPlot shows the quick per-packet cost of each mode after the
// first round (the first round, with flows created, is in the tables).
func modesCostPlot(m *Modes) (string, error) {
	s := hbars{color: colNew, barWidth: vg.Points(14), noInterval: true}
	for _, mr := range m.Modes {
		if mr.Cost == nil || !isFinite(mr.Cost.NsPerPacket) {
			continue
		}
		s.labels = append(s.labels, mr.Mode)
		s.vals = append(s.vals, mr.Cost.NsPerPacket)
	}
	if len(s.vals) == 0 {
		return "", nil
	}
	title := "per-packet cost per mode: ns/packet of the replay (quick measurement)"
	p := newPlot("ns/packet per mode", "ns/packet", "")
	if err := addBars(p, s); err != nil {
		return "", err
	}
	return svgPlot(p, 6.5*vg.Inch, barsHeight(len(s.vals), 1), title)
}
