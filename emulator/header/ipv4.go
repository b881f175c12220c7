package header

import (
	"encoding/binary"
	"net/netip"

	"github.com/hnspath/hnspath/emulator/checksum"
)

// IPv4 header (RFC 791 section 3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version|  IHL  |Type of Service|          Total Length         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Identification        |Flags|      Fragment Offset    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Time to Live |    Protocol   |         Header Checksum       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Source Address                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Destination Address                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Options                    |    Padding    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	v4VerIHL   = 0
	v4TOS      = 1
	v4TotalLen = 2
	v4ID       = 4
	v4FlagsFO  = 6
	v4TTL      = 8
	v4Protocol = 9
	v4Checksum = IPv4ChecksumOffset
	v4Src      = IPv4SrcAddrOffset
	v4Dst      = IPv4DstAddrOffset

	// IPv4ChecksumOffset, IPv4SrcAddrOffset and IPv4DstAddrOffset are the
	// offsets, from the start of the header, of the header checksum and of
	// the two addresses, for code that rewrites them in place (WinNAT).
	// The two addresses are adjacent: 8 bytes from IPv4SrcAddrOffset.
	IPv4ChecksumOffset = 10
	IPv4SrcAddrOffset  = 12
	IPv4DstAddrOffset  = 16

	// IPv4MinimumSize is the size of an IPv4 header without options.
	IPv4MinimumSize = 20
	// IPv4MaximumHeaderSize is the size of an IPv4 header with 40 bytes of options.
	IPv4MaximumHeaderSize = 60

	// IPv4FlagDontFragment and IPv4FlagMoreFragments are the flag bits of the
	// flags/fragment-offset word (RFC 791 section 3.1).
	IPv4FlagDontFragment  = 0x4000
	IPv4FlagMoreFragments = 0x2000
)

// IP protocol numbers (IANA).
const (
	ProtoICMPv4 uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
)

// IPv4 is a view of an IPv4 header and its payload.
type IPv4 []byte

// IsValid reports whether b holds a well-formed IPv4 header: version 4, a
// header length of at least 20 bytes that fits, and a total length that is at
// least the header length and no more than len(b).
func (b IPv4) IsValid() bool {
	if len(b) < IPv4MinimumSize || b[v4VerIHL]>>4 != 4 {
		return false
	}
	hl := b.HeaderLength()
	tl := int(b.TotalLength())
	return hl >= IPv4MinimumSize && hl <= len(b) && tl >= hl && tl <= len(b)
}

// HeaderLength returns the header length in bytes, options included.
func (b IPv4) HeaderLength() int { return int(b[v4VerIHL]&0xf) * 4 }

// TOS returns the type-of-service byte (DSCP and ECN).
func (b IPv4) TOS() uint8 { return b[v4TOS] }

// TotalLength returns the total length of the datagram.
func (b IPv4) TotalLength() uint16 { return binary.BigEndian.Uint16(b[v4TotalLen:]) }

// ID returns the identification field.
func (b IPv4) ID() uint16 { return binary.BigEndian.Uint16(b[v4ID:]) }

// Flags returns the three flag bits in the high bits of a 16-bit word
// (compare with IPv4FlagDontFragment and IPv4FlagMoreFragments).
func (b IPv4) Flags() uint16 { return binary.BigEndian.Uint16(b[v4FlagsFO:]) & 0xe000 }

// FragmentOffset returns the fragment offset in bytes.
func (b IPv4) FragmentOffset() uint16 { return binary.BigEndian.Uint16(b[v4FlagsFO:]) << 3 }

// SetFlagsFragmentOffset writes the flag bits (IPv4FlagDontFragment,
// IPv4FlagMoreFragments) and the fragment offset in bytes (a multiple of
// 8; RFC 791 §3.1). It does not update the checksum.
func (b IPv4) SetFlagsFragmentOffset(flags, offset uint16) {
	binary.BigEndian.PutUint16(b[v4FlagsFO:], flags&0xe000|offset>>3&0x1fff)
}

// IsFragment reports whether the datagram is a fragment (MF set or a non-zero offset).
func (b IPv4) IsFragment() bool { return binary.BigEndian.Uint16(b[v4FlagsFO:])&0x3fff != 0 }

// TTL returns the "time to live" field (RFC 791 section 3.1).
func (b IPv4) TTL() uint8 { return b[v4TTL] }

// Protocol returns the protocol of the payload.
func (b IPv4) Protocol() uint8 { return b[v4Protocol] }

// Checksum returns the header checksum field.
func (b IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(b[v4Checksum:]) }

// SrcAddr returns the source address.
func (b IPv4) SrcAddr() netip.Addr { return netip.AddrFrom4([4]byte(b[v4Src : v4Src+4])) }

// DstAddr returns the destination address.
func (b IPv4) DstAddr() netip.Addr { return netip.AddrFrom4([4]byte(b[v4Dst : v4Dst+4])) }

// SrcBytes returns the source address bytes, aliasing b.
func (b IPv4) SrcBytes() []byte { return b[v4Src : v4Src+4] }

// DstBytes returns the destination address bytes, aliasing b.
func (b IPv4) DstBytes() []byte { return b[v4Dst : v4Dst+4] }

// Options returns the options bytes, aliasing b.
func (b IPv4) Options() []byte { return b[IPv4MinimumSize:b.HeaderLength()] }

// Payload returns the bytes after the header up to the total length, aliasing b.
func (b IPv4) Payload() []byte { return b[b.HeaderLength():b.TotalLength()] }

// CalculateChecksum returns the checksum the header should carry.
func (b IPv4) CalculateChecksum() uint16 {
	hl := b.HeaderLength()
	s := checksum.Checksum(b[:v4Checksum], 0)
	return ^checksum.Checksum(b[v4Src:hl], s)
}

// IsChecksumValid reports whether the header checksum is right.
func (b IPv4) IsChecksumValid() bool {
	if hl := b.HeaderLength(); hl != IPv4MinimumSize {
		return checksum.Checksum(b[:hl], 0) == 0xffff
	}
	return checksum.Valid20(b)
}

// SetChecksum sets the header checksum field.
func (b IPv4) SetChecksum(c uint16) { binary.BigEndian.PutUint16(b[v4Checksum:], c) }

// SetTTL sets the TTL without touching the checksum.
func (b IPv4) SetTTL(t uint8) { b[v4TTL] = t }

// SetTotalLength sets the total length without touching the checksum.
func (b IPv4) SetTotalLength(l uint16) { binary.BigEndian.PutUint16(b[v4TotalLen:], l) }

// SetTTLWithChecksumUpdate sets the TTL and updates the header checksum
// (RFC 1624; RFC 1812 section 5.3.1 describes the forwarding decrement).
func (b IPv4) SetTTLWithChecksumUpdate(t uint8) {
	b.SetChecksum(checksum.Update8(b.Checksum(), b[v4TTL], t, true))
	b[v4TTL] = t
}

// DecTTLWithChecksumUpdate decrements the TTL by one and updates the
// checksum. It returns the new TTL. Callers drop the packet when the TTL was
// 0 or 1 before forwarding (RFC 1812 section 5.3.1).
func (b IPv4) DecTTLWithChecksumUpdate() uint8 {
	// RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), where the word m holds the TTL
	// in its high byte and m' = m - 0x100: ~m + m' = 0xFEFF for every m,
	// except a TTL of 0, which wraps to 255 (m' = m + 0xFF00: 0xFF00 after the
	// end-around carry). One fold is enough (~HC + 0xFEFF < 0x1FEFF). Small
	// enough to inline.
	old := b[v4TTL]
	d := uint32(0xfeff)
	if old == 0 {
		d = 0xff00
	}
	s := uint32(^binary.BigEndian.Uint16(b[v4Checksum:])) + d
	binary.BigEndian.PutUint16(b[v4Checksum:], ^uint16(s&0xffff+s>>16))
	b[v4TTL] = old - 1
	return old - 1
}

// wrapTTL is DecTTLWithChecksumUpdate for a TTL of 0 (which becomes 255).
//
//go:noinline
func (b IPv4) wrapTTL() uint8 {
	b.SetTTLWithChecksumUpdate(0xff)
	return 0xff
}

// SetIDWithChecksumUpdate sets the identification and updates the checksum.
func (b IPv4) SetIDWithChecksumUpdate(id uint16) {
	b.SetChecksum(checksum.Update16(b.Checksum(), b.ID(), id))
	binary.BigEndian.PutUint16(b[v4ID:], id)
}

// SetTOSWithChecksumUpdate sets the type-of-service byte and updates the checksum.
func (b IPv4) SetTOSWithChecksumUpdate(tos uint8) {
	b.SetChecksum(checksum.Update8(b.Checksum(), b[v4TOS], tos, false))
	b[v4TOS] = tos
}

// SetSrcAddrWithChecksumUpdate sets the source address and updates the
// header checksum. A transport checksum that covers the pseudo-header must be
// updated separately (see packet.Parsed).
func (b IPv4) SetSrcAddrWithChecksumUpdate(a [4]byte) {
	b.SetChecksum(checksum.UpdateBytes(b.Checksum(), b[v4Src:v4Src+4], a[:]))
	copy(b[v4Src:], a[:])
}

// SetDstAddrWithChecksumUpdate sets the destination address and updates the
// header checksum.
func (b IPv4) SetDstAddrWithChecksumUpdate(a [4]byte) {
	b.SetChecksum(checksum.UpdateBytes(b.Checksum(), b[v4Dst:v4Dst+4], a[:]))
	copy(b[v4Dst:], a[:])
}

// SetTotalLengthWithChecksumUpdate sets the total length and updates the checksum.
func (b IPv4) SetTotalLengthWithChecksumUpdate(l uint16) {
	b.SetChecksum(checksum.Update16(b.Checksum(), b.TotalLength(), l))
	b.SetTotalLength(l)
}

// IPv4Fields holds what Encode writes into a 20-byte header.
type IPv4Fields struct {
	TOS         uint8
	TotalLength uint16
	ID          uint16
	Flags       uint16 // IPv4FlagDontFragment, IPv4FlagMoreFragments
	TTL         uint8
	Protocol    uint8
	Src, Dst    [4]byte
}

// Encode writes a 20-byte header without options, with its checksum.
func (b IPv4) Encode(f *IPv4Fields) {
	b[v4VerIHL] = 0x45
	b[v4TOS] = f.TOS
	binary.BigEndian.PutUint16(b[v4TotalLen:], f.TotalLength)
	binary.BigEndian.PutUint16(b[v4ID:], f.ID)
	binary.BigEndian.PutUint16(b[v4FlagsFO:], f.Flags&0xe000)
	b[v4TTL] = f.TTL
	b[v4Protocol] = f.Protocol
	binary.BigEndian.PutUint16(b[v4Checksum:], 0)
	copy(b[v4Src:], f.Src[:])
	copy(b[v4Dst:], f.Dst[:])
	b.SetChecksum(b.CalculateChecksum())
}
