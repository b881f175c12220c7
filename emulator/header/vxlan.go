package header

import "encoding/binary"

// VXLAN header (RFC 7348 section 5):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|R|R|R|R|I|R|R|R|            Reserved                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                VXLAN Network Identifier (VNI) |   Reserved    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	vxlanFlags = 0
	vxlanVNI   = 4

	// VXLANSize is the size of a VXLAN header.
	VXLANSize = 8
	// VXLANFlagI is the "I" flag: the VNI is valid (RFC 7348 section 5).
	VXLANFlagI = 0x08
	// VXLANPort is the IANA-assigned UDP destination port (RFC 7348 section 5).
	VXLANPort = 4789

	// VXLANOverhead is what VXLAN over IPv4 adds in front of the inner
	// frame: outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 = 50 bytes, the
	// value of HNS's EncapOverhead policy and flannel's encapOverhead.
	VXLANOverhead = EthernetMinimumSize + IPv4MinimumSize + UDPSize + VXLANSize
	// VXLANOverheadIPv6 is the same with an IPv6 outer header: 70 bytes.
	VXLANOverheadIPv6 = EthernetMinimumSize + IPv6MinimumSize + UDPSize + VXLANSize
)

// VXLAN is a view of a VXLAN header and the inner frame after it.
type VXLAN []byte

// IsValid reports whether b holds a whole VXLAN header.
func (b VXLAN) IsValid() bool { return len(b) >= VXLANSize }

// Flags returns the flags byte.
func (b VXLAN) Flags() uint8 { return b[vxlanFlags] }

// HasVNI reports whether the I flag is set.
func (b VXLAN) HasVNI() bool { return b[vxlanFlags]&VXLANFlagI != 0 }

// VNI returns the 24-bit VXLAN network identifier.
func (b VXLAN) VNI() uint32 { return binary.BigEndian.Uint32(b[vxlanVNI:]) >> 8 }

// Inner returns the inner Ethernet frame, aliasing b.
func (b VXLAN) Inner() []byte { return b[VXLANSize:] }

// Encode writes a header with the I flag and the given VNI.
func (b VXLAN) Encode(vni uint32) {
	binary.BigEndian.PutUint32(b[vxlanFlags:], uint32(VXLANFlagI)<<24)
	binary.BigEndian.PutUint32(b[vxlanVNI:], vni<<8)
}
