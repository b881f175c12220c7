package reports

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	benchresult "github.com/hnspath/hnspath/bench/result"
	"github.com/hnspath/hnspath/internal/atomicfile"
	"github.com/hnspath/hnspath/result"
)

// Schema names the JSON layout of a Report (WriteJSON). Fields are only
// added within v1.
const Schema = "hnspath-report/v1"

// Report is everything one report shows. Sections are nil or empty when no
// input had them.
type Report struct {
	Schema string `json:"schema"`
	Title  string `json:"title"`
	// Inputs are the files read, with the kind each was taken for.
	Inputs []Input `json:"inputs"`
	// Scenarios are scenario runs: pass/fail from run summaries, packet
	// outcomes from results files of the emulator.
	Scenarios *Scenarios `json:"scenarios,omitempty"`
	// Bench has one entry per bench file.
	Bench []*Bench `json:"bench,omitempty"`
	// ProbeSummaries are the summaries of probe runs; Probes compare the
	// results of one scenario from two backends packet by packet.
	ProbeSummaries []*ProbeSummary `json:"probe_summaries,omitempty"`
	Probes         []*Probe        `json:"probes,omitempty"`
	// Modes is a mode comparison (hnspath modes --json).
	Modes *Modes `json:"modes,omitempty"`
	// Warnings are problems with the inputs that did not stop the report.
	Warnings []string `json:"warnings,omitempty"`
}

// Kind is what an input file holds.
type Kind string

// Input kinds.
const (
	KindResults    Kind = "results"       // JSON Lines of result.Packet
	KindRunSummary Kind = "run-summary"   // hnspath run --json
	KindBenchJSON  Kind = "bench-json"    // hnspath-bench/v1
	KindGoBench    Kind = "go-bench"      // Go benchmark format
	KindModes      Kind = "modes"         // hnspath-modes/v1
	KindProbe      Kind = "probe-summary" // hnspath probe --out DIR: summary.json
	KindBaseline   Kind = "baseline"      // Options.Baseline
)

// Input is one file read.
type Input struct {
	File string `json:"file"`
	Kind Kind   `json:"kind"`
}

// Options configure Load.
type Options struct {
	// Title is the report's title (default "hnspath report").
	Title string
	// Baseline is a bench file (Go benchmark format or hnspath-bench/v1
	// JSON) that every hnspath-bench/v1 input is compared with.
	Baseline string
	// Threshold is the smallest relative change that counts as a
	// regression (bench/result.DefaultThreshold when 0).
	Threshold float64
	// Gate lists the units whose regressions make the verdict
	// (bench/result's default, pkts/s, when nil).
	Gate []string
	// MaxPackets bounds the packets listed per scenario (default 50).
	MaxPackets int
}

// ErrInput is wrapped by Load's errors about an input it cannot use.
var ErrInput = errors.New("unusable input")

// maxLine is the longest JSON Lines record Load accepts (a results line
// holds every output frame in hex).
const maxLine = 64 << 20

// Load reads the inputs (files, or directories whose files are all read),
// detects each file's kind from its content, and builds one report. An
// input that is none of the known kinds is an error; so is a directory with
// no usable file.
func Load(paths []string, opts Options) (*Report, error) {
	l := newLoader(opts)
	var errs []error
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("report: %w", err))
			continue
		}
		if !st.IsDir() {
			errs = append(errs, l.file(p))
			continue
		}
		n := 0
		folders := map[string]*folder{}
		at := func(path string) *folder {
			dir := filepath.Dir(path)
			if folders[dir] == nil {
				folders[dir] = &folder{}
			}
			return folders[dir]
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			switch name := d.Name(); {
			case atomicfile.IsTemp(name):
				at(path).temp = append(at(path).temp, name)
			case name == "summary.json":
				at(path).summary = true
			case strings.HasSuffix(name, ".results.jsonl"):
				at(path).results = append(at(path).results, name)
			}
			if !usableName(d.Name()) {
				return nil
			}
			n++
			if err := l.file(path); err != nil {
				// A file that says its run did not finish, or results that
				// do not read, fail the report: they are not finished output.
				var bad *badResults
				if errors.Is(err, ErrPartial) || errors.As(err, &bad) {
					errs = append(errs, err)
					return nil
				}
				// Probe directories hold text for people too
				// (NAME.diff.txt, summary.txt): skip text that is not
				// Go benchmark output quietly.
				if !(strings.HasSuffix(path, ".txt") && errors.Is(err, ErrInput)) {
					l.rep.Warnings = append(l.rep.Warnings, err.Error())
				}
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("report: %w", err))
		} else if n == 0 {
			errs = append(errs, fmt.Errorf("report: %s: %w: no .jsonl, .json or .txt files", p, ErrInput))
		}
		for _, dir := range sortedStrings(folders) {
			errs = append(errs, folders[dir].check(dir))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := l.finish(); err != nil {
		return nil, err
	}
	return l.rep, nil
}

// folder is what Load saw of one directory of a directory input.
type folder struct {
	summary bool     // summary.json, written last by run --out and probe --out
	results []string // NAME.results.jsonl files
	temp    []string // temporary files of internal/atomicfile
}

// check returns why the folder is the output of a run that did not finish, or nil.
// `run --out` and `probe --out` write summary.json last, after every results file:
// results without it come from a run that was killed (or is still running), and a
// temporary file is a write that never finished.
func (f *folder) check(dir string) error {
	switch {
	case len(f.temp) > 0:
		return fmt.Errorf("report: %s: %w: %s is an unfinished write: the run that wrote this folder was killed or is still running", dir, ErrPartial, f.temp[0])
	case len(f.results) > 0 && !f.summary:
		return fmt.Errorf("report: %s: %w: %s but no summary.json: the run that wrote this folder did not finish (killed?); run it again", dir, ErrPartial, f.results[0])
	}
	return nil
}

// badResults is the error of a results file that does not read (a bad line, an
// unknown outcome, another format version): in a directory input too, it fails Load
// instead of becoming a warning.
type badResults struct{ err error }

func (e *badResults) Error() string { return e.err.Error() }
func (e *badResults) Unwrap() error { return e.err }

// ErrPartial is wrapped by Load's errors about inputs that an interrupted or killed run
// left: a summary that says it was interrupted, a folder without its summary.
var ErrPartial = errors.New("partial output")

// usableName reports whether a file in a directory input is read.
func usableName(name string) bool {
	for _, ext := range []string{".jsonl", ".json", ".txt", ".bench"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

type loader struct {
	opts      Options
	rep       *Report
	summaries []*runSummary
	// results are results files by scenario, then backend.
	results map[string]map[string]*resultsFile
	bench   []*Bench
	reports []*benchresult.Report
}

type resultsFile struct {
	file    string
	packets []*result.Packet
}

// runSummary is the JSON `hnspath run --json` writes (scenarios.Summary;
// package scenarios imports the emulator, so reports has its own copy of
// the layout).
type runSummary struct {
	file    string
	Passed  int     `json:"passed"`
	Failed  int     `json:"failed"`
	Packets int     `json:"packets"`
	Seconds float64 `json:"seconds"`
	// Interrupted names the signal that stopped the run (scenarios.Summary).
	Interrupted string `json:"interrupted,omitempty"`
	Scenarios   []struct {
		Name     string   `json:"name"`
		File     string   `json:"file"`
		Passed   bool     `json:"passed"`
		Packets  int      `json:"packets"`
		Seconds  float64  `json:"seconds"`
		Failures []string `json:"failures,omitempty"`
		Error    string   `json:"error,omitempty"`
		Results  string   `json:"results,omitempty"`
		Pcapng   string   `json:"pcapng,omitempty"`
	} `json:"scenarios"`
}

// file reads one input file.
func (l *loader) file(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return l.data(path, data)
}

func newLoader(opts Options) *loader {
	if opts.Title == "" {
		opts.Title = "hnspath report"
	}
	if opts.MaxPackets == 0 {
		opts.MaxPackets = 50
	}
	return &loader{opts: opts, rep: &Report{Schema: Schema, Title: opts.Title}, results: map[string]map[string]*resultsFile{}}
}

// data reads one input's content; path names it.
func (l *loader) data(path string, data []byte) error {
	kind, err := Detect(data)
	if err != nil {
		return fmt.Errorf("report: %s: %w", path, err)
	}
	switch kind {
	case KindResults:
		pkts, err := result.ReadAll(bytes.NewReader(data), path)
		if err != nil {
			return &badResults{fmt.Errorf("report: %w", err)}
		}
		if len(pkts) == 0 {
			return fmt.Errorf("report: %s: %w: no packets", path, ErrInput)
		}
		by := map[[2]string][]*result.Packet{}
		var keys [][2]string
		for _, p := range pkts {
			b := p.Backend
			if b == "" {
				b = result.BackendEmulator
			}
			k := [2]string{p.Scenario, b}
			if _, ok := by[k]; !ok {
				keys = append(keys, k)
			}
			by[k] = append(by[k], p)
		}
		for _, k := range keys {
			m := l.results[k[0]]
			if m == nil {
				m = map[string]*resultsFile{}
				l.results[k[0]] = m
			}
			if old, dup := m[k[1]]; dup {
				l.rep.Warnings = append(l.rep.Warnings, fmt.Sprintf("%s: results of %s from %s also in %s; using %s", path, k[0], k[1], old.file, path))
			}
			m[k[1]] = &resultsFile{file: path, packets: by[k]}
		}
	case KindRunSummary:
		s := &runSummary{file: path}
		if err := json.Unmarshal(data, s); err != nil {
			return fmt.Errorf("report: %s: run summary: %w", path, err)
		}
		if s.Interrupted != "" {
			return fmt.Errorf("report: %s: %w: the run was interrupted (%s): its results are incomplete", path, ErrPartial, s.Interrupted)
		}
		l.summaries = append(l.summaries, s)
	case KindBenchJSON:
		r, err := benchresult.ReadJSON(bytes.NewReader(data), path)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if r.Partial {
			return fmt.Errorf("report: %s: %w: the bench run stopped before every trial ran (\"partial\": true)", path, ErrPartial)
		}
		l.bench = append(l.bench, benchFromReport(path, r))
		l.reports = append(l.reports, r)
	case KindGoBench:
		b, err := benchFromGo(path, data)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		for _, kv := range b.Config {
			if kv.Key == "partial" && kv.Value == "true" {
				return fmt.Errorf("report: %s: %w: the bench run stopped before every trial ran (partial: true)", path, ErrPartial)
			}
		}
		l.bench = append(l.bench, b)
		l.reports = append(l.reports, nil)
	case KindProbe:
		ps := &ProbeSummary{File: path}
		if err := json.Unmarshal(data, ps); err != nil {
			return fmt.Errorf("report: %s: probe summary: %w", path, err)
		}
		ps.File = path
		if ps.Interrupted != "" {
			return fmt.Errorf("report: %s: %w: the probe run was interrupted (%s): its results are incomplete", path, ErrPartial, ps.Interrupted)
		}
		l.rep.ProbeSummaries = append(l.rep.ProbeSummaries, ps)
	case KindModes:
		if l.rep.Modes != nil {
			return fmt.Errorf("report: %s: %w: only one mode comparison per report", path, ErrInput)
		}
		var m Modes
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("report: %s: modes: %w", path, err)
		}
		l.rep.Modes = &m
	}
	l.rep.Inputs = append(l.rep.Inputs, Input{File: path, Kind: kind})
	return nil
}

// Detect returns the kind of an input from its content: a JSON object with
// "schema" hnspath-bench/v1 or hnspath-modes/v1; one with "scenarios" and
// "passed" (a run summary) or "scenarios" and "backend" (a probe summary);
// JSON Lines whose first record has "packet" and
// "outcome" (results); else text that Go benchmark format readers take, with
// at least one benchmark line.
func Detect(data []byte) (Kind, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return "", fmt.Errorf("%w: empty file", ErrInput)
	}
	if trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		var obj map[string]json.RawMessage
		if err := dec.Decode(&obj); err != nil {
			return "", fmt.Errorf("%w: JSON: %w", ErrInput, err)
		}
		var schema string
		if s, ok := obj["schema"]; ok {
			_ = json.Unmarshal(s, &schema)
		}
		_, hasPacket := obj["packet"]
		_, hasOutcome := obj["outcome"]
		_, hasScenarios := obj["scenarios"]
		_, hasPassed := obj["passed"]
		_, hasBackend := obj["backend"]
		var format string
		if f, ok := obj["format"]; ok {
			_ = json.Unmarshal(f, &format)
		}
		switch {
		case format == result.Format:
			return KindResults, nil // result.Reader checks the version
		case schema == benchresult.Schema:
			return KindBenchJSON, nil
		case schema == ModesSchema:
			return KindModes, nil
		case strings.HasPrefix(schema, "hnspath-bench/"), strings.HasPrefix(schema, "hnspath-modes/"):
			return "", fmt.Errorf("%w: schema %q is not one this version reads (%s, %s)", ErrInput, schema, benchresult.Schema, ModesSchema)
		case hasPacket && hasOutcome:
			return KindResults, nil
		case hasScenarios && hasPassed:
			return KindRunSummary, nil
		case hasScenarios && hasBackend:
			return KindProbe, nil
		}
		return "", fmt.Errorf("%w: a JSON object that is not results, a run or probe summary, a bench report or a mode comparison", ErrInput)
	}
	if isGoBench(data) {
		return KindGoBench, nil
	}
	return "", fmt.Errorf("%w: not results (JSON Lines), a run summary, bench JSON, Go benchmark output or a mode comparison", ErrInput)
}

// isGoBench reports whether data has a line of the Go benchmark format
// ("BenchmarkX N value unit").
func isGoBench(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxLine)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 4 && strings.HasPrefix(f[0], "Benchmark") && len(f[0]) > len("Benchmark") {
			if _, err := fmt.Sscan(f[1], new(int)); err == nil {
				return true
			}
		}
	}
	return false
}

// finish builds the sections from everything read.
func (l *loader) finish() error {
	l.scenarios()
	l.probes()
	if err := l.baseline(); err != nil {
		return err
	}
	l.rep.Bench = l.bench
	return nil
}

// baseline compares every hnspath-bench/v1 input with Options.Baseline.
func (l *loader) baseline() error {
	if l.opts.Baseline == "" {
		return nil
	}
	data, err := os.ReadFile(l.opts.Baseline)
	if err != nil {
		return fmt.Errorf("report: baseline: %w", err)
	}
	kind, err := Detect(data)
	if err != nil {
		return fmt.Errorf("report: baseline %s: %w", l.opts.Baseline, err)
	}
	switch kind {
	case KindGoBench:
	case KindBenchJSON:
		// Compare reads Go benchmark format: write the report as that.
		r, err := benchresult.ReadJSON(bytes.NewReader(data), l.opts.Baseline)
		if err != nil {
			return fmt.Errorf("report: baseline: %w", err)
		}
		var b bytes.Buffer
		if err := benchresult.WriteGoBench(&b, r); err != nil {
			return fmt.Errorf("report: baseline %s: %w", l.opts.Baseline, err)
		}
		data = b.Bytes()
	default:
		return fmt.Errorf("report: baseline %s: %w: want Go benchmark output or hnspath-bench/v1 JSON, got %s", l.opts.Baseline, ErrInput, kind)
	}
	l.rep.Inputs = append(l.rep.Inputs, Input{File: l.opts.Baseline, Kind: KindBaseline})
	n := 0
	for i, r := range l.reports {
		if r == nil {
			continue
		}
		n++
		c, err := benchresult.Compare(bytes.NewReader(data), r, benchresult.CompareOptions{
			Threshold: l.opts.Threshold, Gate: l.opts.Gate, BaselineName: l.opts.Baseline, Confidence: r.Options.Confidence})
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		l.bench[i].Comparison = comparisonOf(c)
	}
	if n == 0 {
		l.rep.Warnings = append(l.rep.Warnings, "baseline "+l.opts.Baseline+" given, but no hnspath-bench/v1 JSON input to compare with it")
	}
	return nil
}

// Float is a number that marshals as null when it is not finite (JSON has
// no NaN or infinity).
type Float float64

// MarshalJSON writes f, or null when it is NaN or infinite.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads a number; null reads as NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// sortedStrings returns m's keys sorted.
func sortedStrings[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// writeAll writes s to w, returning the first error.
func writeAll(w io.Writer, s string) error {
	_, err := io.WriteString(w, s)
	return err
}
