package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"

	cmp "github.com/hnspath/hnspath/evidence/comparison"
)

// EvidenceFormats are the formats WriteEvidence writes.
var EvidenceFormats = []string{"text", "json", "markdown", "html", "junit"}

// WriteEvidence writes a comparison of a real node's capture with the
// model (hnspath compare) in one of EvidenceFormats: text lists the
// groups that part (all with all), JSON is the comparison's own schema
// (hnspath-evidence/v1), Markdown and HTML a table per group with its
// partings, JUnit one test case per packet group (a failure where the
// model parts from the real host, skipped where it was not replayed).
func WriteEvidence(w io.Writer, format string, r *cmp.Report, all bool) error {
	switch format {
	case "text", "":
		return cmp.WriteText(w, r, all)
	case "json":
		return cmp.WriteJSON(w, r)
	case "markdown", "md":
		return evidenceMarkdown(w, r)
	case "html":
		return evidenceHTML(w, r)
	case "junit":
		return evidenceJUnit(w, r)
	}
	return fmt.Errorf("report: evidence: unknown format %q (want one of %s)", format, strings.Join(EvidenceFormats, ", "))
}

func evidenceRows(r *cmp.Report) [][]string {
	rows := [][]string{{"PktGroupId", "source", "in", "packet", "verdict", "real", "model", "where they part"}}
	for _, g := range r.Results {
		var parts []string
		for _, p := range g.Partings {
			parts = append(parts, p.Kind+": "+p.Text)
		}
		rows = append(rows, []string{strconv.FormatUint(g.ID, 10), g.Source, g.In, g.Summary, g.Verdict,
			sideText(&g.Real), sideText(&g.Model), strings.Join(parts, "; ")})
	}
	return rows
}

func sideText(s *cmp.Side) string {
	if s.Drop != nil {
		return s.Outcome + " at " + s.Drop.Where + ": " + s.Drop.String()
	}
	if len(s.Ports) > 0 {
		return s.Outcome + " -> " + strings.Join(s.Ports, ", ")
	}
	return s.Outcome
}

func evidenceMarkdown(w io.Writer, r *cmp.Report) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Evidence: %s against %s\n\n**%s**\n\n", mdEscape(strings.Join(r.Captures, ", ")), mdEscape(r.Topology), r.Headline())
	mdTable(&b, evidenceRows(r), true)
	for _, g := range r.Results {
		if g.Verdict != cmp.Part {
			continue
		}
		fmt.Fprintf(&b, "## PktGroupId %d\n\n", g.ID)
		mdFence(&b, cmp.GroupText(g))
	}
	if len(r.PortMap) > 0 {
		b.WriteString("## Port map\n\n")
		mdFence(&b, strings.Join(r.PortMap, "\n"))
	}
	_, err := w.Write(b.Bytes())
	return err
}

var evidenceTmpl = template.Must(template.New("evidence").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>hnspath evidence</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top}
tr.part td{background:#fdd}tr.agree td{background:#efe}pre{background:#f6f6f6;padding:.5em}</style></head>
<body><h1>Evidence: {{.Captures}} against {{.R.Topology}}</h1>
<p id="headline"><strong>{{.R.Headline}}</strong></p>
<table class="evidence"><tr>{{range index .Rows 0}}<th>{{.}}</th>{{end}}</tr>
{{range $i, $row := .Body}}<tr class="{{index $.Classes $i}}">{{range $row}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{range .Parted}}<h2 id="group-{{.ID}}">PktGroupId {{.ID}}</h2><pre>{{.Text}}</pre>
{{end}}{{if .R.PortMap}}<h2 id="port-map">Port map</h2><pre>{{.PortMap}}</pre>{{end}}
</body></html>
`))

func evidenceHTML(w io.Writer, r *cmp.Report) error {
	rows := evidenceRows(r)
	type parted struct {
		ID   uint64
		Text string
	}
	v := struct {
		R        *cmp.Report
		Captures string
		Rows     [][]string
		Body     [][]string
		Classes  []string
		Parted   []parted
		PortMap  string
	}{R: r, Captures: strings.Join(r.Captures, ", "), Rows: rows, Body: rows[1:], PortMap: strings.Join(r.PortMap, "\n")}
	for _, g := range r.Results {
		v.Classes = append(v.Classes, g.Verdict)
		if g.Verdict == cmp.Part {
			v.Parted = append(v.Parted, parted{g.ID, cmp.GroupText(g)})
		}
	}
	var b bytes.Buffer
	if err := evidenceTmpl.Execute(&b, v); err != nil {
		return fmt.Errorf("report: evidence html: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func evidenceJUnit(w io.Writer, r *cmp.Report) error {
	s := JUnitSuite{Name: "evidence " + strings.Join(r.Captures, ", "), Time: secs(0)}
	for _, g := range r.Results {
		c := JUnitCase{Name: fmt.Sprintf("PktGroupId %d (%s)", g.ID, g.Source), Classname: "hnspath.evidence", Time: secs(0),
			SystemOut: sysout(xmlText(cmp.GroupText(g)))}
		switch g.Verdict {
		case cmp.Part:
			msg := g.Partings[0].Kind + ": " + g.Partings[0].Text
			c.Failure = &JUnitMessage{Message: xmlText(msg), Type: g.Partings[0].Kind, Text: xmlText(cmp.GroupText(g))}
			s.Failures++
		case cmp.NotReplayed:
			c.Skipped = &JUnitMessage{Message: xmlText(strings.Join(g.Notes, "; "))}
			s.Skipped++
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	root := JUnitSuites{Name: "hnspath evidence", Tests: s.Tests, Failures: s.Failures, Skipped: s.Skipped, Time: secs(0), Suites: []JUnitSuite{s}}
	out, err := xml.MarshalIndent(root, "", "  ")
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	out = append(out, '\n')
	_, err = w.Write(out)
	return err
}
