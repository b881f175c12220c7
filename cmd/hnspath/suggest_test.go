package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDidYouMean: mistyped commands, ports, spec fields and scenario keys
// get the closest known name.
func TestDidYouMean(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: x\nsummary: y\ntopology: "+mustAbs(t, natTopology)+"\npakcets: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"command", []string{"rn"}, `unknown command "rn" (did you mean "run"?)`},
		{"help command", []string{"help", "trcae"}, `unknown command "trcae" (did you mean "trace"?)`},
		{"port", []string{"trace", "-t", natTopology, "--at", "host1/wbe", "ipv4(dst=10.0.0.4)"}, `unknown port "host1/wbe" (did you mean "host1/web"? ports:`},
		{"field", []string{"trace", "-t", natTopology, "--at", "client", "ipv4(dst=10.0.0.4) / tcp(dprot=1)"}, `unknown field "dprot" (did you mean "dport"? known:`},
		{"layer", []string{"trace", "-t", natTopology, "--at", "client", "ipv4(dst=10.0.0.4) / tpc(dport=1)"}, `unknown layer "tpc" (did you mean "tcp"? known:`},
		{"scenario key", []string{"validate", bad}, `unknown key "pakcets" (did you mean "packets"? known:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tt.args...)
			if code == exitOK || !strings.Contains(stdout+stderr, tt.want) {
				t.Errorf("exit %d, output lacks %q:\n%s%s", code, tt.want, stdout, stderr)
			}
		})
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
