package spec

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// FuzzParseSpec checks that Parse never panics and that the canonical
// form of anything it accepts parses back to the same canonical form.
func FuzzParseSpec(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	for _, tt := range parseErrorTests {
		f.Add(tt.in)
	}
	for _, tt := range roundTripTests {
		f.Add(tt.spec)
		f.Add(tt.want)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse(text)
		if err != nil {
			return
		}
		c := s.String()
		s2, err := Parse(c)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its String %q does not parse: %v", text, c, err)
		}
		if c2 := s2.String(); c2 != c {
			t.Fatalf("String round trip: %q -> %q -> %q", text, c, c2)
		}
		// Building must not panic either; keep the work small.
		if n, err := s.Count(); err == nil && n <= 16 {
			Build(s, topo, BuildOptions{From: "client"})
		}
	})
}

// FuzzDecode checks that Decode never panics, that its spec rebuilds the
// frame byte for byte and matches it, and that it agrees with gopacket
// about the outer Ethernet and IPv4 addresses.
func FuzzDecode(f *testing.F) {
	for _, tt := range roundTripTests {
		frames, err := Build(MustParse(tt.spec), topo, BuildOptions{From: "client"})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(frames[0])
	}
	for _, tt := range foreignFrames {
		f.Add(tt.frame)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		opts := DecodeOptions{VXLANPorts: []uint16{8472}}
		d := Decode(frame, opts)
		out, err := Build(d, nil, BuildOptions{})
		if err != nil {
			t.Fatalf("Build(Decode(%x)) = %s: %v", frame, d, err)
		}
		if len(out) != 1 || !bytes.Equal(out[0], frame) {
			t.Fatalf("Build(Decode(%x)) = %x\nspec %s", frame, out, d)
		}
		if ok, diffs := Match(d, frame, nil, opts); !ok {
			t.Fatalf("Match(Decode(%x)) = %v\nspec %s", frame, diffs, d)
		}
		s2, err := Parse(d.String())
		if err != nil || s2.String() != d.String() {
			t.Fatalf("Parse(%s) = %v, %v", d, s2, err)
		}
		// gopacket as an independent decoder of the outer headers.
		p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.NoCopy)
		if len(d.Layers) > 0 && d.Layers[0].Name == "ether" {
			eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			src, _ := d.Layers[0].Get("src")
			if eth == nil || !bytes.Equal(eth.SrcMAC, src.MAC) {
				t.Fatalf("ether src: gopacket %v, Decode %s", eth, d)
			}
		}
		if len(d.Layers) > 1 && d.Layers[0].Name == "ether" && d.Layers[1].Name == "ipv4" {
			ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			dst, _ := d.Layers[1].Get("dst")
			if ip == nil || ip.DstIP.String() != dst.Addr.String() {
				t.Fatalf("ipv4 dst: gopacket %v, Decode %s", ip, d)
			}
		}
	})
}
