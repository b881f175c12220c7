package scenarios

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/spec"
)

// replayPackets is how many packets TestReplayStreams replays:
// HNSPATH_REPLAY_PACKETS (e.g. 1000000), else 200000 (50000 with -short).
func replayPackets(t *testing.T) int {
	if s := os.Getenv("HNSPATH_REPLAY_PACKETS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("HNSPATH_REPLAY_PACKETS=%q: want a positive number", s)
		}
		return n
	}
	if testing.Short() {
		return 50000
	}
	return 200000
}

// TestReplayStreams replays a large generated pcapng (64 UDP flows from a
// container through WinNAT) with per-port outputs and checks that the heap
// stays flat: memory must not grow with the capture's length.
func TestReplayStreams(t *testing.T) {
	n := replayPackets(t)
	topo, err := LoadTopology("library/topologies/nat.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The container's frames go to its gateway's MAC, learnt by ARP.
	f, err := topo.Build(fabric.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{f: f, arps: map[arpKey]net.HardwareAddr{}}
	r.res = newResolver(f, topo, r.arp)
	web, _ := f.PortByName("host1/web")
	gw, ok := r.arp(web, f.Port(web).Gateway)
	if !ok {
		t.Fatal("no ARP reply from the gateway")
	}
	frames, err := spec.Build(spec.MustParse("ipv4(dst=198.18.0.10) / udp(sport=40000-40063, dport=53) / raw(len=18)"),
		r.res.from(web), spec.BuildOptions{From: "host1/web", DstMAC: gw})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcapng")
	fh, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcapio.NewNgWriter(fh, pcapio.NgOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1_700_000_000, 0)
	for i := 0; i < n; i++ {
		if err := w.Write(pcapio.Packet{Port: "host1/web", Time: start.Add(time.Duration(i) * time.Microsecond), Data: frames[i%len(frames)]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	fh.Close()

	rd, err := pcapio.Open(in, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var heap []uint64
	var ms runtime.MemStats
	sum, err := Replay(topo, rd, ReplayOptions{OutDir: filepath.Join(dir, "out"), Progress: func(int) {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		heap = append(heap, ms.HeapAlloc)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Packets != n || sum.Delivered["server"] != n || sum.Outcomes["delivered"] != n {
		t.Fatalf("packets %d, delivered at server %d, outcomes %v; want %d each", sum.Packets, sum.Delivered["server"], sum.Outcomes, n)
	}
	for _, port := range []string{"server", "host1/eth0"} {
		st, err := os.Stat(sum.Files[port])
		if err != nil || st.Size() < int64(n)*64 {
			t.Errorf("%s capture: %v, %d bytes; want at least %d", port, err, st.Size(), n*64)
		}
	}
	if len(heap) < 2 {
		t.Logf("only %d heap samples (one per 65536 packets)", len(heap))
	} else {
		lo, hi := heap[0], heap[0]
		for _, h := range heap {
			lo, hi = min(lo, h), max(hi, h)
		}
		if hi-lo > 4<<20 {
			t.Errorf("heap grew from %d to %d bytes over the replay (samples %v), want flat", lo, hi, heap)
		}
		t.Logf("heap %d..%d bytes over %d samples", lo, hi, len(heap))
	}
	t.Logf("replayed %d packets in %s: %.0f pkts/s (with two pcapng outputs)", n, sum.Elapsed.Round(time.Millisecond), sum.PacketsPerSecond())
}

// fullDisk is a file that accepts limit bytes and then fails as a full
// disk does.
type fullDisk struct {
	f     *os.File
	limit int
}

func (d *fullDisk) Write(b []byte) (int, error) {
	if len(b) > d.limit {
		n, _ := d.f.Write(b[:d.limit])
		d.limit = 0
		return n, syscall.ENOSPC
	}
	d.limit -= len(b)
	return d.f.Write(b)
}

func (d *fullDisk) Close() error { return d.f.Close() }

// TestReplayWriteError: when a port's pcapng cannot be written (disk full),
// Replay fails, that file is removed and listed nowhere, and the others
// are marked partial: nothing is listed as written.
func TestReplayWriteError(t *testing.T) {
	topo, err := LoadTopology("library/topologies/nat.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcapng")
	f, _ := os.Create(in)
	w, _ := pcapio.NewNgWriter(f, pcapio.NgOptions{})
	for i := range 50 {
		fr, err := spec.Build(spec.MustParse("ether(src=02:00:00:00:00:99, dst=00:15:5d:00:00:04) / ipv4(src=10.0.0.99, dst=10.0.0.4) / tcp(sport=40000, dport=8082, flags=S) / raw(len=1000)"), nil, spec.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(pcapio.Packet{Port: "client", Time: time.Unix(1, int64(i)), Data: fr[0]})
	}
	w.Flush()
	f.Close()
	rd, err := pcapio.Open(in, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	out := filepath.Join(dir, "out")
	opts := ReplayOptions{OutDir: out, create: func(path string) (io.WriteCloser, error) {
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		if strings.Contains(path, "host1_web.") {
			return &fullDisk{f: f, limit: 4096}, nil
		}
		return f, nil
	}}
	sum, err := Replay(topo, rd, opts)
	if err == nil || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("got %v, want a no-space error", err)
	}
	if len(sum.Files) != 0 {
		t.Errorf("files listed as written: %v", sum.Files)
	}
	if _, ok := sum.Partial["host1/web"]; ok {
		t.Errorf("the cut file is listed as partial: %v", sum.Partial)
	}
	if sum.Partial["host1/eth0"] == "" {
		t.Errorf("host1/eth0: want a partial file, got %v", sum.Partial)
	}
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		if !strings.Contains(e.Name(), ".partial.") {
			t.Errorf("%s left in the output directory", e.Name())
		}
	}
	var buf strings.Builder
	sum.Write(&buf)
	if strings.Contains(buf.String(), "\nfiles:") {
		t.Errorf("summary lists files:\n%s", buf.String())
	}
}
