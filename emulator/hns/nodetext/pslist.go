package nodetext

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/emulator/hns"
)

// keyLineRE matches a line of PowerShell's list view (and of hnsdiag's
// record form): the property name, padding, " : " and the value.
var keyLineRE = regexp.MustCompile(`^(\s*)([A-Za-z][\w ().-]*?) +:(?: (.*))?$`)

// field is one property of a list record.
type field struct {
	key, value string
	line       int
	indent     int
}

// braceDepth returns the number of '{' not yet closed in s.
func braceDepth(s string) int {
	d := 0
	for _, c := range s {
		switch c {
		case '{':
			d++
		case '}':
			d--
		}
	}
	return d
}

// joinWrapped joins a value wrapped by PowerShell's console width.
func joinWrapped(prev, cont string) string {
	cont = strings.TrimSpace(cont)
	if strings.HasSuffix(prev, " ") || prev == "" {
		return prev + cont
	}
	return prev + " " + cont
}

// readRecord reads the list record that starts at r.i: up to a blank,
// prompt or annotation line (a value whose braces are still open goes on).
func (r *reader) readRecord() []field {
	var fs []field
	base := -1
	for r.i < len(r.lines) {
		l := r.lines[r.i]
		open := len(fs) > 0 && braceDepth(fs[len(fs)-1].value) > 0
		if l.skip || (strings.TrimSpace(l.s) == "" && !open) {
			break
		}
		m := keyLineRE.FindStringSubmatch(l.s)
		switch {
		case m != nil && !open && (base < 0 || len(m[1]) >= base):
			if base < 0 {
				base = len(m[1])
			}
			fs = append(fs, field{key: m[2], value: strings.TrimRight(m[3], " "), line: l.n, indent: len(m[1])})
		case len(fs) > 0:
			f := &fs[len(fs)-1]
			f.value = strings.TrimRight(joinWrapped(f.value, l.s), " ")
		default:
			r.node.notef(r.file, l.n, "skipped: %q", clip(strings.TrimSpace(l.s)))
		}
		r.i++
	}
	return fs
}

func has(fs []field, keys ...string) bool {
	for _, k := range keys {
		found := false
		for _, f := range fs {
			if strings.EqualFold(f.key, k) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func get(fs []field, key string) string {
	for _, f := range fs {
		if strings.EqualFold(f.key, key) {
			return f.value
		}
	}
	return ""
}

// hnsdiagRecordKinds are the first keys of hnsdiag's record form.
var hnsdiagRecordKinds = map[string]string{
	"network": hns.KindNetwork, "endpoint": hns.KindEndpoint, "namespace": hns.KindNamespace,
	"loadbalancer": hns.KindLoadBalancer, "load balancer": hns.KindLoadBalancer,
}

// listRecord reads one list record and files it by its properties.
func (r *reader) listRecord() {
	fs := r.readRecord()
	if len(fs) == 0 {
		return
	}
	start := fs[0].line
	if kind, ok := hnsdiagRecordKinds[strings.ToLower(fs[0].key)]; ok && guidRE.MatchString(fs[0].value) {
		r.hnsdiagRecord(kind, fs)
		return
	}
	switch {
	case has(fs, "InternalIPInterfaceAddressPrefix") || has(fs, "TcpEstablishedConnectionTimeout"):
		m := map[string]string{}
		for _, f := range fs {
			m[f.key] = f.value
		}
		r.node.NATs = append(r.node.NATs, NetNat{File: r.file, Line: start, Fields: m})
	case has(fs, "StaticMappingID") || has(fs, "NatName", "InternalIPAddress", "ExternalPort"):
		r.node.Mappings = append(r.node.Mappings, StaticMapping{
			File: r.file, Line: start, NatName: get(fs, "NatName"), Protocol: get(fs, "Protocol"),
			ExternalIPAddress: get(fs, "ExternalIPAddress"), ExternalPort: get(fs, "ExternalPort"),
			InternalIPAddress: get(fs, "InternalIPAddress"), InternalPort: get(fs, "InternalPort"),
			RemoteExternalIPAddressPrefix: get(fs, "RemoteExternalIPAddressPrefix"),
		})
	case has(fs, "InternalSourceAddress", "ExternalSourcePort"):
		r.node.notef(r.file, start, "skipped a Get-NetNatSession record: NAT sessions are state, not configuration (hnspath show --format get-netnatsession --pcap prints the emulator's)")
	case has(fs, "InterfaceAlias") || has(fs, "InterfaceIndex") || has(fs, "ifIndex"):
		r.node.notef(r.file, start, "skipped a Get-NetIPAddress/Get-NetIPInterface/Get-NetRoute record (NICs are read from a collectlogs bundle's ip.txt)")
	default:
		r.hnsListObject(fs)
	}
}

// psQuiet are properties PowerShell adds to objects (remoting, jobs) that
// are not HNS's.
var psQuiet = map[string]bool{"runspaceid": true, "pscomputername": true, "psshowcomputername": true}

// stringKeys are HNS properties that are strings even when they look like
// numbers or booleans.
var stringKeys = map[string]bool{
	"name": true, "id": true, "virtualnetwork": true, "virtualnetworkname": true, "dnssuffix": true,
	"dnsserverlist": true, "macaddress": true, "ipaddress": true, "natname": true, "gatewayaddress": true,
	"managementip": true, "networkadaptername": true, "sourcevip": true, "pa": true, "vip": true,
}

// hnsListObject converts a list record of Get-HnsNetwork, Get-HnsEndpoint or
// Get-HnsPolicyList into the JSON object ConvertTo-Json would have written,
// as far as the list view kept it.
func (r *reader) hnsListObject(fs []field) {
	obj := map[string]any{}
	for _, f := range fs {
		if psQuiet[strings.ToLower(f.key)] {
			continue
		}
		p := &psParser{r: r, line: f.line, quiet: strings.EqualFold(f.key, "Resources") || strings.EqualFold(f.key, "Health")}
		v, ok := p.value(f.value, f.key, stringKeys[strings.ToLower(f.key)])
		if ok {
			obj[f.key] = v
		}
	}
	js, err := json.Marshal(obj)
	if err != nil {
		r.errs.add(r.file, fs[0].line, "", "%v", err)
		return
	}
	r.version(js, fs[0].line)
	r.objs = append(r.objs, hns.RawObject{JSON: js, Line: fs[0].line})
}

// psParser parses values as PowerShell's formatter prints them.
type psParser struct {
	r     *reader
	line  int
	quiet bool // bookkeeping (Resources, Health): losses are not worth a note
}

// value parses one printed value; ok is false when nothing is left of it
// (empty, or a type name standing for a value that was not printed).
func (p *psParser) value(s, path string, str bool) (any, bool) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, false
	case s == "{}":
		return []any{}, true
	case strings.HasPrefix(s, "@{") && strings.HasSuffix(s, "}"):
		return p.hashtable(s[2:len(s)-1], path), true
	case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
		return p.collection(s[1:len(s)-1], path), true
	case strings.HasPrefix(s, "System.") && !strings.Contains(s, " "):
		if !p.quiet {
			p.r.node.notef(p.r.file, p.line, "%s: PowerShell printed the type name %q instead of the value (a nested collection): lost; "+
				"ConvertTo-Json -Depth 10 keeps it", path, s)
		}
		return nil, false
	case str:
		return s, true
	case s == "True":
		return true, true
	case s == "False":
		return false, true
	}
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return json.Number(s), true
	}
	if _, err := strconv.ParseUint(s, 10, 64); err == nil {
		return json.Number(s), true
	}
	return s, true
}

// splitTop splits s at sep where no brace is open.
func splitTop(s, sep string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
		}
		if depth == 0 && strings.HasPrefix(s[i:], sep) {
			out = append(out, s[start:i])
			start = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(out, s[start:])
}

// hashtable parses "Key=Value; Key2=Value2" (the inside of "@{...}").
func (p *psParser) hashtable(s, path string) map[string]any {
	m := map[string]any{}
	for _, part := range splitTop(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			p.r.node.notef(p.r.file, p.line, "%s: %q is not Key=Value: skipped", path, clip(part))
			continue
		}
		k = strings.TrimSpace(k)
		if x, ok := p.value(v, path+"."+k, stringKeys[strings.ToLower(k)]); ok {
			m[k] = x
		}
	}
	return m
}

// collection parses "a, b" or "@{...}, @{...}" (the inside of "{...}");
// a trailing "..." is $FormatEnumerationLimit's cut.
func (p *psParser) collection(s, path string) []any {
	s = strings.TrimSpace(s)
	cut := false
	if strings.HasSuffix(s, "...") {
		cut = true
		s = strings.TrimSpace(strings.TrimSuffix(s, "..."))
	}
	var out []any
	for i, el := range splitTop(s, ",") {
		el = strings.TrimSpace(el)
		if el == "" {
			continue
		}
		if x, ok := p.value(el, path+"["+strconv.Itoa(i)+"]", true); ok {
			out = append(out, x)
		}
	}
	if cut {
		p.r.node.notef(p.r.file, p.line, "%s: PowerShell's list view shows %d item(s) then \"...\" ($FormatEnumerationLimit): the rest are missing; "+
			"ConvertTo-Json -Depth 10 keeps them all", path, len(out))
	}
	return out
}
