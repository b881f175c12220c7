package reports

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hnspath/hnspath/result"
)

// Scenario run statuses.
const (
	RunPass    = "pass"    // every expectation met
	RunFail    = "fail"    // an expectation not met
	RunError   = "error"   // the scenario could not run
	RunResults = "results" // results without a run summary: nothing was checked
)

// Scenarios are the scenario runs of a report.
type Scenarios struct {
	// Passed, Failed (fail or error) and Unchecked (results only) count
	// the runs; Packets and Seconds add up the run summaries'.
	Passed    int     `json:"passed"`
	Failed    int     `json:"failed"`
	Unchecked int     `json:"unchecked"`
	Packets   int     `json:"packets"`
	Seconds   float64 `json:"seconds"`
	// Runs in input order.
	Runs []*ScenarioRun `json:"runs"`
}

// ScenarioRun is one scenario run.
type ScenarioRun struct {
	Name string `json:"name"`
	// File is the scenario file; Summary the run summary it came from.
	File    string `json:"file,omitempty"`
	Summary string `json:"summary,omitempty"`
	// Status is RunPass, RunFail, RunError or RunResults.
	Status  string  `json:"status"`
	Packets int     `json:"packets"`
	Seconds float64 `json:"seconds"`
	// Failures are the unmet expectations, each with the expected and
	// actual packet side by side and the trace, as the runner wrote them.
	Failures []string `json:"failures,omitempty"`
	// Error is why the scenario could not run.
	Error string `json:"error,omitempty"`
	// Results is the results file read for the packet outcomes.
	Results string `json:"results,omitempty"`
	// Outcomes count the packets by outcome, Drops by drop reason.
	Outcomes map[string]int `json:"outcomes,omitempty"`
	Drops    map[string]int `json:"drops,omitempty"`
	// Rows list packets: every packet of a failed or unchecked run (up to
	// Options.MaxPackets; More says how many were left out), none of a
	// passed one.
	Rows []PacketRow `json:"rows,omitempty"`
	More int         `json:"more,omitempty"`
}

// PacketRow is one input packet of a scenario run.
type PacketRow struct {
	Index   int    `json:"packet"`
	In      string `json:"in"`
	Outcome string `json:"outcome"`
	// Frame is the input's headers on one line.
	Frame string `json:"frame,omitempty"`
	// Delivered lists the ports frames reached.
	Delivered []string `json:"delivered,omitempty"`
	// Drop says where and why a frame was dropped.
	Drop string `json:"drop,omitempty"`
	// Trace is the packet's trace, one line per stage, for dropped
	// packets.
	Trace []string `json:"trace,omitempty"`
}

// scenarios builds the scenario section from run summaries and the
// emulator's results files.
func (l *loader) scenarios() {
	s := &Scenarios{}
	byName := map[string]*ScenarioRun{}
	for _, sum := range l.summaries {
		s.Packets += sum.Packets
		s.Seconds += sum.Seconds
		for _, sc := range sum.Scenarios {
			run := &ScenarioRun{Name: sc.Name, File: sc.File, Summary: sum.file, Packets: sc.Packets, Seconds: sc.Seconds,
				Failures: sc.Failures, Error: sc.Error, Status: RunPass}
			switch {
			case sc.Error != "":
				run.Status = RunError
			case !sc.Passed:
				run.Status = RunFail
			}
			if sc.Results != "" {
				l.summaryResults(sum.file, sc.Name, sc.Results)
			}
			s.Runs = append(s.Runs, run)
			byName[sc.Name] = run
		}
	}
	for _, name := range sortedStrings(l.results) {
		rf := l.results[name][result.BackendEmulator]
		if rf == nil {
			continue
		}
		run := byName[name]
		if run == nil && len(l.results[name]) > 1 {
			continue // a probe's results: compared in the probe section
		}
		if run == nil {
			run = &ScenarioRun{Name: name, Status: RunResults, Packets: len(rf.packets)}
			s.Runs = append(s.Runs, run)
			byName[name] = run
		}
		run.Results = rf.file
		run.Outcomes, run.Drops = map[string]int{}, map[string]int{}
		for _, p := range rf.packets {
			run.Outcomes[p.Outcome]++
			for _, d := range p.Drops {
				run.Drops[d.Reason]++
			}
		}
		if run.Status == RunPass {
			continue
		}
		for i, p := range rf.packets {
			if i == l.opts.MaxPackets {
				run.More = len(rf.packets) - i
				break
			}
			run.Rows = append(run.Rows, packetRow(p))
		}
	}
	for _, r := range s.Runs {
		switch r.Status {
		case RunPass:
			s.Passed++
		case RunResults:
			s.Unchecked++
		default:
			s.Failed++
		}
	}
	if len(s.Runs) > 0 {
		l.rep.Scenarios = s
	}
}

// summaryResults reads the results file a run summary names, when it was
// not given as an input: as written, or relative to the summary.
func (l *loader) summaryResults(summary, scenario, path string) {
	if m := l.results[scenario]; m != nil && m[result.BackendEmulator] != nil {
		return
	}
	cands := []string{path}
	if !filepath.IsAbs(path) {
		cands = append(cands, filepath.Join(filepath.Dir(summary), path), filepath.Join(filepath.Dir(summary), filepath.Base(path)))
	}
	for _, c := range cands {
		if _, err := os.Stat(c); err == nil {
			if err := l.file(c); err != nil {
				l.rep.Warnings = append(l.rep.Warnings, err.Error())
			}
			return
		}
	}
	l.rep.Warnings = append(l.rep.Warnings, fmt.Sprintf("%s: results file %s of %s not found", summary, path, scenario))
}

// packetRow summarises one result.
func packetRow(p *result.Packet) PacketRow {
	r := PacketRow{Index: p.Index, In: p.In, Outcome: p.Outcome, Frame: frameLine(p.Frame)}
	seen := map[string]bool{}
	for _, o := range p.Delivered() {
		if !seen[o.Port] {
			seen[o.Port] = true
			r.Delivered = append(r.Delivered, o.Port)
		}
	}
	if len(p.Drops) > 0 {
		r.Drop = dropLine(&p.Drops[0])
		if len(p.Drops) > 1 {
			r.Drop += fmt.Sprintf(" (+%d more)", len(p.Drops)-1)
		}
	}
	if p.Outcome != result.OutcomeDelivered {
		r.Trace = traceLines(p)
	}
	return r
}

// dropLine formats a drop as the runner's pcapng comments do:
//
//	winnat-no-mapping (no mapping) at host1/tcpip/eth0 [layer/group/rule]
func dropLine(d *result.Drop) string {
	var b strings.Builder
	b.WriteString(d.Reason)
	if d.Text != "" {
		fmt.Fprintf(&b, " (%s)", d.Text)
	}
	var where []string
	for _, s := range []string{d.Host, d.Component, d.Where} {
		if s != "" {
			where = append(where, s)
		}
	}
	if len(where) > 0 {
		b.WriteString(" at " + strings.Join(where, "/"))
	}
	if d.VFPLayer != "" || d.VFPGroup != "" || d.VFPRule != "" {
		fmt.Fprintf(&b, " [%s/%s/%s]", d.VFPLayer, d.VFPGroup, d.VFPRule)
	}
	return b.String()
}

// traceLines prints a trace stage by stage: "N. host component port:
// action detail [layer/group/rule] (reason)", and under a stage that
// changed the headers, "   before -> after".
func traceLines(p *result.Packet) []string {
	var out []string
	for i, s := range p.Trace {
		var parts []string
		for _, x := range []string{s.Host, s.Component} {
			if x != "" {
				parts = append(parts, x)
			}
		}
		line := fmt.Sprintf("%d. %s", i+1, strings.Join(parts, " "))
		if s.Port != "" {
			line += " " + s.Port
		}
		line += ": " + s.Action
		if s.Detail != "" {
			line += " " + s.Detail
		}
		if s.VFPLayer != "" || s.VFPGroup != "" || s.VFPRule != "" {
			line += fmt.Sprintf(" [%s/%s/%s]", s.VFPLayer, s.VFPGroup, s.VFPRule)
		}
		if s.Reason != "" {
			line += " (" + s.Reason + ")"
		}
		out = append(out, line)
		if s.Before != nil && s.After != nil && *s.Before != *s.After {
			out = append(out, "   "+headersLine(s.Before)+" -> "+headersLine(s.After))
		}
	}
	return out
}

// headersLine prints trace headers on one line:
//
//	00:15:5d:aa:00:02 > 00:15:5d:00:00:01 172.16.0.2:40000 > 198.18.0.10:53 udp ttl 64
func headersLine(h *result.Headers) string {
	var parts []string
	if h.SrcMAC != "" {
		parts = append(parts, h.SrcMAC+" > "+h.DstMAC)
	}
	if h.VLAN != 0 {
		parts = append(parts, fmt.Sprintf("vlan %d", h.VLAN))
	}
	if h.Src != "" {
		src, dst := h.Src, h.Dst
		if h.SrcPort != 0 || h.DstPort != 0 {
			src, dst = joinPort(h.Src, h.SrcPort), joinPort(h.Dst, h.DstPort)
		}
		l := fmt.Sprintf("%s > %s %s", src, dst, h.Proto)
		if h.TCPFlags != "" {
			l += " [" + h.TCPFlags + "]"
		}
		if h.TTL != 0 {
			l += fmt.Sprintf(" ttl %d", h.TTL)
		}
		parts = append(parts, l)
	}
	if h.VNI != 0 || h.InnerSrc != "" {
		parts = append(parts, fmt.Sprintf("vni %d {%s > %s}", h.VNI, h.InnerSrc, h.InnerDst))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("len %d", h.Len)
	}
	return strings.Join(parts, " ")
}

func joinPort(addr string, port int) string {
	if a, err := netip.ParseAddr(addr); err == nil {
		return netip.AddrPortFrom(a, uint16(port)).String()
	}
	return fmt.Sprintf("%s:%d", addr, port)
}

// sortedCounts formats counts as "a 3, b 1", largest first.
func sortedCounts(m map[string]int) string {
	ks := sortedStrings(m)
	sort.SliceStable(ks, func(i, j int) bool { return m[ks[i]] > m[ks[j]] })
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
