package host

import (
	"net/netip"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/trace"
	"github.com/hnspath/hnspath/emulator/winnat"
)

// fragment sends IPv4 datagram p, larger than interface ifi's MTU and
// without DF, as fragments to MAC dst (RFC 791 §3.2 "Fragmentation"; RFC
// 1812 §4.2.2.7 and §5.2.6: a router fragments what does not fit the next
// hop and never reassembles what it forwards). Each fragment carries the
// datagram's header (options included; the model does not drop the
// options that are not copied) with its own length, MF flag and offset;
// the data is cut in multiples of 8 bytes. A datagram that is already a
// fragment keeps its offset base and its MF on the last piece. Fragments
// come from the outbox's pool; buf goes back to it.
func (s *Stack) fragment(ifi int, dst header.MAC, buf *packet.Buffer, p *packet.Parsed, out *Outbox) {
	ifc := &s.ifaces[ifi]
	ip := header.IPv4(p.Bytes()[p.L3:p.End])
	hl := ip.HeaderLength()
	chunk := (ifc.MTU - hl) &^ 7
	if chunk < 8 {
		s.dropf(out, ifi, buf, drop.MTUMismatch, CompTCPIP)
		return
	}
	data := ip[hl:]
	base := ip.FragmentOffset()
	flags := ip.Flags() &^ header.IPv4FlagMoreFragments
	lastMF := ip.Flags() & header.IPv4FlagMoreFragments
	for off := 0; off < len(data); off += chunk {
		n := min(chunk, len(data)-off)
		fb := out.Pool.Get()
		if !fb.SetLen(header.EthernetMinimumSize + hl + n) {
			out.Pool.Put(fb)
			break
		}
		f := fb.Bytes()
		header.Ethernet(f).Encode(dst, ifc.MAC, header.EtherTypeIPv4)
		copy(f[header.EthernetMinimumSize:], ip[:hl])
		copy(f[header.EthernetMinimumSize+hl:], data[off:off+n])
		fi := header.IPv4(f[header.EthernetMinimumSize:])
		fi.SetTotalLength(uint16(hl + n))
		mf := lastMF
		if off+n < len(data) {
			mf = header.IPv4FlagMoreFragments
		}
		fi.SetFlagsFragmentOffset(flags|mf, base+uint16(off))
		fi.SetChecksum(0)
		fi.SetChecksum(fi.CalculateChecksum())
		var q packet.Parsed
		q.Decode(f)
		if out.Trace.Enabled() {
			out.Trace.Add(trace.Event{Host: s.h.Name, Component: CompTCPIP, Port: ifc.Name, Action: "fragment",
				Detail: "offset " + itoa(int(base)+off) + " length " + itoa(n) + " (MTU " + itoa(ifc.MTU) + ")", After: trace.Snap(&q, 0)})
		}
		s.transmit(ifi, fb, &q, out)
	}
	out.Pool.Put(buf)
}

// fragKey names the datagram a fragment belongs to (RFC 791: source,
// destination, protocol and identification), on the side WinNAT saw it
// before translating.
type fragKey struct {
	src, dst [4]byte
	id       uint16
	proto    uint8
	out      bool // outbound (source translated) or inbound (destination)
}

// fragEntry is how WinNAT translated a datagram's first fragment: the
// address its later fragments get.
type fragEntry struct {
	addr [4]byte
	at   int64
}

// Fragment translation bounds: entries live as long as Windows keeps a
// datagram's fragments for reassembly (60 s, RFC 1122 §3.3.2 suggests
// 60-120 s), at most maxFrags of them (the table is cleared when full).
const (
	fragLifetime = 60e9
	maxFrags     = 4096
)

// natFragment translates a fragment of a datagram that WinNAT translates.
// The first fragment carries the transport header: WinNAT translates it
// as a whole datagram (the incremental checksum update is the same for
// the datagram's transport checksum, which the first fragment holds), and
// the address it got is kept for the datagram's later fragments, which
// carry no ports and get only the address (RFC 4787 §11 REQ-14, RFC 5508
// §5: a NAT must translate fragmented datagrams). A later fragment that
// arrives before its first one, or of a datagram WinNAT did not translate,
// is not handled (ok false): the caller treats it as before. ref is the
// session a first fragment was translated with (what Outbound or Inbound
// returned), 0 for a later fragment. It allocates
// only to record a first fragment's translation (a map entry per
// fragmented datagram; unfragmented traffic never comes here).
func (s *Stack) natFragment(p *packet.Parsed, outbound bool, ext netip.Addr, now int64, tr *trace.Recorder) (v winnat.Verdict, r drop.Reason, ref winnat.Ref, ok bool) {
	ip := p.IPv4()
	k := fragKey{src: p.Src.As4(), dst: p.Dst.As4(), id: ip.ID(), proto: p.IPProto, out: outbound}
	if p.FirstFrag {
		p.Fragment = false // WinNAT keys on the ports the first fragment has
		if outbound {
			v, r, ref = s.nat.Outbound(p, ext, now, tr)
		} else {
			v, r, ref = s.nat.Inbound(p, now, tr)
		}
		p.Fragment = true
		if v == winnat.Translated {
			if s.frags == nil || len(s.frags) >= maxFrags {
				s.frags = make(map[fragKey]fragEntry)
			}
			a := p.Dst
			if outbound {
				a = p.Src
			}
			s.frags[k] = fragEntry{addr: a.As4(), at: now}
		}
		return v, r, ref, true
	}
	e, found := s.frags[k]
	if !found || now-e.at > fragLifetime {
		return 0, drop.None, 0, false
	}
	if outbound {
		ip.SetSrcAddrWithChecksumUpdate(e.addr)
		p.Src = netip.AddrFrom4(e.addr)
	} else {
		ip.SetDstAddrWithChecksumUpdate(e.addr)
		p.Dst = netip.AddrFrom4(e.addr)
	}
	return winnat.Translated, drop.None, 0, true
}
