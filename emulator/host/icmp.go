package host

import (
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/trace"
)

const (
	icmpTimeExceeded = header.ICMPv4TimeExceeded
)

// icmpError sends an ICMPv4 error about packet p, received on ifi, back to
// its source: the IP header and the first 8 bytes of its payload (RFC 792),
// from the receiving interface's address, with Windows' default TTL. No
// error is sent about an ICMP error, a non-first fragment, a multicast or
// broadcast, or an IPv6 packet (the model sends IPv6 errors only for MTU).
func (s *Stack) icmpError(ifi int, p *packet.Parsed, typ, code uint8, out *Outbox) {
	s.icmpError4(ifi, p, typ, code, 0, out)
}

// icmpErrorMTU sends "fragmentation needed" (RFC 1191) with the next-hop MTU.
func (s *Stack) icmpErrorMTU(ifi int, p *packet.Parsed, mtu uint16, out *Outbox) {
	if p.Kind != packet.KindIPv4 {
		return
	}
	s.icmpError4(ifi, p, header.ICMPv4DstUnreachable, header.ICMPv4FragNeeded, uint32(mtu), out)
}

func (s *Stack) icmpError4(ifi int, p *packet.Parsed, typ, code uint8, rest uint32, out *Outbox) {
	if p.Kind != packet.KindIPv4 || p.ICMPError || (p.Fragment && !p.FirstFrag) || p.Dst.IsMulticast() || !p.Src.IsGlobalUnicast() {
		return
	}
	src, ok := s.PrimaryAddr(ifi, false)
	if !ok {
		return
	}
	orig := p.Bytes()[p.L3:p.End]
	n := header.IPv4(orig).HeaderLength() + 8
	if n > len(orig) {
		n = len(orig)
	}
	b := out.Pool.Get()
	total := header.IPv4MinimumSize + header.ICMPv4MinimumSize + n
	if !b.SetLen(header.EthernetMinimumSize + total) {
		out.Pool.Put(b)
		return
	}
	f := b.Bytes()
	header.Ethernet(f).Encode(header.MAC{}, header.MAC{}, header.EtherTypeIPv4)
	ip := header.IPv4(f[header.EthernetMinimumSize:])
	ip.Encode(&header.IPv4Fields{TotalLength: uint16(total), TTL: DefaultTTL, Protocol: header.ProtoICMPv4, Src: src.As4(), Dst: p.Src.As4()})
	m := header.ICMPv4(f[header.EthernetMinimumSize+header.IPv4MinimumSize:])
	m.Encode(typ, code, rest)
	copy(m.Payload(), orig[:n])
	m.SetChecksum(m.CalculateChecksum())
	var q packet.Parsed
	q.Decode(f)
	if out.Trace.Enabled() {
		out.Trace.Add(trace.Event{Host: s.h.Name, Component: CompTCPIP, Port: s.ifaces[ifi].Name, Action: "icmp-error",
			Detail: "type " + itoa(int(typ)) + " code " + itoa(int(code)), After: trace.Snap(&q, 0)})
	}
	r, ok := s.Lookup(q.Dst)
	if !ok {
		out.Pool.Put(b)
		return
	}
	nh := r.NextHop
	if !nh.IsValid() {
		nh = q.Dst
	}
	s.output(r.Iface, nh, b, &q, out)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d [20]byte
	i := len(d)
	for ; n > 0; n /= 10 {
		i--
		d[i] = byte('0' + n%10)
	}
	return string(d[i:])
}
