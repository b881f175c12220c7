package winnat

import (
	"encoding/binary"
	"math/bits"

	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// Ref names a session, so that a flow cache in the host can translate a
// flow's next packets with it (OutboundSession and TranslateOutbound,
// InboundSession and TranslateInbound). The zero Ref names no session.
type Ref uint32

// PathTag is what a host's flow cache keeps in a session for one
// direction: which of its cached forwarding paths the session's packets
// took (Slot, 1-based; 0 is none) in which generation of its cache
// (Epoch). WinNAT only stores it: a new session starts without tags, so a
// tag never outlives the session it was set on, and the two directions
// share the epoch (setting a tag of a new epoch drops the other
// direction's).
type PathTag struct {
	Epoch uint16
	Slot  uint16
}

// OutboundSession returns the session Outbound would translate p with
// without making one (a live, unexpired, non-hairpin session of p's
// outbound tuple) and the outbound tag stored in it. It changes nothing;
// ok is false when Outbound would do anything else for p (make a session,
// hairpin, drop, pass it by, translate an ICMP error). It does not
// allocate.
func (n *NAT) OutboundSession(p *packet.Parsed, now int64) (r Ref, t PathTag, ok bool) {
	if p.Kind != packet.KindIPv4 || p.Err != packet.DecodeOK || !p.HasL4Ports || p.Fragment || p.ICMPError {
		return 0, PathTag{}, false
	}
	// The key straight from the header, as the two words the index hashes:
	// cheaper than netip's As4 and a key built in memory.
	ip := p.Bytes()[p.L3:]
	src := [4]byte(ip[ipSrcOff : ipSrcOff+4])
	if !n.internal4(src) {
		return 0, PathTag{}, false
	}
	i, s := n.getOut(binary.LittleEndian.Uint64(ip[ipSrcOff:ipSrcOff+8]), keyWord(p.SrcPort, remotePort(p.IPProto, p.DstPort), p.IPProto, dirOut))
	if s == nil || s.flags&flagHairpin != 0 || n.expired(s, now) {
		return 0, PathTag{}, false
	}
	return Ref(i), PathTag{Epoch: s.tagEpoch, Slot: s.tagOut}, true
}

// TranslateOutbound translates p with session r, which OutboundSession
// just returned for p, exactly as Outbound would: the same rewrite, the
// same refresh of the session's timer and TCP state, the same counters.
func (n *NAT) TranslateOutbound(r Ref, p *packet.Parsed, now int64) {
	n.clock(now)
	s := n.sess(uint32(r))
	n.snat(p, s)
	n.touch(uint32(r), s, p.TCPFlags, true, now)
	n.lastSess, n.note, n.lastRef, n.lastDir = uint32(r), noteSession, uint32(r), dirOut
	inc(&n.st.out)
}

// inboundHit reports whether Inbound translates p with session s, the
// session of its inbound key.
func (n *NAT) inboundHit(s *session, p *packet.Parsed, now int64) bool {
	return !n.expired(s, now) && s.flags&flagHairpin == 0 && (p.IPProto != header.ProtoICMPv4 || !isRequest(p.ICMPType))
}

// InboundSession returns the session Inbound would translate p with
// without making one (a live, unexpired, non-hairpin session of p's
// inbound tuple) and the inbound tag stored in it. It changes nothing; ok
// is false when Inbound would do anything else. It does not allocate.
func (n *NAT) InboundSession(p *packet.Parsed, now int64) (r Ref, t PathTag, ok bool) {
	if p.Kind != packet.KindIPv4 || p.Err != packet.DecodeOK || !p.HasL4Ports || p.Fragment || p.ICMPError {
		return 0, PathTag{}, false
	}
	// The inbound key's local address is the destination: the header's two
	// addresses with their halves swapped.
	ip := p.Bytes()[p.L3:]
	i, s := n.getWords(bits.RotateLeft64(binary.LittleEndian.Uint64(ip[ipSrcOff:ipSrcOff+8]), 32),
		keyWord(p.DstPort, remotePort(p.IPProto, p.SrcPort), p.IPProto, dirIn), dirIn)
	if s == nil || !n.inboundHit(s, p, now) {
		return 0, PathTag{}, false
	}
	return Ref(i), PathTag{Epoch: s.tagEpoch, Slot: s.tagIn}, true
}

// TranslateInbound translates p with session r, which InboundSession just
// returned for p, exactly as Inbound would.
func (n *NAT) TranslateInbound(r Ref, p *packet.Parsed, now int64) {
	n.clock(now)
	s := n.sess(uint32(r))
	n.dnat(p, s)
	n.touch(uint32(r), s, p.TCPFlags, false, now)
	n.lastSess, n.note, n.lastRef, n.lastDir = uint32(r), noteSession, uint32(r), dirIn
	inc(&n.st.in)
}

// LastOutbound returns the session the last call translated a packet with
// when that call was an Outbound that found or made an ordinary (not
// hairpin) session, and 0 otherwise.
func (n *NAT) LastOutbound() Ref { return n.last(dirOut) }

// LastInbound returns the session the last call translated a packet with
// when that call was an Inbound that found or made a session (not for an
// ICMP error), and 0 otherwise.
func (n *NAT) LastInbound() Ref { return n.last(dirIn) }

func (n *NAT) last(dir uint8) Ref {
	if n.lastRef == 0 || n.lastDir != dir || n.lastRef >= n.next {
		return 0
	}
	if s := n.sess(n.lastRef); s.flags&flagLive == 0 || s.flags&flagHairpin != 0 {
		return 0
	}
	return Ref(n.lastRef)
}

// SetPathTag stores t as live session r's tag for the outbound direction
// (out) or the inbound one. A tag of another epoch than the session's
// drops the other direction's tag.
func (n *NAT) SetPathTag(r Ref, out bool, t PathTag) {
	if r == 0 || uint32(r) >= n.next {
		return
	}
	s := n.sess(uint32(r))
	if s.flags&flagLive == 0 {
		return
	}
	if s.tagEpoch != t.Epoch {
		s.tagEpoch, s.tagOut, s.tagIn = t.Epoch, 0, 0
	}
	if out {
		s.tagOut = t.Slot
	} else {
		s.tagIn = t.Slot
	}
}

// ClearPathTags drops every session's tags (a flow cache whose epoch
// counter wrapped around calls it, so that no old tag looks new).
func (n *NAT) ClearPathTags() {
	for i := uint32(1); i < n.next; i++ {
		s := n.sess(i)
		s.tagEpoch, s.tagOut, s.tagIn = 0, 0, 0
	}
}
