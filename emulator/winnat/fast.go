package winnat

import (
	"encoding/binary"

	"github.com/hnspath/hnspath/emulator/packet"
)

// Ref names a session, so that a flow cache in the host can translate a
// flow's next packets with it (OutboundSession, TranslateOutbound). The
// zero Ref names no session.
type Ref uint32

// PathTag is what a host's flow cache keeps in a session: which of its
// cached forwarding paths the session's packets took (Slot, 1-based; 0 is
// none) in which generation of its cache (Epoch). WinNAT only stores it: a
// new session starts with the zero tag, so a tag never outlives the
// session it was set on.
type PathTag struct {
	Epoch uint32
	Slot  uint16
}

// OutboundSession returns the session Outbound would translate p with
// without making one (a live, unexpired, non-hairpin session of p's
// outbound tuple) and the tag stored in it. It changes nothing; ok is false
// when Outbound would do anything else for p (make a session, hairpin,
// drop, pass it by, translate an ICMP error). It does not allocate.
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
	return Ref(i), PathTag{Epoch: s.tagEpoch, Slot: s.tagSlot}, true
}

// TranslateOutbound translates p with session r, which OutboundSession
// just returned for p, exactly as Outbound would: the same rewrite, the
// same refresh of the session's timer and TCP state, the same counters.
func (n *NAT) TranslateOutbound(r Ref, p *packet.Parsed, now int64) {
	n.clock(now)
	s := n.sess(uint32(r))
	n.snat(p, s)
	n.touch(s, p.TCPFlags, true, now)
	n.lastSess, n.note, n.lastOut = uint32(r), noteSession, uint32(r)
	inc(&n.st.out)
}

// LastOutbound returns the session the last call translated a packet with
// when that call was an Outbound that found or made an ordinary (not
// hairpin) session, and 0 otherwise.
func (n *NAT) LastOutbound() Ref {
	if n.lastOut == 0 || n.lastOut >= n.next {
		return 0
	}
	if s := n.sess(n.lastOut); s.flags&flagLive == 0 || s.flags&flagHairpin != 0 {
		return 0
	}
	return Ref(n.lastOut)
}

// SetPathTag stores t in live session r.
func (n *NAT) SetPathTag(r Ref, t PathTag) {
	if r == 0 || uint32(r) >= n.next {
		return
	}
	if s := n.sess(uint32(r)); s.flags&flagLive != 0 {
		s.tagEpoch, s.tagSlot = t.Epoch, t.Slot
	}
}
