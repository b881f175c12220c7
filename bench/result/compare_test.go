package result

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

// nsReport makes a report with one benchmark per name whose trials take the given
// ns/packet, plus optional allocations per packet.
func nsReport(t *testing.T, benches map[string][]float64, allocs float64) *Report {
	t.Helper()
	r := &Report{Config: kvs("goos", "linux", "commit", "x")}
	for _, name := range sortedKeys(benches) {
		b := &Benchmark{Name: name, Keys: kvs(CoresKey, "1"), IsReference: name == "Copy"}
		for _, ns := range benches[name] {
			const pk = 1000000
			b.Trials = append(b.Trials, Trial{Packets: pk, Bytes: 64 * pk, ElapsedNs: int64(ns * pk), Delivered: pk, Allocs: uint64(allocs * pk)})
		}
		r.Benchmarks = append(r.Benchmarks, b)
	}
	r.Summarize(0)
	return r
}

func sortedKeys(m map[string][]float64) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

// spread returns n values around center, ±rel, deterministic and distinct.
func spread(center, rel float64, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = center * (1 + rel*(float64((i*7)%n)/float64(n-1)*2-1))
	}
	return v
}

func goBench(t *testing.T, r *Report) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteGoBench(&buf, r); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestCompareVerdicts(t *testing.T) {
	base := spread(100, 0.02, 10)
	tests := []struct {
		name      string
		old, new  []float64
		opt       CompareOptions
		want      Verdict
		regressed bool
	}{
		{name: "unchanged", old: base, new: spread(100, 0.02, 10), want: NoChange},
		{name: "same center, other noise", old: base, new: spread(100.5, 0.03, 10), want: NoChange},
		{name: "1.5x slower", old: base, new: spread(150, 0.02, 10), want: Regressed, regressed: true},
		{name: "1.5x faster", old: base, new: spread(66, 0.02, 10), want: Improved},
		// 3% slower with 0.1% noise: significant, but under the 5% threshold.
		{name: "small but significant", old: spread(100, 0.001, 10), new: spread(103, 0.001, 10), want: NoChange},
		{name: "small, threshold 1%", old: spread(100, 0.001, 10), new: spread(103, 0.001, 10), opt: CompareOptions{Threshold: 0.01}, want: Regressed, regressed: true},
		{name: "threshold off", old: spread(100, 0.001, 10), new: spread(100.5, 0.001, 10), opt: CompareOptions{Threshold: -1}, want: Regressed, regressed: true},
		{name: "3 trials", old: spread(100, 0.02, 3), new: spread(150, 0.02, 3), want: Insufficient},
		{name: "4 trials suffice", old: spread(100, 0.02, 4), new: spread(150, 0.02, 4), want: Regressed, regressed: true},
		{name: "strict alpha", old: spread(100, 0.02, 4), new: spread(150, 0.02, 4), opt: CompareOptions{Alpha: 0.01}, want: Insufficient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := goBench(t, nsReport(t, map[string][]float64{"NAT": tt.old}, 0))
			c, err := Compare(old, nsReport(t, map[string][]float64{"NAT": tt.new}, 0), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			v, ok := c.Verdict("NAT/cores=1")
			if !ok || v != tt.want {
				t.Errorf("verdict %v (found %v), want %v", v, ok, tt.want)
			}
			if c.Regressed() != tt.regressed {
				t.Errorf("regressed = %v, want %v", c.Regressed(), tt.regressed)
			}
			// ns/op and pkts/s are compared alike, in opposite directions.
			var ns, pps *Row
			for i := range c.Rows {
				switch c.Rows[i].Unit {
				case "sec/op":
					ns = &c.Rows[i]
				case "pkts/s":
					pps = &c.Rows[i]
				}
			}
			if ns == nil || pps == nil {
				t.Fatalf("rows %+v lack sec/op or pkts/s", c.Rows)
			}
			if ns.Verdict != pps.Verdict || ns.Gate || !pps.Gate {
				t.Errorf("sec/op %v (gate %v), pkts/s %v (gate %v): want the same verdict, pkts/s gating", ns.Verdict, ns.Gate, pps.Verdict, pps.Gate)
			}
		})
	}
}

// TestCompareWorkedP checks the wiring against a p-value worked by hand: ten trials
// entirely above ten others give U = 0, and the exact two-sided p = 2/C(20,10)
// = 2/184756 = 1.0825e-5.
func TestCompareWorkedP(t *testing.T) {
	old := goBench(t, nsReport(t, map[string][]float64{"NAT": spread(100, 0.02, 10)}, 0))
	c, err := Compare(old, nsReport(t, map[string][]float64{"NAT": spread(120, 0.02, 10)}, 0), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Rows {
		if r.Unit != "pkts/s" {
			continue
		}
		if want := 2.0 / 184756; math.Abs(r.Test.P-want) > 1e-12 {
			t.Errorf("p = %v, want %v", r.Test.P, want)
		}
		if want := 100/120.0 - 1; math.Abs(r.Delta-want) > 1e-9 {
			t.Errorf("delta = %v, want %v", r.Delta, want)
		}
		if r.Old.N != 10 || r.New.N != 10 {
			t.Errorf("n = %d+%d, want 10+10", r.Old.N, r.New.N)
		}
	}
}

func TestCompareGates(t *testing.T) {
	old := nsReport(t, map[string][]float64{"NAT": spread(100, 0.02, 8), "Copy": spread(10, 0.02, 8)}, 0)
	// NAT unchanged in speed but now allocates 1 object per packet; the copy
	// reference got 1.5x slower (a slower machine, not slower code).
	now := nsReport(t, map[string][]float64{"NAT": spread(100, 0.02, 8), "Copy": spread(15, 0.02, 8)}, 1)
	tests := []struct {
		name      string
		gate      []string
		regressed bool
	}{
		{"default gate", nil, false},
		{"allocs", []string{"allocs/op"}, true},
		{"ns/op tidied", []string{"ns/op"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Compare(goBench(t, old), now, CompareOptions{Gate: tt.gate})
			if err != nil {
				t.Fatal(err)
			}
			if c.Regressed() != tt.regressed {
				t.Errorf("regressed = %v, want %v; rows %+v", c.Regressed(), tt.regressed, c.Rows)
			}
			for _, r := range c.Rows {
				if r.Name == "Copy/cores=1" && r.Gate {
					t.Errorf("reference row %s %s gates", r.Name, r.Unit)
				}
				if r.Name == "Copy/cores=1" && r.Unit == "pkts/s" && r.Verdict != Regressed {
					t.Errorf("reference pkts/s verdict %v, want Regressed (shown, not gating)", r.Verdict)
				}
			}
		})
	}
}

func TestCompareAllocsFromZero(t *testing.T) {
	old := nsReport(t, map[string][]float64{"NAT": spread(100, 0.02, 6)}, 0)
	now := nsReport(t, map[string][]float64{"NAT": spread(100, 0.02, 6)}, 0.5)
	c, err := Compare(goBench(t, old), now, CompareOptions{Gate: []string{"allocs/op"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Rows {
		if r.Unit == "allocs/op" && (r.Verdict != Regressed || !math.IsInf(r.Delta, 1)) {
			t.Errorf("allocs 0 -> 0.5: verdict %v delta %v, want REGRESSION, +Inf", r.Verdict, r.Delta)
		}
	}
}

func TestCompareUnmatched(t *testing.T) {
	old := nsReport(t, map[string][]float64{"NAT": spread(100, 0.02, 6), "Gone": spread(100, 0.02, 6)}, 0)
	now := nsReport(t, map[string][]float64{"NAT": spread(100, 0.02, 6), "Added": spread(100, 0.02, 6)}, 0)
	c, err := Compare(goBench(t, old), now, CompareOptions{BaselineName: "old.txt"})
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(c.Warnings, "\n")
	for _, want := range []string{"Gone/cores=1 not in this run", "Added/cores=1 not in old.txt"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q lack %q", c.Warnings, want)
		}
	}
	if _, ok := c.Verdict("Added/cores=1"); ok {
		t.Errorf("verdict for a benchmark without baseline")
	}
}

func TestCompareBadBaseline(t *testing.T) {
	now := nsReport(t, map[string][]float64{"NAT": spread(100, 0.02, 6)}, 0)
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "old.txt: no benchmark results"},
		{"NaN", "BenchmarkNAT/cores=1 100 12 ns/op\nBenchmarkNAT/cores=1 100 NaN ns/op\n", "old.txt:2: NAT/cores=1: value NaN sec/op is not finite"},
		{"syntax", "goos: linux\n\nBenchmarkNAT/cores=1 100 12 ns/op\nBenchmarkNAT/cores=1 x 12 ns/op\nBenchmarkNAT/cores=1 100 12\n", "old.txt:4: parsing iteration count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compare(strings.NewReader(tt.in), now, CompareOptions{BaselineName: "old.txt"})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrBaseline) {
				t.Fatalf("err = %v, want ErrBaseline containing %q", err, tt.want)
			}
			if tt.name == "syntax" && !strings.Contains(err.Error(), "old.txt:5: missing units") {
				t.Errorf("err = %v, want every syntax error (line 5 too)", err)
			}
		})
	}
}

func TestCompareGoTestBaseline(t *testing.T) {
	// A baseline straight from `go test -bench` (GOMAXPROCS suffix, MB/s) is read too;
	// only names that match are compared.
	in := "goos: linux\ngoarch: amd64\npkg: x\nBenchmarkNAT/cores=1 1000000 100 ns/op 640 MB/s\n"
	now := nsReport(t, map[string][]float64{"NAT": spread(100, 0.02, 6)}, 0)
	c, err := Compare(strings.NewReader(in), now, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rows) == 0 || c.Rows[0].Unit != "sec/op" || c.Rows[0].Verdict != Insufficient {
		t.Errorf("rows %+v, want sec/op with insufficient samples (1 trial)", c.Rows)
	}
}

func TestWriteComparisonGolden(t *testing.T) {
	old := nsReport(t, map[string][]float64{"NAT": spread(100, 0.02, 10), "Overlay": spread(200, 0.02, 10), "Copy": spread(10, 0.02, 10)}, 0)
	now := nsReport(t, map[string][]float64{"NAT": spread(150, 0.02, 10), "Overlay": spread(201, 0.02, 10), "Copy": spread(10, 0.02, 10)}, 0)
	c, err := Compare(goBench(t, old), now, CompareOptions{BaselineName: "old.txt"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteComparison(&buf, c); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.txt", buf.Bytes())
	for _, want := range []string{"REGRESSION", "1 significant regression(s)", "NAT/cores=1 pkts/s: -33.33%"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("comparison lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestVerdictString(t *testing.T) {
	for v, want := range map[Verdict]string{NoChange: "~", Improved: "improved", Regressed: "REGRESSION", Insufficient: "insufficient samples", Verdict(9): "Verdict(9)"} {
		if got := v.String(); got != want {
			t.Errorf("Verdict(%d).String() = %q, want %q", int(v), got, want)
		}
	}
}
