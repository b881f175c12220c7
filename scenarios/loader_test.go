package scenarios

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		os.WriteFile(path[:len(path)-len(".golden")]+".got-golden", []byte(got), 0o644)
		t.Errorf("%s: got\n%s\nwant\n%s", name, got, want)
	}
}

// TestLoadErrorsGolden loads files with many mistakes: every mistake is
// reported at once, each with file:line:col and the field.
func TestLoadErrorsGolden(t *testing.T) {
	for _, name := range []string{"bad-scenario.yaml", "bad-topology.yaml", "bad-json.json"} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", name))
			if err == nil {
				t.Fatal("loaded without error")
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %T, want Errors", err)
			}
			for _, e := range errs {
				if e.File == "" || e.Line == 0 {
					t.Errorf("error without file:line: %v", e)
				}
			}
			golden(t, strings.TrimSuffix(name, filepath.Ext(name)), err.Error()+"\n")
		})
	}
}

// TestLoadErrorLines checks a few errors' positions against the files
// independently of the golden files.
func TestLoadErrorLines(t *testing.T) {
	_, err := Load("testdata/bad-scenario.yaml")
	var errs Errors
	errors.As(err, &errs)
	want := []struct {
		line, col int
		field     string
		text      string
	}{
		{5, 1, "colour", "unknown key"},
		{10, 72, "topology.hosts[0].nics[0].mtu", "want an integer"},
		{17, 50, "topology.hosts[0].hns.Endpoints[0].MacAdress", "unknown key"},
		{19, 66, "topology.peers[0].gatway", "unknown key"},
		{22, 58, "packets[0].frame", "tll"},
		{24, 11, "packets[1].time", "soon"},
	}
	for _, w := range want {
		found := false
		for _, e := range errs {
			if e.Field == w.field && strings.Contains(e.Error(), w.text) {
				found = true
				if e.Line != w.line || e.Col != w.col {
					t.Errorf("%s: got %d:%d, want %d:%d", w.field, e.Line, e.Col, w.line, w.col)
				}
			}
		}
		if !found {
			t.Errorf("no error for %s containing %q in\n%v", w.field, w.text, err)
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in      string
		ns      int64
		rel     bool
		wantErr bool
	}{
		{"121s", 121e9, false, false},
		{"1m30s", 90e9, false, false},
		{"+2s", 2e9, true, false},
		{"500", 500, false, false},
		{"1.5ms", 1.5e6, false, false},
		{"-1s", 0, false, true},
		{"soon", 0, false, true},
	}
	for _, tt := range tests {
		ns, rel, err := parseTime(tt.in)
		if (err != nil) != tt.wantErr || ns != tt.ns || rel != tt.rel {
			t.Errorf("parseTime(%q) = %d, %v, %v; want %d, %v, error %v", tt.in, ns, rel, err, tt.ns, tt.rel, tt.wantErr)
		}
	}
}

// TestJSONAndYAMLAgree loads the same scenario written in YAML and in
// JSON: the results must be the same.
func TestJSONAndYAMLAgree(t *testing.T) {
	y := `name: same
summary: the same scenario in two formats
source: hnspath tests
topology: library/topologies/nat.yaml
packets:
  - {at: host1/web, frame: "ipv4(dst=198.18.0.10) / udp(sport=40000, dport=53)"}
expect:
  - {at: server, frame: "ipv4(src=10.0.0.4) / udp(sport=$p, dport=53)"}
  - nothing_else: true
`
	j := `{"name": "same", "summary": "the same scenario in two formats", "source": "hnspath tests",
 "topology": "library/topologies/nat.yaml",
 "packets": [{"at": "host1/web", "frame": "ipv4(dst=198.18.0.10) / udp(sport=40000, dport=53)"}],
 "expect": [{"at": "server", "frame": "ipv4(src=10.0.0.4) / udp(sport=$p, dport=53)"}, {"nothing_else": true}]}`
	sy, err := Parse("x.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	sj, err := Parse("x.json", []byte(j))
	if err != nil {
		t.Fatal(err)
	}
	ry, rj := Run(sy, Options{}), Run(sj, Options{})
	if !ry.Passed || !rj.Passed {
		t.Fatalf("yaml passed %v %v, json passed %v %v", ry.Passed, ry.Failures, rj.Passed, rj.Failures)
	}
	if sj.Packets[0].Line != 3 || sj.Expect[1].Line != 4 {
		t.Errorf("JSON lines: packet at %d, expect[1] at %d; want 3 and 4", sj.Packets[0].Line, sj.Expect[1].Line)
	}
}
