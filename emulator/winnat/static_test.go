package winnat

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
)

// web is `docker run -p 8080:80` on container c1: TCP 0.0.0.0:8080 -> c1:80.
var web = StaticMapping{Protocol: header.ProtoTCP, ExternalPort: 8080, InternalAddr: netip.MustParseAddr(c1), InternalPort: 80}

func TestStaticMappingInbound(t *testing.T) {
	n := newNAT(t)
	if err := n.AddStaticMapping(web); err != nil {
		t.Fatal(err)
	}
	// Inbound SYN on either external address: DNAT to c1:80.
	for i, ext := range []string{ext1, ext2} {
		syn := tcp4(t, rem1, ext, 40000+uint16(i), 8080, "S")
		v, r, _ := n.Inbound(parse(t, syn), 0, nil)
		mustVerdict(t, "Inbound SYN", v, r, Translated, "")
		expect(t, syn, rem1, 40000+uint16(i), c1, 80)
		// The reply leaves from the address the client contacted, port 8080.
		synack := tcp4(t, c1, rem1, 80, 40000+uint16(i), "SA")
		v, r, _ = n.Outbound(parse(t, synack), e1, sec, nil)
		mustVerdict(t, "Outbound SYN-ACK", v, r, Translated, "")
		expect(t, synack, ext, 8080, rem1, 40000+uint16(i))
	}
	ss := n.Sessions()
	if len(ss) != 2 || !ss[0].Static || !ss[0].Inbound || ss[0].State != StateTCPSYNACK {
		t.Errorf("sessions = %+v, want 2 static inbound sessions in state syn-ack", ss)
	}
	// The initiator's ACK (inbound) completes the handshake.
	if v, _, _ := n.Inbound(parse(t, tcp4(t, rem1, ext1, 40000, 8080, "A")), 2*sec, nil); v != Translated {
		t.Fatalf("ACK = %v", v)
	}
	if ss := n.Sessions(); ss[0].State != StateTCPEstablished {
		t.Errorf("state after ACK = %v, want established", ss[0].State)
	}
	// UDP to the TCP mapping's port: nothing.
	v, r, _ := n.Inbound(parse(t, udp4(t, rem1, ext1, 40000, 8080)), 0, nil)
	mustVerdict(t, "UDP to a TCP mapping", v, r, NotHandled, "")
}

func TestStaticMappingVIPAndRemotePrefix(t *testing.T) {
	n := newNAT(t)
	m := StaticMapping{Protocol: header.ProtoUDP, ExternalAddr: e2, ExternalPort: 5353, InternalAddr: netip.MustParseAddr(c2),
		RemotePrefix: netip.MustParsePrefix("198.51.100.0/24")}
	if err := n.AddStaticMapping(m); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, from, to string
		want           Verdict
		why            drop.Reason
	}{
		{"allowed remote, mapped address", rem2, ext2, Translated, drop.None},
		{"other external address", rem2, ext1, NotHandled, drop.None},
		{"remote outside the prefix", rem1, ext2, Dropped, drop.NATFiltered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := udp4(t, tt.from, tt.to, 7000, 5353)
			v, r, _ := n.Inbound(parse(t, f), 0, nil)
			if v != tt.want || r != tt.why {
				t.Fatalf("Inbound = %v %q, want %v %q", v, r, tt.want, tt.why)
			}
			if v == Translated {
				expect(t, f, tt.from, 7000, c2, 5353) // InternalPort defaults to ExternalPort
			}
		})
	}
	if !n.HasStaticMapping(header.ProtoUDP, e2, 5353) || n.HasStaticMapping(header.ProtoUDP, e1, 5353) || n.HasStaticMapping(header.ProtoTCP, e2, 5353) {
		t.Error("HasStaticMapping: want true only for udp 10.0.0.11:5353")
	}
}

func TestAddStaticMappingErrors(t *testing.T) {
	ok := web
	tests := []struct {
		name    string
		m       StaticMapping
		inUse   bool   // wraps ErrPortInUse
		field   string // else a *ConfigError on this field
		prepare func(testing.TB, *NAT)
	}{
		{name: "duplicate on every address", m: ok, inUse: true, prepare: func(_ testing.TB, n *NAT) { n.AddStaticMapping(ok) }},
		{name: "same port on one address after every address", m: withExt(ok, e1), inUse: true, prepare: func(_ testing.TB, n *NAT) { n.AddStaticMapping(ok) }},
		{name: "every address after one address", m: ok, inUse: true, prepare: func(_ testing.TB, n *NAT) { n.AddStaticMapping(withExt(ok, e2)) }},
		{name: "port held by a dynamic session", m: StaticMapping{Protocol: header.ProtoUDP, ExternalPort: 50000, InternalAddr: netip.MustParseAddr(c2)}, inUse: true,
			prepare: func(t testing.TB, n *NAT) { n.Outbound(parse(t, udp4(t, c1, rem1, 50000, 53)), e1, 0, nil) }},
		{name: "icmp", m: StaticMapping{Protocol: 1, ExternalPort: 1, InternalAddr: netip.MustParseAddr(c1)}, field: "StaticMapping.Protocol"},
		{name: "port 0", m: StaticMapping{Protocol: 6, InternalAddr: netip.MustParseAddr(c1)}, field: "StaticMapping.ExternalPort"},
		{name: "internal address outside the prefix", m: StaticMapping{Protocol: 6, ExternalPort: 80, InternalAddr: netip.MustParseAddr("192.168.0.2")}, field: "StaticMapping.InternalAddr"},
		{name: "unknown external address", m: withExt(ok, netip.MustParseAddr("10.0.0.99")), field: "StaticMapping.ExternalAddr"},
		{name: "ipv6 remote prefix", m: StaticMapping{Protocol: 6, ExternalPort: 80, InternalAddr: netip.MustParseAddr(c1), RemotePrefix: netip.MustParsePrefix("2001:db8::/32")}, field: "StaticMapping.RemotePrefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNAT(t)
			if tt.prepare != nil {
				tt.prepare(t, n)
			}
			err := n.AddStaticMapping(tt.m)
			if err == nil {
				t.Fatal("AddStaticMapping = nil, want an error")
			}
			if tt.inUse {
				if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), "0x803b0013") {
					t.Errorf("error %q, want one wrapping ErrPortInUse (0x803b0013)", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.field {
				t.Errorf("error %q, want a *ConfigError on %s", err, tt.field)
			}
		})
	}
}

func withExt(m StaticMapping, a netip.Addr) StaticMapping { m.ExternalAddr = a; return m }

func TestRemoveStaticMapping(t *testing.T) {
	n := newNAT(t)
	if err := n.AddStaticMapping(web); err != nil {
		t.Fatal(err)
	}
	n.Inbound(parse(t, tcp4(t, rem1, ext1, 40000, 8080, "S")), 0, nil)
	if !n.RemoveStaticMapping(header.ProtoTCP, netip.Addr{}, 8080) {
		t.Fatal("RemoveStaticMapping = false, want true")
	}
	if n.RemoveStaticMapping(header.ProtoTCP, netip.Addr{}, 8080) {
		t.Error("second RemoveStaticMapping = true, want false")
	}
	// Its session went with it: the reply is no longer translated, and new
	// connections find nothing.
	v, r, _ := n.Outbound(parse(t, tcp4(t, c1, rem1, 80, 40000, "SA")), e1, sec, nil)
	if v != Translated {
		t.Fatalf("reply after removal = %v %v", v, r)
	}
	if ss := n.Sessions(); len(ss) != 1 || ss[0].Static || ss[0].ExternalSourcePort == 8080 {
		t.Errorf("sessions = %+v, want one dynamic session not on port 8080", ss)
	}
	v, r, _ = n.Inbound(parse(t, tcp4(t, rem1, ext1, 40001, 8080, "S")), sec, nil)
	mustVerdict(t, "SYN after removal", v, r, NotHandled, "")
	st := n.Stats()
	if st.StaticMappings != 0 || st.SessionsRemoved != 1 {
		t.Errorf("stats: static %d removed %d, want 0 1", st.StaticMappings, st.SessionsRemoved)
	}
	// The port can be mapped again.
	if err := n.AddStaticMapping(web); err != nil {
		t.Errorf("re-adding: %v", err)
	}
}

func TestStaticMappingInDynamicRange(t *testing.T) {
	// A static mapping inside the dynamic range reserves its port: dynamic
	// sessions never get it, even with port preservation.
	n := newNAT(t, func(c *Config) { c.PortRange = [2]uint16{50000, 50001} })
	m := StaticMapping{Protocol: header.ProtoUDP, ExternalAddr: e1, ExternalPort: 50000, InternalAddr: netip.MustParseAddr(c2)}
	if err := n.AddStaticMapping(m); err != nil {
		t.Fatal(err)
	}
	f := udp4(t, c1, rem1, 50000, 53)
	if v, r, _ := n.Outbound(parse(t, f), e1, 0, nil); v != Translated {
		t.Fatalf("Outbound = %v %v", v, r)
	}
	expect(t, f, ext1, 50001, rem1, 53)
	v, r, _ := n.Outbound(parse(t, udp4(t, c2, rem1, 1, 53)), e1, 0, nil)
	mustVerdict(t, "third", v, r, Dropped, "winnat-ports-exhausted")
	if !n.RemoveStaticMapping(header.ProtoUDP, e1, 50000) {
		t.Fatal("RemoveStaticMapping = false")
	}
	v, r, _ = n.Outbound(parse(t, udp4(t, c2, rem1, 1, 53)), e1, 0, nil)
	mustVerdict(t, "after removal", v, r, Translated, "")
}

func TestStaticSessionClash(t *testing.T) {
	// c1 talks from port 53 to rem1:53 (a dynamic session); then rem1:53
	// sends to the static mapping of c1:53. One flow cannot have two
	// sessions: dropped.
	n := newNAT(t)
	if err := n.AddStaticMapping(StaticMapping{Protocol: header.ProtoUDP, ExternalPort: 53, InternalAddr: netip.MustParseAddr(c1)}); err != nil {
		t.Fatal(err)
	}
	if v, r, _ := n.Outbound(parse(t, udp4(t, c1, rem1, 53, 53)), e1, 0, nil); v != Translated {
		t.Fatalf("Outbound = %v %v", v, r)
	}
	v, r, _ := n.Inbound(parse(t, udp4(t, rem1, ext1, 53, 53)), 0, nil)
	mustVerdict(t, "clashing inbound", v, r, Dropped, "winnat-no-mapping")
}
