package vfpctrl

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/vfp"
)

// Fixtures copied from the vfp package's tests (helpers_test.go,
// process_test.go, oracle_test.go), which another package cannot import.

const (
	macPod  = "00:15:5d:00:00:02" // container vNIC
	macHost = "00:15:5d:00:00:01" // host / l2bridge rewrite MAC
	macGW   = "00:15:5d:00:00:fe" // next hop
	macPeer = "00:15:5d:00:00:99" // remote
	sec     = int64(1e9)
)
const (
	podIP  = "10.244.1.2"
	peerIP = "10.0.0.99"
	hostIP = "10.0.0.6"
	vipIP  = "10.96.0.10"
)

func mac(s string) header.MAC {
	m, ok := header.ParseMAC(s)
	if !ok {
		panic("bad MAC " + s)
	}
	return m
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func prefixes(ss ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range ss {
		ps = append(ps, pfx(s))
	}
	return ps
}

// newPort returns a port with the layers added, failing the test on error.
func newPort(t testing.TB, opts vfp.PortOptions, layers ...*vfp.Layer) *vfp.Port {
	t.Helper()
	p := vfp.NewPort("port1", opts)
	for _, l := range layers {
		if err := p.AddLayer(l); err != nil {
			t.Fatalf("AddLayer(%s): %v", l.Name, err)
		}
	}
	return p
}

// load copies frame into a fresh buffer and decodes it.
func load(frame []byte) (*packet.Buffer, *packet.Parsed) {
	b := packet.NewBuffer()
	if !b.Set(frame) {
		panic("frame too big")
	}
	var pp packet.Parsed
	pp.Decode(b.Bytes())
	return b, &pp
}

// run processes a copy of frame and returns the verdict, reason and the
// resulting frame (a copy).
func run(p *vfp.Port, dir vfp.Direction, frame []byte, now int64) (vfp.Verdict, drop.Reason, []byte) {
	b, pp := load(frame)
	res := p.Process(dir, b, pp, now, nil)
	return res.Verdict, res.Reason, append([]byte(nil), b.Bytes()...)
}
func outGroup(name string, prio uint32, rules ...*vfp.Rule) *vfp.Group {
	return &vfp.Group{Name: name, Priority: prio, Direction: vfp.Out, Rules: rules}
}

func inGroup(name string, prio uint32, rules ...*vfp.Rule) *vfp.Group {
	return &vfp.Group{Name: name, Priority: prio, Direction: vfp.In, Rules: rules}
}

func lbLayer(dist vfp.Distribution, backends []vfp.Backend, snat, preserve bool) *vfp.Layer {
	a := vfp.Action{Type: vfp.ActionLBNAT, LB: vfp.LBParams{Backends: backends, Distribution: dist, SNAT: snat, PreserveDIP: preserve}}
	if snat {
		a.Pool = vfp.NATPool{Name: "SLB_NATPOOL_SRCVIP", IP: addr("10.0.0.20"), Lo: 5000, Hi: 5100}
	}
	r := &vfp.Rule{Name: "LB_" + vipIP + "_80_8080_6", Priority: 100, Terminating: true, Stateful: true,
		Conditions: vfp.Conditions{Protocols: []uint8{6, 17}, DstIP: prefixes(vipIP + "/32"), DstPort: []vfp.PortRange{vfp.SinglePort(80)}}, Action: a}
	return &vfp.Layer{Name: "LB", Priority: 300, Stateful: true, DefaultAllow: true, Groups: []*vfp.Group{outGroup("LB_OUT_V4", 1, r)}}
}

var threeDIPs = []vfp.Backend{{Addr: addr("10.244.2.5"), Port: 8080}, {Addr: addr("10.244.2.6"), Port: 8080}, {Addr: addr("10.244.2.7"), Port: 8080}}

func vnetEncapLayer(mtu int, df, clamp bool) *vfp.Layer {
	r := &vfp.Rule{Name: "ENCAP_10.244.2.0_24", Priority: 10, Terminating: true,
		Conditions: vfp.Conditions{DstIP: prefixes("10.244.2.0/24")},
		Action: vfp.Action{Type: vfp.ActionEncap, Encap: vfp.EncapParams{VNI: 4096, SrcMAC: mac(macHost), DstMAC: mac(macGW),
			SrcPA: addr(hostIP), DstPA: addr("10.0.0.7"), DF: df, InnerDstMAC: mac("00:15:5d:7b:82:55"), MTU: mtu, ClampMSS: clamp}}}
	return &vfp.Layer{Name: "VNET_ENCAP_LAYER", Priority: 1000, DefaultAllow: true,
		Groups: []*vfp.Group{outGroup("VNET_GROUP_ENCAP_IPV4_OUT", 1, r)}}
}
func vnetDecapLayer(vnis ...uint32) *vfp.Layer {
	r := &vfp.Rule{Name: "DECAP", Priority: 10, Terminating: true,
		Conditions: vfp.Conditions{Protocols: []uint8{17}, DstIP: prefixes(hostIP + "/32")},
		Action:     vfp.Action{Type: vfp.ActionDecap, Decap: vfp.DecapParams{VNI: vnis}}}
	return &vfp.Layer{Name: "VNET_DECAP_LAYER", Priority: 1000, DefaultAllow: true,
		Groups: []*vfp.Group{inGroup("VNET_GROUP_DECAP_IPV4_IN", 1, r)}}
}

// realisticLayers is a container port's policy in the spirit of an
// overlay Kubernetes node: an L2 rewrite, an endpoint ACL, outbound NAT,
// a load balancer and VXLAN encap/decap.
func realisticLayers() []*vfp.Layer {
	l2 := &vfp.Layer{Name: "INTERNAL_L2_REWRITE_LAYER", Priority: 75, DefaultAllow: true, Groups: []*vfp.Group{
		outGroup("L2_OUT", 1, &vfp.Rule{Name: "src-to-host", Priority: 1, Conditions: vfp.Conditions{SrcMAC: []header.MAC{mac(macPod)}},
			Action: vfp.Action{Type: vfp.ActionMACRewrite, MAC: vfp.MACParams{SrcMAC: mac(macHost)}}}),
		inGroup("L2_IN", 1, &vfp.Rule{Name: "dst-to-pod", Priority: 1, Conditions: vfp.Conditions{DstIP: prefixes(podIP + "/32")},
			Action: vfp.Action{Type: vfp.ActionMACRewrite, MAC: vfp.MACParams{DstMAC: mac(macPod)}}}),
	}}
	acl := &vfp.Layer{Name: "ACL_ENDPOINT_LAYER", Priority: 100, Stateful: true, Groups: []*vfp.Group{
		outGroup("ACL_ENDPOINT_GROUP_IPV4_OUT", 1,
			&vfp.Rule{Name: "block-smtp", Priority: 10, Terminating: true, Conditions: vfp.Conditions{Protocols: []uint8{6}, DstPort: []vfp.PortRange{vfp.SinglePort(25)}},
				Action: vfp.Action{Type: vfp.ActionBlock}},
			&vfp.Rule{Name: "allow-out", Priority: 1000, Terminating: true, Stateful: true, ExtraFlags: 0x2000, FlowTTL: 240 * time.Second,
				Action: vfp.Action{Type: vfp.ActionAllow}}),
		inGroup("ACL_ENDPOINT_GROUP_IPV4_IN", 1,
			&vfp.Rule{Name: "allow-8080", Priority: 900, Terminating: true, Stateful: true, FlowTTL: 240 * time.Second,
				Conditions: vfp.Conditions{Protocols: []uint8{6, 17}, DstPort: []vfp.PortRange{vfp.SinglePort(8080)}}, Action: vfp.Action{Type: vfp.ActionAllow}}),
	}}
	icmpBlock := &vfp.Rule{Name: "NO_ICMP_OUTBOUNDNAT", Priority: 1, Terminating: true,
		Conditions: vfp.Conditions{Protocols: []uint8{1}, DstIP: prefixes("192.168.0.0/16")}, Action: vfp.Action{Type: vfp.ActionBlock, Reason: drop.NoICMPTransposition}}
	snat := &vfp.Layer{Name: "SLB_NAT_LAYER", Priority: 200, Stateful: true, DefaultAllow: true, Flags: vfp.LayerFlagUpdateFlowsOnAddressChange, Groups: []*vfp.Group{
		outGroup("SLB_GROUP_NAT_IPv4_OUT", 1, icmpBlock,
			&vfp.Rule{Name: "SNAT_OUTBOUNDNAT", Priority: 100, Terminating: true, Stateful: true, FlowTTL: 240 * time.Second,
				Conditions: vfp.Conditions{DstIP: prefixes("192.168.0.0/16")},
				Action:     vfp.Action{Type: vfp.ActionDynNAT, Pool: vfp.NATPool{Name: "SLB_NATPOOL_IPV4", IP: addr(hostIP), Lo: 1024, Hi: 1100}, MSSDelta: [2]uint16{50, 0}}}),
	}}
	lb := lbLayer(vfp.DistributePerConnection, threeDIPs, false, false)
	vnet := &vfp.Layer{Name: "VNET_LAYER", Priority: 1000, DefaultAllow: true, Groups: []*vfp.Group{
		vnetEncapLayer(1500, true, true).Groups[0],
		vnetDecapLayer(4096).Groups[0],
	}}
	return []*vfp.Layer{l2, acl, snat, lb, vnet}
}

func equalStrings(a, b []string) bool { return slices.Equal(a, b) }
