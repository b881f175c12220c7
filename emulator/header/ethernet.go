package header

import "encoding/binary"

// MAC is an Ethernet address. It is a comparable value type.
type MAC [6]byte

// BroadcastMAC is ff:ff:ff:ff:ff:ff.
var BroadcastMAC = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// IsBroadcast reports whether m is the broadcast address.
func (m MAC) IsBroadcast() bool { return m == BroadcastMAC }

// IsMulticast reports whether m has the group bit set (IEEE 802.3 clause 3.2.3).
// Broadcast is multicast too.
func (m MAC) IsMulticast() bool { return m[0]&1 == 1 }

// Uint64 returns m as an integer, a cheap map key.
func (m MAC) Uint64() uint64 {
	return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 | uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
}

// IsZero reports whether m is 00:00:00:00:00:00.
func (m MAC) IsZero() bool { return m == MAC{} }

const hexDigits = "0123456789abcdef"

// WindowsString formats m the way Windows tools print MACs: 00-15-5D-0A-0B-0C.
// It allocates; keep it off the hot path.
func (m MAC) WindowsString() string {
	const upper = "0123456789ABCDEF"
	var b [17]byte
	for i, c := range m {
		if i > 0 {
			b[i*3-1] = '-'
		}
		b[i*3] = upper[c>>4]
		b[i*3+1] = upper[c&0xf]
	}
	return string(b[:])
}

// String formats m as aa:bb:cc:dd:ee:ff. It allocates; keep it off the hot path.
func (m MAC) String() string {
	var b [17]byte
	for i, c := range m {
		if i > 0 {
			b[i*3-1] = ':'
		}
		b[i*3] = hexDigits[c>>4]
		b[i*3+1] = hexDigits[c&0xf]
	}
	return string(b[:])
}

// ParseMAC parses aa:bb:cc:dd:ee:ff or aa-bb-cc-dd-ee-ff (the form HNS uses),
// in either case.
func ParseMAC(s string) (MAC, bool) {
	var m MAC
	if len(s) != 17 {
		return m, false
	}
	for i := 0; i < 6; i++ {
		hi, ok1 := unhex(s[i*3])
		lo, ok2 := unhex(s[i*3+1])
		if !ok1 || !ok2 {
			return m, false
		}
		if i < 5 && s[i*3+2] != ':' && s[i*3+2] != '-' {
			return m, false
		}
		m[i] = hi<<4 | lo
	}
	return m, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// EtherType values (IEEE 802 numbers).
const (
	EtherTypeIPv4 uint16 = 0x0800
	EtherTypeARP  uint16 = 0x0806
	EtherTypeVLAN uint16 = 0x8100
	EtherTypeQinQ uint16 = 0x88a8
	EtherTypeIPv6 uint16 = 0x86dd
)

// Ethernet II header (IEEE 802.3 clause 3.1.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Destination MAC (6 bytes)                    |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                    Source MAC (6 bytes)                       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           EtherType           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	ethDst  = 0
	ethSrc  = 6
	ethType = 12

	// EthernetMinimumSize is the size of an Ethernet II header without a VLAN tag.
	EthernetMinimumSize = 14
)

// Ethernet is a view of an Ethernet II header and what follows it.
type Ethernet []byte

// IsValid reports whether b holds a whole Ethernet header.
func (b Ethernet) IsValid() bool { return len(b) >= EthernetMinimumSize }

// DstMAC returns the destination address.
func (b Ethernet) DstMAC() MAC { return MAC(b[ethDst : ethDst+6]) }

// SrcMAC returns the source address.
func (b Ethernet) SrcMAC() MAC { return MAC(b[ethSrc : ethSrc+6]) }

// EtherType returns the EtherType (or TPID when a VLAN tag follows).
func (b Ethernet) EtherType() uint16 { return binary.BigEndian.Uint16(b[ethType:]) }

// SetDstMAC sets the destination address. It assigns the array instead of
// calling copy, which compiles to a memmove call (about 5 ns).
func (b Ethernet) SetDstMAC(m MAC) { *(*[6]byte)(b[ethDst : ethDst+6]) = m }

// SetSrcMAC sets the source address.
func (b Ethernet) SetSrcMAC(m MAC) { *(*[6]byte)(b[ethSrc : ethSrc+6]) = m }

// SetEtherType sets the EtherType.
func (b Ethernet) SetEtherType(t uint16) { binary.BigEndian.PutUint16(b[ethType:], t) }

// Encode writes a header. It does not allocate.
func (b Ethernet) Encode(dst, src MAC, etherType uint16) {
	b.SetDstMAC(dst)
	b.SetSrcMAC(src)
	b.SetEtherType(etherType)
}
