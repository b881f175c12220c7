package windows

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/vfp"
	vfptext "github.com/hnspath/hnspath/emulator/vfp/vfpctrl"
)

// TestParseListRuleSamples reads real vfpctrl output (Microsoft's VFP.psm1 excerpt) and
// the k8s-shaped sample into the emulator's model.
func TestParseListRuleSamples(t *testing.T) {
	f, err := os.Open("testdata/vfpctrl_psm1_group_rule.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	layers, err := ParseListRule("vfpctrl_psm1_group_rule.txt", f)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 || len(layers[0].Groups) != 1 {
		t.Fatalf("got %d layers, want one (unnamed) with one group", len(layers))
	}
	g := layers[0].Groups[0]
	if g.Name != "VNET_GROUP_PA_ROUTE_IPV4_OUT" || g.Priority != 200 || g.Direction != vfp.Out || g.IPv6 || len(g.Rules) != 1 {
		t.Errorf("group: got %s priority %d %v ipv6=%v with %d rules", g.Name, g.Priority, g.Direction, g.IPv6, len(g.Rules))
	}
	r := g.Rules[0]
	if r.FriendlyName != "PA_ROUTE" || r.Priority != 45535 || !r.Terminating || r.Stateful || r.Action.TypeName != "paroute" {
		t.Errorf("rule: got %+v, want PA_ROUTE priority 45535, terminating, paroute", r)
	}
	f2, err := os.Open("testdata/list-rule-k8s-shapes.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	layers, err = ParseListRule("list-rule-k8s-shapes.txt", f2)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range layers {
		names = append(names, l.Name)
	}
	if len(names) < 2 || names[0] != "SNAT" || names[1] != "LB" {
		t.Errorf("layers: got %v, want SNAT, LB, ...", names)
	}
	if _, err := ParseListRule("bad.txt", strings.NewReader("  LAYER : X\n      Priority : many\n")); err == nil || !strings.Contains(err.Error(), "bad.txt") {
		t.Errorf("ParseListRule(bad priority): got %v, want an error naming the file", err)
	}
}

// emulatorPort returns the VFP policy the emulator programs for an endpoint.
func emulatorPort(t *testing.T, topo, host, ep string) *vfp.Port {
	t.Helper()
	f, err := fabric.New(*loadTopology(t, topo), fabric.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, ok := f.Host(host)
	if !ok {
		t.Fatalf("no host %s", host)
	}
	ei, ok := h.EndpointByName(ep)
	if !ok {
		t.Fatalf("no endpoint %s", ep)
	}
	e := h.Endpoints[ei]
	return h.VFP(e.Switch, e.Port)
}

// TestDiffRules diffs the emulator's rules for a port against the same rules printed as
// vfpctrl prints them and parsed back (no differences), then against changed copies.
func TestDiffRules(t *testing.T) {
	port := emulatorPort(t, "l2bridge", "host1", "pod-b")
	var buf bytes.Buffer
	if err := vfptext.FormatListRule(&buf, port, vfptext.Options{}); err != nil {
		t.Fatal(err)
	}
	parse := func() []*vfp.Layer {
		ls, err := ParseListRule("formatted", bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		return ls
	}
	want := port.Layers()
	if d := DiffRules(want, parse()); len(d) != 0 {
		t.Fatalf("the emulator's rules against themselves, printed and parsed: got %v", d)
	}
	got := parse()
	acl := findLayer(got, "ACL_ENDPOINT_LAYER")
	if acl == nil {
		t.Fatalf("no ACL_ENDPOINT_LAYER in %v", got)
	}
	var ssh *vfp.Rule
	for _, g := range acl.Groups {
		for _, r := range g.Rules {
			if r.Name == "block-ssh" && !g.IPv6 {
				ssh = r
			}
		}
	}
	if ssh == nil {
		t.Fatalf("no block-ssh rule")
	}
	ssh.Priority = 101
	ssh.Conditions.DstPort = []vfp.PortRange{{Lo: 2222, Hi: 2222}}
	acl.Groups[0].Rules = append(acl.Groups[0].Rules, &vfp.Rule{Name: "host-only", Action: vfp.Action{Type: vfp.ActionAllow}})
	got = append(got, &vfp.Layer{Name: "HOST_ONLY_LAYER"})
	var lines []string
	for _, d := range DiffRules(want, got) {
		lines = append(lines, d.String())
	}
	for _, w := range []string{
		"ACL_ENDPOINT_LAYER/ACL_ENDPOINT_GROUP_IPV4_IN/block-ssh: priority 100 vs 101",
		"ACL_ENDPOINT_LAYER/ACL_ENDPOINT_GROUP_IPV4_IN/block-ssh: conditions dst-port=22 proto=6 vs dst-port=2222 proto=6",
		"/host-only: only on the host",
		"HOST_ONLY_LAYER: only on the host",
	} {
		found := false
		for _, l := range lines {
			if strings.Contains(l, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("diff: missing %q in\n%s", w, strings.Join(lines, "\n"))
		}
	}
	if d := DiffRules(want, nil); len(d) != len(want) || d[0].What != "missing" {
		t.Errorf("diff against nothing: got %v, want every layer missing", d)
	}
}

func findLayer(ls []*vfp.Layer, name string) *vfp.Layer {
	for _, l := range ls {
		if l.Name == name {
			return l
		}
	}
	return nil
}

// TestParseRecords checks the key : value record splitter.
func TestParseRecords(t *testing.T) {
	in := `ITEM LIST
===========

Port name : 1A2B3C4D-0000-0000-0000-000000000001
Port Friendly name : Container NIC 1a2b3c4d
Switch name : 9C1E0A
MAC address : 00-15-5D-AA-00-02
Port is : Enabled

Port name : 1A2B3C4D-0000-0000-0000-000000000002
Port Friendly name : ExternalPort
  continued line
Command list-vmswitch-port succeeded!
`
	ports, err := ParseSwitchPorts("ports.txt", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []SwitchPort{
		{Name: "1A2B3C4D-0000-0000-0000-000000000001", FriendlyName: "Container NIC 1a2b3c4d", SwitchName: "9C1E0A", MAC: "00:15:5d:aa:00:02"},
		{Name: "1A2B3C4D-0000-0000-0000-000000000002", FriendlyName: "ExternalPort\ncontinued line"},
	}
	if !reflect.DeepEqual(ports, want) {
		t.Errorf("got %+v\nwant %+v", ports, want)
	}
	for _, tt := range []struct {
		name, in, want string
	}{
		{"error line", "Port name : x\nERROR: failed to find port\n", "bad.txt:2:"},
		{"key before record", "Switch name : x\n", "bad.txt:1:"},
		{"not key value", "garbage\n", "bad.txt:1:"},
	} {
		_, err := ParseSwitchPorts("bad.txt", strings.NewReader(tt.in))
		var pe *vfptext.ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want a ParseError at %s", tt.name, err, tt.want)
		}
	}
	v, err := ParseProcessTuples("tuples.txt", strings.NewReader("Verdict : Allow\nLayer : ACL_ENDPOINT_LAYER\nGroup : ACL_ENDPOINT_GROUP_IPV4_IN\nRule : block-ssh\nExtra : 1\n"))
	if err != nil || v.Action != "allow" || v.Layer != "ACL_ENDPOINT_LAYER" || v.Rule != "block-ssh" || v.Fields.Get("extra") != "1" {
		t.Errorf("ParseProcessTuples: got %+v, %v", v, err)
	}
	if _, err := ParseProcessTuples("empty.txt", strings.NewReader("Command process-tuples succeeded!\n")); err == nil {
		t.Errorf("ParseProcessTuples(no output): got nil error")
	}
}

// TestTuple checks /process-tuples arguments from frames.
func TestTuple(t *testing.T) {
	syn := []byte{
		0, 0x15, 0x5d, 0, 0, 4, 2, 0, 0, 0, 0, 0x99, 0x08, 0x00, // Ethernet
		0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 99, 10, 0, 0, 4, // IPv4, DF
		0x9c, 0x40, 0x1f, 0x92, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0, 0, 0, 0, 0, // TCP 40000 > 8082 SYN
	}
	tu, ok := TupleOf(syn, vfp.In)
	want := Tuple{Proto: 6, Src: netip.MustParseAddr("10.0.0.99"), SrcPort: 40000, Dst: netip.MustParseAddr("10.0.0.4"), DstPort: 8082, Dir: vfp.In, SYN: true}
	if !ok || tu != want {
		t.Fatalf("TupleOf: got %+v %v, want %+v", tu, ok, want)
	}
	if got := strings.Join(ProcessTuplesArgs("PORT1", tu), " "); got != "/port PORT1 /process-tuples 6 10.0.0.99 40000 10.0.0.4 8082 1 1" {
		t.Errorf("ProcessTuplesArgs: got %q", got)
	}
	tu.Dir, tu.SYN = vfp.Out, false
	if got := tu.String(); got != "6 10.0.0.99 40000 10.0.0.4 8082 2 0" {
		t.Errorf("String: got %q", got)
	}
	ack := append([]byte(nil), syn...)
	ack[47] = 0x12 // SYN+ACK
	if tu, _ := TupleOf(ack, vfp.In); tu.SYN {
		t.Errorf("TupleOf(SYN-ACK): SYN flag set, want only for a SYN")
	}
	for _, bad := range [][]byte{nil, syn[:20], syn[:36], append(append([]byte(nil), syn[:23]...), 1)} {
		if _, ok := TupleOf(bad, vfp.In); ok {
			t.Errorf("TupleOf(% x): ok, want not", bad)
		}
	}
}

// FuzzParseRecords checks that no vfpctrl text makes the record parser panic.
func FuzzParseRecords(f *testing.F) {
	f.Add("Port name : a\nMAC address : 00-15-5D-AA-00-02\n  more\nERROR: x\n")
	f.Add("ITEM LIST\n===\nUNIFIED FLOW : OUT tcp\n      Direction : OUT\n")
	f.Add("key:value\n : \n")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseRecords("fuzz", strings.NewReader(s))
		_, _ = ParseRecords("fuzz", strings.NewReader(s), "Port name", "UNIFIED FLOW")
		_, _ = ParseProcessTuples("fuzz", strings.NewReader(s))
	})
}
