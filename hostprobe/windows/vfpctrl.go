package windows

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/hnspath/hnspath/emulator/vfp"
	vfptext "github.com/hnspath/hnspath/emulator/vfp/vfpctrl"
)

// vfpctrl command lines (docs/windows-tools.md §4.1: the verbs Microsoft's scripts use).
// The functions return the arguments after "vfpctrl".

// ListVMSwitchPortArgs returns `/list-vmswitch-port`: every switch port with its name,
// friendly name and MAC.
func ListVMSwitchPortArgs() []string { return []string{"/list-vmswitch-port"} }

// ListRuleArgs returns `/port P /list-rule`: every layer, group and rule of port P.
func ListRuleArgs(port string) []string { return []string{"/port", port, "/list-rule"} }

// ListLayerArgs returns `/port P /list-layer`.
func ListLayerArgs(port string) []string { return []string{"/port", port, "/list-layer"} }

// ListUnifiedFlowArgs returns `/port P /list-unified-flow`.
func ListUnifiedFlowArgs(port string) []string { return []string{"/port", port, "/list-unified-flow"} }

// GetRuleCounterArgs returns `/port P /get-rule-counter`.
func GetRuleCounterArgs(port string) []string { return []string{"/port", port, "/get-rule-counter"} }

// ProcessTuplesArgs returns `/port P /process-tuples "<proto> <src> <sport> <dst> <dport> <dir> <flags>"`:
// VFP evaluates the tuple on the port as if a packet carried it
// (microsoft/SdnDiagnostics SdnDiag.Server.psm1:3372-3381, docs/windows-tools.md §4.1).
func ProcessTuplesArgs(port string, t Tuple) []string {
	return []string{"/port", port, "/process-tuples", t.String()}
}

// Tuple is a packet's 5-tuple with a direction, as /process-tuples takes it.
type Tuple struct {
	Proto            uint8 // 6 TCP, 17 UDP
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	// Dir is vfp.In (1: to the vNIC) or vfp.Out (2: from it).
	Dir vfp.Direction
	// SYN sets flag 1 (a TCP SYN); 2 is a monitoring ping.
	SYN bool
}

// String formats t in /process-tuples order: protocol, source IP and port, destination IP
// and port, direction (1 in, 2 out), flags.
func (t Tuple) String() string {
	dir := 1
	if t.Dir == vfp.Out {
		dir = 2
	}
	flags := 0
	if t.SYN {
		flags = 1
	}
	return fmt.Sprintf("%d %s %d %s %d %d %d", t.Proto, t.Src, t.SrcPort, t.Dst, t.DstPort, dir, flags)
}

// TupleOf returns the tuple of a frame's outermost IPv4 TCP or UDP packet, in direction
// dir (Out for a frame a container sends, In for one it receives).
func TupleOf(frame []byte, dir vfp.Direction) (Tuple, bool) {
	off := 14
	if len(frame) < off {
		return Tuple{}, false
	}
	et := binary.BigEndian.Uint16(frame[12:14])
	if et == 0x8100 && len(frame) >= 18 {
		et, off = binary.BigEndian.Uint16(frame[16:18]), 18
	}
	if et != 0x0800 || len(frame) < off+20 {
		return Tuple{}, false
	}
	ip := frame[off:]
	ihl := int(ip[0]&0x0f) * 4
	proto := ip[9]
	if ihl < 20 || len(ip) < ihl+4 || (proto != 6 && proto != 17) || binary.BigEndian.Uint16(ip[6:8])&0x1fff != 0 {
		return Tuple{}, false
	}
	src, _ := netip.AddrFromSlice(ip[12:16])
	dst, _ := netip.AddrFromSlice(ip[16:20])
	l4 := ip[ihl:]
	t := Tuple{Proto: proto, Src: src, Dst: dst, SrcPort: binary.BigEndian.Uint16(l4[0:2]),
		DstPort: binary.BigEndian.Uint16(l4[2:4]), Dir: dir}
	if proto == 6 && len(l4) >= 14 {
		t.SYN = l4[13]&0x02 != 0 && l4[13]&0x10 == 0
	}
	return t, true
}

// ParseListRule reads `vfpctrl /port P /list-rule` output into the emulator's VFP model
// (emulator/vfp/vfptext.ParseListRuleFile, which reads real vfpctrl output).
func ParseListRule(name string, r io.Reader) ([]*vfp.Layer, error) {
	return vfptext.ParseListRuleFile(name, r)
}

// ParseListLayer reads `vfpctrl /port P /list-layer` output.
func ParseListLayer(r io.Reader) ([]*vfp.Layer, error) { return vfptext.ParseListLayer(r) }

// ParseRuleCounters reads `vfpctrl /port P /get-rule-counter` output.
func ParseRuleCounters(r io.Reader) ([]vfptext.RuleCounterLine, error) {
	return vfptext.ParseRuleCounters(r)
}

// Record is one block of vfpctrl "key : value" output (emulator/vfp/vfpctrl.Record).
type Record = vfptext.Record

// ParseRecords splits vfpctrl output into records (emulator/vfp/vfpctrl.ParseRecords).
func ParseRecords(name string, r io.Reader, starts ...string) ([]Record, error) {
	return vfptext.ParseRecords(name, r, starts...)
}

// SwitchPort is a port of `vfpctrl /list-vmswitch-port` (emulator/vfp/vfpctrl.SwitchPort).
type SwitchPort = vfptext.SwitchPort

// ParseSwitchPorts reads `vfpctrl /list-vmswitch-port` (emulator/vfp/vfpctrl.ParseSwitchPorts).
func ParseSwitchPorts(name string, r io.Reader) ([]SwitchPort, error) {
	return vfptext.ParseSwitchPorts(name, r)
}

// TupleVerdict is what VFP says it would do with a tuple (/process-tuples), as far as the
// output names it: the action ("allow", "block", ...), and the layer, group and rule of
// the decision. Fields are the record's keys, for what the parser does not name.
type TupleVerdict struct {
	Action             string
	Layer, Group, Rule string
	Fields             Record
}

// ParseProcessTuples reads `/process-tuples` output leniently: the first record's
// "Action"/"Verdict"/"Result" and "Layer"/"Group"/"Rule" keys. The output format is not
// public; this reads the key names vfpctrl uses elsewhere (list-rule's "Type" as action).
func ParseProcessTuples(name string, r io.Reader) (TupleVerdict, error) {
	recs, err := ParseRecords(name, r)
	if err != nil {
		return TupleVerdict{}, err
	}
	if len(recs) == 0 {
		return TupleVerdict{}, &vfptext.ParseError{File: name, Line: 1, Err: fmt.Errorf("no output")}
	}
	rec := recs[0]
	v := TupleVerdict{Fields: rec}
	for _, k := range []string{"Action", "Verdict", "Result", "Type"} {
		if x := rec.Get(k); x != "" {
			v.Action = strings.ToLower(x)
			break
		}
	}
	v.Layer, v.Group, v.Rule = rec.Get("Layer"), rec.Get("Group"), rec.Get("Rule")
	return v, nil
}

// RuleDiff is one difference between two VFP rule sets (emulator/vfp/vfptext.Diff).
type RuleDiff = vfptext.Diff

// DiffRules compares the rules the emulator programs for a port (want) with those the
// host shows (got, parsed from /list-rule), with vfptext.Check: the same check that
// `hnspath vfp check` runs on a dump from any node.
func DiffRules(want, got []*vfp.Layer) []RuleDiff {
	return vfptext.Check(want, got, vfptext.CheckOptions{})
}
