package main

import (
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
