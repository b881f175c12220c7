package vfp

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// Defaults of PortOptions.
const (
	// DefaultFlowCapacity is the unified flow table's size: the VFP paper's
	// 500k connections per port (reference windows-behaviour.md §1.1).
	DefaultFlowCapacity = 500_000
	// DefaultFlowTTL is the idle timeout of flows whose rule gives none:
	// real stateful rules print "Flow TTL: 240" [OBS].
	DefaultFlowTTL = 240 * time.Second
	// DefaultClosedFlowTTL is the idle timeout of a TCP connection after a
	// RST or a FIN in each direction. Windows' value is not documented;
	// 15 s is the second number of the per-port flow settings vector
	// ("240 15 240 ...", reference windows-behaviour.md §1.4) [I].
	DefaultClosedFlowTTL = 15 * time.Second
)

// PortOptions configure a Port. Zero fields get the defaults.
type PortOptions struct {
	FriendlyName string
	// FlowCapacity bounds the unified flow table and each stateful
	// layer's flow table.
	FlowCapacity int
	// VXLANPorts are the UDP destination ports recognised as VXLAN (at
	// most 4; default 4789, RFC 7348 section 5).
	VXLANPorts []uint16
	// DefaultFlowTTL is used for rules with FlowTTL 0.
	DefaultFlowTTL time.Duration
	// ClosedFlowTTL is the idle timeout after TCP RST or FIN both ways.
	ClosedFlowTTL time.Duration
}

// DropInfo says why a packet was dropped, and by which layer,
// group and rule (empty when no rule decided, e.g. a layer default).
type DropInfo struct {
	Reason             drop.Reason
	Layer, Group, Rule string
}

// DirCounters count one direction of a port, like /get-port-counter.
type DirCounters struct {
	Packets, Bytes uint64
	SYN, SYNACK    uint64
	FIN, RST       uint64
	Dropped        uint64
	FlowHits       uint64 // packets handled by the unified flow table
	FlowMisses     uint64 // packets that took the slow path through the layers
	FlowsCreated   uint64 // unified flows created
	FlowTableFull  uint64 // packets whose flows (some or all) were not created because a table was full; each counts once
	DropsByReason  map[drop.Reason]uint64
}

// PortCounters are a port's counters per direction.
type PortCounters struct{ In, Out DirCounters }

// Port is the VFP policy of one vSwitch port: its layers and flow tables.
// A Port is not safe for concurrent use; the datapath that owns it (one
// worker) calls Process, and policy changes and Format calls must not run
// at the same time.
type Port struct {
	Name, FriendlyName string

	opts      PortOptions
	layers    []*Layer // by Priority, then insertion
	gen       uint64   // bumped on every policy change
	dirty     bool     // groups need recompiling
	seq       uint64
	uft       *ufTable
	pools     map[string]*natPool
	vxlan     [4]uint16
	nvxlan    int
	defTTL    int64
	closedTTL int64
	counters  [2]dirCounters
	ipID      uint16
	flowID    uint64
	slow      slowState // scratch for the slow path, reused
	// inner is the inner frame of the VXLAN packet being processed,
	// decoded for the flow key (valid while innerOK).
	inner   packet.Parsed
	innerOK bool
}

// maxReasons bounds the drop reasons counted per port; drop.Reason values
// are small (under 64 today).
const maxReasons = 256

type dirCounters struct {
	packets, bytes     uint64
	syn, synack        uint64
	fin, rst           uint64
	dropped            uint64
	hits, misses       uint64
	created, tableFull uint64
	drops              [maxReasons]uint64
}

// NewPort returns a port without layers.
func NewPort(name string, opts PortOptions) *Port {
	if opts.FlowCapacity <= 0 {
		opts.FlowCapacity = DefaultFlowCapacity
	}
	if opts.DefaultFlowTTL <= 0 {
		opts.DefaultFlowTTL = DefaultFlowTTL
	}
	if opts.ClosedFlowTTL <= 0 {
		opts.ClosedFlowTTL = DefaultClosedFlowTTL
	}
	p := &Port{
		Name: name, FriendlyName: opts.FriendlyName, opts: opts,
		uft:       newUFTable(opts.FlowCapacity),
		pools:     make(map[string]*natPool),
		defTTL:    int64(opts.DefaultFlowTTL),
		closedTTL: int64(opts.ClosedFlowTTL),
		gen:       1,
	}
	for _, v := range opts.VXLANPorts {
		if p.nvxlan < len(p.vxlan) && v != 0 {
			p.vxlan[p.nvxlan] = v
			p.nvxlan++
		}
	}
	if p.nvxlan == 0 {
		p.vxlan[0] = header.VXLANPort
		p.nvxlan = 1
	}
	return p
}

// Generation returns the port's generation number, bumped by every policy
// change; unified flows of an older generation are re-evaluated on their
// next packet (lazy reconciliation, reference windows-behaviour.md §1.1).
func (p *Port) Generation() uint64 { return p.gen }

// Invalidate bumps the generation. Call it after changing an attached
// object's fields directly instead of through the mutation methods.
func (p *Port) Invalidate() {
	for _, l := range p.layers {
		for _, g := range l.Groups {
			g.dirty = true
		}
	}
	p.changed()
}

func (p *Port) changed() {
	p.gen++
	p.dirty = true
}

// VXLANPort returns the first UDP port the port recognises as VXLAN.
func (p *Port) VXLANPort() uint16 { return p.vxlan[0] }

// Layers returns the layers in priority order (a copy of the list).
func (p *Port) Layers() []*Layer { return slices.Clone(p.layers) }

// Layer returns the named layer, or nil.
func (p *Port) Layer(name string) *Layer {
	for _, l := range p.layers {
		if l.Name == name {
			return l
		}
	}
	return nil
}

// AddLayer validates l with its groups and rules and attaches it to the
// port. It bumps the generation.
func (p *Port) AddLayer(l *Layer) error {
	if l.port != nil {
		return fmt.Errorf("vfp: port %s: add layer %s: %w", p.Name, l.Name, ErrAttached)
	}
	if p.Layer(l.Name) != nil {
		return fmt.Errorf("vfp: port %s: add layer %s: %w", p.Name, l.Name, ErrExists)
	}
	groups := map[string]bool{}
	for _, g := range l.Groups {
		if groups[g.Name] || (g.layer != nil && g.layer != l) {
			err := ErrExists
			if !groups[g.Name] {
				err = ErrAttached
			}
			return fmt.Errorf("vfp: port %s: add layer %s: group %s: %w", p.Name, l.Name, g.Name, err)
		}
		groups[g.Name] = true
		if err := validateGroup(g); err != nil {
			return fmt.Errorf("vfp: port %s: add layer %s: group %s: %w", p.Name, l.Name, g.Name, err)
		}
		rules := map[any]bool{}
		for _, r := range g.Rules {
			var err error
			switch {
			case r.group != nil && r.group != g:
				err = ErrAttached
			case rules[r] || (r.label() != "" && rules[r.label()]):
				err = ErrExists
			}
			if err != nil {
				return fmt.Errorf("vfp: port %s: add layer %s: group %s: rule %s: %w", p.Name, l.Name, g.Name, r.label(), err)
			}
			rules[r] = true
			if r.label() != "" {
				rules[r.label()] = true
			}
			if err := p.validateRule(l, g, r); err != nil {
				return fmt.Errorf("vfp: port %s: add layer %s: group %s: rule %s: %w", p.Name, l.Name, g.Name, r.label(), err)
			}
		}
	}
	l.port = p
	p.seq++
	l.seq = p.seq
	if l.Stateful {
		l.flows = newLayerFlows(p.opts.FlowCapacity)
	}
	for _, g := range l.Groups {
		p.attachGroup(l, g)
	}
	i, _ := slices.BinarySearchFunc(p.layers, l, func(a, b *Layer) int {
		if a.Priority != b.Priority {
			if a.Priority < b.Priority {
				return -1
			}
			return 1
		}
		return -1 // insert after equal priorities
	})
	p.layers = slices.Insert(p.layers, i, l)
	p.changed()
	return nil
}

// RemoveLayer removes the named layer and its flows. It reports whether
// the layer existed.
func (p *Port) RemoveLayer(name string) bool {
	for i, l := range p.layers {
		if l.Name == name {
			for _, g := range l.Groups {
				detachGroup(g)
			}
			l.port = nil
			l.flows = nil
			p.layers = slices.Delete(p.layers, i, i+1)
			p.changed()
			return true
		}
	}
	return false
}

func (p *Port) attachGroup(l *Layer, g *Group) {
	g.layer = l
	p.seq++
	g.seq = p.seq
	g.dirty = true
	for _, r := range g.Rules {
		p.attachRule(g, r)
	}
}

func (p *Port) attachRule(g *Group, r *Rule) {
	r.group = g
	p.seq++
	r.seq = p.seq
	r.gen = p.gen + 1 // the generation the change will produce
	r.pool = nil
	if usesPool(&r.Action) {
		r.pool = p.pool(&r.Action.Pool, p.ttl(r))
	}
}

func detachGroup(g *Group) {
	for _, r := range g.Rules {
		detachRule(r)
	}
	g.layer = nil
	g.idx = nil
}

func detachRule(r *Rule) {
	if r.pool != nil {
		r.pool.refs--
		r.pool = nil
	}
	r.group = nil
}

// Group returns the named group, or nil.
func (l *Layer) Group(name string) *Group {
	for _, g := range l.Groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// AddGroup adds g to the layer, validating it and its rules. On a layer
// attached to a port it bumps the generation.
func (l *Layer) AddGroup(g *Group) error {
	if g.layer != nil {
		return fmt.Errorf("vfp: layer %s: add group %s: %w", l.Name, g.Name, ErrAttached)
	}
	if l.Group(g.Name) != nil {
		return fmt.Errorf("vfp: layer %s: add group %s: %w", l.Name, g.Name, ErrExists)
	}
	if err := validateGroup(g); err != nil {
		return fmt.Errorf("vfp: layer %s: add group %s: %w", l.Name, g.Name, err)
	}
	for j, r := range g.Rules {
		if err := checkRuleName(g, g.Rules[:j], r); err != nil {
			return fmt.Errorf("vfp: layer %s: add group %s: rule %s: %w", l.Name, g.Name, r.label(), err)
		}
		if l.port != nil {
			if err := l.port.validateRule(l, g, r); err != nil {
				return fmt.Errorf("vfp: layer %s: add group %s: rule %s: %w", l.Name, g.Name, r.label(), err)
			}
		}
	}
	l.Groups = append(l.Groups, g)
	if l.port != nil {
		l.port.attachGroup(l, g)
		l.port.changed()
	} else {
		g.layer = l
	}
	return nil
}

// RemoveGroup removes the named group and reports whether it existed.
func (l *Layer) RemoveGroup(name string) bool {
	for i, g := range l.Groups {
		if g.Name == name {
			detachGroup(g)
			l.Groups = slices.Delete(l.Groups, i, i+1)
			if l.port != nil {
				l.port.changed()
			}
			return true
		}
	}
	return false
}

// Rule returns the rule with the given name (or, for rules without a
// name, friendly name), or nil.
func (g *Group) Rule(name string) *Rule {
	for _, r := range g.Rules {
		if r.label() == name {
			return r
		}
	}
	return nil
}

func (g *Group) port() *Port {
	if g.layer == nil {
		return nil
	}
	return g.layer.port
}

// checkRuleName checks that r may join g, whose other rules are rules.
func checkRuleName(g *Group, rules []*Rule, r *Rule) error {
	if r.group != nil && r.group != g {
		return ErrAttached
	}
	for _, o := range rules {
		if o == r || (r.label() != "" && o.label() == r.label()) {
			return ErrExists
		}
	}
	return nil
}

// AddRule adds r to the group after validating it. On a group attached to
// a port it bumps the generation.
func (g *Group) AddRule(r *Rule) error {
	if err := checkRuleName(g, g.Rules, r); err != nil {
		return fmt.Errorf("vfp: group %s: add rule %s: %w", g.Name, r.label(), err)
	}
	p := g.port()
	if p != nil {
		if err := p.validateRule(g.layer, g, r); err != nil {
			return fmt.Errorf("vfp: group %s: add rule %s: %w", g.Name, r.label(), err)
		}
	} else if err := validateConditions(&r.Conditions, g.IPv6); err != nil {
		return fmt.Errorf("vfp: group %s: add rule %s: %w", g.Name, r.label(), err)
	}
	g.Rules = append(g.Rules, r)
	g.dirty = true
	if p != nil {
		p.attachRule(g, r)
		p.changed()
	} else {
		r.group = g
	}
	return nil
}

// RemoveRule removes the rule with the given name (see Rule) and reports
// whether it existed. Flows the rule created are re-evaluated.
func (g *Group) RemoveRule(name string) bool {
	for i, r := range g.Rules {
		if r.label() == name {
			detachRule(r)
			g.Rules = slices.Delete(g.Rules, i, i+1)
			g.dirty = true
			if p := g.port(); p != nil {
				p.changed()
			}
			return true
		}
	}
	return false
}

// ReplaceRule replaces the rule with r's name by r (e.g. an LBNAT rule
// with a backend removed). Flows the old rule created are re-evaluated on
// their next packet, so a removed backend is no longer used.
func (g *Group) ReplaceRule(r *Rule) error {
	if r.group != nil {
		return fmt.Errorf("vfp: group %s: replace rule %s: %w", g.Name, r.label(), ErrAttached)
	}
	for i, old := range g.Rules {
		if old.label() != r.label() {
			continue
		}
		p := g.port()
		if p != nil {
			// The old rule's hold on its NAT pool does not count: the new
			// rule may redefine the pool it replaces.
			if old.pool != nil {
				old.pool.refs--
			}
			err := p.validateRule(g.layer, g, r)
			if old.pool != nil {
				old.pool.refs++
			}
			if err != nil {
				return fmt.Errorf("vfp: group %s: replace rule %s: %w", g.Name, r.label(), err)
			}
		}
		detachRule(old)
		g.Rules[i] = r
		g.dirty = true
		if p != nil {
			p.attachRule(g, r)
			p.changed()
		} else {
			r.group = g
		}
		return nil
	}
	return fmt.Errorf("vfp: group %s: replace rule %s: %w", g.Name, r.label(), ErrNotFound)
}

func (p *Port) ttl(r *Rule) int64 {
	if r.FlowTTL > 0 {
		return int64(r.FlowTTL)
	}
	return p.defTTL
}

func usesPool(a *Action) bool {
	return a.Type == ActionDynNAT || (a.Type == ActionLBNAT && a.LB.SNAT)
}

func validateGroup(g *Group) error {
	if err := validateConditions(&g.Conditions, g.IPv6); err != nil {
		return fmt.Errorf("conditions: %w", err)
	}
	return nil
}

// FamilyOK reports whether a is a valid address of the family v6 selects
// (an IPv4-mapped IPv6 address is neither).
func FamilyOK(a netip.Addr, v6 bool) bool {
	if !a.IsValid() || a.Is4In6() {
		return false
	}
	return a.Is6() == v6
}

// FamilyName is "IPv4" or "IPv6", as vfpctrl prints a group's Type.
func FamilyName(v6 bool) string {
	if v6 {
		return "IPv6"
	}
	return "IPv4"
}

func validateConditions(c *Conditions, v6 bool) error {
	for _, set := range [][]netip.Prefix{c.SrcIP, c.DstIP} {
		for _, pf := range set {
			if !pf.IsValid() || !FamilyOK(pf.Addr(), v6) {
				return fmt.Errorf("%w: prefix %v is not a valid %s prefix", ErrInvalid, pf, FamilyName(v6))
			}
		}
	}
	for _, set := range [][]PortRange{c.SrcPort, c.DstPort} {
		for _, r := range set {
			if r.Lo > r.Hi {
				return fmt.Errorf("%w: port range %d-%d is empty", ErrInvalid, r.Lo, r.Hi)
			}
		}
	}
	for _, v := range c.VNI {
		if v >= 1<<24 {
			return fmt.Errorf("%w: VNI %d does not fit in 24 bits", ErrInvalid, v)
		}
	}
	return nil
}

// validateRule checks r for group g of layer l on port p.
func (p *Port) validateRule(l *Layer, g *Group, r *Rule) error {
	if err := validateConditions(&r.Conditions, g.IPv6); err != nil {
		return fmt.Errorf("conditions: %w", err)
	}
	a := &r.Action
	v6 := g.IPv6
	switch a.Type {
	case ActionAllow, ActionMeter, ActionOther, ActionMACRewrite:
	case ActionBlock:
		if a.Reason != drop.None && a.Reason.String() == "reason?" {
			return fmt.Errorf("%w: block: unknown drop reason %d", ErrInvalid, a.Reason)
		}
	case ActionNAT:
		for _, x := range []netip.Addr{a.NAT.SrcIP, a.NAT.DstIP} {
			if x.IsValid() && !FamilyOK(x, v6) {
				return fmt.Errorf("%w: nat: address %v is not %s", ErrInvalid, x, FamilyName(v6))
			}
		}
	case ActionDynNAT, ActionLBNAT:
		if !r.Stateful || !l.Stateful {
			return fmt.Errorf("%w: %s needs a stateful rule in a stateful layer (replies must be translated back)", ErrInvalid, a.Type)
		}
		if a.Type == ActionLBNAT {
			for i, b := range a.LB.Backends {
				if !FamilyOK(b.Addr, v6) {
					return fmt.Errorf("%w: lbnat: backend %d: address %v is not %s", ErrInvalid, i, b.Addr, FamilyName(v6))
				}
			}
			if a.LB.Distribution > DistributeSourceIP {
				return fmt.Errorf("%w: lbnat: distribution %d", ErrInvalid, a.LB.Distribution)
			}
		}
		if usesPool(a) {
			if err := p.checkPool(&a.Pool, v6); err != nil {
				return err
			}
		}
	case ActionEncap:
		e := &a.Encap
		if !e.SrcPA.Is4() || !e.DstPA.Is4() {
			return fmt.Errorf("%w: encap: provider addresses %v -> %v must be IPv4", ErrInvalid, e.SrcPA, e.DstPA)
		}
		if e.VNI >= 1<<24 {
			return fmt.Errorf("%w: encap: VNI %d does not fit in 24 bits", ErrInvalid, e.VNI)
		}
		if e.MTU < 0 || e.MTU > 65535 {
			return fmt.Errorf("%w: encap: MTU %d", ErrInvalid, e.MTU)
		}
	case ActionDecap:
		for _, v := range a.Decap.VNI {
			if v >= 1<<24 {
				return fmt.Errorf("%w: decap: VNI %d does not fit in 24 bits", ErrInvalid, v)
			}
		}
	default:
		return fmt.Errorf("%w: action type %d", ErrInvalid, a.Type)
	}
	if r.FlowTTL < 0 {
		return fmt.Errorf("%w: flow TTL %v", ErrInvalid, r.FlowTTL)
	}
	return nil
}

func (p *Port) checkPool(pl *NATPool, v6 bool) error {
	if pl.Name == "" {
		return fmt.Errorf("%w: NAT pool without a name", ErrInvalid)
	}
	if !FamilyOK(pl.IP, v6) {
		return fmt.Errorf("%w: NAT pool %s: address %v is not %s", ErrInvalid, pl.Name, pl.IP, FamilyName(v6))
	}
	if pl.Lo == 0 || pl.Lo > pl.Hi {
		return fmt.Errorf("%w: NAT pool %s: port range %d-%d", ErrInvalid, pl.Name, pl.Lo, pl.Hi)
	}
	if old, ok := p.pools[pl.Name]; ok && old.refs > 0 && (old.ip != pl.IP || old.lo != pl.Lo || old.hi != pl.Hi) {
		return fmt.Errorf("%w: NAT pool %s: already defined as %v %d-%d", ErrInvalid, pl.Name, old.ip, old.lo, old.hi)
	}
	return nil
}

// Counters returns a copy of the port's counters.
func (p *Port) Counters() PortCounters {
	return PortCounters{In: p.counters[In].export(), Out: p.counters[Out].export()}
}

func (c *dirCounters) export() DirCounters {
	d := DirCounters{
		Packets: c.packets, Bytes: c.bytes, SYN: c.syn, SYNACK: c.synack, FIN: c.fin, RST: c.rst,
		Dropped: c.dropped, FlowHits: c.hits, FlowMisses: c.misses, FlowsCreated: c.created, FlowTableFull: c.tableFull,
		DropsByReason: make(map[drop.Reason]uint64),
	}
	for r, n := range c.drops {
		if n != 0 {
			d.DropsByReason[drop.Reason(r)] = n
		}
	}
	return d
}
