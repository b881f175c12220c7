// Package benchtest has helpers for tests that read this project's
// benchmark output with the Go tools.
package benchtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Benchstat returns a benchstat to run: the one on PATH, else one built
// from the golang.org/x/perf version this module requires (pinned by
// go.sum, so tests read our output with the same benchstat that CI would
// install). It skips the test when neither works.
func Benchstat(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("benchstat"); err == nil {
		return p
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Skip("benchstat is not on PATH and there is no go command to build it")
		}
	}
	out := filepath.Join(t.TempDir(), "benchstat")
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	cmd := exec.Command(goBin, "build", "-o", out, "golang.org/x/perf/cmd/benchstat")
	if msg, err := cmd.CombinedOutput(); err != nil {
		// The module cache may lack x/perf and the module proxy be unreachable.
		t.Skipf("benchstat is not on PATH and building it failed (module proxy unreachable?): %v\n%s", err, msg)
	}
	return out
}
