package spec

import (
	"errors"
	"strings"
	"testing"
)

var parseTests = []struct {
	in, want string
}{
	{"ether(dst=02:00:00:00:00:01)", "ether(dst=02:00:00:00:00:01)"},
	{"ether", "ether()"},
	{"Ether / IP(dst=10.0.0.1, TTL=5)/TCP(flags=sa)", "ether() / ipv4(dst=10.0.0.1, ttl=5) / tcp(flags=SA)"},
	{"dot1q(id=5, prio=3)", "vlan(vid=5, pcp=3)"},
	{"ipv4(flags=DF+MF)", "ipv4(flags=MF+DF)"},
	{"ipv4(flags=DF|MF)", "ipv4(flags=MF+DF)"},
	{"ipv4(flags=df)", "ipv4(flags=DF)"},
	{"ipv4(dscp=46, ecn=1)", "ipv4(dscp=46, ecn=1)"},
	{"ipv4(tos=0x10, options=0x01010100)", "ipv4(tos=0x10, options=0x01010100)"},
	{"udp(sport=8000-8010, dport=$p, chksum=valid)", "udp(sport=8000-8010, dport=$p, chksum=valid)"},
	{"tcp(sport=$p in 49152-65535,dport=80)", "tcp(sport=$p in 49152-65535, dport=80)"},
	{"udp(sport=$p  in  53)", "udp(sport=$p in 53-53)"},
	{"udp(sport=0x10-0x20)", "udp(sport=16-32)"},
	{"udp(chksum=*)", "udp(chksum=*)"},
	{`raw(load=hex"0a 0b")`, "raw(load=0x0a0b)"},
	{`raw(load="a,b)\r\n")`, `raw(load="a,b)\r\n")`},
	{`raw(load=0x)`, `raw(load="")`},
	{"raw(len=100)", "raw(len=100)"},
	{"arp(op=2)", "arp(op=is-at)"},
	{"arp(op=who-has, psrc=10.0.0.1, hwdst=host2)", "arp(op=who-has, psrc=10.0.0.1, hwdst=host2)"},
	{"icmp(type=8)", "icmp(type=echo-request)"},
	{"icmp(type=dest-unreach, code=4, mtu=1400)", "icmp(type=dest-unreach, code=4, seq=1400)"},
	{"icmpv6(type=136, flags=RSO)", "icmpv6(type=neighbor-advertisement, flags=RSO)"},
	{"icmp(type=200)", "icmp(type=200)"},
	{"ether(dst=host1/web)", "ether(dst=host1/web)"},
	{`ether(dst="my host")`, `ether(dst="my host")`},
	{`ether(dst="valid")`, `ether(dst="valid")`},
	{"ether(type=0x800)", "ether(type=ipv4)"},
	{"ether(type=0x88cc)", "ether(type=0x88cc)"},
	{"tcp() x3", "tcp() x 3"},
	{"tcp x 3", "tcp() x 3"},
	{"ipv6(src=FD00::1, hlim=1)", "ipv6(src=fd00::1, hlim=1)"},
	{"ipv6(ttl=1)", "ipv6(hlim=1)"},
	{"ether(src=02-00-00-00-00-0A)", "ether(src=02:00:00:00:00:0a)"},
	{"tcp(sport=010, urgp=1, mss=1460)", "tcp(sport=10, urgptr=1, mss=1460)"},
	{"tcp(flags=0)", "tcp(flags=0)"},
	{"tcp(flags=0x12)", "tcp(flags=SA)"},
	{"vxlan(vni=4096, flags=0x0c)", "vxlan(vni=4096, flags=0x0c)"},
	{"ipv6hbh() / ipv6frag(frag=3, m=1, id=9)", "ipv6hbh() / ipv6frag(offset=3, m=1, id=9)"},
	{"pad(len=6)", "padding(len=6)"},
	{"  ether ( dst = 02:00:00:00:00:01 , ) /ipv4( )x 2 ", "ether(dst=02:00:00:00:00:01) / ipv4() x 2"},
}

func TestParseString(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := s.String(); got != tt.want {
				t.Fatalf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			s2, err := Parse(tt.want)
			if err != nil {
				t.Fatalf("Parse(%q) (canonical): %v", tt.want, err)
			}
			if got := s2.String(); got != tt.want {
				t.Fatalf("canonical form does not round-trip: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseColumns(t *testing.T) {
	s := MustParse("ether() / ipv4(src=10.0.0.1,  ttl=3)")
	if got, want := s.Layers[1].Col, 11; got != want {
		t.Errorf("ipv4 col = %d, want %d", got, want)
	}
	if got, want := s.Layers[1].Fields[1].Col, 31; got != want {
		t.Errorf("ttl col = %d, want %d", got, want)
	}
}

var parseErrorTests = []struct {
	in, want string // want is a prefix of the error text
}{
	{`ether() / ipv4(src=10.0.0.1, tll=3)`, `col 30: ipv4: unknown field "tll" (did you mean "ttl"? known: src, dst, ttl,`},
	{"ipv4(ttl=300)", "col 10: ipv4: ttl: value 300 out of range (max 255)"},
	{"ipv4(ttl=99999999999999999999999)", "col 10: ipv4: ttl: value 99999999999999999999999 out of range"},
	{"foo()", `col 1: unknown layer "foo" (known: ether,`},
	{"ipv4(src=10.0.0.1", `col 18: ipv4: missing ")"`},
	{"ipv4(src=10.0.0.1 dst=1.2.3.4)", `col 19: ipv4: src: want "," or ")", got 'd'`},
	{"ipv4(src=fd00::1)", "col 10: ipv4: src: fd00::1 is not an IPv4 address"},
	{"ipv6(src=10.0.0.1)", "col 10: ipv6: src: 10.0.0.1 is not an IPv6 address"},
	{"ipv4(src=10.0.0.300)", `col 10: ipv4: src: bad address "10.0.0.300"`},
	{"ipv6(src=fe80::1%eth0)", "col 10: ipv6: src: address fe80::1%eth0: zones are not supported"},
	{"tcp(flags=SX)", `col 11: tcp: flags: bad value "SX" (want a number or one of F, S, R, P, A, U, E, C, N)`},
	{"tcp(options=0x01, mss=5)", "col 19: tcp: mss: cannot be given with options"},
	{"ipv4(dscp=1, tos=5)", "col 14: ipv4: tos: cannot be given with dscp"},
	{"tcp(sport=5, sport=6)", "col 14: tcp: sport: given twice"},
	{"vlan(vid=5, id=6)", "col 13: vlan: vid: given twice"},
	{"tcp() x 0", "col 9: repeat: count 0 out of range (1 to 65536)"},
	{"tcp() x 70000", "col 9: repeat: count 70000 out of range"},
	{"tcp() x", `col 7: repeat: want a count after "x"`},
	{"tcp() x 2 / udp()", `col 11: unexpected '/' after the repeat count`},
	{"tcp() junk", `col 7: unexpected 'j' after layer tcp`},
	{"udp(sport=10-5)", `col 11: udp: sport: bad range "10-5": 10 > 5`},
	{"udp(sport=1-99999)", "col 11: udp: sport: value 99999 out of range (max 65535)"},
	{"udp(sport=host1)", `col 11: udp: sport: bad number "host1"`},
	{`udp(sport="1")`, "col 11: udp: sport: want a number, got a string"},
	{"raw(load=0xabc)", `col 10: raw: load: bad hex "0xabc"`},
	{`raw(load=hex"zz")`, `col 10: raw: load: bad hex string`},
	{`raw(load="abc)`, "col 10: raw: load: unterminated quoted string"},
	{`raw(load="\q")`, `col 10: raw: load: bad quoted string`},
	{"raw(load=abc)", `col 10: raw: load: bad bytes "abc"`},
	{"ether(dst=aa:bb:cc:dd:ee:ff:00:11)", `col 11: ether: dst: bad MAC "aa:bb:cc:dd:ee:ff:00:11": 8 bytes, want 6`},
	{"ether(dst=1abc)", `col 11: ether: dst: bad MAC or name "1abc"`},
	{`ether(dst=hex"00")`, "col 11: ether: dst: want a MAC or a name, got a hex string"},
	{"", "col 1: want a layer name, got the end of the spec"},
	{"ether() /", "col 10: want a layer name, got the end of the spec"},
	{"ether(dst=$)", `col 11: ether: dst: bad binding "$" (want $ and a name such as $p)`},
	{"tcp(sport=$p in)", `col 16: tcp: sport: "$p in": missing value before ')'`},
	{"tcp(sport=$p in *)", `col 17: tcp: sport: "$p in" wants a range such as 49152-65535, got wildcard`},
	{"tcp(sport=$p in 9-1)", `col 17: tcp: sport: "$p in": bad range "9-1": 9 > 1`},
	{"ipv4(src=$a in 1-2)", `col 13: ipv4: src: "$a in" takes a range of numbers`},
	{"tcp(sport=$p inside)", `col 14: tcp: sport: want "," or ")", got 'i'`},
	{"ether(dst=)", `col 11: ether: dst: missing value before ')'`},
	{"ether(dst)", `col 10: ether: dst: want "=" after the field name`},
	{"ether(=5)", `col 7: ether: want a field name, got '='`},
	{"ether(dst=valid)", `col 11: ether: dst: bad MAC or name "valid"`},
	{"ipv4(ttl=valid)", `col 10: ipv4: ttl: bad number "valid"`},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range parseErrorTests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error %q", tt.in, s, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) error:\n got  %q\n want %q...", tt.in, err, tt.want)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error is %T, want *Error", tt.in, err)
			}
		})
	}
}
