package reports

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	benchresult "github.com/hnspath/hnspath/bench/result"
)

// WriteText writes the report as plain text: per section a summary line,
// tables, and the details of what failed (side-by-side diffs and traces,
// regressions, packets that differ between backends, flows that fail in a
// mode and why).
func WriteText(w io.Writer, r *Report) error {
	var b bytes.Buffer
	verdict := "VERDICT: " + r.Verdict().Line()
	fmt.Fprintf(&b, "%s\n%s\n", r.Title, verdict)
	if s := r.Scenarios; s != nil {
		b.WriteString("\n")
		textScenarios(&b, s)
	}
	for _, bn := range r.Bench {
		b.WriteString("\n")
		textBench(&b, bn)
	}
	for _, ps := range r.ProbeSummaries {
		b.WriteString("\n")
		fmt.Fprintf(&b, "PROBE SUMMARY: %s\n", ps.headline())
		tableTo(&b, "", ps.rows())
	}
	for _, p := range r.Probes {
		b.WriteString("\n")
		textProbe(&b, p)
	}
	if r.Modes != nil {
		b.WriteString("\n")
		textModes(&b, r.Modes)
	}
	if len(r.Warnings) > 0 {
		b.WriteString("\n")
		for _, wn := range r.Warnings {
			fmt.Fprintf(&b, "warning: %s\n", wn)
		}
	}
	if len(r.Inputs) > 0 {
		var in []string
		for _, i := range r.Inputs {
			in = append(in, fmt.Sprintf("%s (%s)", i.File, i.Kind))
		}
		fmt.Fprintf(&b, "\ninputs: %s\n", strings.Join(in, ", "))
	}
	fmt.Fprintf(&b, "\n%s\n", verdict)
	_, err := w.Write(b.Bytes())
	return err
}

// table writes rows aligned in columns, two spaces apart.
func table(b *bytes.Buffer, indent string, rows [][]string) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintf(tw, "%s%s\n", indent, strings.Join(row, "\t"))
	}
	tw.Flush()
	// tabwriter pads the last column too when cells are empty: trim.
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	b.Reset()
	b.WriteString(strings.Join(lines, "\n") + "\n")
}

// section writes rows through table into b.
func tableTo(b *bytes.Buffer, indent string, rows [][]string) {
	var t bytes.Buffer
	table(&t, indent, rows)
	b.Write(t.Bytes())
}

func indentText(s, indent string) string {
	s = strings.TrimRight(s, "\n")
	return indent + strings.ReplaceAll(s, "\n", "\n"+indent)
}

// Scenarios.

func (s *Scenarios) headline() string {
	h := fmt.Sprintf("%d passed, %d failed", s.Passed, s.Failed)
	if s.Unchecked > 0 {
		h += fmt.Sprintf(", %d results without expectations", s.Unchecked)
	}
	if s.Packets > 0 {
		h += fmt.Sprintf(", %d packets in %s", s.Packets, seconds(s.Seconds))
	}
	return h
}

func seconds(s float64) string {
	switch {
	case s == 0:
		return "0s"
	case s < 1e-3:
		return fmt.Sprintf("%.0fµs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.1fms", s*1e3)
	}
	return fmt.Sprintf("%.2fs", s)
}

func statusWord(st string) string {
	switch st {
	case RunPass:
		return "PASS"
	case RunFail:
		return "FAIL"
	case RunError:
		return "ERROR"
	}
	return "RESULTS"
}

func textScenarios(b *bytes.Buffer, s *Scenarios) {
	fmt.Fprintf(b, "SCENARIOS: %s\n", s.headline())
	rows := [][]string{{"status", "scenario", "packets", "time", "outcomes"}}
	for _, r := range s.Runs {
		rows = append(rows, []string{statusWord(r.Status), r.Name, fmt.Sprint(r.Packets), seconds(r.Seconds), sortedCounts(r.Outcomes)})
	}
	tableTo(b, "", rows)
	for _, r := range s.Runs {
		if r.Status == RunPass {
			continue
		}
		fmt.Fprintf(b, "\n--- %s: %s", statusWord(r.Status), r.Name)
		if r.File != "" {
			fmt.Fprintf(b, " (%s)", r.File)
		}
		b.WriteString("\n")
		if r.Error != "" {
			fmt.Fprintf(b, "%s\n", indentText(r.Error, "    "))
		}
		for _, f := range r.Failures {
			fmt.Fprintf(b, "%s\n", indentText(f, "    "))
		}
		if len(r.Drops) > 0 {
			fmt.Fprintf(b, "    drops: %s\n", sortedCounts(r.Drops))
		}
		if len(r.Rows) > 0 {
			fmt.Fprintf(b, "    packets (%s):\n", r.Results)
			for _, p := range r.Rows {
				fmt.Fprintf(b, "    %d  %s  %s  %s\n", p.Index, p.In, p.Outcome, p.Frame)
				if len(p.Delivered) > 0 {
					fmt.Fprintf(b, "       delivered at %s\n", strings.Join(p.Delivered, ", "))
				}
				if p.Drop != "" {
					fmt.Fprintf(b, "       drop: %s\n", p.Drop)
				}
				for _, t := range p.Trace {
					fmt.Fprintf(b, "         %s\n", t)
				}
			}
			if r.More > 0 {
				fmt.Fprintf(b, "    ... and %d more packets\n", r.More)
			}
		}
	}
}

// Bench.

func configLine(cfg []benchresult.KV) string {
	var parts []string
	for _, c := range cfg {
		parts = append(parts, c.Key+": "+c.Value)
	}
	return strings.Join(parts, "  ")
}

func (bn *Bench) headline() string {
	h := fmt.Sprintf("%s (%s)", bn.File, bn.Format)
	if c := bn.Comparison; c != nil {
		h += ": " + c.verdictWord() + " against " + c.Baseline
	}
	return h
}

func (c *BenchComparison) verdictWord() string {
	if c.Regressed {
		return "REGRESSION"
	}
	return "no regression"
}

func (bn *Bench) intervalNote() string {
	n := fmt.Sprintf("median ± %.0f%% confidence interval", bn.Confidence*100)
	if bn.Trials > 0 {
		n = fmt.Sprintf("%d trials, %s", bn.Trials, n)
	}
	return n
}

func (bn *Bench) tableRows() [][]string {
	rows := [][]string{append([]string{"benchmark"}, bn.Units...)}
	for _, r := range bn.Rows {
		row := []string{r.Name}
		for _, u := range bn.Units {
			m, ok := r.Metric(u)
			switch {
			case !ok:
				row = append(row, "-")
			case u == benchresult.UnitPacketsPerSec || bn.Format == FormatGoBench:
				cell := m.interval()
				if m.Outliers > 0 {
					cell += " !"
				}
				row = append(row, cell)
			default:
				row = append(row, fmtSI(float64(m.Median)))
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func scalingLine(s benchresult.Scaling) string {
	var parts []string
	for _, p := range s.Points {
		parts = append(parts, fmt.Sprintf("%d: %s pkts/s ×%.2f (%.0f%%)", p.Cores, fmtSI(p.PacketsPerSec), p.Speedup, p.Efficiency*100))
	}
	l := fmt.Sprintf("scaling %s: %s", s.Group, strings.Join(parts, ", "))
	if s.Fit != nil {
		l += fmt.Sprintf("; %+s pkts/s per core", fmtSI(s.Fit.Slope))
	}
	return l
}

func fitLine(f benchresult.Fit) string {
	best, log := f.Best()
	x := f.Key
	if log {
		x = "log10(" + f.Key + ")"
	}
	r2 := "-"
	if best.R2 == best.R2 {
		r2 = fmt.Sprintf("%.3f", best.R2)
	}
	return fmt.Sprintf("cost %s: %s = %s %+.3g·%s (R² %s, %d points)", f.Group, f.Unit, fmtSI(best.Intercept), best.Slope, x, r2, best.N)
}

func (c *BenchComparison) header() string {
	return fmt.Sprintf("baseline %s: alpha %.2f, threshold %.0f%%, gating %s", c.Baseline, c.Alpha, c.Threshold*100, strings.Join(c.Gate, ", "))
}

// shown reports whether a comparison row is listed: gating units always,
// other units when they changed (the rest would be many rows of "~").
func (r CompareRow) shown() bool { return r.Gate || r.Verdict != "~" }

// unchanged counts the rows not shown.
func (c *BenchComparison) unchanged() int {
	n := 0
	for _, r := range c.Rows {
		if !r.shown() {
			n++
		}
	}
	return n
}

func (c *BenchComparison) rowsText() [][]string {
	rows := [][]string{{"benchmark", "unit", "old", "new", "delta", "verdict"}}
	for _, r := range c.Rows {
		if !r.shown() {
			continue
		}
		v := r.Verdict
		if r.Gate {
			v += " (gate)"
		}
		rows = append(rows, []string{r.Name, r.Unit, r.Old.interval(), r.New.interval(), r.deltaText(c.Alpha) + " " + r.test(), v})
	}
	return rows
}

func (c *BenchComparison) verdictLines() []string {
	var out []string
	for _, r := range c.Rows {
		if r.Gate && r.Verdict == benchresult.Regressed.String() {
			out = append(out, fmt.Sprintf("%s %s: %s %s", r.Name, r.Unit, r.deltaText(c.Alpha), r.test()))
		}
	}
	return out
}

func textBench(b *bytes.Buffer, bn *Bench) {
	fmt.Fprintf(b, "BENCH: %s\n", bn.headline())
	if len(bn.Config) > 0 {
		fmt.Fprintf(b, "%s\n", configLine(bn.Config))
	}
	fmt.Fprintf(b, "%s (\"!\": outlier trials)\n", bn.intervalNote())
	tableTo(b, "", bn.tableRows())
	for _, s := range bn.Scaling {
		fmt.Fprintf(b, "%s\n", scalingLine(s))
	}
	for _, f := range bn.Fits {
		fmt.Fprintf(b, "%s\n", fitLine(f))
	}
	for _, wn := range bn.Warnings {
		fmt.Fprintf(b, "warning: %s\n", wn)
	}
	if c := bn.Comparison; c != nil {
		fmt.Fprintf(b, "\n%s\n", c.header())
		tableTo(b, "", c.rowsText())
		if n := c.unchanged(); n > 0 {
			fmt.Fprintf(b, "(%d rows of other units without a significant change not shown)\n", n)
		}
		if regs := c.verdictLines(); len(regs) > 0 {
			fmt.Fprintf(b, "verdict: REGRESSION, %d significant regression(s) beyond %.0f%%:\n", len(regs), c.Threshold*100)
			for _, l := range regs {
				fmt.Fprintf(b, "  %s\n", l)
			}
		} else {
			fmt.Fprintf(b, "verdict: no regression\n")
		}
		for _, wn := range c.Warnings {
			fmt.Fprintf(b, "warning: %s\n", wn)
		}
	}
}

// Probe.

func (ps *ProbeSummary) headline() string {
	n := map[string]int{}
	for _, sc := range ps.Scenarios {
		n[sc.Result]++
	}
	return fmt.Sprintf("%s: emulator vs %s, %d scenarios: %s", ps.File, ps.Backend, len(ps.Scenarios), sortedCounts(n))
}

func (ps *ProbeSummary) rows() [][]string {
	rows := [][]string{{"scenario", "result", "packets", "differing", "undocumented", "documented differences / note"}}
	for _, sc := range ps.Scenarios {
		note := strings.Join(sc.Documented, ", ")
		for _, x := range []string{sc.Error, sc.Skipped} {
			if x != "" {
				note = strings.TrimPrefix(note+"; "+firstLine([]string{x}, ""), "; ")
			}
		}
		if len(sc.NotBuilt) > 0 {
			nb := "not built: " + sc.NotBuilt[0]
			if len(sc.NotBuilt) > 1 {
				nb += fmt.Sprintf(" (and %d more)", len(sc.NotBuilt)-1)
			}
			note = strings.TrimPrefix(note+"; "+nb, "; ")
		}
		rows = append(rows, []string{sc.Name, sc.Result, fmt.Sprint(sc.Packets), fmt.Sprint(sc.Differing), fmt.Sprint(sc.Undocumented), note})
	}
	return rows
}

func (p *Probe) headline() string {
	h := fmt.Sprintf("%s: %s vs %s: %d compared, %d agree, %d differ", p.Scenario, p.A, p.B, p.Compared, p.Agree, len(p.Packets))
	if len(p.OnlyA)+len(p.OnlyB) > 0 {
		h += fmt.Sprintf(", %d in one file only", len(p.OnlyA)+len(p.OnlyB))
	}
	return h
}

func textProbe(b *bytes.Buffer, p *Probe) {
	fmt.Fprintf(b, "PROBE: %s\n", p.headline())
	fmt.Fprintf(b, "files: %s (%s), %s (%s)\n", p.FileA, p.A, p.FileB, p.B)
	if len(p.Mappings) > 0 {
		fmt.Fprintf(b, "consistent mappings (not differences): %s\n", strings.Join(p.Mappings, ", "))
	}
	if len(p.OnlyA) > 0 {
		fmt.Fprintf(b, "only in %s: packets %s\n", p.A, intList(p.OnlyA))
	}
	if len(p.OnlyB) > 0 {
		fmt.Fprintf(b, "only in %s: packets %s\n", p.B, intList(p.OnlyB))
	}
	for _, pk := range p.Packets {
		fmt.Fprintf(b, "  packet %d (in %s)\n", pk.Index, pk.In)
		fmt.Fprintf(b, "    %s: %s\n    %s: %s\n", p.A, pk.A, p.B, pk.B)
		for _, d := range pk.Differences {
			fmt.Fprintf(b, "    - %s\n", d)
		}
	}
}

func intList(ns []int) string {
	var s []string
	for _, n := range ns {
		s = append(s, fmt.Sprint(n))
	}
	return strings.Join(s, ", ")
}

// Modes.

func textModes(b *bytes.Buffer, m *Modes) {
	fmt.Fprintf(b, "MODES: %s\n", m.headline())
	if c := m.Conclusion(); len(c) > 0 {
		fmt.Fprintf(b, "CONCLUSION: %s\n", c[0])
		for _, l := range c[1:] {
			fmt.Fprintf(b, "  - %s\n", l)
		}
	}
	tableTo(b, "", m.matrix(func(fr *FlowResult) string { return fr.cell() }))
	for i := range m.Modes {
		mr := &m.Modes[i]
		fmt.Fprintf(b, "\n%s (HNS network type %s): %s\n", mr.Mode, mr.NetworkType, mr.headline())
		if mr.Error != "" {
			fmt.Fprintf(b, "%s\n", indentText(mr.Error, "  "))
		}
		for j := range mr.Flows {
			fr := &mr.Flows[j]
			fmt.Fprintf(b, "  %d %s: %s\n", fr.Flow, m.flowLabel(fr.Flow), fr.detail())
			if fr.Why != "" && fr.Status != StatusWorks {
				fmt.Fprintf(b, "      why: %s\n", fr.Why)
			}
			if wr := fr.Wire; wr != nil {
				for _, l := range wr.lines() {
					fmt.Fprintf(b, "      %s\n", l)
				}
			}
		}
		if mr.Cost != nil {
			fmt.Fprintf(b, "  cost: %s\n", mr.Cost.line())
		}
		for _, n := range mr.Notes {
			fmt.Fprintf(b, "  note: %s\n", n)
		}
		if len(mr.Constraints) > 0 {
			fmt.Fprintf(b, "  documented constraints:\n")
			for _, c := range mr.Constraints {
				fmt.Fprintf(b, "    - %s [%s]\n", c.Text, c.Source)
			}
		}
	}
	if len(m.Addresses) > 0 {
		fmt.Fprintf(b, "\naddresses by role (the traffic's, and each mode's):\n")
		tableTo(b, "  ", m.addressRows())
	}
	for _, n := range m.Notes {
		fmt.Fprintf(b, "note: %s\n", n)
	}
}
