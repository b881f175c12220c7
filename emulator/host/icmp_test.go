package host

import (
	"net/netip"
	"testing"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/vswitch"
	"github.com/hnspath/hnspath/emulator/winnat"
)

var (
	vnicMAC = header.MAC{0x00, 0x15, 0x5d, 0xaa, 0, 1}
	webMAC  = header.MAC{0x00, 0x15, 0x5d, 0xaa, 0, 2}
	web2MAC = header.MAC{0x00, 0x15, 0x5d, 0xaa, 0, 3}
)

// natHost returns a nat-network host: eth0 10.0.0.4/24 (MTU mtu) with a
// default route via 10.0.0.1, the internal switch with the gateway vNIC
// 172.16.0.1/16 and containers web (172.16.0.2, UDP 5353 published to 53)
// and web2 (172.16.0.3), and WinNAT between them.
func natHost(t *testing.T, mtu int) (h *Host, web, web2 int) {
	t.Helper()
	h = routerHost(t, mtu)
	si, err := h.AddSwitch("nat", vswitch.Internal, "")
	if err != nil {
		t.Fatal(err)
	}
	ifi, err := h.AddHostVNIC(si, "vEthernet (nat)", vnicMAC, 1500, []netip.Prefix{netip.MustParsePrefix("172.16.0.1/16")})
	if err != nil {
		t.Fatal(err)
	}
	h.Stack.SetForwarding(ifi, true)
	web, err = h.AddEndpoint(si, "web", webMAC, []netip.Addr{netip.MustParseAddr("172.16.0.2")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	web2, err = h.AddEndpoint(si, "web2", web2MAC, []netip.Addr{netip.MustParseAddr("172.16.0.3")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.Stack.AddNeighbor(netip.MustParseAddr("172.16.0.2"), webMAC)
	h.Stack.AddNeighbor(netip.MustParseAddr("172.16.0.3"), web2MAC)
	n, err := winnat.New(winnat.Config{Host: "h", InternalPrefix: netip.MustParsePrefix("172.16.0.0/16"),
		ExternalAddrs: []netip.Addr{netip.MustParseAddr("10.0.0.4"), netip.MustParseAddr("10.1.0.4")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.AddStaticMapping(winnat.StaticMapping{Protocol: header.ProtoUDP, ExternalPort: 5353, InternalAddr: netip.MustParseAddr("172.16.0.2"), InternalPort: 53}); err != nil {
		t.Fatal(err)
	}
	h.SetNAT(n, ifi)
	return h, web, web2
}

// send injects frame f from endpoint ei and returns what came out.
func send(t *testing.T, h *Host, ei int, f []byte) *Outbox {
	t.Helper()
	out := &Outbox{Pool: &packet.Pool{}, Hops: 64}
	b := out.Pool.Get()
	if !b.Set(f) {
		t.Fatal("frame too big for a buffer")
	}
	h.InjectEndpoint(ei, b, out)
	return out
}

// TestICMPErrorToOriginator checks that the ICMP errors the host generates
// about packets WinNAT translates go to the host that sent the packet, from
// the host's address toward it, and quote the packet as it was sent (RFC
// 1812 §4.3.2.4 and §5.3.1; RFC 1191; RFC 5508 §4 REQ-2), whichever way
// WinNAT translated it: inbound (a published port), hairpin, outbound.
func TestICMPErrorToOriginator(t *testing.T) {
	a := netip.MustParseAddr
	type tc struct {
		name     string
		mtu      int
		from     int // endpoint, or -1 for the wire at eth0
		f        []byte
		at       int // the endpoint the error is delivered to, or -1 for the wire
		src, dst netip.Addr
		typ      uint8
		mtuField uint16
	}
	tests := []tc{
		{"inbound TTL 1 to a published port", 1500, -1, udp4p(nicMAC, peerMAC, a("10.0.0.99"), a("10.0.0.4"), 40000, 5353, 1, 0, 40),
			-1, a("10.0.0.4"), a("10.0.0.99"), header.ICMPv4TimeExceeded, 0},
		{"hairpin TTL 1 to a published port", 1500, 2, udp4p(vnicMAC, web2MAC, a("172.16.0.3"), a("10.0.0.4"), 41000, 5353, 1, 0, 40),
			2, a("172.16.0.1"), a("172.16.0.3"), header.ICMPv4TimeExceeded, 0},
		{"outbound DF over the uplink MTU", 1400, 1, udp4p(vnicMAC, webMAC, a("172.16.0.2"), a("198.18.0.10"), 40000, 9000, 64, header.IPv4FlagDontFragment, 1450),
			1, a("172.16.0.1"), a("172.16.0.2"), header.ICMPv4DstUnreachable, 1400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _, _ := natHost(t, tt.mtu)
			sent := append([]byte(nil), tt.f[header.EthernetMinimumSize:header.EthernetMinimumSize+header.IPv4MinimumSize+8]...)
			var out *Outbox
			if tt.from < 0 {
				out = receive(t, h, 0, tt.f)
			} else {
				out = send(t, h, tt.from, tt.f)
			}
			var got []byte
			for _, e := range out.Emits {
				if (tt.at < 0 && e.Kind == Wire) || (tt.at > 0 && e.Kind == Deliver && e.Endpoint == tt.at) {
					got = e.Buf.Bytes()
				} else {
					t.Errorf("unexpected emit %+v: %x", e, e.Buf.Bytes())
				}
			}
			if got == nil {
				t.Fatalf("no ICMP error came out (drops %v)", reasons(out))
			}
			ip := header.IPv4(got[header.EthernetMinimumSize:])
			if ip.SrcAddr() != tt.src || ip.DstAddr() != tt.dst || ip.Protocol() != header.ProtoICMPv4 {
				t.Fatalf("error %s -> %s proto %d, want %s -> %s ICMP", ip.SrcAddr(), ip.DstAddr(), ip.Protocol(), tt.src, tt.dst)
			}
			m := header.ICMPv4(ip.Payload())
			if m.Type() != tt.typ {
				t.Errorf("ICMP type %d, want %d", m.Type(), tt.typ)
			}
			if tt.mtuField != 0 {
				if mtu := uint16(m[6])<<8 | uint16(m[7]); mtu != tt.mtuField {
					t.Errorf("next-hop MTU %d, want %d", mtu, tt.mtuField)
				}
			}
			if q := m.Payload(); string(q) != string(sent) {
				t.Errorf("quote\n %x\nwant what was sent\n %x", q, sent)
			}
			if len(out.Drops) != 1 || (out.Drops[0].Reason != drop.TTLExceeded && out.Drops[0].Reason != drop.MTUMismatch) {
				t.Errorf("drops %v, want one (ttl or mtu)", reasons(out))
			}
		})
	}
}
