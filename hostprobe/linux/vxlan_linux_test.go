package linux

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestVXLANOverlay joins two namespaces with VXLAN (VNI 4096, UDP 4789) over a veth
// underlay. n1 reaches n2 through a default-destination FDB entry (00:00:00:00:00:00), n2
// answers through an FDB entry for n1's MAC and a static neighbour, as HNS programs a
// RemoteSubnetRoute. The underlay capture must show RFC 7348 encapsulation with that VNI
// around the exact inner frame.
func TestVXLANOverlay(t *testing.T) {
	const vni = 4096
	l := newTestLab(t)
	n1, n2 := newNS(t, l, "n1"), newNS(t, l, "n2")
	must(t, n1.AddVeth("eth0", n2, "eth0"))
	must(t, n1.AddAddr("eth0", pfx("198.18.1.1/24")))
	must(t, n2.AddAddr("eth0", pfx("198.18.1.2/24")))
	must(t, n1.SetUp("eth0"))
	must(t, n2.SetUp("eth0"))
	must(t, n1.AddVXLAN(VXLAN{Name: "vxlan0", VNI: vni, Local: addr("198.18.1.1"), Dev: "eth0"}))
	must(t, n2.AddVXLAN(VXLAN{Name: "vxlan0", VNI: vni, Port: VXLANPort, Local: addr("198.18.1.2"), Dev: "eth0"}))
	for _, n := range []*Namespace{n1, n2} {
		must(t, n.SetMTU("vxlan0", 1450))
		must(t, n.SetUp("vxlan0"))
	}
	must(t, n1.AddAddr("vxlan0", pfx("10.244.0.1/24")))
	must(t, n2.AddAddr("vxlan0", pfx("10.244.0.2/24")))
	must(t, l.WaitReady(5*time.Second))
	mac1, mac2, macU1, macU2 := mac(t, n1, "vxlan0"), mac(t, n2, "vxlan0"), mac(t, n1, "eth0"), mac(t, n2, "eth0")
	zero := net.HardwareAddr{0, 0, 0, 0, 0, 0}
	must(t, n1.AddFDB(FDBEntry{Dev: "vxlan0", MAC: zero, Dst: addr("198.18.1.2")}))
	must(t, n2.AddFDB(FDBEntry{Dev: "vxlan0", MAC: mac1, Dst: addr("198.18.1.1")}))
	must(t, n2.AddNeighbor("vxlan0", addr("10.244.0.1"), mac1))

	fdb, err := n2.FDB("vxlan0")
	must(t, err)
	found := false
	for _, e := range fdb {
		found = found || bytes.Equal(e.MAC, mac1) && e.Dst == addr("198.18.1.1")
	}
	if !found {
		t.Errorf("n2 FDB of vxlan0: got %+v, want an entry %v dst 198.18.1.1", fdb, mac1)
	}
	if vx, err := n1.Link("vxlan0"); err != nil || vx.Kind != "vxlan" || vx.MTU != 1450 || !vx.Up {
		t.Errorf("n1 vxlan0: got %+v, %v; want kind vxlan, mtu 1450, up", vx, err)
	}

	c, err := l.NewCapturer(CapturePoint{n1, "eth0"}, CapturePoint{n1, "vxlan0"}, CapturePoint{n2, "vxlan0"})
	must(t, err)
	inj, err := n1.NewInjector("vxlan0")
	must(t, err)
	eth, ip := ethIPv4(mac1, mac2, "10.244.0.1", "10.244.0.2", layers.IPProtocolICMPv4)
	request := serialize(t, eth, ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 1, Seq: 1}, gopacket.Payload("overlay"))
	must(t, inj.Inject(request))
	fs := drain(t, c)

	// encap checks an underlay frame: outer headers from src to dst VTEP, UDP to 4789,
	// VXLAN with the VNI, and returns the inner frame. Per docs/style.md the inner frame is
	// decoded by a second, separate decode of vx.Payload.
	encap := func(t *testing.T, p gopacket.Packet, srcMAC, dstMAC net.HardwareAddr, src, dst string) []byte {
		t.Helper()
		e := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		oip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		oudp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		vx, _ := p.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
		if oip == nil || oudp == nil || vx == nil {
			t.Errorf("got %v, want Ethernet/IPv4/UDP/VXLAN", p.Layers())
			return nil
		}
		if !bytes.Equal(e.SrcMAC, srcMAC) || !bytes.Equal(e.DstMAC, dstMAC) {
			t.Errorf("outer eth: got %v -> %v, want %v -> %v", e.SrcMAC, e.DstMAC, srcMAC, dstMAC)
		}
		if !oip.SrcIP.Equal(ip4(src)) || !oip.DstIP.Equal(ip4(dst)) {
			t.Errorf("outer ip: got %v -> %v, want %s -> %s", oip.SrcIP, oip.DstIP, src, dst)
		}
		if oudp.DstPort != VXLANPort {
			t.Errorf("outer udp: got dport %d, want %d", oudp.DstPort, VXLANPort)
		}
		if !vx.ValidIDFlag || vx.VNI != vni {
			t.Errorf("vxlan: got I flag %v, VNI %d; want true, %d", vx.ValidIDFlag, vx.VNI, vni)
		}
		// 50 bytes of encapsulation (RFC 7348 section 5): 14 + 20 + 8 + 8.
		if got, want := len(p.Data())-len(vx.Payload), 50; got != want {
			t.Errorf("encapsulation overhead: got %d bytes, want %d", got, want)
		}
		return vx.Payload
	}
	innerIs := func(want []byte) func(*testing.T, gopacket.Packet) {
		return func(t *testing.T, p gopacket.Packet) {
			t.Helper()
			if inner := encap(t, p, macU1, macU2, "198.18.1.1", "198.18.1.2"); inner != nil && !bytes.Equal(inner, want) {
				t.Errorf("inner frame: got % x, want the injected % x", inner, want)
			}
		}
	}
	echoReply := func(t *testing.T, p gopacket.Packet) {
		t.Helper()
		e := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		if ip == nil || ic == nil || ic.TypeCode.Type() != layers.ICMPv4TypeEchoReply || !ip.SrcIP.Equal(ip4("10.244.0.2")) ||
			!bytes.Equal(e.SrcMAC, mac2) || !bytes.Equal(e.DstMAC, mac1) {
			t.Errorf("got %s, want an echo reply 10.244.0.2 (%v) -> %v", describe(Frame{Data: p.Data()}), mac2, mac1)
			return
		}
		checkChecksums(t, p)
	}
	replyEncap := func(t *testing.T, p gopacket.Packet) {
		t.Helper()
		if inner := encap(t, p, macU2, macU1, "198.18.1.2", "198.18.1.1"); inner != nil {
			echoReply(t, gopacket.NewPacket(inner, layers.LayerTypeEthernet, gopacket.Default))
		}
	}
	isARP := func(t *testing.T, p gopacket.Packet) {
		t.Helper()
		if p.Layer(layers.LayerTypeARP) == nil {
			t.Errorf("got %v, want ARP", p.Layers())
		}
	}

	// Underlay: n1 resolves n2's VTEP address, sends the encapsulated request, gets the
	// encapsulated reply. The overlay: no ARP at all (static entries on n2; n1 was given
	// n2's MAC in the injected frame).
	expectSeq(t, "n1/eth0", ipv4Frames(fs.On("n1/eth0")), []step{
		{Out, "underlay arp request", isARP}, {In, "underlay arp reply", isARP},
		{Out, "encapsulated request", innerIs(request)}, {In, "encapsulated reply", replyEncap},
	})
	expectSeq(t, "n2/vxlan0", ipv4Frames(fs.On("n2/vxlan0")), []step{
		{In, "decapsulated request", func(t *testing.T, p gopacket.Packet) {
			t.Helper()
			if !bytes.Equal(p.Data(), request) {
				t.Errorf("got % x, want the injected % x", p.Data(), request)
			}
		}},
		{Out, "echo reply", echoReply},
	})
	expectSeq(t, "n1/vxlan0", ipv4Frames(fs.On("n1/vxlan0")), []step{{In, "echo reply", echoReply}})
}
