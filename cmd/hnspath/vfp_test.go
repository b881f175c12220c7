package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/vfp/vfpctrl"
	"github.com/hnspath/hnspath/pcapio"
)

const l2bridgeTopo = "../../emulator/fabric/testdata/l2bridge.json"

// TestVFPListRuleParses prints a port's rules and reads them back with the
// vfpctrl parser, which also reads real hosts' output.
func TestVFPListRuleParses(t *testing.T) {
	code, out, errs := runCmd(t, "vfp", "--topology", l2bridgeTopo, "--port", "host1/pod-b")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"LAYER : ACL_ENDPOINT_LAYER", "RULE : block-ssh", "LAYER : SNAT", "LAYER : LB", "Type : lbnat"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	body := out[strings.Index(out, "\n")+1:]
	layers, err := vfpctrl.ParseListRule(strings.NewReader(body))
	if err != nil {
		t.Fatalf("ParseListRule: %v", err)
	}
	names := map[string]bool{}
	for _, l := range layers {
		names[l.Name] = true
	}
	for _, want := range []string{"ACL_ENDPOINT_LAYER", "SNAT", "LB", "INTERNAL_L2_REWRITE_LAYER"} {
		if !names[want] {
			t.Errorf("parsed layers %v lack %s", names, want)
		}
	}
}

// TestVFPFlowsAfterTraffic replays a capture and shows the unified flows and
// counters of the port it went through.
func TestVFPFlowsAfterTraffic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "in.pcapng")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcapio.NewNgWriter(f, pcapio.NgOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fr := emutest.UDP4(t, "00:15:5d:01:01:02", "00:15:5d:01:01:03", "10.244.1.2", "10.244.1.3", 1000, 9000, []byte("x"))
	for i := 0; i < 3; i++ {
		if err := w.Write(pcapio.Packet{Port: "host1/pod-a", Time: time.Unix(100, int64(i)), Data: fr}); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	f.Close()
	code, out, errs := runCmd(t, "vfp", "--topology", l2bridgeTopo, "--port", "host1/pod-a", "--pcap", path, "--list-unified-flow", "--get-port-counter")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "10.244.1.2") || !strings.Contains(out, "/get-port-counter") {
		t.Fatalf("no flow of 10.244.1.2 or no counters in:\n%s", out)
	}
	if code, _, errs := runCmd(t, "vfp", "--topology", l2bridgeTopo, "--port", "host1/nope"); code != exitFail || !strings.Contains(errs, "no VFP policy") {
		t.Fatalf("unknown port: exit %d %q", code, errs)
	}
}
