package packet

import (
	"encoding/binary"
	"net/netip"
)

// Tuple is the 5-tuple of a packet as a fixed-size comparable value without
// pointers, fit for a map key (Tailscale net/flowtrack: netip.AddrPort keys
// are about twice as slow). IPv4 addresses are stored IPv4-mapped.
type Tuple struct {
	Src, Dst         [16]byte
	SrcPort, DstPort uint16
	Proto            uint8
	V6               bool
}

// Tuple returns the 5-tuple of p. For ICMP queries the ports hold the
// identifier, so that a reply's tuple is the reverse of its request's.
func (p *Parsed) Tuple() Tuple {
	return Tuple{
		Src:     p.Src.As16(),
		Dst:     p.Dst.As16(),
		SrcPort: p.SrcPort,
		DstPort: p.DstPort,
		Proto:   p.IPProto,
		V6:      p.Kind == KindIPv6,
	}
}

// Reverse returns the tuple of the opposite direction.
func (t Tuple) Reverse() Tuple {
	return Tuple{Src: t.Dst, Dst: t.Src, SrcPort: t.DstPort, DstPort: t.SrcPort, Proto: t.Proto, V6: t.V6}
}

// SrcAddr returns the source address.
func (t Tuple) SrcAddr() netip.Addr { return addrFrom16(t.Src, t.V6) }

// DstAddr returns the destination address.
func (t Tuple) DstAddr() netip.Addr { return addrFrom16(t.Dst, t.V6) }

func addrFrom16(a [16]byte, v6 bool) netip.Addr {
	x := netip.AddrFrom16(a)
	if !v6 {
		return x.Unmap()
	}
	return x
}

// Hash returns a 64-bit hash of the tuple for sharding flows across workers,
// as receive-side scaling does. It is not symmetric: the two directions of a
// flow may land on different shards, as with RSS without a symmetric key.
func (t Tuple) Hash() uint64 {
	h := uint64(14695981039346656037)
	mix := func(v uint64) {
		h ^= v
		h *= 1099511628211
		h ^= h >> 29
	}
	mix(binary.LittleEndian.Uint64(t.Src[0:]))
	mix(binary.LittleEndian.Uint64(t.Src[8:]))
	mix(binary.LittleEndian.Uint64(t.Dst[0:]))
	mix(binary.LittleEndian.Uint64(t.Dst[8:]))
	mix(uint64(t.SrcPort)<<24 | uint64(t.DstPort)<<8 | uint64(t.Proto))
	return h
}

// AddrBytes returns the 4 or 16 address bytes of a as an array and a length.
// It does not allocate.
func AddrBytes(a netip.Addr) (b [16]byte, n int) {
	if a.Is4() {
		a4 := a.As4()
		copy(b[:], a4[:])
		return b, 4
	}
	return a.As16(), 16
}
