package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunLibrary runs the built-in library as `hnspath run` does on a
// fresh clone: every scenario passes, and the outputs are written.
func TestRunLibrary(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "run", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d, want 0\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, " 0 failed") || strings.Contains(stdout, "FAIL") {
		t.Errorf("stdout:\n%s", stdout)
	}
	for _, f := range []string{"nat-static-portmap.results.jsonl", "nat-static-portmap.pcapng", "summary.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}

// copyTopology puts the library's nat topology next to a test scenario.
func copyTopology(t *testing.T, dir string) {
	t.Helper()
	b, err := os.ReadFile("../../scenarios/library/topologies/nat.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nat.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

const brokenScenario = `name: broken-expectation
summary: a deliberately wrong expectation (the published port maps to 80, not 81)
source: hnspath tests
topology: nat.yaml
packets:
  - at: client
    frame: ipv4(dst=10.0.0.4) / tcp(sport=40000, dport=8082, flags=S)
expect:
  - at: host1/web
    frame: ipv4(src=10.0.0.99, dst=172.16.0.2) / tcp(sport=40000, dport=81, flags=S)
`

// TestRunBrokenExpectation runs a scenario with a deliberately broken
// expectation: exit 1, the expected and actual packets side by side with
// the differing field marked, the packet's trace, and JUnit and JSON
// reports that say so.
func TestRunBrokenExpectation(t *testing.T) {
	dir := t.TempDir()
	copyTopology(t, dir)
	path := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(path, []byte(brokenScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	junit, js := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "summary.json")
	code, stdout, stderr := runCmd(t, "run", "--junit", junit, "--json", js, path)
	if code != exitFail {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"FAIL  broken-expectation",
		"broken.yaml:9: expect[0]: no frame at host1/web matched",
		"differs: tcp.dport: want 81, got 80",
		"  expected ", "| actual",
		"!   dport=81 ", "|   dport=80",
		"trace of packet 1:",
		"winnat", "-> delivered at host1/web",
		"0 passed, 1 failed",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("junit: %v\n%s", err, b)
	}
	if doc.Tests != 1 || doc.Failures != 1 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 1 {
		t.Fatalf("junit: %+v", doc)
	}
	c := doc.Suites[0].Cases[0]
	if c.Name != "broken-expectation" || c.Failure == nil || !strings.Contains(c.Failure.Text, "want 81, got 80") {
		t.Errorf("junit testcase %+v", c)
	}
	var sum struct {
		Passed, Failed int
		Scenarios      []struct {
			Name     string
			Passed   bool
			Failures []string
		}
	}
	b, err = os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Passed != 0 || sum.Failed != 1 || sum.Scenarios[0].Passed || len(sum.Scenarios[0].Failures) != 1 {
		t.Errorf("summary %+v", sum)
	}
}

// TestRunFixedExpectation is the same scenario with the right port: exit 0.
func TestRunFixedExpectation(t *testing.T) {
	dir := t.TempDir()
	copyTopology(t, dir)
	path := filepath.Join(dir, "fixed.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(brokenScenario, "dport=81", "dport=80", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runCmd(t, "run", dir); code != exitOK || !strings.Contains(stdout, "PASS  broken-expectation") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestRunLoadErrors: a file with errors is reported with file:line and
// fails the run.
func TestRunLoadErrors(t *testing.T) {
	code, _, stderr := runCmd(t, "run", "../../scenarios/testdata/bad-json.json")
	if code != exitFail || !strings.Contains(stderr, "bad-json.json:7:81: packets[0].frame: udp: unknown field \"bogus\"") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	lib := "../../scenarios/library/nat-outbound-udp.yaml"
	if code, _, stderr := runCmd(t, "run", lib, lib); code != exitFail || !strings.Contains(stderr, `nat-outbound-udp.yaml: name: "nat-outbound-udp" is also the name of`) {
		t.Errorf("same scenario twice: exit %d, stderr %s", code, stderr)
	}
	if code, _, _ := runCmd(t, "run", "no/such/file.yaml"); code != exitFail {
		t.Errorf("missing file: exit %d, want 1", code)
	}
	if code, _, _ := runCmd(t, "run", "--progress", "sometimes"); code != exitUsage {
		t.Errorf("bad --progress: exit %d, want 2", code)
	}
}

// TestRunLoadErrorsReachCI: a scenario file that does not load is an error testcase
// in JUnit, counted in summary.json and in the closing line (it used to be missing
// from both: tests="1" failures="0" errors="0" and "1 passed, 0 failed", exit 1).
func TestRunLoadErrorsReachCI(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typo, []byte("name: typo\nsumary: misspelt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := "../../scenarios/library/nat-outbound-udp.yaml"
	junit, js := filepath.Join(dir, "j.xml"), filepath.Join(dir, "s.json")
	code, stdout, stderr := runCmd(t, "run", good, typo, "--junit", junit, "--json", js)
	if code != exitFail {
		t.Errorf("exit %d, want 1\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "1 passed, 0 failed, 1 errors,") || !strings.Contains(stdout, "ERROR "+typo) {
		t.Errorf("stdout lacks the error line and count:\n%s", stdout)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Suites   []struct {
			Cases []struct {
				Name  string `xml:"name,attr"`
				Error *struct {
					Type string `xml:"type,attr"`
					Text string `xml:",chardata"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("junit: %v\n%s", err, b)
	}
	if doc.Tests != 2 || doc.Failures != 0 || doc.Errors != 1 {
		t.Errorf("junit: tests=%d failures=%d errors=%d, want 2, 0, 1", doc.Tests, doc.Failures, doc.Errors)
	}
	found := false
	for _, c := range doc.Suites[0].Cases {
		if c.Name == typo && c.Error != nil && c.Error.Type == "load" && strings.Contains(c.Error.Text, "sumary") {
			found = true
		}
	}
	if !found {
		t.Errorf("junit has no load error testcase for %s:\n%s", typo, b)
	}
	var sum struct{ Passed, Failed, Errors int }
	b, err = os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil || sum.Passed != 1 || sum.Failed != 0 || sum.Errors != 1 {
		t.Errorf("summary.json: %+v (%v), want passed 1, failed 0, errors 1", sum, err)
	}
}

// failWriter fails every write, as standard output on a full disk does.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// TestRunStdoutWriteError: a run whose results cannot be written to standard output
// fails (it used to exit 0).
func TestRunStdoutWriteError(t *testing.T) {
	var stderr bytes.Buffer
	code := run([]string{"run", "../../scenarios/library/nat-outbound-udp.yaml"}, failWriter{}, &stderr)
	if code != exitFail || !strings.Contains(stderr.String(), "write standard output: no space left on device") {
		t.Errorf("exit %d, stderr %q; want 1 and the write error", code, stderr.String())
	}
	if f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0); err == nil {
		defer f.Close()
		stderr.Reset()
		if code := run([]string{"run", "../../scenarios/library/nat-outbound-udp.yaml"}, f, &stderr); code != exitFail {
			t.Errorf("stdout on /dev/full: exit %d, want 1 (stderr %q)", code, stderr.String())
		}
	}
}
