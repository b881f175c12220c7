//go:build fleet

package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/scenarios"
)

// TestFleetFilesLibrary checks the library is shipped with the topology
// files its scenarios name, at paths relative to the library, and that the
// probe on the node finds the same scenarios in them (LoadDir skips the
// topologies, as it does here).
func TestFleetFilesLibrary(t *testing.T) {
	files, names, err := fleetFiles(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files["topologies/l2bridge.yaml"]; !ok {
		t.Errorf("topologies/l2bridge.yaml not shipped")
	}
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, "scenarios", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	scs, err := scenarios.LoadDir(filepath.Join(dir, "scenarios"))
	if err != nil {
		t.Fatalf("the shipped files do not load on their own: %v", err)
	}
	if got := scenarioNamesOf(scs); strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("scenarios from the shipped files %v, want %v", got, names)
	}
}

// TestFleetFilesRelative ships a scenario whose topology sits beside its
// directory (../): the common directory is above both.
func TestFleetFilesRelative(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join("..", "..", "scenarios", "library")
	mustCopy(t, filepath.Join(lib, "l2bridge-acl-block.yaml"), filepath.Join(dir, "suite", "acl.yaml"),
		"topologies/l2bridge.yaml", "../topo/l2bridge.yaml")
	mustCopy(t, filepath.Join(lib, "topologies", "l2bridge.yaml"), filepath.Join(dir, "topo", "l2bridge.yaml"), "", "")
	files, names, err := fleetFiles([]string{filepath.Join(dir, "suite")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for n := range files {
		got = append(got, n)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "suite/acl.yaml,topo/l2bridge.yaml" || len(names) != 1 {
		t.Errorf("files %v names %v, want suite/acl.yaml,topo/l2bridge.yaml and one scenario", got, names)
	}
}

func mustCopy(t *testing.T, from, to, old, new string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if old != "" {
		if !bytes.Contains(data, []byte(old)) {
			t.Fatalf("%s does not name %s", from, old)
		}
		data = bytes.ReplaceAll(data, []byte(old), []byte(new))
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func podLog(run, node string, summary string, exit int) string {
	var b strings.Builder
	tag := "#hnspath-fleet " + run + " "
	fmt.Fprintf(&b, "%sstart %s\n%sinfo os-build 20348.2762\n%sbegin probe/summary.json\n%s\n%send probe/summary.json\n%sdone %d\n",
		tag, node, tag, tag, base64.StdEncoding.EncodeToString([]byte(summary)), tag, tag, exit)
	return b.String()
}

// TestFleetReportCommand runs fleet report on kubectl logs --prefix output
// and on plain logs: the exit code follows the nodes.
func TestFleetReportCommand(t *testing.T) {
	agree := `{"backend":"windows","scenarios":[{"name":"a","result":"agrees","packets":1}]}`
	undoc := `{"backend":"windows","scenarios":[{"name":"a","result":"differs","packets":1,"differing":1,"undocumented":1}]}`
	dir := t.TempDir()
	var prefixed strings.Builder
	for _, n := range []string{"win-a", "win-b"} {
		for _, l := range strings.SplitAfter(podLog("hnsf-1", n, agree, 0), "\n") {
			if l != "" {
				prefixed.WriteString("[pod/hnsf-1-" + n + "/probe] " + l)
			}
		}
	}
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"prefixed", []string{write("all.txt", prefixed.String())}, 0, "2 nodes: 2 agree with the model"},
		{"cut short", []string{write("c.log", "#hnspath-fleet hnsf-1 start win-c\n")}, 1, "1 could not run"},
		{"undocumented", []string{"--fail-on-difference", write("d.log", podLog("hnsf-1", "win-d", undoc, 0))}, 1, "1 differ"},
		{"undocumented, not failing", []string{write("e.log", podLog("hnsf-1", "win-e", undoc, 0))}, 0, "1 differ"},
		{"json", []string{"-f", "json", write("f.log", podLog("hnsf-1", "win-f", agree, 0))}, 0, `"schema": "hnspath-fleet/v1"`},
		{"bad format", []string{"-f", "pdf", "x"}, 2, ""},
		{"no logs", nil, 2, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(append([]string{"fleet", "report"}, tt.args...), &out, &errb)
			if code != tt.code || !strings.Contains(out.String(), tt.want) {
				t.Errorf("exit %d, want %d; stdout %q lacks %q; stderr %s", code, tt.code, out.String(), tt.want, errb.String())
			}
		})
	}
}

// TestRunShard runs the same scenarios as shards 1/3..3/3: each scenario
// runs exactly once, and hnspath report reads the shards' summaries as one.
func TestRunShard(t *testing.T) {
	lib := filepath.Join("..", "..", "scenarios", "library")
	args := []string{filepath.Join(lib, "l2bridge-acl-block.yaml"), filepath.Join(lib, "l2bridge-clusterip.yaml"),
		filepath.Join(lib, "l2bridge-cross-host.yaml"), filepath.Join(lib, "l2bridge-icmp-outside.yaml")}
	dir := t.TempDir()
	seen := map[string]int{}
	var summaries []string
	for i := 1; i <= 3; i++ {
		js := filepath.Join(dir, fmt.Sprintf("shard%d.json", i))
		var out, errb bytes.Buffer
		if code := run(append([]string{"run", "--progress", "never", "--shard", fmt.Sprintf("%d/3", i), "--json", js}, args...), &out, &errb); code != 0 {
			t.Fatalf("shard %d: exit %d: %s", i, code, errb.String())
		}
		data, err := os.ReadFile(js)
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Scenarios []struct {
				Name string `json:"name"`
			} `json:"scenarios"`
		}
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatal(err)
		}
		for _, sc := range s.Scenarios {
			seen[sc.Name]++
		}
		summaries = append(summaries, js)
	}
	if len(seen) != 4 {
		t.Errorf("scenarios run over the shards: %v, want the 4 given once each", seen)
	}
	for n, c := range seen {
		if c != 1 {
			t.Errorf("%s ran %d times", n, c)
		}
	}
	var out, errb bytes.Buffer
	if code := run(append([]string{"report", "-f", "json"}, summaries...), &out, &errb); code != 0 {
		t.Fatalf("report: exit %d: %s", code, errb.String())
	}
	for n := range seen {
		if !strings.Contains(out.String(), n) {
			t.Errorf("merged report lacks %s", n)
		}
	}
	for _, bad := range []string{"0/3", "4/3", "1/0", "x", "1/2/3"} {
		if _, _, err := parseShard(bad); err == nil {
			t.Errorf("parseShard(%q): no error", bad)
		}
	}
}
