// Package trace records what each stage of the emulated datapath did to a
// packet: the component and port, the action, VFP layer/group/rule names,
// a drop reason, and the header fields before and after.
//
// Recording is off by default. Stages check Enabled first, so the hot path
// pays one branch; with recording on, events are appended and may allocate
// (trace runs are for people, not benchmarks).
package trace

import (
	"net/netip"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// Snapshot is the header fields of a frame worth showing in a trace. It is a
// value type without pointers.
type Snapshot struct {
	Valid          bool
	Len            int
	SrcMAC, DstMAC header.MAC
	VID            uint16
	Kind           packet.Kind
	Src, Dst       netip.Addr
	Proto          uint8
	SrcPort        uint16
	DstPort        uint16
	TTL            uint8
	TCPFlags       uint8
	ICMPType       uint8
	// VXLAN: the VNI and the inner addresses, when the frame is encapsulated.
	Encap              bool
	VNI                uint32
	InnerSrc, InnerDst netip.Addr
}

// Snap takes a snapshot of a decoded frame. For a VXLAN frame (UDP to
// vxlanPort) it also decodes the inner addresses.
func Snap(p *packet.Parsed, vxlanPort uint16) Snapshot {
	s := Snapshot{
		Valid: p.Valid(), Len: len(p.Bytes()), SrcMAC: p.SrcMAC, DstMAC: p.DstMAC, VID: p.VID, Kind: p.Kind,
		Src: p.Src, Dst: p.Dst, Proto: p.IPProto, SrcPort: p.SrcPort, DstPort: p.DstPort, TTL: p.TTL,
		TCPFlags: p.TCPFlags, ICMPType: p.ICMPType,
	}
	if vxlanPort != 0 && p.IPProto == header.ProtoUDP && p.L4 != 0 && p.DstPort == vxlanPort {
		vx := header.VXLAN(p.UDP().Payload())
		if vx.IsValid() {
			s.Encap = true
			s.VNI = vx.VNI()
			var in packet.Parsed
			in.Decode(vx.Inner())
			s.InnerSrc, s.InnerDst = in.Src, in.Dst
		}
	}
	return s
}

// Event is one stage a packet passed.
type Event struct {
	Host      string
	Component string // vswitch, vfp, winnat, tcpip, host-vnic, nic, underlay, router, peer
	Port      string
	Action    string // forward, deliver, rewrite, snat, dnat, encap, decap, route, answer-arp, flood, drop, ...
	Detail    string
	Layer     string // VFP layer, group and rule, when a rule decided
	Group     string
	Rule      string
	Reason    drop.Reason
	Before    Snapshot
	After     Snapshot
}

// Recorder collects events. A nil *Recorder records nothing.
type Recorder struct {
	On     bool
	Events []Event
}

// Enabled reports whether events should be recorded.
func (r *Recorder) Enabled() bool { return r != nil && r.On }

// Add appends an event if recording is on.
func (r *Recorder) Add(e Event) {
	if r.Enabled() {
		r.Events = append(r.Events, e)
	}
}

// Reset forgets recorded events, keeping the storage.
func (r *Recorder) Reset() {
	if r != nil {
		clear(r.Events)
		r.Events = r.Events[:0]
	}
}
