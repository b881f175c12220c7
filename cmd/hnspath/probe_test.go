package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/hostprobe/linux"
	"github.com/hnspath/hnspath/scenarios/library"
	"github.com/hnspath/hnspath/scenarios/result"
)

// probeScenarioDir writes two library scenarios and their topology into a directory.
func probeScenarioDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"nat-outbound-udp.yaml", "nat-host-no-loopback.yaml", "topologies/nat.yaml"} {
		b, err := fs.ReadFile(library.FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestProbeEmulator runs the emulator backend against the emulator: every scenario
// agrees, and the output files are written.
func TestProbeEmulator(t *testing.T) {
	dir := probeScenarioDir(t)
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "probe", "--backend", "emulator", "--out", out,
		filepath.Join(dir, "nat-outbound-udp.yaml"), filepath.Join(dir, "nat-host-no-loopback.yaml"))
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"nat-outbound-udp", "nat-host-no-loopback", "2 scenarios: 2 agrees"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{"nat-outbound-udp.emulator.results.jsonl", "nat-outbound-udp.diff.txt", "summary.txt", "summary.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("output %s: %v", f, err)
		}
	}
	var s summaryJSON
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Backend != "emulator" || len(s.Scenarios) != 2 || s.Scenarios[0].Result != "agrees" || s.Scenarios[0].Packets != 3 {
		t.Errorf("summary.json: got %+v", s)
	}
	f, err := os.Open(filepath.Join(out, "nat-outbound-udp.emulator.results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps, err := result.ReadAll(f, "results")
	if err != nil || len(ps) != 3 {
		t.Errorf("results file: got %d packets, %v; want 3", len(ps), err)
	}
}

// TestProbeUnsupported checks exit code 3 where a backend cannot run, and 2 for bad flags.
func TestProbeUnsupported(t *testing.T) {
	dir := probeScenarioDir(t)
	code, _, stderr := runCmd(t, "probe", "--backend", "windows", filepath.Join(dir, "nat-outbound-udp.yaml"))
	if code != exitUnsupported || !strings.Contains(stderr, "not supported") && !strings.Contains(stderr, "unsupported") {
		t.Errorf("probe --backend windows on Linux: exit %d, stderr %q; want 3 with the reason", code, stderr)
	}
	if code, _, _ := runCmd(t, "probe", "clean", "--backend", "windows"); code != exitUnsupported {
		t.Errorf("probe clean --backend windows on Linux: exit %d, want 3", code)
	}
	for _, args := range [][]string{
		{"probe", "--backend", "bsd"},
		{"probe", "--l2bridge", "vlan"},
		{"probe", "clean", "extra"},
		{"probe", "clean", "--backend", "emulator"},
	} {
		if code, _, _ := runCmd(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, _, stderr := runCmd(t, "probe", "clean", "--help"); code != exitOK || !strings.Contains(stderr, "Usage: hnspath probe clean") {
		t.Errorf("probe clean --help: exit %d, stderr %q", code, stderr)
	}
	if linux.CheckPrivileges() != nil {
		code, _, stderr := runCmd(t, "probe", filepath.Join(dir, "nat-outbound-udp.yaml"))
		if code != exitUnsupported || !strings.Contains(stderr, "cannot run here") {
			t.Errorf("probe without privileges: exit %d, stderr %q; want 3", code, stderr)
		}
	}
}

// TestProbeLinux runs two scenarios on the kernel (as root): the outbound UDP flow agrees
// with the emulator, and the host's hairpin differs as documented.
func TestProbeLinux(t *testing.T) {
	if err := linux.CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	dir := probeScenarioDir(t)
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "probe", "--out", out, "--fail-on-undocumented", dir)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	for _, want := range []string{
		"nat-outbound-udp ", "agrees",
		"nat-host-no-loopback", "differs (documented)", "host-hairpin",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "nat-outbound-udp.linux.results.jsonl")); err != nil {
		t.Errorf("linux results: %v", err)
	}
	// Everything the runs made is gone: clean finds nothing of them.
	code, stdout, _ = runCmd(t, "probe", "clean")
	if code != exitOK {
		t.Errorf("probe clean: exit %d", code)
	}
	if strings.Contains(stdout, "netns") {
		t.Errorf("probe clean after finished runs removed namespaces (a leak):\n%s", stdout)
	}
}

// TestProbeLibraryLinux runs the whole scenario library on the kernel (as root): every
// scenario with a Linux analogue runs, and every difference from the emulator is a
// documented one.
func TestProbeLibraryLinux(t *testing.T) {
	if err := linux.CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	if testing.Short() {
		t.Skip("the library on the kernel takes seconds")
	}
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "probe", "--fail-on-undocumented", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s summaryJSON
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, sc := range s.Scenarios {
		switch sc.Result {
		case "error":
			t.Errorf("%s could not run on the kernel: %s", sc.Name, sc.Error)
		case "agrees", "differs (documented)":
			ran++
		}
	}
	if ran == 0 {
		t.Errorf("no library scenario ran on the kernel:\n%s", stdout)
	}
}
