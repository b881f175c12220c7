package hostprobe

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hnspath/hnspath/result"
	"github.com/hnspath/hnspath/spec"
)

// Comparison is the packet-by-packet comparison of two runs of one scenario (backend A,
// usually the emulator, and backend B).
type Comparison struct {
	Scenario string
	A, B     string
	Packets  []PacketComparison
}

// PacketComparison compares the results of one input packet.
type PacketComparison struct {
	Index int
	In    string
	Diffs []Difference
}

// Agrees reports whether the two results agree (after normalisation and bindings).
func (p *PacketComparison) Agrees() bool { return len(p.Diffs) == 0 }

// Documented reports whether every difference of p is explained: by a documented
// Windows/Linux difference, or by a part the backend did not build.
func (p *PacketComparison) Documented() bool {
	for _, d := range p.Diffs {
		if d.Known == "" && d.NotBuilt == "" {
			return false
		}
	}
	return true
}

// Difference is one way two results of an input differ.
type Difference struct {
	// Port and Kind name the output ("" for the packet's outcome).
	Port, Kind string
	// What is "outcome", "missing" (only A has the output), "extra" (only B has it),
	// "layers" (the frames have different layer stacks) or "field".
	What string
	// Field is the field, as "<layer>.<name>" with the layer's position for repeated
	// layers ("ipv4.ttl", "ipv4#2.src" for the packet an ICMP error quotes).
	Field string
	// A and B are the two values.
	A, B string
	// Known is the ID of the documented Windows/Linux difference that explains it
	// (see Differences), or "".
	Known string
	// NotBuilt, when Known is empty, is the part of the topology the backend did not
	// build that the packet passed in the reference run (MarkNotBuilt), or "".
	NotBuilt string
}

// String formats d for a report line.
func (d Difference) String() string {
	where := "outcome"
	if d.Port != "" {
		where = d.Port + " " + d.Kind
	}
	var s string
	switch d.What {
	case "outcome":
		s = fmt.Sprintf("%s: %s vs %s", where, d.A, d.B)
	case "missing", "extra":
		s = fmt.Sprintf("%s: %s output (%s | %s)", where, d.What, dash(d.A), dash(d.B))
	case "layers":
		s = fmt.Sprintf("%s: layers %s vs %s", where, d.A, d.B)
	default:
		s = fmt.Sprintf("%s: %s %s vs %s", where, d.Field, dash(d.A), dash(d.B))
	}
	switch {
	case d.Known != "":
		s += " [documented: " + d.Known + "]"
	case d.NotBuilt != "":
		s += " [not built: " + d.NotBuilt + "]"
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Differing returns the number of packets that do not agree.
func (c *Comparison) Differing() int {
	n := 0
	for i := range c.Packets {
		if !c.Packets[i].Agrees() {
			n++
		}
	}
	return n
}

// Undocumented returns the number of packets with a difference no documented
// Windows/Linux difference explains.
func (c *Comparison) Undocumented() int {
	n := 0
	for i := range c.Packets {
		if !c.Packets[i].Documented() {
			n++
		}
	}
	return n
}

// Partial returns the number of packets whose differences are all explained and at
// least one of them by a part the backend did not build.
func (c *Comparison) Partial() int {
	n := 0
	for i := range c.Packets {
		p := &c.Packets[i]
		if !p.Documented() {
			continue
		}
		for _, d := range p.Diffs {
			if d.Known == "" && d.NotBuilt != "" {
				n++
				break
			}
		}
	}
	return n
}

// NotBuilt returns the parts not built that explain differences, sorted.
func (c *Comparison) NotBuilt() []string {
	seen := map[string]bool{}
	for _, p := range c.Packets {
		for _, d := range p.Diffs {
			if d.Known == "" && d.NotBuilt != "" {
				seen[d.NotBuilt] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Verdicts of a comparison (Comparison.Verdict).
const (
	VerdictAgrees     = "agrees"
	VerdictDocumented = "differs (documented)"
	VerdictFinding    = "differs (emulator finding)"
	VerdictPartial    = "partial"
	VerdictDiffers    = "differs"
)

// Verdict sums the comparison up: "differs" when a packet differs in a way nothing
// explains; else "partial (not built: ...)" when parts the backend did not build explain
// differences; else "differs (emulator finding)" when a known emulator finding does;
// else "differs (documented)" when documented Windows/Linux differences do; else
// "agrees".
func (c *Comparison) Verdict() string {
	switch {
	case c.Undocumented() > 0:
		return VerdictDiffers
	case c.Partial() > 0:
		return VerdictPartial + " (not built: " + strings.Join(c.NotBuilt(), "; ") + ")"
	case c.Differing() == 0:
		return VerdictAgrees
	}
	for _, id := range c.Known() {
		if k, ok := DifferenceByID(id); ok && k.Finding {
			return VerdictFinding
		}
	}
	return VerdictDocumented
}

// MarkNotBuilt labels the unexplained differences of every packet that passed a part in
// nb in the reference run ref (the emulator's results, in input order): its trace names
// one of the part's VFP rules, or it was injected or came out at one of the part's
// ports.
func (c *Comparison) MarkNotBuilt(ref []*result.Packet, nb []NotBuilt) {
	if len(nb) == 0 {
		return
	}
	byIndex := map[int]*result.Packet{}
	for _, p := range ref {
		byIndex[p.Index] = p
	}
	for i := range c.Packets {
		pc := &c.Packets[i]
		a := byIndex[pc.Index]
		if a == nil {
			continue
		}
		what := ""
		for _, n := range nb {
			if touches(a, pc, n) {
				what = n.What
				break
			}
		}
		if what == "" {
			continue
		}
		for j := range pc.Diffs {
			if pc.Diffs[j].Known == "" {
				pc.Diffs[j].NotBuilt = what
			}
		}
	}
}

// touches reports whether reference packet a (compared in pc) passed part n.
func touches(a *result.Packet, pc *PacketComparison, n NotBuilt) bool {
	for _, st := range a.Trace {
		for _, r := range n.Rules {
			if r != "" && strings.HasPrefix(st.VFPRule, r) {
				return true
			}
		}
	}
	ports := map[string]bool{a.In: true}
	for _, o := range a.Outputs {
		ports[o.Port] = true
	}
	for _, d := range a.Drops {
		ports[d.Port] = true
	}
	for _, d := range pc.Diffs {
		ports[d.Port] = true
	}
	for _, p := range n.Ports {
		if ports[p] {
			return true
		}
	}
	return false
}

// Known returns the IDs of the documented differences seen, sorted.
func (c *Comparison) Known() []string {
	seen := map[string]bool{}
	for _, p := range c.Packets {
		for _, d := range p.Diffs {
			if d.Known != "" {
				seen[d.Known] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Comparer compares results packet by packet. It learns bindings: where the two
// backends chose different values for the same thing (a NAT's source port, an ICMP
// query id), the first sighting binds A's value to B's, later outputs must use the
// same pair, and Translate rewrites later inputs from A's values to B's (a reply the
// scenario built to the port the emulator chose goes to the port the kernel chose).
// Fields that carry no meaning are not compared: the IPv4 identification, the outer UDP
// source port of VXLAN (an entropy hash, RFC 7348 section 5) and Ethernet padding.
type Comparer struct {
	Scenario string
	A, B     string
	// VXLANPorts are extra UDP ports decoded as VXLAN (4789 always is).
	VXLANPorts []uint16
	// LBGroups are the load balancers whose backend choice is bound, not compared
	// (LBGroupsOf).
	LBGroups []LBGroup

	ab, ba map[bindKey]uint64
	// used is when (virtual time) each binding of ab was last confirmed.
	used map[bindKey]int64
	// now is the virtual time of the input being compared.
	now int64
	// last is the virtual time of the previous input, for labelling timeouts.
	last    int64
	started bool
	// timedOut are the flows (an input's tuple, either direction) whose NAT state one
	// side let expire after a pause: their later packets differ for the same reason.
	timedOut map[flowKey]bool
}

// bindKey is a bound value of one backend. NAT choices are scoped by the ends of the
// flow, "local>remote" (the local address, the remote address and port; two addresses
// for ICMP ids): a NAT's port is unique per remote endpoint, not per scenario, so one
// value may stand for different flows toward different peers (RFC 4787 §4.1:
// endpoint-dependent reuse); the local address keeps the NAT's outside ports apart from
// the inside ones; and a port freed by a timeout may be taken again (staleBinding).
// scenarios.Diff uses the same rule.
type bindKey struct {
	kind  string // "tcp", "udp", "icmp-id", or a load balancer group's kind
	v     uint64
	scope string // the remote endpoint, "" for load balancer choices
}

// staleBinding is how long a NAT binding may go unused before either side may reuse
// its port for another flow toward the same peer: the shortest idle timeout of both
// NATs (WinNAT's ICMP query timeout, 30 s; Linux conntrack's unreplied UDP, 30 s).
const staleBinding = int64(30 * time.Second)

// flowKey is an input's 5-tuple in canonical order (either direction).
type flowKey struct {
	a, b  string
	proto uint8
}

// NewComparer returns a comparer of backend a's results with backend b's.
func NewComparer(scenario, a, b string) *Comparer {
	return &Comparer{Scenario: scenario, A: a, B: b, ab: map[bindKey]uint64{}, ba: map[bindKey]uint64{},
		used: map[bindKey]int64{}, timedOut: map[flowKey]bool{}}
}

// Compare compares two result lists of one scenario, in input order.
func Compare(scenario string, a, b []*result.Packet) *Comparison {
	an, bn := "a", "b"
	if len(a) > 0 {
		an = a[0].Backend
	}
	if len(b) > 0 {
		bn = b[0].Backend
	}
	c := NewComparer(scenario, an, bn)
	out := &Comparison{Scenario: scenario, A: an, B: bn}
	for i := 0; i < max(len(a), len(b)); i++ {
		switch {
		case i >= len(a):
			out.Packets = append(out.Packets, PacketComparison{Index: b[i].Index, In: b[i].In,
				Diffs: []Difference{{What: "outcome", A: "(no result)", B: b[i].Outcome}}})
		case i >= len(b):
			out.Packets = append(out.Packets, PacketComparison{Index: a[i].Index, In: a[i].In,
				Diffs: []Difference{{What: "outcome", A: a[i].Outcome, B: "(no result)"}}})
		default:
			out.Packets = append(out.Packets, c.Packet(a[i], b[i]))
		}
	}
	return out
}

// Packet compares the results of one input and learns bindings from them.
func (c *Comparer) Packet(a, b *result.Packet) PacketComparison {
	pc := PacketComparison{Index: a.Index, In: a.In}
	c.now = a.TimeNS
	if hasDrop(b, reasonInjectRejected) {
		// B never ran the input: nothing was compared, whatever the outcomes say.
		pc.Diffs = append(pc.Diffs, Difference{What: "outcome", A: outcomeText(a), B: outcomeText(b), NotBuilt: notInjected})
		c.last, c.started = max(c.last, a.TimeNS), true
		return pc
	}
	if a.Outcome != b.Outcome {
		pc.Diffs = append(pc.Diffs, Difference{What: "outcome", A: outcomeText(a), B: outcomeText(b)})
	}
	// Which backend of a load balancer got the packet is each side's choice: bind it,
	// and read B's outputs with A's names for it.
	alias, lbDiffs := c.bindBackends(a, b)
	pc.Diffs = append(pc.Diffs, lbDiffs...)
	type key struct{ port, kind string }
	group := func(p *result.Packet) (map[key][]result.Output, []key) {
		m := map[key][]result.Output{}
		var order []key
		for _, o := range p.Outputs {
			if p == b {
				if x, ok := alias[o.Port]; ok {
					o.Port = x
				}
			}
			k := key{o.Port, o.Kind}
			if _, ok := m[k]; !ok {
				order = append(order, k)
			}
			m[k] = append(m[k], o)
		}
		return m, order
	}
	ga, oa := group(a)
	gb, ob := group(b)
	keys := oa
	for _, k := range ob {
		if _, ok := ga[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		xa, xb := ga[k], gb[k]
		for i := 0; i < max(len(xa), len(xb)); i++ {
			switch {
			case i >= len(xb):
				pc.Diffs = append(pc.Diffs, Difference{Port: k.port, Kind: k.kind, What: "missing", A: c.describe(xa[i].Frame)})
			case i >= len(xa):
				pc.Diffs = append(pc.Diffs, Difference{Port: k.port, Kind: k.kind, What: "extra", B: c.describe(xb[i].Frame)})
			default:
				for _, d := range c.frames(xa[i].Frame, xb[i].Frame, alias) {
					d.Port, d.Kind = k.port, k.kind
					pc.Diffs = append(pc.Diffs, d)
				}
			}
		}
	}
	portChoice := c.boundOnlyInB(a.Frame)
	// After a pause in virtual time, a NAT session one side kept and the other let
	// expire is a difference of timeouts; so are the differences of the later packets
	// of that flow (its tuples, as sent and as translated, either direction).
	timedOut := c.started && a.TimeNS-c.last > int64(time.Second) &&
		(hasDrop(a, "winnat-no-mapping") != hasDrop(b, "winnat-no-mapping") || a.Outcome != b.Outcome)
	if !timedOut && len(pc.Diffs) > 0 {
		if k, ok := flowOf(a.Frame); ok && c.timedOut[k] {
			timedOut = true
		}
	}
	if timedOut && len(pc.Diffs) > 0 {
		c.markFlows(a, b)
	}
	c.last, c.started = max(c.last, a.TimeNS), true
	for i := range pc.Diffs {
		d := &pc.Diffs[i]
		d.Known = Explain(a, b, d)
		if d.Known == "" && portChoice {
			// The input goes to a port that only B's NAT chose (a scenario's packet to a
			// port the emulator did not map): a consequence of the port choice.
			d.Known = "nat-port-choice"
		}
		if d.Known == "" && timedOut {
			d.Known = "nat-timeouts"
		}
		if d.Known != "" && deliveredAgainstDrop(a, b, d) {
			// A documented rule that says Windows drops cannot explain a delivery the
			// model made: that is a fidelity defect, not a Windows/Linux difference.
			d.Known = ""
		}
	}
	markSwitched(pc.Diffs)
	return pc
}

// reasonInjectRejected is the Linux backend's drop reason for an input the kernel
// refused to send (hostprobe/linux.ReasonInjectRejected; not imported: the backends
// import this package).
const reasonInjectRejected = "linux-inject-rejected"

// notInjected labels the input of a packet backend B could not inject: its results
// say nothing about B's datapath, so the packet neither agrees nor differs.
const notInjected = "an input the backend could not inject (linux-inject-rejected)"

// deliveredAgainstDrop reports whether d, labelled with a documented difference whose
// Windows side is a drop, is A delivering something B did not.
func deliveredAgainstDrop(a, b *result.Packet, d *Difference) bool {
	k, ok := DifferenceByID(d.Known)
	if !ok || !k.WindowsDrops {
		return false
	}
	switch d.What {
	case "missing":
		return d.Kind == result.KindDelivered
	case "outcome":
		return a.Outcome == result.OutcomeDelivered && b.Outcome != result.OutcomeDelivered
	}
	return false
}

// flowOf returns the canonical 5-tuple of a frame's outermost IPv4 packet.
func flowOf(f []byte) (flowKey, bool) {
	if len(f) < 14+20 || binary.BigEndian.Uint16(f[12:14]) != 0x0800 {
		return flowKey{}, false
	}
	ip := f[14:]
	p, ok := ipPorts(ip)
	if !ok {
		return flowKey{}, false
	}
	src := netip.AddrFrom4([4]byte(ip[12:16])).String() + "|" + strconv.FormatUint(p.sport, 10)
	dst := netip.AddrFrom4([4]byte(ip[16:20])).String() + "|" + strconv.FormatUint(p.dport, 10)
	if src > dst {
		src, dst = dst, src
	}
	return flowKey{src, dst, ip[9]}, true
}

// markFlows records the flows of an input whose NAT state timed out on one side: the
// input's tuple and those of every output of either run (the tuple as translated).
func (c *Comparer) markFlows(a, b *result.Packet) {
	frames := [][]byte{a.Frame}
	for _, p := range []*result.Packet{a, b} {
		for _, o := range p.Outputs {
			frames = append(frames, o.Frame)
		}
	}
	for _, f := range frames {
		if k, ok := flowOf(f); ok {
			c.timedOut[k] = true
		}
	}
}

func outcomeText(p *result.Packet) string {
	s := p.Outcome
	var rs []string
	for _, d := range p.Drops {
		rs = append(rs, d.Reason)
	}
	if len(rs) > 0 {
		s += " (" + strings.Join(rs, ", ") + ")"
	}
	return s
}

// describe returns a frame as a spec.
func (c *Comparer) describe(frame []byte) string {
	return spec.Decode(frame, spec.DecodeOptions{VXLANPorts: c.VXLANPorts}).String()
}

// field is one field of a flattened frame.
type field struct {
	key   string // "ipv4.ttl", "ipv4#2.src"
	layer string
	name  string
	val   string
	num   uint64
	isNum bool
	// bind is the binding kind of the field ("tcp", "udp", "icmp-id"), or "".
	bind string
	// scope is the remote endpoint a bound value is scoped by (bindKey).
	scope string
	// checkOnly fields match through an existing binding but make none.
	checkOnly bool
	// free fields are not compared.
	free bool
}

// layerDefaults are the values spec.Decode leaves out because Build would write them
// (package spec, "Defaults (Build)"); a field one side shows and the other leaves out is
// compared with these. Checksums left out are valid.
var layerDefaults = map[string]string{
	"ipv4.ttl": "64", "ipv4.version": "4", "ipv4.ihl": "5", "ipv4.tos": "0", "ipv4.id": "0", "ipv4.flags": "0",
	"ipv4.frag": "0", "ipv4.chksum": "valid", "ipv6.hlim": "64", "ipv6.tc": "0", "ipv6.fl": "0",
	"tcp.sport": "20", "tcp.dport": "80", "tcp.flags": "2", "tcp.seq": "0", "tcp.ack": "0", "tcp.window": "8192",
	"tcp.chksum": "valid", "tcp.urgptr": "0", "tcp.reserved": "0",
	"udp.sport": "53", "udp.dport": "53", "udp.chksum": "valid",
	"icmp.type": "8", "icmp.code": "0", "icmp.id": "0", "icmp.seq": "0", "icmp.chksum": "valid",
	"icmpv6.code": "0", "icmpv6.chksum": "valid",
	"vxlan.flags": "8", "vxlan.vni": "0",
}

// flatten decodes a frame into its fields, without Ethernet padding.
func (c *Comparer) flatten(frame []byte) (layers []string, fields []field) {
	s := spec.Decode(frame, spec.DecodeOptions{VXLANPorts: c.VXLANPorts})
	count := map[string]int{}
	var ipSrc, ipDst string // of the IP layer before the current one
	for li, l := range s.Layers {
		first := len(fields)
		if l.Name == "padding" {
			continue
		}
		count[l.Name]++
		lk := l.Name
		if n := count[l.Name]; n > 1 {
			lk = l.Name + "#" + strconv.Itoa(n)
		}
		layers = append(layers, l.Name)
		nextVXLAN := li+1 < len(s.Layers) && s.Layers[li+1].Name == "vxlan"
		for _, f := range l.Fields {
			fl := field{key: lk + "." + f.Name, layer: l.Name, name: f.Name}
			switch f.Value.Kind {
			case spec.KindNum:
				fl.val, fl.num, fl.isNum = strconv.FormatUint(f.Value.Num, 10), f.Value.Num, true
			case spec.KindAddr:
				fl.val = f.Value.Addr.String()
			case spec.KindMAC:
				fl.val = f.Value.MAC.String()
			case spec.KindBytes:
				fl.val = hex.EncodeToString(f.Value.Bytes)
			default:
				fl.val = f.Value.Name
			}
			switch {
			case l.Name == "ipv4" && f.Name == "id":
				fl.free = true
			case l.Name == "udp" && f.Name == "sport" && nextVXLAN:
				fl.free = true
			case (l.Name == "tcp" || l.Name == "udp") && f.Name == "sport":
				// A NAT chooses source ports.
				fl.bind = l.Name
			case (l.Name == "tcp" || l.Name == "udp") && f.Name == "dport":
				// Destination ports come from policies (a port mapping's internal port)
				// and must agree, except where they are a NAT's choice seen again (a
				// reply to the translated port, on its way in).
				fl.bind, fl.checkOnly = l.Name, true
			case l.Name == "icmp" && f.Name == "id":
				fl.bind = "icmp-id"
			}
			fields = append(fields, fl)
		}
		switch l.Name {
		case "ipv4", "ipv6":
			ipSrc, ipDst = valueOf(fields[first:], "src"), valueOf(fields[first:], "dst")
		case "tcp", "udp":
			sport, dport := valueOf(fields[first:], "sport"), valueOf(fields[first:], "dport")
			for i := first; i < len(fields); i++ {
				switch fields[i].name {
				case "sport":
					fields[i].scope = ipSrc + ">" + ipDst + "|" + dport
				case "dport":
					fields[i].scope = ipDst + ">" + ipSrc + "|" + sport
				}
			}
		case "icmp":
			scope := ipSrc + ">" + ipDst
			if t := valueOf(fields[first:], "type"); t == "0" || t == "14" {
				scope = ipDst + ">" + ipSrc // a reply: the remote end sent it
			}
			for i := first; i < len(fields); i++ {
				if fields[i].name == "id" {
					fields[i].scope = scope
				}
			}
		}
	}
	return layers, fields
}

// valueOf returns the value of the named field among fs, or its default when the
// decoder left it out.
func valueOf(fs []field, name string) string {
	for _, f := range fs {
		if f.name == name {
			return f.val
		}
	}
	if len(fs) > 0 {
		return layerDefaults[fs[0].layer+"."+name]
	}
	return ""
}

// frames compares two frames field by field; alias maps values of b (addresses, MACs)
// to the values a has for them.
func (c *Comparer) frames(a, b []byte, alias map[string]string) []Difference {
	la, fa := c.flatten(a)
	lb, fb := c.flatten(b)
	for i := range fb {
		if x, ok := alias[fb[i].val]; ok && !fb[i].isNum {
			fb[i].val = x
		}
	}
	var out []Difference
	sameLayers := strings.Join(la, "/") == strings.Join(lb, "/")
	if !sameLayers {
		out = append(out, Difference{What: "layers", A: strings.Join(la, "/"), B: strings.Join(lb, "/")})
	}
	present := func(fs []field) map[string]bool {
		m := map[string]bool{}
		for _, f := range fs {
			m[strings.SplitN(f.key, ".", 2)[0]] = true
		}
		return m
	}
	// With different stacks, only the layers both have are compared field by field.
	pa, pb := present(fa), present(fb)
	ma := map[string]field{}
	var keys []string
	for _, f := range fa {
		ma[f.key] = f
		keys = append(keys, f.key)
	}
	mb := map[string]field{}
	for _, f := range fb {
		mb[f.key] = f
		if _, ok := ma[f.key]; !ok {
			keys = append(keys, f.key)
		}
	}
	for _, k := range keys {
		x, okA := ma[k]
		y, okB := mb[k]
		if lk := strings.SplitN(k, ".", 2)[0]; !sameLayers && (!pa[lk] || !pb[lk]) {
			continue
		}
		if x.free || y.free {
			continue
		}
		def := layerDefaults[layerOf(k)+"."+fieldOf(k)]
		va, vb := x.val, y.val
		if !okA {
			va, x = def, y
			x.val = def
			x.num, x.isNum = parseNum(def)
		}
		if !okB {
			vb, y = def, x
			y.val = def
			y.num, y.isNum = parseNum(def)
		}
		if va == vb {
			continue
		}
		if x.bind != "" && x.isNum && y.isNum {
			k := bindKey{x.bind, x.num, x.scope}
			if w, ok := c.ab[k]; x.checkOnly && ok && w == y.num {
				continue
			}
			if !x.checkOnly && c.bindOK(x.bind, x.scope, x.num, y.num) {
				continue
			}
		}
		if va == "" {
			va = "(computed)"
		}
		if vb == "" {
			vb = "(computed)"
		}
		out = append(out, Difference{What: "field", Field: k, A: va, B: vb})
	}
	return out
}

func parseNum(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// layerOf returns the layer name of a field key ("ipv4#2.src" -> "ipv4").
func layerOf(k string) string {
	l, _, _ := strings.Cut(k, ".")
	l, _, _ = strings.Cut(l, "#")
	return l
}

func fieldOf(k string) string {
	_, f, _ := strings.Cut(k, ".")
	return f
}

// markSwitched labels the differences of an output whose TTL is one lower on B (and, on
// that output, its source MAC) as "vfp-switched-nat": A translated the packet in the
// vSwitch, B in a stack that routes.
func markSwitched(ds []Difference) {
	type out struct{ port, kind string }
	routed := map[out]bool{}
	for _, d := range ds {
		if d.What == "field" && d.Field == "ipv4.ttl" && d.Kind == result.KindDelivered {
			a, errA := strconv.Atoi(d.A)
			b, errB := strconv.Atoi(d.B)
			if errA == nil && errB == nil && b == a-1 {
				routed[out{d.Port, d.Kind}] = true
			}
		}
	}
	for i := range ds {
		d := &ds[i]
		if routed[out{d.Port, d.Kind}] && d.What == "field" && (d.Field == "ipv4.ttl" || d.Field == "ether.src") && d.Known == "" {
			d.Known = "vfp-switched-nat"
		}
	}
}

// boundOnlyInB reports whether the outermost TCP/UDP destination port or ICMP id of an
// input frame is a value B chose and A did not (for the same remote end).
func (c *Comparer) boundOnlyInB(f []byte) bool {
	p, ok := l4Ports(f)
	if !ok {
		return false
	}
	k := bindKey{p.kind, p.dport, p.dScope}
	_, inB := c.ba[k]
	_, inA := c.ab[k]
	return inB && !inA
}

// ports are the binding kind, ports (for ICMP queries the id, twice) and binding
// scopes (bindKey) of a frame's outermost IPv4 packet.
type ports struct {
	kind           string
	sport, dport   uint64
	sScope, dScope string
}

// l4Ports returns the ports of a frame's outermost IPv4 packet.
func l4Ports(f []byte) (ports, bool) {
	if len(f) < 14+20 || binary.BigEndian.Uint16(f[12:14]) != 0x0800 {
		return ports{}, false
	}
	return ipPorts(f[14:])
}

// ipPorts returns the ports of an IPv4 packet (at least its header and 8 bytes).
func ipPorts(ip []byte) (ports, bool) {
	ihl := int(ip[0]&0x0f) * 4
	if ihl < 20 || len(ip) < ihl+8 {
		return ports{}, false
	}
	src := netip.AddrFrom4([4]byte(ip[12:16])).String()
	dst := netip.AddrFrom4([4]byte(ip[16:20])).String()
	l4 := ip[ihl:]
	switch ip[9] {
	case 6, 17:
		p := ports{kind: "tcp", sport: uint64(binary.BigEndian.Uint16(l4[0:])), dport: uint64(binary.BigEndian.Uint16(l4[2:]))}
		if ip[9] == 17 {
			p.kind = "udp"
		}
		p.sScope = src + ">" + dst + "|" + strconv.FormatUint(p.dport, 10)
		p.dScope = dst + ">" + src + "|" + strconv.FormatUint(p.sport, 10)
		return p, true
	case 1:
		id := uint64(binary.BigEndian.Uint16(l4[4:]))
		scope := src + ">" + dst
		if l4[0] == 0 || l4[0] == 14 {
			scope = dst + ">" + src
		}
		return ports{kind: "icmp-id", sport: id, dport: id, sScope: scope, dScope: scope}, true
	}
	return ports{}, false
}

// bindOK records or checks the binding a -> b of kind for the remote end scope. A
// binding unused for staleBinding may be replaced (a NAT reused the port).
func (c *Comparer) bindOK(kind, scope string, a, b uint64) bool {
	ka, kb := bindKey{kind, a, scope}, bindKey{kind, b, scope}
	if x, ok := c.ab[ka]; ok {
		if x == b {
			c.used[ka] = c.now
			return true
		}
		if !c.stale(ka) {
			return false
		}
		delete(c.ba, bindKey{kind, x, scope})
		delete(c.ab, ka)
	}
	if y, ok := c.ba[kb]; ok {
		ky := bindKey{kind, y, scope}
		if !c.stale(ky) {
			return false
		}
		delete(c.ab, ky)
		delete(c.ba, kb)
	}
	c.ab[ka], c.ba[kb] = b, a
	c.used[ka] = c.now
	return true
}

// stale reports whether the NAT binding k of A was last used longer ago than
// staleBinding (load balancer choices never go stale).
func (c *Comparer) stale(k bindKey) bool {
	return k.scope != "" && c.now-c.used[k] > staleBinding
}

// Bindings returns the learned bindings as "kind a->b" strings (with " to SCOPE" for
// NAT choices scoped by their remote end), sorted.
func (c *Comparer) Bindings() []string {
	var out []string
	for k, v := range c.ab {
		s := fmt.Sprintf("%s %d->%d", k.kind, k.v, v)
		if k.scope != "" {
			s += " to " + k.scope
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Translate returns in with the TCP/UDP ports and ICMP query ids of its outermost IPv4
// packet rewritten from backend A's bound values to backend B's, with the checksums
// recomputed, and an input at (or addressed to) a load balancer backend A chose moved
// to the one B chose (LBGroups); inputs without a bound value are returned unchanged.
func (c *Comparer) Translate(in Input) Input {
	if port, f := c.translateBackends(in.Port, in.Frame, nil); f != nil {
		in.Port, in.Frame = port, f
	}
	f := in.Frame
	if len(f) < 14+20 || binary.BigEndian.Uint16(f[12:14]) != 0x0800 {
		return in
	}
	ip := f[14:]
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if ihl < 20 || total < ihl || total > len(ip) || binary.BigEndian.Uint16(ip[6:8])&0x1fff != 0 {
		return in
	}
	l4 := ip[ihl:total]
	proto := ip[9]
	var out []byte
	pp, _ := ipPorts(ip[:total])
	rewrite := func(off int, kind string) {
		if len(l4) < off+2 {
			return
		}
		v := uint64(binary.BigEndian.Uint16(l4[off:]))
		scope := pp.sScope
		if off == 2 {
			scope = pp.dScope
		}
		w, ok := c.ab[bindKey{kind, v, scope}]
		if !ok || w == v {
			return
		}
		if out == nil {
			out = append([]byte(nil), f...)
			ip = out[14:]
			l4 = ip[ihl:total]
		}
		binary.BigEndian.PutUint16(l4[off:], uint16(w))
	}
	switch proto {
	case 6, 17:
		kind := "tcp"
		if proto == 17 {
			kind = "udp"
		}
		rewrite(0, kind)
		rewrite(2, kind)
	case 1:
		if len(l4) >= 8 && (l4[0] == 8 || l4[0] == 0 || l4[0] == 13 || l4[0] == 14) {
			rewrite(4, "icmp-id")
		}
		if len(l4) >= 8 && (l4[0] == 3 || l4[0] == 11 || l4[0] == 12) {
			out = c.translateQuoted(f, out, ihl, total)
			if out != nil {
				ip = out[14:]
			}
		}
	}
	if out == nil {
		return in
	}
	fixL4Checksum(ip[:total], ihl, proto)
	in.Frame = out
	return in
}

// translateQuoted rewrites the TCP/UDP ports (or the ICMP echo id) of the packet an ICMP
// error quotes (RFC 792: its IP header and at least 8 bytes of its data) through the
// bindings, updating the quoted transport checksum incrementally (RFC 1624 eqn. 3) as a
// NAT does. f is the frame, out its copy so far (nil: none yet); it returns the copy, or
// nil when nothing changed. The caller recomputes the ICMP checksum.
func (c *Comparer) translateQuoted(f, out []byte, ihl, total int) []byte {
	q := 14 + ihl + 8 // the quoted IPv4 header
	if total-ihl-8 < 20 || len(f) < q+20 || f[q]>>4 != 4 {
		return out
	}
	qihl := int(f[q]&0x0f) * 4
	proto := f[q+9]
	l4 := q + qihl
	if qihl < 20 || (proto != 6 && proto != 17 && proto != 1) || len(f) < l4+8 || 14+total < l4+8 {
		return out
	}
	qp, _ := ipPorts(f[q : 14+total])
	kind := "tcp"
	csum := l4 + 16
	offs := []int{l4, l4 + 2}
	switch proto {
	case 17:
		kind, csum = "udp", l4+6
	case 1:
		// An echo (or timestamp) query: its id is a NAT's choice like a port.
		if t := f[l4]; t != 8 && t != 0 && t != 13 && t != 14 {
			return out
		}
		kind, csum, offs = "icmp-id", l4+2, []int{l4 + 4}
	}
	for _, off := range offs {
		v := binary.BigEndian.Uint16(f[off:])
		scope := qp.sScope
		if off == l4+2 && proto != 1 {
			scope = qp.dScope
		}
		w, ok := c.ab[bindKey{kind, uint64(v), scope}]
		if !ok || uint64(v) == w {
			continue
		}
		if out == nil {
			out = append([]byte(nil), f...)
		}
		binary.BigEndian.PutUint16(out[off:], uint16(w))
		if csum+2 <= 14+total && csum+2 <= len(out) {
			old := binary.BigEndian.Uint16(out[csum:])
			if proto != 17 || old != 0 {
				binary.BigEndian.PutUint16(out[csum:], update16(old, v, uint16(w)))
			}
		}
	}
	return out
}

// update16 returns checksum hc after a 16-bit word changes from old to new (RFC 1624 eqn. 3).
func update16(hc, old, new uint16) uint16 {
	s := uint32(^hc) + uint32(^old) + uint32(new)
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return ^uint16(s)
}

// fixL4Checksum recomputes the TCP, UDP or ICMP checksum of an IPv4 packet (RFC 793,
// RFC 768 with the pseudo-header; RFC 792 without). A UDP checksum of 0 ("none") stays 0.
func fixL4Checksum(ip []byte, ihl int, proto uint8) {
	l4 := ip[ihl:]
	var off int
	switch proto {
	case 6:
		off = 16
	case 17:
		off = 6
		if len(l4) < 8 || binary.BigEndian.Uint16(l4[6:8]) == 0 {
			return
		}
	case 1:
		off = 2
	default:
		return
	}
	if len(l4) < off+2 {
		return
	}
	l4[off], l4[off+1] = 0, 0
	var sum uint32
	if proto != 1 {
		sum = onesSum(sum, ip[12:20])
		sum += uint32(proto) + uint32(len(l4))
	}
	sum = onesSum(sum, l4)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	cs := ^uint16(sum)
	if proto == 17 && cs == 0 {
		cs = 0xffff
	}
	binary.BigEndian.PutUint16(l4[off:], cs)
}

func onesSum(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// InputsOf returns the inputs of a run: each result's port, frame and time.
func InputsOf(ref []*result.Packet) []Input {
	out := make([]Input, len(ref))
	for i, p := range ref {
		out[i] = Input{Port: p.In, Frame: p.Frame, TimeNS: p.TimeNS}
	}
	return out
}

// RunAgainst runs the inputs of a reference run (usually the emulator's) on backend
// be, one by one: each input is translated through the bindings learned from the
// packets before it (Comparer.Translate), and each result is compared with the
// reference's as soon as it is known. It returns be's results and the comparison.
func RunAgainst(ctx context.Context, be Backend, scenario string, ref []*result.Packet) ([]*result.Packet, *Comparison, error) {
	return RunAgainstWith(ctx, be, scenario, ref, Against{})
}

// Against are the options of RunAgainstWith.
type Against struct {
	// Steps are the HNS changes the reference run made between its inputs: Steps[i]
	// before input i (0-based).
	Steps map[int][]Step
	// LBGroups are the load balancers whose backend choice is bound (LBGroupsOf of the
	// scenario's topology).
	LBGroups []LBGroup
}

// RunAgainstWith is RunAgainst with options.
func RunAgainstWith(ctx context.Context, be Backend, scenario string, ref []*result.Packet, o Against) ([]*result.Packet, *Comparison, error) {
	an := result.BackendEmulator
	if len(ref) > 0 && ref[0].Backend != "" {
		an = ref[0].Backend
	}
	c := NewComparer(scenario, an, be.Name())
	c.LBGroups = o.LBGroups
	cmp := &Comparison{Scenario: scenario, A: an, B: be.Name()}
	opts := RunOptions{
		Before: func(i int, in Input) Input { return c.Translate(in) },
		After: func(i int, p *result.Packet) {
			if i < len(ref) {
				cmp.Packets = append(cmp.Packets, c.Packet(ref[i], p))
			}
		},
	}
	inputs := InputsOf(ref)
	for i, st := range o.Steps {
		if i >= 0 && i < len(inputs) {
			inputs[i].Steps = st
		}
	}
	out, err := be.Run(ctx, scenario, inputs, opts)
	return out, cmp, err
}
