package reports

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
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
		f.Add(shrinkSeed(f, p, b))
	}
	f.Add([]byte(`{"scenario":"x","packet":1,"in":"a","frame":"00","outcome":"dropped","drops":[{"reason":"r","component":"c"}]}` + "\n"))
	f.Add([]byte("BenchmarkX 10 NaN ns/op\n"))
	f.Add([]byte(`{"schema":"hnspath-bench/v1","benchmarks":[{"name":"A","trials":[{"packets":0}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
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

// maxFuzzInput bounds the inputs FuzzLoad examines. With the testdata
// files themselves as seeds (up to 34 KB, about 2 ms each to load and
// render, ten times that instrumented), Go's fuzzing engine spent most of
// its time minimising each new interesting input (up to a minute each, its
// executions not counted until done): FuzzLoad reported 14 executions in
// 91 s. The parsers' structure shows in small documents.
const maxFuzzInput = 4 << 10

// shrinkSeed returns a small document of the same kind as b, a testdata
// file: JSON (and the first two JSON lines) with every list cut to its
// first item, Go benchmark text cut to its first lines. The result must still load, so
// that the seeds reach every parser's accepting paths.
func shrinkSeed(t testing.TB, name string, b []byte) []byte {
	var out []byte
	switch {
	case strings.HasSuffix(name, ".json"):
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, _ = json.Marshal(firstItems(v))
	case strings.HasSuffix(name, ".jsonl"):
		for _, line := range strings.SplitN(string(b), "\n", 3)[:2] {
			var v any
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			j, _ := json.Marshal(firstItems(v))
			out = append(append(out, j...), '\n')
		}
	default: // Go benchmark format: the configuration and the first results
		n := 0
		for _, line := range strings.SplitAfter(string(b), "\n") {
			if strings.HasPrefix(line, "Benchmark") {
				if n++; n > 3 {
					continue
				}
			}
			out = append(out, line...)
		}
	}
	if len(out) > maxFuzzInput {
		t.Fatalf("%s: shrunk seed is %d bytes, over %d", name, len(out), maxFuzzInput)
	}
	l := newLoader(Options{})
	if err := l.data(name, out); err != nil {
		t.Fatalf("%s: shrunk seed does not load: %v\n%s", name, err, out)
	}
	return out
}

// firstItems returns v with every list cut to its first item.
func firstItems(v any) any {
	switch x := v.(type) {
	case []any:
		if len(x) > 1 {
			x = x[:1]
		}
		for i := range x {
			x[i] = firstItems(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = firstItems(x[k])
		}
	}
	return v
}
