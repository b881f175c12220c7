package hns

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/vfp"
)

// TierAcl (HNS 14.0, hcsshim hcn TierAclPolicySetting) puts an endpoint's
// ACLs in tiers, the shape Calico's tiered policy has: the tiers of one
// direction are walked by Order (smallest first), the rules of a tier by
// Priority, and the first rule that matches decides: Allow or Block ends
// the walk, Pass skips the rest of its tier and goes on with the next one
// (docs.tigera.io, Tier resource: "the Pass action in a Rule jumps to the
// next Tier"). A tier where no rule matches decides nothing and the next
// tier goes on [I: HNS documents no implicit deny per tier; Calico writes
// its own deny rules into a tier when it wants one]. After the last tier
// the endpoint's ACL policies and the container defaults decide, as they
// do without tiers: a Pass in the last tier falls through to them, as
// Calico does on Linux (to the profiles), and is not enforced as a block
// (projectcalico/calico#13208, where Calico's Windows flattener rewrote a
// last-tier Pass to Block).
//
// VFP has no "skip to the next tier" action, so the tiers are flattened
// into one priority-ordered group per direction and family in the ACL
// layer, ahead of the ACL group: a Pass rule is replaced, in its place,
// by its conjunction with every rule that can decide after it (the later
// tiers, then the ACL rules and the defaults, which together match every
// packet), so a packet that matches the Pass rule is always decided by the
// conjunctions and never by the rest of its tier. A conjunction that can
// match nothing (disjoint protocols, addresses or ports) is left out.

// tierRule is one rule of a flattened tier list.
type tierRule struct {
	name  string
	c     vfp.Conditions
	act   ActionType // Allow, Block or Pass
	flags uint32
	// modelOnly is the ModelOnly of the ACL-layer rule it stands for (the
	// container defaults), or of the one it is a conjunction with.
	modelOnly string
}

// Group names and priority of the flattened tiers.
const (
	tierGroupBase = "TIER_ACL_GROUP"
	// prioTierGroup puts the tier group ahead of ACL_ENDPOINT_GROUP_* (1).
	prioTierGroup = 0
	// maxTierRules caps a flattened list: each Pass multiplies the rules
	// after it, and HNS would reject a policy set this large [I].
	maxTierRules = 4096
)

// tierPolicies returns the endpoint's TierAcl tiers for one direction, by
// Order (then as listed), each with its rules by Priority.
func tierPolicies(e *HostComputeEndpoint, in bool) ([][]TierAclRule, []string, error) {
	type tier struct {
		order uint16
		name  string
		rules []TierAclRule
	}
	var ts []tier
	for i, p := range e.Policies {
		if p.Type != TierAcl {
			continue
		}
		s, err := p.TierAcl()
		if err != nil {
			return nil, nil, fmt.Errorf("endpoint %q: Policies[%d]: %w", endpointName(e), i, err)
		}
		if (s.Direction == DirectionTypeIn) != in {
			continue
		}
		rs := slices.Clone(s.TierAclRules)
		slices.SortStableFunc(rs, func(a, b TierAclRule) int { return int(a.Priority) - int(b.Priority) })
		ts = append(ts, tier{order: s.Order, name: firstNonEmpty(s.Name, fmt.Sprintf("tier%d", i)), rules: rs})
	}
	slices.SortStableFunc(ts, func(a, b tier) int { return int(a.order) - int(b.order) })
	var out [][]TierAclRule
	var names []string
	for _, t := range ts {
		out = append(out, t.rules)
		names = append(names, t.name)
	}
	return out, names, nil
}

// tierACLs programs the endpoint's tiers for one family into layer l:
// post are the rules that decide after the last tier (the ACL group's
// rules of that direction, defaults included), in priority order.
func (pr *programmer) tierACLs(ep *vfpEp, l *vfp.Layer, v6 bool, dir vfp.Direction, post []*vfp.Rule) error {
	tiers, names, err := tierPolicies(ep.e, dir == vfp.In)
	if err != nil || len(tiers) == 0 {
		return err
	}
	var flat [][]tierRule
	for ti, t := range tiers {
		var rs []tierRule
		for j, r := range t {
			ar := aclRule{protocols: r.Protocols, in: dir == vfp.In, local: r.LocalAddresses, remote: r.RemoteAddresses,
				lports: r.LocalPorts, rports: r.RemotePorts}
			c, ok, err := aclConditions(ar, v6)
			if err != nil {
				return fmt.Errorf("endpoint %q: TierAcl %s: TierAclRules[%d]: %w", endpointName(ep.e), names[ti], j, err)
			}
			if !ok {
				continue // addresses of the other family only
			}
			rs = append(rs, tierRule{name: firstNonEmpty(r.Id, fmt.Sprintf("%s_%d", names[ti], j)), c: c, act: r.TierAclRuleAction, flags: aclRuleFlags})
		}
		flat = append(flat, rs)
	}
	var last []tierRule
	for _, r := range post {
		act := ActionTypeAllow
		if r.Action.Type == vfp.ActionBlock {
			act = ActionTypeBlock
		}
		last = append(last, tierRule{name: r.Name, c: r.Conditions, act: act, flags: r.ExtraFlags, modelOnly: r.ModelOnly})
	}
	rules, err := flattenTiers(append(flat, last))
	if err != nil {
		return fmt.Errorf("endpoint %q: TierAcl: %w", endpointName(ep.e), err)
	}
	g := group(l, groupName(tierGroupBase, v6, dir), prioTierGroup, dir, v6)
	seen := map[string]int{}
	for i, r := range rules {
		name := r.name
		if n := seen[name]; n > 0 {
			name = fmt.Sprintf("%s#%d", name, n+1)
		}
		seen[r.name]++
		vr := &vfp.Rule{Name: name, FriendlyName: r.name, Priority: uint32(i + 1), Terminating: true,
			ExtraFlags: r.flags, Conditions: r.c, ModelOnly: r.modelOnly}
		switch r.act {
		case ActionTypeBlock:
			vr.Action = vfp.Action{Type: vfp.ActionBlock, Reason: drop.VFPBlock}
		default:
			vr.Stateful = true
			vr.Action = vfp.Action{Type: vfp.ActionAllow}
		}
		g.Rules = append(g.Rules, vr)
	}
	return nil
}

// flattenTiers turns tiers (the last one has no Pass and matches every
// packet) into one ordered list of Allow and Block rules with the same
// decisions: rules in order, a Pass replaced by its conjunction with the
// flattened later tiers, and the later tiers after the first tier's rules.
func flattenTiers(tiers [][]tierRule) ([]tierRule, error) {
	if len(tiers) == 0 {
		return nil, nil
	}
	rest, err := flattenTiers(tiers[1:])
	if err != nil {
		return nil, err
	}
	var out []tierRule
	for _, r := range tiers[0] {
		if r.act != ActionTypePass {
			out = append(out, r)
			continue
		}
		for _, x := range rest {
			c, ok := intersect(r.c, x.c)
			if !ok {
				continue
			}
			name := r.name + "+" + x.name
			out = append(out, tierRule{name: name, c: c, act: x.act, flags: x.flags, modelOnly: x.modelOnly})
		}
		if len(out) > maxTierRules {
			return nil, fmt.Errorf("the tiers flatten to more than %d rules", maxTierRules)
		}
	}
	out = append(out, rest...)
	if len(out) > maxTierRules {
		return nil, fmt.Errorf("the tiers flatten to more than %d rules", maxTierRules)
	}
	return out, nil
}

// intersect returns conditions that match exactly the packets both a and
// b match; ok is false when no packet can.
func intersect(a, b vfp.Conditions) (vfp.Conditions, bool) {
	var c vfp.Conditions
	var ok bool
	if c.Protocols, ok = interSets(a.Protocols, b.Protocols); !ok {
		return c, false
	}
	if c.VNI, ok = interSets(a.VNI, b.VNI); !ok {
		return c, false
	}
	if c.SrcMAC, ok = interSets(a.SrcMAC, b.SrcMAC); !ok {
		return c, false
	}
	if c.DstMAC, ok = interSets(a.DstMAC, b.DstMAC); !ok {
		return c, false
	}
	if c.SrcIP, ok = interPrefixes(a.SrcIP, b.SrcIP); !ok {
		return c, false
	}
	if c.DstIP, ok = interPrefixes(a.DstIP, b.DstIP); !ok {
		return c, false
	}
	if c.SrcPort, ok = interRanges(a.SrcPort, b.SrcPort); !ok {
		return c, false
	}
	if c.DstPort, ok = interRanges(a.DstPort, b.DstPort); !ok {
		return c, false
	}
	return c, true
}

// interSets intersects two condition lists where empty means any.
func interSets[T comparable](a, b []T) ([]T, bool) {
	switch {
	case len(a) == 0:
		return slices.Clone(b), true
	case len(b) == 0:
		return slices.Clone(a), true
	}
	var out []T
	for _, x := range a {
		if slices.Contains(b, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out, len(out) > 0
}

// interPrefixes intersects two prefix lists (empty means any): two
// prefixes overlap only when one contains the other, and then the longer
// one is their intersection.
func interPrefixes(a, b []netip.Prefix) ([]netip.Prefix, bool) {
	switch {
	case len(a) == 0:
		return slices.Clone(b), true
	case len(b) == 0:
		return slices.Clone(a), true
	}
	var out []netip.Prefix
	for _, x := range a {
		for _, y := range b {
			var p netip.Prefix
			switch {
			case x.Bits() <= y.Bits() && x.Contains(y.Addr()):
				p = y
			case y.Bits() < x.Bits() && y.Contains(x.Addr()):
				p = x
			default:
				continue
			}
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out, len(out) > 0
}

// interRanges intersects two port range lists (empty means any).
func interRanges(a, b []vfp.PortRange) ([]vfp.PortRange, bool) {
	switch {
	case len(a) == 0:
		return slices.Clone(b), true
	case len(b) == 0:
		return slices.Clone(a), true
	}
	var out []vfp.PortRange
	for _, x := range a {
		for _, y := range b {
			lo, hi := max(x.Lo, y.Lo), min(x.Hi, y.Hi)
			if lo <= hi && !slices.Contains(out, vfp.PortRange{Lo: lo, Hi: hi}) {
				out = append(out, vfp.PortRange{Lo: lo, Hi: hi})
			}
		}
	}
	return out, len(out) > 0
}
