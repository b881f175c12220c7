package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/result"
)

var update = flag.Bool("update", false, "rewrite golden files")

// inputs of the golden tests: a scenario run with a failure (made by
// `hnspath run --out --json` on a copy of library/nat-static-portmap with
// a typo in a port, see testdata/README.md), and a bench report with a
// baseline in which one benchmark was 12% faster.
var goldenInputs = []struct {
	name  string
	paths []string
	opts  Options
}{
	{"run", []string{"testdata/run/summary.json"}, Options{}},
	{"bench", []string{"testdata/bench/report.json"}, Options{Baseline: "testdata/bench/baseline.bench"}},
	{"probe", []string{"testdata/probe"}, Options{}},
	{"modes", []string{"testdata/modes/modes.json"}, Options{}},
}

var writers = []struct {
	ext   string
	write func(*bytes.Buffer, *Report) error
}{
	{"txt", func(b *bytes.Buffer, r *Report) error { return WriteText(b, r) }},
	{"md", func(b *bytes.Buffer, r *Report) error { return WriteMarkdown(b, r) }},
	{"json", func(b *bytes.Buffer, r *Report) error { return WriteJSON(b, r) }},
	{"junit.xml", func(b *bytes.Buffer, r *Report) error { return WriteJUnit(b, r) }},
}

func load(t *testing.T, paths []string, opts Options) *Report {
	t.Helper()
	r, err := Load(paths, opts)
	if err != nil {
		t.Fatalf("Load(%v): %v", paths, err)
	}
	return r
}

// TestGolden compares every format of every input with testdata/NAME.EXT.golden
// (go test ./reports -run TestGolden -update rewrites them; review the diff).
func TestGolden(t *testing.T) {
	for _, in := range goldenInputs {
		r := load(t, in.paths, in.opts)
		for _, w := range writers {
			t.Run(in.name+"."+w.ext, func(t *testing.T) {
				var b bytes.Buffer
				if err := w.write(&b, r); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("testdata", in.name+"."+w.ext+".golden"), b.Bytes())
			})
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
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
		gotPath := strings.TrimSuffix(path, ".golden") + ".got-" + filepath.Ext(strings.TrimSuffix(path, ".golden"))[1:]
		_ = os.WriteFile(gotPath, got, 0o644)
		t.Errorf("%s differs from the output (written to %s): %s", path, gotPath, firstDiff(want, got))
	}
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return "line " + strconv.Itoa(i+1) + ": want " + strconv.Quote(al[i]) + ", got " + strconv.Quote(bl[i])
		}
	}
	return "lengths differ: " + strconv.Itoa(len(al)) + " and " + strconv.Itoa(len(bl)) + " lines"
}

// JUnit in the common shape (Jenkins' junit.xsd), decoded with our own
// structs rather than the package's.
type xSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Time     string `xml:"time,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error   *struct{} `xml:"error"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestJUnitShape checks the JUnit documents against the schema's shape:
// testsuites > testsuite > testcase > failure, counts that add up, times
// that parse, and the expected failures: the failed scenario, the
// regressed benchmark, the probe scenario with undocumented differences.
func TestJUnitShape(t *testing.T) {
	tests := []struct {
		name         string
		paths        []string
		opts         Options
		wantFailures map[string]string // case name -> substring of the failure message
		wantSuites   []string
	}{
		{"run", []string{"testdata/run/summary.json"}, Options{},
			map[string]string{"nat-static-portmap-typo": "expect[2]: no frame from packet 3 at host1/web matched"},
			[]string{"hnspath scenarios"}},
		{"bench", []string{"testdata/bench/report.json"}, Options{Baseline: "testdata/bench/baseline.bench"},
			map[string]string{"NAT/mode=nat/flows=1/size=64/cores=1 pkts/s": "regressed -10.71%"},
			[]string{"hnspath bench testdata/bench/report.json"}},
		{"probe", []string{"testdata/probe"}, Options{},
			map[string]string{"l2bridge-preserve-dip": "1 packets differ"},
			[]string{"hnspath probe emulator vs linux"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteJUnit(&b, load(t, tt.paths, tt.opts)); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b.Bytes(), []byte("<?xml")) {
				t.Errorf("no XML declaration")
			}
			var doc xSuites
			if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatalf("not XML: %v", err)
			}
			var names []string
			var tests, failures, errs, skipped int
			got := map[string]string{}
			for _, s := range doc.Suites {
				names = append(names, s.Name)
				if s.Name == "" {
					t.Errorf("a testsuite without a name")
				}
				if _, err := strconv.ParseFloat(s.Time, 64); err != nil {
					t.Errorf("suite %s: time %q: %v", s.Name, s.Time, err)
				}
				f, e, sk := 0, 0, 0
				for _, c := range s.Cases {
					if c.Name == "" || c.Classname == "" {
						t.Errorf("suite %s: a testcase without name or classname", s.Name)
					}
					if _, err := strconv.ParseFloat(c.Time, 64); err != nil {
						t.Errorf("case %s: time %q: %v", c.Name, c.Time, err)
					}
					if c.Failure != nil {
						f++
						got[c.Name] = c.Failure.Message
						if c.Failure.Type == "" {
							t.Errorf("case %s: failure without type", c.Name)
						}
					}
					if c.Error != nil {
						e++
					}
					if c.Skipped != nil {
						sk++
					}
				}
				if s.Tests != len(s.Cases) || s.Failures != f || s.Errors != e || s.Skipped != sk {
					t.Errorf("suite %s: attributes tests=%d failures=%d errors=%d skipped=%d, elements %d %d %d %d",
						s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, len(s.Cases), f, e, sk)
				}
				tests, failures, errs, skipped = tests+s.Tests, failures+f, errs+e, skipped+sk
			}
			if doc.Tests != tests || doc.Failures != failures || doc.Errors != errs || doc.Skipped != skipped {
				t.Errorf("testsuites: tests=%d failures=%d errors=%d skipped=%d, suites add up to %d %d %d %d",
					doc.Tests, doc.Failures, doc.Errors, doc.Skipped, tests, failures, errs, skipped)
			}
			if strings.Join(names, ",") != strings.Join(tt.wantSuites, ",") {
				t.Errorf("got suites %q, want %q", names, tt.wantSuites)
			}
			if len(got) != len(tt.wantFailures) {
				t.Errorf("got failures %v, want %v", got, tt.wantFailures)
			}
			for name, msg := range tt.wantFailures {
				if !strings.Contains(got[name], msg) {
					t.Errorf("failure of %s: got %q, want it to contain %q", name, got[name], msg)
				}
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    Kind
		wantErr bool
	}{
		{"results", `{"scenario":"x","packet":1,"in":"a","time_ns":0,"frame":"00","outcome":"dropped"}` + "\n", KindResults, false},
		{"run summary", `{"passed":1,"failed":0,"packets":1,"seconds":0,"scenarios":[]}`, KindRunSummary, false},
		{"probe summary", `{"backend":"linux","scenarios":[]}`, KindProbe, false},
		{"bench json", `{"schema":"hnspath-bench/v1","config":[]}`, KindBenchJSON, false},
		{"modes", `{"schema":"hnspath-modes/v1"}`, KindModes, false},
		{"future bench", `{"schema":"hnspath-bench/v2"}`, "", true},
		{"go bench", "goos: linux\nBenchmarkX-8 100 12.5 ns/op\n", KindGoBench, false},
		{"go bench without config", "BenchmarkX 1 2 ns/op\n", KindGoBench, false},
		{"benchmark word only", "Benchmarks are nice\n", "", true},
		{"empty", "  \n", "", true},
		{"other json", `{"a":1}`, "", true},
		{"bad json", `{"a":`, "", true},
		{"text", "hello\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect([]byte(tt.data))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("Detect: got %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInput) {
				t.Errorf("error %v does not wrap ErrInput", err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		paths []string
		opts  Options
		want  string // substring of the error
	}{
		{"missing file", []string{filepath.Join(dir, "nope.json")}, Options{}, "nope.json"},
		{"unknown content", []string{write("x.txt", "hello\n")}, Options{}, "x.txt: unusable input"},
		{"bad results line", []string{write("r.jsonl", `{"scenario":"a","packet":1,"outcome":"dropped","frame":"00"}`+"\n{\"packet\":\n")}, Options{}, "r.jsonl:2"},
		{"empty directory", []string{empty}, Options{}, "no .jsonl, .json or .txt files"},
		{"bad baseline", []string{"testdata/bench/report.json"}, Options{Baseline: write("b.txt", "hello\n")}, "baseline"},
		{"two mode comparisons", []string{"testdata/modes/modes.json", "testdata/modes/modes.json"}, Options{}, "only one mode comparison"},
		// Results that do not look like results this version writes.
		{"unknown outcome", []string{write("exploded.jsonl", `{"scenario":"a","packet":1,"outcome":"exploded","frame":"00"}`+"\n")}, Options{},
			`exploded.jsonl:1: outcome: "exploded" is not one of delivered, dropped, consumed`},
		{"newer results format", []string{write("v2.jsonl", `{"format":"hnspath-results","version":2}`+"\n"+`{"scenario":"a","packet":1,"outcome":"dropped","frame":"00"}`+"\n")}, Options{},
			"v2.jsonl:1: header: results format version 2, this hnspath reads version 1"},
		// Folders a killed or interrupted run left.
		{"probe folder without summary", []string{partialCopy(t, "testdata/probe", "summary.json")}, Options{},
			"but no summary.json: the run that wrote this folder did not finish"},
		{"run folder without summary", []string{partialCopy(t, "testdata/run", "summary.json")}, Options{},
			"but no summary.json: the run that wrote this folder did not finish"},
		{"folder with an unfinished write", []string{partialCopy(t, "testdata/run", "", ".nat-outbound-udp.results.jsonl.tmp-123")}, Options{},
			".nat-outbound-udp.results.jsonl.tmp-123 is an unfinished write"},
		{"unknown outcome in a folder", []string{explodedFolder(t)}, Options{}, `outcome: "exploded" is not one of`},
		{"interrupted probe", []string{write("summary.json", `{"backend":"linux","interrupted":"terminated after 1 of 3 scenarios","scenarios":[]}`)}, Options{},
			"the probe run was interrupted (terminated after 1 of 3 scenarios)"},
		{"interrupted run", []string{write("run.json", `{"passed":1,"failed":0,"interrupted":"interrupt after 1 of 2 scenarios","scenarios":[]}`)}, Options{},
			"the run was interrupted (interrupt after 1 of 2 scenarios)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.paths, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load: got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestProbeMatchesHostprobe checks the packet-by-packet comparison against
// an independent one: hostprobe's comparer, whose verdicts the probe run
// wrote into NAME.diff.txt ("packet N at ..." for every differing packet).
// Both must find the same packets.
func TestProbeMatchesHostprobe(t *testing.T) {
	r := load(t, []string{"testdata/probe"}, Options{})
	if len(r.ProbeSummaries) != 1 || len(r.ProbeSummaries[0].Scenarios) != 6 {
		t.Fatalf("got %d probe summaries, want 1 with 6 scenarios", len(r.ProbeSummaries))
	}
	if len(r.Probes) != 6 {
		t.Fatalf("got %d comparisons, want 6", len(r.Probes))
	}
	re := regexp.MustCompile(`(?m)^  packet (\d+) at `)
	for _, p := range r.Probes {
		t.Run(p.Scenario, func(t *testing.T) {
			diff, err := os.ReadFile(filepath.Join("testdata/probe", p.Scenario+".diff.txt"))
			if err != nil {
				t.Fatal(err)
			}
			var want, got []int
			for _, m := range re.FindAllStringSubmatch(string(diff), -1) {
				n, _ := strconv.Atoi(m[1])
				want = append(want, n)
			}
			for _, pk := range p.Packets {
				got = append(got, pk.Index)
			}
			sort.Ints(want)
			if !equalInts(got, want) {
				t.Errorf("differing packets: got %v, want %v (hostprobe's)", got, want)
			}
			if p.A != "emulator" || p.B != "linux" {
				t.Errorf("got backends %s vs %s, want emulator vs linux", p.A, p.B)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestProbeBindings compares a results file with a copy in which the NAT
// chose another source port for the same flow in every packet (a mapping,
// not a difference) and one reply came with another TTL (a difference).
func TestProbeBindings(t *testing.T) {
	data, err := os.ReadFile("testdata/run/nat-static-portmap-typo.results.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	// Packet 4's answer left WinNAT from 10.0.0.4:49152 (hex c000); in
	// the other backend's results it left from port 1024 (0400). Packet
	// 2's SYN-ACK arrived at the client with TTL 63 (3f); make it 62 (3e).
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	other := make([]string, len(lines))
	for i, l := range lines {
		l = strings.Replace(l, `"backend":"emulator"`, `"backend":"linux"`, 1)
		switch i {
		case 3:
			l = replaceOutputFrame(t, l, "client", func(f []byte) { f[34], f[35] = 0x04, 0x00; fixChecksums(f) })
		case 1:
			l = replaceOutputFrame(t, l, "client", func(f []byte) { f[22] = 62; fixChecksums(f) })
		}
		other[i] = l
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "linux.results.jsonl")
	if err := os.WriteFile(p, []byte(strings.Join(other, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := load(t, []string{"testdata/run/nat-static-portmap-typo.results.jsonl", p}, Options{})
	if len(r.Probes) != 1 {
		t.Fatalf("got %d comparisons, want 1", len(r.Probes))
	}
	pr := r.Probes[0]
	if pr.Compared != 4 || pr.Agree != 3 || len(pr.Packets) != 1 || pr.Packets[0].Index != 2 {
		t.Fatalf("got compared %d agree %d differing %+v; want 4, 3 and packet 2", pr.Compared, pr.Agree, pr.Packets)
	}
	if got, want := strings.Join(pr.Packets[0].Differences, "; "), "client: ipv4.ttl: emulator 63, linux 62"; got != want {
		t.Errorf("got differences %q, want %q", got, want)
	}
	if got, want := strings.Join(pr.Mappings, "; "), "udp port 49152 <-> 1024"; got != want {
		t.Errorf("got mappings %q, want %q", got, want)
	}
}

func TestFmtSI(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{12.3e6, "12.30M"}, {1.0e-7, "100.0n"}, {0, "0.000"}, {999.96, "1.000k"}, {5.5, "5.500"},
		{-0.002, "-2.000m"}, {math.NaN(), "-"}, {math.Inf(1), "∞"}, {2.5e9, "2.500G"},
	}
	for _, tt := range tests {
		if got := fmtSI(tt.v); got != tt.want {
			t.Errorf("fmtSI(%v): got %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestRangePercent(t *testing.T) {
	nan := Float(math.NaN())
	tests := []struct {
		m    Metric
		want string
	}{
		{Metric{Median: 100, Lo: 98, Hi: 103}, "3%"},
		{Metric{Median: 100, Lo: nan, Hi: nan}, "∞"},
		{Metric{Median: 0, Lo: 0, Hi: 0}, "0%"},
		{Metric{Median: 10, Lo: -1, Hi: 11}, "?"},
	}
	for _, tt := range tests {
		if got := tt.m.rangePercent(); got != tt.want {
			t.Errorf("rangePercent(%+v): got %q, want %q", tt.m, got, tt.want)
		}
	}
}

// replaceOutputFrame applies fn to the frame delivered at port in one
// results line.
func replaceOutputFrame(t *testing.T, line, port string, fn func([]byte)) string {
	t.Helper()
	var p result.Packet
	if err := json.Unmarshal([]byte(line), &p); err != nil {
		t.Fatal(err)
	}
	found := false
	for i := range p.Outputs {
		if p.Outputs[i].Port == port && p.Outputs[i].Kind == result.KindDelivered {
			fn(p.Outputs[i].Frame)
			found = true
		}
	}
	if !found {
		t.Fatalf("packet %d: nothing delivered at %s", p.Index, port)
	}
	b, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fixChecksums recomputes a frame's IPv4 and TCP/UDP checksums with
// gopacket.
func fixChecksums(f []byte) {
	pk := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
	var ls []gopacket.SerializableLayer
	ip, _ := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	for _, l := range pk.Layers() {
		switch x := l.(type) {
		case *layers.TCP:
			x.SetNetworkLayerForChecksum(ip)
		case *layers.UDP:
			x.SetNetworkLayerForChecksum(ip)
		}
		if s, ok := l.(gopacket.SerializableLayer); ok {
			ls = append(ls, s)
		}
		if _, ok := l.(*layers.UDP); ok {
			ls = append(ls, gopacket.Payload(l.LayerPayload()))
			break
		}
		if _, ok := l.(*layers.TCP); ok {
			ls = append(ls, gopacket.Payload(l.LayerPayload()))
			break
		}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, ls...); err == nil {
		copy(f, buf.Bytes())
	}
}

// partialCopy copies the files of dir into a temporary folder, leaving out drop and
// adding an empty file named extra (when not ""), and returns the folder.
func partialCopy(t *testing.T, dir, drop string, extra ...string) string {
	t.Helper()
	out := t.TempDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == drop || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range extra {
		if err := os.WriteFile(filepath.Join(out, x), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// explodedFolder is a finished run folder (testdata/run) one of whose results files
// has the outcome "exploded".
func explodedFolder(t *testing.T) string {
	t.Helper()
	dir := partialCopy(t, "testdata/run", "")
	p := filepath.Join(dir, "nat-outbound-udp.results.jsonl")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte(`"outcome":"delivered"`), []byte(`"outcome":"exploded"`), 1)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
