package reports

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"

	"golang.org/x/perf/benchfmt"

	benchresult "github.com/hnspath/hnspath/bench/result"
	"github.com/hnspath/hnspath/bench/stats"
)

// Bench formats.
const (
	FormatBenchJSON = "hnspath-bench/v1"
	FormatGoBench   = "go"
)

// Bench is one bench file: a table of benchmarks with medians and
// confidence intervals, and for hnspath-bench/v1 files the scaling with
// cores, the cost fits and the comparison with a baseline.
type Bench struct {
	File string `json:"file"`
	// Format is FormatBenchJSON or FormatGoBench.
	Format string `json:"format"`
	// Config is the file's configuration (goos, cpu, commit, ...).
	Config []benchresult.KV `json:"config,omitempty"`
	// Confidence is the level of the intervals.
	Confidence float64 `json:"confidence"`
	// Trials is the number of trials per benchmark (hnspath-bench/v1).
	Trials int `json:"trials,omitempty"`
	// Units are the table's columns, in order.
	Units []string `json:"units"`
	// Rows are the benchmarks in file order.
	Rows []BenchRow `json:"rows"`
	// Scaling and Fits come from the hnspath-bench/v1 file.
	Scaling []benchresult.Scaling `json:"scaling,omitempty"`
	Fits    []benchresult.Fit     `json:"fits,omitempty"`
	// Comparison is the comparison with Options.Baseline.
	Comparison *BenchComparison `json:"comparison,omitempty"`
	Warnings   []string         `json:"warnings,omitempty"`
}

// BenchRow is one benchmark.
type BenchRow struct {
	Name string `json:"name"`
	// Reference is set on copy references (they measure the machine).
	Reference bool `json:"reference,omitempty"`
	// Metrics has one entry per unit of Bench.Units that the benchmark
	// has, in that order.
	Metrics []Metric `json:"metrics"`
}

// Metric is the median of one unit over a benchmark's trials, with its
// confidence interval (Lo and Hi are NaN, null in JSON, when the sample is
// too small for one).
type Metric struct {
	Unit     string `json:"unit"`
	Median   Float  `json:"median"`
	Lo       Float  `json:"lo"`
	Hi       Float  `json:"hi"`
	N        int    `json:"n"`
	Outliers int    `json:"outliers,omitempty"`
}

// Metric returns the row's metric in unit.
func (r *BenchRow) Metric(unit string) (Metric, bool) {
	for _, m := range r.Metrics {
		if m.Unit == unit {
			return m, true
		}
	}
	return Metric{}, false
}

// BenchComparison is a bench file against a baseline.
type BenchComparison struct {
	Baseline  string   `json:"baseline"`
	Alpha     float64  `json:"alpha"`
	Threshold float64  `json:"threshold"`
	Gate      []string `json:"gate"`
	// Rows are per benchmark and unit (units tidied as benchstat shows
	// them: sec/op for ns/op).
	Rows []CompareRow `json:"rows"`
	// Regressed is the verdict: a gating unit regressed significantly
	// and beyond the threshold.
	Regressed bool     `json:"regressed"`
	Warnings  []string `json:"warnings,omitempty"`
}

// CompareRow is one benchmark in one unit against the baseline.
type CompareRow struct {
	Name string `json:"name"`
	Unit string `json:"unit"`
	// Better is +1 when higher is better, -1 when lower is.
	Better int    `json:"better"`
	Old    Metric `json:"old"`
	New    Metric `json:"new"`
	// Delta is New/Old - 1; P the U test's p-value.
	Delta Float   `json:"delta"`
	P     float64 `json:"p"`
	// Verdict is "~", "improved", "REGRESSION" or "insufficient samples".
	Verdict string `json:"verdict"`
	// Gate is set on rows whose unit decides the verdict.
	Gate bool `json:"gate,omitempty"`
}

// benchColumns are the units shown for hnspath-bench/v1 files, as
// bench/result.WriteText shows them.
var benchColumns = []string{
	benchresult.UnitPacketsPerSec, benchresult.UnitNsPerPacket, benchresult.UnitAllocsPerPacket, benchresult.UnitCopyRatio,
	benchresult.UnitFirstPacket, benchresult.UnitCachedPacket, benchresult.UnitBytesPerFlow,
}

func metricOf(unit string, s stats.Summary, outliers int) Metric {
	return Metric{Unit: unit, Median: Float(s.Center), Lo: finite(s.Lo), Hi: finite(s.Hi), N: s.N, Outliers: outliers}
}

func finite(v float64) Float {
	if math.IsInf(v, 0) {
		return Float(math.NaN())
	}
	return Float(v)
}

// benchFromReport makes the section of an hnspath-bench/v1 report.
func benchFromReport(file string, r *benchresult.Report) *Bench {
	conf := r.Options.Confidence
	if conf == 0 {
		conf = stats.DefaultConfidence
	}
	b := &Bench{File: file, Format: FormatBenchJSON, Config: r.Config, Confidence: conf, Trials: r.Options.Trials,
		Scaling: r.Scaling, Fits: r.Fits, Warnings: r.Warnings}
	used := map[string]bool{}
	for _, bm := range r.Benchmarks {
		row := BenchRow{Name: bm.FullName(), Reference: bm.IsReference}
		for _, u := range benchColumns {
			s, ok := bm.Summary[u]
			if !ok {
				vals := bm.Values(u)
				if len(vals) == 0 {
					continue
				}
				s = benchresult.Summary{Summary: stats.Summarize(vals, conf)}
			}
			if s.N == 0 {
				continue
			}
			used[u] = true
			row.Metrics = append(row.Metrics, metricOf(u, s.Summary, len(s.Outliers)))
		}
		b.Rows = append(b.Rows, row)
	}
	for _, u := range benchColumns {
		if used[u] {
			b.Units = append(b.Units, u)
		}
	}
	return b
}

// benchFromGo makes the section of a Go benchmark format file: per
// benchmark and unit (as written, not tidied), the median and its interval
// (bench/stats, benchstat's method).
func benchFromGo(file string, data []byte) (*Bench, error) {
	b := &Bench{File: file, Format: FormatGoBench, Confidence: stats.DefaultConfidence}
	type key struct{ name, unit string }
	vals := map[key][]float64{}
	var names, units []string
	seenName, seenUnit := map[string]bool{}, map[string]bool{}
	var errs []error
	rd := benchfmt.NewReader(bytes.NewReader(data), file)
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.SyntaxError:
			if len(errs) < 20 {
				errs = append(errs, rec)
			}
		case *benchfmt.Result:
			if len(b.Config) == 0 {
				for _, c := range rec.Config {
					if c.File {
						b.Config = append(b.Config, benchresult.KV{Key: c.Key, Value: string(c.Value)})
					}
				}
			}
			name := strings.TrimPrefix(rec.Name.String(), "Benchmark")
			if !seenName[name] {
				seenName[name] = true
				names = append(names, name)
			}
			for _, v := range rec.Values {
				unit, val := v.Unit, v.Value
				if v.OrigUnit != "" {
					unit, val = v.OrigUnit, v.OrigValue
				}
				if math.IsNaN(val) || math.IsInf(val, 0) {
					continue
				}
				if !seenUnit[unit] {
					seenUnit[unit] = true
					units = append(units, unit)
				}
				vals[key{name, unit}] = append(vals[key{name, unit}], val)
			}
		}
	}
	if err := rd.Err(); err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: %w: no benchmark results", file, ErrInput)
	}
	b.Units = units
	for _, n := range names {
		row := BenchRow{Name: n}
		for _, u := range units {
			v := vals[key{n, u}]
			if len(v) == 0 {
				continue
			}
			row.Metrics = append(row.Metrics, metricOf(u, stats.Summarize(v, b.Confidence), len(stats.Outliers(v))))
		}
		b.Rows = append(b.Rows, row)
	}
	return b, nil
}

// comparisonOf converts bench/result's comparison.
func comparisonOf(c *benchresult.Comparison) *BenchComparison {
	bc := &BenchComparison{Baseline: c.Baseline, Alpha: c.Alpha, Threshold: c.Threshold, Gate: c.Gate,
		Regressed: c.Regressed(), Warnings: c.Warnings}
	for _, r := range c.Rows {
		bc.Rows = append(bc.Rows, CompareRow{Name: r.Name, Unit: r.Unit, Better: r.Better,
			Old: metricOf(r.Unit, r.Old, 0), New: metricOf(r.Unit, r.New, 0),
			Delta: Float(r.Delta), P: r.Test.P, Verdict: r.Verdict.String(), Gate: r.Gate})
	}
	return bc
}

// fmtSI formats v with 4 significant digits and an SI prefix, as benchstat
// does: 12.30M, 81.20n, 0.000.
func fmtSI(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	if math.IsInf(v, 0) {
		return "∞"
	}
	a := math.Abs(v)
	if a == 0 {
		return "0.000"
	}
	prefixes := []struct {
		scale float64
		p     string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}, {1, ""}, {1e-3, "m"}, {1e-6, "µ"}, {1e-9, "n"}, {1e-12, "p"}}
	for _, p := range prefixes {
		if a >= p.scale*0.99995 {
			return sig4(v/p.scale) + p.p
		}
	}
	return fmt.Sprintf("%.3g", v)
}

// sig4 prints x (|x| in [1, 1000)) with 4 significant digits, deciding the
// decimals on the rounded value (99.999 is "100.0", not "100.00").
func sig4(x float64) string {
	a := math.Abs(x)
	switch {
	case a >= 99.995:
		return fmt.Sprintf("%.1f", x)
	case a >= 9.9995:
		return fmt.Sprintf("%.2f", x)
	}
	return fmt.Sprintf("%.3f", x)
}

// interval formats a metric as "12.30M ± 2%" (the larger side of the
// interval relative to the median, as benchstat prints it).
func (m Metric) interval() string {
	s := fmtSI(float64(m.Median))
	return s + " ± " + m.rangePercent()
}

func (m Metric) rangePercent() string {
	c, lo, hi := float64(m.Median), float64(m.Lo), float64(m.Hi)
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return "∞"
	}
	if c == 0 {
		if lo == 0 && hi == 0 {
			return "0%"
		}
		return "?"
	}
	if (lo != 0 && math.Signbit(lo) != math.Signbit(c)) || (hi != 0 && math.Signbit(hi) != math.Signbit(c)) {
		return "?"
	}
	d := math.Max(math.Abs(c-lo), math.Abs(hi-c)) / math.Abs(c) * 100
	return fmt.Sprintf("%.0f%%", d)
}

// deltaText formats a comparison row's change as benchstat does: "~" when
// the U test is not significant at alpha, else "+12.34%".
func (r CompareRow) deltaText(alpha float64) string {
	d := float64(r.Delta)
	switch {
	case r.P >= alpha:
		return "~"
	case math.IsInf(d, 0):
		return "∞"
	}
	return fmt.Sprintf("%+.2f%%", d*100)
}

// test formats the U test: "(p=0.000 n=10)", or "(p=0.000 n=10+9)".
func (r CompareRow) test() string {
	n := fmt.Sprint(r.Old.N)
	if r.New.N != r.Old.N {
		n = fmt.Sprintf("%d+%d", r.Old.N, r.New.N)
	}
	return fmt.Sprintf("(p=%.3f n=%s)", r.P, n)
}
