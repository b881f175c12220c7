package winnat

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// fuzzNAT returns a NAT with static mappings and sessions the seeds hit.
func fuzzNAT(t testing.TB) *NAT {
	n := newNAT(t, func(c *Config) { c.PortRange = [2]uint16{50000, 50015} })
	for _, m := range []StaticMapping{web, {Protocol: header.ProtoUDP, ExternalPort: 5353, InternalAddr: netip.MustParseAddr(c2), InternalPort: 53}} {
		if err := n.AddStaticMapping(m); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range [][]byte{udp4(t, c1, rem1, 50000, 53), tcp4(t, c1, rem1, 50001, 443, "S"), echo4(t, c1, rem1, 1, false),
		tcp4(t, c2, ext1, 40000, 8080, "S")} {
		n.Outbound(parse(t, f), e1, 0, nil)
	}
	return n
}

func fuzzSeeds(t testing.TB) [][]byte {
	out := udp4(t, c1, rem1, 50000, 53)
	sent := append([]byte(nil), out...)
	fuzzNAT(t).Outbound(parse(t, sent), e1, 0, nil)
	return [][]byte{
		out,
		udp4(t, rem1, ext1, 53, 50000),
		udp4(t, rem2, ext1, 53, 50000),
		udp4(t, rem1, ext1, 7000, 5353),
		tcp4(t, c1, rem1, 50001, 443, "A"),
		tcp4(t, rem1, ext1, 443, 50001, "SA"),
		tcp4(t, rem1, ext2, 1000, 8080, "S"),
		tcp4(t, c2, ext1, 40000, 8080, "A"),
		tcp4(t, c1, ext1, 80, 50002, "SA"),
		echo4(t, c1, rem1, 1, false),
		echo4(t, rem1, ext1, 50002, true),
		icmpError(t, rtr, ext1, header.ICMPv4TimeExceeded, 0, ipOf(t, sent)),
		icmpError(t, rtr, ext1, header.ICMPv4DstUnreachable, 3, ipOf(t, sent)[:28]),
		icmpError(t, c2, rem1, header.ICMPv4DstUnreachable, 3, ipOf(t, udp4(t, rem1, c2, 7000, 53))),
		icmpError(t, c1, ext1, header.ICMPv4DstUnreachable, 3, ipOf(t, tcp4(t, ext1, c1, 50002, 80, "S"))),
		gre4(t),
		udp6(t),
		tcpReserved(t, tcp4(t, c1, rem1, 50001, 443, "A")),
	}
}

// tcpReserved sets the three reserved bits of a TCP segment's header (RFC
// 9293 section 3.1) and fixes its checksum. gopacket drops them when it
// serialises a segment, which once made the checksum oracle wrong.
func tcpReserved(t testing.TB, frame []byte) []byte {
	var p packet.Parsed
	p.Decode(frame)
	if !p.Valid() {
		t.Fatalf("decode: %v", p.Err)
	}
	frame[p.L4+12] |= 0x0e
	p.FinalizeChecksums(false)
	return frame
}

// TestTCPReservedBitsOracle translates a segment with the reserved bits
// set: the NAT keeps them and its checksum is right, as the oracle (which
// sums the segment's bytes, not gopacket's re-serialisation) must agree.
// FuzzNAT once failed here with "TCP checksum = 0xf830, want 0xfc30".
func TestTCPReservedBitsOracle(t *testing.T) {
	n := fuzzNAT(t)
	frame := tcpReserved(t, tcp4(t, c1, rem1, 50001, 443, "A"))
	p := parse(t, frame)
	if v, r, _ := n.Outbound(p, e1, sec, nil); v != Translated {
		t.Fatalf("Outbound = %v %v, want translated", v, r)
	}
	if frame[p.L4+12]&0x0e != 0x0e {
		t.Fatalf("reserved bits %#x after translation, want 0x0e kept", frame[p.L4+12]&0x0e)
	}
	emutest.ChecksumsValid(t, frame)
}

// FuzzNAT feeds random frames to Outbound, Inbound and Hairpin of a NAT
// with sessions and static mappings: no panic; every verdict is one of the
// three, with a reason exactly when dropped; a frame not translated is
// unchanged; a translated frame still decodes, the Parsed agrees with a
// fresh decode, and checksums that were right stay right (our check and
// gopacket's).
func FuzzNAT(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(s, uint8(i%3))
		f.Add(s, uint8((i+1)%3))
	}
	f.Fuzz(func(t *testing.T, frame []byte, op uint8) {
		n := fuzzNAT(t)
		var p packet.Parsed
		p.Decode(frame)
		wasValid := p.ChecksumsValid()
		orig := append([]byte(nil), frame...)
		var v Verdict
		var r drop.Reason
		switch op % 3 {
		case 0:
			v, r, _ = n.Outbound(&p, e1, sec, nil)
		case 1:
			v, r, _ = n.Inbound(&p, sec, nil)
		case 2:
			v, r = n.Hairpin(&p, sec, nil)
		}
		switch v {
		case Translated, NotHandled:
			if r != drop.None {
				t.Fatalf("%v with reason %v", v, r)
			}
		case Dropped:
			if r == drop.None {
				t.Fatal("dropped without a reason")
			}
		default:
			t.Fatalf("verdict %d", v)
		}
		if v != Translated {
			if !bytes.Equal(frame, orig) {
				t.Fatalf("%v %v changed the frame", v, r)
			}
			return
		}
		var q packet.Parsed
		q.Decode(frame)
		if !q.Valid() {
			t.Fatalf("translated frame does not decode: %v", q.Err)
		}
		if q.Src != p.Src || q.Dst != p.Dst || q.SrcPort != p.SrcPort || q.DstPort != p.DstPort {
			t.Fatalf("Parsed says %v:%d -> %v:%d, a fresh decode %v:%d -> %v:%d", p.Src, p.SrcPort, p.Dst, p.DstPort, q.Src, q.SrcPort, q.Dst, q.DstPort)
		}
		if wasValid {
			if !q.ChecksumsValid() {
				t.Fatal("translation broke a checksum")
			}
			emutest.ChecksumsValid(t, frame)
		}
	})
}
