package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiffCommand(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if code, stdout, _ := runCmd(t, "run", "--out", dir, "../../scenarios/library/nat-outbound-udp.yaml", "../../scenarios/library/nat-adf-filtering.yaml"); code != exitOK {
			t.Fatalf("run: exit %d\n%s", code, stdout)
		}
	}
	udp := "nat-outbound-udp.results.jsonl"
	code, stdout, _ := runCmd(t, "diff", filepath.Join(a, udp), filepath.Join(b, udp))
	if code != exitOK || !strings.Contains(stdout, "3 packets compared: no differences") {
		t.Errorf("same results: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = runCmd(t, "diff", filepath.Join(a, udp), filepath.Join(b, "nat-adf-filtering.results.jsonl"))
	if code != exitFail || !strings.Contains(stdout, "packet 2: outcome: delivered vs dropped") || !strings.Contains(stdout, "packet 2: drops: (none) vs winnat-filtered (winnat)") {
		t.Errorf("different results: exit %d\n%s", code, stdout)
	}
	bad := filepath.Join(a, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"packet\": 1, \"outcome\": \"delivered\"}\nnot json\n"), 0o644)
	if code, _, stderr := runCmd(t, "diff", bad, bad); code != exitFail || !strings.Contains(stderr, "bad.jsonl:2:") {
		t.Errorf("bad file: exit %d, stderr %s", code, stderr)
	}
	if code, _, _ := runCmd(t, "diff", bad); code != exitUsage {
		t.Errorf("one file: exit %d, want 2", code)
	}
}
