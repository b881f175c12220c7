package spec

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Bindings hold the values of "$name" fields across the packets of a
// scenario: the first Match that sees $p binds it, later ones must agree.
// The zero value is empty and ready to use. A Bindings is not safe for
// concurrent use.
type Bindings struct {
	vals map[string]Value
}

// Lookup returns the value bound to name (without "$"). It is safe on a nil
// *Bindings, which has no bindings.
func (b *Bindings) Lookup(name string) (Value, bool) {
	if b == nil {
		return Value{}, false
	}
	v, ok := b.vals[name]
	return v, ok
}

// Set binds name (without "$") to v, replacing any earlier value.
func (b *Bindings) Set(name string, v Value) {
	if b.vals == nil {
		b.vals = make(map[string]Value)
	}
	b.vals[name] = v
}

// Names returns the bound names, sorted.
func (b *Bindings) Names() []string {
	if b == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(b.vals))
}

// String lists the bindings as "$a=1, $b=10.0.0.1", sorted by name.
func (b *Bindings) String() string {
	var parts []string
	for _, n := range b.Names() {
		parts = append(parts, "$"+n+"="+b.vals[n].format(nil))
	}
	return strings.Join(parts, ", ")
}

// FieldDiff is one difference between an expected spec and a frame.
type FieldDiff struct {
	// Index is the index of the layer in the expected spec.
	Index int
	// Layer is the expected layer's name.
	Layer string
	// Field is the field name; "" when the layer itself is missing or is
	// another layer.
	Field string
	// Want is the expected value as written; for a binding, with the value
	// it is bound to.
	Want string
	// Got is the frame's value, "(none)" when it has no such field or layer.
	Got string
}

// String formats d as "ipv4.ttl: want 63, got 64".
func (d FieldDiff) String() string {
	name := d.Layer
	if d.Field != "" {
		name += "." + d.Field
	}
	return fmt.Sprintf("%s: want %s, got %s", name, d.Want, d.Got)
}

const none = "(none)"

// Match reports whether frame matches the expected spec, and how it
// differs if not. Only the fields given in expected are checked:
//
//   - "*" matches any value the frame has;
//   - "$p" binds p to the frame's value on first sight (in b, shared by the
//     packets of a scenario) and must equal it afterwards; bindings made
//     by a Match that fails are not kept;
//   - a range matches any value in it;
//   - chksum=valid checks the frame's checksum, computed independently of
//     gopacket;
//   - raw(load=...) compares the rest of the frame from that layer on, and
//     raw(len=N) its length.
//
// The expected layers must be present in the frame in order, one after
// another. A spec that does not start with ether matches from the frame's
// first layer of that kind, skipping Ethernet, VLAN and IP headers before
// it (so ipv4(...) / tcp(...) checks the first IPv4 header); IPv6
// extension headers the spec does not list are skipped too. Repeat is
// ignored. Names must have been resolved (Spec.Resolve) first; an
// unresolved name is a difference. b may be nil.
func Match(expected *Spec, frame []byte, b *Bindings, opts DecodeOptions) (ok bool, diffs []FieldDiff) {
	if err := expected.check(); err != nil {
		return false, []FieldDiff{{Layer: "spec", Want: "a valid spec", Got: err.Error()}}
	}
	dec := decodeFull(frame, opts)
	m := &matcher{frame: frame, dec: &dec, b: b, tent: map[string]Value{}}
	al := m.align(expected)
	for i := range expected.Layers {
		m.layer(expected, i, al[i])
	}
	if len(m.diffs) > 0 {
		return false, m.diffs
	}
	if b != nil {
		for n, v := range m.tent {
			b.Set(n, v)
		}
	}
	return true, nil
}

type matcher struct {
	frame []byte
	dec   *decoded
	b     *Bindings
	tent  map[string]Value // bindings made by this match, kept if it succeeds
	diffs []FieldDiff
}

// aligned is the actual layer an expected layer is compared with.
type aligned struct {
	layer *dlayer // nil when missing
	other bool    // the frame has another layer there
}

// skippable are the layers Match skips before the first expected layer.
var skippable = map[string]bool{"ether": true, "vlan": true, "ipv4": true, "ipv6": true, "ipv6hbh": true, "ipv6frag": true}

// align pairs every expected layer with an actual layer.
func (m *matcher) align(e *Spec) []aligned {
	al := make([]aligned, len(e.Layers))
	ls := m.dec.layers
	j := 0
	if len(e.Layers) > 0 && e.Layers[0].Name != "raw" && e.Layers[0].Name != "padding" {
		for j < len(ls) && ls[j].name != e.Layers[0].Name && skippable[ls[j].name] {
			j++
		}
	}
	for i := range e.Layers {
		name := e.Layers[i].Name
		for j < len(ls) && (ls[j].name == "ipv6hbh" || ls[j].name == "ipv6frag") && name != ls[j].name && name != "raw" {
			j++
		}
		switch {
		case name == "raw":
			al[i] = aligned{layer: m.rawAt(j)}
			j = len(ls)
		case name == "padding":
			al[i] = aligned{layer: m.padding()}
		case j >= len(ls):
			al[i] = aligned{}
		case ls[j].name != name:
			al[i] = aligned{layer: &ls[j], other: true}
			for k := i + 1; k < len(e.Layers); k++ {
				al[k] = aligned{} // nothing after a wrong layer is compared
			}
			return al
		default:
			al[i] = aligned{layer: &ls[j]}
			j++
		}
	}
	return al
}

// rawAt returns a raw layer holding the frame's bytes from layer j on, up
// to the Ethernet padding of the innermost frame that contains layer j (as
// Decode's raw() does).
func (m *matcher) rawAt(j int) *dlayer {
	ls := m.dec.layers
	off := len(m.frame)
	if j < len(ls) {
		off = ls[j].off
	} else if len(ls) > 0 {
		off = ls[len(ls)-1].end
	}
	end, owner := len(m.frame), -1
	for _, p := range m.dec.pads {
		if p.owner < j && p.owner > owner {
			end, owner = p.off, p.owner
		}
	}
	if off > end {
		off = end
	}
	return rawDLayer("raw", m.frame, off, end)
}

// padding returns the frame's Ethernet padding as a layer (empty if none).
func (m *matcher) padding() *dlayer {
	if n := len(m.dec.pads); n > 0 {
		pd := m.dec.pads[n-1]
		return rawDLayer("padding", m.frame, pd.off, pd.end)
	}
	return rawDLayer("padding", nil, 0, 0)
}

func (m *matcher) layer(e *Spec, i int, a aligned) {
	el := &e.Layers[i]
	switch {
	case a.layer == nil:
		m.diffs = append(m.diffs, FieldDiff{Index: i, Layer: el.Name, Want: el.Name, Got: none})
		return
	case a.other:
		m.diffs = append(m.diffs, FieldDiff{Index: i, Layer: el.Name, Want: el.Name, Got: a.layer.name})
		return
	}
	ld := layerByName[el.Name]
	if el.Name == "raw" || el.Name == "padding" {
		m.payload(i, el, a.layer)
		return
	}
	for _, f := range el.Fields {
		d := ld.field(f.Name)
		got, have := a.layer.get(f.Name)
		if want, ok := m.value(d, f.Value, got, have, a.layer); !ok {
			g := none
			if have {
				g = got.format(d)
				if f.Value.Kind == KindValid {
					g += " (invalid)"
				}
			}
			m.diffs = append(m.diffs, FieldDiff{Index: i, Layer: el.Name, Field: f.Name, Want: want, Got: g})
		}
	}
}

// value compares one expected value with the frame's; it returns the
// expected value as text and whether they match.
func (m *matcher) value(d *fieldDef, want, got Value, have bool, l *dlayer) (string, bool) {
	text := want.describe(d)
	switch want.Kind {
	case KindAny:
		return text, have
	case KindValid:
		return text, have && l.sum == 1
	case KindName:
		return text + " (unresolved name)", false
	case KindBinding:
		if v, ok := m.tent[want.Name]; ok {
			return text + "=" + v.format(d), have && v.equal(got) && want.inRange(got)
		}
		if v, ok := m.b.Lookup(want.Name); ok {
			return text + "=" + v.format(d), have && v.equal(got) && want.inRange(got)
		}
		if !want.inRange(got) {
			return text, false
		}
		if have {
			got.MAC, got.Bytes = bytes.Clone(got.MAC), bytes.Clone(got.Bytes) // do not keep the frame
			m.tent[want.Name] = got
		}
		return text, have
	case KindRange:
		return text, have && got.Kind == KindNum && got.Num >= want.Num && got.Num <= want.Max
	case KindBytes:
		if d.name == "options" { // compare options as Build pads them
			want = Bytes(padOptions(l.name, want.Bytes))
		}
	}
	return text, have && want.equal(got)
}

// payload compares an expected raw or padding layer: load alone checks the
// bytes, len alone the length, both the load repeated to len bytes.
func (m *matcher) payload(i int, el *Layer, a *dlayer) {
	got, _ := a.get("load")
	load, hasLoad := el.Get("load")
	n, hasLen := el.Get("len")
	ld := layerByName[el.Name]
	diff := func(f, want, g string) {
		m.diffs = append(m.diffs, FieldDiff{Index: i, Layer: el.Name, Field: f, Want: want, Got: g})
	}
	if hasLen {
		gl, _ := a.get("len")
		if want, ok := m.value(ld.field("len"), n, gl, true, a); !ok {
			diff("len", want, gl.format(nil))
			return
		}
	}
	if !hasLoad {
		return
	}
	if load.Kind == KindBytes && hasLen && n.Kind == KindNum {
		c := newCLayer(ld, 0)
		c.put("load", load)
		c.put("len", n)
		load = Bytes(payloadBytes(&c))
	}
	if load.Kind == KindBytes {
		if !bytes.Equal(load.Bytes, got.Bytes) {
			diff("load", load.format(ld.field("load")), shorten(got.format(ld.field("load"))))
		}
		return
	}
	if want, ok := m.value(ld.field("load"), load, got, true, a); !ok {
		diff("load", want, shorten(got.format(nil)))
	}
}

// shorten cuts long values for display.
func shorten(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	return s[:max-3] + "..."
}

// SideBySide renders the expected spec and the frame in two columns,
// expected on the left and actual on the right, one field per row, rows
// with a difference marked with "!" in the first column. diffs are the
// differences Match returned. The actual side also shows the frame's
// layers and main fields that the expectation does not mention.
func SideBySide(expected *Spec, frame []byte, diffs []FieldDiff, opts DecodeOptions) string {
	if err := expected.check(); err != nil {
		return "invalid expected spec: " + err.Error() + "\n"
	}
	dec := decodeFull(frame, opts)
	m := &matcher{frame: frame, dec: &dec}
	al := m.align(expected)
	type row struct {
		mark        bool
		left, right string
	}
	rows := []row{{left: "expected", right: "actual"}}
	marked := func(i int, f string) bool {
		for _, d := range diffs {
			if d.Index == i && d.Field == f {
				return true
			}
		}
		return false
	}
	shown := map[*dlayer]bool{}
	actualOnly := func(l *dlayer) {
		shown[l] = true
		rows = append(rows, row{right: l.name})
		ld := layerByName[l.name]
		for _, f := range l.fields {
			if d := ld.field(f.Name); !d.omit || f.Name == "load" {
				rows = append(rows, row{right: "  " + f.Name + "=" + shorten(f.Value.format(d))})
			}
		}
	}
	// Actual layers before the first compared one.
	first := len(dec.layers)
	for _, a := range al {
		if a.layer != nil {
			for k := range dec.layers {
				if &dec.layers[k] == a.layer {
					first = min(first, k)
				}
			}
		}
	}
	for k := 0; k < first; k++ {
		actualOnly(&dec.layers[k])
	}
	for i := range expected.Layers {
		el := &expected.Layers[i]
		ld := layerByName[el.Name]
		a := al[i]
		right := none
		if a.layer != nil {
			right = a.layer.name
			shown[a.layer] = true
		}
		rows = append(rows, row{mark: marked(i, ""), left: el.Name, right: right})
		if a.layer == nil || a.other {
			for _, f := range el.Fields {
				rows = append(rows, row{left: "  " + f.Name + "=" + f.Value.describe(ld.field(f.Name))})
			}
			continue
		}
		for _, f := range el.Fields {
			d := ld.field(f.Name)
			r := "  " + f.Name + "=" + none
			if got, ok := a.layer.get(f.Name); ok {
				r = "  " + f.Name + "=" + shorten(got.format(d))
				if f.Value.Kind == KindValid {
					if a.layer.sum == 1 {
						r += " (valid)"
					} else {
						r += " (invalid)"
					}
				}
			}
			rows = append(rows, row{mark: marked(i, f.Name), left: "  " + f.Name + "=" + shorten(f.Value.describe(d)), right: r})
		}
		for _, f := range a.layer.fields {
			d := ld.field(f.Name)
			if _, given := el.Get(f.Name); given || d.omit {
				continue
			}
			rows = append(rows, row{right: "  " + f.Name + "=" + shorten(f.Value.format(d))})
		}
	}
	for k := first; k < len(dec.layers); k++ {
		if l := &dec.layers[k]; !shown[l] && (len(al) == 0 || !isRawTail(al[len(al)-1], l)) {
			actualOnly(l)
		}
	}
	w := 0
	for _, r := range rows {
		w = max(w, len(r.left))
	}
	var sb strings.Builder
	for _, r := range rows {
		mark := " "
		if r.mark {
			mark = "!"
		}
		line := fmt.Sprintf("%s %-*s | %s", mark, w, r.left, r.right)
		sb.WriteString(strings.TrimRight(line, " "))
		sb.WriteByte('\n')
	}
	return sb.String()
}

// isRawTail reports whether actual layer l lies inside the bytes an
// expected raw layer was compared with.
func isRawTail(last aligned, l *dlayer) bool {
	return last.layer != nil && last.layer.name == "raw" && l.off >= last.layer.off && l.off < last.layer.end
}
