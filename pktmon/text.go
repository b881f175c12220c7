package pktmon

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// TextError is an error in pktmon text output, located by line.
type TextError struct {
	File  string
	Line  int
	Field string
	Err   error
}

func (e *TextError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, e.Field, e.Err)
}

// Unwrap returns the underlying error.
func (e *TextError) Unwrap() error { return e.Err }

// Appearance is one appearance of a packet in a pktmon capture: where the
// packet was seen (component, direction, edge), whether it was dropped
// there and why, and its bytes.
type Appearance struct {
	// Source and Line locate it: the file and its line (text) or packet
	// number (pcapng).
	Source string
	Line   int
	// Time is when it was logged (zero when the text has no timestamp).
	Time time.Time
	Meta Meta
	// HasMeta is false for pcapng packets without pktmon metadata (then
	// Meta.PktGroupID comes from the epb_packetid option, when present).
	HasMeta bool
	// Grouped says Meta.PktGroupID is known.
	Grouped bool
	// Interface and IfaceMAC are the pcapng interface's name and MAC.
	Interface string
	IfaceMAC  string
	// Frame is the packet, starting with its Ethernet header (raw IP
	// packets get one in Replay; see RawIP).
	Frame []byte
	// RawIP says Frame starts with the IP header (etl2pcapng's raw IP link
	// type, pktmon packet type IP).
	RawIP bool
	// Synthesized says Frame was built from pktmon's one-line decode (no
	// hex dump): only Known fields are real, the payload is zeros.
	Synthesized bool
	Known       Fields
	Dropped     bool
}

// Fields says which header fields of a synthesized frame are known.
type Fields uint8

// Known fields.
const (
	FieldMACs Fields = 1 << iota
	FieldIPs
	FieldPorts
	FieldTTL
	FieldAll Fields = 0xff
)

// Capture is what a pktmon capture holds: the appearances of packets in
// file order and the components they refer to.
type Capture struct {
	Components  map[int]*Component
	Appearances []Appearance
}

// Group is one packet group (PktGroupId): every appearance of one packet.
type Group struct {
	ID          uint64
	Appearances []*Appearance
}

// Groups returns the capture's packet groups in order of their first
// appearance. Appearances without a group id (no metadata, no packet id)
// are groups of their own, with ID 0.
func (c *Capture) Groups() []*Group {
	var out []*Group
	idx := map[uint64]*Group{}
	for i := range c.Appearances {
		a := &c.Appearances[i]
		id := a.Meta.PktGroupID
		if !a.Grouped {
			out = append(out, &Group{Appearances: []*Appearance{a}})
			continue
		}
		g := idx[id]
		if g == nil {
			g = &Group{ID: id}
			idx[id] = g
			out = append(out, g)
		}
		g.Appearances = append(g.Appearances, a)
	}
	return out
}

// Merge adds the appearances and components of o (for example the
// `--drop-only` conversion of the same trace). An appearance already
// present (same group, appearance number, component, edge, direction and
// drop) is not added twice.
func (c *Capture) Merge(o *Capture) {
	type key struct {
		g           uint64
		app, comp   int
		edge        int
		dir         string
		drop        bool
		meta, iface string
	}
	seen := map[key]bool{}
	k := func(a *Appearance) key {
		if !a.HasMeta {
			return key{g: a.Meta.PktGroupID, iface: a.Interface + "\x00" + a.Source + "\x00" + strconv.Itoa(a.Line)}
		}
		return key{a.Meta.PktGroupID, a.Meta.Appearance, a.Meta.Component, a.Meta.Edge, a.Meta.Direction, a.Dropped, "m", ""}
	}
	for i := range c.Appearances {
		seen[k(&c.Appearances[i])] = true
	}
	for _, a := range o.Appearances {
		if kk := k(&a); !seen[kk] {
			seen[kk] = true
			c.Appearances = append(c.Appearances, a)
		}
	}
	if c.Components == nil {
		c.Components = map[int]*Component{}
	}
	for id, comp := range o.Components {
		if c.Components[id] == nil {
			c.Components[id] = comp
		}
	}
}

// AddComponents adds components (from `pktmon list --json`) that the
// capture does not describe itself.
func (c *Capture) AddComponents(cs []Component) {
	if c.Components == nil {
		c.Components = map[int]*Component{}
	}
	for i := range cs {
		if c.Components[cs[i].ID] == nil {
			c.Components[cs[i].ID] = &cs[i]
		}
	}
}

// maxTextErrors caps the errors ParseText reports.
const maxTextErrors = 20

// ParseText reads pktmon's text output (`pktmon format`/`etl2txt`, also
// pasted into issues): packet lines with their metadata, each optionally
// followed by a tab-indented one-line decode and hex dump lines, and the
// component table (`Component N, Type T, Name ...` and `Property:
// Component N, Name = Value`). Lines that are neither (other events,
// headers, a collector's "# " annotations) are skipped.
//
// pktmon's labels are localised, so where the English label is missing a
// packet line is read by position: PktGroupId, PktNumber, Appearance,
// Direction, Type, Component, Edge, Filter, [DropReason, DropLocation,]
// OriginalSize, LoggedSize (PktMon_FramePayload, PktMon_FrameDropPayload).
// Input may be UTF-8 or UTF-16 with a byte order mark, with LF or CRLF.
// Errors name the file, line and field; up to 20 are reported.
func ParseText(name string, data []byte) (*Capture, error) {
	text := decodeText(data)
	c := &Capture{Components: map[int]*Component{}}
	var errs []error
	fail := func(line int, field string, err error) {
		if len(errs) < maxTextErrors {
			errs = append(errs, &TextError{File: name, Line: line, Field: field, Err: err})
		}
	}
	var cur *Appearance
	var hexBuf []byte
	finish := func() {
		if cur == nil {
			return
		}
		if len(hexBuf) > 0 {
			switch {
			case len(hexBuf) < 14:
				fail(cur.Line+1, "hex dump", fmt.Errorf("%d bytes, shorter than an Ethernet header", len(hexBuf)))
			case cur.Meta.LoggedSize > 0 && len(hexBuf) != cur.Meta.LoggedSize:
				fail(cur.Line+1, "hex dump", fmt.Errorf("%d bytes, but the packet line says LoggedSize %d (a cut paste?)", len(hexBuf), cur.Meta.LoggedSize))
			default:
				cur.Frame, cur.Synthesized, cur.Known = hexBuf, false, FieldAll
			}
		}
		hexBuf = nil
		c.Appearances = append(c.Appearances, *cur)
		cur = nil
	}
	lines := strings.Split(text, "\n")
	for i, raw := range lines {
		n := i + 1
		line := strings.TrimRight(raw, "\r")
		trimmed := strings.TrimLeft(line, " ")
		if strings.HasPrefix(trimmed, "\t") {
			if cur == nil {
				continue
			}
			body := strings.TrimSpace(trimmed)
			if b, ok, err := hexLine(body); ok {
				if err != nil {
					fail(n, "hex dump", err)
					continue
				}
				hexBuf = append(hexBuf, b...)
				continue
			}
			if cur.Frame == nil {
				fr, known, err := synthesize(body, cur.Meta)
				if err != nil {
					fail(n, "decoded packet", err)
					continue
				}
				cur.Frame, cur.Synthesized, cur.Known = fr, true, known
			}
			continue
		}
		body := stripPrefix(trimmed)
		if body == "" || strings.HasPrefix(trimmed, "# ") || trimmed == "#" {
			continue
		}
		if kind := lineKind(body); kind != "" {
			finish()
			switch kind {
			case "packet":
				m, err := parseMetaText(body)
				if err != nil {
					fail(n, "packet", err)
					continue
				}
				cur = &Appearance{Source: name, Line: n, Time: stamp(trimmed), Meta: m, HasMeta: true, Grouped: true, Dropped: m.Drop}
			case "component":
				if err := c.component(body); err != nil {
					fail(n, "component", err)
				}
			case "property":
				if err := c.property(body); err != nil {
					fail(n, "property", err)
				}
			}
			continue
		}
		finish()
	}
	finish()
	if len(errs) > 0 {
		return c, joinErrs(errs)
	}
	if len(c.Appearances) == 0 {
		return c, &TextError{File: name, Line: len(lines), Field: "packets", Err: fmt.Errorf("no packet lines (want lines like \"PktGroupId N, PktNumber N, Appearance N, Direction Rx , ...\")")}
	}
	for i := range c.Appearances {
		a := &c.Appearances[i]
		if a.Frame == nil {
			return c, &TextError{File: name, Line: a.Line, Field: "packet", Err: fmt.Errorf("PktGroupId %d: no decoded line or hex dump after the packet line, so the packet's headers are unknown", a.Meta.PktGroupID)}
		}
	}
	return c, nil
}

type multiErr []error

func (m multiErr) Error() string {
	s := make([]string, len(m))
	for i, e := range m {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

func (m multiErr) Unwrap() []error { return m }

func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return multiErr(errs)
}

// decodeText returns data as a string, decoding UTF-16 with a byte order
// mark and dropping a UTF-8 one.
func decodeText(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		var order binary.ByteOrder = binary.LittleEndian
		if data[0] == 0xfe {
			order = binary.BigEndian
		}
		u := make([]uint16, 0, len(data)/2)
		for i := 2; i+1 < len(data); i += 2 {
			u = append(u, order.Uint16(data[i:]))
		}
		return string(utf16.Decode(u))
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		return string(data[3:])
	}
	return string(data)
}

// stripPrefix removes what pktmon puts before an event's text: the
// "[CPU]PID.TID::date time" stamp and the "[Microsoft-Windows-PktMon]"
// provider tag (the provider's name is not localised).
func stripPrefix(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "[Microsoft-Windows-PktMon]"); i >= 0 {
		return strings.TrimSpace(s[i+len("[Microsoft-Windows-PktMon]"):])
	}
	return s
}

// stamp reads the time of an event line "[CPU]PID.TID::2024-03-20
// 14:13:45.720095500 [Microsoft-Windows-PktMon] ...", or a line that starts
// with a bare time ("23:02:26.539704700 PktGroupId ..."); zero if neither.
func stamp(s string) time.Time {
	if _, rest, ok := strings.Cut(s, "::"); ok {
		f := strings.Fields(rest)
		if len(f) >= 2 {
			if t, err := time.Parse("2006-01-02 15:04:05.999999999", f[0]+" "+f[1]); err == nil {
				return t
			}
		}
		return time.Time{}
	}
	if f := strings.Fields(s); len(f) > 0 {
		if t, err := time.Parse("15:04:05.999999999", f[0]); err == nil {
			return t
		}
	}
	return time.Time{}
}

// lineKind classifies an event's text: "packet", "component", "property"
// or "" (anything else).
func lineKind(s string) string {
	if strings.Contains(s, "PktGroupId") {
		return "packet"
	}
	items := strings.Split(s, ",")
	if strings.HasPrefix(s, "Property:") || (len(items) >= 2 && strings.Contains(s, " = ") && lastNumber(strings.TrimSpace(items[0])) >= 0 && strings.Count(items[0], ":") == 1) {
		return "property"
	}
	if strings.HasPrefix(s, "Component ") && len(items) >= 3 && strings.Contains(items[1], "Type") {
		return "component"
	}
	if positional(items) {
		return "packet"
	}
	return ""
}

// positional reports whether items look like a packet line with localised
// labels: 10 items (12 with a drop) whose numeric fields end in numbers.
func positional(items []string) bool {
	if len(items) != 10 && len(items) != 12 {
		return false
	}
	num := []int{0, 1, 2, 5, 6, 7, len(items) - 2, len(items) - 1}
	for _, i := range num {
		if lastNumber(strings.TrimSpace(items[i])) < 0 {
			return false
		}
	}
	return true
}

// lastNumber returns the non-negative number that ends s, or -1.
func lastNumber(s string) int64 {
	f := strings.Fields(s)
	if len(f) == 0 {
		return -1
	}
	n, err := strconv.ParseInt(f[len(f)-1], 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// parseMetaText reads a packet line: by label when the labels are
// English, else by position.
func parseMetaText(s string) (Meta, error) {
	if strings.Contains(s, "PktGroupId") {
		return ParseMeta(s)
	}
	m := Meta{DropCode: -1}
	drop := false
	if i := strings.Index(s, ":"); i >= 0 && i < 20 && !strings.ContainsAny(s[:i], ",0123456789") {
		// A localised "Drop:" before the first item.
		drop, s = true, s[i+1:]
	}
	items := strings.Split(s, ",")
	if !positional(items) {
		return m, fmt.Errorf("%q: not %d or %d comma-separated items", Clip(s), 10, 12)
	}
	val := func(i int) string {
		f := strings.Fields(items[i])
		if len(f) == 0 {
			return ""
		}
		return f[len(f)-1]
	}
	atoi := func(i int) int { n, _ := strconv.Atoi(val(i)); return n }
	m.PktGroupID, _ = strconv.ParseUint(val(0), 10, 64)
	m.PktNumber, m.Appearance = atoi(1), atoi(2)
	m.Direction, m.Type = val(3), val(4)
	m.Component, m.Edge, m.Filter = atoi(5), atoi(6), atoi(7)
	if len(items) == 12 {
		drop = true
		m.DropReason = reasonOf(items[8])
		m.DropCode = DropCode(m.DropReason)
		m.DropLocation = val(9)
	}
	m.OriginalSize, m.LoggedSize = atoi(len(items)-2), atoi(len(items)-1)
	m.Drop = drop
	return m, nil
}

// reasonOf takes the reason out of a "<label> <reason>" item whose label
// may be localised: a known reason text at its end, else its last word.
func reasonOf(item string) string {
	item = strings.TrimSpace(item)
	best := ""
	for _, text := range dropReasons {
		if len(text) > len(best) && len(item) >= len(text) && strings.EqualFold(item[len(item)-len(text):], text) {
			best = text
		}
	}
	if best != "" {
		return best
	}
	f := strings.Fields(item)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// component reads "Component N, Type T , Name NAME[, description]".
func (c *Capture) component(s string) error {
	items := strings.Split(s, ",")
	id := lastNumber(strings.TrimSpace(items[0]))
	if id < 0 || id > 1<<31 {
		return fmt.Errorf("%q: no component number", Clip(items[0]))
	}
	comp := c.comp(int(id))
	comp.Type = lastWord(items[1])
	name := strings.TrimSpace(strings.Join(items[2:], ","))
	if f := strings.Fields(items[2]); len(f) > 1 {
		name = strings.TrimSpace(strings.TrimPrefix(name, f[0]))
	}
	comp.Name = name
	return nil
}

// property reads "Property: Component N, Name = Value".
func (c *Capture) property(s string) error {
	if i := strings.Index(s, ":"); i >= 0 && i < 20 {
		s = s[i+1:]
	}
	first, rest, ok := strings.Cut(s, ",")
	id := lastNumber(strings.TrimSpace(first))
	if !ok || id < 0 || id > 1<<31 {
		return fmt.Errorf("%q: no component number", Clip(s))
	}
	k, v, ok := strings.Cut(rest, "=")
	if !ok {
		return fmt.Errorf("%q: want Name = Value", Clip(rest))
	}
	comp := c.comp(int(id))
	comp.Properties[strings.TrimSpace(k)] = strings.TrimSpace(v)
	return nil
}

func (c *Capture) comp(id int) *Component {
	comp := c.Components[id]
	if comp == nil {
		comp = &Component{ID: id, Properties: map[string]string{}}
		c.Components[id] = comp
	}
	return comp
}

func lastWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// hexLine reads a hex dump line "0x0000:  0015 5dc8 8e16 ..." (tcpdump
// -xx style); ok is false when the line is not one.
func hexLine(s string) ([]byte, bool, error) {
	if !strings.HasPrefix(s, "0x") {
		return nil, false, nil
	}
	off, rest, ok := strings.Cut(s, ":")
	if !ok || len(off) < 3 {
		return nil, false, nil
	}
	if _, err := strconv.ParseUint(off[2:], 16, 32); err != nil {
		return nil, false, nil
	}
	// An ASCII column may follow two spaces after the hex groups.
	rest = strings.TrimSpace(rest)
	if i := strings.Index(rest, "  "); i >= 0 {
		rest = rest[:i]
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(rest), ""))
	if err != nil {
		return nil, true, fmt.Errorf("%q: %w", Clip(rest), err)
	}
	return b, true, nil
}

// synthesize builds a frame from pktmon's one-line decode of an Ethernet
// packet: "SRC-MAC > DST-MAC, ethertype IPv4 (0x0800), length N: A.B.C.D.P >
// E.F.G.H.Q: ..." (tcpdump's style). The fields it names are real; the
// TTL is 128 (unknown), the payload zeros, the length N (or the
// metadata's OriginalSize). It says which fields it knows.
func synthesize(s string, m Meta) ([]byte, Fields, error) {
	head, l3, ok := strings.Cut(s, ": ")
	if !ok {
		return nil, 0, fmt.Errorf("%q: want \"SRC > DST, ethertype ..., length N: ...\"", Clip(s))
	}
	parts := strings.Split(head, ",")
	macs := strings.Fields(parts[0])
	if len(macs) != 3 || macs[1] != ">" {
		return nil, 0, fmt.Errorf("%q: want \"SRC-MAC > DST-MAC\"", Clip(parts[0]))
	}
	src, err1 := net.ParseMAC(macs[0])
	dst, err2 := net.ParseMAC(macs[2])
	if err1 != nil || err2 != nil || len(src) != 6 || len(dst) != 6 {
		return nil, 0, fmt.Errorf("%q: bad MAC address", Clip(parts[0]))
	}
	etype := uint16(0)
	length := m.OriginalSize
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		if i := strings.Index(p, "(0x"); i >= 0 && strings.HasSuffix(p, ")") {
			v, err := strconv.ParseUint(p[i+3:len(p)-1], 16, 16)
			if err != nil {
				return nil, 0, fmt.Errorf("%q: bad ethertype", Clip(p))
			}
			etype = uint16(v)
		}
		if f := strings.Fields(p); len(f) == 2 && f[0] == "length" {
			n, err := strconv.Atoi(f[1])
			if err != nil || n < 14 || n > 65535+14 {
				return nil, 0, fmt.Errorf("%q: bad length", Clip(p))
			}
			length = n
		}
	}
	frame := make([]byte, 14, max(length, 64))
	copy(frame, dst)
	copy(frame[6:], src)
	binary.BigEndian.PutUint16(frame[12:], etype)
	if etype != 0x0800 {
		// Not IPv4: only the Ethernet header is known.
		frame = frame[:max(length, 14)]
		return frame, FieldMACs, nil
	}
	ip, known, err := ipv4From(strings.TrimSpace(l3), max(length-14, 20))
	if err != nil {
		return nil, 0, err
	}
	return append(frame, ip...), FieldMACs | known, nil
}

// ipv4From builds an IPv4 packet of total length n from "A.B.C.D[.P] >
// E.F.G.H[.Q]: rest": TCP when rest has "Flags [", ICMP when it starts with
// "ICMP", else UDP when there are ports.
func ipv4From(s string, n int) ([]byte, Fields, error) {
	addrs, rest, _ := strings.Cut(s, ": ")
	f := strings.Fields(addrs)
	if len(f) != 3 || f[1] != ">" {
		return nil, 0, fmt.Errorf("%q: want \"SRC > DST: ...\"", Clip(s))
	}
	sa, sp, okS := hostPort(f[0])
	da, dp, okD := hostPort(strings.TrimSuffix(f[2], ":"))
	if !okS || !okD {
		return nil, 0, fmt.Errorf("%q: bad IPv4 address", Clip(addrs))
	}
	proto, hl := uint8(0), 0
	switch {
	case strings.Contains(rest, "Flags ["):
		proto, hl = 6, 20
	case strings.HasPrefix(rest, "ICMP"):
		proto, hl = 1, 8
	case sp >= 0 && dp >= 0:
		proto, hl = 17, 8
	default:
		proto = 0xfd // experimental: nothing past the IP header is known
	}
	n = max(n, 20+hl)
	if n > 65535 {
		return nil, 0, fmt.Errorf("length %d: too long for IPv4", n)
	}
	b := make([]byte, n)
	b[0], b[8], b[9] = 0x45, 128, proto
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	a4, d4 := sa.As4(), da.As4()
	copy(b[12:], a4[:])
	copy(b[16:], d4[:])
	binary.BigEndian.PutUint16(b[10:], ^sum(b[:20], 0))
	known := FieldIPs
	l4 := b[20:]
	switch proto {
	case 6:
		binary.BigEndian.PutUint16(l4, uint16(sp))
		binary.BigEndian.PutUint16(l4[2:], uint16(dp))
		l4[12] = 5 << 4
		l4[13] = tcpFlags(rest)
		binary.BigEndian.PutUint16(l4[14:], 65535)
		binary.BigEndian.PutUint16(l4[16:], ^sum(l4, pseudo(b, len(l4))))
		known |= FieldPorts
	case 17:
		binary.BigEndian.PutUint16(l4, uint16(sp))
		binary.BigEndian.PutUint16(l4[2:], uint16(dp))
		binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
		c := ^sum(l4, pseudo(b, len(l4)))
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(l4[6:], c)
		known |= FieldPorts
	case 1:
		if strings.Contains(rest, "echo reply") {
			l4[0] = 0
		} else {
			l4[0] = 8
		}
		binary.BigEndian.PutUint16(l4[2:], ^sum(l4, 0))
	}
	return b, known, nil
}

// hostPort reads "A.B.C.D" or "A.B.C.D.P" (tcpdump's address.port).
func hostPort(s string) (netip.Addr, int, bool) {
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		return a, -1, true
	}
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return netip.Addr{}, -1, false
	}
	a, err := netip.ParseAddr(s[:i])
	p, err2 := strconv.ParseUint(s[i+1:], 10, 16)
	if err != nil || err2 != nil || !a.Is4() {
		return netip.Addr{}, -1, false
	}
	return a, int(p), true
}

// tcpFlags reads tcpdump's "Flags [S.]" (S syn, F fin, R rst, P push, .
// ack, U urg).
func tcpFlags(s string) uint8 {
	_, rest, _ := strings.Cut(s, "Flags [")
	fl, _, _ := strings.Cut(rest, "]")
	var f uint8
	for _, c := range fl {
		switch c {
		case 'F':
			f |= 0x01
		case 'S':
			f |= 0x02
		case 'R':
			f |= 0x04
		case 'P':
			f |= 0x08
		case '.':
			f |= 0x10
		case 'U':
			f |= 0x20
		}
	}
	return f
}

// sum is the RFC 1071 ones' complement sum of b added to initial.
func sum(b []byte, initial uint32) uint16 {
	s := initial
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// pseudo is the sum of the IPv4 pseudo-header of ip's L4 payload of n bytes.
func pseudo(ip []byte, n int) uint32 {
	var s uint32
	for i := 12; i < 20; i += 2 {
		s += uint32(ip[i])<<8 | uint32(ip[i+1])
	}
	return s + uint32(ip[9]) + uint32(n)
}
