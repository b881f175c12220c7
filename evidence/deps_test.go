package evidence

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestDeps checks the tier rule of evidence (docs/design.md §1): it is a job,
// so it imports the emulator and the neutral packages but no other job
// (scenarios, bench, hostprobe) and not reports or cmd; its comparison
// types import only the standard library, so that reports can render
// them without the datapath.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/hnspath/hnspath/"
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		rel := strings.TrimPrefix(p.ImportPath, mod)
		for _, d := range p.Deps {
			dep, ours := strings.CutPrefix(d, mod)
			switch {
			case rel == "evidence/comparison" && strings.Contains(strings.SplitN(d, "/", 2)[0], "."):
				t.Errorf("%s depends on %s: it may use the standard library only", rel, d)
			case !ours:
			case strings.HasPrefix(dep, "scenarios") || strings.HasPrefix(dep, "bench") || strings.HasPrefix(dep, "hostprobe") ||
				strings.HasPrefix(dep, "reports") || strings.HasPrefix(dep, "cmd"):
				t.Errorf("%s depends on %s: evidence may not use another job, reports or cmd", rel, dep)
			}
		}
	}
	if n < 2 {
		t.Fatalf("go list found %d packages under evidence", n)
	}
}
