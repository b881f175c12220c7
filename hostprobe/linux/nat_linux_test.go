package linux

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestBridgeMasqueradeDNAT builds the Linux analogue of an HNS nat network: a container
// namespace behind a bridge with the gateway address, masquerade to the outside and a
// DNAT port mapping, and checks the translated headers and checksums as an outside
// namespace at 198.18.0.10 sees them.
func TestBridgeMasqueradeDNAT(t *testing.T) {
	l := newTestLab(t)
	host, ctr, out := newNS(t, l, "host"), newNS(t, l, "ctr"), newNS(t, l, "out")
	must(t, host.AddBridge("br0"))
	must(t, host.AddVeth("vc", ctr, "eth0"))
	must(t, host.SetMaster("vc", "br0"))
	must(t, host.AddVeth("eth0", out, "eth0"))
	must(t, host.AddAddr("br0", pfx("172.16.0.1/24")))
	must(t, host.AddAddr("eth0", pfx("198.18.0.1/24")))
	must(t, ctr.AddAddr("eth0", pfx("172.16.0.2/24")))
	must(t, out.AddAddr("eth0", pfx("198.18.0.10/24")))
	must(t, host.SetUp("br0", "vc", "eth0"))
	must(t, ctr.SetUp("eth0"))
	must(t, out.SetUp("eth0"))
	must(t, ctr.AddRoute(Route{Dst: pfx("0.0.0.0/0"), Gw: addr("172.16.0.1")}))
	must(t, host.SetSysctl("net.ipv4.ip_forward", "1"))
	// The container's SYN-ACK must carry a final checksum on the wire.
	must(t, ctr.SetOffloads("eth0", false))
	// 198.18.0.200 is excluded from the masquerade (like an OutBoundNAT exception) and
	// caught by a second rule with a fixed address instead.
	must(t, out.AddAddr("eth0", pfx("198.18.0.200/24")))
	must(t, host.AddMasquerade(Masquerade{Name: "snat", OutIface: "eth0", Src: pfx("172.16.0.0/24"), Except: []netip.Prefix{pfx("198.18.0.200/32")}}))
	must(t, host.AddMasquerade(Masquerade{Name: "snat-fixed", OutIface: "eth0", Src: pfx("172.16.0.0/24"), To: addr("198.18.0.77")}))
	must(t, host.AddDNAT(DNAT{Name: "portmap", Proto: ProtoTCP, Dst: addr("198.18.0.1"), DstPort: 8080,
		To: netipAddrPort("172.16.0.2:80"), InIface: "eth0"}))
	must(t, host.AddDNAT(DNAT{Name: "portmap-local", Proto: ProtoTCP, Dst: addr("198.18.0.1"), DstPort: 8081,
		To: netipAddrPort("172.16.0.2:80"), Local: true}))
	must(t, host.AddFilter(FilterRule{Name: "no-7777-out", Hook: HookForward, Iface: "eth0", Dir: Out,
		Dst: []netip.Prefix{pfx("198.18.0.0/24")}, Proto: ProtoUDP, DstPorts: []PortRange{Port(7777)}, Action: Drop}))

	must(t, l.WaitReady(5*time.Second))
	// A listener in the container answers the mapped SYN.
	var ln net.Listener
	must(t, ctr.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", "172.16.0.2:80")
		return err
	}))
	defer ln.Close()

	macBr, macHostOut, macCtr, macOut := mac(t, host, "br0"), mac(t, host, "eth0"), mac(t, ctr, "eth0"), mac(t, out, "eth0")
	c, err := l.NewCapturer(CapturePoint{ctr, "eth0"}, CapturePoint{out, "eth0"})
	must(t, err)
	injCtr, err := ctr.NewInjector("eth0")
	must(t, err)
	injOut, err := out.NewInjector("eth0")
	must(t, err)

	eth, ip := ethIPv4(macCtr, macBr, "172.16.0.2", "198.18.0.10", layers.IPProtocolUDP)
	udpOut := serialize(t, eth, ip, &layers.UDP{SrcPort: 5353, DstPort: 9999}, gopacket.Payload("outbound"))
	eth, ip = ethIPv4(macOut, macHostOut, "198.18.0.10", "198.18.0.1", layers.IPProtocolTCP)
	syn := serialize(t, eth, ip, &layers.TCP{SrcPort: 40000, DstPort: 8080, Seq: 1000, SYN: true, Window: 64240})

	l4 := func(p gopacket.Packet) (src, dst net.IP, sport, dport uint16, ttl uint8) {
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if ip == nil {
			return
		}
		switch x := p.TransportLayer().(type) {
		case *layers.TCP:
			sport, dport = uint16(x.SrcPort), uint16(x.DstPort)
		case *layers.UDP:
			sport, dport = uint16(x.SrcPort), uint16(x.DstPort)
		}
		return ip.SrcIP, ip.DstIP, sport, dport, ip.TTL
	}
	tuple := func(src string, sport uint16, dst string, dport uint16, ttl uint8) func(*testing.T, gopacket.Packet) {
		return func(t *testing.T, p gopacket.Packet) {
			t.Helper()
			s, d, sp, dp, tl := l4(p)
			if !s.Equal(ip4(src)) || !d.Equal(ip4(dst)) || sp != sport || dp != dport || tl != ttl {
				t.Errorf("got %v:%d -> %v:%d ttl %d, want %s:%d -> %s:%d ttl %d", s, sp, d, dp, tl, src, sport, dst, dport, ttl)
			}
			checkChecksums(t, p)
		}
	}

	t.Run("masquerade", func(t *testing.T) {
		must(t, injCtr.Inject(udpOut))
		fs := drain(t, c)
		// Outside: the host resolves 198.18.0.10, then forwards the datagram with the source
		// translated to its own outside address; the port is kept (no clash), TTL 64-1.
		var gotOut []Frame
		for _, f := range ipv4Frames(fs.On("out/eth0")) {
			if decode(f.Data).Layer(layers.LayerTypeUDP) != nil && f.Dir == In {
				gotOut = append(gotOut, f)
			}
		}
		expectSeq(t, "out/eth0 (udp in)", gotOut, []step{{In, "translated datagram", tuple("198.18.0.1", 5353, "198.18.0.10", 9999, 63)}})
		// Inside: the outside's port unreachable comes back through conntrack, addressed to
		// the container, and the datagram it quotes is translated back too.
		var gotIn []Frame
		for _, f := range ipv4Frames(fs.On("ctr/eth0")) {
			if decode(f.Data).Layer(layers.LayerTypeICMPv4) != nil {
				gotIn = append(gotIn, f)
			}
		}
		expectSeq(t, "ctr/eth0 (icmp)", gotIn, []step{{In, "port unreachable, de-NATed", func(t *testing.T, p gopacket.Packet) {
			t.Helper()
			ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			if !ip.SrcIP.Equal(ip4("198.18.0.10")) || !ip.DstIP.Equal(ip4("172.16.0.2")) || ip.TTL != 63 {
				t.Errorf("got %v -> %v ttl %d, want 198.18.0.10 -> 172.16.0.2 ttl 63", ip.SrcIP, ip.DstIP, ip.TTL)
			}
			checkChecksums(t, p)
			ic := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			inner := gopacket.NewPacket(ic.Payload, layers.LayerTypeIPv4, gopacket.Default)
			iip, _ := inner.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			iudp, _ := inner.Layer(layers.LayerTypeUDP).(*layers.UDP)
			if iip == nil || iudp == nil {
				t.Errorf("quoted: got %v, want IPv4/UDP", inner.Layers())
				return
			}
			if !iip.SrcIP.Equal(ip4("172.16.0.2")) || iudp.SrcPort != 5353 || !iip.DstIP.Equal(ip4("198.18.0.10")) || iudp.DstPort != 9999 {
				t.Errorf("quoted: got %v:%d -> %v:%d, want 172.16.0.2:5353 -> 198.18.0.10:9999", iip.SrcIP, iudp.SrcPort, iip.DstIP, iudp.DstPort)
			}
		}}})
		ctr, err := host.Counter("snat")
		must(t, err)
		// NAT chains only see the first packet of a connection (the rest follow conntrack).
		if ctr.Packets != 1 || ctr.Chain != "postrouting" {
			t.Errorf("counter snat: got %d packets in %q, want 1 in postrouting", ctr.Packets, ctr.Chain)
		}
	})

	t.Run("dnat", func(t *testing.T) {
		must(t, injOut.Inject(syn))
		fs := drain(t, c)
		tcpOnly := func(fs []Frame, dir Direction) []Frame {
			var out []Frame
			for _, f := range fs {
				if f.Dir != dir {
					continue
				}
				if tcp, ok := decode(f.Data).Layer(layers.LayerTypeTCP).(*layers.TCP); ok && tcp.SYN {
					out = append(out, f)
				}
			}
			return out
		}
		expectSeq(t, "ctr/eth0 (syn in)", tcpOnly(fs.On("ctr/eth0"), In), []step{{In, "syn to the container", func(t *testing.T, p gopacket.Packet) {
			t.Helper()
			tuple("198.18.0.10", 40000, "172.16.0.2", 80, 63)(t, p)
			if e := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); !bytes.Equal(e.DstMAC, macCtr) || !bytes.Equal(e.SrcMAC, macBr) {
				t.Errorf("got eth %v -> %v, want %v -> %v", e.SrcMAC, e.DstMAC, macBr, macCtr)
			}
		}}})
		expectSeq(t, "out/eth0 (syn-ack in)", tcpOnly(fs.On("out/eth0"), In), []step{{In, "syn-ack from the mapped port", func(t *testing.T, p gopacket.Packet) {
			t.Helper()
			tuple("198.18.0.1", 8080, "198.18.0.10", 40000, 63)(t, p)
			tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if !tcp.SYN || !tcp.ACK || tcp.Ack != 1001 {
				t.Errorf("got syn=%v ack=%v ack#=%d, want a SYN-ACK acknowledging 1001", tcp.SYN, tcp.ACK, tcp.Ack)
			}
		}}})
		for _, f := range fs.On("out/eth0") {
			if f.ChecksumPartial {
				t.Errorf("%s: got a partial checksum with offloads off", describe(f))
			}
		}
		ctr, err := host.Counter("portmap")
		must(t, err)
		if ctr.Packets != 1 || ctr.Chain != "prerouting" {
			t.Errorf("counter portmap: got %d packets in %q, want 1 in prerouting", ctr.Packets, ctr.Chain)
		}
	})

	udpTo := func(dst string, dport uint16) []byte {
		eth, ip := ethIPv4(macCtr, macBr, "172.16.0.2", dst, layers.IPProtocolUDP)
		return serialize(t, eth, ip, &layers.UDP{SrcPort: 5354, DstPort: layers.UDPPort(dport)}, gopacket.Payload("x"))
	}
	udpIn := func(fs Frames) []Frame {
		var out []Frame
		for _, f := range fs.On("out/eth0") {
			if decode(f.Data).Layer(layers.LayerTypeUDP) != nil && f.Dir == In {
				out = append(out, f)
			}
		}
		return out
	}

	t.Run("except and fixed snat", func(t *testing.T) {
		must(t, injCtr.Inject(udpTo("198.18.0.200", 9999)))
		expectSeq(t, "out/eth0 (udp in)", udpIn(drain(t, c)), []step{{In, "datagram from the fixed address",
			tuple("198.18.0.77", 5354, "198.18.0.200", 9999, 63)}})
		for name, want := range map[string]uint64{"snat": 1, "snat-fixed": 1} {
			if got, err := host.Counter(name); err != nil || got.Packets != want {
				t.Errorf("counter %s: got %+v, %v; want %d packets", name, got, err, want)
			}
		}
	})

	t.Run("forward filter out", func(t *testing.T) {
		must(t, injCtr.Inject(udpTo("198.18.0.10", 7777)))
		expectSeq(t, "out/eth0 (udp in)", udpIn(drain(t, c)), nil)
		if got, err := host.Counter("no-7777-out"); err != nil || got.Packets != 1 || got.Chain != "forward" {
			t.Errorf("counter no-7777-out: got %+v, %v; want 1 packet in forward", got, err)
		}
	})

	// Packets the host namespace sends itself only see the nat output chain: the mapping
	// with Local reaches the container, the one without does not (Windows NAT has no
	// such loopback either, docs/design.md section 3).
	t.Run("local dnat", func(t *testing.T) {
		tests := []struct {
			port    string
			wantErr bool
		}{{"8081", false}, {"8080", true}}
		for _, tt := range tests {
			err := host.Do(func() error {
				conn, err := net.DialTimeout("tcp4", "198.18.0.1:"+tt.port, 2*time.Second)
				if err == nil {
					conn.Close()
				}
				return err
			})
			if (err != nil) != tt.wantErr {
				t.Errorf("dial 198.18.0.1:%s from the host: got %v, want error %v", tt.port, err, tt.wantErr)
			}
		}
		drain(t, c)
	})
}
