package header

import (
	"encoding/binary"
	"net/netip"
)

// ARP for IPv4 over Ethernet (RFC 826):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Hardware Type         |         Protocol Type         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  HW Addr Len  | Proto Addr Len|           Operation           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Sender HW Addr (6) | Sender Proto Addr (4) | Target HW (6) | Target Proto (4)
const (
	arpHType = 0
	arpPType = 2
	arpHLen  = 4
	arpPLen  = 5
	arpOp    = 6
	arpSHA   = 8
	arpSPA   = 14
	arpTHA   = 18
	arpTPA   = 24

	// ARPSize is the size of an ARP packet for IPv4 over Ethernet.
	ARPSize = 28

	// ARPRequest and ARPReply are the ARP operation codes (RFC 826).
	ARPRequest uint16 = 1
	ARPReply   uint16 = 2
)

// ARP is a view of an ARP packet for IPv4 over Ethernet.
type ARP []byte

// IsValid reports whether b is a whole Ethernet/IPv4 ARP packet.
func (b ARP) IsValid() bool {
	return len(b) >= ARPSize &&
		binary.BigEndian.Uint16(b[arpHType:]) == 1 &&
		binary.BigEndian.Uint16(b[arpPType:]) == EtherTypeIPv4 &&
		b[arpHLen] == 6 && b[arpPLen] == 4
}

// Op returns the operation.
func (b ARP) Op() uint16 { return binary.BigEndian.Uint16(b[arpOp:]) }

// SenderMAC returns the sender hardware address.
func (b ARP) SenderMAC() MAC { return MAC(b[arpSHA : arpSHA+6]) }

// SenderIP returns the sender protocol address.
func (b ARP) SenderIP() netip.Addr { return netip.AddrFrom4([4]byte(b[arpSPA : arpSPA+4])) }

// TargetMAC returns the target hardware address.
func (b ARP) TargetMAC() MAC { return MAC(b[arpTHA : arpTHA+6]) }

// TargetIP returns the target protocol address.
func (b ARP) TargetIP() netip.Addr { return netip.AddrFrom4([4]byte(b[arpTPA : arpTPA+4])) }

// Encode writes a whole ARP packet for IPv4 over Ethernet.
func (b ARP) Encode(op uint16, sha MAC, spa netip.Addr, tha MAC, tpa netip.Addr) {
	binary.BigEndian.PutUint16(b[arpHType:], 1)
	binary.BigEndian.PutUint16(b[arpPType:], EtherTypeIPv4)
	b[arpHLen] = 6
	b[arpPLen] = 4
	binary.BigEndian.PutUint16(b[arpOp:], op)
	copy(b[arpSHA:], sha[:])
	s4 := spa.As4()
	copy(b[arpSPA:], s4[:])
	copy(b[arpTHA:], tha[:])
	t4 := tpa.As4()
	copy(b[arpTPA:], t4[:])
}

// ARPRequestFrame returns a broadcast Ethernet frame carrying an ARP
// request (RFC 826) from (sha, spa) for tpa, as a host sends to resolve a
// neighbour. It allocates; it is for building inputs, not for the path.
func ARPRequestFrame(sha MAC, spa, tpa netip.Addr) []byte {
	b := make([]byte, EthernetMinimumSize+ARPSize)
	Ethernet(b).Encode(BroadcastMAC, sha, EtherTypeARP)
	ARP(b[EthernetMinimumSize:]).Encode(ARPRequest, sha, spa, MAC{}, tpa)
	return b
}

// ARPReplySender returns the sender hardware address of frame b when b is
// an Ethernet frame with an ARP reply from spa.
func ARPReplySender(b []byte, spa netip.Addr) (MAC, bool) {
	if len(b) < EthernetMinimumSize+ARPSize || Ethernet(b).EtherType() != EtherTypeARP {
		return MAC{}, false
	}
	a := ARP(b[EthernetMinimumSize:])
	if a.Op() != ARPReply || a.SenderIP() != spa {
		return MAC{}, false
	}
	return a.SenderMAC(), true
}
