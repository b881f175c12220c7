package modes

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/reports"
	"github.com/hnspath/hnspath/result"
)

// Options configure Compare.
type Options struct {
	// Modes to run, in All's order; nil means all of them.
	Modes []string
	// CostTime is how long each mode's replay is timed for the quick cost
	// figure; 0 means DefaultCostTime, negative means no measurement.
	CostTime time.Duration
}

// DefaultCostTime is the default timing budget per mode.
const DefaultCostTime = 50 * time.Millisecond

// Compare builds the workload as each mode, replays the traffic through
// each, and reports per mode and flow what worked, what failed and why,
// the headers on the wire, the per-packet cost and the mode's documented
// constraints.
func Compare(wl *Workload, t *Traffic, opts Options) (*reports.Modes, error) {
	modes := opts.Modes
	if modes == nil {
		modes = All
	}
	for _, m := range modes {
		if networkType[m] == "" {
			return nil, fmt.Errorf("unknown mode %q (want %s)", m, strings.Join(All, ", "))
		}
	}
	modes = sortedModes(modes)
	r := newRoles(wl)
	pkts, flows := classify(t, r)
	out := &reports.Modes{Schema: reports.ModesSchema, Workload: wl.File, Traffic: t.Source, Profile: wl.Profile, Packets: len(t.Frames)}
	for _, fl := range flows {
		mf := reports.ModeFlow{ID: fl.id, Proto: result.ProtoName(fl.proto), IPv6: fl.v6, Direction: fl.dir,
			Src: namePort(fl.init, fl.initPort, fl.proto), Dst: namePort(fl.resp, fl.respPort, fl.proto),
			Summary: fmt.Sprintf("%s %s -> %s", result.ProtoName(fl.proto), hostPort(fl.initAddr, fl.initPort, fl.proto), hostPort(fl.respAddr, fl.respPort, fl.proto))}
		for _, p := range fl.pkts {
			mf.Packets = append(mf.Packets, p.Index)
			mf.MaxSize = max(mf.MaxSize, p.size)
		}
		if fl.skip != "" {
			mf.Summary += " (" + fl.skip + ")"
		}
		out.Flows = append(out.Flows, mf)
	}
	skipped := map[string][]int{}
	for _, p := range pkts {
		if p.skip != "" {
			skipped[p.skip] = append(skipped[p.skip], p.Index)
		}
	}
	for _, why := range sortedKeys(skipped) {
		out.Notes = append(out.Notes, fmt.Sprintf("packets %s not replayed: %s", ranges(skipped[why]), why))
	}
	worlds := map[string]*world{}
	for _, m := range modes {
		res, w := runMode(m, wl, r, pkts, flows, opts)
		out.Modes = append(out.Modes, res)
		worlds[m] = w
	}
	out.Addresses = addressMap(wl, r, modes, worlds)
	out.Notes = append(out.Notes,
		"addresses are mapped by role: each endpoint, node and peer of the traffic gets the address its mode gives it (table above); ports are kept, except where a mode translates them",
		"a flow works when every packet of it reaches its receiver; answers are sent to the address and port the request arrived from, as a real peer would")
	return out, nil
}

// fstate is a flow's state in one mode's replay.
type fstate struct {
	res *reports.FlowResult
	// dst and dport are where the initiator sends.
	dst   netip.Addr
	dport uint16
	// seen is set once a request reached the responder, which saw it
	// from obsSrc:obsSport to obsDst:obsDport.
	seen               bool
	obsSrc, obsDst     netip.Addr
	obsSport, obsDport uint16
	wire               bool
}

// sent is a frame injected by the replay, kept for the cost measurement.
type sent struct {
	port  fabric.PortID
	frame []byte
	now   int64
}

func runMode(mode string, wl *Workload, r *roles, pkts []*pkt, flows []*flow, opts Options) (reports.ModeResult, *world) {
	res := reports.ModeResult{Mode: mode, NetworkType: networkType[mode], Constraints: constraints[mode]}
	w, f, err := buildFabric(mode, wl, r.peers)
	if err != nil {
		res.Error = err.Error()
		return res, w
	}
	if w.v6Rejected != "" {
		res.Notes = append(res.Notes, "endpoints get no IPv6 address: HNS rejects it: "+w.v6Rejected)
	}
	rp := &replay{w: w, f: f, arp: map[arpKey]net.HardwareAddr{}}
	st := map[*flow]*fstate{}
	for _, fl := range flows {
		s := &fstate{res: &reports.FlowResult{Flow: fl.id}}
		if fl.skip != "" {
			s.res.Status = reports.StatusSkipped
			s.res.Why = fl.skip
		}
		st[fl] = s
	}
	var log []sent
	for _, p := range pkts {
		if p.skip != "" || p.fl.skip != "" {
			continue
		}
		if s, ok := rp.packet(p, st[p.fl], r); ok {
			log = append(log, s)
		}
	}
	for _, fl := range flows {
		s := st[fl]
		fr := s.res
		if fr.Status == "" {
			switch {
			case fr.Sent > 0 && fr.Delivered == fr.Sent && fr.Drop == nil:
				fr.Status = reports.StatusWorks
			case fr.Delivered > 0:
				fr.Status = reports.StatusPartial
			default:
				fr.Status = reports.StatusFails
			}
			if fr.Drop != nil && fr.Why == "" {
				fr.Why = why(mode, fl, fr.Drop, w)
			}
		}
		switch fr.Status {
		case reports.StatusWorks:
			res.Works++
		case reports.StatusPartial:
			res.Partial++
		case reports.StatusFails:
			res.Fails++
		default:
			res.Skipped++
		}
		res.Flows = append(res.Flows, *fr)
	}
	res.Notes = append(res.Notes, rp.notes...)
	if opts.CostTime >= 0 && len(log) > 0 {
		budget := opts.CostTime
		if budget == 0 {
			budget = DefaultCostTime
		}
		c, err := measure(w, log, budget)
		if err != nil {
			res.Notes = append(res.Notes, "cost not measured: "+err.Error())
		} else {
			res.Cost = c
		}
	}
	return res, w
}

// buildFabric builds a mode's fabric. When HNS rejects the workload's IPv6
// addresses (nat, overlay), it builds the mode without them and keeps HNS's
// words in w.v6Rejected.
func buildFabric(mode string, wl *Workload, peers []*Peer) (*world, *fabric.Fabric, error) {
	w, err := buildWorld(mode, wl, peers, true)
	if err != nil {
		return nil, nil, err
	}
	f, err := fabric.New(w.topo, fabric.Options{Trace: true, ObserveWire: true})
	if err == nil {
		return w, f, nil
	}
	if !wl.any6() {
		return w, nil, fmt.Errorf("HNS rejects the %s topology: %w", mode, err)
	}
	w4, err4 := buildWorld(mode, wl, peers, false)
	if err4 != nil {
		return w, nil, err4
	}
	f4, err4 := fabric.New(w4.topo, fabric.Options{Trace: true, ObserveWire: true})
	if err4 != nil {
		return w4, nil, fmt.Errorf("HNS rejects the %s topology: %w", mode, err4)
	}
	w4.v6Rejected = ipv6Error(err)
	return w4, f4, nil
}

// ipv6Error returns HNS's objection to an endpoint's IPv6 address, as
// "HCN_E_INVALID_IP: IPv6 address ... on a NAT network: WinNAT is
// IPv4-only".
func ipv6Error(err error) string {
	var ve *hns.ValidationError
	if errors.As(err, &ve) {
		for _, kind := range []string{"endpoint", "network"} {
			for _, p := range ve.Problems {
				if p.Kind == kind && strings.Contains(p.Msg, "IPv6") {
					return p.Code.Name() + ": " + p.Msg
				}
			}
		}
	}
	return err.Error()
}

type arpKey struct {
	port fabric.PortID
	ip   netip.Addr
}

// replay runs packets through one mode's fabric.
type replay struct {
	w     *world
	f     *fabric.Fabric
	arp   map[arpKey]net.HardwareAddr
	notes []string
	o     fabric.Outcome
}

// packet replays one packet of the traffic: it works out the packet's
// addresses in the mode, injects it, and records what happened in s.
func (rp *replay) packet(p *pkt, s *fstate, r *roles) (sent, bool) {
	fl := p.fl
	w := rp.w
	from, to := fl.init, fl.resp
	if !p.fwd {
		from, to = to, from
	}
	sp, tp := w.at[from], w.at[to]
	var src, dst netip.Addr
	var sport, dport uint16
	if p.fwd {
		src, sport = sp.addr(p.v6), p.sport
		if !s.dst.IsValid() {
			s.dst, s.dport = rp.reach(fl, p)
		}
		dst, dport = s.dst, s.dport
		if !src.IsValid() || !dst.IsValid() {
			who := from
			if src.IsValid() {
				who = to
			}
			rp.fail(s, p, &reports.FlowDrop{Packet: p.Index, Reason: drop.IPv6Unsupported.Slug(), Text: drop.IPv6Unsupported.Text(),
				Layer: drop.IPv6Unsupported.Layer().String(), Where: "hns: " + who + " has no IPv6 address on " + w.mode})
			s.res.Sent++
			return sent{}, false
		}
	} else {
		if !s.seen {
			return sent{}, false // the request never arrived: nobody answers
		}
		src, sport, dst, dport = s.obsDst, s.obsDport, s.obsSrc, s.obsSport
	}
	if fl.proto != 6 && fl.proto != 17 {
		dport = sport // the ICMP echo identifier
	}
	if sp.mtu > 0 && p.size > sp.mtu {
		// The endpoint's vNIC has a smaller MTU (overlay: 1450,
		// EncapOverhead 50, microsoft/SDN#517): its stack cannot send the
		// packet as it is (it fragments it or uses a smaller MSS).
		rp.fail(s, p, &reports.FlowDrop{Packet: p.Index, Reason: drop.MTUMismatch.Slug(), Text: drop.MTUMismatch.Text(),
			Layer: drop.MTUMismatch.Layer().String(), Where: fmt.Sprintf("%s: a %d-byte packet over the endpoint MTU %d", sp.port, p.size, sp.mtu)})
		s.res.Sent++
		return sent{}, false
	}
	pid, ok := rp.f.PortByName(sp.port)
	if !ok {
		rp.fail(s, p, &reports.FlowDrop{Packet: p.Index, Reason: "no-such-port", Text: "the mode has no port " + sp.port, Layer: "hnspath"})
		return sent{}, false
	}
	port := rp.f.Port(pid)
	dstMAC, err := rp.nextHopMAC(pid, sp, dst)
	if err != nil {
		rp.fail(s, p, &reports.FlowDrop{Packet: p.Index, Reason: drop.NeighborUnresolved.Slug(), Text: err.Error(), Layer: drop.NeighborUnresolved.Layer().String()})
		return sent{}, false
	}
	frame, err := rewrite(p.Data, net.HardwareAddr(port.MAC[:]), dstMAC, src, dst, sport, dport)
	if err != nil {
		rp.fail(s, p, &reports.FlowDrop{Packet: p.Index, Reason: "invalid-packet", Text: err.Error(), Layer: "hnspath"})
		return sent{}, false
	}
	now := p.TimeNS + startNS
	rp.f.Inject(pid, frame, now, &rp.o)
	res := hostprobe.FromOutcome(rp.f, rp.w.mode, p.Index, hostprobe.Input{Port: sp.port, Frame: frame, TimeNS: now}, &rp.o)
	s.res.Sent++
	var got []byte
	for _, o := range res.Outputs {
		if o.Kind == result.KindDelivered && o.Port == tp.port {
			got = o.Frame
			break
		}
	}
	if got != nil {
		s.res.Delivered++
		if p.fwd && !s.seen {
			h := parseHeaders(got)
			s.seen = true
			s.obsSrc, s.obsDst, s.obsSport, s.obsDport = h.src, h.dst, h.sport, h.dport
			if fl.proto != 6 && fl.proto != 17 {
				s.obsDport = h.sport
			}
		}
	} else if s.res.Drop == nil {
		s.res.Drop = dropOf(res, p.Index, tp.port)
	}
	if p.fwd && !s.wire {
		s.wire = true
		s.res.Wire = rp.wire(fl, frame, res, sp, tp, got)
	}
	return sent{port: pid, frame: frame, now: now}, true
}

// startNS is the virtual time of the traffic's first packet (after the
// address resolution at time 0).
const startNS = int64(time.Millisecond)

func (rp *replay) fail(s *fstate, p *pkt, d *reports.FlowDrop) {
	if s.res.Drop == nil {
		s.res.Drop = d
	}
}

// reach returns where a flow's initiator sends its packets in the mode: the
// responder's address, except on nat, where an endpoint is reached from
// outside its host through the host's address and the published port
// (windows-behaviour.md §2.1: "multi-node: only through ports exposed on the
// host").
func (rp *replay) reach(fl *flow, p *pkt) (netip.Addr, uint16) {
	w := rp.w
	tp, sp := w.at[fl.resp], w.at[fl.init]
	a := tp.addr(p.v6)
	if !a.IsValid() {
		return a, 0
	}
	if w.mode == NAT && tp.host != "" && tp.host != sp.host {
		port := p.dport
		if ep, ok := rp.endpoint(fl.resp); ok {
			for _, x := range ep.Expose {
				if x.Proto == fl.proto && x.Internal == p.dport {
					port = x.External
				}
			}
		}
		return w.hostNIC(tp.host, p.v6), port
	}
	return a, p.dport
}

func (rp *replay) endpoint(name string) (*Endpoint, bool) {
	for _, e := range rp.w.wl.endpoints() {
		if e.Name == name {
			return e, true
		}
	}
	return nil, false
}

// nextHopMAC returns the destination MAC a sender at port pid puts on a
// frame to dst: for a destination on one of its subnets, dst's; else its
// IPv4 gateway's (IPv6 too: in every mode one device routes both). It asks
// by ARP through the fabric, as a real sender learns it, and falls back to
// the MAC of the port that owns the address (containers do not answer ARP
// in the emulator).
func (rp *replay) nextHopMAC(pid fabric.PortID, sp *placed, dst netip.Addr) (net.HardwareAddr, error) {
	port := rp.f.Port(pid)
	hop := sp.gw4
	for _, pf := range sp.pfx {
		if pf.Contains(dst) {
			hop = dst
		}
	}
	if !hop.IsValid() {
		return nil, fmt.Errorf("%s has no gateway to reach %s", port.Name, dst)
	}
	k := arpKey{pid, hop}
	if m, ok := rp.arp[k]; ok {
		return m, nil
	}
	var src netip.Addr
	for _, a := range port.IPs {
		if a.Is4() {
			src = a
			break
		}
	}
	if hop.Is4() && src.IsValid() {
		var o fabric.Outcome
		rp.f.Inject(pid, header.ARPRequestFrame(port.MAC, src, hop), 0, &o)
		for _, out := range o.Outputs {
			if out.Port == pid && out.Kind == fabric.Delivered {
				if m, ok := header.ARPReplySender(out.Frame, hop); ok {
					rp.arp[k] = net.HardwareAddr(m[:])
					return rp.arp[k], nil
				}
			}
		}
	}
	if m, ok := rp.owner(hop); ok {
		rp.arp[k] = m
		return m, nil
	}
	return nil, fmt.Errorf("%s: no neighbour answers for %s", port.Name, hop)
}

// owner returns the MAC of the port that has address a.
func (rp *replay) owner(a netip.Addr) (net.HardwareAddr, bool) {
	for _, p := range rp.f.Ports() {
		if p.Kind == fabric.PortHostOS {
			continue
		}
		for _, ip := range p.IPs {
			if ip == a {
				return net.HardwareAddr(p.MAC[:]), true
			}
		}
	}
	return nil, false
}

// dropOf says why a packet did not reach port want: its first drop, or
// where it went instead.
func dropOf(p *result.Packet, index int, want string) *reports.FlowDrop {
	if len(p.Drops) > 0 {
		d := p.Drops[0]
		fd := &reports.FlowDrop{Packet: index, Reason: d.Reason, Text: d.Text, Layer: d.Layer}
		var where []string
		for _, s := range []string{d.Host, d.Component, d.Where} {
			if s != "" {
				where = append(where, s)
			}
		}
		fd.Where = strings.Join(where, "/")
		if d.VFPLayer != "" || d.VFPGroup != "" || d.VFPRule != "" {
			fd.Rule = d.VFPLayer + "/" + d.VFPGroup + "/" + d.VFPRule
		}
		return fd
	}
	var at []string
	for _, o := range p.Delivered() {
		at = append(at, o.Port)
	}
	if len(at) > 0 {
		return &reports.FlowDrop{Packet: index, Reason: "misdelivered", Layer: "hnspath",
			Text: fmt.Sprintf("delivered to %s, not %s", strings.Join(at, ", "), want)}
	}
	return &reports.FlowDrop{Packet: index, Reason: "consumed", Layer: "hnspath", Text: "nothing delivered and nothing dropped"}
}

// measure times the replay again on a fresh fabric without tracing: a
// first round (flows created), then rounds until budget is spent.
func measure(w *world, log []sent, budget time.Duration) (*reports.Cost, error) {
	f, err := fabric.New(w.topo, fabric.Options{})
	if err != nil {
		return nil, err
	}
	var o fabric.Outcome
	span := log[len(log)-1].now + int64(time.Millisecond)
	start := time.Now()
	for _, s := range log {
		f.Inject(s.port, s.frame, s.now, &o)
	}
	first := time.Since(start)
	rounds := 0
	start = time.Now()
	var el time.Duration
	for el < budget && rounds < 1_000_000 {
		rounds++
		off := int64(rounds) * span
		for _, s := range log {
			f.Inject(s.port, s.frame, s.now+off, &o)
		}
		el = time.Since(start)
	}
	n := float64(len(log))
	ns := float64(el.Nanoseconds()) / (n * float64(rounds))
	return &reports.Cost{NsPerPacket: ns, PacketsPerSec: 1e9 / ns, FirstNsPerPacket: float64(first.Nanoseconds()) / n,
		Packets: len(log), Rounds: rounds}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ranges formats packet numbers as "1-3, 7".
func ranges(ns []int) string {
	var b strings.Builder
	for i := 0; i < len(ns); {
		j := i
		for j+1 < len(ns) && ns[j+1] == ns[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", ns[i], ns[j])
		} else {
			fmt.Fprintf(&b, "%d", ns[i])
		}
		i = j + 1
	}
	return b.String()
}
