package scenarios

import (
	"encoding/json"
	"encoding/xml"
	"errors"
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
// error, and so is a scenario file that did not load (LoadErrorReports: a
// testcase named after the file, type "load"), so that CI counts it.
func WriteJUnit(w io.Writer, reps []*Report) error {
	s := junitSuite{Name: "hnspath scenarios"}
	var total time.Duration
	for _, r := range reps {
		c := junitCase{Name: r.Name, Classname: "hnspath.scenarios", File: r.File, Time: seconds(r.Duration), SystemOut: r.Summary}
		switch {
		case r.LoadError:
			c.Classname = "hnspath.scenarios.load"
			c.Error = &junitFailure{Message: firstLine(r.Err.Error()), Type: "load", Text: r.Err.Error()}
			s.Errors++
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
	Passed int `json:"passed"`
	// Failed counts the scenarios that ran and did not pass (an unmet
	// expectation or an error while running).
	Failed int `json:"failed"`
	// Errors counts the scenario files that did not load; each is also in
	// Scenarios, with LoadError.
	Errors int `json:"errors"`
	// Interrupted names the signal that stopped the run ("terminated after 2
	// of 5 scenarios"); the summary then covers only what ran.
	Interrupted string            `json:"interrupted,omitempty"`
	Packets     int               `json:"packets"`
	Seconds     float64           `json:"seconds"`
	Scenarios   []ScenarioSummary `json:"scenarios"`
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
	// LoadError marks a scenario file that did not load: nothing ran.
	LoadError bool   `json:"load_error,omitempty"`
	Results   string `json:"results,omitempty"`
	Pcapng    string `json:"pcapng,omitempty"`
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
		ss.LoadError = r.LoadError
		switch {
		case r.LoadError:
			s.Errors++
		case r.Passed:
			s.Passed++
		default:
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

// LoadErrorReports turns the error of loading scenario files (Load, LoadDir,
// LoadAllFS; an Errors list, or errors.Join of them) into reports with
// LoadError set, one per file, in the order the files first appear, so that
// JUnit and the summary carry them as errors. Errors without a file go into
// one report named "(load)".
func LoadErrorReports(err error) []*Report {
	if err == nil {
		return nil
	}
	var order []string
	byFile := map[string][]string{}
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		var ie *InputError
		if u, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range u.Unwrap() {
				walk(e)
			}
			return
		}
		file := ""
		if errors.As(err, &ie) {
			file = ie.File
		}
		if _, ok := byFile[file]; !ok {
			order = append(order, file)
		}
		byFile[file] = append(byFile[file], err.Error())
	}
	walk(err)
	var out []*Report
	for _, f := range order {
		name := f
		if name == "" {
			name = "(load)"
		}
		out = append(out, &Report{Name: name, File: f, LoadError: true, Err: errors.New(strings.Join(byFile[f], "\n"))})
	}
	return out
}
