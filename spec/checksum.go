package spec

import (
	"encoding/binary"
	"net/netip"
)

// This file computes Internet checksums independently of gopacket, so that
// Decode and Match can judge a frame's checksums (chksum=valid) with code
// that did not build it.

// sum adds b to the 32-bit one's complement accumulator s (RFC 1071
// section 4.1); an odd final byte is padded with zero.
func sum(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

// fold folds the accumulator to 16 bits (RFC 1071 section 4.1).
func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// pseudoSum returns the sum of the pseudo-header for an upper-layer packet
// of length n and protocol proto between src and dst (RFC 9293 section
// 3.1 for IPv4, RFC 8200 section 8.1 for IPv6).
func pseudoSum(src, dst netip.Addr, proto uint8, n int) uint32 {
	s := sum(0, src.AsSlice())
	s = sum(s, dst.AsSlice())
	s += uint32(proto)
	s += uint32(n>>16) + uint32(n&0xffff)
	return s
}

// update16 returns checksum hc after a 16-bit word changes from old to new
// (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')).
func update16(hc, old, new uint16) uint16 {
	s := uint32(^hc) + uint32(^old) + uint32(new)
	return ^fold(s)
}
