package hostprobe

import (
	"strconv"
	"testing"
	"time"

	"github.com/hnspath/hnspath/result"
)

func udpOut(t *testing.T, sport uint16, dst string, dport uint16) []byte {
	return build(t, pkt{srcMAC: "02:00:00:00:00:01", dstMAC: "02:00:00:00:00:02", src: "10.0.0.4", dst: dst, proto: "udp", sport: sport, dport: dport})
}

func at(p *result.Packet, ns int64) *result.Packet { p.TimeNS = ns; return p }

// TestBindingsScopedAndStale checks that a NAT port binding is one-to-one per remote
// end, not per scenario: one port of A toward two peers may be two ports of B (RFC
// 4787 §4.1 endpoint-dependent reuse), and a port neither side used for longer than the
// shortest NAT timeout may be paired anew; within a scope and a live binding a second
// pairing is still a difference.
func TestBindingsScopedAndStale(t *testing.T) {
	steps := []struct {
		name  string
		a, b  []byte
		t     time.Duration
		agree bool
	}{
		{"binds 49152->40000 toward server:53", udpOut(t, 49152, "198.18.0.10", 53), udpOut(t, 40000, "198.18.0.10", 53), 0, true},
		{"the same port toward another peer, another port on B", udpOut(t, 49152, "198.18.0.11", 53), udpOut(t, 40001, "198.18.0.11", 53), time.Second, true},
		{"a second pairing toward server:53 while live", udpOut(t, 49152, "198.18.0.10", 53), udpOut(t, 40002, "198.18.0.10", 53), 2 * time.Second, false},
		{"reused after a pause longer than the timeouts", udpOut(t, 49152, "198.18.0.10", 53), udpOut(t, 40003, "198.18.0.10", 53), 3 * time.Minute, true},
		{"and kept", udpOut(t, 49152, "198.18.0.10", 53), udpOut(t, 40003, "198.18.0.10", 53), 3*time.Minute + time.Second, true},
	}
	c := NewComparer("s", "emulator", "linux")
	for i, s := range steps {
		pc := c.Packet(at(res("emulator", i+1, "x", "server", result.KindDelivered, s.a), int64(s.t)),
			at(res("linux", i+1, "x", "server", result.KindDelivered, s.b), int64(s.t)))
		if pc.Agrees() != s.agree {
			t.Errorf("%s: agree=%v (%v), want %v", s.name, pc.Agrees(), pc.Diffs, s.agree)
		}
	}
}

// TestTimeoutsLabelTheFlow checks that once a pause let one side's NAT state expire,
// the later packets of that flow (not only the first after the pause) get nat-timeouts,
// and other flows do not.
func TestTimeoutsLabelTheFlow(t *testing.T) {
	c := NewComparer("s", "emulator", "linux")
	in := udpOut(t, 40000, "198.18.0.10", 53)
	other := udpOut(t, 40001, "198.18.0.10", 54)
	dropped := func(backend string, i int, frame []byte, ns int64) *result.Packet {
		p := &result.Packet{Backend: backend, Index: i, In: "server", Frame: frame, TimeNS: ns,
			Drops: []result.Drop{{Port: "host1/eth0", Reason: "winnat-no-mapping"}}}
		p.Outcome = Outcome(p)
		return p
	}
	delivered := func(backend string, i int, frame []byte, ns int64) *result.Packet {
		p := res(backend, i, "server", "host1/web", result.KindDelivered, frame)
		p.Frame, p.TimeNS = frame, ns
		return p
	}
	c.Packet(delivered("emulator", 1, in, 0), delivered("linux", 1, in, 0))
	pause := int64(200 * time.Second)
	for i, ns := range []int64{pause, pause + 1000} {
		pc := c.Packet(dropped("emulator", 2+i, in, ns), delivered("linux", 2+i, in, ns))
		if pc.Agrees() || !pc.Documented() || pc.Diffs[0].Known != "nat-timeouts" {
			t.Errorf("packet %d of the flow after the pause: %v, want nat-timeouts", 2+i, pc.Diffs)
		}
	}
	pc := c.Packet(dropped("emulator", 4, other, pause+2000), delivered("linux", 4, other, pause+2000))
	if pc.Documented() {
		t.Errorf("another flow without a pause: %v, want undocumented", pc.Diffs)
	}
}

// TestInjectRejectedIsNotAgreement checks that an input the Linux backend could not
// inject is neither an agreement nor an undocumented difference: it was not compared.
func TestInjectRejectedIsNotAgreement(t *testing.T) {
	a := &result.Packet{Backend: "emulator", Index: 1, In: "host1/web", Drops: []result.Drop{{Reason: "mtu-mismatch"}}}
	a.Outcome = Outcome(a)
	b := &result.Packet{Backend: "linux", Index: 1, In: "host1/web", Drops: []result.Drop{{Reason: reasonInjectRejected}}}
	b.Outcome = Outcome(b)
	pc := NewComparer("s", "emulator", "linux").Packet(a, b)
	if pc.Agrees() {
		t.Fatal("an input Linux never sent agrees")
	}
	if !pc.Documented() || pc.Diffs[0].NotBuilt == "" {
		t.Errorf("diffs %v, want one marked as not injected", pc.Diffs)
	}
	cmp := &Comparison{Packets: []PacketComparison{pc}}
	if v := cmp.Verdict(); v == VerdictAgrees {
		t.Errorf("verdict %q", v)
	}
}

// TestVLANSlack checks the veth-vlan-slack label: an emulator MTU drop of a packet 1-4
// bytes over the MTU, delivered by Linux, is documented; 5 bytes over is not.
func TestVLANSlack(t *testing.T) {
	for _, tt := range []struct {
		over int
		want string
	}{{1, "veth-vlan-slack"}, {4, "veth-vlan-slack"}, {5, ""}} {
		a := &result.Packet{Backend: "emulator", Index: 1, In: "host1/web", Drops: []result.Drop{{Reason: "mtu-mismatch"}},
			Trace: []result.Stage{{Component: "vswitch", Reason: "mtu-mismatch",
				Detail: "MTU mismatch (length " + strconv.Itoa(1500+tt.over) + " > MTU 1500)"}}}
		a.Outcome = Outcome(a)
		b := res("linux", 1, "host1/web", "server", result.KindDelivered, udpOut(t, 1, "198.18.0.10", 2))
		pc := NewComparer("s", "emulator", "linux").Packet(a, b)
		for _, d := range pc.Diffs {
			if d.Known != tt.want {
				t.Errorf("%d bytes over: %v labelled %q, want %q", tt.over, d, d.Known, tt.want)
			}
		}
	}
}

// TestDocumentedLabelNeverHidesADelivery checks that a documented difference whose
// Windows side is a drop does not explain the emulator delivering what Linux did not.
func TestDocumentedLabelNeverHidesADelivery(t *testing.T) {
	v6 := build(t, pkt{srcMAC: "02:00:00:00:00:01", dstMAC: "02:00:00:00:00:02", src: "10.0.0.4", dst: "10.0.0.5", proto: "udp", sport: 1, dport: 2})
	v6[12], v6[13] = 0x86, 0xdd // an IPv6 input frame (ipv6-nat matches it)
	a := res("emulator", 1, "host1/web", "server", result.KindDelivered, v6)
	a.Frame = v6
	b := &result.Packet{Backend: "linux", Index: 1, In: "host1/web", Frame: v6}
	b.Outcome = Outcome(b)
	pc := NewComparer("s", "emulator", "linux").Packet(a, b)
	if pc.Documented() {
		t.Errorf("emulator delivered IPv6 the rule drops: %v, want undocumented", pc.Diffs)
	}
	// The other way round (the emulator drops, Linux delivers) stays documented.
	a2 := &result.Packet{Backend: "emulator", Index: 1, In: "host1/web", Frame: v6, Drops: []result.Drop{{Reason: "hns-ipv6-unsupported"}}}
	a2.Outcome = Outcome(a2)
	b2 := res("linux", 1, "host1/web", "server", result.KindDelivered, v6)
	if pc := NewComparer("s", "emulator", "linux").Packet(a2, b2); !pc.Documented() {
		t.Errorf("emulator drops IPv6, Linux delivers: %v, want documented ipv6-nat", pc.Diffs)
	}
}

// TestHostICMPErrorOnlyTTLTOSQuote checks that host-icmp-error explains the outer TTL
// and the quote's length, and not an address or port in the quote (an error quoting
// the translated packet leaks the internal address: RFC 5508 §4).
func TestHostICMPErrorOnlyTTLTOSQuote(t *testing.T) {
	quote := func(src string, sport uint16) []byte {
		return ipOf(build(t, pkt{srcMAC: "02:00:00:00:00:01", dstMAC: "02:00:00:00:00:02", src: src, dst: "10.0.0.4", proto: "udp", sport: sport, dport: 5353}))
	}
	errFrame := func(ttl uint8, q []byte) []byte {
		return build(t, pkt{srcMAC: "02:00:00:00:00:02", dstMAC: "02:00:00:00:00:01", src: "10.0.0.4", dst: "10.0.0.99", ttl: ttl, proto: "icmp-error", inner: q})
	}
	for _, tt := range []struct {
		name       string
		a, b       []byte
		documented bool
	}{
		{"TTL", errFrame(128, quote("10.0.0.99", 40000)), errFrame(64, quote("10.0.0.99", 40000)), true},
		{"quoted address", errFrame(128, quote("172.16.0.2", 40000)), errFrame(128, quote("10.0.0.99", 40000)), false},
		{"quoted port", errFrame(128, quote("10.0.0.99", 40001)), errFrame(128, quote("10.0.0.99", 40000)), false},
		{"quote length", errFrame(128, quote("10.0.0.99", 40000)[:28]), errFrame(128, quote("10.0.0.99", 40000)), true},
	} {
		pc := NewComparer("s", "emulator", "linux").Packet(res("emulator", 1, "client", "client", result.KindDelivered, tt.a),
			res("linux", 1, "client", "client", result.KindDelivered, tt.b))
		if pc.Agrees() || pc.Documented() != tt.documented {
			t.Errorf("%s: %v, want documented=%v", tt.name, pc.Diffs, tt.documented)
		}
	}
}

// TestQuotedEchoIDTranslated checks that the echo id an ICMP error quotes is translated
// through the icmp-id binding, as ports are.
func TestQuotedEchoIDTranslated(t *testing.T) {
	c := NewComparer("s", "emulator", "linux")
	c.bindOK("icmp-id", "10.0.0.4>198.18.0.10", 49152, 7)
	echo := func(id uint16) []byte {
		f := build(t, pkt{srcMAC: "02:00:00:00:00:01", dstMAC: "02:00:00:00:00:02", src: "10.0.0.4", dst: "198.18.0.10", proto: "icmp-echo", sport: id})
		f[34] = 8 // an echo request
		f[36], f[37] = 0, 0
		fixL4Checksum(f[14:], 20, 1)
		return ipOf(f)
	}
	errFrame := func(q []byte) []byte {
		return build(t, pkt{srcMAC: "02:00:00:00:00:02", dstMAC: "02:00:00:00:00:01", src: "198.18.0.1", dst: "10.0.0.4", proto: "icmp-error", inner: q})
	}
	got := c.Translate(Input{Frame: errFrame(echo(49152))})
	if want := errFrame(echo(7)); string(got.Frame) != string(want) {
		t.Errorf("got\n% x\nwant\n% x", got.Frame, want)
	}
	checksumsValid(t, "quoted echo", got.Frame)
}

// TestQuoteLengthConsequences checks that a truncated quote's lengths and checksums,
// which one side shows as numbers and the other as computed, are host-icmp-error, and
// that a quoted length both sides show as numbers is not.
func TestQuoteLengthConsequences(t *testing.T) {
	for _, tt := range []struct {
		d    Difference
		want bool
	}{
		{Difference{What: "field", Field: "udp.len", A: "10", B: "(computed)"}, true},
		{Difference{What: "field", Field: "ipv4#2.len", A: "30", B: "(computed)"}, true},
		{Difference{What: "field", Field: "udp.chksum", A: "9088", B: "valid"}, true},
		{Difference{What: "field", Field: "ipv4#2.len", A: "30", B: "40"}, false},
		{Difference{What: "field", Field: "ipv4#2.src", A: "172.16.0.2", B: "(computed)"}, false},
	} {
		if got := quoteLengthField(&tt.d); got != tt.want {
			t.Errorf("%v: got %v, want %v", tt.d, got, tt.want)
		}
	}
}
