package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/spec"
)

// writeCapture writes frames built from specs into a pcapng (interface
// port) or, with port "", a classic pcap.
func writeCapture(t *testing.T, path, port string, specs ...string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w pcapio.Writer
	if port != "" {
		w, err = pcapio.NewNgWriter(f, pcapio.NgOptions{})
	} else {
		w, err = pcapio.NewPcapWriter(f)
	}
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range specs {
		frames, err := spec.Build(spec.MustParse(s), nil, spec.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(pcapio.Packet{Port: port, Time: time.Unix(100, int64(i)*1000), Data: frames[0]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// Frames from the outside client to the host: two to the published port
// (delivered to the container), one to an unpublished port (dropped).
var clientFrames = []string{
	"ether(src=02:00:00:00:00:99, dst=00:15:5d:00:00:04) / ipv4(src=10.0.0.99, dst=10.0.0.4) / tcp(sport=40000, dport=8082, flags=S)",
	"ether(src=02:00:00:00:00:99, dst=00:15:5d:00:00:04) / ipv4(src=10.0.0.99, dst=10.0.0.4) / tcp(sport=40001, dport=8082, flags=S)",
	"ether(src=02:00:00:00:00:99, dst=00:15:5d:00:00:04) / ipv4(src=10.0.0.99, dst=10.0.0.4) / tcp(sport=40002, dport=9999, flags=S)",
}

func TestReplay(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcapng")
	writeCapture(t, in, "client", clientFrames...)
	out := filepath.Join(dir, "out")
	res := filepath.Join(dir, "res.jsonl")
	code, stdout, stderr := runCmd(t, "replay", "--topology", natTopology, "--pcap", in, "--out", out, "--results", res)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"packets: 3 in", "pkts/s", "delivered 2", "dropped   1", "host1/web", "winnat-no-mapping", "host1_web.pcapng"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	// The container's capture holds the two delivered SYNs, on an
	// interface named after the port.
	rd, err := pcapio.Open(filepath.Join(out, "host1_web.pcapng"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	n := 0
	for {
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if p.Port != "host1/web" {
			t.Errorf("interface %q, want host1/web", p.Port)
		}
	}
	if n != 2 {
		t.Errorf("host1/web capture has %d packets, want 2", n)
	}
	if b, err := os.ReadFile(res); err != nil || strings.Count(string(b), "\n") != 4 {
		t.Errorf("results: %v, %d lines; want 4 (the format header, 3 packets)", err, strings.Count(string(b), "\n"))
	}

	// A classic pcap has no interface names: --port names the port.
	pc := filepath.Join(dir, "in.pcap")
	writeCapture(t, pc, "", clientFrames...)
	if code, stdout, stderr := runCmd(t, "replay", "-t", natTopology, "-p", pc, "--port", "client"); code != exitOK || !strings.Contains(stdout, "delivered 2") {
		t.Errorf("pcap with --port: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := runCmd(t, "replay", "-t", natTopology, "-p", pc); code != exitFail || !strings.Contains(stderr, "no port") {
		t.Errorf("pcap without --port: exit %d, stderr %s", code, stderr)
	}
	if code, _, _ := runCmd(t, "replay", "-t", natTopology); code != exitUsage {
		t.Errorf("no --pcap: exit %d, want 2", code)
	}
}

// etl2pcapngFile writes a pcapng laid out as etl2pcapng writes pktmon
// captures (microsoft/etl2pcapng src/main.c): interfaces named
// "vNIC:..."/"mbb:N" without a MAC, the PktGroupId in epb_packetid, raw
// IP (link type 101) for packets of type IP.
func etl2pcapngFile(t *testing.T, path string, ifaces []string, linkTypes []uint16, pkts []struct {
	iface uint32
	group uint64
	data  []byte
}) {
	t.Helper()
	var b []byte
	le := binary.LittleEndian
	block := func(typ uint32, body []byte) {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		n := uint32(12 + len(body))
		b = le.AppendUint32(le.AppendUint32(b, typ), n)
		b = le.AppendUint32(append(b, body...), n)
	}
	opt := func(dst []byte, code uint16, v []byte) []byte {
		dst = append(le.AppendUint16(le.AppendUint16(dst, code), uint16(len(v))), v...)
		for len(dst)%4 != 0 {
			dst = append(dst, 0)
		}
		return dst
	}
	block(0x0a0d0d0a, le.AppendUint64(le.AppendUint16(le.AppendUint16(le.AppendUint32(nil, 0x1a2b3c4d), 1), 0), ^uint64(0)))
	for i, name := range ifaces {
		body := le.AppendUint32(le.AppendUint16(le.AppendUint16(nil, linkTypes[i]), 0), 0)
		block(1, opt(opt(body, 2, []byte(name)), 0, nil))
	}
	for i, p := range pkts {
		body := le.AppendUint32(nil, p.iface)
		body = le.AppendUint32(le.AppendUint32(body, 0), uint32(i))
		body = le.AppendUint32(le.AppendUint32(body, uint32(len(p.data))), uint32(len(p.data)))
		body = append(body, p.data...)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		block(6, opt(opt(body, 5, le.AppendUint64(nil, p.group)), 0, nil))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReplayPktmon: a pktmon capture's packet group is injected once, at
// its first appearance; an etl2pcapng capture whose interfaces map to no
// port is an error naming them; --port NAME=PORT maps a named interface;
// raw IP packets get an Ethernet header and go through.
func TestReplayPktmon(t *testing.T) {
	dir := t.TempDir()
	// web to web2 (same subnet, Ethernet), web to the server (raw IP: the
	// replay finds the gateway's MAC).
	frame, err := spec.Build(spec.MustParse("ether(src=00:15:5d:aa:00:02, dst=00:15:5d:aa:00:03) / ipv4(src=172.16.0.2, dst=172.16.0.3) / udp(sport=40000, dport=53) / raw(len=4)"), nil, spec.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	toServer, err := spec.Build(spec.MustParse("ether(src=00:15:5d:aa:00:02, dst=00:15:5d:aa:00:01) / ipv4(src=172.16.0.2, dst=198.18.0.10) / udp(sport=40000, dport=53) / raw(len=4)"), nil, spec.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip := toServer[0][14:]

	// Text: one group seen three times (vNIC, vSwitch, NIC).
	txt := filepath.Join(dir, "fmt.txt")
	var b strings.Builder
	b.WriteString("Component 2, Type VmsVmNic , Name web\nProperty: Component 2, PhysAddress = 0x00155DAA0002\n")
	for i, comp := range []int{2, 7, 1} {
		fmt.Fprintf(&b, "PktGroupId 5, PktNumber 1, Appearance %d, Direction Rx , Type Ethernet , Component %d, Edge 1, Filter 1, OriginalSize 46, LoggedSize 46\n"+
			"\t00-15-5D-AA-00-02 > 00-15-5D-AA-00-03, ethertype IPv4 (0x0800), length 46: 172.16.0.2.40000 > 172.16.0.3.53: UDP, length 4\n", i+1, comp)
	}
	os.WriteFile(txt, []byte(b.String()), 0o644)
	code, stdout, stderr := runCmd(t, "replay", "-t", natTopology, "-p", txt)
	if code != exitOK || !strings.Contains(stdout, "packets: 1 in") || !strings.Contains(stdout, "delivered 1") || !strings.Contains(stdout, "later appearances of packet groups (not injected): 2") ||
		!strings.Contains(stdout, "component 2 (web, 00:15:5d:aa:00:02) -> host1/web: same MAC") {
		t.Errorf("text: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// etl2pcapng: a vNIC interface (Ethernet) and an mbb one (raw IP).
	etl := filepath.Join(dir, "etl.pcapng")
	vnic := "vNIC:Synthetic:A1B2C3D4-web:12:0"
	etl2pcapngFile(t, etl, []string{vnic, "mbb:5"}, []uint16{1, 101}, []struct {
		iface uint32
		group uint64
		data  []byte
	}{{0, 42, frame[0]}, {0, 42, frame[0]}, {1, 43, ip}})
	code, _, stderr = runCmd(t, "replay", "-t", natTopology, "-p", etl)
	if code != exitFail || !strings.Contains(stderr, "no pktmon component or capture interface maps to a topology port") || !strings.Contains(stderr, vnic) {
		t.Errorf("unmapped etl2pcapng: exit %d, stderr %s", code, stderr)
	}
	out := filepath.Join(dir, "out")
	code, stdout, stderr = runCmd(t, "replay", "-t", natTopology, "-p", etl, "--port", vnic+"=host1/web", "--port", "mbb:5=host1/web", "-o", out)
	if code != exitOK || !strings.Contains(stdout, "packets: 2 in") || !strings.Contains(stdout, "delivered 2") || !strings.Contains(stdout, "later appearances of packet groups (not injected): 1") {
		t.Fatalf("etl2pcapng with --port: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// The raw IP packet went out of the NIC (SNAT to the server).
	rd, err := pcapio.Open(filepath.Join(out, "host1_eth0.pcapng"), "")
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	defer rd.Close()
	n := 0
	for {
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if !bytes.Equal(p.Data[len(p.Data)-4:], ip[len(ip)-4:]) {
			t.Errorf("packet %d: payload differs", n)
		}
	}
	if n != 1 {
		t.Errorf("host1/eth0 capture has %d packets, want 1\n%s", n, stdout)
	}
	if code, _, stderr := runCmd(t, "replay", "-t", natTopology, "-p", etl, "--port", "host1/web"); code != exitUsage || !strings.Contains(stderr, "NAME=PORT") {
		t.Errorf("bare --port on a pktmon capture: exit %d, %s", code, stderr)
	}
}

// TestReplayTruncatedOutputs: after a capture cut inside its last packet,
// no output keeps a name that looks complete: the results and per-port
// pcapngs of the packets before the cut are there as .partial files, and
// the summary lists them as partial, not under "files:".
func TestReplayTruncatedOutputs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcapng")
	writeCapture(t, in, "client", clientFrames...)
	data, _ := os.ReadFile(in)
	os.WriteFile(in+".whole", data, 0o644)
	os.WriteFile(in, data[:len(data)-10], 0o644)
	out, res := filepath.Join(dir, "out"), filepath.Join(dir, "res.jsonl")
	// A complete run's outputs are there first; the failed run must not
	// leave them looking like its own.
	if code, stdout, stderr := runCmd(t, "replay", "-t", natTopology, "-p", in+".whole", "-o", out, "--results", res); code != exitOK {
		t.Fatalf("whole capture: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr := runCmd(t, "replay", "-t", natTopology, "-p", in, "-o", out, "--results", res)
	if code != exitFail || !strings.Contains(stderr, "packet 3") {
		t.Fatalf("exit %d, want 1 naming packet 3\n%s\n%s", code, stdout, stderr)
	}
	for _, gone := range []string{res, res + ".tmp", filepath.Join(out, "host1_web.pcapng"), filepath.Join(out, "host1_web.pcapng.tmp")} {
		if _, err := os.Stat(gone); err == nil {
			t.Errorf("%s exists after a failed replay", gone)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "res.partial.jsonl")); err != nil || strings.Count(string(b), `"packet":`) != 2 {
		t.Errorf("partial results: %v, %q", err, b)
	}
	if _, err := os.Stat(filepath.Join(out, "host1_web.partial.pcapng")); err != nil {
		t.Errorf("partial pcapng: %v", err)
	}
	if strings.Contains(stdout, "files:\n") && !strings.Contains(stdout, "partial files") || !strings.Contains(stdout, "partial files") {
		t.Errorf("summary must list the outputs as partial:\n%s", stdout)
	}
	if strings.Contains(stdout, "\nfiles:") {
		t.Errorf("summary lists complete files after a failure:\n%s", stdout)
	}
}

// TestReplayPortOverridesNamedInterface: a pcapng whose interface is named
// but is no port ("eth0") is refused, and --port eth0=PORT places it.
func TestReplayPortOverridesNamedInterface(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcapng")
	writeCapture(t, in, "eth0", clientFrames...)
	if code, _, stderr := runCmd(t, "replay", "-t", natTopology, "-p", in); code != exitFail || !strings.Contains(stderr, `unknown port "eth0"`) {
		t.Errorf("named interface without --port: exit %d, %s", code, stderr)
	}
	code, stdout, stderr := runCmd(t, "replay", "-t", natTopology, "-p", in, "--port", "eth0=client")
	if code != exitOK || !strings.Contains(stdout, "packets: 3 in") || !strings.Contains(stdout, "delivered 2") || !strings.Contains(stdout, `interface "eth0" -> client: --port`) {
		t.Errorf("--port eth0=client: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestReplayEmptyCapture: a pktmon capture (a --port map given) without
// packets is an error, not a crash or an empty success.
func TestReplayEmptyCapture(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "empty.pcapng")
	etl2pcapngFile(t, in, []string{"eth:3:0"}, []uint16{1}, nil)
	for _, args := range [][]string{{"--port", "eth:3:0=host1/eth0"}, {"--port", "3=host1/eth0"}} {
		code, _, stderr := runCmd(t, append([]string{"replay", "-t", natTopology, "-p", in}, args...)...)
		if code != exitFail || stderr == "" {
			t.Errorf("%v: exit %d, %s", args, code, stderr)
		}
	}
}

// TestReplayFirstSeenLeaving: a packet whose first appearance is leaving
// the physical NIC (Tx at its component) came from inside the host: it is
// injected at the management OS (its source MAC is the NIC's), not as if
// it arrived from the wire.
func TestReplayFirstSeenLeaving(t *testing.T) {
	txt := filepath.Join(t.TempDir(), "tx.txt")
	os.WriteFile(txt, []byte("Component 1, Type Miniport , Name netvsc.sys\n"+
		"Property: Component 1, PhysAddress  = 0x00155D000004\n"+
		"PktGroupId 11, PktNumber 1, Appearance 3, Direction Tx , Type Ethernet , Component 1, Edge 1, Filter 1, OriginalSize 46, LoggedSize 46\n"+
		"\t00-15-5D-00-00-04 > 02-00-00-00-00-01, ethertype IPv4 (0x0800), length 46: 10.0.0.4.50000 > 198.18.0.10.53: UDP, length 4\n"), 0o644)
	code, stdout, stderr := runCmd(t, "replay", "-t", natTopology, "-p", txt)
	if code != exitOK || !strings.Contains(stdout, "first seen leaving host1/eth0 (Tx): injected at host1/host") || !strings.Contains(stdout, "server") || !strings.Contains(stdout, "delivered 1") {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}
