package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/reports"
	"github.com/hnspath/hnspath/result"
)

// TestCountersGolden: the counters of a scenario, with drop reasons
// (golden file). The VSID mismatch is pktmon's DropReason 20 at the
// vSwitch (pktmon's own table, pktmon/testdata).
func TestCountersGolden(t *testing.T) {
	code, stdout, stderr := runCmd(t, "counters", "--drop-reason", "-s", "../../scenarios/library/overlay-vni-mismatch.yaml")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "Drop reason: vsid-mismatch (Virtual Subnet ID does not match), pktmon DropReason 20") {
		t.Errorf("no drop reason with its number:\n%s", stdout)
	}
	checkGolden(t, "counters/overlay-vni-mismatch.golden", []byte(stdout))
}

// TestCountersAgreeWithOutputs runs the library and checks the counters
// of every scenario against what the results say without the trace: the
// drop counters add up to the results' drops, and each NIC's flow
// counter to the frames observed on that NIC's wire (wire-rx and wire-tx
// outputs, which the fabric records where the frame crosses the wire, not
// from the trace).
func TestCountersAgreeWithOutputs(t *testing.T) {
	out := t.TempDir()
	if code, stdout, stderr := runCmd(t, "run", "--out", out); code != exitOK {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.results.jsonl"))
	if len(files) < 30 {
		t.Fatalf("%d results files", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pkts, err := result.ReadAll(bytes.NewReader(data), f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		c, err := reports.NewCounters(name, pkts)
		if err != nil {
			t.Fatal(err)
		}
		drops, wire := 0, map[string]int{}
		for _, p := range pkts {
			drops += len(p.Drops)
			for _, o := range p.Outputs {
				if o.Kind == result.KindWireRx || o.Kind == result.KindWireTx {
					wire[o.Port]++
				}
			}
		}
		counted, nic := 0, map[string]int{}
		for _, cc := range c.Components {
			counted += cc.DropPackets
			if parts := strings.Fields(cc.Name); len(parts) == 3 && parts[1] == "nic" {
				nic[parts[0]+"/"+parts[2]] += cc.InPackets
			}
		}
		if counted != drops {
			t.Errorf("%s: drop counters add up to %d, the results have %d drops", name, counted, drops)
		}
		for port, n := range nic {
			if wire[port] != n {
				t.Errorf("%s: %s: the NIC's flow counter is %d, %d frames crossed its wire", name, port, n, wire[port])
			}
		}
	}
}

// TestCountersErrors: bad flags and inputs.
func TestCountersErrors(t *testing.T) {
	dir := t.TempDir()
	if code, _, _ := runCmd(t, "counters"); code != exitUsage {
		t.Errorf("no input: exit %d, want %d", code, exitUsage)
	}
	if code, _, _ := runCmd(t, "counters", "--type", "flows", dir); code != exitUsage {
		t.Errorf("bad --type: exit %d, want %d", code, exitUsage)
	}
	if code, _, errs := runCmd(t, "counters", dir); code != exitFail || !strings.Contains(errs, "no NAME.results.jsonl files") {
		t.Errorf("empty directory: exit %d, stderr %q", code, errs)
	}
	bad := filepath.Join(dir, "x.results.jsonl")
	if err := os.WriteFile(bad, []byte("{\"packet\": 1}\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCmd(t, "counters", bad); code != exitFail || !strings.Contains(errs, bad+":") {
		t.Errorf("bad results file: exit %d, stderr %q", code, errs)
	}
	out := filepath.Join(dir, "run")
	if code, _, errs := runCmd(t, "run", "--no-trace", "--out", out, "../../scenarios/library/nat-outbound-udp.yaml"); code != exitOK {
		t.Fatalf("run: %s", errs)
	}
	if code, _, errs := runCmd(t, "counters", out); code != exitFail || !strings.Contains(errs, "no trace") {
		t.Errorf("results without traces: exit %d, stderr %q", code, errs)
	}
}
