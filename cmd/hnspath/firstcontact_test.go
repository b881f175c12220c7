package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunSaysWhereResultsAre: with --out, the last line of run names the
// directory, what is in it and the command that reads it, and the files
// it names are there.
func TestRunSaysWhereResultsAre(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runCmd(t, "run", "--out", out, "../../scenarios/library/nat-outbound-udp.yaml")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "results in "+out+": ") || !strings.HasSuffix(last, "hnspath report "+out) {
		t.Errorf("last line %q: want where the results are and how to read them", last)
	}
	for _, f := range []string{"nat-outbound-udp.results.jsonl", "nat-outbound-udp.pcapng", "summary.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("the line names %s: %v", f, err)
		}
	}
}
