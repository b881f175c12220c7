package reports

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes the report as GitHub-flavoured Markdown: headings per
// section, tables, and the failure texts, traces and constraints in lists
// and fenced blocks.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b bytes.Buffer
	verdict := fmt.Sprintf("**Verdict: %s**\n\n", mdEscape(r.Verdict().Line()))
	fmt.Fprintf(&b, "# %s\n\n%s", mdEscape(r.Title), verdict)
	if s := r.Scenarios; s != nil {
		mdScenarios(&b, s)
	}
	if len(r.Bench) > 0 {
		b.WriteString("## Bench\n\n")
		for _, bn := range r.Bench {
			mdBench(&b, bn)
		}
	}
	if len(r.Probes)+len(r.ProbeSummaries) > 0 {
		b.WriteString("## Probe: emulator and real datapaths\n\n")
		for _, ps := range r.ProbeSummaries {
			fmt.Fprintf(&b, "### %s\n\n", mdEscape(ps.headline()))
			mdTable(&b, ps.rows(), true)
		}
		for _, p := range r.Probes {
			mdProbe(&b, p)
		}
	}
	if r.Modes != nil {
		mdModes(&b, r.Modes)
	}
	if len(r.Warnings) > 0 {
		b.WriteString("## Warnings\n\n")
		for _, wn := range r.Warnings {
			fmt.Fprintf(&b, "- %s\n", mdEscape(wn))
		}
		b.WriteString("\n")
	}
	if len(r.Inputs) > 0 {
		b.WriteString("## Inputs\n\n")
		for _, in := range r.Inputs {
			fmt.Fprintf(&b, "- `%s` (%s)\n", in.File, in.Kind)
		}
		b.WriteString("\n")
	}
	b.WriteString(verdict)
	out := bytes.TrimRight(b.Bytes(), "\n")
	_, err := w.Write(append(out, '\n'))
	return err
}

// mdEscape escapes the characters that would start Markdown syntax in
// running text or break a table cell.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "<", `\<`, "[", `\[`, "]", `\]`, "\n", " ")
	s = r.Replace(s)
	// ">" only means something at the start of a line (a quote); inside a
	// line it stays as typed, so "a -> b" reads the same raw and rendered.
	if strings.HasPrefix(s, ">") {
		s = `\` + s
	}
	return s
}

// mdCode puts s in an inline code span (a cell with headers, drops).
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

func mdTable(b *bytes.Buffer, rows [][]string, escape bool) {
	if len(rows) == 0 {
		return
	}
	for i, row := range rows {
		cells := make([]string, len(row))
		for j, c := range row {
			if escape {
				c = mdEscape(c)
			}
			cells[j] = c
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
		if i == 0 {
			seps := make([]string, len(row))
			for j := range seps {
				seps[j] = "---"
			}
			fmt.Fprintf(b, "| %s |\n", strings.Join(seps, " | "))
		}
	}
	b.WriteString("\n")
}

func mdFence(b *bytes.Buffer, text string) {
	fence := "```"
	for strings.Contains(text, fence) {
		fence += "`"
	}
	fmt.Fprintf(b, "%stext\n%s\n%s\n\n", fence, strings.TrimRight(text, "\n"), fence)
}

func mdScenarios(b *bytes.Buffer, s *Scenarios) {
	fmt.Fprintf(b, "## Scenarios\n\n**%s**\n\n", s.headline())
	rows := [][]string{{"status", "scenario", "packets", "time", "outcomes"}}
	for _, r := range s.Runs {
		rows = append(rows, []string{statusWord(r.Status), r.Name, fmt.Sprint(r.Packets), seconds(r.Seconds), sortedCounts(r.Outcomes)})
	}
	mdTable(b, rows, true)
	for _, r := range s.Runs {
		if r.Status == RunPass {
			continue
		}
		fmt.Fprintf(b, "### %s: %s\n\n", statusWord(r.Status), mdEscape(r.Name))
		if r.File != "" {
			fmt.Fprintf(b, "Scenario file `%s`.\n\n", r.File)
		}
		if r.Error != "" {
			mdFence(b, r.Error)
		}
		for _, f := range r.Failures {
			mdFence(b, f)
		}
		if len(r.Drops) > 0 {
			fmt.Fprintf(b, "Drops: %s.\n\n", mdEscape(sortedCounts(r.Drops)))
		}
		if len(r.Rows) > 0 {
			fmt.Fprintf(b, "Packets (`%s`):\n\n", r.Results)
			rows := [][]string{{"#", "in", "outcome", "frame", "delivered at", "drop"}}
			for _, p := range r.Rows {
				rows = append(rows, []string{fmt.Sprint(p.Index), mdCode(p.In), p.Outcome, mdCode(p.Frame), mdCode(strings.Join(p.Delivered, ", ")), mdCode(p.Drop)})
			}
			mdTable(b, rows, false)
			for _, p := range r.Rows {
				if len(p.Trace) > 0 {
					fmt.Fprintf(b, "Trace of packet %d:\n\n", p.Index)
					mdFence(b, strings.Join(p.Trace, "\n"))
				}
			}
			if r.More > 0 {
				fmt.Fprintf(b, "… and %d more packets.\n\n", r.More)
			}
		}
	}
}

func mdBench(b *bytes.Buffer, bn *Bench) {
	fmt.Fprintf(b, "### `%s` (%s)\n\n", bn.File, bn.Format)
	if len(bn.Config) > 0 {
		fmt.Fprintf(b, "%s\n\n", mdCode(configLine(bn.Config)))
	}
	fmt.Fprintf(b, "%s (\"!\": outlier trials).\n\n", bn.intervalNote())
	mdTable(b, bn.tableRows(), true)
	for _, s := range bn.Scaling {
		fmt.Fprintf(b, "- %s\n", mdEscape(scalingLine(s)))
	}
	for _, f := range bn.Fits {
		fmt.Fprintf(b, "- %s\n", mdEscape(fitLine(f)))
	}
	for _, wn := range bn.Warnings {
		fmt.Fprintf(b, "- warning: %s\n", mdEscape(wn))
	}
	if len(bn.Scaling)+len(bn.Fits)+len(bn.Warnings) > 0 {
		b.WriteString("\n")
	}
	if c := bn.Comparison; c != nil {
		fmt.Fprintf(b, "**Against the baseline: %s.** %s\n\n", c.verdictWord(), mdEscape(c.header()))
		mdTable(b, c.rowsText(), true)
		if n := c.unchanged(); n > 0 {
			fmt.Fprintf(b, "(%d rows of other units without a significant change not shown.)\n\n", n)
		}
		if regs := c.verdictLines(); len(regs) > 0 {
			fmt.Fprintf(b, "Regressions beyond %.0f%%:\n\n", c.Threshold*100)
			for _, l := range regs {
				fmt.Fprintf(b, "- %s\n", mdEscape(l))
			}
			b.WriteString("\n")
		}
		for _, wn := range c.Warnings {
			fmt.Fprintf(b, "- warning: %s\n", mdEscape(wn))
		}
		if len(c.Warnings) > 0 {
			b.WriteString("\n")
		}
	}
}

func mdProbe(b *bytes.Buffer, p *Probe) {
	fmt.Fprintf(b, "### %s\n\n", mdEscape(p.headline()))
	fmt.Fprintf(b, "Files: `%s` (%s), `%s` (%s).\n\n", p.FileA, p.A, p.FileB, p.B)
	if len(p.Mappings) > 0 {
		fmt.Fprintf(b, "Consistent mappings (not differences): %s.\n\n", mdEscape(strings.Join(p.Mappings, ", ")))
	}
	if len(p.Packets) > 0 {
		rows := [][]string{{"#", "in", p.A, p.B, "differences"}}
		for _, pk := range p.Packets {
			var ds []string
			for _, d := range pk.Differences {
				ds = append(ds, mdEscape(d))
			}
			rows = append(rows, []string{fmt.Sprint(pk.Index), mdCode(pk.In), mdEscape(pk.A), mdEscape(pk.B), strings.Join(ds, "<br>")})
		}
		mdTable(b, rows, false)
	}
}

func mdModes(b *bytes.Buffer, m *Modes) {
	fmt.Fprintf(b, "## Modes\n\n%s.\n\n", mdEscape(m.headline()))
	if c := m.Conclusion(); len(c) > 0 {
		fmt.Fprintf(b, "**Conclusion: %s.**\n\n", mdEscape(c[0]))
		for _, l := range c[1:] {
			fmt.Fprintf(b, "- %s\n", mdEscape(l))
		}
		b.WriteString("\n")
	}
	mdTable(b, m.matrix(func(fr *FlowResult) string { return fr.cell() }), true)
	for i := range m.Modes {
		mr := &m.Modes[i]
		fmt.Fprintf(b, "### %s (HNS type %s): %s\n\n", mr.Mode, mr.NetworkType, mr.headline())
		if mr.Error != "" {
			mdFence(b, mr.Error)
		}
		for j := range mr.Flows {
			fr := &mr.Flows[j]
			fmt.Fprintf(b, "- **%d %s**: %s\n", fr.Flow, mdEscape(m.flowLabel(fr.Flow)), mdEscape(fr.detail()))
			if fr.Why != "" && fr.Status != StatusWorks {
				fmt.Fprintf(b, "  - why: %s\n", mdEscape(fr.Why))
			}
			if wr := fr.Wire; wr != nil {
				for _, l := range wr.lines() {
					k, v, _ := strings.Cut(l, ":")
					fmt.Fprintf(b, "  - %s: %s\n", k, mdCode(strings.TrimSpace(v)))
				}
			}
		}
		b.WriteString("\n")
		if mr.Cost != nil {
			fmt.Fprintf(b, "Cost: %s.\n\n", mdEscape(mr.Cost.line()))
		}
		for _, n := range mr.Notes {
			fmt.Fprintf(b, "Note: %s\n\n", mdEscape(n))
		}
		if len(mr.Constraints) > 0 {
			b.WriteString("Documented constraints:\n\n")
			for _, c := range mr.Constraints {
				fmt.Fprintf(b, "- %s (%s)\n", mdEscape(c.Text), mdEscape(c.Source))
			}
			b.WriteString("\n")
		}
	}
	if len(m.Addresses) > 0 {
		b.WriteString("### Addresses by role\n\n")
		mdTable(b, m.addressRows(), true)
	}
	for _, n := range m.Notes {
		fmt.Fprintf(b, "- %s\n", mdEscape(n))
	}
	b.WriteString("\n")
}
