package packet

import (
	"testing"

	"github.com/hnspath/hnspath/emulator/header"
)

// TestDecodeFirstUDPFragment checks that the first fragment of a UDP
// datagram, whose UDP length covers the whole datagram (RFC 768, RFC 791),
// decodes with its ports, while an unfragmented datagram with the same
// length error is still invalid.
func TestDecodeFirstUDPFragment(t *testing.T) {
	build := func(flags uint16) []byte {
		f := make([]byte, header.EthernetMinimumSize+header.IPv4MinimumSize+8+100)
		header.Ethernet(f).Encode(header.MAC{2, 0, 0, 0, 0, 1}, header.MAC{2, 0, 0, 0, 0, 2}, header.EtherTypeIPv4)
		ip := header.IPv4(f[header.EthernetMinimumSize:])
		ip.Encode(&header.IPv4Fields{TotalLength: uint16(len(f) - header.EthernetMinimumSize), ID: 9, Flags: flags, TTL: 64, Protocol: header.ProtoUDP,
			Src: [4]byte{10, 0, 0, 1}, Dst: [4]byte{10, 0, 0, 2}})
		u := f[header.EthernetMinimumSize+header.IPv4MinimumSize:]
		u[0], u[1], u[2], u[3] = 0x9c, 0x40, 0x23, 0x28 // 40000 -> 9000
		u[4], u[5] = 0x05, 0xb4                         // 1460: the whole datagram's UDP length
		return f
	}
	var p Parsed
	p.Decode(build(header.IPv4FlagMoreFragments))
	if !p.Valid() || !p.Fragment || !p.FirstFrag || !p.HasL4Ports || p.SrcPort != 40000 || p.DstPort != 9000 {
		t.Errorf("first fragment: valid %v fragment %v first %v ports %v %d>%d, want a valid first fragment 40000>9000",
			p.Valid(), p.Fragment, p.FirstFrag, p.HasL4Ports, p.SrcPort, p.DstPort)
	}
	p.Decode(build(0))
	if p.Err != ErrBadUDPLength {
		t.Errorf("unfragmented with a UDP length beyond the packet: err %v, want ErrBadUDPLength", p.Err)
	}
}
