package winnat

import (
	"bytes"
	"net/netip"
	"reflect"
	"testing"
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
		r, tag, ok := b.OutboundSession(p, 3*sec)
		if !ok || r == 0 || tag != (PathTag{}) {
			t.Fatalf("OutboundSession = %v %v %v, want a session with no tag", r, tag, ok)
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
func must2[R interface{ String() string }](v Verdict, r R) Verdict { return v }

type noReason struct{}

func (noReason) String() string { return "" }

func drop0() noReason { return noReason{} }

// TestOutboundSessionDeclines: OutboundSession finds nothing where Outbound
// would do more than translate with a live session.
func TestOutboundSessionDeclines(t *testing.T) {
	n := newNAT(t)
	if _, _, ok := n.OutboundSession(parse(t, udp4(t, c1, rem1, 50000, 53)), 0); ok {
		t.Fatal("a session before the first packet")
	}
	n.Outbound(parse(t, udp4(t, c1, rem1, 50000, 53)), e1, 0, nil)
	if _, _, ok := n.OutboundSession(parse(t, udp4(t, c1, rem1, 50000, 53)), 0); !ok {
		t.Fatal("no session after the first packet")
	}
	if _, _, ok := n.OutboundSession(parse(t, udp4(t, c1, rem1, 50000, 53)), int64(DefaultConfig().UDPIdleTimeout)+1); ok {
		t.Fatal("a session past its idle timeout")
	}
	if _, _, ok := n.OutboundSession(parse(t, udp4(t, c1, rem2, 50000, 53)), 0); ok {
		t.Fatal("a session for another remote")
	}
	if _, _, ok := n.OutboundSession(parse(t, udp6(t)), 0); ok {
		t.Fatal("a session for IPv6")
	}
	frag := udp4(t, c1, rem1, 50000, 53)
	frag[14+6] |= 0x20 // more fragments
	fixChecksum(frag[14 : 14+20])
	if _, _, ok := n.OutboundSession(parse(t, frag), 0); ok {
		t.Fatal("a session for a fragment")
	}
}

// TestPathTagLifetime: a tag is stored on the live session it is set on,
// read back by OutboundSession, and a session made later in the same slot
// starts without it.
func TestPathTagLifetime(t *testing.T) {
	n := newNAT(t)
	n.Outbound(parse(t, udp4(t, c1, rem1, 50000, 53)), e1, 0, nil)
	r := n.LastOutbound()
	if r == 0 {
		t.Fatal("LastOutbound = 0 after a translated outbound packet")
	}
	want := PathTag{Epoch: 7, Slot: 3}
	n.SetPathTag(r, true, want)
	if _, tag, _ := n.OutboundSession(parse(t, udp4(t, c1, rem1, 50000, 53)), 0); tag != want {
		t.Fatalf("tag = %+v, want %+v", tag, want)
	}
	// Expire it and make another session, which reuses the slot.
	n.Expire(int64(DefaultConfig().UDPIdleTimeout)+1, 100)
	n.Outbound(parse(t, udp4(t, c2, rem2, 50001, 53)), e1, int64(DefaultConfig().UDPIdleTimeout)+2, nil)
	if r2 := n.LastOutbound(); r2 != r {
		t.Fatalf("the new session is %d, want the old slot %d reused", r2, r)
	}
	if _, tag, ok := n.OutboundSession(parse(t, udp4(t, c2, rem2, 50001, 53)), int64(DefaultConfig().UDPIdleTimeout)+2); !ok || tag != (PathTag{}) {
		t.Fatalf("new session tag = %+v (ok %v), want none", tag, ok)
	}
	// Inbound and hairpin calls are not outbound sessions.
	n.Inbound(parse(t, udp4(t, rem2, ext1, 53, 50001)), int64(DefaultConfig().UDPIdleTimeout)+3, nil)
	if r := n.LastOutbound(); r != 0 {
		t.Fatalf("LastOutbound after Inbound = %d, want 0", r)
	}
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
			mustVerdict(t, "Inbound", must2(a.Inbound(parse(t, fa), 3*sec, nil)), drop0(), Translated, "")
			if a.LastInbound() == 0 || a.LastOutbound() != 0 {
				t.Fatalf("LastInbound = %d, LastOutbound = %d after Inbound", a.LastInbound(), a.LastOutbound())
			}
			p := parse(t, fb)
			r, _, ok := b.InboundSession(p, 3*sec)
			if !ok {
				t.Fatal("InboundSession found no session")
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

// TestPathTagsPerDirection: a session keeps one tag per direction under
// one epoch; a tag of a new epoch drops the other direction's, and
// ClearPathTags drops all.
func TestPathTagsPerDirection(t *testing.T) {
	n := newNAT(t)
	n.Outbound(parse(t, udp4(t, c1, rem1, 50000, 53)), e1, 0, nil)
	r := n.LastOutbound()
	out := func() PathTag { _, tag, _ := n.OutboundSession(parse(t, udp4(t, c1, rem1, 50000, 53)), 0); return tag }
	in := func() PathTag { _, tag, _ := n.InboundSession(parse(t, udp4(t, rem1, ext1, 53, 50000)), 0); return tag }
	n.SetPathTag(r, true, PathTag{Epoch: 5, Slot: 1})
	n.SetPathTag(r, false, PathTag{Epoch: 5, Slot: 2})
	if out() != (PathTag{5, 1}) || in() != (PathTag{5, 2}) {
		t.Fatalf("tags out %+v in %+v, want {5 1} {5 2}", out(), in())
	}
	n.SetPathTag(r, true, PathTag{Epoch: 6, Slot: 3})
	if out() != (PathTag{6, 3}) || in() != (PathTag{6, 0}) {
		t.Fatalf("after a new epoch: out %+v in %+v, want {6 3} {6 0}", out(), in())
	}
	n.ClearPathTags()
	if out() != (PathTag{}) || in() != (PathTag{}) {
		t.Fatalf("after ClearPathTags: out %+v in %+v", out(), in())
	}
}
