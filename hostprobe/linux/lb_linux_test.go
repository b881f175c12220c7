package linux

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestLoadBalancer builds load balancers on a router namespace between a client on the
// "wire" and two backend namespaces, and checks with gopacket what the backends receive:
// DNAT to one of the backends with jhash affinity (every connection of a client to one
// backend) and SNAT to the SourceVIP; per connection spreading over both backends
// without SNAT (DSR); a pods frontend that wire traffic does not match; the host's own
// traffic translated in the output hook (LocalRoutedVIP); PreserveDIP (port only, routed
// to the backend by its mark); a frontend without backends dropping; and an update that
// sends new connections to the new backend while conntrack keeps the established one on
// the old.
func TestLoadBalancer(t *testing.T) {
	l := newTestLab(t)
	h, c, b1, b2 := newNS(t, l, "h"), newNS(t, l, "c"), newNS(t, l, "b1"), newNS(t, l, "b2")
	must(t, h.AddVeth("wan", c, "eth0"))
	must(t, h.AddVeth("v1", b1, "eth0"))
	must(t, h.AddVeth("v2", b2, "eth0"))
	must(t, h.AddAddr("wan", pfx("198.18.0.1/24")))
	must(t, h.AddAddr("v1", pfx("10.1.0.1/24")))
	must(t, h.AddAddr("v2", pfx("10.2.0.1/24")))
	must(t, c.AddAddr("eth0", pfx("198.18.0.10/24")))
	must(t, b1.AddAddr("eth0", pfx("10.1.0.2/24")))
	must(t, b2.AddAddr("eth0", pfx("10.2.0.2/24")))
	must(t, h.SetUp("wan", "v1", "v2"))
	for _, n := range []*Namespace{c, b1, b2} {
		must(t, n.SetUp("eth0"))
		// Silent: no RST closes a connection conntrack keeps.
		must(t, n.SetFilterPolicy(HookInput, Drop))
	}
	must(t, b1.AddRoute(Route{Dst: pfx("0.0.0.0/0"), Gw: addr("10.1.0.1")}))
	must(t, b2.AddRoute(Route{Dst: pfx("0.0.0.0/0"), Gw: addr("10.2.0.1")}))
	must(t, h.SetSysctl("net.ipv4.ip_forward", "1"))
	both := []netip.Addr{addr("10.1.0.2"), addr("10.2.0.2")}
	svc := func(backends ...netip.Addr) LoadBalancer {
		return LoadBalancer{Name: "svc", Frontends: []LBFrontend{{From: LBFromWire, Proto: ProtoTCP, VIP: addr("198.18.0.100"), Port: 80,
			Backends: backends, TargetPort: 8080, Dist: DistributeSourceIP, SNAT: addr("10.9.9.9"), SNATID: 1}}}
	}
	must(t, h.SetLoadBalancer(svc(both...)))
	must(t, h.SetLoadBalancer(LoadBalancer{Name: "spread", Frontends: []LBFrontend{
		{From: LBFromWire, Proto: ProtoTCP, VIP: addr("198.18.0.101"), Port: 80, Backends: both, TargetPort: 8081},
		{From: LBFromWire, Proto: ProtoTCP, VIP: addr("198.18.0.105"), Port: 80, TargetPort: 8081},
	}}))
	must(t, h.SetLoadBalancer(LoadBalancer{Name: "pods", Frontends: []LBFrontend{
		{From: LBFromPods, Proto: ProtoTCP, VIP: addr("198.18.0.102"), Port: 80, Backends: both[1:], TargetPort: 8082}}}))
	must(t, h.SetLoadBalancer(LoadBalancer{Name: "local", Frontends: []LBFrontend{
		{From: LBFromHost, Proto: ProtoTCP, VIP: addr("198.18.0.103"), Port: 80, Backends: both[1:], TargetPort: 8083}}}))
	must(t, h.SetLoadBalancer(LoadBalancer{Name: "preserve", Frontends: []LBFrontend{
		{From: LBFromWire, Proto: ProtoTCP, VIP: addr("198.18.0.104"), Port: 80, Backends: both[:1], TargetPort: 8084,
			PreserveDIP: true, Routes: []uint16{1}}}}))
	mark, mask := RouteMark(1)
	must(t, h.AddRoute(Route{Dst: pfx("0.0.0.0/0"), Gw: addr("10.1.0.2"), Dev: "v1", OnLink: true, Table: RouteTableBase}))
	must(t, h.AddRule(RulePlan{Mark: mark, Mask: mask, Table: RouteTableBase, Priority: 100}))
	must(t, h.RestoreRouteMarks())
	must(t, h.MarkWire(nil, []string{"wan"}))
	must(t, l.WaitReady(5*time.Second))

	capt, err := l.NewCapturer(CapturePoint{b1, "eth0"}, CapturePoint{b2, "eth0"}, CapturePoint{c, "eth0"})
	must(t, err)
	defer capt.Stop()
	injC, err := c.NewInjector("eth0")
	must(t, err)
	injB1, err := b1.NewInjector("eth0")
	must(t, err)
	ipH, err := h.NewIPInjector()
	must(t, err)
	macC, macWan, macB1, macV1 := mac(t, c, "eth0"), mac(t, h, "wan"), mac(t, b1, "eth0"), mac(t, h, "v1")
	syn := func(srcMAC, dstMAC net.HardwareAddr, src, dst string, sport uint16) []byte {
		eth, ip := ethIPv4(srcMAC, dstMAC, src, dst, layers.IPProtocolTCP)
		tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: 80, Seq: 1, SYN: true, Window: 8192}
		must(t, tcp.SetNetworkLayerForChecksum(ip))
		return serialize(t, eth, ip, tcp)
	}
	// got is what a backend received: TCP SYNs, by source port of the client's side.
	type seen struct {
		at           string
		src, dst     string
		sport, dport uint16
	}
	collect := func() map[uint16]seen {
		t.Helper()
		out := map[uint16]seen{}
		fs := drain(t, capt)
		for _, f := range ipv4Frames(fs) {
			p := decode(f.Data)
			ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if f.Dir != In || ip == nil || tcp == nil || !tcp.SYN || f.Point == "c/eth0" {
				continue
			}
			checkChecksums(t, p)
			out[uint16(tcp.SrcPort)] = seen{at: f.Point, src: ip.SrcIP.String(), dst: ip.DstIP.String(), sport: uint16(tcp.SrcPort),
				dport: uint16(tcp.DstPort)}
		}
		return out
	}
	const sb1, sb2 = "b1/eth0", "b2/eth0"
	backendAt := map[string]string{sb1: "10.1.0.2", sb2: "10.2.0.2"}

	// Affinity and SourceVIP.
	for sp := uint16(1000); sp < 1008; sp++ {
		must(t, injC.Inject(syn(macC, macWan, "198.18.0.10", "198.18.0.100", sp)))
	}
	got := collect()
	first := got[1000].at
	if first == "" {
		t.Fatalf("affinity: no SYN reached a backend: %+v", got)
	}
	for sp := uint16(1000); sp < 1008; sp++ {
		g := got[sp]
		if g.at != first || g.src != "10.9.9.9" || g.dst != backendAt[first] || g.dport != 8080 {
			t.Errorf("affinity, port %d: got %+v, want at %s from 10.9.9.9 to %s:8080 (one backend per client, SNAT to the SourceVIP)",
				sp, g, first, backendAt[first])
		}
	}

	// Per connection, no SNAT; and a frontend without backends.
	for sp := uint16(3000); sp < 3024; sp++ {
		must(t, injC.Inject(syn(macC, macWan, "198.18.0.10", "198.18.0.101", sp)))
	}
	must(t, injC.Inject(syn(macC, macWan, "198.18.0.10", "198.18.0.105", 3100)))
	got = collect()
	at := map[string]int{}
	for sp := uint16(3000); sp < 3024; sp++ {
		g := got[sp]
		at[g.at]++
		if g.src != "198.18.0.10" || g.dst != backendAt[g.at] || g.dport != 8081 {
			t.Errorf("per connection, port %d: got %+v, want from the client to the backend's :8081", sp, g)
		}
	}
	if at[sb1] == 0 || at[sb2] == 0 {
		t.Errorf("per connection: got %v, want both backends used by 24 connections", at)
	}
	if g, ok := got[3100]; ok {
		t.Errorf("frontend without backends: got %+v, want nothing", g)
	}

	// Pods: from a backend (not the wire) it translates, from the wire it does not.
	must(t, injB1.Inject(syn(macB1, macV1, "10.1.0.2", "198.18.0.102", 4000)))
	must(t, injC.Inject(syn(macC, macWan, "198.18.0.10", "198.18.0.102", 4001)))
	// The host itself: LocalRoutedVIP in the output hook.
	eth, ip := ethIPv4(macWan, macWan, "198.18.0.1", "198.18.0.103", layers.IPProtocolTCP)
	tcp := &layers.TCP{SrcPort: 4002, DstPort: 80, Seq: 1, SYN: true, Window: 8192}
	must(t, tcp.SetNetworkLayerForChecksum(ip))
	// Without the Ethernet padding: a raw socket takes every byte for the packet.
	must(t, ipH.Inject(ipPacket(serialize(t, eth, ip, tcp)[14:], EtherTypeIPv4)))
	// PreserveDIP: the port only, routed to b1.
	must(t, injC.Inject(syn(macC, macWan, "198.18.0.10", "198.18.0.104", 4003)))
	got = collect()
	for _, tt := range []struct {
		sport uint16
		want  seen
	}{
		{4000, seen{at: sb2, src: "10.1.0.2", dst: "10.2.0.2", dport: 8082}},
		{4002, seen{at: sb2, src: "198.18.0.1", dst: "10.2.0.2", dport: 8083}},
		{4003, seen{at: sb1, src: "198.18.0.10", dst: "198.18.0.104", dport: 8084}},
	} {
		g := got[tt.sport]
		g.sport, tt.want.sport = 0, 0
		if g != tt.want {
			t.Errorf("port %d: got %+v, want %+v", tt.sport, g, tt.want)
		}
	}
	if g, ok := got[4001]; ok {
		t.Errorf("pods frontend from the wire: got %+v, want it untranslated (nothing at a backend)", g)
	}
	// The PreserveDIP backend's reply goes back to the client (not to the backend's
	// route), from the VIP's port.
	eth, ip = ethIPv4(macB1, macV1, "198.18.0.104", "198.18.0.10", layers.IPProtocolTCP)
	tcp = &layers.TCP{SrcPort: 8084, DstPort: 4003, Seq: 9, Ack: 2, SYN: true, ACK: true, Window: 8192}
	must(t, tcp.SetNetworkLayerForChecksum(ip))
	must(t, injB1.Inject(serialize(t, eth, ip, tcp)))
	var replies []Frame
	for _, f := range ipv4Frames(drain(t, capt).On("c/eth0")) {
		if p := decode(f.Data); f.Dir == In && p.Layer(layers.LayerTypeTCP) != nil {
			replies = append(replies, f)
		}
	}
	expectSeq(t, "c/eth0 (tcp)", replies, []step{{In, "PreserveDIP reply", func(t *testing.T, p gopacket.Packet) {
		t.Helper()
		ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ip.SrcIP.Equal(ip4("198.18.0.104")) || tcp.SrcPort != 80 || !ip.DstIP.Equal(ip4("198.18.0.10")) || tcp.DstPort != 4003 {
			t.Errorf("got %v:%d -> %v:%d, want 198.18.0.104:80 -> 198.18.0.10:4003", ip.SrcIP, tcp.SrcPort, ip.DstIP, tcp.DstPort)
		}
		checkChecksums(t, p)
	}}})

	// Update: the other backend only. The client's connection on port 1000 (conntrack
	// has it) stays where it was; a new connection goes to the new backend.
	other := both[1]
	if first == sb2 {
		other = both[0]
	}
	must(t, h.SetLoadBalancer(svc(other)))
	must(t, injC.Inject(syn(macC, macWan, "198.18.0.10", "198.18.0.100", 1000)))
	must(t, injC.Inject(syn(macC, macWan, "198.18.0.10", "198.18.0.100", 5000)))
	got = collect()
	if g := got[1000]; g.at != first || g.dst != backendAt[first] {
		t.Errorf("established connection after the update: got %+v, want still at %s", g, first)
	}
	if g := got[5000]; g.dst != other.String() || g.src != "10.9.9.9" {
		t.Errorf("new connection after the update: got %+v, want to %s from 10.9.9.9", g, other)
	}
	// The update replaced the SNAT rule too: its counter holds the new connection only.
	ctr, err := h.Counter("lbs-svc")
	must(t, err)
	if ctr.Packets != 1 {
		t.Errorf("SNAT rule counter: got %+v, want 1 packet (the connection after the update)", ctr)
	}
}

// TestLoadBalancerErrors checks that bad frontends are refused with the reason.
func TestLoadBalancerErrors(t *testing.T) {
	l := newTestLab(t)
	h := newNS(t, l, "h")
	ok := LBFrontend{From: LBFromPods, Proto: ProtoTCP, VIP: addr("10.96.0.1"), Port: 80, Backends: []netip.Addr{addr("10.1.0.2")}, TargetPort: 8080}
	for _, tt := range []struct {
		name string
		lb   LoadBalancer
	}{
		{"no name", LoadBalancer{Frontends: []LBFrontend{ok}}},
		{"icmp", LoadBalancer{Name: "x", Frontends: []LBFrontend{func() LBFrontend { f := ok; f.Proto = ProtoICMP; return f }()}}},
		{"no port", LoadBalancer{Name: "x", Frontends: []LBFrontend{func() LBFrontend { f := ok; f.Port = 0; return f }()}}},
		{"mixed families", LoadBalancer{Name: "x", Frontends: []LBFrontend{func() LBFrontend {
			f := ok
			f.Backends = []netip.Addr{addr("fd00::2")}
			return f
		}()}}},
		{"preserve without routes", LoadBalancer{Name: "x", Frontends: []LBFrontend{func() LBFrontend { f := ok; f.PreserveDIP = true; return f }()}}},
		{"snat without id", LoadBalancer{Name: "x", Frontends: []LBFrontend{func() LBFrontend { f := ok; f.SNAT = addr("10.9.9.9"); return f }()}}},
		{"unknown source", LoadBalancer{Name: "x", Frontends: []LBFrontend{func() LBFrontend { f := ok; f.From = 9; return f }()}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := h.SetLoadBalancer(tt.lb); err == nil {
				t.Errorf("got nil error")
			}
		})
	}
	if err := h.MarkWire([]string{"bad/name"}, nil); err == nil {
		t.Errorf("MarkWire with a bad interface name: got nil error")
	}
	if err := h.AddRule(RulePlan{Table: RouteTableBase}); err == nil {
		t.Errorf("a rule that matches everything: got nil error")
	}
}
