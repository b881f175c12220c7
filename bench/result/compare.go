package result

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchunit"

	"github.com/hnspath/hnspath/bench/stats"
)

// DefaultThreshold is the smallest relative change of a median that counts as a
// regression or improvement (5%), on top of the U test being significant.
const DefaultThreshold = 0.05

// CompareOptions configures Compare.
type CompareOptions struct {
	// Alpha is the significance level of the Mann-Whitney U test (0.05 when 0).
	Alpha float64
	// Threshold is the minimum relative change of the median, as a fraction
	// (DefaultThreshold when 0; a negative value means no minimum).
	Threshold float64
	// Gate lists the units whose regressions make Regressed report true, as written in
	// the files (e.g. "pkts/s", "ns/op", "allocs/op"). Nil means {"pkts/s"}.
	// Other units are still compared and printed.
	Gate []string
	// BaselineName names the baseline in errors and output (e.g. its file name).
	BaselineName string
	// Confidence is the confidence level of the printed intervals (0.95 when 0).
	Confidence float64
}

// A Verdict classifies one benchmark's change in one unit.
type Verdict int

const (
	// NoChange means the U test found no significant difference, or the medians moved
	// by less than the threshold.
	NoChange Verdict = iota
	// Improved means a significant change beyond the threshold in the better direction.
	Improved
	// Regressed means a significant change beyond the threshold in the worse direction.
	Regressed
	// Insufficient means the samples are too small for the U test to ever reach
	// significance at alpha (fewer than 4 trials on a side at alpha 0.05).
	Insufficient
)

// String returns "~", "improved", "REGRESSION" or "insufficient samples".
func (v Verdict) String() string {
	switch v {
	case NoChange:
		return "~"
	case Improved:
		return "improved"
	case Regressed:
		return "REGRESSION"
	case Insufficient:
		return "insufficient samples"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// A Row compares one benchmark in one unit.
type Row struct {
	// Name is the benchmark's full name (without "Benchmark").
	Name string
	// Unit is the tidied unit benchfmt reads ("sec/op" for "ns/op",
	// "sec/first-pkt" for "ns/first-pkt"; others as written).
	Unit string
	// Better is +1 when higher is better, -1 when lower is, 0 when unknown.
	Better int
	// Old and New summarize the two samples.
	Old, New stats.Summary
	// Delta is New.Center/Old.Center - 1 (±Inf when the old median is 0 and the new
	// one is not).
	Delta float64
	// Test is the U test of old against new.
	Test stats.Comparison
	// Verdict combines significance, threshold and direction.
	Verdict Verdict
	// Gate is set when the row's unit counts for Regressed. Copy references never
	// count: they measure the machine, not the code.
	Gate bool
}

// A Comparison is the result of Compare.
type Comparison struct {
	// Baseline names the baseline.
	Baseline string
	// Alpha and Threshold are the settings used.
	Alpha, Threshold float64
	// Gate is the tidied gating units.
	Gate []string
	// Rows are ordered by unit (in Units order), then by the new report's order.
	Rows []Row
	// Warnings list benchmarks found on one side only.
	Warnings []string
}

// Regressions returns the gating rows whose verdict is Regressed.
func (c *Comparison) Regressions() []Row {
	var out []Row
	for _, r := range c.Rows {
		if r.Gate && r.Verdict == Regressed {
			out = append(out, r)
		}
	}
	return out
}

// Verdict returns the verdict of benchmark name over the gating units: Regressed if any
// gating unit regressed, else Improved if any improved, else Insufficient if any had
// too few samples, else NoChange. ok is false when no gating row has that name.
func (c *Comparison) Verdict(name string) (v Verdict, ok bool) {
	var improved, insufficient bool
	for _, r := range c.Rows {
		if r.Name != name || !r.Gate {
			continue
		}
		ok = true
		switch r.Verdict {
		case Regressed:
			return Regressed, true
		case Improved:
			improved = true
		case Insufficient:
			insufficient = true
		}
	}
	switch {
	case improved:
		return Improved, ok
	case insufficient:
		return Insufficient, ok
	}
	return NoChange, ok
}

// Regressed reports whether any gating unit regressed significantly and beyond the
// threshold: the condition for `hnspath bench --baseline` to exit 1.
func (c *Comparison) Regressed() bool { return len(c.Regressions()) > 0 }

// ErrBaseline is wrapped by Compare's errors about the baseline file.
var ErrBaseline = errors.New("bad baseline")

// maxSyntaxErrors caps how many syntax errors of a baseline are reported.
const maxSyntaxErrors = 20

// Compare reads a baseline in Go benchmark format (for example the output of an earlier
// WriteGoBench, or of `go test -bench`) and compares it with r benchmark by benchmark and
// unit by unit, the way benchstat does: medians with confidence intervals, and the
// Mann-Whitney U test at Alpha. A row is Regressed or Improved only when the test is
// significant AND the median moved by at least Threshold. Benchmarks are matched by
// full name; units by their tidied form. Syntax errors and non-finite values in the
// baseline (up to 20, each "file:line: message") fail the comparison.
func Compare(baseline io.Reader, r *Report, opt CompareOptions) (*Comparison, error) {
	if opt.Alpha == 0 {
		opt.Alpha = stats.DefaultAlpha
	}
	if opt.Threshold == 0 {
		opt.Threshold = DefaultThreshold
	}
	if opt.Threshold < 0 {
		opt.Threshold = 0
	}
	if opt.Confidence == 0 {
		opt.Confidence = stats.DefaultConfidence
	}
	if opt.BaselineName == "" {
		opt.BaselineName = "baseline"
	}
	gate := opt.Gate
	if gate == nil {
		gate = []string{UnitPacketsPerSec}
	}
	c := &Comparison{Baseline: opt.BaselineName, Alpha: opt.Alpha, Threshold: opt.Threshold}
	for _, u := range gate {
		_, t := benchunit.Tidy(1, u)
		c.Gate = append(c.Gate, t)
	}

	old, err := readSamples(baseline, opt.BaselineName)
	if err != nil {
		return nil, err
	}
	if len(old.order) == 0 {
		return nil, fmt.Errorf("%w: %s: no benchmark results", ErrBaseline, opt.BaselineName)
	}
	var cur bytes.Buffer
	if err := WriteGoBench(&cur, r); err != nil {
		return nil, err
	}
	now, err := readSamples(&cur, "new")
	if err != nil {
		return nil, fmt.Errorf("compare: reading back this run: %w", err)
	}

	isRef := map[string]bool{}
	for _, b := range r.Benchmarks {
		isRef[b.FullName()] = b.IsReference
	}
	for _, u := range Units {
		_, unit := benchunit.Tidy(1, u.Name)
		better := now.units.GetBetter(unit)
		for _, name := range now.order {
			nv, ok1 := now.values[name][unit]
			ov, ok2 := old.values[name][unit]
			if !ok1 || !ok2 {
				continue
			}
			gated := slices.Contains(c.Gate, unit) && !isRef[name]
			c.Rows = append(c.Rows, compareRow(name, unit, better, ov, nv, opt, gated))
		}
	}
	for _, name := range old.order {
		if _, ok := now.values[name]; !ok {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s not in this run", name))
		}
	}
	for _, name := range now.order {
		if _, ok := old.values[name]; !ok {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s not in %s", name, opt.BaselineName))
		}
	}
	return c, nil
}

func compareRow(name, unit string, better int, old, new []float64, opt CompareOptions, gate bool) Row {
	row := Row{
		Name: name, Unit: unit, Better: better,
		Old:  stats.Summarize(old, opt.Confidence),
		New:  stats.Summarize(new, opt.Confidence),
		Test: stats.Compare(old, new, opt.Alpha),
		Gate: gate,
	}
	switch {
	case row.Old.Center == row.New.Center:
		row.Delta = 0
	case row.Old.Center == 0:
		row.Delta = math.Copysign(math.Inf(1), row.New.Center)
	default:
		row.Delta = row.New.Center/row.Old.Center - 1
	}
	switch {
	case row.Test.Significant() && math.Abs(row.Delta) >= opt.Threshold && better != 0:
		if row.Delta*float64(better) > 0 {
			row.Verdict = Improved
		} else {
			row.Verdict = Regressed
		}
	case !row.Test.Significant() && stats.MinP(len(old), len(new)) >= opt.Alpha:
		row.Verdict = Insufficient
	default:
		row.Verdict = NoChange
	}
	return row
}

type samples struct {
	order  []string                        // full names in first-seen order
	values map[string]map[string][]float64 // name -> tidied unit -> values
	units  benchfmt.UnitMetadataMap
}

func readSamples(rd io.Reader, name string) (*samples, error) {
	s := &samples{values: map[string]map[string][]float64{}}
	br := benchfmt.NewReader(rd, name)
	var errs []error
	for br.Scan() {
		switch rec := br.Result().(type) {
		case *benchfmt.SyntaxError:
			if len(errs) < maxSyntaxErrors {
				errs = append(errs, rec)
			}
		case *benchfmt.Result:
			if bad := slices.IndexFunc(rec.Values, func(v benchfmt.Value) bool { return math.IsNaN(v.Value) || math.IsInf(v.Value, 0) }); bad >= 0 {
				file, line := rec.Pos()
				if len(errs) < maxSyntaxErrors {
					errs = append(errs, fmt.Errorf("%s:%d: %s: value %v %s is not finite", file, line, rec.Name, rec.Values[bad].Value, rec.Values[bad].Unit))
				}
				continue
			}
			full := rec.Name.String()
			m := s.values[full]
			if m == nil {
				m = map[string][]float64{}
				s.values[full] = m
				s.order = append(s.order, full)
			}
			for _, v := range rec.Values {
				m[v.Unit] = append(m[v.Unit], v.Value)
			}
		}
	}
	if err := br.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBaseline, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrBaseline, errors.Join(errs...))
	}
	s.units = br.Units()
	return s, nil
}

// WriteComparison prints c in the spirit of benchstat: per unit, a table of
// old median ± interval, new median ± interval, the change (or "~" when the U test is
// not significant) with its p-value and sample sizes, and the verdict; then the
// regressions that decide the exit status, and the warnings.
func WriteComparison(w io.Writer, c *Comparison) error {
	var buf bytes.Buffer
	gate := strings.Join(c.Gate, ", ")
	fmt.Fprintf(&buf, "baseline: %s  alpha: %v  threshold: %.3g%%  gating units: %s\n", c.Baseline, c.Alpha, 100*c.Threshold, gate)
	var unit string
	var tw *tabwriter.Writer
	flush := func() {
		if tw != nil {
			tw.Flush()
		}
	}
	for i := range c.Rows {
		r := &c.Rows[i]
		if r.Unit != unit {
			flush()
			unit = r.Unit
			dir := ""
			switch r.Better {
			case 1:
				dir = " (higher is better)"
			case -1:
				dir = " (lower is better)"
			}
			fmt.Fprintf(&buf, "\n%s%s\n", unit, dir)
			tw = tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "benchmark\told\tnew\tdelta\tverdict")
		}
		cls := benchunit.ClassOf(r.Unit)
		sc := benchunit.CommonScale([]float64{r.Old.Center, r.New.Center}, cls)
		delta := benchmath.Comparison{P: r.Test.P, Alpha: r.Test.Alpha}.FormatDelta(r.Old.Center, r.New.Center)
		if math.IsInf(r.Delta, 0) && r.Test.Significant() {
			delta = fmt.Sprintf("%+.0f%%", r.Delta)
		}
		fmt.Fprintf(tw, "%s\t%s ± %s\t%s ± %s\t%s (%s)\t%s\n", r.Name,
			sc.Format(r.Old.Center), r.Old.RangePercent(),
			sc.Format(r.New.Center), r.New.RangePercent(),
			delta, testString(r.Test), r.Verdict)
	}
	flush()
	if regs := c.Regressions(); len(regs) > 0 {
		fmt.Fprintf(&buf, "\n%d significant regression(s) beyond %.3g%%:\n", len(regs), 100*c.Threshold)
		for _, r := range regs {
			fmt.Fprintf(&buf, "  %s %s: %+.2f%% (%s)\n", r.Name, r.Unit, 100*r.Delta, testString(r.Test))
		}
	} else {
		fmt.Fprintf(&buf, "\nno significant regression beyond %.3g%%\n", 100*c.Threshold)
	}
	for _, wn := range c.Warnings {
		fmt.Fprintf(&buf, "warning: %s\n", wn)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// testString formats a test like benchstat: "p=0.003 n=10", or "n=10+8" for unequal
// sizes.
func testString(t stats.Comparison) string {
	return benchmath.Comparison{P: t.P, N1: t.N1, N2: t.N2}.String()
}
