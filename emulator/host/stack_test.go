package host

import (
	"net/netip"
	"testing"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

var (
	nicMAC    = header.MAC{0x00, 0x15, 0x5d, 0, 0, 4}
	routerMAC = header.MAC{0x02, 0, 0, 0, 0, 1}
	peerMAC   = header.MAC{0x02, 0, 0, 0, 0, 0x99}
)

// routerHost returns a host whose management OS owns eth0 (10.0.0.4/24,
// MTU mtu) and eth1 (10.1.0.4/24), forwards between them, and has a
// default route via 10.0.0.1: a Windows host with IP forwarding on.
func routerHost(t *testing.T, mtu int) *Host {
	t.Helper()
	h := New("h")
	if _, err := h.AddNIC("eth0", nicMAC, mtu, []netip.Prefix{netip.MustParsePrefix("10.0.0.4/24")}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.AddNIC("eth1", header.MAC{0x00, 0x15, 0x5d, 0, 1, 4}, 1500, []netip.Prefix{netip.MustParsePrefix("10.1.0.4/24")}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < h.Stack.Ifaces(); i++ {
		h.Stack.SetForwarding(i, true)
	}
	h.Stack.AddRoute(Route{Prefix: netip.MustParsePrefix("0.0.0.0/0"), NextHop: netip.MustParseAddr("10.0.0.1"), Iface: 0, Metric: 256})
	h.Stack.AddNeighbor(netip.MustParseAddr("10.0.0.1"), routerMAC)
	h.Stack.AddNeighbor(netip.MustParseAddr("10.1.0.9"), peerMAC)
	h.Stack.AddNeighbor(netip.MustParseAddr("10.0.0.99"), peerMAC)
	return h
}

// udp4 returns an Ethernet frame from peerMAC with an IPv4/UDP datagram
// 40000 -> 67 of total IP length size (at least 28).
func udp4(dst header.MAC, src, dstIP netip.Addr, ttl uint8, flags uint16, size int) []byte {
	return udp4p(dst, peerMAC, src, dstIP, 40000, 67, ttl, flags, size)
}

// udp4p is udp4 with the source MAC and the ports given.
func udp4p(dst, srcMAC header.MAC, src, dstIP netip.Addr, sport, dport uint16, ttl uint8, flags uint16, size int) []byte {
	f := make([]byte, header.EthernetMinimumSize+size)
	header.Ethernet(f).Encode(dst, srcMAC, header.EtherTypeIPv4)
	ip := header.IPv4(f[header.EthernetMinimumSize:])
	ip.Encode(&header.IPv4Fields{TotalLength: uint16(size), ID: 0x1234, Flags: flags, TTL: ttl, Protocol: header.ProtoUDP, Src: src.As4(), Dst: dstIP.As4()})
	u := f[header.EthernetMinimumSize+header.IPv4MinimumSize:]
	u[0], u[1], u[2], u[3] = byte(sport>>8), byte(sport), byte(dport>>8), byte(dport)
	u[4], u[5] = byte((size-20)>>8), byte(size-20)
	return f
}

// ipv6Frame returns an Ethernet frame with an IPv6 header and no payload
// (next header 59).
func ipv6Frame(dst header.MAC, src, dstIP netip.Addr) []byte {
	f := make([]byte, header.EthernetMinimumSize+40)
	header.Ethernet(f).Encode(dst, peerMAC, header.EtherTypeIPv6)
	ip := f[header.EthernetMinimumSize:]
	ip[0], ip[6], ip[7] = 0x60, 59, 255
	s, d := src.As16(), dstIP.As16()
	copy(ip[8:], s[:])
	copy(ip[24:], d[:])
	return f
}

// receive injects frame f at NIC ni from the wire and returns what came out.
func receive(t *testing.T, h *Host, ni int, f []byte) *Outbox {
	t.Helper()
	out := &Outbox{Pool: &packet.Pool{}, Hops: 64}
	b := out.Pool.Get()
	if !b.Set(f) {
		t.Fatal("frame too big for a buffer")
	}
	h.ReceiveWire(ni, b, out)
	return out
}

func reasons(out *Outbox) []drop.Reason {
	var r []drop.Reason
	for _, d := range out.Drops {
		r = append(r, d.Reason)
	}
	return r
}

// TestBroadcastNotForwarded checks that the management OS consumes IPv4
// broadcasts and never routes them (RFC 1812 §5.3.5.1: a limited broadcast
// is never forwarded; RFC 2644: directed broadcasts are not forwarded by
// default), and that a host without IPv6 takes IPv6 multicast for itself
// and drops IPv6 unicast as a host, not as a container network.
func TestBroadcastNotForwarded(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		name    string
		f       []byte
		deliver bool
		want    drop.Reason
	}{
		{"limited broadcast", udp4(header.BroadcastMAC, a("10.0.0.99"), a("255.255.255.255"), 64, 0, 28), false, drop.NoListener},
		{"own subnet broadcast", udp4(header.BroadcastMAC, a("10.0.0.99"), a("10.0.0.255"), 64, 0, 28), false, drop.NoListener},
		{"other interface's subnet broadcast", udp4(nicMAC, a("10.0.0.99"), a("10.1.0.255"), 64, 0, 28), false, drop.NoListener},
		{"multicast", udp4(header.MAC{0x01, 0, 0x5e, 0, 0, 0xfb}, a("10.0.0.99"), a("224.0.0.251"), 1, 0, 28), false, drop.NoListener},
		{"unicast through is routed", udp4(nicMAC, a("10.0.0.99"), a("10.1.0.9"), 64, 0, 28), false, drop.None},
		{"IPv6 multicast to the host", ipv6Frame(header.MAC{0x33, 0x33, 0, 0, 0, 1}, a("fe80::99"), a("ff02::1")), true, drop.None},
		{"IPv6 unicast, no IPv6 here", ipv6Frame(nicMAC, a("fd00::99"), a("fd00::4")), false, drop.NoRoute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := routerHost(t, 1500)
			out := receive(t, h, 0, tt.f)
			var wire, delivered int
			for _, e := range out.Emits {
				switch e.Kind {
				case Wire:
					wire++
					if tt.want != drop.None {
						t.Errorf("sent on the wire through NIC %d: broadcasts are never forwarded", e.NIC)
					}
				case Deliver:
					delivered++
				}
			}
			if tt.want == drop.None && !tt.deliver && wire != 1 {
				t.Errorf("got %d frames on the wire, want 1 (routed)", wire)
			}
			if tt.deliver != (delivered == 1) {
				t.Errorf("delivered %d times to the management OS, want deliver=%v", delivered, tt.deliver)
			}
			got := reasons(out)
			if tt.want == drop.None && len(got) != 0 || tt.want != drop.None && (len(got) != 1 || got[0] != tt.want) {
				t.Errorf("drops %v, want %v", got, tt.want)
			}
		})
	}
}
