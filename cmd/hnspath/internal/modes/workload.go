package modes

import (
	"errors"
	"fmt"
	"github.com/hnspath/hnspath/internal/suggest"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hnspath/hnspath/internal/input"
)

// Workload describes what runs on the container host being planned, by
// role: its endpoints (containers) and the ports they expose, the remote
// nodes with their endpoints, and the outside peers they talk to. Addresses
// are those of the user's traffic (a capture from anywhere): they only say
// which packet belongs to which party; each mode gives the party its own
// address (see the package documentation).
type Workload struct {
	// File is the workload file as given.
	File string
	// Profile is the HNS version profile of the hosts (WS2019, WS2022,
	// WS2025); empty means the emulator's default.
	Profile string
	// Endpoints are the containers on the host.
	Endpoints []*Endpoint
	// Nodes are other container hosts with their endpoints.
	Nodes []*Node
	// Peers are machines outside: servers the endpoints call, clients
	// that call them.
	Peers []*Peer
}

// Endpoint is a container, on the host or on a remote node.
type Endpoint struct {
	Name string
	// Addrs are its addresses in the traffic (at most one per family).
	Addrs []netip.Addr
	// Expose are the ports it publishes (docker run -p).
	Expose []Expose
	// Node is the remote node it runs on, nil on the host.
	Node *Node
	Line int
}

// Expose is a published port: External on the host maps to Internal in the
// container (docker run -p EXTERNAL:INTERNAL/PROTO).
type Expose struct {
	Proto              uint8 // 6 or 17
	External, Internal uint16
}

// String formats x as docker run -p does: "443/tcp", "8443:443/tcp".
func (x Expose) String() string {
	p := "tcp"
	if x.Proto == 17 {
		p = "udp"
	}
	if x.External == x.Internal {
		return fmt.Sprintf("%d/%s", x.Internal, p)
	}
	return fmt.Sprintf("%d:%d/%s", x.External, x.Internal, p)
}

// Node is a remote container host running the same mode.
type Node struct {
	Name      string
	Endpoints []*Endpoint
	Line      int
}

// Where a peer is.
const (
	Internet = "internet" // beyond the underlay's router
	LAN      = "lan"      // on the host's own subnet
)

// Peer is a machine outside the container hosts.
type Peer struct {
	Name  string
	Addrs []netip.Addr
	// Where is Internet or LAN.
	Where string
	// Auto is set for peers made up for addresses of the traffic that the
	// workload does not name.
	Auto bool
	Line int
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// reserved names are port names every mode's fabric already has.
var reserved = map[string]bool{"router": true, "host": true, "host1": true}

// LoadWorkload reads a workload file. Errors name the file, line and field
// (Errors of *InputError).
func LoadWorkload(path string) (*Workload, error) {
	data, err := input.ReadFile(path, 0)
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	return ParseWorkload(path, data)
}

// ParseWorkload parses workload text (YAML, or JSON):
//
//	profile: WS2022                    # optional
//	endpoints:                         # containers on the host
//	  - name: web
//	    addresses: [172.17.0.2, "fd00:17::2"]
//	    expose: ["443/tcp", "8053:53/udp"]
//	nodes:                             # other hosts, same mode
//	  - name: node2
//	    endpoints:
//	      - {name: api, addresses: [172.18.0.3], expose: ["8080/tcp"]}
//	peers:                             # outside machines
//	  - {name: resolver, addresses: [192.0.2.53]}            # where: internet (default)
//	  - {name: laptop, addresses: [192.168.1.50], where: lan} # on the host's subnet
func ParseWorkload(file string, data []byte) (*Workload, error) {
	p := &wparser{file: file, w: &Workload{File: file}, names: map[string]int{}, addrs: map[netip.Addr]string{}}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{{File: file, Line: yamlLine(err), Err: fmt.Errorf("workload: %w", err)}}
	}
	if len(root.Content) == 0 {
		return nil, Errors{{File: file, Line: 1, Err: errors.New("workload: empty file")}}
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		p.errf(doc, "", "want a mapping with endpoints, nodes and peers")
		return nil, p.errs
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		switch k.Value {
		case "profile":
			p.w.Profile = p.str(v, "profile")
		case "endpoints":
			for j, item := range p.seq(v, "endpoints") {
				if e := p.endpoint(item, fmt.Sprintf("endpoints[%d]", j), nil); e != nil {
					p.w.Endpoints = append(p.w.Endpoints, e)
				}
			}
		case "nodes":
			for j, item := range p.seq(v, "nodes") {
				p.node(item, fmt.Sprintf("nodes[%d]", j))
			}
		case "peers":
			for j, item := range p.seq(v, "peers") {
				p.peer(item, fmt.Sprintf("peers[%d]", j))
			}
		default:
			p.errf(k, k.Value, "unknown key%s (want profile, endpoints, nodes or peers)", suggest.Hint(k.Value, []string{"profile", "endpoints", "nodes", "peers"}))
		}
	}
	if len(p.w.Endpoints) == 0 && len(p.errs) == 0 {
		p.errf(doc, "endpoints", "the workload needs at least one endpoint on the host")
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return p.w, nil
}

type wparser struct {
	file  string
	w     *Workload
	errs  Errors
	names map[string]int        // name -> line
	addrs map[netip.Addr]string // address -> owner
}

func (p *wparser) errf(n *yaml.Node, field, format string, args ...any) {
	p.errs = append(p.errs, &InputError{File: p.file, Line: n.Line, Col: n.Column, Field: field, Err: fmt.Errorf(format, args...)})
}

func (p *wparser) str(n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode {
		p.errf(n, field, "want a string")
		return ""
	}
	return n.Value
}

func (p *wparser) seq(n *yaml.Node, field string) []*yaml.Node {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errf(n, field, "want a list")
		return nil
	}
	return n.Content
}

// fields walks a mapping's keys, calling fn for each; unknown keys are
// reported by fn returning false.
func (p *wparser) fields(n *yaml.Node, field string, fn func(k string, v *yaml.Node) bool) bool {
	if n.Kind != yaml.MappingNode {
		p.errf(n, field, "want a mapping")
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !fn(k.Value, v) {
			p.errf(k, field+"."+k.Value, "unknown key")
		}
	}
	return true
}

func (p *wparser) name(n *yaml.Node, field, name string) bool {
	switch {
	case name == "":
		p.errf(n, field+".name", "missing name")
		return false
	case !nameRE.MatchString(name):
		p.errf(n, field+".name", "name %q: want lower-case letters, digits and '-', starting with a letter, at most 32", name)
		return false
	case reserved[name] || name == "gateway" || name == "gw":
		p.errf(n, field+".name", "name %q is reserved", name)
		return false
	}
	if line, dup := p.names[name]; dup {
		p.errf(n, field+".name", "name %q is already used on line %d", name, line)
		return false
	}
	p.names[name] = n.Line
	return true
}

func (p *wparser) addresses(v *yaml.Node, field, owner string) []netip.Addr {
	var out []netip.Addr
	var has4, has6 bool
	for j, a := range p.seq(v, field) {
		f := fmt.Sprintf("%s[%d]", field, j)
		ip, err := netip.ParseAddr(p.str(a, f))
		if err != nil {
			p.errf(a, f, "%v", err)
			continue
		}
		ip = ip.Unmap()
		if (ip.Is4() && has4) || (ip.Is6() && has6) {
			p.errf(a, f, "%s: at most one address per family", ip)
			continue
		}
		if o, dup := p.addrs[ip]; dup {
			p.errf(a, f, "%s is already the address of %s", ip, o)
			continue
		}
		p.addrs[ip] = owner
		has4, has6 = has4 || ip.Is4(), has6 || ip.Is6()
		out = append(out, ip)
	}
	return out
}

func (p *wparser) endpoint(n *yaml.Node, field string, node *Node) *Endpoint {
	e := &Endpoint{Line: n.Line, Node: node}
	var addrs, expose *yaml.Node
	if !p.fields(n, field, func(k string, v *yaml.Node) bool {
		switch k {
		case "name":
			e.Name = p.str(v, field+".name")
		case "addresses":
			addrs = v
		case "expose":
			expose = v
		default:
			return false
		}
		return true
	}) {
		return nil
	}
	if !p.name(n, field, e.Name) {
		return nil
	}
	if addrs != nil {
		e.Addrs = p.addresses(addrs, field+".addresses", e.Name)
	}
	if expose != nil {
		seen := map[[2]uint16]bool{}
		for j, x := range p.seq(expose, field+".expose") {
			f := fmt.Sprintf("%s.expose[%d]", field, j)
			ex, err := ParseExpose(p.str(x, f))
			if err != nil {
				p.errf(x, f, "%v", err)
				continue
			}
			k := [2]uint16{uint16(ex.Proto), ex.External}
			if seen[k] {
				p.errf(x, f, "port %s is published twice", ex)
				continue
			}
			seen[k] = true
			e.Expose = append(e.Expose, ex)
		}
	}
	return e
}

func (p *wparser) node(n *yaml.Node, field string) {
	nd := &Node{Line: n.Line}
	var eps *yaml.Node
	if !p.fields(n, field, func(k string, v *yaml.Node) bool {
		switch k {
		case "name":
			nd.Name = p.str(v, field+".name")
		case "endpoints":
			eps = v
		default:
			return false
		}
		return true
	}) || !p.name(n, field, nd.Name) {
		return
	}
	if len(p.w.Nodes) >= maxNodes {
		p.errf(n, field, "at most %d remote nodes", maxNodes)
		return
	}
	if eps != nil {
		for j, item := range p.seq(eps, field+".endpoints") {
			if e := p.endpoint(item, fmt.Sprintf("%s.endpoints[%d]", field, j), nd); e != nil {
				nd.Endpoints = append(nd.Endpoints, e)
			}
		}
	}
	p.w.Nodes = append(p.w.Nodes, nd)
}

func (p *wparser) peer(n *yaml.Node, field string) {
	pe := &Peer{Line: n.Line, Where: Internet}
	var addrs *yaml.Node
	if !p.fields(n, field, func(k string, v *yaml.Node) bool {
		switch k {
		case "name":
			pe.Name = p.str(v, field+".name")
		case "addresses":
			addrs = v
		case "where":
			pe.Where = p.str(v, field+".where")
			if pe.Where != Internet && pe.Where != LAN {
				p.errf(v, field+".where", "want internet or lan, got %q", pe.Where)
			}
		default:
			return false
		}
		return true
	}) || !p.name(n, field, pe.Name) {
		return
	}
	if addrs != nil {
		pe.Addrs = p.addresses(addrs, field+".addresses", pe.Name)
	}
	p.w.Peers = append(p.w.Peers, pe)
}

// ParseExpose parses a published port as docker run -p writes it:
// "443/tcp", "8443:443/tcp", "53/udp" or "80" (tcp).
func ParseExpose(s string) (Expose, error) {
	ports, proto, _ := strings.Cut(strings.TrimSpace(s), "/")
	x := Expose{Proto: 6}
	switch strings.ToLower(proto) {
	case "", "tcp":
	case "udp":
		x.Proto = 17
	default:
		return Expose{}, fmt.Errorf("expose %q: protocol %q: want tcp or udp", s, proto)
	}
	ext, in, two := strings.Cut(ports, ":")
	if !two {
		in = ext
	}
	var err error
	if x.Internal, err = parsePort(in); err != nil {
		return Expose{}, fmt.Errorf("expose %q: %w", s, err)
	}
	x.External = x.Internal
	if two {
		if x.External, err = parsePort(ext); err != nil {
			return Expose{}, fmt.Errorf("expose %q: %w", s, err)
		}
	}
	return x, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("port %q: want 1-65535", s)
	}
	return uint16(n), nil
}

// yamlLine digs the line out of a yaml.v3 error ("yaml: line 3: ...").
func yamlLine(err error) int {
	m := regexp.MustCompile(`line (\d+)`).FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// endpoints returns every endpoint, the host's first.
func (w *Workload) endpoints() []*Endpoint {
	out := append([]*Endpoint(nil), w.Endpoints...)
	for _, n := range w.Nodes {
		out = append(out, n.Endpoints...)
	}
	return out
}

// lookup reports whether name is a name of the workload.
func (w *Workload) lookup(name string) bool {
	for _, e := range w.endpoints() {
		if e.Name == name {
			return true
		}
	}
	for _, p := range w.Peers {
		if p.Name == name {
			return true
		}
	}
	return false
}
