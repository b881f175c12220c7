package winnat

import "github.com/hnspath/hnspath/emulator/header"

// initialState returns the state of a new session made by a packet with
// TCP flags (ignored for UDP and ICMP).
func initialState(proto uint8, flags uint8) State {
	if proto != header.ProtoTCP {
		return StateActive
	}
	switch {
	case flags&(header.TCPFlagRST|header.TCPFlagFIN) != 0:
		return StateTCPClosing
	case flags&(header.TCPFlagSYN|header.TCPFlagACK) == header.TCPFlagSYN:
		return StateTCPSYN
	}
	return StateTCPUnsynced
}

// tcpTrack moves a TCP session along the handshake as the NAT sees it and
// sets its idle timeout: TcpTransientConnectionTimeout (120 s observed)
// until the initiator's SYN, the responder's SYN+ACK and the initiator's
// ACK have passed, then TcpEstablishedConnectionTimeout (1800 s observed),
// and transient again once a FIN or RST passes in either direction
// (windows-behaviour.md section 2.3; RFC 5382 section 5 names the
// "established" and "transitory" timers). fromInit says whether the packet
// comes from the side that opened the session. A new SYN from the
// initiator on a closing or unsynced session starts a new handshake (the
// port pair is reused). [I] WinNAT's exact TCP state machine is
// undocumented (open item 7.5 is VFP's; WinNAT's is alike unmeasured).
// It reports whether the state changed.
func tcpTrack(s *session, flags uint8, fromInit bool) bool {
	old := s.state
	switch {
	case flags&(header.TCPFlagRST|header.TCPFlagFIN) != 0:
		s.state = StateTCPClosing
	case flags&(header.TCPFlagSYN|header.TCPFlagACK) == header.TCPFlagSYN:
		if fromInit && (old == StateTCPClosing || old == StateTCPUnsynced) {
			s.state = StateTCPSYN
		}
	case flags&(header.TCPFlagSYN|header.TCPFlagACK) == header.TCPFlagSYN|header.TCPFlagACK:
		if !fromInit && old == StateTCPSYN {
			s.state = StateTCPSYNACK
		}
	case flags&header.TCPFlagACK != 0:
		if fromInit && old == StateTCPSYNACK {
			s.state = StateTCPEstablished
		}
	}
	if s.state == old {
		return false
	}
	s.tclass = timeoutClass(header.ProtoTCP, s.state)
	return true
}
