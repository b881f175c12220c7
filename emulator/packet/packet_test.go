package packet_test

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

const (
	macA = "00:15:5d:00:00:0a"
	macB = "00:15:5d:00:00:0b"
)

type fixture struct {
	name  string
	frame func(t testing.TB) []byte
}

func fixtures() []fixture {
	return []fixture{
		{"udp4", func(t testing.TB) []byte {
			return emutest.UDP4(t, macA, macB, "172.16.0.2", "198.18.0.10", 40000, 53, []byte("hello"))
		}},
		{"tcp4-syn-mss", func(t testing.TB) []byte {
			return emutest.TCP4(t, macA, macB, "172.16.0.2", "198.18.0.10", 40000, 80, true, nil)
		}},
		{"tcp4-data", func(t testing.TB) []byte {
			return emutest.TCP4(t, macA, macB, "172.16.0.2", "198.18.0.10", 40001, 443, false, []byte("GET / HTTP/1.1\r\n"))
		}},
		{"icmp4-echo", func(t testing.TB) []byte {
			return emutest.Echo4(t, macA, macB, "172.16.0.2", "198.18.0.10", 0x4242, 1, false)
		}},
		{"udp6", func(t testing.TB) []byte {
			return emutest.Serialize(t, emutest.Eth(macA, macB, layers.EthernetTypeIPv6),
				emutest.IPv6("fd00::2", "2001:db8::10", layers.IPProtocolUDP, 64),
				&layers.UDP{SrcPort: 40000, DstPort: 53}, gopacket.Payload([]byte("v6")))
		}},
		{"tcp6-hbh-dstopts", func(t testing.TB) []byte {
			ip := emutest.IPv6("fd00::2", "2001:db8::10", layers.IPProtocolIPv6HopByHop, 64)
			hbh := &layers.IPv6HopByHop{}
			hbh.NextHeader = layers.IPProtocolIPv6Destination
			hbh.Options = []*layers.IPv6HopByHopOption{{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}}
			dst := &layers.IPv6Destination{}
			dst.NextHeader = layers.IPProtocolTCP
			dst.Options = []*layers.IPv6DestinationOption{{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}}
			tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 7, SYN: true, Window: 1024}
			_ = tcp.SetNetworkLayerForChecksum(ip)
			return emutest.Serialize(t, emutest.Eth(macA, macB, layers.EthernetTypeIPv6), ip, hbh, dst, tcp)
		}},
		{"icmp6-echo", func(t testing.TB) []byte {
			return emutest.Serialize(t, emutest.Eth(macA, macB, layers.EthernetTypeIPv6),
				emutest.IPv6("fd00::2", "2001:db8::10", layers.IPProtocolICMPv6, 64),
				&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)},
				&layers.ICMPv6Echo{Identifier: 0x77, SeqNumber: 3})
		}},
		{"vlan-udp4", func(t testing.TB) []byte {
			return emutest.Serialize(t, emutest.Eth(macA, macB, layers.EthernetTypeDot1Q),
				&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeIPv4},
				emutest.IPv4("10.0.0.2", "10.0.0.3", layers.IPProtocolUDP, 64),
				&layers.UDP{SrcPort: 1, DstPort: 2}, gopacket.Payload([]byte{1, 2, 3}))
		}},
		{"arp-request", func(t testing.TB) []byte {
			return emutest.Serialize(t, emutest.Eth(macA, "ff:ff:ff:ff:ff:ff", layers.EthernetTypeARP),
				&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
					Operation: layers.ARPRequest, SourceHwAddress: emutest.MAC(macA), SourceProtAddress: emutest.IP("172.16.0.2"),
					DstHwAddress: make([]byte, 6), DstProtAddress: emutest.IP("172.16.0.1")})
		}},
		{"ipv4-options", func(t testing.TB) []byte {
			ip := emutest.IPv4("10.0.0.2", "10.0.0.3", layers.IPProtocolUDP, 9)
			ip.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}} // router alert
			return emutest.Serialize(t, emutest.Eth(macA, macB, layers.EthernetTypeIPv4), ip,
				&layers.UDP{SrcPort: 5, DstPort: 6}, gopacket.Payload([]byte("opt")))
		}},
		{"ipv4-fragment-later", func(t testing.TB) []byte {
			ip := emutest.IPv4("10.0.0.2", "10.0.0.3", layers.IPProtocolUDP, 64)
			ip.Flags = 0
			ip.FragOffset = 100
			return emutest.Serialize(t, emutest.Eth(macA, macB, layers.EthernetTypeIPv4), ip, gopacket.Payload(bytes.Repeat([]byte{9}, 16)))
		}},
		{"vxlan", func(t testing.TB) []byte {
			inner := emutest.UDP4(t, "0e:2a:0a:f4:01:02", "0e:2a:0a:f4:02:03", "10.244.1.2", "10.244.2.3", 1000, 2000, []byte("in"))
			return emutest.Serialize(t, emutest.Eth(macA, macB, layers.EthernetTypeIPv4),
				emutest.IPv4("10.0.0.4", "10.0.0.5", layers.IPProtocolUDP, 64),
				&layers.UDP{SrcPort: 55555, DstPort: 4789}, &layers.VXLAN{ValidIDFlag: true, VNI: 4096}, gopacket.Payload(inner))
		}},
	}
}

// TestDecodeMatchesGopacket decodes each fixture with our Parsed and with
// gopacket and compares addresses, ports, protocol, TTL and flags.
func TestDecodeMatchesGopacket(t *testing.T) {
	for _, fx := range fixtures() {
		t.Run(fx.name, func(t *testing.T) {
			frame := fx.frame(t)
			var p packet.Parsed
			p.Decode(frame)
			if !p.Valid() {
				t.Fatalf("Decode: %v", p.Err)
			}
			compareWithGopacket(t, &p, frame)
		})
	}
}

func compareWithGopacket(t *testing.T, p *packet.Parsed, frame []byte) {
	t.Helper()
	d := emutest.Decode(t, frame)
	if got, want := p.SrcMAC.String(), d.Eth.SrcMAC.String(); got != want {
		t.Errorf("SrcMAC = %s, want %s", got, want)
	}
	if got, want := p.DstMAC.String(), d.Eth.DstMAC.String(); got != want {
		t.Errorf("DstMAC = %s, want %s", got, want)
	}
	if dq, ok := d.Packet.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); ok {
		if !p.HasVLAN || p.VID != dq.VLANIdentifier {
			t.Errorf("VLAN = %v/%d, want %d", p.HasVLAN, p.VID, dq.VLANIdentifier)
		}
	}
	switch {
	case d.ARP != nil:
		if p.Kind != packet.KindARP {
			t.Fatalf("Kind = %v, want arp", p.Kind)
		}
		if got, want := p.Src, addr(d.ARP.SourceProtAddress); got != want {
			t.Errorf("ARP sender = %v, want %v", got, want)
		}
		if got, want := p.Dst, addr(d.ARP.DstProtAddress); got != want {
			t.Errorf("ARP target = %v, want %v", got, want)
		}
		return
	case d.IPv4 != nil:
		if p.Kind != packet.KindIPv4 {
			t.Fatalf("Kind = %v, want ipv4", p.Kind)
		}
		if got, want := p.Src, addr(d.IPv4.SrcIP); got != want {
			t.Errorf("Src = %v, want %v", got, want)
		}
		if got, want := p.Dst, addr(d.IPv4.DstIP); got != want {
			t.Errorf("Dst = %v, want %v", got, want)
		}
		if p.TTL != d.IPv4.TTL || p.IPProto != uint8(d.IPv4.Protocol) {
			t.Errorf("TTL/proto = %d/%d, want %d/%d", p.TTL, p.IPProto, d.IPv4.TTL, d.IPv4.Protocol)
		}
		if frag := d.IPv4.FragOffset != 0 || d.IPv4.Flags&layers.IPv4MoreFragments != 0; frag != p.Fragment {
			t.Errorf("Fragment = %v, want %v", p.Fragment, frag)
		}
		if got, want := p.IPv4().Options(), optionBytes(d.IPv4); !bytes.Equal(got, want) {
			t.Errorf("options = % x, want % x", got, want)
		}
	case d.IPv6 != nil:
		if p.Kind != packet.KindIPv6 {
			t.Fatalf("Kind = %v, want ipv6", p.Kind)
		}
		if got, want := p.Src, addr(d.IPv6.SrcIP); got != want {
			t.Errorf("Src = %v, want %v", got, want)
		}
		if p.TTL != d.IPv6.HopLimit {
			t.Errorf("hop limit = %d, want %d", p.TTL, d.IPv6.HopLimit)
		}
	}
	switch {
	case d.TCP != nil:
		if p.IPProto != header.ProtoTCP || p.SrcPort != uint16(d.TCP.SrcPort) || p.DstPort != uint16(d.TCP.DstPort) {
			t.Errorf("TCP %d %d>%d, want %d>%d", p.IPProto, p.SrcPort, p.DstPort, d.TCP.SrcPort, d.TCP.DstPort)
		}
		if got := p.TCPFlags&header.TCPFlagSYN != 0; got != d.TCP.SYN {
			t.Errorf("SYN = %v, want %v", got, d.TCP.SYN)
		}
		if got, want := p.L4, l3Start(d)+l3Len(d); got != want {
			t.Errorf("L4 offset = %d, want %d", got, want)
		}
	case d.UDP != nil:
		if p.IPProto != header.ProtoUDP || p.SrcPort != uint16(d.UDP.SrcPort) || p.DstPort != uint16(d.UDP.DstPort) {
			t.Errorf("UDP %d>%d, want %d>%d", p.SrcPort, p.DstPort, d.UDP.SrcPort, d.UDP.DstPort)
		}
	case d.ICMP != nil:
		if p.ICMPType != d.ICMP.TypeCode.Type() || p.SrcPort != d.ICMP.Id || !p.ICMPQuery {
			t.Errorf("ICMP type %d id %d query %v, want %d %d", p.ICMPType, p.SrcPort, p.ICMPQuery, d.ICMP.TypeCode.Type(), d.ICMP.Id)
		}
	case d.ICMP6 != nil:
		if p.ICMPType != d.ICMP6.TypeCode.Type() {
			t.Errorf("ICMPv6 type %d, want %d", p.ICMPType, d.ICMP6.TypeCode.Type())
		}
		if e, ok := d.Packet.Layer(layers.LayerTypeICMPv6Echo).(*layers.ICMPv6Echo); ok && p.SrcPort != e.Identifier {
			t.Errorf("ICMPv6 id %d, want %d", p.SrcPort, e.Identifier)
		}
	}
	if d.VXLAN != nil {
		vx := header.VXLAN(p.UDP().Payload())
		if !vx.IsValid() || vx.VNI() != d.VXLAN.VNI {
			t.Errorf("VNI = %d, want %d", vx.VNI(), d.VXLAN.VNI)
		}
		var in packet.Parsed
		in.Decode(vx.Inner())
		if !in.Valid() {
			t.Fatalf("inner decode: %v", in.Err)
		}
		if got, want := in.Src, addr(d.Inner.IPv4.SrcIP); got != want {
			t.Errorf("inner Src = %v, want %v", got, want)
		}
		if got, want := in.SrcMAC.String(), d.Inner.Eth.SrcMAC.String(); got != want {
			t.Errorf("inner SrcMAC = %s, want %s", got, want)
		}
	}
}

func optionBytes(ip *layers.IPv4) []byte { return ip.Contents[20:] }

func addr(ip []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// TestSettersKeepChecksums rewrites addresses, ports, TTL and ICMP ids with
// the incremental setters and checks every checksum with gopacket.
func TestSettersKeepChecksums(t *testing.T) {
	for _, fx := range fixtures() {
		t.Run(fx.name, func(t *testing.T) {
			frame := fx.frame(t)
			var p packet.Parsed
			p.Decode(frame)
			if !p.IsIP() {
				t.Skip("not IP")
			}
			var src, dst netip.Addr
			if p.Kind == packet.KindIPv4 {
				src, dst = netip.MustParseAddr("198.18.7.9"), netip.MustParseAddr("172.16.44.1")
			} else {
				src, dst = netip.MustParseAddr("2001:db8:ffff::9"), netip.MustParseAddr("fd00:1::1")
			}
			ttl := p.TTL
			p.SetSrcIP(src)
			p.SetDstIP(dst)
			p.SetSrcMAC(header.MAC{2, 0, 0, 0, 0, 1})
			if p.L4 != 0 {
				p.SetSrcPort(61000)
				p.SetDstPort(8080)
			}
			p.DecTTL()
			p.ClampMSS(1410)

			var q packet.Parsed
			q.Decode(frame)
			if !q.Valid() {
				t.Fatalf("re-decode: %v", q.Err)
			}
			if q.Src != src || q.Dst != dst || q.TTL != ttl-1 {
				t.Errorf("after rewrite: %v > %v ttl %d, want %v > %v ttl %d", q.Src, q.Dst, q.TTL, src, dst, ttl-1)
			}
			if q.L4 != 0 && q.HasL4Ports && !q.ICMPQuery && (q.SrcPort != 61000 || q.DstPort != 8080) {
				t.Errorf("ports = %d>%d, want 61000>8080", q.SrcPort, q.DstPort)
			}
			if q.ICMPQuery && q.SrcPort != 8080 {
				t.Errorf("ICMP id = %d, want 8080", q.SrcPort)
			}
			emutest.ChecksumsValid(t, frame)
			if !q.ChecksumsValid() {
				t.Errorf("ChecksumsValid = false after rewrite")
			}
			if fx.name == "tcp4-syn-mss" {
				if mss, _, ok := q.TCP().MSS(); !ok || mss != 1410 {
					t.Errorf("MSS = %d %v, want 1410", mss, ok)
				}
			}
		})
	}
}

// TestUDPZeroChecksumStaysZero: RFC 768, a UDP/IPv4 checksum of 0 means
// none; rewriting addresses and ports must not invent one.
func TestUDPZeroChecksumStaysZero(t *testing.T) {
	frame := emutest.UDP4(t, macA, macB, "172.16.0.2", "198.18.0.10", 40000, 53, []byte("x"))
	var p packet.Parsed
	p.Decode(frame)
	p.UDP().SetChecksum(0)
	p.SetSrcIP(netip.MustParseAddr("10.1.1.1"))
	p.SetSrcPort(1)
	p.SetDstPort(2)
	if c := p.UDP().Checksum(); c != 0 {
		t.Fatalf("UDP checksum = %#04x, want 0", c)
	}
	emutest.ChecksumsValid(t, frame)
}

func TestDecodeErrors(t *testing.T) {
	good := emutest.UDP4(t, macA, macB, "172.16.0.2", "198.18.0.10", 40000, 53, []byte("hello"))
	tests := []struct {
		name  string
		frame []byte
		want  packet.DecodeError
	}{
		{"short ethernet", good[:10], packet.ErrShortEthernet},
		{"truncated ipv4", good[:20], packet.ErrBadIPv4},
		{"bad ipv4 checksum", func() []byte { b := append([]byte(nil), good...); b[24] ^= 0xff; return b }(), packet.ErrBadIPv4Checksum},
		{"udp length too big", func() []byte {
			b := append([]byte(nil), good...)
			b[38], b[39] = 0x01, 0x00
			return b
		}(), packet.ErrBadUDPLength},
		{"vlan short", append(append([]byte(nil), good[:12]...), 0x81, 0x00, 0x00), packet.ErrShortVLAN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p packet.Parsed
			p.Decode(tt.frame)
			if p.Err != tt.want {
				t.Fatalf("Err = %v, want %v", p.Err, tt.want)
			}
		})
	}
}

func TestEmbeddedICMPError(t *testing.T) {
	orig := emutest.UDP4(t, macA, macB, "172.16.0.2", "198.18.0.10", 40000, 53, []byte("hello"))
	ipPart := orig[14 : 14+28]
	frame := emutest.Serialize(t, emutest.Eth(macB, macA, layers.EthernetTypeIPv4),
		emutest.IPv4("198.18.0.10", "172.16.0.2", layers.IPProtocolICMPv4, 64),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, gopacket.Payload(ipPart))
	var p packet.Parsed
	p.Decode(frame)
	if !p.Valid() || !p.ICMPError {
		t.Fatalf("Valid %v ICMPError %v", p.Valid(), p.ICMPError)
	}
	var in packet.Parsed
	in.DecodeIP(frame[p.Embedded():], true)
	if !in.Valid() {
		t.Fatalf("embedded: %v", in.Err)
	}
	if !in.Truncated || in.SrcPort != 40000 || in.DstPort != 53 || in.Src != netip.MustParseAddr("172.16.0.2") {
		t.Errorf("embedded = %+v", in)
	}
}

func TestTupleReverse(t *testing.T) {
	a := emutest.Echo4(t, macA, macB, "172.16.0.2", "198.18.0.10", 9, 1, false)
	b := emutest.Echo4(t, macB, macA, "198.18.0.10", "172.16.0.2", 9, 1, true)
	var p, q packet.Parsed
	p.Decode(a)
	q.Decode(b)
	if p.Tuple().Reverse() != q.Tuple() {
		t.Fatalf("reply tuple %+v is not the reverse of %+v", q.Tuple(), p.Tuple())
	}
}

func TestBufferHeadroom(t *testing.T) {
	var pool packet.Pool
	b := pool.Get()
	frame := emutest.UDP4(t, macA, macB, "172.16.0.2", "198.18.0.10", 1, 2, nil)
	b.Set(frame)
	outer, ok := b.Push(header.VXLANOverhead)
	if !ok || len(outer) != len(frame)+50 {
		t.Fatalf("Push: ok %v len %d", ok, len(outer))
	}
	if !bytes.Equal(outer[50:], frame) {
		t.Fatalf("inner frame moved")
	}
	b.Pull(header.VXLANOverhead)
	if !bytes.Equal(b.Bytes(), frame) {
		t.Fatalf("Pull did not restore the frame")
	}
	pool.Put(b)
	if pool.Get() != b || pool.Allocated != 1 {
		t.Fatalf("pool did not reuse the buffer")
	}
}

var sinkParsed packet.Parsed

func TestNoAllocs(t *testing.T) {
	frames := make([][]byte, 0)
	for _, fx := range fixtures() {
		frames = append(frames, fx.frame(t))
	}
	src := netip.MustParseAddr("198.18.0.1")
	n := testing.AllocsPerRun(1000, func() {
		for _, f := range frames {
			sinkParsed.Decode(f)
			if sinkParsed.Kind == packet.KindIPv4 && sinkParsed.Valid() {
				sinkParsed.SetSrcIP(src)
				sinkParsed.SetSrcPort(1000)
				_ = sinkParsed.Tuple().Hash()
			}
		}
	})
	if n != 0 {
		t.Fatalf("Decode+rewrite allocs = %v per run, want 0", n)
	}
}

func BenchmarkDecode(b *testing.B) {
	frame := emutest.UDP4(b, macA, macB, "172.16.0.2", "198.18.0.10", 40000, 53, make([]byte, 18))
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		sinkParsed.Decode(frame)
	}
}

func BenchmarkRewriteSNAT(b *testing.B) {
	frame := emutest.UDP4(b, macA, macB, "172.16.0.2", "198.18.0.10", 40000, 53, make([]byte, 18))
	src := netip.MustParseAddr("198.18.0.1")
	b.ReportAllocs()
	for b.Loop() {
		sinkParsed.Decode(frame)
		sinkParsed.SetSrcIP(src)
		sinkParsed.SetSrcPort(1000)
	}
}

// l3Start and l3Len locate the IP header as gopacket saw it (frames may carry
// Ethernet padding, so offsets are not computed from the end).
func l3Start(d *emutest.Decoded) int {
	n := len(d.Eth.Contents)
	if dq, ok := d.Packet.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); ok {
		n += len(dq.Contents)
	}
	return n
}

func l3Len(d *emutest.Decoded) int {
	if d.IPv4 != nil {
		return len(d.IPv4.Contents)
	}
	n := len(d.IPv6.Contents)
	for _, l := range d.Packet.Layers() {
		switch l.LayerType() {
		case layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Destination, layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6Fragment:
			n += len(l.LayerContents())
		}
	}
	return n
}

// TestSetMACs: both addresses land where gopacket reads them, the Parsed
// fields follow, and nothing after the 12 bytes changes.
func TestSetMACs(t *testing.T) {
	frame := emutest.UDP4(t, macA, macB, "172.16.0.2", "198.18.0.10", 40000, 53, []byte("x"))
	orig := append([]byte(nil), frame...)
	var p packet.Parsed
	p.Decode(frame)
	a := [12]byte{0x02, 0, 0, 0, 0, 0xdd, 0x02, 0, 0, 0, 0, 0x55}
	p.SetMACs(&a)
	d := emutest.Decode(t, frame)
	if got := d.Eth.DstMAC.String(); got != "02:00:00:00:00:dd" {
		t.Errorf("destination = %s, want 02:00:00:00:00:dd", got)
	}
	if got := d.Eth.SrcMAC.String(); got != "02:00:00:00:00:55" {
		t.Errorf("source = %s, want 02:00:00:00:00:55", got)
	}
	if p.DstMAC != (header.MAC{2, 0, 0, 0, 0, 0xdd}) || p.SrcMAC != (header.MAC{2, 0, 0, 0, 0, 0x55}) {
		t.Errorf("Parsed MACs = %v %v", p.DstMAC, p.SrcMAC)
	}
	if !bytes.Equal(frame[12:], orig[12:]) {
		t.Errorf("bytes after the addresses changed")
	}
}
