package scenarios

import (
	"errors"
	"fmt"
	"github.com/hnspath/hnspath/internal/suggest"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/emulator/drop"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/result"
	"github.com/hnspath/hnspath/spec"
)

// TraceRequest says which packet to trace, through which topology.
type TraceRequest struct {
	// Topology is the world; with Scenario it may be nil (the scenario's
	// topology is used).
	Topology *Topology
	// Scenario, with Packet and no Spec: run the scenario's packets and
	// trace packet Packet (the packets before it set up state, such as NAT
	// sessions, silently).
	Scenario *Scenario
	// At and Spec: trace one packet spec injected at port At.
	At   string
	Spec string
	// Pcap and Packet: trace packet Packet of a capture, after running the
	// capture's earlier packets silently; Port is the port of pcap packets.
	Pcap   string
	Packet int
	Port   string
}

// errStop ends a run early once the traced packet was captured.
var errStop = errors.New("stop")

// Trace runs one packet with tracing on and returns its result.
func Trace(req TraceRequest) (*result.Packet, error) {
	topo := req.Topology
	if topo == nil && req.Scenario != nil {
		topo = req.Scenario.Topology
	}
	if topo == nil {
		return nil, errors.New("trace: no topology")
	}
	if req.Scenario != nil && req.Scenario.ExpectError != nil {
		return nil, fmt.Errorf("trace: scenario %s has no packets: its topology must be rejected", req.Scenario.Name)
	}
	if req.Scenario != nil && req.Scenario.hasSteps() {
		var err error
		if topo, err = topo.forSteps(); err != nil {
			return nil, err
		}
	}
	f, err := topo.Build(fabric.Options{Trace: true, ObserveWire: true})
	if err != nil {
		return nil, err
	}
	sc := req.Scenario
	if sc == nil {
		sc = &Scenario{Name: "trace", File: "trace", Topology: topo, files: osFiles{}}
	}
	r := &runner{sc: sc, f: f, arps: map[arpKey]net.HardwareAddr{}}
	r.res = newResolver(f, topo, r.arp)
	r.ev = newEvaluator(sc, r.res)
	var got *result.Packet
	switch {
	case req.Spec != "":
		s, err := spec.Parse(req.Spec)
		if err != nil {
			return nil, fmt.Errorf("trace: spec: %w", err)
		}
		p := &PacketInput{At: req.At, Frame: s, FrameText: req.Spec, Field: "spec"}
		if _, ok := f.PortByName(req.At); !ok {
			return nil, fmt.Errorf("trace: unknown port %q (%sports: %s)", req.At, portHint(f, req.At), portNames(f))
		}
		r.opts.Results = func(p *result.Packet) { got = p }
		if err := r.inline(p, 0, 1000); err != nil {
			return nil, err
		}
		if r.index != 1 {
			return nil, fmt.Errorf("trace: the spec makes %d packets, want one", r.index)
		}
	case req.Pcap != "":
		if req.Packet < 1 {
			return nil, errors.New("trace: give the packet number (1-based) of the capture")
		}
		rd, err := pcapio.Open(req.Pcap, req.Port)
		if err != nil {
			return nil, err
		}
		defer rd.Close()
		var out fabric.Outcome
		var first int64
		for n := 0; ; n++ {
			pkt, err := rd.Next()
			if err == io.EOF {
				return nil, fmt.Errorf("trace: %s has only %d packets", req.Pcap, n)
			}
			if err != nil {
				return nil, err
			}
			id, ok := f.PortByName(pkt.Port)
			if !ok {
				return nil, fmt.Errorf("trace: %s: packet %d: unknown port %q (%sports: %s)", req.Pcap, pkt.Index, pkt.Port, portHint(f, pkt.Port), portNames(f))
			}
			if pkt.Index == 1 {
				first = pkt.Time.UnixNano()
			}
			t := max(pkt.Time.UnixNano()-first, r.now)
			r.now = t
			f.Inject(id, pkt.Data, t, &out)
			if pkt.Index == req.Packet {
				return toResult(f, "trace", pkt.Index, id, t, pkt.Data, &out, true), nil
			}
		}
	case req.Scenario != nil:
		if req.Packet < 1 {
			return nil, errors.New("trace: give the packet number (1-based) of the scenario")
		}
		r.opts.Results = func(p *result.Packet) {
			if p.Index == req.Packet {
				got = p
			}
		}
		r.stopAt = req.Packet
		err := r.inputs()
		if err != nil && !errors.Is(err, errStop) {
			return nil, err
		}
		if got == nil {
			return nil, fmt.Errorf("trace: scenario %s has only %d packets", sc.Name, r.index)
		}
	default:
		return nil, errors.New("trace: give a spec, a capture and packet number, or a scenario and packet number")
	}
	return got, nil
}

// dropNumber names a drop reason's number in Windows' table, as the text
// output shows it next to the name: "pktmon DropReason 20" for the
// vmswitch/pktmon table, "VFP drop reason 11" for VfpExt's; "" when Windows
// has no number for the reason (WinNAT, TCP/IP, HNS and the emulator's own).
// layer and code are a result's (code 0 is the JSON's "no code" unless the
// slug's own table entry says 0).
func dropNumber(slug, layer string, code int) string {
	if r, ok := drop.Parse(slug); ok {
		layer, code = r.Layer().String(), r.Code()
	}
	if code < 0 {
		return ""
	}
	switch layer {
	case drop.LayerPktmon.String():
		return "pktmon DropReason " + strconv.Itoa(code)
	case drop.LayerVFP.String():
		return "VFP drop reason " + strconv.Itoa(code)
	}
	return ""
}

// windowsRoute rewords the management OS routing stage's detail
// ("PREFIX via NEXTHOP dev IFACE", NEXTHOP being the destination itself for
// an on-link route) in Get-NetRoute's terms: DestinationPrefix, NextHop
// (0.0.0.0 or :: for an on-link route, as Windows prints it) and
// InterfaceAlias. dst is the packet's destination. A detail of another form
// is returned unchanged.
func windowsRoute(detail, dst string) string {
	pfx, rest, ok := strings.Cut(detail, " via ")
	if !ok {
		return detail
	}
	nh, alias, ok := strings.Cut(rest, " dev ")
	if !ok {
		return detail
	}
	p, err := netip.ParsePrefix(pfx)
	if err != nil {
		return detail
	}
	next := nh
	if nh == dst {
		next = "0.0.0.0"
		if p.Addr().Is6() {
			next = "::"
		}
		next += " (on-link)"
	}
	if strings.ContainsAny(alias, " ()") {
		alias = `"` + alias + `"`
	}
	return fmt.Sprintf("DestinationPrefix %s, NextHop %s, InterfaceAlias %s", pfx, next, alias)
}

// stageDetail is a stage's detail as the text trace prints it: routes of
// the management OS (component tcpip) in Windows' terms.
func stageDetail(s *result.Stage) string {
	if s.Component == "tcpip" && s.Action == "route" {
		dst := ""
		if s.After != nil {
			dst = s.After.Dst
		}
		return windowsRoute(s.Detail, dst)
	}
	return s.Detail
}

// originates reports whether a stage made a new packet (an ICMP error, an
// ARP reply) rather than changed the one it got: its headers are shown
// whole, not as changes.
func originates(s *result.Stage) bool {
	return s.Action == "icmp-error" || s.Action == "answer-arp"
}

// portHint is "did you mean \"x\"? " for the port of f closest to a
// mistyped name, or "".
func portHint(f *fabric.Fabric, name string) string {
	var names []string
	for _, p := range f.Ports() {
		names = append(names, p.Name)
	}
	return suggest.Mean(name, names)
}
