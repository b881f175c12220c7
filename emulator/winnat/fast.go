package winnat

import "github.com/hnspath/hnspath/emulator/packet"

// Ref names the session an Outbound call used, so that a flow cache in the
// host can translate the flow's next packets without the session lookup.
// The zero Ref names no session.
type Ref uint32

// LastOutbound returns the session the last call translated a packet with
// when that call was an Outbound that found or made an ordinary (not
// hairpin) session, and 0 otherwise.
func (n *NAT) LastOutbound() Ref {
	if n.note == noteSession || n.note == noteNewSession {
		if s := n.sess(n.lastSess); s.flags&flagLive != 0 && s.flags&flagHairpin == 0 {
			return Ref(n.lastSess)
		}
	}
	return 0
}

// RefreshOutbound translates p through session r exactly as Outbound would
// (same rewrite, same refresh of the session's idle timer and TCP state,
// same counters) when r is still the live, unexpired session of p's
// outbound tuple. Otherwise it changes nothing and returns false, and the
// caller takes the slow path. It does not allocate.
func (n *NAT) RefreshOutbound(r Ref, p *packet.Parsed, now int64) bool {
	if r == 0 || uint32(r) >= n.next {
		return false
	}
	s := n.sess(uint32(r))
	if s.flags&flagLive == 0 || s.flags&flagHairpin != 0 || s.proto != p.IPProto ||
		s.intPort != p.SrcPort || s.remPort != remotePort(p.IPProto, p.DstPort) ||
		s.intAddr != p.Src.As4() || s.remAddr != p.Dst.As4() {
		return false
	}
	n.clock(now)
	if n.expired(s, now) {
		return false
	}
	n.snat(p, s)
	n.touch(s, p.TCPFlags, true, now)
	n.lastSess, n.note = uint32(r), noteSession
	inc(&n.st.out)
	return true
}
