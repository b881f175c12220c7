package bench

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/bench/benchtest"
	"github.com/hnspath/hnspath/bench/result"
)

func goBench(t *testing.T, r *result.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := result.WriteGoBench(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// synthReport is a report of one benchmark, Spin/size=64/cores=1, whose trials took
// ns nanoseconds per packet times 1+jitter[i]: synthetic samples with a known spread,
// written and compared as a measured run would be, with no clock involved. With
// refNs > 0 it also has the copy reference, Copy/ref=Spin/size=64/cores=1, at refNs
// per packet with the same jitter reversed, and the copy ratios of the pairs.
func synthReport(ns float64, jitter []float64, refNs float64) *result.Report {
	const packets = 1_000_000
	trial := func(ns float64) result.Trial {
		return result.Trial{Packets: packets, Bytes: 64 * packets, Delivered: packets, ElapsedNs: int64(ns * packets)}
	}
	keys := []KV{{Key: "size", Value: "64"}, {Key: result.CoresKey, Value: "1"}}
	b := &result.Benchmark{Name: "Spin", Keys: keys}
	var ref *result.Benchmark
	if refNs > 0 {
		ref = &result.Benchmark{Name: ReferenceName, Keys: append([]KV{{Key: "ref", Value: "Spin"}}, keys...), IsReference: true}
		b.Reference = ref.FullName()
	}
	for i, j := range jitter {
		tr := trial(ns * (1 + j))
		if ref != nil {
			rns := refNs * (1 + jitter[len(jitter)-1-i])
			ref.Trials = append(ref.Trials, trial(rns))
			tr.CopyRatio = ns * (1 + j) / rns
		}
		b.Trials = append(b.Trials, tr)
	}
	r := &result.Report{Schema: result.Schema,
		Config: []KV{{Key: "goos", Value: runtime.GOOS}, {Key: "goarch", Value: runtime.GOARCH},
			{Key: "pkg", Value: Pkg}, {Key: "cpu", Value: "e2e"}, {Key: "commit", Value: "e2e"}},
		Options:    result.RunOptions{Trials: len(jitter), Confidence: 0.95},
		Benchmarks: []*result.Benchmark{b}}
	if ref != nil {
		r.Benchmarks = append(r.Benchmarks, ref)
	}
	r.Summarize(0.95)
	return r
}

// Two orders of the same ±4% spread, the spread of a loaded machine: a candidate's
// trials are not the baseline's copied.
var (
	jitterA = []float64{0.01, -0.02, 0.04, -0.01, 0.00, 0.03, -0.04, 0.02, -0.03, 0.01, -0.01, 0.00}
	jitterB = []float64{-0.03, 0.02, 0.00, 0.04, -0.01, -0.04, 0.01, 0.03, 0.00, -0.02, 0.01, -0.01}
)

// TestRegressionEndToEnd compares a baseline with the same workload unchanged, slowed
// down (1.5x the time per packet) and sped up (2x), through the Go benchmark file, and
// checks the verdicts: only the slowed run is a regression, which is what makes
// `hnspath bench --baseline` exit 1.
//
// The samples are synthetic: 12 trials spread ±4% around their center, the spread
// of a loaded machine. (This test used to time a spinning workload, and "slowed 1.5x"
// failed in 2 of 8 runs on a loaded machine.) Measuring is the runner tests' and
// TestBenchstatReadsOutput's job; this test checks the comparison.
func TestRegressionEndToEnd(t *testing.T) {
	tests := []struct {
		name      string
		ns        float64
		want      result.Verdict
		regressed bool
	}{
		{"unchanged", 100, result.NoChange, false},
		{"slowed 1.5x", 150, result.Regressed, true},
		{"faster 2x", 50, result.Improved, false},
		// Within the 10% threshold: a significant but small change is not a regression.
		{"slowed 5%", 105, result.NoChange, false},
	}
	const name = "Spin/size=64/cores=1"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			baseRep, cand := synthReport(100, jitterA, 0), synthReport(tt.ns, jitterB, 0)
			// A 10% threshold: the 1.5x run is 33% slower in pkts/s.
			c, err := result.Compare(bytes.NewReader(goBench(t, baseRep)), cand, result.CompareOptions{BaselineName: "base.txt", Threshold: 0.10})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := result.WriteComparison(&out, c); err != nil {
				t.Fatal(err)
			}
			v, ok := c.Verdict(name)
			if !ok {
				t.Fatalf("no verdict for %s:\n%s", name, out.String())
			}
			if c.Regressed() != tt.regressed {
				t.Errorf("regressed = %v, want %v:\n%s", c.Regressed(), tt.regressed, out.String())
			}
			if v != tt.want {
				t.Errorf("verdict %v, want %v:\n%s", v, tt.want, out.String())
			}
			if tt.regressed && !strings.Contains(out.String(), "significant regression(s)") {
				t.Errorf("comparison output does not name the regression:\n%s", out.String())
			}
		})
	}
}

// TestBenchstatReadsOutput writes two runs in Go benchmark format and runs the real
// benchstat on them: it must parse them without complaint, show our units, and see
// the slowed run's difference. The runs are synthetic (synthReport: 2x the time per
// packet, with the copy reference); timing a real workload made the verdict depend on
// the machine's load (p=0.052 on a loaded machine).
func TestBenchstatReadsOutput(t *testing.T) {
	bs := benchtest.Benchstat(t)
	base, cand := synthReport(100, jitterA, 5), synthReport(200, jitterB, 5)
	old, slow := goBench(t, base), goBench(t, cand)
	dir := t.TempDir()
	oldPath, newPath := filepath.Join(dir, "old.txt"), filepath.Join(dir, "new.txt")
	if err := os.WriteFile(oldPath, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(newPath, slow, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bs, oldPath, newPath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("benchstat: %v\nstderr:\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("benchstat complained:\n%s", stderr.String())
	}
	got := stdout.String()
	t.Logf("benchstat %s %s:\n%s", oldPath, newPath, got)
	for _, want := range []string{
		"goos: " + runtime.GOOS, "pkg: " + Pkg, "cpu: e2e",
		"sec/op", "pkts/s", "bits/s", "allocs/op", "copy-ratio",
		"Spin/size=64/cores=1", "Copy/ref=Spin/size=64/cores=1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("benchstat output lacks %q:\n%s", want, got)
		}
	}
	// Twice the work per packet: benchstat reports a significant change in the Spin
	// row of sec/op (a percentage with p=, not "~").
	var spinRow string
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "Spin/size=64/cores=1") {
			spinRow = line
			break
		}
	}
	if !strings.Contains(spinRow, "%") || !strings.Contains(spinRow, "+") || strings.Contains(spinRow, " ~ ") {
		t.Errorf("benchstat Spin sec/op row %q, want a significant increase:\n%s", spinRow, got)
	}
}
