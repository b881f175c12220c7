package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/result"
)

// counterPacket is a result with a trace, for table tests.
func counterPacket(idx int, outcome string, stages ...result.Stage) *result.Packet {
	return &result.Packet{Scenario: "t", Index: idx, In: "host1/web", Frame: make(result.Hex, 60), Outcome: outcome, Trace: stages}
}

func TestCounters(t *testing.T) {
	h := func(n int) *result.Headers { return &result.Headers{Len: n} }
	pkts := []*result.Packet{
		// Delivered: vswitch, two VFP layers (one visit), NIC.
		counterPacket(1, result.OutcomeDelivered,
			result.Stage{Host: "host1", Component: "vswitch", Port: "web", Action: "forward", After: h(60)},
			result.Stage{Component: "vfp", Port: "web", Action: "allow", After: h(60)},
			result.Stage{Component: "vfp", Port: "web", Action: "encap", After: h(110)},
			result.Stage{Host: "host1", Component: "nic", Port: "eth0", Action: "transmit", After: h(110)}),
		// Dropped at VFP after one allowing layer.
		counterPacket(2, result.OutcomeDropped,
			result.Stage{Host: "host1", Component: "vswitch", Port: "web", Action: "forward", After: h(60)},
			result.Stage{Component: "vfp", Port: "web", Action: "allow", After: h(60)},
			result.Stage{Component: "vfp", Port: "web", Action: "drop", Reason: "vfp-rule-block"}),
	}
	pkts[1].Drops = []result.Drop{{Component: "vfp", Where: "web", Reason: "vfp-rule-block", Text: "blocked by VFP rule", Layer: "vfp", VFPLayer: "ACL", VFPGroup: "G", VFPRule: "R"}}
	c, err := NewCounters("t", pkts)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		name                   string
		in, out, drop, outByte int
	}
	want := []row{
		{"host1 vswitch web", 2, 2, 0, 120},
		{"host1 vfp web", 2, 1, 1, 110},
		{"host1 nic eth0", 1, 1, 0, 110},
	}
	if len(c.Components) != len(want) {
		t.Fatalf("got %d components, want %d: %+v", len(c.Components), len(want), c.Components)
	}
	for i, w := range want {
		g := c.Components[i]
		if g.Name != w.name || g.InPackets != w.in || g.OutPackets != w.out || g.DropPackets != w.drop || g.OutBytes != w.outByte {
			t.Errorf("component %d: got %+v, want %+v", i+1, *g, w)
		}
	}
	if got := c.Components[1].LastDrop; got != "vfp-rule-block (blocked by VFP rule) [ACL/G/R]" {
		t.Errorf("last drop %q", got)
	}
	if len(c.Edges) != 2 || c.Edges[0] != (EdgeCounter{1, 2, 2}) || c.Edges[1] != (EdgeCounter{2, 3, 1}) {
		t.Errorf("edges %+v", c.Edges)
	}
	var b bytes.Buffer
	if err := WriteCounters(&b, []*Counters{c}, CounterOptions{Type: "drop", DropReason: true}); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); strings.Contains(out, "Flow") || !strings.Contains(out, "Drop reason: vfp-rule-block") || strings.Contains(out, "Edges") {
		t.Errorf("--type drop --drop-reason:\n%s", out)
	}
	if _, err := NewCounters("t", []*result.Packet{counterPacket(3, result.OutcomeDelivered)}); err == nil || !strings.Contains(err.Error(), "packet 3: no trace") {
		t.Errorf("no trace: got %v", err)
	}
}
