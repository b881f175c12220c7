package workload

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hnspath/hnspath/bench"
	"github.com/hnspath/hnspath/bench/result"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/pcapio"
)

// writeCapture writes packets to a pcapng file (one interface per port) or, when
// ng is false, a pcap file (no ports).
func writeCapture(t *testing.T, name string, ng bool, pkts []pcapio.Packet) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w pcapio.Writer
	if ng {
		w, err = pcapio.NewNgWriter(f, pcapio.NgOptions{})
	} else {
		w, err = pcapio.NewPcapWriter(f)
	}
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts {
		p.Time = time.Unix(1700000000, int64(i))
		if err := w.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return path
}

// overlayCapture returns the frames of flows flows of the overlay round trip:
// requests at host1/pod-a and replies at host2/pod-c.
func overlayCapture(t *testing.T, flows int) []pcapio.Packet {
	pr := prepare(t, "overlay-roundtrip", Params{Flows: flows, Size: 64})
	var pkts []pcapio.Packet
	for i, fr := range pr.Frames {
		port := "host1/pod-a"
		if i%2 == 1 {
			port = "host2/pod-c"
		}
		pkts = append(pkts, pcapio.Packet{Port: port, Data: fr})
	}
	return pkts
}

func overlayBuild(t *testing.T) func(fabric.Options) (*fabric.Fabric, error) {
	topo, err := loadTopo("overlay")
	if err != nil {
		t.Fatal(err)
	}
	return func(o fabric.Options) (*fabric.Fabric, error) { return fabric.New(topo, o) }
}

// TestReplayPcapng replays a two-port pcapng through the overlay topology: the
// ports come from the interface names, both directions of a flow share a flow
// index (and so a core), and every packet is delivered, on one core and on two.
func TestReplayPcapng(t *testing.T) {
	const flows = 40
	path := writeCapture(t, "round-trip.pcapng", true, overlayCapture(t, flows))
	pkts, err := ReadCapture(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != 2*flows || pkts[0].Port != "host1/pod-a" || pkts[1].Port != "host2/pod-c" {
		t.Fatalf("read %d packets, ports %q %q; want %d, host1/pod-a host2/pod-c", len(pkts), pkts[0].Port, pkts[1].Port, 2*flows)
	}
	w, err := NewReplay(Replay{Name: path, Packets: pkts, Build: overlayBuild(t)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fullName(w); got != "Replay/pcap=round-trip" {
		t.Errorf("name %q, want Replay/pcap=round-trip (two ports: no port key)", got)
	}
	pr, err := w.Prepare(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if pr.Flows != flows {
		t.Errorf("%d flows, want %d", pr.Flows, flows)
	}
	for i := 0; i < len(pr.Flow); i += 2 {
		if pr.Flow[i] != pr.Flow[i+1] || pr.Flow[i] != uint32(i/2) {
			t.Fatalf("packets %d and %d in flows %d and %d, want both in %d", i+1, i+2, pr.Flow[i], pr.Flow[i+1], i/2)
		}
	}
	for _, shards := range []int{1, 2} {
		for s := range shards {
			p, err := pr.NewProcessor(s, shards)
			if err != nil {
				t.Fatal(err)
			}
			var frames [][]byte
			for i, fr := range pr.Frames {
				if bench.ShardOf(pr.Flow[i], shards) == s {
					frames = append(frames, fr)
				}
			}
			if got := p.Process(frames); got != len(frames) {
				t.Errorf("shard %d of %d: %d of %d packets delivered", s, shards, got, len(frames))
			}
		}
	}
}

// TestReplayPcapDefaultPort: a pcap has no ports, so every packet enters at the
// default port, which names the benchmark; the runner measures it.
func TestReplayPcapDefaultPort(t *testing.T) {
	pr := prepare(t, "transparent", Params{Flows: 16, Size: 64})
	var pkts []pcapio.Packet
	for _, fr := range pr.Frames {
		pkts = append(pkts, pcapio.Packet{Data: fr})
	}
	path := writeCapture(t, "web out.pcap", false, pkts)
	got, err := ReadCapture(path, "host1/web")
	if err != nil {
		t.Fatal(err)
	}
	topo, err := loadTopo("transparent")
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewReplay(Replay{Name: path, Packets: got, Build: func(o fabric.Options) (*fabric.Fabric, error) { return fabric.New(topo, o) }}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := fullName(w); n != "Replay/pcap=web_out/port=host1_web" {
		t.Errorf("name %q, want Replay/pcap=web_out/port=host1_web", n)
	}
	rep, err := bench.Run(context.Background(), []bench.Workload{w}, bench.Options{Trials: 2, MinTime: time.Millisecond, Warmup: -1, NoReference: true})
	if err != nil {
		t.Fatal(err)
	}
	b := rep.Benchmarks[0]
	for _, tr := range b.Trials {
		if tr.Packets == 0 || tr.Delivered != tr.Packets {
			t.Errorf("trial: %d packets, %d delivered; want all delivered", tr.Packets, tr.Delivered)
		}
		if tr.FirstPacket == nil || tr.FirstPacket.Flows != 16 {
			t.Errorf("first packet phase %+v, want 16 flows", tr.FirstPacket)
		}
	}
}

func TestReplayErrors(t *testing.T) {
	pkts := overlayCapture(t, 2)
	build := overlayBuild(t)
	tests := []struct {
		name string
		pkts []Packet
		want string
	}{
		{"unknown port", []Packet{{Port: "host9/x", Frame: pkts[0].Data}}, `packet 1: the topology has no port "host9/x"`},
		{"no port", []Packet{{Frame: pkts[0].Data}}, "packet 1 has no port"},
		// Frames from pod-a injected at host2/eth0 go nowhere.
		{"all dropped", []Packet{{Port: "host2/pod-c", Frame: pkts[0].Data}}, "none of the 1 packets is delivered"},
		{"empty", []Packet{{Port: "host1/pod-a", Frame: pkts[0].Data}, {Port: "host1/pod-a"}}, "packet 2 is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewReplay(Replay{Name: "x", Packets: tt.pkts, Build: build}, Options{})
			if err == nil {
				_, err = w.Prepare(context.Background())
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	// The same bytes entering at two ports are routed to each.
	shared := pkts[0].Data
	w, err := NewReplay(Replay{Name: "x", Packets: []Packet{{Port: "host1/pod-a", Frame: shared}, {Port: "host2/pod-c", Frame: shared}}, Build: build}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := w.Prepare(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	proc, err := pr.NewProcessor(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	// pod-a's request is delivered; the same frame at pod-c is not (pod-c
	// does not own its source MAC), so exactly one of the two.
	if got := proc.Process(pr.Frames); got != 1 {
		t.Errorf("%d of 2 delivered, want 1 (the one entering at host1/pod-a)", got)
	}
	// A frame cut short by the snap length names its packet.
	cut := writeCapture(t, "cut.pcap", false, []pcapio.Packet{{Data: pkts[0].Data}, {Data: pkts[1].Data[:30], OrigLen: len(pkts[1].Data)}})
	if _, err := ReadCapture(cut, "host1/pod-a"); err == nil || !strings.Contains(err.Error(), "packet 2") {
		t.Errorf("ReadCapture of a cut frame: %v, want an error naming packet 2", err)
	}
	if _, err := ReadCapture(filepath.Join(t.TempDir(), "missing.pcap"), ""); err == nil {
		t.Error("ReadCapture of a missing file succeeded")
	}
	empty := writeCapture(t, "empty.pcap", false, nil)
	if _, err := ReadCapture(empty, ""); err == nil || !strings.Contains(err.Error(), "no packets") {
		t.Errorf("ReadCapture of an empty capture: %v, want no packets", err)
	}
}

func TestKeyValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{captureName("/tmp/a b/web out.pcapng"), "web_out"},
		{"host1/web", "host1_web"},
		{captureName("nat=1.pcap"), "nat_1"},
		{captureName("run-20.pcap"), "run_20"},
		{"", "capture"},
		{"é", "_"},
	}
	for _, tt := range tests {
		if got := keyValue(tt.in); got != tt.want {
			t.Errorf("keyValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if err := result.ValidateName("Replay", []bench.KV{{Key: "pcap", Value: keyValue(tt.in)}}); err != nil {
			t.Errorf("keyValue(%q): %v", tt.in, err)
		}
	}
}

// FuzzReplay replays arbitrary frames (a capture is untrusted input) at two
// ports of the overlay topology: preparing and processing them must not panic,
// and a prepared workload's flow indices must be in range.
func FuzzReplay(f *testing.F) {
	pr := prepare(f, "overlay-roundtrip", Params{Flows: 2, Size: 64})
	for i, fr := range pr.Frames {
		f.Add(fr, uint8(i))
	}
	dec := prepare(f, "overlay-decap", Params{Flows: 1, Size: 64})
	f.Add(dec.Frames[0], uint8(2))
	f.Add([]byte{}, uint8(0))
	f.Add(make([]byte, 13), uint8(1))
	topo, err := loadTopo("overlay")
	if err != nil {
		f.Fatal(err)
	}
	build := func(o fabric.Options) (*fabric.Fabric, error) { return fabric.New(topo, o) }
	ports := []string{"host1/pod-a", "host2/pod-c", "host2/eth0"}
	f.Fuzz(func(t *testing.T, frame []byte, port uint8) {
		pkts := []Packet{{Port: ports[int(port)%len(ports)], Frame: frame}, {Port: "host1/pod-a", Frame: pr.Frames[0]}}
		w, err := NewReplay(Replay{Name: "fuzz", Packets: pkts, Build: build}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := w.Prepare(context.Background())
		if err != nil {
			return // e.g. nothing delivered
		}
		for i, fl := range p.Flow {
			if int(fl) >= p.Flows {
				t.Fatalf("frame %d in flow %d of %d", i, fl, p.Flows)
			}
		}
		proc, err := p.NewProcessor(0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if n := proc.Process(p.Frames); n < 1 {
			t.Fatalf("%d frames delivered, want at least the valid one", n)
		}
	})
}
