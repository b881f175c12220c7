package header

import (
	"encoding/binary"
	"net/netip"
)

// IPv6 header (RFC 8200 section 3):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Traffic Class |           Flow Label                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Payload Length        |  Next Header  |   Hop Limit   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Source Address (16 bytes)                     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|              Destination Address (16 bytes)                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	v6VerTCFL   = 0
	v6PayLen    = 4
	v6NextHdr   = 6
	v6HopLimit  = 7
	v6Src       = 8
	v6Dst       = 24
	v6HeaderLen = 40

	// IPv6MinimumSize is the size of the fixed IPv6 header.
	IPv6MinimumSize = v6HeaderLen
)

// IPv6 extension header and upper-layer numbers (RFC 8200 section 4, IANA).
const (
	IPv6HopByHop    uint8 = 0
	IPv6Routing     uint8 = 43
	IPv6Fragment    uint8 = 44
	IPv6ESP         uint8 = 50
	IPv6AH          uint8 = 51
	IPv6NoNext      uint8 = 59
	IPv6DestOptions uint8 = 60
	IPv6Mobility    uint8 = 135
)

// IPv6 is a view of an IPv6 header and its payload.
type IPv6 []byte

// IsValid reports whether b holds a fixed IPv6 header of version 6 whose
// payload length fits in b.
func (b IPv6) IsValid() bool {
	return len(b) >= IPv6MinimumSize && b[v6VerTCFL]>>4 == 6 &&
		int(b.PayloadLength())+IPv6MinimumSize <= len(b)
}

// TrafficClass returns the traffic class.
func (b IPv6) TrafficClass() uint8 {
	return uint8(binary.BigEndian.Uint16(b[v6VerTCFL:]) >> 4)
}

// FlowLabel returns the 20-bit flow label.
func (b IPv6) FlowLabel() uint32 { return binary.BigEndian.Uint32(b[v6VerTCFL:]) & 0xfffff }

// PayloadLength returns the payload length (extension headers included).
func (b IPv6) PayloadLength() uint16 { return binary.BigEndian.Uint16(b[v6PayLen:]) }

// NextHeader returns the type of the header after the fixed header.
func (b IPv6) NextHeader() uint8 { return b[v6NextHdr] }

// HopLimit returns the hop limit.
func (b IPv6) HopLimit() uint8 { return b[v6HopLimit] }

// SetHopLimit sets the hop limit. IPv6 has no header checksum.
func (b IPv6) SetHopLimit(h uint8) { b[v6HopLimit] = h }

// SetPayloadLength sets the payload length.
func (b IPv6) SetPayloadLength(l uint16) { binary.BigEndian.PutUint16(b[v6PayLen:], l) }

// SrcAddr returns the source address.
func (b IPv6) SrcAddr() netip.Addr { return netip.AddrFrom16([16]byte(b[v6Src : v6Src+16])) }

// DstAddr returns the destination address.
func (b IPv6) DstAddr() netip.Addr { return netip.AddrFrom16([16]byte(b[v6Dst : v6Dst+16])) }

// SrcBytes returns the source address bytes, aliasing b.
func (b IPv6) SrcBytes() []byte { return b[v6Src : v6Src+16] }

// DstBytes returns the destination address bytes, aliasing b.
func (b IPv6) DstBytes() []byte { return b[v6Dst : v6Dst+16] }

// SetSrcAddr sets the source address.
func (b IPv6) SetSrcAddr(a [16]byte) { copy(b[v6Src:], a[:]) }

// SetDstAddr sets the destination address.
func (b IPv6) SetDstAddr(a [16]byte) { copy(b[v6Dst:], a[:]) }

// IPv6Transport describes where the upper-layer header of an IPv6 packet is,
// found by walking the extension headers.
type IPv6Transport struct {
	Protocol uint8 // upper-layer protocol; IPv6NoNext or IPv6ESP when opaque
	Offset   int   // offset of the upper-layer header from the start of the IPv6 header
	// Fragment reports that a Fragment header was seen; FragmentOffset is
	// its offset in bytes and MoreFragments its M flag.
	Fragment       bool
	FragmentOffset uint16
	MoreFragments  bool
	// FragmentHeaderOffset is the offset of the Fragment header, if any.
	FragmentHeaderOffset int
	ExtensionHeaders     int // number of extension headers walked
}

// maxExtensionHeaders bounds the walk, so a crafted chain cannot make it long.
const maxExtensionHeaders = 16

// Transport walks the extension header chain (RFC 8200 section 4) and reports
// where the upper-layer header starts. ok is false when a header is truncated
// or the chain is longer than 16 headers. It does not allocate.
func (b IPv6) Transport() (t IPv6Transport, ok bool) {
	end := IPv6MinimumSize + int(b.PayloadLength())
	if end > len(b) {
		end = len(b)
	}
	nh := b[v6NextHdr]
	off := IPv6MinimumSize
	for {
		switch nh {
		case IPv6HopByHop, IPv6Routing, IPv6DestOptions, IPv6Mobility:
			// RFC 8200 section 4.3: Hdr Ext Len in 8-octet units, not
			// including the first 8 octets.
			if off+8 > end {
				return t, false
			}
			n := (int(b[off+1]) + 1) * 8
			if off+n > end {
				return t, false
			}
			nh = b[off]
			off += n
		case IPv6Fragment:
			// RFC 8200 section 4.5: fixed 8 bytes.
			if off+8 > end {
				return t, false
			}
			fo := binary.BigEndian.Uint16(b[off+2:])
			t.Fragment = true
			t.FragmentOffset = fo &^ 7
			t.MoreFragments = fo&1 == 1
			t.FragmentHeaderOffset = off
			nh = b[off]
			off += 8
		case IPv6AH:
			// RFC 4302 section 2.2: Payload Len in 4-octet units, minus 2.
			if off+8 > end {
				return t, false
			}
			n := (int(b[off+1]) + 2) * 4
			if off+n > end {
				return t, false
			}
			nh = b[off]
			off += n
		default:
			t.Protocol = nh
			t.Offset = off
			return t, true
		}
		t.ExtensionHeaders++
		if t.ExtensionHeaders > maxExtensionHeaders {
			return t, false
		}
	}
}

// IPv6Fields holds what Encode writes into a fixed header.
type IPv6Fields struct {
	TrafficClass  uint8
	FlowLabel     uint32
	PayloadLength uint16
	NextHeader    uint8
	HopLimit      uint8
	Src, Dst      [16]byte
}

// Encode writes the fixed header.
func (b IPv6) Encode(f *IPv6Fields) {
	binary.BigEndian.PutUint32(b[v6VerTCFL:], 6<<28|uint32(f.TrafficClass)<<20|f.FlowLabel&0xfffff)
	binary.BigEndian.PutUint16(b[v6PayLen:], f.PayloadLength)
	b[v6NextHdr] = f.NextHeader
	b[v6HopLimit] = f.HopLimit
	copy(b[v6Src:], f.Src[:])
	copy(b[v6Dst:], f.Dst[:])
}
