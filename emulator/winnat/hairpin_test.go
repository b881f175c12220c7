package winnat

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"testing"

	"github.com/hnspath/hnspath/emulator/header"
)

func TestHairpinTCP(t *testing.T) {
	// c2 connects to the host's external address on c1's published port
	// (windows-behaviour.md section 2.2, limit 5: supported from another
	// container). The target sees the external address as the source, so
	// its replies come back through the NAT (RFC 4787 REQ-9 b).
	for _, ext := range []string{ext1, ext2} {
		t.Run(ext, func(t *testing.T) {
			n := newNAT(t)
			if err := n.AddStaticMapping(web); err != nil {
				t.Fatal(err)
			}
			syn := tcp4(t, c2, ext, 50001, 8080, "S")
			v, r := n.Hairpin(parse(t, syn), 0, nil)
			mustVerdict(t, "Hairpin SYN", v, r, Translated, "")
			expect(t, syn, ext, 50001, c1, 80) // source port preserved (in range)

			// The reply goes to ext:50001; the host may call Outbound, which
			// hands it to Hairpin.
			synack := tcp4(t, c1, ext, 80, 50001, "SA")
			v, r, _ = n.Outbound(parse(t, synack), e1, sec, nil)
			mustVerdict(t, "Outbound SYN-ACK (hairpin reply)", v, r, Translated, "")
			expect(t, synack, ext, 8080, c2, 50001)

			ack := tcp4(t, c2, ext, 50001, 8080, "A")
			v, r, _ = n.Outbound(parse(t, ack), e1, 2*sec, nil)
			mustVerdict(t, "Outbound ACK (hairpin)", v, r, Translated, "")
			expect(t, ack, ext, 50001, c1, 80)

			ss := n.Sessions()
			if len(ss) != 2 {
				t.Fatalf("sessions = %+v, want 2", ss)
			}
			for _, s := range ss {
				if !s.Hairpin || s.State != StateTCPEstablished {
					t.Errorf("session %+v: want hairpin, established", s)
				}
			}
			if st := n.Stats(); st.Hairpin != 3 {
				t.Errorf("Stats.Hairpin = %d, want 3", st.Hairpin)
			}
		})
	}
}

func TestHairpinRefused(t *testing.T) {
	n := newNAT(t)
	// Only 198.51.100.0/24 may use this mapping; a hairpinned packet comes
	// from the external address, which is outside it.
	m := web
	m.RemotePrefix = netip.MustParsePrefix("198.51.100.0/24")
	if err := n.AddStaticMapping(m); err != nil {
		t.Fatal(err)
	}
	f := tcp4(t, c2, ext1, 50001, 8080, "S")
	orig := append([]byte(nil), f...)
	v, r := n.Hairpin(parse(t, f), 0, nil)
	mustVerdict(t, "Hairpin", v, r, Dropped, "winnat-filtered")
	if !bytes.Equal(f, orig) {
		t.Error("dropped frame changed")
	}
	if st := n.Stats(); st.Sessions != 0 || st.Mappings != 0 {
		t.Errorf("sessions %d mappings %d after a refused hairpin, want 0 0", st.Sessions, st.Mappings)
	}
	// From outside it works.
	if v, r, _ := n.Inbound(parse(t, tcp4(t, rem2, ext1, 1000, 8080, "S")), 0, nil); v != Translated {
		t.Errorf("Inbound from the prefix = %v %v", v, r)
	}
}

func TestHairpinICMPError(t *testing.T) {
	// c2 sends UDP to ext1:5353 (c1:53); c1 answers with port unreachable.
	// The error reaches c2 carrying exactly what c2 sent.
	n := newNAT(t)
	if err := n.AddStaticMapping(StaticMapping{Protocol: header.ProtoUDP, ExternalPort: 5353, InternalAddr: netip.MustParseAddr(c1), InternalPort: 53}); err != nil {
		t.Fatal(err)
	}
	f := udp4(t, c2, ext1, 40000, 5353)
	orig := ipOf(t, f)
	if v, r := n.Hairpin(parse(t, f), 0, nil); v != Translated {
		t.Fatalf("Hairpin = %v %v", v, r)
	}
	expect(t, f, ext1, 49152, c1, 53)
	e := icmpError(t, c1, ext1, header.ICMPv4DstUnreachable, header.ICMPv4PortUnreachable, ipOf(t, f))
	v, r := n.Hairpin(parse(t, e), sec, nil)
	mustVerdict(t, "Hairpin error", v, r, Translated, "")
	if got := embeddedOf(t, e); !bytes.Equal(got, orig) {
		t.Errorf("embedded datagram\n got %s\nwant %s", hex.EncodeToString(got), hex.EncodeToString(orig))
	}
	g := inspect(t, e)
	if g.src != e1 || g.dst != netip.MustParseAddr(c2) {
		t.Errorf("outer %v -> %v, want %s -> %s", g.src, g.dst, ext1, c2)
	}
	// An error from a container about something the host sent it is the
	// host's.
	e = icmpError(t, c1, ext1, header.ICMPv4DstUnreachable, header.ICMPv4PortUnreachable, ipOf(t, udp4(t, ext1, c1, 1000, 53)))
	v, r = n.Hairpin(parse(t, e), sec, nil)
	mustVerdict(t, "error about host traffic", v, r, NotHandled, "")
}
