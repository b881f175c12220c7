package scenarios

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// junitSuites is the JUnit XML document: the de facto schema that CI
// systems read (testsuites > testsuite > testcase > failure).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes the reports as JUnit XML: one testsuite "hnspath
// scenarios" with one testcase per scenario; an unmet expectation is a
// failure (with every failure message), a scenario that could not run an
// error.
func WriteJUnit(w io.Writer, reps []*Report) error {
	s := junitSuite{Name: "hnspath scenarios"}
	var total time.Duration
	for _, r := range reps {
		c := junitCase{Name: r.Name, Classname: "hnspath.scenarios", File: r.File, Time: seconds(r.Duration), SystemOut: r.Summary}
		switch {
		case r.Err != nil:
			c.Error = &junitFailure{Message: firstLine(r.Err.Error()), Type: "error", Text: r.Err.Error()}
			s.Errors++
		case !r.Passed:
			c.Failure = &junitFailure{Message: firstLine(r.Failures[0]), Type: "expectation", Text: strings.Join(r.Failures, "\n")}
			s.Failures++
		}
		s.Cases = append(s.Cases, c)
		s.Tests++
		total += r.Duration
	}
	s.Time = seconds(total)
	doc := junitSuites{Name: "hnspath", Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Time: s.Time, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// Summary is the machine-readable summary of a run (hnspath run --json).
type Summary struct {
	Passed    int               `json:"passed"`
	Failed    int               `json:"failed"`
	Packets   int               `json:"packets"`
	Seconds   float64           `json:"seconds"`
	Scenarios []ScenarioSummary `json:"scenarios"`
}

// ScenarioSummary is one scenario in a Summary.
type ScenarioSummary struct {
	Name     string   `json:"name"`
	File     string   `json:"file"`
	Passed   bool     `json:"passed"`
	Packets  int      `json:"packets"`
	Seconds  float64  `json:"seconds"`
	Failures []string `json:"failures,omitempty"`
	Error    string   `json:"error,omitempty"`
	Results  string   `json:"results,omitempty"`
	Pcapng   string   `json:"pcapng,omitempty"`
}

// NewSummary summarises reports.
func NewSummary(reps []*Report) *Summary {
	s := &Summary{Scenarios: []ScenarioSummary{}}
	for _, r := range reps {
		ss := ScenarioSummary{Name: r.Name, File: r.File, Passed: r.Passed, Packets: r.Packets, Seconds: r.Duration.Seconds(),
			Failures: r.Failures, Results: r.ResultsFile, Pcapng: r.PcapngFile}
		if r.Err != nil {
			ss.Error = r.Err.Error()
		}
		if r.Passed {
			s.Passed++
		} else {
			s.Failed++
		}
		s.Packets += r.Packets
		s.Seconds += r.Duration.Seconds()
		s.Scenarios = append(s.Scenarios, ss)
	}
	return s
}

// WriteJSON writes the summary as indented JSON.
func (s *Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(s)
}
