package main

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/reports"
)

func init() {
	register(&command{name: "report", summary: "report on results files, run and probe summaries, bench files and mode comparisons (text, md, json, junit, html)",
		usage: "[--format text|md|json|junit|html] [--out file] [--baseline file] inputs...", run: runReport})
}

// reportFormats writes a report in each --format.
var reportFormats = map[string]func(io.Writer, *reports.Report) error{
	"text":  reports.WriteText,
	"md":    reports.WriteMarkdown,
	"json":  reports.WriteJSON,
	"junit": reports.WriteJUnit,
	"html":  reports.WriteHTML,
}

func runReport(args []string, stdout, stderr io.Writer) int {
	c := commands["report"]
	fs := newFlags(c, stderr)
	format := fs.StringP("format", "f", "text", "output `format`: text, md, json, junit or html (one self-contained page with SVG plots)")
	out := fs.StringP("out", "o", "", "write the report to `file` instead of standard output")
	baseline := fs.String("baseline", "", "compare every hnspath-bench JSON input with this bench `file` (Go benchmark format or JSON)")
	threshold := fs.String("threshold", "5%", "smallest change of a median that counts as a regression (`percent` or fraction)")
	title := fs.String("title", "hnspath report", "the report's `title`")
	maxPackets := fs.Int("max-packets", 50, "list at most `n` packets of each failed scenario")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: hnspath %s %s\n\n%s\n\n", c.name, c.usage, c.summary)
		fmt.Fprintln(stderr, "Inputs are files or directories (every .jsonl, .json and .txt file in them); the kind of each file")
		fmt.Fprintln(stderr, "is read from its content: scenario results (NAME.results.jsonl, any backend), the summary of")
		fmt.Fprintln(stderr, "`hnspath run --json`, a probe directory (`hnspath probe --out`), `hnspath bench` JSON or Go")
		fmt.Fprintln(stderr, "benchmark output, `hnspath modes --json`. Results of one scenario from two backends are compared")
		fmt.Fprintln(stderr, "packet by packet. Exit status 1 when a scenario failed, a bench input regressed against --baseline")
		fmt.Fprintln(stderr, "or a probe found undocumented differences.")
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	write, ok := reportFormats[*format]
	if !ok {
		return usageErr(stderr, fs, "--format %q: want text, md, json, junit or html", *format)
	}
	if fs.NArg() == 0 {
		return usageErr(stderr, fs, "no inputs")
	}
	thr, err := parsePercent(*threshold)
	if err != nil {
		return usageErr(stderr, fs, "--threshold: %v", err)
	}
	if *maxPackets < 1 {
		return usageErr(stderr, fs, "--max-packets %d: want 1 or more", *maxPackets)
	}
	rep, err := reports.Load(fs.Args(), reports.Options{Title: *title, Baseline: *baseline, Threshold: thr, MaxPackets: *maxPackets})
	if err != nil {
		return fail(stderr, "report", err)
	}
	var b bytes.Buffer
	if err := write(&b, rep); err != nil {
		return fail(stderr, "report", err)
	}
	if *out == "" {
		if _, err := stdout.Write(b.Bytes()); err != nil {
			return fail(stderr, "report", err)
		}
	} else if err := writeFile(*out, func(w io.Writer) error { _, err := w.Write(b.Bytes()); return err }); err != nil {
		return fail(stderr, "report", err)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(stderr, "hnspath report: warning: %s\n", w)
	}
	if reportFailed(rep) {
		return exitFail
	}
	return exitOK
}

// reportFailed reports whether a report records a failure: a scenario that
// failed or could not run, a regression against the baseline, a probe
// scenario with undocumented differences.
func reportFailed(r *reports.Report) bool {
	if s := r.Scenarios; s != nil && s.Failed > 0 {
		return true
	}
	for _, b := range r.Bench {
		if b.Comparison != nil && b.Comparison.Regressed {
			return true
		}
	}
	for _, ps := range r.ProbeSummaries {
		for _, sc := range ps.Scenarios {
			if sc.Undocumented > 0 {
				return true
			}
		}
	}
	return false
}

// parsePercent reads "5%" or "0.05" as a fraction.
func parsePercent(s string) (float64, error) {
	t := strings.TrimSpace(s)
	div := 1.0
	if strings.HasSuffix(t, "%") {
		t, div = strings.TrimSuffix(t, "%"), 100
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || v/div >= 1 {
		return 0, fmt.Errorf("%q: want a percentage such as 5%% or a fraction such as 0.05", s)
	}
	return v / div, nil
}
