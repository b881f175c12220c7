package header

import (
	"encoding/binary"

	"github.com/hnspath/hnspath/emulator/checksum"
)

// ICMPv4 header (RFC 792); for echo and other query messages the second word
// holds an identifier and a sequence number, for error messages it is unused
// (or holds the next-hop MTU) and the original datagram's IP header plus at
// least 8 bytes of its payload follow:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Identifier          |        Sequence Number        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	icmpType     = 0
	icmpCode     = 1
	icmpChecksum = ICMPChecksumOffset
	icmpIdent    = ICMPIdentOffset
	icmpSeq      = 6

	// ICMPv4MinimumSize is the size of the fixed ICMPv4 header.
	ICMPv4MinimumSize = 8
	// ICMPv6MinimumSize is the size of the fixed ICMPv6 header.
	ICMPv6MinimumSize = 8

	// ICMPChecksumOffset and ICMPIdentOffset are the offsets of the
	// checksum and of a query's identifier (echo, timestamp, information;
	// ICMPv6 echo alike) from the start of the message, for code that
	// rewrites them in place.
	ICMPChecksumOffset = 2
	ICMPIdentOffset    = 4
)

// ICMPv4 message types (RFC 792, RFC 950).
const (
	ICMPv4EchoReply      uint8 = 0
	ICMPv4DstUnreachable uint8 = 3
	ICMPv4Redirect       uint8 = 5
	ICMPv4Echo           uint8 = 8
	ICMPv4TimeExceeded   uint8 = 11
	ICMPv4ParamProblem   uint8 = 12
	ICMPv4Timestamp      uint8 = 13
	ICMPv4TimestampReply uint8 = 14
	ICMPv4InfoRequest    uint8 = 15
	ICMPv4InfoReply      uint8 = 16

	// ICMPv4 destination-unreachable codes used here.
	ICMPv4NetUnreachable  uint8 = 0
	ICMPv4HostUnreachable uint8 = 1
	ICMPv4PortUnreachable uint8 = 3
	ICMPv4FragNeeded      uint8 = 4
	ICMPv4AdminProhibited uint8 = 13
)

// ICMPv4 is a view of an ICMPv4 message.
type ICMPv4 []byte

// IsValid reports whether b holds a fixed ICMPv4 header.
func (b ICMPv4) IsValid() bool { return len(b) >= ICMPv4MinimumSize }

// Type returns the message type.
func (b ICMPv4) Type() uint8 { return b[icmpType] }

// Code returns the message code.
func (b ICMPv4) Code() uint8 { return b[icmpCode] }

// Checksum returns the checksum field.
func (b ICMPv4) Checksum() uint16 { return binary.BigEndian.Uint16(b[icmpChecksum:]) }

// SetChecksum sets the checksum field.
func (b ICMPv4) SetChecksum(c uint16) { binary.BigEndian.PutUint16(b[icmpChecksum:], c) }

// Ident returns the query identifier.
func (b ICMPv4) Ident() uint16 { return binary.BigEndian.Uint16(b[icmpIdent:]) }

// Seq returns the query sequence number.
func (b ICMPv4) Seq() uint16 { return binary.BigEndian.Uint16(b[icmpSeq:]) }

// MTU returns the next-hop MTU of a fragmentation-needed message (RFC 1191).
func (b ICMPv4) MTU() uint16 { return binary.BigEndian.Uint16(b[icmpSeq:]) }

// Payload returns the bytes after the 8-byte header: the embedded datagram
// of an error message, or the data of a query. It aliases b.
func (b ICMPv4) Payload() []byte { return b[ICMPv4MinimumSize:] }

// IsQuery reports whether the type is a query message with an identifier
// (echo, timestamp, information; RFC 5508 section 2).
func (b ICMPv4) IsQuery() bool { return ICMPv4IsQuery(b.Type()) }

// IsError reports whether the type is an error message that embeds the
// offending datagram (RFC 1122 section 3.2.2).
func (b ICMPv4) IsError() bool { return ICMPv4IsError(b.Type()) }

// ICMPv4IsQuery reports whether t is an ICMPv4 query type with an identifier.
func ICMPv4IsQuery(t uint8) bool {
	switch t {
	case ICMPv4Echo, ICMPv4EchoReply, ICMPv4Timestamp, ICMPv4TimestampReply, ICMPv4InfoRequest, ICMPv4InfoReply:
		return true
	}
	return false
}

// ICMPv4IsError reports whether t is an ICMPv4 error type.
func ICMPv4IsError(t uint8) bool {
	switch t {
	case ICMPv4DstUnreachable, ICMPv4Redirect, ICMPv4TimeExceeded, ICMPv4ParamProblem, 4 /* source quench */ :
		return true
	}
	return false
}

// SetIdentWithChecksumUpdate sets the query identifier and updates the checksum.
func (b ICMPv4) SetIdentWithChecksumUpdate(id uint16) {
	b.SetChecksum(checksum.Update16(b.Checksum(), b.Ident(), id))
	binary.BigEndian.PutUint16(b[icmpIdent:], id)
}

// CalculateChecksum returns the checksum of the whole message (no pseudo-header).
func (b ICMPv4) CalculateChecksum() uint16 {
	s := checksum.Checksum(b[:icmpChecksum], 0)
	return ^checksum.Checksum(b[icmpChecksum+2:], s)
}

// IsChecksumValid reports whether the message checksum is right.
func (b ICMPv4) IsChecksumValid() bool { return checksum.Checksum(b, 0) == 0xffff }

// Encode writes the fixed header with a zero checksum; rest is the second
// word (identifier and sequence, or unused / next-hop MTU).
func (b ICMPv4) Encode(typ, code uint8, rest uint32) {
	b[icmpType] = typ
	b[icmpCode] = code
	b.SetChecksum(0)
	binary.BigEndian.PutUint32(b[icmpIdent:], rest)
}

// ICMPv6 message types (RFC 4443, RFC 4861).
const (
	ICMPv6DstUnreachable  uint8 = 1
	ICMPv6PacketTooBig    uint8 = 2
	ICMPv6TimeExceeded    uint8 = 3
	ICMPv6ParamProblem    uint8 = 4
	ICMPv6EchoRequest     uint8 = 128
	ICMPv6EchoReply       uint8 = 129
	ICMPv6RouterSolicit   uint8 = 133
	ICMPv6RouterAdvert    uint8 = 134
	ICMPv6NeighborSolicit uint8 = 135
	ICMPv6NeighborAdvert  uint8 = 136
)

// ICMPv6 is a view of an ICMPv6 message (RFC 4443 section 2.1); the layout
// of the fixed header is that of ICMPv4.
type ICMPv6 []byte

// IsValid reports whether b holds a fixed ICMPv6 header.
func (b ICMPv6) IsValid() bool { return len(b) >= ICMPv6MinimumSize }

// Type returns the message type.
func (b ICMPv6) Type() uint8 { return b[icmpType] }

// Code returns the message code.
func (b ICMPv6) Code() uint8 { return b[icmpCode] }

// Checksum returns the checksum field.
func (b ICMPv6) Checksum() uint16 { return binary.BigEndian.Uint16(b[icmpChecksum:]) }

// SetChecksum sets the checksum field.
func (b ICMPv6) SetChecksum(c uint16) { binary.BigEndian.PutUint16(b[icmpChecksum:], c) }

// Ident returns the echo identifier.
func (b ICMPv6) Ident() uint16 { return binary.BigEndian.Uint16(b[icmpIdent:]) }

// Seq returns the echo sequence number.
func (b ICMPv6) Seq() uint16 { return binary.BigEndian.Uint16(b[icmpSeq:]) }

// Payload returns the bytes after the 8-byte header, aliasing b.
func (b ICMPv6) Payload() []byte { return b[ICMPv6MinimumSize:] }

// IsError reports whether the type is an error message (types 0-127, RFC 4443 section 2.1).
func (b ICMPv6) IsError() bool { return b.Type() < 128 }

// IsEcho reports whether the message is an echo request or reply.
func (b ICMPv6) IsEcho() bool {
	return b.Type() == ICMPv6EchoRequest || b.Type() == ICMPv6EchoReply
}

// CalculateChecksum returns the checksum given the pseudo-header sum (RFC 4443 section 2.3).
func (b ICMPv6) CalculateChecksum(pseudo uint16) uint16 {
	s := checksum.Checksum(b[:icmpChecksum], pseudo)
	return ^checksum.Checksum(b[icmpChecksum+2:], s)
}

// IsChecksumValid reports whether the checksum is right for the pseudo-header sum.
func (b ICMPv6) IsChecksumValid(pseudo uint16) bool {
	return checksum.Checksum(b, pseudo) == 0xffff
}

// UpdateChecksumPseudoHeaderAddress updates the checksum after an address of
// the pseudo-header changes.
func (b ICMPv6) UpdateChecksumPseudoHeaderAddress(old, new []byte) {
	b.SetChecksum(checksum.UpdateBytes(b.Checksum(), old, new))
}

// SetIdentWithChecksumUpdate sets the echo identifier and updates the checksum.
func (b ICMPv6) SetIdentWithChecksumUpdate(id uint16) {
	b.SetChecksum(checksum.Update16(b.Checksum(), b.Ident(), id))
	binary.BigEndian.PutUint16(b[icmpIdent:], id)
}

// Encode writes the fixed header with a zero checksum.
func (b ICMPv6) Encode(typ, code uint8, rest uint32) {
	b[icmpType] = typ
	b[icmpCode] = code
	b.SetChecksum(0)
	binary.BigEndian.PutUint32(b[icmpIdent:], rest)
}
