package modes

import (
	"bytes"
	"flag"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/pcapio"
)

var update = flag.Bool("update", false, "rewrite the sample capture and golden files")

const (
	samplePcap     = "../../../../scenarios/samples/modes-sample.pcapng"
	sampleWorkload = "../../../../scenarios/samples/modes-sample.workload.yaml"
)

// sampleFrames builds the packets of scenarios/samples/modes-sample.pcapng:
// what a capture on a Linux Docker host (docker0) would show of a web
// container talking to the world. Addresses are those of the sample
// workload; the capture's MACs are Docker's (02:42 and the address).
func sampleFrames(t testing.TB) [][]byte {
	t.Helper()
	web4, web6 := net.IP{172, 17, 0, 2}, net.ParseIP("fd00:17::2")
	resolver, cdn4, cdn6 := net.IP{192, 0, 2, 53}, net.IP{203, 0, 113, 10}, net.ParseIP("2001:db8:cd::10")
	pingee, laptop, api := net.IP{198, 51, 100, 1}, net.IP{192, 168, 1, 50}, net.IP{172, 18, 0, 3}
	macWeb := net.HardwareAddr{0x02, 0x42, 0xac, 0x11, 0, 2}
	macGW := net.HardwareAddr{0x02, 0x42, 0x5e, 0x7a, 0x01, 0x9c} // docker0
	var out [][]byte
	ser := func(src, dst net.HardwareAddr, ls ...gopacket.SerializableLayer) {
		eth := &layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: layers.EthernetTypeIPv4}
		var nl gopacket.NetworkLayer
		switch ip := ls[0].(type) {
		case *layers.IPv4:
			nl = ip
		case *layers.IPv6:
			eth.EthernetType = layers.EthernetTypeIPv6
			nl = ip
		}
		for _, l := range ls {
			switch x := l.(type) {
			case *layers.TCP:
				x.SetNetworkLayerForChecksum(nl)
			case *layers.UDP:
				x.SetNetworkLayerForChecksum(nl)
			}
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, append([]gopacket.SerializableLayer{eth}, ls...)...); err != nil {
			t.Fatalf("sample frame %d: %v", len(out)+1, err)
		}
		out = append(out, bytes.Clone(buf.Bytes()))
	}
	id := uint16(0x3e10)
	v4 := func(src, dst net.IP, proto layers.IPProtocol, ttl uint8) *layers.IPv4 {
		id++
		return &layers.IPv4{Version: 4, IHL: 5, TTL: ttl, Id: id, Flags: layers.IPv4DontFragment, Protocol: proto, SrcIP: src, DstIP: dst}
	}
	synOpts := []layers.TCPOption{
		{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}, // 1460
		{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
		{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
	}
	tcp := func(sp, dp uint16, seq, ack uint32, flags string) *layers.TCP {
		t := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: seq, Ack: ack, Window: 64240}
		for _, c := range flags {
			switch c {
			case 'S':
				t.SYN = true
				t.Options = synOpts
			case 'A':
				t.ACK = true
			case 'P':
				t.PSH = true
			}
		}
		return t
	}
	payload := func(n int, seed byte) gopacket.Payload {
		b := make([]byte, n)
		for i := range b {
			b[i] = seed + byte(i*7)
		}
		return b
	}

	// 1. DNS: web asks the resolver for cdn.example.com.
	q := &layers.DNS{ID: 0x5ca1, RD: true, QDCount: 1, Questions: []layers.DNSQuestion{{Name: []byte("cdn.example.com"), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
	ser(macWeb, macGW, v4(web4, resolver, layers.IPProtocolUDP, 64), &layers.UDP{SrcPort: 53000, DstPort: 53}, q)
	a := *q
	a.QR, a.RA, a.ANCount = true, true, 1
	a.Answers = []layers.DNSResourceRecord{{Name: []byte("cdn.example.com"), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 300, IP: cdn4}}
	ser(macGW, macWeb, v4(resolver, web4, layers.IPProtocolUDP, 57), &layers.UDP{SrcPort: 53, DstPort: 53000}, &a)

	// 2. HTTPS from web to the CDN: handshake, a ClientHello-sized
	// record, the server's ACK.
	ser(macWeb, macGW, v4(web4, cdn4, layers.IPProtocolTCP, 64), tcp(41000, 443, 1000, 0, "S"))
	ser(macGW, macWeb, v4(cdn4, web4, layers.IPProtocolTCP, 52), tcp(443, 41000, 9000, 1001, "SA"))
	ser(macWeb, macGW, v4(web4, cdn4, layers.IPProtocolTCP, 64), tcp(41000, 443, 1001, 9001, "A"))
	ser(macWeb, macGW, v4(web4, cdn4, layers.IPProtocolTCP, 64), tcp(41000, 443, 1001, 9001, "PA"), payload(517, 0x16))
	ser(macGW, macWeb, v4(cdn4, web4, layers.IPProtocolTCP, 52), tcp(443, 41000, 9001, 1518, "A"))

	// 3. A laptop on the LAN to web's published port 443.
	ser(macGW, macWeb, v4(laptop, web4, layers.IPProtocolTCP, 63), tcp(50000, 443, 3000, 0, "S"))
	ser(macWeb, macGW, v4(web4, laptop, layers.IPProtocolTCP, 64), tcp(443, 50000, 7000, 3001, "SA"))
	ser(macGW, macWeb, v4(laptop, web4, layers.IPProtocolTCP, 63), tcp(50000, 443, 3001, 7001, "A"))

	// 4. The laptop to port 8080, which web listens on but does not
	// publish.
	ser(macGW, macWeb, v4(laptop, web4, layers.IPProtocolTCP, 63), tcp(50001, 8080, 4000, 0, "S"))
	ser(macWeb, macGW, v4(web4, laptop, layers.IPProtocolTCP, 64), tcp(8080, 50001, 8000, 4001, "SA"))

	// 5. web pings a router on the internet (56 bytes of data, as ping).
	ser(macWeb, macGW, v4(web4, pingee, layers.IPProtocolICMPv4, 64),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 0x1234, Seq: 1}, payload(56, 0x10))
	ser(macGW, macWeb, v4(pingee, web4, layers.IPProtocolICMPv4, 54),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0), Id: 0x1234, Seq: 1}, payload(56, 0x10))

	// 6. web to the CDN over IPv6.
	ser(macWeb, macGW, &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: web6, DstIP: cdn6}, tcp(42000, 443, 2000, 0, "S"))
	ser(macGW, macWeb, &layers.IPv6{Version: 6, HopLimit: 55, NextHeader: layers.IPProtocolTCP, SrcIP: cdn6, DstIP: web6}, tcp(443, 42000, 6000, 2001, "SA"))

	// 7. web to the api container on node2: handshake, then a full-size
	// 1500-byte segment (1514-byte frame), and the ACK.
	ser(macWeb, macGW, v4(web4, api, layers.IPProtocolTCP, 64), tcp(43000, 8080, 5000, 0, "S"))
	ser(macGW, macWeb, v4(api, web4, layers.IPProtocolTCP, 63), tcp(8080, 43000, 9500, 5001, "SA"))
	ser(macWeb, macGW, v4(web4, api, layers.IPProtocolTCP, 64), tcp(43000, 8080, 5001, 9501, "A"))
	ser(macWeb, macGW, v4(web4, api, layers.IPProtocolTCP, 64), tcp(43000, 8080, 5001, 9501, "PA"), payload(1460, 0x42))
	ser(macGW, macWeb, v4(api, web4, layers.IPProtocolTCP, 63), tcp(8080, 43000, 9501, 6461, "A"))
	return out
}

// writeSample writes the sample as pcapng: one interface, docker0, packets
// 2 ms apart from a fixed time, so that the file is the same every time.
func writeSample(t testing.TB, frames [][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := pcapio.NewNgWriter(&b, pcapio.NgOptions{Application: "hnspath modes sample (cmd/hnspath/internal/modes sample_test.go)",
		Comment: "a web container's traffic for hnspath modes; see scenarios/samples/README.md"})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 1, 15, 9, 30, 0, 0, time.UTC)
	for i, f := range frames {
		if err := w.Write(pcapio.Packet{Port: "docker0", Time: t0.Add(time.Duration(i) * 2 * time.Millisecond), Data: f}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSampleCapture checks that the committed sample is what sampleFrames
// makes (-update rewrites it), and that gopacket reads every packet back.
func TestSampleCapture(t *testing.T) {
	want := writeSample(t, sampleFrames(t))
	if *update {
		if err := os.WriteFile(samplePcap, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(samplePcap)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what sampleFrames makes; run go test ./cmd/hnspath/internal/modes -run TestSampleCapture -update", samplePcap)
	}
	tr, err := LoadCapture(samplePcap)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(tr.Frames), 21; got != want {
		t.Fatalf("got %d packets, want %d", got, want)
	}
	sizes := map[int]bool{}
	for _, f := range tr.Frames {
		pk := gopacket.NewPacket(f.Data, layers.LayerTypeEthernet, gopacket.Default)
		if e := pk.ErrorLayer(); e != nil {
			t.Errorf("packet %d: gopacket: %v", f.Index, e.Error())
		}
		sizes[len(f.Data)] = true
	}
	if !sizes[1514] {
		t.Errorf("no 1514-byte frame (1500-byte IP packet) in the sample")
	}
}
