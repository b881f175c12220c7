package spec

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Frames the match tests look at, built with topo from "client".
const (
	synToWeb    = "ether(dst=host1, src=client) / ipv4(src=10.0.0.99, dst=172.16.0.2, ttl=63, tos=0xb8) / tcp(sport=40000, dport=80, flags=S, mss=1460)"
	synBadSum   = "ether(dst=host1, src=client) / ipv4(src=10.0.0.99, dst=172.16.0.2, chksum=0xbeef) / tcp(sport=40000, dport=80, flags=S)"
	httpGet     = "ether(dst=host1, src=client) / ipv4(src=10.0.0.99, dst=10.0.0.10) / tcp(sport=40000, dport=80, flags=PA) / raw(load=\"GET / HTTP/1.1\\r\\n\")"
	udpDNS      = "ether(dst=host1, src=client) / ipv4(src=10.0.0.99, dst=10.0.0.10) / udp(sport=5353, dport=53)"
	hbhTCP      = "ether(dst=host1, src=client) / ipv6(src=fd00::99, dst=fd00::10) / ipv6hbh() / tcp(sport=1, dport=2)"
	vxlanFrame  = "ether(dst=gw, src=host1) / ipv4(src=10.0.0.10, dst=10.0.0.1) / udp(sport=50000) / vxlan(vni=4096) / ether(dst=host1/web, src=client) / ipv4(src=10.244.0.5, dst=172.16.0.2, ttl=127) / udp(sport=7, dport=8)"
	arpReply    = "ether(dst=client, src=host1) / arp(op=is-at, hwsrc=host1, psrc=host1, hwdst=client, pdst=client) / padding(len=18)"
	synAckReply = "ether(dst=client, src=host1) / ipv4(src=10.0.0.10, dst=10.0.0.99) / tcp(sport=8082, dport=40000, flags=SA)"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		name, expect, frame string
		want                []string // FieldDiff strings; nil means a match
	}{
		{"full spec", synToWeb, synToWeb, nil},
		{"partial from ipv4", "ipv4(dst=172.16.0.2, ttl=63) / tcp(dport=80, flags=S)", synToWeb, nil},
		{"partial from tcp", "tcp(dport=80)", synToWeb, nil},
		{"names", "ether(dst=host1/web) / ipv4(dst=host1/web)", synToWeb,
			[]string{"ether.dst: want host1/web (00:15:5d:00:00:02), got 02:00:00:00:00:10"}},
		{"ttl differs", "ipv4(dst=172.16.0.2, ttl=64) / tcp(dport=80)", synToWeb,
			[]string{"ipv4.ttl: want 64, got 63"}},
		{"several differences", "ipv4(src=10.0.0.1, ttl=64) / tcp(sport=1, flags=SA)", synToWeb,
			[]string{"ipv4.src: want 10.0.0.1, got 10.0.0.99", "ipv4.ttl: want 64, got 63", "tcp.sport: want 1, got 40000", "tcp.flags: want SA, got S"}},
		{"dscp", "ipv4(dscp=46, ecn=0)", synToWeb, nil},
		{"dscp differs", "ipv4(dscp=10)", synToWeb, []string{"ipv4.dscp: want 10, got 46"}},
		{"wildcard", "ipv4(id=*) / tcp(sport=*, mss=*)", synToWeb, nil},
		{"wildcard needs the field", "tcp(wscale=*)", synToWeb, []string{"tcp.wscale: want *, got (none)"}},
		{"range", "tcp(sport=32768-60999)", synToWeb, nil},
		{"range misses", "tcp(sport=1-1023)", synToWeb, []string{"tcp.sport: want 1-1023, got 40000"}},
		{"checksums valid", "ipv4(chksum=valid) / tcp(chksum=valid)", synToWeb, nil},
		{"checksum invalid", "ipv4(chksum=valid) / tcp(chksum=valid)", synBadSum,
			[]string{"ipv4.chksum: want valid, got 0xbeef (invalid)"}},
		{"exact bad checksum", "ipv4(chksum=0xbeef)", synBadSum, nil},
		{"other layer", "ipv4() / tcp(dport=53)", udpDNS, []string{"tcp: want tcp, got udp"}},
		{"missing layer", "ipv4() / udp() / raw(len=4)", udpDNS, []string{"raw.len: want 4, got 0"}},
		{"missing layers after the end", "arp() / raw()", arpReply, nil},
		{"layer beyond the frame", "ipv4() / udp() / vxlan()", udpDNS, []string{"vxlan: want vxlan, got (none)"}},
		{"ether first", "ether(src=client, dst=host1) / ipv4()", udpDNS, nil},
		{"ether first differs", "ether(src=host1) / ipv4()", udpDNS,
			[]string{"ether.src: want host1 (02:00:00:00:00:10), got 02:00:00:00:00:99"}},
		{"skips extension headers", "ipv6(dst=fd00::10) / tcp(dport=2)", hbhTCP, nil},
		{"extension header given", "ipv6() / ipv6hbh(options=*) / tcp()", hbhTCP, nil},
		{"payload text", `tcp() / raw(load="GET / HTTP/1.1\r\n")`, httpGet, nil},
		{"payload differs", `tcp() / raw(load="POST")`, httpGet, []string{`raw.load: want "POST", got "GET / HTTP/1.1\r\n"`}},
		{"payload length", "tcp() / raw(len=16)", httpGet, nil},
		{"raw is the rest", "udp(dport=4789) / raw(len=50)", vxlanFrame, nil},
		{"first ip is the outer one", "ipv4(dst=172.16.0.2)", vxlanFrame, []string{"ipv4.dst: want 172.16.0.2, got 10.0.0.1"}},
		{"inner frame", "ipv4() / udp() / vxlan(vni=4096) / ether(src=client) / ipv4(dst=172.16.0.2, ttl=127) / udp(dport=8)", vxlanFrame, nil},
		{"arp", "arp(op=is-at, psrc=10.0.0.10, hwsrc=02:00:00:00:00:10)", arpReply, nil},
		{"padding", "arp() / padding(len=18)", arpReply, nil},
		{"unresolved name", "ipv4(dst=host1)", udpDNS, []string{"ipv4.dst: want host1 (unresolved name), got 10.0.0.10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := MustParse(tt.expect)
			if tt.name != "unresolved name" {
				var err error
				if exp, err = exp.Resolve(topo); err != nil {
					t.Fatal(err)
				}
			}
			frame := build1(t, tt.frame, topo, BuildOptions{})
			ok, diffs := Match(exp, frame, nil, DecodeOptions{})
			var got []string
			for _, d := range diffs {
				got = append(got, d.String())
			}
			if ok != (tt.want == nil) || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Match(%q) = %v, %q; want %v, %q", tt.expect, ok, got, tt.want == nil, tt.want)
			}
		})
	}
}

func TestMatchBindings(t *testing.T) {
	var b Bindings
	syn := build1(t, synToWeb, topo, BuildOptions{})
	reply := build1(t, synAckReply, topo, BuildOptions{})
	dns := build1(t, udpDNS, topo, BuildOptions{})
	steps := []struct {
		expect string
		frame  []byte
		want   []string
		bound  string // b.String() afterwards
	}{
		// A failed match does not keep its bindings.
		{"ipv4(ttl=1) / tcp(sport=$p)", syn, []string{"ipv4.ttl: want 1, got 63"}, ""},
		{"ipv4(src=$client) / tcp(sport=$p)", syn, nil, "$client=10.0.0.99, $p=40000"},
		{"tcp(dport=$p)", reply, nil, "$client=10.0.0.99, $p=40000"},
		{"ipv4(dst=$client) / tcp(dport=$p, sport=$p)", reply, []string{"tcp.sport: want $p=40000, got 8082"}, "$client=10.0.0.99, $p=40000"},
		{"udp(sport=$p)", dns, []string{"udp.sport: want $p=40000, got 5353"}, "$client=10.0.0.99, $p=40000"},
		// Within one match, the second sight must agree with the first.
		{"udp(sport=$a, dport=$a)", dns, []string{"udp.dport: want $a=5353, got 53"}, "$client=10.0.0.99, $p=40000"},
		// Bound and range-checked at once: out of range, nothing is bound.
		{"udp(sport=$e in 49152-65535)", dns, []string{"udp.sport: want $e in 49152-65535, got 5353"}, "$client=10.0.0.99, $p=40000"},
		{"udp(sport=$e in 5000-6000)", dns, nil, "$client=10.0.0.99, $e=5353, $p=40000"},
		// An already-bound value out of the range fails too.
		{"tcp(sport=$p in 1-1023)", syn, []string{"tcp.sport: want $p in 1-1023=40000, got 40000"}, "$client=10.0.0.99, $e=5353, $p=40000"},
		{"tcp(sport=$p in 32768-60999)", syn, nil, "$client=10.0.0.99, $e=5353, $p=40000"},
		// A binding must have the same kind of value wherever it appears.
		{"ether(src=$client)", dns, []string{"ether.src: want $client=10.0.0.99, got 02:00:00:00:00:99"}, "$client=10.0.0.99, $e=5353, $p=40000"},
	}
	for i, st := range steps {
		ok, diffs := Match(MustParse(st.expect), st.frame, &b, DecodeOptions{})
		var got []string
		for _, d := range diffs {
			got = append(got, d.String())
		}
		if ok != (st.want == nil) || !reflect.DeepEqual(got, st.want) {
			t.Fatalf("step %d: Match(%q) = %v, %q; want %v, %q", i, st.expect, ok, got, st.want == nil, st.want)
		}
		if got := b.String(); got != st.bound {
			t.Fatalf("step %d: bindings = %q, want %q", i, got, st.bound)
		}
	}
	// A reply built to the bound port.
	f := build1(t, "ether(dst=client, src=host1) / ipv4(src=10.0.0.10, dst=$client) / tcp(sport=8082, dport=$p, flags=SA)", topo, BuildOptions{Bindings: &b})
	if ok, diffs := Match(MustParse("ipv4(dst=10.0.0.99) / tcp(dport=40000)"), f, nil, DecodeOptions{}); !ok {
		t.Fatalf("reply built with bindings: %v", diffs)
	}
	// Building checks the range too.
	if _, err := Build(MustParse("udp(sport=$p in 1-1023)"), topo, BuildOptions{Bindings: &b}); err == nil || !strings.Contains(err.Error(), "binding $p = 40000 is outside 1-1023") {
		t.Fatalf("build out of range: %v", err)
	}
}

func TestSideBySideGolden(t *testing.T) {
	cases := []struct{ expect, frame string }{
		{"ipv4(dst=172.16.0.2, ttl=64) / tcp(sport=$p, dport=80, flags=SA, chksum=valid)", synToWeb},
		{"ether(dst=host1/web) / ipv4(chksum=valid) / udp(dport=53)", synBadSum},
		{"ipv4() / udp() / vxlan(vni=4097) / ether() / ipv4(ttl=128) / udp(dport=8)", vxlanFrame},
		{"tcp() / raw(load=\"POST / HTTP/1.1\")", httpGet},
		{"arp(op=who-has) / padding(len=4)", arpReply},
	}
	var out strings.Builder
	for _, c := range cases {
		exp, err := MustParse(c.expect).Resolve(topo)
		if err != nil {
			t.Fatal(err)
		}
		b := &Bindings{}
		b.Set("p", Num(40000))
		frame := build1(t, c.frame, topo, BuildOptions{})
		ok, diffs := Match(exp, frame, b, DecodeOptions{})
		out.WriteString("expect: " + c.expect + "\n")
		out.WriteString("frame:  " + Decode(frame, DecodeOptions{}).String() + "\n")
		if ok {
			t.Errorf("Match(%q) matched; the golden cases should all fail", c.expect)
		}
		for _, d := range diffs {
			out.WriteString("diff:   " + d.String() + "\n")
		}
		out.WriteString(SideBySide(exp, frame, diffs, DecodeOptions{}))
		out.WriteString("\n")
	}
	golden(t, "sidebyside", out.String())
}

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./spec -run TestSideBySideGolden -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}
