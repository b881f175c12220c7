package scenarios_test

import (
	"strings"
	"testing"

	"github.com/hnspath/hnspath/scenarios"
	"github.com/hnspath/hnspath/scenarios/library"
)

func loadLibrary(t *testing.T) []*scenarios.Scenario {
	t.Helper()
	scs, err := scenarios.LoadAllFS(library.FS(), ".", library.Display)
	if err != nil {
		t.Fatalf("loading the library:\n%v", err)
	}
	return scs
}

// TestLibrary runs every scenario of the built-in library: each must pass,
// except the known findings, which must still fail.
func TestLibrary(t *testing.T) {
	out := t.TempDir()
	knownFindings := library.KnownFindings()
	seen := map[string]bool{}
	for _, sc := range loadLibrary(t) {
		seen[sc.Name] = true
		t.Run(sc.Name, func(t *testing.T) {
			rep := scenarios.Run(sc, scenarios.Options{OutDir: out})
			if rep.Err != nil {
				t.Fatalf("%s: %v", sc.Name, rep.Err)
			}
			if why, known := knownFindings[sc.Name]; known {
				if rep.Passed {
					t.Fatalf("%s passed, but it is listed as a known finding (%s): remove it from knownFindings in scenarios/library/library.go", sc.Name, why)
				}
				t.Logf("known finding, emulator disagrees with the documentation: %s", why)
				return
			}
			if !rep.Passed {
				t.Fatalf("%s failed:\n%s", sc.Name, strings.Join(rep.Failures, "\n"))
			}
		})
	}
	for name := range knownFindings {
		if !seen[name] {
			t.Errorf("known finding %s is not a library scenario", name)
		}
	}
}

// TestLibrarySize: the library covers every network mode with at least 40
// scenarios (issue 4 item 7).
func TestLibrarySize(t *testing.T) {
	scs := loadLibrary(t)
	if len(scs) < 40 {
		t.Errorf("got %d library scenarios, want at least 40", len(scs))
	}
	for _, mode := range []string{"nat-", "l2bridge-", "l2tunnel-", "overlay-", "transparent-"} {
		n := 0
		for _, sc := range scs {
			if strings.HasPrefix(sc.Name, mode) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no library scenario for mode %s*", mode)
		}
	}
}

// TestLibraryWithoutTraces runs the library with tracing off, as long
// captures do: the hosts' flow caches (which traced packets bypass) then
// forward the flows' later packets, and every scenario must still pass.
func TestLibraryWithoutTraces(t *testing.T) {
	knownFindings := library.KnownFindings()
	for _, sc := range loadLibrary(t) {
		if _, known := knownFindings[sc.Name]; known {
			continue
		}
		rep := scenarios.Run(sc, scenarios.Options{NoTrace: true})
		if rep.Err != nil {
			t.Errorf("%s: %v", sc.Name, rep.Err)
		} else if !rep.Passed {
			t.Errorf("%s failed without traces:\n%s", sc.Name, strings.Join(rep.Failures, "\n"))
		}
	}
}
