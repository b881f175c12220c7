package reports

import "fmt"

// ModesSchema names the JSON layout of a Modes comparison (`hnspath modes
// --json`). Fields are only added within v1.
const ModesSchema = "hnspath-modes/v1"

// Flow statuses of a FlowResult.
const (
	StatusWorks   = "works"   // every packet of the flow reached its receiver
	StatusPartial = "partial" // some did, some did not (e.g. the handshake, not the full-size segment)
	StatusFails   = "fails"   // the flow's first packet did not arrive
	StatusSkipped = "skipped" // not replayed (not IP, or a reply whose request never arrived)
)

// Modes is a mode comparison: one workload and its traffic built as each HNS
// network mode (nat, transparent, l2bridge, l2tunnel, overlay) and replayed
// through the emulator. Package reports only renders it; the command
// `hnspath modes` fills it in (cmd/hnspath/internal/modes).
type Modes struct {
	// Schema is ModesSchema.
	Schema string `json:"schema"`
	// Workload and Traffic name the inputs: the workload file, and the
	// capture or flows the traffic came from.
	Workload string `json:"workload"`
	Traffic  string `json:"traffic"`
	// Profile is the HNS version profile the hosts were built with.
	Profile string `json:"profile,omitempty"`
	// Packets is the number of packets of the traffic.
	Packets int `json:"packets"`
	// Flows are the traffic's flows, in order of their first packet.
	Flows []ModeFlow `json:"flows"`
	// Addresses map each address of the traffic to its role and to the
	// address it has in each mode.
	Addresses []AddressMap `json:"addresses"`
	// Modes has one entry per mode, in the order they were run.
	Modes []ModeResult `json:"modes"`
	// Notes explain the comparison (how addresses were mapped, what was
	// skipped).
	Notes []string `json:"notes,omitempty"`
}

// ModeFlow is one flow of the traffic: the packets between two parties with
// one protocol and pair of ports (or ICMP query id).
type ModeFlow struct {
	ID int `json:"id"`
	// Proto is tcp, udp, icmp, icmpv6 or an IP protocol number.
	Proto string `json:"proto"`
	// Src and Dst are the initiator and the responder as "name:port" (or
	// "name" for ICMP), with the traffic's own addresses in Summary.
	Src string `json:"src"`
	Dst string `json:"dst"`
	// IPv6 reports whether the flow is IPv6.
	IPv6 bool `json:"ipv6,omitempty"`
	// Direction is outbound (endpoint to outside), inbound (outside to
	// endpoint), east-west (endpoint to an endpoint of a remote node) or
	// local (between endpoints of the host).
	Direction string `json:"direction"`
	// Packets are the 1-based packet numbers of the flow in the traffic.
	Packets []int `json:"packets"`
	// MaxSize is the largest IP packet of the flow in bytes.
	MaxSize int `json:"max_size"`
	// Summary describes the flow in one line with the traffic's addresses.
	Summary string `json:"summary"`
}

// AddressMap is one address of the traffic and what stands for it in each
// mode.
type AddressMap struct {
	// Capture is the address as it appears in the traffic.
	Capture string `json:"capture"`
	// Name is the workload's name for it.
	Name string `json:"name"`
	// Role is endpoint, "endpoint on NODE", "peer (internet)" or
	// "peer (lan)".
	Role string `json:"role"`
	// Modes gives, per mode name, the address used in that mode (or a
	// reason there is none, e.g. "none: no IPv6 on nat").
	Modes map[string]string `json:"modes"`
}

// ModeResult is what one mode did with the traffic.
type ModeResult struct {
	// Mode is nat, transparent, l2bridge, l2tunnel or overlay.
	Mode string `json:"mode"`
	// NetworkType is the HNS network type (NAT, Transparent, ...).
	NetworkType string `json:"network_type"`
	// Error is set when the mode's topology could not be built; then
	// there are no flow results.
	Error string `json:"error,omitempty"`
	// Works, Partial, Fails and Skipped count the flows by status.
	Works   int `json:"works"`
	Partial int `json:"partial"`
	Fails   int `json:"fails"`
	Skipped int `json:"skipped"`
	// Flows has one result per flow, in flow order.
	Flows []FlowResult `json:"flows"`
	// Cost is the quick per-packet cost measurement, nil when not measured.
	Cost *Cost `json:"cost,omitempty"`
	// Constraints are the mode's documented constraints, with sources.
	Constraints []Constraint `json:"constraints"`
	// Notes are facts about how the mode was built (e.g. HNS rejected the
	// workload's IPv6 addresses).
	Notes []string `json:"notes,omitempty"`
}

// FlowResult is one flow in one mode.
type FlowResult struct {
	Flow int `json:"flow"`
	// Status is StatusWorks, StatusPartial, StatusFails or StatusSkipped.
	Status string `json:"status"`
	// Sent counts the flow's packets the replay had to send (also those
	// the mode could not put on the wire at all, such as IPv6 from an
	// endpoint without an IPv6 address); Delivered those that reached
	// their receiver. Answers to requests that never arrived are not sent.
	Sent      int `json:"sent"`
	Delivered int `json:"delivered"`
	// Drop is the first packet that did not arrive, and why.
	Drop *FlowDrop `json:"drop,omitempty"`
	// Why explains the failure in the mode's terms (e.g. "inbound needs a
	// port mapping on nat").
	Why string `json:"why,omitempty"`
	// Wire describes the flow's first packet: as sent, on the wire and as
	// received.
	Wire *Wire `json:"wire,omitempty"`
}

// FlowDrop is why a packet of a flow did not reach its receiver.
type FlowDrop struct {
	// Packet is the packet's number in the traffic.
	Packet int `json:"packet"`
	// Reason is the drop reason slug (e.g. winnat-no-mapping), Text
	// Windows' wording, Layer its vocabulary (pktmon, vfp, winnat, tcpip,
	// hns, hnspath).
	Reason string `json:"reason"`
	Text   string `json:"text,omitempty"`
	Layer  string `json:"layer,omitempty"`
	// Where is host/component/port of the drop; Rule the VFP
	// layer/group/rule when a rule dropped it.
	Where string `json:"where,omitempty"`
	Rule  string `json:"rule,omitempty"`
}

// Wire describes a flow's first packet along its path.
type Wire struct {
	// Sent, OnWire and Received are one-line header summaries: the frame
	// as its sender put it in, as it crossed the local host's physical
	// NIC (empty when it did not), and as its receiver got it.
	Sent     string `json:"sent"`
	OnWire   string `json:"on_wire,omitempty"`
	Received string `json:"received,omitempty"`
	// MACOnWire says whose MAC the frame carried on the host's wire:
	// leaving the host, its source MAC; arriving, its destination MAC.
	// "container" (the endpoint's own: transparent needs MAC spoofing on a
	// VM host), "host" (the host NIC's) or another MAC.
	MACOnWire string `json:"mac_on_wire,omitempty"`
	// Translation lists address and port translations, e.g. "SNAT
	// 172.16.0.2:53000 -> 10.0.0.4:49152".
	Translation []string `json:"translation,omitempty"`
	// Encap is the encapsulation on the wire ("VXLAN VNI 4096") and
	// Overhead the bytes it added.
	Encap    string `json:"encap,omitempty"`
	Overhead int    `json:"overhead,omitempty"`
}

// Cost is a quick measurement of the emulator's per-packet cost for a
// mode's replay: every packet of the traffic injected again in rounds,
// after a first round that created the flows. `hnspath bench` measures
// properly (trials, confidence intervals).
type Cost struct {
	// NsPerPacket and PacketsPerSec are the steady-state figures.
	NsPerPacket   float64 `json:"ns_per_packet"`
	PacketsPerSec float64 `json:"pkts_per_sec"`
	// FirstNsPerPacket is the cost of the first round (flows created).
	FirstNsPerPacket float64 `json:"first_ns_per_packet"`
	// Packets per round and Rounds timed.
	Packets int `json:"packets"`
	Rounds  int `json:"rounds"`
}

// Constraint is a documented constraint of a mode.
type Constraint struct {
	Text string `json:"text"`
	// Source cites where it is documented.
	Source string `json:"source"`
}

// headline summarises the comparison's inputs.
func (m *Modes) headline() string {
	h := fmt.Sprintf("workload %s, traffic %s (%d packets, %d flows)", m.Workload, m.Traffic, m.Packets, len(m.Flows))
	if m.Profile != "" {
		h += ", HNS profile " + m.Profile
	}
	return h
}

// FlowLabel names flow id as the tables show it.
func (m *Modes) FlowLabel(id int) string { return fmt.Sprintf("%d %s", id, m.flowLabel(id)) }

// flowLabel names flow id: "udp web:53000 -> resolver:53 (outbound)".
func (m *Modes) flowLabel(id int) string {
	for _, f := range m.Flows {
		if f.ID == id {
			l := fmt.Sprintf("%s %s -> %s", f.Proto, f.Src, f.Dst)
			if f.Direction != "" {
				l += " (" + f.Direction + ")"
			}
			if f.MaxSize >= 1400 {
				l += fmt.Sprintf(" [%d-byte packets]", f.MaxSize)
			}
			return l
		}
	}
	return fmt.Sprintf("flow %d", id)
}

// flowResult returns mode mr's result for flow id.
func (mr *ModeResult) flowResult(id int) *FlowResult {
	for i := range mr.Flows {
		if mr.Flows[i].Flow == id {
			return &mr.Flows[i]
		}
	}
	return nil
}

// matrix is the per-flow, per-mode table, with the cost rows under it;
// cell renders one flow result.
func (m *Modes) matrix(cell func(*FlowResult) string) [][]string {
	head := []string{"flow"}
	for _, mr := range m.Modes {
		head = append(head, mr.Mode)
	}
	rows := [][]string{head}
	for _, f := range m.Flows {
		row := []string{fmt.Sprintf("%d %s", f.ID, m.flowLabel(f.ID))}
		for i := range m.Modes {
			mr := &m.Modes[i]
			switch fr := mr.flowResult(f.ID); {
			case mr.Error != "":
				row = append(row, "(not built)")
			case fr == nil:
				row = append(row, "-")
			default:
				row = append(row, cell(fr))
			}
		}
		rows = append(rows, row)
	}
	works := []string{"flows working"}
	ns := []string{"ns/packet (quick)"}
	pps := []string{"packets/s (quick)"}
	for _, mr := range m.Modes {
		works = append(works, fmt.Sprintf("%d/%d", mr.Works, len(mr.Flows)-mr.Skipped))
		if mr.Cost != nil {
			ns = append(ns, fmt.Sprintf("%.0f", mr.Cost.NsPerPacket))
			pps = append(pps, fmtSI(mr.Cost.PacketsPerSec))
		} else {
			ns, pps = append(ns, "-"), append(pps, "-")
		}
	}
	return append(rows, works, ns, pps)
}

// cell is a flow result in a few words: "works", "FAILS winnat-no-mapping",
// "partial mtu-mismatch", "skipped".
func (fr *FlowResult) cell() string {
	switch fr.Status {
	case StatusWorks, StatusSkipped:
		return fr.Status
	case StatusFails:
		if fr.Drop != nil {
			return "FAILS " + fr.Drop.Reason
		}
		return "FAILS"
	}
	if fr.Drop != nil {
		return "partial " + fr.Drop.Reason
	}
	return fr.Status
}

// detail is a flow result in a sentence.
func (fr *FlowResult) detail() string {
	s := fmt.Sprintf("%s (%d of %d packets delivered)", fr.Status, fr.Delivered, fr.Sent)
	if fr.Status == StatusSkipped {
		s = "skipped"
		if fr.Why != "" {
			s += ": " + fr.Why
		}
		return s
	}
	if d := fr.Drop; d != nil {
		s += fmt.Sprintf("; packet %d: %s", d.Packet, d.line())
	}
	return s
}

// line formats a drop: "winnat-no-mapping (no mapping) at host1/tcpip/eth0
// [layer/group/rule]".
func (d *FlowDrop) line() string {
	s := d.Reason
	if d.Text != "" {
		s += " (" + d.Text + ")"
	}
	if d.Where != "" {
		s += " at " + d.Where
	}
	if d.Rule != "" {
		s += " [" + d.Rule + "]"
	}
	return s
}

// lines describe the first packet along its path.
func (wr *Wire) lines() []string {
	var out []string
	if wr.Sent != "" {
		out = append(out, "sent:     "+wr.Sent)
	}
	if wr.OnWire != "" {
		l := "on wire:  " + wr.OnWire
		if wr.MACOnWire != "" {
			l += " (" + wr.MACOnWire + " MAC)"
		}
		out = append(out, l)
	}
	if wr.Received != "" {
		out = append(out, "received: "+wr.Received)
	}
	if wr.Encap != "" {
		out = append(out, fmt.Sprintf("encapsulation: %s, %d bytes", wr.Encap, wr.Overhead))
	}
	for _, t := range wr.Translation {
		out = append(out, "translation: "+t)
	}
	return out
}

// line describes the cost measurement.
func (c *Cost) line() string {
	return fmt.Sprintf("%.0f ns/packet, %s packets/s after the first round (first round: %.0f ns/packet), %d packets × %d rounds; a quick measurement, `hnspath bench` measures properly",
		c.NsPerPacket, fmtSI(c.PacketsPerSec), c.FirstNsPerPacket, c.Packets, c.Rounds)
}

// headline counts a mode's flows by status.
func (mr *ModeResult) headline() string {
	if mr.Error != "" {
		return "not built"
	}
	h := fmt.Sprintf("%d work, %d partial, %d fail", mr.Works, mr.Partial, mr.Fails)
	if mr.Skipped > 0 {
		h += fmt.Sprintf(", %d skipped", mr.Skipped)
	}
	return h
}

// addressRows is the address mapping table.
func (m *Modes) addressRows() [][]string {
	head := []string{"traffic", "name", "role"}
	for _, mr := range m.Modes {
		head = append(head, mr.Mode)
	}
	rows := [][]string{head}
	for _, a := range m.Addresses {
		row := []string{a.Capture, a.Name, a.Role}
		for _, mr := range m.Modes {
			v := a.Modes[mr.Mode]
			if v == "" {
				v = "-"
			}
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	return rows
}
