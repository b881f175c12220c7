package linux

import (
	"fmt"
	"net"
	"net/netip"
	"sort"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

// EtherTypes (IEEE 802 numbers) for MACRewrite.EtherType.
const (
	EtherTypeIPv4 uint16 = 0x0800
	EtherTypeARP  uint16 = 0x0806
	EtherTypeIPv6 uint16 = 0x86dd
)

// BridgeStage selects where in a Linux bridge a MACRewrite acts.
type BridgeStage uint8

const (
	// BridgeIngress is the bridge prerouting hook, before the FDB lookup: a new
	// destination MAC changes where the bridge sends the frame. Port matches the input port.
	BridgeIngress BridgeStage = iota + 1
	// BridgeEgress is the bridge postrouting hook, after the lookup and after source
	// learning: a new source MAC is not learned by this bridge. Port matches the output port.
	BridgeEgress
)

// String returns "bridge-ingress" or "bridge-egress", the chain names.
func (s BridgeStage) String() string {
	switch s {
	case BridgeIngress:
		return "bridge-ingress"
	case BridgeEgress:
		return "bridge-egress"
	}
	return fmt.Sprintf("bridge-stage(%d)", uint8(s))
}

// MACRewrite describes a bridge-family nftables rule that rewrites Ethernet (and ARP)
// hardware addresses of frames crossing a bridge. It is the building block for the
// l2bridge MAC rewrite where ipvlan is not available (ErrLinkKindUnsupported): VFP
// rewrites the source MAC to the host's on egress and the destination MAC to the
// container's on ingress (docs/design.md section 3). Empty match fields match anything; the
// first matching rule of a stage applies, in the order added.
type MACRewrite struct {
	// Name labels the rule in Counters and as its nft comment (default "mac-rewrite#<n>").
	Name string
	// Stage is BridgeIngress or BridgeEgress. Required.
	Stage BridgeStage
	// Port matches the bridge port the frame comes in by (ingress) or goes out by (egress).
	Port string
	// EtherType matches the frame's protocol (EtherTypeIPv4, EtherTypeARP, EtherTypeIPv6).
	// Required with DstIP and with the ARP rewrites.
	EtherType uint16
	// SrcMAC and DstMAC match the Ethernet addresses.
	SrcMAC, DstMAC net.HardwareAddr
	// DstIP matches the IPv4/IPv6 destination, or for ARP the target protocol address
	// (RFC 826), so replies and requests for a container can be steered to it.
	DstIP netip.Addr
	// DstPrefix matches an IPv4/IPv6 destination prefix (EtherTypeIPv4 or EtherTypeIPv6
	// required), e.g. a remote overlay subnet whose frames get the remote router's MAC.
	DstPrefix netip.Prefix
	// SetSrcMAC and SetDstMAC replace the Ethernet addresses.
	SetSrcMAC, SetDstMAC net.HardwareAddr
	// SetARPSenderMAC and SetARPTargetMAC replace the hardware addresses inside an
	// Ethernet/IPv4 ARP packet (sha at offset 8, tha at offset 18, RFC 826).
	SetARPSenderMAC, SetARPTargetMAC net.HardwareAddr
}

// AddMACRewrite appends a MAC rewrite rule to the bridge table of n (family bridge, named
// like the inet table), at the given stage.
func (n *Namespace) AddMACRewrite(r MACRewrite) error {
	return n.nftOp(fmt.Sprintf("add mac rewrite %q (%v)", r.Name, r.Stage), func(c *nftables.Conn) error {
		ex, err := macRewriteExprs(r)
		if err != nil {
			return err
		}
		ch, err := n.ensureBridgeChain(c, r.Stage)
		if err != nil {
			return err
		}
		c.AddRule(&nftables.Rule{Table: ch.Table, Chain: ch, Exprs: ex,
			UserData: userdata.AppendString(nil, userdata.TypeComment, n.ruleName("mac-rewrite", r.Name))})
		return c.Flush()
	})
}

// ensureBridgeChain creates the bridge table and the chain of stage on first use. The
// caller holds an acquire and n.nft.mu.
func (n *Namespace) ensureBridgeChain(c *nftables.Conn, stage BridgeStage) (*nftables.Chain, error) {
	if ch, ok := n.nft.chains[stage.String()]; ok {
		return ch, nil
	}
	if _, err := n.ensureBridgeTable(c); err != nil {
		return nil, err
	}
	// Priorities of nft's bridge "dstnat" (-300) and "srcnat" (300); NF_BR_PRE_ROUTING and
	// NF_BR_POST_ROUTING have the same numbers as the inet hooks.
	ch := &nftables.Chain{Name: stage.String(), Table: n.nft.bridge, Type: nftables.ChainTypeFilter}
	switch stage {
	case BridgeIngress:
		ch.Hooknum, ch.Priority = nftables.ChainHookPrerouting, nftables.ChainPriorityRef(-300)
	case BridgeEgress:
		ch.Hooknum, ch.Priority = nftables.ChainHookPostrouting, nftables.ChainPriorityRef(300)
	default:
		return nil, fmt.Errorf("stage %v: unknown", stage)
	}
	pol := nftables.ChainPolicyAccept
	ch.Policy = &pol
	c.AddChain(ch)
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("add chain %s: %w", ch.Name, err)
	}
	n.nft.chains[ch.Name] = ch
	return ch, nil
}

// ensureBridgeTable creates the bridge table on first use. The caller holds an acquire and
// n.nft.mu.
func (n *Namespace) ensureBridgeTable(c *nftables.Conn) (*nftables.Table, error) {
	if n.nft.bridge == nil {
		t := &nftables.Table{Name: n.lab.session, Family: nftables.TableFamilyBridge}
		c.AddTable(t)
		if err := c.Flush(); err != nil {
			return nil, fmt.Errorf("add table bridge %s: %w", t.Name, err)
		}
		n.nft.bridge = t
		n.lab.record("nftables table bridge "+t.Name+" in "+n.full, n.delTable(t))
	}
	return n.nft.bridge, nil
}

// macRewriteExprs validates r and returns its expressions.
func macRewriteExprs(r MACRewrite) ([]expr.Any, error) {
	if r.Stage != BridgeIngress && r.Stage != BridgeEgress {
		return nil, fmt.Errorf("stage %v: unknown", r.Stage)
	}
	for name, m := range map[string]net.HardwareAddr{"src mac": r.SrcMAC, "dst mac": r.DstMAC, "set src mac": r.SetSrcMAC,
		"set dst mac": r.SetDstMAC, "set arp sender mac": r.SetARPSenderMAC, "set arp target mac": r.SetARPTargetMAC} {
		if m != nil && len(m) != 6 {
			return nil, fmt.Errorf("%s %v: %d bytes, want 6", name, m, len(m))
		}
	}
	if r.SetSrcMAC == nil && r.SetDstMAC == nil && r.SetARPSenderMAC == nil && r.SetARPTargetMAC == nil {
		return nil, fmt.Errorf("nothing to rewrite")
	}
	arp := r.SetARPSenderMAC != nil || r.SetARPTargetMAC != nil
	if arp && r.EtherType != EtherTypeARP {
		return nil, fmt.Errorf("arp rewrites need ether type %#04x, got %#04x", EtherTypeARP, r.EtherType)
	}
	var ex []expr.Any
	if r.Port != "" {
		if err := checkIfname(r.Port); err != nil {
			return nil, fmt.Errorf("port: %w", err)
		}
		ex = append(ex, matchIfname(r.Stage == BridgeIngress, r.Port)...)
	}
	if r.EtherType != 0 {
		ex = append(ex, &expr.Meta{Key: expr.MetaKeyPROTOCOL, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: be16(r.EtherType)})
	}
	ll := func(off uint32, m net.HardwareAddr) []expr.Any {
		return []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseLLHeader, Offset: off, Len: 6},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte(m)}}
	}
	if r.DstMAC != nil {
		ex = append(ex, ll(0, r.DstMAC)...)
	}
	if r.SrcMAC != nil {
		ex = append(ex, ll(6, r.SrcMAC)...)
	}
	if r.DstIP.IsValid() {
		a := r.DstIP.Unmap()
		var off uint32
		switch {
		case r.EtherType == EtherTypeIPv4 && a.Is4():
			off = 16 // RFC 791 section 3.1
		case r.EtherType == EtherTypeARP && a.Is4():
			off = 24 // tpa of an Ethernet/IPv4 ARP packet, RFC 826
		case r.EtherType == EtherTypeIPv6 && a.Is6():
			off = 24 // RFC 8200 section 3
		default:
			return nil, fmt.Errorf("dst ip %v does not go with ether type %#04x", r.DstIP, r.EtherType)
		}
		ex = append(ex, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: uint32(a.BitLen() / 8)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a.AsSlice()})
	}
	if r.DstPrefix.IsValid() {
		a := r.DstPrefix.Addr().Unmap()
		switch {
		case r.EtherType == EtherTypeIPv4 && a.Is4(), r.EtherType == EtherTypeIPv6 && a.Is6():
			// matchPrefix reads the destination at its RFC 791 / RFC 8200 offset.
			ex = append(ex, matchPrefix(r.DstPrefix, false, expr.CmpOpEq)...)
		default:
			return nil, fmt.Errorf("dst prefix %v does not go with ether type %#04x", r.DstPrefix, r.EtherType)
		}
	}
	ex = append(ex, &expr.Counter{})
	set := func(base expr.PayloadBase, off uint32, m net.HardwareAddr) []expr.Any {
		return []expr.Any{&expr.Immediate{Register: 1, Data: []byte(m)},
			&expr.Payload{OperationType: expr.PayloadWrite, SourceRegister: 1, Base: base, Offset: off, Len: 6}}
	}
	if r.SetDstMAC != nil {
		ex = append(ex, set(expr.PayloadBaseLLHeader, 0, r.SetDstMAC)...)
	}
	if r.SetSrcMAC != nil {
		ex = append(ex, set(expr.PayloadBaseLLHeader, 6, r.SetSrcMAC)...)
	}
	if r.SetARPSenderMAC != nil {
		ex = append(ex, set(expr.PayloadBaseNetworkHeader, 8, r.SetARPSenderMAC)...)
	}
	if r.SetARPTargetMAC != nil {
		ex = append(ex, set(expr.PayloadBaseNetworkHeader, 18, r.SetARPTargetMAC)...)
	}
	// Accept ends the chain: the first matching rewrite of a stage applies.
	return append(ex, &expr.Verdict{Kind: expr.VerdictAccept}), nil
}

// BridgeFilter is a stateless filter rule for IP frames crossing a bridge port (nftables
// bridge family, so bridged frames are filtered without br_netfilter): In filters frames
// the bridge receives from Port (prerouting, after BridgeIngress rewrites), Out frames it
// sends out of Port, bridged or from the bridge's own stack (postrouting, before
// BridgeEgress rewrites). The rules of one direction are ordered by Priority, first
// match decides, and frames no rule matches pass. Without conntrack in the bridge family
// (CONFIG_NF_CONNTRACK_BRIDGE) the rules cannot tell replies from new connections.
type BridgeFilter struct {
	// Name labels the rule in Counters (default "bridge-filter#<n>").
	Name string
	// Port is the bridge port. Required.
	Port string
	// Dir is In (from Port) or Out (to Port).
	Dir Direction
	// Priority orders the rules of a direction: lower first.
	Priority int
	// Src, Dst, Proto, SrcPorts and DstPorts match as in FilterRule; a rule without
	// addresses matches IPv4 only (never ARP).
	Src, Dst           []netip.Prefix
	Proto              uint8
	SrcPorts, DstPorts []PortRange
	// Action is Accept or Drop.
	Action Verdict
}

// bridge filter chain names.
const (
	chainBridgeFilterIn  = "bridge-filter-in"
	chainBridgeFilterOut = "bridge-filter-out"
)

// AddBridgeFilters adds bridge filter rules; each direction's chain is rewritten once,
// in one transaction, so its counters start again from zero.
func (n *Namespace) AddBridgeFilters(rs ...BridgeFilter) error {
	return n.nftOp(fmt.Sprintf("add %d bridge filters", len(rs)), func(c *nftables.Conn) error {
		if n.nft.bridgeFilters == nil {
			n.nft.bridgeFilters = map[Direction][]BridgeFilter{}
		}
		byDir := map[Direction][]BridgeFilter{}
		for _, r := range rs {
			if r.Dir != In && r.Dir != Out {
				return fmt.Errorf("bridge filter %q: dir %v: unknown", r.Name, r.Dir)
			}
			if r.Port == "" {
				return fmt.Errorf("bridge filter %q: no port", r.Name)
			}
			if _, err := filterExprsFor(r.filterRule(), true); err != nil {
				return fmt.Errorf("bridge filter %q: %w", r.Name, err)
			}
			if _, ok := byDir[r.Dir]; !ok {
				byDir[r.Dir] = append([]BridgeFilter(nil), n.nft.bridgeFilters[r.Dir]...)
			}
			r.Name = n.ruleName("bridge-filter", r.Name)
			byDir[r.Dir] = append(byDir[r.Dir], r)
		}
		for _, dir := range []Direction{In, Out} {
			rules, ok := byDir[dir]
			if !ok {
				continue
			}
			ch, err := n.ensureBridgeFilterChain(c, dir)
			if err != nil {
				return err
			}
			sort.SliceStable(rules, func(i, j int) bool { return rules[i].Priority < rules[j].Priority })
			c.FlushChain(ch)
			for _, r := range rules {
				exs, err := filterExprsFor(r.filterRule(), true)
				if err != nil {
					return err
				}
				for _, ex := range exs {
					c.AddRule(&nftables.Rule{Table: ch.Table, Chain: ch, Exprs: ex, UserData: comment(r.Name)})
				}
			}
			byDir[dir] = rules
		}
		if err := c.Flush(); err != nil {
			return err
		}
		for dir, rules := range byDir {
			n.nft.bridgeFilters[dir] = rules
		}
		return nil
	})
}

// filterRule returns r as a FilterRule for filterExprsFor (the hook only selects
// which interface name to match: input for In, output for Out).
func (r BridgeFilter) filterRule() FilterRule {
	return FilterRule{Name: r.Name, Hook: HookForward, Priority: r.Priority, Iface: r.Port, Dir: r.Dir, Src: r.Src, Dst: r.Dst,
		Proto: r.Proto, SrcPorts: r.SrcPorts, DstPorts: r.DstPorts, Action: r.Action}
}

// ensureBridgeFilterChain creates the bridge table and the filter chain of dir on first
// use. The caller holds an acquire and n.nft.mu.
func (n *Namespace) ensureBridgeFilterChain(c *nftables.Conn, dir Direction) (*nftables.Chain, error) {
	name := chainBridgeFilterIn
	hook := nftables.ChainHookPrerouting
	if dir == Out {
		name, hook = chainBridgeFilterOut, nftables.ChainHookPostrouting
	}
	if ch, ok := n.nft.chains[name]; ok {
		return ch, nil
	}
	if _, err := n.ensureBridgeTable(c); err != nil {
		return nil, err
	}
	// nft's bridge "filter" priority (-200): after the ingress rewrites (-300), before
	// the egress rewrites (300).
	ch := &nftables.Chain{Name: name, Table: n.nft.bridge, Type: nftables.ChainTypeFilter, Hooknum: hook,
		Priority: nftables.ChainPriorityRef(-200)}
	pol := nftables.ChainPolicyAccept
	ch.Policy = &pol
	c.AddChain(ch)
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("add chain %s: %w", name, err)
	}
	n.nft.chains[name] = ch
	return ch, nil
}
