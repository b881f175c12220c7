package modes

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/reports"
)

// sampleWant is what the documented behaviour says each mode does with each
// flow of the sample (status, and the drop reason of a failure):
//
//   - nat: inbound needs a static port mapping, 8080 is not published
//     (windows-behaviour.md §2.1, §2.4); no IPv6 (§2.4, VD architecture.md);
//     WinNAT translates ICMP queries (§2.3 IcmpQueryTimeout); other nodes
//     reach a container through the port published on its host (§2.1).
//   - transparent: no translation, everything reaches (§3.2).
//   - l2bridge: OutBoundNAT has no ICMP transposition, ping outside the
//     cluster fails (§3.6, §4 issue 11); IPv6 works from WS2022 (§3.1).
//   - l2tunnel: as l2bridge without OutBoundNAT, everything through the
//     physical gateway (§3.4).
//   - overlay: pod addresses are not routable from outside (§3.5); no ICMP
//     transposition (§3.5 Docker Swarm overlay); no IPv6 (§3.5); endpoint MTU
//     1450, so the 1500-byte segment cannot leave (§3.5, microsoft/SDN#517).
var sampleWant = map[string][7]string{
	NAT:         {"works", "works", "works", "fails winnat-no-mapping", "works", "fails hns-ipv6-unsupported", "works"},
	Transparent: {"works", "works", "works", "works", "works", "works", "works"},
	L2Bridge:    {"works", "works", "works", "works", "fails vfp-no-icmp-transposition", "works", "works"},
	L2Tunnel:    {"works", "works", "works", "works", "works", "works", "works"},
	Overlay:     {"works", "works", "fails no-route", "fails no-route", "fails vfp-no-icmp-transposition", "fails hns-ipv6-unsupported", "partial mtu-mismatch"},
}

func status(fr reports.FlowResult) string {
	s := fr.Status
	if fr.Status != reports.StatusWorks && fr.Drop != nil {
		s += " " + fr.Drop.Reason
	}
	return s
}

func compareSample(t *testing.T, tr *Traffic, wl *Workload) *reports.Modes {
	t.Helper()
	m, err := Compare(wl, tr, Options{CostTime: -1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func checkTable(t *testing.T, m *reports.Modes) {
	t.Helper()
	if len(m.Flows) != 7 {
		t.Fatalf("got %d flows, want 7", len(m.Flows))
	}
	for _, mr := range m.Modes {
		if mr.Error != "" {
			t.Errorf("%s: not built: %s", mr.Mode, mr.Error)
			continue
		}
		want := sampleWant[mr.Mode]
		for i, fr := range mr.Flows {
			if got := status(fr); got != want[i] {
				t.Errorf("%s flow %d (%s): got %q, want %q", mr.Mode, fr.Flow, m.Flows[i].Summary, got, want[i])
			}
		}
	}
}

// TestSampleModes runs the sample capture through every mode.
func TestSampleModes(t *testing.T) {
	wl, err := LoadWorkload(sampleWorkload)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := LoadCapture(samplePcap)
	if err != nil {
		t.Fatal(err)
	}
	m := compareSample(t, tr, wl)
	checkTable(t, m)
	if got, want := len(m.Modes), 5; got != want {
		t.Fatalf("got %d modes, want %d", got, want)
	}
	for _, mr := range m.Modes {
		if len(mr.Constraints) == 0 {
			t.Errorf("%s: no documented constraints", mr.Mode)
		}
		for _, c := range mr.Constraints {
			if !strings.Contains(c.Source, "windows-behaviour.md §") {
				t.Errorf("%s: constraint %q cites %q, want a section of docs/windows-behaviour.md", mr.Mode, c.Text, c.Source)
			}
		}
	}
}

// TestSampleWire checks what each mode puts on the wire for the sample's
// flows against the documented transformations.
func TestSampleWire(t *testing.T) {
	wl, err := LoadWorkload(sampleWorkload)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := LoadCapture(samplePcap)
	if err != nil {
		t.Fatal(err)
	}
	m := compareSample(t, tr, wl)
	get := func(mode string, flow int) *reports.Wire {
		for _, mr := range m.Modes {
			if mr.Mode == mode {
				return mr.Flows[flow-1].Wire
			}
		}
		t.Fatalf("no mode %s", mode)
		return nil
	}
	tests := []struct {
		name                    string
		mode                    string
		flow                    int
		mac, translation, encap string
		overhead                int
		onWireHas, receivedHas  string
	}{
		// §2.1: WinNAT translates the source to the host's address.
		{"nat dns", NAT, 1, "host", "SNAT 172.16.0.2:53000 -> 10.0.0.4:", "", 0, "10.0.0.4:", "198.18.0.10:53"},
		// §2.3 Add-NetNatStaticMapping: external 443 to internal 443.
		{"nat inbound", NAT, 3, "host", "DNAT 10.0.0.4:443 -> 172.16.0.2:443", "", 0, "10.0.0.200:50000 > 10.0.0.4:443", "172.16.0.2:443"},
		// §3.2: the container's own MAC and IP on the wire.
		{"transparent", Transparent, 1, "container", "", "", 0, "00:15:5d:01:01:02 > ", "10.0.0.20:53000"},
		// §3.3: host MAC on egress, OutBoundNAT to the host's address.
		{"l2bridge outbound", L2Bridge, 2, "host", "SNAT 10.244.1.2:41000 -> 10.0.0.4:", "", 0, "00:15:5d:00:00:04 > ", ""},
		// §3.3: pod to pod across nodes is routed, not NATed (exception).
		{"l2bridge east-west", L2Bridge, 7, "host", "", "", 0, "10.244.1.2:43000 > 10.244.2.2:8080", "10.244.1.2:43000"},
		// §3.4: host MAC, container IP, to the physical gateway.
		{"l2tunnel", L2Tunnel, 1, "host", "", "", 0, "> 02:00:00:00:00:01 10.0.0.20:53000", ""},
		// §3.5: VXLAN to the remote node's PA, VNI 4096, 50 bytes.
		{"overlay east-west", Overlay, 7, "host", "", "VXLAN VNI 4096", 50, "10.0.0.4:", "10.244.1.2:43000 > 10.244.2.2:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(tt.mode, tt.flow)
			if w == nil {
				t.Fatal("no wire description")
			}
			if w.MACOnWire != tt.mac {
				t.Errorf("MAC on the wire: got %q, want %q", w.MACOnWire, tt.mac)
			}
			tr := strings.Join(w.Translation, "; ")
			if (tt.translation == "") != (tr == "") || !strings.Contains(tr, tt.translation) {
				t.Errorf("translation: got %q, want %q", tr, tt.translation)
			}
			if w.Encap != tt.encap || w.Overhead != tt.overhead {
				t.Errorf("encapsulation: got %q %d bytes, want %q %d", w.Encap, w.Overhead, tt.encap, tt.overhead)
			}
			if !strings.Contains(w.OnWire, tt.onWireHas) {
				t.Errorf("on the wire: got %q, want it to contain %q", w.OnWire, tt.onWireHas)
			}
			if !strings.Contains(w.Received, tt.receivedHas) {
				t.Errorf("received: got %q, want it to contain %q", w.Received, tt.receivedHas)
			}
		})
	}
}

// sampleFlows describes the sample's traffic as flows; it must give the
// same table as the capture.
const sampleFlows = `
udp web:53000 -> resolver:53
tcp web:41000 -> cdn:443 size=557         # the ClientHello-sized record
tcp laptop:50000 -> web:443 inbound
tcp laptop:50001 -> web:8080 inbound
icmp web -> gateway-ping
tcp web:42000 -> cdn:443 ipv6
tcp web:43000 -> api:8080 east-west size=1500
`

func TestFlowsLikeSample(t *testing.T) {
	wl, err := LoadWorkload(sampleWorkload)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := ParseFlows("sample.flows", sampleFlows)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := FlowsTraffic("sample.flows", wl, lines)
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, compareSample(t, tr, wl))
}

func TestParseWorkload(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string // substring of the error; "" for none
	}{
		{"minimal", "endpoints: [{name: web}]", ""},
		{"full", "profile: WS2025\nendpoints:\n  - {name: web, addresses: [10.1.1.1, 'fd00::1'], expose: ['80', '8443:443/tcp', 53/udp]}\nnodes:\n  - {name: n2, endpoints: [{name: api}]}\npeers:\n  - {name: lap, where: lan}\n", ""},
		{"no endpoints", "peers: [{name: a}]", "at least one endpoint"},
		{"unknown key", "endpoints: [{name: web}]\nfoo: 1\n", "w.yaml:2:1: foo: unknown key"},
		{"bad name", "endpoints: [{name: Web}]", "endpoints[0].name: name \"Web\""},
		{"reserved name", "endpoints: [{name: router}]", "reserved"},
		{"duplicate name", "endpoints: [{name: web}]\npeers: [{name: web}]", "already used on line 1"},
		{"bad address", "endpoints: [{name: web, addresses: [10.1.1]}]", "endpoints[0].addresses[0]"},
		{"two v4 addresses", "endpoints: [{name: web, addresses: [10.0.0.1, 10.0.0.2]}]", "at most one address per family"},
		{"shared address", "endpoints: [{name: web, addresses: [10.0.0.1]}, {name: db, addresses: [10.0.0.1]}]", "already the address of web"},
		{"bad expose", "endpoints: [{name: web, expose: [80/sctp]}]", "protocol \"sctp\""},
		{"port zero", "endpoints: [{name: web, expose: ['0']}]", "want 1-65535"},
		{"published twice", "endpoints: [{name: web, expose: ['80', '8080:80', '80']}]", "published twice"},
		{"bad where", "endpoints: [{name: web}]\npeers: [{name: a, where: moon}]", "want internet or lan"},
		{"not a mapping", "- 1\n- 2\n", "want a mapping"},
		{"yaml syntax", "endpoints: [\n", "workload:"},
		{"empty", "", "empty file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWorkload("w.yaml", []byte(tt.text))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
			if err != nil {
				var ie *InputError
				if !errors.As(err, &ie) || ie.File != "w.yaml" {
					t.Errorf("error %v is not an *InputError naming w.yaml", err)
				}
			}
		})
	}
}

func TestParseExpose(t *testing.T) {
	tests := []struct {
		in   string
		want Expose
	}{
		{"443/tcp", Expose{6, 443, 443}}, {"8443:443", Expose{6, 8443, 443}}, {"53/udp", Expose{17, 53, 53}},
		{"5353:53/UDP", Expose{17, 5353, 53}},
	}
	for _, tt := range tests {
		got, err := ParseExpose(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseExpose(%q): got %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "x", "70000", "1:2:3", "80/icmp", ":80"} {
		if _, err := ParseExpose(bad); err == nil {
			t.Errorf("ParseExpose(%q): got no error", bad)
		}
	}
}

func TestParseFlows(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string // error substring, "" for none
		n    int
	}{
		{"inline", "tcp 198.18.0.10:40000 -> web:80 inbound; udp web -> 192.0.2.1:53", "", 2},
		{"file", "# a comment\ntcp a:1 -> b:2 size=1500 noreply\n\nicmp a -> [2001:db8::1]:0\n", "f:4: dst: \"[2001:db8::1]:0\": icmp has no ports", 0},
		{"icmp v6", "icmp web -> 2001:db8::1\n", "", 1},
		{"v6 with port", "udp [fd00::1]:5 -> [fd00::2]:53\n", "", 1},
		{"no arrow", "tcp a b\n", "want PROTO SRC -> DST", 0},
		{"bad proto", "sctp a:1 -> b:2\n", "protocol \"sctp\"", 0},
		{"no dst port", "tcp a:1 -> b\n", "needs a port", 0},
		{"bad option", "tcp a -> b:1 fast\n", "option \"fast\"", 0},
		{"bad size", "udp a -> b:1 size=10\n", "size \"10\"", 0},
		{"bad name", "tcp A! -> b:1\n", "want a workload name or an address", 0},
		{"empty", "# nothing\n", "no flows", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFlows("f", tt.text)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			case tt.want == "" && len(got) != tt.n:
				t.Fatalf("got %d flows, want %d", len(got), tt.n)
			}
		})
	}
}

// TestFlowsTrafficFrames decodes the frames flows make with gopacket.
func TestFlowsTrafficFrames(t *testing.T) {
	wl, err := ParseWorkload("w", []byte("endpoints: [{name: web, addresses: [172.17.0.9]}]\npeers: [{name: srv}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := ParseFlows("f", "tcp web:40001 -> srv:443 size=1500; icmp web -> srv noreply; udp srv:53 -> web:5353 ipv6")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := FlowsTraffic("f", wl, lines)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		src, dst string
		sport    uint16
		dport    uint16
		flags    string // TCP, or ICMP type
		ipLen    int
	}
	wants := []want{
		{"172.17.0.9", "192.0.2.2", 40001, 443, "S", 40},
		{"192.0.2.2", "172.17.0.9", 443, 40001, "SA", 40},
		{"172.17.0.9", "192.0.2.2", 40001, 443, "A", 40},
		{"172.17.0.9", "192.0.2.2", 40001, 443, "PA", 1500},
		{"192.0.2.2", "172.17.0.9", 443, 40001, "A", 40},
		{"172.17.0.9", "192.0.2.2", 0, 0, "echo", 84},
		{"2001:db8:2::2", "fd00:17::2", 53, 5353, "", 80},
		{"fd00:17::2", "2001:db8:2::2", 5353, 53, "", 80},
	}
	if len(tr.Frames) != len(wants) {
		t.Fatalf("got %d frames, want %d", len(tr.Frames), len(wants))
	}
	for i, w := range wants {
		pk := gopacket.NewPacket(tr.Frames[i].Data, layers.LayerTypeEthernet, gopacket.Default)
		if e := pk.ErrorLayer(); e != nil && pk.TransportLayer() == nil {
			t.Fatalf("frame %d: %v", i+1, e.Error()) // (a UDP payload to port 53 is not DNS: gopacket may say so)
		}
		var src, dst string
		var ipLen int
		switch ip := pk.NetworkLayer().(type) {
		case *layers.IPv4:
			src, dst, ipLen = ip.SrcIP.String(), ip.DstIP.String(), int(ip.Length)
		case *layers.IPv6:
			src, dst, ipLen = ip.SrcIP.String(), ip.DstIP.String(), int(ip.Length)+40
		}
		var sp, dp uint16
		flags := ""
		switch l := pk.TransportLayer().(type) {
		case *layers.TCP:
			sp, dp = uint16(l.SrcPort), uint16(l.DstPort)
			if l.SYN {
				flags += "S"
			}
			if l.PSH {
				flags += "P"
			}
			if l.ACK {
				flags += "A"
			}
		case *layers.UDP:
			sp, dp = uint16(l.SrcPort), uint16(l.DstPort)
		}
		if ic, ok := pk.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok && ic.TypeCode.Type() == layers.ICMPv4TypeEchoRequest {
			flags = "echo"
		}
		got := want{src, dst, sp, dp, flags, ipLen}
		if got != w {
			t.Errorf("frame %d: got %+v, want %+v", i+1, got, w)
		}
	}
}

// TestRewrite checks rewrite against gopacket: the new MACs, addresses and
// ports, everything else kept, checksums right.
func TestRewrite(t *testing.T) {
	wl, _ := ParseWorkload("w", []byte("endpoints: [{name: web, addresses: [172.17.0.9, 'fd00::9']}]\npeers: [{name: srv}]\n"))
	lines, _ := ParseFlows("f", "tcp web:40001 -> srv:443 size=300 noreply; udp web:1 -> srv:53 ipv6 noreply; icmp web -> srv noreply")
	tr, err := FlowsTraffic("f", wl, lines)
	if err != nil {
		t.Fatal(err)
	}
	smac, dmac := net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}
	for _, f := range tr.Frames {
		in := gopacket.NewPacket(f.Data, layers.LayerTypeEthernet, gopacket.Default)
		v6 := in.Layer(layers.LayerTypeIPv6) != nil
		src, dst := netip.MustParseAddr("10.9.9.1"), netip.MustParseAddr("10.9.9.2")
		if v6 {
			src, dst = netip.MustParseAddr("fd00::a"), netip.MustParseAddr("fd00::b")
		}
		out, err := rewrite(f.Data, smac, dmac, src, dst, 7, 8)
		if err != nil {
			t.Fatalf("frame %d: %v", f.Index, err)
		}
		if len(out) != len(f.Data) {
			t.Errorf("frame %d: length %d, want %d", f.Index, len(out), len(f.Data))
		}
		h := parseHeaders(out)
		if h.srcMAC.String() != smac.String() || h.dstMAC.String() != dmac.String() || h.src != src || h.dst != dst {
			t.Errorf("frame %d: got %v, want %s > %s %s > %s", f.Index, h, smac, dmac, src, dst)
		}
		if h.proto == 6 || h.proto == 17 {
			if h.sport != 7 || h.dport != 8 {
				t.Errorf("frame %d: ports %d > %d, want 7 > 8", f.Index, h.sport, h.dport)
			}
		} else if h.sport != 7 {
			t.Errorf("frame %d: ICMP id %d, want 7", f.Index, h.sport)
		}
		checkChecksums(t, f.Index, out)
		// The transport's payload is kept.
		pin := gopacket.NewPacket(out, layers.LayerTypeEthernet, gopacket.Default)
		if a, b := l4Payload(in), l4Payload(pin); string(a) != string(b) {
			t.Errorf("frame %d: payload changed: got %d bytes, want %d", f.Index, len(b), len(a))
		}
	}
}

// l4Payload returns what follows the transport (or ICMP) header.
func l4Payload(pk gopacket.Packet) []byte {
	if l := pk.TransportLayer(); l != nil {
		return l.LayerPayload()
	}
	for _, lt := range []gopacket.LayerType{layers.LayerTypeICMPv4, layers.LayerTypeICMPv6Echo} {
		if l := pk.Layer(lt); l != nil {
			return l.LayerPayload()
		}
	}
	return nil
}

// checkChecksums re-serialises a frame with gopacket computing the
// checksums, and compares.
func checkChecksums(t *testing.T, i int, b []byte) {
	t.Helper()
	pk := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
	var ls []gopacket.SerializableLayer
	var nl gopacket.NetworkLayer
	for _, l := range pk.Layers() {
		switch x := l.(type) {
		case *layers.IPv4:
			nl = x
		case *layers.IPv6:
			nl = x
		case *layers.TCP:
			x.SetNetworkLayerForChecksum(nl)
		case *layers.UDP:
			x.SetNetworkLayerForChecksum(nl)
		case *layers.ICMPv6:
			x.SetNetworkLayerForChecksum(nl)
		}
		if s, ok := l.(gopacket.SerializableLayer); ok && l.LayerType() != gopacket.LayerTypePayload && l.LayerType() != layers.LayerTypeDNS {
			ls = append(ls, s)
		}
	}
	ls = append(ls, gopacket.Payload(l4Payload(pk)))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("frame %d: %v", i, err)
	}
	if string(buf.Bytes()) != string(b) {
		t.Errorf("frame %d: checksums or lengths differ from gopacket's", i)
	}
}

func TestCompareErrors(t *testing.T) {
	wl, _ := ParseWorkload("w", []byte("endpoints: [{name: web}]"))
	tr := &Traffic{Source: "t"}
	if _, err := Compare(wl, tr, Options{Modes: []string{"bridge"}}); err == nil || !strings.Contains(err.Error(), `unknown mode "bridge"`) {
		t.Errorf("got %v, want an unknown mode error", err)
	}
}

// TestSkipped: frames that are not replayed are reported, not lost.
func TestSkipped(t *testing.T) {
	wl, _ := ParseWorkload("w", []byte("endpoints: [{name: web, addresses: [10.1.1.1]}]\npeers: [{name: a, addresses: [10.2.2.2]}, {name: b, addresses: [10.3.3.3]}]\n"))
	arp := make([]byte, 42)
	copy(arp[12:], []byte{0x08, 0x06})
	lines, _ := ParseFlows("f", "udp a:1 -> b:2 noreply")
	peerToPeer, err := FlowsTraffic("f", wl, lines)
	if err != nil {
		t.Fatal(err)
	}
	tr := &Traffic{Source: "t", Frames: []Frame{{Index: 1, Data: arp}, {Index: 2, Data: peerToPeer.Frames[0].Data}}}
	m, err := Compare(wl, tr, Options{Modes: []string{NAT}, CostTime: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Flows) != 1 || m.Modes[0].Flows[0].Status != reports.StatusSkipped || m.Modes[0].Skipped != 1 {
		t.Errorf("got flows %+v results %+v, want the peer-to-peer flow skipped", m.Flows, m.Modes[0].Flows)
	}
	notes := strings.Join(m.Notes, "\n")
	if !strings.Contains(notes, "packets 1 not replayed: ARP") {
		t.Errorf("notes %q do not say the ARP packet was not replayed", notes)
	}
}
