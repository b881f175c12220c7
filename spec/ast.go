package spec

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Spec is a parsed packet spec: a stack of layers, outermost first, and a
// repetition count.
type Spec struct {
	// Layers are the layers in order, outermost first.
	Layers []Layer
	// Repeat is N from a trailing "x N"; 0 when none was given (once).
	Repeat int
}

// Layer is one layer of a spec, such as ipv4(src=10.0.0.1, ttl=63).
type Layer struct {
	// Name is the canonical layer name ("ether", "ipv4", ...).
	Name string
	// Fields are the fields given, in source order, under canonical names.
	Fields []Field
	// Col is the 1-based column of the layer name in the source text, 0 when
	// the layer was not parsed (Decode).
	Col int
}

// Field is one key=value argument of a layer.
type Field struct {
	// Name is the canonical field name ("ttl", "sport", ...).
	Name string
	// Value is the field's value.
	Value Value
	// Col is the 1-based column of the field name in the source text, 0 when
	// the field was not parsed.
	Col int
}

// Kind says what a Value holds.
type Kind uint8

// Kinds of values.
const (
	// KindNum is an unsigned integer (ports, TTLs, flags, symbolic names such
	// as echo-request once looked up).
	KindNum Kind = iota
	// KindRange is an inclusive range of integers, Num to Max ("8000-8010").
	KindRange
	// KindAddr is an IPv4 or IPv6 address.
	KindAddr
	// KindMAC is a 6-byte Ethernet address.
	KindMAC
	// KindBytes is a byte string (payloads, options).
	KindBytes
	// KindName is a name (a host, port or endpoint) that a Resolver turns
	// into an address.
	KindName
	// KindAny is the wildcard "*": any value matches.
	KindAny
	// KindBinding is "$name": equal wherever the binding appears. A binding
	// written "$name in LO-HI" (In set) also requires its number to lie in
	// the inclusive range Num to Max, where it is bound and wherever it is
	// used.
	KindBinding
	// KindValid is "valid" for a checksum field: the checksum must be right.
	KindValid
)

var kindNames = [...]string{"number", "range", "address", "MAC", "bytes", "name", "wildcard", "binding", "valid"}

// String returns the kind's name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is the value of a field.
type Value struct {
	// Kind says which of the other fields is meaningful.
	Kind Kind
	// Num is the number (KindNum) or the low end of a range (KindRange).
	Num uint64
	// Max is the high end of a range (KindRange).
	Max uint64
	// Addr is the address (KindAddr).
	Addr netip.Addr
	// MAC is the Ethernet address (KindMAC).
	MAC net.HardwareAddr
	// Bytes is the byte string (KindBytes).
	Bytes []byte
	// Name is the name (KindName), the binding name without "$" (KindBinding),
	// or, for a KindAddr or KindMAC value that Resolve produced, the name it
	// was resolved from.
	Name string
	// Text reports whether a KindBytes value was written (and prints) as a
	// quoted string rather than hex.
	Text bool
	// In reports whether a KindBinding value carries a range (Num to Max)
	// its number must lie in ("$p in 49152-65535").
	In bool
}

// inRange reports whether a concrete value satisfies a ranged binding's
// range; it is true for a binding without one.
func (v Value) inRange(got Value) bool {
	return !v.In || got.Kind == KindNum && got.Num >= v.Num && got.Num <= v.Max
}

// Num returns a KindNum value.
func Num(n uint64) Value { return Value{Kind: KindNum, Num: n} }

// Addr returns a KindAddr value.
func Addr(a netip.Addr) Value { return Value{Kind: KindAddr, Addr: a} }

// MAC returns a KindMAC value. The slice is kept.
func MAC(m net.HardwareAddr) Value { return Value{Kind: KindMAC, MAC: m} }

// Bytes returns a KindBytes value printed as hex. The slice is kept.
func Bytes(b []byte) Value { return Value{Kind: KindBytes, Bytes: b} }

// equal reports whether two concrete values are the same value. Names,
// wildcards and bindings compare by their text.
func (v Value) equal(w Value) bool {
	if v.Kind != w.Kind {
		return false
	}
	switch v.Kind {
	case KindNum:
		return v.Num == w.Num
	case KindRange:
		return v.Num == w.Num && v.Max == w.Max
	case KindAddr:
		return v.Addr == w.Addr
	case KindMAC:
		return bytes.Equal(v.MAC, w.MAC)
	case KindBytes:
		return bytes.Equal(v.Bytes, w.Bytes)
	case KindName:
		return v.Name == w.Name
	case KindBinding:
		return v.Name == w.Name && v.In == w.In && v.Num == w.Num && v.Max == w.Max
	}
	return true
}

// format prints v as it would appear in a spec, using the field's
// definition for numbers (hex, symbols, flag letters). d may be nil.
func (v Value) format(d *fieldDef) string {
	switch v.Kind {
	case KindNum:
		if d != nil {
			return d.formatNum(v.Num)
		}
		return strconv.FormatUint(v.Num, 10)
	case KindRange:
		return strconv.FormatUint(v.Num, 10) + "-" + strconv.FormatUint(v.Max, 10)
	case KindAddr:
		if v.Name != "" {
			return formatName(v.Name)
		}
		return v.Addr.String()
	case KindMAC:
		if v.Name != "" {
			return formatName(v.Name)
		}
		return v.MAC.String()
	case KindBytes:
		if v.Text || len(v.Bytes) == 0 {
			return strconv.Quote(string(v.Bytes))
		}
		return "0x" + hex.EncodeToString(v.Bytes)
	case KindName:
		return formatName(v.Name)
	case KindAny:
		return "*"
	case KindBinding:
		if v.In {
			return "$" + v.Name + " in " + strconv.FormatUint(v.Num, 10) + "-" + strconv.FormatUint(v.Max, 10)
		}
		return "$" + v.Name
	case KindValid:
		return "valid"
	}
	return "?"
}

// formatName prints a name bare when it reads back as a name, else quoted.
func formatName(n string) string {
	if isBareName(n) {
		return n
	}
	return strconv.Quote(n)
}

// describe prints v for humans: like format, plus the address a resolved
// name stands for.
func (v Value) describe(d *fieldDef) string {
	s := v.format(d)
	if v.Name != "" && (v.Kind == KindAddr || v.Kind == KindMAC) {
		a := v.Addr.String()
		if v.Kind == KindMAC {
			a = v.MAC.String()
		}
		s += " (" + a + ")"
	}
	return s
}

// String returns the spec in canonical form: canonical layer and field
// names, fields in the order given, numbers formatted per field (hex for
// checksums and types, symbols for ICMP types and ARP ops, letters for TCP
// flags). Parse(s.String()) gives back an equal spec.
func (s *Spec) String() string {
	var b strings.Builder
	for i := range s.Layers {
		if i > 0 {
			b.WriteString(" / ")
		}
		b.WriteString(s.Layers[i].String())
	}
	if s.Repeat > 0 {
		fmt.Fprintf(&b, " x %d", s.Repeat)
	}
	return b.String()
}

// String returns the layer in canonical form, e.g. "ipv4(src=10.0.0.1, ttl=63)".
func (l *Layer) String() string {
	var b strings.Builder
	b.WriteString(l.Name)
	b.WriteByte('(')
	ld := layerByName[l.Name]
	for i, f := range l.Fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Name)
		b.WriteByte('=')
		var d *fieldDef
		if ld != nil {
			d = ld.field(f.Name)
		}
		b.WriteString(f.Value.format(d))
	}
	b.WriteByte(')')
	return b.String()
}

// Get returns the value of the named field (canonical name or alias) and
// whether it was given.
func (l *Layer) Get(name string) (Value, bool) {
	if ld := layerByName[l.Name]; ld != nil {
		if d := ld.field(name); d != nil {
			name = d.name
		}
	}
	for _, f := range l.Fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return Value{}, false
}

// Clone returns a deep copy of s.
func (s *Spec) Clone() *Spec {
	c := &Spec{Repeat: s.Repeat, Layers: make([]Layer, len(s.Layers))}
	for i, l := range s.Layers {
		c.Layers[i] = Layer{Name: l.Name, Col: l.Col, Fields: make([]Field, len(l.Fields))}
		for j, f := range l.Fields {
			f.Value.MAC = bytes.Clone(f.Value.MAC)
			f.Value.Bytes = bytes.Clone(f.Value.Bytes)
			c.Layers[i].Fields[j] = f
		}
	}
	return c
}

// Error is an error in a spec, located by column, layer and field.
type Error struct {
	// Col is the 1-based column in the spec text; 0 when unknown.
	Col int
	// Layer is the layer name, if the error is inside a layer.
	Layer string
	// Field is the field name, if the error is about a field.
	Field string
	// Err is the underlying error.
	Err error
}

// Error formats e as "col 17: ipv4: ttl: value 300 out of range (max 255)".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Col > 0 {
		fmt.Fprintf(&b, "col %d: ", e.Col)
	}
	if e.Layer != "" {
		b.WriteString(e.Layer)
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
