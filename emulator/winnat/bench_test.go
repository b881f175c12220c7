package winnat

import (
	"math/rand"
	"net/netip"
	"testing"

	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// replay holds frames and their decoded form, and restores both before each
// use, since the NAT rewrites them in place.
type replay struct {
	frames, pristine [][]byte
	parsed, saved    []packet.Parsed
}

func newReplay(t testing.TB, frames [][]byte) *replay {
	r := &replay{frames: frames}
	for _, f := range frames {
		r.pristine = append(r.pristine, append([]byte(nil), f...))
	}
	r.parsed = make([]packet.Parsed, len(frames))
	r.saved = make([]packet.Parsed, len(frames))
	for i, f := range frames {
		r.saved[i] = *parse(t, f)
	}
	return r
}

// get restores frame i and returns its Parsed. It does not allocate.
func (r *replay) get(i int) *packet.Parsed {
	copy(r.frames[i], r.pristine[i])
	r.parsed[i] = r.saved[i]
	return &r.parsed[i]
}

var (
	sinkV Verdict
	sinkN int
)

func TestNoAllocs(t *testing.T) {
	n := newNAT(t)
	if err := n.AddStaticMapping(web); err != nil {
		t.Fatal(err)
	}
	out := udp4(t, c1, rem1, 50000, 53)
	first := append([]byte(nil), out...)
	n.Outbound(parse(t, first), e1, 0, nil)
	hp := tcp4(t, c2, ext1, 50001, 8080, "A")
	n.Hairpin(parse(t, append([]byte(nil), hp...)), 0, nil)
	r := newReplay(t, [][]byte{
		out,
		udp4(t, rem1, ext1, 53, 50000),
		hp,
		icmpError(t, rtr, ext1, header.ICMPv4TimeExceeded, 0, ipOf(t, first)),
		tcp4(t, c2, rem1, 50002, 443, "PA"),
	})
	n.Outbound(r.get(4), e1, 0, nil)
	tests := []struct {
		name string
		fn   func()
	}{
		{"outbound established", func() { sinkV, _, _ = n.Outbound(r.get(0), e1, sec, nil) }},
		{"inbound established", func() { sinkV, _, _ = n.Inbound(r.get(1), sec, nil) }},
		{"hairpin established", func() { sinkV, _ = n.Hairpin(r.get(2), sec, nil) }},
		{"inbound icmp error", func() { sinkV, _, _ = n.Inbound(r.get(3), sec, nil) }},
		{"outbound tcp established", func() { sinkV, _, _ = n.Outbound(r.get(4), e1, sec, nil) }},
		{"outbound session + translate", func() {
			p := r.get(0)
			ref, ok := n.OutboundSession(p, sec)
			if !ok {
				sinkV = Dropped
				return
			}
			n.TranslateOutbound(ref, p, sec)
			sinkV = Translated
		}},
		{"inbound session + translate", func() {
			p := r.get(1)
			ref, ok := n.InboundSession(p, sec)
			if !ok {
				sinkV = Dropped
				return
			}
			n.TranslateInbound(ref, p, sec)
			sinkV = Translated
		}},
		{"expire", func() { sinkN = n.Expire(sec, 8) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn()
			if sinkV != Translated && tt.name != "expire" {
				t.Fatalf("verdict = %v, want translated", sinkV)
			}
			if a := testing.AllocsPerRun(1000, tt.fn); a != 0 {
				t.Errorf("%s: %v allocs per packet, want 0", tt.name, a)
			}
		})
	}
}

// flows builds count 64-byte UDP frames (Ethernet 14 + IPv4 20 + UDP 8 +
// 22 bytes of payload), one per flow.
func flows(t testing.TB, count int) (out [][]byte) {
	payload := make([]byte, 22)
	for i := 0; i < count; i++ {
		src := netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}).String()
		dst := netip.AddrFrom4([4]byte{93, 184, byte(i >> 8), byte(i)}).String()
		sport := uint16(10000 + i%40000)
		f := emutest.UDP4(t, macC, macH, src, dst, sport, 53, payload)
		if len(f) != 64 {
			t.Fatalf("frame is %d bytes, want 64", len(f))
		}
		out = append(out, f)
	}
	return out
}

// lean holds frames for benchmarks as a real datapath sees them: each
// flow's frame next to a pristine copy (one 128-byte block), restored and
// decoded into one reused Parsed per packet, as a host decodes each frame
// once. Its own cost is measured by the decode-only sub-benchmarks.
type lean struct {
	bufs [][128]byte
	p    packet.Parsed
}

func newLean(frames [][]byte) *lean {
	l := &lean{bufs: make([][128]byte, len(frames))}
	for i, f := range frames {
		copy(l.bufs[i][:64], f)
		copy(l.bufs[i][64:], f)
	}
	return l
}

// get restores and decodes frame i. It does not allocate.
func (l *lean) get(i int) *packet.Parsed {
	b := &l.bufs[i]
	copy(b[:64], b[64:])
	l.p.Decode(b[:64])
	return &l.p
}

// BenchmarkOutboundEstablished translates 64-byte UDP packets of
// established flows, in a shuffled order. The decode-only variants measure
// the harness (restore the frame, decode it); the NAT step is the
// difference.
func BenchmarkOutboundEstablished(b *testing.B) {
	for _, tc := range []struct {
		name   string
		nat    bool // translate, or only restore and decode the frame
		expire int  // Expire budget per packet
		flowsN int
	}{
		{"udp64/flows=10k", true, 0, 10000},
		{"udp64/flows=10k/expire=1", true, 1, 10000},
		{"udp64/flows=1k", true, 0, 1000},
		{"udp64/flows=1", true, 0, 1},
		{"decode-only/flows=10k", false, 0, 10000},
		{"decode-only/flows=1k", false, 0, 1000},
		{"decode-only/flows=1", false, 0, 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			n := newNAT(b)
			l := newLean(flows(b, tc.flowsN))
			for i := range l.bufs {
				if v, why, _ := n.Outbound(l.get(i), e1, 0, nil); v != Translated {
					b.Fatalf("setup flow %d: %v %v", i, v, why)
				}
			}
			order := rand.New(rand.NewSource(42)).Perm(tc.flowsN)
			b.ReportAllocs()
			b.SetBytes(64)
			now, k := int64(0), 0
			for b.Loop() {
				p := l.get(order[k])
				if k++; k == len(order) {
					k = 0
				}
				now += 100 // 10 Mpps
				if tc.nat {
					sinkV, _, _ = n.Outbound(p, e1, now, nil)
					if tc.expire > 0 {
						sinkN = n.Expire(now, tc.expire)
					}
				}
			}
			if tc.nat && sinkV != Translated {
				b.Fatalf("verdict %v, want translated", sinkV)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// BenchmarkInboundEstablished translates replies of 10k established flows.
func BenchmarkInboundEstablished(b *testing.B) {
	n := newNAT(b)
	var in [][]byte
	for _, f := range flows(b, 10000) {
		p := parse(b, f)
		dst := p.Dst.String()
		if v, _, _ := n.Outbound(p, e1, 0, nil); v != Translated {
			b.Fatal("setup")
		}
		in = append(in, emutest.UDP4(b, macR, macH, dst, ext1, 53, p.SrcPort, make([]byte, 22)))
	}
	l := newLean(in)
	order := rand.New(rand.NewSource(42)).Perm(len(in))
	b.ReportAllocs()
	b.SetBytes(64)
	now, k := int64(0), 0
	for b.Loop() {
		p := l.get(order[k])
		if k++; k == len(order) {
			k = 0
		}
		now += 100
		sinkV, _, _ = n.Inbound(p, now, nil)
	}
	if sinkV != Translated {
		b.Fatalf("verdict %v, want translated", sinkV)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

func BenchmarkNewSession(b *testing.B) {
	// Session setup: a new UDP flow per packet, expired ones reaped as time
	// goes (each lives 120 s of packet time, 1 ms apart).
	n := newNAT(b)
	l := newLean(flows(b, 4096))
	b.ReportAllocs()
	now, k := int64(0), 0
	for b.Loop() {
		p := l.get(k)
		if k++; k == len(l.bufs) {
			k = 0
		}
		now += int64(DefaultUDPIdleTimeout) / 1000
		sinkV, _, _ = n.Outbound(p, e1, now, nil)
		sinkN = n.Expire(now, 2)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}
