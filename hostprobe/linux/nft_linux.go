package linux

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// Hook selects the netfilter hook of a filter rule.
type Hook uint8

const (
	// HookForward filters packets routed (or bridged with br_netfilter) through the namespace.
	HookForward Hook = iota
	// HookInput filters packets delivered to the namespace's own sockets.
	HookInput
	// HookOutput filters packets the namespace's own sockets send.
	HookOutput
)

// String returns "forward", "input" or "output".
func (h Hook) String() string {
	switch h {
	case HookForward:
		return "forward"
	case HookInput:
		return "input"
	case HookOutput:
		return "output"
	}
	return fmt.Sprintf("hook(%d)", uint8(h))
}

// Verdict is what a filter rule or chain policy does with a packet.
type Verdict uint8

const (
	// Accept ends the chain and lets the packet go on.
	Accept Verdict = iota
	// Drop discards the packet silently.
	Drop
)

// String returns "accept" or "drop".
func (v Verdict) String() string {
	switch v {
	case Accept:
		return "accept"
	case Drop:
		return "drop"
	}
	return fmt.Sprintf("verdict(%d)", uint8(v))
}

// PortRange is an inclusive range of TCP/UDP ports.
type PortRange struct{ Lo, Hi uint16 }

// Port returns the range holding only p.
func Port(p uint16) PortRange { return PortRange{p, p} }

// IP protocol numbers (IANA) for the Proto fields.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
)

// nftState is a namespace's nftables table, created on first use.
type nftState struct {
	mu      sync.Mutex                 // protects the fields below
	table   *nftables.Table            // family inet
	bridge  *nftables.Table            // family bridge, for MAC rewrites; nil until used
	chains  map[string]*nftables.Chain // of both tables, by chain name
	filters map[Hook][]FilterRule      // sorted by Priority, stable
	policy  map[Hook]Verdict
	// bridgeFilters are the bridge filter rules by direction, sorted by Priority.
	bridgeFilters map[Direction][]BridgeFilter
	seq           int // for default rule names
	// origBits counts the Original source NAT rules per source (origMarkBit).
	origBits map[netip.Prefix]int
}

// chain names and hooks; priorities are nft's named ones (dstnat -100, srcnat 100, filter 0).
const (
	chainPrerouting  = "prerouting"
	chainOutputNAT   = "output-nat"
	chainPostrouting = "postrouting"
)

// conn returns a non-lasting nftables connection: each Flush or Get dials a netlink
// socket inside n (through n's fd), so nothing stays open between calls.
func (n *Namespace) conn() (*nftables.Conn, error) {
	return nftables.New(nftables.WithNetNSFd(int(n.fd)))
}

// TableName returns the name of the namespace's nftables table (family inet): the lab's
// session name, "hnsp-<id>".
func (n *Namespace) TableName() string { return n.lab.session }

// ensureTable creates the table on first use and records its deletion. The caller holds
// an acquire and n.nft.mu.
func (n *Namespace) ensureTable(c *nftables.Conn) error {
	if n.nft.table != nil {
		return nil
	}
	t := &nftables.Table{Name: n.lab.session, Family: nftables.TableFamilyINet}
	c.AddTable(t)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("add table inet %s: %w", t.Name, err)
	}
	n.nft.table = t
	n.nft.chains = map[string]*nftables.Chain{}
	n.nft.filters = map[Hook][]FilterRule{}
	n.nft.policy = map[Hook]Verdict{}
	n.lab.record("nftables table inet "+t.Name+" in "+n.full, n.delTable(t))
	return nil
}

// delTable returns an undo step that deletes table t from n; a missing table counts as
// deleted.
func (n *Namespace) delTable(t *nftables.Table) func() error {
	return func() error {
		c, err := n.conn()
		if err != nil {
			return err
		}
		c.DelTable(t)
		if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
			return err
		}
		return nil
	}
}

// ensureChain creates a base chain on first use. The caller holds an acquire and n.nft.mu.
func (n *Namespace) ensureChain(c *nftables.Conn, name string) (*nftables.Chain, error) {
	if ch, ok := n.nft.chains[name]; ok {
		return ch, nil
	}
	ch := &nftables.Chain{Name: name, Table: n.nft.table}
	switch name {
	case chainPrerouting:
		ch.Type, ch.Hooknum, ch.Priority = nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest
	case chainOutputNAT:
		ch.Type, ch.Hooknum, ch.Priority = nftables.ChainTypeNAT, nftables.ChainHookOutput, nftables.ChainPriorityNATDest
	case chainPostrouting:
		ch.Type, ch.Hooknum, ch.Priority = nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource
	case HookForward.String():
		ch.Type, ch.Hooknum, ch.Priority = nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter
	case HookInput.String():
		ch.Type, ch.Hooknum, ch.Priority = nftables.ChainTypeFilter, nftables.ChainHookInput, nftables.ChainPriorityFilter
	case HookOutput.String():
		ch.Type, ch.Hooknum, ch.Priority = nftables.ChainTypeFilter, nftables.ChainHookOutput, nftables.ChainPriorityFilter
	default:
		return nil, fmt.Errorf("unknown chain %q", name)
	}
	pol := nftables.ChainPolicyAccept
	ch.Policy = &pol
	c.AddChain(ch)
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("add chain %s: %w", name, err)
	}
	n.nft.chains[name] = ch
	return ch, nil
}

// nftOp runs fn with an nftables connection, the table created and n.nft.mu held.
func (n *Namespace) nftOp(what string, fn func(c *nftables.Conn) error) error {
	return n.op(what, func() error {
		n.nft.mu.Lock()
		defer n.nft.mu.Unlock()
		c, err := n.conn()
		if err != nil {
			return err
		}
		if err := n.ensureTable(c); err != nil {
			return err
		}
		return fn(c)
	})
}

// ruleName returns name, or a fresh default "<kind>#<n>". The caller holds n.nft.mu.
func (n *Namespace) ruleName(kind, name string) string {
	if name != "" {
		return name
	}
	n.nft.seq++
	return fmt.Sprintf("%s#%d", kind, n.nft.seq)
}

// Masquerade describes a source NAT rule for AddMasquerade.
type Masquerade struct {
	// Name labels the rule in Counters and as its nft comment (default "masquerade#<n>").
	Name string
	// OutIface matches the output interface (optional).
	OutIface string
	// Src matches the source prefix (optional), e.g. the NAT internal prefix.
	Src netip.Prefix
	// Dst matches destination prefixes (optional; a packet to any of them matches).
	Dst []netip.Prefix
	// Except lists destination prefixes that are NOT translated (OutBoundNAT ExceptionList).
	Except []netip.Prefix
	// Original matches Dst and Except against the destination of the connection's first
	// packet before a DNAT of the same connection changed it (VFP's SNAT layer comes
	// before its LB layer): the decision is made in prerouting and output, before the
	// dstnat hook, and kept in the conntrack mark.
	Original bool
	// To, if set, translates to this fixed address (snat) instead of the address of the
	// output interface (masquerade).
	To netip.Addr
	// DNATed matches only connections whose destination was translated (ct status dnat),
	// e.g. a container reaching another through a published port (NAT hairpin).
	DNATed bool
}

// AddMasquerade appends a source NAT rule to the nat postrouting chain (priority srcnat).
// The kernel keeps the source port unless it clashes, and conntrack reverses the
// translation for replies, including ICMP errors quoting the packet.
func (n *Namespace) AddMasquerade(m Masquerade) error {
	return n.nftOp("add masquerade", func(c *nftables.Conn) error {
		var ex []expr.Any
		if m.OutIface != "" {
			if err := checkIfname(m.OutIface); err != nil {
				return fmt.Errorf("out iface: %w", err)
			}
			ex = append(ex, matchIfname(false, m.OutIface)...)
		}
		fam := famNone
		for _, p := range append(append([]netip.Prefix{m.Src}, m.Except...), m.Dst...) {
			if p.IsValid() {
				if fam = fam.join(familyOf(p.Addr())); fam == famMixed {
					return fmt.Errorf("src %v, except %v and to %v mix address families", m.Src, m.Except, m.To)
				}
			}
		}
		if m.To.IsValid() {
			if fam = fam.join(familyOf(m.To)); fam == famMixed {
				return fmt.Errorf("src %v, except %v and to %v mix address families", m.Src, m.Except, m.To)
			}
		}
		ex = append(ex, matchFamily(fam)...)
		if m.DNATed {
			ex = append(ex, matchCtStatus(ipsDstNAT)...)
		}
		if m.Src.IsValid() {
			ex = append(ex, matchPrefix(m.Src, true, expr.CmpOpEq)...)
		}
		var dstEx []expr.Any // destination conditions
		for _, p := range m.Except {
			if !p.IsValid() {
				return fmt.Errorf("except: invalid prefix")
			}
			if p.Bits() == 0 {
				return fmt.Errorf("except %v excludes every destination", p)
			}
			dstEx = append(dstEx, matchPrefix(p, false, expr.CmpOpNeq)...)
		}
		for _, p := range m.Dst {
			if !p.IsValid() {
				return fmt.Errorf("dst: invalid prefix")
			}
		}
		var nat []expr.Any
		nat = append(nat, &expr.Counter{})
		if m.To.IsValid() {
			nat = append(nat,
				&expr.Immediate{Register: 1, Data: m.To.Unmap().AsSlice()},
				&expr.NAT{Type: expr.NATTypeSourceNAT, Family: fam.nfproto(), RegAddrMin: 1})
		} else {
			nat = append(nat, &expr.Masq{})
		}
		ch, err := n.ensureChain(c, chainPostrouting)
		if err != nil {
			return err
		}
		name := n.ruleName("masquerade", m.Name)
		if !m.Original {
			for _, d := range optPrefixes(m.Dst) {
				rule := append(append([]expr.Any(nil), ex...), dstEx...)
				if d.IsValid() {
					rule = append(rule, matchPrefix(d, false, expr.CmpOpEq)...)
				}
				rule = append(rule, nat...)
				c.AddRule(&nftables.Rule{Table: n.nft.table, Chain: ch, Exprs: rule, UserData: comment(name)})
			}
			return c.Flush()
		}
		// The destination a connection had before DNAT is decided on its first packet in
		// prerouting (and output), before the dstnat hook, and kept as a bit of the
		// conntrack mark for the postrouting rule. (google/nftables cannot read back a
		// rule with "ct original ip daddr": the direction attribute is a u8 it decodes as
		// a u32.)
		bit, err := n.origMarkBit(m.Src)
		if err != nil {
			return err
		}
		for _, hook := range []string{chainDecidePre, chainDecideOut} {
			dch, err := n.ensureDecideChain(c, hook)
			if err != nil {
				return err
			}
			for _, d := range optPrefixes(m.Dst) {
				rule := append(append([]expr.Any(nil), ex...), dstEx...)
				if d.IsValid() {
					rule = append(rule, matchPrefix(d, false, expr.CmpOpEq)...)
				}
				rule = append(rule, matchCtStateNew()...)
				rule = append(rule, &expr.Counter{}, &expr.Ct{Key: expr.CtKeyMARK, Register: 1},
					&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binary.NativeEndian.AppendUint32(nil, ^bit),
						Xor: binary.NativeEndian.AppendUint32(nil, bit)},
					&expr.Ct{Key: expr.CtKeyMARK, SourceRegister: true, Register: 1})
				c.AddRule(&nftables.Rule{Table: n.nft.table, Chain: dch, Exprs: rule, UserData: comment(name + "/decide")})
			}
		}
		rule := append([]expr.Any(nil), ex...)
		rule = append(rule, matchCtMarkBits(bit)...)
		rule = append(rule, nat...)
		c.AddRule(&nftables.Rule{Table: n.nft.table, Chain: ch, Exprs: rule, UserData: comment(name)})
		return c.Flush()
	})
}

// DNAT describes a destination NAT rule (a port mapping) for AddDNAT.
type DNAT struct {
	// Name labels the rule in Counters and as its nft comment (default "dnat#<n>").
	Name string
	// Proto is ProtoTCP or ProtoUDP. Required.
	Proto uint8
	// Dst matches the original destination address (optional: any address of the namespace).
	Dst netip.Addr
	// DstPort matches the original destination port. Required.
	DstPort uint16
	// To is the translated destination address and port. Required.
	To netip.AddrPort
	// InIface matches the input interface (optional; prerouting only).
	InIface string
	// Src matches the source prefix (optional; a port mapping's remote prefix).
	Src netip.Prefix
	// Local also translates packets sent by the namespace's own sockets (nat output
	// chain), as Docker's userland-proxy=false does. Windows NAT does not (no loopback).
	Local bool
}

// AddDNAT appends a destination NAT rule to the nat prerouting chain (priority dstnat),
// and to the nat output chain if d.Local.
func (n *Namespace) AddDNAT(d DNAT) error {
	return n.nftOp(fmt.Sprintf("add dnat %v:%d -> %v", d.Dst, d.DstPort, d.To), func(c *nftables.Conn) error {
		if d.Proto != ProtoTCP && d.Proto != ProtoUDP {
			return fmt.Errorf("proto %d: want %d (tcp) or %d (udp)", d.Proto, ProtoTCP, ProtoUDP)
		}
		if d.DstPort == 0 || !d.To.IsValid() || d.To.Port() == 0 {
			return fmt.Errorf("dst port and to address:port are required")
		}
		fam := familyOf(d.To.Addr())
		if d.Dst.IsValid() {
			fam = fam.join(familyOf(d.Dst))
		}
		if d.Src.IsValid() {
			fam = fam.join(familyOf(d.Src.Addr()))
		}
		if fam == famMixed {
			return fmt.Errorf("dst %v, src %v and to %v mix address families", d.Dst, d.Src, d.To)
		}
		if d.InIface != "" {
			if err := checkIfname(d.InIface); err != nil {
				return fmt.Errorf("in iface: %w", err)
			}
		}
		name := n.ruleName("dnat", d.Name)
		build := func(withIif bool) []expr.Any {
			var ex []expr.Any
			if withIif && d.InIface != "" {
				ex = append(ex, matchIfname(true, d.InIface)...)
			}
			ex = append(ex, matchFamily(fam)...)
			ex = append(ex, matchL4Proto(d.Proto)...)
			if d.Src.IsValid() {
				ex = append(ex, matchPrefix(d.Src, true, expr.CmpOpEq)...)
			}
			if d.Dst.IsValid() {
				ex = append(ex, matchPrefix(netip.PrefixFrom(d.Dst.Unmap(), d.Dst.Unmap().BitLen()), false, expr.CmpOpEq)...)
			}
			ex = append(ex, matchPorts(false, Port(d.DstPort))...)
			ex = append(ex, &expr.Counter{},
				&expr.Immediate{Register: 1, Data: d.To.Addr().Unmap().AsSlice()},
				&expr.Immediate{Register: 2, Data: be16(d.To.Port())},
				&expr.NAT{Type: expr.NATTypeDestNAT, Family: fam.nfproto(), RegAddrMin: 1, RegProtoMin: 2, Specified: true})
			return ex
		}
		pre, err := n.ensureChain(c, chainPrerouting)
		if err != nil {
			return err
		}
		c.AddRule(&nftables.Rule{Table: n.nft.table, Chain: pre, Exprs: build(true), UserData: comment(name)})
		if d.Local {
			out, err := n.ensureChain(c, chainOutputNAT)
			if err != nil {
				return err
			}
			c.AddRule(&nftables.Rule{Table: n.nft.table, Chain: out, Exprs: build(false), UserData: comment(name)})
		}
		return c.Flush()
	})
}

// FilterRule describes a filter rule for AddFilter. Empty fields match anything; a rule
// with several prefixes or port ranges matches if any of them matches (it is expanded
// into one nftables rule per combination).
type FilterRule struct {
	// Name labels the rule in Counters and as its nft comment (default "filter#<n>").
	Name string
	// Hook is the chain the rule goes to.
	Hook Hook
	// Priority orders the rules of one hook: lower first, equal ones in the order added.
	// The first matching rule decides (like an HNS ACL's priority).
	Priority int
	// Iface and Dir match the interface the packet arrives on (In, iifname) or leaves by
	// (Out, oifname). HookInput has no output interface, HookOutput no input interface.
	Iface string
	Dir   Direction
	// Src and Dst match source and destination prefixes.
	Src, Dst []netip.Prefix
	// Proto matches the IP protocol (ProtoTCP, ProtoUDP, ...); 0 means any.
	Proto uint8
	// SrcPorts and DstPorts match TCP/UDP ports; they need Proto TCP or UDP.
	SrcPorts, DstPorts []PortRange
	// Established matches only packets of connections conntrack has seen both ways, or
	// related to one (ct state established,related): what makes a stateful allow rule's
	// replies pass.
	Established bool
	// Action is Accept or Drop.
	Action Verdict
}

// AddFilter adds a filter rule to the chain of r.Hook, placed by r.Priority. The chain is
// rewritten in one nftables transaction, so the packet counters of the hook's rules start
// again from zero.
func (n *Namespace) AddFilter(r FilterRule) error {
	return n.nftOp(fmt.Sprintf("add filter %q (%s, priority %d)", r.Name, r.Hook, r.Priority), func(c *nftables.Conn) error {
		return n.addFilters(c, []FilterRule{r})
	})
}

// AddFilters adds several filter rules as AddFilter does, rewriting each chain once.
func (n *Namespace) AddFilters(rs ...FilterRule) error {
	return n.nftOp(fmt.Sprintf("add %d filters", len(rs)), func(c *nftables.Conn) error {
		return n.addFilters(c, rs)
	})
}

// addFilters adds rs to their chains in one transaction. The caller holds n.nft.mu.
func (n *Namespace) addFilters(c *nftables.Conn, rs []FilterRule) error {
	byHook := map[Hook][]FilterRule{}
	var hooks []Hook
	for _, r := range rs {
		if _, err := filterExprs(r); err != nil {
			return fmt.Errorf("filter %q: %w", r.Name, err)
		}
		if _, ok := byHook[r.Hook]; !ok {
			hooks = append(hooks, r.Hook)
			byHook[r.Hook] = append([]FilterRule(nil), n.nft.filters[r.Hook]...)
		}
		r.Name = n.ruleName("filter", r.Name)
		byHook[r.Hook] = append(byHook[r.Hook], r)
	}
	for _, h := range hooks {
		ch, err := n.ensureChain(c, h.String())
		if err != nil {
			return err
		}
		rules := byHook[h]
		sort.SliceStable(rules, func(i, j int) bool { return rules[i].Priority < rules[j].Priority })
		c.FlushChain(ch)
		for _, fr := range rules {
			exs, err := filterExprs(fr)
			if err != nil {
				return err
			}
			for _, ex := range exs {
				c.AddRule(&nftables.Rule{Table: n.nft.table, Chain: ch, Exprs: ex, UserData: comment(fr.Name)})
			}
		}
	}
	if err := c.Flush(); err != nil {
		return err
	}
	for _, h := range hooks {
		n.nft.filters[h] = byHook[h]
	}
	return nil
}

// SetFilterPolicy sets what the chain of hook does with packets no rule matched
// (Accept by default).
func (n *Namespace) SetFilterPolicy(hook Hook, v Verdict) error {
	return n.nftOp(fmt.Sprintf("set %s policy %s", hook, v), func(c *nftables.Conn) error {
		ch, err := n.ensureChain(c, hook.String())
		if err != nil {
			return err
		}
		pol := nftables.ChainPolicyAccept
		if v == Drop {
			pol = nftables.ChainPolicyDrop
		}
		upd := *ch
		upd.Policy = &pol
		c.AddChain(&upd)
		if err := c.Flush(); err != nil {
			return err
		}
		n.nft.chains[hook.String()] = &upd
		n.nft.policy[hook] = v
		return nil
	})
}

// filterExprs returns the expression lists of r, one per combination of its prefixes and
// port ranges (combinations mixing IPv4 and IPv6 are left out: they cannot match).
func filterExprs(r FilterRule) ([][]expr.Any, error) { return filterExprsFor(r, false) }

// filterExprsFor is filterExprs for the inet table, or for the bridge table (bridge):
// there the family is matched by EtherType (meta protocol), and a rule without
// addresses matches IPv4 only, so ARP is never filtered.
func filterExprsFor(r FilterRule, bridge bool) ([][]expr.Any, error) {
	if r.Hook > HookOutput {
		return nil, fmt.Errorf("hook %v: unknown", r.Hook)
	}
	if r.Action > Drop {
		return nil, fmt.Errorf("action %v: unknown", r.Action)
	}
	var base []expr.Any
	if r.Iface != "" {
		if err := checkIfname(r.Iface); err != nil {
			return nil, fmt.Errorf("iface: %w", err)
		}
		switch {
		case r.Dir == In && r.Hook == HookOutput:
			return nil, fmt.Errorf("iface %s: the output hook has no input interface", r.Iface)
		case r.Dir == Out && r.Hook == HookInput:
			return nil, fmt.Errorf("iface %s: the input hook has no output interface", r.Iface)
		case r.Dir != In && r.Dir != Out:
			return nil, fmt.Errorf("dir %v: unknown", r.Dir)
		}
		base = append(base, matchIfname(r.Dir == In, r.Iface)...)
	}
	if r.Established {
		base = append(base, matchEstablished()...)
	}
	if (len(r.SrcPorts) > 0 || len(r.DstPorts) > 0) && r.Proto != ProtoTCP && r.Proto != ProtoUDP {
		return nil, fmt.Errorf("ports need proto %d (tcp) or %d (udp), got %d", ProtoTCP, ProtoUDP, r.Proto)
	}
	for i, pr := range append(append([]PortRange(nil), r.SrcPorts...), r.DstPorts...) {
		if pr.Lo > pr.Hi {
			return nil, fmt.Errorf("port range %d: %d-%d is empty", i, pr.Lo, pr.Hi)
		}
	}
	for _, p := range append(append([]netip.Prefix(nil), r.Src...), r.Dst...) {
		if !p.IsValid() {
			return nil, fmt.Errorf("invalid prefix in src or dst")
		}
	}
	srcs, dsts := optPrefixes(r.Src), optPrefixes(r.Dst)
	sps, dps := optPorts(r.SrcPorts), optPorts(r.DstPorts)
	var out [][]expr.Any
	for _, s := range srcs {
		for _, d := range dsts {
			fam := famNone
			if s.IsValid() {
				fam = fam.join(familyOf(s.Addr()))
			}
			if d.IsValid() {
				fam = fam.join(familyOf(d.Addr()))
			}
			if fam == famMixed {
				continue
			}
			for _, sp := range sps {
				for _, dp := range dps {
					ex := append([]expr.Any(nil), base...)
					if bridge {
						ex = append(ex, matchEtherFamily(fam)...)
					} else {
						ex = append(ex, matchFamily(fam)...)
					}
					if r.Proto != 0 {
						ex = append(ex, matchL4Proto(r.Proto)...)
					}
					if s.IsValid() {
						ex = append(ex, matchPrefix(s, true, expr.CmpOpEq)...)
					}
					if d.IsValid() {
						ex = append(ex, matchPrefix(d, false, expr.CmpOpEq)...)
					}
					if sp != nil {
						ex = append(ex, matchPorts(true, *sp)...)
					}
					if dp != nil {
						ex = append(ex, matchPorts(false, *dp)...)
					}
					kind := expr.VerdictAccept
					if r.Action == Drop {
						kind = expr.VerdictDrop
					}
					ex = append(ex, &expr.Counter{}, &expr.Verdict{Kind: kind})
					out = append(out, ex)
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("src %v and dst %v never share an address family", r.Src, r.Dst)
	}
	return out, nil
}

// optPrefixes returns ps, or one invalid prefix meaning "any".
func optPrefixes(ps []netip.Prefix) []netip.Prefix {
	if len(ps) == 0 {
		return []netip.Prefix{{}}
	}
	return ps
}

// optPorts returns pointers to ps, or one nil meaning "any".
func optPorts(ps []PortRange) []*PortRange {
	if len(ps) == 0 {
		return []*PortRange{nil}
	}
	out := make([]*PortRange, len(ps))
	for i := range ps {
		out[i] = &ps[i]
	}
	return out
}

// RuleCounter is the packet and byte count of one named rule.
type RuleCounter struct {
	Chain   string // "prerouting", "output-nat", "postrouting", "forward", "input", "output", "bridge-ingress", "bridge-egress"
	Name    string
	Packets uint64
	Bytes   uint64
}

// Counters reads back the counters of every rule added through this package, one entry
// per rule name and chain (expanded filter rules are summed), in chain order.
func (n *Namespace) Counters() ([]RuleCounter, error) {
	var out []RuleCounter
	err := n.nftOp("read counters", func(c *nftables.Conn) error {
		names := make([]string, 0, len(n.nft.chains))
		for name := range n.nft.chains {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			ch := n.nft.chains[name]
			rules, err := c.GetRules(ch.Table, ch)
			if err != nil {
				return fmt.Errorf("chain %s: %w", name, err)
			}
			idx := map[string]int{}
			for _, r := range rules {
				rn, _ := userdata.GetString(r.UserData, userdata.TypeComment)
				i, ok := idx[rn]
				if !ok {
					i = len(out)
					idx[rn] = i
					out = append(out, RuleCounter{Chain: name, Name: rn})
				}
				for _, e := range r.Exprs {
					if ctr, ok := e.(*expr.Counter); ok {
						out[i].Packets += ctr.Packets
						out[i].Bytes += ctr.Bytes
					}
				}
			}
		}
		return nil
	})
	return out, err
}

// Counter returns the counter of the rule called name (summed over chains).
func (n *Namespace) Counter(name string) (RuleCounter, error) {
	cs, err := n.Counters()
	if err != nil {
		return RuleCounter{}, err
	}
	out := RuleCounter{Name: name}
	found := false
	for _, c := range cs {
		if c.Name == name {
			out.Chain, out.Packets, out.Bytes, found = c.Chain, out.Packets+c.Packets, out.Bytes+c.Bytes, true
		}
	}
	if !found {
		return out, fmt.Errorf("netns %s: counter %q: no such rule", n.full, name)
	}
	return out, nil
}

// comment returns rule user data holding name as an nft comment.
func comment(name string) []byte {
	return userdata.AppendString(nil, userdata.TypeComment, name)
}

// family is the address family a rule is restricted to.
type family uint8

const (
	famNone  family = iota // not restricted
	famIPv4                // meta nfproto ipv4
	famIPv6                // meta nfproto ipv6
	famMixed               // contradictory
)

// familyOf returns famIPv4 or famIPv6 for a.
func familyOf(a netip.Addr) family {
	if a.Unmap().Is4() {
		return famIPv4
	}
	return famIPv6
}

// join combines two restrictions.
func (f family) join(g family) family {
	switch {
	case f == famNone:
		return g
	case g == famNone || f == g:
		return f
	}
	return famMixed
}

// nfproto returns the NFPROTO_* value of f (IPv4 when unrestricted).
func (f family) nfproto() uint32 {
	if f == famIPv6 {
		return unix.NFPROTO_IPV6
	}
	return unix.NFPROTO_IPV4
}

// matchFamily restricts an inet-family rule to f (nothing for famNone).
func matchFamily(f family) []expr.Any {
	if f == famNone {
		return nil
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{byte(f.nfproto())}},
	}
}

// matchEtherFamily restricts a bridge-family rule to IPv4 frames (famNone, famIPv4) or
// IPv6 frames by EtherType.
func matchEtherFamily(f family) []expr.Any {
	et := EtherTypeIPv4
	if f == famIPv6 {
		et = EtherTypeIPv6
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyPROTOCOL, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: be16(et)},
	}
}

// matchIfname matches the input (in) or output interface name.
func matchIfname(in bool, name string) []expr.Any {
	key := expr.MetaKeyOIFNAME
	if in {
		key = expr.MetaKeyIIFNAME
	}
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b},
	}
}

// ipsDstNAT is IPS_DST_NAT of enum ip_conntrack_status (include/uapi/linux/netfilter/nf_conntrack_common.h).
const ipsDstNAT = 1 << 5

// matchCtStatus matches connections with any of the status bits set.
func matchCtStatus(bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeySTATUS, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binary.NativeEndian.AppendUint32(nil, bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// matchEstablished matches ct state established or related.
func matchEstablished() []expr.Any {
	bits := binary.NativeEndian.AppendUint32(nil, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED)
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: bits, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// matchL4Proto matches the transport protocol (meta l4proto, which skips IPv6 extension headers).
func matchL4Proto(p uint8) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{p}},
	}
}

// matchPrefix compares the source (src) or destination address with prefix p using op
// (CmpOpEq: in p; CmpOpNeq: not in p). The caller adds matchFamily first: the payload
// offsets are those of p's family (RFC 791 section 3.1; RFC 8200 section 3).
func matchPrefix(p netip.Prefix, src bool, op expr.CmpOp) []expr.Any {
	p = netip.PrefixFrom(p.Addr().Unmap(), min(p.Bits(), p.Addr().Unmap().BitLen())).Masked()
	if p.Bits() == 0 {
		if op == expr.CmpOpEq {
			return nil
		}
	}
	a := p.Addr()
	off, l := uint32(12), uint32(4)
	if !src {
		off = 16
	}
	if a.Is6() {
		off, l = 8, 16
		if !src {
			off = 24
		}
	}
	ex := []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: l}}
	if p.Bits() < a.BitLen() {
		mask := make([]byte, l)
		for i := 0; i < p.Bits(); i++ {
			mask[i/8] |= 0x80 >> (i % 8)
		}
		ex = append(ex, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: l, Mask: mask, Xor: make([]byte, l)})
	}
	return append(ex, &expr.Cmp{Op: op, Register: 1, Data: a.AsSlice()})
}

// chain names of the source NAT decisions (Masquerade.Original).
const (
	chainDecidePre = "snat-decide"     // prerouting, mangle priority (after conntrack, before dstnat)
	chainDecideOut = "snat-decide-out" // output, the same
)

// ensureDecideChain creates a decision chain on first use. The caller holds an acquire
// and n.nft.mu.
func (n *Namespace) ensureDecideChain(c *nftables.Conn, name string) (*nftables.Chain, error) {
	if ch, ok := n.nft.chains[name]; ok {
		return ch, nil
	}
	hook := nftables.ChainHookPrerouting
	if name == chainDecideOut {
		hook = nftables.ChainHookOutput
	}
	pol := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{Name: name, Table: n.nft.table, Type: nftables.ChainTypeFilter, Hooknum: hook,
		Priority: nftables.ChainPriorityMangle, Policy: &pol})
	n.nft.chains[name] = ch
	return ch, nil
}

// origMarkBit returns the conntrack mark bit of the next Original source NAT rule of
// source src: rules of one source need their own bits, rules of different sources share
// them (their postrouting rules match the source too). The caller holds n.nft.mu.
func (n *Namespace) origMarkBit(src netip.Prefix) (uint32, error) {
	if n.nft.origBits == nil {
		n.nft.origBits = map[netip.Prefix]int{}
	}
	k := n.nft.origBits[src]
	if k >= 8 {
		return 0, fmt.Errorf("src %v: more than 8 source NAT rules by original destination", src)
	}
	n.nft.origBits[src] = k + 1
	return 1 << (origMarkShift + k), nil
}

// matchCtStateNew matches the first packet of a connection (ct state new).
func matchCtStateNew() []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binary.NativeEndian.AppendUint32(nil, expr.CtStateBitNEW),
			Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// matchCtMarkBits matches connections whose conntrack mark has any of bits.
func matchCtMarkBits(bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binary.NativeEndian.AppendUint32(nil, bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// matchPorts matches the source (src) or destination TCP/UDP port against r. The caller
// adds matchL4Proto first: both ports sit at the same offsets in TCP and UDP (RFC 9293
// section 3.1, RFC 768).
func matchPorts(src bool, r PortRange) []expr.Any {
	off := uint32(2)
	if src {
		off = 0
	}
	ex := []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: 2}}
	if r.Lo == r.Hi {
		return append(ex, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: be16(r.Lo)})
	}
	return append(ex, &expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: be16(r.Lo), ToData: be16(r.Hi)})
}

// be16 returns v in network byte order.
func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
