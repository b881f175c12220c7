package windows

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/hnspath/hnspath/emulator/vfp"
	vfptext "github.com/hnspath/hnspath/emulator/vfp/vfpctrl"
	"github.com/hnspath/hnspath/pktmon"
)

// vfpctrl command lines (reference/hcn-schema.md §4.1: the verbs Microsoft's scripts use).
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
// (microsoft/SdnDiagnostics SdnDiag.Server.psm1:3372-3381, reference/samples/vfpctrl_output_field_names__*).
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

// Record is one block of vfpctrl "key : value" output: a switch port of
// /list-vmswitch-port, a unified flow of /list-unified-flow, the answer of
// /process-tuples.
type Record struct {
	// Header is the line that opened the record ("UNIFIED FLOW : OUT tcp ...",
	// "Port name : ..."), trimmed.
	Header string
	// Line is the header's 1-based line number.
	Line int
	// Keys are the record's keys in order, Values their values (a key that repeats
	// keeps every value, joined by "\n").
	Keys   []string
	Values map[string]string
}

// Get returns the value of key (case-insensitive), or "".
func (r *Record) Get(key string) string {
	for _, k := range r.Keys {
		if strings.EqualFold(k, key) {
			return r.Values[k]
		}
	}
	return ""
}

// ParseRecords splits vfpctrl output into records. A record starts at a line whose key
// is one of starts (case-insensitive; e.g. "Port name" for /list-vmswitch-port,
// "UNIFIED FLOW" for /list-unified-flow), or at the first "key : value" line when
// starts is empty; "ITEM LIST", "=====" lines, blank lines and "Command ... succeeded!"
// end nothing and are skipped. A line starting with "ERROR:" is an error naming the line.
// Lines without " : " continue the previous value. The real formats of
// /list-unified-flow and /process-tuples are not public (reference/hcn-schema.md §6):
// the parser keeps every key, so callers read the ones they know.
func ParseRecords(name string, r io.Reader, starts ...string) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	var out []Record
	var cur *Record
	last := ""
	line := 0
	for sc.Scan() {
		line++
		raw := strings.TrimRight(sc.Text(), "\r")
		s := strings.TrimSpace(raw)
		switch {
		case s == "", s == "ITEM LIST", strings.HasPrefix(s, "====="), strings.HasPrefix(s, "Command ") && strings.HasSuffix(strings.TrimSuffix(s, "!"), "succeeded"):
			continue
		case strings.HasPrefix(s, "ERROR:"):
			return out, &vfptext.ParseError{File: name, Line: line, Field: "ERROR", Err: fmt.Errorf("%s", strings.TrimSpace(strings.TrimPrefix(s, "ERROR:")))}
		}
		key, val, ok := strings.Cut(s, " : ")
		if !ok {
			if k, found := strings.CutSuffix(s, " :"); found {
				key, val, ok = k, "", true
			} else if k, v, found := strings.Cut(s, ": "); found && !strings.Contains(k, " ") {
				key, val, ok = k, v, true
			}
		}
		if !ok {
			if cur != nil && last != "" {
				cur.Values[last] += "\n" + s
				continue
			}
			return out, &vfptext.ParseError{File: name, Line: line, Field: "", Err: fmt.Errorf("line %q is not \"key : value\"", pktmon.Clip(s))}
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		opens := cur == nil && len(starts) == 0
		for _, st := range starts {
			if strings.EqualFold(key, st) {
				opens = true
			}
		}
		if opens {
			out = append(out, Record{Header: s, Line: line, Values: map[string]string{}})
			cur = &out[len(out)-1]
		}
		if cur == nil {
			return out, &vfptext.ParseError{File: name, Line: line, Field: key, Err: fmt.Errorf("key before the first record (want one of %q)", starts)}
		}
		if old, dup := cur.Values[key]; dup {
			cur.Values[key] = old + "\n" + val
		} else {
			cur.Keys = append(cur.Keys, key)
			cur.Values[key] = val
		}
		last = key
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// SwitchPort is a port of `vfpctrl /list-vmswitch-port`.
type SwitchPort struct {
	Name, FriendlyName string
	SwitchName         string
	MAC                string // lower case with colons, "" when not printed
}

// ParseSwitchPorts reads `vfpctrl /list-vmswitch-port` (fields "Port name", "Port
// Friendly name", "Switch name", "MAC address" as Microsoft's parsers read them,
// SdnDiag.Server.psm1:2361-2500).
func ParseSwitchPorts(name string, r io.Reader) ([]SwitchPort, error) {
	recs, err := ParseRecords(name, r, "Port name")
	if err != nil {
		return nil, err
	}
	out := make([]SwitchPort, 0, len(recs))
	for _, rec := range recs {
		sp := SwitchPort{Name: rec.Get("Port name"), FriendlyName: rec.Get("Port Friendly name"), SwitchName: rec.Get("Switch name")}
		if m := rec.Get("MAC address"); m != "" {
			sp.MAC = pktmon.NormMAC(m)
		} else if m := rec.Get("MAC Address"); m != "" {
			sp.MAC = pktmon.NormMAC(m)
		}
		out = append(out, sp)
	}
	return out, nil
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
