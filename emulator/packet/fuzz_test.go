package packet_test

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/emulator/packet"
)

// FuzzDecode decodes random frames: no panic, offsets in range, and where
// gopacket decodes the same bytes as valid IPv4/UDP or TCP we agree on the
// addresses and ports. It then rewrites and re-decodes, which must still work.
func FuzzDecode(f *testing.F) {
	for _, fx := range fixtures() {
		f.Add(fx.frame(f))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		var p packet.Parsed
		p.Decode(frame)
		if p.L3 > len(frame) || p.L4 > len(frame) || p.End > len(frame) {
			t.Fatalf("offsets out of range: L3 %d L4 %d End %d len %d", p.L3, p.L4, p.End, len(frame))
		}
		if !p.Valid() {
			return
		}
		if p.Kind == packet.KindIPv4 && p.L4 != 0 && (p.IPProto == 6 || p.IPProto == 17) {
			pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: false, NoCopy: true})
			if ip, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok && pkt.ErrorLayer() == nil {
				if a, _ := netip.AddrFromSlice(ip.SrcIP); a.Unmap() != p.Src {
					t.Fatalf("Src = %v, gopacket %v", p.Src, a)
				}
				if tl, ok := pkt.TransportLayer().(*layers.UDP); ok && uint16(tl.SrcPort) != p.SrcPort {
					t.Fatalf("UDP sport = %d, gopacket %d", p.SrcPort, tl.SrcPort)
				}
				if tl, ok := pkt.TransportLayer().(*layers.TCP); ok && uint16(tl.DstPort) != p.DstPort {
					t.Fatalf("TCP dport = %d, gopacket %d", p.DstPort, tl.DstPort)
				}
			}
		}
		if e := p.Embedded(); e != 0 {
			var in packet.Parsed
			in.DecodeIP(frame[e:p.End], true)
		}
		if p.IsIP() {
			wasValid := p.ChecksumsValid()
			if p.Kind == packet.KindIPv4 {
				p.SetSrcIP(netip.MustParseAddr("198.18.0.1"))
			} else {
				p.SetSrcIP(netip.MustParseAddr("2001:db8::1"))
			}
			if p.L4 != 0 {
				p.SetSrcPort(1234)
			}
			var q packet.Parsed
			q.Decode(frame)
			if !q.Valid() {
				t.Fatalf("rewritten frame no longer decodes: %v", q.Err)
			}
			// Incremental updates keep valid checksums valid (RFC 1624);
			// a TCP checksum of a fragment cannot be checked here.
			if wasValid && !q.ChecksumsValid() && !q.Fragment {
				t.Fatalf("checksums broken by rewrite")
			}
		}
	})
}
