package fabric_test

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/fabric"
)

func newFabric(t testing.TB, path string) *fabric.Fabric {
	t.Helper()
	f, err := fabric.New(loadTopology(t, path), fabric.Options{ObserveWire: true})
	if err != nil {
		t.Fatalf("fabric.New(%s): %v", path, err)
	}
	return f
}

const (
	macPodA  = "00:15:5d:01:01:02"
	macPodB  = "00:15:5d:01:01:03"
	macPodC  = "00:15:5d:02:01:02"
	macHost1 = "00:15:5d:00:00:04"
	macHost2 = "00:15:5d:00:00:05"
)

func TestL2BridgeSameHostBridged(t *testing.T) {
	f := newFabric(t, "testdata/l2bridge.json")
	var res fabric.Outcome
	fr := emutest.UDP4(t, macPodA, macPodB, "10.244.1.2", "10.244.1.3", 1000, 2000, []byte("x"))
	f.Inject(port(t, f, "host1/pod-a"), fr, 0, &res)
	d := only(t, f, &res, "host1/pod-b")
	if d.Eth.SrcMAC.String() != macPodA || d.IPv4.TTL != 64 || d.IPv4.SrcIP.String() != "10.244.1.2" {
		t.Errorf("got src MAC %s TTL %d src %s; want pod-a's MAC, 64, 10.244.1.2 (bridged, unchanged)", d.Eth.SrcMAC, d.IPv4.TTL, d.IPv4.SrcIP)
	}
	for _, o := range res.Outputs {
		if o.Kind == fabric.WireTx {
			t.Errorf("same-host traffic left through %s", f.Port(o.Port).Name)
		}
	}
}

// wireTx returns the frame seen leaving the named NIC port.
func wireTx(t testing.TB, f *fabric.Fabric, res *fabric.Outcome, name string) *emutest.Decoded {
	t.Helper()
	for _, o := range res.Outputs {
		if o.Kind == fabric.WireTx && f.Port(o.Port).Name == name {
			emutest.ChecksumsValid(t, o.Frame)
			return emutest.Decode(t, o.Frame)
		}
	}
	t.Fatalf("nothing left through %s", name)
	return nil
}

func TestL2BridgeOutboundNATAndReply(t *testing.T) {
	f := newFabric(t, "testdata/l2bridge.json")
	var res fabric.Outcome
	syn := emutest.TCP4(t, macPodA, macHost1, "10.244.1.2", "198.18.0.10", 40000, 443, true, nil)
	f.Inject(port(t, f, "host1/pod-a"), syn, 0, &res)
	d := only(t, f, &res, "server")
	if d.IPv4.SrcIP.String() != "10.0.0.4" || d.IPv4.TTL != 62 {
		t.Errorf("at server: src %s ttl %d, want 10.0.0.4 (OutBoundNAT) and 62", d.IPv4.SrcIP, d.IPv4.TTL)
	}
	w := wireTx(t, f, &res, "host1/eth0")
	if w.Eth.SrcMAC.String() != macHost1 {
		t.Errorf("on the wire src MAC %s, want the host's %s (l2bridge MAC rewrite)", w.Eth.SrcMAC, macHost1)
	}
	sport := d.TCP.SrcPort
	synack := emutest.Serialize(t, emutest.Eth(macServer, macRouter, layers.EthernetTypeIPv4), emutest.IPv4("198.18.0.10", "10.0.0.4", layers.IPProtocolTCP, 64),
		&layers.TCP{SrcPort: 443, DstPort: sport, SYN: true, ACK: true, Seq: 9, Ack: 1001, Window: 100})
	f.Inject(port(t, f, "server"), synack, 1, &res)
	d = only(t, f, &res, "host1/pod-a")
	if d.IPv4.DstIP.String() != "10.244.1.2" || d.TCP.DstPort != 40000 || d.Eth.DstMAC.String() != macPodA {
		t.Errorf("reply to %s:%d MAC %s, want 10.244.1.2:40000 pod-a's MAC", d.IPv4.DstIP, d.TCP.DstPort, d.Eth.DstMAC)
	}
}

func TestL2BridgeExceptionCrossHost(t *testing.T) {
	f := newFabric(t, "testdata/l2bridge.json")
	var res fabric.Outcome
	fr := emutest.UDP4(t, macPodA, macHost1, "10.244.1.2", "10.244.2.2", 1000, 2000, []byte("x"))
	f.Inject(port(t, f, "host1/pod-a"), fr, 0, &res)
	d := only(t, f, &res, "host2/pod-c")
	if d.IPv4.SrcIP.String() != "10.244.1.2" {
		t.Errorf("src %s, want the pod's 10.244.1.2 (destination in the OutBoundNAT exceptions)", d.IPv4.SrcIP)
	}
	if d.Eth.DstMAC.String() != macPodC || d.IPv4.TTL != 62 {
		t.Errorf("dst MAC %s TTL %d, want pod-c's MAC and 62 (host1 routes, the router routes)", d.Eth.DstMAC, d.IPv4.TTL)
	}
}

func TestL2BridgeICMPNotTransposed(t *testing.T) {
	f := newFabric(t, "testdata/l2bridge.json")
	var res fabric.Outcome
	echo := emutest.Echo4(t, macPodA, macHost1, "10.244.1.2", "198.18.0.10", 7, 1, false)
	f.Inject(port(t, f, "host1/pod-a"), echo, 0, &res)
	dropped(t, &res, drop.NoICMPTransposition)
	if r := res.Drops[0]; r.Layer != "SNAT" || r.Rule != "SNAT_ICMP_OUTBOUNDNAT" {
		t.Errorf("dropped by %s/%s, want the SNAT layer's ICMP rule", r.Layer, r.Rule)
	}
	// Pod to pod ICMP works (K8SDOC: only ICMP to outside the cluster fails).
	echo = emutest.Echo4(t, macPodA, macHost1, "10.244.1.2", "10.244.2.2", 7, 1, false)
	f.Inject(port(t, f, "host1/pod-a"), echo, 1, &res)
	only(t, f, &res, "host2/pod-c")
}

func TestL2BridgeACLBlockNamesRule(t *testing.T) {
	f := newFabric(t, "testdata/l2bridge.json")
	var res fabric.Outcome
	ssh := emutest.TCP4(t, macPodA, macPodB, "10.244.1.2", "10.244.1.3", 40000, 22, true, nil)
	f.Inject(port(t, f, "host1/pod-a"), ssh, 0, &res)
	dropped(t, &res, drop.VFPBlock)
	if r := res.Drops[0]; r.Layer != "ACL_ENDPOINT_LAYER" || r.Rule != "block-ssh" || r.Where != "pod-b" {
		t.Errorf("drop %s/%s/%s at %s, want ACL_ENDPOINT_LAYER rule block-ssh at pod-b", r.Layer, r.Group, r.Rule, r.Where)
	}
	web := emutest.TCP4(t, macPodA, macPodB, "10.244.1.2", "10.244.1.3", 40000, 8080, true, nil)
	f.Inject(port(t, f, "host1/pod-a"), web, 1, &res)
	only(t, f, &res, "host1/pod-b")
}

func TestL2BridgeClusterIP(t *testing.T) {
	f := newFabric(t, "testdata/l2bridge.json")
	var res fabric.Outcome
	syn := emutest.TCP4(t, macPodA, macHost1, "10.244.1.2", "10.96.0.10", 40000, 80, true, nil)
	f.Inject(port(t, f, "host1/pod-a"), syn, 0, &res)
	d := only(t, f, &res, "host1/pod-b")
	if d.IPv4.DstIP.String() != "10.244.1.3" || d.TCP.DstPort != 8080 || d.IPv4.SrcIP.String() != "10.244.1.2" {
		t.Errorf("got %s:%d > %s:%d, want 10.244.1.2:40000 > 10.244.1.3:8080", d.IPv4.SrcIP, d.TCP.SrcPort, d.IPv4.DstIP, d.TCP.DstPort)
	}
	synack := emutest.Serialize(t, emutest.Eth(macPodB, macPodA, layers.EthernetTypeIPv4), emutest.IPv4("10.244.1.3", "10.244.1.2", layers.IPProtocolTCP, 128),
		&layers.TCP{SrcPort: 8080, DstPort: 40000, SYN: true, ACK: true, Seq: 9, Ack: 1001, Window: 100})
	f.Inject(port(t, f, "host1/pod-b"), synack, 1, &res)
	d = only(t, f, &res, "host1/pod-a")
	if d.IPv4.SrcIP.String() != "10.96.0.10" || d.TCP.SrcPort != 80 {
		t.Errorf("reply from %s:%d, want the VIP 10.96.0.10:80", d.IPv4.SrcIP, d.TCP.SrcPort)
	}
}

// TestNodePortDSRKeepsClientIP: without DSR the backend sees the SourceVIP
// (client source IP lost); with DSR it sees the client (K8SDOC,
// kubernetes/kubernetes#93166).
func TestNodePortDSRKeepsClientIP(t *testing.T) {
	f := newFabric(t, "testdata/l2bridge.json")
	var res fabric.Outcome
	for _, tc := range []struct {
		port    uint16
		wantSrc string
	}{{30080, "10.244.1.254"}, {30081, "10.0.0.99"}} {
		syn := emutest.TCP4(t, macClient, macHost1, "10.0.0.99", "10.0.0.4", 40000, tc.port, true, nil)
		f.Inject(port(t, f, "client"), syn, 0, &res)
		d := only(t, f, &res, "host1/pod-b")
		if d.IPv4.SrcIP.String() != tc.wantSrc || d.IPv4.DstIP.String() != "10.244.1.3" || d.TCP.DstPort != 8080 {
			t.Errorf("NodePort %d: got %s > %s:%d, want %s > 10.244.1.3:8080", tc.port, d.IPv4.SrcIP, d.IPv4.DstIP, d.TCP.DstPort, tc.wantSrc)
		}
		back := emutest.Serialize(t, emutest.Eth(macPodB, macHost1, layers.EthernetTypeIPv4), emutest.IPv4("10.244.1.3", d.IPv4.SrcIP.String(), layers.IPProtocolTCP, 128),
			&layers.TCP{SrcPort: 8080, DstPort: d.TCP.SrcPort, SYN: true, ACK: true, Seq: 1, Ack: 1001, Window: 100})
		f.Inject(port(t, f, "host1/pod-b"), back, 1, &res)
		r := only(t, f, &res, "client")
		if r.IPv4.SrcIP.String() != "10.0.0.4" || r.TCP.SrcPort != layers.TCPPort(tc.port) || r.IPv4.DstIP.String() != "10.0.0.99" || r.TCP.DstPort != 40000 {
			t.Errorf("NodePort %d reply %s:%d > %s:%d, want 10.0.0.4:%d > 10.0.0.99:40000", tc.port, r.IPv4.SrcIP, r.TCP.SrcPort, r.IPv4.DstIP, r.TCP.DstPort, tc.port)
		}
		// The reply goes back to whoever sent the request (RFC 1812 §5.3.4
		// forwarding: the client's MAC), from the host's own MAC.
		if r.Eth.SrcMAC.String() != macHost1 || r.Eth.DstMAC.String() != macClient {
			t.Errorf("NodePort %d reply MACs %s > %s, want %s > %s", tc.port, r.Eth.SrcMAC, r.Eth.DstMAC, macHost1, macClient)
		}
	}
}

func TestOverlayTwoHostRoundTrip(t *testing.T) {
	f := newFabric(t, "testdata/overlay.json")
	var res fabric.Outcome
	dr1 := "0e:2a:0a:f4:01:01"
	fr := emutest.UDP4(t, "0e:2a:0a:f4:01:02", dr1, "10.244.1.2", "10.244.2.2", 1000, 2000, []byte("hello"))
	f.Inject(port(t, f, "host1/pod-a"), fr, 0, &res)
	d := only(t, f, &res, "host2/pod-c")
	if d.IPv4.SrcIP.String() != "10.244.1.2" || d.IPv4.TTL != 64 || d.Eth.DstMAC.String() != "0e:2a:0a:f4:02:02" {
		t.Errorf("inner at pod-c: src %s ttl %d dst MAC %s", d.IPv4.SrcIP, d.IPv4.TTL, d.Eth.DstMAC)
	}
	w := wireTx(t, f, &res, "host1/eth0")
	if w.VXLAN == nil || w.VXLAN.VNI != 4096 || !w.VXLAN.ValidIDFlag {
		t.Fatalf("on the wire: %v, want VXLAN VNI 4096", w.Packet)
	}
	if w.IPv4.SrcIP.String() != "10.0.0.4" || w.IPv4.DstIP.String() != "10.0.0.5" || w.UDP.DstPort != 4789 {
		t.Errorf("outer %s > %s:%d, want 10.0.0.4 > 10.0.0.5:4789", w.IPv4.SrcIP, w.IPv4.DstIP, w.UDP.DstPort)
	}
	if w.Eth.SrcMAC.String() != macHost1 || w.Eth.DstMAC.String() != macHost2 {
		t.Errorf("outer MACs %s > %s, want host1 > host2", w.Eth.SrcMAC, w.Eth.DstMAC)
	}
	if w.Inner.Eth.DstMAC.String() != "0e:2a:0a:f4:02:01" || w.Inner.IPv4.SrcIP.String() != "10.244.1.2" {
		t.Errorf("inner dst MAC %s src %s, want host2's DR MAC and the pod", w.Inner.Eth.DstMAC, w.Inner.IPv4.SrcIP)
	}
	if got := len(w.Packet.Data()) - len(fr); got != 50 {
		t.Errorf("encapsulation overhead %d bytes, want 50", got)
	}
	back := emutest.UDP4(t, "0e:2a:0a:f4:02:02", "0e:2a:0a:f4:02:01", "10.244.2.2", "10.244.1.2", 2000, 1000, []byte("back"))
	f.Inject(port(t, f, "host2/pod-c"), back, 1, &res)
	d = only(t, f, &res, "host1/pod-a")
	if d.UDP.SrcPort != 2000 || d.IPv4.SrcIP.String() != "10.244.2.2" {
		t.Errorf("reply from %s:%d", d.IPv4.SrcIP, d.UDP.SrcPort)
	}
}

func TestOverlayMTUAndVNI(t *testing.T) {
	f := newFabric(t, "testdata/overlay.json")
	var res fabric.Outcome
	dr1 := "0e:2a:0a:f4:01:01"
	big := emutest.UDP4(t, "0e:2a:0a:f4:01:02", dr1, "10.244.1.2", "10.244.2.2", 1000, 2000, make([]byte, 1451-28))
	f.Inject(port(t, f, "host1/pod-a"), big, 0, &res)
	dropped(t, &res, drop.MTUMismatch)
	ok := emutest.UDP4(t, "0e:2a:0a:f4:01:02", dr1, "10.244.1.2", "10.244.2.2", 1000, 2000, make([]byte, 1450-28))
	f.Inject(port(t, f, "host1/pod-a"), ok, 1, &res)
	only(t, f, &res, "host2/pod-c")

	inner := emutest.UDP4(t, "0e:2a:0a:f4:01:02", "0e:2a:0a:f4:02:01", "10.244.1.2", "10.244.2.2", 1, 2, []byte("x"))
	vx := emutest.Serialize(t, emutest.Eth(macHost1, macHost2, layers.EthernetTypeIPv4), emutest.IPv4("10.0.0.4", "10.0.0.5", layers.IPProtocolUDP, 64),
		&layers.UDP{SrcPort: 50000, DstPort: 4789}, &layers.VXLAN{ValidIDFlag: true, VNI: 5000}, gopacket.Payload(inner))
	f.Inject(port(t, f, "host2/eth0"), vx, 2, &res)
	dropped(t, &res, drop.VSIDMismatch)
}

// TestVFPModesNoAllocs: the cached path of every VFP mode through the whole
// host (and the fabric) does not allocate.
func TestVFPModesNoAllocs(t *testing.T) {
	cases := []struct {
		topo, at string
		frame    func(t testing.TB) []byte
	}{
		{"l2bridge", "host1/pod-a", func(t testing.TB) []byte {
			return emutest.UDP4(t, macPodA, macHost1, "10.244.1.2", "10.244.2.2", 1000, 2000, make([]byte, 18))
		}},
		{"l2bridge", "host1/pod-a", func(t testing.TB) []byte {
			return emutest.UDP4(t, macPodA, macHost1, "10.244.1.2", "198.18.0.10", 1000, 53, make([]byte, 18))
		}},
		{"overlay", "host1/pod-a", func(t testing.TB) []byte {
			return emutest.UDP4(t, "0e:2a:0a:f4:01:02", "0e:2a:0a:f4:01:01", "10.244.1.2", "10.244.2.2", 1000, 2000, make([]byte, 18))
		}},
		{"l2tunnel", "host1/pod-a", func(t testing.TB) []byte {
			return emutest.UDP4(t, macPodA, macPodB, "10.0.0.20", "10.0.0.21", 1000, 2000, make([]byte, 18))
		}},
	}
	for _, c := range cases {
		t.Run(c.topo, func(t *testing.T) {
			f, err := fabric.New(loadTopology(t, "testdata/"+c.topo+".json"), fabric.Options{})
			if err != nil {
				t.Fatal(err)
			}
			fr := c.frame(t)
			p := port(t, f, c.at)
			var res fabric.Outcome
			f.Inject(p, fr, 0, &res)
			if len(res.Outputs) == 0 {
				t.Fatalf("not delivered: %+v", res.Drops)
			}
			now := int64(1)
			n := testing.AllocsPerRun(500, func() {
				now++
				f.Inject(p, fr, now, &res)
			})
			if n != 0 {
				t.Fatalf("allocs = %v per packet, want 0", n)
			}
		})
	}
}

// TestOutboundNATStrictReplyTuple: VFP matches OutBoundNAT replies on the
// whole 5-tuple; a reply from another address (an upstream DNAT changed
// who answers) does not reach the pod (microsoft/Windows-Containers#625).
func TestOutboundNATStrictReplyTuple(t *testing.T) {
	f := newFabric(t, "testdata/l2bridge.json")
	var res fabric.Outcome
	req := emutest.UDP4(t, macPodA, macHost1, "10.244.1.2", "198.18.0.10", 40000, 53, []byte("q"))
	f.Inject(port(t, f, "host1/pod-a"), req, 0, &res)
	d := only(t, f, &res, "server")
	ext := uint16(d.UDP.SrcPort)
	good := emutest.UDP4(t, macServer, macRouter, "198.18.0.10", "10.0.0.4", 53, ext, []byte("a"))
	f.Inject(port(t, f, "server"), good, 1, &res)
	only(t, f, &res, "host1/pod-a")
	other := emutest.UDP4(t, macServer, macRouter, "198.18.0.11", "10.0.0.4", 53, ext, []byte("a"))
	f.Inject(port(t, f, "server"), other, 2, &res)
	for _, o := range res.Outputs {
		if o.Kind == fabric.Delivered && f.Port(o.Port).Name == "host1/pod-a" {
			t.Fatalf("a reply from another address reached the pod")
		}
	}
	if len(res.Drops) != 1 || res.Drops[0].Reason != drop.NoListener || res.Drops[0].Host != "host1" {
		t.Fatalf("drops %+v, want the host's stack to drop it (no listener)", res.Drops)
	}
}

// TestUnderlayNoReflection: a switch never sends a frame back out of the
// port it came in by (IEEE 802.1Q §8.7 forwarding); a frame addressed to
// its own sender goes nowhere.
func TestUnderlayNoReflection(t *testing.T) {
	f := newFabric(t, "testdata/l2bridge.json")
	var res fabric.Outcome
	fr := emutest.UDP4(t, macClient, macClient, "10.0.0.99", "10.0.0.99", 1000, 2000, []byte("x"))
	f.Inject(port(t, f, "client"), fr, 0, &res)
	dropped(t, &res, drop.UnderlayNoDestination)
	for _, o := range res.Outputs {
		if o.Kind != fabric.WireTx {
			t.Errorf("frame to its own sender came out at %s", f.Port(o.Port).Name)
		}
	}
}
