package nodetext

import (
	"regexp"
	"strings"

	"github.com/hnspath/hnspath/emulator/hns"
)

// guidRE matches a GUID as HNS prints it (either case, no braces).
var guidRE = regexp.MustCompile(`[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}`)

// hnsdiagSection returns the kind of the "hnsdiag list" section a heading
// line opens ("Networks:", "Endpoints:", ...), or "".
func hnsdiagSection(t string) string {
	switch strings.ToLower(t) {
	case "networks:":
		return hns.KindNetwork
	case "endpoints:":
		return hns.KindEndpoint
	case "namespaces:":
		return hns.KindNamespace
	case "loadbalancers:", "load balancers:":
		return hns.KindLoadBalancer
	}
	return ""
}

// hnsdiagTable reads one section of "hnsdiag list": the heading, the column
// header, then one row per object. Column widths do not hold (a long name
// pushes the ID to the right), so a row is split at its first GUID: the name
// before it, the network name (endpoints) or other values after it.
func (r *reader) hnsdiagTable() {
	head := r.lines[r.i]
	kind := hnsdiagSection(strings.TrimSpace(head.s))
	if kind == "" {
		kind = r.hnsdiagHeader() // "hnsdiag list endpoints": no heading
	} else {
		r.i++
	}
	// The column header.
	if r.i < len(r.lines) && r.hnsdiagHeader() != "" {
		r.i++
	} else {
		r.node.notef(r.file, head.n, "hnsdiag %s section without its column header", kind)
	}
	rows := 0
	for r.i < len(r.lines) {
		l := r.lines[r.i]
		t := strings.TrimSpace(l.s)
		if l.skip || t == "" || hnsdiagSection(t) != "" {
			break
		}
		loc := guidRE.FindStringIndex(t)
		if loc == nil {
			r.errs.add(r.file, l.n, kind+" row", "no ID (GUID) in an hnsdiag %s row: %q", kind, clip(t))
			r.i++
			continue
		}
		sk := Skeleton{File: r.file, Line: l.n, Kind: kind, ID: t[loc[0]:loc[1]]}
		before := strings.TrimSpace(strings.TrimRight(t[:loc[0]], "| "))
		after := strings.TrimSpace(strings.TrimLeft(t[loc[1]:], "| "))
		switch kind {
		case hns.KindNetwork:
			sk.Name = before
		case hns.KindEndpoint:
			sk.Name, sk.Network = before, after
		default:
			if after != "" {
				sk.Extra = strings.Fields(strings.ReplaceAll(after, "|", " "))
			}
		}
		r.node.Skeletons = append(r.node.Skeletons, sk)
		rows++
		r.i++
	}
	if rows == 0 {
		r.node.notef(r.file, head.n, "hnsdiag lists no %ss", kind)
	}
}

// hnsdiagRecord files the record form of newer hnsdiag versions:
// "Endpoint : <id>" followed by indented "Name : ...", "IP Address : ...".
func (r *reader) hnsdiagRecord(kind string, fs []field) {
	sk := Skeleton{File: r.file, Line: fs[0].line, Kind: kind, ID: guidRE.FindString(fs[0].value)}
	for _, f := range fs[1:] {
		v := f.value
		switch strings.ToLower(f.key) {
		case "name":
			sk.Name = v
		case "ip address", "ipaddress":
			// Keep the address; text after it is not hnsdiag's.
			if fl := strings.Fields(v); len(fl) > 0 {
				sk.IP = fl[0]
				if len(fl) > 1 {
					r.node.notef(r.file, f.line, "%s: ignoring the text after the address: %q", f.key, strings.Join(fl[1:], " "))
				}
			}
		case "virtual network name", "network name", "virtual network":
			sk.Network = v
		default:
			sk.Extra = append(sk.Extra, f.key+"="+v)
		}
	}
	r.node.Skeletons = append(r.node.Skeletons, sk)
}

// dashesRE matches the underline row of PowerShell's table view.
var dashesRE = regexp.MustCompile(`^\s*-+(\s+-+)*\s*$`)

// isTableHeader reports whether the line at r.i is a table header (the
// next line is its dashes).
func (r *reader) isTableHeader() bool {
	return r.i+1 < len(r.lines) && dashesRE.MatchString(r.lines[r.i+1].s) && strings.TrimSpace(r.lines[r.i].s) != ""
}

// skipTable skips a PowerShell table (the summary that collectlogs writes
// before the JSON of the same objects), with a note.
func (r *reader) skipTable() {
	head := r.lines[r.i]
	r.i += 2
	rows := 0
	for r.i < len(r.lines) && !r.lines[r.i].skip && strings.TrimSpace(r.lines[r.i].s) != "" {
		rows++
		r.i++
	}
	r.node.notef(r.file, head.n, "skipped a table of %d row(s) (%s): a summary; the objects are read from their JSON",
		rows, strings.Join(strings.Fields(head.s), ", "))
}

// hnsdiagHeader returns the kind of the hnsdiag table whose column header is
// the line at r.i (a row with a GUID follows, or nothing does), or "".
func (r *reader) hnsdiagHeader() string {
	l := r.lines[r.i]
	f := strings.Join(strings.Fields(strings.ReplaceAll(l.s, "|", " ")), " ")
	kind := ""
	switch f {
	case "Name ID Virtual Network Name":
		kind = hns.KindEndpoint
	case "Name ID":
		kind = hns.KindNetwork
	case "ID Endpoint IDs":
		kind = hns.KindNamespace
	case "ID Virtual IPs Direct IP IDs":
		kind = hns.KindLoadBalancer
	default:
		return ""
	}
	if r.i+1 < len(r.lines) {
		next := strings.TrimSpace(r.lines[r.i+1].s)
		if next != "" && !r.lines[r.i+1].skip && !guidRE.MatchString(next) && hnsdiagSection(next) == "" {
			return ""
		}
	}
	return kind
}
