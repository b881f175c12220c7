package fabric

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/emulator/host"
	"github.com/hnspath/hnspath/emulator/packet"
)

// FieldError is a problem with one field of a topology, named by its path
// (e.g. "hosts[0].nics[1].mac"). Scenario loaders map the path to a file
// and line.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

type errList []error

func (l *errList) add(field string, format string, args ...any) {
	*l = append(*l, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
}

func (l *errList) wrap(field string, err error) {
	*l = append(*l, &FieldError{Field: field, Err: err})
}

// New builds a fabric from a topology: it validates each host's HNS objects
// as HNS would (hns.Validate) and programs them (hns.Program), then joins
// hosts, peers and the router on the underlay. All problems are reported
// together (errors.Join of *FieldError and *hns.ValidationError).
func New(topo Topology, opts Options) (*Fabric, error) {
	f := &Fabric{Topology: topo, byName: make(map[string]PortID), members: make(map[uint64]*member),
		owners: newOwners(), opts: opts}
	// The per-packet scratch slices start with room for a few frames, so
	// that their arrays span whole cache lines: grown from nil by append, the
	// first arrays are 8 to 32 bytes, and the fabrics of a multi-core run,
	// built one after the other, got neighbouring ones (false sharing: the
	// NAT workload did not scale from one core to two).
	f.queue = make([]wireFrame, 0, 16)
	f.held = make([]*packet.Buffer, 0, 16)
	f.box.Emits = make([]host.Emit, 0, 8)
	f.box.Pool = &f.pool
	f.pool.Reserve(32)
	var errs errList
	var exposed [][]hns.Exposed
	pre := underlayNeighbors(topo)
	for hi := range topo.Hosts {
		hs := &topo.Hosts[hi]
		field := fmt.Sprintf("hosts[%d]", hi)
		if hs.Name == "" || strings.Contains(hs.Name, "/") {
			errs.add(field+".name", "host name %q must be non-empty and without '/'", hs.Name)
			continue
		}
		h, prog, err := buildHost(hs, field, opts, &errs, pre)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if h == nil {
			continue
		}
		if opts.NoFastPath {
			h.SetFastPath(false)
		}
		hi2 := len(f.hosts)
		f.hosts = append(f.hosts, h)
		f.programmed = append(f.programmed, prog)
		exposed = append(exposed, prog.Exposed)
		f.epPort = append(f.epPort, nil)
		f.nicPort = append(f.nicPort, nil)
		for ei, e := range h.Endpoints {
			kind := PortEndpoint
			if ei == host.HostEndpoint {
				kind = PortHostOS
			}
			name := h.Name + "/" + e.Name
			if _, dup := f.byName[name]; dup {
				errs.add(field, "port name %q used twice", name)
			}
			id := f.addPort(Port{Name: name, Kind: kind, Host: hi2, Endpoint: ei, MAC: e.MAC, IPs: e.IPs, Gateway: h.EndpointGateway(ei), Gateway6: e.Gateway6})
			f.epPort[hi2] = append(f.epPort[hi2], id)
		}
		for ni, n := range h.NICs {
			name := h.Name + "/" + n.Name
			if _, dup := f.byName[name]; dup {
				errs.add(fmt.Sprintf("%s.nics[%d].name", field, ni), "port name %q used twice", name)
			}
			ips := h.NICAddrs(ni)
			id := f.addPort(Port{Name: name, Kind: PortNIC, Host: hi2, NIC: ni, MAC: n.MAC, IPs: ips})
			f.nicPort[hi2] = append(f.nicPort[hi2], id)
			m := member{kind: memberNIC, host: hi2, nic: ni, port: id, mac: n.MAC}
			f.addMember(m, &errs, fmt.Sprintf("%s.nics[%d].mac", field, ni))
			for _, a := range ips {
				f.owners.set(a, m)
			}
		}
	}
	for pi := range topo.Peers {
		ps := &topo.Peers[pi]
		field := fmt.Sprintf("peers[%d]", pi)
		if ps.Name == "" || strings.Contains(ps.Name, "/") {
			errs.add(field+".name", "peer name %q must be non-empty and without '/'", ps.Name)
			continue
		}
		if _, dup := f.byName[ps.Name]; dup {
			errs.add(field+".name", "port name %q used twice", ps.Name)
			continue
		}
		mac, ok := header.ParseMAC(ps.MAC)
		if !ok {
			errs.add(field+".mac", "invalid MAC %q", ps.MAC)
			continue
		}
		var ips []netip.Addr
		for j, s := range append([]string{ps.IP}, ps.IPs...) {
			if s == "" {
				continue
			}
			a, err := parseAddrOrPrefix(s)
			if err != nil {
				fld := field + ".ip"
				if j > 0 {
					fld = fmt.Sprintf("%s.ips[%d]", field, j-1)
				}
				errs.wrap(fld, err)
				continue
			}
			ips = append(ips, a)
		}
		var gw netip.Addr
		if ps.Gateway != "" {
			g, err := netip.ParseAddr(ps.Gateway)
			if err != nil {
				errs.wrap(field+".gateway", err)
			}
			gw = g
		}
		id := f.addPort(Port{Name: ps.Name, Kind: PortPeer, Peer: pi, MAC: mac, IPs: ips, Gateway: gw})
		f.peers = append(f.peers, id)
		m := member{kind: memberPeer, peer: pi, port: id, mac: mac}
		f.addMember(m, &errs, field+".mac")
		for _, a := range ips {
			f.owners.set(a, m)
		}
	}
	if rs := topo.Underlay.Router; rs != nil {
		f.buildRouter(rs, &errs)
	}
	for pi := range topo.Peers {
		ps := &topo.Peers[pi]
		id, ok := f.byName[ps.Name]
		if !ok || len(ps.Prefixes) == 0 {
			continue
		}
		if f.router == nil {
			errs.add(fmt.Sprintf("peers[%d].prefixes", pi), "prefixes behind a peer need an underlay router")
			continue
		}
		if len(f.ports[id].IPs) == 0 {
			errs.add(fmt.Sprintf("peers[%d].prefixes", pi), "a peer with prefixes needs an address")
			continue
		}
		for j, s := range ps.Prefixes {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				errs.wrap(fmt.Sprintf("peers[%d].prefixes[%d]", pi, j), err)
				continue
			}
			f.router.routes = append(f.router.routes, routerRoute{prefix: p.Masked(), nextHop: f.ports[id].IPs[0]})
		}
	}
	// Container addresses visible on the underlay (transparent, l2bridge,
	// l2tunnel): the router routes to them through the owning host.
	for hi, ex := range exposed {
		for _, e := range ex {
			m := member{kind: memberNIC, host: hi, nic: e.NIC, port: f.nicPort[hi][e.NIC], mac: e.MAC, key: macKey(e.MAC)}
			if e.OwnMAC {
				if _, dup := f.members[macKey(e.MAC)]; !dup {
					f.members[macKey(e.MAC)] = &m
				}
			}
			if e.Addr.IsValid() {
				f.owners.set(e.Addr, m)
			}
			if e.Prefix.IsValid() && f.router != nil {
				if nh, ok := f.hosts[hi].NICPrimary(e.NIC); ok {
					f.router.routes = append(f.router.routes, routerRoute{prefix: e.Prefix, nextHop: nh})
				}
			}
		}
	}
	if f.router != nil {
		sortRoutes(f.router.routes)
	}
	// Every host knows the MAC of everything on the underlay (a resolved
	// neighbour cache: scenarios need not script ARP).
	for _, h := range f.hosts {
		f.owners.all(func(a netip.Addr, m member) {
			if _, ok := h.Stack.Neighbor(a); !ok {
				h.Stack.AddNeighbor(a, m.mac)
			}
		})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}

func (f *Fabric) addMember(m member, errs *errList, field string) {
	m.key = macKey(m.mac)
	if o, dup := f.members[macKey(m.mac)]; dup {
		errs.add(field, "MAC %s already used by %s", m.mac, f.ports[o.port].Name)
		return
	}
	f.members[macKey(m.mac)] = &m
	f.attach = append(f.attach, m)
	f.attachKeys = append(f.attachKeys, m.key)
}

func (f *Fabric) buildRouter(rs *RouterSpec, errs *errList) {
	mac, ok := header.ParseMAC(rs.MAC)
	if !ok {
		errs.add("underlay.router.mac", "invalid MAC %q", rs.MAC)
		return
	}
	r := &router{mac: mac}
	for i, s := range rs.IPs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			errs.wrap(fmt.Sprintf("underlay.router.ips[%d]", i), err)
			continue
		}
		r.addrs = append(r.addrs, p)
	}
	for i, rt := range rs.Routes {
		p, err := netip.ParsePrefix(rt.Prefix)
		if err != nil {
			errs.wrap(fmt.Sprintf("underlay.router.routes[%d].prefix", i), err)
			continue
		}
		nh, err := netip.ParseAddr(rt.NextHop)
		if err != nil {
			errs.wrap(fmt.Sprintf("underlay.router.routes[%d].via", i), err)
			continue
		}
		r.routes = append(r.routes, routerRoute{prefix: p.Masked(), nextHop: nh})
	}
	name := rs.Name
	if name == "" {
		name = "router"
	}
	var ips []netip.Addr
	for _, p := range r.addrs {
		ips = append(ips, p.Addr())
	}
	r.port = f.addPort(Port{Name: name, Kind: PortRouter, MAC: mac, IPs: ips})
	m := member{kind: memberRouter, port: r.port, mac: mac}
	f.addMember(m, errs, "underlay.router.mac")
	for _, a := range ips {
		f.owners.set(a, m)
	}
	f.router = r
}

func sortRoutes(rs []routerRoute) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].prefix.Bits() > rs[j-1].prefix.Bits(); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

func parseAddrOrPrefix(s string) (netip.Addr, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Addr(), err
	}
	return netip.ParseAddr(s)
}

// buildHost makes one host: NICs, management OS settings, then the HNS
// objects through the programmer.
func buildHost(hs *HostSpec, field string, opts Options, errs *errList, pre []neighbor) (*host.Host, *hns.Programmed, error) {
	h := host.New(hs.Name)
	before := len(*errs)
	var nics []hns.NIC
	for ni, ns := range hs.NICs {
		nf := fmt.Sprintf("%s.nics[%d]", field, ni)
		mac, ok := header.ParseMAC(ns.MAC)
		if !ok {
			errs.add(nf+".mac", "invalid MAC %q", ns.MAC)
			continue
		}
		var addrs []netip.Prefix
		var v4 netip.Prefix
		if ns.IP != "" {
			p, err := netip.ParsePrefix(ns.IP)
			if err != nil || !p.Addr().Is4() {
				errs.add(nf+".ip", "want an IPv4 address with prefix length, got %q", ns.IP)
				continue
			}
			addrs = append(addrs, p)
			v4 = p
		}
		if ns.IPv6 != "" {
			p, err := netip.ParsePrefix(ns.IPv6)
			if err != nil || !p.Addr().Is6() {
				errs.add(nf+".ipv6", "want an IPv6 address with prefix length, got %q", ns.IPv6)
				continue
			}
			addrs = append(addrs, p)
		}
		if ns.MTU < 0 || ns.MTU > 9000 {
			errs.add(nf+".mtu", "MTU %d out of range", ns.MTU)
		}
		idx, err := h.AddNIC(ns.Name, mac, ns.MTU, addrs)
		if err != nil {
			errs.wrap(nf+".name", err)
			continue
		}
		h.Stack.SetForwarding(h.NICs[idx].Iface, false)
		if ns.Gateway != "" {
			gw, err := netip.ParseAddr(ns.Gateway)
			if err != nil {
				errs.wrap(nf+".gateway", err)
			} else {
				fam := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
				if gw.Is6() {
					fam = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
				}
				h.Stack.AddRoute(host.Route{Prefix: fam, NextHop: gw, Iface: h.NICs[idx].Iface, Metric: 256})
			}
		}
		nics = append(nics, hns.NIC{Name: ns.Name, MAC: ns.MAC, Prefix: v4})
	}
	for i, l := range hs.Listen {
		proto, port, ok := strings.Cut(l, "/")
		n, err := strconv.ParseUint(port, 10, 16)
		var pr uint8
		switch strings.ToLower(proto) {
		case "tcp":
			pr = 6
		case "udp":
			pr = 17
		default:
			ok = false
		}
		if !ok || err != nil {
			errs.add(fmt.Sprintf("%s.listen[%d]", field, i), "want tcp/PORT or udp/PORT, got %q", l)
			continue
		}
		h.Stack.Listen(pr, uint16(n))
	}
	if len(*errs) > before {
		return nil, nil, nil
	}
	// The underlay's neighbours are known before HNS objects are programmed
	// (VXLAN encapsulation rules carry the next hop's MAC).
	for _, n := range pre {
		if !h.Stack.IsLocal(n.addr) {
			h.Stack.AddNeighbor(n.addr, n.mac)
		}
	}
	profile := hns.DefaultProfile()
	if hs.Profile != "" {
		p, err := hns.ProfileByName(hs.Profile)
		if err != nil {
			errs.wrap(field+".profile", err)
			return nil, nil, nil
		}
		profile = p
	}
	// A deep copy: programming and later changes (UpdateLoadBalancer) must
	// not write into the caller's topology.
	objsp, err := hs.HNS.Clone()
	if err != nil {
		errs.wrap(field+".hns", err)
		return nil, nil, nil
	}
	objs := *objsp
	if err := objs.Normalize(); err != nil {
		errs.wrap(field+".hns", err)
		return nil, nil, nil
	}
	if err := hns.Validate(&objs, hns.HostContext{Name: hs.Name, Profile: profile, NICs: nics}); err != nil {
		errs.wrap(field+".hns", err)
		return nil, nil, nil
	}
	natCfg, err := natConfig(hs.NAT)
	if err != nil {
		errs.wrap(field+".nat", err)
		return nil, nil, nil
	}
	prog, err := hns.Program(h, &objs, hns.ProgramOptions{Profile: profile, NAT: natCfg, Shard: opts.Shard, Shards: opts.Shards})
	if err != nil {
		errs.wrap(field+".hns", err)
		return nil, nil, nil
	}
	for i, rs := range hs.Routes {
		p, err1 := netip.ParsePrefix(rs.Prefix)
		nh, err2 := netip.ParseAddr(rs.NextHop)
		if err1 != nil || err2 != nil {
			errs.add(fmt.Sprintf("%s.routes[%d]", field, i), "want prefix and via address, got %q via %q", rs.Prefix, rs.NextHop)
			continue
		}
		r, ok := h.Stack.Lookup(nh)
		if !ok {
			errs.add(fmt.Sprintf("%s.routes[%d].via", field, i), "next hop %s is not on a connected network", nh)
			continue
		}
		h.Stack.AddRoute(host.Route{Prefix: p, NextHop: nh, Iface: r.Iface, Metric: 256})
	}
	return h, prog, nil
}

type neighbor struct {
	addr netip.Addr
	mac  header.MAC
}

// underlayNeighbors lists the addresses and MACs of everything on the
// underlay that the topology declares directly: host NICs, peers and the
// router. Malformed entries are skipped (New reports them).
func underlayNeighbors(topo Topology) []neighbor {
	var out []neighbor
	add := func(mac, ip string) {
		m, ok := header.ParseMAC(mac)
		if !ok || ip == "" {
			return
		}
		a, err := parseAddrOrPrefix(ip)
		if err != nil {
			return
		}
		out = append(out, neighbor{a, m})
	}
	for _, h := range topo.Hosts {
		for _, n := range h.NICs {
			add(n.MAC, n.IP)
			add(n.MAC, n.IPv6)
		}
	}
	for _, p := range topo.Peers {
		add(p.MAC, p.IP)
		for _, ip := range p.IPs {
			add(p.MAC, ip)
		}
	}
	if r := topo.Underlay.Router; r != nil {
		for _, ip := range r.IPs {
			add(r.MAC, ip)
		}
	}
	return out
}
