package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/scenarios"
)

// TestShow prints the nat topology in each format, imports the output with
// the host's NIC, and builds the result; bad flags exit 2.
func TestShow(t *testing.T) {
	topo := "../../scenarios/library/topologies/nat.yaml"
	dir := t.TempDir()
	var files []string
	for _, f := range []string{"hns-json", "hnsdiag", "get-netnat", "get-netnatstaticmapping"} {
		p := filepath.Join(dir, f+".txt")
		if code, _, stderr := runCmd(t, "show", "-t", topo, "-f", f, "-o", p); code != exitOK {
			t.Fatalf("show %s: exit %d\n%s", f, code, stderr)
		}
		files = append(files, p)
	}
	b, _ := os.ReadFile(files[2])
	if !strings.Contains(string(b), "TcpEstablishedConnectionTimeout  : 1800") {
		t.Errorf("get-netnat:\n%s", b)
	}
	out := filepath.Join(dir, "back.yaml")
	args := append([]string{"import", "-o", out, "--nic", "name=eth0,mac=00:15:5d:00:00:04,ip=10.0.0.4/24,gateway=10.0.0.1"}, files...)
	if code, _, stderr := runCmd(t, args...); code != exitOK || strings.Contains(stderr, "does not build") {
		t.Fatalf("import of show's output: exit %d\n%s", code, stderr)
	}
	back, err := scenarios.LoadTopology(out)
	if err != nil {
		t.Fatal(err)
	}
	f, err := back.Build(fabric.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.PortByName("host1/web"); !ok {
		t.Errorf("ports %v", portList(f))
	}
	code, stdout, stderr := runCmd(t, "show", "-t", topo, "-f", "get-netnatsession")
	if code != exitOK || strings.TrimSpace(stdout) != "" || !strings.Contains(stderr, "no --pcap given") {
		t.Errorf("sessions without traffic: exit %d\n%q\n%s", code, stdout, stderr)
	}
	for _, bad := range [][]string{
		{"show", "-t", topo},
		{"show", "-t", topo, "-f", "vfpctrl"},
		{"show", "-t", topo, "-f", "hnsdiag", "--pcap", "x.pcapng"},
		{"show", "-t", topo, "-f", "hnsdiag", "extra"},
	} {
		if code, _, _ := runCmd(t, bad...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
	if code, _, _ := runCmd(t, "show", "-t", filepath.Join(dir, "missing.yaml"), "-f", "hnsdiag"); code != exitFail {
		t.Errorf("missing topology: exit %d, want 1", code)
	}
	if code, _, stderr := runCmd(t, "show", "-t", topo, "-f", "hnsdiag", "--host", "nope"); code != exitFail || !strings.Contains(stderr, `no host "nope" (hosts: host1)`) {
		t.Errorf("unknown host: exit %d %s", code, stderr)
	}
}
