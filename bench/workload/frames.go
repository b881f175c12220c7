package workload

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// Frame sizes. A size is the length of an Ethernet frame including its 4-byte
// frame check sequence, the way RFC 2544 section 9.1 counts frame sizes (64 is
// the smallest Ethernet frame). Frames are stored and sent without the FCS, so
// a size-64 frame is 60 bytes long and carries a 46-byte IPv4 datagram.
const (
	// FCSLen is the length of the Ethernet frame check sequence, counted in a
	// size but not stored.
	FCSLen = 4
	// MinSize is the smallest Ethernet frame, FCS included (IEEE 802.3 clause 3.2.8).
	MinSize = 64
	// MaxSize is the largest untagged Ethernet frame, FCS included: a 1500-byte
	// IPv4 datagram.
	MaxSize = 1518

	ethLen  = 14
	ipv4Len = 20
	udpLen  = 8
	// minFrame is the shortest frame we build: 60 bytes, padded as Ethernet requires.
	minFrame = MinSize - FCSLen
)

// Size is a frame size in bytes (FCS included), or IMIX.
type Size int

// IMIX is the simple Internet mix: frames of 64, 594 and 1518 bytes (IPv4
// datagrams of 40 — padded to the 64-byte minimum frame —, 576 and 1500 bytes)
// in the ratio 7:4:1 (the "Simple IMIX" of Agilent and Spirent test tools;
// Wikipedia, "Internet Mix"; the same 7:4:1 of 40/576/1500 in
// esnet/iperf#1576).
const IMIX Size = -1

// imixSizes lists the frame size of each of the 12 packets of one IMIX cycle,
// interleaved so that any run of packets keeps the 7:4:1 mix closely.
var imixSizes = [12]int{64, 594, 64, 64, 594, 64, 1518, 64, 594, 64, 64, 594}

// String returns "imix" or the size in bytes.
func (s Size) String() string {
	if s == IMIX {
		return "imix"
	}
	return strconv.Itoa(int(s))
}

// frameSize returns the size (FCS included) of the p-th packet of a flow
// sequence.
func (s Size) frameSize(p int) int {
	if s == IMIX {
		return imixSizes[p%len(imixSizes)]
	}
	return int(s)
}

// classes returns the distinct frame sizes s produces.
func (s Size) classes() []int {
	if s == IMIX {
		return []int{64, 594, 1518}
	}
	return []int{int(s)}
}

// macAddr is a MAC address.
type macAddr [6]byte

// mustMAC parses a MAC address written as six hex bytes separated by ':' or
// '-'. It panics on bad input: it is for the hard-coded addresses of the
// built-in topologies.
func mustMAC(s string) macAddr {
	m, ok := parseMAC(s)
	if !ok {
		panic("workload: bad MAC " + s)
	}
	return m
}

func parseMAC(s string) (macAddr, bool) {
	var m macAddr
	if len(s) != 17 {
		return m, false
	}
	for i := range 6 {
		if i > 0 && s[3*i-1] != ':' && s[3*i-1] != '-' {
			return m, false
		}
		hi, ok1 := unhex(s[3*i])
		lo, ok2 := unhex(s[3*i+1])
		if !ok1 || !ok2 {
			return m, false
		}
		m[i] = hi<<4 | lo
	}
	return m, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// key returns the MAC as an integer, for lookups.
func (m macAddr) key() uint64 {
	return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 | uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
}

// srcMACKey returns the source MAC of frame b as an integer; b must be at least
// 12 bytes long.
func srcMACKey(b []byte) uint64 {
	return uint64(b[6])<<40 | uint64(b[7])<<32 | uint64(b[8])<<24 | uint64(b[9])<<16 | uint64(b[10])<<8 | uint64(b[11])
}

// udp4 describes a UDP/IPv4 frame to build.
type udp4 struct {
	dstMAC, srcMAC macAddr
	src, dst       [4]byte
	sport, dport   uint16
	id             uint16
	ttl            uint8
}

// frameLen returns the stored length of a frame of size bytes (FCS included):
// size-4, at least the 60 bytes Ethernet requires.
func frameLen(size int) int { return max(size-FCSLen, minFrame) }

// putUDP4 writes a UDP/IPv4 Ethernet frame filling all of b, which must be at
// least 60 bytes long (see frameLen). The IPv4 header has no options and DF
// clear; both checksums are computed (RFC 791 section 3.1; RFC 768, with the
// pseudo-header). The payload is zeros.
func putUDP4(b []byte, u *udp4) {
	clear(b)
	copy(b[0:6], u.dstMAC[:])
	copy(b[6:12], u.srcMAC[:])
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[ethLen : ethLen+ipv4Len]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(len(b)-ethLen))
	binary.BigEndian.PutUint16(ip[4:], u.id)
	ttl := u.ttl
	if ttl == 0 {
		ttl = 64
	}
	ip[8] = ttl
	ip[9] = 17
	copy(ip[12:16], u.src[:])
	copy(ip[16:20], u.dst[:])
	binary.BigEndian.PutUint16(ip[10:], ^fold(sum(0, ip)))
	udp := b[ethLen+ipv4Len:]
	binary.BigEndian.PutUint16(udp[0:], u.sport)
	binary.BigEndian.PutUint16(udp[2:], u.dport)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	binary.BigEndian.PutUint16(udp[6:], udpChecksum(ip, udp))
}

// udpChecksum computes the UDP checksum of datagram udp (checksum field
// zero) carried in IPv4 header ip: the one's complement of the one's
// complement sum of the pseudo-header (source, destination, zero, protocol 17,
// UDP length) and the datagram (RFC 768). A computed zero is sent as 0xffff.
func udpChecksum(ip, udp []byte) uint16 {
	s := sum(0, ip[12:20])
	s += 17 + uint32(len(udp))
	c := ^fold(sum(s, udp))
	if c == 0 {
		c = 0xffff
	}
	return c
}

// arena hands out frame buffers from large chunks, so that a million frames
// are a few allocations.
type arena struct{ cur []byte }

const arenaChunk = 1 << 20

// alloc returns n zeroed bytes that no other call returns.
func (a *arena) alloc(n int) []byte {
	if cap(a.cur)-len(a.cur) < n {
		a.cur = make([]byte, 0, max(arenaChunk, n))
	}
	start := len(a.cur)
	a.cur = a.cur[:start+n]
	return a.cur[start : start+n : start+n]
}

// udp4Frame builds a UDP/IPv4 frame of size bytes (FCS included) in a.
func (a *arena) udp4Frame(u *udp4, size int) []byte {
	b := a.alloc(frameLen(size))
	putUDP4(b, u)
	return b
}

// sum adds b as big-endian 16-bit words to s (RFC 1071), without folding.
func sum(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// addr4 returns the 4 bytes of an IPv4 address written in dotted form; it
// panics on bad input (hard-coded addresses only).
func addr4(s string) [4]byte {
	return netip.MustParseAddr(s).As4()
}

// addOffset returns a + n as an IPv4 address.
func addOffset(a [4]byte, n int) [4]byte {
	v := binary.BigEndian.Uint32(a[:]) + uint32(n)
	var out [4]byte
	binary.BigEndian.PutUint32(out[:], v)
	return out
}
