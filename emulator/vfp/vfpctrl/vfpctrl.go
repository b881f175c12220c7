package vfpctrl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/vfp"
)

// vfpctrl text I/O.
//
// The shapes follow real vfpctrl output where it is public (see doc.go):
// " ITEM LIST" over a line of '=', "GROUP : name" / "RULE : name" blocks
// of "Key : value" lines, "Conditions:" followed by "<none>" or one line
// per field, "Flow TTL: 240", "FlagsEx : 0", and "Command list-rule
// succeeded!" at the end. Lines that no public sample shows (how a layer
// says it is stateless, the parameters of nat, lbnat, encap, decap and
// macrewrite rules, counters, unified flows) are this package's own,
// written in the same style, so that Format and Parse round-trip.

const (
	itemList   = " ITEM LIST\n===========\n\n"
	indLayer   = "  "
	indLayerKV = "      "
	indGroup   = "  "
	indGroupKV = "      "
	indGroupC  = "        "
	indGroupCV = "            "
	indRule    = "    "
	indRuleKV  = "        "
	indRuleCV  = "            "
)

// Condition field names as vfpctrl prints them. "Source IP", "Destination
// IP", "Destination ports" and "Protocols" are seen in real output; the
// others follow their pattern.
const (
	condSrcMAC  = "Source MAC"
	condDstMAC  = "Destination MAC"
	condSrcIP   = "Source IP"
	condDstIP   = "Destination IP"
	condSrcPort = "Source ports"
	condDstPort = "Destination ports"
	condProto   = "Protocols"
	condVNI     = "VNI"
)

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// Options say what the formatters print beyond what a real host prints.
type Options struct {
	// Explain adds the model's own explanations: rules a real host would
	// not list (Rule.ModelOnly, with a "Model only" line saying why), a
	// block rule's "Drop reason" and a layer's "Type : stateful|stateless"
	// line. Without it the output has the lines and rules a real host's
	// vfpctrl shows.
	Explain bool
}

// FormatListLayer writes the port's layers as `vfpctrl /port P
// /list-layer` does.
func FormatListLayer(w io.Writer, p *vfp.Port, o Options) error {
	ew := &errWriter{w: w}
	ew.printf("%s", itemList)
	for _, l := range sortedLayers(p.Layers()) {
		writeLayer(ew, l, o)
	}
	ew.printf("Command list-layer succeeded!\n")
	return ew.err
}

// FormatListGroup writes a layer's groups as `vfpctrl /port P /layer L
// /list-group` does.
func FormatListGroup(w io.Writer, l *vfp.Layer, o Options) error {
	ew := &errWriter{w: w}
	ew.printf("%s", itemList)
	for _, g := range sortedGroups(l) {
		if o.Explain || !modelOnlyGroup(g) {
			writeGroup(ew, g)
		}
	}
	ew.printf("Command list-group succeeded!\n")
	return ew.err
}

// FormatListRule writes every layer of the port with its groups and rules,
// as `vfpctrl /port P /list-rule` does: layers in priority order, groups
// and rules by priority within them.
func FormatListRule(w io.Writer, p *vfp.Port, o Options) error {
	return FormatLayers(w, p.Layers(), o)
}

// FormatLayers writes layers with their groups and rules in the shape of
// FormatListRule; they need not be attached to a port (e.g. parsed ones).
func FormatLayers(w io.Writer, layers []*vfp.Layer, o Options) error {
	ew := &errWriter{w: w}
	ew.printf("%s", itemList)
	for _, l := range sortedLayers(layers) {
		if l.Name != "" || l.FriendlyName != "" || l.Priority != 0 {
			writeLayer(ew, l, o)
		}
		for _, g := range sortedGroups(l) {
			if !o.Explain && modelOnlyGroup(g) {
				continue
			}
			if g.Name != "" || g.FriendlyName != "" || g.Priority != 0 {
				// (Rules a paste shows without their group line are
				// printed without one too.)
				writeGroup(ew, g)
			}
			for _, r := range sortedRules(g) {
				if o.Explain || r.ModelOnly == "" {
					writeRule(ew, r, o)
				}
			}
		}
	}
	ew.printf("Command list-rule succeeded!\n")
	return ew.err
}

// modelOnlyGroup reports whether every rule of a non-empty group is the
// model's own, so that a real host would show no such group.
func modelOnlyGroup(g *vfp.Group) bool {
	if len(g.Rules) == 0 {
		return false
	}
	for _, r := range g.Rules {
		if r.ModelOnly == "" {
			return false
		}
	}
	return true
}

// sortedLayers orders layers as vfpctrl lists them: by priority (the
// SNAT layer, 200, before LB, 300, in kubernetes/kubernetes#79359).
func sortedLayers(ls []*vfp.Layer) []*vfp.Layer {
	ls = slices.Clone(ls)
	slices.SortStableFunc(ls, func(a, b *vfp.Layer) int { return cmpU32(a.Priority, b.Priority) })
	return ls
}

func sortedGroups(l *vfp.Layer) []*vfp.Group {
	gs := slices.Clone(l.Groups)
	slices.SortStableFunc(gs, func(a, b *vfp.Group) int { return cmpU32(a.Priority, b.Priority) })
	return gs
}

func sortedRules(g *vfp.Group) []*vfp.Rule {
	rs := slices.Clone(g.Rules)
	slices.SortStableFunc(rs, func(a, b *vfp.Rule) int { return cmpU32(a.Priority, b.Priority) })
	return rs
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func layerFlagNames(f vfp.LayerFlags) string {
	var names []string
	if f&vfp.LayerFlagDefaultAllow != 0 {
		names = append(names, "Default Allow")
	}
	if f&vfp.LayerFlagUpdateFlowsOnAddressChange != 0 {
		names = append(names, "Update flows on address change")
	}
	s := "0x" + strconv.FormatUint(uint64(f), 16)
	if len(names) > 0 {
		s += " " + strings.Join(names, " , ") // "0x9 Default Allow , Update flows on address change" [OBS kubernetes#79359]
	}
	return s
}

func writeLayer(ew *errWriter, l *vfp.Layer, o Options) {
	ew.printf("%sLAYER : %s\n", indLayer, l.Name)
	ew.printf("%sFriendly name : %s\n", indLayerKV, l.FriendlyName)
	ew.printf("%sFlags : %s\n", indLayerKV, layerFlagNames(l.AllFlags()))
	ew.printf("%sPriority : %d\n", indLayerKV, l.Priority)
	if o.Explain {
		st := "stateless"
		if l.Stateful {
			st = "stateful"
		}
		ew.printf("%sType : %s\n", indLayerKV, st)
	}
	ew.printf("\n")
}

func writeGroup(ew *errWriter, g *vfp.Group) {
	ew.printf("%sGROUP : %s\n", indGroup, g.Name)
	ew.printf("%sFriendly name : %s\n", indGroupKV, g.FriendlyName)
	ew.printf("%sPriority : %d\n", indGroupKV, g.Priority)
	ew.printf("%sDirection : %s\n", indGroupKV, g.Direction)
	ew.printf("%sType : %s\n", indGroupKV, vfp.FamilyName(g.IPv6))
	ew.printf("%sConditions:\n", indGroupC)
	writeConds(ew, &g.Conditions, indGroupCV)
	mt := "Priority-based match"
	if g.LPM {
		mt = "Longest prefix match"
	}
	ew.printf("%sMatch type : %s\n\n", indGroupKV, mt)
}

// FlowTTL returns the flow TTL vfpctrl prints for a rule: its own, or
// for a stateful rule that gives none the port's default (240 s, what real
// stateful rules show: "Flow TTL: 240"); 0 for a stateless rule, as real
// block and lbnat rules show ("Flow TTL: 0").
func FlowTTL(r *vfp.Rule) time.Duration {
	if r.FlowTTL > 0 || !r.Stateful {
		return r.FlowTTL
	}
	return vfp.DefaultFlowTTL
}

func ruleFlagNames(r *vfp.Rule) string {
	s := strconv.FormatUint(uint64(r.Flags()), 10)
	if r.Terminating {
		s += " terminating"
	}
	if r.Stateful {
		s += " stateful"
	}
	return s
}

func writeRule(ew *errWriter, r *vfp.Rule, o Options) {
	ew.printf("%sRULE : %s\n", indRule, r.Name)
	kv := func(k, format string, args ...any) {
		ew.printf("%s%s : %s\n", indRuleKV, k, fmt.Sprintf(format, args...))
	}
	kv("Friendly name", "%s", r.FriendlyName)
	kv("Priority", "%d", r.Priority)
	kv("Flags", "%s", ruleFlagNames(r))
	a := &r.Action
	tn := a.Type.String()
	if a.TypeName != "" {
		tn = a.TypeName
	}
	kv("Type", "%s", tn)
	ew.printf("%sConditions:\n", indRuleKV)
	writeConds(ew, &r.Conditions, indRuleCV)
	ew.printf("%sFlow TTL: %d\n", indRuleKV, int64(FlowTTL(r)/time.Second))
	mssLine := func() {
		if a.MSSDelta != [2]uint16{} {
			ew.printf("%sMSS delta: %d,%d\n", indRuleKV, a.MSSDelta[0], a.MSSDelta[1])
		}
	}
	poolLines := func() {
		ew.printf("%sType : Source NAT;         NAT pool : %s\n", indRuleKV, a.Pool.Name)
		if a.Pool.IP.IsValid() {
			kv("NAT pool range", "%s %d-%d", a.Pool.IP, a.Pool.Lo, a.Pool.Hi)
		}
	}
	ruleData := false
	switch a.Type {
	case vfp.ActionBlock:
		if o.Explain && a.Reason != drop.None {
			kv("Drop reason", "%s", a.Reason)
		}
	case vfp.ActionNAT:
		mssLine()
		if a.NAT.SrcIP.IsValid() {
			kv("NAT source IP", "%s", a.NAT.SrcIP)
		}
		if a.NAT.DstIP.IsValid() {
			kv("NAT destination IP", "%s", a.NAT.DstIP)
		}
		if a.NAT.SrcPort != 0 {
			kv("NAT source port", "%d", a.NAT.SrcPort)
		}
		if a.NAT.DstPort != 0 {
			kv("NAT destination port", "%d", a.NAT.DstPort)
		}
	case vfp.ActionDynNAT:
		mssLine()
		poolLines()
	case vfp.ActionLBNAT:
		mssLine()
		kv("Distribution", "%s", a.LB.Distribution)
		if a.LB.PreserveDIP {
			kv("Preserve DIP", "true")
		}
		for _, b := range a.LB.Backends {
			if b.MAC.IsZero() {
				kv("DIP", "%s %d", b.Addr, b.Port)
			} else {
				kv("DIP", "%s %d %s", b.Addr, b.Port, b.MAC.WindowsString())
			}
		}
		if a.LB.SNAT {
			poolLines()
		}
	case vfp.ActionEncap:
		e := &a.Encap
		ew.printf("%sRule Data:\n", indRuleKV)
		ruleData = true
		ew.printf("%sEncap Type: VXLAN\n", indRuleKV)
		kv("VNI", "%d", e.VNI)
		if e.SrcPA.IsValid() {
			kv("Encap source IP", "%s", e.SrcPA)
		}
		if e.DstPA.IsValid() {
			kv("Encap destination(s)", "%s", e.DstPA)
		}
		kv("Encap source MAC", "%s", e.SrcMAC.WindowsString())
		kv("Encap destination MAC", "%s", e.DstMAC.WindowsString())
		if !e.InnerSrcMAC.IsZero() {
			kv("Inner source MAC", "%s", e.InnerSrcMAC.WindowsString())
		}
		if !e.InnerDstMAC.IsZero() {
			kv("Inner destination MAC", "%s", e.InnerDstMAC.WindowsString())
		}
		if e.UDPPort != 0 {
			kv("UDP destination port", "%d", e.UDPPort)
		}
		if e.TTL != 0 {
			kv("Outer TTL", "%d", e.TTL)
		}
		if e.DF {
			kv("Don't fragment", "true")
		}
		if e.MTU != 0 {
			kv("MTU", "%d", e.MTU)
		}
		if e.ClampMSS {
			kv("MSS clamp", "true")
		}
	case vfp.ActionDecap:
		ew.printf("%sRule Data:\n", indRuleKV)
		ruleData = true
		ew.printf("%sEncap Type: VXLAN\n", indRuleKV)
		if len(a.Decap.VNI) > 0 {
			kv("VNI", "%s", joinU32(a.Decap.VNI))
		}
		if a.Decap.UDPPort != 0 {
			kv("UDP destination port", "%d", a.Decap.UDPPort)
		}
	case vfp.ActionMACRewrite:
		if !a.MAC.SrcMAC.IsZero() {
			kv("New source MAC", "%s", a.MAC.SrcMAC.WindowsString())
		}
		if !a.MAC.DstMAC.IsZero() {
			kv("New destination MAC", "%s", a.MAC.DstMAC.WindowsString())
		}
	}
	if len(r.Details) > 0 && !ruleData {
		ew.printf("%sRule Data:\n", indRuleKV)
	}
	for _, d := range r.Details {
		ew.printf("%s%s\n", indRuleKV, d)
	}
	if o.Explain && r.ModelOnly != "" {
		kv("Model only", "%s", r.ModelOnly)
	}
	kv("FlagsEx", "%d", r.FlagsEx)
	ew.printf("\n")
}

func joinU32(vs []uint32) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.FormatUint(uint64(v), 10)
	}
	return strings.Join(s, ", ")
}

// prefixString prints a prefix as vfpctrl prints IP conditions: a single
// address, or a range "10.244.4.0-10.244.4.255" [OBS flannel-io/flannel#1394].
func prefixString(p netip.Prefix) string {
	p = p.Masked()
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.Addr().String() + "-" + lastAddr(p).String()
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range a {
		for b := 0; b < 8; b++ {
			if i*8+b >= bits {
				a[i] |= 0x80 >> b
			}
		}
	}
	x, _ := netip.AddrFromSlice(a)
	return x
}

// strs formats each of xs with f.
func strs[T any](xs []T, f func(T) string) []string {
	vs := make([]string, 0, len(xs))
	for _, x := range xs {
		vs = append(vs, f(x))
	}
	return vs
}

func writeConds(ew *errWriter, c *vfp.Conditions, ind string) {
	if c.IsEmpty() {
		ew.printf("%s<none>\n", ind)
		return
	}
	line := func(k string, vs []string) {
		if len(vs) > 0 {
			ew.printf("%s%s : %s\n", ind, k, strings.Join(vs, ", "))
		}
	}
	line(condProto, strs(c.Protocols, func(p uint8) string { return strconv.Itoa(int(p)) }))
	line(condSrcMAC, strs(c.SrcMAC, header.MAC.WindowsString))
	line(condDstMAC, strs(c.DstMAC, header.MAC.WindowsString))
	line(condSrcIP, strs(c.SrcIP, prefixString))
	line(condDstIP, strs(c.DstIP, prefixString))
	line(condSrcPort, strs(c.SrcPort, vfp.PortRange.String))
	line(condDstPort, strs(c.DstPort, vfp.PortRange.String))
	if len(c.VNI) > 0 {
		line(condVNI, []string{joinU32(c.VNI)})
	}
}

// FormatRuleCounters writes each rule's counters in the manner of
// `vfpctrl /port P /get-rule-counter` ("Matched packets", "Dropped
// packets", the names rulecounters.ps1 reads).
func FormatRuleCounters(w io.Writer, p *vfp.Port) error {
	ew := &errWriter{w: w}
	ew.printf("%s", itemList)
	for _, l := range sortedLayers(p.Layers()) {
		ew.printf("%sLAYER : %s\n", indLayer, l.Name)
		for _, g := range sortedGroups(l) {
			ew.printf("%sGROUP : %s\n", indGroup, g.Name)
			for _, r := range sortedRules(g) {
				c := r.Counters()
				ew.printf("%sRULE : %s\n", indRule, r.Name)
				ew.printf("%sFriendly name : %s\n", indRuleKV, r.FriendlyName)
				ew.printf("%sMatched packets : %d\n", indRuleKV, c.Matched)
				ew.printf("%sDropped packets : %d\n", indRuleKV, c.Dropped)
			}
		}
		ew.printf("\n")
	}
	ew.printf("Command get-rule-counter succeeded!\n")
	return ew.err
}

// FormatPortCounters writes the port's counters per direction in the
// manner of `vfpctrl /port P /get-port-counter` ("Total packets", "Total
// bytes", "SYN packets", ... as rulecounters.ps1 reads them), with drops
// per reason in Windows' wording.
func FormatPortCounters(w io.Writer, p *vfp.Port) error {
	ew := &errWriter{w: w}
	ew.printf("%s", itemList)
	pc := p.Counters()
	for _, d := range []struct {
		name string
		c    *vfp.DirCounters
	}{{"OUT", &pc.Out}, {"IN", &pc.In}} {
		c := d.c
		ew.printf("  Direction - %s\n", d.name)
		ew.printf("      Total packets : %d\n", c.Packets)
		ew.printf("      Total bytes : %d\n", c.Bytes)
		ew.printf("      SYN packets : %d\n", c.SYN)
		ew.printf("      SYN-ACK packets : %d\n", c.SYNACK)
		ew.printf("      FIN packets : %d\n", c.FIN)
		ew.printf("      RST packets : %d\n", c.RST)
		ew.printf("      Unified flow hits : %d\n", c.FlowHits)
		ew.printf("      Unified flow misses : %d\n", c.FlowMisses)
		ew.printf("      Unified flows created : %d\n", c.FlowsCreated)
		ew.printf("      Flow table full : %d\n", c.FlowTableFull)
		ew.printf("      Dropped packets : %d\n", c.Dropped)
		rs := make([]drop.Reason, 0, len(c.DropsByReason))
		for r := range c.DropsByReason {
			rs = append(rs, r)
		}
		slices.Sort(rs)
		for _, r := range rs {
			ew.printf("          Dropped (%s) : %d\n", r.Text(), c.DropsByReason[r])
		}
		ew.printf("\n")
	}
	ew.printf("Command get-port-counter succeeded!\n")
	return ew.err
}

// FormatListUnifiedFlow writes the unified flow table at time now (ns),
// in the manner of `vfpctrl /port P /list-unified-flow` (no real output of
// it is public; the fields are this package's: the flow's key, its cached
// header transposition per header group, or its cached drop).
func FormatListUnifiedFlow(w io.Writer, p *vfp.Port, now int64) error {
	ew := &errWriter{w: w}
	ew.printf("%s", itemList)
	for _, u := range p.UnifiedFlows(now) {
		ew.printf("  UNIFIED FLOW : %s %s\n", u.Direction, vfp.TupleString(u.Outer))
		ew.printf("      Direction : %s\n", u.Direction)
		ew.printf("      Source MAC : %s\n", u.SrcMAC.WindowsString())
		ew.printf("      Destination MAC : %s\n", u.DstMAC.WindowsString())
		if u.VLAN != 0 {
			ew.printf("      VLAN : %d\n", u.VLAN)
		}
		if u.Encap {
			ew.printf("      VNI : %d\n", u.VNI)
			ew.printf("      Inner : %s\n", vfp.TupleString(u.Inner))
			ew.printf("      Inner source MAC : %s\n", u.InnerSrcMAC.WindowsString())
			ew.printf("      Inner destination MAC : %s\n", u.InnerDstMAC.WindowsString())
		}
		stale := ""
		if u.Stale {
			stale = " (stale)"
		}
		ew.printf("      Generation : %d%s\n", u.Generation, stale)
		ew.printf("      Packets : %d\n", u.Packets)
		ew.printf("      Bytes : %d\n", u.Bytes)
		ew.printf("      Idle : %d ms\n", u.Idle.Milliseconds())
		ew.printf("      Timeout : %d s\n", int64(u.Timeout/time.Second))
		ew.printf("      Layer flows : %d\n", u.LayerFlows)
		if u.Drop != drop.None {
			ew.printf("      Action : drop\n")
			ew.printf("      Drop reason : %s (%s)\n", u.Drop, u.Drop.Text())
			ew.printf("      Layer : %s\n", u.DropInfo.Layer)
			ew.printf("      Group : %s\n", u.DropInfo.Group)
			ew.printf("      Rule : %s\n", u.DropInfo.Rule)
		} else {
			t := u.Transposition
			ew.printf("      Action : transpose\n")
			ew.printf("      Ethernet : %s\n", t.Ethernet)
			ew.printf("      IP : %s\n", t.IP)
			ew.printf("      L4 : %s\n", t.L4)
			ew.printf("      Encap : %s\n", t.Encap)
			if t.Actions != "" {
				ew.printf("      Transposition : %s\n", t.Actions)
			}
		}
		ew.printf("\n")
	}
	ew.printf("Command list-unified-flow succeeded!\n")
	return ew.err
}

// ParseError is an error in vfpctrl text, naming the line and field.
type ParseError struct {
	File  string // as given, or empty
	Line  int    // 1-based
	Field string // the key of the line, e.g. "Priority"
	Err   error
}

// Error formats the error as "vfpctrl: file:line: field: error".
func (e *ParseError) Error() string {
	where := "line " + strconv.Itoa(e.Line)
	if e.File != "" {
		where = e.File + ":" + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		return "vfpctrl: " + where + ": " + e.Field + ": " + e.Err.Error()
	}
	return "vfpctrl: " + where + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// maxParseErrors caps the errors one parse reports.
const maxParseErrors = 20

var (
	errSyntax       = errors.New("not a vfpctrl line")
	errOutside      = errors.New("field outside a layer, group or rule")
	errUnknownField = errors.New("unknown field")
	errCommand      = errors.New("vfpctrl reported an error")
)

type parser struct {
	file   string
	layers []*vfp.Layer
	l      *vfp.Layer
	g      *vfp.Group
	r      *vfp.Rule
	level  int // 0 none, 1 layer, 2 group, 3 rule
	conds  bool
	data   bool // in a rule's "Rule Data:" section
	types  int  // "Type" lines seen in the current rule
	errs   []error
	lineNo int
	out    Listing
	// flagsEx is whether the current rule's closing "FlagsEx" line was read.
	flagsEx bool
}

func (ps *parser) fail(field string, err error) {
	if len(ps.errs) < maxParseErrors {
		ps.errs = append(ps.errs, &ParseError{File: ps.file, Line: ps.lineNo, Field: field, Err: err})
	}
}

// ParseListRule reads the output of `vfpctrl /list-rule` (for a port or a
// layer), `/list-group` or `/list-layer`, as real hosts print it or as
// FormatListRule writes it. Groups that come before any layer line are put
// in a layer with an empty name; rules before any group in a group with an
// empty name. Lines of rules that are not modelled are kept in
// Rule.Details. Lines starting with '#' are comments. A paste with lines
// left out ("...", "(redacted)") or cut inside a rule is an error naming
// the line and what is missing (ParseListing reads such pastes). Errors
// name the line; up to 20 are reported, joined.
func ParseListRule(r io.Reader) ([]*vfp.Layer, error) { return ParseListRuleFile("", r) }

// ParseListRuleFile is ParseListRule with a file name for errors.
func ParseListRuleFile(name string, r io.Reader) ([]*vfp.Layer, error) {
	l, err := ParseListing(name, r)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, g := range l.Gaps {
		if len(errs) < maxParseErrors {
			errs = append(errs, &ParseError{File: name, Line: g.Line, Field: g.Field, Err: fmt.Errorf("%w: %s", ErrPartial, g.What)})
		}
	}
	return l.Layers, errors.Join(errs...)
}

// ErrPartial marks a paste that leaves lines out.
var ErrPartial = errors.New("partial output")

// Gap is a place where a paste leaves out what vfpctrl printed.
type Gap struct {
	Line  int    `json:"line"`   // 1-based line of the marker, or the last line of a cut paste
	Field string `json:"marker"` // the marker as printed ("...", "(redacted)"), or "end of output"
	What  string `json:"what"`   // what is missing there
}

// Listing is one /list-rule (or /list-group, /list-layer) output.
type Listing struct {
	// Port, Layer and Group are what an echoed command line above the
	// output names ("vfpctrl /port P /layer L /list-rule"), or empty.
	Port, Layer, Group string
	Layers             []*vfp.Layer
	// Complete reports whether the output ends with vfpctrl's "Command
	// ... succeeded!" line.
	Complete bool
	// Gaps are the places where the paste leaves lines out; a listing
	// with gaps cannot show that a rule is absent.
	Gaps []Gap
}

// Partial reports whether the listing leaves out lines.
func (l *Listing) Partial() bool { return len(l.Gaps) > 0 }

// ParseListing reads vfpctrl list output like ParseListRule but accepts
// partial pastes: elision markers ("..." lines, "(redacted)"), and output
// cut inside a rule, are returned as gaps instead of errors. It returns
// a non-nil Listing even with an error.
func ParseListing(name string, r io.Reader) (*Listing, error) {
	ps := &parser{file: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		ps.lineNo++
		ps.line(sc.Text())
	}
	if err := sc.Err(); err != nil {
		ps.fail("", fmt.Errorf("read: %w", err))
	}
	return ps.finish()
}

// parseLines is ParseListing over lines that start at line first of file
// name.
func parseLines(name string, lines []string, first int) (*Listing, error) {
	ps := &parser{file: name, lineNo: first - 1}
	for _, l := range lines {
		ps.lineNo++
		ps.line(l)
	}
	return ps.finish()
}

func (ps *parser) finish() (*Listing, error) {
	ps.end()
	if ps.out.Layer != "" {
		// `vfpctrl /port P /layer L /list-rule` prints L's groups without
		// a LAYER line: they belong to L.
		for _, l := range ps.layers {
			if l.Name == "" {
				l.Name = ps.out.Layer
			}
		}
	}
	ps.out.Layers = ps.layers
	if len(ps.errs) > 0 {
		return &ps.out, errors.Join(ps.errs...)
	}
	return &ps.out, nil
}

// gap records a place where the paste leaves lines out.
func (ps *parser) gap(field, what string) {
	ps.out.Gaps = append(ps.out.Gaps, Gap{Line: ps.lineNo, Field: field, What: what})
}

// where names the object the parser is in, for gap messages.
func (ps *parser) where() string {
	switch {
	case ps.r != nil:
		return "rule " + ruleLabel(ps.r)
	case ps.g != nil:
		return "group " + ps.g.Name
	case ps.l != nil:
		return "layer " + ps.l.Name
	}
	return "the start of the output"
}

// end notes a paste cut inside a rule: every rule vfpctrl prints ends with
// its "FlagsEx" line.
func (ps *parser) end() {
	if ps.r != nil && !ps.flagsEx && !ps.out.Complete {
		ps.gap("end of output", fmt.Sprintf("the output is cut inside rule %s (no FlagsEx line: its conditions, flow TTL or action data may be missing) and everything after it", ruleLabel(ps.r)))
	}
}

func ruleLabel(r *vfp.Rule) string {
	if r.Name != "" {
		return r.Name
	}
	return r.FriendlyName
}

// elision reports whether a line is a marker a poster put in place of
// lines they left out.
func elision(s string) bool {
	if strings.Trim(s, ".…") == "" {
		return true // "...": the poster's elision
	}
	if len(s) > 2 && ((s[0] == '(' && s[len(s)-1] == ')') || (s[0] == '[' && s[len(s)-1] == ']')) {
		in := strings.ToLower(s[1 : len(s)-1])
		for _, w := range []string{"redact", "snip", "truncat", "omit", "cut"} {
			if strings.Contains(in, w) {
				return true
			}
		}
	}
	return false
}

// commandLine reads an echoed vfpctrl command line ("vfpctrl /port P
// /layer L /list-rule", with or without ".exe" or a PowerShell prompt).
func commandLine(s string) (port, layer, group string, ok bool) {
	i := strings.Index(strings.ToLower(s), "vfpctrl")
	if i < 0 {
		return "", "", "", false
	}
	pre := strings.TrimSpace(s[:i])
	if pre != "" && !strings.HasPrefix(pre, "PS ") && !strings.HasSuffix(pre, ">") && pre != "$" && pre != "#" {
		return "", "", "", false
	}
	f := strings.Fields(s[i:])
	if len(f) < 2 || !strings.HasPrefix(f[1], "/") {
		return "", "", "", false
	}
	for j := 1; j+1 < len(f); j++ {
		switch strings.ToLower(f[j]) {
		case "/port":
			port = strings.Trim(f[j+1], `"'`)
		case "/layer":
			layer = strings.Trim(f[j+1], `"'`)
		case "/group":
			group = strings.Trim(f[j+1], `"'`)
		}
	}
	return port, layer, group, true
}

// ParseListLayer reads `vfpctrl /list-layer` output.
func ParseListLayer(r io.Reader) ([]*vfp.Layer, error) { return ParseListRule(r) }

// ParseListGroup reads `vfpctrl /list-group` output and returns the groups.
func ParseListGroup(r io.Reader) ([]*vfp.Group, error) {
	ls, err := ParseListRule(r)
	var gs []*vfp.Group
	for _, l := range ls {
		gs = append(gs, l.Groups...)
	}
	return gs, err
}

// splitKV splits "Key : value" (or "Key: value") at the first " : ", or at
// the first ':' when there is none.
func splitKV(s string) (key, val string, ok bool) {
	if i := strings.Index(s, " : "); i >= 0 {
		return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+3:]), true
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:]), true
	}
	return "", "", false
}

func isCondKey(k string) bool {
	switch k {
	case condSrcMAC, condDstMAC, condSrcIP, condDstIP, condSrcPort, condDstPort, condProto, condVNI:
		return true
	}
	return false
}

func (ps *parser) ensureLayer() {
	if ps.l == nil {
		ps.l = &vfp.Layer{Stateful: true}
		ps.layers = append(ps.layers, ps.l)
	}
}

func (ps *parser) ensureGroup() {
	ps.ensureLayer()
	if ps.g == nil {
		ps.g = &vfp.Group{}
		ps.l.Groups = append(ps.l.Groups, ps.g)
	}
}

func (ps *parser) line(raw string) {
	s := strings.TrimSpace(raw)
	switch {
	case s == "", s == "ITEM LIST", strings.HasPrefix(s, "#"), strings.Trim(s, "=") == "":
		return
	case strings.HasPrefix(s, "Command ") && strings.HasSuffix(s, "succeeded!"):
		ps.out.Complete = true
		return
	case elision(s):
		ps.gap(s, "the paste leaves lines out here, after "+ps.where())
		return
	}
	if port, layer, group, ok := commandLine(s); ok {
		ps.out.Port, ps.out.Layer, ps.out.Group = port, layer, group
		return
	}
	if strings.HasPrefix(s, "ERROR") {
		ps.fail("", fmt.Errorf("%w: %s", errCommand, s))
		return
	}
	key, val, ok := splitKV(s)
	switch {
	case ok && key == "LAYER":
		ps.l = &vfp.Layer{Name: val, Stateful: true}
		ps.layers = append(ps.layers, ps.l)
		ps.g, ps.r, ps.level, ps.conds, ps.data = nil, nil, 1, false, false
		return
	case ok && key == "GROUP":
		ps.ensureLayer()
		ps.g = &vfp.Group{Name: val}
		ps.l.Groups = append(ps.l.Groups, ps.g)
		ps.r, ps.level, ps.conds, ps.data = nil, 2, false, false
		return
	case ok && key == "RULE":
		ps.end()
		ps.ensureGroup()
		ps.flagsEx = false
		ps.r = &vfp.Rule{Name: val}
		ps.g.Rules = append(ps.g.Rules, ps.r)
		ps.level, ps.conds, ps.data, ps.types = 3, false, false, 0
		return
	}
	if s == "Conditions:" {
		if ps.level < 2 {
			ps.fail("Conditions", errOutside)
		}
		ps.conds = true
		return
	}
	if ps.conds {
		var c *vfp.Conditions
		switch ps.level {
		case 2:
			c = &ps.g.Conditions
		case 3:
			c = &ps.r.Conditions
		}
		if s == "<none>" {
			return
		}
		if ok && isCondKey(key) && c != nil {
			v6 := ps.g != nil && ps.g.IPv6
			if err := parseCond(c, key, val, v6); err != nil {
				ps.fail(key, err)
			}
			return
		}
		ps.conds = false
	}
	switch ps.level {
	case 0:
		ps.fail(key, errOutside)
	case 1:
		ps.layerField(key, val, ok, s)
	case 2:
		ps.groupField(key, val, ok, s)
	case 3:
		ps.ruleField(key, val, ok, s)
	}
}

func parseU32(v string) (uint32, error) {
	n, err := strconv.ParseUint(v, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	return uint32(n), nil
}

func parseU16(v string) (uint16, error) {
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%q is not a 16-bit number", v)
	}
	return uint16(n), nil
}

// firstToken returns the first word of v without a trailing comma.
func firstToken(v string) string {
	f := strings.Fields(v)
	if len(f) == 0 {
		return ""
	}
	return strings.TrimSuffix(f[0], ",")
}

func (ps *parser) layerField(key, val string, ok bool, s string) {
	l := ps.l
	if !ok {
		ps.fail("", fmt.Errorf("%w: %q", errSyntax, s))
		return
	}
	var err error
	switch key {
	case "Friendly name":
		l.FriendlyName = val
	case "Priority":
		l.Priority, err = parseU32(val)
	case "Flags":
		var f uint32
		f, err = parseU32(firstToken(val))
		l.DefaultAllow = f&uint32(vfp.LayerFlagDefaultAllow) != 0
		l.Flags = vfp.LayerFlags(f) &^ vfp.LayerFlagDefaultAllow
	case "Type":
		switch strings.ToLower(val) {
		case "stateful":
			l.Stateful = true
		case "stateless":
			l.Stateful = false
		default:
			err = fmt.Errorf("%q is neither stateful nor stateless", val)
		}
	default:
		err = errUnknownField
	}
	if err != nil {
		ps.fail(key, err)
	}
}

func (ps *parser) groupField(key, val string, ok bool, s string) {
	g := ps.g
	if !ok {
		ps.fail("", fmt.Errorf("%w: %q", errSyntax, s))
		return
	}
	var err error
	switch key {
	case "Friendly name":
		g.FriendlyName = val
	case "Priority":
		g.Priority, err = parseU32(val)
	case "Direction":
		switch strings.ToUpper(val) {
		case "IN":
			g.Direction = vfp.In
		case "OUT":
			g.Direction = vfp.Out
		default:
			err = fmt.Errorf("%q is neither IN nor OUT", val)
		}
	case "Type":
		switch strings.ToLower(val) {
		case "ipv4":
			g.IPv6 = false
		case "ipv6":
			g.IPv6 = true
		default:
			err = fmt.Errorf("%q is neither IPv4 nor IPv6", val)
		}
	case "Match type":
		lv := strings.ToLower(val)
		switch {
		case strings.Contains(lv, "priority"):
			g.LPM = false
		case strings.Contains(lv, "lpm"), strings.Contains(lv, "longest"):
			g.LPM = true
		default:
			err = fmt.Errorf("%q is not a known match type", val)
		}
	default:
		err = errUnknownField
	}
	if err != nil {
		ps.fail(key, err)
	}
}

// actionByName maps vfpctrl rule types to actions. Real types without a
// model of their own map to the nearest (routeencap and mapencap encap,
// mapdecap decap); TypeName keeps what was printed.
func actionByName(s string) (vfp.ActionType, bool) {
	for t := vfp.ActionAllow; t < vfp.ActionOther; t++ {
		if t.String() == s {
			return t, true
		}
	}
	switch s {
	case "routeencap", "mapencap":
		return vfp.ActionEncap, true
	case "mapdecap":
		return vfp.ActionDecap, true
	}
	return vfp.ActionOther, false
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

func parseMAC(v string) (header.MAC, error) {
	m, ok := header.ParseMAC(v)
	if !ok {
		return m, fmt.Errorf("%q is not a MAC address", v)
	}
	return m, nil
}

func parseAddr(v string) (netip.Addr, error) {
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", v)
	}
	return a, nil
}

func (ps *parser) ruleField(key, val string, ok bool, s string) {
	r := ps.r
	a := &r.Action
	if !ok {
		if s == "Rule Data:" {
			ps.data = true
			return
		}
		r.Details = append(r.Details, s)
		return
	}
	if key == "Rule Data" && val == "" {
		ps.data = true
		return
	}
	var err error
	switch key {
	case "Friendly name":
		r.FriendlyName = val
	case "Priority":
		r.Priority, err = parseU32(val)
	case "Flags":
		var f uint32
		f, err = parseU32(firstToken(val))
		r.Terminating = f&vfp.RuleFlagTerminating != 0
		r.Stateful = f&vfp.RuleFlagStateful != 0
		r.ExtraFlags = f &^ (vfp.RuleFlagTerminating | vfp.RuleFlagStateful)
	case "FlagsEx":
		ps.flagsEx = true
		r.FlagsEx, err = parseU32(firstToken(val))
	case "Model only":
		r.ModelOnly = val
	case "Flow TTL":
		var n uint32
		n, err = parseU32(val)
		r.FlowTTL = time.Duration(n) * time.Second
	case "Type":
		ps.types++
		if ps.types == 1 {
			t, known := actionByName(val)
			a.Type = t
			if !known || t.String() != val {
				a.TypeName = val
			}
			break
		}
		// "Type : Source NAT;         NAT pool : <name>" [OBS kubernetes#79359].
		for _, part := range strings.Split(val, ";") {
			if k, v, ok := splitKV(strings.TrimSpace(part)); ok && k == "NAT pool" {
				a.Pool.Name = v
				if a.Type == vfp.ActionLBNAT {
					a.LB.SNAT = true
				}
			}
		}
	case "MSS delta":
		parts := strings.Split(val, ",")
		if len(parts) > 2 {
			err = fmt.Errorf("%q has more than two values", val)
			break
		}
		for i, p := range parts {
			if a.MSSDelta[i], err = parseU16(strings.TrimSpace(p)); err != nil {
				break
			}
		}
	default:
		err = ps.actionField(key, val)
		if errors.Is(err, errUnknownField) {
			r.Details = append(r.Details, s)
			err = nil
		}
	}
	if err != nil {
		ps.fail(key, err)
	}
}

// actionField parses the action parameter lines this package writes.
func (ps *parser) actionField(key, val string) error {
	a := &ps.r.Action
	var err error
	switch {
	case key == "Drop reason" && a.Type == vfp.ActionBlock:
		rs, ok := drop.Parse(val)
		if !ok {
			return fmt.Errorf("%q is not a drop reason", val)
		}
		a.Reason = rs
	case key == "NAT source IP" && a.Type == vfp.ActionNAT:
		a.NAT.SrcIP, err = parseAddr(val)
	case key == "NAT destination IP" && a.Type == vfp.ActionNAT:
		a.NAT.DstIP, err = parseAddr(val)
	case key == "NAT source port" && a.Type == vfp.ActionNAT:
		a.NAT.SrcPort, err = parseU16(val)
	case key == "NAT destination port" && a.Type == vfp.ActionNAT:
		a.NAT.DstPort, err = parseU16(val)
	case key == "NAT pool range" && (a.Type == vfp.ActionDynNAT || a.Type == vfp.ActionLBNAT):
		f := strings.Fields(val)
		if len(f) != 2 {
			return fmt.Errorf("%q is not \"<ip> <lo>-<hi>\"", val)
		}
		if a.Pool.IP, err = parseAddr(f[0]); err != nil {
			return err
		}
		var pr vfp.PortRange
		if pr, err = parsePortRange(f[1]); err != nil {
			return err
		}
		a.Pool.Lo, a.Pool.Hi = pr.Lo, pr.Hi
	case key == "Distribution" && a.Type == vfp.ActionLBNAT:
		i := slices.Index(distNames, val)
		if i < 0 {
			return fmt.Errorf("%q is not a distribution (%s)", val, strings.Join(distNames, ", "))
		}
		a.LB.Distribution = vfp.Distribution(i)
	case key == "Preserve DIP" && a.Type == vfp.ActionLBNAT:
		a.LB.PreserveDIP, err = parseBool(val)
	case key == "DIP" && a.Type == vfp.ActionLBNAT:
		f := strings.Fields(val)
		if len(f) < 2 || len(f) > 3 {
			return fmt.Errorf("%q is not \"<ip> <port> [<mac>]\"", val)
		}
		var b vfp.Backend
		if b.Addr, err = parseAddr(f[0]); err != nil {
			return err
		}
		if b.Port, err = parseU16(f[1]); err != nil {
			return err
		}
		if len(f) == 3 {
			if b.MAC, err = parseMAC(f[2]); err != nil {
				return err
			}
		}
		a.LB.Backends = append(a.LB.Backends, b)
	case key == "Encap Type" && (a.Type == vfp.ActionEncap || a.Type == vfp.ActionDecap):
		if !strings.EqualFold(val, "VXLAN") {
			return fmt.Errorf("encap type %q is not modelled (VXLAN only)", val)
		}
	case key == "VNI" && a.Type == vfp.ActionEncap:
		var v uint32
		v, err = parseU32(val)
		a.Encap.VNI = v
	case key == "VNI" && a.Type == vfp.ActionDecap:
		for _, s := range strings.Split(val, ",") {
			var v uint32
			if v, err = parseU32(strings.TrimSpace(s)); err != nil {
				return err
			}
			a.Decap.VNI = append(a.Decap.VNI, v)
		}
	case key == "Encap source IP" && a.Type == vfp.ActionEncap:
		a.Encap.SrcPA, err = parseAddr(val)
	case key == "Encap destination(s)" && a.Type == vfp.ActionEncap:
		a.Encap.DstPA, err = parseAddr(val)
	case key == "Encap source MAC" && a.Type == vfp.ActionEncap:
		a.Encap.SrcMAC, err = parseMAC(val)
	case key == "Encap destination MAC" && a.Type == vfp.ActionEncap:
		a.Encap.DstMAC, err = parseMAC(val)
	case key == "Inner source MAC" && a.Type == vfp.ActionEncap:
		a.Encap.InnerSrcMAC, err = parseMAC(val)
	case key == "Inner destination MAC" && a.Type == vfp.ActionEncap:
		a.Encap.InnerDstMAC, err = parseMAC(val)
	case key == "UDP destination port" && a.Type == vfp.ActionEncap:
		a.Encap.UDPPort, err = parseU16(val)
	case key == "UDP destination port" && a.Type == vfp.ActionDecap:
		a.Decap.UDPPort, err = parseU16(val)
	case key == "Outer TTL" && a.Type == vfp.ActionEncap:
		var v uint16
		v, err = parseU16(val)
		if err == nil && v > 255 {
			err = fmt.Errorf("TTL %d does not fit in 8 bits", v)
		}
		a.Encap.TTL = uint8(v)
	case key == "Don't fragment" && a.Type == vfp.ActionEncap:
		a.Encap.DF, err = parseBool(val)
	case key == "MTU" && a.Type == vfp.ActionEncap:
		var v uint16
		v, err = parseU16(val)
		a.Encap.MTU = int(v)
	case key == "MSS clamp" && a.Type == vfp.ActionEncap:
		a.Encap.ClampMSS, err = parseBool(val)
	case key == "New source MAC" && a.Type == vfp.ActionMACRewrite:
		a.MAC.SrcMAC, err = parseMAC(val)
	case key == "New destination MAC" && a.Type == vfp.ActionMACRewrite:
		a.MAC.DstMAC, err = parseMAC(val)
	default:
		return errUnknownField
	}
	return err
}

func parsePortRange(s string) (vfp.PortRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := parseU16(strings.TrimSpace(lo))
	if err != nil {
		return vfp.PortRange{}, err
	}
	b := a
	if isRange {
		if b, err = parseU16(strings.TrimSpace(hi)); err != nil {
			return vfp.PortRange{}, err
		}
	}
	if a > b {
		return vfp.PortRange{}, fmt.Errorf("port range %q is empty", s)
	}
	return vfp.PortRange{Lo: a, Hi: b}, nil
}

// parseIPCond parses "10.0.0.1", "10.0.0.0-10.0.0.255" or "10.0.0.0/24"
// into prefixes; a range that is not one prefix becomes several.
func parseIPCond(s string, v6 bool) ([]netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a prefix", s)
		}
		if !vfp.FamilyOK(p.Addr(), v6) {
			return nil, fmt.Errorf("%q is not %s", s, vfp.FamilyName(v6))
		}
		return []netip.Prefix{p.Masked()}, nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := parseAddr(strings.TrimSpace(lo))
	if err != nil {
		return nil, err
	}
	b := a
	if isRange {
		if b, err = parseAddr(strings.TrimSpace(hi)); err != nil {
			return nil, err
		}
	}
	if !vfp.FamilyOK(a, v6) || !vfp.FamilyOK(b, v6) {
		return nil, fmt.Errorf("%q is not %s", s, vfp.FamilyName(v6))
	}
	if b.Less(a) {
		return nil, fmt.Errorf("address range %q is empty", s)
	}
	return rangePrefixes(a, b), nil
}

// rangePrefixes returns the fewest prefixes covering [a, b].
func rangePrefixes(a, b netip.Addr) []netip.Prefix {
	bits := a.BitLen()
	lo := new(big.Int).SetBytes(a.AsSlice())
	hi := new(big.Int).SetBytes(b.AsSlice())
	one := big.NewInt(1)
	var out []netip.Prefix
	for lo.Cmp(hi) <= 0 {
		// Largest block aligned at lo that stays within hi.
		size := 0
		for size < bits {
			blk := new(big.Int).Lsh(one, uint(size+1))
			if new(big.Int).Mod(lo, blk).Sign() != 0 {
				break
			}
			end := new(big.Int).Add(lo, blk)
			end.Sub(end, one)
			if end.Cmp(hi) > 0 {
				break
			}
			size++
		}
		buf := make([]byte, bits/8)
		lo.FillBytes(buf)
		addr, _ := netip.AddrFromSlice(buf)
		out = append(out, netip.PrefixFrom(addr, bits-size))
		lo.Add(lo, new(big.Int).Lsh(one, uint(size)))
	}
	return out
}

func parseCond(c *vfp.Conditions, key, val string, v6 bool) error {
	for _, item := range strings.Split(val, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return fmt.Errorf("empty value in %q", val)
		}
		switch key {
		case condProto:
			n, err := strconv.ParseUint(item, 10, 8)
			if err != nil {
				return fmt.Errorf("%q is not a protocol number", item)
			}
			c.Protocols = append(c.Protocols, uint8(n))
		case condSrcMAC, condDstMAC:
			m, err := parseMAC(item)
			if err != nil {
				return err
			}
			if key == condSrcMAC {
				c.SrcMAC = append(c.SrcMAC, m)
			} else {
				c.DstMAC = append(c.DstMAC, m)
			}
		case condSrcIP, condDstIP:
			ps, err := parseIPCond(item, v6)
			if err != nil {
				return err
			}
			if key == condSrcIP {
				c.SrcIP = append(c.SrcIP, ps...)
			} else {
				c.DstIP = append(c.DstIP, ps...)
			}
		case condSrcPort, condDstPort:
			r, err := parsePortRange(item)
			if err != nil {
				return err
			}
			if key == condSrcPort {
				c.SrcPort = append(c.SrcPort, r)
			} else {
				c.DstPort = append(c.DstPort, r)
			}
		case condVNI:
			n, err := strconv.ParseUint(item, 10, 24)
			if err != nil {
				return fmt.Errorf("%q is not a 24-bit VNI", item)
			}
			c.VNI = append(c.VNI, uint32(n))
		}
	}
	return nil
}

// RuleCounterLine is one rule's counters read by ParseRuleCounters.
type RuleCounterLine struct {
	Layer, Group, Rule, FriendlyName string
	Counters                         vfp.RuleCounters
}

// ParseRuleCounters reads FormatRuleCounters output (and the "Matched
// packets" / "Dropped packets" lines of /get-rule-counter).
func ParseRuleCounters(r io.Reader) ([]RuleCounterLine, error) {
	sc := bufio.NewScanner(r)
	var out []RuleCounterLine
	var errs []error
	var layer, group string
	cur := -1
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s == "ITEM LIST" || strings.Trim(s, "=") == "" || strings.HasPrefix(s, "#") ||
			(strings.HasPrefix(s, "Command ") && strings.HasSuffix(s, "succeeded!")) {
			continue
		}
		k, v, ok := splitKV(s)
		var err error
		switch {
		case !ok:
			err = fmt.Errorf("%w: %q", errSyntax, s)
		case k == "LAYER":
			layer, group, cur = v, "", -1
		case k == "GROUP":
			group, cur = v, -1
		case k == "RULE":
			out = append(out, RuleCounterLine{Layer: layer, Group: group, Rule: v})
			cur = len(out) - 1
		case cur < 0:
			err = errOutside
		case k == "Friendly name":
			out[cur].FriendlyName = v
		case k == "Matched packets":
			out[cur].Counters.Matched, err = strconv.ParseUint(v, 10, 64)
		case k == "Dropped packets":
			out[cur].Counters.Dropped, err = strconv.ParseUint(v, 10, 64)
		case k == "Pending packets":
		default:
			err = errUnknownField
		}
		if err != nil && len(errs) < maxParseErrors {
			errs = append(errs, &ParseError{Line: line, Field: k, Err: err})
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, &ParseError{Line: line, Err: fmt.Errorf("read: %w", err)})
	}
	return out, errors.Join(errs...)
}
