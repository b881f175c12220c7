package linux

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/result"
)

// loadTopology reads one of the emulator's working topologies (emulator/fabric/testdata).
func loadTopology(t testing.TB, name string) *fabric.Topology {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "emulator", "fabric", "testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var topo fabric.Topology
	if err := json.Unmarshal(b, &topo); err != nil {
		t.Fatalf("%s.json: %v", name, err)
	}
	return &topo
}

// runBackendChild builds the nat topology with a Backend, says READY and waits to be
// killed (TestKilledRunThenClean).
func runBackendChild() int {
	b, err := os.ReadFile(filepath.Join("..", "..", "emulator", "fabric", "testdata", "nat.json"))
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	var topo fabric.Topology
	if err := json.Unmarshal(b, &topo); err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	be := NewBackend(BackendOptions{})
	if err := be.Setup(context.Background(), &topo); err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	fmt.Println("READY", be.Lab().Session())
	time.Sleep(time.Minute)
	return 2
}

// frame builds an Ethernet/IPv4 frame with gopacket: proto "tcp" (a SYN), "udp" (with
// payload "hello") or "icmp" (an echo request).
func frame(t *testing.T, srcMAC, dstMAC, src, dst, proto string, sport, dport uint16, ttl uint8) []byte {
	t.Helper()
	sm, err1 := net.ParseMAC(srcMAC)
	dm, err2 := net.ParseMAC(dstMAC)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad MAC %q or %q", srcMAC, dstMAC)
	}
	eth := &layers.Ethernet{SrcMAC: sm, DstMAC: dm, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: ttl, Id: 0x4242, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	var err error
	switch proto {
	case "tcp":
		ip.Protocol = layers.IPProtocolTCP
		tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), SYN: true, Seq: 1000, Window: 8192}
		must(t, tcp.SetNetworkLayerForChecksum(ip))
		err = gopacket.SerializeLayers(buf, opts, eth, ip, tcp)
	case "udp":
		ip.Protocol = layers.IPProtocolUDP
		u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
		must(t, u.SetNetworkLayerForChecksum(ip))
		err = gopacket.SerializeLayers(buf, opts, eth, ip, u, gopacket.Payload("hello"))
	case "icmp":
		ip.Protocol = layers.IPProtocolICMPv4
		err = gopacket.SerializeLayers(buf, opts, eth, ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 7, Seq: 1})
	default:
		t.Fatalf("frame: unknown proto %q", proto)
	}
	must(t, err)
	return append([]byte(nil), buf.Bytes()...)
}

// probe runs inputs on the emulator and then on a fresh Linux backend through
// hostprobe.RunAgainst, and returns both results and the comparison.
func probe(t *testing.T, topo string, inputs []hostprobe.Input) (emu, lin []*result.Packet, cmp *hostprobe.Comparison) {
	t.Helper()
	if err := CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	e := hostprobe.NewEmulator()
	e.Trace = true // the documented differences are recognised by the emulator's trace
	must(t, e.Setup(context.Background(), loadTopology(t, topo)))
	emu, err := e.Run(context.Background(), topo, inputs, hostprobe.RunOptions{})
	must(t, err)
	b := NewBackend(BackendOptions{})
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	must(t, b.Setup(context.Background(), loadTopology(t, topo)))
	lin, cmp, err = hostprobe.RunAgainst(context.Background(), b, topo, emu)
	must(t, err)
	if len(lin) != len(inputs) {
		t.Fatalf("got %d results, want %d", len(lin), len(inputs))
	}
	return emu, lin, cmp
}

// output returns the frames of p that came out at port with kind.
func output(p *result.Packet, port, kind string) [][]byte {
	var out [][]byte
	for _, o := range p.Outputs {
		if o.Port == port && o.Kind == kind {
			out = append(out, o.Frame)
		}
	}
	return out
}

// one returns the only frame of p at port with kind, failing the test otherwise.
func one(t *testing.T, p *result.Packet, port, kind string) gopacket.Packet {
	t.Helper()
	fs := output(p, port, kind)
	if len(fs) != 1 {
		t.Fatalf("packet %d: %s %s: got %d frames, want 1 (outputs %v, drops %v)", p.Index, port, kind, len(fs), portsOf(p), p.Drops)
	}
	return decode(fs[0])
}

func portsOf(p *result.Packet) []string {
	var out []string
	for _, o := range p.Outputs {
		out = append(out, o.Port+" "+o.Kind)
	}
	return out
}

// wantAgree fails unless the comparison of packet index has no difference, or only
// documented ones when documented is set.
func wantAgree(t *testing.T, cmp *hostprobe.Comparison, index int, documented bool) {
	t.Helper()
	p := cmp.Packets[index-1]
	for _, d := range p.Diffs {
		if !documented || d.Known == "" {
			t.Errorf("packet %d: emulator and kernel differ: %s", index, d)
		}
	}
}
