package hns

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Objects is the set of HNS objects of one host, in HCN v2 JSON:
//
//	{"Networks": [...], "Endpoints": [...], "LoadBalancers": [...], "Namespaces": [...], "Routes": [...]}
//
// References between objects (an endpoint's HostComputeNetwork and
// HostComputeNamespace, a load balancer's or route's HostComputeEndpoints, a
// namespace's Endpoint resources) hold GUIDs, as in HCN. As an hnspath
// convenience they may instead hold the Name of the referenced object;
// Normalize resolves names to IDs.
type Objects struct {
	Networks      []HostComputeNetwork      `json:",omitempty"`
	Endpoints     []HostComputeEndpoint     `json:",omitempty"`
	LoadBalancers []HostComputeLoadBalancer `json:",omitempty"`
	Namespaces    []HostComputeNamespace    `json:",omitempty"`
	Routes        []HostComputeRoute        `json:",omitempty"`

	// Unknown lists, after UnmarshalJSON, the JSON paths of input keys that
	// no field models (e.g. "Networks[0].Ipams[0].Subnets[0].ObjectType"),
	// sorted. They are not an error: HNS and its tools add bookkeeping keys;
	// callers should show them as warnings.
	Unknown []string `json:"-"`
}

// UnmarshalJSON decodes the bundle leniently (see the package documentation)
// and records unknown keys in o.Unknown.
func (o *Objects) UnmarshalJSON(b []byte) error {
	type plain Objects
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fixPlainError(err, "Objects")
	}
	*o = Objects(p)
	o.Unknown = UnknownFields(b, o)
	return nil
}

// Kinds of objects, as used in messages and in Error.Kind.
const (
	KindNetwork      = "network"
	KindEndpoint     = "endpoint"
	KindLoadBalancer = "loadbalancer"
	KindNamespace    = "namespace"
	KindRoute        = "route"
	KindHost         = "host"
)

// hnspathNamespace is the UUID namespace of the IDs Normalize makes up.
var hnspathNamespace = [16]byte{0x6e, 0x5f, 0x2a, 0x1c, 0x3b, 0x0d, 0x4e, 0x8a, 0x9f, 0x41, 0x7c, 0x2d, 0x55, 0x13, 0xa0, 0xe6}

// uuidV5 returns the RFC 9562 (formerly RFC 4122 section 4.3) name-based
// UUID, version 5 (SHA-1), of name in namespace ns.
func uuidV5(ns [16]byte, name string) [16]byte {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u
}

// formatGUID writes u in the 8-4-4-4-12 form, upper case as HNS prints IDs.
func formatGUID(u [16]byte) string {
	s := strings.ToUpper(hex.EncodeToString(u[:]))
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// NameGUID returns the ID Normalize gives an object of kind without an ID:
// a version-5 UUID of "kind/name" in an hnspath namespace. It is stable
// across runs and machines.
func NameGUID(kind, name string) string {
	return formatGUID(uuidV5(hnspathNamespace, kind+"/"+name))
}

// canonicalGUID returns s as an upper-case 8-4-4-4-12 GUID (braces removed)
// and true, or s and false when s is not a GUID.
func canonicalGUID(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if len(t) == 38 && t[0] == '{' && t[37] == '}' {
		t = t[1:37]
	}
	if len(t) != 36 {
		return s, false
	}
	for i := 0; i < 36; i++ {
		c := t[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return s, false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return s, false
			}
		}
	}
	return strings.ToUpper(t), true
}

// looksLikeGUID reports whether s is a GUID.
func looksLikeGUID(s string) bool { _, ok := canonicalGUID(s); return ok }

// sameID reports whether two IDs name the same object (case and braces ignored).
func sameID(a, b string) bool {
	ca, _ := canonicalGUID(a)
	cb, _ := canonicalGUID(b)
	return strings.EqualFold(ca, cb)
}

// label names an object for Error.Object: its name, else its ID, else "#i".
func label(name, id string, i int) string {
	switch {
	case name != "":
		return name
	case id != "":
		return id
	}
	return fmt.Sprintf("#%d", i)
}

// Normalize completes o in place so that the emulator can use it directly:
//
//   - a network without a Type is NAT (HNS omits NAT's Type; hcsshim
//     hcn/hcnnetwork.go:152-155); known network types get their canonical case;
//   - a zero SchemaVersion becomes 2.0 (hcsshim writes 2.0; HNS_Schema.md:
//     "Schema version should be present in all objects");
//   - IDs are canonicalised to upper-case GUIDs without braces; a missing ID
//     becomes NameGUID(kind, Name), or NameGUID(kind, "#index") for an
//     object without a Name;
//   - references given as names are replaced by the referenced object's ID;
//     an endpoint without HostComputeNetwork gets the only network when
//     there is exactly one;
//   - endpoint<->namespace links are made two-way: a namespace lists every
//     endpoint that names it, and an endpoint in a namespace's resources
//     names that namespace.
//
// References that match nothing are left for Validate to report. Normalize
// returns a *ValidationError for IDs that are not GUIDs
// (HCN_E_GUID_CONVERSION_FAILURE), duplicate IDs and names that match more
// than one object (HCN_E_INVALID_JSON_REFERENCE); o is still completed as
// far as possible.
func (o *Objects) Normalize() error {
	var ps problems
	o.fillDefaults()
	o.fillIDs(&ps)
	o.resolveReferences(&ps)
	o.linkNamespaces(&ps)
	return ps.err()
}

func (o *Objects) fillDefaults() {
	for i := range o.Networks {
		n := &o.Networks[i]
		if n.Type == "" {
			n.Type = NAT
		}
		n.Type = canonicalNetworkType(n.Type)
		if n.SchemaVersion.IsZero() {
			n.SchemaVersion = V2SchemaVersion()
		}
		if n.Type == NAT && len(n.Subnets()) == 0 {
			n.Ipams = []Ipam{{Type: "Static", Subnets: []Subnet{DefaultNATSubnet(n.Name, o.staticAddr(n))}}}
		}
	}
	for i := range o.Endpoints {
		if o.Endpoints[i].SchemaVersion.IsZero() {
			o.Endpoints[i].SchemaVersion = V2SchemaVersion()
		}
	}
	for i := range o.LoadBalancers {
		if o.LoadBalancers[i].SchemaVersion.IsZero() {
			o.LoadBalancers[i].SchemaVersion = V2SchemaVersion()
		}
	}
	for i := range o.Namespaces {
		if o.Namespaces[i].SchemaVersion.IsZero() {
			o.Namespaces[i].SchemaVersion = V2SchemaVersion()
		}
	}
	for i := range o.Routes {
		if o.Routes[i].SchemaVersion.IsZero() {
			o.Routes[i].SchemaVersion = V2SchemaVersion()
		}
	}
}

// staticAddr returns the first IPv4 address of an endpoint of network n
// (named by n's name or ID), before references are resolved.
func (o *Objects) staticAddr(n *HostComputeNetwork) netip.Addr {
	for i := range o.Endpoints {
		e := &o.Endpoints[i]
		if e.HostComputeNetwork == "" || (e.HostComputeNetwork != n.Name && !sameID(e.HostComputeNetwork, n.Id)) {
			continue
		}
		for _, a := range e.Addrs() {
			if a.Is4() {
				return a
			}
		}
	}
	return netip.Addr{}
}

// fillID canonicalises or makes up one object's ID and records it in seen.
func fillID(ps *problems, kind string, id *string, name string, i int, seen map[string]string) {
	lbl := label(name, *id, i)
	if *id == "" {
		key := name
		if key == "" {
			key = fmt.Sprintf("#%d", i)
		}
		*id = NameGUID(kind, key)
		if _, dup := seen[*id]; dup {
			// A second object with the same name (Validate reports that):
			// keep the IDs apart.
			*id = NameGUID(kind, fmt.Sprintf("%s#%d", key, i))
		}
	} else if g, ok := canonicalGUID(*id); ok {
		*id = g
	} else {
		ps.add(HCN_E_GUID_CONVERSION_FAILURE, kind, lbl, "ID", "ID %q is not a GUID", *id)
		return
	}
	if other, dup := seen[*id]; dup {
		ps.add(HCN_E_INVALID_JSON_REFERENCE, kind, lbl, "ID", "ID %s is also the ID of %s %q", *id, kind, other)
		return
	}
	seen[*id] = lbl
}

func (o *Objects) fillIDs(ps *problems) {
	seen := map[string]string{}
	for i := range o.Networks {
		fillID(ps, KindNetwork, &o.Networks[i].Id, o.Networks[i].Name, i, seen)
	}
	seen = map[string]string{}
	for i := range o.Endpoints {
		fillID(ps, KindEndpoint, &o.Endpoints[i].Id, o.Endpoints[i].Name, i, seen)
	}
	seen = map[string]string{}
	for i := range o.LoadBalancers {
		fillID(ps, KindLoadBalancer, &o.LoadBalancers[i].Id, o.LoadBalancers[i].Name, i, seen)
	}
	seen = map[string]string{}
	for i := range o.Namespaces {
		fillID(ps, KindNamespace, &o.Namespaces[i].Id, o.Namespaces[i].Name, i, seen)
	}
	seen = map[string]string{}
	for i := range o.Routes {
		fillID(ps, KindRoute, &o.Routes[i].ID, o.Routes[i].Name, i, seen)
	}
}

// resolveRef turns a reference (a GUID or a name) into an ID. byName lists
// the IDs of the objects with each name. A GUID is canonicalised and kept
// even when nothing has that ID; a name that matches nothing is kept as is;
// a name that matches several objects is a problem.
func resolveRef(ps *problems, ref string, byName map[string][]string, kind, lbl, field, targetKind string) string {
	if ref == "" {
		return ref
	}
	if g, ok := canonicalGUID(ref); ok {
		return g
	}
	ids := byName[ref]
	switch len(ids) {
	case 0:
		return ref
	case 1:
		return ids[0]
	}
	ps.add(HCN_E_INVALID_JSON_REFERENCE, kind, lbl, field, "%s name %q is ambiguous: it names %d %ss (%s); use an ID",
		targetKind, ref, len(ids), targetKind, strings.Join(ids, ", "))
	return ref
}

func (o *Objects) resolveReferences(ps *problems) {
	netByName := map[string][]string{}
	for _, n := range o.Networks {
		if n.Name != "" {
			netByName[n.Name] = append(netByName[n.Name], n.Id)
		}
	}
	epByName := map[string][]string{}
	for _, e := range o.Endpoints {
		if e.Name != "" {
			epByName[e.Name] = append(epByName[e.Name], e.Id)
		}
	}
	nsByName := map[string][]string{}
	for _, n := range o.Namespaces {
		if n.Name != "" {
			nsByName[n.Name] = append(nsByName[n.Name], n.Id)
		}
	}
	for i := range o.Endpoints {
		e := &o.Endpoints[i]
		lbl := label(e.Name, e.Id, i)
		if e.HostComputeNetwork == "" && len(o.Networks) == 1 {
			e.HostComputeNetwork = o.Networks[0].Id
		}
		e.HostComputeNetwork = resolveRef(ps, e.HostComputeNetwork, netByName, KindEndpoint, lbl, "HostComputeNetwork", KindNetwork)
		e.HostComputeNamespace = resolveRef(ps, e.HostComputeNamespace, nsByName, KindEndpoint, lbl, "HostComputeNamespace", KindNamespace)
	}
	for i := range o.LoadBalancers {
		lb := &o.LoadBalancers[i]
		lbl := label(lb.Name, lb.Id, i)
		for j, ref := range lb.HostComputeEndpoints {
			lb.HostComputeEndpoints[j] = resolveRef(ps, ref, epByName, KindLoadBalancer, lbl, fmt.Sprintf("HostComputeEndpoints[%d]", j), KindEndpoint)
		}
	}
	for i := range o.Routes {
		r := &o.Routes[i]
		lbl := label(r.Name, r.ID, i)
		for j, ref := range r.HostComputeEndpoints {
			r.HostComputeEndpoints[j] = resolveRef(ps, ref, epByName, KindRoute, lbl, fmt.Sprintf("HostComputeEndpoints[%d]", j), KindEndpoint)
		}
	}
	for i := range o.Namespaces {
		ns := &o.Namespaces[i]
		lbl := label(ns.Name, ns.Id, i)
		for j := range ns.Resources {
			r := &ns.Resources[j]
			if r.Type != NamespaceResourceTypeEndpoint {
				continue
			}
			id, err := r.ID()
			if err != nil {
				continue // Validate reports undecodable resources
			}
			field := fmt.Sprintf("Resources[%d].Data.ID", j)
			if nid := resolveRef(ps, id, epByName, KindNamespace, lbl, field, KindEndpoint); nid != id {
				r.Data, _ = json.Marshal(NamespaceResourceEndpoint{Id: nid})
			}
		}
	}
}

// linkNamespaces makes endpoint<->namespace links two-way. It finds
// objects through indexes keyed as sameID compares IDs, so an import of
// many endpoints takes linear time (it used to scan every endpoint for every
// namespace resource and every resource for every endpoint).
func (o *Objects) linkNamespaces(ps *problems) {
	eps := newIDIndex(len(o.Endpoints), func(i int) string { return o.Endpoints[i].Id })
	for i := range o.Namespaces {
		ns := &o.Namespaces[i]
		for _, r := range ns.Resources {
			if r.Type != NamespaceResourceTypeEndpoint {
				continue
			}
			id, err := r.ID()
			if err != nil {
				continue
			}
			var e *HostComputeEndpoint
			if j, ok := eps.find(id); !ok {
				e = o.EndpointByID(id)
			} else if j >= 0 {
				e = &o.Endpoints[j]
			}
			if e == nil {
				continue
			}
			switch {
			case e.HostComputeNamespace == "":
				e.HostComputeNamespace = ns.Id
			case !sameID(e.HostComputeNamespace, ns.Id):
				ps.add(HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS, KindEndpoint, label(e.Name, e.Id, -1), "HostComputeNamespace",
					"endpoint names namespace %s but is also a resource of namespace %s", e.HostComputeNamespace, ns.Id)
			}
		}
	}
	nss := newIDIndex(len(o.Namespaces), func(i int) string { return o.Namespaces[i].Id })
	members := make(map[int]*idIndex) // namespace index -> its endpoint resources, built on first use
	for i := range o.Endpoints {
		e := &o.Endpoints[i]
		if e.HostComputeNamespace == "" {
			continue
		}
		j, ok := nss.find(e.HostComputeNamespace)
		if !ok {
			j = -1
			if ns := o.NamespaceByID(e.HostComputeNamespace); ns != nil {
				j = namespaceIndex(o, ns)
			}
		}
		if j < 0 {
			continue
		}
		ns := &o.Namespaces[j]
		m := members[j]
		if m == nil {
			m = endpointResources(ns)
			members[j] = m
		}
		found := false
		if k, ok := m.find(e.Id); ok {
			found = k >= 0
		} else {
			for _, r := range ns.Resources {
				if id, err := r.ID(); err == nil && r.Type == NamespaceResourceTypeEndpoint && sameID(id, e.Id) {
					found = true
					break
				}
			}
		}
		if !found {
			data, _ := json.Marshal(NamespaceResourceEndpoint{Id: e.Id})
			ns.Resources = append(ns.Resources, NamespaceResource{Type: NamespaceResourceTypeEndpoint, Data: data})
			m.add(e.Id, len(ns.Resources)-1)
		}
	}
}

// namespaceIndex returns the index of ns in o.Namespaces.
func namespaceIndex(o *Objects, ns *HostComputeNamespace) int {
	for i := range o.Namespaces {
		if &o.Namespaces[i] == ns {
			return i
		}
	}
	return -1
}

// endpointResources indexes the endpoint IDs among ns's resources.
func endpointResources(ns *HostComputeNamespace) *idIndex {
	x := &idIndex{m: make(map[string]int, len(ns.Resources))}
	for i, r := range ns.Resources {
		if r.Type != NamespaceResourceTypeEndpoint {
			continue
		}
		if id, err := r.ID(); err == nil {
			x.add(id, i)
		}
	}
	return x
}

// idIndex finds the first of a list of objects whose ID is sameID with a
// given one, in constant time. sameID compares canonical GUIDs with
// strings.EqualFold, which for ASCII is comparing upper case; an index that
// holds a non-ASCII ID answers nothing (find's ok is false) and the caller
// scans the list instead, so the answer is always sameID's.
type idIndex struct {
	m      map[string]int // upper-case canonical ID -> first index
	linear bool           // an ID is not ASCII: callers scan
}

// newIDIndex indexes the IDs id(0) ... id(n-1).
func newIDIndex(n int, id func(i int) string) idIndex {
	x := idIndex{m: make(map[string]int, n)}
	for i := 0; i < n; i++ {
		x.add(id(i), i)
	}
	return x
}

// sameIDKey returns the index key of an ID, and false when it is not ASCII.
func sameIDKey(id string) (string, bool) {
	c, _ := canonicalGUID(id)
	for i := 0; i < len(c); i++ {
		if c[i] >= utf8.RuneSelf {
			return "", false
		}
	}
	return strings.ToUpper(c), true
}

// add records that the object at index i has this ID, unless an earlier
// object has it already.
func (x *idIndex) add(id string, i int) {
	if x.linear {
		return
	}
	k, ok := sameIDKey(id)
	if !ok {
		x.linear, x.m = true, nil
		return
	}
	if _, dup := x.m[k]; !dup {
		x.m[k] = i
	}
}

// find returns the index of the first object with this ID, or -1; ok is
// false when the index cannot tell and the caller must scan.
func (x *idIndex) find(id string) (i int, ok bool) {
	if x.linear {
		return 0, false
	}
	k, ok := sameIDKey(id)
	if !ok {
		return 0, false
	}
	if i, hit := x.m[k]; hit {
		return i, true
	}
	return -1, true
}

// NetworkByID returns the network with this ID (case and braces ignored), or nil.
func (o *Objects) NetworkByID(id string) *HostComputeNetwork {
	for i := range o.Networks {
		if sameID(o.Networks[i].Id, id) {
			return &o.Networks[i]
		}
	}
	return nil
}

// NetworkByName returns the first network with this name, or nil.
func (o *Objects) NetworkByName(name string) *HostComputeNetwork {
	for i := range o.Networks {
		if o.Networks[i].Name == name {
			return &o.Networks[i]
		}
	}
	return nil
}

// EndpointByID returns the endpoint with this ID, or nil.
func (o *Objects) EndpointByID(id string) *HostComputeEndpoint {
	for i := range o.Endpoints {
		if sameID(o.Endpoints[i].Id, id) {
			return &o.Endpoints[i]
		}
	}
	return nil
}

// EndpointByName returns the first endpoint with this name, or nil.
func (o *Objects) EndpointByName(name string) *HostComputeEndpoint {
	for i := range o.Endpoints {
		if o.Endpoints[i].Name == name {
			return &o.Endpoints[i]
		}
	}
	return nil
}

// EndpointsOfNetwork returns the endpoints whose HostComputeNetwork is id, in order.
func (o *Objects) EndpointsOfNetwork(id string) []*HostComputeEndpoint {
	var out []*HostComputeEndpoint
	for i := range o.Endpoints {
		if sameID(o.Endpoints[i].HostComputeNetwork, id) {
			out = append(out, &o.Endpoints[i])
		}
	}
	return out
}

// NetworkOfEndpoint returns the network of e, or nil.
func (o *Objects) NetworkOfEndpoint(e *HostComputeEndpoint) *HostComputeNetwork {
	if e == nil || e.HostComputeNetwork == "" {
		return nil
	}
	return o.NetworkByID(e.HostComputeNetwork)
}

// NamespaceByID returns the namespace with this ID, or nil.
func (o *Objects) NamespaceByID(id string) *HostComputeNamespace {
	for i := range o.Namespaces {
		if sameID(o.Namespaces[i].Id, id) {
			return &o.Namespaces[i]
		}
	}
	return nil
}

// LoadBalancerByID returns the load balancer with this ID, or nil.
func (o *Objects) LoadBalancerByID(id string) *HostComputeLoadBalancer {
	for i := range o.LoadBalancers {
		if sameID(o.LoadBalancers[i].Id, id) {
			return &o.LoadBalancers[i]
		}
	}
	return nil
}

// LoadBalancersOfEndpoint returns the load balancers that have endpoint id
// as a backend, in order.
func (o *Objects) LoadBalancersOfEndpoint(id string) []*HostComputeLoadBalancer {
	var out []*HostComputeLoadBalancer
	for i := range o.LoadBalancers {
		for _, ref := range o.LoadBalancers[i].HostComputeEndpoints {
			if sameID(ref, id) {
				out = append(out, &o.LoadBalancers[i])
				break
			}
		}
	}
	return out
}

// RoutesOfEndpoint returns the SDN routes applied to endpoint id, in order.
func (o *Objects) RoutesOfEndpoint(id string) []*HostComputeRoute {
	var out []*HostComputeRoute
	for i := range o.Routes {
		for _, ref := range o.Routes[i].HostComputeEndpoints {
			if sameID(ref, id) {
				out = append(out, &o.Routes[i])
				break
			}
		}
	}
	return out
}

// Clone returns a deep copy of o (through JSON, so it is what o encodes to).
func (o *Objects) Clone() (*Objects, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("clone objects: %w", err)
	}
	c := new(Objects)
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("clone objects: %w", err)
	}
	c.Unknown = append([]string(nil), o.Unknown...)
	return c, nil
}
