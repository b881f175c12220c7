package header

import "encoding/binary"

// 802.1Q tag (IEEE 802.1Q clause 9.6), as it follows the TPID 0x8100:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| PCP |D|        VLAN ID        |     Encapsulated EtherType    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	vlanTCI  = 0
	vlanType = 2

	// VLANSize is the size of the tag after the TPID (TCI + EtherType).
	VLANSize = 4
)

// VLAN is a view of an 802.1Q tag, starting after the TPID.
type VLAN []byte

// IsValid reports whether b holds a whole tag.
func (b VLAN) IsValid() bool { return len(b) >= VLANSize }

// TCI returns the tag control information.
func (b VLAN) TCI() uint16 { return binary.BigEndian.Uint16(b[vlanTCI:]) }

// VID returns the 12-bit VLAN identifier.
func (b VLAN) VID() uint16 { return b.TCI() & 0x0fff }

// PCP returns the 3-bit priority code point.
func (b VLAN) PCP() uint8 { return uint8(b.TCI() >> 13) }

// EtherType returns the encapsulated EtherType.
func (b VLAN) EtherType() uint16 { return binary.BigEndian.Uint16(b[vlanType:]) }

// SetVID sets the VLAN identifier, keeping PCP and DEI.
func (b VLAN) SetVID(vid uint16) {
	binary.BigEndian.PutUint16(b[vlanTCI:], b.TCI()&0xf000|vid&0x0fff)
}

// SetEtherType sets the encapsulated EtherType.
func (b VLAN) SetEtherType(t uint16) { binary.BigEndian.PutUint16(b[vlanType:], t) }
