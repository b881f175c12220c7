package result

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name.golden, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run with -update after reviewing):\ngot:\n%s\nwant:\n%s", name, path, got, want)
	}
}

// jitter returns a deterministic spread of n factors around 1 (±2%), none equal.
func jitter(n int) []float64 {
	f := make([]float64, n)
	for i := range f {
		f[i] = 1 + 0.004*float64((i*7)%11-5)
	}
	return f
}

// mkTrials makes n trials of 64-byte packets at nsPerPkt (times a jitter).
func mkTrials(n int, nsPerPkt float64, first *FirstPacket, copyRatio float64) []Trial {
	var ts []Trial
	for _, j := range jitter(n) {
		pk := int64(1000000)
		t := Trial{
			Packets: pk, Bytes: 64 * pk, ElapsedNs: int64(nsPerPkt * j * float64(pk)),
			Delivered: pk,
		}
		if first != nil {
			fp := *first
			fp.SlowNs = int64(float64(fp.SlowNs) * j)
			fp.CachedNs = int64(float64(fp.CachedNs) * j)
			t.FirstPacket = &fp
			nf := int64(0)
			t.NewFlows = &nf
		}
		if copyRatio > 0 {
			t.CopyRatio = copyRatio * j
		}
		ts = append(ts, t)
	}
	return ts
}

func kvs(s ...string) []KV {
	var kv []KV
	for i := 0; i+1 < len(s); i += 2 {
		kv = append(kv, KV{s[i], s[i+1]})
	}
	return kv
}

// testReport is a fixed report covering every feature: stateful benchmarks at three
// flow counts (a fit), two core counts (scaling), a reference, an outlier.
func testReport() *Report {
	r := &Report{
		Schema:  Schema,
		Config:  kvs("goos", "linux", "goarch", "amd64", "pkg", "github.com/hnspath/hnspath/bench", "cpu", "Test CPU @ 3.00GHz", "commit", "0123abcd"),
		Options: RunOptions{Trials: 6, MinTimeNs: 10000000, WarmupNs: 5000000, Batch: 64, Quick: true},
	}
	fp := func(flows int64) *FirstPacket {
		return &FirstPacket{Flows: flows, SlowNs: 800 * flows, CachedNs: 90 * flows, HeapBytes: 300*flows + 4096}
	}
	// ns/packet 50 + 10*log10(flows): a perfect log fit.
	for _, f := range []struct {
		flows string
		n     int64
		ns    float64
	}{{"1", 1, 50}, {"100", 100, 70}, {"10000", 10000, 90}} {
		b := &Benchmark{Name: "NAT", Keys: kvs("mode", "nat", "flows", f.flows, "size", "64", CoresKey, "1"), Trials: mkTrials(6, f.ns, fp(f.n), f.ns/20)}
		if f.flows == "10000" {
			b.Reference = "Copy/ref=NAT/mode=nat/flows=10000/size=64/cores=1"
		}
		r.Benchmarks = append(r.Benchmarks, b)
	}
	r.Benchmarks = append(r.Benchmarks, &Benchmark{Name: ReferenceNameForTest, Keys: kvs("ref", "NAT", "mode", "nat", "flows", "10000", "size", "64", CoresKey, "1"), IsReference: true, Trials: mkTrials(6, 20, nil, 0)})
	two := &Benchmark{Name: "NAT", Keys: kvs("mode", "nat", "flows", "10000", "size", "64", CoresKey, "2"), Trials: mkTrials(6, 50, fp(10000), 0)}
	two.Trials[3].ElapsedNs *= 3 // an outlier
	r.Benchmarks = append(r.Benchmarks, two)
	r.Warnings = []string{"cores=2 exceeds GOMAXPROCS=1: shards share CPUs, so those runs do not measure scaling"}
	r.Summarize(0)
	return r
}

// ReferenceNameForTest mirrors bench.ReferenceName (result cannot import bench).
const ReferenceNameForTest = "Copy"

func TestGolden(t *testing.T) {
	tests := []struct {
		name  string
		write func(*bytes.Buffer, *Report) error
	}{
		{"report.txt", func(b *bytes.Buffer, r *Report) error { return WriteText(b, r) }},
		{"report.json", func(b *bytes.Buffer, r *Report) error { return WriteJSON(b, r) }},
		{"report.bench", func(b *bytes.Buffer, r *Report) error { return WriteGoBench(b, r) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tt.write(&buf, testReport()); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, buf.Bytes())
		})
	}
}

// TestGoBenchReadsBack parses WriteGoBench output with benchfmt.Reader, benchstat's
// parser, and checks the configuration, units and values.
func TestGoBenchReadsBack(t *testing.T) {
	r := testReport()
	var buf bytes.Buffer
	if err := WriteGoBench(&buf, r); err != nil {
		t.Fatal(err)
	}
	br := benchfmt.NewReader(&buf, "report.bench")
	perName := map[string][]*benchfmt.Result{}
	for br.Scan() {
		switch rec := br.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Errorf("syntax error: %v", rec)
		case *benchfmt.Result:
			perName[rec.Name.String()] = append(perName[rec.Name.String()], rec.Clone())
		}
	}
	if err := br.Err(); err != nil {
		t.Fatal(err)
	}
	units := br.Units()
	for _, tt := range []struct {
		unit   string
		better int
	}{
		{"pkts/s", 1}, {"bits/s", 1}, {"sec/op", -1}, {"allocs/op", -1}, {"B/op", -1},
		{"sec/first-pkt", -1}, {"sec/cached-pkt", -1}, {"B/flow", -1}, {"flows/s", 1}, {"copy-ratio", -1},
	} {
		if got := units.GetBetter(tt.unit); got != tt.better {
			t.Errorf("unit %s: better = %d, want %d", tt.unit, got, tt.better)
		}
	}
	for _, b := range r.Benchmarks {
		res := perName[b.FullName()]
		if len(res) != len(b.Trials) {
			t.Fatalf("%s: %d results, want %d", b.FullName(), len(res), len(b.Trials))
		}
		for i, rec := range res {
			for _, k := range []string{"goos", "goarch", "pkg", "cpu", "commit"} {
				if got, want := rec.GetConfig(k), configValue(r, k); got != want {
					t.Errorf("%s: config %s = %q, want %q", b.FullName(), k, got, want)
				}
			}
			tr := &b.Trials[i]
			if rec.Iters != int(tr.Packets) {
				t.Errorf("%s trial %d: iters %d, want %d packets", b.FullName(), i, rec.Iters, tr.Packets)
			}
			for _, u := range []struct {
				file, unit string
				scale      float64
			}{
				{"sec/op", UnitNsPerPacket, 1e-9}, {"pkts/s", UnitPacketsPerSec, 1}, {"bits/s", UnitBitsPerSec, 1},
				{"sec/first-pkt", UnitFirstPacket, 1e-9}, {"B/flow", UnitBytesPerFlow, 1}, {"copy-ratio", UnitCopyRatio, 1},
			} {
				want, ok := tr.Value(u.unit)
				got, ok2 := rec.Value(u.file)
				if ok != ok2 {
					t.Errorf("%s trial %d: %s present %v, want %v", b.FullName(), i, u.file, ok2, ok)
					continue
				}
				if ok && math.Abs(got-want*u.scale) > 1e-12*math.Abs(want*u.scale) {
					t.Errorf("%s trial %d: %s = %v, want %v", b.FullName(), i, u.file, got, want*u.scale)
				}
			}
		}
	}
	// Independent check of one value: 1e6 packets of 64 bytes in 50 ms * jitter[0].
	b := r.Benchmarks[0] // NAT flows=1: 50 ns/packet
	want := 1e6 / (50e-3 * jitter(1)[0])
	if got, _ := perName[b.FullName()][0].Value("pkts/s"); math.Abs(got-want) > 1e-6*want {
		t.Errorf("pkts/s = %v, want %v", got, want)
	}
}

func configValue(r *Report, k string) string {
	for _, kv := range r.Config {
		if kv.Key == k {
			return kv.Value
		}
	}
	return ""
}

func TestWriteGoBenchRejects(t *testing.T) {
	tests := []struct {
		name string
		r    *Report
		want string
	}{
		{"upper-case config key", &Report{Config: kvs("GOOS", "linux")}, "config[0]"},
		{"newline in value", &Report{Config: kvs("cpu", "a\nb")}, "one non-empty line"},
		{"bad name", &Report{Benchmarks: []*Benchmark{{Name: "nat", Trials: mkTrials(1, 1, nil, 0)}}}, "upper-case"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteGoBench(&bytes.Buffer{}, tt.r)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := testReport()
	// An infinite interval must survive: 3 trials are too few for 95%.
	r.Benchmarks = append(r.Benchmarks, &Benchmark{Name: "Short", Keys: kvs(CoresKey, "1"), Trials: mkTrials(3, 10, nil, 0)})
	r.Summarize(0)
	if w := strings.Join(r.Warnings, "\n"); !strings.Contains(w, "too few trials for a 95% confidence interval (6 needed): Short/cores=1") {
		t.Errorf("warnings %q lack the short-sample warning", r.Warnings)
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	got, err := ReadJSON(bytes.NewReader(raw), "r.json")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("round trip differs:\ngot  %+v\nwant %+v", got, r)
	}
	s := got.Benchmarks[len(got.Benchmarks)-1].Summary[UnitPacketsPerSec]
	if !math.IsInf(s.Lo, -1) && !math.IsInf(s.Hi, 1) {
		t.Errorf("short sample interval [%v, %v], want an infinite bound", s.Lo, s.Hi)
	}

	// The layout as documented, read without our types.
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["schema"] != Schema {
		t.Errorf("schema = %v, want %q", doc["schema"], Schema)
	}
	b0 := doc["benchmarks"].([]any)[0].(map[string]any)
	sum := b0["summary"].(map[string]any)["pkts/s"].(map[string]any)
	for _, k := range []string{"median", "lo", "hi", "confidence", "n"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary lacks %q: %v", k, sum)
		}
	}
	tr := b0["trials"].([]any)[0].(map[string]any)
	for _, k := range []string{"packets", "bytes", "elapsed_ns", "delivered", "allocs", "alloc_bytes", "new_flows", "first_packet", "copy_ratio"} {
		if _, ok := tr[k]; !ok {
			t.Errorf("trial lacks %q: %v", k, tr)
		}
	}
	short := doc["benchmarks"].([]any)[len(r.Benchmarks)-1].(map[string]any)["summary"].(map[string]any)["pkts/s"].(map[string]any)
	if short["lo"] != nil && short["hi"] != nil {
		t.Errorf("infinite bound not null: %v", short)
	}
}

func TestReadJSONErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
		is             error
	}{
		{"schema", `{"schema": "other/v9"}`, `schema "other/v9"`, ErrSchema},
		{"syntax", "{\n\"schema\": \"hnspath-bench/v1\",\n\"benchmarks\": [}\n", "x.json:3:", nil},
		{"type", "{\"schema\": \"hnspath-bench/v1\",\n \"benchmarks\": [{\"trials\": [{\"packets\": \"many\"}]}]}", "x.json:2:", nil},
		{"null benchmark", `{"schema": "hnspath-bench/v1", "benchmarks": [null]}`, "benchmarks[0]: null", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadJSON(strings.NewReader(tt.in), "x.json")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.is)
			}
		})
	}
}

func TestScalingAndFits(t *testing.T) {
	r := &Report{}
	// pkts/s per core count: 1 -> 1M, 2 -> 1.9M, 4 -> 3.4M (1e9 / ns).
	for _, c := range []struct {
		cores string
		pps   float64
	}{{"1", 1e6}, {"2", 1.9e6}, {"4", 3.4e6}} {
		r.Benchmarks = append(r.Benchmarks, &Benchmark{Name: "Enc", Keys: kvs("mode", "overlay", CoresKey, c.cores),
			Trials: []Trial{{Packets: 1e6, ElapsedNs: int64(1e15 / c.pps)}}})
	}
	// ns/packet against rules: 40 + 0.5*rules.
	for _, rules := range []int{10, 20, 40, 80} {
		ns := 40 + 0.5*float64(rules)
		r.Benchmarks = append(r.Benchmarks, &Benchmark{Name: "VFP", Keys: kvs("rules", strconv.Itoa(rules), CoresKey, "1"),
			Trials: []Trial{{Packets: 1000, ElapsedNs: int64(ns * 1000)}}})
	}
	r.Summarize(0)
	if len(r.Scaling) != 1 {
		t.Fatalf("scaling %+v, want one group", r.Scaling)
	}
	s := r.Scaling[0]
	if s.Group != "Enc/mode=overlay" || s.BaseCores != 1 {
		t.Errorf("group %q base %d, want Enc/mode=overlay, 1", s.Group, s.BaseCores)
	}
	want := []ScalePoint{{1, 1e6, 1, 1}, {2, 1.9e6, 1.9, 0.95}, {4, 3.4e6, 3.4, 0.85}}
	for i, p := range s.Points {
		w := want[i]
		if p.Cores != w.Cores || !approx(p.PacketsPerSec, w.PacketsPerSec) || !approx(p.Speedup, w.Speedup) || !approx(p.Efficiency, w.Efficiency) {
			t.Errorf("point %d: got %+v, want %+v", i, p, w)
		}
	}
	// Least squares through (1,1.0M) (2,1.9M) (4,3.4M): xbar 7/3, ybar 2.1M,
	// Sxx = 14/3, Sxy = 3.7M, slope = 3.7M*3/14 = 792857, intercept = 2.1M - slope*7/3.
	if slope := 3.7e6 * 3 / 14; s.Fit == nil || !approx(s.Fit.Slope, slope) || !approx(s.Fit.Intercept, 2.1e6-slope*7/3) {
		t.Errorf("scaling fit %+v, want slope %v", s.Fit, slope)
	}

	var fit *Fit
	for i := range r.Fits {
		if r.Fits[i].Key == "rules" {
			fit = &r.Fits[i]
		}
	}
	if fit == nil || fit.Group != "VFP/rules=*/cores=1" {
		t.Fatalf("fits %+v, want one over rules in VFP/rules=*/cores=1", r.Fits)
	}
	if !approx(fit.Linear.Slope, 0.5) || !approx(fit.Linear.Intercept, 40) || !approx(fit.Linear.R2, 1) || fit.Linear.N != 4 {
		t.Errorf("linear fit %+v, want 40 + 0.5x, R² 1", fit.Linear)
	}
	if best, isLog := fit.Best(); isLog || !approx(best.Slope, 0.5) {
		t.Errorf("best fit %+v (log %v), want the linear one", best, isLog)
	}
	// Three core counts of Enc do not make a fit: cores is handled by Scaling.
	for _, f := range r.Fits {
		if f.Key == CoresKey {
			t.Errorf("fit over cores: %+v", f)
		}
	}

	// The golden report has ns/packet = 50 + 10*log10(flows) exactly (before jitter,
	// which is the same factor at every flow count, so medians keep the shape).
	g := testReport()
	if len(g.Fits) != 1 || g.Fits[0].Key != "flows" || g.Fits[0].Log10 == nil {
		t.Fatalf("fits %+v, want one over flows with a log fit", g.Fits)
	}
	lf := g.Fits[0].Log10
	m := jitterMedian()
	if !approx(lf.Slope, 10*m) || !approx(lf.Intercept, 50*m) || !approx(lf.R2, 1) {
		t.Errorf("log fit %+v, want %v + %v*log10(flows), R² 1", lf, 50*m, 10*m)
	}
	if _, isLog := g.Fits[0].Best(); !isLog {
		t.Errorf("best fit is linear, want log10")
	}
}

// jitterMedian is the median of jitter(6).
func jitterMedian() float64 {
	j := jitter(6)
	s := append([]float64(nil), j...)
	for i := range s {
		for k := i + 1; k < len(s); k++ {
			if s[k] < s[i] {
				s[i], s[k] = s[k], s[i]
			}
		}
	}
	return (s[2] + s[3]) / 2
}

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

func TestOutlierFlagged(t *testing.T) {
	r := testReport()
	two := r.Benchmarks[len(r.Benchmarks)-1]
	s := two.Summary[UnitPacketsPerSec]
	if len(s.Outliers) != 1 || s.Outliers[0] != 3 {
		t.Errorf("outliers %v, want [3] (the trial made 3x slower)", s.Outliers)
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		keys []KV
		ok   bool
	}{
		{"NAT", kvs("mode", "nat", "flows", "10000", "size", "imix", "cores", "1"), true},
		{"Overlay_encap-v2", kvs("size", "1500"), true},
		{"NAT", kvs("pcap", "a.pcapng"), true},
		{"", nil, false},
		{"nat", nil, false},
		{"NAT X", nil, false},
		{"NAT/x", nil, false},
		{"NAT", kvs("Mode", "nat"), false},
		{"NAT", kvs("mode", ""), false},
		{"NAT", kvs("mode", "a b"), false},
		{"NAT", kvs("mode", "a=b"), false},
		{"NAT", kvs("mode", "a", "mode", "b"), false},
		{"NAT-2", nil, false},                  // reads as GOMAXPROCS 2
		{"NAT", kvs("size", "imix-64"), false}, // same
		{"NAT", kvs("size", "64-imix"), true},
	}
	for _, tt := range tests {
		err := ValidateName(tt.name, tt.keys)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateName(%q, %v) = %v, want ok %v", tt.name, tt.keys, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrName) {
			t.Errorf("ValidateName(%q, %v) = %v, want ErrName", tt.name, tt.keys, err)
		}
	}
}
