package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/hostprobe/linux"
)

func TestLiveUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no subcommand", []string{"live"}, exitUsage, "want a subcommand"},
		{"no topology", []string{"live", "run", "-p", "server"}, exitUsage, "give --topology"},
		{"bad iface", []string{"live", "run", "-t", "x.yaml", "--iface", "server"}, exitUsage, "--iface server: want PORT=IFNAME"},
		{"dup iface", []string{"live", "run", "-t", "x.yaml", "--iface", "a=b", "--iface", "a=c"}, exitUsage, "given twice"},
		{"missing topology", []string{"live", "run", "-t", filepath.Join(dir, "none.yaml"), "-p", "server"}, exitFail, "none.yaml"},
		{"exec without command", []string{"live", "exec", "server"}, exitUsage, "want PORT -- command"},
		{"exec without session", []string{"live", "exec", "--run-dir", dir, "server", "--", "true"}, exitFail, "live.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.msg)
			}
		})
	}
}

// A whole session from the command line: it starts, ends after --duration,
// writes its JSON result and pcapng, and leaves nothing behind.
func TestLiveRunDuration(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("live needs Linux")
	}
	if err := linux.CheckPrivileges(); err != nil {
		t.Skipf("live needs root: %v", err)
	}
	dir := t.TempDir()
	res, pcap := filepath.Join(dir, "r.json"), filepath.Join(dir, "p.pcapng")
	code, stdout, stderr := runCmd(t, "live", "run", "-t", "../../scenarios/library/topologies/nat.yaml", "-p", "host1/web", "-p", "server",
		"--run-dir", dir, "--duration", "300ms", "--json", res, "--pcap", pcap)
	if code != exitOK || !strings.Contains(stdout, "ready") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	for _, f := range []string{res, pcap} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "live.json")); !os.IsNotExist(err) {
		t.Errorf("state file still there: %v", err)
	}
	session := strings.Fields(stdout)[2]
	if l, err := linux.Leftovers(session + "-"); len(l) > 0 || err != nil {
		t.Errorf("leftovers of %s: %v %v", session, l, err)
	}
}
