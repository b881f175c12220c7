package scenarios

import (
	"errors"
	"fmt"
	"github.com/hnspath/hnspath/internal/suggest"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/spec"
)

// Scenario is a loaded scenario file (see the package documentation for
// the format).
type Scenario struct {
	// Name identifies the scenario; output files are named after it.
	Name string
	// Summary says in one line what the scenario shows.
	Summary string
	// Description is optional longer text.
	Description string
	// Sources cite where the expected behaviour is documented.
	Sources []string
	// File is the scenario file as given.
	File string
	// Topology is the scenario's world.
	Topology *Topology
	// Packets are the inputs, in order.
	Packets []*PacketInput
	// Expect are the expectations, in order.
	Expect []*Expectation
	// ExpectError, when set, says that HNS must reject the topology.
	ExpectError *ExpectError

	files files
}

// PacketInput is one entry of `packets:`: an inline spec, a capture, or
// a step (Do: an HNS change between packets, which injects nothing).
type PacketInput struct {
	// Line is the entry's line; Field its path ("packets[2]").
	Line  int
	Field string
	// At is the injection port of an inline spec, or the default port of a
	// capture's packets.
	At string
	// Frame is the spec of an inline packet; FrameText its text.
	Frame     *spec.Spec
	FrameText string
	// Pcap is the capture's path (resolved against the scenario file).
	Pcap string
	// Time is the virtual time of the (first) packet in ns; Relative means
	// it counts from the previous packet instead of the scenario's start;
	// HasTime false means 1 µs after the previous packet.
	Time     int64
	Relative bool
	HasTime  bool
	// Repeat sends the entry's frames this many times (0: once), Interval
	// apart (default 1 µs).
	Repeat   int
	Interval int64
	// Note is a comment written with the packet into the output pcapng.
	Note string
	// Do, when set, makes the entry a step: an HNS change made at this
	// point of the run (at Time, when given). A step is not a packet.
	Do *Step

	frameNode, atNode, timeNode, doNode *node
}

// ExpectKind is what an expectation checks.
type ExpectKind uint8

// Kinds of expectations.
const (
	// ExpectFrame: a frame matching Frame comes out at port At.
	ExpectFrame ExpectKind = iota
	// ExpectDrop: a packet is dropped for Reason.
	ExpectDrop
	// ExpectNothingElse: no frame is delivered and nothing is dropped
	// beyond what the other expectations account for.
	ExpectNothingElse
)

// Expectation is one entry of `expect:`.
type Expectation struct {
	Kind ExpectKind
	// Line is the entry's line; Field its path ("expect[1]").
	Line  int
	Field string
	// At is the port (frame and nothing_else; optional for drops).
	At string
	// Output is the kind of output a frame expectation looks at:
	// delivered (the default), wire-tx or wire-rx (the default at NIC
	// ports).
	Output string
	// Frame is the expected (partial) spec; FrameText its text.
	Frame     *spec.Spec
	FrameText string
	// Packet ties the expectation to input packet N (1-based); 0: any.
	Packet int
	// Reason and the optional place of an expected drop; AnyReason
	// (reason: "*") accepts a drop for any reason.
	Reason                                     drop.Reason
	AnyReason                                  bool
	Host, Component, Where, Layer, Group, Rule string
	// Note is free text shown when the expectation fails.
	Note string

	frameNode, atNode *node
}

// ExpectError is an expected rejection of the topology: at least one of
// the errors fabric.New returns must match every field given.
type ExpectError struct {
	Line int
	// Code is an HRESULT (0x803b000a) that an HNS problem must have.
	Code    hns.HResult
	HasCode bool
	// Message, Field and Object are substrings of the problem's text, its
	// field path and the object's name.
	Message, Field, Object string
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Load reads a scenario file from the operating system's file system.
// Errors (*InputError values, all of the file's at once, as Errors) name
// the file, line, column and field.
func Load(path string) (*Scenario, error) {
	return load(osFiles{}, path, path)
}

// LoadFS reads a scenario file from fsys; display names it in errors.
func LoadFS(fsys fs.FS, name, display string) (*Scenario, error) {
	return load(fsFiles{fsys}, name, display)
}

// Parse parses scenario text. Files it names (topologies, captures) are
// read from the operating system relative to file.
func Parse(file string, data []byte) (*Scenario, error) {
	return parse(osFiles{}, file, file, data)
}

func load(fsys files, name, display string) (*Scenario, error) {
	data, err := fsys.ReadFile(name)
	if err != nil {
		return nil, Errors{{File: display, Err: fmt.Errorf("read scenario: %w", err)}}
	}
	return parse(fsys, name, display, data)
}

// loader parses one scenario file.
type loader struct {
	fsys    files
	name    string // path to read relative files from
	file    string // display name
	el      errList
	sc      *Scenario
	binders map[string]bool // bindings that some expectation can bind
	users   map[string]*node
	topoOK  bool // the topology decoded without errors
}

func parse(fsys files, name, display string, data []byte) (*Scenario, error) {
	root, err := parseDocument(display, data)
	if err != nil {
		return nil, Errors{asInputError(display, err)}
	}
	l := &loader{fsys: fsys, name: name, file: display, sc: &Scenario{File: display, files: fsys},
		binders: map[string]bool{}, users: map[string]*node{}}
	l.scenario(root)
	l.check()
	if err := l.el.err(); err != nil {
		return nil, err
	}
	return l.sc, nil
}

func (l *loader) errf(n *node, field, format string, args ...any) {
	l.el.add(l.file, n, field, format, args...)
}

// scalar returns the text of a scalar value, or reports an error.
func (l *loader) str(n *node, field string) (string, bool) {
	if n == nil || n.Kind != scalarNode || n.isNull() {
		what := "nothing"
		if n != nil {
			what = n.describe()
		}
		l.errf(n, field, "want a string, got %s", what)
		return "", false
	}
	return n.Value, true
}

func (l *loader) integer(n *node, field string, min, max int64) (int64, bool) {
	if n.Kind != scalarNode || (n.Tag != "!!int" && n.Tag != "!!str") {
		l.errf(n, field, "want an integer, got %s", n.describe())
		return 0, false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil || v < min || v > max {
		l.errf(n, field, "want an integer from %d to %d, got %s", min, max, n.describe())
		return 0, false
	}
	return v, true
}

func (l *loader) boolean(n *node, field string) (bool, bool) {
	v, err := parseBool(n.Value)
	if n.Kind != scalarNode || err != nil {
		l.errf(n, field, "want true or false, got %s", n.describe())
		return false, false
	}
	return v, true
}

// keys checks that a mapping has only the allowed keys.
func (l *loader) keys(n *node, field string, allowed ...string) bool {
	if n.Kind != mapNode {
		l.errf(n, field, "want a mapping, got %s", n.describe())
		return false
	}
	for _, k := range n.Keys {
		ok := false
		for _, a := range allowed {
			if k.Value == a {
				ok = true
			}
		}
		if !ok {
			l.errf(k, joinField(field, k.Value), "unknown key %q (%sknown: %s)", k.Value, suggest.Mean(k.Value, allowed), strings.Join(allowed, ", "))
		}
	}
	return true
}

var topKeys = []string{"name", "summary", "description", "source", "sources", "topology", "packets", "expect", "expect_error"}

func (l *loader) scenario(root *node) {
	if root.Kind != mapNode {
		l.errf(root, "", "want a scenario mapping (%s), got %s", strings.Join(topKeys, ", "), root.describe())
		return
	}
	l.keys(root, "", topKeys...)
	sc := l.sc
	if n := root.get("name"); n == nil {
		l.errf(root, "name", "missing: every scenario has a name")
	} else if s, ok := l.str(n, "name"); ok {
		if !nameRE.MatchString(s) {
			l.errf(n, "name", "name %q: use letters, digits, '.', '_' and '-' (it names output files)", s)
		}
		sc.Name = s
	}
	if n := root.get("summary"); n == nil {
		l.errf(root, "summary", "missing: say in one line what the scenario shows")
	} else if s, ok := l.str(n, "summary"); ok {
		sc.Summary = strings.TrimSpace(s)
	}
	if n := root.get("description"); n != nil {
		sc.Description, _ = l.str(n, "description")
	}
	if n := root.get("source"); n != nil {
		if s, ok := l.str(n, "source"); ok {
			sc.Sources = append(sc.Sources, s)
		}
	}
	if n := root.get("sources"); n != nil {
		if n.Kind != seqNode {
			l.errf(n, "sources", "want a list, got %s", n.describe())
		} else {
			for i, it := range n.Vals {
				if s, ok := l.str(it, indexField("sources", i)); ok {
					sc.Sources = append(sc.Sources, s)
				}
			}
		}
	}
	if root.get("source") == nil && root.get("sources") == nil && root.get("summary") != nil {
		l.errf(root.keyNode("summary"), "sources", "missing: cite where the expected behaviour is documented (source: or sources:)")
	}
	tn := root.get("topology")
	if tn == nil {
		l.errf(root, "topology", "missing: a topology, inline or a file name")
	} else {
		l.topology(tn)
	}
	if n := root.get("expect_error"); n != nil {
		l.expectError(n)
	}
	if n := root.get("packets"); n != nil {
		if n.Kind != seqNode {
			l.errf(n, "packets", "want a list, got %s", n.describe())
		} else {
			for i, it := range n.Vals {
				l.packet(it, indexField("packets", i))
			}
		}
	}
	if n := root.get("expect"); n != nil {
		if n.Kind != seqNode {
			l.errf(n, "expect", "want a list, got %s", n.describe())
		} else {
			for i, it := range n.Vals {
				l.expect(it, indexField("expect", i))
			}
		}
	}
	if sc.ExpectError != nil && (len(sc.Packets) > 0 || len(sc.Expect) > 0) {
		l.errf(root.keyNode("expect_error"), "expect_error", "a scenario whose topology must be rejected has no packets or expectations")
	}
	if sc.ExpectError == nil && len(sc.Packets) == 0 && tn != nil {
		l.errf(root, "packets", "missing: no packets to inject (or expect_error for a topology HNS rejects)")
	}
}

func (l *loader) topology(n *node) {
	before := len(l.el.errs)
	defer func() { l.topoOK = l.sc.Topology != nil && len(l.el.errs) == before }()
	if n.Kind == scalarNode && !n.isNull() {
		p := l.fsys.Join(l.name, n.Value)
		display := p
		if l.name != l.file {
			display = l.fsys.Join(l.file, n.Value)
		}
		t, err := loadTopology(l.fsys, p, display)
		if err != nil {
			var errs Errors
			if errors.As(err, &errs) && len(errs) == 1 && errs[0].Line == 0 {
				l.errf(n, "topology", "%v", errs[0].Err)
				return
			}
			l.el.errs = append(l.el.errs, errs...)
			return
		}
		l.sc.Topology = t
		return
	}
	l.sc.Topology = decodeTopology(l.file, n, "topology", &l.el)
}

func (l *loader) expectError(n *node) {
	ee := &ExpectError{Line: n.Line}
	l.sc.ExpectError = ee
	switch n.Kind {
	case scalarNode:
		if n.Tag == "!!int" {
			l.code(n, ee)
		} else {
			ee.Message = n.Value
		}
	case mapNode:
		l.keys(n, "expect_error", "code", "message", "field", "object")
		if c := n.get("code"); c != nil {
			l.code(c, ee)
		}
		for _, k := range []struct {
			key string
			dst *string
		}{{"message", &ee.Message}, {"field", &ee.Field}, {"object", &ee.Object}} {
			if v := n.get(k.key); v != nil {
				*k.dst, _ = l.str(v, "expect_error."+k.key)
			}
		}
		if len(n.Keys) == 0 {
			l.errf(n, "expect_error", "give at least one of code, message, field, object")
		}
	default:
		l.errf(n, "expect_error", "want an HRESULT, a message or a mapping (code, message, field, object), got %s", n.describe())
	}
}

// code parses an HRESULT: a number (0x803b000a) or a name (HCN_E_INVALID_NETWORK).
func (l *loader) code(n *node, ee *ExpectError) {
	if n.Kind == scalarNode {
		if v, err := strconv.ParseUint(n.Value, 0, 32); err == nil {
			ee.Code, ee.HasCode = hns.HResult(v), true
			return
		}
		for c := hns.HResult(0x803b0001); c <= 0x803b00ff; c++ {
			if c.Name() == n.Value {
				ee.Code, ee.HasCode = c, true
				return
			}
		}
	}
	l.errf(n, "expect_error.code", "want an HRESULT such as 0x803b000a or HCN_E_INVALID_NETWORK, got %s", n.describe())
}

// parseTime parses "121s", "1m30s", "+2s" (after the previous packet) or
// an integer number of nanoseconds.
func parseTime(s string) (ns int64, relative bool, err error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		relative, s = true, rest
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		if v < 0 {
			return 0, false, fmt.Errorf("negative time %d", v)
		}
		return v, relative, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, false, fmt.Errorf("want a duration such as 121s, 1m30s or +2s, or nanoseconds, got %q", s)
	}
	if d < 0 {
		return 0, false, fmt.Errorf("negative time %s", d)
	}
	return int64(d), relative, nil
}

func (l *loader) packet(n *node, field string) {
	if n.Kind == mapNode && n.get("do") != nil {
		l.step(n, field)
		return
	}
	if !l.keys(n, field, "at", "frame", "pcap", "port", "time", "repeat", "interval", "note", "do") {
		return
	}
	p := &PacketInput{Line: n.Line, Field: field}
	if v := n.get("at"); v != nil {
		p.At, _ = l.str(v, field+".at")
		p.atNode = v
	}
	if v := n.get("port"); v != nil {
		s, _ := l.str(v, field+".port")
		p.atNode = v
		if p.At != "" && s != p.At {
			l.errf(v, field+".port", "give at or port, not both")
		}
		p.At = s
	}
	fn, pn := n.get("frame"), n.get("pcap")
	switch {
	case fn != nil && pn != nil:
		l.errf(pn, field+".pcap", "give frame or pcap, not both")
	case fn == nil && pn == nil:
		l.errf(n, field, "want frame: SPEC, pcap: FILE or do: STEP")
	case fn != nil:
		if s, ok := l.str(fn, field+".frame"); ok {
			p.FrameText, p.frameNode = s, fn
			sp, err := spec.Parse(s)
			if err != nil {
				l.specError(fn, field+".frame", err)
			} else {
				p.Frame = sp
				if _, err := sp.Count(); err != nil {
					l.specError(fn, field+".frame", err)
				}
				l.useBindings(sp, fn)
			}
		}
		if p.At == "" {
			l.errf(n, field+".at", "missing: the port to inject the frame at")
		}
	case pn != nil:
		if s, ok := l.str(pn, field+".pcap"); ok {
			p.Pcap = l.fsys.Join(l.name, s)
			rc, err := l.fsys.Open(p.Pcap)
			if err != nil {
				l.errf(pn, field+".pcap", "%v", err)
			} else {
				if _, err := pcapio.NewReader(rc, s, ""); err != nil {
					l.errf(pn, field+".pcap", "%v", err)
				}
				rc.Close()
			}
		}
	}
	if v := n.get("time"); v != nil {
		if s, ok := l.str(v, field+".time"); ok {
			t, rel, err := parseTime(s)
			if err != nil {
				l.errf(v, field+".time", "%v", err)
			}
			p.Time, p.Relative, p.HasTime, p.timeNode = t, rel, true, v
		}
	}
	if v := n.get("repeat"); v != nil {
		if r, ok := l.integer(v, field+".repeat", 1, spec.MaxPackets); ok {
			p.Repeat = int(r)
		}
	}
	if v := n.get("interval"); v != nil {
		if s, ok := l.str(v, field+".interval"); ok {
			t, rel, err := parseTime(s)
			if err != nil || rel {
				l.errf(v, field+".interval", "want a duration such as 1s, got %q", s)
			}
			p.Interval = t
		}
	}
	if v := n.get("note"); v != nil {
		p.Note, _ = l.str(v, field+".note")
	}
	l.sc.Packets = append(l.sc.Packets, p)
}

// specError reports a spec parse error at its column when the value sits
// on one line.
func (l *loader) specError(n *node, field string, err error) {
	col := n.Col
	var se *spec.Error
	if errors.As(err, &se) && se.Col > 0 && !n.Multiline && !strings.Contains(n.Value, "\n") {
		col += se.Col - 1
		if n.Quoted {
			col++
		}
		err = se.Err
		if se.Field != "" {
			err = fmt.Errorf("%s: %w", se.Field, err)
		}
		if se.Layer != "" {
			err = fmt.Errorf("%s: %w", se.Layer, err)
		}
	}
	l.el.errs = append(l.el.errs, &InputError{File: l.file, Line: n.Line, Col: col, Field: field, Err: err})
}

func (l *loader) useBindings(s *spec.Spec, n *node) {
	for _, ly := range s.Layers {
		for _, f := range ly.Fields {
			if f.Value.Kind == spec.KindBinding {
				if _, ok := l.users[f.Value.Name]; !ok {
					l.users[f.Value.Name] = n
				}
			}
		}
	}
}

var expectKeys = []string{"at", "frame", "kind", "packet", "drop", "nothing_else", "note"}

func (l *loader) expect(n *node, field string) {
	if !l.keys(n, field, expectKeys...) {
		return
	}
	e := &Expectation{Line: n.Line, Field: field}
	if v := n.get("at"); v != nil {
		e.At, _ = l.str(v, field+".at")
		e.atNode = v
	}
	if v := n.get("packet"); v != nil {
		if p, ok := l.integer(v, field+".packet", 1, 1<<40); ok {
			e.Packet = int(p)
		}
	}
	if v := n.get("note"); v != nil {
		e.Note, _ = l.str(v, field+".note")
	}
	if v := n.get("kind"); v != nil {
		if s, ok := l.str(v, field+".kind"); ok {
			switch s {
			case "delivered", "wire-tx", "wire-rx":
				e.Output = s
			default:
				l.errf(v, field+".kind", "want delivered, wire-tx or wire-rx, got %q", s)
			}
		}
	}
	fn, dn, nn := n.get("frame"), n.get("drop"), n.get("nothing_else")
	count := 0
	for _, x := range []*node{fn, dn, nn} {
		if x != nil {
			count++
		}
	}
	if count != 1 {
		l.errf(n, field, "want exactly one of frame, drop and nothing_else")
		return
	}
	switch {
	case fn != nil:
		e.Kind = ExpectFrame
		if s, ok := l.str(fn, field+".frame"); ok {
			e.FrameText, e.frameNode = s, fn
			sp, err := spec.Parse(s)
			if err != nil {
				l.specError(fn, field+".frame", err)
			} else {
				e.Frame = sp
				for _, ly := range sp.Layers {
					for _, f := range ly.Fields {
						if f.Value.Kind == spec.KindBinding {
							l.binders[f.Value.Name] = true
						}
					}
				}
			}
		}
		if e.At == "" {
			l.errf(n, field+".at", "missing: the port the frame comes out at")
		}
	case dn != nil:
		e.Kind = ExpectDrop
		l.drop(dn, field+".drop", e)
	case nn != nil:
		e.Kind = ExpectNothingElse
		if b, ok := l.boolean(nn, field+".nothing_else"); ok && !b {
			l.errf(nn, field+".nothing_else", "nothing_else: false says nothing; leave it out")
		}
		if e.Output == "delivered" {
			e.Output = ""
		}
		if e.Output != "" && e.At == "" {
			l.errf(n, field+".at", "missing: nothing_else with kind %s needs the NIC port (at: HOST/NIC)", e.Output)
		}
	}
	l.sc.Expect = append(l.sc.Expect, e)
}

func (l *loader) drop(n *node, field string, e *Expectation) {
	if n.Kind == scalarNode {
		// drop: SLUG
		l.reason(n, field, e)
		return
	}
	if !l.keys(n, field, "packet", "reason", "at", "host", "component", "where", "layer", "group", "rule") {
		return
	}
	if v := n.get("reason"); v != nil {
		l.reason(v, field+".reason", e)
	} else {
		l.errf(n, field+".reason", "missing: the drop reason (e.g. winnat-no-mapping)")
	}
	if v := n.get("packet"); v != nil {
		if p, ok := l.integer(v, field+".packet", 1, 1<<40); ok {
			if e.Packet != 0 && e.Packet != int(p) {
				l.errf(v, field+".packet", "packet %d here and %d outside", p, e.Packet)
			}
			e.Packet = int(p)
		}
	}
	for _, k := range []struct {
		key string
		dst *string
	}{{"at", &e.At}, {"host", &e.Host}, {"component", &e.Component}, {"where", &e.Where},
		{"layer", &e.Layer}, {"group", &e.Group}, {"rule", &e.Rule}} {
		if v := n.get(k.key); v != nil {
			*k.dst, _ = l.str(v, field+"."+k.key)
			if k.key == "at" {
				if e.atNode != nil {
					l.errf(v, field+".at", "give at inside drop or outside it, not both")
				}
				e.atNode = v
			}
		}
	}
}

func (l *loader) reason(n *node, field string, e *Expectation) {
	s, ok := l.str(n, field)
	if !ok {
		return
	}
	if s == "*" {
		e.AnyReason = true
		return
	}
	r, ok := drop.Parse(s)
	if !ok {
		var near []string
		for _, r := range drop.All() {
			if w, _, _ := strings.Cut(s, "-"); strings.HasPrefix(r.Slug(), w) {
				near = append(near, r.Slug())
			}
		}
		hint := "reason slugs are those of emulator/drop, e.g. winnat-no-mapping, vfp-rule-block, ttl-exceeded"
		if len(near) > 0 && len(near) < 12 {
			hint = "similar: " + strings.Join(near, ", ")
		}
		l.errf(n, field, "unknown drop reason %q (%s)", s, hint)
		return
	}
	e.Reason = r
}

// check does what needs the topology: builds the fabric once, checks port
// names, resolves names in specs and checks bindings.
func (l *loader) check() {
	sc := l.sc
	for name, n := range l.users {
		if !l.binders[name] {
			l.errf(n, "", "binding $%s is used in a packet but no frame expectation binds it", name)
		}
	}
	// Times of inline packets must not go backwards.
	var last int64
	for _, p := range sc.Packets {
		if p.HasTime && !p.Relative && p.Pcap == "" {
			if p.Time < last {
				l.errf(p.timeNode, p.Field+".time", "time goes backwards (%s after %s)", time.Duration(p.Time), time.Duration(last))
			}
			last = p.Time
		}
	}
	if !l.topoOK || sc.ExpectError != nil {
		return
	}
	topo := sc.Topology
	if sc.hasSteps() {
		var err error
		if topo, err = topo.forSteps(); err != nil {
			for _, p := range sc.Packets {
				if p.Do != nil {
					l.errf(p.doNode, p.Field+".do", "%v", err)
					break
				}
			}
			return
		}
	}
	f, errs, _ := topo.build(fabric.Options{})
	if len(errs) > 0 {
		l.el.errs = append(l.el.errs, errs...)
		return
	}
	l.checkSteps(f)
	res := newResolver(f, sc.Topology, nil)
	port := func(name string, n *node, field string) (fabric.PortID, bool) {
		id, ok := f.PortByName(name)
		if !ok {
			l.errf(n, field, "unknown port %q (%sports: %s)", name, portHint(f, name), portNames(f))
		}
		return id, ok
	}
	for _, p := range sc.Packets {
		if p.At == "" {
			continue
		}
		id, ok := port(p.At, p.atNode, p.Field+".at")
		if !ok {
			continue
		}
		if p.Frame != nil {
			if _, err := p.Frame.Resolve(res.from(id)); err != nil {
				l.specError(p.frameNode, p.Field+".frame", err)
			}
		}
	}
	for _, e := range sc.Expect {
		if e.At == "" {
			continue
		}
		id, ok := port(e.At, e.atNode, e.Field+".at")
		if !ok {
			continue
		}
		if e.Kind == ExpectNothingElse && e.Output != "" && f.Port(id).Kind != fabric.PortNIC {
			l.errf(e.atNode, e.Field+".at", "nothing_else with kind %s looks at a NIC port (HOST/NIC), not %s (%s)", e.Output, e.At, f.Port(id).Kind)
		}
		if e.Frame != nil {
			if _, err := e.Frame.Resolve(res.from(id)); err != nil {
				l.specError(e.frameNode, e.Field+".frame", err)
			}
		}
	}
}

// LoadDir loads every *.yaml, *.yml and *.json file under dir (sorted),
// returning the scenarios that loaded and the errors of those that did not.
// Files that hold a topology (a top-level "hosts" key) are skipped.
func LoadDir(dir string) ([]*Scenario, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	return loadAll(osFiles{}, paths, func(p string) string { return p })
}

// LoadAllFS loads every scenario file of fsys under dir; display maps a
// name to the name shown in errors.
func LoadAllFS(fsys fs.FS, dir string, display func(string) string) ([]*Scenario, error) {
	var paths []string
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".json")) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	return loadAll(fsFiles{fsys}, paths, display)
}

func loadAll(fsys files, paths []string, display func(string) string) ([]*Scenario, error) {
	var out []*Scenario
	var errs Errors
	for _, p := range paths {
		data, err := fsys.ReadFile(p)
		if err != nil {
			errs = append(errs, &InputError{File: display(p), Err: err})
			continue
		}
		if IsTopology(data, p) {
			continue
		}
		sc, err := parse(fsys, p, display(p), data)
		if err != nil {
			var el Errors
			if errors.As(err, &el) {
				errs = append(errs, el...)
			} else {
				errs = append(errs, &InputError{File: display(p), Err: err})
			}
			continue
		}
		out = append(out, sc)
	}
	if len(errs) > 0 {
		return out, errs
	}
	return out, nil
}

// IsTopology reports whether a file's text is a topology rather than a
// scenario: its top-level mapping has "hosts" and no "topology".
func IsTopology(data []byte, name string) bool {
	root, err := parseDocument(name, data)
	if err != nil || root.Kind != mapNode {
		return false
	}
	return root.get("hosts") != nil && root.get("topology") == nil
}
