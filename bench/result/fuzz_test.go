package result

import (
	"bytes"
	"os"
	"testing"
)

// FuzzReadJSON checks that ReadJSON never panics and that whatever it accepts writes
// back and reads again.
func FuzzReadJSON(f *testing.F) {
	if b, err := os.ReadFile("testdata/report.json.golden"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"schema": "hnspath-bench/v1", "benchmarks": [{"name": "NAT", "trials": [{"packets": 1}], "summary": {"pkts/s": {"lo": null, "hi": 1}}}]}`))
	f.Add([]byte(`{"schema": "hnspath-bench/v1", "benchmarks": [null]}`))
	f.Add([]byte(`{"schema": "x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ReadJSON(bytes.NewReader(data), "fuzz.json")
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteJSON(&buf, r); err != nil {
			t.Fatalf("WriteJSON after ReadJSON: %v", err)
		}
		if _, err := ReadJSON(&buf, "again.json"); err != nil {
			t.Fatalf("ReadJSON of our own output: %v\n%s", err, buf.Bytes())
		}
		// Summaries and text output must not panic on whatever was read.
		r.Summarize(0)
		_ = WriteText(&bytes.Buffer{}, r)
	})
}

// FuzzCompareBaseline checks that Compare never panics on a baseline file.
func FuzzCompareBaseline(f *testing.F) {
	if b, err := os.ReadFile("testdata/report.bench.golden"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("goos: linux\nBenchmarkNAT/cores=1 100 12 ns/op 3 pkts/s\nUnit pkts/s better=lower\n"))
	f.Add([]byte("BenchmarkNAT/cores=1 x 12 ns/op\n"))
	f.Add([]byte("BenchmarkNAT/mode=nat/flows=1/size=64/cores=1 1 0 ns/op NaN pkts/s -Inf bits/s\n"))
	now := testReport()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Compare(bytes.NewReader(data), now, CompareOptions{})
		if err != nil {
			return
		}
		_ = c.Regressed()
		_ = WriteComparison(&bytes.Buffer{}, c)
	})
}
