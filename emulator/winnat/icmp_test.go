package winnat

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"testing"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// The oracle for ICMP errors: after translation, the datagram inside the
// error must be byte for byte what the receiver of the error once sent (or
// the start of it), checksums included (RFC 5508 section 4.1). gopacket
// checks the outer headers and the ICMP checksum.

// embeddedOf returns the datagram inside an ICMP error frame.
func embeddedOf(t testing.TB, frame []byte) []byte {
	t.Helper()
	p := parse(t, frame)
	off := p.Embedded()
	if off == 0 {
		t.Fatal("not an ICMP error")
	}
	return frame[off:p.End]
}

func TestInboundICMPError(t *testing.T) {
	tests := []struct {
		name     string
		original func(t testing.TB) []byte // the container's packet (Ethernet frame)
		keep     int                       // bytes of the datagram the error carries; 0 = all
		typ      uint8
	}{
		{"udp, whole datagram, port unreachable", func(t testing.TB) []byte { return udp4(t, c1, rem1, 50000, 53) }, 0, header.ICMPv4DstUnreachable},
		{"udp from a low port, time exceeded", func(t testing.TB) []byte { return udp4(t, c1, rem1, 1234, 33434) }, 0, header.ICMPv4TimeExceeded},
		{"tcp, ip header + 8 bytes (no tcp checksum)", func(t testing.TB) []byte { return tcp4(t, c1, rem1, 1025, 443, "S") }, 28, header.ICMPv4DstUnreachable},
		{"tcp, whole segment, frag needed", func(t testing.TB) []byte { return tcp4(t, c1, rem1, 1025, 443, "PA") }, 0, header.ICMPv4DstUnreachable},
		{"echo, time exceeded (traceroute)", func(t testing.TB) []byte { return echo4(t, c1, rem1, 1, false) }, 0, header.ICMPv4TimeExceeded},
		{"echo, ip header + 8 bytes", func(t testing.TB) []byte { return echo4(t, c1, rem1, 1, false) }, 28, header.ICMPv4TimeExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNAT(t)
			out := tt.original(t)
			orig := ipOf(t, out)
			if v, r, _ := n.Outbound(parse(t, out), e1, 0, nil); v != Translated {
				t.Fatalf("Outbound = %v %v", v, r)
			}
			sent := ipOf(t, out)
			if tt.keep != 0 {
				orig, sent = orig[:tt.keep], sent[:tt.keep]
			}
			if bytes.Equal(orig, sent) {
				t.Fatal("fixture: the NAT changed nothing")
			}
			e := icmpError(t, rtr, ext1, tt.typ, 0, sent)
			v, r, _ := n.Inbound(parse(t, e), sec, nil)
			mustVerdict(t, "Inbound error", v, r, Translated, "")
			if got := embeddedOf(t, e); !bytes.Equal(got, orig) {
				t.Errorf("embedded datagram\n got %s\nwant %s", hex.EncodeToString(got), hex.EncodeToString(orig))
			}
			if !headerChecksumOK(embeddedOf(t, e)) {
				t.Error("embedded IPv4 header checksum invalid")
			}
			d := emutest.Decode(t, e)
			if src, dst := addrOf(d.IPv4.SrcIP), addrOf(d.IPv4.DstIP); src != netip.MustParseAddr(rtr) || dst != netip.MustParseAddr(c1) {
				t.Errorf("outer %v -> %v, want %s -> %s", src, dst, rtr, c1)
			}
			if d.ICMP == nil || d.ICMP.TypeCode.Type() != tt.typ {
				t.Errorf("ICMP type changed: %v", d.ICMP)
			}
			emutest.ChecksumsValid(t, e)
			if st := n.Stats(); st.ICMPErrors != 1 {
				t.Errorf("ICMPErrors = %d, want 1", st.ICMPErrors)
			}
			// Errors neither refresh nor create sessions.
			if ss := n.Sessions(); len(ss) != 1 || ss[0].LastSeen != 0 {
				t.Errorf("sessions = %+v, want the one session, last seen 0", ss)
			}
		})
	}
}

func TestInboundICMPErrorNoSession(t *testing.T) {
	n := newNAT(t)
	out := udp4(t, c1, rem1, 50000, 53)
	n.Outbound(parse(t, out), e1, 0, nil)
	sent := ipOf(t, out)
	tests := []struct {
		name     string
		datagram []byte
		corrupt  bool
		want     Verdict
		why      drop.Reason
	}{
		// The NAT holds 10.0.0.10:50000 but never sent to rem2.
		{"held port, unknown remote", ipOf(t, udp4(t, ext1, rem2, 50000, 53)), false, Dropped, drop.ICMPNotTransposed},
		// 10.0.0.10:40000 is not the NAT's: the host's own traffic.
		{"port the NAT does not hold", ipOf(t, udp4(t, ext1, rem1, 40000, 53)), false, NotHandled, drop.None},
		{"bad ICMP checksum", sent, true, Dropped, drop.ICMPNotTransposed},
		{"embedded datagram cut inside the IP header", sent[:12], false, NotHandled, drop.None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := icmpError(t, rtr, ext1, header.ICMPv4DstUnreachable, 3, tt.datagram)
			if tt.corrupt {
				p := parse(t, e)
				e[p.L4+2] ^= 0xff
			}
			orig := append([]byte(nil), e...)
			v, r, _ := n.Inbound(parse(t, e), sec, nil)
			if v != tt.want || r != tt.why {
				t.Fatalf("Inbound = %v %q, want %v %q", v, r, tt.want, tt.why)
			}
			if !bytes.Equal(e, orig) {
				t.Error("frame changed")
			}
		})
	}
}

func TestOutboundICMPError(t *testing.T) {
	// The container answers an inbound packet with port unreachable: the
	// error leaves from the external address, and carries the datagram as
	// the remote sent it.
	tests := []struct {
		name  string
		setup func(t testing.TB, n *NAT) []byte // returns the inbound frame the remote sends
	}{
		{"about an inbound static-mapped flow", func(t testing.TB, n *NAT) []byte {
			if err := n.AddStaticMapping(StaticMapping{Protocol: header.ProtoUDP, ExternalPort: 5353, InternalAddr: netip.MustParseAddr(c1), InternalPort: 53}); err != nil {
				t.Fatal(err)
			}
			return udp4(t, rem1, ext1, 7000, 5353)
		}},
		{"about a reply to the container's own flow", func(t testing.TB, n *NAT) []byte {
			n.Outbound(parse(t, udp4(t, c1, rem1, 50000, 53)), e1, 0, nil)
			return udp4(t, rem1, ext1, 53, 50000)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNAT(t)
			in := tt.setup(t, n)
			orig := ipOf(t, in)
			if v, r, _ := n.Inbound(parse(t, in), 0, nil); v != Translated {
				t.Fatalf("Inbound = %v %v", v, r)
			}
			received := ipOf(t, in)
			e := icmpError(t, c1, rem1, header.ICMPv4DstUnreachable, header.ICMPv4PortUnreachable, received)
			v, r, _ := n.Outbound(parse(t, e), e1, sec, nil)
			mustVerdict(t, "Outbound error", v, r, Translated, "")
			if got := embeddedOf(t, e); !bytes.Equal(got, orig) {
				t.Errorf("embedded datagram\n got %s\nwant %s", hex.EncodeToString(got), hex.EncodeToString(orig))
			}
			d := emutest.Decode(t, e)
			if src, dst := addrOf(d.IPv4.SrcIP), addrOf(d.IPv4.DstIP); src != e1 || dst != netip.MustParseAddr(rem1) {
				t.Errorf("outer %v -> %v, want %s -> %s", src, dst, ext1, rem1)
			}
			emutest.ChecksumsValid(t, e)
		})
	}
}

func TestOutboundICMPErrorNoSession(t *testing.T) {
	n := newNAT(t)
	e := icmpError(t, c1, rem1, header.ICMPv4DstUnreachable, header.ICMPv4PortUnreachable, ipOf(t, udp4(t, rem1, c1, 7000, 53)))
	v, r, _ := n.Outbound(parse(t, e), e1, 0, nil)
	mustVerdict(t, "Outbound error", v, r, Dropped, "icmp-not-transposed")
}

func TestInboundPort(t *testing.T) {
	n := newNAT(t)
	out := udp4(t, c1, rem1, 1234, 53)
	n.Outbound(parse(t, out), e1, 0, nil)
	tests := []struct {
		name  string
		frame []byte
		want  uint16
		ok    bool
	}{
		{"udp", udp4(t, rem1, ext1, 53, 50123), 50123, true},
		{"icmp error", icmpError(t, rtr, ext1, 11, 0, ipOf(t, out)), 49152, true},
		{"gre", gre4(t), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p packet.Parsed
			p.Decode(tt.frame)
			if got, ok := InboundPort(&p); got != tt.want || ok != tt.ok {
				t.Errorf("InboundPort = %d %v, want %d %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
