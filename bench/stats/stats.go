// Package stats holds the statistics behind hnspath's benchmarks: the median of repeated
// trials with its confidence interval, the Mann-Whitney U test against a baseline, Tukey
// outlier fences and least-squares line fits.
//
// The median, its interval and the U test come from golang.org/x/perf/benchmath, the code
// behind benchstat (docs/style.md §1), so a comparison printed here agrees with what benchstat
// prints for the same files. Quantiles and fits come from gonum's stat package.
//
// Nothing here panics on empty or degenerate input: gonum's stat.Quantile panics on empty
// or unsorted slices (docs/style.md §4), so every caller goes through this package's guards.
package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"golang.org/x/perf/benchmath"
	"gonum.org/v1/gonum/stat"
)

// DefaultConfidence is the confidence level of the intervals around medians (95%).
const DefaultConfidence = 0.95

// DefaultAlpha is the significance level of the U test, as benchstat's default.
const DefaultAlpha = 0.05

// A Summary is the median of a sample with a confidence interval from order statistics.
type Summary struct {
	// Center is the sample median.
	Center float64
	// Lo and Hi bound the confidence interval. They are order statistics of the sample,
	// or -Inf/+Inf when the sample is too small for the requested confidence
	// (6 values are needed at 95%).
	Lo, Hi float64
	// Confidence is the actual confidence of [Lo, Hi]; it is at least the requested
	// level because order statistics give discrete levels (0.9785 for n=10 at 95%).
	Confidence float64
	// N is the number of values.
	N int
	// Warnings explain an infinite interval or an empty sample.
	Warnings []string
}

// Summarize returns the median of values and its confidence interval at level confidence
// (for example 0.95), computed by benchmath.AssumeNothing: the interval is bounded by the
// order statistics that a binomial(n, 1/2) distribution puts around the median.
// It does not modify values. An empty sample gives a Summary with N == 0, a NaN center
// and a warning.
func Summarize(values []float64, confidence float64) Summary {
	if len(values) == 0 {
		return Summary{Center: math.NaN(), Lo: math.Inf(-1), Hi: math.Inf(1), Warnings: []string{"no samples"}}
	}
	if slices.ContainsFunc(values, math.IsNaN) {
		return Summary{Center: math.NaN(), Lo: math.Inf(-1), Hi: math.Inf(1), N: len(values), Warnings: []string{"NaN in sample"}}
	}
	s := benchmath.NewSample(slices.Clone(values), &benchmath.DefaultThresholds)
	sum := benchmath.AssumeNothing.Summary(s, confidence)
	return Summary{
		Center:     sum.Center,
		Lo:         sum.Lo,
		Hi:         sum.Hi,
		Confidence: sum.Confidence,
		N:          len(values),
		Warnings:   errorStrings(sum.Warnings),
	}
}

// RangePercent returns the half-width of the interval as a percentage of the center,
// the larger side, as benchstat prints it ("± 2%"). It returns "∞" for an infinite
// interval and "?" when the bounds have a different sign from the center.
func (s Summary) RangePercent() string {
	return benchmath.Summary{Center: s.Center, Lo: s.Lo, Hi: s.Hi}.PctRangeString()
}

// A Comparison is the result of a two-sided Mann-Whitney U test of two samples.
type Comparison struct {
	// P is the p-value of the hypothesis that both samples come from one distribution.
	// It is 1 when the test cannot be computed (for example all values are equal).
	P float64
	// N1 and N2 are the sample sizes.
	N1, N2 int
	// Alpha is the significance level the test was run at.
	Alpha float64
	// Warnings come from benchmath, e.g. "need >= 4 samples to detect a difference at
	// alpha level 0.05" or "all samples are equal".
	Warnings []string
}

// Significant reports whether P is below Alpha, benchstat's rule for printing a delta
// instead of "~".
func (c Comparison) Significant() bool { return c.P < c.Alpha }

// Compare runs the two-sided Mann-Whitney U test on old and new at significance level
// alpha, through benchmath.AssumeNothing.Compare. For samples of up to 50 values without
// ties (25 with ties) the p-value comes from the exact U distribution; beyond that, from
// the normal approximation with tie and continuity corrections
// (github.com/aclements/go-moremath/stats.MannWhitneyUTest). It does not modify its inputs.
// Samples containing NaN are not tested (P = 1, with a warning).
func Compare(old, new []float64, alpha float64) Comparison {
	if len(old) == 0 || len(new) == 0 {
		return Comparison{P: 1, N1: len(old), N2: len(new), Alpha: alpha, Warnings: []string{"no samples to compare"}}
	}
	if slices.ContainsFunc(old, math.IsNaN) || slices.ContainsFunc(new, math.IsNaN) {
		// go-moremath's U test does not terminate on NaN.
		return Comparison{P: 1, N1: len(old), N2: len(new), Alpha: alpha, Warnings: []string{"NaN in sample"}}
	}
	th := benchmath.DefaultThresholds
	th.CompareAlpha = alpha
	s1 := benchmath.NewSample(slices.Clone(old), &th)
	s2 := benchmath.NewSample(slices.Clone(new), &th)
	c := benchmath.AssumeNothing.Compare(s1, s2)
	return Comparison{P: c.P, N1: c.N1, N2: c.N2, Alpha: alpha, Warnings: errorStrings(c.Warnings)}
}

// MinP returns the smallest two-sided p-value that the exact U test can give for samples
// of sizes n1 and n2 without ties: the two most extreme of the C(n1+n2, n1) equally likely
// rank arrangements, 2/C(n1+n2, n1). When MinP(n1, n2) >= alpha no difference can ever
// be significant, however large; n1 = n2 = 4 is the smallest balanced size for alpha 0.05
// (2/70 = 0.029).
func MinP(n1, n2 int) float64 {
	if n1 <= 0 || n2 <= 0 {
		return 1
	}
	// C(n1+n2, n1) in floating point: exact for the sizes used here, and finite
	// (or +Inf, giving 0) beyond.
	c := 1.0
	for i := 1; i <= n1; i++ {
		c = c * float64(n2+i) / float64(i)
	}
	return math.Min(1, 2/c)
}

// Quantile returns the p-quantile of values (0 <= p <= 1) by gonum's stat.LinInterp,
// which is Hyndman and Fan's definition 4: position h = p*n in the sorted sample
// (1-based), interpolating linearly between neighbouring order statistics and clamping to
// the first value below h = 1. It sorts a copy, so values is not modified.
// ok is false for an empty sample, a NaN in it, or p outside [0, 1].
func Quantile(p float64, values []float64) (q float64, ok bool) {
	return quantile(p, values, stat.LinInterp)
}

func quantile(p float64, values []float64, kind stat.CumulantKind) (float64, bool) {
	if len(values) == 0 || !(p >= 0 && p <= 1) || slices.ContainsFunc(values, math.IsNaN) {
		return math.NaN(), false
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	return stat.Quantile(p, kind, sorted, nil), true
}

// TukeyK is the usual multiple of the interquartile range for Tukey's fences.
const TukeyK = 1.5

// Fences are Tukey's outlier fences: values below Lo or above Hi are outliers.
type Fences struct {
	Lo, Hi float64
}

// TukeyFences returns [Q1 - k*IQR, Q3 + k*IQR]. The quartiles are gonum's stat.Empirical
// quantiles, the smallest value with at least p*n values at or below it: x(2) and x(5)
// for n = 6, x(3) and x(8) for n = 10, which are Tukey's hinges. Interpolated quartiles
// (Quantile) would lean on the extreme values themselves in samples this small and
// hide a low outlier among 6 trials.
// ok is false when there are fewer than 4 values, too few for quartiles to mean anything.
func TukeyFences(values []float64, k float64) (f Fences, ok bool) {
	if len(values) < 4 {
		return Fences{math.Inf(-1), math.Inf(1)}, false
	}
	q1, ok1 := quantile(0.25, values, stat.Empirical)
	q3, ok3 := quantile(0.75, values, stat.Empirical)
	if !ok1 || !ok3 {
		return Fences{math.Inf(-1), math.Inf(1)}, false
	}
	iqr := q3 - q1
	return Fences{q1 - k*iqr, q3 + k*iqr}, true
}

// Outliers returns the indices (in values' order) of the values outside Tukey's fences
// with k = 1.5. It returns nil for fewer than 4 values. Outliers are flagged, never
// dropped: the median and the U test are already robust to them.
func Outliers(values []float64) []int {
	f, ok := TukeyFences(values, TukeyK)
	if !ok {
		return nil
	}
	var idx []int
	for i, v := range values {
		if v < f.Lo || v > f.Hi {
			idx = append(idx, i)
		}
	}
	return idx
}

// A Line is a least-squares fit y = Intercept + Slope*x.
type Line struct {
	Intercept float64
	Slope     float64
	// R2 is the coefficient of determination of the fit (1 for a perfect fit).
	// It is NaN when all y are equal.
	R2 float64
	// N is the number of points.
	N int
}

// At returns the fitted y at x.
func (l Line) At(x float64) float64 { return l.Intercept + l.Slope*x }

// String formats the line as "y = a + b·x (R² r, n points)".
func (l Line) String() string {
	return fmt.Sprintf("y = %.4g %+.4g·x (R² %.3f, %d points)", l.Intercept, l.Slope, l.R2, l.N)
}

// ErrFit is wrapped by FitLine's errors.
var ErrFit = errors.New("line fit")

// FitLine fits y = a + b*x by ordinary least squares (gonum stat.LinearRegression and
// stat.RSquared). It needs at least two points with two distinct x values and finite
// coordinates.
func FitLine(xs, ys []float64) (Line, error) {
	if len(xs) != len(ys) {
		return Line{}, fmt.Errorf("%w: %d x values, %d y values", ErrFit, len(xs), len(ys))
	}
	if len(xs) < 2 {
		return Line{}, fmt.Errorf("%w: %d points, need 2", ErrFit, len(xs))
	}
	distinct := false
	for i := range xs {
		if !finite(xs[i]) || !finite(ys[i]) {
			return Line{}, fmt.Errorf("%w: point %d (%v, %v) is not finite", ErrFit, i, xs[i], ys[i])
		}
		if xs[i] != xs[0] {
			distinct = true
		}
	}
	if !distinct {
		return Line{}, fmt.Errorf("%w: all x values are %v", ErrFit, xs[0])
	}
	a, b := stat.LinearRegression(xs, ys, nil, false)
	r2 := stat.RSquared(xs, ys, nil, a, b)
	return Line{Intercept: a, Slope: b, R2: r2, N: len(xs)}, nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func errorStrings(errs []error) []string {
	if len(errs) == 0 {
		return nil
	}
	s := make([]string, len(errs))
	for i, e := range errs {
		s[i] = e.Error()
	}
	return s
}
