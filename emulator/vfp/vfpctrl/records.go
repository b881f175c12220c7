package vfpctrl

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Record is one block of vfpctrl "key : value" output: a switch port of
// /list-vmswitch-port, a unified flow of /list-unified-flow, the answer of
// /process-tuples.
type Record struct {
	// Header is the line that opened the record ("UNIFIED FLOW : OUT tcp ...",
	// "Port name : ..."), trimmed.
	Header string
	// Line is the header's 1-based line number.
	Line int
	// Keys are the record's keys in order, Values their values (a key that repeats
	// keeps every value, joined by "\n").
	Keys   []string
	Values map[string]string
}

// Get returns the value of key (case-insensitive), or "".
func (r *Record) Get(key string) string {
	for _, k := range r.Keys {
		if strings.EqualFold(k, key) {
			return r.Values[k]
		}
	}
	return ""
}

// ParseRecords splits vfpctrl output into records. A record starts at a line whose key
// is one of starts (case-insensitive; e.g. "Port name" for /list-vmswitch-port,
// "UNIFIED FLOW" for /list-unified-flow), or at the first "key : value" line when
// starts is empty; "ITEM LIST", "=====" lines, blank lines, lines starting with "#" and "Command ... succeeded!"
// end nothing and are skipped. A line starting with "ERROR:" is an error naming the line.
// Lines without " : " continue the previous value. The real formats of
// /list-unified-flow and /process-tuples are not public (docs/windows-tools.md §6):
// the parser keeps every key, so callers read the ones they know.
func ParseRecords(name string, r io.Reader, starts ...string) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	var out []Record
	var cur *Record
	last := ""
	line := 0
	for sc.Scan() {
		line++
		raw := strings.TrimRight(sc.Text(), "\r")
		s := strings.TrimSpace(raw)
		// Select-String -Context marks the matching line with "> ".
		s = strings.TrimSpace(strings.TrimPrefix(s, "> "))
		switch {
		case s == "", strings.HasPrefix(s, "#"), s == "ITEM LIST", strings.HasPrefix(s, "====="), strings.HasPrefix(s, "Command ") && strings.HasSuffix(strings.TrimSuffix(s, "!"), "succeeded"):
			continue
		case strings.HasPrefix(s, "ERROR:"):
			return out, &ParseError{File: name, Line: line, Field: "ERROR", Err: fmt.Errorf("%s", strings.TrimSpace(strings.TrimPrefix(s, "ERROR:")))}
		}
		key, val, ok := strings.Cut(s, " : ")
		if !ok {
			if k, found := strings.CutSuffix(s, " :"); found {
				key, val, ok = k, "", true
			} else if k, v, found := strings.Cut(s, ": "); found && !strings.Contains(k, " ") {
				key, val, ok = k, v, true
			}
		}
		if !ok {
			if cur != nil && last != "" {
				cur.Values[last] += "\n" + s
				continue
			}
			return out, &ParseError{File: name, Line: line, Field: "", Err: fmt.Errorf("line %q is not \"key : value\"", clip(s))}
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		opens := cur == nil && len(starts) == 0
		for _, st := range starts {
			if strings.EqualFold(key, st) {
				opens = true
			}
		}
		if opens {
			out = append(out, Record{Header: s, Line: line, Values: map[string]string{}})
			cur = &out[len(out)-1]
		}
		if cur == nil {
			return out, &ParseError{File: name, Line: line, Field: key, Err: fmt.Errorf("key before the first record (want one of %q)", starts)}
		}
		if old, dup := cur.Values[key]; dup {
			cur.Values[key] = old + "\n" + val
		} else {
			cur.Keys = append(cur.Keys, key)
			cur.Values[key] = val
		}
		last = key
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// SwitchPort is a port of `vfpctrl /list-vmswitch-port`.
type SwitchPort struct {
	Name, FriendlyName string
	SwitchName         string
	MAC                string // lower case with colons, "" when not printed
}

// ParseSwitchPorts reads `vfpctrl /list-vmswitch-port` (fields "Port name", "Port
// Friendly name", "Switch name", "MAC address" as Microsoft's parsers read them,
// SdnDiag.Server.psm1:2361-2500).
func ParseSwitchPorts(name string, r io.Reader) ([]SwitchPort, error) {
	recs, err := ParseRecords(name, r, "Port name")
	if err != nil {
		return nil, err
	}
	out := make([]SwitchPort, 0, len(recs))
	for _, rec := range recs {
		sp := SwitchPort{Name: rec.Get("Port name"), FriendlyName: rec.Get("Port Friendly name"), SwitchName: rec.Get("Switch name")}
		if m := rec.Get("MAC address"); m != "" {
			sp.MAC = normMAC(m)
		} else if m := rec.Get("MAC Address"); m != "" {
			sp.MAC = normMAC(m)
		}
		out = append(out, sp)
	}
	return out, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// normMAC writes a MAC in lower case with colons ("00-15-5D-..." as
// Windows prints it becomes "00:15:5d:...").
func normMAC(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "-", ":"))
}
