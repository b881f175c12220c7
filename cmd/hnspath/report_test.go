package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const reportData = "../../reports/testdata"

func TestReportCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.html")
	tests := []struct {
		name string
		args []string
		code int
		want string // in stdout
	}{
		{"failed run", []string{filepath.Join(reportData, "run/summary.json")}, exitFail, "FAIL    nat-static-portmap-typo"},
		{"passing results only", []string{filepath.Join(reportData, "run/nat-outbound-udp.results.jsonl")}, exitOK, "RESULTS  nat-outbound-udp"},
		{"bench regression", []string{"--baseline", filepath.Join(reportData, "bench/baseline.bench"), filepath.Join(reportData, "bench/report.json")}, exitFail, "verdict: REGRESSION"},
		{"bench without baseline", []string{filepath.Join(reportData, "bench/report.json")}, exitOK, "BENCH: "},
		{"probe with undocumented", []string{filepath.Join(reportData, "probe")}, exitFail, "l2bridge-preserve-dip  differs"},
		{"markdown", []string{"-f", "md", filepath.Join(reportData, "modes/modes.json")}, exitOK, "## Modes"},
		{"junit", []string{"--format", "junit", filepath.Join(reportData, "run/summary.json")}, exitFail, "<testsuites"},
		{"html to file", []string{"--format", "html", "--out", out, filepath.Join(reportData, "modes/modes.json")}, exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, errs := runCmd(t, append([]string{"report"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stdout, tt.want) {
				t.Fatalf("got exit %d, stdout %.400q, stderr %q; want exit %d and %q", code, stdout, errs, tt.code, tt.want)
			}
		})
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("--out %s: %v, want an HTML page with plots", out, err)
	}
	_, stdout, _ := runCmd(t, "report", "--format", "junit", filepath.Join(reportData, "run/summary.json"))
	var v struct {
		XMLName xml.Name `xml:"testsuites"`
	}
	if err := xml.Unmarshal([]byte(stdout), &v); err != nil {
		t.Errorf("junit output: %v", err)
	}
}

func TestReportUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no inputs", nil, exitUsage, "no inputs"},
		{"bad format", []string{"--format", "pdf", "x"}, exitUsage, `--format "pdf"`},
		{"bad threshold", []string{"--threshold", "150%", "x"}, exitUsage, "--threshold"},
		{"missing input", []string{"/nonexistent/r.jsonl"}, exitFail, "/nonexistent/r.jsonl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runCmd(t, append([]string{"report"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Fatalf("got exit %d, stderr %q; want exit %d and %q", code, errs, tt.code, tt.want)
			}
		})
	}
}

func TestParsePercent(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want float64
		ok   bool
	}{{"5%", 0.05, true}, {"0.05", 0.05, true}, {"0", 0, true}, {"100%", 0, false}, {"-1", 0, false}, {"x", 0, false}} {
		got, err := parsePercent(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parsePercent(%q): got %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
