package scenarios

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/result"
	"github.com/hnspath/hnspath/spec"
)

// evaluator checks a scenario's expectations against results as they are
// produced. It keeps only what some expectation can still use: outputs at
// ports that frame expectations look at, drops that drop expectations can
// match, and the results of those packets (for their traces); everything
// else is counted, so that long captures run in flat memory.
//
// Semantics (see the package documentation):
//   - a frame expectation matches the first unconsumed output of its kind
//     at its port (of its packet, with packet: N) that spec.Match accepts;
//     expectations at one port match outputs in their order, so a later
//     one only looks after the output an earlier one matched;
//   - a drop expectation matches the first unconsumed drop with its reason
//     (of its packet, at its port, host, component, ... when given);
//   - nothing_else fails for every delivered output and drop (at its port
//     when given) that no other expectation consumed; with kind wire-tx or
//     wire-rx, for every such wire observation at its NIC port;
//   - bindings ($p) are shared by all expectations and packets.
type evaluator struct {
	sc       *Scenario
	res      *resolver
	dec      spec.DecodeOptions // VXLAN on 4789 and the topology's VxlanPort ports
	steps    []StepRecord       // the steps run so far (failures show them with traces)
	bindings *spec.Bindings
	exps     []*expState
	streams  map[streamKey]*stream
	drops    []*dropObs
	keep     map[int]*result.Packet // results of packets whose outputs or drops are kept, or that expectations name
	wantPkt  map[int]bool           // packets named by packet: N
	dropAny  bool                   // a drop expectation without packet: N
	dropPkt  map[int]bool
	global   bool            // a nothing_else without at
	nothing  map[string]bool // ports with a nothing_else
	extra    []string        // unexpected outputs and drops that were not kept
	extraN   int
	extraAt  map[string][]string
	extraAtN map[string]int
	// nothingPkt lists the packets a nothing_else is scoped to (packet: N);
	// extraPkt holds their unexpected outputs and drops.
	nothingPkt map[int]bool
	extraPkt   map[int][]portItem
	seen       map[string]int // delivered outputs per port
	dropSeen   map[string]int // drops per reason
	packets    int
}

// portItem is an unexpected output or drop and the port it was at.
type portItem struct{ port, text string }

type streamKey struct {
	port string
	kind string
}

// stream is the kept outputs of one kind at one port.
type stream struct {
	all    bool         // keep every output (an expectation without packet: N)
	pkts   map[int]bool // else keep these packets' outputs
	obs    []*obs
	cursor int // index after the last matched output
}

type obs struct {
	pkt      int
	port     string
	frame    []byte
	consumed bool
}

type dropObs struct {
	pkt      int
	d        *result.Drop
	consumed bool
}

type expState struct {
	e       *Expectation
	spec    *spec.Spec // resolved
	key     streamKey
	done    bool
	scanned int // outputs of the stream already tried and failed
	err     error
}

var decodeOpts = spec.DecodeOptions{}

// topologyDecodeOptions decodes VXLAN on the UDP ports the topology's
// overlay networks use (VxlanPort policies) besides 4789.
func topologyDecodeOptions(t *Topology) spec.DecodeOptions {
	var o spec.DecodeOptions
	if t == nil {
		return o
	}
	for _, h := range t.Hosts {
		for _, n := range h.HNS.Networks {
			for _, p := range n.Policies {
				if p.Type != hns.VxlanPort {
					continue
				}
				if v, err := p.VxlanPort(); err == nil && v.Port != 0 && !slices.Contains(o.VXLANPorts, v.Port) {
					o.VXLANPorts = append(o.VXLANPorts, v.Port)
				}
			}
		}
	}
	return o
}

func newEvaluator(sc *Scenario, res *resolver) *evaluator {
	ev := &evaluator{sc: sc, res: res, dec: topologyDecodeOptions(sc.Topology), bindings: &spec.Bindings{}, streams: map[streamKey]*stream{},
		keep: map[int]*result.Packet{}, wantPkt: map[int]bool{}, dropPkt: map[int]bool{}, nothing: map[string]bool{},
		extraAt: map[string][]string{}, extraAtN: map[string]int{}, nothingPkt: map[int]bool{}, extraPkt: map[int][]portItem{}, seen: map[string]int{}, dropSeen: map[string]int{}}
	for _, e := range sc.Expect {
		es := &expState{e: e}
		ev.exps = append(ev.exps, es)
		if e.Packet != 0 {
			ev.wantPkt[e.Packet] = true
		}
		switch e.Kind {
		case ExpectFrame:
			id, ok := res.f.PortByName(e.At)
			kind := e.Output
			if kind == "" {
				kind = result.KindDelivered
				if ok && res.f.Port(id).Kind == fabric.PortNIC {
					kind = result.KindWireTx
				}
			}
			es.key = streamKey{e.At, kind}
			st := ev.stream(es.key)
			if e.Packet == 0 {
				st.all = true
			} else {
				st.pkts[e.Packet] = true
			}
			s, err := e.Frame.Resolve(res.from(id))
			if err != nil {
				es.err = err
			}
			es.spec = s
		case ExpectDrop:
			if e.Packet == 0 {
				ev.dropAny = true
			} else {
				ev.dropPkt[e.Packet] = true
			}
		case ExpectNothingElse:
			switch {
			case e.Output == result.KindWireTx || e.Output == result.KindWireRx:
				ev.stream(streamKey{e.At, e.Output}).all = true
			case e.Packet != 0:
				ev.nothingPkt[e.Packet] = true
			case e.At == "":
				ev.global = true
			default:
				ev.nothing[e.At] = true
				ev.stream(streamKey{e.At, result.KindDelivered}).all = true
			}
		}
	}
	return ev
}

func (ev *evaluator) stream(k streamKey) *stream {
	st, ok := ev.streams[k]
	if !ok {
		st = &stream{pkts: map[int]bool{}}
		ev.streams[k] = st
	}
	return st
}

// trace prints a packet's trace, after the steps (HNS changes) that ran
// before it, if any.
func (ev *evaluator) trace(p *result.Packet) string {
	var b strings.Builder
	for _, st := range ev.steps {
		if st.After < p.Index {
			fmt.Fprintf(&b, "step %s\n", st)
		}
	}
	b.WriteString(FormatTrace(p, ""))
	return b.String()
}

// oneLine prints a frame as a spec.
func (ev *evaluator) oneLine(frame []byte) string { return spec.Decode(frame, ev.dec).String() }

// unexpected records an output or drop that no expectation can consume.
func (ev *evaluator) unexpected(pkt int, port, what string) {
	const show = 10
	if ev.nothingPkt[pkt] {
		ev.extraPkt[pkt] = append(ev.extraPkt[pkt], portItem{port, what})
	}
	if ev.global {
		ev.extraN++
		if len(ev.extra) < show {
			ev.extra = append(ev.extra, what)
		}
	}
	if ev.nothing[port] {
		ev.extraAtN[port]++
		if len(ev.extraAt[port]) < show {
			ev.extraAt[port] = append(ev.extraAt[port], what)
		}
	}
}

// observe takes the result of one input packet and tries the pending
// expectations.
func (ev *evaluator) observe(p *result.Packet) {
	ev.packets = p.Index
	kept := ev.wantPkt[p.Index]
	for _, o := range p.Outputs {
		if o.Kind == result.KindDelivered {
			ev.seen[o.Port]++
		}
		st := ev.streams[streamKey{o.Port, o.Kind}]
		if st != nil && (st.all || st.pkts[p.Index]) {
			st.obs = append(st.obs, &obs{pkt: p.Index, port: o.Port, frame: o.Frame})
			kept = true
			continue
		}
		if o.Kind == result.KindDelivered {
			ev.unexpected(p.Index, o.Port, fmt.Sprintf("packet %d: delivered at %s: %s", p.Index, o.Port, ev.oneLine(o.Frame)))
		}
	}
	for i := range p.Drops {
		d := &p.Drops[i]
		ev.dropSeen[d.Reason]++
		if ev.dropAny || ev.dropPkt[p.Index] {
			ev.drops = append(ev.drops, &dropObs{pkt: p.Index, d: d})
			kept = true
			continue
		}
		ev.unexpected(p.Index, d.Port, fmt.Sprintf("packet %d: %s", p.Index, DropComment(d)))
	}
	if kept {
		ev.keep[p.Index] = p
	}
	ev.try(false)
}

// try attempts every pending expectation once, in order. Unless final, an
// expectation waits while an earlier one at the same port is pending.
func (ev *evaluator) try(final bool) {
	blocked := map[streamKey]bool{}
	for _, es := range ev.exps {
		if es.done || es.err != nil {
			continue
		}
		switch es.e.Kind {
		case ExpectFrame:
			if blocked[es.key] && !final {
				continue
			}
			if !ev.tryFrame(es) {
				blocked[es.key] = true
			}
		case ExpectDrop:
			ev.tryDrop(es)
		}
	}
}

func (ev *evaluator) tryFrame(es *expState) bool {
	st := ev.streams[es.key]
	for i := max(st.cursor, es.scanned); i < len(st.obs); i++ {
		o := st.obs[i]
		if o.consumed || es.e.Packet != 0 && o.pkt != es.e.Packet {
			continue
		}
		if ok, _ := spec.Match(es.spec, o.frame, ev.bindings, ev.dec); ok {
			o.consumed = true
			st.cursor = i + 1
			es.done = true
			return true
		}
	}
	es.scanned = len(st.obs)
	return false
}

func (es *expState) dropMatches(d *dropObs) bool {
	e := es.e
	if d.consumed || e.Packet != 0 && d.pkt != e.Packet || !e.AnyReason && d.d.Reason != e.Reason.Slug() {
		return false
	}
	for _, c := range [][2]string{{e.At, d.d.Port}, {e.Host, d.d.Host}, {e.Component, d.d.Component}, {e.Where, d.d.Where},
		{e.Layer, d.d.VFPLayer}, {e.Group, d.d.VFPGroup}, {e.Rule, d.d.VFPRule}} {
		if c[0] != "" && c[0] != c[1] {
			return false
		}
	}
	return true
}

func (ev *evaluator) tryDrop(es *expState) {
	for _, d := range ev.drops {
		if es.dropMatches(d) {
			d.consumed = true
			es.done = true
			return
		}
	}
}

// finish makes a last attempt at every pending expectation and returns a
// message for each one that is not met.
func (ev *evaluator) finish() []string {
	ev.try(true)
	var out []string
	for i, es := range ev.exps {
		where := fmt.Sprintf("%s:%d: expect[%d]", ev.sc.File, es.e.Line, i)
		if es.e.Note != "" {
			where += " (" + es.e.Note + ")"
		}
		if es.err != nil {
			out = append(out, fmt.Sprintf("%s: frame: %v", where, es.err))
			continue
		}
		switch es.e.Kind {
		case ExpectFrame:
			if !es.done {
				out = append(out, ev.frameFailure(where, es))
			}
		case ExpectDrop:
			if !es.done {
				out = append(out, ev.dropFailure(where, es))
			}
		case ExpectNothingElse:
			if es.e.Output == result.KindWireTx || es.e.Output == result.KindWireRx {
				if msg := ev.nothingOnWire(where, streamKey{es.e.At, es.e.Output}, es.e.Packet); msg != "" {
					out = append(out, msg)
				}
			} else if msg := ev.nothingElse(where, es.e.At, es.e.Packet); msg != "" {
				out = append(out, msg)
			}
		}
	}
	return out
}

func pktSuffix(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" from packet %d", n)
}

func (ev *evaluator) frameFailure(where string, es *expState) string {
	var b strings.Builder
	kind := ""
	if es.key.kind != result.KindDelivered {
		kind = " (" + es.key.kind + ")"
	}
	fmt.Fprintf(&b, "%s: no frame%s at %s%s matched\n    want: %s\n", where, pktSuffix(es.e.Packet), es.e.At, kind, es.e.FrameText)
	if names := ev.bindings.String(); names != "" {
		fmt.Fprintf(&b, "    bindings: %s\n", names)
	}
	// The closest candidate: the one with the fewest differences, preferring
	// unconsumed outputs after the stream's cursor.
	st := ev.streams[es.key]
	var best *obs
	var bestDiffs []spec.FieldDiff
	bestIdx := 0
	for pass := 0; pass < 2 && best == nil; pass++ {
		for i, o := range st.obs {
			if es.e.Packet != 0 && o.pkt != es.e.Packet {
				continue
			}
			if pass == 0 && (o.consumed || i < st.cursor) {
				continue
			}
			_, diffs := spec.Match(es.spec, o.frame, ev.bindings, ev.dec)
			if best == nil || len(diffs) < len(bestDiffs) {
				best, bestDiffs, bestIdx = o, diffs, i
			}
		}
	}
	if best == nil {
		fmt.Fprintf(&b, "    nothing%s came out at %s%s\n", pktSuffix(es.e.Packet), es.e.At, kind)
		if es.e.Packet != 0 {
			if p := ev.keep[es.e.Packet]; p != nil {
				b.WriteString(indent(ev.trace(p), "    "))
			} else if es.e.Packet > ev.packets {
				fmt.Fprintf(&b, "    (the scenario has only %d packets)\n", ev.packets)
			}
		} else {
			b.WriteString(ev.where())
		}
		return b.String()
	}
	used := ""
	switch {
	case best.consumed:
		used = ", already matched by another expectation"
	case bestIdx < st.cursor:
		used = ", but before the frame an earlier expectation at this port matched (expectations at one port match in order)"
	}
	fmt.Fprintf(&b, "    closest: packet %d at %s%s\n", best.pkt, best.port, used)
	for _, d := range bestDiffs {
		fmt.Fprintf(&b, "    differs: %s\n", d)
	}
	b.WriteString(indent(spec.SideBySide(es.spec, best.frame, bestDiffs, ev.dec), "    "))
	if p := ev.keep[best.pkt]; p != nil && len(p.Trace) > 0 {
		fmt.Fprintf(&b, "    trace of packet %d:\n", best.pkt)
		b.WriteString(indent(ev.trace(p), "    "))
	}
	return b.String()
}

// where summarises where frames were delivered and why packets were
// dropped.
func (ev *evaluator) where() string {
	var b strings.Builder
	if len(ev.seen) == 0 && len(ev.dropSeen) == 0 {
		b.WriteString("    nothing was delivered or dropped anywhere\n")
		return b.String()
	}
	var parts []string
	for port, n := range ev.seen {
		parts = append(parts, fmt.Sprintf("%s: %d", port, n))
	}
	sort.Strings(parts)
	if len(parts) > 0 {
		fmt.Fprintf(&b, "    delivered: %s\n", strings.Join(parts, ", "))
	}
	parts = parts[:0]
	for r, n := range ev.dropSeen {
		parts = append(parts, fmt.Sprintf("%s: %d", r, n))
	}
	sort.Strings(parts)
	if len(parts) > 0 {
		fmt.Fprintf(&b, "    dropped: %s\n", strings.Join(parts, ", "))
	}
	return b.String()
}

func (ev *evaluator) dropFailure(where string, es *expState) string {
	var b strings.Builder
	reason := es.e.Reason.Slug()
	if es.e.AnyReason {
		reason = "* (any)"
	}
	fmt.Fprintf(&b, "%s: no drop%s for reason %s", where, pktSuffix(es.e.Packet), reason)
	for _, c := range [][2]string{{"at", es.e.At}, {"host", es.e.Host}, {"component", es.e.Component}, {"where", es.e.Where},
		{"layer", es.e.Layer}, {"group", es.e.Group}, {"rule", es.e.Rule}} {
		if c[1] != "" {
			fmt.Fprintf(&b, " %s=%s", c[0], c[1])
		}
	}
	b.WriteString("\n")
	n := 0
	for _, d := range ev.drops {
		if es.e.Packet != 0 && d.pkt != es.e.Packet {
			continue
		}
		if n++; n <= 10 {
			used := ""
			if d.consumed {
				used = " (matched by another expectation)"
			}
			fmt.Fprintf(&b, "    packet %d: %s%s\n", d.pkt, DropComment(d.d), used)
		}
	}
	if es.e.Packet != 0 {
		if p := ev.keep[es.e.Packet]; p != nil {
			if n == 0 {
				fmt.Fprintf(&b, "    packet %d was not dropped\n", es.e.Packet)
			}
			b.WriteString(indent(ev.trace(p), "    "))
		} else if es.e.Packet > ev.packets {
			fmt.Fprintf(&b, "    (the scenario has only %d packets)\n", ev.packets)
		}
	} else if n == 0 {
		b.WriteString(ev.where())
	}
	return b.String()
}

// nothingElse lists delivered outputs and drops (at port, or anywhere
// when port is "") that no expectation consumed.
func (ev *evaluator) nothingElse(where, port string, pkt int) string {
	var items []string
	count := 0
	if pkt != 0 {
		for _, it := range ev.extraPkt[pkt] {
			if port == "" || it.port == port {
				items = append(items, it.text)
			}
		}
		count = len(items)
	} else if port == "" {
		items = append(items, ev.extra...)
		count = ev.extraN
	} else {
		items = append(items, ev.extraAt[port]...)
		count = ev.extraAtN[port]
	}
	firstPkt := 0
	for k, st := range ev.streams {
		if k.kind != result.KindDelivered || port != "" && k.port != port {
			continue
		}
		for _, o := range st.obs {
			if !o.consumed && (pkt == 0 || o.pkt == pkt) {
				count++
				items = append(items, fmt.Sprintf("packet %d: delivered at %s: %s", o.pkt, o.port, ev.oneLine(o.frame)))
				if firstPkt == 0 || o.pkt < firstPkt {
					firstPkt = o.pkt
				}
			}
		}
	}
	for _, d := range ev.drops {
		if !d.consumed && (port == "" || d.d.Port == port) && (pkt == 0 || d.pkt == pkt) {
			count++
			items = append(items, fmt.Sprintf("packet %d: %s", d.pkt, DropComment(d.d)))
			if firstPkt == 0 || d.pkt < firstPkt {
				firstPkt = d.pkt
			}
		}
	}
	if count == 0 {
		return ""
	}
	var b strings.Builder
	scope := ""
	if pkt != 0 {
		scope = " from packet " + strconv.Itoa(pkt)
	}
	if port != "" {
		scope += " at " + port
	}
	fmt.Fprintf(&b, "%s: nothing else%s was expected, but %d more came out or were dropped:\n", where, scope, count)
	sort.SliceStable(items, func(i, j int) bool { return pktNum(items[i]) < pktNum(items[j]) })
	for i, it := range items {
		if i == 10 {
			break
		}
		fmt.Fprintf(&b, "    %s\n", it)
	}
	if count > 10 {
		fmt.Fprintf(&b, "    ... and %d more\n", count-10)
	}
	if p := ev.keep[firstPkt]; p != nil && len(p.Trace) > 0 {
		fmt.Fprintf(&b, "    trace of packet %d:\n", firstPkt)
		b.WriteString(indent(ev.trace(p), "    "))
	}
	return b.String()
}

// nothingOnWire lists the wire observations of one kind at a NIC port
// that no expectation consumed.
func (ev *evaluator) nothingOnWire(where string, k streamKey, pkt int) string {
	var items []string
	first := 0
	for _, o := range ev.streams[k].obs {
		if !o.consumed && (pkt == 0 || o.pkt == pkt) {
			items = append(items, fmt.Sprintf("packet %d: %s at %s: %s", o.pkt, k.kind, o.port, ev.oneLine(o.frame)))
			if first == 0 {
				first = o.pkt
			}
		}
	}
	if len(items) == 0 {
		return ""
	}
	var b strings.Builder
	scope := ""
	if pkt != 0 {
		scope = " from packet " + strconv.Itoa(pkt)
	}
	fmt.Fprintf(&b, "%s: nothing else%s was expected on the wire at %s (%s), but %d frames were seen:\n", where, scope, k.port, k.kind, len(items))
	for i, it := range items {
		if i == 10 {
			fmt.Fprintf(&b, "    ... and %d more\n", len(items)-10)
			break
		}
		fmt.Fprintf(&b, "    %s\n", it)
	}
	if p := ev.keep[first]; p != nil && len(p.Trace) > 0 {
		fmt.Fprintf(&b, "    trace of packet %d:\n", first)
		b.WriteString(indent(ev.trace(p), "    "))
	}
	return b.String()
}

func pktNum(s string) int {
	var n int
	fmt.Sscanf(s, "packet %d", &n)
	return n
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	if s == "" {
		return ""
	}
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l == "" {
			continue
		}
		b.WriteString(prefix)
		b.WriteString(l)
	}
	if !strings.HasSuffix(s, "\n") {
		b.WriteByte('\n')
	}
	return b.String()
}
