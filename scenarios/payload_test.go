package scenarios_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/scenarios"
)

// TestLibraryPayloadsDecode: every frame of every library scenario (inputs
// and outputs, as written to the pcapng) decodes in Wireshark's dissectors
// without "Malformed Packet": a payload on a well-known port (DNS on 53,
// mDNS on 5353, ...) must be a valid message of that protocol, because
// Wireshark decodes it as one. tshark -V prints every dissected field; a
// malformed frame shows "[Malformed Packet" in its tree.
func TestLibraryPayloadsDecode(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (apt-get install tshark; .ci/run installs it): the library's payloads are not checked with Wireshark's dissectors")
	}
	dir := t.TempDir()
	for _, sc := range loadLibrary(t) {
		if rep := scenarios.Run(sc, scenarios.Options{OutDir: dir}); rep.Err != nil {
			t.Fatalf("%s: %v", sc.Name, rep.Err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcapng"))
	if len(files) == 0 {
		t.Fatal("no pcapng written")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".pcapng")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			frame := ""
			for _, l := range strings.Split(tshark(t, f, "-V"), "\n") {
				if strings.HasPrefix(l, "Frame ") {
					frame, _, _ = strings.Cut(l, ":")
				}
				if strings.Contains(l, "Malformed") {
					t.Errorf("%s.pcapng: %s: %s (library/%s.yaml: give the payload the port's protocol, or another port)", name, frame, strings.TrimSpace(l), name)
				}
			}
		})
	}
}
