package vfp

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/trace"
)

const (
	podIP  = "10.244.1.2"
	peerIP = "10.0.0.99"
	hostIP = "10.0.0.6"
	vipIP  = "10.96.0.10"
)

func udpOut(t testing.TB, dst string, sport, dport uint16) []byte {
	return emutest.UDP4(t, macPod, macGW, podIP, dst, sport, dport, []byte("hello"))
}

func oneLayer(name string, stateful, defAllow bool, groups ...*Group) *Layer {
	return &Layer{Name: name, FriendlyName: name, Priority: 100, Stateful: stateful, DefaultAllow: defAllow, Groups: groups}
}

func outGroup(name string, prio uint32, rules ...*Rule) *Group {
	return &Group{Name: name, Priority: prio, Direction: Out, Rules: rules}
}

func inGroup(name string, prio uint32, rules ...*Rule) *Group {
	return &Group{Name: name, Priority: prio, Direction: In, Rules: rules}
}

func allow(name string, prio uint32, c Conditions) *Rule {
	return &Rule{Name: name, Priority: prio, Conditions: c, Action: Action{Type: ActionAllow}}
}

func block(name string, prio uint32, c Conditions) *Rule {
	return &Rule{Name: name, Priority: prio, Terminating: true, Conditions: c, Action: Action{Type: ActionBlock}}
}

func terminating(r *Rule) *Rule { r.Terminating = true; return r }

// TestRuleSemantics covers priority, terminating, last-group-wins, LPM,
// group conditions, direction and family, and layer defaults.
func TestRuleSemantics(t *testing.T) {
	peer := Conditions{DstIP: prefixes(peerIP + "/32")}
	tests := []struct {
		name       string
		layer      func() *Layer
		frame      []byte
		wantV      Verdict
		wantReason drop.Reason
		wantRule   string
	}{
		{"smallest priority value wins in a group", func() *Layer {
			return oneLayer("L", false, true, outGroup("G", 1, allow("allow-all", 100, Conditions{}), block("blk", 1, peer)))
		}, udpOut(t, peerIP, 40000, 80), Drop, drop.VFPBlock, "blk"},
		{"insertion order does not matter", func() *Layer {
			return oneLayer("L", false, true, outGroup("G", 1, block("blk", 200, peer), allow("allow", 100, Conditions{})))
		}, udpOut(t, peerIP, 40000, 80), Pass, drop.None, ""},
		{"the last matching group decides", func() *Layer {
			return oneLayer("L", false, true, outGroup("G1", 1, allow("a", 1, Conditions{})), outGroup("G2", 2, block("b", 1, peer)))
		}, udpOut(t, peerIP, 40000, 80), Drop, drop.VFPBlock, "b"},
		{"groups run by priority, not insertion", func() *Layer {
			return oneLayer("L", false, true, outGroup("G2", 2, block("b", 1, peer)), outGroup("G1", 1, allow("a", 1, Conditions{})))
		}, udpOut(t, peerIP, 40000, 80), Drop, drop.VFPBlock, "b"},
		{"a terminating rule stops the layer", func() *Layer {
			return oneLayer("L", false, true, outGroup("G1", 1, terminating(allow("a", 1, Conditions{}))), outGroup("G2", 2, block("b", 1, peer)))
		}, udpOut(t, peerIP, 40000, 80), Pass, drop.None, ""},
		{"a group whose conditions fail is skipped", func() *Layer {
			g := outGroup("DNS", 1, block("b", 1, Conditions{}))
			g.Conditions = Conditions{DstPort: []PortRange{SinglePort(53)}}
			return oneLayer("L", false, true, g)
		}, udpOut(t, peerIP, 40000, 80), Pass, drop.None, ""},
		{"LPM: the longest prefix wins over priority", func() *Layer {
			g := outGroup("ROUTES", 1, block("wide", 1, Conditions{DstIP: prefixes("10.0.0.0/8")}), allow("narrow", 100, Conditions{DstIP: prefixes("10.0.0.0/24")}))
			g.LPM = true
			return oneLayer("L", false, true, g)
		}, udpOut(t, peerIP, 40000, 80), Pass, drop.None, ""},
		{"LPM: a shorter prefix applies outside the longer", func() *Layer {
			g := outGroup("ROUTES", 1, block("wide", 1, Conditions{DstIP: prefixes("10.0.0.0/8")}), allow("narrow", 100, Conditions{DstIP: prefixes("10.0.0.0/24")}))
			g.LPM = true
			return oneLayer("L", false, true, g)
		}, udpOut(t, "10.1.0.1", 40000, 80), Drop, drop.VFPBlock, "wide"},
		{"layer default block", func() *Layer {
			return oneLayer("L", false, false, outGroup("G", 1, allow("dns", 1, Conditions{DstPort: []PortRange{SinglePort(53)}})))
		}, udpOut(t, peerIP, 40000, 80), Drop, drop.VFPDefaultBlock, ""},
		{"inbound groups do not see outbound packets", func() *Layer {
			return oneLayer("L", false, true, inGroup("IN", 1, block("b", 1, Conditions{})))
		}, udpOut(t, peerIP, 40000, 80), Pass, drop.None, ""},
		{"IPv6 groups do not see IPv4 packets", func() *Layer {
			g := outGroup("V6", 1, block("b", 1, Conditions{}))
			g.IPv6 = true
			return oneLayer("L", false, true, g)
		}, udpOut(t, peerIP, 40000, 80), Pass, drop.None, ""},
		{"block with an explicit reason", func() *Layer {
			r := block("icmp", 1, Conditions{Protocols: []uint8{header.ProtoICMPv4}})
			r.Action.Reason = drop.NoICMPTransposition
			return oneLayer("L", false, true, outGroup("G", 1, r))
		}, emutest.Echo4(t, macPod, macGW, podIP, peerIP, 7, 1, false), Drop, drop.NoICMPTransposition, "icmp"},
		{"port conditions need TCP or UDP", func() *Layer {
			return oneLayer("L", false, true, outGroup("G", 1, block("b", 1, Conditions{DstPort: []PortRange{{0, 65535}}})))
		}, emutest.Echo4(t, macPod, macGW, podIP, peerIP, 7, 1, false), Pass, drop.None, ""},
		{"protocol and port conditions are ANDed", func() *Layer {
			return oneLayer("L", false, true, outGroup("G", 1, block("tcp443", 1, Conditions{Protocols: []uint8{6}, DstPort: []PortRange{SinglePort(443)}})))
		}, udpOut(t, peerIP, 40000, 443), Pass, drop.None, ""},
		{"values of one field are ORed", func() *Layer {
			return oneLayer("L", false, true, outGroup("G", 1, block("b", 1, Conditions{DstPort: []PortRange{SinglePort(53), SinglePort(443)}})))
		}, udpOut(t, peerIP, 40000, 443), Drop, drop.VFPBlock, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPort(t, PortOptions{}, tt.layer())
			for i := 0; i < 2; i++ { // slow path, then the cached decision
				res, _ := runResult(p, Out, tt.frame, int64(i)*sec)
				v, r := res.Verdict, res.Reason
				if v != tt.wantV || r != tt.wantReason {
					t.Fatalf("packet %d: got %v %v, want %v %v", i+1, v, r, tt.wantV, tt.wantReason)
				}
				if v == Drop {
					d := res.Drop()
					if d.Layer != "L" || d.Rule != tt.wantRule || d.Reason != tt.wantReason {
						t.Errorf("packet %d: drop = %+v, want layer L rule %q reason %v", i+1, d, tt.wantRule, tt.wantReason)
					}
				}
			}
			if c := p.Counters().Out; c.FlowHits != 1 || c.FlowMisses != 1 {
				t.Errorf("flow hits/misses = %d/%d, want 1/1", c.FlowHits, c.FlowMisses)
			}
		})
	}
}

// TestLayerOrder checks that outbound packets walk layers by ascending
// priority and inbound by descending, each seeing the previous rewrite.
func TestLayerOrder(t *testing.T) {
	mk := func(natPrio uint32) *Port {
		nat := &Layer{Name: "NAT", Priority: natPrio, DefaultAllow: true, Groups: []*Group{
			outGroup("NAT_OUT", 1, &Rule{Name: "dnat", Priority: 1, Conditions: Conditions{DstIP: prefixes(vipIP + "/32")},
				Action: Action{Type: ActionNAT, NAT: NATParams{DstIP: addr("10.244.2.5")}}}),
			inGroup("NAT_IN", 1, &Rule{Name: "rewrite-src", Priority: 1, Conditions: Conditions{SrcIP: prefixes("10.0.0.50/32")},
				Action: Action{Type: ActionNAT, NAT: NATParams{SrcIP: addr("10.0.0.51")}}}),
		}}
		acl := &Layer{Name: "ACL", Priority: 200, DefaultAllow: true, Groups: []*Group{
			outGroup("ACL_OUT", 1, block("block-dip", 1, Conditions{DstIP: prefixes("10.244.2.5/32")})),
			inGroup("ACL_IN", 1, block("block-51", 1, Conditions{SrcIP: prefixes("10.0.0.51/32")})),
		}}
		return newPort(t, PortOptions{}, nat, acl)
	}
	in := emutest.UDP4(t, macGW, macPod, "10.0.0.50", podIP, 53, 40000, []byte("x"))
	tests := []struct {
		name     string
		natPrio  uint32
		dir      Direction
		frame    []byte
		want     Verdict
		wantRule string
	}{
		{"out: NAT (100) runs before ACL (200) and ACL sees the DIP", 100, Out, udpOut(t, vipIP, 40000, 80), Drop, "block-dip"},
		{"out: with NAT after ACL the ACL sees the VIP", 300, Out, udpOut(t, vipIP, 40000, 80), Pass, ""},
		{"in: ACL (200) runs first and sees the original source", 100, In, in, Pass, ""},
		{"in: NAT (300) runs first and ACL sees the rewritten source", 300, In, in, Drop, "block-51"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mk(tt.natPrio)
			res, _ := runResult(p, tt.dir, tt.frame, 0)
			v := res.Verdict
			if v != tt.want {
				t.Fatalf("got %v, want %v", v, tt.want)
			}
			if v == Drop && res.Drop().Rule != tt.wantRule {
				t.Errorf("dropped by %q, want %q", res.Drop().Rule, tt.wantRule)
			}
		})
	}
	names := []string{}
	for _, l := range mk(300).Layers() {
		names = append(names, l.Name)
	}
	if got, want := names, []string{"ACL", "NAT"}; !equalStrings(got, want) {
		t.Errorf("Layers() = %v, want %v (by priority)", got, want)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// aclLayer is a stateful default-block layer that allows outbound TCP and
// UDP to port 80 with a stateful rule.
func aclLayer(stateful bool, ttl time.Duration) *Layer {
	r := &Rule{Name: "allow-80", Priority: 100, Terminating: true, Stateful: true, FlowTTL: ttl,
		Conditions: Conditions{DstPort: []PortRange{SinglePort(80)}}, Action: Action{Type: ActionAllow}}
	return &Layer{Name: "ACL_ENDPOINT_LAYER", Priority: 100, Stateful: stateful, DefaultAllow: false,
		Groups: []*Group{outGroup("ACL_ENDPOINT_GROUP_IPV4_OUT", 1, r), inGroup("ACL_ENDPOINT_GROUP_IPV4_IN", 1)}}
}

// TestStatefulFlowPair checks that an allowed outbound flow lets its
// replies in without an inbound rule, only in a stateful layer, and only
// until the flow's TTL.
func TestStatefulFlowPair(t *testing.T) {
	req := udpOut(t, peerIP, 40000, 80)
	reply := emutest.UDP4(t, macGW, macPod, peerIP, podIP, 80, 40000, []byte("re"))
	other := emutest.UDP4(t, macGW, macPod, peerIP, podIP, 81, 40000, []byte("re"))
	tests := []struct {
		name     string
		stateful bool
		steps    []struct {
			dir   Direction
			frame []byte
			at    int64
			want  Verdict
		}
	}{
		{"stateful: reply allowed by the flow pair", true, []struct {
			dir   Direction
			frame []byte
			at    int64
			want  Verdict
		}{
			{In, reply, 0, Drop}, // no flow yet
			{Out, req, 1 * sec, Pass},
			{In, reply, 2 * sec, Pass},
			{In, reply, 3 * sec, Pass},
			{In, other, 4 * sec, Drop},
			{In, reply, 12 * sec, Pass}, // idle 9 s < TTL 10 s
			{In, reply, 23 * sec, Drop}, // idle 11 s > TTL 10 s
		}},
		{"stateless: no flow pair, reply dropped", false, []struct {
			dir   Direction
			frame []byte
			at    int64
			want  Verdict
		}{
			{Out, req, 1 * sec, Pass},
			{In, reply, 2 * sec, Drop},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPort(t, PortOptions{}, aclLayer(tt.stateful, 10*time.Second))
			for i, s := range tt.steps {
				v, r, _ := run(p, s.dir, s.frame, s.at)
				if v != s.want {
					t.Fatalf("step %d (%v at %ds): got %v (%v), want %v", i, s.dir, s.at/sec, v, r, s.want)
				}
				if v == Drop && r != drop.VFPDefaultBlock {
					t.Errorf("step %d: reason %v, want %v", i, r, drop.VFPDefaultBlock)
				}
			}
		})
	}
}

func snatLayer(lo, hi uint16, ttl time.Duration, mss [2]uint16) *Layer {
	r := &Rule{Name: "SNAT_UDP_OUTBOUNDNAT", FriendlyName: "SNAT_UDP_OUTBOUNDNAT", Priority: 100, Terminating: true, Stateful: true,
		FlowTTL: ttl, Conditions: Conditions{DstIP: prefixes("10.0.0.0/8")},
		Action: Action{Type: ActionDynNAT, Pool: NATPool{Name: "SLB_NATPOOL_IPV4", IP: addr(hostIP), Lo: lo, Hi: hi}, MSSDelta: mss}}
	return &Layer{Name: "SLB_NAT_LAYER", Priority: 200, Stateful: true, DefaultAllow: true,
		Groups: []*Group{outGroup("SLB_GROUP_NAT_IPv4_OUT", 1, r)}}
}

// TestDynNAT checks source NAT from a pool: endpoint-independent mapping,
// the reply translated back, exhaustion, and ports freed after the TTL.
func TestDynNAT(t *testing.T) {
	p := newPort(t, PortOptions{}, snatLayer(1024, 1025, 30*time.Second, [2]uint16{}))
	type step struct {
		name       string
		dir        Direction
		frame      []byte
		at         int64
		want       Verdict
		wantReason drop.Reason
		src, dst   string
		sport      uint16
		dport      uint16
	}
	steps := []step{
		{"first flow gets the pool's first port", Out, udpOut(t, peerIP, 40000, 80), 0, Pass, 0, hostIP, peerIP, 1024, 80},
		{"same source, other destination: same port (EIM)", Out, udpOut(t, "10.0.0.98", 40000, 53), 1 * sec, Pass, 0, hostIP, "10.0.0.98", 1024, 53},
		{"reply is translated back", In, emutest.UDP4(t, macGW, macHost, peerIP, hostIP, 80, 1024, []byte("r")), 2 * sec, Pass, 0, peerIP, podIP, 80, 40000},
		{"another source port gets the next port", Out, udpOut(t, peerIP, 40001, 80), 3 * sec, Pass, 0, hostIP, peerIP, 1025, 80},
		{"pool exhausted", Out, udpOut(t, peerIP, 40002, 80), 4 * sec, Drop, drop.LBPortsExhausted, "", "", 0, 0},
		{"exhaustion is not cached", Out, udpOut(t, peerIP, 40002, 80), 5 * sec, Drop, drop.LBPortsExhausted, "", "", 0, 0},
		{"after the TTL a port is free again", Out, udpOut(t, peerIP, 40002, 80), 40 * sec, Pass, 0, hostIP, peerIP, 1024, 80},
	}
	for _, s := range steps {
		res, out := runResult(p, s.dir, s.frame, s.at)
		v, r := res.Verdict, res.Reason
		if v != s.want || r != s.wantReason {
			t.Fatalf("%s: got %v %v, want %v %v", s.name, v, r, s.want, s.wantReason)
		}
		if v == Drop {
			if d := res.Drop(); d.Rule != "SNAT_UDP_OUTBOUNDNAT" || d.Layer != "SLB_NAT_LAYER" {
				t.Errorf("%s: drop = %+v, want the SNAT rule", s.name, d)
			}
			continue
		}
		d := emutest.Decode(t, out)
		if d.IPv4 == nil || d.UDP == nil {
			t.Fatalf("%s: output does not decode as IPv4/UDP", s.name)
		}
		if got := d.IPv4.SrcIP.String(); got != s.src {
			t.Errorf("%s: src IP = %s, want %s", s.name, got, s.src)
		}
		if got := d.IPv4.DstIP.String(); got != s.dst {
			t.Errorf("%s: dst IP = %s, want %s", s.name, got, s.dst)
		}
		if uint16(d.UDP.SrcPort) != s.sport || uint16(d.UDP.DstPort) != s.dport {
			t.Errorf("%s: ports = %d -> %d, want %d -> %d", s.name, d.UDP.SrcPort, d.UDP.DstPort, s.sport, s.dport)
		}
		emutest.ChecksumsValid(t, out)
	}
}

func lbLayer(dist Distribution, backends []Backend, snat, preserve bool) *Layer {
	a := Action{Type: ActionLBNAT, LB: LBParams{Backends: backends, Distribution: dist, SNAT: snat, PreserveDIP: preserve}}
	if snat {
		a.Pool = NATPool{Name: "SLB_NATPOOL_SRCVIP", IP: addr("10.0.0.20"), Lo: 5000, Hi: 5100}
	}
	r := &Rule{Name: "LB_" + vipIP + "_80_8080_6", Priority: 100, Terminating: true, Stateful: true,
		Conditions: Conditions{Protocols: []uint8{6, 17}, DstIP: prefixes(vipIP + "/32"), DstPort: []PortRange{SinglePort(80)}}, Action: a}
	return &Layer{Name: "LB", Priority: 300, Stateful: true, DefaultAllow: true, Groups: []*Group{outGroup("LB_OUT_V4", 1, r)}}
}

var threeDIPs = []Backend{{Addr: addr("10.244.2.5"), Port: 8080}, {Addr: addr("10.244.2.6"), Port: 8080}, {Addr: addr("10.244.2.7"), Port: 8080}}

// lbSend sends one flow from client:sport to the VIP and returns the DIP.
func lbSend(t *testing.T, p *Port, client string, sport uint16, at int64) string {
	t.Helper()
	f := emutest.UDP4(t, macPod, macGW, client, vipIP, sport, 80, []byte("q"))
	v, r, out := run(p, Out, f, at)
	if v != Pass {
		t.Fatalf("%s:%d -> VIP: got %v %v, want pass", client, sport, v, r)
	}
	d := emutest.Decode(t, out)
	emutest.ChecksumsValid(t, out)
	if d.UDP.DstPort != 8080 {
		t.Errorf("dst port = %d, want 8080", d.UDP.DstPort)
	}
	return d.IPv4.DstIP.String()
}

// TestLBNATDistribution checks how connections spread over DIPs.
func TestLBNATDistribution(t *testing.T) {
	t.Run("per-connection spreads one client over every DIP", func(t *testing.T) {
		p := newPort(t, PortOptions{}, lbLayer(DistributePerConnection, threeDIPs, false, false))
		seen := map[string]int{}
		for i := 0; i < 60; i++ {
			seen[lbSend(t, p, podIP, uint16(40000+i), 0)]++
		}
		if len(seen) != 3 {
			t.Errorf("60 connections reached %d DIPs (%v), want 3", len(seen), seen)
		}
	})
	t.Run("source-ip keeps a client on one DIP", func(t *testing.T) {
		p := newPort(t, PortOptions{}, lbLayer(DistributeSourceIP, threeDIPs, false, false))
		clients := map[string]bool{}
		for c := 2; c < 32; c++ {
			client := netip.AddrFrom4([4]byte{10, 244, 1, byte(c)}).String()
			first := lbSend(t, p, client, 40000, 0)
			clients[first] = true
			for i := 1; i < 10; i++ {
				if got := lbSend(t, p, client, uint16(40000+i), 0); got != first {
					t.Fatalf("client %s: connection %d went to %s, first to %s", client, i, got, first)
				}
			}
		}
		if len(clients) < 2 {
			t.Errorf("30 clients all went to %v, want the clients spread", clients)
		}
	})
	t.Run("source-ip-protocol keeps a client's protocol on one DIP", func(t *testing.T) {
		p := newPort(t, PortOptions{}, lbLayer(DistributeSourceIPProtocol, threeDIPs, false, false))
		first := lbSend(t, p, podIP, 40000, 0)
		for i := 1; i < 20; i++ {
			if got := lbSend(t, p, podIP, uint16(40000+i), 0); got != first {
				t.Fatalf("connection %d went to %s, first to %s", i, got, first)
			}
		}
	})
}

// TestLBNATOptions checks the reply translation, source-VIP SNAT,
// PreserveDIP, and an LB without backends.
func TestLBNATOptions(t *testing.T) {
	t.Run("reply from the DIP comes from the VIP", func(t *testing.T) {
		p := newPort(t, PortOptions{}, lbLayer(DistributeSourceIP, threeDIPs[:1], false, false))
		lbSend(t, p, podIP, 40000, 0)
		reply := emutest.UDP4(t, macGW, macPod, "10.244.2.5", podIP, 8080, 40000, []byte("r"))
		v, _, out := run(p, In, reply, sec)
		if v != Pass {
			t.Fatalf("reply: got %v, want pass", v)
		}
		d := emutest.Decode(t, out)
		if d.IPv4.SrcIP.String() != vipIP || d.UDP.SrcPort != 80 {
			t.Errorf("reply source = %v:%d, want %s:80", d.IPv4.SrcIP, d.UDP.SrcPort, vipIP)
		}
		emutest.ChecksumsValid(t, out)
	})
	t.Run("SNAT to the source VIP", func(t *testing.T) {
		p := newPort(t, PortOptions{}, lbLayer(DistributeSourceIP, threeDIPs[:1], true, false))
		_, _, out := run(p, Out, udpOut(t, vipIP, 40000, 80), 0)
		d := emutest.Decode(t, out)
		if d.IPv4.SrcIP.String() != "10.0.0.20" || d.UDP.SrcPort != 5000 || d.IPv4.DstIP.String() != "10.244.2.5" {
			t.Errorf("got %v:%d -> %v, want 10.0.0.20:5000 -> 10.244.2.5", d.IPv4.SrcIP, d.UDP.SrcPort, d.IPv4.DstIP)
		}
		emutest.ChecksumsValid(t, out)
		reply := emutest.UDP4(t, macGW, macPod, "10.244.2.5", "10.0.0.20", 8080, 5000, []byte("r"))
		_, _, out = run(p, In, reply, sec)
		d = emutest.Decode(t, out)
		if d.IPv4.SrcIP.String() != vipIP || d.IPv4.DstIP.String() != podIP || d.UDP.DstPort != 40000 || d.UDP.SrcPort != 80 {
			t.Errorf("reply %v:%d -> %v:%d, want %s:80 -> %s:40000", d.IPv4.SrcIP, d.UDP.SrcPort, d.IPv4.DstIP, d.UDP.DstPort, vipIP, podIP)
		}
	})
	t.Run("PreserveDIP keeps the VIP as destination", func(t *testing.T) {
		p := newPort(t, PortOptions{}, lbLayer(DistributeSourceIP, threeDIPs[:1], false, true))
		_, _, out := run(p, Out, udpOut(t, vipIP, 40000, 80), 0)
		d := emutest.Decode(t, out)
		if d.IPv4.DstIP.String() != vipIP || d.UDP.DstPort != 8080 {
			t.Errorf("got %v:%d, want %s:8080", d.IPv4.DstIP, d.UDP.DstPort, vipIP)
		}
	})
	t.Run("no backend", func(t *testing.T) {
		p := newPort(t, PortOptions{}, lbLayer(DistributeSourceIP, nil, false, false))
		v, r, _ := run(p, Out, udpOut(t, vipIP, 40000, 80), 0)
		if v != Drop || r != drop.LBNoBackend {
			t.Errorf("got %v %v, want drop %v", v, r, drop.LBNoBackend)
		}
	})
}

// TestGenerationReevaluates checks lazy reconciliation: a removed backend
// is no longer used by the flows that had it, while a DynNAT mapping of
// an established flow survives an unrelated change.
func TestGenerationReevaluates(t *testing.T) {
	l := lbLayer(DistributeSourceIP, threeDIPs, false, false)
	p := newPort(t, PortOptions{}, l)
	first := lbSend(t, p, podIP, 40000, 0)
	if got := lbSend(t, p, podIP, 40000, sec); got != first {
		t.Fatalf("cached packet went to %s, first to %s", got, first)
	}
	var rest []Backend
	for _, b := range threeDIPs {
		if b.Addr.String() != first {
			rest = append(rest, b)
		}
	}
	g := l.Group("LB_OUT_V4")
	old := g.Rules[0]
	nr := &Rule{Name: old.Name, Priority: old.Priority, Terminating: true, Stateful: true, Conditions: old.Conditions, Action: old.Action}
	nr.Action.LB.Backends = rest
	gen := p.Generation()
	if err := g.ReplaceRule(nr); err != nil {
		t.Fatalf("ReplaceRule: %v", err)
	}
	if p.Generation() == gen {
		t.Fatalf("generation did not change")
	}
	stale := 0
	for _, u := range p.UnifiedFlows(2 * sec) {
		if u.Stale {
			stale++
		}
	}
	if stale == 0 {
		t.Errorf("no unified flow is stale after the change")
	}
	got := lbSend(t, p, podIP, 40000, 2*sec)
	if got == first {
		t.Errorf("after removing backend %s the flow still goes there", first)
	}

	// An unrelated change does not move an established SNAT flow.
	p2 := newPort(t, PortOptions{}, snatLayer(1024, 2000, 0, [2]uint16{}))
	_, _, a := run(p2, Out, udpOut(t, peerIP, 40000, 80), 0)
	_, _, b := run(p2, Out, udpOut(t, peerIP, 40001, 80), 0)
	if err := p2.Layer("SLB_NAT_LAYER").AddGroup(inGroup("OTHER", 5, allow("x", 1, Conditions{}))); err != nil {
		t.Fatal(err)
	}
	_, _, b2 := run(p2, Out, udpOut(t, peerIP, 40001, 80), sec)
	_, _, a2 := run(p2, Out, udpOut(t, peerIP, 40000, 80), sec)
	if !bytes.Equal(a, a2) || !bytes.Equal(b, b2) {
		t.Errorf("SNAT output changed after an unrelated policy change")
	}
}

func vnetEncapLayer(mtu int, df, clamp bool) *Layer {
	r := &Rule{Name: "ENCAP_10.244.2.0_24", Priority: 10, Terminating: true,
		Conditions: Conditions{DstIP: prefixes("10.244.2.0/24")},
		Action: Action{Type: ActionEncap, Encap: EncapParams{VNI: 4096, SrcMAC: mac(macHost), DstMAC: mac(macGW),
			SrcPA: addr(hostIP), DstPA: addr("10.0.0.7"), DF: df, InnerDstMAC: mac("00:15:5d:7b:82:55"), MTU: mtu, ClampMSS: clamp}}}
	return &Layer{Name: "VNET_ENCAP_LAYER", Priority: 1000, DefaultAllow: true,
		Groups: []*Group{outGroup("VNET_GROUP_ENCAP_IPV4_OUT", 1, r)}}
}

// TestEncapLayout decodes the encapsulated frame with gopacket layer by
// layer and checks every outer field and the inner frame.
func TestEncapLayout(t *testing.T) {
	p := newPort(t, PortOptions{}, vnetEncapLayer(1500, true, false))
	in := emutest.UDP4(t, macPod, macGW, podIP, "10.244.2.5", 40000, 80, []byte("payload"))
	wantInner := emutest.UDP4(t, macPod, "00:15:5d:7b:82:55", podIP, "10.244.2.5", 40000, 80, []byte("payload"))
	v, r, out := run(p, Out, in, 0)
	if v != Pass {
		t.Fatalf("got %v %v, want pass", v, r)
	}
	o := emutest.DecodeVXLAN4(t, out)
	checks := []struct {
		name      string
		got, want any
	}{
		{"outer src MAC", o.Eth.SrcMAC.String(), macHost},
		{"outer dst MAC", o.Eth.DstMAC.String(), macGW},
		{"outer src IP", o.IPv4.SrcIP.String(), hostIP},
		{"outer dst IP", o.IPv4.DstIP.String(), "10.0.0.7"},
		{"outer TTL", o.IPv4.TTL, uint8(64)},
		{"outer DF", o.IPv4.Flags, layers.IPv4DontFragment},
		{"outer IHL", o.IPv4.IHL, uint8(5)},
		{"outer total length", int(o.IPv4.Length), len(in) + 36},
		{"UDP dst port", uint16(o.UDP.DstPort), uint16(4789)},
		{"UDP length", int(o.UDP.Length), len(in) + 16},
		{"UDP checksum (zero, RFC 7348)", o.UDP.Checksum, uint16(0)},
		{"VXLAN I flag", o.VXLAN.ValidIDFlag, true},
		{"VXLAN flags byte", out[42], byte(0x08)},
		{"VNI", o.VXLAN.VNI, uint32(4096)},
		{"frame length", len(out), len(in) + 50},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if sp := uint16(o.UDP.SrcPort); sp < 49152 {
		t.Errorf("UDP src port = %d, want an entropy port in 49152-65535 (RFC 7348 section 5)", sp)
	}
	if !bytes.Equal(o.Inner, wantInner) {
		t.Errorf("inner frame = %x, want %x (only the inner dst MAC rewritten)", o.Inner, wantInner)
	}
	emutest.ChecksumsValid(t, out)

	// The cached path writes the same bytes; another inner flow gets
	// another entropy port.
	_, _, out2 := run(p, Out, in, sec)
	if !bytes.Equal(out, out2) {
		t.Errorf("cached encap differs from the first:\n%x\n%x", out2, out)
	}
	_, _, out3 := run(p, Out, emutest.UDP4(t, macPod, macGW, podIP, "10.244.2.5", 40001, 80, []byte("payload")), sec)
	if o3 := emutest.DecodeVXLAN4(t, out3); o3.UDP.SrcPort == o.UDP.SrcPort {
		t.Errorf("two inner flows share entropy port %d", o.UDP.SrcPort)
	}

	// Without DF the outer ID counts up.
	p2 := newPort(t, PortOptions{}, vnetEncapLayer(0, false, false))
	_, _, a := run(p2, Out, in, 0)
	_, _, b := run(p2, Out, in, 0)
	ida, idb := emutest.DecodeVXLAN4(t, a).IPv4.Id, emutest.DecodeVXLAN4(t, b).IPv4.Id
	if ida == idb || emutest.DecodeVXLAN4(t, a).IPv4.Flags != 0 {
		t.Errorf("outer IDs without DF = %d, %d; want distinct and no DF", ida, idb)
	}
	emutest.ChecksumsValid(t, b)
}

func vnetDecapLayer(vnis ...uint32) *Layer {
	r := &Rule{Name: "DECAP", Priority: 10, Terminating: true,
		Conditions: Conditions{Protocols: []uint8{17}, DstIP: prefixes(hostIP + "/32")},
		Action:     Action{Type: ActionDecap, Decap: DecapParams{VNI: vnis}}}
	return &Layer{Name: "VNET_DECAP_LAYER", Priority: 1000, DefaultAllow: true,
		Groups: []*Group{inGroup("VNET_GROUP_DECAP_IPV4_IN", 1, r)}}
}

// TestDecap checks that decapsulation pops the outer headers and checks
// the VNI, the VXLAN port and the I flag.
func TestDecap(t *testing.T) {
	inner := emutest.TCP4(t, "00:15:5d:7b:82:55", macPod, "10.244.2.5", podIP, 80, 40000, false, []byte("data"))
	good := emutest.VXLAN4(t, macGW, macHost, "10.0.0.7", hostIP, 51000, 4789, 4096, inner)
	noI := bytes.Clone(good)
	noI[42] = 0 // flags byte
	truncated := emutest.VXLAN4(t, macGW, macHost, "10.0.0.7", hostIP, 51000, 4789, 4096, inner[:20])
	tests := []struct {
		name   string
		frame  []byte
		want   Verdict
		reason drop.Reason
	}{
		{"matching VNI", good, Pass, 0},
		{"other VNI", emutest.VXLAN4(t, macGW, macHost, "10.0.0.7", hostIP, 51000, 4789, 4097, inner), Drop, drop.VSIDMismatch},
		{"not the VXLAN port", emutest.VXLAN4(t, macGW, macHost, "10.0.0.7", hostIP, 51000, 4790, 4096, inner), Drop, drop.VSIDMismatch},
		{"I flag clear", noI, Drop, drop.VSIDMismatch},
		{"inner frame invalid", truncated, Drop, drop.VFPInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPort(t, PortOptions{}, vnetDecapLayer(4096))
			for i := 0; i < 2; i++ {
				b, pp := load(tt.frame)
				res := p.Process(In, b, pp, int64(i)*sec, nil)
				v, r := res.Verdict, res.Reason
				if v != tt.want || r != tt.reason {
					t.Fatalf("packet %d: got %v %v, want %v %v", i+1, v, r, tt.want, tt.reason)
				}
				if v == Pass {
					if !bytes.Equal(b.Bytes(), inner) {
						t.Errorf("packet %d: decapsulated frame = %x, want the inner frame %x", i+1, b.Bytes(), inner)
					}
					if pp.Src != addr("10.244.2.5") || pp.DstPort != 40000 {
						t.Errorf("packet %d: Parsed not re-decoded: %v:%d", i+1, pp.Src, pp.DstPort)
					}
				}
			}
		})
	}
}

// TestMTUAndMSS checks the encap MTU drop (per packet, not per flow), the
// encap MSS clamp and a dynnat MSS delta.
func TestMTUAndMSS(t *testing.T) {
	p := newPort(t, PortOptions{}, vnetEncapLayer(1500, true, true))
	// Inner IP datagram of 1450 bytes fits (outer 1500); 1451 does not.
	fits := emutest.UDP4(t, macPod, macGW, podIP, "10.244.2.5", 40000, 80, make([]byte, 1450-28))
	big := emutest.UDP4(t, macPod, macGW, podIP, "10.244.2.5", 40000, 80, make([]byte, 1451-28))
	steps := []struct {
		frame []byte
		want  Verdict
	}{{big, Drop}, {fits, Pass}, {big, Drop}, {fits, Pass}}
	for i, s := range steps {
		res, out := runResult(p, Out, s.frame, int64(i)*sec)
		v, r := res.Verdict, res.Reason
		if v != s.want {
			t.Fatalf("packet %d (%d bytes): got %v %v, want %v", i+1, len(s.frame), v, r, s.want)
		}
		if v == Drop {
			if d := res.Drop(); r != drop.MTUMismatch || d.Rule != "ENCAP_10.244.2.0_24" {
				t.Errorf("packet %d: reason %v by %q, want %v by the encap rule", i+1, r, d.Rule, drop.MTUMismatch)
			}
		} else if got := emutest.DecodeVXLAN4(t, out).IPv4.Length; got != 1500 {
			t.Errorf("packet %d: outer length %d, want 1500", i+1, got)
		}
	}
	if c := p.Counters().Out; c.FlowMisses != 1 {
		t.Errorf("flow misses = %d, want 1 (the MTU drop does not stop the flow being cached)", c.FlowMisses)
	}

	syn := emutest.TCP4(t, macPod, macGW, podIP, "10.244.2.5", 40000, 443, true, nil) // MSS 1460
	_, _, out := run(p, Out, syn, 0)
	o := emutest.DecodeVXLAN4(t, out)
	d := emutest.Decode(t, o.Inner)
	if got := mssOf(d.TCP); got != 1410 {
		t.Errorf("clamped MSS = %d, want 1410 (1500 - 40 - 50)", got)
	}
	emutest.ChecksumsValid(t, out)

	ps := newPort(t, PortOptions{}, snatLayer(1024, 2000, 0, [2]uint16{50, 0}))
	_, _, out = run(ps, Out, emutest.TCP4(t, macPod, macGW, podIP, peerIP, 40000, 443, true, nil), 0)
	d = emutest.Decode(t, out)
	if got := mssOf(d.TCP); got != 1410 {
		t.Errorf("MSS after delta 50 = %d, want 1410", got)
	}
	emutest.ChecksumsValid(t, out)
}

func mssOf(tcp *layers.TCP) int {
	if tcp == nil {
		return -1
	}
	for _, o := range tcp.Options {
		if o.OptionType == layers.TCPOptionKindMSS && len(o.OptionData) == 2 {
			return int(o.OptionData[0])<<8 | int(o.OptionData[1])
		}
	}
	return -1
}

// TestL2BridgeMACRewrite checks the l2bridge rewrite: egress source MAC to
// the host's, ingress destination MAC back to the container's; nothing
// else changes.
func TestL2BridgeMACRewrite(t *testing.T) {
	l := &Layer{Name: "L2_REWRITE", Priority: 75, DefaultAllow: true, Groups: []*Group{
		outGroup("L2_OUT", 1, &Rule{Name: "src-to-host", Priority: 1, Conditions: Conditions{SrcMAC: []header.MAC{mac(macPod)}},
			Action: Action{Type: ActionMACRewrite, MAC: MACParams{SrcMAC: mac(macHost)}}}),
		inGroup("L2_IN", 1, &Rule{Name: "dst-to-pod", Priority: 1, Conditions: Conditions{DstIP: prefixes(podIP + "/32")},
			Action: Action{Type: ActionMACRewrite, MAC: MACParams{DstMAC: mac(macPod)}}}),
	}}
	p := newPort(t, PortOptions{}, l)
	out := udpOut(t, peerIP, 40000, 80)
	want := emutest.UDP4(t, macHost, macGW, podIP, peerIP, 40000, 80, []byte("hello"))
	for i := 0; i < 2; i++ {
		if _, _, got := run(p, Out, out, 0); !bytes.Equal(got, want) {
			t.Errorf("egress %d = %x, want %x", i, got, want)
		}
	}
	in := emutest.UDP4(t, macGW, macHost, peerIP, podIP, 80, 40000, []byte("re"))
	want = emutest.UDP4(t, macGW, macPod, peerIP, podIP, 80, 40000, []byte("re"))
	if _, _, got := run(p, In, in, 0); !bytes.Equal(got, want) {
		t.Errorf("ingress = %x, want %x", got, want)
	}
}

// TestCachedDropAndCounters checks that drops are cached with their rule,
// and the rule and port counters.
func TestCachedDropAndCounters(t *testing.T) {
	blk := block("Block_LoopBack", 1, Conditions{DstIP: prefixes(peerIP + "/32"), DstPort: []PortRange{SinglePort(443)}})
	alw := terminating(allow("allow", 100, Conditions{}))
	p := newPort(t, PortOptions{}, oneLayer("SNAT", false, true, outGroup("G", 1, blk, alw)))
	f443 := udpOut(t, peerIP, 40000, 443)
	f80 := udpOut(t, peerIP, 40000, 80)
	for i := 0; i < 3; i++ {
		if v, _, _ := run(p, Out, f443, 0); v != Drop {
			t.Fatalf("443 packet %d: got %v, want drop", i+1, v)
		}
	}
	for i := 0; i < 2; i++ {
		if v, _, _ := run(p, Out, f80, 0); v != Pass {
			t.Fatalf("80 packet %d: got %v, want pass", i+1, v)
		}
	}
	run(p, In, udpOut(t, peerIP, 1, 2), 0)
	if got, want := blk.Counters(), (RuleCounters{Matched: 3, Dropped: 3}); got != want {
		t.Errorf("block rule counters = %+v, want %+v", got, want)
	}
	if got, want := alw.Counters(), (RuleCounters{Matched: 2}); got != want {
		t.Errorf("allow rule counters = %+v, want %+v", got, want)
	}
	c := p.Counters()
	if c.Out.Packets != 5 || c.Out.Bytes != uint64(3*len(f443)+2*len(f80)) || c.Out.Dropped != 3 || c.Out.DropsByReason[drop.VFPBlock] != 3 {
		t.Errorf("out counters = %+v, want 5 packets, %d bytes, 3 dropped (vfp-rule-block)", c.Out, 3*len(f443)+2*len(f80))
	}
	if c.Out.FlowHits != 3 || c.Out.FlowMisses != 2 || c.Out.FlowsCreated != 2 {
		t.Errorf("out flow hits/misses/created = %d/%d/%d, want 3/2/2", c.Out.FlowHits, c.Out.FlowMisses, c.Out.FlowsCreated)
	}
	if c.In.Packets != 1 || c.In.Dropped != 0 {
		t.Errorf("in counters = %+v, want 1 packet, 0 dropped", c.In)
	}
	syn := emutest.TCP4(t, macPod, macGW, podIP, peerIP, 40000, 80, true, nil)
	run(p, Out, syn, 0)
	if got := p.Counters().Out.SYN; got != 1 {
		t.Errorf("SYN packets = %d, want 1", got)
	}
}

// TestTCPClose checks that a connection closed by FIN from both sides, or
// by RST, expires after the closed timeout instead of the rule's TTL.
func TestTCPClose(t *testing.T) {
	tcp := func(src, dst string, sport, dport uint16, fin, rst bool) []byte {
		l := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), ACK: true, FIN: fin, RST: rst, Window: 100}
		sm, dm := macPod, macGW
		if src == peerIP {
			sm, dm = macGW, macPod
		}
		return emutest.Serialize(t, emutest.Eth(sm, dm, layers.EthernetTypeIPv4), emutest.IPv4(src, dst, layers.IPProtocolTCP, 64), l)
	}
	out := tcp(podIP, peerIP, 40000, 80, false, false)
	reply := tcp(peerIP, podIP, 80, 40000, false, false)
	tests := []struct {
		name  string
		close [][2]any // direction, frame
		want  Verdict  // reply 16 s after the close
	}{
		{"open connection lives on", nil, Pass},
		{"FIN both ways", [][2]any{{Out, tcp(podIP, peerIP, 40000, 80, true, false)}, {In, tcp(peerIP, podIP, 80, 40000, true, false)}}, Drop},
		{"FIN one way only", [][2]any{{Out, tcp(podIP, peerIP, 40000, 80, true, false)}}, Pass},
		{"RST", [][2]any{{In, tcp(peerIP, podIP, 80, 40000, false, true)}}, Drop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPort(t, PortOptions{}, aclLayer(true, 240*time.Second))
			run(p, Out, out, 0)
			run(p, In, reply, sec)
			for i, c := range tt.close {
				if v, _, _ := run(p, c[0].(Direction), c[1].([]byte), 2*sec); v != Pass {
					t.Fatalf("close packet %d: got %v, want pass", i, v)
				}
			}
			if v, _, _ := run(p, In, reply, 18*sec); v != tt.want {
				t.Errorf("reply 16 s after close: got %v, want %v", v, tt.want)
			}
		})
	}
}

// TestNonIP checks that ARP passes and malformed IP is dropped.
func TestNonIP(t *testing.T) {
	p := newPort(t, PortOptions{}, oneLayer("L", false, false))
	arp := emutest.Serialize(t, emutest.Eth(macPod, "ff:ff:ff:ff:ff:ff", layers.EthernetTypeARP),
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: emutest.MAC(macPod), SourceProtAddress: emutest.IP(podIP),
			DstHwAddress: make([]byte, 6), DstProtAddress: emutest.IP("10.244.1.1")})
	if v, r, _ := run(p, Out, arp, 0); v != Pass {
		t.Errorf("ARP: got %v %v, want pass", v, r)
	}
	bad := udpOut(t, peerIP, 1, 2)
	bad[24] ^= 0xff // IPv4 header checksum
	if v, r, _ := run(p, Out, bad, 0); v != Drop || r != drop.VFPInvalid {
		t.Errorf("bad IPv4 checksum: got %v %v, want drop %v", v, r, drop.VFPInvalid)
	}
}

// TestTrace checks that a traced packet records each layer's decision
// with its names, and the cached path one event.
func TestTrace(t *testing.T) {
	p := newPort(t, PortOptions{}, snatLayer(1024, 2000, 0, [2]uint16{}), lbLayer(DistributeSourceIP, threeDIPs[:1], false, false))
	tr := &trace.Recorder{On: true}
	b, pp := load(udpOut(t, vipIP, 40000, 80))
	p.Process(Out, b, pp, 0, tr)
	var got []string
	for _, e := range tr.Events {
		got = append(got, e.Action+" "+e.Layer+"/"+e.Group+"/"+e.Rule)
	}
	want := []string{"dynnat SLB_NAT_LAYER/SLB_GROUP_NAT_IPv4_OUT/SNAT_UDP_OUTBOUNDNAT", "lbnat LB/LB_OUT_V4/LB_10.96.0.10_80_8080_6"}
	if !equalStrings(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	if e := tr.Events[1]; e.Before.Dst != addr(vipIP) || e.After.Dst != addr("10.244.2.5") {
		t.Errorf("lbnat event before/after dst = %v/%v, want %s/10.244.2.5", e.Before.Dst, e.After.Dst, vipIP)
	}
	tr.Reset()
	b, pp = load(udpOut(t, vipIP, 40000, 80))
	p.Process(Out, b, pp, 0, tr)
	if len(tr.Events) != 1 || tr.Events[0].Action != "unified-flow" {
		t.Errorf("cached packet events = %+v, want one unified-flow event", tr.Events)
	}
}

// TestValidation checks that bad policy is rejected with the reason.
func TestValidation(t *testing.T) {
	dyn := func(layerStateful, ruleStateful bool) *Layer {
		l := snatLayer(1024, 2000, 0, [2]uint16{})
		l.Stateful = layerStateful
		l.Groups[0].Rules[0].Stateful = ruleStateful
		return l
	}
	tests := []struct {
		name  string
		layer func() *Layer
		want  error
	}{
		{"dynnat in a stateless layer", func() *Layer { return dyn(false, true) }, ErrInvalid},
		{"dynnat rule not stateful", func() *Layer { return dyn(true, false) }, ErrInvalid},
		{"IPv6 prefix in an IPv4 group", func() *Layer {
			return oneLayer("L", false, true, outGroup("G", 1, allow("a", 1, Conditions{DstIP: prefixes("fd00::/8")})))
		}, ErrInvalid},
		{"VNI over 24 bits", func() *Layer {
			return oneLayer("L", false, true, outGroup("G", 1, allow("a", 1, Conditions{VNI: []uint32{1 << 24}})))
		}, ErrInvalid},
		{"empty port range", func() *Layer {
			return oneLayer("L", false, true, outGroup("G", 1, allow("a", 1, Conditions{DstPort: []PortRange{{10, 5}}})))
		}, ErrInvalid},
		{"duplicate rule names", func() *Layer {
			return oneLayer("L", false, true, outGroup("G", 1, allow("a", 1, Conditions{}), allow("a", 2, Conditions{})))
		}, ErrExists},
		{"duplicate group names", func() *Layer {
			return oneLayer("L", false, true, outGroup("G", 1), outGroup("G", 2))
		}, ErrExists},
		{"pool with an empty range", func() *Layer { return snatLayer(2000, 1024, 0, [2]uint16{}) }, ErrInvalid},
		{"encap to an IPv6 PA", func() *Layer {
			l := vnetEncapLayer(0, false, false)
			l.Groups[0].Rules[0].Action.Encap.DstPA = addr("fd00::7")
			return l
		}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewPort("p", PortOptions{}).AddLayer(tt.layer())
			if !errors.Is(err, tt.want) {
				t.Errorf("AddLayer error = %v, want %v", err, tt.want)
			}
		})
	}
	p := newPort(t, PortOptions{}, oneLayer("L", false, true))
	if err := p.AddLayer(oneLayer("L", false, true)); !errors.Is(err, ErrExists) {
		t.Errorf("second layer L: error = %v, want %v", err, ErrExists)
	}
	g := outGroup("G", 1)
	if err := p.Layer("L").AddGroup(g); err != nil {
		t.Fatal(err)
	}
	if err := g.AddRule(allow("a", 1, Conditions{DstIP: prefixes("fd00::/8")})); !errors.Is(err, ErrInvalid) {
		t.Errorf("AddRule with an IPv6 prefix: error = %v, want %v", err, ErrInvalid)
	}
	if err := g.ReplaceRule(allow("missing", 1, Conditions{})); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReplaceRule of a missing rule: error = %v, want %v", err, ErrNotFound)
	}
}

// TestPolicyChanges checks adding and removing rules, groups and layers
// on a live port: each change takes effect on the next packet of a cached
// flow.
func TestPolicyChanges(t *testing.T) {
	p := newPort(t, PortOptions{}, oneLayer("L", false, true, outGroup("G", 1)))
	f := udpOut(t, peerIP, 40000, 80)
	expect := func(step string, want Verdict) {
		t.Helper()
		if v, _, _ := run(p, Out, f, 0); v != want {
			t.Fatalf("%s: got %v, want %v", step, v, want)
		}
	}
	expect("empty layer", Pass)
	g := p.Layer("L").Group("G")
	if err := g.AddRule(block("b", 1, Conditions{})); err != nil {
		t.Fatal(err)
	}
	expect("after AddRule(block)", Drop)
	if !g.RemoveRule("b") {
		t.Fatal("RemoveRule: not found")
	}
	expect("after RemoveRule", Pass)
	if err := p.AddLayer(&Layer{Name: "DENY", Priority: 5}); err != nil {
		t.Fatal(err)
	}
	expect("after AddLayer(default block)", Drop)
	if !p.RemoveLayer("DENY") {
		t.Fatal("RemoveLayer: not found")
	}
	expect("after RemoveLayer", Pass)
	if err := p.Layer("L").AddGroup(outGroup("G2", 2, block("b2", 1, Conditions{}))); err != nil {
		t.Fatal(err)
	}
	expect("after AddGroup", Drop)
	if !p.Layer("L").RemoveGroup("G2") {
		t.Fatal("RemoveGroup: not found")
	}
	expect("after RemoveGroup", Pass)
}

// TestFlowTableFullCountsPackets fills a port whose unified flow table and
// stateful layer hold 8 entries each with 20 new flows. A flow takes one
// unified flow and two layer flows (the pair): the layer is full from the
// fifth flow on, the unified flow table from the ninth. Each of the 16
// packets that met a full table counts once in FlowTableFull (it read 28:
// one count per table).
func TestFlowTableFullCountsPackets(t *testing.T) {
	const capacity, flows = 8, 20
	p := newPort(t, PortOptions{FlowCapacity: capacity}, aclLayer(true, 10*time.Second))
	for i := 0; i < flows; i++ {
		if v, r, _ := run(p, Out, udpOut(t, peerIP, uint16(40000+i), 80), sec); v != Pass {
			t.Fatalf("flow %d: %v (%v), want pass", i, v, r)
		}
	}
	c := p.Counters().Out
	if want := uint64(flows - capacity/2); c.FlowsCreated != capacity || c.FlowTableFull != want {
		t.Errorf("flows created %d, flow table full %d; want %d and %d (one per packet)", c.FlowsCreated, c.FlowTableFull, capacity, want)
	}
}
