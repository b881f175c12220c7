package modes

import (
	"net"
	"net/netip"
	"os"
	"testing"
)

// FuzzParseWorkload: no panic on any text; what parses has valid names.
func FuzzParseWorkload(f *testing.F) {
	if b, err := os.ReadFile(sampleWorkload); err == nil {
		f.Add(b)
	}
	for _, s := range []string{"endpoints: [{name: web}]", "endpoints: [{name: web, expose: ['8443:443/tcp']}]\nnodes: [{name: n, endpoints: [{name: a}]}]",
		"peers: [{name: a, where: lan}]", "{", "- 1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		wl, err := ParseWorkload("f", data)
		if err != nil {
			return
		}
		for _, e := range wl.endpoints() {
			if !nameRE.MatchString(e.Name) {
				t.Fatalf("endpoint name %q accepted", e.Name)
			}
		}
	})
}

// FuzzParseFlows: no panic; what parses becomes frames for a workload that
// has the names, without error or with one naming the line.
func FuzzParseFlows(f *testing.F) {
	f.Add(sampleFlows)
	f.Add("tcp 198.18.0.10:40000 -> web:80 inbound; icmp web -> 2001:db8::1")
	f.Add("udp [fd00::1]:5 -> [fd00::2]:53 size=9000")
	f.Fuzz(func(t *testing.T, text string) {
		lines, err := ParseFlows("f", text)
		if err != nil {
			return
		}
		wl, err := ParseWorkload("w", []byte("endpoints: [{name: web}]\npeers: [{name: resolver}, {name: cdn}, {name: laptop}, {name: gateway-ping}]\nnodes: [{name: n2, endpoints: [{name: api}]}]"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = FlowsTraffic("f", wl, lines)
	})
}

// FuzzFrame: decoding and rewriting any bytes as a frame never panics, and
// a rewritten frame decodes to the addresses it was given.
func FuzzFrame(f *testing.F) {
	for _, fr := range sampleFrames(f) {
		f.Add(fr)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := decodePkt(Frame{Index: 1, Data: data})
		if p.skip != "" {
			return
		}
		src, dst := netip.MustParseAddr("10.1.1.1"), netip.MustParseAddr("10.2.2.2")
		if p.v6 {
			src, dst = netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2")
		}
		out, err := rewrite(data, net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}, src, dst, 1, 2)
		if err != nil {
			return
		}
		if h := parseHeaders(out); h.src != src || h.dst != dst {
			t.Fatalf("rewritten frame has %s > %s, want %s > %s", h.src, h.dst, src, dst)
		}
	})
}
