package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/result"
	"github.com/hnspath/hnspath/spec"
)

// The node of these tests is natTopology. Its pktmon components, as
// `pktmon list` would show them on such a host, are written here by hand
// from the topology file (not from the emulator): the physical NIC, the two
// container vNICs, and the vSwitch (no MAC) where a real host drops.
type testComponent struct {
	id         int
	port, name string
	typ        string
	mac        string // PhysAddress, "" for none
}

var natComponents = []testComponent{
	{1, "host1/eth0", "netvsc.sys, Microsoft Hyper-V Network Adapter", "Miniport", "0x00155D000004"},
	{2, "host1/web", "web", "VmsVmNic", "0x00155DAA0002"},
	{3, "host1/web2", "web2", "VmsVmNic", "0x00155DAA0003"},
	{7, "", "vmswitch.sys", "VmsExtMiniport", ""},
}

func componentOf(port string) (testComponent, bool) {
	for _, c := range natComponents {
		if c.port == port && port != "" {
			return c, true
		}
	}
	return testComponent{}, false
}

// appearance is one line of the capture the tests write.
type appearance struct {
	group      uint64
	number     int
	dir        string
	comp       int
	frame      []byte
	dropReason string // pktmon's text, or "" when not dropped
}

// Inputs of the faithful capture: each packet with the port where a real
// host's pktmon first sees it (the NIC for traffic from outside, the vNIC
// for a container's).
var compareInputs = []struct{ port, spec string }{
	{"host1/eth0", "ether(src=02:00:00:00:00:99, dst=00:15:5d:00:00:04) / ipv4(src=10.0.0.99, dst=10.0.0.4) / tcp(sport=40000, dport=8082, flags=S)"},
	{"host1/eth0", "ether(src=02:00:00:00:00:99, dst=00:15:5d:00:00:04) / ipv4(src=10.0.0.99, dst=10.0.0.4) / udp(sport=40001, dport=5353) / raw(len=12)"},
	{"host1/eth0", "ether(src=02:00:00:00:00:99, dst=00:15:5d:00:00:04) / ipv4(src=10.0.0.99, dst=10.0.0.4) / tcp(sport=40002, dport=9999, flags=S)"},
}

// faithful runs the inputs through the emulator (hnspath replay --results)
// and turns what it did into pktmon appearances with the component table
// above: the first appearance at the input's component (Rx), one Tx at
// the component of every port a frame came out at, and a drop at the
// component of the port nearest to each drop, with pktmon's reason text
// (the emulator's Windows wording when pktmon has no number for it).
func faithful(t *testing.T, dir string) []appearance {
	t.Helper()
	in := filepath.Join(dir, "in.pcapng")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcapio.NewNgWriter(f, pcapio.NgOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for i, in := range compareInputs {
		fr, err := spec.Build(spec.MustParse(in.spec), nil, spec.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, fr[0])
		if err := w.Write(pcapio.Packet{Port: in.port, Time: time.Unix(100, int64(i)*1000), Data: fr[0]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	res := filepath.Join(dir, "emulator.jsonl")
	if code, stdout, stderr := runCmd(t, "replay", "-t", natTopology, "-p", in, "--results", res); code != exitOK {
		t.Fatalf("replay: exit %d\n%s\n%s", code, stdout, stderr)
	}
	fh, err := os.Open(res)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	pkts, err := result.ReadAll(fh, res)
	if err != nil || len(pkts) != len(compareInputs) {
		t.Fatalf("results: %d, %v", len(pkts), err)
	}
	var out []appearance
	for i, p := range pkts {
		g := uint64(562949953421312 + i)
		c, _ := componentOf(compareInputs[i].port)
		out = append(out, appearance{group: g, number: 1, dir: "Rx", comp: c.id, frame: frames[i]})
		for _, o := range p.Outputs {
			c, ok := componentOf(o.Port)
			if !ok || o.Port == compareInputs[i].port {
				continue
			}
			out = append(out, appearance{group: g, number: len(out) + 1, dir: "Tx", comp: c.id, frame: o.Frame})
		}
		for _, d := range p.Drops {
			c, ok := componentOf(d.Port)
			if !ok {
				c = natComponents[3]
			}
			reason := d.Text
			if d.Layer == "pktmon" {
				reason = pktmonReasonText(t, d.Code)
			}
			out = append(out, appearance{group: g, number: len(out) + 1, dir: "Rx", comp: c.id, frame: frames[i], dropReason: reason})
		}
	}
	return out
}

// pktmonReasonText is PktMon_DropReason's text for the codes these tests
// meet (reference: Microsoft's NetMon parser for pktmon).
func pktmonReasonText(t *testing.T, code int) string {
	switch code {
	case 8:
		return "Filtered"
	case 20:
		return "Virtual Subnet ID does not match"
	}
	t.Fatalf("no text for pktmon drop reason %d in the test", code)
	return ""
}

// metaLine is pktmon's FramePayload / FrameDropPayload text, with the
// spaces pktmon's format puts before commas after a text value.
func metaLine(a appearance) string {
	drop := ""
	if a.dropReason != "" {
		drop = fmt.Sprintf("DropReason %s, DropLocation 0xE0004A0B, ", a.dropReason)
	}
	s := fmt.Sprintf("PktGroupId %d, PktNumber 1, Appearance %d, Direction %s , Type Ethernet , Component %d, Edge 1, Filter 1, %sOriginalSize %d, LoggedSize %d",
		a.group, a.number, a.dir, a.comp, drop, len(a.frame), len(a.frame))
	if a.dropReason != "" {
		s = "Drop: " + s
	}
	return s
}

// decodedLine is pktmon's one-line decode (tcpdump's style), written from
// gopacket's decoding of the frame.
func decodedLine(t *testing.T, frame []byte) string {
	t.Helper()
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if eth == nil || ip == nil {
		t.Fatalf("frame %x: not Ethernet/IPv4", frame)
	}
	mac := func(m net.HardwareAddr) string { return strings.ToUpper(strings.ReplaceAll(m.String(), ":", "-")) }
	head := fmt.Sprintf("%s > %s, ethertype IPv4 (0x0800), length %d: ", mac(eth.SrcMAC), mac(eth.DstMAC), len(frame))
	switch l4 := p.TransportLayer().(type) {
	case *layers.TCP:
		flags := ""
		if l4.SYN {
			flags += "S"
		}
		if l4.ACK {
			flags += "."
		}
		return head + fmt.Sprintf("%s.%d > %s.%d: Flags [%s], seq %d, win %d, length %d", ip.SrcIP, l4.SrcPort, ip.DstIP, l4.DstPort, flags, l4.Seq, l4.Window, len(l4.Payload))
	case *layers.UDP:
		return head + fmt.Sprintf("%s.%d > %s.%d: UDP, length %d", ip.SrcIP, l4.SrcPort, ip.DstIP, l4.DstPort, len(l4.Payload))
	}
	t.Fatalf("frame %x: not TCP or UDP", frame)
	return ""
}

// writeText writes the appearances as `pktmon format` text: the
// component table, then each packet line with its decoded line.
func writeText(t *testing.T, path string, apps []appearance) {
	t.Helper()
	var b strings.Builder
	stamp := "[00]0000.0000::2024-03-20 14:13:45.720095500 [Microsoft-Windows-PktMon] "
	for _, c := range natComponents {
		fmt.Fprintf(&b, "%sComponent %d, Type %s , Name %s\r\n", stamp, c.id, c.typ, c.name)
		if c.mac != "" {
			fmt.Fprintf(&b, "%sProperty: Component %d, PhysAddress  = %s \r\n", stamp, c.id, c.mac)
		}
	}
	for _, a := range apps {
		fmt.Fprintf(&b, "%s%s \r\n\t%s\r\n", stamp, metaLine(a), decodedLine(t, a.frame))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writePktmonPcapng writes the appearances as pktmon's pcapng (etl2pcap):
// the metadata in each packet's comment, drops with a drop verdict, and
// the component list as `pktmon list --json` beside it.
func writePktmonPcapng(t *testing.T, path, list string, apps []appearance) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pcapio.NewNgWriter(f, pcapio.NgOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range apps {
		p := pcapio.Packet{Port: "pktmon", Time: time.Unix(1000, int64(i)), Data: a.frame, Comment: metaLine(a)}
		if a.dropReason != "" {
			p.Verdict = &pcapio.DropVerdict
		}
		if err := w.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	type prop struct{ Name, Value string }
	type comp struct {
		Id         int
		Name, Type string
		Properties []prop
	}
	var cs []comp
	for _, c := range natComponents {
		cc := comp{Id: c.id, Name: c.name, Type: c.typ}
		if c.mac != "" {
			cc.Properties = append(cc.Properties, prop{"PhysAddress", c.mac})
		}
		cs = append(cs, cc)
	}
	b, _ := json.Marshal([]map[string]any{{"Group": "vSwitch (nat)", "Components": cs}})
	if err := os.WriteFile(list, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCompareEndToEnd: replay + compare agree on a capture that shows what
// the emulator does (as pcapng and as text); on a capture where the real
// host dropped a packet the model forwards, the report names the
// component and both reasons, and compare exits 1.
func TestCompareEndToEnd(t *testing.T) {
	dir := t.TempDir()
	apps := faithful(t, dir)
	// Sanity of the faithful capture: the SYN reaches web, the unpublished
	// port is dropped.
	var drops int
	for _, a := range apps {
		if a.dropReason != "" {
			drops++
		}
	}
	if drops != 1 || len(apps) < 6 {
		t.Fatalf("faithful capture: %d appearances, %d drops; want >= 6 and 1", len(apps), drops)
	}
	// The real host drops the first SYN in its vSwitch instead of
	// delivering it to web.
	var dropped []appearance
	for _, a := range apps {
		if a.group == apps[0].group && a.number > 1 {
			continue
		}
		dropped = append(dropped, a)
		if a.group == apps[0].group {
			dropped = append(dropped, appearance{group: a.group, number: 2, dir: "Rx", comp: 7, frame: a.frame, dropReason: "Filtered"})
		}
	}
	txt, bad := filepath.Join(dir, "faithful.txt"), filepath.Join(dir, "dropped.txt")
	writeText(t, txt, apps)
	writeText(t, bad, dropped)
	png, badPng, list := filepath.Join(dir, "faithful.pcapng"), filepath.Join(dir, "dropped.pcapng"), filepath.Join(dir, "list.json")
	writePktmonPcapng(t, png, list, apps)
	writePktmonPcapng(t, badPng, list, dropped)
	// pktmon etl2pcap leaves drops out unless asked (--drop-only): the
	// same capture as two files.
	var flows, dropOnly []appearance
	for _, a := range dropped {
		if a.dropReason != "" {
			dropOnly = append(dropOnly, a)
		} else {
			flows = append(flows, a)
		}
	}
	flowPng, dropPng := filepath.Join(dir, "flows.pcapng"), filepath.Join(dir, "drops.pcapng")
	writePktmonPcapng(t, flowPng, list, flows)
	writePktmonPcapng(t, dropPng, list, dropOnly)

	for _, tc := range []struct {
		name string
		args []string
		part bool
	}{
		{"text faithful", []string{"-c", txt}, false},
		{"pcapng faithful", []string{"-c", png, "--components", list}, false},
		{"text dropped", []string{"-c", bad}, true},
		{"pcapng dropped", []string{"-c", badPng, "--components", list}, true},
		{"pcapng and its drop-only file", []string{"-c", flowPng, "-c", dropPng, "--components", list}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"compare", "-t", natTopology, "--all"}, tc.args...)
			code, stdout, stderr := runCmd(t, args...)
			if !tc.part {
				if code != exitOK || !strings.Contains(stdout, "3 packet groups: 3 agree, 0 part") {
					t.Fatalf("exit %d, want 0 and all agreeing\n%s\n%s", code, stdout, stderr)
				}
				return
			}
			if code != exitFail {
				t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
			}
			for _, want := range []string{"2 agree, 1 part", "dropped-there-delivered-here", "component 7 (vmswitch.sys)",
				`DropReason 8 "Filtered" = filtered`, "delivered it at host1/web"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("report lacks %q:\n%s", want, stdout)
				}
			}
			// The same through the machine-readable formats.
			_, js, _ := runCmd(t, append(args, "--format", "json")...)
			var rep struct {
				Parted  int `json:"parted"`
				Results []struct {
					Verdict  string `json:"verdict"`
					Partings []struct {
						Kind string `json:"kind"`
						Real struct {
							Where, Slug string
							Code        int `json:"pktmon_code"`
						} `json:"real_drop"`
					} `json:"partings"`
				} `json:"results"`
			}
			if err := json.Unmarshal([]byte(js), &rep); err != nil {
				t.Fatalf("json: %v\n%s", err, js)
			}
			p := rep.Results[0].Partings
			if rep.Parted != 1 || len(p) != 1 || p[0].Real.Code != 8 || p[0].Real.Slug != "filtered" || p[0].Real.Where != "component 7 (vmswitch.sys)" {
				t.Errorf("json: %+v", rep)
			}
			_, ju, _ := runCmd(t, append(args, "--format", "junit")...)
			var suites struct {
				Tests    int `xml:"tests,attr"`
				Failures int `xml:"failures,attr"`
			}
			if err := xml.Unmarshal([]byte(ju), &suites); err != nil || suites.Tests != 3 || suites.Failures != 1 {
				t.Errorf("junit: %+v %v\n%s", suites, err, ju)
			}
			for _, f := range []string{"markdown", "html"} {
				if code, out, _ := runCmd(t, append(args, "--format", f)...); code != exitFail || !strings.Contains(out, "vmswitch.sys") {
					t.Errorf("%s: exit %d, lacks the component:\n%s", f, code, out)
				}
			}
		})
	}
}
