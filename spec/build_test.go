package spec

import (
	"bytes"
	"encoding/hex"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// testResolver is a topology in miniature: names with a MAC and addresses.
type testResolver map[string]struct{ mac, v4, v6 string }

func (r testResolver) MAC(name string) (net.HardwareAddr, bool) {
	e, ok := r[name]
	if !ok || e.mac == "" {
		return nil, false
	}
	m, err := net.ParseMAC(e.mac)
	return m, err == nil
}

func (r testResolver) IP(name string, v6 bool) (netip.Addr, bool) {
	e, ok := r[name]
	s := e.v4
	if v6 {
		s = e.v6
	}
	if !ok || s == "" {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil
}

var topo = testResolver{
	"client":    {"02:00:00:00:00:99", "10.0.0.99", "fd00::99"},
	"host1":     {"02:00:00:00:00:10", "10.0.0.10", "fd00::10"},
	"host1/web": {"00:15:5d:00:00:02", "172.16.0.2", ""},
	"gw":        {"02:00:00:00:00:01", "10.0.0.1", ""},
	"nomac":     {"", "10.0.0.50", ""},
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func build1(t *testing.T, text string, r Resolver, opts BuildOptions) []byte {
	t.Helper()
	frames, err := Build(MustParse(text), r, opts)
	if err != nil {
		t.Fatalf("Build(%q): %v", text, err)
	}
	if len(frames) != 1 {
		t.Fatalf("Build(%q) made %d frames, want 1", text, len(frames))
	}
	return frames[0]
}

// gp decodes a frame with gopacket, our independent decoder, and checks
// every checksum with gopacket's VerifyChecksum: all must be valid unless
// bad is set, and then at least one must be wrong.
func gp(t *testing.T, frame []byte, bad bool) gopacket.Packet {
	t.Helper()
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("gopacket cannot decode %x: %v", frame, el.Error())
	}
	if got := gpChecksumsBad(t, p.Layers()); got != bad {
		t.Fatalf("gopacket finds bad checksums = %v, want %v", got, bad)
	}
	return p
}

// gpChecksumsBad reports whether gopacket finds a wrong checksum in the
// layers, inner VXLAN frames included.
func gpChecksumsBad(t *testing.T, ls []gopacket.Layer) bool {
	t.Helper()
	var netLayer gopacket.NetworkLayer
	bad := false
	for _, l := range ls {
		switch l := l.(type) {
		case *layers.IPv4:
			netLayer = l
		case *layers.IPv6:
			netLayer = l
		case *layers.TCP:
			l.SetNetworkLayerForChecksum(netLayer)
		case *layers.UDP:
			l.SetNetworkLayerForChecksum(netLayer)
		case *layers.ICMPv6:
			l.SetNetworkLayerForChecksum(netLayer)
		}
		if c, ok := l.(gopacket.LayerWithChecksum); ok {
			err, res := c.VerifyChecksum()
			if err != nil {
				t.Fatalf("gopacket VerifyChecksum(%v): %v", l.LayerType(), err)
			}
			if !res.Valid {
				if u, ok := l.(*layers.UDP); ok && u.Checksum == 0 {
					continue // no checksum (RFC 768)
				}
				bad = true
			}
		}
	}
	return bad
}

// TestBuildWikipediaChecksum checks the IPv4 header against the worked
// example of the "Internet checksum" (Wikipedia, "IPv4 header checksum"):
// 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7.
func TestBuildWikipediaChecksum(t *testing.T) {
	f := build1(t, "ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02) / ipv4(src=192.168.0.1, dst=192.168.0.199, flags=DF, ttl=64) / udp(sport=1, dport=2) / raw(len=87)", nil, BuildOptions{})
	want := mustHex(t, "4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7")
	if got := f[14:34]; !bytes.Equal(got, want) {
		t.Fatalf("IPv4 header = %x, want %x", got, want)
	}
	gp(t, f, false)
}

// TestBuildARPRequest compares with an ARP request written out by hand
// from RFC 826 (hardware type 1, protocol 0x0800, sizes 6 and 4, op 1).
func TestBuildARPRequest(t *testing.T) {
	f := build1(t, "arp(pdst=10.0.0.1)", topo, BuildOptions{From: "client"})
	want := mustHex(t, `ffffffffffff 020000000099 0806
		0001 0800 06 04 0001 020000000099 0a000063 000000000000 0a000001`)
	if !bytes.Equal(f, want) {
		t.Fatalf("frame = %x, want %x", f, want)
	}
}

func TestBuildFields(t *testing.T) {
	tests := []struct {
		name, spec string
		bad        bool // checksums are wrong on purpose
		check      func(t *testing.T, p gopacket.Packet)
	}{
		{"tcp syn", "ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02) / ipv4(src=10.0.0.99, dst=10.0.0.10, ttl=63, id=7, flags=DF, tos=0xb8) / tcp(sport=40000, dport=8082, flags=S, seq=1000, mss=1460, wscale=7, sackok=1, tsval=1, tsecr=0)", false,
			func(t *testing.T, p gopacket.Packet) {
				ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if ip.TTL != 63 || ip.Id != 7 || ip.Flags != layers.IPv4DontFragment || ip.TOS != 0xb8 || ip.Protocol != layers.IPProtocolTCP {
					t.Errorf("ipv4 = ttl %d id %d flags %v tos %#x proto %v, want 63 7 DF 0xb8 TCP", ip.TTL, ip.Id, ip.Flags, ip.TOS, ip.Protocol)
				}
				if tcp.SrcPort != 40000 || tcp.DstPort != 8082 || !tcp.SYN || tcp.ACK || tcp.Seq != 1000 || tcp.Window != 8192 {
					t.Errorf("tcp = %v, want 40000->8082 SYN seq 1000 window 8192", tcp)
				}
				// Linux's SYN layout: MSS, SACK_PERM+TS, NOP+WS (20 bytes).
				if got, want := hex.EncodeToString(tcp.Contents[20:]), "020405b40402080a000000010000000001030307"; got != want {
					t.Errorf("tcp options = %s, want %s", got, want)
				}
			}},
		{"dscp ecn", "ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02) / ipv4(src=10.0.0.1, dst=10.0.0.2, dscp=46, ecn=1) / udp()", false,
			func(t *testing.T, p gopacket.Packet) {
				if tos := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4).TOS; tos != 46<<2|1 {
					t.Errorf("tos = %#x, want %#x", tos, 46<<2|1)
				}
			}},
		{"bad checksums kept", "ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02) / ipv4(src=10.0.0.1, dst=10.0.0.2, chksum=0x1234) / udp(sport=1, dport=2, chksum=0x4321)", true,
			func(t *testing.T, p gopacket.Packet) {
				if c := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4).Checksum; c != 0x1234 {
					t.Errorf("ipv4 chksum = %#x, want 0x1234", c)
				}
				if c := p.Layer(layers.LayerTypeUDP).(*layers.UDP).Checksum; c != 0x4321 {
					t.Errorf("udp chksum = %#x, want 0x4321", c)
				}
			}},
		{"udp checksum zero", "ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02) / ipv4(src=10.0.0.1, dst=10.0.0.2) / udp(sport=1, dport=2, chksum=0) / raw(load=\"x\")", false,
			func(t *testing.T, p gopacket.Packet) {
				if c := p.Layer(layers.LayerTypeUDP).(*layers.UDP).Checksum; c != 0 {
					t.Errorf("udp chksum = %#x, want 0", c)
				}
			}},
		{"explicit lengths", "ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02) / ipv4(src=10.0.0.1, dst=10.0.0.2, len=1000) / udp(sport=1, dport=2, len=500)", false,
			func(t *testing.T, p gopacket.Packet) {
				ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if ip.Length != 1000 {
					t.Errorf("ipv4 len = %d, want 1000", ip.Length)
				}
				// The header checksum is computed over the length given.
				if fold(sum(0, ip.Contents)) != 0xffff {
					t.Errorf("ipv4 header checksum %#x is wrong", ip.Checksum)
				}
			}},
		{"vlan", "ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02) / vlan(vid=100, pcp=5, dei=1) / ipv6(src=fd00::1, dst=fd00::2, tc=0x20, fl=12345, hlim=7) / udp(sport=1, dport=2)", false,
			func(t *testing.T, p gopacket.Packet) {
				q := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q)
				if q.VLANIdentifier != 100 || q.Priority != 5 || !q.DropEligible || q.Type != layers.EthernetTypeIPv6 {
					t.Errorf("vlan = %+v, want vid 100 pcp 5 dei type IPv6", q)
				}
				ip := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				if ip.TrafficClass != 0x20 || ip.FlowLabel != 12345 || ip.HopLimit != 7 || ip.Length != 8 {
					t.Errorf("ipv6 = tc %#x fl %d hlim %d plen %d, want 0x20 12345 7 8", ip.TrafficClass, ip.FlowLabel, ip.HopLimit, ip.Length)
				}
			}},
		{"icmp echo", "ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02) / ipv4(src=10.0.0.1, dst=10.0.0.2) / icmp(id=5, seq=9) / raw(load=\"ping\")", false,
			func(t *testing.T, p gopacket.Packet) {
				i := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
				if i.TypeCode != layers.CreateICMPv4TypeCode(8, 0) || i.Id != 5 || i.Seq != 9 {
					t.Errorf("icmp = %v id %d seq %d, want echo request 5 9", i.TypeCode, i.Id, i.Seq)
				}
			}},
		{"icmpv6 echo", "ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02) / ipv6(src=fd00::1, dst=fd00::2) / icmpv6(type=echo-reply, id=5, seq=9)", false,
			func(t *testing.T, p gopacket.Packet) {
				e := p.Layer(layers.LayerTypeICMPv6Echo).(*layers.ICMPv6Echo)
				if e.Identifier != 5 || e.SeqNumber != 9 {
					t.Errorf("icmpv6 echo = %d %d, want 5 9", e.Identifier, e.SeqNumber)
				}
			}},
		{"neighbor advertisement", "ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02) / ipv6(src=fd00::2, dst=fd00::1, hlim=255) / icmpv6(type=neighbor-advertisement, flags=SO, tgt=fd00::2, lladdr=02:00:00:00:00:02)", false,
			func(t *testing.T, p gopacket.Packet) {
				na := p.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
				if !na.Solicited() || !na.Override() || na.Router() || na.TargetAddress.String() != "fd00::2" {
					t.Errorf("na = %+v, want S O target fd00::2", na)
				}
				if len(na.Options) != 1 || na.Options[0].Type != layers.ICMPv6OptTargetAddress || !bytes.Equal(na.Options[0].Data, []byte{2, 0, 0, 0, 0, 2}) {
					t.Errorf("na options = %v, want target link-layer 02:00:00:00:00:02", na.Options)
				}
			}},
		{"vxlan keeps outer and inner", "ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02) / ipv4(src=192.168.1.1, dst=192.168.1.2) / udp(sport=50000) / vxlan(vni=4097) / ether(dst=02:00:00:00:aa:01, src=02:00:00:00:aa:02) / ipv4(src=10.244.1.2, dst=10.244.2.3) / tcp(sport=1, dport=2)", false,
			func(t *testing.T, p gopacket.Packet) {
				u := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
				if u.DstPort != 4789 {
					t.Errorf("udp dport = %d, want 4789", u.DstPort)
				}
				vx := p.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
				if vx.VNI != 4097 || !vx.ValidIDFlag {
					t.Errorf("vxlan = vni %d I %v, want 4097 true", vx.VNI, vx.ValidIDFlag)
				}
				inner := gopacket.NewPacket(vx.Payload, layers.LayerTypeEthernet, gopacket.Default)
				if e := inner.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); e.SrcMAC.String() != "02:00:00:00:aa:02" {
					t.Errorf("inner src MAC = %v, want 02:00:00:00:aa:02", e.SrcMAC)
				}
				if ip := inner.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ip.SrcIP.String() != "10.244.1.2" {
					t.Errorf("inner src IP = %v, want 10.244.1.2", ip.SrcIP)
				}
			}},
		{"icmp error embeds packet", "ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02) / ipv4(src=10.0.0.1, dst=10.0.0.2) / icmp(type=time-exceeded) / ipv4(src=10.0.0.2, dst=8.8.8.8, ttl=1) / udp(sport=33434, dport=33435)", false,
			func(t *testing.T, p gopacket.Packet) {
				i := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
				if i.TypeCode.Type() != 11 {
					t.Errorf("icmp type = %d, want 11", i.TypeCode.Type())
				}
				inner := gopacket.NewPacket(i.Payload, layers.LayerTypeIPv4, gopacket.Default)
				if u := inner.Layer(layers.LayerTypeUDP).(*layers.UDP); u.DstPort != 33435 {
					t.Errorf("embedded udp dport = %d, want 33435", u.DstPort)
				}
			}},
		{"ipv6 fragment", "ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02) / ipv6(src=fd00::1, dst=fd00::2) / ipv6frag(offset=0, m=1, id=77) / udp(sport=1, dport=2) / raw(len=16)", false,
			func(t *testing.T, p gopacket.Packet) {
				f := p.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment)
				if !f.MoreFragments || f.Identification != 77 || f.NextHeader != layers.IPProtocolUDP {
					t.Errorf("frag = %+v, want M id 77 nh UDP", f)
				}
			}},
		{"padding", "ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02) / ipv4(src=10.0.0.1, dst=10.0.0.2) / udp(sport=1, dport=2) / padding(len=18)", false,
			func(t *testing.T, p gopacket.Packet) {
				if n := len(p.Data()); n != 60 {
					t.Errorf("frame length = %d, want 60", n)
				}
				if l := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4).Length; l != 28 {
					t.Errorf("ipv4 len = %d, want 28 (padding not counted)", l)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := build1(t, tt.spec, nil, BuildOptions{})
			tt.check(t, gp(t, f, tt.bad))
		})
	}
}

func TestBuildDefaults(t *testing.T) {
	tests := []struct {
		name, spec string
		opts       BuildOptions
		want       string // Decode of the result
	}{
		{"from port and names", "ipv4(dst=host1) / tcp(dport=80)", BuildOptions{From: "client"},
			"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=10.0.0.10, ttl=64) / tcp(sport=20, dport=80, flags=S)"},
		{"endpoint names", "ether(src=host1) / ipv4(src=host1, dst=host1/web) / udp()", BuildOptions{},
			"ether(dst=00:15:5d:00:00:02, src=02:00:00:00:00:10) / ipv4(src=10.0.0.10, dst=172.16.0.2, ttl=64) / udp(sport=53, dport=53)"},
		{"src MAC from IP source name", "ipv4(src=host1, dst=10.0.0.99) / udp()", BuildOptions{DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}},
			"ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:10) / ipv4(src=10.0.0.10, dst=10.0.0.99, ttl=64) / udp(sport=53, dport=53)"},
		{"gateway MAC", "ipv4(dst=8.8.8.8) / udp(dport=53)", BuildOptions{From: "client", DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}},
			"ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=8.8.8.8, ttl=64) / udp(sport=53, dport=53)"},
		{"ipv4 multicast", "ipv4(dst=224.0.0.251) / udp(sport=5353, dport=5353)", BuildOptions{From: "client"},
			"ether(dst=01:00:5e:00:00:fb, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=224.0.0.251, ttl=64) / udp(sport=5353, dport=5353)"},
		{"ipv4 broadcast", "ipv4(dst=255.255.255.255) / udp(sport=68, dport=67)", BuildOptions{From: "client"},
			"ether(dst=ff:ff:ff:ff:ff:ff, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=255.255.255.255, ttl=64) / udp(sport=68, dport=67)"},
		{"ipv6 solicited-node", "ipv6(dst=ff02::1:ff00:10, hlim=255) / icmpv6(type=neighbor-solicitation, tgt=fd00::10, lladdr=client)", BuildOptions{From: "client"},
			"ether(dst=33:33:ff:00:00:10, src=02:00:00:00:00:99) / ipv6(src=fd00::99, dst=ff02::1:ff00:10, hlim=255) / icmpv6(type=neighbor-solicitation, tgt=fd00::10, lladdr=02:00:00:00:00:99)"},
		{"arp reply", "arp(op=is-at, hwdst=host1, pdst=host1)", BuildOptions{From: "client"},
			"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / arp(op=is-at, hwsrc=02:00:00:00:00:99, psrc=10.0.0.99, hwdst=02:00:00:00:00:10, pdst=10.0.0.10)"},
		{"vxlan defaults", "ether(dst=gw, src=host1) / ipv4(src=host1, dst=10.0.0.1) / udp() / vxlan(vni=7) / ether(dst=host1/web) / ipv4(src=client, dst=host1/web) / icmp()", BuildOptions{From: "client"},
			"ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:10) / ipv4(src=10.0.0.10, dst=10.0.0.1, ttl=64) / udp(sport=53, dport=4789) / vxlan(vni=7) / ether(dst=00:15:5d:00:00:02, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=172.16.0.2, ttl=64) / icmp(type=echo-request)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := build1(t, tt.spec, topo, tt.opts)
			gp(t, f, false)
			if got := Decode(f, DecodeOptions{}).String(); got != tt.want {
				t.Fatalf("Decode(Build(%q)):\n got  %s\n want %s", tt.spec, got, tt.want)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	var bound Bindings
	bound.Set("mac", MAC(net.HardwareAddr{2, 0, 0, 0, 0, 1}))
	tests := []struct {
		name, spec string
		r          Resolver
		opts       BuildOptions
		want       string
	}{
		{"no source", "ipv4(dst=10.0.0.1) / udp()", nil, BuildOptions{}, "col 1: ipv4: src: no value (give src= or inject from a port with an address)"},
		{"no destination", "ether(src=02:00:00:00:00:01, dst=02:00:00:00:00:02) / ipv4(src=10.0.0.1) / udp()", nil, BuildOptions{}, "col 55: ipv4: dst: no value"},
		{"no ether dst", "ether(src=02:00:00:00:00:01) / ipv4(src=10.0.0.1, dst=10.0.0.2) / udp()", nil, BuildOptions{}, "col 1: ether: dst: no value (give dst= or name the IP destination)"},
		{"no ether src", "ether(dst=02:00:00:00:00:02) / ipv4(src=10.0.0.1, dst=10.0.0.2) / udp()", nil, BuildOptions{}, "col 1: ether: src: no value"},
		{"inner src not from port", "ether(dst=gw, src=host1) / ipv4(src=host1, dst=gw) / udp() / vxlan() / ether(dst=host1) / ipv4(dst=host1)", topo, BuildOptions{From: "client"}, "col 91: ipv4: src: no value"},
		{"unknown name", "ipv4(src=client, dst=nobody)", topo, BuildOptions{}, `col 18: ipv4: dst: unknown name "nobody" (no IPv4 address)`},
		{"name without MAC", "ether(dst=nomac)", topo, BuildOptions{}, `col 7: ether: dst: unknown name "nomac" (no MAC)`},
		{"name without IPv6", "ipv6(dst=gw)", topo, BuildOptions{}, `col 6: ipv6: dst: unknown name "gw" (no IPv6 address)`},
		{"no resolver", "ipv4(dst=host1)", nil, BuildOptions{}, `col 6: ipv4: dst: name "host1": no resolver to look it up`},
		{"wildcard", "ipv4(src=10.0.0.1, dst=*)", nil, BuildOptions{}, `col 20: ipv4: dst: wildcard "*" in a packet to build`},
		{"unbound", "udp(sport=$p)", nil, BuildOptions{}, "col 5: udp: sport: binding $p is not bound"},
		{"binding does not fit", "udp(sport=$mac)", nil, BuildOptions{Bindings: &bound}, "col 5: udp: sport: binding $mac = 02:00:00:00:00:01 does not fit the field"},
		{"icmpv6 field for another type", "ether(dst=gw, src=gw) / ipv6(src=fd00::1, dst=fd00::2) / icmpv6(type=echo-request, mtu=1280)", topo, BuildOptions{}, "col 84: icmpv6: mtu: not a field of ICMPv6 type echo-request (it has [id seq])"},
		{"neighbor solicitation needs tgt", "ether(dst=gw, src=gw) / ipv6(src=fd00::1, dst=fd00::2) / icmpv6(type=neighbor-solicitation)", topo, BuildOptions{}, "col 58: icmpv6: tgt: no value (neighbor discovery needs a target address)"},
		{"padding not last", "ether(dst=gw, src=gw) / padding(len=4) / raw()", topo, BuildOptions{}, "col 25: padding: must be the last layer"},
		{"tcp checksum without ip", "ether(dst=gw, src=gw) / tcp()", topo, BuildOptions{}, "col 25: tcp: chksum: computing it needs an ipv4 or ipv6 layer before tcp (or give chksum=)"},
		{"too many packets", "udp(sport=0-65535, dport=1-2)", nil, BuildOptions{}, "col 20: udp: dport: spec expands to more than 65536 packets"},
		{"too long", "ether(dst=gw, src=gw) / ipv4(src=10.0.0.1, dst=10.0.0.2) / raw(len=65516)", topo, BuildOptions{}, "col 25: ipv4: packet of 65536 bytes does not fit the 16-bit length"},
		{"ipv4 options too long", "ether(dst=gw, src=gw) / ipv4(src=10.0.0.1, dst=10.0.0.2, options=0x0101010101010101010101010101010101010101010101010101010101010101010101010101010101)", topo, BuildOptions{}, "col 58: ipv4: options: 41 bytes, max 40"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, err := Build(MustParse(tt.spec), tt.r, tt.opts)
			if err == nil {
				t.Fatalf("Build(%q) made %d frames, want error %q", tt.spec, len(frames), tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Build(%q) error:\n got  %q\n want %q...", tt.spec, err, tt.want)
			}
		})
	}
}

func TestBuildExpand(t *testing.T) {
	s := MustParse("ether(dst=gw, src=gw) / ipv4(src=10.0.0.1, dst=10.0.0.2, ttl=5-6) / udp(sport=1000-1002, dport=53) x 2")
	n, err := s.Count()
	if err != nil || n != 12 {
		t.Fatalf("Count() = %d, %v, want 12", n, err)
	}
	frames, err := Build(s, topo, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 12 {
		t.Fatalf("Build made %d frames, want 12", len(frames))
	}
	// The last range varies fastest; the repetition is outermost.
	var got []string
	for _, f := range frames {
		p := gp(t, f, false)
		ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		u := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		got = append(got, strings.Join([]string{itoa(int(ip.TTL)), itoa(int(u.SrcPort))}, ":"))
	}
	want := "5:1000 5:1001 5:1002 6:1000 6:1001 6:1002 5:1000 5:1001 5:1002 6:1000 6:1001 6:1002"
	if g := strings.Join(got, " "); g != want {
		t.Fatalf("ttl:sport order = %s, want %s", g, want)
	}
}

func itoa(n int) string { return Num(uint64(n)).format(nil) }

func TestBuildBindings(t *testing.T) {
	var b Bindings
	b.Set("p", Num(40001))
	b.Set("ip", Addr(netip.MustParseAddr("10.0.0.7")))
	f := build1(t, "ether(dst=gw, src=gw) / ipv4(src=$ip, dst=10.0.0.1) / tcp(sport=80, dport=$p, flags=SA)", topo, BuildOptions{Bindings: &b})
	p := gp(t, f, false)
	if got := p.Layer(layers.LayerTypeTCP).(*layers.TCP).DstPort; got != 40001 {
		t.Errorf("dport = %d, want 40001", got)
	}
	if got := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4).SrcIP.String(); got != "10.0.0.7" {
		t.Errorf("src = %s, want 10.0.0.7", got)
	}
}

func TestBuildChecksumValidIsComputed(t *testing.T) {
	a := build1(t, "ether(dst=gw, src=gw) / ipv4(src=10.0.0.1, dst=10.0.0.2, chksum=valid) / udp(chksum=valid)", topo, BuildOptions{})
	b := build1(t, "ether(dst=gw, src=gw) / ipv4(src=10.0.0.1, dst=10.0.0.2) / udp()", topo, BuildOptions{})
	if !bytes.Equal(a, b) {
		t.Fatalf("chksum=valid built %x, want %x", a, b)
	}
}

func TestResolveKeepsNames(t *testing.T) {
	s, err := MustParse("ether(dst=host1) / ipv4(dst=host1/web)").Resolve(topo)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "ether(dst=host1) / ipv4(dst=host1/web)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	v, _ := s.Layers[1].Get("dst")
	if v.Kind != KindAddr || v.Addr.String() != "172.16.0.2" {
		t.Errorf("resolved dst = %v %v, want address 172.16.0.2", v.Kind, v.Addr)
	}
}

// TestBuildCheck feeds Build and Match specs made in code, not by Parse.
func TestBuildCheck(t *testing.T) {
	tests := []struct {
		name string
		s    *Spec
		want string
	}{
		{"unknown layer", &Spec{Layers: []Layer{{Name: "Ether"}}}, `unknown layer "Ether"`},
		{"alias field", &Spec{Layers: []Layer{{Name: "ipv6", Fields: []Field{{Name: "ttl", Value: Num(1)}}}}}, `ipv6: unknown field "ttl"`},
		{"value kind", &Spec{Layers: []Layer{{Name: "udp", Fields: []Field{{Name: "sport", Value: Bytes([]byte{1})}}}}}, "udp: sport: bytes value does not fit the field"},
		{"too big", &Spec{Layers: []Layer{{Name: "ipv4", Fields: []Field{{Name: "ttl", Value: Num(256)}}}}}, "ipv4: ttl: number value does not fit the field"},
		{"valid", &Spec{Layers: []Layer{{Name: "ipv4", Fields: []Field{{Name: "ttl", Value: Value{Kind: KindValid}}}}}}, `ipv4: ttl: only checksums can be "valid"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Build(tt.s, nil, BuildOptions{}); err == nil || err.Error() != tt.want {
				t.Errorf("Build error %v, want %q", err, tt.want)
			}
			ok, diffs := Match(tt.s, []byte{1, 2, 3}, nil, DecodeOptions{})
			if ok || len(diffs) != 1 || diffs[0].Got != tt.want {
				t.Errorf("Match = %v %v, want a diff %q", ok, diffs, tt.want)
			}
		})
	}
}
