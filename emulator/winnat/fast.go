package winnat

import (
	"encoding/binary"
	"math/bits"

	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// Ref names one session, so that a flow cache in the host can translate
// a flow's next packets with it (OutboundSession and TranslateOutbound,
// InboundSession and TranslateInbound) and keep its own notes on it. The
// zero Ref names no session. A Ref is the session's slot (Index) and its
// serial in that slot: a session made later in the same slot has another
// Ref, so notes kept under a Ref never outlive their session (the serial
// is 32 bits: two sessions of one slot share a Ref only 2^32 sessions
// apart). WinNAT keeps nothing for the cache.
type Ref uint64

// Index returns the session's slot: a small integer (below the number of
// sessions the NAT has held at once, plus one) that a cache may index an
// array with. Two live sessions never share an Index.
func (r Ref) Index() int { return int(uint32(r)) }

// Serial tells apart the sessions that held one Index in turn: a cache
// that keeps notes by Index checks it to know a note is this session's.
func (r Ref) Serial() uint32 { return uint32(r >> 32) }

// refOf returns the Ref of session i, s.
func refOf(i uint32, s *session) Ref { return Ref(i) | Ref(s.serial)<<32 }

// OutboundSession returns the session Outbound would translate p with
// without making one (a live, unexpired, non-hairpin session of p's
// outbound tuple). It changes nothing;
// ok is false when Outbound would do anything else for p (make a session,
// hairpin, drop, pass it by, translate an ICMP error). It does not
// allocate.
func (n *NAT) OutboundSession(p *packet.Parsed, now int64) (r Ref, ok bool) {
	if p.Kind != packet.KindIPv4 || p.Err != packet.DecodeOK || !p.HasL4Ports || p.Fragment || p.ICMPError {
		return 0, false
	}
	// The key straight from the header, as the two words the index hashes:
	// cheaper than netip's As4 and a key built in memory.
	ip := p.Bytes()[p.L3:]
	src := [4]byte(ip[header.IPv4SrcAddrOffset : header.IPv4SrcAddrOffset+4])
	if !n.internal4(src) {
		return 0, false
	}
	i, s := n.getOut(binary.LittleEndian.Uint64(ip[header.IPv4SrcAddrOffset:header.IPv4SrcAddrOffset+8]), keyWord(p.SrcPort, remotePort(p.IPProto, p.DstPort), p.IPProto, dirOut))
	if s == nil || s.flags&flagHairpin != 0 || n.expired(s, now) {
		return 0, false
	}
	return refOf(i, s), true
}

// TranslateOutbound translates p with session r, which OutboundSession
// just returned for p, exactly as Outbound would: the same rewrite, the
// same refresh of the session's timer and TCP state, the same counters.
func (n *NAT) TranslateOutbound(r Ref, p *packet.Parsed, now int64) {
	n.clock(now)
	i := uint32(r)
	s := n.sess(i)
	n.snat(p, s)
	n.touch(i, s, p.TCPFlags, true, now)
	inc(&n.st.out)
}

// inboundHit reports whether Inbound translates p with session s, the
// session of its inbound key.
func (n *NAT) inboundHit(s *session, p *packet.Parsed, now int64) bool {
	return !n.expired(s, now) && s.flags&flagHairpin == 0 && (p.IPProto != header.ProtoICMPv4 || !isRequest(p.ICMPType))
}

// InboundSession returns the session Inbound would translate p with
// without making one (a live, unexpired, non-hairpin session of p's
// inbound tuple). It changes nothing; ok is false when Inbound would do
// anything else. It does not allocate.
func (n *NAT) InboundSession(p *packet.Parsed, now int64) (r Ref, ok bool) {
	if p.Kind != packet.KindIPv4 || p.Err != packet.DecodeOK || !p.HasL4Ports || p.Fragment || p.ICMPError {
		return 0, false
	}
	// The inbound key's local address is the destination: the header's two
	// addresses with their halves swapped.
	ip := p.Bytes()[p.L3:]
	i, s := n.getWords(bits.RotateLeft64(binary.LittleEndian.Uint64(ip[header.IPv4SrcAddrOffset:header.IPv4SrcAddrOffset+8]), 32),
		keyWord(p.DstPort, remotePort(p.IPProto, p.SrcPort), p.IPProto, dirIn), dirIn)
	if s == nil || !n.inboundHit(s, p, now) {
		return 0, false
	}
	return refOf(i, s), true
}

// TranslateInbound translates p with session r, which InboundSession just
// returned for p, exactly as Inbound would.
func (n *NAT) TranslateInbound(r Ref, p *packet.Parsed, now int64) {
	n.clock(now)
	i := uint32(r)
	s := n.sess(i)
	n.dnat(p, s)
	n.touch(i, s, p.TCPFlags, false, now)
	inc(&n.st.in)
}
