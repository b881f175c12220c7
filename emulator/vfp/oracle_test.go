package vfp

import (
	"bytes"
	"fmt"
	"math/rand"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// realisticLayers is a container port's policy in the spirit of an
// overlay Kubernetes node: an L2 rewrite, an endpoint ACL, outbound NAT,
// a load balancer and VXLAN encap/decap.
func realisticLayers() []*Layer {
	l2 := &Layer{Name: "INTERNAL_L2_REWRITE_LAYER", Priority: 75, DefaultAllow: true, Groups: []*Group{
		outGroup("L2_OUT", 1, &Rule{Name: "src-to-host", Priority: 1, Conditions: Conditions{SrcMAC: []header.MAC{mac(macPod)}},
			Action: Action{Type: ActionMACRewrite, MAC: MACParams{SrcMAC: mac(macHost)}}}),
		inGroup("L2_IN", 1, &Rule{Name: "dst-to-pod", Priority: 1, Conditions: Conditions{DstIP: prefixes(podIP + "/32")},
			Action: Action{Type: ActionMACRewrite, MAC: MACParams{DstMAC: mac(macPod)}}}),
	}}
	acl := &Layer{Name: "ACL_ENDPOINT_LAYER", Priority: 100, Stateful: true, Groups: []*Group{
		outGroup("ACL_ENDPOINT_GROUP_IPV4_OUT", 1,
			&Rule{Name: "block-smtp", Priority: 10, Terminating: true, Conditions: Conditions{Protocols: []uint8{6}, DstPort: []PortRange{SinglePort(25)}},
				Action: Action{Type: ActionBlock}},
			&Rule{Name: "allow-out", Priority: 1000, Terminating: true, Stateful: true, ExtraFlags: 0x2000, FlowTTL: 240 * time.Second,
				Action: Action{Type: ActionAllow}}),
		inGroup("ACL_ENDPOINT_GROUP_IPV4_IN", 1,
			&Rule{Name: "allow-8080", Priority: 900, Terminating: true, Stateful: true, FlowTTL: 240 * time.Second,
				Conditions: Conditions{Protocols: []uint8{6, 17}, DstPort: []PortRange{SinglePort(8080)}}, Action: Action{Type: ActionAllow}}),
	}}
	icmpBlock := &Rule{Name: "NO_ICMP_OUTBOUNDNAT", Priority: 1, Terminating: true,
		Conditions: Conditions{Protocols: []uint8{1}, DstIP: prefixes("192.168.0.0/16")}, Action: Action{Type: ActionBlock, Reason: drop.NoICMPTransposition}}
	snat := &Layer{Name: "SLB_NAT_LAYER", Priority: 200, Stateful: true, DefaultAllow: true, Flags: LayerFlagUpdateFlowsOnAddressChange, Groups: []*Group{
		outGroup("SLB_GROUP_NAT_IPv4_OUT", 1, icmpBlock,
			&Rule{Name: "SNAT_OUTBOUNDNAT", Priority: 100, Terminating: true, Stateful: true, FlowTTL: 240 * time.Second,
				Conditions: Conditions{DstIP: prefixes("192.168.0.0/16")},
				Action:     Action{Type: ActionDynNAT, Pool: NATPool{Name: "SLB_NATPOOL_IPV4", IP: addr(hostIP), Lo: 1024, Hi: 1100}, MSSDelta: [2]uint16{50, 0}}}),
	}}
	lb := lbLayer(DistributePerConnection, threeDIPs, false, false)
	vnet := &Layer{Name: "VNET_LAYER", Priority: 1000, DefaultAllow: true, Groups: []*Group{
		vnetEncapLayer(1500, true, true).Groups[0],
		vnetDecapLayer(4096).Groups[0],
	}}
	return []*Layer{l2, acl, snat, lb, vnet}
}

// streamGen makes a random stream of packets for the realistic port:
// new flows of every kind, and replies built from earlier outputs.
type streamGen struct {
	t       testing.TB
	rng     *rand.Rand
	replies [][]byte // In frames answering earlier outputs
}

func (g *streamGen) next() (Direction, []byte) {
	r := g.rng
	if len(g.replies) > 0 && r.Intn(3) == 0 {
		i := r.Intn(len(g.replies))
		return In, g.replies[i]
	}
	sport := uint16(40000 + r.Intn(40))
	payload := make([]byte, 1500)
	for i := range payload {
		payload[i] = byte(i)
	}
	switch r.Intn(9) {
	case 0:
		return Out, emutest.UDP4(g.t, macPod, macGW, podIP, vipIP, sport, 80, payload[:r.Intn(64)])
	case 1:
		return Out, emutest.TCP4(g.t, macPod, macGW, podIP, vipIP, sport, 80, r.Intn(2) == 0, payload[:r.Intn(64)])
	case 2:
		dst := netip.AddrFrom4([4]byte{192, 168, byte(r.Intn(2)), byte(1 + r.Intn(3))}).String()
		return Out, emutest.TCP4(g.t, macPod, macGW, podIP, dst, sport, 443, r.Intn(2) == 0, payload[:r.Intn(200)])
	case 3:
		return Out, emutest.Echo4(g.t, macPod, macGW, podIP, "192.168.0.1", sport, 1, false)
	case 4:
		return Out, emutest.UDP4(g.t, macPod, macGW, podIP, "10.244.2.6", sport, 53, payload[:1380+r.Intn(80)]) // encap, around the MTU
	case 5:
		return Out, emutest.TCP4(g.t, macPod, macGW, podIP, peerIP, sport, 25, true, nil) // blocked
	case 6:
		return In, emutest.TCP4(g.t, macGW, macHost, peerIP, podIP, sport, 8080, true, nil)
	case 7:
		inner := emutest.UDP4(g.t, "00:15:5d:7b:82:55", macPod, "10.244.2.5", podIP, sport, 8080, payload[:r.Intn(300)])
		return In, emutest.VXLAN4(g.t, macGW, macHost, "10.0.0.7", hostIP, 50000, 4789, uint32(4096+r.Intn(2)), inner)
	default:
		return In, emutest.UDP4(g.t, macGW, macHost, peerIP, podIP, sport, 9999, nil) // no rule: default block
	}
}

// learn records a reply to an output frame.
func (g *streamGen) learn(out []byte) {
	pkt := gopacket.NewPacket(out, layers.LayerTypeEthernet, gopacket.Default)
	if vx, ok := pkt.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN); ok {
		inner := swap(g.t, vx.Payload)
		if inner != nil {
			g.replies = append(g.replies, emutest.VXLAN4(g.t, macGW, macHost, "10.0.0.7", hostIP, 50001, 4789, 4096, inner))
		}
		return
	}
	if r := swap(g.t, out); r != nil {
		g.replies = append(g.replies, r)
	}
}

// swap builds the reply of a UDP or TCP frame (addresses, ports and MACs
// swapped).
func swap(t testing.TB, frame []byte) []byte {
	var p packet.Parsed
	p.Decode(frame)
	if !p.IsIP() || p.L4 == 0 || p.Kind != packet.KindIPv4 {
		return nil
	}
	src, dst := p.Dst.String(), p.Src.String()
	smac, dmac := p.DstMAC.String(), p.SrcMAC.String()
	switch p.IPProto {
	case 17:
		return emutest.UDP4(t, smac, dmac, src, dst, p.DstPort, p.SrcPort, []byte("reply"))
	case 6:
		return emutest.TCP4(t, smac, dmac, src, dst, p.DstPort, p.SrcPort, false, []byte("reply"))
	}
	return nil
}

// TestCachedPathMatchesSlowPath is the unified flow table's oracle: the
// same packet stream goes through a port that caches and a port whose
// cache is cleared before every packet (always the slow path through the
// layers). Verdicts, reasons, drop names and output bytes must agree.
func TestCachedPathMatchesSlowPath(t *testing.T) {
	mk := func() *Port { return newPort(t, PortOptions{}, realisticLayers()...) }
	cached, slow := mk(), mk()
	g := &streamGen{t: t, rng: newRand(1)}
	now := int64(0)
	passed := 0
	for i := 0; i < 3000; i++ {
		now += int64(time.Millisecond)
		if i == 1500 {
			now += 300 * sec // every flow expires
		}
		dir, frame := g.next()
		bc, pc := load(frame)
		resC := cached.Process(dir, bc, pc, now, nil)
		vc, rc := resC.Verdict, resC.Reason
		slow.uft.clear()
		bs, ps := load(frame)
		resS := slow.Process(dir, bs, ps, now, nil)
		vs, rs := resS.Verdict, resS.Reason
		if vc != vs || rc != rs {
			t.Fatalf("packet %d (%v %x): cached path %v %v, slow path %v %v", i, dir, frame, vc, rc, vs, rs)
		}
		if vc == Drop {
			if resC.Drop() != resS.Drop() {
				t.Fatalf("packet %d: drop cached %+v, slow %+v", i, resC.Drop(), resS.Drop())
			}
			continue
		}
		if !bytes.Equal(bc.Bytes(), bs.Bytes()) {
			t.Fatalf("packet %d (%v): cached output\n%x\nslow output\n%x", i, dir, bc.Bytes(), bs.Bytes())
		}
		var check packet.Parsed
		check.Decode(bc.Bytes())
		if !reflect.DeepEqual(*pc, check) {
			t.Fatalf("packet %d: Parsed after Process does not match the frame", i)
		}
		passed++
		if dir == Out && len(g.replies) < 200 {
			g.learn(bc.Bytes())
		}
		if i%50 == 0 {
			emutest.ChecksumsValid(t, bc.Bytes())
		}
	}
	c := cached.Counters()
	hits := c.In.FlowHits + c.Out.FlowHits
	if hits < 1000 || passed < 1000 {
		t.Errorf("stream exercised too little: %d cache hits, %d passed", hits, passed)
	}
	t.Logf("%d passed, %d cache hits, drops out %v in %v", passed, hits, c.Out.DropsByReason, c.In.DropsByReason)
}

// TestRealisticPortDrops checks a few decisions of the realistic port by
// name, so the oracle test is known to cover them.
func TestRealisticPortDrops(t *testing.T) {
	p := newPort(t, PortOptions{}, realisticLayers()...)
	tests := []struct {
		name  string
		dir   Direction
		frame []byte
		want  drop.Reason
		layer string
		rule  string
	}{
		{"ICMP through outbound NAT", Out, emutest.Echo4(t, macPod, macGW, podIP, "192.168.0.1", 1, 1, false), drop.NoICMPTransposition, "SLB_NAT_LAYER", "NO_ICMP_OUTBOUNDNAT"},
		{"SMTP blocked by ACL", Out, emutest.TCP4(t, macPod, macGW, podIP, peerIP, 40000, 25, true, nil), drop.VFPBlock, "ACL_ENDPOINT_LAYER", "block-smtp"},
		{"unsolicited inbound", In, emutest.UDP4(t, macGW, macHost, peerIP, podIP, 1, 9999, nil), drop.VFPDefaultBlock, "ACL_ENDPOINT_LAYER", ""},
		{"wrong VNI", In, emutest.VXLAN4(t, macGW, macHost, "10.0.0.7", hostIP, 50000, 4789, 4097,
			emutest.UDP4(t, macGW, macPod, "10.244.2.5", podIP, 1, 8080, nil)), drop.VSIDMismatch, "VNET_LAYER", "DECAP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _ := runResult(p, tt.dir, tt.frame, 0)
			v, r, d := res.Verdict, res.Reason, res.Drop()
			if v != Drop || r != tt.want || d.Layer != tt.layer || d.Rule != tt.rule {
				t.Errorf("got %v %v at %s/%s, want drop %v at %s/%s", v, r, d.Layer, d.Rule, tt.want, tt.layer, tt.rule)
			}
		})
	}
	// The encapsulated request to a DIP and its encapsulated reply.
	v, _, out := run(p, Out, emutest.UDP4(t, macPod, macGW, podIP, vipIP, 40000, 80, []byte("q")), sec)
	if v != Pass {
		t.Fatalf("pod -> VIP: got %v, want pass", v)
	}
	o := emutest.DecodeVXLAN4(t, out)
	inner := emutest.Decode(t, o.Inner)
	if o.IPv4.DstIP.String() != "10.0.0.7" || !netip.MustParsePrefix("10.244.2.0/24").Contains(netip.MustParseAddr(inner.IPv4.DstIP.String())) {
		t.Errorf("pod -> VIP went to PA %v, inner %v; want PA 10.0.0.7 and a DIP", o.IPv4.DstIP, inner.IPv4.DstIP)
	}
	if inner.Eth.SrcMAC.String() != macHost {
		t.Errorf("inner src MAC = %v, want the L2 rewrite's %s", inner.Eth.SrcMAC, macHost)
	}
	reply := emutest.VXLAN4(t, macGW, macHost, "10.0.0.7", hostIP, 50000, 4789, 4096, swap(t, o.Inner))
	v, r, back := run(p, In, reply, 2*sec)
	if v != Pass {
		t.Fatalf("reply: got %v %v, want pass", v, r)
	}
	d := emutest.Decode(t, back)
	if got := fmt.Sprintf("%v:%d -> %v:%d %v", d.IPv4.SrcIP, d.UDP.SrcPort, d.IPv4.DstIP, d.UDP.DstPort, d.Eth.DstMAC); got != vipIP+":80 -> "+podIP+":40000 "+macPod {
		t.Errorf("reply delivered as %s, want %s:80 -> %s:40000 %s", got, vipIP, podIP, macPod)
	}
}
