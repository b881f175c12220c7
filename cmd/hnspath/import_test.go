package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/scenarios"
)

// stripComments removes the "// SOURCE" header lines of the hns import
// fixtures (real dumps have none).
func stripComments(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "//") {
			keep = append(keep, l)
		}
	}
	if err := os.WriteFile(dst, []byte(strings.Join(keep, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestImport imports a v1 Get-HnsNetwork dump of a nat network and checks
// that the topology it writes loads and builds.
func TestImport(t *testing.T) {
	dir := t.TempDir()
	dump := filepath.Join(dir, "nat.json")
	stripComments(t, "../../emulator/hns/testdata/import/v1_network_nat.json", dump)
	out := filepath.Join(dir, "topology.yaml")
	code, stdout, stderr := runCmd(t, "import", "-o", out, "--host", "node1",
		"--nic", "name=eth0,mac=00:15:5d:00:00:04,ip=10.0.0.4/24,gateway=10.0.0.1", dump)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if strings.Contains(stderr, "does not build") {
		t.Errorf("the imported topology does not build:\n%s", stderr)
	}
	topo, err := scenarios.LoadTopology(out)
	if err != nil {
		t.Fatal(err)
	}
	f, err := topo.Build(fabric.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.PortByName("node1/eth0"); !ok || len(topo.Hosts[0].HNS.Networks) != 1 || topo.Hosts[0].HNS.Networks[0].Name != "nat" {
		t.Errorf("imported topology: ports %v, networks %+v", portList(f), topo.Hosts[0].HNS.Networks)
	}
	// Without NICs the result is written with a warning.
	code, stdout, stderr = runCmd(t, "import", dump)
	if code != exitOK || !strings.Contains(stderr, "no NICs given") || !strings.Contains(stdout, "Networks:") {
		t.Errorf("no NICs: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, _ := runCmd(t, "import", "--nic", "name=eth0,colour=blue", dump); code != exitUsage {
		t.Errorf("bad --nic: exit %d, want 2", code)
	}
	if code, _, _ := runCmd(t, "import", filepath.Join(dir, "missing.json")); code != exitFail {
		t.Errorf("missing dump: exit %d, want 1", code)
	}
}

func portList(f *fabric.Fabric) []string {
	var out []string
	for _, p := range f.Ports() {
		out = append(out, p.Name)
	}
	return out
}

// TestImportNodeText imports what real nodes print, by content: the
// hnsdiag sample that used to fail with "invalid character '#'" now fails
// naming the line and what hnsdiag does not list; a list-view endpoint
// imports; a collectlogs bundle directory imports with its NIC.
func TestImportNodeText(t *testing.T) {
	real := "../../emulator/hns/nodetext/testdata/real/"
	code, _, stderr := runCmd(t, "import", real+"hnsdiag-list-all__gist_shettyg_542f7e7b_l2bridge.txt")
	if code != exitFail || strings.Contains(stderr, "invalid character") ||
		!strings.Contains(stderr, `hnsdiag-list-all__gist_shettyg_542f7e7b_l2bridge.txt:14: network "l2bridge" (4B50C87A-4D40-4942-B5C7-AEBACB9B2986): hnsdiag lists only its name and ID; missing: its Type`) {
		t.Errorf("hnsdiag alone: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := runCmd(t, "import", real+"get-hnsendpoint-fl__mrolmedo_rke2windows_calico-overlay.txt")
	if code != exitOK || !strings.Contains(stdout, "IpAddress: 10.42.213.221") || !strings.Contains(stdout, "profile: WS2022") ||
		!strings.Contains(stderr, "Version 55834574851 = HNS 13.3: profile WS2022") {
		t.Errorf("list view: exit %d\n%s\n%s", code, stdout, stderr)
	}
	out := filepath.Join(t.TempDir(), "bundle.yaml")
	code, _, stderr = runCmd(t, "import", "-o", out, "../../scenarios/testdata/collectlogs-bundle")
	if code != exitOK || strings.Contains(stderr, "does not build") || !strings.Contains(stderr, `NIC "Ethernet" (MAC 00-15-5D-00-00-04, IP 10.0.0.4/24, gateway 10.0.0.1, MTU 1500) taken from the bundle`) {
		t.Errorf("bundle: exit %d\n%s", code, stderr)
	}
	if _, err := scenarios.LoadTopology(out); err != nil {
		t.Error(err)
	}
}
