package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// node is a parsed YAML or JSON value with its position: the one tree both
// formats turn into, so that every value of a file has a line and column.
type node struct {
	Kind      nodeKind
	Line, Col int
	// Value is a scalar's text; Tag its resolved YAML tag ("!!str",
	// "!!int", "!!float", "!!bool", "!!null").
	Value string
	Tag   string
	// Quoted reports whether a scalar was written in quotes (on one line):
	// its text starts one column after Col.
	Quoted bool
	// Multiline reports whether a scalar was a block scalar (| or >),
	// whose columns do not map to the value's.
	Multiline bool
	// Keys and Vals are a mapping's keys (scalars) and values, in order;
	// Vals alone are a sequence's items. Add them with add.
	Keys []*node
	Vals []*node
	// index maps a key to its place in Keys once a mapping has more than
	// indexMin keys, so that looking a key up (the duplicate-key check of
	// every key of a file, too) costs the same whatever the mapping's size.
	index map[string]int
}

// indexMin is the number of keys above which a mapping keeps an index:
// below it, a scan of the keys is cheaper than a map.
const indexMin = 8

// add appends key k with value v to a mapping. The caller has checked that
// k is not there yet (get).
func (n *node) add(k, v *node) {
	n.Keys = append(n.Keys, k)
	n.Vals = append(n.Vals, v)
	switch {
	case n.index != nil:
		n.index[k.Value] = len(n.Keys) - 1
	case len(n.Keys) > indexMin:
		n.index = make(map[string]int, 2*len(n.Keys))
		for i, kn := range n.Keys {
			if _, dup := n.index[kn.Value]; !dup {
				n.index[kn.Value] = i
			}
		}
	}
}

type nodeKind uint8

const (
	scalarNode nodeKind = iota
	mapNode
	seqNode
)

func (k nodeKind) String() string {
	switch k {
	case mapNode:
		return "a mapping"
	case seqNode:
		return "a list"
	}
	return "a scalar"
}

// describe names what n is, for "want X, got Y" messages.
func (n *node) describe() string {
	if n.Kind != scalarNode {
		return n.Kind.String()
	}
	switch n.Tag {
	case "!!null":
		return "null"
	case "!!str":
		return fmt.Sprintf("%q", n.Value)
	}
	return n.Value
}

// get returns the value of key in a mapping, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.Kind != mapNode {
		return nil
	}
	if n.index != nil {
		if i, ok := n.index[key]; ok {
			return n.Vals[i]
		}
		return nil
	}
	for i, k := range n.Keys {
		if k.Value == key {
			return n.Vals[i]
		}
	}
	return nil
}

// getFold is get with a case-insensitive key, as encoding/json matches
// keys; it returns the key node too.
func (n *node) getFold(key string) (k, v *node) {
	if n == nil || n.Kind != mapNode {
		return nil, nil
	}
	if n.index != nil {
		if i, ok := n.index[key]; ok {
			return n.Keys[i], n.Vals[i]
		}
	} else {
		for i, kn := range n.Keys {
			if kn.Value == key {
				return kn, n.Vals[i]
			}
		}
	}
	for i, kn := range n.Keys {
		if strings.EqualFold(kn.Value, key) {
			return kn, n.Vals[i]
		}
	}
	return nil, nil
}

// keyNode returns the key node of key in a mapping, or nil.
func (n *node) keyNode(key string) *node {
	k, _ := n.getFold(key)
	return k
}

// isNull reports whether n is absent or an explicit null.
func (n *node) isNull() bool { return n == nil || n.Kind == scalarNode && n.Tag == "!!null" }

// maxNodes bounds the nodes of one document, counting alias expansions, so
// that "billion laughs" documents fail instead of exhausting memory.
const maxNodes = 1 << 20

// maxDepth bounds nesting.
const maxDepth = 200

// parseDocument parses a YAML or JSON file into a node tree. JSON is
// recognised by the file name (".json"); YAML parses JSON too, but
// encoding/json gives better messages for JSON. Errors carry a line.
func parseDocument(file string, data []byte) (*node, error) {
	if strings.HasSuffix(strings.ToLower(file), ".json") {
		return parseJSON(file, data)
	}
	return parseYAML(file, data)
}

var yamlLineRE = "line "

// parseYAML parses YAML with go.yaml.in/yaml/v3 into a node tree.
func parseYAML(file string, data []byte) (*node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &InputError{File: file, Line: 1, Err: errors.New("empty document")}
		}
		return nil, yamlError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &InputError{File: file, Line: extra.Line, Col: extra.Column, Err: errors.New("a second YAML document: one document per file")}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(file, err)
	}
	c := &yamlConv{file: file}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, &InputError{File: file, Line: 1, Err: errors.New("empty document")}
		}
		root = root.Content[0]
	}
	n, err := c.conv(root, 0)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// yamlError turns a yaml.v3 error ("yaml: line 3: mapping values are not
// allowed in this context") into an *InputError with the line.
func yamlError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, yamlLineRE); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				line = n
				msg = strings.TrimSpace(rest[i+1:])
			}
		}
	}
	if line == 0 {
		line = 1
	}
	return &InputError{File: file, Line: line, Err: fmt.Errorf("invalid YAML: %s", msg)}
}

type yamlConv struct {
	file  string
	count int
}

func (c *yamlConv) fail(y *yaml.Node, format string, args ...any) error {
	return &InputError{File: c.file, Line: y.Line, Col: y.Column, Err: fmt.Errorf(format, args...)}
}

func (c *yamlConv) conv(y *yaml.Node, depth int) (*node, error) {
	c.count++
	if c.count > maxNodes {
		return nil, c.fail(y, "document too large: more than %d values (counting alias expansions)", maxNodes)
	}
	if depth > maxDepth {
		return nil, c.fail(y, "nesting deeper than %d", maxDepth)
	}
	n := &node{Line: y.Line, Col: y.Column}
	switch y.Kind {
	case yaml.AliasNode:
		if y.Alias == nil {
			return nil, c.fail(y, "unknown alias %q", y.Value)
		}
		a, err := c.conv(y.Alias, depth+1)
		if err != nil {
			return nil, err
		}
		// The alias's own position is where it is used.
		cp := *a
		cp.Line, cp.Col = y.Line, y.Column
		return &cp, nil
	case yaml.ScalarNode:
		n.Kind = scalarNode
		n.Value = y.Value
		n.Tag = y.ShortTag()
		n.Quoted = y.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
		n.Multiline = y.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
		switch n.Tag {
		case "!!str", "!!int", "!!float", "!!bool", "!!null":
		case "!!binary", "!!timestamp":
			n.Tag = "!!str"
		default:
			return nil, c.fail(y, "unsupported YAML tag %s", y.Tag)
		}
		return n, nil
	case yaml.SequenceNode:
		n.Kind = seqNode
		for _, it := range y.Content {
			v, err := c.conv(it, depth+1)
			if err != nil {
				return nil, err
			}
			n.Vals = append(n.Vals, v)
		}
		return n, nil
	case yaml.MappingNode:
		n.Kind = mapNode
		var merges []*node
		for i := 0; i+1 < len(y.Content); i += 2 {
			ky, vy := y.Content[i], y.Content[i+1]
			if ky.Kind == yaml.ScalarNode && ky.ShortTag() == "!!merge" {
				v, err := c.conv(vy, depth+1)
				if err != nil {
					return nil, err
				}
				merges = append(merges, v)
				continue
			}
			if ky.Kind != yaml.ScalarNode {
				return nil, c.fail(ky, "mapping keys must be plain strings")
			}
			if n.get(ky.Value) != nil {
				return nil, c.fail(ky, "key %q given twice", ky.Value)
			}
			v, err := c.conv(vy, depth+1)
			if err != nil {
				return nil, err
			}
			n.add(&node{Kind: scalarNode, Line: ky.Line, Col: ky.Column, Value: ky.Value, Tag: "!!str"}, v)
		}
		// Merge keys ("<<: *defaults"): keys the mapping does not set itself.
		for _, m := range merges {
			srcs := []*node{m}
			if m.Kind == seqNode {
				srcs = m.Vals
			}
			for _, s := range srcs {
				if s.Kind != mapNode {
					return nil, &InputError{File: c.file, Line: s.Line, Col: s.Col, Err: errors.New("a merge key (<<) takes a mapping or a list of mappings")}
				}
				for i, k := range s.Keys {
					if n.get(k.Value) == nil {
						n.add(k, s.Vals[i])
					}
				}
			}
		}
		return n, nil
	}
	return nil, c.fail(y, "unexpected YAML node")
}

// parseJSON parses JSON into a node tree with positions, using
// encoding/json's tokenizer.
func parseJSON(file string, data []byte) (*node, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	p := &jsonParser{file: file, data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	for i, c := range data {
		if c == '\n' {
			p.lines = append(p.lines, i+1)
		}
	}
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, p.errAt(p.start(), "unexpected data after the JSON value")
	}
	return n, nil
}

type jsonParser struct {
	file  string
	data  []byte
	dec   *json.Decoder
	lines []int // offsets of the starts of lines 2, 3, ...
	count int
}

// pos returns the line and column of byte offset off.
func (p *jsonParser) pos(off int) (int, int) {
	i := sort.SearchInts(p.lines, off+1)
	start := 0
	if i > 0 {
		start = p.lines[i-1]
	}
	return i + 1, off - start + 1
}

// start returns the offset of the next token: after whitespace, commas
// and colons.
func (p *jsonParser) start() int {
	off := int(p.dec.InputOffset())
	for off < len(p.data) {
		switch p.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (p *jsonParser) errAt(off int, format string, args ...any) error {
	l, c := p.pos(off)
	return &InputError{File: p.file, Line: l, Col: c, Err: fmt.Errorf("invalid JSON: "+format, args...)}
}

func (p *jsonParser) token() (json.Token, int, error) {
	off := p.start()
	t, err := p.dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, off, p.errAt(off, "unexpected end of input")
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, off, p.errAt(int(se.Offset)-1, "%s", se.Error())
		}
		return nil, off, p.errAt(off, "%v", err)
	}
	return t, off, nil
}

func (p *jsonParser) value(depth int) (*node, error) {
	t, off, err := p.token()
	if err != nil {
		return nil, err
	}
	return p.valueFrom(t, off, depth)
}

func (p *jsonParser) valueFrom(t json.Token, off, depth int) (*node, error) {
	p.count++
	if p.count > maxNodes {
		return nil, p.errAt(off, "document too large: more than %d values", maxNodes)
	}
	if depth > maxDepth {
		return nil, p.errAt(off, "nesting deeper than %d", maxDepth)
	}
	l, c := p.pos(off)
	n := &node{Line: l, Col: c}
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			n.Kind = mapNode
			for {
				t, koff, err := p.token()
				if err != nil {
					return nil, err
				}
				if t == json.Delim('}') {
					return n, nil
				}
				k, ok := t.(string)
				if !ok {
					return nil, p.errAt(koff, "object keys must be strings")
				}
				if n.get(k) != nil {
					return nil, p.errAt(koff, "key %q given twice", k)
				}
				kl, kc := p.pos(koff)
				val, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.add(&node{Kind: scalarNode, Line: kl, Col: kc, Value: k, Tag: "!!str"}, val)
			}
		case '[':
			n.Kind = seqNode
			for {
				t, ioff, err := p.token()
				if err != nil {
					return nil, err
				}
				if t == json.Delim(']') {
					return n, nil
				}
				val, err := p.valueFrom(t, ioff, depth+1)
				if err != nil {
					return nil, err
				}
				n.Vals = append(n.Vals, val)
			}
		}
		return nil, p.errAt(off, "unexpected %q", v)
	case string:
		n.Value, n.Tag, n.Quoted = v, "!!str", true
	case json.Number:
		n.Value = v.String()
		n.Tag = "!!int"
		if strings.ContainsAny(n.Value, ".eE") {
			n.Tag = "!!float"
		}
	case bool:
		n.Value, n.Tag = strconv.FormatBool(v), "!!bool"
	case nil:
		n.Value, n.Tag = "null", "!!null"
	}
	return n, nil
}

// toJSON writes n as JSON, scalars by their tag. Integers in other bases
// (0x1F, 0o17) are written in decimal.
func toJSON(n *node) ([]byte, error) {
	var b bytes.Buffer
	if err := writeJSON(&b, n); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// nodeError is an error about a node, turned into an *InputError by the
// caller who knows the file.
type nodeError struct {
	n   *node
	err error
}

func (e *nodeError) Error() string { return e.err.Error() }

func writeJSON(b *bytes.Buffer, n *node) error {
	switch n.Kind {
	case mapNode:
		b.WriteByte('{')
		for i, k := range n.Keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k.Value)
			b.Write(kb)
			b.WriteByte(':')
			if err := writeJSON(b, n.Vals[i]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case seqNode:
		b.WriteByte('[')
		for i, v := range n.Vals {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, v); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		switch n.Tag {
		case "!!null":
			b.WriteString("null")
		case "!!bool":
			v, err := parseBool(n.Value)
			if err != nil {
				return &nodeError{n, err}
			}
			b.WriteString(strconv.FormatBool(v))
		case "!!int":
			s, err := jsonInt(n.Value)
			if err != nil {
				return &nodeError{n, err}
			}
			b.WriteString(s)
		case "!!float":
			f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return &nodeError{n, fmt.Errorf("number %s has no JSON form", n.Value)}
			}
			b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
		default:
			sb, _ := json.Marshal(n.Value)
			b.Write(sb)
		}
	}
	return nil
}

// jsonInt returns a YAML integer (decimal, 0x, 0o, 0b) in decimal.
func jsonInt(s string) (string, error) {
	if i, err := strconv.ParseInt(s, 0, 64); err == nil {
		return strconv.FormatInt(i, 10), nil
	}
	if u, err := strconv.ParseUint(strings.TrimPrefix(s, "+"), 0, 64); err == nil {
		return strconv.FormatUint(u, 10), nil
	}
	// A decimal that overflows 64 bits: JSON allows it, the decoder decides.
	if _, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xXoObB") {
		return s, nil
	}
	return "", fmt.Errorf("invalid integer %s", s)
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("want true or false, got %q", s)
}

// path is a field path being walked ("topology.hosts[0].nics[1]").
func joinField(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexField(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
