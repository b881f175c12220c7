package reports

import (
	"bytes"
	"os"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the input detection and every parser
// behind it (results, run and probe summaries, bench JSON, Go benchmark
// format, mode comparisons), and renders what loads as text, Markdown, JSON
// and JUnit: nothing may panic, and an input that loads must render. HTML is
// left out: with gonum's plot packages instrumented, Go's fuzzing engine
// stalls after a few executions (measured: 11 execs in 15 s); the plots'
// edge cases are covered by TestHTMLDegenerate instead.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{
		"testdata/run/summary.json", "testdata/run/nat-static-portmap-typo.results.jsonl", "testdata/bench/report.json",
		"testdata/bench/baseline.bench", "testdata/probe/summary.json", "testdata/modes/modes.json",
	} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"scenario":"x","packet":1,"in":"a","frame":"00","outcome":"dropped","drops":[{"reason":"r","component":"c"}]}` + "\n"))
	f.Add([]byte("BenchmarkX 10 NaN ns/op\n"))
	f.Add([]byte(`{"schema":"hnspath-bench/v1","benchmarks":[{"name":"A","trials":[{"packets":0}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := newLoader(Options{})
		if err := l.data("fuzz", data); err != nil {
			return
		}
		if err := l.finish(); err != nil {
			return
		}
		var b bytes.Buffer
		for _, w := range []func(*bytes.Buffer, *Report) error{
			func(b *bytes.Buffer, r *Report) error { return WriteText(b, r) },
			func(b *bytes.Buffer, r *Report) error { return WriteMarkdown(b, r) },
			func(b *bytes.Buffer, r *Report) error { return WriteJSON(b, r) },
			func(b *bytes.Buffer, r *Report) error { return WriteJUnit(b, r) },
		} {
			b.Reset()
			if err := w(&b, l.rep); err != nil {
				t.Fatalf("an input that loads does not render: %v", err)
			}
		}
	})
}
