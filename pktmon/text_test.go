package pktmon

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

var update = flag.Bool("update", false, "rewrite golden files")

const stampLine = "[02]0000.0000::2024-03-20 14:13:45.720095500 [Microsoft-Windows-PktMon] "

// textCases are pktmon format texts: English labels (as the real sample),
// localised labels (read by position), drops, hex dumps, and errors.
var textCases = []struct {
	name string
	in   string
	want []Meta // appearances' metadata
	err  string // substring of the error, "" for none
	line int    // line of the error
	mac  string // MAC of component 6, when the text has its table
}{
	{"english with decode", stampLine + "PktGroupId 7, PktNumber 1, Appearance 2, Direction Tx , Type Ethernet , Component 6, Edge 1, Filter 2, OriginalSize 80, LoggedSize 80 \n" +
		"\t00-15-5D-C8-8E-16 > E8-B5-D0-2C-24-40, ethertype IPv4 (0x0800), length 80: 10.127.130.152.59312 > 8.8.8.8.53: 1+ PTR? 8.8.8.8.in-addr.arpa. (38)\n" +
		stampLine + "Component 6, Type Miniport , Name netvsc.sys, Microsoft Hyper-V Network Adapter #2 \n" +
		stampLine + "Property: Component 6, PhysAddress  = 0x00155DC88E16 \n",
		[]Meta{{PktGroupID: 7, PktNumber: 1, Appearance: 2, Direction: "Tx", Type: "Ethernet", Component: 6, Edge: 1, Filter: 2, OriginalSize: 80, LoggedSize: 80, DropCode: -1}}, "", 0, "00:15:5d:c8:8e:16"},
	{"drop with hex dump", stampLine + "Drop: PktGroupId 8, PktNumber 1, Appearance 3, Direction Rx , Type Ethernet , Component 19, Edge 1, Filter 0, DropReason Virtual Subnet ID does not match, DropLocation 0xE0004A0B, OriginalSize 60, LoggedSize 60\r\n" +
		"\t0x0000:  0015 5daa 0002 0200 0000 0099 0800 4500  ..]...........E.\r\n" +
		"\t0x0010:  002e 0000 0000 4011 0000 0a00 0063 0a00\r\n" +
		"\t0x0020:  0004 9c40 14e9 001a 0000 0000 0000 0000\r\n" +
		"\t0x0030:  0000 0000 0000 0000 0000 0000\r\n",
		[]Meta{{Drop: true, PktGroupID: 8, PktNumber: 1, Appearance: 3, Direction: "Rx", Type: "Ethernet", Component: 19, Edge: 1, DropReason: "Virtual Subnet ID does not match", DropCode: 20, DropLocation: "0xE0004A0B", OriginalSize: 60, LoggedSize: 60}}, "", 0, ""},
	{"localised labels", stampLine + "PktGruppenId 9, PktNummer 1, Vorkommen 4, Richtung Rx , Typ Ethernet , Komponente 5, Kante 2, Filter 1, Originalgröße 54, Protokollierte Größe 54\n" +
		"\t02-00-00-00-00-99 > 00-15-5D-00-00-04, ethertype IPv4 (0x0800), length 54: 10.0.0.99.40000 > 10.0.0.4.8082: Flags [S], seq 1, win 65535, length 0\n" +
		stampLine + "Verworfen: PktGruppenId 9, PktNummer 1, Vorkommen 5, Richtung Tx , Typ Ethernet , Komponente 7, Kante 1, Filter 1, Verwerfungsgrund MTU mismatch, Verwerfungsort 0x1, Originalgröße 54, Protokollierte Größe 54\n" +
		"\t02-00-00-00-00-99 > 00-15-5D-00-00-04, ethertype IPv4 (0x0800), length 54: 10.0.0.99.40000 > 10.0.0.4.8082: Flags [S], seq 1, win 65535, length 0\n",
		[]Meta{{PktGroupID: 9, PktNumber: 1, Appearance: 4, Direction: "Rx", Type: "Ethernet", Component: 5, Edge: 2, Filter: 1, OriginalSize: 54, LoggedSize: 54, DropCode: -1},
			{Drop: true, PktGroupID: 9, PktNumber: 1, Appearance: 5, Direction: "Tx", Type: "Ethernet", Component: 7, Edge: 1, Filter: 1, DropReason: "MTU mismatch", DropCode: 23, DropLocation: "0x1", OriginalSize: 54, LoggedSize: 54}}, "", 0, ""},
	{"no decode", "x\n" + stampLine + "PktGroupId 7, PktNumber 1, Appearance 2, Direction Tx , Type Ethernet , Component 6, Edge 1, Filter 2, OriginalSize 80, LoggedSize 80\n", nil, "no decoded line or hex dump", 2, ""},
	{"bad number", stampLine + "PktGroupId 7, PktNumber x, Appearance 2\n", nil, "PktNumber", 1, ""},
	{"bad decode", stampLine + "PktGroupId 7, Component 1\n\tnonsense\n", nil, "decoded packet", 2, ""},
	{"bad mac", stampLine + "PktGroupId 7, Component 1\n\tzz > 00-15-5D-00-00-04, ethertype IPv4 (0x0800), length 54: 1.2.3.4 > 5.6.7.8: x\n", nil, "bad MAC", 2, ""},
	{"bad hex", stampLine + "PktGroupId 7, Component 1\n\t0x0000:  00zz\n", nil, "hex dump", 2, ""},
	{"empty", "# only an annotation\n", nil, "no packet lines", 2, ""},
}

func TestParseText(t *testing.T) {
	for _, tt := range textCases {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseText("cap.txt", []byte(tt.in))
			if tt.err != "" {
				var te *TextError
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.As(err, &te) || te.Line != tt.line || te.File != "cap.txt" {
					t.Fatalf("got error %v, want %q at cap.txt:%d", err, tt.err, tt.line)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Appearances) != len(tt.want) {
				t.Fatalf("got %d appearances, want %d", len(c.Appearances), len(tt.want))
			}
			for i, a := range c.Appearances {
				if a.Meta != tt.want[i] {
					t.Errorf("appearance %d: got %+v\nwant %+v", i, a.Meta, tt.want[i])
				}
				if a.Dropped != tt.want[i].Drop || !a.Grouped {
					t.Errorf("appearance %d: dropped %v grouped %v", i, a.Dropped, a.Grouped)
				}
				checkFrame(t, &a)
			}
			if tt.mac != "" {
				if got := c.Components[6].MAC(); got != tt.mac {
					t.Errorf("component 6 MAC %q, want %q", got, tt.mac)
				}
			}
		})
	}
}

// checkFrame decodes an appearance's frame with gopacket: its size is the
// logged size and, when built from pktmon's decode, its checksums hold.
func checkFrame(t *testing.T, a *Appearance) {
	t.Helper()
	if len(a.Frame) != a.Meta.LoggedSize {
		t.Errorf("frame of %d bytes, want LoggedSize %d", len(a.Frame), a.Meta.LoggedSize)
	}
	p := gopacket.NewPacket(a.Frame, layers.LayerTypeEthernet, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Errorf("gopacket: %v", el.Error())
	}
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if ip == nil || !a.Synthesized {
		return
	}
	// Re-serialise with checksums computed by gopacket and compare.
	buf := gopacket.NewSerializeBuffer()
	ls := []gopacket.SerializableLayer{p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet), ip}
	switch l := p.TransportLayer().(type) {
	case *layers.TCP:
		l.SetNetworkLayerForChecksum(ip)
		ls = append(ls, l, gopacket.Payload(l.Payload))
	case *layers.UDP:
		l.SetNetworkLayerForChecksum(ip)
		ls = append(ls, l, gopacket.Payload(l.Payload))
	}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	// gopacket pads Ethernet frames to 60 bytes.
	if got := buf.Bytes(); len(got) < len(a.Frame) || !bytes.Equal(got[:len(a.Frame)], a.Frame) || len(bytes.Trim(got[len(a.Frame):], "\x00")) != 0 {
		t.Errorf("synthesized frame's checksums differ from gopacket's:\n got %x\nwant %x", a.Frame, buf.Bytes())
	}
}

// TestParseTextEncodings reads the same text as UTF-16LE with a BOM (what
// PowerShell's redirection writes) and with a UTF-8 BOM.
func TestParseTextEncodings(t *testing.T) {
	in := textCases[0].in
	u := utf16.Encode([]rune(in))
	b := []byte{0xff, 0xfe}
	for _, r := range u {
		b = binary.LittleEndian.AppendUint16(b, r)
	}
	for name, data := range map[string][]byte{"utf16": b, "utf8 bom": append([]byte("\xef\xbb\xbf"), in...)} {
		c, err := ParseText("x", data)
		if err != nil || len(c.Appearances) != 1 || c.Appearances[0].Meta.PktGroupID != 7 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestRealSample parses the real `pktmon etl2txt` excerpt (a partial paste
// from Microsoft's container networking docs) against its golden summary.
func TestRealSample(t *testing.T) {
	data, err := os.ReadFile("testdata/pktmon-etl2txt-dns.txt")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseText("pktmon-etl2txt-dns.txt", data)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, a := range c.Appearances {
		fmt.Fprintf(&b, "line %d: %+v\n  synthesized %v known %b\n  frame %x\n", a.Line, a.Meta, a.Synthesized, a.Known, a.Frame)
	}
	ids := make([]int, 0, len(c.Components))
	for id := range c.Components {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		comp := c.Components[id]
		fmt.Fprintf(&b, "component %d: type %q name %q mac %s properties %v\n", id, comp.Type, comp.Name, comp.MAC(), comp.Properties)
	}
	golden := "testdata/pktmon-etl2txt-dns.golden"
	if *update {
		os.WriteFile(golden, []byte(b.String()), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	// Independently: the DNS query of the paste, as gopacket reads it.
	p := gopacket.NewPacket(c.Appearances[0].Frame, layers.LayerTypeEthernet, gopacket.Default)
	udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if udp == nil || ip == nil || udp.SrcPort != 59312 || udp.DstPort != 53 || ip.SrcIP.String() != "10.127.130.152" || ip.DstIP.String() != "8.8.8.8" {
		t.Errorf("decoded %v", p)
	}
	// A cut paste (the decoded line lost) fails at the packet line.
	cut := bytes.Replace(data, []byte("\t00-15-5D"), []byte("00-15-5D"), 1)
	if _, err := ParseText("cut.txt", cut); err == nil || !strings.Contains(err.Error(), "cut.txt:10: packet:") || !strings.Contains(err.Error(), "no decoded line") {
		t.Errorf("cut paste: got %v, want a located error naming the missing decode", err)
	}
}

// TestPhysAddress: component MACs come from pktmon's PhysAddress property.
func TestPhysAddress(t *testing.T) {
	for in, want := range map[string]string{"0x00155DC88E16": "00:15:5d:c8:8e:16", "00-15-5D-AA-00-02": "00:15:5d:aa:00:02",
		"00155daa0002": "00:15:5d:aa:00:02", "0x0015": "", "zz-15-5D-AA-00-02": "", "": ""} {
		if got := NormMAC(in); got != want {
			t.Errorf("NormMAC(%q) = %q, want %q", in, got, want)
		}
	}
	c := Component{Properties: map[string]string{"PhysAddress": "0x00155DC88E16", "NdisMedium": "Ethernet"}}
	if c.MAC() != "00:15:5d:c8:8e:16" {
		t.Errorf("MAC() = %q", c.MAC())
	}
}

// etl2pcapng writes a pcapng as etl2pcapng does for pktmon ETL files
// (src/main.c): one interface per component with if_name, if_MACaddr; the
// PktGroupId in epb_packetid, drops with an XDP drop verdict, no comment;
// packets of type IP on a raw IP (101) interface.
func etl2pcapng(ifaces []testIface, pkts []testPkt) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	block := func(typ uint32, body []byte) {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		n := uint32(12 + len(body))
		binary.Write(&b, le, typ)
		binary.Write(&b, le, n)
		b.Write(body)
		binary.Write(&b, le, n)
	}
	opt := func(dst []byte, code uint16, v []byte) []byte {
		dst = le.AppendUint16(dst, code)
		dst = le.AppendUint16(dst, uint16(len(v)))
		dst = append(dst, v...)
		for len(dst)%4 != 0 {
			dst = append(dst, 0)
		}
		return dst
	}
	shb := le.AppendUint32(nil, 0x1a2b3c4d)
	shb = le.AppendUint16(shb, 1)
	shb = le.AppendUint16(shb, 0)
	shb = le.AppendUint64(shb, ^uint64(0))
	block(0x0a0d0d0a, shb)
	for _, ifc := range ifaces {
		body := le.AppendUint16(nil, ifc.linkType)
		body = le.AppendUint16(body, 0)
		body = le.AppendUint32(body, 0)
		body = opt(body, 2, []byte(ifc.name))
		if ifc.mac != nil {
			body = opt(body, 6, ifc.mac)
		}
		body = opt(body, 0, nil)
		block(1, body)
	}
	for i, p := range pkts {
		body := le.AppendUint32(nil, p.iface)
		body = le.AppendUint32(body, 0)
		body = le.AppendUint32(body, uint32(1000+i))
		body = le.AppendUint32(body, uint32(len(p.data)))
		body = le.AppendUint32(body, uint32(len(p.data)))
		body = append(body, p.data...)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		body = opt(body, 2, le.AppendUint32(nil, 1))
		body = opt(body, 5, le.AppendUint64(nil, p.group))
		if p.drop {
			body = opt(body, 7, append([]byte{2}, le.AppendUint64(nil, 1)...))
		}
		body = opt(body, 0, nil)
		block(6, body)
	}
	return b.Bytes()
}

type testIface struct {
	linkType uint16
	name     string
	mac      []byte
}

type testPkt struct {
	iface uint32
	group uint64
	data  []byte
	drop  bool
}

func etlSample() []byte {
	eth := mustHex("00155daa0003 00155daa0002 0800 4500001c00000000401100 00ac100002ac100003 9c40003500080000")
	ip := mustHex("4500001c0000000040110000ac100002c6120010 9c40003500080000")
	return etl2pcapng([]testIface{
		{1, "vNIC:Synthetic:A1B2C3D4-web:12:0", []byte{0x00, 0x15, 0x5d, 0xaa, 0x00, 0x02}},
		{101, "mbb:5", nil},
	}, []testPkt{
		{0, 42, eth, false},
		{0, 42, eth, false},
		{1, 43, ip, false},
		{1, 43, ip, true},
	})
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// TestReadCaptureEtl2pcapng reads etl2pcapng's layout: groups from
// epb_packetid, raw IP kept as such, drops from the verdict, interface
// MACs; gopacket's pcapng reader reads the same file (it is well formed).
func TestReadCaptureEtl2pcapng(t *testing.T) {
	data := etlSample()
	c, err := ReadCapture(bytes.NewReader(data), "etl.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	gs := c.Groups()
	if len(gs) != 2 || gs[0].ID != 42 || len(gs[0].Appearances) != 2 || gs[1].ID != 43 || len(gs[1].Appearances) != 2 {
		t.Fatalf("groups: %+v", gs)
	}
	a, r := gs[0].Appearances[0], gs[1].Appearances[1]
	if a.Interface != "vNIC:Synthetic:A1B2C3D4-web:12:0" || a.IfaceMAC != "00:15:5d:aa:00:02" || a.RawIP || a.Dropped {
		t.Errorf("first: %+v", a)
	}
	if !r.RawIP || !r.Dropped || r.Interface != "mbb:5" {
		t.Errorf("raw drop: %+v", r)
	}
	opts := pcapgo.DefaultNgReaderOptions
	opts.WantMixedLinkType = true
	ng, err := pcapgo.NewNgReader(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		d, ci, err := ng.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d, c.Appearances[n].Frame) || ci.InterfaceIndex != []int{0, 0, 1, 1}[n] {
			t.Errorf("packet %d differs from gopacket's reading", n+1)
		}
		n++
	}
	if n != 4 {
		t.Errorf("gopacket read %d packets, want 4", n)
	}
	if !IsPcap(data) || IsPcap([]byte("PktGroupId")) {
		t.Error("IsPcap")
	}
}

// TestPortMap: components map by PhysAddress, interfaces by name or MAC,
// --port overrides a named interface, an empty map is an error.
func TestPortMap(t *testing.T) {
	ports := []Port{{Name: "host1/eth0", MAC: "00:15:5d:00:00:04"}, {Name: "host1/web", MAC: "00:15:5d:aa:00:02"}, {Name: "host1/web2", MAC: "00:15:5d:aa:00:03"}}
	text, err := ParseText("x", []byte(textCases[0].in))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPortMap(text, ports, nil); err == nil || !strings.Contains(err.Error(), "component 6 00:15:5d:c8:8e:16") || !strings.Contains(err.Error(), "--port") {
		t.Errorf("unmapped component: got %v, want an error naming it", err)
	}
	pm, err := NewPortMap(text, ports, map[string]string{"6": "host1/eth0"})
	if err != nil || pm.ByComponent[6] != "host1/eth0" {
		t.Errorf("override by id: %v %+v", err, pm)
	}
	pm, err = NewPortMap(text, ports, map[string]string{"0x00155DC88E16": "host1/web"})
	if err != nil || pm.ByComponent[6] != "host1/web" {
		t.Errorf("override by MAC: %v %+v", err, pm)
	}
	if _, err := NewPortMap(text, ports, map[string]string{"6": "nowhere"}); err == nil || !strings.Contains(err.Error(), `no port "nowhere"`) {
		t.Errorf("bad override: %v", err)
	}
	etl, err := ReadCapture(bytes.NewReader(etlSample()), "etl")
	if err != nil {
		t.Fatal(err)
	}
	pm, err = NewPortMap(etl, ports, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := pm.PortOf(&etl.Appearances[0]); !ok || p != "host1/web" {
		t.Errorf("vNIC interface by its MAC: %q %v", p, ok)
	}
	pm, err = NewPortMap(etl, ports, map[string]string{"vNIC:Synthetic:A1B2C3D4-web:12:0": "host1/web2", "mbb:5": "host1/web"})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := pm.PortOf(&etl.Appearances[0]); p != "host1/web2" {
		t.Errorf("--port must override a named interface: got %q", p)
	}
	if p, _ := pm.PortOf(&etl.Appearances[2]); p != "host1/web" {
		t.Errorf("raw IP interface: got %q", p)
	}
}

// FuzzParseText checks that no text makes the parser panic and that what
// it accepts has a frame for every appearance.
func FuzzParseText(f *testing.F) {
	for _, tt := range textCases {
		f.Add([]byte(tt.in))
	}
	if b, err := os.ReadFile("testdata/pktmon-etl2txt-dns.txt"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseText("fuzz", b)
		if err != nil {
			return
		}
		for _, a := range c.Appearances {
			if len(a.Frame) < 14 {
				t.Errorf("accepted an appearance with a %d-byte frame", len(a.Frame))
			}
		}
		c.Groups()
	})
}

// FuzzReadCapture checks that no pcapng makes the capture reader panic.
func FuzzReadCapture(f *testing.F) {
	f.Add(etlSample())
	f.Add(etlSample()[:100])
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Load("fuzz", b)
		if err == nil {
			c.Groups()
			NewPortMap(c, []Port{{Name: "p", MAC: "00:15:5d:aa:00:02"}}, nil)
		}
	})
}
