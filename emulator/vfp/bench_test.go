package vfp

import (
	"math/rand"
	"net/netip"
	"testing"

	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// A bench case: a port and a frame that hits a cached unified flow.
type benchCase struct {
	name  string
	port  *Port
	dir   Direction
	frame []byte
	want  Verdict
}

func l2bridgeLayer() *Layer {
	return &Layer{Name: "INTERNAL_L2_REWRITE_LAYER", Priority: 75, DefaultAllow: true, Groups: []*Group{
		outGroup("L2_OUT", 1, &Rule{Name: "src-to-host", Priority: 1, Conditions: Conditions{SrcMAC: []header.MAC{mac(macPod)}},
			Action: Action{Type: ActionMACRewrite, MAC: MACParams{SrcMAC: mac(macHost)}}}),
	}}
}

// aclPort is a stateful endpoint ACL with n rules (inbound, default
// block, as ACL_ENDPOINT_LAYER) and frames: half from the rules' sources.
func aclPort(t testing.TB, n, frames int) (*Port, [][]byte) {
	rng := rand.New(rand.NewSource(42))
	g := aclGroup(n, rng)
	g.Rules = append(g.Rules, &Rule{Name: "allow-host", Priority: 90, Terminating: true, Stateful: true,
		Conditions: Conditions{SrcIP: prefixes("10.0.0.6/32")}, Action: Action{Type: ActionAllow}})
	l := &Layer{Name: "ACL_ENDPOINT_LAYER", Priority: 100, Stateful: true, Groups: []*Group{g}}
	p := newPort(t, PortOptions{}, l)
	out := make([][]byte, frames)
	for i := range out {
		var src netip.Addr
		switch {
		case i == 0:
			src = addr(hostIP) // allowed by allow-host
		case i%2 == 0:
			r := g.Rules[rng.Intn(n)]
			src = r.Conditions.SrcIP[0].Addr()
		default:
			src = netip.AddrFrom4([4]byte{10, byte(rng.Intn(256)), byte(rng.Intn(256)), byte(rng.Intn(256))})
		}
		sport := uint16(1024 + i%60000)
		dport := uint16(1 + rng.Intn(2048))
		if rng.Intn(2) == 0 {
			out[i] = emutest.TCP4(t, macGW, macPod, src.String(), podIP, sport, dport, true, nil)
		} else {
			out[i] = emutest.UDP4(t, macGW, macPod, src.String(), podIP, sport, dport, []byte("0123456789"))
		}
	}
	return p, out
}

func benchCases(t testing.TB) []benchCase {
	inner := emutest.UDP4(t, "00:15:5d:7b:82:55", macPod, "10.244.2.5", podIP, 8080, 40000, make([]byte, 64))
	acl, aclFrames := aclPort(t, 10000, 2)
	return []benchCase{
		{"l2bridge", newPort(t, PortOptions{}, l2bridgeLayer()), Out, emutest.UDP4(t, macPod, macGW, podIP, peerIP, 40000, 80, make([]byte, 64)), Pass},
		{"encap", newPort(t, PortOptions{}, vnetEncapLayer(1500, true, true)), Out, emutest.UDP4(t, macPod, macGW, podIP, "10.244.2.5", 40000, 80, make([]byte, 64)), Pass},
		{"decap", newPort(t, PortOptions{}, vnetDecapLayer(4096)), In, emutest.VXLAN4(t, macGW, macHost, "10.0.0.7", hostIP, 51000, 4789, 4096, inner), Pass},
		{"acl10k", acl, In, aclFrames[0], Pass},
		{"acl10k-drop", acl, In, aclFrames[1], Drop},
		{"realistic-lb-encap", newPort(t, PortOptions{}, realisticLayers()...), Out, emutest.UDP4(t, macPod, macGW, podIP, vipIP, 40000, 80, make([]byte, 64)), Pass},
		{"realistic-snat", newPort(t, PortOptions{}, realisticLayers()...), Out, emutest.TCP4(t, macPod, macGW, podIP, "192.168.0.1", 40000, 443, false, make([]byte, 64)), Pass},
		{"realistic-icmp-drop", newPort(t, PortOptions{}, realisticLayers()...), Out, emutest.Echo4(t, macPod, macGW, podIP, "192.168.0.1", 9, 1, false), Drop},
	}
}

var (
	sinkRes Result
)

// TestNoAllocs checks that the cached path does not allocate.
func TestNoAllocs(t *testing.T) {
	for _, bc := range benchCases(t) {
		t.Run(bc.name, func(t *testing.T) {
			buf := packet.NewBuffer()
			var pp packet.Parsed
			step := func() {
				buf.Set(bc.frame)
				pp.Decode(buf.Bytes())
				sinkRes = bc.port.Process(bc.dir, buf, &pp, 0, nil)
			}
			step() // the first packet takes the slow path and may allocate
			if sinkRes.Verdict != bc.want {
				t.Fatalf("verdict %v (%v), want %v", sinkRes.Verdict, sinkRes.Reason, bc.want)
			}
			if n := testing.AllocsPerRun(1000, step); n != 0 {
				t.Errorf("Process allocs = %v per packet on the cached path, want 0", n)
			}
			if c := bc.port.Counters(); c.In.FlowHits+c.Out.FlowHits < 1000 {
				t.Errorf("only %d cache hits; the cached path was not measured", c.In.FlowHits+c.Out.FlowHits)
			}
		})
	}
}

func benchCached(b *testing.B, name string) {
	var bc benchCase
	for _, c := range benchCases(b) {
		if c.name == name {
			bc = c
		}
	}
	buf := packet.NewBuffer()
	var pp packet.Parsed
	buf.Set(bc.frame)
	pp.Decode(buf.Bytes())
	bc.port.Process(bc.dir, buf, &pp, 0, nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(bc.frame)))
	for b.Loop() {
		buf.Set(bc.frame)
		pp.Decode(buf.Bytes())
		sinkRes = bc.port.Process(bc.dir, buf, &pp, 0, nil)
	}
	if sinkRes.Verdict != bc.want {
		b.Fatalf("verdict %v (%v), want %v", sinkRes.Verdict, sinkRes.Reason, bc.want)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// The cached-path benchmarks include copying the frame into the buffer and
// decoding it each iteration (what the vSwitch does before VFP).

func BenchmarkL2BridgeCached(b *testing.B)     { benchCached(b, "l2bridge") }
func BenchmarkOverlayEncapCached(b *testing.B) { benchCached(b, "encap") }
func BenchmarkOverlayDecapCached(b *testing.B) { benchCached(b, "decap") }

// BenchmarkRealisticCached runs a five-layer port (L2 rewrite, ACL, SNAT,
// LB, VNET) on a load-balanced, encapsulated flow.
func BenchmarkRealisticCached(b *testing.B) { benchCached(b, "realistic-lb-encap") }

// BenchmarkACL10k measures a stateful endpoint ACL of 10,000 rules: the
// first packet of new flows (rule lookup, flow pair and unified flow
// creation) and the cached path.
func BenchmarkACL10k(b *testing.B) {
	const nframes = 1 << 15
	p, frames := aclPort(b, 10000, nframes)
	buf := packet.NewBuffer()
	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		var pp packet.Parsed
		reset := func() {
			p.uft.clear()
			for _, l := range p.layers {
				l.flows.t.Clear()
			}
		}
		reset()
		buf.Set(frames[0])
		pp.Decode(buf.Bytes())
		p.Process(In, buf, &pp, 0, nil) // compile the index outside the timing
		reset()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			j := i % nframes
			if j == 0 && i > 0 {
				b.StopTimer()
				reset()
				b.StartTimer()
			}
			buf.Set(frames[j])
			pp.Decode(buf.Bytes())
			sinkRes = p.Process(In, buf, &pp, 0, nil)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		if c := p.Counters().In; c.FlowHits != 0 {
			b.Fatalf("%d cache hits in the first-packet benchmark", c.FlowHits)
		}
	})
	b.Run("cached", func(b *testing.B) {
		const warm = 1024
		var pp packet.Parsed
		for j := 0; j < warm; j++ {
			buf.Set(frames[j])
			pp.Decode(buf.Bytes())
			p.Process(In, buf, &pp, 0, nil)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			j := i % warm
			i++
			buf.Set(frames[j])
			pp.Decode(buf.Bytes())
			sinkRes = p.Process(In, buf, &pp, 0, nil)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
	})
}
