package scenarios

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/result"
	"github.com/hnspath/hnspath/spec"
)

// DiffOptions configure Diff.
type DiffOptions struct {
	// Ignore lists fields not to compare, as layer.field ("ipv4.id").
	Ignore []string
	// Wire also compares wire-tx and wire-rx observations (backends that
	// cannot see the wire have none).
	Wire bool
	// Strict turns off the normalisation through consistent mappings.
	Strict bool
}

// DiffReport is what Diff found.
type DiffReport struct {
	// Compared is the number of packet indexes present in both files.
	Compared int
	// Differ lists, per packet index, what differs.
	Differ map[int][]string
	// OnlyA and OnlyB are packet indexes present in one file only.
	OnlyA, OnlyB []int
	// Mappings are the values treated as equal because they map one to
	// one across the files, as "class a <-> b" (e.g. "port 49152 <-> 1024").
	Mappings []string
}

// Equal reports whether the files agree.
func (d *DiffReport) Equal() bool {
	return len(d.Differ) == 0 && len(d.OnlyA) == 0 && len(d.OnlyB) == 0
}

// Write prints the report: one line per difference, then a summary.
func (d *DiffReport) Write(w io.Writer, nameA, nameB string) {
	idx := make([]int, 0, len(d.Differ))
	for i := range d.Differ {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		for _, s := range d.Differ[i] {
			fmt.Fprintf(w, "packet %d: %s\n", i, s)
		}
	}
	if len(d.OnlyA) > 0 {
		fmt.Fprintf(w, "only in %s: packets %s\n", nameA, intList(d.OnlyA))
	}
	if len(d.OnlyB) > 0 {
		fmt.Fprintf(w, "only in %s: packets %s\n", nameB, intList(d.OnlyB))
	}
	if len(d.Mappings) > 0 {
		fmt.Fprintf(w, "treated as equal (consistent one-to-one mappings): %s\n", strings.Join(d.Mappings, ", "))
	}
	if d.Equal() {
		fmt.Fprintf(w, "%d packets compared: no differences\n", d.Compared)
	} else {
		fmt.Fprintf(w, "%d packets compared: %d differ\n", d.Compared, len(d.Differ))
	}
}

func intList(xs []int) string {
	var s []string
	for i, x := range xs {
		if i == 20 {
			s = append(s, fmt.Sprintf("... (%d in all)", len(xs)))
			break
		}
		s = append(s, strconv.Itoa(x))
	}
	return strings.Join(s, ", ")
}

// mappable fields: values that implementations legitimately choose
// differently (NAT port and ICMP identifier choices, MAC addresses of
// different machines) and that are equal when they map one to one: MACs
// across the whole file; NAT ports and ICMP ids per remote end of the flow
// (a NAT's port is unique per remote endpoint, RFC 4787 §4.1) and per
// period of use (a port idle longer than the shortest NAT timeout,
// staleMapping, may be given to another flow). hostprobe's Comparer uses
// the same rule, so `diff` and `probe` agree on whether a mapping is
// consistent.
var mappable = map[string]map[string]string{
	"tcp":   {"sport": "port", "dport": "port"},
	"udp":   {"sport": "port", "dport": "port"},
	"icmp":  {"id": "icmp-id"},
	"ether": {"src": "mac", "dst": "mac"},
	"arp":   {"hwsrc": "mac", "hwdst": "mac"},
}

// mapper records, per class, which values of A appear where B has which
// values, to decide whether the two map one to one.
type mapper struct {
	fwd map[string]map[string]map[string]bool // class -> a -> set of b
	rev map[string]map[string]map[string]bool
}

func newMapper() *mapper {
	return &mapper{fwd: map[string]map[string]map[string]bool{}, rev: map[string]map[string]map[string]bool{}}
}

func addPair(m map[string]map[string]map[string]bool, class, a, b string) {
	if m[class] == nil {
		m[class] = map[string]map[string]bool{}
	}
	if m[class][a] == nil {
		m[class][a] = map[string]bool{}
	}
	m[class][a][b] = true
}

func (m *mapper) add(class, a, b string) {
	addPair(m.fwd, class, a, b)
	addPair(m.rev, class, b, a)
}

// consistent reports whether a and b map only to each other.
func (m *mapper) consistent(class, a, b string) bool {
	return len(m.fwd[class][a]) == 1 && len(m.rev[class][b]) == 1
}

// staleMapping is how long a NAT port or ICMP id may go unused toward one
// remote end before either side may give it to another flow: the shortest
// idle timeout of the NATs compared (WinNAT's ICMP query timeout and Linux
// conntrack's unreplied UDP timeout, both 30 s).
const staleMapping = int64(30e9)

// differ compares two results files.
type differ struct {
	opts   DiffOptions
	ignore map[string]bool
	m      *mapper
	pass   int // 1: collect mappings, 2: report
	used   map[string]bool

	// now is the time of the packet being compared; lastSeen and epoch give
	// each remote end's periods of use (staleMapping). Both passes rebuild
	// them in the same order.
	now      int64
	lastSeen map[string]int64
	epoch    map[string]int
}

// startPass resets the per-pass state.
func (d *differ) startPass(pass int) {
	d.pass = pass
	d.lastSeen, d.epoch = map[string]int64{}, map[string]int{}
}

// scoped returns the mapping class of a NAT choice toward remote end
// scope in the current period of use.
func (d *differ) scoped(class, scope string) string {
	if last, ok := d.lastSeen[scope]; ok && d.now-last > staleMapping {
		d.epoch[scope]++
	}
	d.lastSeen[scope] = d.now
	return class + " to " + scope + " #" + strconv.Itoa(d.epoch[scope])
}

// DiffFiles compares two results files (JSON Lines of result.Packet),
// matching packets by index. It reads each file twice, streaming: once to
// learn which differing values map one to one, once to report.
func DiffFiles(a, b string, opts DiffOptions) (*DiffReport, error) {
	d := &differ{opts: opts, ignore: map[string]bool{}, m: newMapper(), used: map[string]bool{}}
	for _, f := range opts.Ignore {
		d.ignore[f] = true
	}
	rep := &DiffReport{Differ: map[int][]string{}}
	for pass := 1; pass <= 2; pass++ {
		d.startPass(pass)
		if err := d.walk(a, b, rep); err != nil {
			return nil, err
		}
	}
	for k := range d.used {
		rep.Mappings = append(rep.Mappings, k)
	}
	sort.Strings(rep.Mappings)
	return rep, nil
}

// Diff compares two sets of results in memory (see DiffFiles).
func Diff(a, b []*result.Packet, opts DiffOptions) *DiffReport {
	d := &differ{opts: opts, ignore: map[string]bool{}, m: newMapper(), used: map[string]bool{}}
	for _, f := range opts.Ignore {
		d.ignore[f] = true
	}
	rep := &DiffReport{Differ: map[int][]string{}}
	for pass := 1; pass <= 2; pass++ {
		d.startPass(pass)
		ia, ib := 0, 0
		next := func(ps []*result.Packet, i *int) (*result.Packet, error) {
			if *i >= len(ps) {
				return nil, io.EOF
			}
			*i++
			return ps[*i-1], nil
		}
		d.pairs(func() (*result.Packet, error) { return next(a, &ia) }, func() (*result.Packet, error) { return next(b, &ib) }, rep)
	}
	for k := range d.used {
		rep.Mappings = append(rep.Mappings, k)
	}
	sort.Strings(rep.Mappings)
	return rep
}

func (d *differ) walk(a, b string, rep *DiffReport) error {
	fa, err := os.Open(a)
	if err != nil {
		return err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return err
	}
	defer fb.Close()
	ra, rb := result.NewReader(fa, a), result.NewReader(fb, b)
	return d.pairs(ra.Next, rb.Next, rep)
}

// pairs walks two index-ordered streams in step.
func (d *differ) pairs(na, nb func() (*result.Packet, error), rep *DiffReport) error {
	pa, errA := na()
	pb, errB := nb()
	for {
		if errA != nil && errA != io.EOF {
			return errA
		}
		if errB != nil && errB != io.EOF {
			return errB
		}
		switch {
		case pa == nil && pb == nil:
			return nil
		case pb == nil || pa != nil && pa.Index < pb.Index:
			if d.pass == 2 {
				rep.OnlyA = append(rep.OnlyA, pa.Index)
			}
			pa, errA = next(na)
		case pa == nil || pb.Index < pa.Index:
			if d.pass == 2 {
				rep.OnlyB = append(rep.OnlyB, pb.Index)
			}
			pb, errB = next(nb)
		default:
			diffs := d.packet(pa, pb)
			if d.pass == 2 {
				rep.Compared++
				if len(diffs) > 0 {
					rep.Differ[pa.Index] = diffs
				}
			}
			pa, errA = next(na)
			pb, errB = next(nb)
		}
	}
}

func next(n func() (*result.Packet, error)) (*result.Packet, error) {
	p, err := n()
	if err != nil {
		return nil, err
	}
	return p, nil
}

// packet compares two results of the same input packet.
func (d *differ) packet(a, b *result.Packet) []string {
	var out []string
	d.now = a.TimeNS
	if a.In != b.In {
		out = append(out, fmt.Sprintf("in: %s vs %s", a.In, b.In))
	}
	out = append(out, d.frames("input", a.Frame, b.Frame)...)
	if a.Outcome != b.Outcome {
		out = append(out, fmt.Sprintf("outcome: %s vs %s", a.Outcome, b.Outcome))
	}
	oa, ob := d.outputs(a), d.outputs(b)
	ports := map[string]bool{}
	for k := range oa {
		ports[k] = true
	}
	for k := range ob {
		ports[k] = true
	}
	for _, port := range sortedKeys(ports) {
		fa, fb := oa[port], ob[port]
		if len(fa) != len(fb) {
			out = append(out, fmt.Sprintf("%s: %d frames vs %d", port, len(fa), len(fb)))
		}
		for i := 0; i < min(len(fa), len(fb)); i++ {
			out = append(out, d.frames(port, fa[i], fb[i])...)
		}
	}
	if ra, rb := dropReasons(a), dropReasons(b); ra != rb {
		out = append(out, fmt.Sprintf("drops: %s vs %s", ra, rb))
	}
	return out
}

// outputs groups a packet's outputs by port (and kind, for wire
// observations when compared).
func (d *differ) outputs(p *result.Packet) map[string][][]byte {
	m := map[string][][]byte{}
	for _, o := range p.Outputs {
		key := "delivered at " + o.Port
		if o.Kind != result.KindDelivered {
			if !d.opts.Wire {
				continue
			}
			key = o.Kind + " at " + o.Port
		}
		m[key] = append(m[key], o.Frame)
	}
	return m
}

func dropReasons(p *result.Packet) string {
	var rs []string
	for _, d := range p.Drops {
		s := d.Reason
		if d.Component != "" {
			s += " (" + d.Component + ")"
		}
		rs = append(rs, s)
	}
	sort.Strings(rs)
	if len(rs) == 0 {
		return "(none)"
	}
	return strings.Join(rs, ", ")
}

// frames compares two frames field by field (through spec.Decode and
// spec.Match), normalising mappable fields.
func (d *differ) frames(ctx string, a, b []byte) []string {
	sa, sb := spec.Decode(a, decodeOpts), spec.Decode(b, decodeOpts)
	if names(sa) != names(sb) {
		if d.pass == 1 {
			return nil
		}
		return []string{fmt.Sprintf("%s: %s\n    vs %s", ctx, sa, sb)}
	}
	va, vb := mappableValues(sa, a), mappableValues(sb, b)
	scopes := natScopes(sa, va)
	var out []string
	seen := map[string]bool{}
	report := func(key, x, y string) {
		if seen[key] || d.ignore[key[strings.IndexByte(key, ':')+1:]] {
			return
		}
		seen[key] = true
		out = append(out, fmt.Sprintf("%s: %s: %s vs %s", ctx, key[strings.IndexByte(key, ':')+1:], x, y))
	}
	for k, x := range va {
		y, ok := vb[k]
		if !ok {
			continue
		}
		seen[k.String()] = true
		if d.opts.Strict {
			if x != y {
				seen[k.String()] = false
				report(k.String(), x, y)
			}
			continue
		}
		class := k.class
		if sc, ok := scopes[k]; ok {
			class = d.scoped(k.class, sc)
		}
		if d.pass == 1 {
			d.m.add(class, x, y)
			continue
		}
		if x != y {
			if d.m.consistent(class, x, y) {
				d.used[fmt.Sprintf("%s %s <-> %s", k.class, x, y)] = true
			} else {
				seen[k.String()] = false
				report(k.String(), x+" (not one-to-one)", y)
			}
		}
	}
	if d.pass == 1 {
		return nil
	}
	for _, dir := range []struct {
		exp   *spec.Spec
		frame []byte
		swap  bool
	}{{sa, b, false}, {sb, a, true}} {
		_, diffs := spec.Match(dir.exp, dir.frame, nil, decodeOpts)
		for _, fd := range diffs {
			key := fmt.Sprintf("%d:%s.%s", fd.Index, fd.Layer, fd.Field)
			if fd.Field == "" {
				key = fmt.Sprintf("%d:%s", fd.Index, fd.Layer)
			}
			x, y := fd.Want, fd.Got
			if dir.swap {
				x, y = y, x
			}
			report(key, x, y)
		}
	}
	sort.Strings(out)
	return out
}

func names(s *spec.Spec) string {
	var n []string
	for _, l := range s.Layers {
		n = append(n, l.Name)
	}
	return strings.Join(n, "/")
}

type fieldKey struct {
	index int
	layer string
	field string
	class string
}

func (k fieldKey) String() string { return fmt.Sprintf("%d:%s.%s", k.index, k.layer, k.field) }

// mappableValues returns the values of the mappable fields of a frame
// whose layers are those of s, including fields Decode leaves out because
// they have their default value: each is read back with a one-field
// probe spec that binds it.
func mappableValues(s *spec.Spec, frame []byte) map[fieldKey]string {
	out := map[fieldKey]string{}
	for i, l := range s.Layers {
		for field, class := range mappable[l.Name] {
			probe := &spec.Spec{}
			for _, pl := range s.Layers[:i] {
				probe.Layers = append(probe.Layers, spec.Layer{Name: pl.Name})
			}
			probe.Layers = append(probe.Layers, spec.Layer{Name: l.Name, Fields: []spec.Field{{Name: field, Value: spec.Value{Kind: spec.KindBinding, Name: "v"}}}})
			var b spec.Bindings
			if ok, _ := spec.Match(probe, frame, &b, decodeOpts); !ok {
				continue
			}
			v, ok := b.Lookup("v")
			if !ok {
				continue
			}
			out[fieldKey{i, l.Name, field, class}] = valueString(v)
		}
	}
	return out
}

// natScopes returns, for each NAT-chosen field of a frame (TCP/UDP ports,
// ICMP query ids) among vals, the ends of its flow as A shows them,
// "local>remote": for a source port the source address and the destination
// address and port, for a destination port the other way round, for an
// ICMP id the two addresses (a request's source is local, a reply's
// destination). The local address keeps a NAT's outside (translated) ports
// apart from the inside ones.
func natScopes(s *spec.Spec, vals map[fieldKey]string) map[fieldKey]string {
	out := map[fieldKey]string{}
	var src, dst string
	get := func(i int, layer, field string) string {
		for k, v := range vals {
			if k.index == i && k.layer == layer && k.field == field {
				return v
			}
		}
		return ""
	}
	for i, l := range s.Layers {
		switch l.Name {
		case "ipv4", "ipv6":
			src, dst = "", ""
			if v, ok := l.Get("src"); ok {
				src = valueString(v)
			}
			if v, ok := l.Get("dst"); ok {
				dst = valueString(v)
			}
		case "tcp", "udp":
			sp, dp := get(i, l.Name, "sport"), get(i, l.Name, "dport")
			out[fieldKey{i, l.Name, "sport", "port"}] = src + ">" + dst + "|" + dp
			out[fieldKey{i, l.Name, "dport", "port"}] = dst + ">" + src + "|" + sp
		case "icmp":
			local, remote := src, dst
			if v, ok := l.Get("type"); ok && (v.Num == 0 || v.Num == 14) {
				local, remote = dst, src
			}
			out[fieldKey{i, l.Name, "id", "icmp-id"}] = local + ">" + remote
		}
	}
	return out
}

func valueString(v spec.Value) string {
	switch v.Kind {
	case spec.KindMAC:
		return v.MAC.String()
	case spec.KindAddr:
		return v.Addr.String()
	case spec.KindNum:
		return strconv.FormatUint(v.Num, 10)
	}
	return fmt.Sprint(v)
}
