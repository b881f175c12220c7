package result

import (
	"math"
	"slices"
	"strconv"

	"github.com/hnspath/hnspath/bench/stats"
)

// CoresKey is the workload key that holds the number of cores (shards) a benchmark ran
// on. The runner adds it last to every benchmark name.
const CoresKey = "cores"

// Scaling shows how one workload's throughput grows with cores.
type Scaling struct {
	// Group is the workload's full name without the cores key.
	Group string `json:"group"`
	// BaseCores is the smallest core count measured; speedups are relative to it.
	BaseCores int `json:"base_cores"`
	// Points are ordered by core count.
	Points []ScalePoint `json:"points"`
	// Fit is the least-squares line pkts/s = Intercept + Slope*cores over the
	// medians; Slope is the packets per second each added core brings.
	Fit *LineFit `json:"fit,omitempty"`
}

// A ScalePoint is one core count of a Scaling.
type ScalePoint struct {
	Cores int `json:"cores"`
	// PacketsPerSec is the median pkts/s over the trials.
	PacketsPerSec float64 `json:"pkts_per_sec"`
	// Speedup is PacketsPerSec divided by that at BaseCores.
	Speedup float64 `json:"speedup"`
	// Efficiency is Speedup divided by Cores/BaseCores (1 is perfect scaling).
	Efficiency float64 `json:"efficiency"`
}

// A Fit is a line through a workload's cost at several values of one numeric key,
// e.g. ns/packet against flows or against rules.
type Fit struct {
	// Group is the full name with the varying key's value replaced by "*".
	Group string `json:"group"`
	// Key is the varying key.
	Key string `json:"key"`
	// Unit is the fitted unit (UnitNsPerPacket).
	Unit string `json:"unit"`
	// Points are (key value, median) pairs ordered by X.
	Points []Point `json:"points"`
	// Linear fits y = a + b*x.
	Linear LineFit `json:"linear"`
	// Log10 fits y = a + b*log10(x); it is set when every x is positive, which suits
	// keys spanning decades such as flows from 1 to 1M.
	Log10 *LineFit `json:"log10,omitempty"`
}

// A Point is one (x, y) pair of a Fit.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// A LineFit is stats.Line with JSON field names; a NaN R2 (all y equal) is null.
type LineFit struct {
	Intercept float64 `json:"intercept"`
	Slope     float64 `json:"slope"`
	R2        float64 `json:"r2"`
	N         int     `json:"n"`
}

// Best returns the fit of f with the larger R², and whether it is the log10 one.
func (f Fit) Best() (LineFit, bool) {
	if f.Log10 != nil && (math.IsNaN(f.Linear.R2) || f.Log10.R2 > f.Linear.R2) {
		return *f.Log10, true
	}
	return f.Linear, false
}

func lineFit(l stats.Line) LineFit {
	return LineFit{Intercept: l.Intercept, Slope: l.Slope, R2: l.R2, N: l.N}
}

// median returns the center of b's summary for unit, or false.
func median(b *Benchmark, unit string) (float64, bool) {
	s, ok := b.Summary[unit]
	if !ok || s.N == 0 || math.IsNaN(s.Center) {
		return 0, false
	}
	return s.Center, true
}

// withoutKey returns keys without k, and k's value.
func withoutKey(keys []KV, k string) (rest []KV, v string, ok bool) {
	for i, kv := range keys {
		if kv.Key == k {
			rest = append(slices.Clone(keys[:i]), keys[i+1:]...)
			return rest, kv.Value, true
		}
	}
	return keys, "", false
}

func computeScaling(r *Report) []Scaling {
	type group struct {
		name   string
		points []ScalePoint
	}
	var order []string
	groups := map[string]*group{}
	for _, b := range r.Benchmarks {
		if b.IsReference {
			continue
		}
		rest, v, ok := withoutKey(b.Keys, CoresKey)
		if !ok {
			continue
		}
		cores, err := strconv.Atoi(v)
		if err != nil || cores <= 0 {
			continue
		}
		pps, ok := median(b, UnitPacketsPerSec)
		if !ok {
			continue
		}
		name := FullName(b.Name, rest)
		g := groups[name]
		if g == nil {
			g = &group{name: name}
			groups[name] = g
			order = append(order, name)
		}
		g.points = append(g.points, ScalePoint{Cores: cores, PacketsPerSec: pps})
	}
	var out []Scaling
	for _, name := range order {
		g := groups[name]
		if len(g.points) < 2 {
			continue
		}
		slices.SortFunc(g.points, func(a, b ScalePoint) int { return a.Cores - b.Cores })
		base := g.points[0]
		xs := make([]float64, len(g.points))
		ys := make([]float64, len(g.points))
		for i := range g.points {
			p := &g.points[i]
			if base.PacketsPerSec > 0 {
				p.Speedup = p.PacketsPerSec / base.PacketsPerSec
				p.Efficiency = p.Speedup / (float64(p.Cores) / float64(base.Cores))
			}
			xs[i], ys[i] = float64(p.Cores), p.PacketsPerSec
		}
		s := Scaling{Group: name, BaseCores: base.Cores, Points: g.points}
		if l, err := stats.FitLine(xs, ys); err == nil {
			lf := lineFit(l)
			s.Fit = &lf
		}
		out = append(out, s)
	}
	return out
}

// minFitPoints is the fewest distinct x values worth a Fit: two always fit exactly.
const minFitPoints = 3

func computeFits(r *Report) []Fit {
	type group struct {
		name, key string
		points    []Point
	}
	var order []string
	groups := map[string]*group{}
	for _, b := range r.Benchmarks {
		if b.IsReference {
			continue
		}
		y, ok := median(b, UnitNsPerPacket)
		if !ok {
			continue
		}
		for i, kv := range b.Keys {
			if kv.Key == CoresKey {
				continue
			}
			x, err := strconv.ParseFloat(kv.Value, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				continue
			}
			keys := slices.Clone(b.Keys)
			keys[i].Value = "*"
			name := FullName(b.Name, keys)
			g := groups[name]
			if g == nil {
				g = &group{name: name, key: kv.Key}
				groups[name] = g
				order = append(order, name)
			}
			g.points = append(g.points, Point{X: x, Y: y})
		}
	}
	var out []Fit
	for _, name := range order {
		g := groups[name]
		slices.SortFunc(g.points, func(a, b Point) int {
			switch {
			case a.X < b.X:
				return -1
			case a.X > b.X:
				return 1
			}
			return 0
		})
		distinct := 1
		for i := 1; i < len(g.points); i++ {
			if g.points[i].X != g.points[i-1].X {
				distinct++
			}
		}
		if distinct < minFitPoints {
			continue
		}
		xs := make([]float64, len(g.points))
		ys := make([]float64, len(g.points))
		logOK := true
		for i, p := range g.points {
			xs[i], ys[i] = p.X, p.Y
			logOK = logOK && p.X > 0
		}
		lin, err := stats.FitLine(xs, ys)
		if err != nil {
			continue
		}
		f := Fit{Group: name, Key: g.key, Unit: UnitNsPerPacket, Points: g.points, Linear: lineFit(lin)}
		if logOK {
			lx := make([]float64, len(xs))
			for i, x := range xs {
				lx[i] = math.Log10(x)
			}
			if l, err := stats.FitLine(lx, ys); err == nil {
				lf := lineFit(l)
				f.Log10 = &lf
			}
		}
		out = append(out, f)
	}
	return out
}
