package vfpctrl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// A node's VFP dump comes in one of these shapes:
//
//   - one listing: `vfpctrl /port P /list-rule` (or /layer L /list-rule)
//     output, possibly pasted with the command line above it;
//   - microsoft/SDN collectlogs.ps1's vfpOutput.txt, written by
//     dumpVfpPolicies.ps1 (Kubernetes/windows/debug/): first the switch's
//     ports as a table ("Port name  Mac Address  PortId" over dashes), then
//     per port `echo "Policy for port : " $portGuid` (two lines: the label
//     and the GUID) followed by the port's /list-space, /list-mapping,
//     /list-rule, /get-port-state and /list-nat-range outputs, each ending
//     with "Command <verb> succeeded!". Some versions of the script run
//     /get-rule-counter instead of /list-rule: those dumps carry the
//     layer, group and rule names without the rules' fields;
//   - what `hnspath vfp` prints: "# vfpctrl /port P /list-rule" above
//     each port's listing.
//
// ParseDump reads all three.

// PortDump is one port's part of a dump.
type PortDump struct {
	// Port is the port's name as the dump gives it (a GUID on real hosts:
	// the HNS endpoint's port), or "" for a listing without a header.
	Port string
	// MAC is the port's MAC from the dump's port table, or "".
	MAC string
	// Line is the 1-based line where the port's part starts.
	Line int
	// Listing is the port's /list-rule output; nil when the dump has none
	// for the port.
	Listing *Listing
	// Counters are the port's /get-rule-counter lines, when the dump has
	// them (instead of, or besides, the listing).
	Counters []RuleCounterLine
}

// Dump is a parsed VFP dump.
type Dump struct {
	Ports []PortDump
}

// Port returns the dump's part for port name (case-insensitive), or nil.
func (d *Dump) Port(name string) *PortDump {
	for i := range d.Ports {
		if strings.EqualFold(d.Ports[i].Port, name) {
			return &d.Ports[i]
		}
	}
	return nil
}

// ParseDump reads a VFP dump of one port or many (see the shapes above).
// Errors name the file and line; a port whose output has errors is still
// returned with what could be read. Pastes that leave lines out are not
// errors: they are Listing.Gaps.
func ParseDump(name string, data []byte) (*Dump, error) {
	text := strings.ReplaceAll(decodeText(data), "\r\n", "\n")
	text = strings.TrimPrefix(text, "\ufeff")
	lines := strings.Split(text, "\n")
	d := &Dump{}
	macs := portTable(lines)
	type section struct {
		port       string
		start, end int // lines[start:end], start is the header's index
		body       int // first line after the header
	}
	var secs []section
	cur := -1
	open := func(port string, at, body int) {
		if cur >= 0 {
			secs[cur].end = at
		}
		secs = append(secs, section{port: port, start: at, body: body})
		cur = len(secs) - 1
	}
	for i := 0; i < len(lines); i++ {
		s := strings.TrimSpace(lines[i])
		if rest, ok := cutLabel(s, "Policy for port"); ok {
			port, body := rest, i+1
			if port == "" {
				// echo "Policy for port : " $portGuid prints the GUID on
				// the next line.
				for j := i + 1; j < len(lines); j++ {
					if t := strings.TrimSpace(lines[j]); t != "" {
						if isPortName(t) {
							port, body = t, j+1
						}
						break
					}
				}
			}
			open(port, i, body)
			i = body - 1
			continue
		}
		c := strings.TrimSpace(strings.TrimPrefix(s, "#"))
		if port, _, _, ok := commandLine(c); ok && port != "" && (cur < 0 || !strings.EqualFold(secs[cur].port, port)) {
			// An echoed command line (or hnspath vfp's "# vfpctrl /port P
			// ..." header) starts the port's part; the listing keeps the
			// line, which may scope it to a layer.
			open(port, i, i)
		}
	}
	if len(secs) == 0 {
		secs = append(secs, section{start: 0, body: 0})
		cur = 0
	}
	secs[cur].end = len(lines)
	if secs[0].start > 0 && hasListLines(lines[:secs[0].start]) {
		// Listing lines before the first header: a port of its own.
		secs = append([]section{{start: 0, body: 0, end: secs[0].start}}, secs...)
	}
	var errs []error
	for _, sc := range secs {
		pd := PortDump{Port: sc.port, MAC: macs[strings.ToUpper(sc.port)], Line: sc.start + 1}
		for _, seg := range segments(lines, sc.body, sc.end) {
			switch {
			case seg.verb == "list-rule" || seg.verb == "list-layer" || seg.verb == "list-group" ||
				(seg.verb == "" && hasListLines(lines[seg.from:seg.to])):
				l, err := parseLines(name, lines[seg.from:seg.to], seg.from+1)
				if err != nil {
					errs = append(errs, err)
				}
				if pd.Listing == nil {
					pd.Listing = l
				} else {
					pd.Listing.Layers = append(pd.Listing.Layers, l.Layers...)
					pd.Listing.Gaps = append(pd.Listing.Gaps, l.Gaps...)
				}
				if pd.Port == "" {
					pd.Port = l.Port
				}
			case seg.verb == "get-rule-counter":
				cs, err := ParseRuleCounters(strings.NewReader(strings.Join(lines[seg.from:seg.to], "\n")))
				if err != nil {
					errs = append(errs, relocate(err, name, seg.from))
				}
				pd.Counters = append(pd.Counters, cs...)
			}
		}
		if pd.Listing == nil && pd.Counters == nil && pd.Port == "" {
			continue
		}
		d.Ports = append(d.Ports, pd)
	}
	if len(d.Ports) == 0 {
		errs = append(errs, &ParseError{File: name, Line: 1, Err: errors.New("no vfpctrl /list-rule output (no LAYER, GROUP or RULE line) and no \"Policy for port\" section")})
	}
	if len(errs) > maxParseErrors {
		errs = errs[:maxParseErrors]
	}
	return d, errors.Join(errs...)
}

// segment is one command's output within a port's part: lines[from:to],
// verb from its "Command <verb> succeeded!" line ("" when it has none).
type segment struct {
	from, to int
	verb     string
}

func segments(lines []string, from, to int) []segment {
	var out []segment
	start := from
	for i := from; i < to; i++ {
		s := strings.TrimSpace(lines[i])
		if v, ok := strings.CutPrefix(s, "Command "); ok {
			if v, ok := strings.CutSuffix(v, " succeeded!"); ok {
				out = append(out, segment{from: start, to: i + 1, verb: strings.ToLower(strings.TrimSpace(v))})
				start = i + 1
			}
		}
	}
	if start < to {
		out = append(out, segment{from: start, to: to})
	}
	return out
}

// hasListLines reports whether lines hold a LAYER, GROUP or RULE line.
func hasListLines(lines []string) bool {
	for _, l := range lines {
		k, _, ok := splitKV(strings.TrimSpace(l))
		if ok && (k == "LAYER" || k == "GROUP" || k == "RULE") {
			return true
		}
	}
	return false
}

// cutLabel returns what follows "label :" (or "label:") on s.
func cutLabel(s, label string) (string, bool) {
	rest, ok := strings.CutPrefix(s, label)
	if !ok {
		return "", false
	}
	rest = strings.TrimSpace(rest)
	rest, ok = strings.CutPrefix(rest, ":")
	return strings.TrimSpace(rest), ok
}

// isPortName reports whether s looks like a vfpctrl port name: one word
// (real ports are named by GUID).
func isPortName(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t:")
}

// portTable reads the "Port name / Mac Address / PortId" table at the top
// of a dumpVfpPolicies.ps1 dump: port name (upper case) to MAC.
func portTable(lines []string) map[string]string {
	out := map[string]string{}
	for i := 0; i+1 < len(lines); i++ {
		h := strings.ToLower(lines[i])
		if !strings.Contains(h, "port name") || !strings.Contains(h, "mac address") || !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "---") {
			continue
		}
		for j := i + 2; j < len(lines); j++ {
			f := strings.Fields(lines[j])
			if len(f) < 2 {
				break
			}
			out[strings.ToUpper(f[0])] = f[1]
		}
		break
	}
	return out
}

// relocate adds a line offset and the file name to parse errors.
func relocate(err error, name string, offset int) error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var pe *ParseError
		if errors.As(e, &pe) {
			cp := *pe
			cp.File, cp.Line = name, pe.Line+offset
			out = append(out, &cp)
			return
		}
		out = append(out, fmt.Errorf("%s: %w", name, e))
	}
	walk(err)
	return errors.Join(out...)
}

// decodeText returns data as a string, decoding UTF-16 (what Windows
// PowerShell 5.1's ">" and Out-File write by default, with a byte order
// mark) and UTF-16LE without a mark when its ASCII text shows as every
// other byte zero.
func decodeText(data []byte) string {
	var order binary.ByteOrder
	switch {
	case len(data) >= 2 && data[0] == 0xFF && data[1] == 0xFE:
		order, data = binary.LittleEndian, data[2:]
	case len(data) >= 2 && data[0] == 0xFE && data[1] == 0xFF:
		order, data = binary.BigEndian, data[2:]
	case len(data) >= 4 && data[0] != 0 && data[1] == 0 && data[2] != 0 && data[3] == 0:
		order = binary.LittleEndian
	default:
		return string(data)
	}
	u := make([]uint16, len(data)/2)
	for i := range u {
		u[i] = order.Uint16(data[2*i:])
	}
	return string(utf16.Decode(u))
}
