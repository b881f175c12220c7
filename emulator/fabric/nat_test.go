package fabric_test

import (
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/fabric"
)

const (
	macWeb    = "00:15:5d:aa:00:02"
	macWeb2   = "00:15:5d:aa:00:03"
	macHost   = "00:15:5d:00:00:04"
	macClient = "02:00:00:00:00:99"
	macServer = "02:00:00:00:01:10"
	macRouter = "02:00:00:00:00:01"
)

func loadTopology(t testing.TB, path string) fabric.Topology {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var topo fabric.Topology
	if err := json.Unmarshal(b, &topo); err != nil {
		t.Fatal(err)
	}
	return topo
}

func newNAT(t testing.TB, opts fabric.Options) *fabric.Fabric {
	t.Helper()
	f, err := fabric.New(loadTopology(t, "testdata/nat.json"), opts)
	if err != nil {
		t.Fatalf("fabric.New: %v", err)
	}
	return f
}

func port(t testing.TB, f *fabric.Fabric, name string) fabric.PortID {
	t.Helper()
	id, ok := f.PortByName(name)
	if !ok {
		t.Fatalf("no port %q", name)
	}
	return id
}

// gatewayMAC returns the MAC of the nat network's gateway vNIC, which a
// container learns by ARP.
func gatewayMAC(t testing.TB, f *fabric.Fabric) string {
	t.Helper()
	var res fabric.Outcome
	arp := emutest.Serialize(t, emutest.Eth(macWeb, "ff:ff:ff:ff:ff:ff", layers.EthernetTypeARP),
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: emutest.MAC(macWeb), SourceProtAddress: emutest.IP("172.16.0.2"),
			DstHwAddress: make([]byte, 6), DstProtAddress: emutest.IP("172.16.0.1")})
	f.Inject(port(t, f, "host1/web"), arp, 0, &res)
	for _, o := range res.Outputs {
		if f.Port(o.Port).Name == "host1/web" {
			d := emutest.Decode(t, o.Frame)
			if d.ARP == nil || d.ARP.Operation != layers.ARPReply {
				t.Fatalf("web got %v, want an ARP reply", d.Packet)
			}
			if got := netip.AddrFrom4([4]byte(d.ARP.SourceProtAddress)); got != netip.MustParseAddr("172.16.0.1") {
				t.Fatalf("ARP reply for %v, want 172.16.0.1", got)
			}
			return net.HardwareAddr(d.ARP.SourceHwAddress).String()
		}
	}
	t.Fatalf("no ARP reply at host1/web: outputs %v drops %v", res.Outputs, res.Drops)
	return ""
}

// only returns the single delivered output at port name, failing otherwise.
func only(t testing.TB, f *fabric.Fabric, res *fabric.Outcome, name string) *emutest.Decoded {
	t.Helper()
	var got []fabric.Output
	for _, o := range res.Outputs {
		if o.Kind == fabric.Delivered {
			got = append(got, o)
		}
	}
	if len(got) != 1 || f.Port(got[0].Port).Name != name {
		names := []string{}
		for _, o := range got {
			names = append(names, f.Port(o.Port).Name)
		}
		t.Fatalf("delivered at %v (drops %+v), want only at %s", names, res.Drops, name)
	}
	emutest.ChecksumsValid(t, got[0].Frame)
	return emutest.Decode(t, got[0].Frame)
}

func dropped(t testing.TB, res *fabric.Outcome, want drop.Reason) {
	t.Helper()
	for _, o := range res.Outputs {
		if o.Kind == fabric.Delivered {
			t.Fatalf("delivered at port %d, want a drop %v", o.Port, want)
		}
	}
	if len(res.Drops) != 1 || res.Drops[0].Reason != want {
		t.Fatalf("drops %+v, want one %v", res.Drops, want)
	}
}

func TestNATOutboundAndReply(t *testing.T) {
	f := newNAT(t, fabric.Options{})
	gw := gatewayMAC(t, f)
	var res fabric.Outcome
	req := emutest.UDP4(t, macWeb, gw, "172.16.0.2", "198.18.0.10", 40000, 53, []byte("query"))
	f.Inject(port(t, f, "host1/web"), req, int64(time.Second), &res)
	d := only(t, f, &res, "server")
	if got := d.IPv4.SrcIP.String(); got != "10.0.0.4" {
		t.Errorf("source = %s, want the host's 10.0.0.4", got)
	}
	if got := d.IPv4.TTL; got != 62 {
		t.Errorf("TTL = %d, want 62 (64 - host - router)", got)
	}
	if d.Eth.SrcMAC.String() != macRouter || d.Eth.DstMAC.String() != macServer {
		t.Errorf("MACs %s > %s, want router > server", d.Eth.SrcMAC, d.Eth.DstMAC)
	}
	extPort := uint16(d.UDP.SrcPort)
	if d.UDP.DstPort != 53 {
		t.Errorf("dport = %d, want 53", d.UDP.DstPort)
	}

	reply := emutest.UDP4(t, macServer, macRouter, "198.18.0.10", "10.0.0.4", 53, extPort, []byte("answer"))
	f.Inject(port(t, f, "server"), reply, int64(2*time.Second), &res)
	d = only(t, f, &res, "host1/web")
	if d.IPv4.DstIP.String() != "172.16.0.2" || d.UDP.DstPort != 40000 {
		t.Errorf("reply to %s:%d, want 172.16.0.2:40000", d.IPv4.DstIP, d.UDP.DstPort)
	}
	if d.IPv4.TTL != 62 || d.Eth.DstMAC.String() != macWeb || d.Eth.SrcMAC.String() != gw {
		t.Errorf("reply TTL %d MACs %s > %s, want 62, gateway > web", d.IPv4.TTL, d.Eth.SrcMAC, d.Eth.DstMAC)
	}

	// UDP idle timeout 120 s, refreshed only by outbound packets: a reply
	// at 2 s + 121 s finds no session.
	f.Inject(port(t, f, "server"), reply, int64(123*time.Second)+1, &res)
	dropped(t, &res, drop.NATNoMapping)
}

func TestNATStaticPortMapping(t *testing.T) {
	f := newNAT(t, fabric.Options{})
	var res fabric.Outcome
	syn := emutest.TCP4(t, macClient, macHost, "10.0.0.99", "10.0.0.4", 40000, 8082, true, nil)
	f.Inject(port(t, f, "client"), syn, 0, &res)
	d := only(t, f, &res, "host1/web")
	if d.IPv4.DstIP.String() != "172.16.0.2" || d.TCP.DstPort != 80 || d.IPv4.SrcIP.String() != "10.0.0.99" || d.TCP.SrcPort != 40000 {
		t.Errorf("got %s:%d > %s:%d, want 10.0.0.99:40000 > 172.16.0.2:80", d.IPv4.SrcIP, d.TCP.SrcPort, d.IPv4.DstIP, d.TCP.DstPort)
	}
	if d.IPv4.TTL != 63 {
		t.Errorf("TTL = %d, want 63", d.IPv4.TTL)
	}
	gw := d.Eth.SrcMAC.String()
	// The SYN-ACK goes back through the session the mapping made.
	synack := emutest.Serialize(t, emutest.Eth(macWeb, gw, layers.EthernetTypeIPv4), emutest.IPv4("172.16.0.2", "10.0.0.99", layers.IPProtocolTCP, 128),
		&layers.TCP{SrcPort: 80, DstPort: 40000, SYN: true, ACK: true, Seq: 5, Ack: 1001, Window: 1000})
	f.Inject(port(t, f, "host1/web"), synack, 1, &res)
	d = only(t, f, &res, "client")
	if d.IPv4.SrcIP.String() != "10.0.0.4" || d.TCP.SrcPort != 8082 || d.IPv4.TTL != 127 {
		t.Errorf("SYN-ACK from %s:%d ttl %d, want 10.0.0.4:8082 ttl 127", d.IPv4.SrcIP, d.TCP.SrcPort, d.IPv4.TTL)
	}
}

func TestNATUnsolicitedInboundDropped(t *testing.T) {
	f := newNAT(t, fabric.Options{})
	var res fabric.Outcome
	syn := emutest.TCP4(t, macClient, macHost, "10.0.0.99", "10.0.0.4", 40000, 9999, true, nil)
	f.Inject(port(t, f, "client"), syn, 0, &res)
	dropped(t, &res, drop.NATNoMapping)
	if res.Drops[0].Component != "tcpip" || res.Drops[0].Host != "host1" {
		t.Errorf("drop at %s/%s", res.Drops[0].Host, res.Drops[0].Component)
	}
}

// TestNATHairpin: another container reaches web through the host's IP and
// published port (supported); the host itself cannot (WinNAT limit 4).
func TestNATHairpin(t *testing.T) {
	f := newNAT(t, fabric.Options{})
	gw := gatewayMAC(t, f)
	var res fabric.Outcome
	syn := emutest.TCP4(t, macWeb2, gw, "172.16.0.3", "10.0.0.4", 41000, 8082, true, nil)
	f.Inject(port(t, f, "host1/web2"), syn, 0, &res)
	d := only(t, f, &res, "host1/web")
	if d.IPv4.DstIP.String() != "172.16.0.2" || d.TCP.DstPort != 80 {
		t.Errorf("hairpin to %s:%d, want 172.16.0.2:80", d.IPv4.DstIP, d.TCP.DstPort)
	}
	if d.IPv4.SrcIP.String() != "10.0.0.4" {
		t.Errorf("hairpin source %s, want the external address 10.0.0.4", d.IPv4.SrcIP)
	}
	sport := uint16(d.TCP.SrcPort)
	// The reply goes back to web2 through both sessions.
	synack := emutest.Serialize(t, emutest.Eth(macWeb, gw, layers.EthernetTypeIPv4), emutest.IPv4("172.16.0.2", "10.0.0.4", layers.IPProtocolTCP, 128),
		&layers.TCP{SrcPort: 80, DstPort: layers.TCPPort(sport), SYN: true, ACK: true, Seq: 5, Ack: 1001, Window: 1000})
	f.Inject(port(t, f, "host1/web"), synack, 1, &res)
	d = only(t, f, &res, "host1/web2")
	if d.IPv4.SrcIP.String() != "10.0.0.4" || d.TCP.SrcPort != 8082 || d.IPv4.DstIP.String() != "172.16.0.3" || d.TCP.DstPort != 41000 {
		t.Errorf("hairpin reply %s:%d > %s:%d, want 10.0.0.4:8082 > 172.16.0.3:41000", d.IPv4.SrcIP, d.TCP.SrcPort, d.IPv4.DstIP, d.TCP.DstPort)
	}

	for _, dst := range []string{"10.0.0.4", "127.0.0.1"} {
		fromHost := emutest.TCP4(t, macHost, macHost, "10.0.0.4", dst, 42000, 8082, true, nil)
		f.Inject(port(t, f, "host1/host"), fromHost, 2, &res)
		dropped(t, &res, drop.NATHostHairpin)
	}
	// The host can use the internal address.
	direct := emutest.TCP4(t, macHost, macHost, "172.16.0.1", "172.16.0.2", 42000, 80, true, nil)
	f.Inject(port(t, f, "host1/host"), direct, 3, &res)
	d = only(t, f, &res, "host1/web")
	if d.TCP.DstPort != 80 || d.IPv4.TTL != 64 {
		t.Errorf("host to internal: dport %d ttl %d, want 80, 64 (not forwarded)", d.TCP.DstPort, d.IPv4.TTL)
	}
}

func TestNATIPv6Dropped(t *testing.T) {
	f := newNAT(t, fabric.Options{})
	gw := gatewayMAC(t, f)
	var res fabric.Outcome
	v6 := emutest.Serialize(t, emutest.Eth(macWeb, gw, layers.EthernetTypeIPv6),
		emutest.IPv6("fd00::2", "2001:db8::10", layers.IPProtocolUDP, 64), &layers.UDP{SrcPort: 1, DstPort: 2}, gopacket.Payload([]byte("x")))
	f.Inject(port(t, f, "host1/web"), v6, 0, &res)
	dropped(t, &res, drop.NATIPv6)
}

func TestNATEchoAndTTLExceeded(t *testing.T) {
	f := newNAT(t, fabric.Options{})
	gw := gatewayMAC(t, f)
	var res fabric.Outcome
	echo := emutest.Echo4(t, macWeb, gw, "172.16.0.2", "198.18.0.10", 0x1234, 1, false)
	f.Inject(port(t, f, "host1/web"), echo, 0, &res)
	d := only(t, f, &res, "server")
	if d.IPv4.SrcIP.String() != "10.0.0.4" {
		t.Errorf("echo source %s, want 10.0.0.4", d.IPv4.SrcIP)
	}
	id := d.ICMP.Id
	reply := emutest.Echo4(t, macServer, macRouter, "198.18.0.10", "10.0.0.4", id, 1, true)
	f.Inject(port(t, f, "server"), reply, 1, &res)
	d = only(t, f, &res, "host1/web")
	if d.ICMP.Id != 0x1234 || d.IPv4.DstIP.String() != "172.16.0.2" {
		t.Errorf("echo reply id %#x to %s, want 0x1234 to 172.16.0.2", d.ICMP.Id, d.IPv4.DstIP)
	}

	// TTL 1 from the container: the host drops it and says so with ICMP
	// time exceeded from the gateway address, TTL 128 (Windows' default).
	ip := emutest.IPv4("172.16.0.2", "198.18.0.10", layers.IPProtocolUDP, 1)
	low := emutest.Serialize(t, emutest.Eth(macWeb, gw, layers.EthernetTypeIPv4), ip, &layers.UDP{SrcPort: 5, DstPort: 6}, gopacket.Payload([]byte("abc")))
	f.Inject(port(t, f, "host1/web"), low, 2, &res)
	d = only(t, f, &res, "host1/web")
	if d.ICMP == nil || d.ICMP.TypeCode.Type() != layers.ICMPv4TypeTimeExceeded || d.IPv4.SrcIP.String() != "172.16.0.1" || d.IPv4.TTL != 128 {
		t.Fatalf("got %v, want ICMP time exceeded from 172.16.0.1 ttl 128", d.Packet)
	}
	if len(res.Drops) != 1 || res.Drops[0].Reason != drop.TTLExceeded {
		t.Errorf("drops %+v, want ttl-exceeded", res.Drops)
	}
}

var sinkOutcome fabric.Outcome

func TestNATNoAllocs(t *testing.T) {
	f := newNAT(t, fabric.Options{})
	gw := gatewayMAC(t, f)
	req := emutest.UDP4(t, macWeb, gw, "172.16.0.2", "198.18.0.10", 40000, 53, make([]byte, 18))
	web := port(t, f, "host1/web")
	f.Inject(web, req, 0, &sinkOutcome)
	now := int64(1)
	n := testing.AllocsPerRun(1000, func() {
		now++
		f.Inject(web, req, now, &sinkOutcome)
	})
	if n != 0 {
		t.Fatalf("Inject allocs = %v per packet, want 0", n)
	}
	if len(sinkOutcome.Outputs) != 1 {
		t.Fatalf("outputs %d", len(sinkOutcome.Outputs))
	}
}
