package vfpctrl

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/vfp"
)

// What a Diff reports besides a field name.
const (
	// Missing: the model programs the object, the host does not list it.
	Missing = "missing"
	// Extra: the host lists the object, the model does not program it.
	Extra = "extra"
	// Unverified: the model programs the object and the host's listing
	// does not show it, but the listing leaves lines out, so it may be
	// there. Not a failure.
	Unverified = "unverified"
)

// Diff is one difference between the VFP objects the model programs for
// a port (want) and those a host lists (got).
type Diff struct {
	// Path is "LAYER", "LAYER/GROUP" or "LAYER/GROUP/RULE" (a rule by
	// name, or by friendly name where the host names rules by GUID).
	Path string `json:"path"`
	// What is Missing, Extra, Unverified or the field that differs
	// ("priority", "flags", "type", "conditions", "flow ttl", ...).
	What string `json:"what"`
	// Want is the model's value, Got the host's.
	Want string `json:"want,omitempty"`
	Got  string `json:"got,omitempty"`
}

// String formats d, e.g. `SNAT/SNAT_GROUP_IPV4_OUT/SNAT_TCP: priority 100 vs 200`.
func (d Diff) String() string {
	switch d.What {
	case Missing:
		return d.Path + ": missing on the host"
	case Extra:
		return d.Path + ": only on the host"
	case Unverified:
		return d.Path + ": not in the listing, which leaves lines out (unverified)"
	}
	return fmt.Sprintf("%s: %s %s vs %s", d.Path, d.What, dashIfEmpty(d.Want), dashIfEmpty(d.Got))
}

// Fails reports whether d is a real difference (everything but Unverified).
func (d Diff) Fails() bool { return d.What != Unverified }

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// CheckOptions scope a rule check.
type CheckOptions struct {
	// Explain expects the model's own rules (Rule.ModelOnly) on the host
	// too; by default they are left out, as FormatListRule leaves them out.
	Explain bool
	// Partial says the host's listing leaves lines out (Listing.Partial):
	// what it does not show is Unverified instead of Missing.
	Partial bool
	// Layer and Group, when set, limit the check to that layer (and group),
	// as a listing of `vfpctrl /port P /layer L /list-rule` shows only it.
	Layer, Group string
}

// Check compares the layers, groups and rules the model programs for a
// port (want) with those a host lists for it (got, from ParseListing):
// layers and groups are matched by name, rules by name or friendly name
// (HNS names ACL rules by a GUID of its own and gives the ACL's Id as the
// friendly name); matched objects are compared on priority, flags,
// direction, family, match type, rule type, conditions, flow TTL and the
// action data the host prints (MSS delta, NAT pool). Rules listed before
// any group line (a paste that elides the group) are matched against
// every group of their layer. The result is in the model's order, layers
// by priority, then what only the host has.
func Check(want, got []*vfp.Layer, o CheckOptions) []Diff {
	c := &checker{o: o}
	gl := map[string]*vfp.Layer{}
	var gotNames []string
	for _, l := range got {
		if _, dup := gl[l.Name]; !dup {
			gotNames = append(gotNames, l.Name)
		}
		gl[l.Name] = l
	}
	for _, wl := range sortedLayers(want) {
		if o.Layer != "" && !strings.EqualFold(wl.Name, o.Layer) {
			continue
		}
		// A layer whose rules are all the model's own is still expected:
		// HNS creates the layer, only its rules are not listed.
		groups := c.wantGroups(wl)
		hl, ok := gl[wl.Name]
		if !ok {
			c.absent(wl.Name)
			continue
		}
		delete(gl, wl.Name)
		if o.Layer == "" && o.Group == "" {
			// (A /layer L listing does not print the layer's own fields.)
			c.cmp(wl.Name, "priority", u32(wl.Priority), u32(hl.Priority))
			c.cmp(wl.Name, "flags", layerFlagNames(wl.AllFlags()), layerFlagNames(hl.AllFlags()))
		}
		c.groups(wl.Name, groups, hl)
	}
	for _, name := range gotNames {
		if _, left := gl[name]; !left {
			continue
		}
		if o.Layer != "" && !strings.EqualFold(name, o.Layer) {
			continue
		}
		c.out = append(c.out, Diff{Path: name, What: Extra})
	}
	return c.out
}

type checker struct {
	o   CheckOptions
	out []Diff
}

func (c *checker) absent(path string) {
	what := Missing
	if c.o.Partial {
		what = Unverified
	}
	c.out = append(c.out, Diff{Path: path, What: what})
}

func (c *checker) cmp(path, what, want, got string) {
	if want != got {
		c.out = append(c.out, Diff{Path: path, What: what, Want: want, Got: got})
	}
}

// wantGroups returns the layer's groups the host is expected to list, in
// priority order, each with the rules it is expected to list.
func (c *checker) wantGroups(l *vfp.Layer) []*vfp.Group {
	var out []*vfp.Group
	for _, g := range sortedGroups(l) {
		if c.o.Group != "" && !strings.EqualFold(g.Name, c.o.Group) {
			continue
		}
		if c.o.Explain {
			out = append(out, g)
			continue
		}
		cp := *g
		cp.Rules = nil
		for _, r := range g.Rules {
			if r.ModelOnly == "" {
				cp.Rules = append(cp.Rules, r)
			}
		}
		if len(cp.Rules) > 0 || len(g.Rules) == 0 {
			out = append(out, &cp)
		}
	}
	return out
}

func (c *checker) groups(lpath string, want []*vfp.Group, hl *vfp.Layer) {
	hg := map[string]*vfp.Group{}
	var loose []*vfp.Rule // rules the listing shows without their group
	for _, g := range hl.Groups {
		if g.Name == "" {
			loose = append(loose, g.Rules...)
			continue
		}
		hg[g.Name] = g
	}
	used := make([]bool, len(loose))
	for _, wg := range want {
		path := lpath + "/" + wg.Name
		g, ok := hg[wg.Name]
		if !ok {
			if len(loose) == 0 {
				c.absent(path)
				continue
			}
			// A paste that elides the group line may still show its rules.
			found := false
			for _, r := range wg.Rules {
				if i := matchRule(r, loose, used); i >= 0 {
					used[i] = true
					found = true
					c.rule(path+"/"+ruleLabel(r), r, loose[i])
				} else {
					c.absent(path + "/" + ruleLabel(r))
				}
			}
			if !found {
				c.absent(path)
			}
			continue
		}
		delete(hg, wg.Name)
		c.cmp(path, "priority", u32(wg.Priority), u32(g.Priority))
		c.cmp(path, "direction", wg.Direction.String(), g.Direction.String())
		c.cmp(path, "type", vfp.FamilyName(wg.IPv6), vfp.FamilyName(g.IPv6))
		c.cmp(path, "match type", matchType(wg), matchType(g))
		c.cmp(path, "conditions", conditionsString(wg.Conditions), conditionsString(g.Conditions))
		gu := make([]bool, len(g.Rules))
		for _, r := range sortedRules(wg) {
			rp := path + "/" + ruleLabel(r)
			i := matchRule(r, g.Rules, gu)
			if i < 0 {
				c.absent(rp)
				continue
			}
			gu[i] = true
			c.rule(rp, r, g.Rules[i])
		}
		for i, r := range g.Rules {
			if !gu[i] {
				c.out = append(c.out, Diff{Path: path + "/" + ruleLabel(r), What: Extra})
			}
		}
	}
	for _, g := range hl.Groups {
		if g.Name == "" {
			continue
		}
		if _, left := hg[g.Name]; left && (c.o.Group == "" || strings.EqualFold(g.Name, c.o.Group)) {
			c.out = append(c.out, Diff{Path: lpath + "/" + g.Name, What: Extra})
		}
	}
	for i, r := range loose {
		if !used[i] {
			c.out = append(c.out, Diff{Path: lpath + "/" + ruleLabel(r), What: Extra})
		}
	}
}

// matchRule returns the index of the first unused rule in rs that is w:
// same name, else a name or friendly name in common.
func matchRule(w *vfp.Rule, rs []*vfp.Rule, used []bool) int {
	for i, r := range rs {
		if !used[i] && w.Name != "" && r.Name == w.Name {
			return i
		}
	}
	for i, r := range rs {
		if used[i] {
			continue
		}
		for _, a := range []string{w.Name, w.FriendlyName} {
			if a != "" && (a == r.Name || a == r.FriendlyName) {
				return i
			}
		}
	}
	return -1
}

func (c *checker) rule(path string, w, g *vfp.Rule) {
	c.cmp(path, "priority", u32(w.Priority), u32(g.Priority))
	c.cmp(path, "flags", ruleFlagNames(w), ruleFlagNames(g))
	c.cmp(path, "type", actionName(w.Action), actionName(g.Action))
	c.cmp(path, "conditions", conditionsString(w.Conditions), conditionsString(g.Conditions))
	c.cmp(path, "flow ttl", strconv.Itoa(int(FlowTTL(w).Seconds())), strconv.Itoa(int(FlowTTL(g).Seconds())))
	wa, ga := &w.Action, &g.Action
	if wa.MSSDelta != ga.MSSDelta {
		c.cmp(path, "mss delta", mss(wa.MSSDelta), mss(ga.MSSDelta))
	}
	// The pool's name is what a host prints of a NAT rule's pool; the
	// model names its own pools where no host output shows the name.
	if wa.Pool.Name != "" && ga.Pool.Name != "" {
		c.cmp(path, "nat pool", wa.Pool.Name, ga.Pool.Name)
	}
}

func mss(m [2]uint16) string { return fmt.Sprintf("%d,%d", m[0], m[1]) }

func u32(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func matchType(g *vfp.Group) string {
	if g.LPM {
		return "Longest prefix match"
	}
	return "Priority-based match"
}

func actionName(a vfp.Action) string {
	if a.TypeName != "" {
		return a.TypeName
	}
	return a.Type.String()
}

// conditionsString formats conditions in a canonical order for comparison.
func conditionsString(c vfp.Conditions) string {
	var parts []string
	add := func(name string, vals []string) {
		if len(vals) == 0 {
			return
		}
		slices.Sort(vals)
		parts = append(parts, name+"="+strings.Join(vals, ","))
	}
	add("src-mac", strs(c.SrcMAC, header.MAC.WindowsString))
	add("dst-mac", strs(c.DstMAC, header.MAC.WindowsString))
	add("src-ip", strs(c.SrcIP, prefixString))
	add("dst-ip", strs(c.DstIP, prefixString))
	add("src-port", strs(c.SrcPort, vfp.PortRange.String))
	add("dst-port", strs(c.DstPort, vfp.PortRange.String))
	add("proto", strs(c.Protocols, func(p uint8) string { return strconv.Itoa(int(p)) }))
	add("vni", strs(c.VNI, func(n uint32) string { return strconv.FormatUint(uint64(n), 10) }))
	return strings.Join(parts, " ")
}

// CountRules returns how many rules of want a check with o expects a host
// to list.
func CountRules(want []*vfp.Layer, o CheckOptions) int {
	c := &checker{o: o}
	n := 0
	for _, l := range want {
		if o.Layer != "" && !strings.EqualFold(l.Name, o.Layer) {
			continue
		}
		for _, g := range c.wantGroups(l) {
			n += len(g.Rules)
		}
	}
	return n
}

// LayersFromCounters builds layers, groups and rules that carry only the
// names a /get-rule-counter output gives, for a names-only check against
// NamesOnly of the model's layers.
func LayersFromCounters(cs []RuleCounterLine) []*vfp.Layer {
	var out []*vfp.Layer
	layers := map[string]*vfp.Layer{}
	groups := map[[2]string]*vfp.Group{}
	for _, c := range cs {
		l := layers[c.Layer]
		if l == nil {
			l = &vfp.Layer{Name: c.Layer}
			layers[c.Layer] = l
			out = append(out, l)
		}
		g := groups[[2]string{c.Layer, c.Group}]
		if g == nil {
			g = &vfp.Group{Name: c.Group}
			groups[[2]string{c.Layer, c.Group}] = g
			l.Groups = append(l.Groups, g)
		}
		g.Rules = append(g.Rules, &vfp.Rule{Name: c.Rule, FriendlyName: c.FriendlyName})
	}
	return out
}

// NamesOnly returns copies of layers with their groups and rules that keep
// only names (and ModelOnly), for a names-only check.
func NamesOnly(layers []*vfp.Layer) []*vfp.Layer {
	var out []*vfp.Layer
	for _, l := range layers {
		nl := &vfp.Layer{Name: l.Name}
		for _, g := range l.Groups {
			ng := &vfp.Group{Name: g.Name}
			for _, r := range g.Rules {
				ng.Rules = append(ng.Rules, &vfp.Rule{Name: r.Name, FriendlyName: r.FriendlyName, ModelOnly: r.ModelOnly})
			}
			nl.Groups = append(nl.Groups, ng)
		}
		out = append(out, nl)
	}
	return out
}
