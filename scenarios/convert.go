package scenarios

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/trace"
	"github.com/hnspath/hnspath/result"
)

// toResult turns the outcome of one injected frame into a result, copying
// every frame (the outcome aliases the fabric's buffers).
func toResult(f *fabric.Fabric, scenario string, index int, in fabric.PortID, now int64, frame []byte, o *fabric.Outcome, withTrace bool) *result.Packet {
	p := &result.Packet{Scenario: scenario, Backend: result.BackendEmulator, Index: index, In: f.Port(in).Name,
		TimeNS: now, Frame: bytes.Clone(frame)}
	delivered := false
	for _, out := range o.Outputs {
		kind := result.KindDelivered
		switch out.Kind {
		case fabric.WireTx:
			kind = result.KindWireTx
		case fabric.WireRx:
			kind = result.KindWireRx
		default:
			delivered = true
		}
		p.Outputs = append(p.Outputs, result.Output{Port: f.Port(out.Port).Name, Kind: kind, Frame: bytes.Clone(out.Frame)})
	}
	for _, d := range o.Drops {
		rd := result.Drop{Host: d.Host, Component: d.Component, Where: d.Where, Reason: d.Reason.Slug(), Text: d.Reason.Text(),
			Layer: d.Reason.Layer().String(), VFPLayer: d.Layer, VFPGroup: d.Group, VFPRule: d.Rule, Frame: bytes.Clone(d.Frame)}
		if c := d.Reason.Code(); c >= 0 {
			rd.Code = c
		}
		if d.Port != fabric.NoPort {
			rd.Port = f.Port(d.Port).Name
		} else {
			rd.Port = p.In
		}
		p.Drops = append(p.Drops, rd)
	}
	switch {
	case delivered:
		p.Outcome = result.OutcomeDelivered
	case len(p.Drops) > 0:
		p.Outcome = result.OutcomeDropped
	default:
		p.Outcome = result.OutcomeConsumed
	}
	if withTrace {
		for _, e := range o.Trace.Events {
			p.Trace = append(p.Trace, stage(e))
		}
	}
	return p
}

func stage(e trace.Event) result.Stage {
	s := result.Stage{Host: e.Host, Component: e.Component, Port: e.Port, Action: e.Action, Detail: e.Detail,
		VFPLayer: e.Layer, VFPGroup: e.Group, VFPRule: e.Rule}
	if e.Reason != drop.None {
		s.Reason = e.Reason.Slug()
	}
	s.Before = headers(e.Before)
	s.After = headers(e.After)
	return s
}

// headers converts a trace snapshot; nil when the snapshot is empty.
func headers(s trace.Snapshot) *result.Headers {
	if s.Len == 0 && !s.Valid {
		return nil
	}
	h := &result.Headers{Len: s.Len, VLAN: int(s.VID)}
	var zero [6]byte
	if s.SrcMAC != zero || s.DstMAC != zero {
		h.SrcMAC, h.DstMAC = s.SrcMAC.String(), s.DstMAC.String()
	}
	if s.Src.IsValid() {
		h.Src = s.Src.String()
	}
	if s.Dst.IsValid() {
		h.Dst = s.Dst.String()
	}
	switch s.Kind {
	case packet.KindARP:
		h.Proto = "arp"
	case packet.KindIPv4, packet.KindIPv6:
		h.Proto = result.ProtoName(s.Proto)
		h.TTL = int(s.TTL)
		h.SrcPort, h.DstPort = int(s.SrcPort), int(s.DstPort)
		if s.Proto == 6 {
			h.TCPFlags = tcpFlags(s.TCPFlags)
		}
		if s.Proto == 1 || s.Proto == 58 {
			h.SrcPort, h.DstPort = 0, 0
		}
	}
	if s.Encap {
		h.VNI = int(s.VNI)
		if s.InnerSrc.IsValid() {
			h.InnerSrc = s.InnerSrc.String()
		}
		if s.InnerDst.IsValid() {
			h.InnerDst = s.InnerDst.String()
		}
	}
	return h
}

// tcpFlags prints TCP flags as scapy does: letters of FSRPAUEC.
func tcpFlags(f uint8) string {
	const letters = "FSRPAUEC"
	var b strings.Builder
	for i := 0; i < 8; i++ {
		if f&(1<<i) != 0 {
			b.WriteByte(letters[i])
		}
	}
	return b.String()
}

// DropComment is the pcapng comment of a dropped frame:
//
//	drop: winnat-no-mapping (no mapping) at host1/tcpip/eth0 [layer/group/rule]
func DropComment(d *result.Drop) string {
	var b strings.Builder
	fmt.Fprintf(&b, "drop: %s", d.Reason)
	switch n := dropNumber(d.Reason, d.Layer, d.Code); {
	case d.Text != "" && n != "":
		fmt.Fprintf(&b, " (%s, %s)", d.Text, n)
	case d.Text != "" || n != "":
		fmt.Fprintf(&b, " (%s)", d.Text+n)
	}
	var where []string
	for _, s := range []string{d.Host, d.Component, d.Where} {
		if s != "" {
			where = append(where, s)
		}
	}
	if len(where) > 0 {
		b.WriteString(" at ")
		b.WriteString(strings.Join(where, "/"))
	}
	if d.VFPLayer != "" || d.VFPGroup != "" || d.VFPRule != "" {
		fmt.Fprintf(&b, " [%s/%s/%s]", d.VFPLayer, d.VFPGroup, d.VFPRule)
	}
	return b.String()
}

// FormatHeaders prints headers on one line:
//
//	00:15:5d:aa:00:02 > 00:15:5d:00:00:01 ipv4 172.16.0.2 > 198.18.0.10 ttl 64 udp 40000 > 53 len 47
func FormatHeaders(h *result.Headers) string {
	if h == nil {
		return "-"
	}
	var parts []string
	if h.SrcMAC != "" {
		parts = append(parts, h.SrcMAC+" > "+h.DstMAC)
	}
	if h.VLAN != 0 {
		parts = append(parts, fmt.Sprintf("vlan %d", h.VLAN))
	}
	if h.Proto == "arp" {
		parts = append(parts, fmt.Sprintf("arp %s > %s", h.Src, h.Dst))
	} else if h.Src != "" {
		fam := "ipv4"
		if a, err := netip.ParseAddr(h.Src); err == nil && a.Is6() {
			fam = "ipv6"
		}
		parts = append(parts, fmt.Sprintf("%s %s > %s ttl %d", fam, h.Src, h.Dst, h.TTL))
		l4 := h.Proto
		if h.SrcPort != 0 || h.DstPort != 0 {
			l4 += fmt.Sprintf(" %d > %d", h.SrcPort, h.DstPort)
		}
		if h.TCPFlags != "" {
			l4 += " [" + h.TCPFlags + "]"
		}
		parts = append(parts, l4)
	}
	if h.VNI != 0 || h.InnerSrc != "" {
		parts = append(parts, fmt.Sprintf("vxlan vni %d inner %s > %s", h.VNI, h.InnerSrc, h.InnerDst))
	}
	if h.Len != 0 {
		parts = append(parts, fmt.Sprintf("len %d", h.Len))
	}
	return strings.Join(parts, " ")
}

// headerChanges lists the fields that differ between two snapshots, as
// "name: old -> new".
func headerChanges(a, b *result.Headers) []string {
	if a == nil || b == nil {
		return nil
	}
	var out []string
	add := func(name, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s: %s -> %s", name, dash(x), dash(y)))
		}
	}
	itoa := func(i int) string {
		if i == 0 {
			return ""
		}
		return strconv.Itoa(i)
	}
	add("eth.src", a.SrcMAC, b.SrcMAC)
	add("eth.dst", a.DstMAC, b.DstMAC)
	add("vlan", itoa(a.VLAN), itoa(b.VLAN))
	add("ip.src", a.Src, b.Src)
	add("ip.dst", a.Dst, b.Dst)
	add("ttl", itoa(a.TTL), itoa(b.TTL))
	add("proto", a.Proto, b.Proto)
	add("sport", itoa(a.SrcPort), itoa(b.SrcPort))
	add("dport", itoa(a.DstPort), itoa(b.DstPort))
	add("tcp.flags", a.TCPFlags, b.TCPFlags)
	add("vni", itoa(a.VNI), itoa(b.VNI))
	add("inner.src", a.InnerSrc, b.InnerSrc)
	add("inner.dst", a.InnerDst, b.InnerDst)
	add("len", itoa(a.Len), itoa(b.Len))
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// FormatTrace prints a packet's trace stage by stage, like Open vSwitch's
// ofproto/trace: the input headers, then one numbered line per stage
// ("host component port: action detail [layer/group/rule]"), indented
// header changes under a stage that rewrote the frame, and the end.
func FormatTrace(p *result.Packet, indent string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%spacket %d in at %s, t=%s\n", indent, p.Index, p.In, time.Duration(p.TimeNS))
	var first *result.Headers
	for i := range p.Trace {
		s := &p.Trace[i]
		if s.Before != nil {
			first = s.Before
			break
		}
		if originates(s) || s.After == nil {
			continue
		}
		first = s.After
		break
	}
	if len(p.Trace) > 0 && p.Trace[0].Before == nil && len(p.Frame) > 0 && (first == nil || originates(&p.Trace[0])) {
		// The first stage answered (an ARP reply): show the input itself.
		var in packet.Parsed
		in.Decode(p.Frame)
		first = headers(trace.Snap(&in, 4789))
	}
	if first != nil {
		fmt.Fprintf(&b, "%s  %s\n", indent, FormatHeaders(first))
	}
	// A stage shows the header fields it changed: against its own "before"
	// when it recorded one, else against what the previous stage left.
	prev := first
	for i := range p.Trace {
		s := &p.Trace[i]
		fmt.Fprintf(&b, "%s  %2d. ", indent, i+1)
		var where []string
		for _, x := range []string{s.Host, s.Component, s.Port} {
			if x != "" {
				where = append(where, x)
			}
		}
		b.WriteString(strings.Join(where, " "))
		b.WriteString(": ")
		b.WriteString(s.Action)
		if d := stageDetail(s); d != "" {
			b.WriteString(" ")
			b.WriteString(d)
		}
		if s.VFPLayer != "" || s.VFPGroup != "" || s.VFPRule != "" {
			fmt.Fprintf(&b, " [%s/%s/%s]", s.VFPLayer, s.VFPGroup, s.VFPRule)
		}
		if s.Reason != "" {
			var why []string
			if !strings.Contains(s.Detail, s.Reason) {
				why = append(why, s.Reason)
			}
			if n := dropNumber(s.Reason, "", -1); n != "" {
				why = append(why, n)
			}
			if len(why) > 0 {
				fmt.Fprintf(&b, " (%s)", strings.Join(why, ", "))
			}
		}
		b.WriteByte('\n')
		before := s.Before
		if before == nil {
			before = prev
		}
		if s.Before == nil && s.After != nil && originates(s) {
			fmt.Fprintf(&b, "%s        sends: %s\n", indent, FormatHeaders(s.After))
		} else {
			for _, c := range headerChanges(before, s.After) {
				fmt.Fprintf(&b, "%s        %s\n", indent, c)
			}
		}
		switch {
		case s.After != nil:
			prev = s.After
		case s.Before != nil:
			prev = s.Before
		case originates(s):
			prev = nil // a new packet whose headers were not recorded
		}
	}
	for _, o := range p.Outputs {
		if o.Kind == result.KindDelivered {
			fmt.Fprintf(&b, "%s  -> delivered at %s\n", indent, o.Port)
		}
	}
	for i := range p.Drops {
		fmt.Fprintf(&b, "%s  -> %s\n", indent, DropComment(&p.Drops[i]))
	}
	if p.Outcome == result.OutcomeConsumed {
		fmt.Fprintf(&b, "%s  -> consumed (nothing delivered, nothing dropped)\n", indent)
	}
	return b.String()
}
