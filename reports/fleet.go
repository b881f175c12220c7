package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hnspath/hnspath/result"
)

// FleetFormats are the formats WriteFleet writes.
var FleetFormats = []string{"text", "json", "markdown", "html", "junit"}

// fleetCell returns node n's matrix cell for scenario sc.
func fleetCell(n *result.FleetNode, sc string) string {
	if n.Status != result.FleetRan {
		return "-"
	}
	for _, r := range n.Results {
		if r.Scenario == sc {
			if r.Differing > 0 {
				return fmt.Sprintf("%s (%d/%d)", r.Result, r.Differing, r.Packets)
			}
			return r.Result
		}
	}
	return "(no result)"
}

// fleetNotRunText is why a node did not run, one line.
func fleetNotRunText(n result.FleetNode) string {
	if n.Why == "" {
		return n.Reason
	}
	return n.Reason + ": " + strings.ReplaceAll(n.Why, "\n", " ")
}

// fleetGroupText words a group for a line of text.
func fleetGroupText(g *result.FleetGroup) string {
	return fmt.Sprintf("%s packet %d at %s: %s (model vs node)", g.Scenario, g.Packet, g.In, g.Text)
}

func fleetNodesText(g *result.FleetGroup) string {
	w := "nodes"
	if len(g.Nodes) == 1 {
		w = "node"
	}
	return fmt.Sprintf("%d %s (%s)", len(g.Nodes), w, strings.Join(g.Nodes, ", "))
}

func fleetMatrix(f *result.Fleet) [][]string {
	head := []string{"node", "OS build", "HNS"}
	head = append(head, f.Scenarios...)
	rows := [][]string{head}
	for i := range f.Nodes {
		n := &f.Nodes[i]
		row := []string{n.Name, dashed(n.OSBuild), dashed(n.HNSVersion)}
		for _, sc := range f.Scenarios {
			row = append(row, fleetCell(n, sc))
		}
		rows = append(rows, row)
	}
	return rows
}

func dashed(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteFleet writes a fleet report in one of FleetFormats: text and
// Markdown show the nodes x scenarios matrix, the differences grouped by
// the nodes that show them and the nodes that could not run; JSON is the
// Fleet itself (hnspath-fleet/v1); HTML the same as Markdown; JUnit one
// suite per node, one test case per scenario (a failure where the node
// parts from the model, an error where the node could not run).
func WriteFleet(w io.Writer, format string, f *result.Fleet) error {
	if f.Schema == "" {
		f.Schema = result.FleetSchema
	}
	switch format {
	case "text", "":
		return fleetText(w, f)
	case "json":
		return writeIndented(w, f)
	case "markdown", "md":
		return fleetMarkdown(w, f)
	case "html":
		return fleetHTML(w, f)
	case "junit":
		return fleetJUnit(w, f)
	}
	return fmt.Errorf("report: fleet: unknown format %q (want one of %s)", format, strings.Join(FleetFormats, ", "))
}

func fleetText(w io.Writer, f *result.Fleet) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "fleet run %s: %s\n\n", f.Run, f.Headline())
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, row := range fleetMatrix(f) {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	if len(f.Groups) > 0 {
		b.WriteString("\ndifferences from the model:\n")
		for i := range f.Groups {
			g := &f.Groups[i]
			fmt.Fprintf(&b, "  %s: %s\n", fleetNodesText(g), fleetGroupText(g))
		}
	}
	var errs []string
	for _, n := range f.Nodes {
		for _, r := range n.Results {
			if r.Error != "" {
				errs = append(errs, fmt.Sprintf("  %s: %s: %s", n.Name, r.Scenario, strings.ReplaceAll(r.Error, "\n", " ")))
			}
		}
	}
	if len(errs) > 0 {
		b.WriteString("\nscenario errors:\n" + strings.Join(errs, "\n") + "\n")
	}
	first := true
	for i := range f.Nodes {
		n := &f.Nodes[i]
		if n.Status == result.FleetRan {
			continue
		}
		if first {
			b.WriteString("\nnodes that could not run:\n")
			first = false
		}
		fmt.Fprintf(&b, "  %s: %s\n", n.Name, fleetNotRunText(*n))
	}
	_, err := w.Write(b.Bytes())
	return err
}

func fleetMarkdown(w io.Writer, f *result.Fleet) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Fleet run %s\n\n**%s**\n\n", mdEscape(f.Run), f.Headline())
	mdTable(&b, fleetMatrix(f), true)
	if len(f.Groups) > 0 {
		b.WriteString("## Differences from the model\n\n")
		rows := [][]string{{"nodes", "scenario", "packet", "in", "model vs node"}}
		for i := range f.Groups {
			g := &f.Groups[i]
			rows = append(rows, []string{fleetNodesText(g), g.Scenario, strconv.Itoa(g.Packet), g.In, g.Text})
		}
		mdTable(&b, rows, true)
	}
	rows := [][]string{{"node", "reason", "why"}}
	for _, n := range f.Nodes {
		if n.Status != result.FleetRan {
			rows = append(rows, []string{n.Name, n.Reason, n.Why})
		}
	}
	if len(rows) > 1 {
		b.WriteString("## Nodes that could not run\n\n")
		mdTable(&b, rows, true)
	}
	_, err := w.Write(b.Bytes())
	return err
}

var fleetTmpl = template.Must(template.New("fleet").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>hnspath fleet run {{.F.Run}}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top}
tr.notrun td{background:#eee}tr.differs td{background:#fdd}tr.agrees td{background:#efe}</style></head>
<body><h1>Fleet run {{.F.Run}}</h1>
<p id="headline"><strong>{{.F.Headline}}</strong></p>
<table class="matrix"><tr>{{range index .Matrix 0}}<th>{{.}}</th>{{end}}</tr>
{{range $i, $row := .Body}}<tr class="{{index $.Classes $i}}">{{range $row}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{if .F.Groups}}<h2 id="differences">Differences from the model</h2>
<table class="groups"><tr><th>nodes</th><th>scenario</th><th>packet</th><th>in</th><th>model vs node</th></tr>
{{range .F.Groups}}<tr><td>{{.Nodes}}</td><td>{{.Scenario}}</td><td>{{.Packet}}</td><td>{{.In}}</td><td>{{.Text}}</td></tr>
{{end}}</table>{{end}}
{{if .NotRun}}<h2 id="not-run">Nodes that could not run</h2>
<table class="notrun"><tr><th>node</th><th>reason</th><th>why</th></tr>
{{range .NotRun}}<tr><td>{{.Name}}</td><td>{{.Reason}}</td><td>{{.Why}}</td></tr>
{{end}}</table>{{end}}
</body></html>
`))

func fleetHTML(w io.Writer, f *result.Fleet) error {
	m := fleetMatrix(f)
	v := struct {
		F       *result.Fleet
		Matrix  [][]string
		Body    [][]string
		Classes []string
		NotRun  []result.FleetNode
	}{F: f, Matrix: m, Body: m[1:]}
	for i := range f.Nodes {
		n := &f.Nodes[i]
		switch {
		case n.Status != result.FleetRan:
			v.Classes = append(v.Classes, "notrun")
			v.NotRun = append(v.NotRun, *n)
		case n.Agrees():
			v.Classes = append(v.Classes, "agrees")
		default:
			v.Classes = append(v.Classes, "differs")
		}
	}
	var b bytes.Buffer
	if err := fleetTmpl.Execute(&b, v); err != nil {
		return fmt.Errorf("report: fleet html: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func fleetJUnit(w io.Writer, f *result.Fleet) error {
	root := JUnitSuites{Name: "hnspath fleet " + f.Run, Time: secs(0)}
	for _, n := range f.Nodes {
		s := JUnitSuite{Name: n.Name, Time: secs(0)}
		if n.Status != result.FleetRan {
			s.Cases = append(s.Cases, JUnitCase{Name: "run", Classname: "hnspath.fleet." + n.Name, Time: secs(0),
				Error: &JUnitMessage{Message: xmlText(fleetNotRunText(n)), Type: n.Reason, Text: xmlText(n.Why)}})
			s.Tests, s.Errors = 1, 1
		}
		for _, r := range n.Results {
			c := JUnitCase{Name: r.Scenario, Classname: "hnspath.fleet." + n.Name, Time: secs(0)}
			var lines []string
			for _, d := range r.Diffs {
				lines = append(lines, fmt.Sprintf("packet %d at %s: %s", d.Packet, d.In, d.Text))
			}
			switch {
			case r.Error != "":
				c.Error = &JUnitMessage{Message: xmlText(firstLine([]string{r.Error}, "error")), Text: xmlText(r.Error)}
				s.Errors++
			case r.Skipped != "":
				c.Skipped = &JUnitMessage{Message: xmlText(r.Skipped)}
				s.Skipped++
			case len(lines) > 0:
				c.Failure = &JUnitMessage{Message: xmlText(fmt.Sprintf("%s: %d of %d packets differ from the model", r.Result, r.Differing, r.Packets)),
					Type: r.Result, Text: xmlText(strings.Join(lines, "\n"))}
				s.Failures++
			}
			s.Tests++
			s.Cases = append(s.Cases, c)
		}
		root.Tests += s.Tests
		root.Failures += s.Failures
		root.Errors += s.Errors
		root.Skipped += s.Skipped
		root.Suites = append(root.Suites, s)
	}
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
