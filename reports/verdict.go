package reports

import (
	"fmt"
	"sort"
	"strings"
)

// Verdict is a report's conclusion in one line, shown first and last: a
// reader who reads nothing else knows whether anything failed, and what.
type Verdict struct {
	// Failed is what cmd/hnspath report's exit status says: a scenario
	// failed or could not run, a bench input regressed against the
	// baseline, or a probe found undocumented differences.
	Failed bool
	// Parts are the sections' findings, failures first.
	Parts []string
}

// Word is PASS or FAIL.
func (v Verdict) Word() string {
	if v.Failed {
		return "FAIL"
	}
	return "PASS"
}

// Line is "FAIL: 1 of 54 scenarios failed (nat-outbound-udp); ...".
func (v Verdict) Line() string {
	if len(v.Parts) == 0 {
		return v.Word() + ": nothing to judge (no scenario, bench, probe or modes input)"
	}
	return v.Word() + ": " + strings.Join(v.Parts, "; ")
}

// maxNamed is how many failed names a verdict lists.
const maxNamed = 5

// named lists up to maxNamed names, then "and N more".
func named(names []string) string {
	if len(names) > maxNamed {
		return strings.Join(names[:maxNamed], ", ") + fmt.Sprintf(" and %d more", len(names)-maxNamed)
	}
	return strings.Join(names, ", ")
}

// Verdict judges the report.
func (r *Report) Verdict() Verdict {
	var v Verdict
	var bad, good []string
	if s := r.Scenarios; s != nil {
		total := s.Passed + s.Failed + s.Unchecked
		if s.Failed > 0 {
			var names []string
			for _, run := range s.Runs {
				if run.Status == RunFail || run.Status == RunError {
					names = append(names, run.Name)
				}
			}
			bad = append(bad, fmt.Sprintf("%d of %d scenarios failed (%s)", s.Failed, total, named(names)))
			if total == 1 {
				bad[len(bad)-1] = fmt.Sprintf("the scenario failed (%s)", named(names))
			}
		} else if s.Passed > 0 {
			good = append(good, fmt.Sprintf("all %d scenarios passed", s.Passed))
		}
		if s.Unchecked > 0 {
			good = append(good, fmt.Sprintf("%d results without expectations", s.Unchecked))
		}
	}
	for _, bn := range r.Bench {
		if c := bn.Comparison; c != nil {
			if c.Regressed {
				bad = append(bad, fmt.Sprintf("bench %s regressed against %s", bn.File, c.Baseline))
			} else {
				good = append(good, fmt.Sprintf("bench %s: no regression against %s", bn.File, c.Baseline))
			}
		}
	}
	for _, ps := range r.ProbeSummaries {
		var names []string
		for _, sc := range ps.Scenarios {
			if sc.Undocumented > 0 {
				names = append(names, sc.Name)
			}
		}
		if len(names) > 0 {
			what := fmt.Sprintf("%d scenarios differ", len(names))
			if len(names) == 1 {
				what = "1 scenario differs"
			}
			bad = append(bad, fmt.Sprintf("probe %s: %s from the emulator in undocumented ways (%s)", ps.Backend, what, named(names)))
		} else {
			good = append(good, fmt.Sprintf("probe %s: no undocumented difference", ps.Backend))
		}
	}
	if m := r.Modes; m != nil {
		if c := m.Conclusion(); len(c) > 0 {
			good = append(good, c[0])
		}
	}
	v.Failed = len(bad) > 0
	v.Parts = append(bad, good...)
	return v
}

// Conclusion is the modes comparison's answer, one sentence a line: the
// mode to use for this traffic, the modes that also carry every flow with
// their cost, and for each other mode what fails and why. The first line
// alone stands for the whole.
//
// A mode is better when more flows work, then when fewer fail; among modes
// that carry the same flows the cheaper one (quick measurement) is named
// first, when the difference is over 20% (below that the measurement does
// not tell them apart, and the modes keep their order).
func (m *Modes) Conclusion() []string {
	type cand struct {
		i  int
		mr *ModeResult
	}
	var cs []cand
	for i := range m.Modes {
		mr := &m.Modes[i]
		if mr.Error != "" && mr.Works == 0 {
			continue
		}
		cs = append(cs, cand{i, mr})
	}
	if len(cs) == 0 {
		return nil
	}
	cost := func(mr *ModeResult) float64 {
		if mr.Cost == nil || mr.Cost.NsPerPacket <= 0 {
			return 0
		}
		return mr.Cost.NsPerPacket
	}
	sort.SliceStable(cs, func(a, b int) bool {
		x, y := cs[a].mr, cs[b].mr
		if x.Works != y.Works {
			return x.Works > y.Works
		}
		if x.Fails != y.Fails {
			return x.Fails < y.Fails
		}
		cx, cy := cost(x), cost(y)
		if cx > 0 && cy > 0 && (cx*1.2 < cy || cy*1.2 < cx) {
			return cx < cy
		}
		return cs[a].i < cs[b].i
	})
	best := cs[0].mr
	flows := len(m.Flows)
	costText := func(mr *ModeResult) string {
		if c := cost(mr); c > 0 {
			return fmt.Sprintf("%.0f ns/packet", c)
		}
		return "cost not measured"
	}
	var out []string
	if best.Works == 0 {
		out = append(out, fmt.Sprintf("for this traffic: no mode carries any of the %d flows", flows))
	} else {
		what := fmt.Sprintf("all %d flows work", flows)
		if best.Works < flows {
			what = fmt.Sprintf("%d of %d flows work, the most of any mode", best.Works, flows)
		}
		out = append(out, fmt.Sprintf("for this traffic: use %s (%s, %s)", best.Mode, what, costText(best)))
	}
	for _, c := range cs[1:] {
		mr := c.mr
		if mr.Works == best.Works && mr.Fails == best.Fails && mr.Partial == best.Partial {
			rel := ""
			if cb, cm := cost(best), cost(mr); cb > 0 && cm > 0 {
				rel = fmt.Sprintf(", x%.1f the cost of %s", cm/cb, best.Mode)
			}
			out = append(out, fmt.Sprintf("%s also carries them: %s%s", mr.Mode, costText(mr), rel))
			continue
		}
		out = append(out, m.failLine(mr))
	}
	for i := range m.Modes {
		if mr := &m.Modes[i]; mr.Error != "" && mr.Works == 0 {
			out = append(out, fmt.Sprintf("%s cannot be built: %s", mr.Mode, headLine(mr.Error)))
		}
	}
	if best.Works > 0 && best.Works < flows {
		out = append(out, m.failLine(best))
	}
	return out
}

// failLine says what fails in a mode and why: each failing (or partial)
// flow with its drop reason and the reason's explanation.
func (m *Modes) failLine(mr *ModeResult) string {
	var why []string
	for j := range mr.Flows {
		fr := &mr.Flows[j]
		if fr.Status != StatusFails && fr.Status != StatusPartial {
			continue
		}
		s := fmt.Sprintf("flow %d (%s)", fr.Flow, m.flowLabel(fr.Flow))
		if fr.Status == StatusPartial {
			s += " partly"
		}
		if d := fr.Drop; d != nil {
			s += ": " + d.Reason
			if d.Text != "" {
				s += " (" + d.Text + ")"
			}
		}
		why = append(why, s)
	}
	verb := fmt.Sprintf("%s fails %d of %d flows", mr.Mode, mr.Fails, len(m.Flows))
	if mr.Fails == 0 {
		verb = fmt.Sprintf("%s carries %d of %d flows fully", mr.Mode, mr.Works, len(m.Flows))
	}
	if len(why) == 0 {
		return verb
	}
	return verb + " because " + strings.Join(why, "; ")
}

// headLine is the first line of s.
func headLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
