package header

import (
	"encoding/binary"

	"github.com/hnspath/hnspath/emulator/checksum"
)

// UDP header (RFC 768):
//
//	 0      7 8     15 16    23 24    31
//	+--------+--------+--------+--------+
//	|     Source      |   Destination   |
//	|      Port       |      Port       |
//	+--------+--------+--------+--------+
//	|     Length      |    Checksum     |
//	+--------+--------+--------+--------+
const (
	udpSrcPort  = UDPSrcPortOffset
	udpDstPort  = UDPDstPortOffset
	udpLength   = 4
	udpChecksum = UDPChecksumOffset

	// UDPSrcPortOffset, UDPDstPortOffset and UDPChecksumOffset are the
	// offsets of the ports and of the checksum from the start of the
	// header, for code that rewrites them in place.
	UDPSrcPortOffset  = 0
	UDPDstPortOffset  = 2
	UDPChecksumOffset = 6

	// UDPSize is the size of a UDP header.
	UDPSize = 8
)

// UDP is a view of a UDP header and its payload.
type UDP []byte

// IsValid reports whether b holds a whole UDP header.
func (b UDP) IsValid() bool { return len(b) >= UDPSize }

// SrcPort returns the source port.
func (b UDP) SrcPort() uint16 { return binary.BigEndian.Uint16(b[udpSrcPort:]) }

// DstPort returns the destination port.
func (b UDP) DstPort() uint16 { return binary.BigEndian.Uint16(b[udpDstPort:]) }

// Length returns the length field (header plus data).
func (b UDP) Length() uint16 { return binary.BigEndian.Uint16(b[udpLength:]) }

// Checksum returns the checksum field. Over IPv4, 0 means "no checksum" (RFC 768).
func (b UDP) Checksum() uint16 { return binary.BigEndian.Uint16(b[udpChecksum:]) }

// SetSrcPort sets the source port without touching the checksum.
func (b UDP) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(b[udpSrcPort:], p) }

// SetDstPort sets the destination port without touching the checksum.
func (b UDP) SetDstPort(p uint16) { binary.BigEndian.PutUint16(b[udpDstPort:], p) }

// SetLength sets the length field without touching the checksum.
func (b UDP) SetLength(l uint16) { binary.BigEndian.PutUint16(b[udpLength:], l) }

// SetChecksum sets the checksum field.
func (b UDP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(b[udpChecksum:], c) }

// Payload returns the data after the header, aliasing b.
func (b UDP) Payload() []byte { return b[UDPSize:] }

// normalizeUDP keeps the RFC 768 rules after an incremental update: a
// checksum of 0 means "none" and stays 0 (callers check that first), and a
// computed 0 is sent as 0xFFFF (gVisor header/udp.go normalizeChecksum).
func normalizeUDP(c uint16) uint16 {
	if c == 0 {
		return 0xffff
	}
	return c
}

// SetSrcPortWithChecksumUpdate sets the source port and updates the checksum
// (RFC 1624); a zero checksum stays zero.
func (b UDP) SetSrcPortWithChecksumUpdate(p uint16) {
	if hc := b.Checksum(); hc != 0 {
		b.SetChecksum(normalizeUDP(checksum.Update16(hc, b.SrcPort(), p)))
	}
	b.SetSrcPort(p)
}

// SetDstPortWithChecksumUpdate sets the destination port and updates the checksum.
func (b UDP) SetDstPortWithChecksumUpdate(p uint16) {
	if hc := b.Checksum(); hc != 0 {
		b.SetChecksum(normalizeUDP(checksum.Update16(hc, b.DstPort(), p)))
	}
	b.SetDstPort(p)
}

// UpdateChecksumPseudoHeaderAddress updates the checksum after an address of
// the pseudo-header changes from old to new (4 or 16 bytes each). A zero
// checksum stays zero.
func (b UDP) UpdateChecksumPseudoHeaderAddress(old, new []byte) {
	if hc := b.Checksum(); hc != 0 {
		b.SetChecksum(normalizeUDP(checksum.UpdateBytes(hc, old, new)))
	}
}

// UpdateChecksumLength updates the checksum after the UDP length changes,
// which it covers twice: in the header and in the pseudo-header.
func (b UDP) UpdateChecksumLength(old, new uint16) {
	if hc := b.Checksum(); hc != 0 {
		c := checksum.Update16(hc, old, new)
		b.SetChecksum(normalizeUDP(checksum.Update16(c, old, new)))
	}
}

// CalculateChecksum returns the checksum for the UDP datagram b (header and
// data, len(b) == Length) given the pseudo-header sum. A result of 0 is
// returned as 0xFFFF (RFC 768).
func (b UDP) CalculateChecksum(pseudo uint16) uint16 {
	s := checksum.Checksum(b[:udpChecksum], pseudo)
	s = checksum.Checksum(b[udpChecksum+2:], s)
	c := ^s
	if c == 0 {
		c = 0xffff
	}
	return c
}

// IsChecksumValid reports whether the checksum is right for the given
// pseudo-header sum. A zero checksum counts as valid (none; IPv4 only).
func (b UDP) IsChecksumValid(pseudo uint16) bool {
	if b.Checksum() == 0 {
		return true
	}
	return checksum.Checksum(b, pseudo) == 0xffff
}

// Encode writes a header with a zero checksum.
func (b UDP) Encode(src, dst, length uint16) {
	b.SetSrcPort(src)
	b.SetDstPort(dst)
	b.SetLength(length)
	b.SetChecksum(0)
}
