package vfp

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/packet"
)

// TestFlowKey checks the key built from raw header bytes against
// packet.Parsed.Tuple (the decoder's own tuple) at both levels.
func TestFlowKey(t *testing.T) {
	inner := emutest.TCP4(t, "00:15:5d:7b:82:55", macPod, "10.244.2.5", podIP, 80, 40000, false, []byte("x"))
	frames := map[string][]byte{
		"udp4":  udpOut(t, peerIP, 40000, 80),
		"icmp4": emutest.Echo4(t, macPod, macGW, podIP, peerIP, 77, 1, false),
		"tcp6": emutest.Serialize(t, emutest.Eth(macPod, macGW, layers.EthernetTypeIPv6), emutest.IPv6("fd00::2", "2001:db8::10", layers.IPProtocolTCP, 64),
			&layers.TCP{SrcPort: 1234, DstPort: 443, Window: 1}, gopacket.Payload("y")),
		"vxlan": emutest.VXLAN4(t, macGW, macHost, "10.0.0.7", hostIP, 50000, 4789, 0x123456, inner),
	}
	p := NewPort("p", PortOptions{})
	for name, f := range frames {
		t.Run(name, func(t *testing.T) {
			var pp packet.Parsed
			pp.Decode(f)
			var k ufKey
			p.makeKey(Out, &pp, &k)
			if got, want := tupleAt(k[kSrc:]), pp.Tuple(); got != want {
				t.Errorf("outer tuple = %+v, want %+v", got, want)
			}
			if got := k.mac(kSrcMAC); got != pp.SrcMAC {
				t.Errorf("src MAC = %v, want %v", got, pp.SrcMAC)
			}
			if k.dir() != Out {
				t.Errorf("dir = %v, want OUT", k.dir())
			}
			if name != "vxlan" {
				if k[kEncap] != 0 || tupleAt(k[kInner:]) != (packet.Tuple{}) {
					t.Errorf("non-VXLAN key has inner fields")
				}
				return
			}
			var in packet.Parsed
			in.Decode(inner)
			if got, want := tupleAt(k[kInner:]), in.Tuple(); got != want {
				t.Errorf("inner tuple = %+v, want %+v", got, want)
			}
			if k.vni() != 0x123456 || k[kVXFlags] != 0x08 || k.mac(kIDstMAC) != in.DstMAC {
				t.Errorf("VNI %#x flags %#x inner dst MAC %v, want 0x123456 0x08 %v", k.vni(), k[kVXFlags], k.mac(kIDstMAC), in.DstMAC)
			}
		})
	}
}

// TestUFTable checks insert, lookup, expiry, delete and reuse, with real
// hashes and with every key colliding (the overflow index).
func TestUFTable(t *testing.T) {
	for _, collide := range []bool{false, true} {
		tb := newUFTable(3)
		tb.collide = collide
		keys := make([]ufKey, 4)
		for i := range keys {
			keys[i][kSport] = byte(i + 1)
		}
		for i := 0; i < 3; i++ {
			if _, ok := tb.insert(&keys[i], ufEntry{packets: uint64(i)}, 0, 10); !ok {
				t.Fatalf("collide=%v: insert %d failed", collide, i)
			}
		}
		if _, ok := tb.insert(&keys[0], ufEntry{}, 0, 10); ok {
			t.Errorf("collide=%v: duplicate insert succeeded", collide)
		}
		if _, ok := tb.insert(&keys[3], ufEntry{}, 5, 10); ok {
			t.Errorf("collide=%v: insert into a full table succeeded", collide)
		}
		for i := 0; i < 3; i++ {
			if _, s := tb.lookup(&keys[i], 5); s == nil || s.val.packets != uint64(i) {
				t.Errorf("collide=%v: lookup %d = %v, want the entry", collide, i, s)
			}
		}
		h, _ := tb.lookup(&keys[1], 5)
		tb.delete(h)
		if _, s := tb.lookup(&keys[1], 5); s != nil {
			t.Errorf("collide=%v: deleted key still found", collide)
		}
		if _, s := tb.lookup(&keys[2], 5); s == nil {
			t.Errorf("collide=%v: a key sharing the deleted key's hash is lost", collide)
		}
		if _, ok := tb.insert(&keys[3], ufEntry{packets: 3}, 5, 10); !ok {
			t.Errorf("collide=%v: insert after delete failed", collide)
		}
		// keys[0] was last seen at 0: expired at 11.
		if _, s := tb.lookup(&keys[0], 11); s != nil {
			t.Errorf("collide=%v: expired key found", collide)
		}
		if _, s := tb.lookup(&keys[3], 11); s == nil {
			t.Errorf("collide=%v: live key lost", collide)
		}
		if tb.n != 2 {
			t.Errorf("collide=%v: %d entries, want 2", collide, tb.n)
		}
		tb.sweep(100, 10)
		if tb.n != 0 {
			t.Errorf("collide=%v: %d entries after a full sweep at t=100, want 0", collide, tb.n)
		}
	}
}

// TestCollidingUFT runs the realistic stream through a port whose flow
// table hashes every key to the same value: results must not change.
func TestCollidingUFT(t *testing.T) {
	a := newPort(t, PortOptions{}, realisticLayers()...)
	b := newPort(t, PortOptions{}, realisticLayers()...)
	b.uft.collide = true
	g := &streamGen{t: t, rng: newRand(5)}
	for i := 0; i < 400; i++ {
		dir, f := g.next()
		va, ra, oa := run(a, dir, f, int64(i))
		vb, rb, ob := run(b, dir, f, int64(i))
		if va != vb || ra != rb || (va == Pass && string(oa) != string(ob)) {
			t.Fatalf("packet %d: %v %v vs colliding table %v %v", i, va, ra, vb, rb)
		}
		if va == Pass && dir == Out {
			g.learn(oa)
		}
	}
	if c := b.Counters(); c.In.FlowHits+c.Out.FlowHits < 100 {
		t.Errorf("colliding table: only %d hits", c.In.FlowHits+c.Out.FlowHits)
	}
}
