//go:build fleet

package fleet

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

var logCases = []struct {
	name, log, err string
	done           bool
	files          int
}{
	{name: "complete", log: frameLog(testRun, "win-a", "20348.1", "15.1", [][2]string{{"probe/summary.json", summary(0)}, {"evidence/hnsdiag.txt", "Networks:\n"}}, 0), done: true, files: 2},
	{name: "cut short", log: "#hnspath-fleet hnsf-test start win-a\nprobing\n", files: 0},
	{name: "other run", log: "#hnspath-fleet hnsf-other start win-a\n#hnspath-fleet hnsf-other done 0\n"},
	{name: "bad base64", log: "#hnspath-fleet hnsf-test begin probe/x\n!!!!\n#hnspath-fleet hnsf-test end probe/x\n", err: "base64"},
	{name: "escaping name", log: "#hnspath-fleet hnsf-test begin probe/../x\n", err: "not a plain file name"},
	{name: "other dir", log: "#hnspath-fleet hnsf-test begin etc/x\n", err: "want probe/NAME"},
	{name: "end outside", log: "#hnspath-fleet hnsf-test end probe/x\n", err: "outside a file"},
	{name: "nested", log: "#hnspath-fleet hnsf-test begin probe/x\n#hnspath-fleet hnsf-test begin probe/y\n", err: "before the end"},
	{name: "twice", log: "#hnspath-fleet hnsf-test begin probe/x\n#hnspath-fleet hnsf-test end probe/x\n#hnspath-fleet hnsf-test begin probe/x\n", err: "sent twice"},
	{name: "bad done", log: "#hnspath-fleet hnsf-test done x\n", err: "exit code"},
	{name: "unknown verb", log: "#hnspath-fleet hnsf-test hello\n", err: "unknown verb"},
}

func TestParseLog(t *testing.T) {
	for _, tt := range logCases {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseLog(strings.NewReader(tt.log), "pod-a", testRun)
			if tt.err != "" {
				var le *LogError
				if !errors.As(err, &le) || !strings.Contains(err.Error(), tt.err) || le.Line == 0 {
					t.Fatalf("got %v, want a located error about %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.Done != tt.done || len(l.Files) != tt.files {
				t.Errorf("done %v files %d, want %v %d", l.Done, len(l.Files), tt.done, tt.files)
			}
		})
	}
}

// TestParseLogRoundTrip checks files come back byte for byte (CRLF lines,
// bytes that are not text) and the run is found from the log when not given.
func TestParseLogRoundTrip(t *testing.T) {
	bin := string([]byte{0xff, 0xfe, 'N', 0, '\r', '\n', 0})
	l, err := ParseLog(strings.NewReader(frameLog("hnsf-x", "win-z", "1", "2", [][2]string{{"evidence/networks.json", bin}}, 3)), "f", "")
	if err != nil {
		t.Fatal(err)
	}
	if l.Run != "hnsf-x" || l.Node != "win-z" || l.Exit != 3 || string(l.Files["evidence/networks.json"]) != bin {
		t.Errorf("got run %q node %q exit %d file %q", l.Run, l.Node, l.Exit, l.Files["evidence/networks.json"])
	}
}

func TestParseDiffs(t *testing.T) {
	d, err := ParseDiffs([]byte(diffTxt+"  [W1] Windows: drops\n"), "d")
	if err != nil || len(d) != 1 || d[0].Packet != 2 || d[0].In != "host1/ep1" {
		t.Fatalf("got %+v, %v", d, err)
	}
	for _, bad := range []string{"h\n    outcome: x\n", "h\n  packet x at p:\n", "h\nstray\n"} {
		if _, err := ParseDiffs([]byte(bad), "d"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestSplitPrefixed(t *testing.T) {
	in := "[pod/hnsf-x-win-a/probe] #hnspath-fleet hnsf-x start win-a\n[pod/hnsf-x-win-b/probe] line b\n[pod/hnsf-x-win-a/probe] line a\n"
	got, ok := SplitPrefixed([]byte(in))
	if !ok || string(got["hnsf-x-win-a"]) != "#hnspath-fleet hnsf-x start win-a\nline a\n" || string(got["hnsf-x-win-b"]) != "line b\n" {
		t.Errorf("got %q, %v", got, ok)
	}
	if _, ok := SplitPrefixed([]byte("#hnspath-fleet hnsf-x start win-a\n")); ok {
		t.Errorf("a plain log was taken for a --prefix one")
	}
}

// TestFromLogs makes the report from collected logs: the same as the run's.
func TestFromLogs(t *testing.T) {
	logs := map[string][]byte{}
	for n, l := range goodLogs() {
		logs[n+".log"] = []byte(l)
	}
	logs["win-d.log"] = []byte("#hnspath-fleet hnsf-test start win-d\nkilled\n")
	f, err := FromLogs(logs, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if f.Run != testRun || len(f.Nodes) != 4 || len(f.Groups) != 1 {
		t.Fatalf("run %q, %d nodes, %d groups", f.Run, len(f.Nodes), len(f.Groups))
	}
	if n := f.Nodes[3]; n.Name != "win-d" || n.Status != "not run" || !strings.Contains(n.Why, "log ends") {
		t.Errorf("win-d: %+v", n)
	}
	logs["other.log"] = []byte("#hnspath-fleet hnsf-other start win-e\n#hnspath-fleet hnsf-other done 0\n")
	if _, err := FromLogs(logs, ""); err == nil || !strings.Contains(err.Error(), "other logs are of run") {
		t.Errorf("mixed runs: %v", err)
	}
}

func FuzzParseLog(f *testing.F) {
	for _, tt := range logCases {
		f.Add([]byte(tt.log))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLog(bytes.NewReader(data), "fuzz", "")
		if err == nil {
			for name := range l.Files {
				if checkFileName(name) != nil {
					t.Fatalf("accepted file name %q", name)
				}
			}
			_, _ = l.Results("fuzz")
		}
		_, _ = SplitPrefixed(data)
	})
}

func FuzzParseDiffs(f *testing.F) {
	f.Add([]byte(diffTxt))
	f.Add([]byte("h\n  packet x at p:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseDiffs(data, "fuzz")
	})
}
