package winnat

import (
	"math/rand"
	"testing"
	"time"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// flowGen writes outbound UDP packets of numbered flows into one buffer:
// flow f comes from its own internal endpoint (an address of 172.16.0.0/16
// and a port), to rem1:53. The UDP checksum is 0 ("none"), so setting the
// source leaves a valid packet.
type flowGen struct {
	tmpl, buf []byte
	p         packet.Parsed
}

func newFlowGen(t testing.TB) *flowGen {
	g := &flowGen{tmpl: udp4(t, c1, rem1, 1024, 53)}
	var p packet.Parsed
	p.Decode(g.tmpl)
	p.UDP().SetChecksum(0)
	g.buf = make([]byte, len(g.tmpl))
	return g
}

// flowSrc returns flow f's internal endpoint: 65,000 addresses by 60,000 ports.
func flowSrc(f int) ([4]byte, uint16) {
	a := f%65000 + 2
	return [4]byte{172, 16, byte(a >> 8), byte(a)}, uint16(1024 + (f/65000)%60000)
}

func (g *flowGen) packet(f int) *packet.Parsed {
	copy(g.buf, g.tmpl)
	g.p.Decode(g.buf)
	src, sport := flowSrc(f)
	g.p.IPv4().SetSrcAddrWithChecksumUpdate(src)
	g.p.UDP().SetSrcPort(sport)
	g.p.Decode(g.buf)
	return &g.p
}

// TestNoFalsePortExhaustion runs traffic that can never use every port for
// a long virtual time: one new UDP flow every 10 ms with the 120 s idle
// timeout (at most 12,001 of the 16,384 ports held by a live mapping), and
// in some cases one more packet per tick on a flow at most 20 s old (a
// mapping then lives at most 140 s: at most 14,002 ports). No packet may be dropped: every port of an
// expired mapping must be found before exhaustion is declared, whether or
// not anyone calls Expire.
func TestNoFalsePortExhaustion(t *testing.T) {
	ticks := 1_000_000 // 2M packets, 10,000 s of virtual time
	if testing.Short() {
		ticks = 100_000
	}
	const spacing = 10 * time.Millisecond
	for _, tc := range []struct {
		name          string
		refresh       int // a second packet per tick on a flow at most this many ticks old; 0: none
		every, budget int // Expire(now, budget) every that many packets; 0: never
	}{
		{"new-flows-only", 0, 0, 0},
		{"new-flows-only/fabric-expire-8-per-16", 0, 16, 8},
		{"refresh-20s", 2000, 0, 0},
		{"refresh-20s/fabric-expire-8-per-16", 2000, 16, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNAT(t)
			g := newFlowGen(t)
			rng := rand.New(rand.NewSource(1))
			pkts, maxPorts := 0, 0
			send := func(f int, now int64) {
				pkts++
				if tc.every > 0 && pkts%tc.every == 0 {
					n.Expire(now, tc.budget)
				}
				if v, r, _ := n.Outbound(g.packet(f), e1, now, nil); v != Translated {
					st := n.Stats()
					t.Fatalf("packet %d (flow %d) at t=%v: %v %v, want translated; ports in use %d, sessions %d, expired %d",
						pkts, f, time.Duration(now), v, r, st.PortsInUse, st.Sessions, st.SessionsExpired)
				}
			}
			for tick := 0; tick < ticks; tick++ {
				now := int64(tick) * int64(spacing)
				send(tick, now)
				if tick > 0 && tc.refresh > 0 {
					send(tick-1-rng.Intn(min(tick, tc.refresh)), now)
				}
				if tick%1000 == 0 {
					maxPorts = max(maxPorts, int(n.st.portsUsed))
				}
			}
			st := n.Stats()
			if len(st.Dropped) != 0 {
				t.Errorf("drops %v, want none", st.Dropped)
			}
			t.Logf("%d packets over %v: %d sessions created, %d expired, at most %d ports in use (sampled)",
				pkts, time.Duration(int64(ticks)*int64(spacing)), st.SessionsCreated, st.SessionsExpired, maxPorts)
		})
	}
}

// TestPortExhaustionModel checks that real exhaustion is still declared, packet
// by packet, against a plain model: a flow is translated when its mapping
// lives (a packet within the idle timeout) or when fewer mappings than
// ports live; otherwise it is dropped as winnat-ports-exhausted. A live
// mapping's port is never handed to another flow.
func TestPortExhaustionModel(t *testing.T) {
	const (
		lo, hi  = 60000, 60255 // 256 ports
		timeout = 10 * time.Second
		spacing = 10 * time.Millisecond // 1,000 flows a timeout: 4 times too many
		flows   = 3000
	)
	n := newNAT(t, func(c *Config) {
		c.PortRange = [2]uint16{lo, hi}
		c.UDPIdleTimeout = timeout
	})
	g := newFlowGen(t)
	rng := rand.New(rand.NewSource(2))
	type mflow struct {
		live     bool
		lastSeen int64
		port     uint16
	}
	model := make([]mflow, flows)
	alive := func(f int, now int64) bool {
		return model[f].live && now-model[f].lastSeen <= int64(timeout)
	}
	dropped, translated := 0, 0
	for tick := 0; tick < 4*flows; tick++ {
		now := int64(tick) * int64(spacing)
		f := tick / 4 // a new flow every 4 ticks, then random older ones
		if tick%4 != 0 {
			f = rng.Intn(f + 1)
		}
		live := 0
		for i := range model {
			if alive(i, now) {
				live++
			}
		}
		wantOK := alive(f, now) || live < hi-lo+1
		p := g.packet(f)
		v, r, _ := n.Outbound(p, e1, now, nil)
		if !wantOK {
			if v != Dropped || r != drop.NATPortsExhausted {
				t.Fatalf("tick %d flow %d (%d live mappings): %v %v, want dropped winnat-ports-exhausted", tick, f, live, v, r)
			}
			dropped++
			continue
		}
		if v != Translated {
			t.Fatalf("tick %d flow %d (%d live mappings): %v %v, want translated", tick, f, live, v, r)
		}
		translated++
		port := header.UDP(p.Bytes()[p.L4:]).SrcPort()
		if port < lo || port > hi {
			t.Fatalf("tick %d flow %d: external port %d outside %d-%d", tick, f, port, lo, hi)
		}
		if alive(f, now) {
			if port != model[f].port {
				t.Fatalf("tick %d flow %d: external port %d, want its mapping's %d", tick, f, port, model[f].port)
			}
		} else {
			for i := range model {
				if i != f && alive(i, now) && model[i].port == port {
					t.Fatalf("tick %d flow %d: external port %d still held by flow %d", tick, f, port, i)
				}
			}
		}
		model[f] = mflow{live: true, lastSeen: now, port: port}
	}
	if dropped == 0 || translated == 0 {
		t.Fatalf("%d dropped, %d translated: want both", dropped, translated)
	}
}

// TestExpiryFollowsTCPState checks that a session whose timeout shortens (an
// established TCP session after a FIN) expires on its new timeout even
// after it was filed under the long one.
func TestExpiryFollowsTCPState(t *testing.T) {
	n := newNAT(t)
	out := func(flags string, at int64) {
		t.Helper()
		if v, r, _ := n.Outbound(parse(t, tcp4(t, c1, rem1, 50000, 443, flags)), e1, at, nil); v != Translated {
			t.Fatalf("outbound %s at %v: %v %v", flags, time.Duration(at), v, r)
		}
	}
	out("S", 0)
	if v, r, _ := n.Inbound(parse(t, tcp4(t, rem1, ext1, 443, 50000, "SA")), 0, nil); v != Translated {
		t.Fatalf("inbound SYN+ACK: %v %v", v, r)
	}
	out("A", 0)
	// Past the transient timeout: examined, alive, filed under 1800 s.
	if got := n.Expire(121*sec, 10); got != 0 {
		t.Fatalf("Expire at 121 s = %d, want 0 (established)", got)
	}
	out("FA", 200*sec) // closing: 120 s from now
	at := 200*sec + int64(DefaultTCPTransientTimeout)
	if got := n.Expire(at, 10); got != 0 {
		t.Fatalf("Expire at exactly the closing timeout = %d, want 0", got)
	}
	if got := n.Expire(at+1, 10); got != 1 {
		t.Fatalf("Expire 1 ns after the closing timeout = %d, want 1", got)
	}
}

// TestExpiryHeap checks the heap against a sort after random adds,
// removals and refiles.
func TestExpiryHeap(t *testing.T) {
	n := newNAT(t)
	rng := rand.New(rand.NewSource(3))
	const size = 3000
	n.hpos = make([]uint32, size)
	at := map[uint32]int64{}
	for k := 0; k < 20000; k++ {
		si := uint32(rng.Intn(size) + 1)
		v := rng.Int63n(1000)
		if _, ok := at[si]; ok {
			if rng.Intn(2) == 0 {
				n.expDel(si)
				delete(at, si)
			} else {
				n.expFix(si, v)
				at[si] = v
			}
		} else {
			n.expAdd(si, v)
			at[si] = v
		}
	}
	for len(at) > 0 {
		e := n.heap[0]
		for si, v := range at {
			if v < e.at {
				t.Fatalf("heap minimum %d (session %d), but session %d is at %d", e.at, e.si, si, v)
			}
		}
		if at[e.si] != e.at {
			t.Fatalf("heap has session %d at %d, want %d", e.si, e.at, at[e.si])
		}
		n.expDel(e.si)
		delete(at, e.si)
	}
	if len(n.heap) != 0 {
		t.Fatalf("heap has %d entries left, want 0", len(n.heap))
	}
}
