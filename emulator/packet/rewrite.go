package packet

import (
	"net/netip"

	"github.com/hnspath/hnspath/emulator/header"
)

// The setters below change one field of a decoded packet in place, keep
// every checksum that covers it right (RFC 1624, incrementally), and update
// p. They do not allocate. They assume p.Valid() (or a decoded embedded
// datagram) and that an address has the packet's family.

// SetSrcMAC sets the Ethernet source address.
func (p *Parsed) SetSrcMAC(m header.MAC) {
	header.Ethernet(p.b).SetSrcMAC(m)
	p.SrcMAC = m
}

// SetMACs sets both Ethernet addresses from a: the destination in a[0:6],
// the source in a[6:12], as they lie in the frame. It writes them as one
// 12-byte copy (8 + 4 bytes), which a following read of the destination
// can take straight from the store buffer; two 6-byte writes it cannot.
func (p *Parsed) SetMACs(a *[12]byte) {
	*(*[12]byte)(p.b) = *a
	p.DstMAC = header.MAC(a[0:6])
	p.SrcMAC = header.MAC(a[6:12])
}

// SetDstMAC sets the Ethernet destination address.
func (p *Parsed) SetDstMAC(m header.MAC) {
	header.Ethernet(p.b).SetDstMAC(m)
	p.DstMAC = m
}

// SetSrcIP sets the source address and updates the IPv4 header checksum and
// the transport checksum over the pseudo-header (TCP, UDP unless its checksum
// is 0, ICMPv6).
func (p *Parsed) SetSrcIP(a netip.Addr) {
	if p.Kind == KindIPv4 {
		ip := header.IPv4(p.b[p.L3:])
		old := ip.SrcAddr().As4()
		ip.SetSrcAddrWithChecksumUpdate(a.As4())
		n := a.As4()
		p.updatePseudo(old[:], n[:])
	} else {
		ip := header.IPv6(p.b[p.L3:])
		old := ip.SrcAddr().As16()
		n := a.As16()
		ip.SetSrcAddr(n)
		p.updatePseudo(old[:], n[:])
	}
	p.Src = a
}

// SetDstIP sets the destination address, like SetSrcIP.
func (p *Parsed) SetDstIP(a netip.Addr) {
	if p.Kind == KindIPv4 {
		ip := header.IPv4(p.b[p.L3:])
		old := ip.DstAddr().As4()
		ip.SetDstAddrWithChecksumUpdate(a.As4())
		n := a.As4()
		p.updatePseudo(old[:], n[:])
	} else {
		ip := header.IPv6(p.b[p.L3:])
		old := ip.DstAddr().As16()
		n := a.As16()
		ip.SetDstAddr(n)
		p.updatePseudo(old[:], n[:])
	}
	p.Dst = a
}

// l4ChecksumAt reports whether the transport checksum field at offset off
// from L4 is inside the datagram (it may not be in a truncated embedded one).
func (p *Parsed) l4ChecksumAt(off int) bool {
	return p.L4 != 0 && p.L4+off+2 <= p.End
}

func (p *Parsed) updatePseudo(old, new []byte) {
	switch p.IPProto {
	case header.ProtoTCP:
		if p.l4ChecksumAt(header.TCPChecksumOffset) {
			header.TCP(p.b[p.L4:p.End]).UpdateChecksumPseudoHeaderAddress(old, new)
		}
	case header.ProtoUDP:
		if p.l4ChecksumAt(header.UDPChecksumOffset) {
			header.UDP(p.b[p.L4:p.End]).UpdateChecksumPseudoHeaderAddress(old, new)
		}
	case header.ProtoICMPv6:
		if p.l4ChecksumAt(header.ICMPChecksumOffset) {
			header.ICMPv6(p.b[p.L4:p.End]).UpdateChecksumPseudoHeaderAddress(old, new)
		}
	}
}

// SetSrcPort sets the TCP or UDP source port, or the identifier of an ICMP
// query, and updates the transport checksum.
func (p *Parsed) SetSrcPort(port uint16) {
	switch {
	case p.IPProto == header.ProtoTCP:
		t := header.TCP(p.b[p.L4:p.End])
		if p.l4ChecksumAt(header.TCPChecksumOffset) {
			t.SetSrcPortWithChecksumUpdate(port)
		} else {
			t.SetSrcPort(port)
		}
		p.SrcPort = port
	case p.IPProto == header.ProtoUDP:
		u := header.UDP(p.b[p.L4:p.End])
		if p.l4ChecksumAt(header.UDPChecksumOffset) {
			u.SetSrcPortWithChecksumUpdate(port)
		} else {
			u.SetSrcPort(port)
		}
		p.SrcPort = port
	case p.ICMPQuery:
		p.SetICMPIdent(port)
	}
}

// SetDstPort sets the TCP or UDP destination port, or the identifier of an
// ICMP query, and updates the transport checksum.
func (p *Parsed) SetDstPort(port uint16) {
	switch {
	case p.IPProto == header.ProtoTCP:
		t := header.TCP(p.b[p.L4:p.End])
		if p.l4ChecksumAt(header.TCPChecksumOffset) {
			t.SetDstPortWithChecksumUpdate(port)
		} else {
			t.SetDstPort(port)
		}
		p.DstPort = port
	case p.IPProto == header.ProtoUDP:
		u := header.UDP(p.b[p.L4:p.End])
		if p.l4ChecksumAt(header.UDPChecksumOffset) {
			u.SetDstPortWithChecksumUpdate(port)
		} else {
			u.SetDstPort(port)
		}
		p.DstPort = port
	case p.ICMPQuery:
		p.SetICMPIdent(port)
	}
}

// SetICMPIdent sets the identifier of an ICMP query and updates its checksum.
func (p *Parsed) SetICMPIdent(id uint16) {
	if !p.ICMPQuery {
		return
	}
	if p.Kind == KindIPv4 {
		header.ICMPv4(p.b[p.L4:p.End]).SetIdentWithChecksumUpdate(id)
	} else {
		header.ICMPv6(p.b[p.L4:p.End]).SetIdentWithChecksumUpdate(id)
	}
	p.SrcPort, p.DstPort = id, id
}

// DecTTL decrements the IPv4 TTL (updating the checksum) or the IPv6 hop
// limit and returns the new value. Callers check p.TTL <= 1 first and drop
// (RFC 1812 section 5.3.1; RFC 8200 section 3).
func (p *Parsed) DecTTL() uint8 {
	if p.Kind == KindIPv4 {
		p.TTL = header.IPv4(p.b[p.L3:]).DecTTLWithChecksumUpdate()
	} else {
		ip := header.IPv6(p.b[p.L3:])
		p.TTL = ip.HopLimit() - 1
		ip.SetHopLimit(p.TTL)
	}
	return p.TTL
}

// ClampMSS lowers the MSS option of a TCP SYN to at most max, updating the
// checksum, and reports whether it changed it.
func (p *Parsed) ClampMSS(max uint16) bool {
	if p.IPProto != header.ProtoTCP || p.L4 == 0 || p.TCPFlags&header.TCPFlagSYN == 0 {
		return false
	}
	return header.TCP(p.b[p.L4:p.End]).ClampMSSWithChecksumUpdate(max)
}

// ChecksumsValid reports whether every checksum of the packet is right: the
// IPv4 header checksum and the TCP, UDP (0 counts as none), ICMPv4 or ICMPv6
// checksum. It computes them in full; use it in tests and slow paths.
func (p *Parsed) ChecksumsValid() bool {
	if !p.IsIP() {
		return false
	}
	var src, dst []byte
	if p.Kind == KindIPv4 {
		ip := header.IPv4(p.b[p.L3:p.End])
		if !ip.IsChecksumValid() {
			return false
		}
		src, dst = ip.SrcBytes(), ip.DstBytes()
	} else {
		ip := header.IPv6(p.b[p.L3:p.End])
		src, dst = ip.SrcBytes(), ip.DstBytes()
	}
	if p.L4 == 0 || p.Fragment {
		return true // no transport header, or its checksum spans fragments
	}
	l4 := p.b[p.L4:p.End]
	pseudo := pseudoSum(p.IPProto, src, dst, len(l4))
	switch p.IPProto {
	case header.ProtoTCP:
		return header.TCP(l4).IsChecksumValid(pseudo)
	case header.ProtoUDP:
		u := header.UDP(l4)
		if u.Checksum() == 0 && p.Kind == KindIPv4 {
			return true
		}
		return u.IsChecksumValid(pseudo)
	case header.ProtoICMPv4:
		return header.ICMPv4(l4).IsChecksumValid()
	case header.ProtoICMPv6:
		return header.ICMPv6(l4).IsChecksumValid(pseudo)
	}
	return true
}
