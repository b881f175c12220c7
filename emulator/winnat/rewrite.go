package winnat

import (
	"encoding/binary"
	"net/netip"

	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// A session rewrites the same fields from the same old values to the same
// new ones on every packet: outbound the source address internal ->
// external and the source port (or query identifier) internal -> external,
// inbound the destination the other way. RFC 1624 eqn. 3 updates a checksum
// HC after words m change to m' as HC' = ~(~HC + ~m + m'); with several
// words the sum of the ~m + m' terms does not depend on the packet, so each
// session keeps it folded to 16 bits (a "delta") for the IPv4 header
// checksum and for the transport checksum (which covers the addresses
// through the pseudo-header: RFC 793 section 3.1, RFC 768; ICMPv4 has no
// pseudo-header, so its delta is the identifier's alone). A packet then
// costs two one's complement additions instead of one update per field.
// TestRewriteMatchesSetters checks this against packet.Parsed's setters.

// wordsDelta returns the folded sum of ~old + new over 16-bit words.
func wordsDelta(old, new [4]byte) uint32 {
	return uint32(^binary.BigEndian.Uint16(old[0:])) + uint32(binary.BigEndian.Uint16(new[0:])) +
		uint32(^binary.BigEndian.Uint16(old[2:])) + uint32(binary.BigEndian.Uint16(new[2:]))
}

func fold32(s uint32) uint16 {
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return uint16(s)
}

// applyDelta returns checksum field hc after changes whose delta is d.
func applyDelta(hc, d uint16) uint16 { return ^fold32(uint32(^hc) + uint32(d)) }

// deltas computes the session's checksum deltas.
func (s *session) deltas() {
	out := wordsDelta(s.intAddr, s.extAddr)
	in := wordsDelta(s.extAddr, s.intAddr)
	s.outIP, s.inIP = fold32(out), fold32(in)
	outPort := uint32(^s.intPort) + uint32(s.extPort)
	inPort := uint32(^s.extPort) + uint32(s.intPort)
	if s.proto == header.ProtoICMPv4 {
		s.outL4, s.inL4 = fold32(outPort), fold32(inPort)
		return
	}
	s.outL4, s.inL4 = fold32(out+outPort), fold32(in+inPort)
}

// Offsets of the fields rewritten, from the start of the IPv4 header and of
// the transport header.
const (
	ipChecksumOff   = 10
	ipSrcOff        = 12
	ipDstOff        = 16
	tcpChecksumOff  = 16
	udpChecksumOff  = 6
	icmpChecksumOff = 2
	icmpIdentOff    = 4
)

// rewrite writes addr at ipAddrOff of the IPv4 header and port at portOff
// of the transport header (ICMP: the identifier), and updates the IPv4 and
// transport checksums by deltas ipD and l4D. p must be a decoded IPv4
// packet with its transport header (not a fragment).
func rewrite(p *packet.Parsed, ipAddrOff int, addr [4]byte, portOff int, port uint16, ipD, l4D uint16) {
	b := p.Bytes()
	ip := b[p.L3:p.End]
	copy(ip[ipAddrOff:ipAddrOff+4], addr[:])
	binary.BigEndian.PutUint16(ip[ipChecksumOff:], applyDelta(binary.BigEndian.Uint16(ip[ipChecksumOff:]), ipD))
	l4 := b[p.L4:p.End]
	switch p.IPProto {
	case header.ProtoTCP:
		binary.BigEndian.PutUint16(l4[tcpChecksumOff:], applyDelta(binary.BigEndian.Uint16(l4[tcpChecksumOff:]), l4D))
	case header.ProtoUDP:
		// A zero UDP checksum means none and stays 0; a computed 0 is sent
		// as 0xFFFF (RFC 768).
		if c := binary.BigEndian.Uint16(l4[udpChecksumOff:]); c != 0 {
			if c = applyDelta(c, l4D); c == 0 {
				c = 0xffff
			}
			binary.BigEndian.PutUint16(l4[udpChecksumOff:], c)
		}
	default: // ICMPv4 query
		portOff = icmpIdentOff
		binary.BigEndian.PutUint16(l4[icmpChecksumOff:], applyDelta(binary.BigEndian.Uint16(l4[icmpChecksumOff:]), l4D))
	}
	binary.BigEndian.PutUint16(l4[portOff:], port)
}

// snat rewrites p's source to the session's external address and port.
func (n *NAT) snat(p *packet.Parsed, s *session) {
	rewrite(p, ipSrcOff, s.extAddr, 0, s.extPort, s.outIP, s.outL4)
	p.Src = netip.AddrFrom4(s.extAddr)
	p.SrcPort = s.extPort
	if p.ICMPQuery {
		p.DstPort = s.extPort
	}
}

// dnat rewrites p's destination to the session's internal address and port.
func (n *NAT) dnat(p *packet.Parsed, s *session) {
	rewrite(p, ipDstOff, s.intAddr, 2, s.intPort, s.inIP, s.inL4)
	p.Dst = netip.AddrFrom4(s.intAddr)
	p.DstPort = s.intPort
	if p.ICMPQuery {
		p.SrcPort = s.intPort
	}
}
