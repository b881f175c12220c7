package vfp

import (
	"testing"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// checksumsOK reports whether a frame and, for VXLAN, its inner frame are
// valid IP packets with valid checksums (by our decoder; the fuzz target
// then checks our output with gopacket's).
func checksumsOK(frame []byte) bool {
	var p packet.Parsed
	p.Decode(frame)
	if !p.IsIP() || !p.ChecksumsValid() {
		return false
	}
	if p.IPProto == header.ProtoUDP && p.L4 != 0 && p.DstPort == header.VXLANPort {
		vx := header.VXLAN(p.UDP().Payload())
		if !vx.IsValid() {
			return true
		}
		var in packet.Parsed
		in.Decode(vx.Inner())
		return in.Valid() && (!in.IsIP() || in.ChecksumsValid())
	}
	return true
}

// FuzzProcess sends random frames through a port with a realistic layer
// set, twice (the slow path, then the cached decision): no panic; a pass
// or a drop with a reason; passed frames decode, and when the input's
// checksums were valid the output's are too (checked with gopacket).
func FuzzProcess(f *testing.F) {
	g := &streamGen{t: f, rng: newRand(9)}
	for i := 0; i < 24; i++ {
		dir, frame := g.next()
		f.Add(dir == Out, frame)
	}
	f.Add(true, emutest.TCP4(f, macPod, macGW, podIP, "192.168.0.1", 40000, 443, true, nil))
	f.Add(false, []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, out bool, frame []byte) {
		dir := In
		if out {
			dir = Out
		}
		p := NewPort("fuzz", PortOptions{FlowCapacity: 64})
		for _, l := range realisticLayers() {
			if err := p.AddLayer(l); err != nil {
				t.Fatal(err)
			}
		}
		valid := checksumsOK(frame)
		for i := 0; i < 2; i++ {
			b, pp := load(frame)
			res := p.Process(dir, b, pp, int64(i), nil)
			v, r := res.Verdict, res.Reason
			switch v {
			case Drop:
				if r == drop.None {
					t.Fatalf("packet %d: drop without a reason", i)
				}
				continue
			case Pass:
				if r != drop.None {
					t.Fatalf("packet %d: pass with reason %v", i, r)
				}
			default:
				t.Fatalf("packet %d: verdict %d", i, v)
			}
			var check packet.Parsed
			check.Decode(b.Bytes())
			if check.Err != pp.Err || check.Kind != pp.Kind || check.Src != pp.Src || check.Dst != pp.Dst {
				t.Fatalf("packet %d: Parsed after Process does not describe the frame", i)
			}
			if valid {
				if !checksumsOK(b.Bytes()) {
					t.Fatalf("packet %d: valid input %x became %x with bad checksums", i, frame, b.Bytes())
				}
				emutest.ChecksumsValid(t, b.Bytes())
			}
		}
	})
}
