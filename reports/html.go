package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// WriteHTML writes the report as one self-contained HTML page: inline CSS,
// inline SVG plots (gonum.org/v1/plot), no scripts and no external
// resources, so that it renders offline. Sections have ids (#inputs,
// #scenarios, #bench, #probe, #modes), tables have class names, and every
// plot is an <svg class="plot"> whose first child is its <title>.
func WriteHTML(w io.Writer, r *Report) error {
	v, err := newHTMLView(r)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, v); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	_, err = w.Write(b.Bytes())
	return err
}

type htmlView struct {
	R              *Report
	Verdict        Verdict
	ProbeSummaries []probeSummaryView
	Bench          []benchView
	Modes          *modesView
	FailedRuns     []*ScenarioRun
}

type benchView struct {
	B          *Bench
	Rows       [][]string
	Throughput template.HTML
	Fits       []template.HTML
	Scaling    []template.HTML
	Compare    template.HTML
	CmpRows    []cmpRow
	Unchanged  int
	Regression []string
}

type probeSummaryView struct {
	Headline string
	Rows     []cmpRow
}

type cmpRow struct {
	Cells []string
	Class string
}

type modesView struct {
	M          *Modes
	Conclusion []string
	Head       []string
	Rows       []modeRow
	Foot       [][]string
	Plot       template.HTML
	Addrs      [][]string
}

type modeRow struct {
	Flow  string
	Cells []modeCell
}

type modeCell struct {
	Text, Class, Title string
}

func newHTMLView(r *Report) (*htmlView, error) {
	v := &htmlView{R: r, Verdict: r.Verdict()}
	if s := r.Scenarios; s != nil {
		for _, run := range s.Runs {
			if run.Status != RunPass {
				v.FailedRuns = append(v.FailedRuns, run)
			}
		}
	}
	for _, ps := range r.ProbeSummaries {
		pv := probeSummaryView{Headline: ps.headline()}
		for i, row := range ps.rows() {
			cls := ""
			if i > 0 {
				switch sc := ps.Scenarios[i-1]; {
				case sc.Result == "agrees":
					cls = "pass"
				case sc.Undocumented > 0, sc.Result == "error":
					cls = "fail"
				case sc.Result == "skipped":
					cls = "skipped"
				default:
					cls = "partial"
				}
			}
			pv.Rows = append(pv.Rows, cmpRow{Cells: row, Class: cls})
		}
		v.ProbeSummaries = append(v.ProbeSummaries, pv)
	}
	for _, bn := range r.Bench {
		bv := benchView{B: bn, Rows: bn.tableRows()}
		var err error
		if bv.Throughput, err = svgHTML(throughputPlot(bn)); err != nil {
			return nil, err
		}
		for _, f := range bn.Fits {
			p, err := svgHTML(fitPlot(f))
			if err != nil {
				return nil, err
			}
			bv.Fits = append(bv.Fits, p)
		}
		for _, s := range bn.Scaling {
			p, err := svgHTML(scalingPlot(s))
			if err != nil {
				return nil, err
			}
			bv.Scaling = append(bv.Scaling, p)
		}
		if c := bn.Comparison; c != nil {
			if bv.Compare, err = svgHTML(comparisonPlot(c)); err != nil {
				return nil, err
			}
			var shown []CompareRow
			for _, r := range c.Rows {
				if r.shown() {
					shown = append(shown, r)
				}
			}
			for i, row := range c.rowsText() {
				cls := ""
				if i > 0 {
					switch shown[i-1].Verdict {
					case "REGRESSION":
						cls = "fail"
					case "improved":
						cls = "pass"
					}
				}
				bv.CmpRows = append(bv.CmpRows, cmpRow{Cells: row, Class: cls})
			}
			bv.Unchanged = c.unchanged()
			bv.Regression = c.verdictLines()
		}
		v.Bench = append(v.Bench, bv)
	}
	if m := r.Modes; m != nil {
		mv := &modesView{M: m, Conclusion: m.Conclusion(), Addrs: m.addressRows()}
		rows := m.matrix(func(fr *FlowResult) string { return fr.cell() })
		mv.Head = rows[0]
		mv.Foot = rows[len(rows)-3:]
		for i, f := range m.Flows {
			row := modeRow{Flow: rows[i+1][0]}
			for j := range m.Modes {
				mr := &m.Modes[j]
				c := modeCell{Text: rows[i+1][j+1]}
				if fr := mr.flowResult(f.ID); fr != nil && mr.Error == "" {
					c.Class = fr.Status
					c.Title = fr.detail()
					if fr.Why != "" && fr.Status != StatusWorks {
						c.Title += " — " + fr.Why
					}
				}
				row.Cells = append(row.Cells, c)
			}
			mv.Rows = append(mv.Rows, row)
		}
		var err error
		if mv.Plot, err = svgHTML(modesCostPlot(m)); err != nil {
			return nil, err
		}
		v.Modes = mv
	}
	return v, nil
}

// svgHTML marks a plot's SVG as safe HTML: it is produced by gonum's SVG
// canvas from our numbers, and every text in it is escaped by that canvas.
func svgHTML(s string, err error) (template.HTML, error) {
	return template.HTML(s), err
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"status":      statusWord,
	"lower":       strings.ToLower,
	"join":        strings.Join,
	"counts":      sortedCounts,
	"secs":        seconds,
	"scalingLine": scalingLine,
	"fitLine":     fitLine,
	"configLine":  configLine,
	"mulf":        func(f float64) float64 { return f * 100 },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.R.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", "Liberation Sans", sans-serif; margin: 1.5em auto; max-width: 80em; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #ddd; padding-bottom: .2em; margin-top: 2em; } h3 { margin-top: 1.5em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.comparison td { white-space: nowrap; }
.pass, .works { background: #e3f4e8; } .fail, .fails, .error { background: #fbe3e3; } .partial { background: #fdf1d6; } .skipped, .results { background: #eee; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: .6em; overflow-x: auto; font-size: .85em; }
code, pre { font-family: "DejaVu Sans Mono", "Liberation Mono", Consolas, Menlo, monospace; }
code { font-size: .9em; }
.summary { font-weight: bold; }
figure { margin: 1em 0; } figcaption { font-size: .85em; color: #555; }
ul.constraints li, ul.notes li { margin: .2em 0; }
.source { color: #666; font-size: .85em; }
.verdict { font-size: 1.25em; padding: .5em .8em; border-radius: 4px; color: #fff; }
.verdict-pass { background: #1b7a3a; } .verdict-fail { background: #b3261e; }
.conclusion { border-left: 6px solid #1b5fa8; background: #eaf2fb; padding: .3em 1em; margin: 1em 0; }
.conclusion p { font-size: 1.15em; margin: .4em 0; }
table.mode-flows { width: 100%; font-size: 1em; }
table.mode-flows td.wire { font-size: .95em; min-width: 32em; }
table.mode-flows td.wire div { margin: .15em 0; }
table.mode-flows td.wire code { font-size: .95em; white-space: pre-wrap; word-break: break-word; }
</style>
</head>
<body>
<h1>{{.R.Title}}</h1>
<p id="verdict" class="verdict {{if .Verdict.Failed}}verdict-fail{{else}}verdict-pass{{end}}"><strong>{{.Verdict.Word}}</strong>{{range $i, $p := .Verdict.Parts}}{{if $i}};{{else}}:{{end}} {{$p}}{{end}}</p>
{{- with .R.Scenarios}}
<section id="scenarios">
<h2>Scenarios</h2>
<p class="summary">{{.Passed}} passed, {{.Failed}} failed{{if .Unchecked}}, {{.Unchecked}} results without expectations{{end}}</p>
<table class="scenarios">
<tr><th>status</th><th>scenario</th><th>packets</th><th>time</th><th>outcomes</th></tr>
{{- range .Runs}}
<tr class="{{.Status}}"><td>{{status .Status}}</td><td>{{.Name}}</td><td class="num">{{.Packets}}</td><td class="num">{{secs .Seconds}}</td><td>{{counts .Outcomes}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- range .FailedRuns}}
<h3 id="scenario-{{.Name}}">{{status .Status}}: {{.Name}}</h3>
{{- if .File}}<p>Scenario file <code>{{.File}}</code></p>{{end}}
{{- if .Error}}<pre class="error">{{.Error}}</pre>{{end}}
{{- range .Failures}}<pre class="failure">{{.}}</pre>{{end}}
{{- if .Drops}}<p>Drops: {{counts .Drops}}</p>{{end}}
{{- if .Rows}}
<p>Packets (<code>{{.Results}}</code>):</p>
<table class="packets">
<tr><th>#</th><th>in</th><th>outcome</th><th>frame</th><th>delivered at</th><th>drop</th></tr>
{{- range .Rows}}
<tr><td class="num">{{.Index}}</td><td>{{.In}}</td><td>{{.Outcome}}</td><td><code>{{.Frame}}</code></td><td>{{join .Delivered ", "}}</td><td>{{.Drop}}</td></tr>
{{- if .Trace}}<tr><td></td><td colspan="5"><pre class="trace">{{join .Trace "\n"}}</pre></td></tr>{{end}}
{{- end}}
</table>
{{- if .More}}<p>… and {{.More}} more packets.</p>{{end}}
{{- end}}
{{- end}}
{{- if .R.Scenarios}}
</section>
{{- end}}
{{- if .Bench}}
<section id="bench">
<h2>Bench</h2>
{{- range .Bench}}
<h3>{{.B.File}} ({{.B.Format}}){{with .B.Comparison}}: {{if .Regressed}}REGRESSION{{else}}no regression{{end}} against {{.Baseline}}{{end}}</h3>
{{- if .B.Config}}<p><code>{{configLine .B.Config}}</code></p>{{end}}
<table class="bench">
{{- range $i, $row := .Rows}}
<tr>{{range $j, $c := $row}}{{if eq $i 0}}<th>{{$c}}</th>{{else if eq $j 0}}<td>{{$c}}</td>{{else}}<td class="num">{{$c}}</td>{{end}}{{end}}</tr>
{{- end}}
</table>
{{- if .Throughput}}<figure>{{.Throughput}}</figure>{{end}}
{{- range .B.Scaling}}<p>{{scalingLine .}}</p>{{end}}
{{- range .Scaling}}<figure>{{.}}</figure>{{end}}
{{- range .B.Fits}}<p>{{fitLine .}}</p>{{end}}
{{- range .Fits}}<figure>{{.}}</figure>{{end}}
{{- range .B.Warnings}}<p>warning: {{.}}</p>{{end}}
{{- with .B.Comparison}}
<h4>Baseline {{.Baseline}}</h4>
<p class="summary">{{if .Regressed}}REGRESSION{{else}}no regression{{end}} (alpha {{.Alpha}}, threshold {{printf "%.0f" (mulf .Threshold)}}%, gating {{join .Gate ", "}})</p>
{{- end}}
{{- if .CmpRows}}
<table class="comparison">
{{- range $i, $r := .CmpRows}}
<tr class="{{$r.Class}}">{{range $r.Cells}}{{if eq $i 0}}<th>{{.}}</th>{{else}}<td>{{.}}</td>{{end}}{{end}}</tr>
{{- end}}
</table>
{{- end}}
{{- if .Unchanged}}<p>({{.Unchanged}} rows of other units without a significant change not shown.)</p>{{end}}
{{- if .Regression}}<ul class="regressions">{{range .Regression}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{- if .Compare}}<figure>{{.Compare}}</figure>{{end}}
{{- end}}
</section>
{{- end}}
{{- if or .R.Probes .R.ProbeSummaries}}
<section id="probe">
<h2>Probe: emulator and real datapaths</h2>
{{- range .ProbeSummaries}}
<h3>{{.Headline}}</h3>
<table class="probe-summary">
{{- range $i, $r := .Rows}}
<tr class="{{$r.Class}}">{{range $r.Cells}}{{if eq $i 0}}<th>{{.}}</th>{{else}}<td>{{.}}</td>{{end}}{{end}}</tr>
{{- end}}
</table>
{{- end}}
{{- if .R.Probes}}
<table class="probe">
<tr><th>scenario</th><th>backends</th><th>compared</th><th>agree</th><th>differ</th></tr>
{{- range .R.Probes}}
<tr class="{{if .Packets}}fail{{else}}pass{{end}}"><td>{{.Scenario}}</td><td>{{.A}} vs {{.B}}</td><td class="num">{{.Compared}}</td><td class="num">{{.Agree}}</td><td class="num">{{len .Packets}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- range .R.Probes}}
{{- if .Packets}}
<h3>{{.Scenario}}: {{.A}} vs {{.B}}</h3>
{{- if .Mappings}}<p>Consistent mappings (not differences): {{join .Mappings ", "}}</p>{{end}}
<table class="probe-packets">
<tr><th>#</th><th>in</th><th>{{.A}}</th><th>{{.B}}</th><th>differences</th></tr>
{{- range .Packets}}
<tr><td class="num">{{.Index}}</td><td>{{.In}}</td><td>{{.A}}</td><td>{{.B}}</td><td>{{join .Differences "; "}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- end}}
</section>
{{- end}}
{{- with .Modes}}
<section id="modes">
<h2>Modes</h2>
{{- with .Conclusion}}
<div id="conclusion" class="conclusion"><p><strong>{{index . 0}}</strong></p>
{{- if gt (len .) 1}}<ul>{{range $i, $l := .}}{{if $i}}<li>{{$l}}</li>{{end}}{{end}}</ul>{{end}}</div>
{{- end}}
<p>Workload <code>{{.M.Workload}}</code>, traffic <code>{{.M.Traffic}}</code>: {{.M.Packets}} packets, {{len .M.Flows}} flows{{if .M.Profile}}, HNS profile {{.M.Profile}}{{end}}.</p>
<table class="modes">
<tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr>
{{- range .Rows}}
<tr><td>{{.Flow}}</td>{{range .Cells}}<td class="{{.Class}}" title="{{.Title}}">{{.Text}}</td>{{end}}</tr>
{{- end}}
{{- range .Foot}}
<tr>{{range $j, $c := .}}{{if eq $j 0}}<th>{{$c}}</th>{{else}}<td class="num">{{$c}}</td>{{end}}{{end}}</tr>
{{- end}}
</table>
{{- if .Plot}}<figure>{{.Plot}}<figcaption>A quick measurement of the emulator replaying the traffic; <code>hnspath bench</code> measures properly.</figcaption></figure>{{end}}
{{- $m := .M}}
{{- range .M.Modes}}
<h3 id="mode-{{.Mode}}">{{.Mode}} (HNS type {{.NetworkType}})</h3>
{{- if .Error}}<pre class="error">{{.Error}}</pre>{{end}}
<table class="mode-flows">
<tr><th>flow</th><th>status</th><th>why</th><th>on the wire</th></tr>
{{- range .Flows}}
<tr class="{{.Status}}"><td>{{$m.FlowLabel .Flow}}</td><td>{{.Status}}{{with .Drop}}: {{.Reason}}{{end}}</td><td>{{with .Drop}}{{.Text}}{{if .Where}} at {{.Where}}{{end}}{{if .Rule}} [{{.Rule}}]{{end}}{{end}}{{if and .Why (ne .Status "works")}}<br>{{.Why}}{{end}}</td>
<td class="wire">{{with .Wire}}<div><b>sent</b> <code>{{.Sent}}</code></div>{{if .OnWire}}<div><b>wire</b> ({{.MACOnWire}} MAC) <code>{{.OnWire}}</code></div>{{end}}{{if .Received}}<div><b>received</b> <code>{{.Received}}</code></div>{{end}}{{if .Encap}}<div>{{.Encap}}, {{.Overhead}} bytes</div>{{end}}{{range .Translation}}<div>{{.}}</div>{{end}}{{end}}</td></tr>
{{- end}}
</table>
{{- with .Cost}}<p>Cost: {{printf "%.0f" .NsPerPacket}} ns/packet after the first round ({{printf "%.0f" .FirstNsPerPacket}} ns/packet in it), {{.Packets}} packets × {{.Rounds}} rounds — a quick measurement.</p>{{end}}
{{- if .Notes}}<ul class="notes">{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<ul class="constraints">
{{- range .Constraints}}<li>{{.Text}} <span class="source">[{{.Source}}]</span></li>{{end}}
</ul>
{{- end}}
<h3>Addresses by role</h3>
<table class="addresses">
{{- range $i, $row := .Addrs}}
<tr>{{range $row}}{{if eq $i 0}}<th>{{.}}</th>{{else}}<td>{{.}}</td>{{end}}{{end}}</tr>
{{- end}}
</table>
{{- if .M.Notes}}<ul class="notes">{{range .M.Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
</section>
{{- end}}
{{- if .R.Warnings}}
<section id="warnings">
<h2>Warnings</h2>
<ul>{{range .R.Warnings}}<li>{{.}}</li>{{end}}</ul>
</section>
{{- end}}
{{- if .R.Inputs}}
<section id="inputs">
<h2>Inputs</h2>
<details><summary>{{len .R.Inputs}} input files</summary>
<table class="inputs"><tr><th>input</th><th>kind</th></tr>
{{- range .R.Inputs}}<tr><td><code>{{.File}}</code></td><td>{{.Kind}}</td></tr>{{end}}
</table>
</details>
</section>
{{- end}}
<p class="verdict verdict-end {{if .Verdict.Failed}}verdict-fail{{else}}verdict-pass{{end}}"><strong>{{.Verdict.Word}}</strong>{{range $i, $p := .Verdict.Parts}}{{if $i}};{{else}}:{{end}} {{$p}}{{end}}</p>
</body>
</html>
`))
