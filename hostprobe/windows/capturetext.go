package windows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/pktmon"
)

// This file reads what the pktmon package does not (yet): `pktmon etl2txt`/`format` text
// keyed on position, component MACs given as PhysAddress, and `pktmon counters --json`.
// Its names start with pktmon so that it can move into package pktmon.

// pktmonTextPacket is one packet appearance line of pktmon's text output.
type pktmonTextPacket struct {
	Line int
	Meta pktmon.Meta
}

// pktmonText is what a pktmon text conversion says.
type pktmonText struct {
	Packets []pktmonTextPacket
	// MACs are the components' MAC addresses (PhysAddress properties), normalised.
	MACs map[int]string
}

// parsePktmonText reads `pktmon etl2txt` (or 1809 `pktmon format`) output. A packet line
// is "[cpu]pid.tid::time [Microsoft-Windows-PktMon] [Drop: ]PktGroupId N, PktNumber N,
// Appearance N, Direction Rx , Type Ethernet , Component N, Edge N, Filter N,
// [DropReason R, DropLocation L,] OriginalSize N, LoggedSize N" (PktMon_FramePayload and
// PktMon_FrameDropPayload). The labels are localised, so the fields are taken by
// position: 10 fields, or 12 for a drop; 9 and 11 without Edge. The numeric fields
// must end in a number; a field's value is its last word (DropReason and DropLocation:
// everything after the label). A component property line "Property: Component N,
// <name> = 0x00155DC88E16" gives a component's MAC: 12 hex digits after 0x. Other lines
// (decoded packets, tables) are skipped. Errors name the line.
func parsePktmonText(name, text string) (pktmonText, error) {
	out := pktmonText{MACs: map[int]string{}}
	for n, line := range strings.Split(text, "\n") {
		body := line
		if i := strings.Index(body, "[Microsoft-Windows-PktMon]"); i >= 0 {
			body = body[i+len("[Microsoft-Windows-PktMon]"):]
		}
		parts := strings.Split(body, ",")
		if id, mac, ok := pktmonPropertyMAC(parts); ok {
			out.MACs[id] = mac
			continue
		}
		// Field layouts by count: 10 a packet, 12 a drop (with DropReason and
		// DropLocation after Filter); drops may come without Edge (11, as in Microsoft's
		// packet-loss article), and so may packets (9).
		var edge, filter, reason int // positions; -1: absent
		switch len(parts) {
		case 9:
			edge, filter, reason = -1, 6, -1
		case 10:
			edge, filter, reason = 6, 7, -1
		case 11:
			edge, filter, reason = -1, 6, 7
		case 12:
			edge, filter, reason = 6, 7, 8
		default:
			continue
		}
		last := func(i int) string {
			f := strings.Fields(parts[i])
			if len(f) == 0 {
				return ""
			}
			return f[len(f)-1]
		}
		numeric := []int{0, 1, 2, 5, filter, len(parts) - 2, len(parts) - 1}
		if edge >= 0 {
			numeric = append(numeric, edge)
		}
		isPacket := true
		for _, i := range numeric {
			if _, err := strconv.ParseUint(last(i), 10, 64); err != nil {
				isPacket = false
			}
		}
		if !isPacket {
			continue
		}
		num := func(i int) int { v, _ := strconv.Atoi(last(i)); return v }
		gid, err := strconv.ParseUint(last(0), 10, 64)
		if err != nil {
			return out, fmt.Errorf("%s:%d: PktGroupId %q: not a number", name, n+1, last(0))
		}
		m := pktmon.Meta{PktGroupID: gid, PktNumber: num(1), Appearance: num(2), Direction: last(3), Type: last(4),
			Component: num(5), Filter: num(filter), OriginalSize: num(len(parts) - 2), LoggedSize: num(len(parts) - 1), DropCode: -1}
		if edge >= 0 {
			m.Edge = num(edge)
		}
		if reason >= 0 {
			m.Drop = true
			m.DropReason = afterLabel(parts[reason], "DropReason")
			m.DropLocation = afterLabel(parts[reason+1], "DropLocation")
			m.DropCode = pktmon.DropCode(m.DropReason)
		}
		out.Packets = append(out.Packets, pktmonTextPacket{Line: n + 1, Meta: m})
	}
	return out, nil
}

// afterLabel returns a field's value: the text after the English label, or after the
// first word when the label is localised.
func afterLabel(field, label string) string {
	field = strings.TrimSpace(field)
	if v, ok := strings.CutPrefix(field, label); ok {
		return strings.TrimSpace(v)
	}
	if _, v, ok := strings.Cut(field, " "); ok {
		return strings.TrimSpace(v)
	}
	return ""
}

// pktmonPropertyMAC reads "Property: Component N, <name> = 0x<12 hex>".
func pktmonPropertyMAC(parts []string) (int, string, bool) {
	if len(parts) != 2 {
		return 0, "", false
	}
	f := strings.Fields(parts[0])
	if len(f) == 0 {
		return 0, "", false
	}
	id, err := strconv.Atoi(f[len(f)-1])
	if err != nil {
		return 0, "", false
	}
	_, v, ok := strings.Cut(parts[1], "=")
	if !ok {
		return 0, "", false
	}
	mac, ok := pktmonMAC(strings.TrimSpace(v))
	return id, mac, ok
}

// pktmonMAC normalises a MAC as pktmon prints it: "0x00155DC88E16" (PhysAddress),
// "00-15-5D-C8-8E-16" or with colons; ok is false for anything else.
func pktmonMAC(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		if len(h) != 12 {
			return "", false
		}
		if _, err := strconv.ParseUint(h, 16, 64); err != nil {
			return "", false
		}
		return h[0:2] + ":" + h[2:4] + ":" + h[4:6] + ":" + h[6:8] + ":" + h[8:10] + ":" + h[10:12], true
	}
	m := pktmon.NormMAC(s)
	if len(m) != 17 {
		return "", false
	}
	for i, c := range m {
		if i%3 == 2 {
			if c != ':' {
				return "", false
			}
		} else if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	return m, true
}

// pktmonComponentMAC returns a component's MAC from `pktmon list --json`: its
// PhysAddress property (0x00155DC88E16), or a "MAC Address" one.
func pktmonComponentMAC(c pktmon.Component) string {
	for k, v := range c.Properties {
		switch strings.ToLower(strings.ReplaceAll(k, " ", "")) {
		case "physaddress", "macaddress", "mac":
			if m, ok := pktmonMAC(v); ok {
				return m
			}
		}
	}
	return ""
}

// joinCapture gives each packet of the two pcapng conversions of one ETL (all packets
// without drops, and --drop-only) the metadata of the text conversion of the same ETL:
// each conversion lists the appearances in the ETL's order, so the n-th packet of the
// plain pcapng is the n-th non-drop line of the text and the n-th of the drop pcapng
// the n-th drop line. Counts that differ, or a LoggedSize that is not the frame's
// length, mean the files do not line up: an error, not a guess.
func joinCapture(flows, drops []pktmon.PacketRecord, text pktmonText, names [3]string) ([]pktmon.PacketRecord, error) {
	var tf, td []pktmonTextPacket
	for _, p := range text.Packets {
		if p.Meta.Drop {
			td = append(td, p)
		} else {
			tf = append(tf, p)
		}
	}
	if len(flows) != len(tf) {
		return nil, fmt.Errorf("%s has %d packets but %s has %d packet lines without a drop: the conversions do not line up", names[0], len(flows), names[2], len(tf))
	}
	if len(drops) != len(td) {
		return nil, fmt.Errorf("%s has %d packets but %s has %d drop lines: the conversions do not line up", names[1], len(drops), names[2], len(td))
	}
	out := make([]pktmon.PacketRecord, 0, len(flows)+len(drops))
	join := func(recs []pktmon.PacketRecord, lines []pktmonTextPacket, name string, drop bool) error {
		for i := range recs {
			r, l := recs[i], lines[i]
			if l.Meta.LoggedSize > 0 && l.Meta.LoggedSize != len(r.Frame) {
				return fmt.Errorf("%s: packet %d is %d bytes but %s:%d says LoggedSize %d: the conversions do not line up", name, i+1, len(r.Frame), names[2], l.Line, l.Meta.LoggedSize)
			}
			r.Meta, r.HasMeta, r.Dropped = l.Meta, true, drop || l.Meta.Drop
			out = append(out, r)
		}
		return nil
	}
	if err := join(flows, tf, names[0], false); err != nil {
		return nil, err
	}
	if err := join(drops, td, names[1], true); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

// pktmonCounter is one component's packet counters (`pktmon counters --json`).
type pktmonCounter struct {
	Component int
	// In and Out count packets by direction: Rx/Ingress/In/Inbound, Tx/Egress/Out/Outbound.
	In, Out uint64
	Drops   uint64
}

// parsePktmonCounters reads `pktmon counters --json`. Microsoft documents the command
// but not its JSON, so the reader is shape-tolerant: any object with an "Id" is a
// component (as in `pktmon list --json`); within it, a number under a key naming packets
// counts in or out by the nearest key naming a direction (Rx/In/Inbound/Ingress,
// Tx/Out/Outbound/Egress), and drops under keys naming drops. Components are returned
// by id; a component whose counters have no packet numbers gets zeros.
func parsePktmonCounters(name string, data []byte) (map[int]pktmonCounter, error) {
	var top any
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("%s: pktmon counters: %w", name, err)
	}
	out := map[int]pktmonCounter{}
	var errOut error
	var walkComp func(v any, c *pktmonCounter, dir string, drop bool)
	walkComp = func(v any, c *pktmonCounter, dir string, drop bool) {
		switch t := v.(type) {
		case map[string]any:
			for k, sub := range t {
				d, dr := dir, drop
				lk := strings.ToLower(k)
				switch {
				case strings.Contains(lk, "drop"):
					dr = true
				case lk == "rx" || lk == "in" || strings.Contains(lk, "inbound") || strings.Contains(lk, "ingress") || strings.HasPrefix(lk, "rx") || strings.HasPrefix(lk, "in"):
					d = "in"
				case lk == "tx" || lk == "out" || strings.Contains(lk, "outbound") || strings.Contains(lk, "egress") || strings.HasPrefix(lk, "tx") || strings.HasPrefix(lk, "out"):
					d = "out"
				}
				if n, ok := sub.(json.Number); ok && (strings.Contains(lk, "packet") || strings.Contains(lk, "pkt") || d != dir || dr != drop) && !strings.Contains(lk, "byte") {
					v, err := strconv.ParseUint(n.String(), 10, 64)
					if err != nil {
						errOut = fmt.Errorf("%s: pktmon counters: component %d: %s %q: not a count", name, c.Component, k, n)
						continue
					}
					switch {
					case dr:
						c.Drops += v
					case d == "in":
						c.In += v
					case d == "out":
						c.Out += v
					}
					continue
				}
				if lk == "id" || lk == "name" || lk == "type" {
					continue
				}
				walkComp(sub, c, d, dr)
			}
		case []any:
			for _, sub := range t {
				walkComp(sub, c, dir, drop)
			}
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if idv, ok := t["Id"]; ok {
				id, err := strconv.Atoi(strings.Trim(fmt.Sprint(idv), `"`))
				if err != nil {
					errOut = fmt.Errorf("%s: pktmon counters: Id %v: not a number", name, idv)
					return
				}
				c := out[id]
				c.Component = id
				for k, sub := range t {
					if k == "Components" {
						walk(sub)
						continue
					}
					if k != "Id" {
						walkComp(map[string]any{k: sub}, &c, "", false)
					}
				}
				out[id] = c
				return
			}
			for _, sub := range t {
				walk(sub)
			}
		case []any:
			for _, sub := range t {
				walk(sub)
			}
		}
	}
	walk(top)
	if errOut != nil {
		return nil, errOut
	}
	return out, nil
}
