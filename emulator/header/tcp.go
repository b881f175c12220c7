package header

import (
	"encoding/binary"

	"github.com/hnspath/hnspath/emulator/checksum"
)

// TCP header (RFC 9293 section 3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Source Port          |       Destination Port        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Sequence Number                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Acknowledgment Number                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Data |       |C|E|U|A|P|R|S|F|                               |
//	| Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Checksum            |         Urgent Pointer        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	tcpSrcPort  = TCPSrcPortOffset
	tcpDstPort  = TCPDstPortOffset
	tcpSeq      = 4
	tcpAck      = 8
	tcpDataOff  = 12
	tcpFlags    = 13
	tcpWindow   = 14
	tcpChecksum = TCPChecksumOffset
	tcpUrgent   = 18

	// TCPMinimumSize is the size of a TCP header without options.
	TCPMinimumSize = 20

	// TCPSrcPortOffset, TCPDstPortOffset and TCPChecksumOffset are the
	// offsets of the ports and of the checksum from the start of the
	// header, for code that rewrites them in place. UDP has its ports at
	// the same offsets (UDPSrcPortOffset, UDPDstPortOffset), not its
	// checksum.
	TCPSrcPortOffset  = 0
	TCPDstPortOffset  = 2
	TCPChecksumOffset = 16

	// TCPOptionMSS is the kind of the Maximum Segment Size option (RFC 9293 section 3.2).
	TCPOptionMSS = 2
)

// TCP flag bits.
const (
	TCPFlagFIN uint8 = 1 << iota
	TCPFlagSYN
	TCPFlagRST
	TCPFlagPSH
	TCPFlagACK
	TCPFlagURG
	TCPFlagECE
	TCPFlagCWR
)

// TCP is a view of a TCP header and its payload.
type TCP []byte

// IsValid reports whether b holds a whole TCP header, options included.
func (b TCP) IsValid() bool {
	if len(b) < TCPMinimumSize {
		return false
	}
	n := b.HeaderLength()
	return n >= TCPMinimumSize && n <= len(b)
}

// SrcPort returns the source port.
func (b TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(b[tcpSrcPort:]) }

// DstPort returns the destination port.
func (b TCP) DstPort() uint16 { return binary.BigEndian.Uint16(b[tcpDstPort:]) }

// Seq returns the sequence number.
func (b TCP) Seq() uint32 { return binary.BigEndian.Uint32(b[tcpSeq:]) }

// Ack returns the acknowledgment number.
func (b TCP) Ack() uint32 { return binary.BigEndian.Uint32(b[tcpAck:]) }

// HeaderLength returns the header length in bytes, options included.
func (b TCP) HeaderLength() int { return int(b[tcpDataOff]>>4) * 4 }

// Flags returns the flag byte.
func (b TCP) Flags() uint8 { return b[tcpFlags] }

// Window returns the window size.
func (b TCP) Window() uint16 { return binary.BigEndian.Uint16(b[tcpWindow:]) }

// Checksum returns the checksum field.
func (b TCP) Checksum() uint16 { return binary.BigEndian.Uint16(b[tcpChecksum:]) }

// SetChecksum sets the checksum field.
func (b TCP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(b[tcpChecksum:], c) }

// SetSrcPort sets the source port without touching the checksum.
func (b TCP) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(b[tcpSrcPort:], p) }

// SetDstPort sets the destination port without touching the checksum.
func (b TCP) SetDstPort(p uint16) { binary.BigEndian.PutUint16(b[tcpDstPort:], p) }

// Options returns the options bytes, aliasing b.
func (b TCP) Options() []byte { return b[TCPMinimumSize:b.HeaderLength()] }

// Payload returns the data after the header, aliasing b.
func (b TCP) Payload() []byte { return b[b.HeaderLength():] }

// SetSrcPortWithChecksumUpdate sets the source port and updates the checksum (RFC 1624).
func (b TCP) SetSrcPortWithChecksumUpdate(p uint16) {
	b.SetChecksum(checksum.Update16(b.Checksum(), b.SrcPort(), p))
	b.SetSrcPort(p)
}

// SetDstPortWithChecksumUpdate sets the destination port and updates the checksum.
func (b TCP) SetDstPortWithChecksumUpdate(p uint16) {
	b.SetChecksum(checksum.Update16(b.Checksum(), b.DstPort(), p))
	b.SetDstPort(p)
}

// UpdateChecksumPseudoHeaderAddress updates the checksum after an address of
// the pseudo-header changes from old to new (4 or 16 bytes each).
func (b TCP) UpdateChecksumPseudoHeaderAddress(old, new []byte) {
	b.SetChecksum(checksum.UpdateBytes(b.Checksum(), old, new))
}

// CalculateChecksum returns the checksum for segment b (header and data)
// given the pseudo-header sum.
func (b TCP) CalculateChecksum(pseudo uint16) uint16 {
	s := checksum.Checksum(b[:tcpChecksum], pseudo)
	return ^checksum.Checksum(b[tcpChecksum+2:], s)
}

// IsChecksumValid reports whether the checksum is right for the given pseudo-header sum.
func (b TCP) IsChecksumValid(pseudo uint16) bool {
	return checksum.Checksum(b, pseudo) == 0xffff
}

// MSS returns the value of the MSS option and its offset in b, or ok false
// when the header has none (or its options are malformed).
func (b TCP) MSS() (mss uint16, off int, ok bool) {
	opts := b.Options()
	for i := 0; i < len(opts); {
		switch kind := opts[i]; kind {
		case 0: // end of option list
			return 0, 0, false
		case 1: // no-operation
			i++
		default:
			if i+1 >= len(opts) {
				return 0, 0, false
			}
			l := int(opts[i+1])
			if l < 2 || i+l > len(opts) {
				return 0, 0, false
			}
			if kind == TCPOptionMSS && l == 4 {
				return binary.BigEndian.Uint16(opts[i+2:]), TCPMinimumSize + i + 2, true
			}
			i += l
		}
	}
	return 0, 0, false
}

// ClampMSSWithChecksumUpdate lowers the MSS option to at most max and
// updates the checksum. It reports whether the option was changed.
func (b TCP) ClampMSSWithChecksumUpdate(max uint16) bool {
	mss, off, ok := b.MSS()
	if !ok || mss <= max {
		return false
	}
	// The option value may sit at an odd offset; UpdateBytes on the
	// enclosing aligned words keeps the sum right either way.
	start := off &^ 1
	end := (off + 2 + 1) &^ 1
	var old [4]byte
	n := copy(old[:], b[start:end])
	binary.BigEndian.PutUint16(b[off:], max)
	b.SetChecksum(checksum.UpdateBytes(b.Checksum(), old[:n], b[start:end]))
	return true
}

// TCPFields holds what Encode writes into a 20-byte header.
type TCPFields struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8
	Window           uint16
}

// Encode writes a 20-byte header with a zero checksum.
func (b TCP) Encode(f *TCPFields) {
	b.SetSrcPort(f.SrcPort)
	b.SetDstPort(f.DstPort)
	binary.BigEndian.PutUint32(b[tcpSeq:], f.Seq)
	binary.BigEndian.PutUint32(b[tcpAck:], f.Ack)
	b[tcpDataOff] = 5 << 4
	b[tcpFlags] = f.Flags
	binary.BigEndian.PutUint16(b[tcpWindow:], f.Window)
	b.SetChecksum(0)
	binary.BigEndian.PutUint16(b[tcpUrgent:], 0)
}
