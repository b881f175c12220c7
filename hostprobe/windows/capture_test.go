package windows

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/pktmon"
	"github.com/hnspath/hnspath/result"
)

// utf16LE encodes s as UTF-16LE with a byte-order mark, as Windows tools write files.
func utf16LE(s string) []byte {
	out := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

// TestDecodeOutput: UTF-16LE and UTF-16BE with BOM, UTF-8 with BOM, CRLF.
func TestDecodeOutput(t *testing.T) {
	want := "a é\nb\n"
	for name, in := range map[string][]byte{
		"utf8":     []byte(want),
		"crlf":     crlf(want),
		"utf8 bom": append([]byte("\xef\xbb\xbf"), crlf(want)...),
		"utf16le":  utf16LE(strings.ReplaceAll(want, "\n", "\r\n")),
		"utf16be":  {0xfe, 0xff, 0, 'a', 0, ' ', 0, 0xe9, 0, '\r', 0, '\n', 0, 'b', 0, '\r', 0, '\n'},
	} {
		if got := decodeOutput(in); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
}

// pktmon help texts: the command list of pktmon.md (Windows Server 2022 docs), and the
// one of the first pktmon (Server 2019/1809: filter, comp, reset, counters, start, stop,
// format, unload; `start --etw`), here written for the test.
const (
	helpModern = "pktmon { filter | reset | counters | hex2pkt | list | start | status | stop | etl2pcap | etl2txt | unload } [OPTIONS | help]\n" +
		"    Start a capture with: pktmon start --capture [--comp <selector>]\n"
	helpLegacy = "pktmon { filter | comp | reset | counters | start | stop | format | pcapng | unload } [OPTIONS | help]\n" +
		"    pktmon start [--etw [-p size] [-c comps]] [-f file]\n"
)

// TestDetectPktmonSyntax reads both generations' help in every encoding.
func TestDetectPktmonSyntax(t *testing.T) {
	for _, tt := range []struct {
		help, want string
	}{{helpModern, "modern"}, {helpLegacy, "legacy"}} {
		for enc, b := range map[string][]byte{"utf8": []byte(tt.help), "crlf": crlf(tt.help), "utf16le": utf16LE(string(crlf(tt.help)))} {
			got, err := DetectPktmonSyntax(decodeOutput(b))
			if err != nil || got.Name != tt.want {
				t.Errorf("%s %s: got %q, %v", tt.want, enc, got.Name, err)
			}
		}
	}
	if _, err := DetectPktmonSyntax("'pktmon' is not recognized as an internal or external command"); err == nil {
		t.Errorf("no pktmon: got nil error")
	}
}

// TestParsePktmonTextReal reads the etl2txt lines of Microsoft's container DNS
// troubleshooting doc: one packet appearance and component 6's PhysAddress.
func TestParsePktmonTextReal(t *testing.T) {
	data, err := os.ReadFile("testdata/etl2txt-container-dns.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parsePktmonText("etl2txt-container-dns.txt", decodeOutput(data))
	if err != nil {
		t.Fatal(err)
	}
	want := pktmon.Meta{PktGroupID: 281474976710677, PktNumber: 1, Appearance: 14, Direction: "Tx", Type: "Ethernet", Component: 6, Edge: 1,
		Filter: 2, OriginalSize: 80, LoggedSize: 80, DropCode: -1}
	if len(got.Packets) != 1 || got.Packets[0].Meta != want || got.Packets[0].Line != 4 {
		t.Errorf("packets: got %+v, want one at line 4: %+v", got.Packets, want)
	}
	if !reflect.DeepEqual(got.MACs, map[int]string{6: "00:15:5d:c8:8e:16"}) {
		t.Errorf("MACs: got %v", got.MACs)
	}
}

// localised is a pktmon text conversion with translated labels (German, written for the
// test): the fields keep their positions.
const localised = `[00]0A10.0B20::2026-12-08 10:00:00.000000100 [Microsoft-Windows-PktMon] Paketgruppen-ID 5, Paketnummer 1, Auftreten 1, Richtung Tx , Typ Ethernet , Komponente 11, Rand 1, Filter 0, Ursprüngliche Größe 60, Protokollierte Größe 60
	00-15-5D-01-01-02 > 00-15-5D-01-01-03, ethertype IPv4 (0x0800), length 60: 10.244.1.2.40000 > 10.244.1.3.22: UDP, length 18
[00]0A10.0B20::2026-12-08 10:00:00.000000200 [Microsoft-Windows-PktMon] Verworfen: Paketgruppen-ID 5, Paketnummer 1, Auftreten 2, Richtung Rx , Typ Ethernet , Komponente 12, Rand 1, Filter 0, Verwerfungsgrund Gefiltert, Verwerfungsort 0xE0000001, Ursprüngliche Größe 60, Protokollierte Größe 60
[00]0A10.0B20::2026-12-08 10:00:01.000000000 [Microsoft-Windows-PktMon] Eigenschaft: Komponente 12, Physische Adresse = 0x00155D010103
`

// TestParsePktmonTextLocalised reads translated labels by position, in UTF-16LE.
func TestParsePktmonTextLocalised(t *testing.T) {
	got, err := parsePktmonText("de.txt", decodeOutput(utf16LE(string(crlf(localised)))))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Packets) != 2 {
		t.Fatalf("packets: got %+v, want 2", got.Packets)
	}
	f, d := got.Packets[0].Meta, got.Packets[1].Meta
	if f.PktGroupID != 5 || f.Direction != "Tx" || f.Component != 11 || f.Drop || f.LoggedSize != 60 {
		t.Errorf("packet 1: %+v", f)
	}
	if !d.Drop || d.Component != 12 || d.DropReason != "Gefiltert" || d.DropLocation != "0xE0000001" || d.DropCode != -1 || d.Appearance != 2 {
		t.Errorf("packet 2 (drop): %+v", d)
	}
	if got.MACs[12] != "00:15:5d:01:01:03" {
		t.Errorf("MACs: %v", got.MACs)
	}
}

// TestJoinCaptureMismatch: conversions that do not line up are an error, not a guess.
func TestJoinCaptureMismatch(t *testing.T) {
	text, err := parsePktmonText("de.txt", localised)
	if err != nil {
		t.Fatal(err)
	}
	names := [3]string{"a.pcapng", "a-drops.pcapng", "a.txt"}
	rec := pktmon.PacketRecord{Frame: make([]byte, 60)}
	if _, err := joinCapture(nil, []pktmon.PacketRecord{rec}, text, names); err == nil || !strings.Contains(err.Error(), "a.pcapng has 0 packets") {
		t.Errorf("missing flow: got %v", err)
	}
	if _, err := joinCapture([]pktmon.PacketRecord{rec}, nil, text, names); err == nil || !strings.Contains(err.Error(), "drop lines") {
		t.Errorf("missing drop: got %v", err)
	}
	short := pktmon.PacketRecord{Frame: make([]byte, 59)}
	if _, err := joinCapture([]pktmon.PacketRecord{short}, []pktmon.PacketRecord{rec}, text, names); err == nil || !strings.Contains(err.Error(), "LoggedSize 60") {
		t.Errorf("size mismatch: got %v", err)
	}
	got, err := joinCapture([]pktmon.PacketRecord{rec}, []pktmon.PacketRecord{rec}, text, names)
	if err != nil || len(got) != 2 || got[0].Meta.Component != 11 || !got[1].Dropped || got[1].Meta.Component != 12 {
		t.Errorf("join: got %+v, %v", got, err)
	}
}

// udpFrame builds an Ethernet/IPv4/UDP frame with gopacket.
func udpFrame(t testing.TB, srcMAC, dstMAC, src, dst string, sport, dport uint16, payload string) []byte {
	t.Helper()
	sm, _ := net.ParseMAC(srcMAC)
	dm, _ := net.ParseMAC(dstMAC)
	eth := &layers.Ethernet{SrcMAC: sm, DstMAC: dm, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 128, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// listJSON is `pktmon list --json` for the l2bridge host: the two pods' vNICs carry their
// MACs as PhysAddress, the NIC its own.
const listJSON = `[{"Group":"Virtual Switch","Components":[
 {"Id":3,"Name":"Microsoft Hyper-V Network Adapter","Type":"Miniport","Properties":[{"Name":"PhysAddress","Value":"0x00155D000004"}]},
 {"Id":11,"Name":"Container NIC 1a2b","Type":"VmsVmNic","Properties":[{"Name":"PhysAddress","Value":"0x00155D010102"},{"Name":"ifIndex","Value":31}]},
 {"Id":12,"Name":"Container NIC 3c4d","Type":"VmsVmNic","Properties":[{"Name":"PhysAddress","Value":"0x00155D010103"}]}]}]`

// captureRunner answers pktmon like a host whose capture saw inputs 1 and 2 from pod-a
// to pod-b: the first delivered (appearances at pod-a's and pod-b's vNICs), the second
// dropped at pod-b's vNIC ("Filtered", code 8). Conversions write their files; text is
// the etl2txt/format output in encoding enc and language lang.
func captureRunner(t *testing.T, r *fakeRunner, s *timedSender, help []byte, enc func(string) []byte, lang string, frames [2][]byte) {
	r.handlers["pktmon help"] = func([]string) ([]byte, error) { return help, fmt.Errorf("exit status 1") }
	list := func([]string) ([]byte, error) { return enc(listJSON), nil }
	r.handlers["pktmon list"] = list
	r.handlers["pktmon comp"] = list
	out := func(args []string) string {
		for i, a := range args {
			if a == "--out" || a == "-o" {
				return args[i+1]
			}
		}
		t.Fatalf("no output file in %q", args)
		return ""
	}
	pcap := func(args []string) ([]byte, error) {
		drop := false
		for _, a := range args {
			drop = drop || a == "--drop-only" || a == "-d"
		}
		times := s.times()
		if len(times) != 2 {
			t.Fatalf("sent %d inputs, want 2", len(times))
		}
		var pkts []pcapio.Packet
		if drop {
			pkts = []pcapio.Packet{{Port: "pktmon", Time: times[1].Add(2 * time.Microsecond), Data: frames[1]}}
		} else {
			pkts = []pcapio.Packet{
				{Port: "pktmon", Time: times[0].Add(time.Microsecond), Data: frames[0]},
				{Port: "pktmon", Time: times[0].Add(2 * time.Microsecond), Data: frames[0]},
				{Port: "pktmon", Time: times[1].Add(time.Microsecond), Data: frames[1]},
			}
		}
		return nil, os.WriteFile(out(args), writePktmon(t, pkts), 0o644)
	}
	r.handlers["pktmon etl2pcap"] = pcap
	r.handlers["pktmon pcapng"] = pcap
	text := func(args []string) ([]byte, error) {
		l1, l2 := len(frames[0]), len(frames[1])
		var lines []string
		if lang == "en" {
			lines = []string{
				fmt.Sprintf("[00]1D7C.0AFC::2026-12-08 10:00:00.1 [Microsoft-Windows-PktMon] PktGroupId 1, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 11, Edge 1, Filter 0, OriginalSize %d, LoggedSize %d", l1, l1),
				"\t00-15-5D-01-01-02 > 00-15-5D-01-01-03, ethertype IPv4 (0x0800), length 60: 10.244.1.2.40000 > 10.244.1.3.53: UDP",
				fmt.Sprintf("[00]1D7C.0AFC::2026-12-08 10:00:00.2 [Microsoft-Windows-PktMon] PktGroupId 1, PktNumber 1, Appearance 2, Direction Rx , Type Ethernet , Component 12, Edge 1, Filter 0, OriginalSize %d, LoggedSize %d", l1, l1),
				fmt.Sprintf("[00]1D7C.0AFC::2026-12-08 10:00:00.3 [Microsoft-Windows-PktMon] PktGroupId 2, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 11, Edge 1, Filter 0, OriginalSize %d, LoggedSize %d", l2, l2),
				fmt.Sprintf("[00]1D7C.0AFC::2026-12-08 10:00:00.4 [Microsoft-Windows-PktMon] Drop: PktGroupId 2, PktNumber 1, Appearance 2, Direction Rx , Type Ethernet , Component 12, Edge 1, Filter 0, DropReason Filtered, DropLocation 0xE0004A2B, OriginalSize %d, LoggedSize %d", l2, l2),
			}
		} else {
			lines = []string{
				fmt.Sprintf("[00]0A10.0B20::2026-12-08 10:00:00.1 [Microsoft-Windows-PktMon] Paketgruppen-ID 1, Paketnummer 1, Auftreten 1, Richtung Tx , Typ Ethernet , Komponente 11, Rand 1, Filter 0, Ursprüngliche Größe %d, Protokollierte Größe %d", l1, l1),
				fmt.Sprintf("[00]0A10.0B20::2026-12-08 10:00:00.2 [Microsoft-Windows-PktMon] Paketgruppen-ID 1, Paketnummer 1, Auftreten 2, Richtung Rx , Typ Ethernet , Komponente 12, Rand 1, Filter 0, Ursprüngliche Größe %d, Protokollierte Größe %d", l1, l1),
				fmt.Sprintf("[00]0A10.0B20::2026-12-08 10:00:00.3 [Microsoft-Windows-PktMon] Paketgruppen-ID 2, Paketnummer 1, Auftreten 1, Richtung Tx , Typ Ethernet , Komponente 11, Rand 1, Filter 0, Ursprüngliche Größe %d, Protokollierte Größe %d", l2, l2),
				fmt.Sprintf("[00]0A10.0B20::2026-12-08 10:00:00.4 [Microsoft-Windows-PktMon] Verworfen: Paketgruppen-ID 2, Paketnummer 1, Auftreten 2, Richtung Rx , Typ Ethernet , Komponente 12, Rand 1, Filter 0, Verwerfungsgrund 8, Verwerfungsort 0xE0004A2B, Ursprüngliche Größe %d, Protokollierte Größe %d", l2, l2),
			}
		}
		return nil, os.WriteFile(out(args), enc(strings.Join(lines, "\n")+"\n"), 0o644)
	}
	r.handlers["pktmon etl2txt"] = text
	r.handlers["pktmon format"] = text
}

// timedSender records when each input was sent.
type timedSender struct {
	fakeSender
	mu2 sync.Mutex
	at  []time.Time
}

func (s *timedSender) UDP(comp uint32, local, remote netip.AddrPort, payload []byte) error {
	s.mu2.Lock()
	s.at = append(s.at, time.Now())
	s.mu2.Unlock()
	return s.fakeSender.UDP(comp, local, remote, payload)
}

func (s *timedSender) times() []time.Time {
	s.mu2.Lock()
	defer s.mu2.Unlock()
	return append([]time.Time(nil), s.at...)
}

// TestRunPerSyntax runs two inputs through the backend on fakes for each pktmon
// generation and output encoding, and checks the recorded command lines against the
// syntax table (stop before start, comma-joined component ids, never `filter remove`)
// and the results against the capture (delivered at pod-b; dropped there as
// "Filtered", code 8).
func TestRunPerSyntax(t *testing.T) {
	for _, tt := range []struct {
		name string
		help []byte
		enc  func(string) []byte
		lang string
		want []string // E is the ETL, P the pcapng, D the drops' pcapng, T the text
	}{
		{"modern utf8", []byte(helpModern), func(s string) []byte { return []byte(s) }, "en", []string{
			"pktmon help", "pktmon list --json", "pktmon stop", "pktmon start --capture --comp 11,12 --pkt-size 0 --file-name E", "pktmon stop",
			"pktmon etl2pcap E --out P", "pktmon etl2pcap E --out D --drop-only", "pktmon etl2txt E --out T"}},
		{"modern crlf localised", crlf(helpModern), func(s string) []byte { return crlf(s) }, "de", []string{
			"pktmon help", "pktmon list --json", "pktmon stop", "pktmon start --capture --comp 11,12 --pkt-size 0 --file-name E", "pktmon stop",
			"pktmon etl2pcap E --out P", "pktmon etl2pcap E --out D --drop-only", "pktmon etl2txt E --out T"}},
		{"legacy utf16", utf16LE(string(crlf(helpLegacy))), func(s string) []byte { return utf16LE(string(crlf(s))) }, "en", []string{
			"pktmon help", "pktmon comp list --json", "pktmon stop", "pktmon start --etw -p 0 -c 11,12 -f E", "pktmon stop",
			"pktmon pcapng E -o P", "pktmon pcapng E -o D -d", "pktmon format E -o T"}},
		{"legacy utf16 localised", utf16LE(string(crlf(helpLegacy))), func(s string) []byte { return utf16LE(string(crlf(s))) }, "de", []string{
			"pktmon help", "pktmon comp list --json", "pktmon stop", "pktmon start --etw -p 0 -c 11,12 -f E", "pktmon stop",
			"pktmon pcapng E -o P", "pktmon pcapng E -o D -d", "pktmon format E -o T"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, r, s := newFakeHCN(), newFakeRunner(), &timedSender{}
			containerRunner(r, h)
			b := NewBackendWith(testOptions(t), h, r, s)
			if err := b.Setup(context.Background(), loadTopology(t, "l2bridge")); err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			f1 := udpFrame(t, "00:15:5d:01:01:02", "00:15:5d:01:01:03", "10.244.1.2", "10.244.1.3", 40000, 53, "query-1")
			f2 := udpFrame(t, "00:15:5d:01:01:02", "00:15:5d:01:01:03", "10.244.1.2", "10.244.1.3", 40001, 22, "query-2")
			captureRunner(t, r, s, tt.help, tt.enc, tt.lang, [2][]byte{f1, f2})
			before := len(r.commands())
			inputs := []hostprobe.Input{{Port: "host1/pod-a", Frame: f1}, {Port: "host1/pod-a", Frame: f2}}
			got, err := b.Run(context.Background(), "s", inputs, hostprobe.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			base := b.opts.WorkDir + string(os.PathSeparator) + testPrefix + "s"
			repl := strings.NewReplacer(base+"-drops.pcapng", "D", base+".pcapng", "P", base+".etl", "E", base+".txt", "T")
			var cmds []string
			for _, c := range r.commands()[before:] {
				cmds = append(cmds, repl.Replace(c))
			}
			if !reflect.DeepEqual(cmds, tt.want) {
				t.Errorf("commands:\ngot  %q\nwant %q", cmds, tt.want)
			}
			if len(s.sent) != 2 || !strings.Contains(s.sent[0], "10.244.1.2:40000 > 10.244.1.3:53 \"query-1\"") {
				t.Errorf("sent: %q", s.sent)
			}
			p1, p2 := got[0], got[1]
			if p1.Outcome != result.OutcomeDelivered || len(p1.Outputs) != 1 || p1.Outputs[0].Port != "host1/pod-b" || !bytes.Equal(p1.Outputs[0].Frame, f1) {
				t.Errorf("input 1: got %+v, want delivered once at host1/pod-b", p1)
			}
			if p2.Outcome != result.OutcomeDropped || len(p2.Drops) != 1 || p2.Drops[0].Code != 8 || p2.Drops[0].Port != "host1/pod-b" || p2.Drops[0].Where != "0xE0004A2B" {
				t.Errorf("input 2: got outputs %+v drops %+v, want one drop (code 8) at host1/pod-b", p2.Outputs, p2.Drops)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			for _, c := range r.commands() {
				if strings.Contains(c, "filter") {
					t.Errorf("touched pktmon filters: %q", c)
				}
			}
		})
	}
}

// TestRunEmptyPortMap: no component carries an endpoint's MAC (pktmon lists them as "MAC
// Address" of other adapters only): Run fails and starts no capture, instead of
// capturing at the NICs.
func TestRunEmptyPortMap(t *testing.T) {
	b, _, r, _ := newFakeBackend(t)
	if err := b.Setup(context.Background(), loadTopology(t, "l2bridge")); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r.handlers["pktmon help"] = func([]string) ([]byte, error) { return []byte(helpModern), nil }
	r.handlers["pktmon list"] = func([]string) ([]byte, error) {
		return []byte(`[{"Id":3,"Name":"NIC","Properties":[{"Name":"MAC Address","Value":"00-15-5D-00-00-04"}]}]`), nil
	}
	_, err := b.Run(context.Background(), "s", []hostprobe.Input{{Port: "host1/pod-a", Frame: []byte("x")}}, hostprobe.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "no pktmon component carries") {
		t.Fatalf("got %v, want an error naming the missing components", err)
	}
	for _, c := range r.commands() {
		if strings.HasPrefix(c, "pktmon start") {
			t.Errorf("started a capture: %q", c)
		}
	}
}

// TestCloseStopsCapture: a Close while a capture of ours runs stops it.
func TestCloseStopsCapture(t *testing.T) {
	b, _, r, _ := newFakeBackend(t)
	if err := b.Setup(context.Background(), loadTopology(t, "l2bridge")); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.capturing = true
	b.mu.Unlock()
	n := len(r.commands())
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if cmds := r.commands()[n:]; len(cmds) == 0 || cmds[0] != "pktmon stop" {
		t.Errorf("close ran %q, want pktmon stop first", cmds)
	}
}

// TestPortMapSkipsRemoteEndpoints: a remote endpoint has no vNIC, so no pktmon
// component; the port map needs only the endpoints in a namespace.
func TestPortMapSkipsRemoteEndpoints(t *testing.T) {
	topo := loadTopology(t, "l2bridge")
	topo.Hosts[0].HNS.Endpoints = append(topo.Hosts[0].HNS.Endpoints, hns.HostComputeEndpoint{Name: "remote-c", HostComputeNetwork: "cbr0",
		MacAddress: "00-15-5D-02-02-02", Flags: hns.EndpointFlagsRemoteEndpoint})
	b, _, r, _ := newFakeBackend(t)
	if err := b.Setup(context.Background(), topo); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r.handlers["pktmon list"] = func([]string) ([]byte, error) { return []byte(listJSON), nil }
	pm, ids, err := b.portMap(context.Background(), PktmonModern)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids, []int{11, 12}) || len(pm.ByComponent) != 2 {
		t.Errorf("components %v, map %+v", ids, pm.ByComponent)
	}
}

// TestParsePktmonTextDropWithoutEdge reads the drop line of Microsoft's packet-loss
// article (MicrosoftDocs/SupportArticles-docs, support/windows-client/networking/
// diagnose-packet-loss.md; its elided PktGroupId written as 7 here): no Edge field, a
// reason with a component prefix, Type IP.
func TestParsePktmonTextDropWithoutEdge(t *testing.T) {
	line := "Drop: PktGroupId 7, PktNumber 1, Appearance 0, Direction Rx, Type IP, Component 49, Filter 1, DropReason INET: transport endpoint was not found, DropLocation 0xE000460A, OriginalSize 402, LoggedSize 148"
	got, err := parsePktmonText("article.txt", line+"\n")
	if err != nil {
		t.Fatal(err)
	}
	want := pktmon.Meta{Drop: true, PktGroupID: 7, PktNumber: 1, Direction: "Rx", Type: "IP", Component: 49, Filter: 1,
		DropReason: "INET: transport endpoint was not found", DropLocation: "0xE000460A", DropCode: -1, OriginalSize: 402, LoggedSize: 148}
	if len(got.Packets) != 1 || got.Packets[0].Meta != want {
		t.Errorf("got %+v, want %+v", got.Packets, want)
	}
	if m, err := pktmon.ParseMeta(line); err != nil || m.Component != got.Packets[0].Meta.Component || m.DropReason != want.DropReason {
		t.Errorf("pktmon.ParseMeta (label-keyed) disagrees: %+v, %v", m, err)
	}
}
