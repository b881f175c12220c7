package winnat

import (
	"fmt"
	"math/rand"
	"net/netip"
	"testing"

	"github.com/hnspath/hnspath/emulator/drop"
)

// A naive model of WinNAT's UDP behaviour with the defaults (EIM, ADF,
// 120 s idle, refreshed by outbound packets only), written as plainly as
// possible: lists scanned linearly, no indexes. TestAgainstModel drives it
// and the NAT with the same random traffic and compares every verdict and
// every translated address and port (read back with gopacket).

type ep struct {
	addr string
	port uint16
}

type modelSession struct {
	in, rem  ep
	lastSeen int64
}

type modelMapping struct {
	in   ep
	port uint16
}

type model struct {
	timeout  int64
	sessions []*modelSession
	mappings []*modelMapping
}

func (m *model) alive(s *modelSession, now int64) bool { return now-s.lastSeen <= m.timeout }

// mappingAlive reports whether any session of internal endpoint in lives.
func (m *model) mappingAlive(in ep, now int64) bool {
	for _, s := range m.sessions {
		if s.in == in && m.alive(s, now) {
			return true
		}
	}
	return false
}

func (m *model) mapping(in ep, now int64) *modelMapping {
	for _, mp := range m.mappings {
		if mp.in == in && m.mappingAlive(in, now) {
			return mp
		}
	}
	return nil
}

func (m *model) session(in, rem ep, now int64) *modelSession {
	for _, s := range m.sessions {
		if s.in == in && s.rem == rem && m.alive(s, now) {
			return s
		}
	}
	return nil
}

// portOwner returns the live mapping holding external port.
func (m *model) portOwner(port uint16, now int64) *modelMapping {
	for _, mp := range m.mappings {
		if mp.port == port && m.mappingAlive(mp.in, now) {
			return mp
		}
	}
	return nil
}

func (m *model) gc(now int64) {
	var ss []*modelSession
	for _, s := range m.sessions {
		if m.alive(s, now) {
			ss = append(ss, s)
		}
	}
	m.sessions = ss
	var ms []*modelMapping
	for _, mp := range m.mappings {
		if m.mappingAlive(mp.in, now) {
			ms = append(ms, mp)
		}
	}
	m.mappings = ms
}

func TestAgainstModel(t *testing.T) {
	for seed := int64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { runModel(t, seed) })
	}
}

func runModel(t *testing.T, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	n := newNAT(t, func(c *Config) { c.ExternalAddrs = []netip.Addr{e1} })
	m := &model{timeout: int64(DefaultUDPIdleTimeout)}
	inside := []string{"172.16.0.2", "172.16.0.3", "172.16.0.4"}
	inPorts := []uint16{1234, 50000, 50001} // 1234 is outside the port range
	remotes := []string{rem1, rem2, "203.0.113.9"}
	remPorts := []uint16{53, 123}
	now := int64(0)
	for ev := 0; ev < 3000; ev++ {
		now += rng.Int63n(40 * sec) // sessions expire now and then
		m.gc(now)
		rem := ep{remotes[rng.Intn(len(remotes))], remPorts[rng.Intn(len(remPorts))]}
		if rng.Intn(2) == 0 {
			in := ep{inside[rng.Intn(len(inside))], inPorts[rng.Intn(len(inPorts))]}
			f := udp4(t, in.addr, rem.addr, in.port, rem.port)
			v, r, _ := n.Outbound(parse(t, f), e1, now, nil)
			if v != Translated {
				t.Fatalf("event %d: Outbound %v -> %v = %v %v, want translated", ev, in, rem, v, r)
			}
			g := inspect(t, f)
			if g.src != e1 || g.dst.String() != rem.addr || g.dport != rem.port {
				t.Fatalf("event %d: outbound translated to %v:%d -> %v:%d", ev, g.src, g.sport, g.dst, g.dport)
			}
			if mp := m.mapping(in, now); mp != nil {
				// EIM: a live mapping keeps its port for every destination.
				if g.sport != mp.port {
					t.Fatalf("event %d: %v got port %d, its mapping has %d", ev, in, g.sport, mp.port)
				}
			} else {
				if o := m.portOwner(g.sport, now); o != nil {
					t.Fatalf("event %d: %v got port %d, held by %v", ev, in, g.sport, o.in)
				}
				if g.sport < 49152 {
					t.Fatalf("event %d: port %d outside the range", ev, g.sport)
				}
				if in.port >= 49152 && m.portOwner(in.port, now) == nil && g.sport != in.port {
					t.Fatalf("event %d: free port %d not preserved (got %d)", ev, in.port, g.sport)
				}
				m.mappings = append(m.mappings, &modelMapping{in: in, port: g.sport})
			}
			if s := m.session(in, rem, now); s != nil {
				s.lastSeen = now
			} else {
				m.sessions = append(m.sessions, &modelSession{in: in, rem: rem, lastSeen: now})
			}
			continue
		}
		// Inbound: to a port some mapping holds (or held), or any port.
		port := uint16(49152 + rng.Intn(4))
		if len(m.mappings) > 0 && rng.Intn(4) != 0 {
			port = m.mappings[rng.Intn(len(m.mappings))].port
		}
		f := udp4(t, rem.addr, ext1, rem.port, port)
		v, r, _ := n.Inbound(parse(t, f), now, nil)
		wantV, wantR := NotHandled, drop.None
		var to ep
		if mp := m.portOwner(port, now); mp != nil {
			to = mp.in
			contacted := false
			for _, s := range m.sessions {
				if s.in == mp.in && s.rem.addr == rem.addr && m.alive(s, now) {
					contacted = true
				}
			}
			switch {
			case m.session(mp.in, rem, now) != nil:
				wantV = Translated // no refresh: UdpInboundRefresh is off
			case contacted:
				wantV = Translated // ADF admits another port of a contacted address
				m.sessions = append(m.sessions, &modelSession{in: mp.in, rem: rem, lastSeen: now})
			default:
				wantV, wantR = Dropped, drop.NATFiltered
			}
		}
		if v != wantV || r != wantR {
			t.Fatalf("event %d (t=%ds): Inbound %v -> %s:%d = %v %q, model says %v %q", ev, now/sec, rem, ext1, port, v, r, wantV, wantR)
		}
		if v == Translated {
			expect(t, f, rem.addr, rem.port, to.addr, to.port)
		}
	}
	// The traffic exercised every case.
	st := n.Stats()
	if st.Inbound == 0 || st.Dropped[drop.NATFiltered] == 0 || st.NotHandled == 0 || st.SessionsExpired == 0 {
		t.Errorf("stats %+v: want inbound translations, ADF drops, unmatched packets and expiries", st)
	}
	t.Logf("stats: %+v", st)
	// The NAT's sessions are the model's.
	m.gc(now)
	got := map[string]bool{}
	for _, s := range n.Sessions() {
		got[fmt.Sprintf("%v:%d-%v:%d", s.InternalSourceAddress, s.InternalSourcePort, s.ExternalDestinationAddress, s.ExternalDestinationPort)] = true
	}
	if len(got) != len(m.sessions) {
		t.Errorf("NAT has %d live sessions, model %d", len(got), len(m.sessions))
	}
	for _, s := range m.sessions {
		if k := fmt.Sprintf("%s:%d-%s:%d", s.in.addr, s.in.port, s.rem.addr, s.rem.port); !got[k] {
			t.Errorf("model session %s missing from the NAT", k)
		}
	}
}
