package winnat

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/packet"
)

// Test addresses: containers in 172.16.0.0/16, the host's external
// addresses 10.0.0.10 and 10.0.0.11, outside peers elsewhere.
const (
	macC = "00:15:5d:00:00:02" // container
	macH = "00:15:5d:00:00:01" // host vNIC
	macR = "02:00:00:00:00:99" // router

	c1   = "172.16.0.2"
	c2   = "172.16.0.3"
	ext1 = "10.0.0.10"
	ext2 = "10.0.0.11"
	rem1 = "93.184.216.34"
	rem2 = "198.51.100.7"
	rtr  = "203.0.113.1" // a router on the path that sends ICMP errors
)

const sec = int64(time.Second)

var (
	e1 = netip.MustParseAddr(ext1)
	e2 = netip.MustParseAddr(ext2)
)

func testConfig() Config {
	c := DefaultConfig()
	c.Host = "host1"
	c.ExternalAddrs = []netip.Addr{e1, e2}
	return c
}

func newNAT(t testing.TB, mods ...func(*Config)) *NAT {
	t.Helper()
	c := testConfig()
	for _, m := range mods {
		m(&c)
	}
	n, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n
}

func parse(t testing.TB, frame []byte) *packet.Parsed {
	t.Helper()
	p := new(packet.Parsed)
	p.Decode(frame)
	if !p.Valid() {
		t.Fatalf("decode: %v", p.Err)
	}
	return p
}

func udp4(t testing.TB, src, dst string, sport, dport uint16) []byte {
	t.Helper()
	return emutest.UDP4(t, macC, macH, src, dst, sport, dport, []byte("hello, winnat"))
}

// tcp4 builds a TCP segment with flags from "SAFRP" (SYN, ACK, FIN, RST, PSH).
func tcp4(t testing.TB, src, dst string, sport, dport uint16, flags string) []byte {
	t.Helper()
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: 1000, Ack: 2000, Window: 65535}
	for _, f := range flags {
		switch f {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		case 'F':
			tcp.FIN = true
		case 'R':
			tcp.RST = true
		case 'P':
			tcp.PSH = true
		}
	}
	return emutest.Serialize(t, emutest.Eth(macC, macH, layers.EthernetTypeIPv4), emutest.IPv4(src, dst, layers.IPProtocolTCP, 64),
		tcp, gopacket.Payload("data"))
}

func echo4(t testing.TB, src, dst string, id uint16, reply bool) []byte {
	t.Helper()
	return emutest.Echo4(t, macC, macH, src, dst, id, 7, reply)
}

func udp6(t testing.TB) []byte {
	t.Helper()
	return emutest.Serialize(t, emutest.Eth(macC, macH, layers.EthernetTypeIPv6), emutest.IPv6("fd00::2", "2001:db8::1", layers.IPProtocolUDP, 64),
		&layers.UDP{SrcPort: 5000, DstPort: 53}, gopacket.Payload("v6"))
}

// gre4 builds an IPv4 packet of protocol 47 (GRE), which has no ports.
func gre4(t testing.TB) []byte {
	t.Helper()
	return emutest.Serialize(t, emutest.Eth(macC, macH, layers.EthernetTypeIPv4), emutest.IPv4(c1, rem1, layers.IPProtocolGRE, 64),
		gopacket.Payload([]byte{0, 0, 0x08, 0, 1, 2, 3, 4}))
}

// icmpError builds an ICMPv4 error from src to dst that carries datagram
// (an IP header and what follows).
func icmpError(t testing.TB, src, dst string, typ, code uint8, datagram []byte) []byte {
	t.Helper()
	return emutest.Serialize(t, emutest.Eth(macR, macH, layers.EthernetTypeIPv4), emutest.IPv4(src, dst, layers.IPProtocolICMPv4, 250),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code)}, gopacket.Payload(datagram))
}

// ipOf returns a copy of the IP datagram of an Ethernet frame.
func ipOf(t testing.TB, frame []byte) []byte {
	t.Helper()
	p := parse(t, frame)
	return append([]byte(nil), frame[p.L3:p.End]...)
}

// got is what gopacket, an independent decoder, sees in a frame.
type got struct {
	src, dst     netip.Addr
	sport, dport uint16 // TCP/UDP ports or ICMP echo identifier (both)
}

func inspect(t testing.TB, frame []byte) got {
	t.Helper()
	d := emutest.Decode(t, frame)
	if d.IPv4 == nil {
		t.Fatalf("gopacket: no IPv4 layer in %x", frame)
	}
	g := got{src: addrOf(d.IPv4.SrcIP), dst: addrOf(d.IPv4.DstIP)}
	switch {
	case d.UDP != nil:
		g.sport, g.dport = uint16(d.UDP.SrcPort), uint16(d.UDP.DstPort)
	case d.TCP != nil:
		g.sport, g.dport = uint16(d.TCP.SrcPort), uint16(d.TCP.DstPort)
	case d.ICMP != nil:
		g.sport, g.dport = d.ICMP.Id, d.ICMP.Id
	}
	return g
}

func addrOf(ip []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// expect checks a frame's addresses and ports with gopacket and that every
// checksum is right.
func expect(t testing.TB, frame []byte, src string, sport uint16, dst string, dport uint16) {
	t.Helper()
	g := inspect(t, frame)
	want := got{netip.MustParseAddr(src), netip.MustParseAddr(dst), sport, dport}
	if g != want {
		t.Errorf("got %v:%d -> %v:%d, want %v:%d -> %v:%d", g.src, g.sport, g.dst, g.dport, want.src, want.sport, want.dst, want.dport)
	}
	emutest.ChecksumsValid(t, frame)
}

// headerChecksumOK checks an IPv4 header checksum with a plain RFC 1071
// loop, independent of package checksum.
func headerChecksumOK(h []byte) bool {
	ihl := int(h[0]&0xf) * 4
	var s uint32
	for i := 0; i+1 < ihl; i += 2 {
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s) == 0xffff
}

// mustVerdict runs a NAT call and checks its verdict and reason.
func mustVerdict(t testing.TB, what string, v Verdict, r interface{ String() string }, wantV Verdict, wantR string) {
	t.Helper()
	if v != wantV || r.String() != wantR {
		t.Fatalf("%s = %v %q, want %v %q", what, v, r, wantV, wantR)
	}
}
