package checksum

import "encoding/binary"

// A rewrite that changes the same words from the same old values to the
// same new ones on every packet (a NAT session's address and port) changes
// every checksum covering those words by the same amount. RFC 1624 section
// 3, eqn. 3 updates a checksum HC after words m change to m' as
// HC' = ~(~HC + ~m + m'); with several words the sum of the ~m + m' terms
// does not depend on the packet, so it can be computed once, folded to 16
// bits (a Delta), and applied to each packet's checksum with one one's
// complement addition. The sum is order-free, so a Delta of several fields
// is the Add of theirs, and a transport checksum's Delta includes the
// address change through its pseudo-header (RFC 9293 section 3.1, RFC 768).

// Delta is the folded one's complement sum of ~m + m' over the 16-bit
// words a rewrite changes (RFC 1624 eqn. 3). The zero Delta changes
// nothing.
type Delta uint16

// Delta16 returns the Delta of a 16-bit word changing from old to new (a
// port, an ICMP query identifier).
func Delta16(old, new uint16) Delta {
	return Delta(fold(uint64(^old) + uint64(new)))
}

// Delta32 returns the Delta of two aligned 16-bit words, four bytes in
// network order (an IPv4 address), changing from old to new.
func Delta32(old, new [4]byte) Delta {
	return Delta(fold(uint64(^binary.BigEndian.Uint16(old[0:])) + uint64(binary.BigEndian.Uint16(new[0:])) +
		uint64(^binary.BigEndian.Uint16(old[2:])) + uint64(binary.BigEndian.Uint16(new[2:]))))
}

// Add returns the Delta of both rewrites, d's and e's (disjoint words).
func (d Delta) Add(e Delta) Delta {
	s := uint32(d) + uint32(e)
	return Delta(s&0xffff + s>>16)
}

// Apply returns checksum field hc after the rewrite whose Delta is d:
// ~(~hc + d) (RFC 1624 eqn. 3). Like Update16 it never yields the -0
// ambiguity of eqn. 2. A UDP checksum of 0 (none) and a computed 0 sent as
// 0xFFFF (RFC 768) are the caller's business.
func (d Delta) Apply(hc uint16) uint16 {
	s := uint32(^hc) + uint32(d)
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return ^uint16(s)
}
