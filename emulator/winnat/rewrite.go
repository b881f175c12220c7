package winnat

import (
	"encoding/binary"
	"net/netip"

	"github.com/hnspath/hnspath/emulator/checksum"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// A session rewrites the same fields from the same old values to the same
// new ones on every packet: outbound the source address internal ->
// external and the source port (or query identifier) internal -> external,
// inbound the destination the other way. So each session keeps the
// checksum.Delta of each direction's rewrite (RFC 1624: see package
// checksum) for the IPv4 header checksum and for the transport checksum,
// which covers the addresses through the pseudo-header (RFC 9293 section
// 3.1, RFC 768; ICMPv4 has no pseudo-header, so its delta is the
// identifier's alone). A packet then costs two one's complement additions
// instead of one update per field. TestRewriteMatchesSetters checks this
// against packet.Parsed's setters.

// deltas computes the session's checksum deltas.
func (s *session) deltas() {
	s.outIP, s.inIP = checksum.Delta32(s.intAddr, s.extAddr), checksum.Delta32(s.extAddr, s.intAddr)
	outPort, inPort := checksum.Delta16(s.intPort, s.extPort), checksum.Delta16(s.extPort, s.intPort)
	if s.proto == header.ProtoICMPv4 {
		s.outL4, s.inL4 = outPort, inPort
		return
	}
	s.outL4, s.inL4 = s.outIP.Add(outPort), s.inIP.Add(inPort)
}

// rewrite writes addr at ipAddrOff of the IPv4 header and port at portOff
// of the TCP or UDP header (ICMP: the identifier), and updates the IPv4 and
// transport checksums by deltas ipD and l4D. p must be a decoded IPv4
// packet with its transport header (not a fragment).
func rewrite(p *packet.Parsed, ipAddrOff int, addr [4]byte, portOff int, port uint16, ipD, l4D checksum.Delta) {
	b := p.Bytes()
	ip := b[p.L3:p.End]
	copy(ip[ipAddrOff:ipAddrOff+4], addr[:])
	const ipc = header.IPv4ChecksumOffset
	binary.BigEndian.PutUint16(ip[ipc:], ipD.Apply(binary.BigEndian.Uint16(ip[ipc:])))
	l4 := b[p.L4:p.End]
	switch p.IPProto {
	case header.ProtoTCP:
		const c = header.TCPChecksumOffset
		binary.BigEndian.PutUint16(l4[c:], l4D.Apply(binary.BigEndian.Uint16(l4[c:])))
	case header.ProtoUDP:
		// A zero UDP checksum means none and stays 0; a computed 0 is sent
		// as 0xFFFF (RFC 768).
		const off = header.UDPChecksumOffset
		if c := binary.BigEndian.Uint16(l4[off:]); c != 0 {
			if c = l4D.Apply(c); c == 0 {
				c = 0xffff
			}
			binary.BigEndian.PutUint16(l4[off:], c)
		}
	default: // ICMPv4 query
		const c = header.ICMPChecksumOffset
		portOff = header.ICMPIdentOffset
		binary.BigEndian.PutUint16(l4[c:], l4D.Apply(binary.BigEndian.Uint16(l4[c:])))
	}
	binary.BigEndian.PutUint16(l4[portOff:], port)
}

// snat rewrites p's source to the session's external address and port.
func (n *NAT) snat(p *packet.Parsed, s *session) {
	rewrite(p, header.IPv4SrcAddrOffset, s.extAddr, header.TCPSrcPortOffset, s.extPort, s.outIP, s.outL4)
	p.Src = netip.AddrFrom4(s.extAddr)
	p.SrcPort = s.extPort
	if p.ICMPQuery {
		p.DstPort = s.extPort
	}
}

// dnat rewrites p's destination to the session's internal address and port.
func (n *NAT) dnat(p *packet.Parsed, s *session) {
	rewrite(p, header.IPv4DstAddrOffset, s.intAddr, header.TCPDstPortOffset, s.intPort, s.inIP, s.inL4)
	p.Dst = netip.AddrFrom4(s.intAddr)
	p.DstPort = s.intPort
	if p.ICMPQuery {
		p.SrcPort = s.intPort
	}
}
