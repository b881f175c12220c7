package reports

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/result"
	"github.com/hnspath/hnspath/spec"
)

// ProbeSummary is the summary.json `hnspath probe --out DIR` writes: per
// scenario, whether the backend agreed with the emulator and how many packets
// differ in ways no documented Windows/Linux difference explains
// (hostprobe.Differences labels them; reports only reads the verdicts).
type ProbeSummary struct {
	File    string `json:"file"`
	Backend string `json:"backend"`
	// Interrupted names the signal that stopped the probe run; Load refuses such a
	// summary (ErrPartial).
	Interrupted string          `json:"interrupted,omitempty"`
	Scenarios   []ProbeScenario `json:"scenarios"`
}

// ProbeScenario is one scenario of a ProbeSummary.
type ProbeScenario struct {
	Name string `json:"name"`
	// Result is agrees, "differs (documented)", differs, error or
	// skipped.
	Result       string   `json:"result"`
	Packets      int      `json:"packets"`
	Differing    int      `json:"differing"`
	Undocumented int      `json:"undocumented"`
	Documented   []string `json:"documented,omitempty"`
	Error        string   `json:"error,omitempty"`
	Skipped      string   `json:"skipped,omitempty"`
	NotBuilt     []string `json:"not_built,omitempty"`
}

// Probe compares the results of one scenario from two backends (the
// emulator and the Linux kernel, or Windows), packet by packet.
type Probe struct {
	Scenario string `json:"scenario"`
	// A and B are the backends, FileA and FileB their results files.
	A     string `json:"a"`
	B     string `json:"b"`
	FileA string `json:"file_a"`
	FileB string `json:"file_b"`
	// Compared counts the packet numbers present in both, Agree those
	// without a difference.
	Compared int `json:"compared"`
	Agree    int `json:"agree"`
	// OnlyA and OnlyB are packet numbers present in one file only.
	OnlyA []int `json:"only_a,omitempty"`
	OnlyB []int `json:"only_b,omitempty"`
	// Packets are the packets that differ.
	Packets []ProbePacket `json:"packets,omitempty"`
	// Mappings are values the backends chose differently but
	// consistently (NAT ports, ICMP ids), as "tcp port 49152 <-> 1024":
	// not differences.
	Mappings []string `json:"mappings,omitempty"`
}

// ProbePacket is one packet whose results differ.
type ProbePacket struct {
	Index int    `json:"packet"`
	In    string `json:"in"`
	// A and B summarise what happened in each backend.
	A string `json:"a"`
	B string `json:"b"`
	// Differences are "port: layer.field: A value, B value" lines.
	Differences []string `json:"differences"`
}

// probes pairs results of one scenario from several backends: the emulator
// with each other backend (or, without the emulator, the first with the
// rest, in name order).
func (l *loader) probes() {
	for _, name := range sortedStrings(l.results) {
		m := l.results[name]
		if len(m) < 2 {
			continue
		}
		backends := sortedStrings(m)
		base := backends[0]
		if m[result.BackendEmulator] != nil {
			base = result.BackendEmulator
		}
		for _, b := range backends {
			if b == base {
				continue
			}
			l.rep.Probes = append(l.rep.Probes, compareResults(name, base, b, m[base], m[b]))
		}
	}
}

// compareResults compares two backends' results of a scenario. Frames
// delivered at the same port are compared field by field as spec.Decode
// shows them, in both directions (Match checks only the fields the expected
// side names, and Decode leaves out fields at their default). Fields with no
// meaning are not compared: the IPv4 identification, the outer UDP source
// port of VXLAN (an entropy hash, RFC 7348 section 5) and Ethernet padding.
// TCP/UDP ports and ICMP echo ids bind: the first sighting of A's value binds
// it to B's, later packets must agree (NAT port choices differ between
// implementations).
func compareResults(scenario, a, b string, fa, fb *resultsFile) *Probe {
	pr := &Probe{Scenario: scenario, A: a, B: b, FileA: fa.file, FileB: fb.file}
	ia, ib := index(fa.packets), index(fb.packets)
	var nums []int
	for n := range ia {
		if _, ok := ib[n]; ok {
			nums = append(nums, n)
		} else {
			pr.OnlyA = append(pr.OnlyA, n)
		}
	}
	for n := range ib {
		if _, ok := ia[n]; !ok {
			pr.OnlyB = append(pr.OnlyB, n)
		}
	}
	sort.Ints(nums)
	sort.Ints(pr.OnlyA)
	sort.Ints(pr.OnlyB)
	bind := &binder{ab: &spec.Bindings{}}
	for _, n := range nums {
		pa, pb := ia[n], ib[n]
		pr.Compared++
		diffs := comparePacket(pa, pb, a, b, bind)
		if len(diffs) == 0 {
			pr.Agree++
			continue
		}
		pr.Packets = append(pr.Packets, ProbePacket{Index: n, In: pa.In, A: outcomeLine(pa), B: outcomeLine(pb), Differences: diffs})
	}
	pr.Mappings = bind.mappings()
	return pr
}

func index(ps []*result.Packet) map[int]*result.Packet {
	m := map[int]*result.Packet{}
	for _, p := range ps {
		m[p.Index] = p
	}
	return m
}

// outcomeLine summarises a packet's outcome: "delivered at host1/web",
// "dropped: winnat-no-mapping (no mapping) at ...".
func outcomeLine(p *result.Packet) string {
	switch {
	case len(p.Delivered()) > 0:
		var ports []string
		seen := map[string]bool{}
		for _, o := range p.Delivered() {
			if !seen[o.Port] {
				seen[o.Port] = true
				ports = append(ports, o.Port)
			}
		}
		return "delivered at " + strings.Join(ports, ", ")
	case len(p.Drops) > 0:
		return "dropped: " + dropLine(&p.Drops[0])
	}
	return p.Outcome
}

func comparePacket(pa, pb *result.Packet, a, b string, bind *binder) []string {
	var out []string
	if pa.Outcome != pb.Outcome {
		out = append(out, fmt.Sprintf("outcome: %s %s, %s %s", a, outcomeLine(pa), b, outcomeLine(pb)))
	}
	byPort := func(p *result.Packet) (map[string][][]byte, []string) {
		m := map[string][][]byte{}
		var order []string
		for _, o := range p.Delivered() {
			if _, ok := m[o.Port]; !ok {
				order = append(order, o.Port)
			}
			m[o.Port] = append(m[o.Port], o.Frame)
		}
		return m, order
	}
	ma, oa := byPort(pa)
	mb, ob := byPort(pb)
	for _, port := range oa {
		fb, ok := mb[port]
		if !ok {
			out = append(out, fmt.Sprintf("%s: delivered by %s only", port, a))
			continue
		}
		fa := ma[port]
		if len(fa) != len(fb) {
			out = append(out, fmt.Sprintf("%s: %d frames from %s, %d from %s", port, len(fa), a, len(fb), b))
		}
		for i := 0; i < len(fa) && i < len(fb); i++ {
			for _, d := range bind.frames(fa[i], fb[i], a, b) {
				out = append(out, port+": "+d)
			}
		}
	}
	for _, port := range ob {
		if _, ok := ma[port]; !ok {
			out = append(out, fmt.Sprintf("%s: delivered by %s only", port, b))
		}
	}
	// Drop reasons are not compared: each datapath names them in its own
	// vocabulary (winnat-no-mapping, linux-no-listener).
	return out
}

// binder holds the port and id bindings of one comparison: A's values to
// B's. (Not both ways: a datapath that keeps ports, as Linux masquerade
// does, uses one value for the inside and the outside port, so B's values
// do not map back one to one.)
type binder struct {
	ab *spec.Bindings
}

// frames compares two frames both ways and returns the differences as
// "layer.field: A value, B value", each field once.
func (bd *binder) frames(fa, fb []byte, a, b string) []string {
	sa, sb := spec.Decode(fa, spec.DecodeOptions{}), spec.Decode(fb, spec.DecodeOptions{})
	ea, eb := normalise(sa, true), normalise(sb, false)
	// Learn the bindings first from the ports alone, so that a
	// difference elsewhere does not keep a mapping from being learnt.
	spec.Match(portsOnly(ea), fb, bd.ab, spec.DecodeOptions{})
	seen := map[string]bool{}
	key := func(d spec.FieldDiff) string {
		if d.Field == "" {
			return fmt.Sprintf("layer %d", d.Index) // the same missing layer seen from both sides
		}
		return d.Layer + "." + d.Field
	}
	var out []string
	if ok, diffs := spec.Match(ea, fb, bd.ab, spec.DecodeOptions{}); !ok {
		for _, d := range diffs {
			k := key(d)
			if !seen[k] {
				seen[k] = true
				out = append(out, fmt.Sprintf("%s: %s %s, %s %s", fieldName(d), a, stripBinding(d.Want), b, d.Got))
			}
		}
	}
	if ok, diffs := spec.Match(eb, fa, nil, spec.DecodeOptions{}); !ok {
		for _, d := range diffs {
			k := key(d)
			if !seen[k] {
				seen[k] = true
				out = append(out, fmt.Sprintf("%s: %s %s, %s %s", fieldName(d), a, d.Got, b, stripBinding(d.Want)))
			}
		}
	}
	return out
}

func fieldName(d spec.FieldDiff) string {
	if d.Field == "" {
		return d.Layer
	}
	return d.Layer + "." + d.Field
}

// stripBinding turns a bound expectation ("$tcpport49152=1024") into the
// value it stands for, with what it was mapped to ("49152 (mapped to 1024
// before)").
func stripBinding(s string) string {
	if !strings.HasPrefix(s, "$") {
		return s
	}
	name, v, ok := strings.Cut(s[1:], "=")
	_, val := splitBinding(name)
	if !ok {
		return val
	}
	return fmt.Sprintf("%s (mapped to %s before)", val, v)
}

// normalise makes a decoded frame an expectation for the other backend's
// frame: no padding, any IPv4 identification, any VXLAN outer source port,
// and TCP/UDP ports and ICMP echo ids bound (bind) or any (the reverse
// check: the forward one checked them through the bindings).
func normalise(s *spec.Spec, bind bool) *spec.Spec {
	s = s.Clone()
	var layers []spec.Layer
	for i, l := range s.Layers {
		if l.Name == "padding" {
			continue
		}
		vxlanNext := i+1 < len(s.Layers) && s.Layers[i+1].Name == "vxlan"
		switch l.Name {
		case "ipv4":
			l.Fields = setField(l.Fields, "id", spec.Value{Kind: spec.KindAny})
		case "tcp", "udp":
			for _, f := range []string{"sport", "dport"} {
				if vxlanNext && f == "sport" {
					l.Fields = setField(l.Fields, f, spec.Value{Kind: spec.KindAny})
					continue
				}
				if v, ok := l.Get(f); ok && v.Kind == spec.KindNum {
					l.Fields = setField(l.Fields, f, bound(bind, l.Name+"port", v.Num))
				}
			}
		case "icmp", "icmpv6":
			if v, ok := l.Get("id"); ok && v.Kind == spec.KindNum {
				l.Fields = setField(l.Fields, "id", bound(bind, l.Name+"id", v.Num))
			}
		}
		layers = append(layers, l)
	}
	s.Layers = layers
	return s
}

// bound is a binding named after the value (kind and number), or any.
func bound(bind bool, kind string, n uint64) spec.Value {
	if !bind {
		return spec.Value{Kind: spec.KindAny}
	}
	return spec.Value{Kind: spec.KindBinding, Name: kind + strconv.FormatUint(n, 10)}
}

// portsOnly keeps only the bound fields of a normalised spec.
func portsOnly(s *spec.Spec) *spec.Spec {
	s = s.Clone()
	for i := range s.Layers {
		var keep []spec.Field
		for _, f := range s.Layers[i].Fields {
			if f.Value.Kind == spec.KindBinding {
				keep = append(keep, f)
			}
		}
		s.Layers[i].Fields = keep
	}
	return s
}

func setField(fs []spec.Field, name string, v spec.Value) []spec.Field {
	out := append([]spec.Field(nil), fs...)
	for i := range out {
		if out[i].Name == name {
			out[i].Value = v
			return out
		}
	}
	return append(out, spec.Field{Name: name, Value: v})
}

// mappings lists the bindings whose two values differ.
func (bd *binder) mappings() []string {
	var out []string
	for _, name := range bd.ab.Names() {
		v, _ := bd.ab.Lookup(name)
		kind, aval := splitBinding(name)
		bval := strconv.FormatUint(v.Num, 10)
		if aval != bval {
			out = append(out, fmt.Sprintf("%s %s <-> %s", kind, aval, bval))
		}
	}
	return out
}

// splitBinding splits "tcpport49152" into "tcp port" and "49152".
func splitBinding(name string) (kind, val string) {
	i := strings.IndexFunc(name, func(r rune) bool { return r >= '0' && r <= '9' })
	if i < 0 {
		return name, ""
	}
	k := name[:i]
	for _, suf := range []string{"port", "id"} {
		if strings.HasSuffix(k, suf) {
			k = strings.TrimSuffix(k, suf) + " " + suf
		}
	}
	return k, name[i:]
}

// frameLine prints a frame's layers as a spec with payloads shortened to
// their length.
func frameLine(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	s := spec.Decode(b, spec.DecodeOptions{})
	for i := range s.Layers {
		l := &s.Layers[i]
		if l.Name != "raw" && l.Name != "padding" {
			continue
		}
		if v, ok := l.Get("load"); ok && v.Kind == spec.KindBytes && len(v.Bytes) > 16 {
			l.Fields = []spec.Field{{Name: "len", Value: spec.Num(uint64(len(v.Bytes)))}}
		}
	}
	return s.String()
}
