package scenarios

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/result"
	"github.com/hnspath/hnspath/spec"
)

// TestPacketTimesAndCaptures checks packet numbering and the virtual
// clock for inline specs (ranges, repeat, interval, absolute and relative
// times) and captures (pcapng with interface names, pcap with port:),
// whose timestamps count from their first packet.
func TestPacketTimesAndCaptures(t *testing.T) {
	dir := t.TempDir()
	topo, err := os.ReadFile("library/topologies/nat.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "nat.yaml"), topo, 0o644)
	syn := func(sport string) []byte {
		fs, err := spec.Build(spec.MustParse("ether(src=02:00:00:00:00:99, dst=00:15:5d:00:00:04) / ipv4(src=10.0.0.99, dst=10.0.0.4) / tcp(sport="+sport+", dport=8082, flags=S)"), nil, spec.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return fs[0]
	}
	write := func(name string, ng bool, times ...time.Duration) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var w pcapio.Writer
		port := ""
		if ng {
			w, err = pcapio.NewNgWriter(f, pcapio.NgOptions{})
			port = "client"
		} else {
			w, err = pcapio.NewPcapWriter(f)
		}
		if err != nil {
			t.Fatal(err)
		}
		base := time.Unix(1_600_000_000, 0)
		for i, d := range times {
			w.Write(pcapio.Packet{Port: port, Time: base.Add(d), Data: syn(strconv.Itoa(41000 + i))})
		}
		w.Flush()
	}
	write("a.pcapng", true, 0, 2*time.Second)
	write("b.pcap", false, 0, 500*time.Millisecond)
	sc := `name: times
summary: packet numbering and times
source: hnspath tests
topology: nat.yaml
packets:
  - {at: client, frame: "ipv4(dst=10.0.0.4) / tcp(sport=40000-40001, dport=8082, flags=S)"}
  - {at: client, time: 10s, repeat: 2, interval: 1s, frame: "ipv4(dst=10.0.0.4) / tcp(sport=40002, dport=8082, flags=S)"}
  - {at: client, time: +5s, frame: "ipv4(dst=10.0.0.4) / tcp(sport=40003, dport=8082, flags=S)"}
  - {pcap: a.pcapng, time: 100s}
  - {pcap: b.pcap, port: client}
expect:
  - {at: host1/web, packet: 7, frame: "tcp(sport=41001, dport=80)"}
  - {at: host1/web, packet: 9, frame: "tcp(sport=41001, dport=80)"}
`
	path := filepath.Join(dir, "times.yaml")
	os.WriteFile(path, []byte(sc), 0o644)
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []*result.Packet
	rep := Run(s, Options{Results: func(p *result.Packet) { got = append(got, p) }})
	if rep.Err != nil || !rep.Passed {
		t.Fatalf("run: %v %v", rep.Err, rep.Failures)
	}
	const us, sec = int64(time.Microsecond), int64(time.Second)
	want := []int64{0, us, 10 * sec, 11 * sec, 16 * sec, 100 * sec, 102 * sec, 102*sec + us, 102*sec + us + 500*int64(time.Millisecond)}
	if len(got) != len(want) {
		t.Fatalf("%d packets, want %d", len(got), len(want))
	}
	for i, p := range got {
		if p.Index != i+1 || p.TimeNS != want[i] || p.In != "client" {
			t.Errorf("packet %d: index %d time %d in %s; want %d, %d, client", i+1, p.Index, p.TimeNS, p.In, i+1, want[i])
		}
	}
}
