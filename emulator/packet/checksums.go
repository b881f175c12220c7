package packet

import (
	"github.com/hnspath/hnspath/emulator/checksum"
	"github.com/hnspath/hnspath/emulator/header"
)

func pseudoSum(proto uint8, src, dst []byte, n int) uint16 {
	return checksum.PseudoHeader(proto, src, dst, uint32(n))
}

// FinalizeChecksums computes every checksum of a packet that was built (not
// rewritten) in place: the IPv4 header checksum and the transport checksum
// (TCP, UDP, ICMPv4, ICMPv6). A UDP checksum that is 0 is kept 0 when
// keepZeroUDP is set. It does not allocate. p must have been decoded from
// the packet, which needs its lengths right (checksums may be anything).
func (p *Parsed) FinalizeChecksums(keepZeroUDP bool) {
	var src, dst []byte
	if p.Kind == KindIPv4 {
		ip := header.IPv4(p.b[p.L3:p.End])
		ip.SetChecksum(0)
		ip.SetChecksum(ip.CalculateChecksum())
		src, dst = ip.SrcBytes(), ip.DstBytes()
	} else if p.Kind == KindIPv6 {
		ip := header.IPv6(p.b[p.L3:p.End])
		src, dst = ip.SrcBytes(), ip.DstBytes()
	} else {
		return
	}
	if p.L4 == 0 || p.Fragment || p.Truncated {
		return
	}
	l4 := p.b[p.L4:p.End]
	switch p.IPProto {
	case header.ProtoTCP:
		t := header.TCP(l4)
		t.SetChecksum(t.CalculateChecksum(pseudoSum(p.IPProto, src, dst, len(l4))))
	case header.ProtoUDP:
		u := header.UDP(l4)
		if keepZeroUDP && u.Checksum() == 0 {
			return
		}
		u.SetChecksum(u.CalculateChecksum(pseudoSum(p.IPProto, src, dst, len(l4))))
	case header.ProtoICMPv4:
		m := header.ICMPv4(l4)
		m.SetChecksum(m.CalculateChecksum())
	case header.ProtoICMPv6:
		m := header.ICMPv6(l4)
		m.SetChecksum(m.CalculateChecksum(pseudoSum(p.IPProto, src, dst, len(l4))))
	}
}
