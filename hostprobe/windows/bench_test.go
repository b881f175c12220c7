package windows

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/result"
)

// TestParsePktmonCounters reads the counters of two JSON shapes (per-edge direction
// objects inside a group, and flat direction-named keys), with UTF-8 BOM; malformed
// input is an error naming the file.
func TestParsePktmonCounters(t *testing.T) {
	edges := "\xef\xbb\xbf" + `[{"Group":"Virtual Switch","Components":[
	 {"Id":11,"Name":"Container NIC 1a2b","Counters":[{"Edge":1,"Rx":{"Packets":10,"Bytes":1000},"Tx":{"Packets":3,"Bytes":300}},
	   {"Edge":2,"Rx":{"Packets":1},"Tx":{"Packets":2},"Drops":{"Packets":4}}]},
	 {"Id":"12","Name":"Container NIC 3c4d","Counters":[]}]}]`
	got, err := parsePktmonCounters("edges.json", []byte(edges))
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]pktmonCounter{11: {Component: 11, In: 11, Out: 5, Drops: 4}, 12: {Component: 12}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("edges: got %+v, want %+v", got, want)
	}
	flat := `[{"Id":3,"InboundPackets":7,"OutboundPackets":9,"InboundBytes":700,"DroppedPackets":1}]`
	got, err = parsePktmonCounters("flat.json", []byte(flat))
	if err != nil {
		t.Fatal(err)
	}
	if want := (pktmonCounter{Component: 3, In: 7, Out: 9, Drops: 1}); got[3] != want {
		t.Errorf("flat: got %+v, want %+v", got[3], want)
	}
	for _, bad := range []string{`[{"Id":"x"}]`, `[{"Id":1,"Rx":{"Packets":-1}}]`, `{`, ``} {
		if _, err := parsePktmonCounters("bad.json", []byte(bad)); err == nil || !strings.Contains(err.Error(), "bad.json") {
			t.Errorf("%q: got %v, want an error naming bad.json", bad, err)
		}
	}
}

// countingHost is a fake host whose pod-b vNIC (component 12) receives what the sender
// sends, less drop per batch; pktmon counters report it.
type countingHost struct {
	mu       sync.Mutex
	received uint64
	drop     int
}

func benchFakes(t *testing.T, drop int) (*Backend, *fakeHCN, *fakeRunner, *countingHost) {
	h, r := newFakeHCN(), newFakeRunner()
	containerRunner(r, h)
	ch := &countingHost{drop: drop}
	s := &fakeSender{onUDP: func(comp uint32, n int) {
		ch.mu.Lock()
		ch.received += uint64(max(n-ch.drop, 0))
		ch.mu.Unlock()
	}}
	r.handlers["pktmon help"] = func([]string) ([]byte, error) { return []byte(helpModern), nil }
	r.handlers["pktmon list"] = func([]string) ([]byte, error) { return utf16LE(string(crlf(listJSON))), nil }
	r.handlers["pktmon counters"] = func([]string) ([]byte, error) {
		ch.mu.Lock()
		defer ch.mu.Unlock()
		return crlf(fmt.Sprintf(`[{"Group":"vSwitch","Components":[{"Id":12,"Counters":[{"Edge":1,"Rx":{"Packets":%d},"Tx":{"Packets":0}}]},{"Id":11,"Counters":[{"Edge":1,"Tx":{"Packets":99}}]}]}]`, ch.received)), nil
	}
	return NewBackendWith(testOptions(t), h, r, s), h, r, ch
}

// TestBenchProcessor runs batches through the fakes: Process returns what pod-b's
// component counted, with the commands of a counters-only session; TCP frames are
// refused; Close stops counting and tears the networks down.
func TestBenchProcessor(t *testing.T) {
	b, h, r, _ := benchFakes(t, 2)
	p, err := NewBenchProcessorOn(b, loadTopology(t, "l2bridge"), "host1/pod-a", []string{"host1/pod-b"})
	if err != nil {
		t.Fatal(err)
	}
	f := udpFrame(t, "00:15:5d:01:01:02", "00:15:5d:01:01:03", "10.244.1.2", "10.244.1.3", 40000, 53, "x")
	batch := [][]byte{f, f, f, f, f, f, f, f}
	if got := p.Process(batch); got != 6 || p.Err() != nil {
		t.Errorf("Process: got %d (%v), want 6 (8 sent, 2 dropped)", got, p.Err())
	}
	if got := p.Process(batch); got != 6 {
		t.Errorf("Process again: got %d, want 6", got)
	}
	var starts []string
	for _, c := range r.commands() {
		if strings.HasPrefix(c, "pktmon start") {
			starts = append(starts, c)
		}
	}
	if want := []string{"pktmon start --capture --counters-only --comp 12"}; !reflect.DeepEqual(starts, want) {
		t.Errorf("starts: got %q, want %q", starts, want)
	}
	syn := udpFrame(t, "00:15:5d:01:01:02", "00:15:5d:01:01:03", "10.244.1.2", "10.244.1.3", 40000, 53, "x")
	syn[23] = 6 // TCP
	if got := p.Process([][]byte{syn}); got != 0 || !errors.Is(p.Err(), errors.ErrUnsupported) {
		t.Errorf("TCP: got %d, %v, want ErrUnsupported", got, p.Err())
	}
	n := len(r.commands())
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if cmds := r.commands()[n:]; len(cmds) == 0 || cmds[0] != "pktmon stop" {
		t.Errorf("close: %q, want pktmon stop first", cmds)
	}
	if left := h.left(); len(left) != 0 {
		t.Errorf("left: %q", left)
	}
	// A sink that is not a local endpoint is refused, and nothing stays behind.
	b2, h2, _, _ := benchFakes(t, 0)
	if _, err := NewBenchProcessorOn(b2, loadTopology(t, "l2bridge"), "host1/pod-a", []string{"host1/eth0"}); err == nil {
		t.Errorf("sink eth0: nil error")
	}
	if left := h2.left(); len(left) != 0 {
		t.Errorf("left: %q", left)
	}
}

// TestThroughput measures a workload on the fakes: every frame arrives.
func TestThroughput(t *testing.T) {
	b, _, _, _ := benchFakes(t, 0)
	if err := b.Setup(context.Background(), loadTopology(t, "l2bridge")); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	f := udpFrame(t, "00:15:5d:01:01:02", "00:15:5d:01:01:03", "10.244.1.2", "10.244.1.3", 40000, 53, "x")
	tp, err := b.Throughput(context.Background(), hostprobe.Workload{Name: "w", In: "host1/pod-a", Frames: [][]byte{f}, Sinks: []string{"host1/pod-b"},
		Duration: 20 * time.Millisecond, Batch: 4})
	if err != nil {
		t.Fatal(err)
	}
	if tp.Sent == 0 || tp.Received != tp.Sent || tp.Backend != result.BackendWindows || tp.Elapsed <= 0 {
		t.Errorf("throughput: %+v", tp)
	}
}
