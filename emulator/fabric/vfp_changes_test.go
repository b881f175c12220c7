package fabric_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/emulator/vfp"
)

// TestStaleLBBackend: a flow to a ClusterIP is cached on pod-b; pod-b's
// container is removed but the load balancer is not updated: the flow is
// still sent to it and lost (kubernetes/kubernetes#112836). Updating the
// load balancer bumps the port generation; the same flow is re-evaluated
// on its next packet and reaches the new backend.
func TestStaleLBBackend(t *testing.T) {
	topo := loadTopology(t, "testdata/l2bridge.json")
	// A second local backend, pod-d, added to the topology.
	topo.Hosts[0].HNS.Endpoints = append(topo.Hosts[0].HNS.Endpoints, hns.HostComputeEndpoint{
		Name: "pod-d", HostComputeNetwork: "cbr0", MacAddress: "00-15-5D-01-01-04",
		IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.1.4", PrefixLength: 24}}})
	f, err := fabric.New(topo, fabric.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var res fabric.Outcome
	pkt := emutest.TCP4(t, macPodA, macHost1, "10.244.1.2", "10.96.0.10", 40000, 80, false, []byte("q"))
	f.Inject(port(t, f, "host1/pod-a"), pkt, 0, &res)
	only(t, f, &res, "host1/pod-b")

	if err := f.RemoveEndpoint("host1", "pod-b"); err != nil {
		t.Fatal(err)
	}
	f.Inject(port(t, f, "host1/pod-a"), pkt, 1, &res)
	dropped(t, &res, drop.DestNICDisabled)

	if err := f.UpdateLoadBalancer("host1", "svc-web", []string{"pod-d"}); err != nil {
		t.Fatal(err)
	}
	f.Inject(port(t, f, "host1/pod-a"), pkt, 2, &res)
	d := only(t, f, &res, "host1/pod-d")
	if d.IPv4.DstIP.String() != "10.244.1.4" || d.TCP.DstPort != 8080 {
		t.Errorf("after the update: to %s:%d, want 10.244.1.4:8080", d.IPv4.DstIP, d.TCP.DstPort)
	}
}

// TestPolicyChangeInvalidatesCachedFlow: a flow allowed and cached, then an
// ACL block added on the destination port: the next packet is dropped.
func TestPolicyChangeInvalidatesCachedFlow(t *testing.T) {
	f := newFabric(t, "testdata/l2bridge.json")
	var res fabric.Outcome
	pkt := emutest.UDP4(t, macPodA, macPodB, "10.244.1.2", "10.244.1.3", 1000, 9000, []byte("x"))
	for i := 0; i < 3; i++ {
		f.Inject(port(t, f, "host1/pod-a"), pkt, int64(i), &res)
		only(t, f, &res, "host1/pod-b")
	}
	h, _ := f.Host("host1")
	ei, _ := h.EndpointByName("pod-b")
	vp := h.VFP(h.Endpoints[ei].Switch, h.Endpoints[ei].Port)
	g := vp.Layer(hns.LayerACL).Group("ACL_ENDPOINT_GROUP_IPV4_IN")
	if err := g.AddRule(&vfp.Rule{Name: "block-9000", Priority: 50, Terminating: true,
		Conditions: vfp.Conditions{Protocols: []uint8{17}, DstPort: []vfp.PortRange{vfp.SinglePort(9000)}},
		Action:     vfp.Action{Type: vfp.ActionBlock}}); err != nil {
		t.Fatal(err)
	}
	f.Inject(port(t, f, "host1/pod-a"), pkt, 10, &res)
	dropped(t, &res, drop.VFPBlock)
	if res.Drops[0].Rule != "block-9000" {
		t.Errorf("dropped by %q, want block-9000", res.Drops[0].Rule)
	}
}

// TestL2TunnelHairpinThroughPhysicalSwitch: two containers on one host
// reach each other only through the physical host's switch (Azure).
func TestL2TunnelHairpinThroughPhysicalSwitch(t *testing.T) {
	f := newFabric(t, "testdata/l2tunnel.json")
	var res fabric.Outcome
	fr := emutest.UDP4(t, macPodA, macPodB, "10.0.0.20", "10.0.0.21", 1000, 2000, []byte("x"))
	f.Inject(port(t, f, "host1/pod-a"), fr, 0, &res)
	d := only(t, f, &res, "host1/pod-b")
	w := wireTx(t, f, &res, "host1/eth0")
	if w.Eth.SrcMAC.String() != macHost1 || w.Eth.DstMAC.String() != "12:34:56:78:9a:bc" {
		t.Errorf("on the wire %s > %s, want host MAC > the physical gateway", w.Eth.SrcMAC, w.Eth.DstMAC)
	}
	if d.Eth.DstMAC.String() != macPodB || d.IPv4.TTL != 63 {
		t.Errorf("at pod-b: dst MAC %s TTL %d, want pod-b's MAC and 63 (routed once by the physical host)", d.Eth.DstMAC, d.IPv4.TTL)
	}
	rx := 0
	for _, o := range res.Outputs {
		if o.Kind == fabric.WireRx && f.Port(o.Port).Name == "host1/eth0" {
			rx++
		}
	}
	if rx != 1 {
		t.Errorf("frame came back in %d times, want 1", rx)
	}
}

// TestTransparentOwnMACOnWire: no translation, the container's MAC on the wire.
func TestTransparentOwnMACOnWire(t *testing.T) {
	f := newFabric(t, "testdata/transparent.json")
	var res fabric.Outcome
	fr := emutest.UDP4(t, macPodA, macClient, "10.0.0.20", "10.0.0.99", 1000, 2000, []byte("x"))
	f.Inject(port(t, f, "host1/web"), fr, 0, &res)
	d := only(t, f, &res, "client")
	if d.Eth.SrcMAC.String() != macPodA || d.IPv4.SrcIP.String() != "10.0.0.20" || d.IPv4.TTL != 64 {
		t.Errorf("at client: %s %s ttl %d, want the container's own MAC and IP, TTL 64", d.Eth.SrcMAC, d.IPv4.SrcIP, d.IPv4.TTL)
	}
	back := emutest.UDP4(t, macClient, macPodA, "10.0.0.99", "10.0.0.20", 2000, 1000, []byte("y"))
	f.Inject(port(t, f, "client"), back, 1, &res)
	only(t, f, &res, "host1/web")
}

// TestDSRLoopback: a pod that is the only backend of a DSR service cannot
// reach itself through the VIP without the loopback DSR OutBoundNAT
// policy (calico#5522, sig-windows-tools#119), and can with it.
func TestDSRLoopback(t *testing.T) {
	for _, withPolicy := range []bool{false, true} {
		t.Run(fmt.Sprintf("policy=%v", withPolicy), func(t *testing.T) {
			topo := loadTopology(t, "testdata/l2bridge.json")
			lbs := []hns.HostComputeLoadBalancer{{Name: "svc-self", HostComputeEndpoints: []string{"pod-a"}, FrontendVIPs: []string{"10.96.0.20"},
				Flags: hns.LoadBalancerFlagsDSR, PortMappings: []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 80}}}}
			topo.Hosts[0].HNS.LoadBalancers = lbs
			if withPolicy {
				s, _ := json.Marshal(hns.OutboundNatPolicySetting{Destinations: []string{"10.244.1.2"}})
				ep := &topo.Hosts[0].HNS.Endpoints[0]
				ep.Policies = append(ep.Policies, hns.EndpointPolicy{Type: hns.OutBoundNAT, Settings: s})
			}
			f, err := fabric.New(topo, fabric.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var res fabric.Outcome
			syn := emutest.TCP4(t, macPodA, macHost1, "10.244.1.2", "10.96.0.20", 40000, 80, true, nil)
			f.Inject(port(t, f, "host1/pod-a"), syn, 0, &res)
			if !withPolicy {
				dropped(t, &res, drop.NoDestUnicast)
				return
			}
			d := only(t, f, &res, "host1/pod-a")
			if d.IPv4.DstIP.String() != "10.244.1.2" || d.TCP.DstPort != 8080 || d.IPv4.SrcIP.String() == "10.244.1.2" {
				t.Errorf("looped back as %s > %s:%d, want a translated source to 10.244.1.2:8080", d.IPv4.SrcIP, d.IPv4.DstIP, d.TCP.DstPort)
			}
		})
	}
}

// TestLBPortReservationExhaustion: every non-DSR load balancer reserves a
// 64-port block of the 16384-port dynamic range; the one after the range
// is used up fails with HCN_E_PORT_ALREADY_EXISTS (Azure/AKS#1375).
func TestLBPortReservationExhaustion(t *testing.T) {
	topo := loadTopology(t, "testdata/l2bridge.json")
	h := &topo.Hosts[0].HNS
	h.LoadBalancers = nil
	// pod-a and pod-b have OutBoundNAT pools of 1024 ports each, and pod-b,
	// a backend on its own host, a 64-port hairpin pool: 2112 used, 14272
	// left = 223 load balancers.
	for i := 0; i < 224; i++ {
		h.LoadBalancers = append(h.LoadBalancers, hns.HostComputeLoadBalancer{Name: fmt.Sprintf("svc-%d", i),
			HostComputeEndpoints: []string{"pod-b"}, FrontendVIPs: []string{fmt.Sprintf("10.96.%d.%d", i/250, 1+i%250)},
			PortMappings: []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 80}}})
	}
	_, err := fabric.New(topo, fabric.Options{})
	var he *hns.Error
	if !errors.As(err, &he) || he.Code != hns.HCN_E_PORT_ALREADY_EXISTS || he.Object != "svc-223" {
		t.Fatalf("err = %v, want HCN_E_PORT_ALREADY_EXISTS for svc-223", err)
	}
	h.LoadBalancers = h.LoadBalancers[:223]
	if _, err := fabric.New(topo, fabric.Options{}); err != nil {
		t.Fatalf("223 load balancers: %v", err)
	}
}
