package windows

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/pktmon"
	"github.com/hnspath/hnspath/result"
)

// TestFilterArgs checks pktmon filter add command lines against the documented syntax
// (pktmon filter add <name> [-m <mac> [mac2]] [-d ...] [-t ...] [-i <ip> [ip2]] [-p <port> [port2]] [-e [port]]).
func TestFilterArgs(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    Filter
		want string
		err  bool
	}{
		{"mac", Filter{Name: "web", MACs: []string{"00:15:5d:aa:00:02"}}, "filter add web -m 00-15-5D-AA-00-02", false},
		{"full", Filter{Name: "f", EtherType: "IPv4", Transport: "TCP", IPs: []string{"10.0.0.4", "172.16.0.0/16"}, Ports: []uint16{80, 8082}, Encap: true},
			"filter add f -d IPv4 -t TCP -i 10.0.0.4 172.16.0.0/16 -p 80 8082 -e", false},
		{"vxlan port", Filter{Name: "v", Encap: true, EncapPort: 4790}, "filter add v -e 4790", false},
		{"default name", Filter{Ports: []uint16{53}}, "filter add hnspath -p 53", false},
		{"three ips", Filter{IPs: []string{"a", "b", "c"}}, "", true},
		{"name with space", Filter{Name: "a b"}, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.Args()
			if (err != nil) != tt.err {
				t.Fatalf("got error %v, want error %v", err, tt.err)
			}
			if !tt.err && strings.Join(got, " ") != tt.want {
				t.Errorf("got %q, want %q", strings.Join(got, " "), tt.want)
			}
		})
	}
}

// writePktmon writes a synthetic pktmon pcapng with pcapio: packets on interfaces named
// after components, with pktmon metadata in their comments.
func writePktmon(t *testing.T, pkts []pcapio.Packet) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapio.NewNgWriter(&buf, pcapio.NgOptions{Application: "pktmon"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if err := w.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestResults turns a synthetic capture into results: appearances by component and
// direction, one output per packet and port, drops with pktmon's reasons, and records
// assigned to inputs by time.
func TestResults(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	frameA := []byte("frame-a-0123456789")
	frameB := []byte("frame-b-0123456789")
	data := writePktmon(t, []pcapio.Packet{
		{Port: "Component 12", Time: t0.Add(-time.Second), Data: frameA, Comment: "PktGroupId 1, Component 12, Direction Rx"}, // before the first input
		{Port: "Component 12", Time: t0.Add(10 * time.Millisecond), Data: frameA, Comment: "PktGroupId 2, PktNumber 1, Appearance 1, Direction Rx, Component 12, Edge 1"},
		{Port: "Component 12", Time: t0.Add(11 * time.Millisecond), Data: frameA, Comment: "PktGroupId 2, PktNumber 1, Appearance 2, Direction Rx, Component 12, Edge 2"}, // same packet again
		{Port: "Component 12", Time: t0.Add(12 * time.Millisecond), Data: frameA, Comment: "PktGroupId 2, PktNumber 1, Appearance 3, Direction Tx, Component 12, Edge 1"}, // wrong direction
		{Port: "Component 3", Time: t0.Add(13 * time.Millisecond), Data: frameA, Comment: "PktGroupId 2, Direction Tx, Component 3"},
		{Port: "Component 19", Time: t0.Add(300 * time.Millisecond), Data: frameB, Comment: "Drop: PktGroupId 5, Direction Rx, Component 19, DropReason MTU mismatch, DropLocation 0x1"},
		{Port: "Component 19", Time: t0.Add(301 * time.Millisecond), Data: frameB, Verdict: &pcapio.DropVerdict},
		{Port: "Component 40", Time: t0.Add(302 * time.Millisecond), Data: frameB, Comment: "Drop: PktGroupId 6, Component 40, DropReason Not accepted"},
	})
	recs, err := pktmon.ReadPcapng(bytes.NewReader(data), "capture.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 8 || !recs[1].HasMeta || recs[6].HasMeta || !recs[6].Dropped || recs[5].Meta.DropCode != 23 {
		t.Fatalf("records: got %+v", recs)
	}
	pm := PortMap{
		ByComponent: map[int][]PortRole{
			12: {{Port: "host1/web", Kind: result.KindDelivered, Direction: "Rx"}},
			3:  {{Port: "host1/eth0", Kind: result.KindWireTx}},
		},
		ByInterface: map[string][]PortRole{"Component 19": {{Port: "host1/eth0", Kind: result.KindWireRx}}},
	}
	inputs := []hostprobe.Input{{Port: "client", Frame: []byte("in1")}, {Port: "client", Frame: []byte("in2")}}
	got, err := Results("s", inputs, []time.Time{t0, t0.Add(250 * time.Millisecond)}, recs, pm)
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := got[0], got[1]
	wantOut := []result.Output{{Port: "host1/web", Kind: result.KindDelivered, Frame: frameA}, {Port: "host1/eth0", Kind: result.KindWireTx, Frame: frameA}}
	if !reflect.DeepEqual(p1.Outputs, wantOut) || p1.Outcome != result.OutcomeDelivered || p1.Backend != result.BackendWindows {
		t.Errorf("input 1: got %+v, want outputs %+v", p1, wantOut)
	}
	if len(p2.Outputs) != 0 || len(p2.Drops) != 3 || p2.Outcome != result.OutcomeDropped {
		t.Fatalf("input 2: got outputs %+v drops %+v, want three drops", p2.Outputs, p2.Drops)
	}
	d := p2.Drops[0]
	if d.Reason != "mtu-mismatch" || d.Code != 23 || d.Text != "MTU mismatch" || d.Port != "host1/eth0" || d.Where != "0x1" || d.Layer != "pktmon" {
		t.Errorf("drop 1: got %+v, want the emulator's mtu-mismatch (pktmon code 23)", d)
	}
	if d := p2.Drops[1]; d.Reason != "pktmon-drop" || d.Port != "host1/eth0" {
		t.Errorf("drop 2 (verdict only): got %+v", d)
	}
	if d := p2.Drops[2]; d.Reason != "pktmon-drop" || d.Code != 6 || d.Text != "Not accepted" || d.Where != "component 40" {
		t.Errorf("drop 3 (no slug for code 6): got %+v", d)
	}
	if _, err := Results("s", inputs, []time.Time{t0}, recs, pm); err == nil {
		t.Errorf("Results with too few times: got nil error")
	}
	if _, err := Results("s", inputs, []time.Time{t0, t0.Add(-time.Second)}, recs, pm); err == nil {
		t.Errorf("Results with times going back: got nil error")
	}
	if _, err := pktmon.ReadPcapng(bytes.NewReader(data[:len(data)-10]), "cut.pcapng"); err == nil {
		t.Errorf("ReadPcapng(truncated): got nil error")
	}
}
