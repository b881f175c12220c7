package packet

import (
	"net/netip"
	"strconv"

	"github.com/hnspath/hnspath/emulator/header"
)

// Kind is what a frame carries at layer 3.
type Kind uint8

// Kinds of frames.
const (
	KindUnknown Kind = iota // too short to say
	KindOther               // a valid Ethernet frame with an EtherType we do not model
	KindARP
	KindIPv4
	KindIPv6
)

var kindNames = [...]string{"unknown", "other", "arp", "ipv4", "ipv6"}

// String returns the kind's name, or "Kind(N)" for a value with none.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// DecodeError says why a frame could not be decoded. Zero means it could.
type DecodeError uint8

// Decode errors.
const (
	DecodeOK DecodeError = iota
	ErrShortEthernet
	ErrShortVLAN
	ErrBadARP
	ErrBadIPv4
	ErrBadIPv4Checksum
	ErrBadIPv6
	ErrBadIPv6Extension
	ErrShortTCP
	ErrShortUDP
	ErrBadUDPLength
	ErrShortICMP
)

var decodeErrorNames = [...]string{
	"ok",
	"truncated Ethernet header",
	"truncated 802.1Q tag",
	"malformed ARP packet",
	"malformed IPv4 header",
	"IPv4 header checksum invalid",
	"malformed IPv6 header",
	"malformed IPv6 extension header",
	"truncated TCP header",
	"truncated UDP header",
	"UDP length invalid",
	"truncated ICMP header",
}

// String says what was wrong, or "DecodeError(N)" for a value with no name.
func (e DecodeError) String() string {
	if int(e) < len(decodeErrorNames) {
		return decodeErrorNames[e]
	}
	return "DecodeError(" + strconv.Itoa(int(e)) + ")"
}

// Parsed is a frame decoded once. Offsets are from the start of the frame.
// A Parsed aliases the frame it decoded; it is invalid once the frame's bytes
// move (Buffer.Push/Pull move the start: decode again after them).
type Parsed struct {
	b []byte

	Kind Kind
	Err  DecodeError

	SrcMAC, DstMAC header.MAC
	HasVLAN        bool
	VID            uint16
	EtherType      uint16 // after any VLAN tag

	L3  int // offset of the ARP or IP header
	L4  int // offset of the transport header; 0 when there is none (non-first fragment, unknown proto)
	End int // end of the IP datagram (total length); Ethernet padding after it is ignored

	IPProto    uint8
	TTL        uint8 // IPv4 TTL or IPv6 hop limit
	Src, Dst   netip.Addr
	Fragment   bool // IPv4 or IPv6 fragment
	FirstFrag  bool // offset 0 (the fragment that carries the transport header)
	Truncated  bool // only for DecodeIP(..., embedded=true): the datagram is cut short
	HasL4Ports bool // SrcPort/DstPort are meaningful (TCP, UDP, ICMP query ID)

	SrcPort, DstPort uint16 // TCP/UDP ports; for ICMP queries both hold the identifier
	TCPFlags         uint8
	ICMPType         uint8
	ICMPCode         uint8
	ICMPQuery        bool // echo/timestamp/information (v4) or echo (v6)
	ICMPError        bool // an error that embeds the offending datagram at L4+8
}

// Bytes returns the frame that was decoded.
func (p *Parsed) Bytes() []byte { return p.b }

// Valid reports whether the frame decoded without error.
func (p *Parsed) Valid() bool { return p.Err == DecodeOK }

// IsIP reports whether the frame is a valid IPv4 or IPv6 packet.
func (p *Parsed) IsIP() bool { return p.Err == DecodeOK && (p.Kind == KindIPv4 || p.Kind == KindIPv6) }

// Ethernet returns the Ethernet header view.
func (p *Parsed) Ethernet() header.Ethernet { return header.Ethernet(p.b) }

// IPv4 returns the IPv4 view (valid only when Kind is KindIPv4).
func (p *Parsed) IPv4() header.IPv4 { return header.IPv4(p.b[p.L3:p.End]) }

// IPv6 returns the IPv6 view (valid only when Kind is KindIPv6).
func (p *Parsed) IPv6() header.IPv6 { return header.IPv6(p.b[p.L3:p.End]) }

// ARP returns the ARP view (valid only when Kind is KindARP).
func (p *Parsed) ARP() header.ARP { return header.ARP(p.b[p.L3:]) }

// TCP returns the TCP view (valid only when IPProto is TCP and L4 != 0).
func (p *Parsed) TCP() header.TCP { return header.TCP(p.b[p.L4:p.End]) }

// UDP returns the UDP view.
func (p *Parsed) UDP() header.UDP { return header.UDP(p.b[p.L4:p.End]) }

// ICMPv4 returns the ICMPv4 view.
func (p *Parsed) ICMPv4() header.ICMPv4 { return header.ICMPv4(p.b[p.L4:p.End]) }

// ICMPv6 returns the ICMPv6 view.
func (p *Parsed) ICMPv6() header.ICMPv6 { return header.ICMPv6(p.b[p.L4:p.End]) }

// L3Len returns the length of the IP datagram (or ARP packet): what counts
// against the MTU.
func (p *Parsed) L3Len() int {
	if p.End == 0 {
		return len(p.b) - p.L3
	}
	return p.End - p.L3
}

// Decode decodes frame b, an Ethernet frame, into p. It never fails: a frame
// it cannot parse gets p.Err set. It does not allocate and keeps b.
func (p *Parsed) Decode(b []byte) {
	*p = Parsed{b: b}
	eth := header.Ethernet(b)
	if !eth.IsValid() {
		p.Err = ErrShortEthernet
		return
	}
	p.DstMAC = eth.DstMAC()
	p.SrcMAC = eth.SrcMAC()
	et := eth.EtherType()
	off := header.EthernetMinimumSize
	if et == header.EtherTypeVLAN {
		tag := header.VLAN(b[off:])
		if !tag.IsValid() {
			p.Err = ErrShortVLAN
			return
		}
		p.HasVLAN = true
		p.VID = tag.VID()
		et = tag.EtherType()
		off += header.VLANSize
	}
	p.EtherType = et
	p.L3 = off
	switch et {
	case header.EtherTypeARP:
		p.Kind = KindARP
		a := header.ARP(b[off:])
		if !a.IsValid() {
			p.Err = ErrBadARP
			return
		}
		p.Src = a.SenderIP()
		p.Dst = a.TargetIP()
		p.End = off + header.ARPSize
	case header.EtherTypeIPv4:
		p.decodeIPv4(off, false)
	case header.EtherTypeIPv6:
		p.decodeIPv6(off, false)
	default:
		p.Kind = KindOther
	}
}

// DecodeIP decodes b starting at an IP header (no Ethernet header). With
// embedded true it accepts a datagram cut short, as ICMP errors carry it
// (RFC 792: the IP header plus 64 bits of data), and skips the IPv4 header
// checksum check; p.Truncated then says whether it was cut.
func (p *Parsed) DecodeIP(b []byte, embedded bool) {
	*p = Parsed{b: b}
	if len(b) == 0 {
		p.Err = ErrBadIPv4
		return
	}
	switch b[0] >> 4 {
	case 4:
		p.EtherType = header.EtherTypeIPv4
		p.decodeIPv4(0, embedded)
	case 6:
		p.EtherType = header.EtherTypeIPv6
		p.decodeIPv6(0, embedded)
	default:
		p.Err = ErrBadIPv4
	}
}

func (p *Parsed) decodeIPv4(off int, embedded bool) {
	p.Kind = KindIPv4
	ip := header.IPv4(p.b[off:])
	if embedded {
		if len(ip) < header.IPv4MinimumSize || ip[0]>>4 != 4 || ip.HeaderLength() < header.IPv4MinimumSize || ip.HeaderLength() > len(ip) {
			p.Err = ErrBadIPv4
			return
		}
		end := off + int(ip.TotalLength())
		if end > len(p.b) || int(ip.TotalLength()) < ip.HeaderLength() {
			p.Truncated = true
			end = len(p.b)
		}
		p.End = end
	} else {
		if !ip.IsValid() {
			p.Err = ErrBadIPv4
			return
		}
		if !ip.IsChecksumValid() {
			p.Err = ErrBadIPv4Checksum
			return
		}
		p.End = off + int(ip.TotalLength())
	}
	p.IPProto = ip.Protocol()
	p.TTL = ip.TTL()
	p.Src = ip.SrcAddr()
	p.Dst = ip.DstAddr()
	p.Fragment = ip.IsFragment()
	p.FirstFrag = ip.FragmentOffset() == 0
	if p.Fragment && !p.FirstFrag {
		return
	}
	p.decodeL4(off+ip.HeaderLength(), embedded)
}

func (p *Parsed) decodeIPv6(off int, embedded bool) {
	p.Kind = KindIPv6
	ip := header.IPv6(p.b[off:])
	if len(ip) < header.IPv6MinimumSize || ip[0]>>4 != 6 {
		p.Err = ErrBadIPv6
		return
	}
	end := off + header.IPv6MinimumSize + int(ip.PayloadLength())
	if end > len(p.b) {
		if !embedded {
			p.Err = ErrBadIPv6
			return
		}
		p.Truncated = true
		end = len(p.b)
	}
	p.End = end
	p.TTL = ip.HopLimit()
	p.Src = ip.SrcAddr()
	p.Dst = ip.DstAddr()
	t, ok := header.IPv6(p.b[off:p.End]).Transport()
	if !ok {
		if embedded {
			p.Truncated = true
			return
		}
		p.Err = ErrBadIPv6Extension
		return
	}
	p.IPProto = t.Protocol
	if t.Fragment {
		p.Fragment = true
		p.FirstFrag = t.FragmentOffset == 0
		if !p.FirstFrag {
			return
		}
	} else {
		p.FirstFrag = true
	}
	p.decodeL4(off+t.Offset, embedded)
}

// decodeL4 decodes the transport header at off. Embedded datagrams need only
// the first 8 bytes (ports, or ICMP type/code/identifier).
func (p *Parsed) decodeL4(off int, embedded bool) {
	rest := p.End - off
	if rest < 0 {
		rest = 0
	}
	switch p.IPProto {
	case header.ProtoTCP:
		t := header.TCP(p.b[off:p.End])
		if embedded && rest >= 8 && rest < header.TCPMinimumSize {
			// Ports and sequence number only (RFC 792).
		} else if !t.IsValid() {
			p.Err = ErrShortTCP
			return
		} else {
			p.TCPFlags = t.Flags()
		}
		if rest < 8 {
			p.Err = ErrShortTCP
			return
		}
		p.L4 = off
		p.SrcPort, p.DstPort = t.SrcPort(), t.DstPort()
		p.HasL4Ports = true
	case header.ProtoUDP:
		u := header.UDP(p.b[off:p.End])
		if !u.IsValid() {
			p.Err = ErrShortUDP
			return
		}
		// A first fragment holds only part of the datagram its UDP length
		// covers (RFC 768, RFC 791).
		if !embedded && (int(u.Length()) < header.UDPSize || int(u.Length()) > rest && !p.Fragment) {
			p.Err = ErrBadUDPLength
			return
		}
		p.L4 = off
		p.SrcPort, p.DstPort = u.SrcPort(), u.DstPort()
		p.HasL4Ports = true
	case header.ProtoICMPv4:
		if p.Kind != KindIPv4 {
			return
		}
		m := header.ICMPv4(p.b[off:p.End])
		if !m.IsValid() {
			p.Err = ErrShortICMP
			return
		}
		p.L4 = off
		p.ICMPType, p.ICMPCode = m.Type(), m.Code()
		if m.IsQuery() {
			p.ICMPQuery = true
			p.SrcPort, p.DstPort = m.Ident(), m.Ident()
			p.HasL4Ports = true
		} else if m.IsError() {
			p.ICMPError = true
		}
	case header.ProtoICMPv6:
		if p.Kind != KindIPv6 {
			return
		}
		m := header.ICMPv6(p.b[off:p.End])
		if !m.IsValid() {
			p.Err = ErrShortICMP
			return
		}
		p.L4 = off
		p.ICMPType, p.ICMPCode = m.Type(), m.Code()
		if m.IsEcho() {
			p.ICMPQuery = true
			p.SrcPort, p.DstPort = m.Ident(), m.Ident()
			p.HasL4Ports = true
		} else if m.IsError() {
			p.ICMPError = true
		}
	}
}

// Embedded returns the offset of the datagram embedded in an ICMP error
// message, or 0 when p is not one.
func (p *Parsed) Embedded() int {
	if !p.ICMPError || p.L4 == 0 || p.L4+8 > p.End {
		return 0
	}
	return p.L4 + 8
}
