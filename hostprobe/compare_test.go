package hostprobe

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/result"
)

// pkt describes a test frame.
type pkt struct {
	srcMAC, dstMAC string
	src, dst       string
	ttl            uint8
	id             uint16
	proto          string // tcp, udp, icmp-echo, icmp-error, vxlan
	sport, dport   uint16
	pad            int // Ethernet padding bytes
	inner          []byte
}

// build serializes p with gopacket (lengths and checksums computed).
func build(t *testing.T, p pkt) []byte {
	t.Helper()
	sm, _ := net.ParseMAC(p.srcMAC)
	dm, _ := net.ParseMAC(p.dstMAC)
	if p.ttl == 0 {
		p.ttl = 64
	}
	eth := &layers.Ethernet{SrcMAC: sm, DstMAC: dm, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: p.ttl, Id: p.id, SrcIP: net.ParseIP(p.src).To4(), DstIP: net.ParseIP(p.dst).To4()}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	buf := gopacket.NewSerializeBuffer()
	var ls []gopacket.SerializableLayer
	switch p.proto {
	case "tcp":
		ip.Protocol = layers.IPProtocolTCP
		tcp := &layers.TCP{SrcPort: layers.TCPPort(p.sport), DstPort: layers.TCPPort(p.dport), SYN: true, Window: 8192}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		ls = []gopacket.SerializableLayer{eth, ip, tcp}
	case "udp", "vxlan":
		ip.Protocol = layers.IPProtocolUDP
		udp := &layers.UDP{SrcPort: layers.UDPPort(p.sport), DstPort: layers.UDPPort(p.dport)}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		ls = []gopacket.SerializableLayer{eth, ip, udp}
		if p.proto == "vxlan" {
			ls = append(ls, &layers.VXLAN{ValidIDFlag: true, VNI: 4096}, gopacket.Payload(p.inner))
		} else {
			ls = append(ls, gopacket.Payload("hello"))
		}
	case "icmp-echo":
		ip.Protocol = layers.IPProtocolICMPv4
		ls = []gopacket.SerializableLayer{eth, ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(0, 0), Id: p.sport, Seq: 1}}
	case "icmp-error":
		ip.Protocol = layers.IPProtocolICMPv4
		ls = []gopacket.SerializableLayer{eth, ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, gopacket.Payload(p.inner)}
	default:
		t.Fatalf("build: unknown proto %q", p.proto)
	}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatal(err)
	}
	out := append([]byte(nil), buf.Bytes()...)
	return append(out, make([]byte, p.pad)...)
}

// ipOf returns the IP packet of a frame built by build (for quoting in ICMP errors).
func ipOf(b []byte) []byte { return b[14:] }

// res makes a result with one output.
func res(backend string, index int, in, port, kind string, frame []byte) *result.Packet {
	p := &result.Packet{Backend: backend, Index: index, In: in, Outputs: []result.Output{{Port: port, Kind: kind, Frame: frame}}}
	p.Outcome = Outcome(p)
	return p
}

// checksumsValid checks every checksum of a frame with gopacket, by serializing the
// decoded layers again and comparing.
func checksumsValid(t *testing.T, what string, frame []byte) {
	t.Helper()
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	var ser []gopacket.SerializableLayer
	var ip *layers.IPv4
	for _, l := range p.Layers() {
		switch x := l.(type) {
		case *layers.Ethernet:
			c := *x
			ser = append(ser, &c)
		case *layers.IPv4:
			c := *x
			ip = &c
			ser = append(ser, &c)
		case *layers.UDP:
			c := *x
			if err := c.SetNetworkLayerForChecksum(ip); err != nil {
				t.Fatal(err)
			}
			ser = append(ser, &c, gopacket.Payload(x.Payload))
		case *layers.TCP:
			c := *x
			if err := c.SetNetworkLayerForChecksum(ip); err != nil {
				t.Fatal(err)
			}
			ser = append(ser, &c, gopacket.Payload(x.Payload))
		case *layers.ICMPv4:
			c := *x
			ser = append(ser, &c, gopacket.Payload(x.Payload))
		}
		if len(ser) > 0 {
			if _, ok := ser[len(ser)-1].(gopacket.Payload); ok {
				break
			}
		}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, ser...); err != nil {
		t.Fatalf("%s: reserialize: %v", what, err)
	}
	if got, want := frame[:len(buf.Bytes())], buf.Bytes(); string(got) != string(want) {
		t.Errorf("%s: checksums differ from gopacket's:\ngot  % x\nwant % x", what, got, want)
	}
}

// TestCompareNormalisation checks what the comparer ignores (padding, IPv4 id, the VXLAN
// source port) and what it reports (TTL, a destination port, inconsistent bindings).
func TestCompareNormalisation(t *testing.T) {
	base := pkt{srcMAC: "02:00:00:00:00:01", dstMAC: "02:00:00:00:00:02", src: "10.0.0.4", dst: "198.18.0.10", proto: "udp", sport: 49152, dport: 53}
	with := func(f func(*pkt)) pkt { p := base; f(&p); return p }
	inner := build(t, pkt{srcMAC: "0e:00:00:00:00:01", dstMAC: "0e:00:00:00:00:02", src: "10.244.1.2", dst: "10.244.2.2", proto: "tcp", sport: 1, dport: 2})
	for _, tt := range []struct {
		name   string
		a, b   pkt
		fields []string // differing fields, in order; nil: agree
	}{
		{"same", base, base, nil},
		{"padding", with(func(p *pkt) { p.pad = 6 }), base, nil},
		{"ipv4 id", base, with(func(p *pkt) { p.id = 999 }), nil},
		{"ttl", base, with(func(p *pkt) { p.ttl = 63 }), []string{"ipv4.ttl"}},
		{"nat source port bound", base, with(func(p *pkt) { p.sport = 5000 }), nil},
		{"destination port", base, with(func(p *pkt) { p.dport = 54 }), []string{"udp.dport"}},
		{"vxlan source port", pkt{srcMAC: base.srcMAC, dstMAC: base.dstMAC, src: "10.0.0.4", dst: "10.0.0.5", proto: "vxlan", sport: 1111, dport: 4789, inner: inner},
			pkt{srcMAC: base.srcMAC, dstMAC: base.dstMAC, src: "10.0.0.4", dst: "10.0.0.5", proto: "vxlan", sport: 2222, dport: 4789, inner: inner}, nil},
		{"source address", base, with(func(p *pkt) { p.src = "10.0.0.5" }), []string{"ipv4.src"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := NewComparer("s", "emulator", "linux")
			pc := c.Packet(res("emulator", 1, "x", "server", result.KindDelivered, build(t, tt.a)),
				res("linux", 1, "x", "server", result.KindDelivered, build(t, tt.b)))
			var got []string
			for _, d := range pc.Diffs {
				got = append(got, d.Field)
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("got differences %v, want %v", pc.Diffs, tt.fields)
			}
		})
	}
}

// TestCompareBindings checks that a binding made by one packet holds for the next:
// consistent pairs agree, a second pairing of the same port differs, and a reply's
// destination port matches through the binding.
func TestCompareBindings(t *testing.T) {
	c := NewComparer("s", "emulator", "linux")
	out := func(sport uint16) []byte {
		return build(t, pkt{srcMAC: "02:00:00:00:00:01", dstMAC: "02:00:00:00:00:02", src: "10.0.0.4", dst: "198.18.0.10", proto: "udp", sport: sport, dport: 53})
	}
	reply := func(dport uint16) []byte {
		return build(t, pkt{srcMAC: "02:00:00:00:00:02", dstMAC: "02:00:00:00:00:01", src: "198.18.0.10", dst: "10.0.0.4", proto: "udp", sport: 53, dport: dport})
	}
	steps := []struct {
		a, b  []byte
		agree bool
	}{
		{out(49152), out(5000), true},     // binds 49152 -> 5000
		{out(49152), out(5000), true},     // the same pair again
		{reply(49152), reply(5000), true}, // the reply through the binding
		{out(49152), out(6000), false},    // 49152 is bound to 5000
		{out(49153), out(5000), false},    // 5000 is bound to 49152
		{reply(49153), reply(5001), false},
	}
	for i, s := range steps {
		pc := c.Packet(res("emulator", i+1, "x", "p", result.KindDelivered, s.a), res("linux", i+1, "x", "p", result.KindDelivered, s.b))
		if pc.Agrees() != s.agree {
			t.Errorf("step %d: got agree=%v (%v), want %v", i+1, pc.Agrees(), pc.Diffs, s.agree)
		}
	}
	if got := strings.Join(c.Bindings(), ";"); got != "udp 49152->5000 to 10.0.0.4>198.18.0.10|53" {
		t.Errorf("Bindings: got %q, want udp 49152->5000 to 10.0.0.4>198.18.0.10|53", got)
	}
}

// TestCompareOutputs checks missing and extra outputs and outcome differences.
func TestCompareOutputs(t *testing.T) {
	f := build(t, pkt{srcMAC: "02:00:00:00:00:01", dstMAC: "02:00:00:00:00:02", src: "10.0.0.4", dst: "10.0.0.5", proto: "tcp", sport: 1, dport: 2})
	a := res("emulator", 1, "x", "host1/web", result.KindDelivered, f)
	b := &result.Packet{Backend: "linux", Index: 1, In: "x", Drops: []result.Drop{{Reason: "linux-no-output"}}}
	b.Outcome = Outcome(b)
	a.Outputs = append(a.Outputs, result.Output{Port: "host1/eth0", Kind: result.KindWireTx, Frame: f})
	b.Outputs = append(b.Outputs, result.Output{Port: "server", Kind: result.KindDelivered, Frame: f})
	b.Outcome = Outcome(b)
	pc := NewComparer("s", "emulator", "linux").Packet(a, b)
	var got []string
	for _, d := range pc.Diffs {
		got = append(got, d.What+" "+d.Port)
	}
	if want := "missing host1/web,missing host1/eth0,extra server"; strings.Join(got, ",") != want {
		t.Errorf("got %v, want %s", got, want)
	}
	cmp := Compare("s", []*result.Packet{a, a}, []*result.Packet{b})
	if len(cmp.Packets) != 2 || cmp.Differing() != 2 || cmp.Packets[1].Diffs[0].B != "(no result)" {
		t.Errorf("Compare with a missing result: got %+v", cmp.Packets)
	}
}

// TestTranslate checks that inputs are rewritten through the bindings with valid
// checksums (gopacket's), including the packet an ICMP error quotes.
func TestTranslate(t *testing.T) {
	c := NewComparer("s", "emulator", "linux")
	// Bindings are scoped by the flow's remote end: the server's port 53 for the reply,
	// its port 33434 for the packet the ICMP error quotes, the server for the echo.
	c.bindOK("udp", "10.0.0.4>198.18.0.10|53", 49152, 5000)
	c.bindOK("udp", "10.0.0.4>198.18.0.10|33434", 49152, 5000)
	c.bindOK("icmp-id", "10.0.0.4>198.18.0.10", 49152, 7)
	reply := build(t, pkt{srcMAC: "02:00:00:00:00:02", dstMAC: "02:00:00:00:00:01", src: "198.18.0.10", dst: "10.0.0.4", proto: "udp", sport: 53, dport: 49152, pad: 4})
	got := c.Translate(Input{Port: "server", Frame: reply})
	want := build(t, pkt{srcMAC: "02:00:00:00:00:02", dstMAC: "02:00:00:00:00:01", src: "198.18.0.10", dst: "10.0.0.4", proto: "udp", sport: 53, dport: 5000, pad: 4})
	if string(got.Frame) != string(want) {
		t.Errorf("udp reply: got\n% x\nwant\n% x", got.Frame, want)
	}
	if string(reply) == string(got.Frame) {
		t.Errorf("Translate modified its input in place or did nothing")
	}
	echo := build(t, pkt{srcMAC: "02:00:00:00:00:02", dstMAC: "02:00:00:00:00:01", src: "198.18.0.10", dst: "10.0.0.4", proto: "icmp-echo", sport: 49152})
	got = c.Translate(Input{Frame: echo})
	wantEcho := build(t, pkt{srcMAC: "02:00:00:00:00:02", dstMAC: "02:00:00:00:00:01", src: "198.18.0.10", dst: "10.0.0.4", proto: "icmp-echo", sport: 7})
	if string(got.Frame) != string(wantEcho) {
		t.Errorf("echo reply: got\n% x\nwant\n% x", got.Frame, wantEcho)
	}
	quoted := ipOf(build(t, pkt{srcMAC: "02:00:00:00:00:01", dstMAC: "02:00:00:00:00:02", src: "10.0.0.4", dst: "198.18.0.10", proto: "udp", sport: 49152, dport: 33434}))
	errFrame := build(t, pkt{srcMAC: "02:00:00:00:00:02", dstMAC: "02:00:00:00:00:01", src: "198.18.0.10", dst: "10.0.0.4", proto: "icmp-error", inner: quoted})
	got = c.Translate(Input{Frame: errFrame})
	wantQuoted := ipOf(build(t, pkt{srcMAC: "02:00:00:00:00:01", dstMAC: "02:00:00:00:00:02", src: "10.0.0.4", dst: "198.18.0.10", proto: "udp", sport: 5000, dport: 33434}))
	wantErr := build(t, pkt{srcMAC: "02:00:00:00:00:02", dstMAC: "02:00:00:00:00:01", src: "198.18.0.10", dst: "10.0.0.4", proto: "icmp-error", inner: wantQuoted})
	if string(got.Frame) != string(wantErr) {
		t.Errorf("icmp error: got\n% x\nwant\n% x", got.Frame, wantErr)
	}
	checksumsValid(t, "icmp error", got.Frame)
	unbound := build(t, pkt{srcMAC: "02:00:00:00:00:02", dstMAC: "02:00:00:00:00:01", src: "198.18.0.10", dst: "10.0.0.4", proto: "tcp", sport: 80, dport: 40000})
	if got := c.Translate(Input{Frame: unbound}); string(got.Frame) != string(unbound) {
		t.Errorf("unbound frame changed")
	}
	for _, short := range [][]byte{nil, {1, 2, 3}, unbound[:20], unbound[:36]} {
		_ = c.Translate(Input{Frame: short}) // must not panic
	}
}

// TestDifferencesTable checks that the table is well formed.
func TestDifferencesTable(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Differences {
		if k.ID == "" || k.Windows == "" || k.Linux == "" || k.Source == "" {
			t.Errorf("entry %q: every field must be set: %+v", k.ID, k)
		}
		if seen[k.ID] {
			t.Errorf("ID %q twice", k.ID)
		}
		seen[k.ID] = true
	}
	for _, id := range []string{"host-hairpin", "ipv6-nat", "vfp-icmp-snat", "host-icmp-error", "l2bridge-ipvlan-mac", "vfp-switched-nat", "nat-timeouts",
		"l2bridge-lb-mac", "lb-update-established", "host-vnic-mac", "nic-mtu-capture", "lb-backend-choice"} {
		if _, ok := DifferenceByID(id); !ok {
			t.Errorf("DifferenceByID(%q): missing", id)
		}
	}
}

// TestExplain checks that differences are labelled with the documented reasons.
func TestExplain(t *testing.T) {
	f := build(t, pkt{srcMAC: "02:00:00:00:00:01", dstMAC: "02:00:00:00:00:02", src: "10.0.0.4", dst: "172.16.0.2", proto: "tcp", sport: 1, dport: 80})
	dropped := func(in, reason string, trace ...result.Stage) *result.Packet {
		p := &result.Packet{Backend: "emulator", Index: 1, In: in, Drops: []result.Drop{{Reason: reason}}, Trace: trace}
		p.Outcome = Outcome(p)
		return p
	}
	delivered := res("linux", 1, "host1/host", "host1/web", result.KindDelivered, f)
	for _, tt := range []struct {
		name string
		a    *result.Packet
		want string
	}{
		{"hairpin from the host", dropped("host1/host", "winnat-no-host-loopback"), "host-hairpin"},
		{"vfp icmp", dropped("host1/pod-a", "vfp-no-icmp-transposition"), "vfp-icmp-snat"},
		{"ports exhausted", dropped("host1/web", "winnat-ports-exhausted"), "nat-port-range"},
		{"address-dependent filtering", dropped("server", "x", result.Stage{Component: "winnat", Detail: "new session on a mapping (address-dependent filtering: ...)"}), "winnat-filtering"},
		{"unexplained", dropped("server", "winnat-no-mapping"), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pc := NewComparer("s", "emulator", "linux").Packet(tt.a, delivered)
			if len(pc.Diffs) == 0 {
				t.Fatalf("no differences")
			}
			for _, d := range pc.Diffs {
				if d.Known != tt.want {
					t.Errorf("%s: got label %q, want %q", d, d.Known, tt.want)
				}
			}
		})
	}
}

// TestEmulatorBackend runs the emulator backend and compares it with itself.
func TestEmulatorBackend(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "emulator", "fabric", "testdata", "nat.json"))
	if err != nil {
		t.Fatal(err)
	}
	var topo fabric.Topology
	if err := json.Unmarshal(b, &topo); err != nil {
		t.Fatal(err)
	}
	syn := build(t, pkt{srcMAC: "02:00:00:00:00:99", dstMAC: "00:15:5d:00:00:04", src: "10.0.0.99", dst: "10.0.0.4", proto: "tcp", sport: 40000, dport: 8082})
	e := NewEmulator()
	if _, err := e.Run(context.Background(), "s", nil, RunOptions{}); err == nil {
		t.Errorf("Run before Setup: got nil error")
	}
	if err := e.Setup(context.Background(), &topo); err != nil {
		t.Fatal(err)
	}
	var after []int
	ref, err := e.Run(context.Background(), "s", []Input{{Port: "client", Frame: syn}}, RunOptions{After: func(i int, p *result.Packet) { after = append(after, i) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(ref) != 1 || len(after) != 1 || ref[0].Outcome != result.OutcomeDelivered || len(ref[0].Delivered()) != 1 || ref[0].Delivered()[0].Port != "host1/web" {
		t.Fatalf("got %+v, want the SYN delivered at host1/web", ref)
	}
	if _, err := e.Run(context.Background(), "s", []Input{{Port: "nowhere", Frame: syn}}, RunOptions{}); err == nil {
		t.Errorf("Run at an unknown port: got nil error")
	}
	e2 := NewEmulator()
	if err := e2.Setup(context.Background(), &topo); err != nil {
		t.Fatal(err)
	}
	_, cmp, err := RunAgainst(context.Background(), e2, "s", ref)
	if err != nil || cmp.Differing() != 0 {
		t.Errorf("emulator against itself: %v, %d differing", err, cmp.Differing())
	}
	tp, err := e.Throughput(context.Background(), Workload{Name: "syn", In: "client", Sinks: []string{"host1/web"}, Frames: [][]byte{syn}, Duration: 20 * time.Millisecond})
	if err != nil || tp.Sent == 0 || tp.Received != tp.Sent || tp.PPS() <= 0 {
		t.Errorf("Throughput: got %+v, %v; want every frame delivered", tp, err)
	}
	if _, err := e.Throughput(context.Background(), Workload{Name: "bad", In: "client", Frames: [][]byte{syn}}); err == nil {
		t.Errorf("Throughput without sinks: got nil error")
	}
}

// FuzzTranslate checks that translating arbitrary frames never panics, keeps their
// length, and leaves frames without a bound value alone.
func FuzzTranslate(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 60))
	f.Add([]byte("\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00E\x00\x00\x1c\x00\x00\x00\x00@\x11\x00\x00\n\x00\x00\x04\n\x00\x00\x05\xc0\x00\x005\x00\x08\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := NewComparer("s", "a", "b")
		c.bindOK("udp", "10.0.0.5|53", 49152, 5000)
		c.bindOK("tcp", "10.0.0.5|80", 53, 80)
		c.bindOK("icmp-id", "10.0.0.5", 0, 7)
		c.LBGroups = []LBGroup{lbGroup()}
		c.bindOK(bindKindLB(0), "", 1, 0)
		got := c.Translate(Input{Frame: b})
		if len(got.Frame) != len(b) {
			t.Fatalf("length changed from %d to %d", len(b), len(got.Frame))
		}
		empty := NewComparer("s", "a", "b")
		if got := empty.Translate(Input{Frame: b}); string(got.Frame) != string(b) {
			t.Fatalf("a comparer without bindings changed the frame")
		}
	})
}

// FuzzCompareFrames checks that comparing arbitrary frames never panics and that a
// frame agrees with itself.
func FuzzCompareFrames(f *testing.F) {
	f.Add([]byte{}, []byte{1, 2, 3})
	f.Add(make([]byte, 60), make([]byte, 64))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		c := NewComparer("s", "a", "b")
		_ = c.frames(a, b, nil)
		if d := NewComparer("s", "a", "b").frames(a, a, nil); len(d) != 0 {
			t.Fatalf("a frame differs from itself: %v", d)
		}
	})
}
