package fabric_test

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/host"
	"github.com/hnspath/hnspath/emulator/packet"
)

// natFrames builds n outbound 64-byte (60 + FCS) UDP frames of n distinct
// flows from host1/web to dst: 16000 source ports times as many destination
// ports as needed (WinNAT maps each internal endpoint once, EIM, so the
// external port range bounds source ports, not flows).
func natFrames(t testing.TB, f *fabric.Fabric, n int, dst string) [][]byte {
	gw := gatewayMAC(t, f)
	tmpl := emutest.UDP4(t, macWeb, gw, "172.16.0.2", dst, 40000, 53, make([]byte, 18))
	frames := make([][]byte, n)
	for i := range frames {
		b := append([]byte(nil), tmpl...)
		setUDP4(b, uint16(1024+i%16000), uint16(1+i/16000))
		frames[i] = b
	}
	return frames
}

// setUDP4 rewrites the ports of a frame built by emutest.UDP4 and
// recomputes its checksums from scratch.
func setUDP4(b []byte, sport, dport uint16) {
	binary.BigEndian.PutUint16(b[34:], sport)
	binary.BigEndian.PutUint16(b[36:], dport)
	b[24], b[25] = 0, 0
	binary.BigEndian.PutUint16(b[24:], ^sum(b[14:34]))
	b[40], b[41] = 0, 0
	l := int(binary.BigEndian.Uint16(b[38:]))
	pseudo := append(append(append([]byte{}, b[26:34]...), 0, 17), b[38:40]...)
	c := ^sum(append(pseudo, b[34:34+l]...))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(b[40:], c)
}

func sum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// BenchmarkNATEstablished measures the path of an outbound packet of an
// established WinNAT session through the emulated host: container vNIC,
// internal vSwitch, host vNIC, management OS routing and TTL, WinNAT, NIC,
// the wire to an on-link peer. 64-byte UDP frames, round-robin over the
// flows. BenchmarkNATEstablishedRouted adds the underlay router hop.
func BenchmarkNATEstablished(b *testing.B) {
	benchNAT(b, "testdata/nat-onlink.json", "10.0.0.10")
}

// BenchmarkNATEstablishedRouted is BenchmarkNATEstablished with the
// destination behind the underlay router (one more IP hop in the fabric).
func BenchmarkNATEstablishedRouted(b *testing.B) {
	benchNAT(b, "testdata/nat.json", "198.18.0.10")
}

func benchNAT(b *testing.B, topo, dst string) {
	for _, n := range benchFlows {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) { benchNATOnce(b, topo, dst, n, fabric.Options{}) })
	}
}

func benchNATOnce(b *testing.B, topo, dst string, n int, opts fabric.Options) {
	{
		{
			f, err := fabric.New(loadTopology(b, topo), opts)
			if err != nil {
				b.Fatal(err)
			}
			frames := natFrames(b, f, n, dst)
			web := port(b, f, "host1/web")
			var res fabric.Outcome
			for i, fr := range frames {
				f.Inject(web, fr, int64(i), &res)
				if len(res.Outputs) != 1 {
					b.Fatalf("flow %d not delivered: %+v", i, res.Drops)
				}
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(frames[0]) + 4))
			now := int64(time.Second)
			i := 0
			start := time.Now()
			for b.Loop() {
				f.Inject(web, frames[i], now, &res)
				i++
				if i == len(frames) {
					i = 0
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pkts/s")
		}
	}
}

// benchFlows are the flow counts of the NAT benchmarks: 10k (the issue's
// target) and 1M; 1 shows the cost with everything in cache.
var benchFlows = []int{1, 10_000, 1_000_000}

// BenchmarkL2BridgeCrossHost: a pod on host1 to a pod on host2 through
// VFP (MAC rewrite, ACL, SNAT exception, LB), the management OS, the
// underlay router and host2's VFP; cached flows, round-robin.
func BenchmarkL2BridgeCrossHost(b *testing.B) {
	f, err := fabric.New(loadTopology(b, "testdata/l2bridge.json"), fabric.Options{})
	if err != nil {
		b.Fatal(err)
	}
	const n = 1000
	frames := make([][]byte, n)
	for i := range frames {
		frames[i] = emutest.UDP4(b, macPodA, macHost1, "10.244.1.2", "10.244.2.2", uint16(1024+i), 2000, make([]byte, 18))
	}
	in := port(b, f, "host1/pod-a")
	var res fabric.Outcome
	for i, fr := range frames {
		f.Inject(in, fr, int64(i), &res)
		if len(res.Outputs) != 1 {
			b.Fatalf("flow %d: %+v", i, res.Drops)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f.Inject(in, frames[i], int64(time.Second), &res)
		if i++; i == n {
			i = 0
		}
	}
}

// BenchmarkNATHostPath measures only the emulated Windows host's part of
// BenchmarkNATEstablished: from the container vNIC to the frame handed to
// the NIC (vSwitch, host vNIC, management OS routing and TTL, WinNAT),
// without the fabric's outcome bookkeeping, underlay and peer.
func BenchmarkNATHostPath(b *testing.B) {
	for _, n := range benchFlows[:2] {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			f, err := fabric.New(loadTopology(b, "testdata/nat-onlink.json"), fabric.Options{})
			if err != nil {
				b.Fatal(err)
			}
			frames := natFrames(b, f, n, "10.0.0.10")
			web := port(b, f, "host1/web")
			var res fabric.Outcome
			for i, fr := range frames {
				f.Inject(web, fr, int64(i), &res)
			}
			h := f.Hosts()[0]
			ei := f.Port(web).Endpoint
			var pool packet.Pool
			out := host.Outbox{Pool: &pool, Now: int64(time.Second)}
			bufs := make([]*packet.Buffer, 4)
			for i := range bufs {
				bufs[i] = packet.NewBuffer()
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(frames[0]) + 4))
			i := 0
			start := time.Now()
			for b.Loop() {
				buf := bufs[i&3]
				buf.Set(frames[i])
				out.Emits, out.Drops, out.Hops = out.Emits[:0], out.Drops[:0], 64
				h.InjectEndpoint(ei, buf, &out)
				if len(out.Emits) != 1 {
					b.Fatalf("packet %d: %d emits, drops %+v", i, len(out.Emits), out.Drops)
				}
				if i++; i == len(frames) {
					i = 0
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pkts/s")
		})
	}
}
