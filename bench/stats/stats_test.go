package stats

import (
	"math"
	"math/rand"
	"slices"
	"testing"
)

func near(got, want, relTol float64) bool {
	if got == want {
		return true
	}
	return math.Abs(got-want) <= relTol*math.Abs(want)
}

// TestCompareWorkedExamples checks p-values worked out by hand.
func TestCompareWorkedExamples(t *testing.T) {
	seq := func(from, step float64, n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = from + step*float64(i)
		}
		return v
	}
	tests := []struct {
		name     string
		old, new []float64
		want     float64
	}{
		{
			// Complete separation, n1 = n2 = 5: U = 0. Of the C(10,5) = 252 equally
			// likely rank arrangements only this one and its mirror are as extreme,
			// so the two-sided exact p = 2/252 (benchmath's uTestMinP[5]).
			name: "separated 5+5",
			old:  []float64{1, 2, 3, 4, 5},
			new:  []float64{6, 7, 8, 9, 10},
			want: 2.0 / 252,
		},
		{
			// U = 1 (only the pair 6 > 5 is inverted). Arrangements with U <= 1:
			// U = 0 (1 way) and U = 1 (1 way: swap the 5th and 6th ranks), so
			// P(U <= 1) = 2/252 and the two-sided p = 4/252 = 0.015873
			// (an exhaustive enumeration of all 252 splits in Python gives 4/252 too).
			name: "one inversion 5+5",
			old:  []float64{1, 2, 3, 4, 6},
			new:  []float64{5, 7, 8, 9, 10},
			want: 4.0 / 252,
		},
		{
			// n1 = n2 = 60 > 50, so the normal approximation is used (no ties).
			// old = 1..60, new = 5.5..64.5. U1 = #(old > new) = sum_{k=6}^{60} (k-5)
			// = 55*56/2 = 1540. Mean n1n2/2 = 1800, sd = sqrt(n1n2(N+1)/12)
			// = sqrt(3600*121/12) = 190.5256. With the continuity correction
			// z = (1540 - 1800 + 0.5)/190.5256 = -1.362022, p = 2*Phi(z) = 0.173191.
			name: "normal approximation 60+60",
			old:  seq(1, 1, 60),
			new:  seq(5.5, 1, 60),
			want: 0.173191014394036,
		},
		{
			// Interleaved samples: U1 = #(old > new) = 0+2+2+4 = 8 = n1n2/2, the
			// center of the distribution, so the exact two-sided p is 1.
			name: "balanced 4+4",
			old:  []float64{1, 4, 5, 8},
			new:  []float64{2, 3, 6, 7},
			want: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Compare(tt.old, tt.new, DefaultAlpha)
			if !near(c.P, tt.want, 1e-6) {
				t.Errorf("p = %v, want %v", c.P, tt.want)
			}
			if c.N1 != len(tt.old) || c.N2 != len(tt.new) {
				t.Errorf("n = %d+%d, want %d+%d", c.N1, c.N2, len(tt.old), len(tt.new))
			}
		})
	}
}

// uPermutationP is an oracle for the two-sided exact U test: it enumerates every way
// to split the pooled values into groups of len(a) and len(b), computes U (pairs with
// a > b, ties counted 1/2) for each, and returns 2*P(U <= min(Uobs, n1*n2-Uobs)),
// capped at 1, with p = 1 when Uobs is the center.
//
// Without ties U is symmetric about n1*n2/2 and this is the share of splits at least
// as extreme as the observed one. With ties the conditional distribution of U need not
// be symmetric, and benchmath (go-moremath's MannWhitneyUTest) doubles the lower tail
// as here; "at least as extreme" would differ (e.g. 0.158 against 0.203 for
// a=[0 -1 1 0], b=[-2 -1 0 -2 -1 -1 1], both checked by enumeration in Python).
func uPermutationP(a, b []float64) float64 {
	pool := append(slices.Clone(a), b...)
	n, n1 := len(pool), len(a)
	u := func(inA []bool) float64 {
		var s float64
		for i := range pool {
			if !inA[i] {
				continue
			}
			for j := range pool {
				if inA[j] {
					continue
				}
				switch {
				case pool[i] > pool[j]:
					s++
				case pool[i] == pool[j]:
					s += 0.5
				}
			}
		}
		return s
	}
	mean := float64(n1*(n-n1)) / 2
	obs := make([]bool, n)
	for i := range n1 {
		obs[i] = true
	}
	uObs := u(obs)
	if uObs == mean {
		return 1
	}
	uSmall := math.Min(uObs, 2*mean-uObs)
	var extreme, total int
	inA := make([]bool, n)
	var rec func(i, left int)
	rec = func(i, left int) {
		if left == 0 {
			total++
			if u(inA) <= uSmall+1e-9 {
				extreme++
			}
			return
		}
		if n-i < left {
			return
		}
		inA[i] = true
		rec(i+1, left-1)
		inA[i] = false
		rec(i+1, left)
	}
	rec(0, n1)
	return math.Min(1, 2*float64(extreme)/float64(total))
}

// TestCompareMatchesPermutation checks the exact U test against full enumeration on
// random samples, with and without ties.
func TestCompareMatchesPermutation(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	for i := range 12 {
		n1, n2 := 4+rng.Intn(4), 4+rng.Intn(4)
		ties := i%2 == 1
		gen := func(n int, shift float64) []float64 {
			v := make([]float64, n)
			for j := range v {
				v[j] = rng.NormFloat64() + shift
				if ties {
					v[j] = math.Round(v[j]) // a coarse grid makes ties likely
				}
			}
			return v
		}
		a, b := gen(n1, 0), gen(n2, float64(i%3)*0.7)
		want := uPermutationP(a, b)
		got := Compare(a, b, DefaultAlpha)
		if slices.Equal(append(slices.Clone(a), b...), slices.Repeat([]float64{a[0]}, n1+n2)) {
			continue // all equal: the test is undefined
		}
		if !near(got.P, want, 1e-9) {
			t.Errorf("case %d (ties %v) a=%v b=%v: p = %v, want %v (permutation)", i, ties, a, b, got.P, want)
		}
	}
}

func TestCompareDoesNotModifyInput(t *testing.T) {
	a, b := []float64{3, 1, 2, 5}, []float64{9, 7, 8, 6}
	Compare(a, b, 0.05)
	Summarize(a, 0.95)
	if !slices.Equal(a, []float64{3, 1, 2, 5}) || !slices.Equal(b, []float64{9, 7, 8, 6}) {
		t.Errorf("inputs changed to %v, %v", a, b)
	}
}

func TestCompareDegenerate(t *testing.T) {
	tests := []struct {
		name     string
		old, new []float64
		sig      bool
	}{
		{"empty old", nil, []float64{1, 2}, false},
		{"all equal", []float64{0, 0, 0, 0}, []float64{0, 0, 0, 0}, false},
		{"too few to be significant", []float64{1, 2, 3}, []float64{10, 11, 12}, false},
		{"four each is enough", []float64{1, 2, 3, 4}, []float64{10, 11, 12, 13}, true},
		{"NaN", []float64{math.NaN(), 1, 2, 3}, []float64{10, 11, 12, 13}, false},
		{"infinite values rank", []float64{math.Inf(-1), 1, 2, 3}, []float64{10, 11, 12, math.Inf(1)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Compare(tt.old, tt.new, DefaultAlpha)
			if c.Significant() != tt.sig {
				t.Errorf("significant = %v (p=%v), want %v", c.Significant(), c.P, tt.sig)
			}
			if !tt.sig && len(c.Warnings) == 0 && c.P < 1 {
				t.Errorf("no warning for a test that cannot reach significance (p=%v)", c.P)
			}
		})
	}
}

func TestMinP(t *testing.T) {
	tests := []struct {
		n1, n2 int
		want   float64
	}{
		{4, 4, 2.0 / 70},  // C(8,4) = 70
		{5, 5, 2.0 / 252}, // C(10,5) = 252, benchmath's uTestMinP[5]
		{3, 3, 2.0 / 20},  // C(6,3) = 20
		{10, 10, 2.0 / 184756},
		{3, 5, 2.0 / 56}, // C(8,3) = 56
		{1, 1, 1},
		{0, 5, 1},
	}
	for _, tt := range tests {
		if got := MinP(tt.n1, tt.n2); !near(got, tt.want, 1e-12) {
			t.Errorf("MinP(%d, %d) = %v, want %v", tt.n1, tt.n2, got, tt.want)
		}
	}
}

// TestSummarizeWorkedExamples checks the median confidence interval against the
// binomial(n, 1/2) order-statistic interval worked by hand.
func TestSummarizeWorkedExamples(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name           string
		values         []float64
		center, lo, hi float64
		confidence     float64
	}{
		{
			// n = 10: P(X <= 1) = (1+10)/1024 for X ~ Bin(10, 1/2), so [x(2), x(9)]
			// covers the median with 1 - 2*11/1024 = 0.978515625 >= 0.95, while
			// [x(3), x(8)] has only 1 - 2*56/1024 = 0.890625. Median of 1..10 is 5.5.
			name:   "n=10",
			values: []float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5},
			center: 5.5, lo: 2, hi: 9, confidence: 1 - 22.0/1024,
		},
		{
			// n = 6: [x(1), x(6)] has 1 - 2/64 = 0.96875; [x(2), x(5)] only 1 - 14/64.
			name:   "n=6",
			values: []float64{3, 1, 4, 1.5, 5, 9},
			center: 3.5, lo: 1, hi: 9, confidence: 1 - 2.0/64,
		},
		{
			// n = 7: [x(1), x(7)] has 1 - 2/128 = 0.984375; [x(2), x(6)] 1 - 16/128.
			name:   "n=7",
			values: []float64{7, 6, 5, 4, 3, 2, 1},
			center: 4, lo: 1, hi: 7, confidence: 1 - 2.0/128,
		},
		{
			// n = 5: [x(1), x(5)] has only 1 - 2/32 = 0.9375 < 0.95, so the interval
			// is one-sided: (-Inf, x(5)] misses only when all 5 fall below the
			// median, confidence 1 - 1/32 = 0.96875.
			name:   "n=5 too small",
			values: []float64{1, 2, 3, 4, 5},
			center: 3, lo: -inf, hi: 5, confidence: 1 - 1.0/32,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Summarize(tt.values, DefaultConfidence)
			if s.Center != tt.center || s.Lo != tt.lo || s.Hi != tt.hi {
				t.Errorf("got %v [%v, %v], want %v [%v, %v]", s.Center, s.Lo, s.Hi, tt.center, tt.lo, tt.hi)
			}
			if tt.confidence != 0 && !near(s.Confidence, tt.confidence, 1e-12) {
				t.Errorf("confidence = %v, want %v", s.Confidence, tt.confidence)
			}
			if (math.IsInf(tt.lo, 0) || math.IsInf(tt.hi, 0)) && len(s.Warnings) == 0 {
				t.Errorf("no warning for an infinite interval")
			}
			if s.N != len(tt.values) {
				t.Errorf("n = %d, want %d", s.N, len(tt.values))
			}
		})
	}
	if s := Summarize(nil, DefaultConfidence); s.N != 0 || !math.IsNaN(s.Center) || len(s.Warnings) == 0 {
		t.Errorf("Summarize(nil) = %+v, want N 0, NaN center and a warning", s)
	}
	if s := Summarize([]float64{1, math.NaN(), 3}, DefaultConfidence); !math.IsNaN(s.Center) || len(s.Warnings) == 0 {
		t.Errorf("Summarize with NaN = %+v, want a NaN center and a warning", s)
	}
}

func TestRangePercent(t *testing.T) {
	tests := []struct {
		s    Summary
		want string
	}{
		{Summary{Center: 100, Lo: 98, Hi: 103}, "3%"},
		{Summary{Center: 100, Lo: 90, Hi: 101}, "10%"},
		{Summary{Center: 1, Lo: math.Inf(-1), Hi: math.Inf(1)}, "∞"},
	}
	for _, tt := range tests {
		if got := tt.s.RangePercent(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestQuantile(t *testing.T) {
	x := []float64{18, 10, 12, 11, 13, 15, 14, 100, 16, 17}
	// Hyndman & Fan type 4 on the sorted sample x(1..10) = 10 11 12 13 14 15 16 17 18 100:
	// position h = p*n, interpolating between x(floor h) and x(floor h + 1).
	tests := []struct {
		p, want float64
	}{
		{0.25, 11.5}, // h = 2.5: (x(2) + x(3))/2 = (11 + 12)/2
		{0.5, 14},    // h = 5: x(5)
		{0.75, 16.5}, // h = 7.5: (x(7) + x(8))/2 = (16 + 17)/2
		{0, 10},
		{1, 100},
		{0.05, 10}, // h = 0.5 < 1: clamps to x(1)
	}
	for _, tt := range tests {
		got, ok := Quantile(tt.p, x)
		if !ok || got != tt.want {
			t.Errorf("Quantile(%v) = %v, %v; want %v, true", tt.p, got, ok, tt.want)
		}
	}
	for _, bad := range []struct {
		p float64
		x []float64
	}{{0.5, nil}, {-0.1, x}, {1.1, x}, {0.5, []float64{1, math.NaN()}}} {
		if _, ok := Quantile(bad.p, bad.x); ok {
			t.Errorf("Quantile(%v, %v) ok, want not ok", bad.p, bad.x)
		}
	}
	if !slices.Equal(x, []float64{18, 10, 12, 11, 13, 15, 14, 100, 16, 17}) {
		t.Errorf("Quantile sorted its input: %v", x)
	}
}

func TestOutliers(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		fences Fences
		want   []int
	}{
		{
			// Sorted 10..18, 100 (n = 10): Q1 = x(3) = 12, Q3 = x(8) = 17, IQR 5,
			// fences [12 - 7.5, 17 + 7.5] = [4.5, 24.5]: only 100 (index 7) is out.
			name:   "one high of 10",
			values: []float64{18, 10, 12, 11, 13, 15, 14, 100, 16, 17},
			fences: Fences{4.5, 24.5},
			want:   []int{7},
		},
		{
			// Sorted 1 50 51 52 53 54 55 200 (n = 8): Q1 = x(2) = 50, Q3 = x(6) = 54,
			// IQR 4, fences [44, 60].
			name:   "low and high of 8",
			values: []float64{50, 51, 52, 53, 54, 55, 1, 200},
			fences: Fences{44, 60},
			want:   []int{6, 7},
		},
		{
			// Sorted 99 99.5 100 100.5 101 300 (n = 6): Q1 = x(2) = 99.5,
			// Q3 = x(5) = 101, IQR 1.5, fences [97.25, 103.25].
			name:   "one high of 6",
			values: []float64{100, 101, 99, 100.5, 99.5, 300},
			fences: Fences{97.25, 103.25},
			want:   []int{5},
		},
		{
			// Sorted 33 99 99.5 100 100.5 101: Q1 = x(2) = 99, Q3 = x(5) = 100.5,
			// IQR 1.5, fences [96.75, 102.75]. (Interpolated quartiles would put Q1
			// at (33 + 99)/2 = 66 and miss it.)
			name:   "one low of 6",
			values: []float64{100, 101, 99, 100.5, 99.5, 33},
			fences: Fences{96.75, 102.75},
			want:   []int{5},
		},
		{name: "none", values: []float64{1, 2, 3, 4, 5}, fences: Fences{-1, 7}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := TukeyFences(tt.values, TukeyK)
			if !ok || f != tt.fences {
				t.Errorf("fences %+v, %v; want %+v, true", f, ok, tt.fences)
			}
			if got := Outliers(tt.values); !slices.Equal(got, tt.want) {
				t.Errorf("outliers %v, want %v", got, tt.want)
			}
		})
	}
	for _, few := range [][]float64{nil, {1, 2, 1000}} {
		if _, ok := TukeyFences(few, TukeyK); ok {
			t.Errorf("TukeyFences(%v) ok, want not ok", few)
		}
		if got := Outliers(few); got != nil {
			t.Errorf("Outliers(%v) = %v, want nil", few, got)
		}
	}
}

func TestFitLine(t *testing.T) {
	// Worked by hand: xbar = 2.5, ybar = 6.125, Sxy = 10.25, Sxx = 5, Syy = 21.1875,
	// slope = 2.05, intercept = 6.125 - 2.05*2.5 = 1, R² = Sxy²/(Sxx*Syy) = 0.991740.
	l, err := FitLine([]float64{1, 2, 3, 4}, []float64{3, 5, 7.5, 9})
	if err != nil {
		t.Fatal(err)
	}
	if !near(l.Slope, 2.05, 1e-12) || !near(l.Intercept, 1, 1e-12) || !near(l.R2, 105.0625/105.9375, 1e-12) || l.N != 4 {
		t.Errorf("got %+v, want slope 2.05, intercept 1, R² 0.991740, N 4", l)
	}
	if got := l.At(10); !near(got, 21.5, 1e-12) {
		t.Errorf("At(10) = %v, want 21.5", got)
	}
	for _, bad := range []struct {
		name   string
		xs, ys []float64
	}{
		{"one point", []float64{1}, []float64{1}},
		{"length mismatch", []float64{1, 2}, []float64{1}},
		{"constant x", []float64{3, 3, 3}, []float64{1, 2, 3}},
		{"infinite", []float64{1, 2}, []float64{1, math.Inf(1)}},
	} {
		if _, err := FitLine(bad.xs, bad.ys); err == nil {
			t.Errorf("%s: no error", bad.name)
		}
	}
}
