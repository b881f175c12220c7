package winnat

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"net/netip"
	"testing"
	"unsafe"

	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// TestRewriteMatchesSetters checks the precomputed-delta rewrite of the
// fast path against packet.Parsed's setters (one RFC 1624 update per field)
// on random packets, sessions and checksum values, including the ones'
// complement corner values 0x0000 and 0xFFFF: the bytes must be identical.
func TestRewriteMatchesSetters(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	addr := func() [4]byte { var a [4]byte; rng.Read(a[:]); return a }
	corner := []uint16{0x0000, 0xffff, 0x0001, 0xfffe}
	for i := 0; i < 3000; i++ {
		s := session{intAddr: addr(), extAddr: addr(), remAddr: addr(), intPort: uint16(rng.Intn(65536)),
			extPort: uint16(rng.Intn(65536)), remPort: uint16(rng.Intn(65536))}
		if i%10 == 0 {
			s.extPort = s.intPort // port preserved
		}
		var frame []byte
		in, out := netip.AddrFrom4(s.intAddr).String(), netip.AddrFrom4(s.remAddr).String()
		switch i % 3 {
		case 0:
			s.proto = header.ProtoUDP
			frame = udp4(t, in, out, s.intPort, s.remPort)
		case 1:
			s.proto = header.ProtoTCP
			frame = tcp4(t, in, out, s.intPort, s.remPort, "PA")
		case 2:
			s.proto = header.ProtoICMPv4
			frame = echo4(t, in, out, s.intPort, false)
		}
		s.deltas()
		p := parse(t, frame)
		// Random, corner or right checksums.
		ipc, l4c := p.L3+10, map[uint8]int{6: 16, 17: 6, 1: 2}[s.proto]+p.L4
		switch rng.Intn(3) {
		case 0:
			binary.BigEndian.PutUint16(frame[ipc:], corner[rng.Intn(4)])
			binary.BigEndian.PutUint16(frame[l4c:], corner[rng.Intn(4)])
		case 1:
			binary.BigEndian.PutUint16(frame[ipc:], uint16(rng.Intn(65536)))
			binary.BigEndian.PutUint16(frame[l4c:], uint16(rng.Intn(65536)))
		}

		// Outbound: source internal -> external.
		a, b := append([]byte(nil), frame...), append([]byte(nil), frame...)
		pa, pb := decodeAny(a), decodeAny(b)
		(&NAT{}).snat(pa, &s)
		pb.SetSrcIP(netip.AddrFrom4(s.extAddr))
		pb.SetSrcPort(s.extPort)
		if !bytes.Equal(a, b) {
			t.Fatalf("case %d (%s) snat:\n delta   %x\n setters %x", i, protoName(s.proto), a, b)
		}
		if pa.Src != pb.Src || pa.SrcPort != pb.SrcPort || pa.DstPort != pb.DstPort {
			t.Fatalf("case %d snat: Parsed %v:%d/%d, setters %v:%d/%d", i, pa.Src, pa.SrcPort, pa.DstPort, pb.Src, pb.SrcPort, pb.DstPort)
		}
		// Inbound: the translated packet's destination external -> internal
		// (make a reply by swapping addresses and ports in place).
		swap(a)
		b = append([]byte(nil), a...)
		pa, pb = decodeAny(a), decodeAny(b)
		(&NAT{}).dnat(pa, &s)
		pb.SetDstIP(netip.AddrFrom4(s.intAddr))
		pb.SetDstPort(s.intPort)
		if !bytes.Equal(a, b) {
			t.Fatalf("case %d (%s) dnat:\n delta   %x\n setters %x", i, protoName(s.proto), a, b)
		}
	}
}

// decodeAny decodes an IPv4 frame even when its header checksum is wrong
// (these tests set checksums to arbitrary values), by decoding the IP part
// as an embedded datagram and shifting the offsets.
func decodeAny(frame []byte) *packet.Parsed {
	p := new(packet.Parsed)
	ip := binary.BigEndian.Uint16(frame[header.IPv4ChecksumOffset+14:])
	binary.BigEndian.PutUint16(frame[header.IPv4ChecksumOffset+14:], 0)
	hdr := header.IPv4(frame[14:])
	hdr.SetChecksum(hdr.CalculateChecksum())
	p.Decode(frame)
	binary.BigEndian.PutUint16(frame[header.IPv4ChecksumOffset+14:], ip)
	return p
}

// swap exchanges source and destination addresses and ports of an IPv4
// frame in place (checksums stay right: the sums do not change).
func swap(frame []byte) {
	ip := frame[14:]
	var a [4]byte
	copy(a[:], ip[12:16])
	copy(ip[12:16], ip[16:20])
	copy(ip[16:20], a[:])
	if ip[9] == header.ProtoTCP || ip[9] == header.ProtoUDP {
		l4 := ip[int(ip[0]&0xf)*4:]
		sp := binary.BigEndian.Uint16(l4)
		copy(l4[0:2], l4[2:4])
		binary.BigEndian.PutUint16(l4[2:], sp)
	}
}

func TestSessionSize(t *testing.T) {
	if got := unsafe.Sizeof(session{}); got != 64 {
		t.Errorf("session is %d bytes, want 64 (one cache line)", got)
	}
	if got := unsafe.Sizeof(key{}); got != 16 {
		t.Errorf("key is %d bytes, want 16", got)
	}
}
