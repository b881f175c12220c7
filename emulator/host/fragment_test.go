package host

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
)

// udpDatagram returns an IPv4/UDP datagram (no Ethernet) of total length
// size from src:sport to dst:dport, ID id, DF clear, with a valid UDP
// checksum over a patterned payload.
func udpDatagram(src, dst netip.Addr, sport, dport, id uint16, size int) []byte {
	b := make([]byte, size)
	header.IPv4(b).Encode(&header.IPv4Fields{TotalLength: uint16(size), ID: id, TTL: 64, Protocol: header.ProtoUDP, Src: src.As4(), Dst: dst.As4()})
	u := b[header.IPv4MinimumSize:]
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	for i := 8; i < len(u); i++ {
		u[i] = byte(i)
	}
	binary.BigEndian.PutUint16(u[6:], udpChecksum(b))
	return b
}

// udpChecksum computes a datagram's UDP checksum from scratch (RFC 768:
// pseudo-header, header with a zero checksum, data), the oracle for the
// translated fragments.
func udpChecksum(dg []byte) uint16 {
	u := append([]byte(nil), dg[header.IPv4MinimumSize:]...)
	u[6], u[7] = 0, 0
	ps := append(append(append([]byte{}, dg[12:20]...), 0, header.ProtoUDP), byte(len(u)>>8), byte(len(u)))
	var sum uint32
	for _, b := range [][]byte{ps, u} {
		if len(b)%2 == 1 {
			b = append(b, 0)
		}
		for i := 0; i < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	c := ^uint16(sum)
	if c == 0 {
		c = 0xffff
	}
	return c
}

// frameOf puts an IP datagram in an Ethernet frame.
func frameOf(dst, src header.MAC, dg []byte) []byte {
	f := make([]byte, header.EthernetMinimumSize+len(dg))
	header.Ethernet(f).Encode(dst, src, header.EtherTypeIPv4)
	copy(f[header.EthernetMinimumSize:], dg)
	return f
}

// split cuts datagram dg into fragments of at most mtu bytes, the way
// gopacket-independent RFC 791 arithmetic does: data in multiples of 8.
func split(dg []byte, mtu int) [][]byte {
	data := dg[header.IPv4MinimumSize:]
	chunk := (mtu - header.IPv4MinimumSize) &^ 7
	var out [][]byte
	for off := 0; off < len(data); off += chunk {
		n := min(chunk, len(data)-off)
		f := append(append([]byte{}, dg[:header.IPv4MinimumSize]...), data[off:off+n]...)
		ip := header.IPv4(f)
		ip.SetTotalLength(uint16(len(f)))
		var mf uint16
		if off+n < len(data) {
			mf = header.IPv4FlagMoreFragments
		}
		ip.SetFlagsFragmentOffset(mf, uint16(off))
		ip.SetChecksum(0)
		ip.SetChecksum(ip.CalculateChecksum())
		out = append(out, f)
	}
	return out
}

// reassemble runs gopacket's ip4defrag over the wire frames and returns the
// datagram (a 20-byte header with its addresses, TTL and protocol, then the
// data), checking each fragment's IPv4 header on the way.
func reassemble(t *testing.T, frames [][]byte, mtu int) []byte {
	t.Helper()
	d := ip4defrag.NewIPv4Defragmenter()
	for i, fr := range frames {
		pkt := gopacket.NewPacket(fr, layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if ip == nil {
			t.Fatalf("frame %d: no IPv4 layer", i)
		}
		if int(ip.Length) > mtu {
			t.Errorf("fragment %d is %d bytes, over the MTU %d", i, ip.Length, mtu)
		}
		if !header.IPv4(fr[header.EthernetMinimumSize:]).IsChecksumValid() {
			t.Errorf("fragment %d: bad IPv4 checksum", i)
		}
		whole, err := d.DefragIPv4(ip)
		if err != nil {
			t.Fatalf("ip4defrag: %v", err)
		}
		if whole != nil {
			if i != len(frames)-1 {
				t.Fatalf("complete after %d of %d fragments", i+1, len(frames))
			}
			b := make([]byte, header.IPv4MinimumSize+len(whole.Payload))
			var src, dst [4]byte
			copy(src[:], whole.SrcIP.To4())
			copy(dst[:], whole.DstIP.To4())
			header.IPv4(b).Encode(&header.IPv4Fields{TotalLength: uint16(len(b)), ID: whole.Id, TTL: whole.TTL, Protocol: uint8(whole.Protocol), Src: src, Dst: dst})
			copy(b[header.IPv4MinimumSize:], whole.Payload)
			return b
		}
	}
	t.Fatal("gopacket did not reassemble the fragments")
	return nil
}

func wireFrames(out *Outbox) [][]byte {
	var fs [][]byte
	for _, e := range out.Emits {
		if e.Kind == Wire {
			fs = append(fs, append([]byte(nil), e.Buf.Bytes()...))
		}
	}
	return fs
}

// TestFragmentForwarded checks that a router host fragments a datagram
// without DF that does not fit the next hop (RFC 791 §3.2; RFC 1812
// §5.2.6), in pieces gopacket reassembles into the datagram sent (TTL one
// less), and still refuses one with DF (RFC 1191).
func TestFragmentForwarded(t *testing.T) {
	a := netip.MustParseAddr
	for _, size := range []int{1401, 1450, 1500} {
		h := routerHost(t, 1400)
		dg := udpDatagram(a("10.1.0.9"), a("198.18.0.10"), 40000, 9000, 7, size)
		out := receive(t, h, 1, frameOf(header.MAC{0x00, 0x15, 0x5d, 0, 1, 4}, peerMAC, dg))
		if len(out.Drops) != 0 {
			t.Fatalf("size %d: drops %v", size, reasons(out))
		}
		frames := wireFrames(out)
		if want := (size - 20 + 1375) / 1376; len(frames) != want {
			t.Errorf("size %d: %d fragments, want %d", size, len(frames), want)
		}
		got := reassemble(t, frames, 1400)
		if !bytes.Equal(got[header.IPv4MinimumSize:], dg[header.IPv4MinimumSize:]) || !bytes.Equal(got[12:20], dg[12:20]) || got[8] != 63 {
			t.Errorf("size %d: reassembled datagram differs from the one sent", size)
		}
	}
	h := routerHost(t, 1400)
	dg := udpDatagram(a("10.1.0.9"), a("198.18.0.10"), 40000, 9000, 7, 1450)
	header.IPv4(dg).SetFlagsFragmentOffset(header.IPv4FlagDontFragment, 0)
	header.IPv4(dg).SetChecksum(0)
	header.IPv4(dg).SetChecksum(header.IPv4(dg).CalculateChecksum())
	out := receive(t, h, 1, frameOf(header.MAC{0x00, 0x15, 0x5d, 0, 1, 4}, peerMAC, dg))
	if got := reasons(out); len(got) != 1 || got[0] != drop.MTUMismatch {
		t.Errorf("DF set: drops %v, want mtu-mismatch", got)
	}
}

// TestNATFragments checks that WinNAT translates a fragmented datagram:
// fragments a container sent leave with the host's address, fragments the
// host makes itself too, and reassembled (gopacket) the datagram has the
// translated source and a UDP checksum that is right for it (RFC 4787 §11
// REQ-14; RFC 5508 §5); a later fragment whose first fragment never came
// is dropped, having no mapping.
func TestNATFragments(t *testing.T) {
	a := netip.MustParseAddr
	for _, tt := range []struct {
		name      string
		preSplit  int // the container fragments to this size first (0: no)
		size, mtu int
	}{
		{"host fragments", 0, 1450, 1400},
		{"container fragments", 1000, 1450, 1500},
		{"both", 1000, 1500, 700},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, web, _ := natHost(t, tt.mtu)
			dg := udpDatagram(a("172.16.0.2"), a("198.18.0.10"), 40000, 9000, 42, tt.size)
			in := [][]byte{dg}
			if tt.preSplit > 0 {
				in = split(dg, tt.preSplit)
			}
			var frames [][]byte
			for _, f := range in {
				out := send(t, h, web, frameOf(vnicMAC, webMAC, f))
				if len(out.Drops) != 0 {
					t.Fatalf("drops %v", reasons(out))
				}
				frames = append(frames, wireFrames(out)...)
			}
			got := reassemble(t, frames, tt.mtu)
			ip := header.IPv4(got)
			if ip.SrcAddr() != a("10.0.0.4") || ip.DstAddr() != a("198.18.0.10") {
				t.Errorf("reassembled %s -> %s, want 10.0.0.4 -> 198.18.0.10", ip.SrcAddr(), ip.DstAddr())
			}
			if c, want := binary.BigEndian.Uint16(got[26:]), udpChecksum(got); c != want {
				t.Errorf("UDP checksum %#04x, want %#04x for the translated datagram", c, want)
			}
			if !bytes.Equal(got[28:], dg[28:]) {
				t.Error("payload changed")
			}
		})
	}
	h, web, _ := natHost(t, 1500)
	frags := split(udpDatagram(a("172.16.0.2"), a("198.18.0.10"), 40000, 9000, 43, 1450), 1000)
	out := send(t, h, web, frameOf(vnicMAC, webMAC, frags[1]))
	if got := reasons(out); len(got) != 1 || got[0] != drop.NATNoMapping {
		t.Errorf("later fragment first: drops %v, want winnat-no-mapping", got)
	}
}
