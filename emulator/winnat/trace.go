package winnat

import (
	"fmt"

	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/trace"
)

// note says why a call decided as it did (result.why); trace events show
// it.
type note uint8

const (
	noteNone note = iota
	noteSession
	noteNewSession
	noteStatic
	noteEIF
	noteADFContacted
	noteADF
	noteRemotePrefix
	noteHairpin
	noteHairpinNew
	noteICMPError
	noteICMPErrorNoSession
	noteICMPBadChecksum
	noteICMPReply
	noteICMPRequest
	noteICMPOtherHost
	noteNotNAT
	noteNotExternal
	noteNoPorts
	noteNoMapping
	noteMartian
	noteForHost
	noteClash
	noteIPv6
)

var noteText = [...]string{
	noteNone:               "",
	noteSession:            "session",
	noteNewSession:         "new session",
	noteStatic:             "new session through a static mapping",
	noteEIF:                "new session on a mapping (endpoint-independent filtering)",
	noteADFContacted:       "new session on a mapping (address-dependent filtering: the remote address was contacted)",
	noteADF:                "address-dependent filtering: the internal endpoint never sent to this remote address",
	noteRemotePrefix:       "source outside the static mapping's remote prefix",
	noteHairpin:            "hairpin through two sessions",
	noteHairpinNew:         "hairpin: new sessions through a static mapping",
	noteICMPError:          "ICMP error translated back (RFC 5508 section 4)",
	noteICMPErrorNoSession: "ICMP error about no session",
	noteICMPBadChecksum:    "ICMP error with a bad checksum",
	noteICMPReply:          "ICMP query reply without a session",
	noteICMPRequest:        "ICMP query request for the host",
	noteICMPOtherHost:      "ICMP query reply from a host the query did not go to",
	noteNotNAT:             "not NAT traffic",
	noteNotExternal:        "not an external address of this NAT",
	noteNoPorts:            "no ports to key a session on (fragment or protocol)",
	noteNoMapping:          "no session or mapping",
	noteMartian:            "source is internal or external: not from outside",
	noteForHost:            "for the host itself",
	noteClash:              "the flow already has a session",
	noteIPv6:               "WinNAT does not translate IPv6",
}

func (w note) String() string {
	if int(w) < len(noteText) {
		return noteText[w]
	}
	return "note?"
}

// record appends a trace event for a call that returned res (only when
// tracing: it allocates).
func (n *NAT) record(tr *trace.Recorder, action string, before trace.Snapshot, p *packet.Parsed, res result) {
	detail := res.why.String()
	r := res.r
	switch res.v {
	case Translated:
		if res.sess != 0 && res.sess < n.next && n.sess(res.sess).flags&flagLive != 0 {
			s := n.sess(res.sess)
			detail = fmt.Sprintf("%s: %s internal %v:%d external %v:%d remote %v:%d, %s", detail, protoName(s.proto),
				fmtAddr(s.intAddr), s.intPort, fmtAddr(s.extAddr), s.extPort, fmtAddr(s.remAddr), s.remPort, s.state)
		}
	case NotHandled:
		action = "pass"
	case Dropped:
		action = "drop"
	}
	tr.Add(trace.Event{Host: n.cfg.Host, Component: "winnat", Action: action, Detail: detail, Reason: r,
		Before: before, After: trace.Snap(p, 0)})
}

func fmtAddr(a [4]byte) string { return fmt.Sprintf("%d.%d.%d.%d", a[0], a[1], a[2], a[3]) }
