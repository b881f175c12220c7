package host

import (
	"net/netip"

	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/trace"
)

const (
	icmpTimeExceeded = header.ICMPv4TimeExceeded
)

// maxQuote is the most an ICMPv4 error quotes here: the IP header with
// options and the first 64 bits of the data (RFC 792).
const maxQuote = 60 + 8

// origin is a forwarded IPv4 packet as the host received it, before WinNAT
// translated it: what an ICMP error about the packet quotes, and (its
// source) where the error goes. RFC 5508 §4 (REQ-2): the originator gets
// the error with the packet as it sent it; RFC 1812 §4.3.2.4: the error
// goes back to the packet's source.
type origin struct {
	src netip.Addr
	n   int
	b   [maxQuote]byte
}

// save records p's IPv4 header and the first 8 bytes of its data. It does
// not allocate.
func (o *origin) save(p *packet.Parsed) {
	o.src = p.Src
	l3 := p.Bytes()[p.L3:p.End]
	n := header.IPv4(l3).HeaderLength() + 8
	if n > len(l3) {
		n = len(l3)
	}
	o.n = copy(o.b[:], l3[:n])
}

// icmpError sends an ICMPv4 error about packet p back to its source: the
// IP header and the first 8 bytes of its payload (RFC 792), with Windows'
// default TTL. o, when not nil, is p as the host received it (before
// WinNAT): the error then goes to o's source and quotes o. No error is
// sent about an ICMP error, a non-first fragment, a multicast or broadcast,
// or an IPv6 packet (the model sends IPv6 errors only for MTU).
func (s *Stack) icmpError(ifi int, p *packet.Parsed, o *origin, typ, code uint8, out *Outbox) {
	s.icmpError4(ifi, p, o, typ, code, 0, out)
}

// icmpErrorMTU sends "fragmentation needed" (RFC 1191) with the next-hop MTU.
func (s *Stack) icmpErrorMTU(p *packet.Parsed, o *origin, mtu uint16, out *Outbox) {
	if p.Kind != packet.KindIPv4 {
		return
	}
	s.icmpError4(-1, p, o, header.ICMPv4DstUnreachable, header.ICMPv4FragNeeded, uint32(mtu), out)
}

// icmpError4 builds and routes the error. Its source is the address of
// the interface it leaves by, the one toward the originator (RFC 1812
// §4.3.2.4), or of ifi (the receiving interface) when that has none.
func (s *Stack) icmpError4(ifi int, p *packet.Parsed, o *origin, typ, code uint8, rest uint32, out *Outbox) {
	dst := p.Src
	var quote []byte
	if o != nil {
		dst, quote = o.src, o.b[:o.n]
	} else {
		orig := p.Bytes()[p.L3:p.End]
		n := min(header.IPv4(orig).HeaderLength()+8, len(orig))
		quote = orig[:n]
	}
	if p.Kind != packet.KindIPv4 || p.ICMPError || (p.Fragment && !p.FirstFrag) || p.Dst.IsMulticast() || s.isBroadcast4(p.Dst) ||
		!dst.Is4() || !dst.IsGlobalUnicast() || s.IsLocal(dst) {
		return
	}
	r, ok := s.Lookup(dst)
	if !ok {
		return
	}
	src, ok := s.PrimaryAddr(r.Iface, false)
	if !ok && ifi >= 0 {
		src, ok = s.PrimaryAddr(ifi, false)
	}
	if !ok {
		return
	}
	b := out.Pool.Get()
	total := header.IPv4MinimumSize + header.ICMPv4MinimumSize + len(quote)
	if !b.SetLen(header.EthernetMinimumSize + total) {
		out.Pool.Put(b)
		return
	}
	f := b.Bytes()
	header.Ethernet(f).Encode(header.MAC{}, header.MAC{}, header.EtherTypeIPv4)
	ip := header.IPv4(f[header.EthernetMinimumSize:])
	ip.Encode(&header.IPv4Fields{TotalLength: uint16(total), TTL: DefaultTTL, Protocol: header.ProtoICMPv4, Src: src.As4(), Dst: dst.As4()})
	m := header.ICMPv4(f[header.EthernetMinimumSize+header.IPv4MinimumSize:])
	m.Encode(typ, code, rest)
	copy(m.Payload(), quote)
	m.SetChecksum(m.CalculateChecksum())
	var q packet.Parsed
	q.Decode(f)
	if out.Trace.Enabled() {
		port := s.ifaces[r.Iface].Name
		out.Trace.Add(trace.Event{Host: s.h.Name, Component: CompTCPIP, Port: port, Action: "icmp-error",
			Detail: "type " + itoa(int(typ)) + " code " + itoa(int(code)), After: trace.Snap(&q, 0)})
	}
	nh := r.NextHop
	if !nh.IsValid() {
		nh = q.Dst
	}
	s.output(r.Iface, nh, b, &q, out, nil)
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
