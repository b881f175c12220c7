package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/hostprobe/linux"
)

// TestProbeGenerateEmulator is differential testing in CI: a fixed seed and 20 scenarios,
// against the emulator itself (every scenario must agree with itself), written out as
// files that validate, the same files on a second run.
func TestProbeGenerateEmulator(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "probe", "--backend", "emulator", "--generate", "20", "--seed", "42", "--mode", "nat", "-o", out)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "generated 20 nat scenarios (seed 42, from 0) against emulator: 20 agree, 0 differ (documented), 0 partial, 0 differ (undocumented), 0 errors, 0 invalid") {
		t.Errorf("stdout:\n%s", stdout)
	}
	files, _ := filepath.Glob(filepath.Join(out, "gen-nat-s42-*.yaml"))
	if len(files) != 20 {
		t.Fatalf("%d scenario files written, want 20", len(files))
	}
	code, vout, verr := runCmd(t, append([]string{"validate"}, files...)...)
	if code != exitOK {
		t.Fatalf("validate: exit %d\n%s\n%s", code, vout, verr)
	}
	again := t.TempDir()
	if code, _, stderr := runCmd(t, "probe", "--backend", "emulator", "--generate", "3", "--first", "5", "--seed", "42", "--mode", "nat", "-o", again); code != exitOK {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	for i := 5; i < 8; i++ {
		name := "gen-nat-s42-000" + strconv.Itoa(i) + ".yaml"
		a, _ := os.ReadFile(filepath.Join(out, name))
		b, err := os.ReadFile(filepath.Join(again, name))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: not the same on a second run (--first 5): %v", name, err)
		}
	}
}

func TestProbeGenerateUsage(t *testing.T) {
	for _, args := range [][]string{
		{"probe", "--backend", "emulator", "--generate", "2", "--mode", "l2tunnel"},
		{"probe", "--backend", "emulator", "--generate", "2", "x.yaml"},
	} {
		if code, _, stderr := runCmd(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, stderr)
		}
	}
}

// TestProbeGenerateLinux runs a small generated batch on the kernel (as root) and shrinks
// the first undocumented difference it finds: every scenario runs (no errors), the counts
// add up, and a written finding is a scenario that validates and still differs.
func TestProbeGenerateLinux(t *testing.T) {
	if err := linux.CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	code, stdout, stderr := runCmd(t, "probe", "--generate", "8", "--seed", "3", "--mode", "nat", "--findings", dir, "--shrink-runs", "8", "--shrink-max", "1")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	m := regexp.MustCompile(`generated 8 nat scenarios \(seed 3, from 0\) against linux: (\d+) agree, (\d+) differ \(documented\), (\d+) partial, (\d+) differ \(undocumented\), 0 errors, 0 invalid`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("stdout:\n%s\nstderr %s", stdout, stderr)
	}
	sum := 0
	for _, s := range m[1:] {
		n, _ := strconv.Atoi(s)
		sum += n
	}
	if sum != 8 {
		t.Errorf("counts add up to %d, want 8:\n%s", sum, stdout)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if m[4] != "0" && len(files) != 1 {
		t.Errorf("%s undocumented but %d findings written", m[4], len(files))
	}
	for _, f := range files {
		if code, _, stderr := runCmd(t, "validate", f); code != exitOK {
			t.Errorf("%s does not validate: %s", f, stderr)
		}
		code, out, stderr := runCmd(t, "probe", "--fail-on-undocumented", f)
		if code != exitFail || !strings.Contains(out, "differs") {
			t.Errorf("%s: the shrunk finding no longer differs: exit %d\n%s\n%s", f, code, out, stderr)
		}
	}
}
