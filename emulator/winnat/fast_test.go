package winnat

import (
	"bytes"
	"net/netip"
	"reflect"
	"testing"

	"github.com/hnspath/hnspath/emulator/header"
)

// TestTranslateOutboundSameAsOutbound: a packet of an established flow
// translated through OutboundSession + TranslateOutbound comes out byte for
// byte as Outbound makes it, and leaves the same sessions and counters.
func TestTranslateOutboundSameAsOutbound(t *testing.T) {
	for _, mk := range []func(t testing.TB) []byte{
		func(t testing.TB) []byte { return udp4(t, c1, rem1, 50000, 53) },
		func(t testing.TB) []byte { return tcp4(t, c1, rem1, 1234, 443, "A") },
		func(t testing.TB) []byte { return echo4(t, c1, rem1, 1, false) },
	} {
		a, b := newNAT(t), newNAT(t)
		for _, n := range []*NAT{a, b} {
			mustVerdict(t, "first Outbound", must2(n.Outbound(parse(t, mk(t)), e1, 0, nil)), drop0(), Translated, "")
		}
		fa, fb := mk(t), mk(t)
		mustVerdict(t, "Outbound", must2(a.Outbound(parse(t, fa), e1, 3*sec, nil)), drop0(), Translated, "")
		p := parse(t, fb)
		r, ok := b.OutboundSession(p, 3*sec)
		if !ok || r == 0 {
			t.Fatalf("OutboundSession = %v %v, want a session", r, ok)
		}
		b.TranslateOutbound(r, p, 3*sec)
		if !bytes.Equal(fa, fb) {
			t.Fatalf("frames differ:\nOutbound           % x\nTranslateOutbound % x", fa, fb)
		}
		expect(t, fb, ext1, inspect(t, fa).sport, rem1, inspect(t, fa).dport)
		if !reflect.DeepEqual(a.Stats(), b.Stats()) || !reflect.DeepEqual(a.Sessions(), b.Sessions()) {
			t.Fatalf("state differs:\n%+v\n%+v", a.Stats(), b.Stats())
		}
	}
}

// must2 and drop0 adapt a (Verdict, drop.Reason) pair to mustVerdict.
func must2[R interface{ String() string }](v Verdict, r R, _ ...Ref) Verdict { return v }

type noReason struct{}

func (noReason) String() string { return "" }

func drop0() noReason { return noReason{} }

// TestOutboundSessionDeclines: OutboundSession finds nothing where Outbound
// would do more than translate with a live session.
func TestOutboundSessionDeclines(t *testing.T) {
	n := newNAT(t)
	if _, ok := n.OutboundSession(parse(t, udp4(t, c1, rem1, 50000, 53)), 0); ok {
		t.Fatal("a session before the first packet")
	}
	n.Outbound(parse(t, udp4(t, c1, rem1, 50000, 53)), e1, 0, nil)
	if _, ok := n.OutboundSession(parse(t, udp4(t, c1, rem1, 50000, 53)), 0); !ok {
		t.Fatal("no session after the first packet")
	}
	if _, ok := n.OutboundSession(parse(t, udp4(t, c1, rem1, 50000, 53)), int64(DefaultConfig().UDPIdleTimeout)+1); ok {
		t.Fatal("a session past its idle timeout")
	}
	if _, ok := n.OutboundSession(parse(t, udp4(t, c1, rem2, 50000, 53)), 0); ok {
		t.Fatal("a session for another remote")
	}
	if _, ok := n.OutboundSession(parse(t, udp6(t)), 0); ok {
		t.Fatal("a session for IPv6")
	}
	frag := udp4(t, c1, rem1, 50000, 53)
	frag[14+6] |= 0x20 // more fragments
	fixChecksum(frag[14 : 14+20])
	if _, ok := n.OutboundSession(parse(t, frag), 0); ok {
		t.Fatal("a session for a fragment")
	}
}

// TestSessionRefs: Outbound returns the Ref of the session it translated
// with, the one OutboundSession finds for the flow's next packet; a
// session made later in the same slot has the same Index and another Ref;
// calls that translate through no cacheable session return 0, whatever
// the call before returned.
func TestSessionRefs(t *testing.T) {
	n := newNAT(t)
	v, _, r := n.Outbound(parse(t, udp4(t, c1, rem1, 50000, 53)), e1, 0, nil)
	if v != Translated || r == 0 {
		t.Fatalf("Outbound = %v, ref %d, want translated with a session", v, r)
	}
	if r2, ok := n.OutboundSession(parse(t, udp4(t, c1, rem1, 50000, 53)), 0); !ok || r2 != r {
		t.Fatalf("OutboundSession = %d %v, want %d", r2, ok, r)
	}
	if _, _, r2 := n.Outbound(parse(t, udp4(t, c1, rem1, 50000, 53)), e1, 0, nil); r2 != r {
		t.Fatalf("second Outbound ref %d, want %d", r2, r)
	}
	if r2, ok := n.InboundSession(parse(t, udp4(t, rem1, ext1, 53, 50000)), 0); !ok || r2 != r {
		t.Fatalf("InboundSession = %d %v, want the same session %d", r2, ok, r)
	}
	// Not translated, or not through a session a cache may keep: 0, even
	// right after a call that returned a Ref.
	if v, _, r2 := n.Inbound(parse(t, udp4(t, rem2, ext1, 53, 50001)), 0, nil); v == Translated || r2 != 0 {
		t.Fatalf("Inbound without a session = %v, ref %d, want not translated and 0", v, r2)
	}
	n.Outbound(parse(t, udp4(t, c1, rem1, 50000, 53)), e1, 0, nil)
	if v, _, r2 := n.Inbound(parse(t, icmpError(t, rtr, ext1, header.ICMPv4TimeExceeded, 0, ipOf(t, outFrame(t, n)))), sec, nil); v != Translated || r2 != 0 {
		t.Fatalf("Inbound ICMP error = %v, ref %d, want translated and 0", v, r2)
	}
	// Expire it and make another session, which reuses the slot.
	n.Expire(int64(DefaultConfig().UDPIdleTimeout)+2*sec, 100)
	_, _, r3 := n.Outbound(parse(t, udp4(t, c2, rem2, 50001, 53)), e1, int64(DefaultConfig().UDPIdleTimeout)+2*sec, nil)
	if r3 == 0 || r3.Index() != r.Index() || r3 == r {
		t.Fatalf("the new session is %#x, want slot %d reused under another Ref than %#x", r3, r.Index(), r)
	}
	if r4, ok := n.OutboundSession(parse(t, udp4(t, c2, rem2, 50001, 53)), int64(DefaultConfig().UDPIdleTimeout)+2*sec); !ok || r4 != r3 {
		t.Fatalf("OutboundSession = %#x %v, want %#x", r4, ok, r3)
	}
}

// outFrame returns the frame the ICMP error in TestSessionRefs quotes: the
// first outbound packet as translated.
func outFrame(t testing.TB, n *NAT) []byte {
	f := udp4(t, c1, rem1, 50000, 53)
	n.Outbound(parse(t, f), e1, 0, nil)
	return f
}

// fixChecksum recomputes a 20-byte IPv4 header's checksum (RFC 1071).
func fixChecksum(h []byte) {
	h[10], h[11] = 0, 0
	var s uint32
	for i := 0; i < len(h); i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	h[10], h[11] = byte(^s>>8), byte(^s)
}

// TestTranslateInboundSameAsInbound: a packet of an established flow from
// outside, translated through InboundSession + TranslateInbound, comes out
// byte for byte as Inbound makes it, with the same sessions and counters:
// a reply to a container's flow, and a second packet to a published port.
func TestTranslateInboundSameAsInbound(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(n *NAT)
		in    func(t testing.TB) []byte
	}{
		{"reply", func(n *NAT) { n.Outbound(parse(t, udp4(t, c1, rem1, 50000, 53)), e1, 0, nil) },
			func(t testing.TB) []byte { return udp4(t, rem1, ext1, 53, 50000) }},
		{"published port", func(n *NAT) {
			if err := n.AddStaticMapping(StaticMapping{Protocol: 6, ExternalAddr: e1, ExternalPort: 8080, InternalAddr: netip.MustParseAddr(c1), InternalPort: 80}); err != nil {
				t.Fatal(err)
			}
			n.Inbound(parse(t, tcp4(t, rem1, ext1, 40000, 8080, "S")), 0, nil)
		}, func(t testing.TB) []byte { return tcp4(t, rem1, ext1, 40000, 8080, "A") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newNAT(t), newNAT(t)
			tt.setup(a)
			tt.setup(b)
			fa, fb := tt.in(t), tt.in(t)
			v, _, ra := a.Inbound(parse(t, fa), 3*sec, nil)
			if v != Translated || ra == 0 {
				t.Fatalf("Inbound = %v, ref %d, want translated with a session", v, ra)
			}
			p := parse(t, fb)
			r, ok := b.InboundSession(p, 3*sec)
			if !ok || r != ra {
				t.Fatalf("InboundSession = %d %v, want %d", r, ok, ra)
			}
			b.TranslateInbound(r, p, 3*sec)
			if !bytes.Equal(fa, fb) {
				t.Fatalf("frames differ:\nInbound          % x\nTranslateInbound % x", fa, fb)
			}
			if !reflect.DeepEqual(a.Stats(), b.Stats()) || !reflect.DeepEqual(a.Sessions(), b.Sessions()) {
				t.Fatalf("state differs:\n%+v\n%+v", a.Stats(), b.Stats())
			}
		})
	}
}
