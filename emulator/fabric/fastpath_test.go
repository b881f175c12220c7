package fabric_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/host"
)

// TestFastPathMatchesSlowPath drives the same random mix of inputs through
// a fabric with the hosts' flow caches and one without, and requires the
// same outcome for every input, byte for byte: outputs, drops with their
// component, place and reason, and in the end the same WinNAT sessions
// and counters. The slow path is the oracle. The mix has what the cache
// must not get wrong: TCP handshakes, data, FIN and RST, UDP, ICMP echo,
// replies, idle gaps that expire sessions, frames over the MTU, TTL 1 and
// 2, fragments, a corrupt IPv4 checksum, IP options, VLAN tags, a spoofed
// source MAC, frames to another container's MAC, flows to an on-link peer,
// through the router and to a published port (hairpin), the router's MAC
// changing by ARP, and configuration changes (a route, a neighbour, the
// vNIC MTU, forwarding, an endpoint removed), each followed at once by the
// last flow the cache forwarded. Hop budgets from 1 to 4 (and the default)
// run it, since the cache charges the hops the slow path would.
func TestFastPathMatchesSlowPath(t *testing.T) {
	for _, hops := range []int{0, 1, 2, 3, 4} {
		t.Run(fmt.Sprintf("hops=%d", hops), func(t *testing.T) { fastVsSlow(t, hops) })
	}
}

func fastVsSlow(t *testing.T, hops int) {
	topo := loadTopology(t, "testdata/nat.json")
	fast, err := fabric.New(topo, fabric.Options{HopLimit: hops})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := fabric.New(topo, fabric.Options{HopLimit: hops, NoFastPath: true})
	if err != nil {
		t.Fatal(err)
	}
	gw := gatewayMAC(t, newNAT(t, fabric.Options{})) // the same in every fabric of the topology
	r := rand.New(rand.NewPCG(42, uint64(hops)))
	now := int64(time.Second)
	var a, b fabric.Outcome
	const inputs = 30000
	// Configuration changes at fixed points, each followed by the last
	// input the cache forwarded, which must now take the new path.
	changes := map[int]func(f *fabric.Fabric){
		inputs / 6: func(f *fabric.Fabric) { // a more specific route: 198.18.0.10 via the client
			h, _ := f.Host("host1")
			ifi, _ := h.Stack.IfaceByName("eth0")
			h.Stack.AddRoute(host.Route{Prefix: netip.MustParsePrefix("198.18.0.10/32"), NextHop: netip.MustParseAddr("10.0.0.99"), Iface: ifi, Metric: 1})
		},
		2 * inputs / 6: func(f *fabric.Fabric) { // the client's MAC changes
			h, _ := f.Host("host1")
			h.Stack.AddNeighbor(netip.MustParseAddr("10.0.0.99"), header.MAC{2, 0, 0, 0, 0, 0x77})
		},
		3 * inputs / 6: func(f *fabric.Fabric) { // the container's vNIC MTU shrinks
			h, _ := f.Host("host1")
			ei, _ := h.EndpointByName("web")
			h.SetEndpointMTU(ei, 100)
		},
		4 * inputs / 6: func(f *fabric.Fabric) { // the host stops forwarding for the nat network
			h, _ := f.Host("host1")
			ifi, _ := h.Stack.IfaceByName("vEthernet (nat)")
			h.Stack.SetForwarding(ifi, false)
		},
		5 * inputs / 6: func(f *fabric.Fabric) {
			if err := f.RemoveEndpoint("host1", "web2"); err != nil {
				t.Fatal(err)
			}
		},
	}
	var lastAt string
	var lastHit []byte
	inboundHits := 0
	hf, _ := fast.Host("host1")
	hs, _ := slow.Host("host1")
	for i := 0; i < inputs; i++ {
		now += int64(r.IntN(5)) * int64(100*time.Millisecond)
		if r.IntN(500) == 0 {
			now += int64(125 * time.Second) // UDP and TCP-transient sessions expire
		}
		sport := uint16(40000 + r.IntN(40))
		src, srcMAC, at := "172.16.0.2", macWeb, "host1/web"
		if r.IntN(4) == 0 {
			src, srcMAC, at = "172.16.0.3", macWeb2, "host1/web2"
		}
		dst := "198.18.0.10"
		switch r.IntN(8) {
		case 0:
			dst = "10.0.0.99" // on-link client
		case 1:
			dst = "10.0.0.4" // the host's address: hairpin to the published port
		}
		dstMAC := gw
		switch r.IntN(40) {
		case 0:
			dstMAC = macWeb2 // another container's MAC
		case 1:
			srcMAC = macClient // spoofed
		}
		ttl := uint8(1 + r.IntN(64))
		var frame []byte
		switch k := r.IntN(12); {
		case k < 3:
			frame = emutest.Serialize(t, emutest.Eth(srcMAC, dstMAC, layers.EthernetTypeIPv4), emutest.IPv4(src, dst, layers.IPProtocolUDP, ttl),
				&layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: 53}, gopacket.Payload(make([]byte, r.IntN(40))))
		case k < 5:
			tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: 443, Seq: 1, Window: 100}
			if r.IntN(3) == 0 {
				tcp.DstPort = 8082
			}
			switch r.IntN(5) {
			case 0:
				tcp.SYN = true
			case 1:
				tcp.FIN, tcp.ACK = true, true
			case 2:
				tcp.RST = true
			default:
				tcp.ACK = true
			}
			frame = emutest.Serialize(t, emutest.Eth(srcMAC, dstMAC, layers.EthernetTypeIPv4), emutest.IPv4(src, dst, layers.IPProtocolTCP, ttl), tcp)
		case k < 6:
			frame = emutest.Echo4(t, srcMAC, dstMAC, src, dst, sport, uint16(i), false)
		case k < 7:
			size := 1480 // over the MTU
			if r.IntN(2) == 0 {
				size = 100 + r.IntN(500) // over the vNIC MTU once it shrinks
			}
			frame = emutest.UDP4(t, srcMAC, dstMAC, src, dst, sport, 53, make([]byte, size))
		case k < 8:
			// Odd frames of a known flow: fragment, bad checksum, options, VLAN tag.
			frame = emutest.UDP4(t, srcMAC, dstMAC, src, dst, sport, 53, []byte("odd"))
			switch r.IntN(4) {
			case 0:
				frame[14+6] |= 0x20 // more fragments
				fixIPv4Checksum(frame[14:])
			case 1:
				frame[14+10] ^= 0x55 // corrupt checksum
			case 2:
				frame = withIPOption(frame)
			case 3:
				frame = withVLAN(frame, uint16(r.IntN(3)))
			}
		case k < 9 && i%97 == 0:
			// The router's MAC changes (an ARP reply from a new MAC), and changes back.
			mac := macRouter
			if r.IntN(2) == 0 {
				mac = "02:00:00:00:00:0a"
			}
			at = "client"
			frame = emutest.Serialize(t, emutest.Eth(macClient, macHost, layers.EthernetTypeARP),
				&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
					Operation: layers.ARPReply, SourceHwAddress: emutest.MAC(mac), SourceProtAddress: emutest.IP("10.0.0.1"),
					DstHwAddress: emutest.MAC(macHost), DstProtAddress: emutest.IP("10.0.0.4")})
		default:
			// A reply from outside to a port WinNAT may have chosen.
			at = "server"
			from, fromMAC, toMAC := "198.18.0.10", macServer, macRouter
			if r.IntN(2) == 0 {
				at, from, fromMAC, toMAC = "client", "10.0.0.99", macClient, macHost
			}
			frame = emutest.UDP4(t, fromMAC, toMAC, from, "10.0.0.4", 53, uint16(49152+r.IntN(60)), []byte("r"))
			if r.IntN(2) == 0 {
				// To the published port (web:80 as 10.0.0.4:8082, TCP), a new
				// flow or one of a few known ones.
				tcp := &layers.TCP{SrcPort: layers.TCPPort(50000 + r.IntN(20)), DstPort: 8082, Seq: 1, Window: 100}
				switch r.IntN(5) {
				case 0:
					tcp.SYN = true
				case 1:
					tcp.FIN, tcp.ACK = true, true
				default:
					tcp.ACK = true
				}
				frame = emutest.Serialize(t, emutest.Eth(fromMAC, toMAC, layers.EthernetTypeIPv4), emutest.IPv4(from, "10.0.0.4", layers.IPProtocolTCP, ttl), tcp,
					gopacket.Payload(make([]byte, r.IntN(3)*100))) // over the vNIC MTU once it shrinks
			}
		}
		hits := hf.FastPathHits()
		fast.Inject(port(t, fast, at), frame, now, &a)
		slow.Inject(port(t, slow, at), frame, now, &b)
		sameOutcome(t, i, at, fast, &a, &b)
		if hf.FastPathHits() > hits {
			lastAt, lastHit = at, frame
			if at == "server" || at == "client" {
				inboundHits++
			}
		}
		if change := changes[i]; change != nil {
			change(fast)
			change(slow)
			if lastHit == nil && hops != 1 {
				t.Fatalf("input %d: no input was forwarded by the flow cache before the change", i)
			}
			if lastHit == nil {
				continue
			}
			hits := hf.FastPathHits()
			fast.Inject(port(t, fast, lastAt), lastHit, now, &a)
			slow.Inject(port(t, slow, lastAt), lastHit, now, &b)
			sameOutcome(t, i, lastAt+" after the change", fast, &a, &b)
			if hf.FastPathHits() != hits {
				t.Fatalf("input %d: the flow cache forwarded a flow right after a configuration change", i)
			}
		}
	}
	if !reflect.DeepEqual(hf.NAT().Stats(), hs.NAT().Stats()) {
		t.Errorf("WinNAT counters differ:\nfast %+v\nslow %+v", hf.NAT().Stats(), hs.NAT().Stats())
	}
	if !reflect.DeepEqual(hf.NAT().Sessions(), hs.NAT().Sessions()) {
		t.Errorf("WinNAT sessions differ")
	}
	if hs.FastPathHits() != 0 {
		t.Errorf("the fabric without flow cache used it %d times", hs.FastPathHits())
	}
	hits := hf.FastPathHits()
	if hops != 1 && hits < inputs/20 {
		t.Fatalf("the flow cache forwarded only %d of %d inputs; the test does not exercise it", hits, inputs)
	}
	if (hops == 0 || hops > 2) && inboundHits < inputs/100 { // with 2, the underlay hop leaves too few for the host
		t.Fatalf("the flow cache forwarded only %d inputs from outside; the test does not exercise its inbound paths", inboundHits)
	}
	t.Logf("flow cache hits: %d of %d inputs (%d from outside)", hits, inputs, inboundHits)
}

func sameOutcome(t *testing.T, i int, at string, f *fabric.Fabric, a, b *fabric.Outcome) {
	t.Helper()
	if len(a.Outputs) != len(b.Outputs) || len(a.Drops) != len(b.Drops) {
		t.Fatalf("input %d at %s: fast %d outputs %d drops %+v, slow %d outputs %d drops %+v", i, at,
			len(a.Outputs), len(a.Drops), a.Drops, len(b.Outputs), len(b.Drops), b.Drops)
	}
	for j := range a.Outputs {
		x, y := a.Outputs[j], b.Outputs[j]
		if x.Port != y.Port || x.Kind != y.Kind || !bytes.Equal(x.Frame, y.Frame) {
			t.Fatalf("input %d at %s, output %d differs:\nfast %s %v % x\nslow %s %v % x", i, at, j,
				f.Port(x.Port).Name, x.Kind, x.Frame, f.Port(y.Port).Name, y.Kind, y.Frame)
		}
	}
	for j := range a.Drops {
		x, y := a.Drops[j], b.Drops[j]
		if x.Port != y.Port || x.Host != y.Host || x.Component != y.Component || x.Where != y.Where || x.Reason != y.Reason ||
			!bytes.Equal(x.Frame, y.Frame) {
			t.Fatalf("input %d at %s, drop %d differs:\nfast %+v\nslow %+v", i, at, j, x, y)
		}
	}
}

// fixIPv4Checksum recomputes the checksum of the IPv4 header at ip.
func fixIPv4Checksum(ip []byte) {
	ihl := int(ip[0]&0x0f) * 4
	ip[10], ip[11] = 0, 0
	var sum uint32
	for i := 0; i < ihl; i += 2 {
		sum += uint32(ip[i])<<8 | uint32(ip[i+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	c := ^uint16(sum)
	ip[10], ip[11] = byte(c>>8), byte(c)
}

// withIPOption returns frame (Ethernet + IPv4 without options) with a
// 4-byte IPv4 option (NOP NOP NOP EOL), lengths and checksum fixed. The
// transport checksum does not cover IP options, so it stays valid.
func withIPOption(frame []byte) []byte {
	out := append([]byte(nil), frame[:14+20]...)
	out = append(out, 1, 1, 1, 0)
	out = append(out, frame[14+20:]...)
	ip := out[14:]
	ip[0] = 0x46
	tl := int(ip[2])<<8 | int(ip[3]) + 4
	ip[2], ip[3] = byte(tl>>8), byte(tl)
	fixIPv4Checksum(ip)
	return out
}

// withVLAN returns frame with an 802.1Q tag of VLAN vid.
func withVLAN(frame []byte, vid uint16) []byte {
	out := append([]byte(nil), frame[:12]...)
	out = append(out, 0x81, 0x00, byte(vid>>8), byte(vid))
	return append(out, frame[12:]...)
}

// FuzzFastPath injects random frames, each twice (the second time a flow
// the first made may be cached), at the nat topology's ports of a fabric
// with the flow cache and of one without, and requires the same outcome.
func FuzzFastPath(f *testing.F) {
	gw := gatewayMAC(f, newNAT(f, fabric.Options{}))
	f.Add(uint8(0), uint16(0), emutest.UDP4(f, macWeb, gw, "172.16.0.2", "198.18.0.10", 1000, 53, []byte("x")))
	f.Add(uint8(0), uint16(1), emutest.TCP4(f, macWeb, gw, "172.16.0.2", "10.0.0.99", 40000, 443, true, nil))
	f.Add(uint8(0), uint16(2), emutest.Echo4(f, macWeb, gw, "172.16.0.2", "198.18.0.10", 1, 1, false))
	f.Add(uint8(0), uint16(3), withVLAN(emutest.UDP4(f, macWeb, gw, "172.16.0.2", "198.18.0.10", 1000, 53, []byte("x")), 5))
	f.Add(uint8(0), uint16(4), withIPOption(emutest.UDP4(f, macWeb, gw, "172.16.0.2", "10.0.0.4", 1000, 8082, []byte("x"))))
	fast := newNAT(f, fabric.Options{})
	slow := newNAT(f, fabric.Options{NoFastPath: true})
	var now int64
	f.Fuzz(func(t *testing.T, portIdx uint8, gap uint16, frame []byte) {
		pid := fabric.PortID(int(portIdx) % len(fast.Ports()))
		var a, b fabric.Outcome
		for i := 0; i < 2; i++ {
			now += int64(gap) * 1e6
			fast.Inject(pid, frame, now, &a)
			slow.Inject(pid, frame, now, &b)
			sameOutcome(t, i, fast.Port(pid).Name, fast, &a, &b)
		}
	})
}

// TestFastPathOnlyOnTrackedSwitches: on a host with a nat network and a
// transparent one, the management OS's address lives on a host vNIC of the
// external switch, so WinNAT's traffic crosses a second switch, which the
// flow cache does not track: it must not cache that path. The proof is a
// change on that switch (its external port disabled), after which the
// slow path drops the flow's packets.
func TestFastPathOnlyOnTrackedSwitches(t *testing.T) {
	topo := loadTopology(t, "testdata/nat-transparent.json")
	fast, err := fabric.New(topo, fabric.Options{})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := fabric.New(topo, fabric.Options{NoFastPath: true})
	if err != nil {
		t.Fatal(err)
	}
	gw := gatewayMAC(t, fast)
	frame := emutest.UDP4(t, macWeb, gw, "172.16.0.2", "198.18.0.10", 1000, 53, []byte("x"))
	var a, b fabric.Outcome
	send := func(i int) {
		fast.Inject(port(t, fast, "host1/web"), frame, int64(i), &a)
		slow.Inject(port(t, slow, "host1/web"), frame, int64(i), &b)
		sameOutcome(t, i, "host1/web", fast, &a, &b)
	}
	for i := 0; i < 3; i++ {
		send(i)
	}
	if len(a.Outputs) != 1 {
		t.Fatalf("the flow was not delivered: drops %+v", a.Drops)
	}
	for _, f := range []*fabric.Fabric{fast, slow} {
		h, _ := f.Host("host1")
		for _, sw := range h.Switches {
			if ext := sw.ExternalPort(); ext >= 0 {
				sw.SetPortDisabled(ext, true)
			}
		}
	}
	send(3)
	if len(a.Drops) != 1 {
		t.Fatalf("after disabling the external port: outputs %d, drops %+v, want a drop", len(a.Outputs), a.Drops)
	}
	if h, _ := fast.Host("host1"); h.FastPathHits() != 0 {
		t.Fatalf("the flow cache forwarded %d packets across the external switch", h.FastPathHits())
	}
}
