package windows

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/emulator/vfp"
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
// (emulator/vfp.ParseListRule, which reads real vfpctrl output).
func ParseListRule(name string, r io.Reader) ([]*vfp.Layer, error) {
	return vfp.ParseListRuleFile(name, r)
}

// ParseListLayer reads `vfpctrl /port P /list-layer` output.
func ParseListLayer(r io.Reader) ([]*vfp.Layer, error) { return vfp.ParseListLayer(r) }

// ParseRuleCounters reads `vfpctrl /port P /get-rule-counter` output.
func ParseRuleCounters(r io.Reader) ([]vfp.RuleCounterLine, error) { return vfp.ParseRuleCounters(r) }

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
			return out, &vfp.ParseError{File: name, Line: line, Field: "ERROR", Err: fmt.Errorf("%s", strings.TrimSpace(strings.TrimPrefix(s, "ERROR:")))}
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
			return out, &vfp.ParseError{File: name, Line: line, Field: "", Err: fmt.Errorf("line %q is not \"key : value\"", pktmon.Clip(s))}
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
			return out, &vfp.ParseError{File: name, Line: line, Field: key, Err: fmt.Errorf("key before the first record (want one of %q)", starts)}
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
		return TupleVerdict{}, &vfp.ParseError{File: name, Line: 1, Err: fmt.Errorf("no output")}
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

// RuleDiff is one difference between two VFP rule sets.
type RuleDiff struct {
	// Path is "LAYER", "LAYER/GROUP" or "LAYER/GROUP/RULE".
	Path string
	// What is "missing" (only in want), "extra" (only in got) or a field name.
	What      string
	Want, Got string
}

// String formats d, e.g. `SNAT/SNAT_GROUP_IPV4_OUT/SNAT_TCP: priority 100 vs 200`.
func (d RuleDiff) String() string {
	switch d.What {
	case "missing":
		return d.Path + ": missing on the host"
	case "extra":
		return d.Path + ": only on the host"
	}
	return fmt.Sprintf("%s: %s %s vs %s", d.Path, d.What, dashIfEmpty(d.Want), dashIfEmpty(d.Got))
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// DiffRules compares the rules the emulator programs for a port (want) with those the
// host shows (got, parsed from /list-rule): layers, groups and rules are matched by name,
// and matched ones are compared on priority, direction, type, flags, conditions and
// flow TTL. Rule names that HNS generates (GUIDs) rarely match the emulator's, so rules
// are matched by name first, then by friendly name.
func DiffRules(want, got []*vfp.Layer) []RuleDiff {
	var out []RuleDiff
	gl := map[string]*vfp.Layer{}
	for _, l := range got {
		gl[l.Name] = l
	}
	for _, wl := range want {
		hl, ok := gl[wl.Name]
		if !ok {
			out = append(out, RuleDiff{Path: wl.Name, What: "missing"})
			continue
		}
		delete(gl, wl.Name)
		cmp := func(path, what string, a, b any) {
			if fmt.Sprint(a) != fmt.Sprint(b) {
				out = append(out, RuleDiff{Path: path, What: what, Want: fmt.Sprint(a), Got: fmt.Sprint(b)})
			}
		}
		cmp(wl.Name, "priority", wl.Priority, hl.Priority)
		cmp(wl.Name, "stateful", wl.Stateful, hl.Stateful)
		gg := map[string]*vfp.Group{}
		for _, g := range hl.Groups {
			gg[g.Name] = g
		}
		for _, wg := range wl.Groups {
			path := wl.Name + "/" + wg.Name
			hg, ok := gg[wg.Name]
			if !ok {
				out = append(out, RuleDiff{Path: path, What: "missing"})
				continue
			}
			delete(gg, wg.Name)
			cmp(path, "priority", wg.Priority, hg.Priority)
			cmp(path, "direction", wg.Direction, hg.Direction)
			cmp(path, "ipv6", wg.IPv6, hg.IPv6)
			cmp(path, "lpm", wg.LPM, hg.LPM)
			out = append(out, diffGroupRules(path, wg.Rules, hg.Rules)...)
		}
		for _, name := range sortedKeys(gg) {
			out = append(out, RuleDiff{Path: wl.Name + "/" + name, What: "extra"})
		}
	}
	for _, name := range sortedKeys(gl) {
		out = append(out, RuleDiff{Path: name, What: "extra"})
	}
	return out
}

func diffGroupRules(path string, want, got []*vfp.Rule) []RuleDiff {
	var out []RuleDiff
	used := make([]bool, len(got))
	find := func(w *vfp.Rule) *vfp.Rule {
		for i, g := range got {
			if !used[i] && g.Name == w.Name && w.Name != "" {
				used[i] = true
				return g
			}
		}
		for i, g := range got {
			if !used[i] && w.FriendlyName != "" && g.FriendlyName == w.FriendlyName {
				used[i] = true
				return g
			}
		}
		return nil
	}
	for _, w := range want {
		rp := path + "/" + ruleLabel(w)
		g := find(w)
		if g == nil {
			out = append(out, RuleDiff{Path: rp, What: "missing"})
			continue
		}
		cmp := func(what string, a, b string) {
			if a != b {
				out = append(out, RuleDiff{Path: rp, What: what, Want: a, Got: b})
			}
		}
		cmp("priority", strconv.FormatUint(uint64(w.Priority), 10), strconv.FormatUint(uint64(g.Priority), 10))
		cmp("type", actionName(w.Action), actionName(g.Action))
		cmp("terminating", strconv.FormatBool(w.Terminating), strconv.FormatBool(g.Terminating))
		cmp("stateful", strconv.FormatBool(w.Stateful), strconv.FormatBool(g.Stateful))
		cmp("conditions", conditionsString(w.Conditions), conditionsString(g.Conditions))
		if w.FlowTTL != 0 && g.FlowTTL != 0 {
			cmp("flow ttl", w.FlowTTL.String(), g.FlowTTL.String())
		}
	}
	for i, g := range got {
		if !used[i] {
			out = append(out, RuleDiff{Path: path + "/" + ruleLabel(g), What: "extra"})
		}
	}
	return out
}

func ruleLabel(r *vfp.Rule) string {
	if r.Name != "" {
		return r.Name
	}
	return r.FriendlyName
}

func actionName(a vfp.Action) string {
	if a.TypeName != "" {
		return a.TypeName
	}
	return a.Type.String()
}

// conditionsString formats conditions in a canonical order for comparison.
func conditionsString(c vfp.Conditions) string {
	var parts []string
	add := func(name string, vals []string) {
		if len(vals) == 0 {
			return
		}
		sort.Strings(vals)
		parts = append(parts, name+"="+strings.Join(vals, ","))
	}
	var v []string
	for _, m := range c.SrcMAC {
		v = append(v, m.String())
	}
	add("src-mac", v)
	v = nil
	for _, m := range c.DstMAC {
		v = append(v, m.String())
	}
	add("dst-mac", v)
	v = nil
	for _, p := range c.SrcIP {
		v = append(v, p.String())
	}
	add("src-ip", v)
	v = nil
	for _, p := range c.DstIP {
		v = append(v, p.String())
	}
	add("dst-ip", v)
	v = nil
	for _, p := range c.SrcPort {
		v = append(v, p.String())
	}
	add("src-port", v)
	v = nil
	for _, p := range c.DstPort {
		v = append(v, p.String())
	}
	add("dst-port", v)
	v = nil
	for _, p := range c.Protocols {
		v = append(v, strconv.Itoa(int(p)))
	}
	add("proto", v)
	v = nil
	for _, n := range c.VNI {
		v = append(v, strconv.FormatUint(uint64(n), 10))
	}
	add("vni", v)
	return strings.Join(parts, " ")
}

func sortedKeys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
