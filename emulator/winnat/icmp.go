package winnat

import (
	"net/netip"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// ICMP errors (RFC 5508 section 4). An error message carries the IP header
// and at least the first 8 bytes of the datagram that caused it (RFC 792),
// as that datagram looked where the error was raised: on the far side of
// the NAT from the host it is going back to. Translating the error means
// finding the session of that embedded datagram and reverting it to how
// the receiver sent it (RFC 5508 section 4.1): the outer address toward the
// receiver, and the embedded address and port (or query identifier) with
// the embedded IPv4 header checksum and, when present, the embedded TCP,
// UDP or ICMP checksum, all incrementally. The ICMP checksum covers the
// embedded datagram, so it is recomputed in full (errors are rare) after
// checking the original (RFC 5508 section 4.2: a bad one is dropped).
// Errors do not refresh sessions or make new ones.

// embedded decodes the datagram inside ICMP error p into e, aliasing p's
// bytes, and reports whether it is an IPv4 datagram with ports or a query
// identifier.
func embedded(p *packet.Parsed, e *packet.Parsed) bool {
	off := p.Embedded()
	if off == 0 || p.Kind != packet.KindIPv4 {
		return false
	}
	e.DecodeIP(p.Bytes()[off:p.End], true)
	return e.Err == packet.DecodeOK && e.Kind == packet.KindIPv4 && e.HasL4Ports
}

func icmpChecksumValid(p *packet.Parsed) bool {
	return header.ICMPv4(p.Bytes()[p.L4:p.End]).IsChecksumValid()
}

func recomputeICMP(p *packet.Parsed) {
	m := header.ICMPv4(p.Bytes()[p.L4:p.End])
	m.SetChecksum(m.CalculateChecksum())
}

// inboundICMPError translates an error from outside about a datagram a
// session sent out: embedded source external -> internal, outer
// destination -> internal address. An error about a port the NAT holds
// that matches no session is Dropped (drop.ICMPNotTransposed); one about a
// port the NAT does not hold is about the host's own traffic: NotHandled.
func (n *NAT) inboundICMPError(p *packet.Parsed, now int64) result {
	var e packet.Parsed
	if !embedded(p, &e) {
		return n.verdict(NotHandled, drop.None, noteICMPErrorNoSession)
	}
	es := e.Src.As4()
	k := key{local: es, remote: e.Dst.As4(), lport: e.SrcPort, rport: remotePort(e.IPProto, e.DstPort), proto: e.IPProto, dir: dirIn}
	i, s, ok := n.lookup(k, now)
	if !ok || s.flags&flagHairpin != 0 {
		if ei := n.extIndex(es); ei >= 0 {
			if mi := n.portOwner(e.IPProto, ei, e.SrcPort); mi != 0 && n.mappingAlive(mi, now) {
				return n.verdict(Dropped, drop.ICMPNotTransposed, noteICMPErrorNoSession)
			}
			if _, ok := n.staticFor(e.IPProto, es, e.SrcPort); ok {
				return n.verdict(Dropped, drop.ICMPNotTransposed, noteICMPErrorNoSession)
			}
		}
		return n.verdict(NotHandled, drop.None, noteICMPErrorNoSession)
	}
	if !icmpChecksumValid(p) {
		return n.verdict(Dropped, drop.ICMPNotTransposed, noteICMPBadChecksum)
	}
	in := netip.AddrFrom4(s.intAddr)
	p.SetDstIP(in)
	e.SetSrcIP(in)
	e.SetSrcPort(s.intPort)
	recomputeICMP(p)
	inc(&n.st.in)
	inc(&n.st.icmpErr)
	return result{v: Translated, why: noteICMPError, sess: i}
}

// outboundICMPError translates an error from a container about a datagram
// a session brought in (an inbound mapped flow, or a reply to its own
// flow): embedded destination internal -> external, outer source ->
// external address. A container's error that matches no session cannot
// leave: Dropped (drop.ICMPNotTransposed).
func (n *NAT) outboundICMPError(p *packet.Parsed, now int64) result {
	var e packet.Parsed
	if !embedded(p, &e) {
		return n.verdict(Dropped, drop.ICMPNotTransposed, noteICMPErrorNoSession)
	}
	k := key{local: e.Dst.As4(), remote: e.Src.As4(), lport: e.DstPort, rport: remotePort(e.IPProto, e.SrcPort), proto: e.IPProto, dir: dirOut}
	i, s, ok := n.lookup(k, now)
	if !ok || s.flags&flagHairpin != 0 {
		return n.verdict(Dropped, drop.ICMPNotTransposed, noteICMPErrorNoSession)
	}
	if !icmpChecksumValid(p) {
		return n.verdict(Dropped, drop.ICMPNotTransposed, noteICMPBadChecksum)
	}
	ext := netip.AddrFrom4(s.extAddr)
	p.SetSrcIP(ext)
	e.SetDstIP(ext)
	e.SetDstPort(s.extPort)
	recomputeICMP(p)
	inc(&n.st.out)
	inc(&n.st.icmpErr)
	return result{v: Translated, why: noteICMPError, sess: i}
}

// hairpinICMPError translates an error from a container about a hairpinned
// datagram it received: the outbound half (the sender's session of that
// datagram gives the outer source and the embedded destination) and then
// the inbound half (the other end's session gives the outer destination and
// the embedded source). An error about nothing hairpinned is for the host:
// NotHandled.
func (n *NAT) hairpinICMPError(p *packet.Parsed, now int64) result {
	var e packet.Parsed
	if !embedded(p, &e) {
		return n.verdict(NotHandled, drop.None, noteForHost)
	}
	es := e.Src.As4()
	k1 := key{local: e.Dst.As4(), remote: es, lport: e.DstPort, rport: remotePort(e.IPProto, e.SrcPort), proto: e.IPProto, dir: dirOut}
	_, s1, ok := n.lookup(k1, now)
	if !ok {
		return n.verdict(NotHandled, drop.None, noteForHost)
	}
	k2 := key{local: es, remote: s1.extAddr, lport: e.SrcPort, rport: remotePort(e.IPProto, s1.extPort), proto: e.IPProto, dir: dirIn}
	i2, s2, ok := n.lookup(k2, now)
	if !ok {
		return n.verdict(Dropped, drop.ICMPNotTransposed, noteICMPErrorNoSession)
	}
	if !icmpChecksumValid(p) {
		return n.verdict(Dropped, drop.ICMPNotTransposed, noteICMPBadChecksum)
	}
	ext := netip.AddrFrom4(s1.extAddr)
	p.SetSrcIP(ext)
	e.SetDstIP(ext)
	e.SetDstPort(s1.extPort)
	in := netip.AddrFrom4(s2.intAddr)
	p.SetDstIP(in)
	e.SetSrcIP(in)
	e.SetSrcPort(s2.intPort)
	recomputeICMP(p)
	inc(&n.st.hairpin)
	inc(&n.st.icmpErr)
	return result{v: Translated, why: noteICMPError, sess: i2}
}
