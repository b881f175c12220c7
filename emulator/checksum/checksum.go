// Package checksum computes the Internet checksum (RFC 1071) and updates it
// incrementally when a field changes (RFC 1624).
//
// Sums here are the 16-bit one's complement sum of the data, not yet
// complemented; a header's checksum field holds the complement of the sum.
// Nothing in this package allocates.
package checksum

import "encoding/binary"

// Checksum returns the 16-bit one's complement sum of buf, added to initial
// (RFC 1071 section 4.1). An odd final byte is padded with a zero byte.
// Checksum does not allocate and does not keep buf.
func Checksum(buf []byte, initial uint16) uint16 {
	s := uint64(initial)
	for len(buf) >= 32 {
		s += uint64(binary.BigEndian.Uint32(buf[0:]))
		s += uint64(binary.BigEndian.Uint32(buf[4:]))
		s += uint64(binary.BigEndian.Uint32(buf[8:]))
		s += uint64(binary.BigEndian.Uint32(buf[12:]))
		s += uint64(binary.BigEndian.Uint32(buf[16:]))
		s += uint64(binary.BigEndian.Uint32(buf[20:]))
		s += uint64(binary.BigEndian.Uint32(buf[24:]))
		s += uint64(binary.BigEndian.Uint32(buf[28:]))
		buf = buf[32:]
	}
	for len(buf) >= 4 {
		s += uint64(binary.BigEndian.Uint32(buf))
		buf = buf[4:]
	}
	if len(buf) >= 2 {
		s += uint64(binary.BigEndian.Uint16(buf))
		buf = buf[2:]
	}
	if len(buf) == 1 {
		s += uint64(buf[0]) << 8
	}
	return fold(s)
}

// Valid20 reports whether the 20 bytes at b, an IPv4 header without
// options, sum to 0xFFFF (its checksum is right), with five native-order
// 32-bit loads: the one's complement sum does not depend on byte order
// (RFC 1071 section 2(B)), and 0xFFFF is the same swapped.
func Valid20(b []byte) bool {
	_ = b[19]
	s := uint64(binary.NativeEndian.Uint32(b[0:])) + uint64(binary.NativeEndian.Uint32(b[4:])) +
		uint64(binary.NativeEndian.Uint32(b[8:])) + uint64(binary.NativeEndian.Uint32(b[12:])) +
		uint64(binary.NativeEndian.Uint32(b[16:]))
	return fold(s) == 0xffff
}

// fold reduces a wide one's complement accumulator to 16 bits.
func fold(s uint64) uint16 {
	s = s&0xffffffff + s>>32
	s = s&0xffffffff + s>>32
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return uint16(s)
}

// Combine returns the one's complement sum of a and b.
func Combine(a, b uint16) uint16 {
	s := uint32(a) + uint32(b)
	return uint16(s + s>>16)
}

// PseudoHeader returns the sum of the TCP/UDP/ICMPv6 pseudo-header: the
// source and destination addresses (4 or 16 bytes each), the protocol and the
// upper-layer length (RFC 793 section 3.1, RFC 768, RFC 8200 section 8.1).
func PseudoHeader(proto uint8, src, dst []byte, length uint32) uint16 {
	s := Checksum(src, 0)
	s = Checksum(dst, s)
	s = Combine(s, uint16(length>>16))
	s = Combine(s, uint16(length))
	return Combine(s, uint16(proto))
}

// Update16 returns checksum field hc after a 16-bit word of the covered data
// changes from old to new.
//
// RFC 1624 section 3, eqn. 3: HC' = ~(~HC + ~m + m'). Unlike eqn. 2 it never
// produces the -0 (0xFFFF sum) ambiguity the RFC describes for RFC 1141.
func Update16(hc, old, new uint16) uint16 {
	s := uint32(^hc) + uint32(^old) + uint32(new)
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return ^uint16(s)
}

// Update32 returns checksum field hc after a 32-bit quantity of the covered
// data (two aligned 16-bit words) changes from old to new (RFC 1624 eqn. 3,
// applied to both words at once).
func Update32(hc uint16, old, new uint32) uint16 {
	s := uint64(^hc) + uint64(^uint16(old>>16)) + uint64(^uint16(old)) + uint64(new>>16) + uint64(new&0xffff)
	return ^fold(s)
}

// UpdateBytes returns checksum field hc after the bytes old, at an even offset
// of the covered data, are replaced by new of the same length (addresses, MACs).
// An odd length counts the final byte as the high byte of a padded word.
func UpdateBytes(hc uint16, old, new []byte) uint16 {
	if len(old) != len(new) {
		panic("checksum: UpdateBytes with different lengths")
	}
	s := uint64(^hc)
	for i := 0; i+1 < len(old); i += 2 {
		s += uint64(^binary.BigEndian.Uint16(old[i:])) + uint64(binary.BigEndian.Uint16(new[i:]))
	}
	if len(old)%2 == 1 {
		s += uint64(^(uint16(old[len(old)-1]) << 8)) + uint64(uint16(new[len(new)-1])<<8)
	}
	return ^fold(s)
}

// Update8 returns checksum field hc after one byte of the covered data
// changes from old to new. high reports whether the byte is the first
// (high-order) byte of its 16-bit word, as the TTL is in the IPv4 header.
func Update8(hc uint16, old, new uint8, high bool) uint16 {
	if high {
		return Update16(hc, uint16(old)<<8, uint16(new)<<8)
	}
	return Update16(hc, uint16(old), uint16(new))
}
