package winnat

import (
	"net/netip"
	"testing"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/trace"
)

func TestOutboundInboundRoundTrip(t *testing.T) {
	tests := []struct {
		name             string
		out, in          func(t testing.TB) []byte // the container's packet; the reply to the translated one
		wantSport        uint16                    // external port (or identifier) of the outbound packet
		wantDport        uint16                    // destination port (or identifier) of the outbound packet
		wantIntDst       string
		wantIntDport     uint16
		wantReplySrc     string
		wantReplySrcPort uint16
	}{
		{
			name:      "udp, port preserved",
			out:       func(t testing.TB) []byte { return udp4(t, c1, rem1, 50000, 53) },
			in:        func(t testing.TB) []byte { return udp4(t, rem1, ext1, 53, 50000) },
			wantSport: 50000, wantDport: 53, wantIntDst: c1, wantIntDport: 50000, wantReplySrc: rem1, wantReplySrcPort: 53,
		},
		{
			name:      "udp, port below the range gets the first range port",
			out:       func(t testing.TB) []byte { return udp4(t, c1, rem1, 1234, 53) },
			in:        func(t testing.TB) []byte { return udp4(t, rem1, ext1, 53, 49152) },
			wantSport: 49152, wantDport: 53, wantIntDst: c1, wantIntDport: 1234, wantReplySrc: rem1, wantReplySrcPort: 53,
		},
		{
			name:      "tcp syn, port preserved",
			out:       func(t testing.TB) []byte { return tcp4(t, c1, rem1, 60001, 443, "S") },
			in:        func(t testing.TB) []byte { return tcp4(t, rem1, ext1, 443, 60001, "SA") },
			wantSport: 60001, wantDport: 443, wantIntDst: c1, wantIntDport: 60001, wantReplySrc: rem1, wantReplySrcPort: 443,
		},
		{
			name:      "icmp echo, identifier 1 translated into the range",
			out:       func(t testing.TB) []byte { return echo4(t, c1, rem1, 1, false) },
			in:        func(t testing.TB) []byte { return echo4(t, rem1, ext1, 49152, true) },
			wantSport: 49152, wantDport: 49152, wantIntDst: c1, wantIntDport: 1, wantReplySrc: rem1, wantReplySrcPort: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNAT(t)
			out := tt.out(t)
			v, r, _ := n.Outbound(parse(t, out), e1, 0, nil)
			mustVerdict(t, "Outbound", v, r, Translated, "")
			expect(t, out, ext1, tt.wantSport, rem1, tt.wantDport)

			in := tt.in(t)
			v, r, _ = n.Inbound(parse(t, in), sec, nil)
			mustVerdict(t, "Inbound", v, r, Translated, "")
			expect(t, in, tt.wantReplySrc, tt.wantReplySrcPort, tt.wantIntDst, tt.wantIntDport)

			// The same outbound packet again uses the same session.
			out2 := tt.out(t)
			v, r, _ = n.Outbound(parse(t, out2), e1, 2*sec, nil)
			mustVerdict(t, "Outbound again", v, r, Translated, "")
			expect(t, out2, ext1, tt.wantSport, rem1, tt.wantDport)
			if st := n.Stats(); st.SessionsCreated != 1 || st.Outbound != 2 || st.Inbound != 1 {
				t.Errorf("stats = created %d out %d in %d, want 1 2 1", st.SessionsCreated, st.Outbound, st.Inbound)
			}
		})
	}
}

func TestUDPChecksumZeroStaysZero(t *testing.T) {
	n := newNAT(t)
	f := udp4(t, c1, rem1, 1234, 53)
	p := parse(t, f)
	p.UDP().SetChecksum(0) // RFC 768: no checksum
	if v, r, _ := n.Outbound(p, e1, 0, nil); v != Translated {
		t.Fatalf("Outbound = %v %v, want translated", v, r)
	}
	if c := p.UDP().Checksum(); c != 0 {
		t.Errorf("UDP checksum = %#04x, want 0 (none) kept", c)
	}
	expect(t, f, ext1, 49152, rem1, 53)
}

func TestNotNATTraffic(t *testing.T) {
	n := newNAT(t)
	tests := []struct {
		name  string
		frame func(t testing.TB) []byte
		call  string // out, in, hairpin
		want  Verdict
		why   drop.Reason
	}{
		{"outbound from outside the prefix", func(t testing.TB) []byte { return udp4(t, "192.168.1.5", rem1, 5000, 53) }, "out", NotHandled, drop.None},
		{"outbound to the same network", func(t testing.TB) []byte { return udp4(t, c1, c2, 5000, 53) }, "out", NotHandled, drop.None},
		{"outbound ipv6", func(t testing.TB) []byte { return udp6(t) }, "out", Dropped, drop.NATIPv6},
		{"hairpin ipv6", func(t testing.TB) []byte { return udp6(t) }, "hairpin", Dropped, drop.NATIPv6},
		{"inbound ipv6 (host traffic)", func(t testing.TB) []byte { return udp6(t) }, "in", NotHandled, drop.None},
		{"outbound gre (no ports)", func(t testing.TB) []byte { return gre4(t) }, "out", Dropped, drop.NATNoMapping},
		{"outbound echo reply without session", func(t testing.TB) []byte { return echo4(t, c1, rem1, 9, true) }, "out", Dropped, drop.NATNoMapping},
		{"inbound to a non-external address", func(t testing.TB) []byte { return udp4(t, rem1, "10.0.0.99", 53, 50000) }, "in", NotHandled, drop.None},
		{"inbound unsolicited", func(t testing.TB) []byte { return udp4(t, rem1, ext1, 53, 50000) }, "in", NotHandled, drop.None},
		{"inbound echo request (the host answers)", func(t testing.TB) []byte { return echo4(t, rem1, ext1, 9, false) }, "in", NotHandled, drop.None},
		{"hairpin to an unmapped port (host service)", func(t testing.TB) []byte { return tcp4(t, c1, ext1, 5000, 445, "S") }, "hairpin", NotHandled, drop.None},
		{"hairpin ping to the host", func(t testing.TB) []byte { return echo4(t, c1, ext1, 9, false) }, "hairpin", NotHandled, drop.None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.frame(t)
			orig := append([]byte(nil), f...)
			p := parse(t, f)
			var v Verdict
			var r drop.Reason
			switch tt.call {
			case "out":
				v, r, _ = n.Outbound(p, e1, 0, nil)
			case "in":
				v, r, _ = n.Inbound(p, 0, nil)
			case "hairpin":
				v, r = n.Hairpin(p, 0, nil)
			}
			if v != tt.want || r != tt.why {
				t.Fatalf("got %v %q, want %v %q", v, r, tt.want, tt.why)
			}
			if string(f) != string(orig) {
				t.Errorf("frame changed on %v", v)
			}
		})
	}
	if st := n.Stats(); st.SessionsCreated != 0 {
		t.Errorf("SessionsCreated = %d, want 0", st.SessionsCreated)
	}
}

func TestOutboundExtNotExternal(t *testing.T) {
	n := newNAT(t)
	v, r, _ := n.Outbound(parse(t, udp4(t, c1, rem1, 5000, 53)), netip.MustParseAddr("10.9.9.9"), 0, nil)
	mustVerdict(t, "Outbound", v, r, NotHandled, "")
}

func TestEchoSameIdentTwoHosts(t *testing.T) {
	// Two containers ping the same host with the same identifier: the
	// identifiers must differ outside and the replies go back to each
	// (RFC 5508 section 3.1).
	n := newNAT(t)
	a, b := echo4(t, c1, rem1, 1, false), echo4(t, c2, rem1, 1, false)
	for _, f := range [][]byte{a, b} {
		if v, r, _ := n.Outbound(parse(t, f), e1, 0, nil); v != Translated {
			t.Fatalf("Outbound = %v %v", v, r)
		}
	}
	ia, ib := inspect(t, a).sport, inspect(t, b).sport
	if ia == ib {
		t.Fatalf("both identifiers became %d, want different", ia)
	}
	for _, tc := range []struct {
		id   uint16
		want string
	}{{ia, c1}, {ib, c2}} {
		rep := echo4(t, rem1, ext1, tc.id, true)
		if v, r, _ := n.Inbound(parse(t, rep), sec, nil); v != Translated {
			t.Fatalf("Inbound reply id %d = %v %v", tc.id, v, r)
		}
		expect(t, rep, rem1, 1, tc.want, 1)
	}
	// A reply from a host the query did not go to is filtered.
	v, r, _ := n.Inbound(parse(t, echo4(t, rem2, ext1, ia, true)), sec, nil)
	mustVerdict(t, "reply from another host", v, r, Dropped, "winnat-filtered")
}

func TestMappingBehaviour(t *testing.T) {
	// One internal endpoint sends to two destinations: does it keep its
	// external port (RFC 4787 section 4.1)?
	tests := []struct {
		mapping  Mapping
		samePort bool // to rem1:53 and rem2:53
		sameAddr bool // to rem1:53 and rem1:54
	}{
		{EndpointIndependentMapping, true, true},
		{AddressDependentMapping, false, true},
		{AddressAndPortDependentMapping, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.mapping.String(), func(t *testing.T) {
			n := newNAT(t, func(c *Config) { c.Mapping = tt.mapping; c.PortPreservation = false })
			port := func(dst string, dport uint16) uint16 {
				f := udp4(t, c1, dst, 40000, dport)
				if v, r, _ := n.Outbound(parse(t, f), e1, 0, nil); v != Translated {
					t.Fatalf("Outbound = %v %v", v, r)
				}
				return inspect(t, f).sport
			}
			a, b, c := port(rem1, 53), port(rem2, 53), port(rem1, 54)
			if (a == b) != tt.samePort {
				t.Errorf("to two addresses: ports %d and %d, want same %v", a, b, tt.samePort)
			}
			if (a == c) != tt.sameAddr {
				t.Errorf("to two ports of one address: ports %d and %d, want same %v", a, c, tt.sameAddr)
			}
		})
	}
}

func TestPortAllocation(t *testing.T) {
	n := newNAT(t)
	// Two containers with the same source port: the first keeps it.
	a, b := udp4(t, c1, rem1, 50000, 53), udp4(t, c2, rem1, 50000, 53)
	for _, f := range [][]byte{a, b} {
		if v, r, _ := n.Outbound(parse(t, f), e1, 0, nil); v != Translated {
			t.Fatalf("Outbound = %v %v", v, r)
		}
	}
	if pa, pb := inspect(t, a).sport, inspect(t, b).sport; pa != 50000 || pb == 50000 || pb < 49152 {
		t.Errorf("ports = %d, %d; want 50000 and another port in 49152-65535", pa, pb)
	}
	// Through the other external address the port is free again.
	c := udp4(t, c2, rem2, 50000, 53)
	if v, r, _ := n.Outbound(parse(t, c), e2, 0, nil); v != Translated {
		t.Fatalf("Outbound = %v %v", v, r)
	}
	expect(t, c, ext2, 50000, rem2, 53)
	if st := n.Stats(); st.PortsInUse != 3 || st.Mappings != 3 {
		t.Errorf("PortsInUse %d Mappings %d, want 3 3", st.PortsInUse, st.Mappings)
	}
}

func TestPortExhaustion(t *testing.T) {
	n := newNAT(t, func(c *Config) { c.PortRange = [2]uint16{40000, 40001} })
	for i, src := range []string{c1, c2} {
		if v, r, _ := n.Outbound(parse(t, udp4(t, src, rem1, uint16(1000+i), 53)), e1, 0, nil); v != Translated {
			t.Fatalf("Outbound %d = %v %v", i, v, r)
		}
	}
	for i := 0; i < 100; i++ {
		f := udp4(t, "172.16.0.4", rem1, uint16(2000+i), 53)
		orig := append([]byte(nil), f...)
		v, r, _ := n.Outbound(parse(t, f), e1, sec, nil)
		if v != Dropped || r != drop.NATPortsExhausted {
			t.Fatalf("Outbound with no free port = %v %v, want dropped winnat-ports-exhausted", v, r)
		}
		if string(f) != string(orig) {
			t.Fatal("dropped frame was changed")
		}
	}
	st := n.Stats()
	if st.Sessions != 2 || st.Mappings != 2 || st.PortsInUse != 2 || st.Dropped[drop.NATPortsExhausted] != 100 {
		t.Errorf("stats = sessions %d mappings %d ports %d exhausted %d, want 2 2 2 100",
			st.Sessions, st.Mappings, st.PortsInUse, st.Dropped[drop.NATPortsExhausted])
	}
	// The other endpoints of c1 (EIM) still use its mapping.
	if v, r, _ := n.Outbound(parse(t, udp4(t, c1, rem2, 1000, 53)), e1, sec, nil); v != Translated {
		t.Errorf("existing mapping to a new destination = %v %v, want translated", v, r)
	}
	// Once the sessions expire, the ports are free again.
	later := sec + int64(DefaultUDPIdleTimeout) + 1
	if v, r, _ := n.Outbound(parse(t, udp4(t, "172.16.0.4", rem1, 2000, 53)), e1, later, nil); v != Translated {
		t.Errorf("after expiry = %v %v, want translated", v, r)
	}
}

func TestSessionLimit(t *testing.T) {
	n := newNAT(t, func(c *Config) { c.MaxSessions = 2 })
	for i := 0; i < 2; i++ {
		if v, r, _ := n.Outbound(parse(t, udp4(t, c1, rem1, uint16(50000+i), 53)), e1, 0, nil); v != Translated {
			t.Fatalf("Outbound %d = %v %v", i, v, r)
		}
	}
	v, r, _ := n.Outbound(parse(t, udp4(t, c1, rem1, 50002, 53)), e1, 0, nil)
	mustVerdict(t, "third session", v, r, Dropped, "winnat-session-limit")
	// Idle sessions are reaped to make room.
	v, r, _ = n.Outbound(parse(t, udp4(t, c1, rem1, 50002, 53)), e1, int64(DefaultUDPIdleTimeout)+1, nil)
	mustVerdict(t, "after expiry", v, r, Translated, "")
}

func TestFiltering(t *testing.T) {
	tests := []struct {
		name      string
		filtering Filtering
		from      string
		sport     uint16
		want      Verdict
		why       drop.Reason
	}{
		{"adf, contacted endpoint", AddressDependentFiltering, rem1, 53, Translated, drop.None},
		{"adf, contacted address, other port", AddressDependentFiltering, rem1, 5353, Translated, drop.None},
		{"adf, other address", AddressDependentFiltering, rem2, 53, Dropped, drop.NATFiltered},
		{"eif, other address", EndpointIndependentFiltering, rem2, 53, Translated, drop.None},
	}
	for _, proto := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(proto+"/"+tt.name, func(t *testing.T) {
				n := newNAT(t, func(c *Config) { c.UDPFiltering, c.TCPFiltering = tt.filtering, tt.filtering })
				var out, in []byte
				if proto == "udp" {
					out, in = udp4(t, c1, rem1, 50000, 53), udp4(t, tt.from, ext1, tt.sport, 50000)
				} else {
					out, in = tcp4(t, c1, rem1, 50000, 53, "S"), tcp4(t, tt.from, ext1, tt.sport, 50000, "SA")
				}
				if v, r, _ := n.Outbound(parse(t, out), e1, 0, nil); v != Translated {
					t.Fatalf("Outbound = %v %v", v, r)
				}
				v, r, _ := n.Inbound(parse(t, in), sec, nil)
				if v != tt.want || r != tt.why {
					t.Fatalf("Inbound = %v %q, want %v %q", v, r, tt.want, tt.why)
				}
				if v == Translated {
					expect(t, in, tt.from, tt.sport, c1, 50000)
					// The new session carries the replies out.
					rep := udp4(t, c1, tt.from, 50000, tt.sport)
					if proto == "tcp" {
						rep = tcp4(t, c1, tt.from, 50000, tt.sport, "A")
					}
					if v, r, _ := n.Outbound(parse(t, rep), e1, sec, nil); v != Translated {
						t.Fatalf("reply = %v %v", v, r)
					}
					expect(t, rep, ext1, 50000, tt.from, tt.sport)
				}
			})
		}
	}
}

func TestFilteringAfterExpiry(t *testing.T) {
	// When the mapping's only session has expired, an inbound packet finds
	// no mapping (NotHandled, not filtered).
	n := newNAT(t)
	n.Outbound(parse(t, udp4(t, c1, rem1, 50000, 53)), e1, 0, nil)
	v, r, _ := n.Inbound(parse(t, udp4(t, rem2, ext1, 53, 50000)), int64(DefaultUDPIdleTimeout), nil)
	mustVerdict(t, "at timeout", v, r, Dropped, "winnat-filtered")
	v, r, _ = n.Inbound(parse(t, udp4(t, rem2, ext1, 53, 50000)), int64(DefaultUDPIdleTimeout)+1, nil)
	mustVerdict(t, "after timeout", v, r, NotHandled, "")
	if st := n.Stats(); st.Mappings != 0 || st.PortsInUse != 0 || st.Sessions != 0 {
		t.Errorf("after expiry: mappings %d ports %d sessions %d, want 0 0 0", st.Mappings, st.PortsInUse, st.Sessions)
	}
}

// step is one packet of a timeout scenario: out from the container or in
// from rem1, at a time in seconds.
type step struct {
	out   bool
	at    int64
	flags string // TCP flags
}

func TestTimeouts(t *testing.T) {
	tcpFlow := func(steps ...step) []step { return steps }
	tests := []struct {
		name     string
		proto    uint8
		mods     func(*Config)
		steps    []step
		lastSeen int64 // seconds
		timeout  int64 // seconds
		state    State // after the steps
	}{
		{name: "icmp query 30 s", proto: header.ProtoICMPv4, steps: []step{{out: true, at: 0}}, lastSeen: 0, timeout: 30, state: StateActive},
		{name: "udp 120 s", proto: header.ProtoUDP, steps: []step{{out: true, at: 0}}, lastSeen: 0, timeout: 120, state: StateActive},
		{name: "udp inbound does not refresh", proto: header.ProtoUDP, steps: []step{{out: true, at: 0}, {out: false, at: 100}}, lastSeen: 0, timeout: 120, state: StateActive},
		{name: "udp outbound refreshes", proto: header.ProtoUDP, steps: []step{{out: true, at: 0}, {out: true, at: 100}}, lastSeen: 100, timeout: 120, state: StateActive},
		{name: "udp inbound refresh on", proto: header.ProtoUDP, mods: func(c *Config) { c.UDPInboundRefresh = true },
			steps: []step{{out: true, at: 0}, {out: false, at: 100}}, lastSeen: 100, timeout: 120, state: StateActive},
		{name: "tcp syn only: transient", proto: header.ProtoTCP, steps: tcpFlow(step{true, 0, "S"}), lastSeen: 0, timeout: 120, state: StateTCPSYN},
		{name: "tcp syn, syn-ack: transient", proto: header.ProtoTCP, steps: tcpFlow(step{true, 0, "S"}, step{false, 1, "SA"}), lastSeen: 1, timeout: 120, state: StateTCPSYNACK},
		{name: "tcp handshake: established", proto: header.ProtoTCP, steps: tcpFlow(step{true, 0, "S"}, step{false, 1, "SA"}, step{true, 2, "A"}), lastSeen: 2, timeout: 1800, state: StateTCPEstablished},
		{name: "tcp data keeps established", proto: header.ProtoTCP, steps: tcpFlow(step{true, 0, "S"}, step{false, 1, "SA"}, step{true, 2, "A"}, step{false, 500, "PA"}), lastSeen: 500, timeout: 1800, state: StateTCPEstablished},
		{name: "tcp fin: transient again", proto: header.ProtoTCP, steps: tcpFlow(step{true, 0, "S"}, step{false, 1, "SA"}, step{true, 2, "A"}, step{false, 3, "FA"}), lastSeen: 3, timeout: 120, state: StateTCPClosing},
		{name: "tcp rst: transient again", proto: header.ProtoTCP, steps: tcpFlow(step{true, 0, "S"}, step{false, 1, "SA"}, step{true, 2, "A"}, step{true, 3, "R"}), lastSeen: 3, timeout: 120, state: StateTCPClosing},
		{name: "tcp ack from the responder does not establish", proto: header.ProtoTCP, steps: tcpFlow(step{true, 0, "S"}, step{false, 1, "SA"}, step{false, 2, "A"}), lastSeen: 2, timeout: 120, state: StateTCPSYNACK},
		{name: "tcp syn-ack from the initiator is not the handshake", proto: header.ProtoTCP, steps: tcpFlow(step{true, 0, "S"}, step{true, 1, "SA"}), lastSeen: 1, timeout: 120, state: StateTCPSYN},
		{name: "tcp new syn after close: transient", proto: header.ProtoTCP, steps: tcpFlow(step{true, 0, "S"}, step{false, 1, "SA"}, step{true, 2, "A"}, step{true, 3, "R"}, step{true, 4, "S"}), lastSeen: 4, timeout: 120, state: StateTCPSYN},
		{name: "tcp mid-stream pickup: transient", proto: header.ProtoTCP, steps: tcpFlow(step{true, 0, "A"}, step{false, 1, "A"}), lastSeen: 1, timeout: 120, state: StateTCPUnsynced},
	}
	frame := func(t testing.TB, proto uint8, out bool, flags string) []byte {
		switch proto {
		case header.ProtoUDP:
			if out {
				return udp4(t, c1, rem1, 50000, 53)
			}
			return udp4(t, rem1, ext1, 53, 50000)
		case header.ProtoTCP:
			if out {
				return tcp4(t, c1, rem1, 50000, 80, flags)
			}
			return tcp4(t, rem1, ext1, 80, 50000, flags)
		}
		if out {
			return echo4(t, c1, rem1, 50000, false)
		}
		return echo4(t, rem1, ext1, 50000, true)
	}
	build := func(t *testing.T, proto uint8, mods func(*Config), steps []step) *NAT {
		n := newNAT(t, func(c *Config) {
			if mods != nil {
				mods(c)
			}
		})
		for i, s := range steps {
			p := parse(t, frame(t, proto, s.out, s.flags))
			var v Verdict
			var r drop.Reason
			if s.out {
				v, r, _ = n.Outbound(p, e1, s.at*sec, nil)
			} else {
				v, r, _ = n.Inbound(p, s.at*sec, nil)
			}
			if v != Translated {
				t.Fatalf("step %d = %v %v", i, v, r)
			}
		}
		return n
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := build(t, tt.proto, tt.mods, tt.steps)
			ss := n.Sessions()
			if len(ss) != 1 || ss[0].State != tt.state || ss[0].Timeout.Nanoseconds() != tt.timeout*sec || ss[0].LastSeen != tt.lastSeen*sec {
				t.Fatalf("sessions = %+v, want one in state %v, timeout %d s, last seen %d s", ss, tt.state, tt.timeout, tt.lastSeen)
			}
			deadline := (tt.lastSeen + tt.timeout) * sec
			// Probe with a reply (inbound), on a fresh copy of the scenario
			// each time since TCP replies refresh the session.
			probe := func(at int64) Verdict {
				n := build(t, tt.proto, tt.mods, tt.steps)
				flags := "A"
				if tt.state == StateTCPSYN {
					flags = "SA"
				}
				v, _, _ := n.Inbound(parse(t, frame(t, tt.proto, false, flags)), at, nil)
				return v
			}
			if v := probe(deadline); v != Translated {
				t.Errorf("reply at exactly the timeout = %v, want translated", v)
			}
			if v := probe(deadline + 1); v != NotHandled {
				t.Errorf("reply 1 ns after the timeout = %v, want not-handled", v)
			}
		})
	}
}

func TestExpire(t *testing.T) {
	n := newNAT(t)
	for i := 0; i < 10; i++ {
		n.Outbound(parse(t, udp4(t, c1, rem1, uint16(50000+i), 53)), e1, 0, nil)
	}
	n.Outbound(parse(t, echo4(t, c1, rem1, 7, false)), e1, 0, nil)
	at := 30*sec + 1 // the ICMP session is idle past 30 s, the UDP ones are not
	if got := n.Expire(at, 100); got != 1 {
		t.Errorf("Expire at 30 s + 1 ns = %d, want 1", got)
	}
	at = int64(DefaultUDPIdleTimeout) + 1
	total := 0
	for i := 0; i < 5; i++ {
		total += n.Expire(at, 3) // a small budget per call
	}
	if total != 10 {
		t.Errorf("Expire removed %d in 5 calls of budget 3, want 10", total)
	}
	st := n.Stats()
	if st.Sessions != 0 || st.SessionsExpired != 11 || st.PortsInUse != 0 || st.Mappings != 0 {
		t.Errorf("stats = sessions %d expired %d ports %d mappings %d, want 0 11 0 0", st.Sessions, st.SessionsExpired, st.PortsInUse, st.Mappings)
	}
	if got := n.Expire(at, 100); got != 0 {
		t.Errorf("Expire on an empty table = %d, want 0", got)
	}
}

func TestSessionsInfo(t *testing.T) {
	n := newNAT(t)
	n.Outbound(parse(t, tcp4(t, c1, rem1, 50000, 443, "S")), e1, 5*sec, nil)
	ss := n.Sessions()
	want := SessionInfo{
		Protocol:              header.ProtoTCP,
		InternalSourceAddress: netip.MustParseAddr(c1), InternalSourcePort: 50000,
		InternalDestinationAddress: netip.MustParseAddr(rem1), InternalDestinationPort: 443,
		ExternalSourceAddress: e1, ExternalSourcePort: 50000,
		ExternalDestinationAddress: netip.MustParseAddr(rem1), ExternalDestinationPort: 443,
		CreationTime: 5 * sec, LastSeen: 5 * sec, Timeout: DefaultTCPTransientTimeout, State: StateTCPSYN,
	}
	if len(ss) != 1 || ss[0] != want {
		t.Errorf("Sessions() = %+v, want [%+v]", ss, want)
	}
}

func TestTrace(t *testing.T) {
	n := newNAT(t)
	tr := &trace.Recorder{On: true}
	n.Outbound(parse(t, udp4(t, c1, rem1, 50000, 53)), e1, 0, tr)
	n.Inbound(parse(t, udp4(t, rem2, ext1, 53, 50000)), 0, tr)
	if len(tr.Events) != 2 {
		t.Fatalf("events = %d, want 2", len(tr.Events))
	}
	ev := tr.Events[0]
	if ev.Component != "winnat" || ev.Action != "snat" || ev.Host != "host1" || ev.Before.Src != netip.MustParseAddr(c1) || ev.After.Src != e1 {
		t.Errorf("event 0 = %+v, want winnat snat on host1 from %s to %s", ev, c1, ext1)
	}
	ev = tr.Events[1]
	if ev.Action != "drop" || ev.Reason != drop.NATFiltered || ev.Detail == "" {
		t.Errorf("event 1 = %+v, want drop winnat-filtered with a detail", ev)
	}
	// Off: nothing recorded.
	tr.On = false
	n.Outbound(parse(t, udp4(t, c1, rem1, 50000, 53)), e1, 0, tr)
	if len(tr.Events) != 2 {
		t.Errorf("events with recording off = %d, want 2", len(tr.Events))
	}
}
