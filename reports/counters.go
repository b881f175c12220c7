package reports

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/result"
)

// Counters is a run seen as pktmon counters shows a Windows host: for each
// component a packet passed (a vSwitch port, VFP on a port, WinNAT, the
// management OS's TCP/IP on an interface, a NIC), flow counters (packets
// and bytes in and out) and drop counters (with the most recent drop
// reason, as pktmon counters --drop-reason shows it), and the edges
// packets took between components.
//
// They are computed from the results' traces: a stage is a packet going
// into a component; it came out unless the component dropped it there.
// pktmon numbers its components; Ids here number them in the order packets
// first met them.
type Counters struct {
	Scenario   string
	Packets    int
	Delivered  int
	Dropped    int
	Components []*ComponentCounters
	Edges      []EdgeCounter
}

// ComponentCounters are one component's counters.
type ComponentCounters struct {
	ID                     int
	Name                   string // "host1 vswitch web", "host1 winnat", "router router"
	InPackets, InBytes     int
	OutPackets, OutBytes   int
	DropPackets, DropBytes int
	// LastDrop is the most recent drop's reason: slug, Windows' text and
	// number (pktmon DropReason, VFP drop reason) when it has one.
	LastDrop string
}

// EdgeCounter counts the packets that went from one component to the next.
type EdgeCounter struct {
	From, To int // component Ids
	Packets  int
}

// NewCounters computes the counters of a scenario's results. Results
// without a trace are an error naming the packet: there is nothing to
// count (hnspath run --no-trace).
func NewCounters(scenario string, pkts []*result.Packet) (*Counters, error) {
	c := &Counters{Scenario: scenario}
	byName := map[string]*ComponentCounters{}
	edges := map[[2]int]int{}
	var order [][2]int
	addEdge := func(from, to int) {
		if from == 0 || from == to {
			return
		}
		k := [2]int{from, to}
		if edges[k] == 0 {
			order = append(order, k)
		}
		edges[k]++
	}
	for _, p := range pkts {
		if len(p.Trace) == 0 {
			return nil, fmt.Errorf("%s: packet %d: no trace (results written with --no-trace have nothing to count)", scenario, p.Index)
		}
		c.Packets++
		switch p.Outcome {
		case result.OutcomeDelivered:
			c.Delivered++
		case result.OutcomeDropped:
			c.Dropped++
		}
		size := len(p.Frame)
		prev, host := 0, ""
		for i := range p.Trace {
			if p.Trace[i].Host != "" {
				host = p.Trace[i].Host // for VFP stages before the first that names it
				break
			}
		}
		pending := map[int]bool{} // components that made a packet from one whose drop is still to come
		for i := 0; i < len(p.Trace); i++ {
			s := &p.Trace[i]
			if s.Host != "" {
				host = s.Host
			}
			name := stageName(s, host)
			cc := byName[name]
			if cc == nil {
				cc = &ComponentCounters{ID: len(c.Components) + 1, Name: name}
				byName[name] = cc
				c.Components = append(c.Components, cc)
			}
			if s.Before != nil && s.Before.Len > 0 {
				size = s.Before.Len
			}
			if originates(s) {
				// The packet reached the component, which made a new one
				// (an ICMP error, an ARP reply) that goes on from here;
				// the trace records the first one's drop later.
				addEdge(prev, cc.ID)
				cc.InPackets++
				cc.InBytes += size
				if s.After != nil && s.After.Len > 0 {
					size = s.After.Len
				}
				cc.OutPackets++
				cc.OutBytes += size
				prev = cc.ID
				pending[cc.ID] = true
				continue
			}
			if s.Action == "drop" && i+1 < len(p.Trace) {
				if n := &p.Trace[i+1]; n.Action == "drop" && n.Component == s.Component && (n.Host == s.Host || n.Host == "") {
					// One drop recorded twice (WinNAT says why, then its
					// interface drops): the second stage counts it.
					continue
				}
			}
			if s.Action == "drop" && pending[cc.ID] {
				delete(pending, cc.ID)
				prev = cc.ID // counted in when it arrived
			} else if prev != cc.ID {
				addEdge(prev, cc.ID)
			}
			if s.Action == "drop" {
				if prev != cc.ID {
					cc.InPackets++ // a visit that is only the drop
					cc.InBytes += size
				}
				cc.DropPackets++
				cc.DropBytes += size
				cc.LastDrop = lastDrop(s, p)
				prev = 0
				continue
			}
			// One visit of a component may be several stages (VFP's
			// layers): count it once, in at its first stage and out at
			// its last.
			in := size
			for i+1 < len(p.Trace) && stageName(&p.Trace[i+1], host) == name && p.Trace[i+1].Action != "drop" && !originates(&p.Trace[i+1]) {
				if s.After != nil && s.After.Len > 0 {
					size = s.After.Len
				}
				i++
				s = &p.Trace[i]
			}
			if s.After != nil && s.After.Len > 0 {
				size = s.After.Len
			}
			cc.InPackets++
			cc.InBytes += in
			if i+1 < len(p.Trace) && stageName(&p.Trace[i+1], host) == name && p.Trace[i+1].Action == "drop" {
				prev = cc.ID
				continue // dropped in this visit: no way out
			}
			cc.OutPackets++
			cc.OutBytes += size
			prev = cc.ID
		}
	}
	for _, k := range order {
		c.Edges = append(c.Edges, EdgeCounter{From: k[0], To: k[1], Packets: edges[k]})
	}
	return c, nil
}

// stageName names a stage's component as the trace prints it; a VFP
// stage, which names no host, takes the host of the stages around it.
func stageName(s *result.Stage, host string) string {
	h := s.Host
	if h == "" && s.Component == "vfp" {
		h = host
	}
	var parts []string
	for _, x := range []string{h, s.Component, s.Port} {
		if x != "" {
			parts = append(parts, x)
		}
	}
	return strings.Join(parts, " ")
}

// originates reports whether a stage made a new packet rather than passed
// one on (the trace prints its headers whole).
func originates(s *result.Stage) bool {
	return s.Action == "icmp-error" || s.Action == "answer-arp"
}

// lastDrop describes a drop stage: the result's drop record at the same
// component when there is one (it has Windows' text and number), else the
// stage's reason.
func lastDrop(s *result.Stage, p *result.Packet) string {
	for i := range p.Drops {
		d := &p.Drops[i]
		if d.Host == s.Host && d.Component == s.Component && d.Where == s.Port {
			out := d.Reason
			if d.Text != "" {
				out += " (" + d.Text + ")"
			}
			if d.VFPLayer != "" || d.VFPRule != "" {
				out += " [" + d.VFPLayer + "/" + d.VFPGroup + "/" + d.VFPRule + "]"
			}
			switch {
			case d.Layer == "pktmon" && d.Code > 0:
				out += ", pktmon DropReason " + strconv.Itoa(d.Code)
			case d.Layer == "vfp" && d.Code > 0:
				out += ", VFP drop reason " + strconv.Itoa(d.Code)
			}
			return out
		}
	}
	if s.Reason != "" {
		return s.Reason
	}
	return s.Detail
}

// CounterOptions choose what WriteCounters shows, as pktmon counters'
// flags do.
type CounterOptions struct {
	// Type is "all" (default), "flow" or "drop" (pktmon counters --type).
	Type string
	// DropReason shows each drop counter's most recent drop reason
	// (pktmon counters --drop-reason).
	DropReason bool
}

// WriteCounters prints counters as a table in the manner of pktmon
// counters: one row per component counter (Flow, Drop) with packets and
// bytes in and out, then the edges.
func WriteCounters(w io.Writer, cs []*Counters, opts CounterOptions) error {
	var b bytes.Buffer
	for i, c := range cs {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s: %d packets in, %d delivered, %d dropped\n\n", c.Scenario, c.Packets, c.Delivered, c.Dropped)
		rows := [][]string{
			{"Id", "Name", "Counter", "Direction", "Packets", "Bytes", "|", "Direction", "Packets", "Bytes"},
			{"--", "----", "-------", "---------", "-------", "-----", "|", "---------", "-------", "-----"},
		}
		for _, cc := range c.Components {
			first := true
			id, name := strconv.Itoa(cc.ID), cc.Name
			row := func(r ...string) {
				if first {
					rows = append(rows, append([]string{id, name}, r...))
					first = false
				} else {
					rows = append(rows, append([]string{"", ""}, r...))
				}
			}
			if opts.Type != "drop" && (cc.InPackets > 0 || cc.OutPackets > 0) {
				row("Flow", "In", strconv.Itoa(cc.InPackets), strconv.Itoa(cc.InBytes), "|", "Out", strconv.Itoa(cc.OutPackets), strconv.Itoa(cc.OutBytes))
			}
			if opts.Type != "flow" && cc.DropPackets > 0 {
				row("Drop", "In", strconv.Itoa(cc.DropPackets), strconv.Itoa(cc.DropBytes), "|", "Out", "0", "0")
				if opts.DropReason && cc.LastDrop != "" {
					rows = append(rows, []string{"", "", "", "Drop reason: " + cc.LastDrop})
				}
			}
		}
		countersTable(&b, rows)
		if opts.Type != "drop" && len(c.Edges) > 0 {
			b.WriteString("\nEdges (packets from one component to the next):\n")
			names := map[int]string{}
			for _, cc := range c.Components {
				names[cc.ID] = cc.Name
			}
			er := [][]string{{"From", "", "To", "", "Packets"}}
			for _, e := range c.Edges {
				er = append(er, []string{strconv.Itoa(e.From), names[e.From], strconv.Itoa(e.To), names[e.To], strconv.Itoa(e.Packets)})
			}
			countersTable(&b, er)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// countersTable aligns rows: numbers right, text left; a row of one long
// cell (a drop reason) does not widen its column.
func countersTable(b *bytes.Buffer, rows [][]string) {
	var width []int
	for _, r := range rows {
		if len(r) == 4 && strings.HasPrefix(r[3], "Drop reason: ") {
			continue
		}
		for j, c := range r {
			if j >= len(width) {
				width = append(width, 0)
			}
			width[j] = max(width[j], len(c))
		}
	}
	for _, r := range rows {
		var line strings.Builder
		for j, c := range r {
			if j > 0 {
				line.WriteString(" ")
			}
			if j == len(r)-1 && len(r) == 4 && strings.HasPrefix(c, "Drop reason: ") {
				line.WriteString(c)
				break
			}
			if isCount(c) && j != 0 {
				line.WriteString(strings.Repeat(" ", width[j]-len(c)) + c)
			} else if j == 0 {
				line.WriteString(strings.Repeat(" ", width[j]-len(c)) + c)
			} else {
				line.WriteString(c + strings.Repeat(" ", width[j]-len(c)))
			}
		}
		b.WriteString(" " + strings.TrimRight(line.String(), " ") + "\n")
	}
}

func isCount(s string) bool {
	if s == "" {
		return false
	}
	_, err := strconv.Atoi(s)
	return err == nil
}
