package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	benchresult "github.com/hnspath/hnspath/bench/result"
)

// JUnit XML in the common shape CI servers read (Jenkins' and Ant's
// junit schema): <testsuites> of <testsuite>s of <testcase>s, each with an
// optional <failure>, <error> or <skipped> and <system-out>.

// JUnitSuites is the <testsuites> root.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one <testsuite>.
type JUnitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []JUnitCase `xml:"testcase"`
}

// JUnitCase is one <testcase>.
type JUnitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *JUnitMessage `xml:"failure,omitempty"`
	Error     *JUnitMessage `xml:"error,omitempty"`
	Skipped   *JUnitMessage `xml:"skipped,omitempty"`
	SystemOut *JUnitText    `xml:"system-out,omitempty"`
}

// JUnitMessage is a <failure>, <error> or <skipped> element. The text is
// written as CDATA, so that diffs and traces keep their lines.
type JUnitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

// JUnitText is an element with CDATA text (<system-out>).
type JUnitText struct {
	Text string `xml:",cdata"`
}

// sysout makes a <system-out>, nil for empty text.
func sysout(s string) *JUnitText {
	if s == "" {
		return nil
	}
	return &JUnitText{Text: s}
}

// xmlText makes s safe for CDATA: characters XML 1.0 does not allow become
// U+FFFD, and "]]>" is split so that it does not end the section.
func xmlText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r != 0xFFFE && r != 0xFFFF) {
			return r
		}
		return '\uFFFD'
	}, s)
	return strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>")
}

// WriteJUnit writes the report as JUnit XML:
//
//   - suite "hnspath scenarios": a test case per scenario run; an unmet
//     expectation is a <failure> (all failure texts), a scenario that could
//     not run an <error>, results without a run summary <skipped> (nothing
//     was checked);
//   - suite "hnspath bench FILE" for each bench file compared with a
//     baseline: a test case per benchmark and gating unit, a significant
//     regression beyond the threshold a <failure>;
//   - suite "hnspath probe A vs B": a test case per scenario. With a probe
//     summary, a scenario that differs in ways no documented Windows/Linux
//     difference explains is a <failure>, one that could not run an <error>;
//     differences the summary calls documented, and the packet-by-packet
//     comparisons of results files, are findings in <system-out>, not
//     failures (Windows and Linux differ by design).
//
// Mode comparisons are not checks and are left out.
func WriteJUnit(w io.Writer, r *Report) error {
	j := JUnitReport(r)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(j); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// JUnitReport builds the JUnit document of a report (see WriteJUnit).
func JUnitReport(r *Report) *JUnitSuites {
	j := &JUnitSuites{Name: r.Title}
	var total float64
	if s := r.Scenarios; s != nil {
		suite := JUnitSuite{Name: "hnspath scenarios"}
		var t float64
		for _, run := range s.Runs {
			c := JUnitCase{Name: run.Name, Classname: "hnspath.scenarios", Time: secs(run.Seconds)}
			t += run.Seconds
			switch run.Status {
			case RunFail:
				text := strings.Join(run.Failures, "\n\n")
				if len(run.Rows) > 0 {
					text += "\n\n" + packetsText(run)
				}
				c.Failure = &JUnitMessage{Message: firstLine(run.Failures, "expectation not met"), Type: "expectation", Text: xmlText(text)}
				suite.Failures++
			case RunError:
				c.Error = &JUnitMessage{Message: firstLine([]string{run.Error}, "error"), Type: "error", Text: xmlText(run.Error)}
				suite.Errors++
			case RunResults:
				c.Skipped = &JUnitMessage{Message: "results only: no expectations were checked"}
				c.SystemOut = sysout(xmlText(fmt.Sprintf("%s: %s", run.Results, sortedCounts(run.Outcomes))))
				suite.Skipped++
			}
			suite.Cases = append(suite.Cases, c)
		}
		suite.Tests, suite.Time = len(suite.Cases), secs(t)
		total += t
		j.Suites = append(j.Suites, suite)
	}
	for _, bn := range r.Bench {
		c := bn.Comparison
		if c == nil {
			continue
		}
		suite := JUnitSuite{Name: "hnspath bench " + bn.File, Time: secs(0)}
		for _, row := range c.Rows {
			if !row.Gate {
				continue
			}
			tc := JUnitCase{Name: row.Name + " " + row.Unit, Classname: "hnspath.bench", Time: secs(0),
				SystemOut: sysout(fmt.Sprintf("old %s, new %s, %s %s: %s", row.Old.interval(), row.New.interval(), row.deltaText(c.Alpha), row.test(), row.Verdict))}
			if row.Verdict == benchresult.Regressed.String() {
				tc.Failure = &JUnitMessage{Type: "regression",
					Message: fmt.Sprintf("%s %s regressed %s %s against %s (threshold %.0f%%)", row.Name, row.Unit, row.deltaText(c.Alpha), row.test(), c.Baseline, c.Threshold*100)}
				suite.Failures++
			}
			suite.Cases = append(suite.Cases, tc)
		}
		suite.Tests = len(suite.Cases)
		j.Suites = append(j.Suites, suite)
	}
	// Probes: one suite per backend pair; a probe summary's verdicts
	// make failures, the packet comparisons go to system-out.
	detail := map[[2]string]string{}
	for _, p := range r.Probes {
		detail[[2]string{p.Scenario, p.B}] = probeText(p)
	}
	byPair := map[string]*JUnitSuite{}
	var order []string
	suiteOf := func(a, b string) *JUnitSuite {
		name := "hnspath probe " + a + " vs " + b
		s := byPair[name]
		if s == nil {
			s = &JUnitSuite{Name: name, Time: secs(0)}
			byPair[name] = s
			order = append(order, name)
		}
		return s
	}
	done := map[[2]string]bool{}
	for _, ps := range r.ProbeSummaries {
		s := suiteOf("emulator", ps.Backend)
		for _, sc := range ps.Scenarios {
			k := [2]string{sc.Name, ps.Backend}
			done[k] = true
			c := JUnitCase{Name: sc.Name, Classname: "hnspath.probe." + ps.Backend, Time: secs(0),
				SystemOut: sysout(xmlText(strings.TrimSpace(fmt.Sprintf("%s: %d of %d packets differ, %d undocumented; documented: %s\n%s",
					sc.Result, sc.Differing, sc.Packets, sc.Undocumented, strings.Join(sc.Documented, ", "), detail[k]))))}
			switch {
			case sc.Skipped != "":
				c.Skipped = &JUnitMessage{Message: sc.Skipped}
				s.Skipped++
			case sc.Error != "":
				c.Error = &JUnitMessage{Message: firstLine([]string{sc.Error}, "error"), Type: "error", Text: xmlText(sc.Error)}
				s.Errors++
			case sc.Undocumented > 0:
				c.Failure = &JUnitMessage{Type: "undocumented-difference",
					Message: fmt.Sprintf("%d packets differ from the emulator in ways no documented Windows/Linux difference explains", sc.Undocumented)}
				s.Failures++
			}
			s.Cases = append(s.Cases, c)
			s.Tests++
		}
	}
	for _, p := range r.Probes {
		if done[[2]string{p.Scenario, p.B}] {
			continue
		}
		s := suiteOf(p.A, p.B)
		s.Cases = append(s.Cases, JUnitCase{Name: p.Scenario, Classname: "hnspath.probe." + p.B, Time: secs(0), SystemOut: sysout(xmlText(probeText(p)))})
		s.Tests++
	}
	for _, name := range order {
		j.Suites = append(j.Suites, *byPair[name])
	}
	for _, s := range j.Suites {
		j.Tests += s.Tests
		j.Failures += s.Failures
		j.Errors += s.Errors
		j.Skipped += s.Skipped
	}
	j.Time = secs(total)
	return j
}

// probeText lists a probe comparison's differing packets.
func probeText(p *Probe) string {
	var out strings.Builder
	fmt.Fprintf(&out, "%s\n", p.headline())
	if len(p.Mappings) > 0 {
		fmt.Fprintf(&out, "consistent mappings: %s\n", strings.Join(p.Mappings, ", "))
	}
	for _, pk := range p.Packets {
		fmt.Fprintf(&out, "packet %d (in %s): %s: %s; %s: %s\n", pk.Index, pk.In, p.A, pk.A, p.B, pk.B)
		for _, d := range pk.Differences {
			fmt.Fprintf(&out, "  %s\n", d)
		}
	}
	return strings.TrimRight(out.String(), "\n")
}

func secs(s float64) string { return fmt.Sprintf("%.3f", s) }

func firstLine(texts []string, def string) string {
	for _, t := range texts {
		if l, _, _ := strings.Cut(strings.TrimSpace(t), "\n"); l != "" {
			return l
		}
	}
	return def
}

// packetsText lists a run's packets as WriteText does.
func packetsText(run *ScenarioRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "packets (%s):\n", run.Results)
	for _, p := range run.Rows {
		fmt.Fprintf(&b, "%d  %s  %s  %s\n", p.Index, p.In, p.Outcome, p.Frame)
		if p.Drop != "" {
			fmt.Fprintf(&b, "   drop: %s\n", p.Drop)
		}
		for _, t := range p.Trace {
			fmt.Fprintf(&b, "     %s\n", t)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
