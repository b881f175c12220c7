package linux

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestVethKernelReplies injects frames into one end of a veth pair with AF_PACKET and
// checks, decoded by gopacket, what the kernel in the other namespace answers: ARP to
// resolve the sender, then an echo reply (RFC 792) or a port unreachable quoting the
// datagram (RFC 792; RFC 1122 section 3.2.2.1).
func TestVethKernelReplies(t *testing.T) {
	l := newTestLab(t)
	a, b := newNS(t, l, "a"), newNS(t, l, "b")
	must(t, a.AddVeth("eth0", b, "eth0"))
	must(t, a.AddAddr("eth0", pfx("10.0.0.1/24")))
	must(t, b.AddAddr("eth0", pfx("10.0.0.2/24")))
	must(t, a.SetUp("eth0"))
	must(t, b.SetUp("eth0"))
	must(t, l.WaitReady(5*time.Second))
	macA, macB := mac(t, a, "eth0"), mac(t, b, "eth0")

	c, err := l.NewCapturer(CapturePoint{a, "eth0"}, CapturePoint{b, "eth0"})
	must(t, err)
	inj, err := a.NewInjector("eth0")
	must(t, err)
	if got, want := inj.Point(), "a/eth0"; got != want {
		t.Errorf("Point() = %q, want %q", got, want)
	}

	payload := []byte("hnspath probe")
	eth, ip := ethIPv4(macA, macB, "10.0.0.1", "10.0.0.2", layers.IPProtocolICMPv4)
	echo := serialize(t, eth, ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 0x4242, Seq: 7}, gopacket.Payload(payload))
	eth, ip = ethIPv4(macA, macB, "10.0.0.1", "10.0.0.2", layers.IPProtocolUDP)
	udp := serialize(t, eth, ip, &layers.UDP{SrcPort: 40000, DstPort: 9}, gopacket.Payload(payload))

	arpReq := func(t *testing.T, p gopacket.Packet) {
		t.Helper()
		e := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		arp, _ := p.Layer(layers.LayerTypeARP).(*layers.ARP)
		if arp == nil {
			t.Errorf("got %v, want ARP request", p.Layers())
			return
		}
		if e.DstMAC.String() != "ff:ff:ff:ff:ff:ff" || arp.Operation != layers.ARPRequest ||
			!bytes.Equal(arp.SourceHwAddress, macB) || !net.IP(arp.SourceProtAddress).Equal(ip4("10.0.0.2")) ||
			!net.IP(arp.DstProtAddress).Equal(ip4("10.0.0.1")) {
			t.Errorf("got ARP op %d %v/%v -> %v (eth dst %v), want request 10.0.0.2/%v asking for 10.0.0.1 to broadcast",
				arp.Operation, net.HardwareAddr(arp.SourceHwAddress), net.IP(arp.SourceProtAddress), net.IP(arp.DstProtAddress), e.DstMAC, macB)
		}
	}
	arpRep := func(t *testing.T, p gopacket.Packet) {
		t.Helper()
		arp, _ := p.Layer(layers.LayerTypeARP).(*layers.ARP)
		if arp == nil {
			t.Errorf("got %v, want ARP reply", p.Layers())
			return
		}
		if arp.Operation != layers.ARPReply || !bytes.Equal(arp.SourceHwAddress, macA) || !net.IP(arp.SourceProtAddress).Equal(ip4("10.0.0.1")) {
			t.Errorf("got ARP op %d %v is-at %v, want reply 10.0.0.1 is-at %v", arp.Operation, net.IP(arp.SourceProtAddress), net.HardwareAddr(arp.SourceHwAddress), macA)
		}
	}
	exact := func(want []byte) func(*testing.T, gopacket.Packet) {
		return func(t *testing.T, p gopacket.Packet) {
			t.Helper()
			if !bytes.Equal(p.Data(), want) {
				t.Errorf("got frame % x, want the injected % x", p.Data(), want)
			}
		}
	}
	fromB := func(t *testing.T, p gopacket.Packet) {
		t.Helper()
		e := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if ip == nil {
			t.Errorf("got %v, want IPv4", p.Layers())
			return
		}
		if !bytes.Equal(e.SrcMAC, macB) || !bytes.Equal(e.DstMAC, macA) {
			t.Errorf("got eth %v -> %v, want %v -> %v", e.SrcMAC, e.DstMAC, macB, macA)
		}
		if !ip.SrcIP.Equal(ip4("10.0.0.2")) || !ip.DstIP.Equal(ip4("10.0.0.1")) || ip.TTL != 64 {
			t.Errorf("got ip %v -> %v ttl %d, want 10.0.0.2 -> 10.0.0.1 ttl 64", ip.SrcIP, ip.DstIP, ip.TTL)
		}
		checkChecksums(t, p)
	}
	echoReply := func(t *testing.T, p gopacket.Packet) {
		t.Helper()
		fromB(t, p)
		ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		if ic == nil {
			t.Errorf("got %v, want ICMPv4", p.Layers())
			return
		}
		if ic.TypeCode.Type() != layers.ICMPv4TypeEchoReply || ic.Id != 0x4242 || ic.Seq != 7 || !bytes.Equal(ic.Payload, payload) {
			t.Errorf("got %v id %#x seq %d payload %q, want echo reply id 0x4242 seq 7 payload %q", ic.TypeCode, ic.Id, ic.Seq, ic.Payload, payload)
		}
	}
	portUnreachable := func(t *testing.T, p gopacket.Packet) {
		t.Helper()
		fromB(t, p)
		ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		if ic == nil {
			t.Errorf("got %v, want ICMPv4", p.Layers())
			return
		}
		if ic.TypeCode != layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort) {
			t.Errorf("got %v, want destination unreachable (port)", ic.TypeCode)
		}
		inner := gopacket.NewPacket(ic.Payload, layers.LayerTypeIPv4, gopacket.Default)
		iip, _ := inner.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		iudp, _ := inner.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if iip == nil || iudp == nil {
			t.Errorf("quoted packet: got %v, want IPv4/UDP", inner.Layers())
			return
		}
		if !iip.SrcIP.Equal(ip4("10.0.0.1")) || !iip.DstIP.Equal(ip4("10.0.0.2")) || iudp.SrcPort != 40000 || iudp.DstPort != 9 {
			t.Errorf("quoted packet: got %v:%d -> %v:%d, want 10.0.0.1:40000 -> 10.0.0.2:9", iip.SrcIP, iudp.SrcPort, iip.DstIP, iudp.DstPort)
		}
	}

	tests := []struct {
		name         string
		frame        []byte
		wantA, wantB []step
	}{
		{
			name:  "icmp echo, sender unresolved",
			frame: echo,
			// The injected frame is not recorded as Out on a/eth0 (PACKET_QDISC_BYPASS).
			wantA: []step{{In, "arp request", arpReq}, {Out, "arp reply", arpRep}, {In, "echo reply", echoReply}},
			wantB: []step{{In, "echo request", exact(echo)}, {Out, "arp request", arpReq}, {In, "arp reply", arpRep}, {Out, "echo reply", echoReply}},
		},
		{
			name:  "udp to closed port, sender resolved",
			frame: udp,
			wantA: []step{{In, "port unreachable", portUnreachable}},
			wantB: []step{{In, "udp", exact(udp)}, {Out, "port unreachable", portUnreachable}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			must(t, inj.Inject(tt.frame))
			fs := drain(t, c)
			expectSeq(t, "a/eth0", ipv4Frames(fs.On("a/eth0")), tt.wantA)
			expectSeq(t, "b/eth0", ipv4Frames(fs.On("b/eth0")), tt.wantB)
			for _, f := range fs {
				if f.Time.IsZero() || f.OrigLen != len(f.Data) {
					t.Errorf("%s: got time %v, orig len %d for %d bytes, want a timestamp and no truncation", describe(f), f.Time, f.OrigLen, len(f.Data))
				}
			}
		})
	}
	if err := inj.Inject([]byte{1, 2, 3}); err == nil {
		t.Errorf("Inject(3 bytes) = nil, want an error")
	}
	drops, err := c.Drops()
	must(t, err)
	for p, d := range drops {
		if d != 0 {
			t.Errorf("Drops()[%s] = %d, want 0", p, d)
		}
	}
}
