package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/internal/input"
)

func TestByteSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1000", 1000, true}, {"64MiB", 64 << 20, true}, {"64M", 64 << 20, true}, {"1GB", 1 << 30, true},
		{"2k", 2 << 10, true}, {"0", 0, false}, {"-1", 0, false}, {"ten", 0, false}, {"1TiB", 0, false},
		{"99999999999G", 0, false},
	} {
		var b byteSize
		err := b.Set(tt.in)
		if (err == nil) != tt.ok || tt.ok && int64(b) != tt.want {
			t.Errorf("Set(%q) = %d, %v; want %d, ok %v", tt.in, int64(b), err, tt.want, tt.ok)
		}
	}
	b := byteSize(input.DefaultLimit)
	if b.String() != "64MiB" {
		t.Errorf("default prints as %q, want 64MiB", b.String())
	}
}

// TestMaxInput checks --max-input end to end: a file over the limit is
// refused with the file and the limit named, /dev/zero too, the limit of
// one command does not leak into the next, and a bad size is a usage error.
func TestMaxInput(t *testing.T) {
	topo := "../../scenarios/library/topologies/nat.yaml"
	st, err := os.Stat(topo)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, "validate", "--max-input", "1KiB", topo)
	if code != exitFail || !strings.Contains(stdout+stderr, "nat.yaml: input larger than the limit of 1024 bytes") {
		t.Fatalf("validate --max-input 1KiB (a %d-byte file): exit %d\n%s%s\nwant exit 1 naming the file and the limit", st.Size(), code, stdout, stderr)
	}
	if code, stdout, stderr := runCmd(t, "validate", topo); code != exitOK {
		t.Fatalf("validate without --max-input after a 1 KiB limit: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		code, stdout, stderr := runCmd(t, "validate", "--max-input", "1MiB", "/dev/zero")
		if code != exitFail || !strings.Contains(stdout+stderr, "/dev/zero: input larger than the limit of 1048576 bytes") {
			t.Errorf("validate /dev/zero: exit %d\n%s%s", code, stdout, stderr)
		}
	}
	wl := filepath.Join(t.TempDir(), "w.yaml")
	if err := os.WriteFile(wl, []byte("endpoints: [{name: web, addresses: [172.17.0.2]}]\n"+strings.Repeat("# pad\n", 400)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCmd(t, "modes", "--max-input", "1KiB", "-w", wl, "--flows", "udp web:5000 -> 192.0.2.1:53"); code != exitFail || !strings.Contains(stderr, "w.yaml: input larger than the limit of 1024 bytes") {
		t.Errorf("modes --max-input 1KiB: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCmd(t, "validate", "--max-input", "lots", topo); code != exitUsage || !strings.Contains(stderr, "not a positive size") {
		t.Errorf("validate --max-input lots: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
}
