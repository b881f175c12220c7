package fabric_test

import (
	"bytes"
	"math/rand"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/fabric"
)

// TestFlowCacheMatchesSlowPath drives the same random mix of packets (TCP
// handshakes, data, FIN, UDP, ICMP echo, replies, long idle gaps that
// expire sessions, oversized frames, TTL 1) through a fabric with the host
// flow cache and one without, and requires identical outputs and drops,
// byte for byte. The slow path is the oracle.
func TestFlowCacheMatchesSlowPath(t *testing.T) {
	topo := loadTopology(t, "testdata/nat.json")
	fast, err := fabric.New(topo, fabric.Options{})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := fabric.New(topo, fabric.Options{NoFlowCache: true})
	if err != nil {
		t.Fatal(err)
	}
	gw := gatewayMAC(t, fast)
	gatewayMAC(t, slow)
	r := rand.New(rand.NewSource(42))
	now := int64(time.Second)
	type sent struct{ sport, ext uint16 }
	var a, b fabric.Outcome
	hits := 0
	for i := 0; i < 20000; i++ {
		now += int64(r.Intn(5)) * int64(time.Second)
		if r.Intn(500) == 0 {
			now += int64(125 * time.Second) // UDP and TCP-transient sessions expire
		}
		sport := uint16(40000 + r.Intn(40))
		var frame []byte
		at := "host1/web"
		switch k := r.Intn(10); {
		case k < 3:
			frame = emutest.UDP4(t, macWeb, gw, "172.16.0.2", "198.18.0.10", sport, 53, make([]byte, r.Intn(40)))
		case k < 5:
			tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: 443, Seq: 1, Window: 100}
			switch r.Intn(4) {
			case 0:
				tcp.SYN = true
			case 1:
				tcp.FIN, tcp.ACK = true, true
			default:
				tcp.ACK = true
			}
			frame = emutest.Serialize(t, emutest.Eth(macWeb, gw, layers.EthernetTypeIPv4), emutest.IPv4("172.16.0.2", "198.18.0.10", layers.IPProtocolTCP, uint8(1+r.Intn(64))), tcp)
		case k < 6:
			frame = emutest.Echo4(t, macWeb, gw, "172.16.0.2", "198.18.0.10", sport, uint16(i), false)
		case k < 7:
			frame = emutest.UDP4(t, macWeb, gw, "172.16.0.2", "198.18.0.10", sport, 53, make([]byte, 1480)) // over the MTU
		default:
			// A reply from the server to the port the fast fabric chose.
			at = "server"
			frame = emutest.UDP4(t, macServer, macRouter, "198.18.0.10", "10.0.0.4", 53, uint16(49152+r.Intn(60)), []byte("r"))
		}
		fast.Inject(port(t, fast, at), frame, now, &a)
		slow.Inject(port(t, slow, at), frame, now, &b)
		if len(a.Outputs) != len(b.Outputs) || len(a.Drops) != len(b.Drops) {
			t.Fatalf("packet %d at %s: fast %d outputs %d drops, slow %d outputs %d drops", i, at, len(a.Outputs), len(a.Drops), len(b.Outputs), len(b.Drops))
		}
		for j := range a.Outputs {
			if a.Outputs[j].Port != b.Outputs[j].Port || !bytes.Equal(a.Outputs[j].Frame, b.Outputs[j].Frame) {
				t.Fatalf("packet %d output %d differs:\nfast % x\nslow % x", i, j, a.Outputs[j].Frame, b.Outputs[j].Frame)
			}
		}
		for j := range a.Drops {
			if a.Drops[j].Reason != b.Drops[j].Reason {
				t.Fatalf("packet %d drop %d: fast %v, slow %v", i, j, a.Drops[j].Reason, b.Drops[j].Reason)
			}
		}
	}
	h, _ := fast.Host("host1")
	hits = int(h.FastHits)
	if hits < 1000 {
		t.Fatalf("the flow cache served only %d packets; the test does not exercise it", hits)
	}
	t.Logf("flow cache hits: %d of 20000", hits)
}
