package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/hnspath/hnspath/internal/suggest"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
)

// Topology is a topology as read from a file (or from a scenario's
// `topology:`), with the positions of its values so that errors from the
// emulator (fabric.FieldError, hns.ValidationError) name a file and line.
type Topology struct {
	fabric.Topology
	// File is the file the topology was read from.
	File string
	// Warnings are problems that are not errors.
	Warnings []string

	root   *node  // the topology mapping
	prefix string // the topology's path in File ("topology" inline, "" for a file)
}

// LoadTopology reads a topology file: YAML, or JSON when the name ends in
// ".json", with the keys of fabric.Topology (hosts, peers, underlay). All
// errors are reported at once as Errors.
func LoadTopology(path string) (*Topology, error) {
	return loadTopology(osFiles{}, path, path)
}

func loadTopology(fsys files, path, display string) (*Topology, error) {
	data, err := fsys.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: display, Err: fmt.Errorf("read topology: %w", err)}}
	}
	return parseTopology(display, data)
}

// ParseTopology parses topology text; file names it in errors and
// decides the format (".json": JSON, else YAML).
func ParseTopology(file string, data []byte) (*Topology, error) {
	return parseTopology(file, data)
}

func parseTopology(file string, data []byte) (*Topology, error) {
	root, err := parseDocument(file, data)
	if err != nil {
		return nil, Errors{asInputError(file, err)}
	}
	var el errList
	t := decodeTopology(file, root, "", &el)
	if err := el.err(); err != nil {
		return nil, err
	}
	return t, nil
}

func asInputError(file string, err error) *InputError {
	var ie *InputError
	if errors.As(err, &ie) {
		return ie
	}
	return &InputError{File: file, Err: err}
}

// decodeTopology decodes a topology mapping at n.
func decodeTopology(file string, n *node, prefix string, el *errList) *Topology {
	t := &Topology{File: file, root: n, prefix: prefix}
	d := &decoder{file: file, el: el}
	if n.Kind != mapNode {
		el.add(file, n, prefix, "want a topology mapping (hosts, peers, underlay), got %s", n.describe())
		return t
	}
	d.decode(n, reflect.ValueOf(&t.Topology).Elem(), prefix)
	t.Warnings = d.warnings
	checkMTUs(file, n, prefix, el)
	return t
}

// checkMTUs refuses an MTU written in the topology (a NIC's, the
// underlay's) below what Windows takes: hns.MinMTU, or hns.MinMTUIPv6 on a
// NIC with an IPv6 address. An MTU of 0 written out is refused too (leave
// it out for the default, 1500); the emulator would otherwise drop every
// packet over it.
func checkMTUs(file string, n *node, prefix string, el *errList) {
	check := func(m *node, field string, ipv6 bool) {
		if m == nil || m.Kind != scalarNode || m.Tag != "!!int" {
			return // decode reported it
		}
		v, err := strconv.Atoi(m.Value)
		if err != nil {
			return
		}
		switch {
		case v < hns.MinMTU:
			el.add(file, m, field, "MTU %d is below %d, the smallest interface MTU Windows takes (RFC 791 section 3.2); leave mtu out for 1500", v, hns.MinMTU)
		case ipv6 && v < hns.MinMTUIPv6:
			el.add(file, m, field, "MTU %d is below %d, the IPv6 minimum link MTU (RFC 8200 section 5), on a NIC with an IPv6 address", v, hns.MinMTUIPv6)
		}
	}
	if hosts := n.get("hosts"); hosts != nil && hosts.Kind == seqNode {
		for i, h := range hosts.Vals {
			nics := h.get("nics")
			if nics == nil || nics.Kind != seqNode {
				continue
			}
			for j, nic := range nics.Vals {
				field := joinField(indexField(joinField(indexField(joinField(prefix, "hosts"), i), "nics"), j), "mtu")
				check(nic.get("mtu"), field, !nic.get("ipv6").isNull())
			}
		}
	}
	check(n.get("underlay").get("mtu"), joinField(joinField(prefix, "underlay"), "mtu"), false)
}

// Build builds the fabric. Errors from the emulator are mapped to the
// file, line and field of the value they are about, all at once (Errors).
func (t *Topology) Build(opts fabric.Options) (*fabric.Fabric, error) {
	f, errs, _ := t.build(opts)
	if len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

// build builds the fabric and returns, on failure, the located errors and
// the HNS problems among them.
func (t *Topology) build(opts fabric.Options) (*fabric.Fabric, Errors, []*hns.Error) {
	f, err := fabric.New(t.Topology, opts)
	if err == nil {
		return f, nil, nil
	}
	var out Errors
	var probs []*hns.Error
	for _, e := range flatten(err) {
		var fe *fabric.FieldError
		if !errors.As(e, &fe) {
			out = append(out, &InputError{File: t.File, Line: t.root.Line, Col: t.root.Col, Field: t.prefix, Err: e})
			continue
		}
		var ve *hns.ValidationError
		if errors.As(fe.Err, &ve) {
			host := locate(t.root, fe.Field)
			hostField := fe.Field
			if i := strings.LastIndex(hostField, ".hns"); i >= 0 {
				hostField = hostField[:i]
			}
			hostNode := locate(t.root, hostField)
			for _, p := range ve.Problems {
				probs = append(probs, p)
				n, field := locateHNS(hostNode, host, hostField, p)
				out = append(out, &InputError{File: t.File, Line: n.Line, Col: n.Col, Field: joinField(t.prefix, field), Err: hnsProblem{p}})
			}
			continue
		}
		var he *hns.Error
		if errors.As(fe.Err, &he) {
			// An HNS problem found while programming (not validating), such
			// as a load balancer that finds no free port block: located and
			// matched (expect_error code and object) like validation problems.
			probs = append(probs, he)
			hostField := strings.TrimSuffix(fe.Field, ".hns")
			n, field := locateHNS(locate(t.root, hostField), locate(t.root, fe.Field), hostField, he)
			out = append(out, &InputError{File: t.File, Line: n.Line, Col: n.Col, Field: joinField(t.prefix, field), Err: hnsProblem{he}})
			continue
		}
		n := locate(t.root, fe.Field)
		out = append(out, &InputError{File: t.File, Line: n.Line, Col: n.Col, Field: joinField(t.prefix, fe.Field), Err: fe.Err})
	}
	return nil, out.sorted(), probs
}

// hnsProblem prints an HNS problem without repeating the object and field,
// which the InputError already names.
type hnsProblem struct{ p *hns.Error }

func (h hnsProblem) Error() string {
	return fmt.Sprintf("%s (%s 0x%08x: %s)", h.p.Msg, h.p.Code.Name(), uint32(h.p.Code), h.p.Code.Text())
}

func (h hnsProblem) Unwrap() error { return h.p }

// flatten returns the leaves of an errors.Join tree (not descending into
// typed errors that have their own Unwrap() []error, such as
// hns.ValidationError).
func flatten(err error) []error {
	type joined interface{ Unwrap() []error }
	if j, ok := err.(joined); ok {
		if _, isVE := err.(*hns.ValidationError); !isVE {
			var out []error
			for _, e := range j.Unwrap() {
				out = append(out, flatten(e)...)
			}
			return out
		}
	}
	return []error{err}
}

// hnsLists maps hns.Error.Kind to the Objects list holding that kind.
var hnsLists = map[string]string{
	hns.KindNetwork:      "Networks",
	hns.KindEndpoint:     "Endpoints",
	hns.KindLoadBalancer: "LoadBalancers",
	hns.KindNamespace:    "Namespaces",
	hns.KindRoute:        "Routes",
}

// locateHNS finds the node of an HNS problem: the object by kind and name
// (or ID, or "#index"), then the field path inside it.
func locateHNS(hostNode, hnsNode *node, hostField string, p *hns.Error) (*node, string) {
	list, ok := hnsLists[p.Kind]
	if !ok {
		return hostNode, hostField
	}
	base := hostField + ".hns." + list
	_, ln := hnsNode.getFold(list)
	if ln == nil || ln.Kind != seqNode {
		return hnsNode, hostField + ".hns"
	}
	idx := -1
	if s, ok := strings.CutPrefix(p.Object, "#"); ok {
		if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(ln.Vals) {
			idx = i
		}
	}
	for _, key := range []string{"Name", "Id", "ID"} {
		if idx >= 0 {
			break
		}
		for i, it := range ln.Vals {
			if _, v := it.getFold(key); v != nil && v.Kind == scalarNode && v.Value == p.Object && p.Object != "" {
				idx = i
				break
			}
		}
	}
	if idx < 0 {
		return ln, base
	}
	obj := ln.Vals[idx]
	field := indexField(base, idx)
	if p.Field == "" {
		return obj, field
	}
	clean := annotRE.ReplaceAllString(p.Field, "")
	return locate(obj, clean), field + "." + clean
}

// annotRE matches the " (PortMapping)" annotations of hns field paths.
var annotRE = regexp.MustCompile(`\s*\([^)]*\)`)

// locate walks a field path such as "hosts[0].nics[1].mac" (keys matched
// as encoding/json does, exactly or else case-insensitively) and returns
// the deepest node found: for a missing field, its parent mapping.
func locate(root *node, path string) *node {
	n := root
	if path == "" || n == nil {
		return n
	}
	for _, seg := range strings.Split(path, ".") {
		key, rest, _ := strings.Cut(seg, "[")
		if key != "" {
			k, v := n.getFold(key)
			if v == nil {
				return n
			}
			if v.Kind == scalarNode && v.isNull() {
				return k
			}
			n = v
		}
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			if !ok {
				return n
			}
			i, err := strconv.Atoi(num)
			if err != nil || n.Kind != seqNode || i < 0 || i >= len(n.Vals) {
				return n
			}
			n = n.Vals[i]
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return n
}

// decoder decodes node trees into Go values by their JSON field names,
// strictly: unknown keys and values of the wrong kind are errors at their
// line.
type decoder struct {
	file     string
	el       *errList
	warnings []string
}

var hnsObjectsType = reflect.TypeOf(hns.Objects{})

// jsonFields returns the JSON names of a struct's fields and their indexes.
func jsonFields(t reflect.Type) ([]string, []int) {
	var names []string
	var idx []int
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
		idx = append(idx, i)
	}
	return names, idx
}

func (d *decoder) decode(n *node, v reflect.Value, path string) {
	if d.el.full() {
		return
	}
	if n.isNull() {
		return
	}
	if v.Type() == hnsObjectsType {
		d.hns(n, v.Addr().Interface().(*hns.Objects), path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind != mapNode {
			d.el.add(d.file, n, path, "want a mapping, got %s", n.describe())
			return
		}
		names, idx := jsonFields(v.Type())
	keys:
		for i, k := range n.Keys {
			for j, name := range names {
				if k.Value == name {
					d.decode(n.Vals[i], v.Field(idx[j]), joinField(path, name))
					continue keys
				}
			}
			d.el.add(d.file, k, joinField(path, k.Value), "unknown key %q (%sknown: %s)", k.Value, suggest.Mean(k.Value, names), strings.Join(names, ", "))
		}
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Slice:
		if n.Kind != seqNode {
			d.el.add(d.file, n, path, "want a list, got %s", n.describe())
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Vals), len(n.Vals))
		for i, it := range n.Vals {
			d.decode(it, s.Index(i), indexField(path, i))
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != scalarNode {
			d.el.add(d.file, n, path, "want a string, got %s", n.describe())
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := parseBool(n.Value)
		if n.Kind != scalarNode || err != nil {
			d.el.add(d.file, n, path, "want true or false, got %s", n.describe())
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if n.Kind != scalarNode || n.Tag == "!!str" && err != nil || err != nil || v.OverflowInt(i) {
			d.el.add(d.file, n, path, "want an integer, got %s", n.describe())
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(n.Value, 0, 64)
		if n.Kind != scalarNode || err != nil || v.OverflowUint(u) {
			d.el.add(d.file, n, path, "want a non-negative integer, got %s", n.describe())
			return
		}
		v.SetUint(u)
	default:
		// Types without a node form: go through JSON.
		b, err := toJSON(n)
		if err == nil {
			err = json.Unmarshal(b, v.Addr().Interface())
		}
		if err != nil {
			d.el.wrap(d.file, n, path, err)
		}
	}
}

// hns decodes a host's HNS objects: each object through the hns package's
// own (lenient) JSON decoding, so that the same JSON a user would hand to
// HNS works here; keys that no HCN type models are errors at their line.
func (d *decoder) hns(n *node, o *hns.Objects, path string) {
	if n.Kind != mapNode {
		d.el.add(d.file, n, path, "want a mapping of HNS objects (Networks, Endpoints, LoadBalancers, Namespaces, Routes), got %s", n.describe())
		return
	}
	v := reflect.ValueOf(o).Elem()
	_, idx := jsonFields(v.Type())
	var lists []string
	for i := range idx {
		if v.Field(idx[i]).Kind() == reflect.Slice && v.Type().Field(idx[i]).Name != "Unknown" {
			lists = append(lists, v.Type().Field(idx[i]).Name)
		}
	}
	for i, k := range n.Keys {
		var field reflect.Value
		var fname string
		for _, name := range lists {
			if strings.EqualFold(k.Value, name) {
				field, fname = v.FieldByName(name), name
			}
		}
		if !field.IsValid() {
			d.el.add(d.file, k, joinField(path, k.Value), "unknown key %q (%sknown: %s)", k.Value, suggest.Mean(k.Value, lists), strings.Join(lists, ", "))
			continue
		}
		ln := n.Vals[i]
		if ln.isNull() {
			continue
		}
		lpath := joinField(path, fname)
		if ln.Kind != seqNode {
			d.el.add(d.file, ln, lpath, "want a list of HCN objects, got %s", ln.describe())
			continue
		}
		s := reflect.MakeSlice(field.Type(), len(ln.Vals), len(ln.Vals))
		for j, it := range ln.Vals {
			ip := indexField(lpath, j)
			b, err := toJSON(it)
			if err != nil {
				var ne *nodeError
				if errors.As(err, &ne) {
					d.el.wrap(d.file, ne.n, ip, ne.err)
				} else {
					d.el.wrap(d.file, it, ip, err)
				}
				continue
			}
			if err := json.Unmarshal(b, s.Index(j).Addr().Interface()); err != nil {
				at, msg := it, err
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) && te.Field != "" {
					at = locate(it, te.Field)
					msg = fmt.Errorf("%s: want %s, got JSON %s", te.Field, te.Type, te.Value)
				}
				d.el.wrap(d.file, at, ip, msg)
				continue
			}
			for _, u := range hns.UnknownFields(b, s.Index(j).Addr().Interface()) {
				un := locateKey(it, u)
				d.el.add(d.file, un, ip+"."+u, "unknown key (%sno HCN v2 field has this name)", hcnKeyHint(s.Index(j).Interface(), u))
			}
		}
		field.Set(s)
	}
}

// locateKey finds the key node at the end of path (for unknown-key errors).
func locateKey(root *node, path string) *node {
	parent, last := "", path
	if i := strings.LastIndex(path, "."); i >= 0 {
		parent, last = path[:i], path[i+1:]
	}
	p := locate(root, parent)
	if k := p.keyNode(strings.SplitN(last, "[", 2)[0]); k != nil {
		return k
	}
	return p
}

// portNames returns the sorted port names of a fabric, for messages.
func portNames(f *fabric.Fabric) string {
	var names []string
	for _, p := range f.Ports() {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
