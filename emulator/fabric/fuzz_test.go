package fabric_test

import (
	"testing"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/packet"
)

var fuzzTopologies = []string{"nat", "l2bridge", "overlay", "l2tunnel", "transparent"}

// FuzzFabric injects random frames at every port of every mode's topology.
// Nothing may panic; every input ends as outputs or labelled drops; a frame
// whose checksums were valid comes out with valid checksums; traces stay
// consistent with drops.
func FuzzFabric(f *testing.F) {
	f.Add(uint8(0), uint8(1), emutest.UDP4(f, macWeb, "ff:ff:ff:ff:ff:ff", "172.16.0.2", "198.18.0.10", 1, 2, []byte("x")))
	f.Add(uint8(1), uint8(2), emutest.TCP4(f, macPodA, macHost1, "10.244.1.2", "198.18.0.10", 40000, 443, true, nil))
	f.Add(uint8(2), uint8(1), emutest.UDP4(f, "0e:2a:0a:f4:01:02", "0e:2a:0a:f4:01:01", "10.244.1.2", "10.244.2.2", 1, 2, []byte("x")))
	f.Add(uint8(3), uint8(1), emutest.Echo4(f, macPodA, macPodB, "10.0.0.20", "10.0.0.21", 1, 1, false))
	f.Add(uint8(4), uint8(3), emutest.UDP4(f, macClient, macPodA, "10.0.0.99", "10.0.0.20", 1, 2, []byte("y")))
	fabs := make([]*fabric.Fabric, len(fuzzTopologies))
	for i, name := range fuzzTopologies {
		fab, err := fabric.New(loadTopology(f, "testdata/"+name+".json"), fabric.Options{ObserveWire: true, Trace: true})
		if err != nil {
			f.Fatal(err)
		}
		fabs[i] = fab
	}
	var now int64
	f.Fuzz(func(t *testing.T, topo, port uint8, frame []byte) {
		fab := fabs[int(topo)%len(fabs)]
		pid := fabric.PortID(int(port) % len(fab.Ports()))
		var in packet.Parsed
		in.Decode(frame)
		inValid := in.IsIP() && in.ChecksumsValid() && !in.Fragment
		var res fabric.Outcome
		now += 1e6
		fab.Inject(pid, frame, now, &res)
		if len(res.Outputs) == 0 && len(res.Drops) == 0 {
			// Allowed only for frames the management OS consumed without
			// delivery, which the host reports as a delivery: so never.
			t.Fatalf("frame at %s: no output and no drop", fab.Port(pid).Name)
		}
		for _, d := range res.Drops {
			if d.Reason == drop.None || d.Reason.Slug() == "" || d.Component == "" {
				t.Fatalf("unlabelled drop %+v", d)
			}
		}
		if !inValid {
			return
		}
		for _, o := range res.Outputs {
			var p packet.Parsed
			p.Decode(o.Frame)
			if p.IsIP() && !p.Fragment && !p.ChecksumsValid() {
				t.Fatalf("valid frame at %s came out at %s with a bad checksum", fab.Port(pid).Name, fab.Port(o.Port).Name)
			}
		}
	})
}
