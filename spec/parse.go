package spec

import (
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/hnspath/hnspath/internal/suggest"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// MaxRepeat is the largest repetition count " x N" accepted.
const MaxRepeat = 65536

// Parse parses a spec such as
//
//	ether(dst=host1) / ipv4(src=10.0.0.99, dst=10.0.0.10) / tcp(sport=40000, dport=8082, flags=S) x 3
//
// Errors are *Error values that give the column, the layer and the field.
// Parse checks names and values against the layer definitions but does not
// resolve names or check that the stack makes sense; Build does.
func Parse(text string) (*Spec, error) {
	p := &parser{s: text}
	s, err := p.spec()
	if err != nil {
		return nil, err
	}
	return s, nil
}

// MustParse is like Parse but panics on error. It is meant for tests and
// hard-coded specs.
func MustParse(text string) *Spec {
	s, err := Parse(text)
	if err != nil {
		panic(fmt.Sprintf("spec.MustParse(%q): %v", text, err))
	}
	return s
}

type parser struct {
	s   string
	pos int // byte offset of the next unread byte
}

func (p *parser) errAt(pos int, layer, field string, format string, args ...any) *Error {
	return &Error{Col: pos + 1, Layer: layer, Field: field, Err: fmt.Errorf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) && isSpace(p.s[p.pos]) {
		p.pos++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ident reads [A-Za-z_][A-Za-z0-9_]*.
func (p *parser) ident() string {
	start := p.pos
	if p.pos < len(p.s) && isLetter(p.s[p.pos]) {
		p.pos++
		for p.pos < len(p.s) && (isLetter(p.s[p.pos]) || isDigit(p.s[p.pos])) {
			p.pos++
		}
	}
	return p.s[start:p.pos]
}

func (p *parser) spec() (*Spec, error) {
	s := &Spec{}
	for {
		p.skipSpace()
		l, err := p.layer()
		if err != nil {
			return nil, err
		}
		s.Layers = append(s.Layers, l)
		p.skipSpace()
		if p.pos == len(p.s) {
			break
		}
		c := p.s[p.pos]
		if c == '/' {
			p.pos++
			continue
		}
		if c == 'x' || c == 'X' {
			if err := p.repeat(s); err != nil {
				return nil, err
			}
			break
		}
		return nil, p.errAt(p.pos, "", "", "unexpected %q after layer %s (want \"/\", \"x N\" or the end)", c, l.Name)
	}
	return s, nil
}

func (p *parser) repeat(s *Spec) error {
	start := p.pos
	p.pos++ // 'x'
	p.skipSpace()
	numStart := p.pos
	for p.pos < len(p.s) && isDigit(p.s[p.pos]) {
		p.pos++
	}
	if numStart == p.pos {
		return p.errAt(start, "", "", "repeat: want a count after %q", "x")
	}
	n, err := strconv.Atoi(p.s[numStart:p.pos])
	if err != nil || n < 1 || n > MaxRepeat {
		return p.errAt(numStart, "", "", "repeat: count %s out of range (1 to %d)", p.s[numStart:p.pos], MaxRepeat)
	}
	s.Repeat = n
	p.skipSpace()
	if p.pos != len(p.s) {
		return p.errAt(p.pos, "", "", "unexpected %q after the repeat count", p.s[p.pos])
	}
	return nil
}

func (p *parser) layer() (Layer, error) {
	start := p.pos
	name := p.ident()
	if name == "" {
		if p.pos == len(p.s) {
			return Layer{}, p.errAt(p.pos, "", "", "want a layer name, got the end of the spec")
		}
		return Layer{}, p.errAt(p.pos, "", "", "want a layer name, got %q", p.s[p.pos])
	}
	ld := layerByName[strings.ToLower(name)]
	if ld == nil {
		return Layer{}, p.errAt(start, "", "", "unknown layer %q (%sknown: %s)", name, suggest.Mean(name, suggest.Split(layerNames())), layerNames())
	}
	l := Layer{Name: ld.name, Col: start + 1}
	p.skipSpace()
	if p.pos == len(p.s) || p.s[p.pos] != '(' {
		return l, nil // "ether / ipv4()": parentheses are optional
	}
	p.pos++
	for {
		p.skipSpace()
		if p.pos == len(p.s) {
			return Layer{}, p.errAt(p.pos, ld.name, "", "missing \")\"")
		}
		if p.s[p.pos] == ')' {
			p.pos++
			break
		}
		f, err := p.field(ld, &l)
		if err != nil {
			return Layer{}, err
		}
		l.Fields = append(l.Fields, f)
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.s) && p.s[p.pos] == ')' {
			p.pos++
			break
		}
		if p.pos == len(p.s) {
			return Layer{}, p.errAt(p.pos, ld.name, "", "missing \")\"")
		}
		return Layer{}, p.errAt(p.pos, ld.name, f.Name, "want \",\" or \")\", got %q", p.s[p.pos])
	}
	return l, nil
}

// conflicts lists fields that cannot be given together in one layer.
var conflicts = map[string][][2]string{
	"ipv4": {{"tos", "dscp"}, {"tos", "ecn"}},
	"tcp":  {{"options", "mss"}, {"options", "wscale"}, {"options", "sackok"}, {"options", "tsval"}, {"options", "tsecr"}},
}

func (p *parser) field(ld *layerDef, l *Layer) (Field, error) {
	start := p.pos
	name := p.ident()
	if name == "" {
		if p.pos == len(p.s) {
			return Field{}, p.errAt(p.pos, ld.name, "", "want a field name, got the end of the spec")
		}
		return Field{}, p.errAt(p.pos, ld.name, "", "want a field name, got %q", p.s[p.pos])
	}
	d := ld.field(name)
	if d == nil {
		return Field{}, p.errAt(start, ld.name, "", "unknown field %q (%sknown: %s)", name, suggest.Mean(name, suggest.Split(ld.fieldNames())), ld.fieldNames())
	}
	for _, f := range l.Fields {
		if f.Name == d.name {
			return Field{}, p.errAt(start, ld.name, d.name, "given twice")
		}
	}
	for _, c := range conflicts[ld.name] {
		for i := range 2 {
			if d.name == c[i] {
				if _, ok := l.Get(c[1-i]); ok {
					return Field{}, p.errAt(start, ld.name, d.name, "cannot be given with %s", c[1-i])
				}
			}
		}
	}
	p.skipSpace()
	if p.pos == len(p.s) || p.s[p.pos] != '=' {
		return Field{}, p.errAt(p.pos, ld.name, d.name, "want \"=\" after the field name")
	}
	p.pos++
	p.skipSpace()
	vpos := p.pos
	tok, err := p.token()
	if err != nil {
		return Field{}, &Error{Col: vpos + 1, Layer: ld.name, Field: d.name, Err: err}
	}
	v, err := parseValue(d, tok)
	if err != nil {
		return Field{}, &Error{Col: vpos + 1, Layer: ld.name, Field: d.name, Err: err}
	}
	if v.Kind == KindBinding {
		if col, err := p.bindingRange(d, &v); err != nil {
			return Field{}, &Error{Col: col, Layer: ld.name, Field: d.name, Err: err}
		}
	}
	return Field{Name: d.name, Value: v, Col: start + 1}, nil
}

// bindingRange reads an optional "in LO-HI" after a binding ("sport=$p in
// 49152-65535"): the field is bound and range-checked at once. On error it
// returns the column to report.
func (p *parser) bindingRange(d *fieldDef, v *Value) (int, error) {
	save := p.pos
	p.skipSpace()
	in := p.pos
	if !strings.HasPrefix(p.s[in:], "in") || in+2 < len(p.s) && !isSpace(p.s[in+2]) && p.s[in+2] != ')' && p.s[in+2] != ',' {
		p.pos = save
		return 0, nil
	}
	if d.kind != fNum && d.kind != fFlags {
		return in + 1, fmt.Errorf("\"$%s in\" takes a range of numbers; this field is not a number", v.Name)
	}
	p.pos += 2
	p.skipSpace()
	at := p.pos + 1
	tok, err := p.token()
	if err != nil {
		return at, fmt.Errorf("\"$%s in\": %w (want a range such as 49152-65535)", v.Name, err)
	}
	r, err := parseValue(d, tok)
	if err != nil {
		return at, fmt.Errorf("\"$%s in\": %w", v.Name, err)
	}
	switch r.Kind {
	case KindRange:
	case KindNum:
		r.Max = r.Num
	default:
		return at, fmt.Errorf("\"$%s in\" wants a range such as 49152-65535, got %s", v.Name, r.Kind)
	}
	v.In, v.Num, v.Max = true, r.Num, r.Max
	return 0, nil
}

// token is a lexical value: a quoted string, a hex string or a bare word.
type token struct {
	text   string
	quoted bool // "..." (text is unquoted)
	hex    bool // hex"..." (text is the hex digits, spaces removed)
}

func (p *parser) token() (token, error) {
	if p.pos == len(p.s) {
		return token{}, errors.New("missing value")
	}
	if p.s[p.pos] == '"' {
		s, err := p.quoted()
		return token{text: s, quoted: true}, err
	}
	if strings.HasPrefix(p.s[p.pos:], `hex"`) {
		p.pos += 3
		s, err := p.quoted()
		if err != nil {
			return token{}, err
		}
		return token{text: strings.Join(strings.Fields(s), ""), hex: true}, nil
	}
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if isSpace(c) || c == ',' || c == ')' || c == '(' || c == '"' || c == '=' {
			break
		}
		p.pos++
	}
	if start == p.pos {
		return token{}, fmt.Errorf("missing value before %q", p.s[p.pos])
	}
	return token{text: p.s[start:p.pos]}, nil
}

// quoted reads a Go-syntax double-quoted string at p.pos.
func (p *parser) quoted() (string, error) {
	start := p.pos
	p.pos++
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case '\\':
			p.pos += 2
			continue
		case '"':
			p.pos++
			s, err := strconv.Unquote(p.s[start:p.pos])
			if err != nil {
				return "", fmt.Errorf("bad quoted string %s: %w", p.s[start:p.pos], err)
			}
			return s, nil
		}
		p.pos++
	}
	p.pos = len(p.s)
	return "", errors.New("unterminated quoted string")
}

// parseValue interprets a token for a field.
func parseValue(d *fieldDef, t token) (Value, error) {
	if !t.quoted && !t.hex {
		switch {
		case t.text == "*":
			return Value{Kind: KindAny}, nil
		case strings.HasPrefix(t.text, "$"):
			name := t.text[1:]
			if !isIdent(name) {
				return Value{}, fmt.Errorf("bad binding %q (want $ and a name such as $p)", t.text)
			}
			return Value{Kind: KindBinding, Name: name}, nil
		case d.checksum && strings.EqualFold(t.text, "valid"):
			return Value{Kind: KindValid}, nil
		}
	}
	switch d.kind {
	case fNum, fFlags:
		if t.quoted || t.hex {
			return Value{}, errors.New("want a number, got a string")
		}
		if n, ok, err := parseNum(t.text, d); ok || err != nil {
			return Value{Kind: KindNum, Num: n}, err
		}
		if lo, hi, ok := strings.Cut(t.text, "-"); ok && lo != "" && isDigit(lo[0]) {
			a, okA, err := parseNum(lo, d)
			if err != nil {
				return Value{}, err
			}
			b, okB, err := parseNum(hi, d)
			if err != nil {
				return Value{}, err
			}
			if !okA || !okB {
				return Value{}, fmt.Errorf("bad range %q", t.text)
			}
			if a > b {
				return Value{}, fmt.Errorf("bad range %q: %d > %d", t.text, a, b)
			}
			return Value{Kind: KindRange, Num: a, Max: b}, nil
		}
		if n, ok := d.parseSymbol(t.text); ok {
			return Value{Kind: KindNum, Num: n}, nil
		}
		if names := d.symbolNames(); names != "" {
			return Value{}, fmt.Errorf("bad value %q (want a number or one of %s)", t.text, names)
		}
		return Value{}, fmt.Errorf("bad number %q", t.text)
	case fMAC:
		if !t.quoted && !t.hex {
			if m, err := net.ParseMAC(t.text); err == nil {
				if len(m) != 6 {
					return Value{}, fmt.Errorf("bad MAC %q: %d bytes, want 6", t.text, len(m))
				}
				return Value{Kind: KindMAC, MAC: m}, nil
			}
		}
		return nameValue(t, "MAC")
	case fIPv4, fIPv6:
		if !t.quoted && !t.hex {
			if a, err := netip.ParseAddr(t.text); err == nil {
				if d.kind == fIPv4 && !a.Is4() {
					return Value{}, fmt.Errorf("%s is not an IPv4 address", t.text)
				}
				if d.kind == fIPv6 && !a.Is6() {
					return Value{}, fmt.Errorf("%s is not an IPv6 address", t.text)
				}
				if a.Zone() != "" {
					return Value{}, fmt.Errorf("address %s: zones are not supported", t.text)
				}
				return Value{Kind: KindAddr, Addr: a}, nil
			}
			if isDigit(t.text[0]) || strings.Contains(t.text, "::") {
				return Value{}, fmt.Errorf("bad address %q", t.text)
			}
		}
		return nameValue(t, "address")
	case fBytes:
		switch {
		case t.quoted:
			return Value{Kind: KindBytes, Bytes: []byte(t.text), Text: true}, nil
		case t.hex:
			b, err := hex.DecodeString(t.text)
			if err != nil {
				return Value{}, fmt.Errorf("bad hex string: %w", err)
			}
			return Value{Kind: KindBytes, Bytes: b}, nil
		case strings.HasPrefix(t.text, "0x") || strings.HasPrefix(t.text, "0X"):
			b, err := hex.DecodeString(t.text[2:])
			if err != nil {
				return Value{}, fmt.Errorf("bad hex %q: %w", t.text, err)
			}
			return Value{Kind: KindBytes, Bytes: b}, nil
		}
		return Value{}, fmt.Errorf("bad bytes %q (want 0x..., hex\"..\" or \"text\")", t.text)
	}
	return Value{}, fmt.Errorf("unsupported field kind %d", d.kind)
}

func nameValue(t token, what string) (Value, error) {
	if t.hex {
		return Value{}, fmt.Errorf("want a %s or a name, got a hex string", what)
	}
	if t.text == "" {
		return Value{}, fmt.Errorf("empty name")
	}
	if !t.quoted && !isBareName(t.text) {
		return Value{}, fmt.Errorf("bad %s or name %q", what, t.text)
	}
	return Value{Kind: KindName, Name: t.text}, nil
}

// parseNum parses a decimal or 0x-hex number. ok is false when s is not
// a number at all; err is set when it is one but does not fit the field.
// Leading zeros are decimal, not octal.
func parseNum(s string, d *fieldDef) (n uint64, ok bool, err error) {
	base := 10
	digits := s
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		base, digits = 16, s[2:]
	}
	if digits == "" || !isDigit(digits[0]) && base == 10 {
		return 0, false, nil
	}
	n, perr := strconv.ParseUint(digits, base, 64)
	if perr != nil {
		if errors.Is(perr, strconv.ErrRange) {
			return 0, true, fmt.Errorf("value %s out of range (max %d)", s, d.max())
		}
		return 0, false, nil
	}
	if n > d.max() {
		return 0, true, fmt.Errorf("value %s out of range (max %d)", s, d.max())
	}
	return n, true, nil
}

// isIdent reports whether s is [A-Za-z_][A-Za-z0-9_]*.
func isIdent(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isLetter(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// isBareName reports whether s can be written unquoted as a name: it
// starts with a letter or "_" and goes on with letters, digits and
// "_-./:" (port names such as host1/web).
func isBareName(s string) bool {
	if s == "" || !isLetter(s[0]) || strings.EqualFold(s, "valid") {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && !isDigit(c) && !strings.ContainsRune("-./:", rune(c)) {
			return false
		}
	}
	return true
}
