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

// TestLibrary runs every scenario of the built-in library: each must pass.
func TestLibrary(t *testing.T) {
	out := t.TempDir()
	for _, sc := range loadLibrary(t) {
		t.Run(sc.Name, func(t *testing.T) {
			rep := scenarios.Run(sc, scenarios.Options{OutDir: out})
			if rep.Err != nil {
				t.Fatalf("%s: %v", sc.Name, rep.Err)
			}
			if !rep.Passed {
				t.Fatalf("%s failed:\n%s", sc.Name, strings.Join(rep.Failures, "\n"))
			}
		})
	}
}
