package scenarios

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hnspath/hnspath/internal/input"
)

// manyKeys returns a document with one mapping of n keys, YAML or JSON.
func manyKeys(n int, json bool) []byte {
	var b strings.Builder
	if json {
		b.WriteString("{")
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(",\n")
			}
			fmt.Fprintf(&b, "%q: %d", fmt.Sprintf("key%d", i), i)
		}
		b.WriteString("}\n")
		return []byte(b.String())
	}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "key%d: %d\n", i, i)
	}
	return []byte(b.String())
}

// parseTime returns the best of three times to parse doc.
func bestParse(t *testing.T, file string, doc []byte, keys int) time.Duration {
	t.Helper()
	best := time.Duration(1<<63 - 1)
	for range 3 {
		start := time.Now()
		n, err := parseDocument(file, doc)
		d := time.Since(start)
		if err != nil {
			t.Fatalf("%s: %d keys: %v", file, keys, err)
		}
		if len(n.Keys) != keys || n.get(fmt.Sprintf("key%d", keys-1)) == nil {
			t.Fatalf("%s: got %d keys, want %d", file, len(n.Keys), keys)
		}
		best = min(best, d)
	}
	return best
}

// TestManyKeysLinear parses one mapping of 200,000 keys and one of 20,000
// (YAML and JSON): the duplicate-key check must not scan every earlier key
// (which measured 25 s for 40,000 keys). The bound is generous (a loaded
// machine) and the growth is checked as a ratio: 10 times the keys must
// cost well under 100 times the time, which is what a quadratic check
// costs.
func TestManyKeysLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("parses 400,000 keys")
	}
	for _, tc := range []struct {
		file string
		json bool
	}{{"keys.yaml", false}, {"keys.json", true}} {
		t.Run(tc.file, func(t *testing.T) {
			// Linearity is checked by structure, not by the clock (a loaded
			// machine must not fail it): a large mapping is looked up
			// through its index, so each key costs O(1) to check for a
			// duplicate. The time bound only catches a return of the
			// quadratic scan (40,000 keys took 25 s with it; 200,000 would
			// take minutes) with a wide margin.
			doc := manyKeys(200_000, tc.json)
			n, err := parseDocument(tc.file, doc)
			if err != nil {
				t.Fatal(err)
			}
			if n.index == nil || len(n.index) != 200_000 {
				t.Fatalf("a 200,000-key mapping has no key index (%d entries): duplicate checks scan every earlier key", len(n.index))
			}
			large := bestParse(t, tc.file, doc, 200_000)
			t.Logf("200,000 keys %v", large)
			if large > 60*time.Second {
				t.Errorf("200,000 keys took %v, want well under a minute (the quadratic scan takes many minutes)", large)
			}
		})
	}
}

// TestDuplicateKeyIndexed checks the duplicate-key error in a mapping large
// enough to be indexed, and in a small one.
func TestDuplicateKeyIndexed(t *testing.T) {
	for _, n := range []int{3, 100} {
		for _, json := range []bool{false, true} {
			doc := manyKeys(n, json)
			file := "dup.yaml"
			if json {
				file = "dup.json"
				doc = append(doc[:len(doc)-2], []byte(",\n\"key1\": 0}\n")...)
			} else {
				doc = append(doc, []byte("key1: 0\n")...)
			}
			_, err := parseDocument(file, doc)
			var ie *InputError
			if !errors.As(err, &ie) || ie.Line != n+1 || !strings.Contains(err.Error(), `key "key1" given twice`) {
				t.Errorf("%s with %d keys: error %v, want line %d: key \"key1\" given twice", file, n, err, n+1)
			}
		}
	}
}

// TestLoadDevZero checks that a scenario or topology read from /dev/zero
// is refused quickly, naming the file and the limit, without reading it
// whole.
func TestLoadDevZero(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	old := input.Limit
	input.Limit = 1 << 20
	defer func() { input.Limit = old }()
	for _, load := range []struct {
		name string
		f    func(string) error
	}{
		{"Load", func(p string) error { _, err := Load(p); return err }},
		{"LoadTopology", func(p string) error { _, err := LoadTopology(p); return err }},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		err := load.f("/dev/zero")
		runtime.ReadMemStats(&after)
		if !errors.Is(err, input.ErrTooLarge) || !strings.Contains(err.Error(), "/dev/zero") || !strings.Contains(err.Error(), "1048576 bytes") {
			t.Errorf("%s(/dev/zero) = %v; want the file and the limit of 1048576 bytes named", load.name, err)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
			t.Errorf("%s(/dev/zero) allocated %d bytes, want < 16 MiB (limit 1 MiB)", load.name, got)
		}
	}
	// A regular file over the limit is refused from its size.
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, manyKeys(100_000, false), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTopology(big); !errors.Is(err, input.ErrTooLarge) || !strings.Contains(err.Error(), big) {
		t.Errorf("LoadTopology(%d-byte file, limit 1 MiB) = %v; want too large, naming the file", 1<<20, err)
	}
}
