// Package emutest holds test helpers shared by the emulator's packages:
// frame builders that use gopacket (an independent implementation) and
// checkers that decode our output with gopacket. Only _test.go files import it.
package emutest

import (
	"encoding/hex"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// MustHex decodes spaced hex ("4500 0019 ...").
func MustHex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// MAC parses a MAC address or panics.
func MAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// IP parses an address or panics.
func IP(s string) net.IP { return net.IP(netip.MustParseAddr(s).AsSlice()) }

// Serialize builds a frame from layers with gopacket, fixing lengths and
// computing checksums.
func Serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	for _, l := range ls {
		switch x := l.(type) {
		case *layers.TCP:
			for _, n := range ls {
				if ip, ok := n.(gopacket.NetworkLayer); ok {
					if err := x.SetNetworkLayerForChecksum(ip); err != nil {
						t.Fatal(err)
					}
				}
			}
		case *layers.UDP:
			for _, n := range ls {
				if ip, ok := n.(gopacket.NetworkLayer); ok {
					if err := x.SetNetworkLayerForChecksum(ip); err != nil {
						t.Fatal(err)
					}
				}
			}
		case *layers.ICMPv6:
			for _, n := range ls {
				if ip, ok := n.(gopacket.NetworkLayer); ok {
					if err := x.SetNetworkLayerForChecksum(ip); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// Eth returns an Ethernet layer.
func Eth(src, dst string, et layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: MAC(src), DstMAC: MAC(dst), EthernetType: et}
}

// IPv4 returns an IPv4 layer.
func IPv4(src, dst string, proto layers.IPProtocol, ttl uint8) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: ttl, Protocol: proto, SrcIP: IP(src), DstIP: IP(dst), Flags: layers.IPv4DontFragment, Id: 0x1234}
}

// IPv6 returns an IPv6 layer.
func IPv6(src, dst string, next layers.IPProtocol, hlim uint8) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: hlim, NextHeader: next, SrcIP: IP(src), DstIP: IP(dst)}
}

// UDP4 builds Ethernet/IPv4/UDP with payload.
func UDP4(t testing.TB, srcMAC, dstMAC, src, dst string, sport, dport uint16, payload []byte) []byte {
	t.Helper()
	return Serialize(t, Eth(srcMAC, dstMAC, layers.EthernetTypeIPv4), IPv4(src, dst, layers.IPProtocolUDP, 64),
		&layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}, gopacket.Payload(payload))
}

// TCP4 builds Ethernet/IPv4/TCP.
func TCP4(t testing.TB, srcMAC, dstMAC, src, dst string, sport, dport uint16, syn bool, payload []byte) []byte {
	t.Helper()
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: 1000, Window: 65535, SYN: syn, ACK: !syn, Ack: 1}
	if syn {
		tcp.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}}
	}
	return Serialize(t, Eth(srcMAC, dstMAC, layers.EthernetTypeIPv4), IPv4(src, dst, layers.IPProtocolTCP, 64), tcp, gopacket.Payload(payload))
}

// Echo4 builds an ICMPv4 echo request (or reply).
func Echo4(t testing.TB, srcMAC, dstMAC, src, dst string, id, seq uint16, reply bool) []byte {
	t.Helper()
	typ := layers.ICMPv4TypeEchoRequest
	if reply {
		typ = layers.ICMPv4TypeEchoReply
	}
	return Serialize(t, Eth(srcMAC, dstMAC, layers.EthernetTypeIPv4), IPv4(src, dst, layers.IPProtocolICMPv4, 64),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(uint8(typ), 0), Id: id, Seq: seq}, gopacket.Payload([]byte("ping")))
}

// Decoded is a frame decoded by gopacket, layer by layer, keeping the inner
// frame of a VXLAN packet separately (docs/style.md: one DecodingLayerParser would
// let the inner headers overwrite the outer).
type Decoded struct {
	Eth    *layers.Ethernet
	IPv4   *layers.IPv4
	IPv6   *layers.IPv6
	TCP    *layers.TCP
	UDP    *layers.UDP
	ICMP   *layers.ICMPv4
	ICMP6  *layers.ICMPv6
	ARP    *layers.ARP
	VXLAN  *layers.VXLAN
	Inner  *Decoded
	Packet gopacket.Packet
}

// Decode decodes a frame with gopacket. VXLAN is recognised on UDP port 4789.
func Decode(t testing.TB, frame []byte) *Decoded {
	t.Helper()
	pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	d := &Decoded{Packet: pkt}
	for _, l := range pkt.Layers() {
		switch x := l.(type) {
		case *layers.Ethernet:
			if d.Eth == nil {
				d.Eth = x
			}
		case *layers.IPv4:
			if d.IPv4 == nil {
				d.IPv4 = x
			}
		case *layers.IPv6:
			if d.IPv6 == nil {
				d.IPv6 = x
			}
		case *layers.TCP:
			if d.TCP == nil {
				d.TCP = x
			}
		case *layers.UDP:
			if d.UDP == nil {
				d.UDP = x
			}
		case *layers.ICMPv4:
			if d.ICMP == nil {
				d.ICMP = x
			}
		case *layers.ICMPv6:
			if d.ICMP6 == nil {
				d.ICMP6 = x
			}
		case *layers.ARP:
			d.ARP = x
		case *layers.VXLAN:
			d.VXLAN = x
			d.Inner = Decode(t, x.Payload)
			return d
		}
	}
	return d
}

// ChecksumsValid verifies with gopacket that the IPv4 header checksum and
// the TCP/UDP/ICMP checksums of frame are right (recomputing them with
// gopacket's serializer and comparing), at the outer level and, for VXLAN,
// the inner level too. It reports the first wrong one.
func ChecksumsValid(t testing.TB, frame []byte) {
	t.Helper()
	d := Decode(t, frame)
	checkLevel(t, d, "")
	if d.Inner != nil {
		checkLevel(t, d.Inner, "inner ")
	}
}

func checkLevel(t testing.TB, d *Decoded, level string) {
	t.Helper()
	if d.IPv4 != nil {
		got := d.IPv4.Checksum
		c := *d.IPv4
		c.Checksum = 0
		buf := gopacket.NewSerializeBuffer()
		if err := c.SerializeTo(buf, gopacket.SerializeOptions{ComputeChecksums: true}); err != nil {
			t.Fatalf("%sIPv4 reserialize: %v", level, err)
		}
		want := uint16(buf.Bytes()[10])<<8 | uint16(buf.Bytes()[11])
		if got != want {
			t.Errorf("%sIPv4 header checksum = %#04x, want %#04x", level, got, want)
		}
	}
	var nl gopacket.NetworkLayer
	if d.IPv4 != nil {
		nl = d.IPv4
	} else if d.IPv6 != nil {
		nl = d.IPv6
	}
	if nl == nil {
		return
	}
	if d.IPv4 != nil && (d.IPv4.Flags&layers.IPv4MoreFragments != 0 || d.IPv4.FragOffset != 0) {
		return
	}
	switch {
	case d.TCP != nil:
		// Sum the segment's own bytes: re-serialising with gopacket would
		// clear the TCP header's reserved bits (RFC 9293 section 3.1),
		// which gopacket does not keep, and give a wrong expectation for a
		// segment that sets them.
		got := d.TCP.Checksum
		want := rawChecksum(nl, layers.IPProtocolTCP, d.TCP.Contents, d.TCP.Payload, 16)
		if got != want {
			t.Errorf("%sTCP checksum = %#04x, want %#04x", level, got, want)
		}
	case d.UDP != nil:
		got := d.UDP.Checksum
		if got == 0 && d.IPv4 != nil {
			return
		}
		c := *d.UDP
		_ = c.SetNetworkLayerForChecksum(nl)
		want := reserialize(t, &c, c.Payload, 6)
		if got != want {
			t.Errorf("%sUDP checksum = %#04x, want %#04x", level, got, want)
		}
	case d.ICMP != nil:
		got := d.ICMP.Checksum
		c := *d.ICMP
		want := reserialize(t, &c, c.Payload, 2)
		if got != want {
			t.Errorf("%sICMPv4 checksum = %#04x, want %#04x", level, got, want)
		}
	case d.ICMP6 != nil:
		got := d.ICMP6.Checksum
		c := *d.ICMP6
		_ = c.SetNetworkLayerForChecksum(nl)
		want := reserialize(t, &c, c.Payload, 2)
		if got != want {
			t.Errorf("%sICMPv6 checksum = %#04x, want %#04x", level, got, want)
		}
	}
}

// rawChecksum computes the transport checksum of a segment from its bytes
// as they are (header with the checksum at off taken as zero, then
// payload) and the pseudo-header of nl (RFC 793 section 3.1 for IPv4,
// RFC 8200 section 8.1 for IPv6), with a plain RFC 1071 sum.
func rawChecksum(nl gopacket.NetworkLayer, proto layers.IPProtocol, hdr, payload []byte, off int) uint16 {
	var pseudo []byte
	n := len(hdr) + len(payload)
	switch ip := nl.(type) {
	case *layers.IPv4:
		pseudo = append(append(append(pseudo, ip.SrcIP.To4()...), ip.DstIP.To4()...), 0, byte(proto), byte(n>>8), byte(n))
	case *layers.IPv6:
		pseudo = append(append(append(pseudo, ip.SrcIP.To16()...), ip.DstIP.To16()...),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n), 0, 0, 0, byte(proto))
	}
	h := append([]byte(nil), hdr...)
	if off+1 < len(h) {
		h[off], h[off+1] = 0, 0
	}
	var sum uint32
	var odd []byte
	for _, part := range [][]byte{pseudo, h, payload} {
		b := append(odd, part...)
		odd = nil
		for ; len(b) >= 2; b = b[2:] {
			sum += uint32(b[0])<<8 | uint32(b[1])
		}
		if len(b) == 1 {
			odd = []byte{b[0]}
		}
	}
	if len(odd) == 1 {
		sum += uint32(odd[0]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func reserialize(t testing.TB, l gopacket.SerializableLayer, payload []byte, off int) uint16 {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, l, gopacket.Payload(payload)); err != nil {
		t.Fatalf("reserialize: %v", err)
	}
	b := buf.Bytes()
	return uint16(b[off])<<8 | uint16(b[off+1])
}
