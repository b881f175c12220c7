package spec

import (
	"bytes"
	"testing"
)

// roundTripTests are specs with the canonical form Decode gives for the
// frames Build makes of them (built with topo, injected at "client").
var roundTripTests = []struct {
	name, spec, want string
}{
	{"tcp syn with options",
		"ipv4(dst=host1) / tcp(sport=40000, dport=8082, flags=S, seq=1, mss=1460, sackok=1, tsval=7, tsecr=0, wscale=7)",
		"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=10.0.0.10, ttl=64) / tcp(sport=40000, dport=8082, flags=S, seq=1, mss=1460, sackok=1, tsval=7, wscale=7)"},
	{"tcp options not in linux layout",
		"ipv4(dst=host1) / tcp(flags=SA, ack=2, options=0x0402)",
		"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=10.0.0.10, ttl=64) / tcp(sport=20, dport=80, flags=SA, ack=2, options=0x04020000)"},
	{"tcp reserved bits and NS",
		"ipv4(dst=host1) / tcp(flags=NA, reserved=5, window=1, urgptr=3)",
		"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=10.0.0.10, ttl=64) / tcp(sport=20, dport=80, flags=AN, window=1, reserved=5, urgptr=3)"},
	{"bad ipv4 checksum",
		"ipv4(dst=host1, chksum=0xbeef) / udp(sport=1, dport=2)",
		"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=10.0.0.10, ttl=64, chksum=0xbeef) / udp(sport=1, dport=2)"},
	{"udp without checksum",
		"ipv4(dst=host1) / udp(sport=1, dport=2, chksum=0) / raw(load=\"hi\")",
		"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=10.0.0.10, ttl=64) / udp(sport=1, dport=2, chksum=0x0000) / raw(load=\"hi\")"},
	{"wrong ipv4 length",
		"ipv4(dst=host1, len=100) / udp(sport=1, dport=2)",
		"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=10.0.0.10, ttl=64, len=100) / udp(sport=1, dport=2)"},
	{"ipv4 header fields",
		"ipv4(dst=host1, ttl=1, tos=0x2e, id=4660, flags=DF+evil, options=0x94040000) / icmp(type=echo-reply, id=1, seq=2) / raw(load=0x00ff)",
		"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=10.0.0.10, ttl=1, tos=0x2e, id=4660, flags=DF+evil, options=0x94040000) / icmp(type=echo-reply, id=1, seq=2) / raw(load=0x00ff)"},
	{"ipv4 later fragment",
		"ipv4(dst=host1, proto=udp, frag=185) / raw(len=8)",
		"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=10.0.0.10, ttl=64, frag=185, proto=udp) / raw(len=8)"},
	{"ip in ip",
		"ipv4(dst=host1) / ipv4(src=10.1.0.1, dst=10.1.0.2) / udp(sport=1, dport=2)",
		"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=10.0.0.10, ttl=64) / ipv4(src=10.1.0.1, dst=10.1.0.2, ttl=64) / udp(sport=1, dport=2)"},
	{"vlan ipv6 extension headers",
		"ether(dst=host1) / vlan(vid=10, pcp=6) / ipv6(dst=fd00::10, fl=5) / ipv6hbh(options=0x05020000) / ipv6frag(id=5, m=1) / tcp(sport=1, dport=2, flags=S)",
		"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / vlan(vid=10, pcp=6) / ipv6(src=fd00::99, dst=fd00::10, hlim=64, fl=5) / ipv6hbh(options=0x050200000100) / ipv6frag(offset=0, m=1, id=5) / tcp(sport=1, dport=2, flags=S)"},
	{"icmpv6 packet too big",
		"ipv6(dst=host1) / icmpv6(type=packet-too-big, mtu=1400) / ipv6(src=fd00::10, dst=fd00::99, hlim=63) / udp(sport=5, dport=6) / raw(len=1300)",
		"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / ipv6(src=fd00::99, dst=fd00::10, hlim=64) / icmpv6(type=packet-too-big, mtu=1400) / ipv6(src=fd00::10, dst=fd00::99, hlim=63) / udp(sport=5, dport=6) / raw(len=1300)"},
	{"icmpv6 router solicitation",
		"ipv6(dst=ff02::2, hlim=255) / icmpv6(type=router-solicitation) / raw(load=0x0101020000000099)",
		"ether(dst=33:33:00:00:00:02, src=02:00:00:00:00:99) / ipv6(src=fd00::99, dst=ff02::2, hlim=255) / icmpv6(type=router-solicitation) / raw(load=0x0101020000000099)"},
	{"icmp error with truncated tcp",
		"ipv4(dst=host1) / icmp(type=time-exceeded) / ipv4(src=10.0.0.10, dst=10.9.9.9, ttl=1, len=60, proto=tcp) / raw(load=0x9c4000500000000a)",
		"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=10.0.0.10, ttl=64) / icmp(type=time-exceeded) / ipv4(src=10.0.0.10, dst=10.9.9.9, ttl=1, len=60, proto=tcp) / raw(load=0x9c4000500000000a)"},
	{"arp reply with padding",
		"arp(op=is-at, hwdst=host1, pdst=host1) / padding(len=18)",
		"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / arp(op=is-at, hwsrc=02:00:00:00:00:99, psrc=10.0.0.99, hwdst=02:00:00:00:00:10, pdst=10.0.0.10) / padding(len=18)"},
	{"non-zero padding",
		"ipv4(dst=host1) / udp(sport=1, dport=2) / padding(load=0xaa, len=4)",
		"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=10.0.0.10, ttl=64) / udp(sport=1, dport=2) / padding(load=0xaaaaaaaa)"},
	{"unknown ether type",
		"ether(dst=01:80:c2:00:00:0e, type=0x88cc) / raw(load=0x0207)",
		"ether(dst=01:80:c2:00:00:0e, src=02:00:00:00:00:99, type=0x88cc) / raw(load=0x0207)"},
	{"ether with nothing after it",
		"ether(dst=host1)",
		"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99)"},
	{"802.3 length",
		"ether(dst=01:80:c2:00:00:00, type=38) / raw(load=0x424203)",
		"ether(dst=01:80:c2:00:00:00, src=02:00:00:00:00:99, type=0x0026) / raw(load=0x424203)"},
	{"vxlan",
		"ether(dst=gw) / ipv4(dst=gw) / udp(sport=49152) / vxlan(vni=4096) / ether(dst=host1/web, src=host1) / ipv4(src=10.244.0.5, dst=host1/web, ttl=127) / tcp(sport=1, dport=2, flags=PA) / raw(load=\"GET / HTTP/1.1\\r\\n\\r\\n\")",
		"ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=10.0.0.1, ttl=64) / udp(sport=49152, dport=4789) / vxlan(vni=4096) / ether(dst=00:15:5d:00:00:02, src=02:00:00:00:00:10) / ipv4(src=10.244.0.5, dst=172.16.0.2, ttl=127) / tcp(sport=1, dport=2, flags=PA) / raw(load=\"GET / HTTP/1.1\\r\\n\\r\\n\")"},
	{"vxlan group policy",
		"ether(dst=gw) / ipv4(dst=gw) / udp(sport=1) / vxlan(vni=1, flags=0x88, gpflags=0x40, gpid=77, reserved=1) / ether(dst=host1, src=host1)",
		"ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=10.0.0.1, ttl=64) / udp(sport=1, dport=4789) / vxlan(vni=1, flags=0x88, gpflags=0x40, gpid=77, reserved=0x01) / ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:10)"},
	{"udp to a port that is not vxlan",
		"ipv4(dst=host1) / udp(sport=1, dport=8472) / raw(load=0x0800000000000100)",
		"ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / ipv4(src=10.0.0.99, dst=10.0.0.10, ttl=64) / udp(sport=1, dport=8472) / raw(load=0x0800000000000100)"},
	{"raw only", "raw(load=0x0102)", "raw(load=0x0102)"},
	{"short frame", "raw(len=13)", "raw(len=13)"},
	{"empty frame", "raw()", `raw(load="")`},
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range roundTripTests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustParse(tt.spec)
			frame := build1(t, tt.spec, topo, BuildOptions{From: "client"})
			d := Decode(frame, DecodeOptions{})
			if got := d.String(); got != tt.want {
				t.Errorf("Decode:\n got  %s\n want %s", got, tt.want)
			}
			// spec -> bytes -> spec -> bytes gives the same bytes.
			again := build1(t, d.String(), nil, BuildOptions{})
			if !bytes.Equal(again, frame) {
				t.Errorf("Build(Decode(frame)):\n got  %x\n want %x", again, frame)
			}
			// The frame matches the spec it was built from.
			rs, err := s.Resolve(topo)
			if err != nil {
				t.Fatal(err)
			}
			if ok, diffs := Match(rs, frame, nil, DecodeOptions{}); !ok {
				t.Errorf("Match(spec, Build(spec)) = %v", diffs)
			}
			// The canonical form parses back to itself.
			if got := MustParse(d.String()).String(); got != d.String() {
				t.Errorf("Parse(Decode).String() = %s, want %s", got, d.String())
			}
		})
	}
}

func TestDecodeVXLANPorts(t *testing.T) {
	f := build1(t, "ether(dst=gw, src=gw) / ipv4(src=10.0.0.1, dst=10.0.0.2) / udp(sport=1, dport=8472) / vxlan(vni=5) / ether(dst=host1, src=client) / arp(pdst=10.0.0.10, psrc=10.0.0.99)", topo, BuildOptions{})
	want := "ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:01) / ipv4(src=10.0.0.1, dst=10.0.0.2, ttl=64) / udp(sport=1, dport=8472) / vxlan(vni=5) / ether(dst=02:00:00:00:00:10, src=02:00:00:00:00:99) / arp(op=who-has, hwsrc=02:00:00:00:00:99, psrc=10.0.0.99, hwdst=00:00:00:00:00:00, pdst=10.0.0.10)"
	if got := Decode(f, DecodeOptions{VXLANPorts: []uint16{8472}}).String(); got != want {
		t.Errorf("with port 8472:\n got  %s\n want %s", got, want)
	}
	if got := Decode(f, DecodeOptions{}).Layers[3].Name; got != "raw" {
		t.Errorf("without port 8472, layer 3 = %s, want raw", got)
	}
}

// Frames captured by tcpdump, from gopacket's layers/decode_test.go, with
// the tcpdump line that describes each: an independent reading of the
// same bytes.
var foreignFrames = []struct {
	name, tcpdump string
	frame         []byte
	want          string
}{
	{"icmp admin prohibited",
		"IP 72.14.222.226 > 172.29.20.15: ICMP host 10.66.73.201 unreachable - admin prohibited filter, length 36",
		[]byte{
			0x24, 0xbe, 0x05, 0x27, 0x0b, 0x17, 0x00, 0x1f, 0xca, 0xb3, 0x75, 0xc0, 0x08, 0x00, 0x45, 0x00,
			0x00, 0x38, 0x00, 0x00, 0x00, 0x00, 0xfc, 0x01, 0xd7, 0xa7, 0x48, 0x0e, 0xde, 0xe2, 0xac, 0x1d,
			0x14, 0x0f, 0x03, 0x0d, 0x94, 0x6e, 0x00, 0x00, 0x00, 0x00, 0x45, 0x20, 0x00, 0x4d, 0x00, 0x00,
			0x40, 0x00, 0x3e, 0x11, 0x28, 0x49, 0xac, 0x1d, 0x14, 0x0f, 0x0a, 0x42, 0x49, 0xc9, 0x8e, 0xcc,
			0x62, 0xe1, 0x00, 0x39, 0x76, 0x9d,
		},
		// Code 13 is "communication administratively prohibited" (RFC 1812);
		// the quoted UDP header is cut after 8 bytes, so its length and
		// checksum cannot be recomputed and are given.
		"ether(dst=24:be:05:27:0b:17, src=00:1f:ca:b3:75:c0) / ipv4(src=72.14.222.226, dst=172.29.20.15, ttl=252) / icmp(type=dest-unreach, code=13) / ipv4(src=172.29.20.15, dst=10.66.73.201, ttl=62, tos=0x20, len=77, flags=DF) / udp(sport=36556, dport=25313, len=57, chksum=0x769d)"},
	{"neighbor solicitation",
		"IP6 fe80::21f:caff:feb3:75c0 > 2620:0:1005:0:26be:5ff:fe27:b17: ICMP6, neighbor solicitation, who has 2620:0:1005:0:26be:5ff:fe27:b17, length 32",
		[]byte{
			0x24, 0xbe, 0x05, 0x27, 0x0b, 0x17, 0x00, 0x1f, 0xca, 0xb3, 0x75, 0xc0, 0x86, 0xdd, 0x6e, 0x00,
			0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x1f,
			0xca, 0xff, 0xfe, 0xb3, 0x75, 0xc0, 0x26, 0x20, 0x00, 0x00, 0x10, 0x05, 0x00, 0x00, 0x26, 0xbe,
			0x05, 0xff, 0xfe, 0x27, 0x0b, 0x17, 0x87, 0x00, 0x1e, 0xba, 0x00, 0x00, 0x00, 0x00, 0x26, 0x20,
			0x00, 0x00, 0x10, 0x05, 0x00, 0x00, 0x26, 0xbe, 0x05, 0xff, 0xfe, 0x27, 0x0b, 0x17, 0x01, 0x01,
			0x00, 0x1f, 0xca, 0xb3, 0x75, 0xc0,
		},
		"ether(dst=24:be:05:27:0b:17, src=00:1f:ca:b3:75:c0) / ipv6(src=fe80::21f:caff:feb3:75c0, dst=2620:0:1005:0:26be:5ff:fe27:b17, hlim=255, tc=0xe0) / icmpv6(type=neighbor-solicitation, tgt=2620:0:1005:0:26be:5ff:fe27:b17, lladdr=00:1f:ca:b3:75:c0)"},
	{"first fragment",
		"IP 10.1.1.1.31915 > 129.111.30.27.20197: UDP, length 28",
		[]byte{
			0x00, 0x00, 0x39, 0xcf, 0xd9, 0xcd, 0x00, 0x40, 0x33, 0xd9, 0x7c, 0xfd, 0x08, 0x00, 0x45, 0x00,
			0x00, 0x38, 0x00, 0xf2, 0x20, 0x00, 0x40, 0x11, 0xaf, 0x37, 0x0a, 0x01, 0x01, 0x01, 0x81, 0x6f,
			0x1e, 0x1b, 0x7c, 0xab, 0x4e, 0xe5, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		},
		"ether(dst=00:00:39:cf:d9:cd, src=00:40:33:d9:7c:fd) / ipv4(src=10.1.1.1, dst=129.111.30.27, ttl=64, id=242, flags=MF) / udp(sport=31915, dport=20197, chksum=0x0000) / raw(len=28)"},
}

func TestDecodeForeignFrames(t *testing.T) {
	for _, tt := range foreignFrames {
		t.Run(tt.name, func(t *testing.T) {
			d := Decode(tt.frame, DecodeOptions{})
			if got := d.String(); got != tt.want {
				t.Errorf("Decode (tcpdump: %s):\n got  %s\n want %s", tt.tcpdump, got, tt.want)
			}
			if again := build1(t, d.String(), nil, BuildOptions{}); !bytes.Equal(again, tt.frame) {
				t.Errorf("Build(Decode(frame)):\n got  %x\n want %x", again, tt.frame)
			}
		})
	}
}

// TestDecodeFallsBackToRaw checks frames whose layers cannot be written
// as fields: Decode keeps what it can and the rest is raw bytes.
func TestDecodeFallsBackToRaw(t *testing.T) {
	tests := []struct {
		name, hex, want string
	}{
		{"ipv4 header cut short",
			"020000000001 020000000002 0800 4500 0014 0000",
			"ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02, type=ipv4) / raw(load=0x450000140000)"},
		{"ipv4 version 5",
			"020000000001 020000000002 0800 5500 0014 0000 0000 4011 0000 0a000001 0a000002",
			"ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02, type=ipv4) / raw(load=0x5500001400000000401100000a0000010a000002)"},
		{"tcp data offset beyond the packet",
			"020000000001 020000000002 0800 4500 0028 0000 0000 4006 0000 0a000001 0a000002 0001 0002 00000000 00000000 f002 2000 0000 0000",
			"ether(dst=02:00:00:00:00:01, src=02:00:00:00:00:02) / ipv4(src=10.0.0.1, dst=10.0.0.2, ttl=64, proto=tcp, chksum=0x0000) / raw(load=0x000100020000000000000000f002200000000000)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := mustHex(t, tt.hex)
			d := Decode(frame, DecodeOptions{})
			if got := d.String(); got != tt.want {
				t.Errorf("Decode:\n got  %s\n want %s", got, tt.want)
			}
			if again := build1(t, d.String(), nil, BuildOptions{}); !bytes.Equal(again, frame) {
				t.Errorf("Build(Decode(frame)):\n got  %x\n want %x", again, frame)
			}
		})
	}
}
