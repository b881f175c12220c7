package winnat

import (
	"net/netip"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/trace"
)

// Outbound translates p, a packet from the internal prefix that the host
// routes out of the external interface whose address is ext: its source
// address and port (or ICMP query identifier) become the session's
// external ones, in place, with every checksum kept. A new session is made
// when none matches; its external port comes from the mapping of the
// internal endpoint (EndpointIndependentMapping by default) or is
// allocated from the port range. An existing session keeps the external
// address it was made with, whatever ext is.
//
// Outbound passes packets addressed to one of the NAT's external addresses
// to Hairpin, and ICMP errors to the ICMP error translation (RFC 5508
// section 4). Packets that do not come from the internal prefix or go to
// it are NotHandled, and so is a packet that needs a new session when ext
// is not an external address of the NAT. IPv6
// is Dropped (drop.NATIPv6). Fragments, and packets without ports or
// query identifier, are Dropped with drop.NATNoMapping: WinNAT keys
// sessions on ports and the model does not reassemble. It does not
// allocate for packets of existing sessions.
//
// s names the session a Translated packet went through when a flow cache
// may keep it (see Ref): an ordinary outbound session, not a hairpin nor
// an ICMP error; otherwise it is 0. Everything Outbound did is in what it
// returns: it keeps nothing for a later call to read.
func (n *NAT) Outbound(p *packet.Parsed, ext netip.Addr, now int64, tr *trace.Recorder) (v Verdict, r drop.Reason, s Ref) {
	if tr.Enabled() {
		before := trace.Snap(p, 0)
		res := n.outbound(p, ext, now)
		n.record(tr, "snat", before, p, res)
		return res.v, res.r, res.ref
	}
	res := n.outbound(p, ext, now)
	return res.v, res.r, res.ref
}

// Inbound translates p, a packet that arrived from outside for external
// address p.Dst. A session gives its internal address and port back (the
// destination is rewritten in place). Without one, a static mapping on
// (protocol, p.Dst, port) translates it (DNAT) and makes a session so the
// replies are translated back; a dynamic mapping on the port admits it
// under endpoint-independent filtering, or under address-dependent
// filtering when the internal endpoint has sent to p.Src, and is Dropped
// (drop.NATFiltered) otherwise; so is a packet from outside a static
// mapping's RemotePrefix. Nothing at all: NotHandled, and the host stack
// decides (it reports drop.NATNoMapping). ICMP errors are translated back
// (RFC 5508 section 4). IPv6 is NotHandled: it cannot be addressed to an
// external address of WinNAT, which are IPv4. It does not allocate for
// packets of existing sessions.
//
// s names the session a Translated packet went through when a flow cache
// may keep it (see Ref): a session found or made for the packet, not for
// an ICMP error; otherwise it is 0.
func (n *NAT) Inbound(p *packet.Parsed, now int64, tr *trace.Recorder) (v Verdict, r drop.Reason, s Ref) {
	if tr.Enabled() {
		before := trace.Snap(p, 0)
		res := n.inbound(p, now)
		n.record(tr, "dnat", before, p, res)
		return res.v, res.r, res.ref
	}
	res := n.inbound(p, now)
	return res.v, res.r, res.ref
}

// Hairpin translates p, a packet from the internal prefix addressed to one
// of the NAT's external addresses, as if it left through the external
// interface and came back in (RFC 4787 REQ-9, RFC 5382 REQ-8; WinNAT
// supports this from containers on the host, windows-behaviour.md section
// 2.2, limit 5): first the source becomes an external address:port (a
// dynamic session, with the contacted external address as source), then
// the destination goes through the static mapping (a new session) or the
// session of the flow. It handles both directions: the reply from the
// target (to the external address:port the client was translated to)
// matches the target's static-mapping session and then the client's
// session. The result goes from an external address to an internal one.
//
// A new flow needs a static mapping on the destination; without one the
// packet is for the host itself: NotHandled. Nothing is changed unless both
// halves succeed. It does not allocate for packets of existing sessions.
func (n *NAT) Hairpin(p *packet.Parsed, now int64, tr *trace.Recorder) (Verdict, drop.Reason) {
	if tr.Enabled() {
		before := trace.Snap(p, 0)
		res := n.hairpin(p, now)
		n.record(tr, "hairpin", before, p, res)
		return res.v, res.r
	}
	res := n.hairpin(p, now)
	return res.v, res.r
}

// InboundPort returns the external port (or ICMP identifier) that names
// the session of an inbound packet: the destination port, or for an ICMP
// error the source port of the datagram it carries. With ShardForPort it
// tells a host with several shards which one to ask.
func InboundPort(p *packet.Parsed) (uint16, bool) {
	if p.ICMPError {
		var e packet.Parsed
		if !embedded(p, &e) {
			return 0, false
		}
		return e.SrcPort, true
	}
	return p.DstPort, p.HasL4Ports
}

// remotePort returns the remote port of a session key: the port, or 0 for
// ICMP queries whose identifier is only the local side's.
func remotePort(proto uint8, port uint16) uint16 {
	if proto == header.ProtoICMPv4 {
		return 0
	}
	return port
}

// isRequest reports whether an ICMPv4 query type starts a session (RFC
// 5508 section 3.1: the query's identifier is mapped; replies only return).
func isRequest(t uint8) bool {
	return t == header.ICMPv4Echo || t == header.ICMPv4Timestamp || t == header.ICMPv4InfoRequest
}

func (n *NAT) verdict(v Verdict, r drop.Reason, why note) result {
	n.count(v, r)
	return result{v: v, r: r, why: why}
}

func (n *NAT) outbound(p *packet.Parsed, ext netip.Addr, now int64) result {
	n.clock(now)
	if p.Kind != packet.KindIPv4 || p.Err != packet.DecodeOK {
		if p.Kind == packet.KindIPv6 && p.Err == packet.DecodeOK {
			return n.verdict(Dropped, drop.NATIPv6, noteIPv6)
		}
		return n.verdict(NotHandled, drop.None, noteNotNAT)
	}
	src := p.Src.As4()
	if !n.internal4(src) {
		return n.verdict(NotHandled, drop.None, noteNotNAT)
	}
	dst := p.Dst.As4()
	if p.HasL4Ports && !p.Fragment {
		k := key{local: src, remote: dst, lport: p.SrcPort, rport: remotePort(p.IPProto, p.DstPort), proto: p.IPProto, dir: dirOut}
		if i, s := n.get(&k); s != nil {
			if !n.expired(s, now) && s.flags&flagHairpin == 0 {
				n.snat(p, s)
				n.touch(i, s, p.TCPFlags, true, now)
				inc(&n.st.out)
				return result{v: Translated, why: noteSession, sess: i, ref: refOf(i, s)}
			}
		}
	}
	// Slow path: no session.
	if n.internal4(dst) {
		return n.verdict(NotHandled, drop.None, noteNotNAT) // same network: the vSwitch's business
	}
	if n.isExt4(dst) {
		return n.hairpin(p, now)
	}
	if p.ICMPError {
		return n.outboundICMPError(p, now)
	}
	if !p.HasL4Ports || p.Fragment {
		return n.verdict(Dropped, drop.NATNoMapping, noteNoPorts)
	}
	if p.IPProto == header.ProtoICMPv4 && !isRequest(p.ICMPType) {
		return n.verdict(Dropped, drop.NATNoMapping, noteICMPReply)
	}
	if !ext.Is4() {
		return n.verdict(NotHandled, drop.None, noteNotExternal)
	}
	ei := n.extIndex(ext.As4())
	if ei < 0 {
		return n.verdict(NotHandled, drop.None, noteNotExternal)
	}
	k := key{local: src, remote: dst, lport: p.SrcPort, rport: remotePort(p.IPProto, p.DstPort), proto: p.IPProto, dir: dirOut}
	if !n.vacant(k, now) {
		// Not reached: the fast path took a live session, vacant reaped an
		// idle one, and hairpin sessions have an external remote.
		return n.verdict(Dropped, drop.NATNoMapping, noteClash)
	}
	i, r := n.newOutbound(p.IPProto, src, p.SrcPort, dst, k.rport, ei, p.TCPFlags, now)
	if r != drop.None {
		return n.verdict(Dropped, r, noteNone)
	}
	s := n.sess(i)
	n.snat(p, s)
	inc(&n.st.out)
	return result{v: Translated, why: noteNewSession, sess: i, ref: refOf(i, s)}
}

// newOutbound makes a session from internal src:sport to dst:dport through
// external address ei, on the internal endpoint's mapping.
func (n *NAT) newOutbound(proto uint8, src [4]byte, sport uint16, dst [4]byte, dport uint16, ei int, flags uint8, now int64) (uint32, drop.Reason) {
	if !n.room(1, now) {
		return 0, drop.NATSessionLimit
	}
	mi, ok := n.dynamicMapping(proto, src, sport, ei, dst, dport, now)
	if !ok {
		return 0, drop.NATPortsExhausted
	}
	m := &n.maps[mi]
	s := session{intAddr: src, intPort: sport, extAddr: m.extAddr, extPort: m.extPort, remAddr: dst, remPort: dport,
		proto: proto, state: initialState(proto, flags)}
	// The in key is vacant: the external port belongs to this mapping, whose
	// session with this remote would have the out key we just missed.
	return n.addSession(mi, s, now), drop.None
}

// touch refreshes session s for a packet going out (from the internal side)
// or in. TCP refreshes both ways (RFC 5382 section 5); UDP only outbound
// unless UDPInboundRefresh (Set-NetNat -UdpInboundRefresh; RFC 4787 REQ-6);
// ICMP queries only outbound [I].
func (n *NAT) touch(i uint32, s *session, tcpFlags uint8, out bool, now int64) {
	switch s.proto {
	case header.ProtoTCP:
		if tc := s.tclass; tcpTrack(s, tcpFlags, out == (s.flags&flagInbound == 0)) {
			// A new timeout class may expire the session earlier than it
			// is filed (expiry.go): file it again under its new expiry.
			if now > s.lastSeen {
				s.lastSeen = now
			}
			if s.tclass != tc {
				n.expFix(i, n.expiryAt(s))
			}
			return
		}
	case header.ProtoUDP:
		if !out && !n.cfg.UDPInboundRefresh {
			return
		}
	default:
		if !out {
			return
		}
	}
	if now > s.lastSeen {
		s.lastSeen = now
	}
}

func (n *NAT) inbound(p *packet.Parsed, now int64) result {
	n.clock(now)
	if p.Kind != packet.KindIPv4 || p.Err != packet.DecodeOK {
		return n.verdict(NotHandled, drop.None, noteNotNAT)
	}
	dst := p.Dst.As4()
	src := p.Src.As4()
	if p.HasL4Ports && !p.Fragment {
		k := key{local: dst, remote: src, lport: p.DstPort, rport: remotePort(p.IPProto, p.SrcPort), proto: p.IPProto, dir: dirIn}
		if i, s := n.get(&k); s != nil {
			if n.inboundHit(s, p, now) {
				n.dnat(p, s)
				n.touch(i, s, p.TCPFlags, false, now)
				inc(&n.st.in)
				return result{v: Translated, why: noteSession, sess: i, ref: refOf(i, s)}
			}
		}
	}
	// Slow path: no session.
	ei := n.extIndex(dst)
	if ei < 0 {
		return n.verdict(NotHandled, drop.None, noteNotExternal)
	}
	if p.ICMPError {
		return n.inboundICMPError(p, now)
	}
	if !p.HasL4Ports || p.Fragment {
		return n.verdict(NotHandled, drop.None, noteNoPorts)
	}
	if n.internal4(src) || n.isExt4(src) {
		return n.verdict(NotHandled, drop.None, noteMartian) // hairpin traffic goes through Hairpin
	}
	sport := remotePort(p.IPProto, p.SrcPort)
	if p.IPProto == header.ProtoICMPv4 {
		if isRequest(p.ICMPType) {
			return n.verdict(NotHandled, drop.None, noteICMPRequest) // for the host
		}
		// A query session is specific to its remote host (RFC 5508 section
		// 3.1 maps identifiers, it does not open them to other hosts).
		if mi := n.portOwner(p.IPProto, ei, p.DstPort); mi != 0 && n.mappingAlive(mi, now) {
			return n.verdict(Dropped, drop.NATFiltered, noteICMPOtherHost)
		}
		return n.verdict(NotHandled, drop.None, noteNoMapping)
	}
	if mi, ok := n.staticFor(p.IPProto, dst, p.DstPort); ok {
		return n.inboundStatic(p, mi, src, sport, now)
	}
	mi := n.portOwner(p.IPProto, ei, p.DstPort)
	if mi == 0 || !n.mappingAlive(mi, now) {
		return n.verdict(NotHandled, drop.None, noteNoMapping)
	}
	why := noteEIF
	if n.filtering[protoIndex(p.IPProto)] == AddressDependentFiltering {
		if !n.contacted(mi, src, now) {
			if !n.maps[mi].live {
				return n.verdict(NotHandled, drop.None, noteNoMapping)
			}
			return n.verdict(Dropped, drop.NATFiltered, noteADF)
		}
		why = noteADFContacted
	}
	m := &n.maps[mi]
	s := session{intAddr: m.intAddr, intPort: m.intPort, extAddr: m.extAddr, extPort: m.extPort, remAddr: src, remPort: sport,
		proto: p.IPProto, state: initialState(p.IPProto, p.TCPFlags), flags: flagInbound}
	if !n.vacant(s.outKey(), now) {
		// The internal endpoint talks to this remote through another
		// external address: one flow cannot have two sessions.
		return n.verdict(Dropped, drop.NATNoMapping, noteClash)
	}
	if !n.room(1, now) {
		return n.verdict(Dropped, drop.NATSessionLimit, noteNone)
	}
	if !m.live || m.n == 0 { // room may have reaped its last session
		return n.verdict(NotHandled, drop.None, noteNoMapping)
	}
	i := n.addSession(mi, s, now)
	ns := n.sess(i)
	n.dnat(p, ns)
	inc(&n.st.in)
	return result{v: Translated, why: why, sess: i, ref: refOf(i, ns)}
}

// inboundStatic translates a packet for static mapping mi and makes its
// session.
func (n *NAT) inboundStatic(p *packet.Parsed, mi uint32, src [4]byte, sport uint16, now int64) result {
	m := &n.maps[mi]
	if !m.admits(src) {
		return n.verdict(Dropped, drop.NATFiltered, noteRemotePrefix)
	}
	s := session{intAddr: m.intAddr, intPort: m.intPort, extAddr: p.Dst.As4(), extPort: p.DstPort, remAddr: src, remPort: sport,
		proto: p.IPProto, state: initialState(p.IPProto, p.TCPFlags), flags: flagInbound}
	if !n.vacant(s.outKey(), now) {
		// The internal endpoint already talks to this remote endpoint from
		// the same port through a dynamic session (Linux conntrack drops
		// such a clash too).
		return n.verdict(Dropped, drop.NATNoMapping, noteClash)
	}
	if !n.room(1, now) {
		return n.verdict(Dropped, drop.NATSessionLimit, noteNone)
	}
	i := n.addSession(mi, s, now)
	ns := n.sess(i)
	n.dnat(p, ns)
	inc(&n.st.in)
	return result{v: Translated, why: noteStatic, sess: i, ref: refOf(i, ns)}
}

func (n *NAT) hairpin(p *packet.Parsed, now int64) result {
	n.clock(now)
	if p.Kind != packet.KindIPv4 || p.Err != packet.DecodeOK {
		if p.Kind == packet.KindIPv6 && p.Err == packet.DecodeOK {
			return n.verdict(Dropped, drop.NATIPv6, noteIPv6)
		}
		return n.verdict(NotHandled, drop.None, noteNotNAT)
	}
	src, dst := p.Src.As4(), p.Dst.As4()
	ei := n.extIndex(dst)
	if !n.internal4(src) || ei < 0 {
		return n.verdict(NotHandled, drop.None, noteNotNAT)
	}
	if p.ICMPError {
		return n.hairpinICMPError(p, now)
	}
	if !p.HasL4Ports || p.Fragment {
		return n.verdict(NotHandled, drop.None, noteForHost)
	}
	rport := remotePort(p.IPProto, p.DstPort)
	// The outbound half.
	k1 := key{local: src, remote: dst, lport: p.SrcPort, rport: rport, proto: p.IPProto, dir: dirOut}
	i1, s1, ok := n.lookup(k1, now)
	if !ok {
		if p.IPProto == header.ProtoICMPv4 {
			return n.verdict(NotHandled, drop.None, noteForHost) // a ping to the host
		}
		mi, ok := n.staticFor(p.IPProto, dst, p.DstPort)
		if !ok {
			return n.verdict(NotHandled, drop.None, noteForHost)
		}
		if !n.maps[mi].admits(dst) {
			return n.verdict(Dropped, drop.NATFiltered, noteRemotePrefix)
		}
		if !n.room(2, now) {
			return n.verdict(Dropped, drop.NATSessionLimit, noteNone)
		}
		var r drop.Reason
		if i1, r = n.newOutbound(p.IPProto, src, p.SrcPort, dst, rport, ei, p.TCPFlags, now); r != drop.None {
			return n.verdict(Dropped, r, noteNone)
		}
		s1 = n.sess(i1)
		m := &n.maps[mi]
		s2 := session{intAddr: m.intAddr, intPort: m.intPort, extAddr: dst, extPort: p.DstPort, remAddr: s1.extAddr, remPort: s1.extPort,
			proto: p.IPProto, state: initialState(p.IPProto, p.TCPFlags), flags: flagInbound}
		if !n.vacant(s2.outKey(), now) {
			n.removeSession(i1, false)
			return n.verdict(Dropped, drop.NATNoMapping, noteClash)
		}
		i2 := n.addSession(mi, s2, now)
		n.snat(p, s1)
		n.dnat(p, n.sess(i2))
		inc(&n.st.hairpin)
		return result{v: Translated, why: noteHairpinNew, sess: i2}
	}
	// The inbound half, for the packet as the outbound half leaves it.
	k2 := key{local: dst, remote: s1.extAddr, lport: p.DstPort, rport: remotePort(p.IPProto, s1.extPort), proto: p.IPProto, dir: dirIn}
	i2, s2, ok := n.lookup(k2, now)
	if !ok {
		mi, ok := n.staticFor(p.IPProto, dst, p.DstPort)
		if !ok {
			return n.verdict(NotHandled, drop.None, noteForHost)
		}
		m := &n.maps[mi]
		if !m.admits(s1.extAddr) {
			return n.verdict(Dropped, drop.NATFiltered, noteRemotePrefix)
		}
		if !n.room(1, now) {
			return n.verdict(Dropped, drop.NATSessionLimit, noteNone)
		}
		ns := session{intAddr: m.intAddr, intPort: m.intPort, extAddr: dst, extPort: p.DstPort, remAddr: s1.extAddr, remPort: s1.extPort,
			proto: p.IPProto, state: initialState(p.IPProto, p.TCPFlags), flags: flagInbound}
		if !n.vacant(ns.outKey(), now) {
			return n.verdict(Dropped, drop.NATNoMapping, noteClash)
		}
		i2 = n.addSession(mi, ns, now)
		s2 = n.sess(i2)
		s1 = n.sess(i1) // unchanged: chunks never move
	}
	flags := p.TCPFlags
	n.snat(p, s1)
	n.touch(i1, s1, flags, true, now)
	n.dnat(p, s2)
	n.touch(i2, s2, flags, false, now)
	inc(&n.st.hairpin)
	return result{v: Translated, why: noteHairpin, sess: i2}
}
