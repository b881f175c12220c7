package vfp

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/flow"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/trace"
)

// Sweep budgets of the slow path: how many entries of the unified flow
// table, and of each stateful layer's flow table, it examines for
// idleness. A new flow adds one unified flow and two layer flows per layer.
// With a budget of b entries per entry added, a sweep cycle over a table
// of U entries takes U/b new flows, so the table holds the live flows plus
// U/b flows' worth of idle ones: U = live·b/(b-1). 8 per entry added keeps
// a port that sees ever-new 5-tuples within 15% of its live flows instead
// of growing towards FlowCapacity (TestIdleFlowsGo; 4 per flow let layer
// tables reach twice their live flows).
const (
	sweepPerSlowPath      = 8  // unified flow table
	sweepLayerPerSlowPath = 16 // each stateful layer's flow table
)

// Verdict is the outcome of Process.
type Verdict uint8

// Result is what Process did with a packet: the verdict and, on Drop, the
// reason and which layer, group and rule decided. It is three words,
// returned in registers; the names are shared and read-only.
type Result struct {
	Verdict Verdict
	Reason  drop.Reason // drop.None on Pass
	names   *DropInfo   // layer, group and rule of a drop; nil when none
}

// Drop returns the drop's reason, layer, group and rule (zero on Pass).
func (r Result) Drop() DropInfo {
	d := DropInfo{Reason: r.Reason}
	if r.names != nil {
		d.Layer, d.Group, d.Rule = r.names.Layer, r.names.Group, r.names.Rule
	}
	return d
}

var passed = Result{}

// dropped returns a Drop result; names must not change afterwards.
func dropped(reason drop.Reason, names *DropInfo) Result {
	return Result{Verdict: Drop, Reason: reason, names: names}
}

// Verdicts.
const (
	Pass Verdict = iota // the packet goes on, possibly rewritten, encapsulated or decapsulated
	Drop                // the packet is dropped; Result.Drop says why
)

// String returns "pass" or "drop".
func (v Verdict) String() string {
	if v == Drop {
		return "drop"
	}
	return "pass"
}

// ufEntry is a cached decision: a transposition to apply, or a drop.
type ufEntry struct {
	gen     uint64
	ht      *htList // the decision, shared with flows that took the same path
	refs    []lfRef
	misses  []lfMiss // stateful layers where the flow had no layer flow
	packets uint64
	bytes   uint64
}

// lfRef points a unified flow at a layer flow it depends on.
type lfRef struct {
	l  *Layer
	h  flow.Handle
	id uint64
}

// lfMiss records that a stateful layer had no flow for the packet when the
// entry was made. If one appears later (the reply of a flow created since),
// the entry is stale: its decision was made without the flow.
type lfMiss struct {
	l     *Layer
	k     lfKey
	epoch uint64 // the layer's flow epoch when last checked
}

// lfKey keys a layer flow: the direction and the tuple of the packet as
// the layer sees it.
type lfKey struct {
	t   packet.Tuple
	dir Direction
	pad uint8
}

// layerFlow is one direction of a flow pair in a stateful layer. What it
// does (its rule and rewrite) is an lfAct shared with every flow that does
// the same, so that the entry itself is small.
type layerFlow struct {
	id     uint64
	pairID uint64
	pair   flow.Handle
	fin    uint8 // FIN seen: bit 0 from the initiator, bit 1 from the responder
	act    *lfAct
	nat    natRef
}

type layerFlows struct {
	t     *flow.Table[lfKey, layerFlow]
	epoch uint64 // counts flow insertions
	acts  lfActs
}

func newLayerFlows(capacity int) *layerFlows {
	lf := &layerFlows{t: flow.NewTable[lfKey, layerFlow](capacity)}
	lf.acts.init()
	lf.t.SetRelease(func(f *layerFlow) { lf.acts.put(f.act) })
	return lf
}

// live returns the flow at h if it is still the one with id and not idle
// past its timeout.
func (lf *layerFlows) live(h flow.Handle, id uint64, now int64) *layerFlow {
	if lf == nil || h == 0 {
		return nil
	}
	f := lf.t.Get(h)
	if f.id != id || id == 0 {
		return nil
	}
	if to := lf.t.Timeout(h); to != 0 && now-lf.t.LastSeen(h) > to {
		return nil
	}
	return f
}

// touch keeps both directions of a flow pair and its NAT mapping alive.
func (lf *layerFlows) touch(h flow.Handle, f *layerFlow, now int64) {
	lf.t.Touch(h, now)
	if p := lf.live(f.pair, f.pairID, now); p != nil {
		lf.t.Touch(f.pair, now)
	}
	f.nat.touch(now)
}

func (lf *layerFlows) deletePair(h flow.Handle) {
	f := lf.t.Get(h)
	if p := lf.t.Get(f.pair); f.pair != 0 && p.id == f.pairID && p.id != 0 {
		lf.t.Delete(f.pair)
	}
	lf.t.Delete(h)
}

// pending is a flow pair to create once the packet has passed every layer.
type pending struct {
	l        *Layer
	r        *Rule
	fwdKey   lfKey
	revKey   lfKey
	fwd, rev modify
	mssF     uint16
	mssR     uint16
	nat      natRef
	ttl      int64
}

// slowState is the slow path's scratch, kept in the Port to avoid
// allocating per new flow.
type slowState struct {
	ht      htBuilder
	refs    []lfRef
	misses  []lfMiss
	rules   []*Rule
	pend    []pending
	newNAT  []natRef
	ttl     int64
	mtuDrop bool
	mtuInfo DropInfo
	encap   DropInfo
	size    int // bytes of the packet as it entered
}

func (s *slowState) reset(ttl int64) {
	s.ht.reset()
	s.refs = s.refs[:0]
	s.misses = s.misses[:0]
	s.rules = s.rules[:0]
	s.pend = s.pend[:0]
	s.newNAT = s.newNAT[:0]
	s.ttl = ttl
	s.mtuDrop = false
	s.mtuInfo = DropInfo{}
	s.encap = DropInfo{}
}

// vxlanOf returns the VXLAN header of a packet that is UDP to one of the
// port's VXLAN ports.
func (p *Port) vxlanOf(pp *packet.Parsed) (header.VXLAN, bool) {
	if pp.IPProto != header.ProtoUDP || pp.L4 == 0 || pp.Fragment || !pp.IsIP() {
		return nil, false
	}
	ok := false
	for i := 0; i < p.nvxlan; i++ {
		if pp.DstPort == p.vxlan[i] {
			ok = true
			break
		}
	}
	if !ok {
		return nil, false
	}
	vx := header.VXLAN(pp.UDP().Payload())
	if !vx.IsValid() {
		return nil, false
	}
	return vx, true
}

// makeKey fills k with the packet's unified flow key.
func (p *Port) makeKey(dir Direction, pp *packet.Parsed, k *ufKey) {
	putTuple(k[kSrc:kSrc+tupleLen], pp)
	*(*[6]byte)(k[kSrcMAC:]) = pp.SrcMAC
	*(*[6]byte)(k[kDstMAC:]) = pp.DstMAC
	binary.BigEndian.PutUint16(k[kVID:], pp.VID)
	k[kDir] = byte(dir)
	p.innerOK = false
	if vx, ok := p.vxlanOf(pp); ok {
		k[kEncap] = 1
		k[kVXFlags] = vx.Flags()
		*(*[3]byte)(k[kVNI:]) = *(*[3]byte)(vx[4:7])
		in := &p.inner
		in.Decode(vx.Inner())
		p.innerOK = true
		if in.IsIP() {
			putTuple(k[kInner:kInner+tupleLen], in)
		}
		*(*[6]byte)(k[kISrcMAC:]) = in.SrcMAC
		*(*[6]byte)(k[kIDstMAC:]) = in.DstMAC
	}
}

func (c *dirCounters) drop(r drop.Reason) {
	c.dropped++
	if int(r) < len(c.drops) {
		c.drops[r]++
	}
}

// Process runs a packet through the port's layers in direction dir: out
// in ascending layer priority, in in descending. buf holds the frame and
// pp its decoding; on Pass the frame in buf may be rewritten, encapsulated
// (pushed into the headroom) or decapsulated (pulled), and pp describes it
// again. now is the virtual time in ns. On Drop, the result names the
// reason, layer, group and rule.
//
// A packet of a known unified flow applies the cached transposition and
// does not allocate; the first packet of a flow walks the layers, which
// may allocate (flow entries, and rebuilding indexes after a policy
// change). Non-IP frames (ARP) pass untouched; malformed IP packets are
// dropped with drop.VFPInvalid.
func (p *Port) Process(dir Direction, buf *packet.Buffer, pp *packet.Parsed, now int64, tr *trace.Recorder) Result {
	dir &= 1
	c := &p.counters[dir]
	c.packets++
	c.bytes += uint64(buf.Len())
	if !pp.IsIP() {
		if pp.Valid() {
			return passed
		}
		c.drop(drop.VFPInvalid)
		return dropped(drop.VFPInvalid, nil)
	}
	var flags uint8
	if pp.IPProto == header.ProtoTCP && pp.L4 != 0 {
		flags = pp.TCPFlags
		switch {
		case flags&(header.TCPFlagSYN|header.TCPFlagACK) == header.TCPFlagSYN|header.TCPFlagACK:
			c.synack++
		case flags&header.TCPFlagSYN != 0:
			c.syn++
		}
		if flags&header.TCPFlagFIN != 0 {
			c.fin++
		}
		if flags&header.TCPFlagRST != 0 {
			c.rst++
		}
	}
	var k ufKey
	p.makeKey(dir, pp, &k)
	if h, s := p.uft.lookup(&k, now); s != nil {
		e := &s.val
		if e.gen == p.gen && p.missesHold(e) && p.refsLive(e, now) {
			return p.hit(c, s, buf, pp, flags, now, tr)
		}
		p.uft.delete(h)
	}
	c.misses++
	res := p.slowPath(dir, buf, pp, &k, flags, now, tr)
	if res.Verdict == Drop {
		c.drop(res.Reason)
	}
	return res
}

// missesHold reports whether the stateful layers that had no flow for the
// entry still have none.
// Only when the layer has created flows since the last check does it look
// the key up.
func (p *Port) missesHold(e *ufEntry) bool {
	for i := range e.misses {
		m := &e.misses[i]
		if m.epoch == m.l.flows.epoch {
			continue
		}
		if _, ok := m.l.flows.t.Peek(m.k); ok {
			return false
		}
		m.epoch = m.l.flows.epoch
	}
	return true
}

// refsLive reports whether every layer flow the entry depends on is still
// there, and touches them.
func (p *Port) refsLive(e *ufEntry, now int64) bool {
	for i := range e.refs {
		r := &e.refs[i]
		f := r.l.flows.live(r.h, r.id, now)
		if f == nil {
			return false
		}
		r.l.flows.touch(r.h, f, now)
	}
	return true
}

func (p *Port) hit(c *dirCounters, s *ufSlot, buf *packet.Buffer, pp *packet.Parsed, flags uint8, now int64, tr *trace.Recorder) Result {
	c.hits++
	s.lastSeen = now
	e := &s.val
	e.packets++
	e.bytes += uint64(buf.Len())
	d := e.ht
	for _, r := range d.rules {
		r.matched++
	}
	if d.reason != drop.None {
		if d.dropRule != nil {
			d.dropRule.dropped++
		}
		c.drop(d.reason)
		return dropped(d.reason, &d.info)
	}
	if flags&(header.TCPFlagFIN|header.TCPFlagRST) != 0 {
		p.tcpClose(s, e.refs, flags, now)
	}
	var before trace.Snapshot
	if tr.Enabled() {
		before = trace.Snap(pp, p.vxlan[0])
	}
	if r := p.applyHT(d.steps, buf, pp); r != drop.None {
		c.drop(r)
		return dropped(r, &d.info)
	}
	if tr.Enabled() {
		tr.Add(trace.Event{Component: "vfp", Port: p.Name, Action: "unified-flow",
			Detail: summarize(d.steps).Actions, Before: before, After: trace.Snap(pp, p.vxlan[0])})
	}
	return passed
}

// tcpClose shortens the timeouts of a connection after a RST, or after a
// FIN from each side. VFP tracks SYN, FIN and RST to age flows (reference
// windows-behaviour.md §1.2 [U]); the timeout after close is not
// documented, see DefaultClosedFlowTTL.
func (p *Port) tcpClose(s *ufSlot, refs []lfRef, flags uint8, now int64) {
	if s != nil {
		s.timeout = p.closedTTL
	}
	rst := flags&header.TCPFlagRST != 0
	for i := range refs {
		r := &refs[i]
		f := r.l.flows.live(r.h, r.id, now)
		if f == nil {
			continue
		}
		pair := r.l.flows.live(f.pair, f.pairID, now)
		if flags&header.TCPFlagFIN != 0 {
			bit := uint8(2)
			if f.act.forward {
				bit = 1
			}
			f.fin |= bit
			if pair != nil {
				pair.fin |= bit
			}
		}
		if rst || f.fin == 3 {
			r.l.flows.t.SetTimeout(r.h, p.closedTTL)
			if pair != nil {
				r.l.flows.t.SetTimeout(f.pair, p.closedTTL)
			}
		}
	}
}

// event records a layer's decision when tracing.
func (p *Port) event(tr *trace.Recorder, action string, l *Layer, g *Group, r *Rule, before trace.Snapshot, pp *packet.Parsed) {
	e := trace.Event{Component: "vfp", Port: p.Name, Action: action, Layer: l.Name, Before: before, After: trace.Snap(pp, p.vxlan[0])}
	if g != nil {
		e.Group = g.Name
	}
	if r != nil {
		e.Rule = r.label()
	}
	tr.Add(e)
}

func blockReason(a *Action) drop.Reason {
	if a.Reason != drop.None {
		return a.Reason
	}
	return drop.VFPBlock
}

// slowPath walks the layers for the first packet of a unified flow (or one
// whose cached entry is stale), applying each layer's action to the packet
// as it goes, so later layers see it rewritten. It composes the actions into
// one transposition and caches it, with the decision, in the unified flow
// table.
func (p *Port) slowPath(dir Direction, buf *packet.Buffer, pp *packet.Parsed, k *ufKey, flags uint8, now int64, tr *trace.Recorder) Result {
	if p.dirty {
		p.compile()
	}
	p.uft.sweep(now, sweepPerSlowPath)
	st := &p.slow
	st.reset(p.defTTL)
	st.size = buf.Len()
	for _, l := range p.layers {
		if l.flows != nil {
			l.flows.t.Sweep(now, sweepLayerPerSlowPath)
		}
	}
	n := len(p.layers)
	for i := 0; i < n; i++ {
		l := p.layers[i]
		if dir == In {
			l = p.layers[n-1-i]
		}
		if !pp.IsIP() {
			break // a non-IP inner frame: nothing more to classify
		}
		v6 := pp.Kind == packet.KindIPv6
		var f fields
		p.fieldsOf(pp, &f)
		tin := pp.Tuple()
		var before trace.Snapshot
		if tr.Enabled() {
			before = trace.Snap(pp, p.vxlan[0])
		}
		if l.Stateful {
			if ok := p.layerFlowHit(l, dir, v6, &f, tin, pp, now); ok {
				if tr.Enabled() {
					p.event(tr, "flow", l, nil, nil, before, pp)
				}
				continue
			}
		}
		r, g := l.decide(dir, v6, &f)
		if l.Stateful && (r == nil || !r.Stateful || !createsFlow(r.Action.Type)) {
			st.misses = append(st.misses, lfMiss{l: l, k: lfKey{t: tin, dir: dir}, epoch: l.flows.epoch})
		}
		if r == nil {
			if l.DefaultAllow {
				continue
			}
			return p.dropSlow(k, drop.VFPDefaultBlock, l, nil, nil, true, now, tr)
		}
		r.matched++
		st.rules = append(st.rules, r)
		a := &r.Action
		srcMAC, dstMAC := pp.SrcMAC, pp.DstMAC
		var m modify
		var mss uint16
		var nat natRef
		switch a.Type {
		case ActionAllow, ActionMeter, ActionOther:
		case ActionBlock:
			r.dropped++
			if tr.Enabled() {
				p.event(tr, "block", l, g, r, before, pp)
			}
			return p.dropSlow(k, blockReason(a), l, g, r, true, now, tr)
		case ActionNAT:
			m = natModify(&a.NAT)
			mss = a.MSSDelta[0]
		case ActionDynNAT:
			m.set = modSrcIP
			m.srcIP = addrOf(a.Pool.IP)
			if pp.HasL4Ports {
				ref, isNew, ok := r.pool.alloc(pp.IPProto, pp.Src, pp.SrcPort, now)
				if !ok {
					r.dropped++
					return p.dropSlow(k, drop.LBPortsExhausted, l, g, r, false, now, tr)
				}
				if isNew {
					st.newNAT = append(st.newNAT, ref)
				}
				nat = ref
				m.set |= modSrcPort
				m.srcPort = ref.port
			}
			mss = a.MSSDelta[0]
		case ActionLBNAT:
			bs := a.LB.Backends
			if len(bs) == 0 {
				r.dropped++
				return p.dropSlow(k, drop.LBNoBackend, l, g, r, true, now, tr)
			}
			b := &bs[lbHash(a.LB.Distribution, &tin)%uint64(len(bs))]
			if !a.LB.PreserveDIP {
				m.set |= modDstIP
				m.dstIP = addrOf(b.Addr)
			}
			if b.Port != 0 {
				m.set |= modDstPort
				m.dstPort = b.Port
			}
			if !b.MAC.IsZero() {
				m.set |= modDstMAC
				m.dstMAC = b.MAC
			}
			if a.LB.SNAT {
				m.set |= modSrcIP
				m.srcIP = addrOf(a.Pool.IP)
				if pp.HasL4Ports {
					ref, isNew, ok := r.pool.alloc(pp.IPProto, pp.Src, pp.SrcPort, now)
					if !ok {
						r.dropped++
						return p.dropSlow(k, drop.LBPortsExhausted, l, g, r, false, now, tr)
					}
					if isNew {
						st.newNAT = append(st.newNAT, ref)
					}
					nat = ref
					m.set |= modSrcPort
					m.srcPort = ref.port
				}
			}
			mss = a.MSSDelta[0]
		case ActionMACRewrite:
			if !a.MAC.SrcMAC.IsZero() {
				m.set |= modSrcMAC
				m.srcMAC = a.MAC.SrcMAC
			}
			if !a.MAC.DstMAC.IsZero() {
				m.set |= modDstMAC
				m.dstMAC = a.MAC.DstMAC
			}
		case ActionEncap:
			if reason := p.encapSlow(buf, pp, l, g, r); reason != drop.None {
				r.dropped++
				return p.dropSlow(k, reason, l, g, r, false, now, tr)
			}
			if tr.Enabled() {
				p.event(tr, "encap", l, g, r, before, pp)
			}
			continue
		case ActionDecap:
			reason, cache := p.decapSlow(buf, pp, &a.Decap)
			if reason != drop.None {
				r.dropped++
				return p.dropSlow(k, reason, l, g, r, cache, now, tr)
			}
			st.ht.add(htStep{op: opPop})
			if tr.Enabled() {
				p.event(tr, "decap", l, g, r, before, pp)
			}
			continue
		}
		m.apply(pp)
		st.ht.addModify(&m)
		if mss != 0 {
			mssDelta(pp, mss)
			st.ht.add(htStep{op: opMSSDelta, mss: mss})
		}
		if l.Stateful && r.Stateful && createsFlow(a.Type) {
			tout := pp.Tuple()
			st.pend = append(st.pend, pending{
				l: l, r: r,
				fwdKey: lfKey{t: tin, dir: dir},
				revKey: lfKey{t: tout.Reverse(), dir: dir.Reverse()},
				fwd:    m, rev: m.inverse(&tin, srcMAC, dstMAC),
				mssF: mss, mssR: a.MSSDelta[1],
				nat: nat, ttl: p.ttl(r),
			})
			st.ttl = min(st.ttl, p.ttl(r))
		}
		if tr.Enabled() {
			p.event(tr, a.Type.String(), l, g, r, before, pp)
		}
	}
	l := p.commit(dir, k, flags, now)
	if st.mtuDrop {
		// The unified flow's decision carries the encap rule's names.
		if l == nil || l.info != st.mtuInfo {
			l = &htList{htDecision: htDecision{info: st.mtuInfo}}
		}
		return dropped(drop.MTUMismatch, &l.info)
	}
	return passed
}

// createsFlow reports whether a stateful rule of type t creates a flow
// pair (encap and decap do not; see doc.go).
func createsFlow(t ActionType) bool { return t != ActionEncap && t != ActionDecap && t != ActionBlock }

func natModify(n *NATParams) modify {
	var m modify
	if n.SrcIP.IsValid() {
		m.set |= modSrcIP
		m.srcIP = addrOf(n.SrcIP)
	}
	if n.DstIP.IsValid() {
		m.set |= modDstIP
		m.dstIP = addrOf(n.DstIP)
	}
	if n.SrcPort != 0 {
		m.set |= modSrcPort
		m.srcPort = n.SrcPort
	}
	if n.DstPort != 0 {
		m.set |= modDstPort
		m.dstPort = n.DstPort
	}
	return m
}

// layerFlowHit applies a stateful layer's flow to the packet if one
// matches and is still valid. A flow is valid while the rule that created
// it is attached and unchanged; a packet in the flow's own direction is
// also checked against the current rules (lazy reconciliation), so a new
// rule that takes precedence, or a changed LB rule, replaces the flow.
func (p *Port) layerFlowHit(l *Layer, dir Direction, v6 bool, f *fields, tin packet.Tuple, pp *packet.Parsed, now int64) bool {
	lfs := l.flows
	h, ok := lfs.t.Lookup(lfKey{t: tin, dir: dir}, now)
	if !ok {
		return false
	}
	lf := lfs.t.Get(h)
	a := lf.act
	valid := a.rule.group != nil && a.rule.gen == a.ruleGen && a.rule.group.layer == l
	if valid && a.forward {
		r, _ := l.decide(dir, v6, f)
		valid = r == a.rule
	}
	if !valid {
		lfs.deletePair(h)
		return false
	}
	st := &p.slow
	a.mod.apply(pp)
	st.ht.addModify(&a.mod)
	if a.mss != 0 {
		mssDelta(pp, a.mss)
		st.ht.add(htStep{op: opMSSDelta, mss: a.mss})
	}
	if a.forward {
		a.rule.matched++
		st.rules = append(st.rules, a.rule)
	}
	lfs.touch(h, lf, now)
	st.refs = append(st.refs, lfRef{l: l, h: h, id: lf.id})
	st.ttl = min(st.ttl, lfs.t.Timeout(h))
	return true
}

// encapSlow encapsulates on the slow path: the inner MACs, the MSS clamp
// and the push, each recorded in the transposition. A frame over the MTU
// is encapsulated anyway and dropped at the end, after the flow is cached:
// the MTU depends on the packet's size, not on its flow.
func (p *Port) encapSlow(buf *packet.Buffer, pp *packet.Parsed, l *Layer, g *Group, r *Rule) drop.Reason {
	st := &p.slow
	e := &r.Action.Encap
	var m modify
	if !e.InnerSrcMAC.IsZero() {
		m.set |= modSrcMAC
		m.srcMAC = e.InnerSrcMAC
	}
	if !e.InnerDstMAC.IsZero() {
		m.set |= modDstMAC
		m.dstMAC = e.InnerDstMAC
	}
	m.apply(pp)
	st.ht.addModify(&m)
	if e.ClampMSS && e.MTU > 0 {
		hdr := 40 // IPv4 20 + TCP 20
		if pp.Kind == packet.KindIPv6 {
			hdr = 60
		}
		if clamp := e.MTU - hdr - header.VXLANOverhead; clamp > 0 && clamp < 0xffff {
			pp.ClampMSS(uint16(clamp))
			st.ht.add(htStep{op: opMSSClamp, mss: uint16(clamp)})
		}
	}
	tin := pp.Tuple()
	t := encapTemplate{
		srcMAC: e.SrcMAC, dstMAC: e.DstMAC, src: e.SrcPA.As4(), dst: e.DstPA.As4(),
		ttl: e.TTL, df: e.DF, sport: entropyPort(&tin), dport: e.UDPPort, vni: e.VNI, mtu: e.MTU,
	}
	if t.ttl == 0 {
		t.ttl = 64
	}
	if t.dport == 0 {
		t.dport = header.VXLANPort
	}
	t.build()
	info := DropInfo{Reason: drop.MTUMismatch, Layer: l.Name, Group: g.Name, Rule: r.label()}
	if t.mtu > 0 && outerIPLen(buf.Len()) > t.mtu && !st.mtuDrop {
		st.mtuDrop = true
		st.mtuInfo = info
	}
	if reason := p.push(buf, pp, &t, false); reason != drop.None {
		return reason
	}
	st.encap = info
	st.ht.add(htStep{op: opPush, push: t})
	return drop.None
}

// decapSlow checks and pops a VXLAN packet. A packet that is not VXLAN on
// the expected port, lacks the I flag or carries another VNI is dropped
// with drop.VSIDMismatch ("Virtual Subnet ID does not match", pktmon 20),
// a decision that depends only on the flow and is cached; an invalid inner
// frame is dropped with drop.VFPInvalid, a per-packet decision.
func (p *Port) decapSlow(buf *packet.Buffer, pp *packet.Parsed, d *DecapParams) (drop.Reason, bool) {
	vx, ok := p.vxlanOf(pp)
	if d.UDPPort != 0 && pp.DstPort != d.UDPPort {
		ok = false
	}
	if !ok || !vx.HasVNI() || (len(d.VNI) > 0 && !slices.Contains(d.VNI, vx.VNI())) {
		return drop.VSIDMismatch, true
	}
	if !p.popVXLAN(buf, pp) {
		return drop.VFPInvalid, false
	}
	return drop.None, false
}

// dropSlow ends the slow path with a drop: it releases NAT mappings made
// for the packet and, when the decision depends only on the flow, caches it.
func (p *Port) dropSlow(k *ufKey, reason drop.Reason, l *Layer, g *Group, r *Rule, cache bool, now int64, tr *trace.Recorder) Result {
	st := &p.slow
	for _, ref := range st.newNAT {
		ref.release()
	}
	info := DropInfo{Reason: reason, Layer: l.Name}
	if g != nil {
		info.Group = g.Name
	}
	if r != nil {
		info.Rule = r.label()
	}
	if !cache {
		names := info                  // only this copy escapes, so cached drops do not allocate it
		return dropped(reason, &names) // a per-packet drop of the slow path
	}
	{
		e := ufEntry{gen: p.gen, packets: 1, bytes: uint64(st.size), misses: slices.Clone(st.misses),
			ht: p.uft.ht.get(&htDecision{reason: reason, dropRule: r, info: info, rules: st.rules})}
		names := &e.ht.info
		if _, ok := p.uft.insert(k, e, now, p.defTTL); ok {
			p.counters[k.dir()].created++
		} else {
			p.uft.ht.put(e.ht)
			if p.uft.n >= p.uft.max {
				p.counters[k.dir()].tableFull++
			}
		}
		return dropped(reason, names)
	}
}

// commit creates the pending flow pairs and the unified flow, and returns
// the unified flow's decision (nil when it was not cached).
func (p *Port) commit(dir Direction, k *ufKey, flags uint8, now int64) *htList {
	st := &p.slow
	c := &p.counters[dir]
	// full: some table was full. The packet counts once in FlowTableFull
	// however many of its flows (layer flow pairs, the unified flow) could
	// not be made.
	full := false
	defer func() {
		if full {
			c.tableFull++
		}
	}()
	for i := range st.pend {
		pd := &st.pend[i]
		lfs := pd.l.flows
		p.flowID += 2
		fid, rid := p.flowID-1, p.flowID
		// Lookup removes an expired entry with the same key, whose pair
		// may still be waiting for a sweep.
		lfs.t.Lookup(pd.fwdKey, now)
		lfs.t.Lookup(pd.revKey, now)
		fa := lfs.acts.get(lfActKey{rule: pd.r, ruleGen: pd.r.gen, forward: true, mod: pd.fwd, mss: pd.mssF})
		fh, ok := lfs.t.Insert(pd.fwdKey, layerFlow{id: fid, act: fa, nat: pd.nat}, now, pd.ttl)
		if !ok {
			lfs.acts.put(fa)
			full = full || lfs.t.Len() >= lfs.t.Cap()
			continue
		}
		lfs.epoch++
		ra := lfs.acts.get(lfActKey{rule: pd.r, ruleGen: pd.r.gen, mod: pd.rev, mss: pd.mssR})
		rh, ok := lfs.t.Insert(pd.revKey, layerFlow{id: rid, act: ra, nat: pd.nat, pair: fh, pairID: fid}, now, pd.ttl)
		if !ok {
			lfs.acts.put(ra)
		}
		if ok {
			f := lfs.t.Get(fh)
			f.pair, f.pairID = rh, rid
		} else {
			// The reverse tuple is taken (e.g. a static NAT of two clients to
			// one address and port): the reply keeps matching the older flow.
			// That is no full table, unless the table is full too.
			full = full || lfs.t.Len() >= lfs.t.Cap()
		}
		st.refs = append(st.refs, lfRef{l: pd.l, h: fh, id: fid})
	}
	if st.ht.overflow {
		return nil
	}
	e := ufEntry{gen: p.gen, packets: 1, bytes: uint64(st.size)}
	if len(st.refs) > 0 {
		e.refs = slices.Clone(st.refs)
	}
	if len(st.misses) > 0 {
		e.misses = slices.Clone(st.misses)
	}
	var slot *ufSlot
	e.ht = p.uft.ht.get(&htDecision{steps: st.ht.steps[:st.ht.n], rules: st.rules, info: st.encap})
	if h, ok := p.uft.insert(k, e, now, st.ttl); ok {
		c.created++
		slot = p.uft.at(h)
	} else {
		p.uft.ht.put(e.ht)
		full = full || p.uft.n >= p.uft.max
	}
	if flags&(header.TCPFlagFIN|header.TCPFlagRST) != 0 {
		p.tcpClose(slot, st.refs, flags, now)
	}
	return e.ht
}

// UnifiedFlow describes one entry of the unified flow table, as
// FormatListUnifiedFlow prints it.
type UnifiedFlow struct {
	Direction      Direction
	Outer          packet.Tuple
	SrcMAC, DstMAC header.MAC
	VLAN           uint16
	// Encap is set for VXLAN packets: VNI and the inner headers.
	Encap          bool
	VNI            uint32
	Inner          packet.Tuple
	InnerSrcMAC    header.MAC
	InnerDstMAC    header.MAC
	Generation     uint64
	Stale          bool // older than the port's generation: re-evaluated on the next packet
	Drop           drop.Reason
	DropInfo       DropInfo
	Transposition  Transposition
	LayerFlows     int
	Packets, Bytes uint64
	Idle, Timeout  time.Duration
}

// UnifiedFlows lists the unified flow table at time now (ns). It allocates.
func (p *Port) UnifiedFlows(now int64) []UnifiedFlow {
	var out []UnifiedFlow
	p.uft.all(func(h ufHandle, s *ufSlot) bool {
		k, e := &s.key, &s.val
		u := UnifiedFlow{
			Direction: k.dir(), Outer: tupleAt(k[kSrc:]), SrcMAC: k.mac(kSrcMAC), DstMAC: k.mac(kDstMAC),
			VLAN: binary.BigEndian.Uint16(k[kVID:]), Encap: k[kEncap] != 0, VNI: k.vni(),
			Inner: tupleAt(k[kInner:]), InnerSrcMAC: k.mac(kISrcMAC), InnerDstMAC: k.mac(kIDstMAC),
			Generation: e.gen, Stale: e.gen != p.gen, Drop: e.ht.reasonOf(), Transposition: summarize(e.ht.stepsOf()),
			LayerFlows: len(e.refs), Packets: e.packets, Bytes: e.bytes,
			Idle: time.Duration(now - s.lastSeen), Timeout: time.Duration(s.timeout),
		}
		if e.ht.reasonOf() != drop.None {
			u.DropInfo = e.ht.info
		}
		out = append(out, u)
		return true
	})
	return out
}

// tupleString formats a tuple as "6 10.0.0.1:1000 -> 10.0.0.2:80".
func TupleString(t packet.Tuple) string {
	s, d := t.SrcAddr(), t.DstAddr()
	return strconv.Itoa(int(t.Proto)) + " " + netip.AddrPortFrom(s, t.SrcPort).String() + " -> " + netip.AddrPortFrom(d, t.DstPort).String()
}

// Hash hashes the key for the layer's flow table.
func (k lfKey) Hash() uint64 { return k.t.Hash() ^ uint64(k.dir)<<63 ^ uint64(k.dir) }
