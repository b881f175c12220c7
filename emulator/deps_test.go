package emulator_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestDeps enforces docs/design.md §1 and docs/style.md §1: the emulator uses the
// standard library only (tests may use gopacket as an oracle), and inside it
// header and checksum are leaves, packet builds on them alone, and winnat
// and vfp never import each other (Tailscale tstest/deptest pattern).
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/hnspath/hnspath/"
	allowed := map[string][]string{
		"emulator/header":   {"emulator/checksum"},
		"emulator/checksum": {},
		"emulator/packet":   {"emulator/header", "emulator/checksum"},
		"emulator/drop":     {},
		"emulator/flow":     {},
		"emulator/trace":    {"emulator/drop", "emulator/header", "emulator/packet", "emulator/checksum"},
		"emulator/winnat":   {"emulator/header", "emulator/checksum", "emulator/packet", "emulator/drop", "emulator/trace", "emulator/flow"},
		"emulator/vfp":      {"emulator/header", "emulator/checksum", "emulator/packet", "emulator/drop", "emulator/trace", "emulator/flow"},
		"emulator/vswitch":  {"emulator/header", "emulator/checksum", "emulator/packet", "emulator/drop"},
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, mod)
		n++
		for _, imp := range p.Imports {
			if !strings.Contains(imp, ".") {
				continue // standard library
			}
			if rel == "emulator/emutest" && strings.HasPrefix(imp, "github.com/gopacket/gopacket") {
				continue // the test helpers decode with gopacket, the independent oracle
			}
			if !strings.HasPrefix(imp, mod+"emulator/") {
				t.Errorf("%s imports %s: the emulator may import only the standard library and itself", rel, imp)
				continue
			}
			dep := strings.TrimPrefix(imp, mod)
			if strings.HasPrefix(dep, "emulator/emutest") {
				t.Errorf("%s imports %s outside tests", rel, dep)
			}
			if ok, known := allowed[rel]; known && !contains(ok, dep) {
				t.Errorf("%s imports %s; allowed: %v", rel, dep, ok)
			}
		}
	}
	if n < 10 {
		t.Fatalf("go list found %d packages under emulator", n)
	}
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
