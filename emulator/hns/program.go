package hns

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/host"
	"github.com/hnspath/hnspath/emulator/vfp"
	"github.com/hnspath/hnspath/emulator/winnat"
)

// ProgramOptions tune Program.
type ProgramOptions struct {
	Profile Profile
	// NAT is the base WinNAT configuration (timeouts, filtering, port range);
	// Program fills in the internal prefix and external addresses.
	NAT winnat.Config
	// Shard and Shards partition dynamic port ranges between per-core
	// copies of a host (benchmarks).
	Shard, Shards int
}

// Exposed is an address of a container that the underlay reaches through
// this host (transparent, l2bridge, l2tunnel), or a container prefix routed
// to the host, so the fabric's router and neighbour caches can find it.
type Exposed struct {
	Addr   netip.Addr   // a container address, or invalid
	Prefix netip.Prefix // a container prefix routed to the host, or invalid
	MAC    header.MAC   // the MAC frames to it carry on the wire
	OwnMAC bool         // the container's own MAC is on the wire (transparent)
	NIC    int          // the host NIC it is behind
}

// Programmed is a host's programmed HNS state; its methods apply later
// changes the way HNS would, bumping VFP generations so that cached flows
// are re-evaluated lazily.
type Programmed struct {
	// Exposed are the container addresses the underlay reaches through the host.
	Exposed []Exposed
	pr      *programmer
}

// Program turns a host's HNS objects (already normalised and validated)
// into the host's virtual switches, ports, VFP policy and WinNAT, as HNS
// does on a real host.
func Program(h *host.Host, o *Objects, opts ProgramOptions) (*Programmed, error) {
	pr := &programmer{h: h, o: o, opts: opts}
	ex, err := pr.program()
	return &Programmed{Exposed: ex, pr: pr}, err
}

func (pr *programmer) program() ([]Exposed, error) {
	o := pr.o
	for i := range o.Networks {
		n := &o.Networks[i]
		var err error
		switch n.Type {
		case NAT:
			err = pr.nat(n)
		default:
			err = pr.vfpNetwork(n)
		}
		if err != nil {
			pr.errs = append(pr.errs, fmt.Errorf("network %q: %w", n.Name, err))
		}
	}
	if len(pr.errs) == 0 {
		for _, vn := range pr.nets {
			if err := pr.programPolicies(vn); err != nil {
				pr.errs = append(pr.errs, fmt.Errorf("network %q: %w", vn.n.Name, err))
			}
		}
	}
	if len(pr.errs) == 0 {
		if err := pr.programLoadBalancers(); err != nil {
			pr.errs = append(pr.errs, err)
		}
	}
	if len(pr.errs) == 0 {
		if err := pr.attachLayers(); err != nil {
			pr.errs = append(pr.errs, err)
		}
	}
	return pr.exposed, errors.Join(pr.errs...)
}

type programmer struct {
	h       *host.Host
	o       *Objects
	opts    Options
	exposed []Exposed
	errs    []error

	nets    []*vfpNet
	ports   portAlloc
	layers  map[*vfp.Port]map[string]*vfp.Layer // layers being built, attached at the end
	extVFP  map[int]*vfp.Port                   // VFP of a switch's external port
	vnicVFP map[int]*vfp.Port                   // VFP of a switch's management OS vNIC port
	lbPools map[string]lbPool                   // port blocks reserved by non-DSR load balancers

	// macs are the MACs of the host's local endpoints: those given, then
	// those derived (endpointMAC), so that no two ports share one.
	macs   map[header.MAC]bool
	epMACs map[*HostComputeEndpoint]header.MAC // derived, by endpoint
}

// Options is ProgramOptions under a short name inside the package.
type Options = ProgramOptions

// endpointsOf returns the local (not remote) endpoints of network n.
func (pr *programmer) endpointsOf(n *HostComputeNetwork) []*HostComputeEndpoint {
	var out []*HostComputeEndpoint
	for i := range pr.o.Endpoints {
		e := &pr.o.Endpoints[i]
		if sameID(e.HostComputeNetwork, n.Id) && !e.IsRemote() {
			out = append(out, e)
		}
	}
	return out
}

// endpointName is the port name of an endpoint: its Name, else its ID.
func endpointName(e *HostComputeEndpoint) string {
	if e.Name != "" {
		return e.Name
	}
	return e.Id
}

// hypervMAC derives a stable MAC in the Hyper-V range 00-15-5D-xx-xx-xx
// (the OUI Hyper-V and HNS MAC pools use) from a seed.
func hypervMAC(seed string) header.MAC {
	s := sha1.Sum([]byte(seed))
	return header.MAC{0x00, 0x15, 0x5d, s[0], s[1], s[2]}
}

// endpointMAC returns the endpoint's MacAddress; without one, an overlay
// endpoint with an IPv4 address gets 0E-2A-<address in hex>, as win-overlay
// endpoints show on real nodes (docs/fidelity.md §5), and any other one a MAC
// derived from the host and endpoint names that no other local endpoint of the
// host has (given or derived before): HNS hands out MACs from a pool, never one
// twice (MacPool). A derived MAC has 24 random bits, so among 10,000 endpoints
// two would share one more often than not (the birthday bound): on a collision
// the next candidate is derived from the name and a counter. The same endpoint
// always gets the same MAC.
func (pr *programmer) endpointMAC(e *HostComputeEndpoint) (header.MAC, error) {
	if e.MacAddress != "" {
		m, ok := header.ParseMAC(e.MacAddress)
		if !ok {
			return m, fmt.Errorf("endpoint %q: MacAddress %q is not a MAC", endpointName(e), e.MacAddress)
		}
		return m, nil
	}
	if m, ok := pr.epMACs[e]; ok {
		return m, nil
	}
	if pr.macs == nil {
		pr.macs = map[header.MAC]bool{}
		pr.epMACs = map[*HostComputeEndpoint]header.MAC{}
		for i := range pr.o.Endpoints {
			if o := &pr.o.Endpoints[i]; !o.IsRemote() && o.MacAddress != "" {
				if m, ok := header.ParseMAC(o.MacAddress); ok {
					pr.macs[m] = true
				}
			}
		}
	}
	if n := pr.o.NetworkByID(e.HostComputeNetwork); n != nil && n.Type == Overlay {
		for _, a := range e.Addrs() {
			if a.Is4() {
				m := ipMAC(0x0e, 0x2a, a)
				pr.macs[m] = true
				pr.epMACs[e] = m
				return m, nil
			}
		}
	}
	seed := pr.h.Name + "/" + endpointName(e)
	m := hypervMAC(seed)
	for k := 1; pr.macs[m]; k++ {
		m = hypervMAC(seed + "#" + strconv.Itoa(k))
	}
	pr.macs[m] = true
	pr.epMACs[e] = m
	return m, nil
}

// ipMAC returns the MAC b0-b1-<IPv4 address a in hex>: the convention of
// win-overlay endpoints (0E-2A) and of kube-proxy's remote endpoints (02-11).
func ipMAC(b0, b1 byte, a netip.Addr) header.MAC {
	v := a.As4()
	return header.MAC{b0, b1, v[0], v[1], v[2], v[3]}
}

// gateway returns a subnet's gateway: the next hop of its default route,
// else the first address of the prefix (HNS reserves it unless
// DoNotReserveGatewayAddress).
func gateway(s Subnet, p netip.Prefix) netip.Addr {
	for _, r := range s.Routes {
		if a, err := netip.ParseAddr(r.NextHop); err == nil && p.Contains(a) {
			return a
		}
	}
	return p.Masked().Addr().Next()
}

// ipam hands out addresses of a prefix, as HNS's static IPAM does for
// endpoints created without one: the lowest free address after the gateway.
type ipam struct {
	prefix netip.Prefix
	used   map[netip.Addr]bool
}

func newIPAM(p netip.Prefix, reserved ...netip.Addr) *ipam {
	a := &ipam{prefix: p.Masked(), used: map[netip.Addr]bool{p.Masked().Addr(): true}}
	for _, r := range reserved {
		a.used[r] = true
	}
	return a
}

func (a *ipam) take(x netip.Addr) { a.used[x] = true }

func (a *ipam) next() (netip.Addr, error) {
	for x := a.prefix.Addr(); a.prefix.Contains(x); x = x.Next() {
		if !a.used[x] && x.Next().IsValid() && a.prefix.Contains(x.Next()) { // not the broadcast address
			a.used[x] = true
			return x, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("subnet %s: no free address (HCN_E_ADDR_INVALID_OR_RESERVED)", a.prefix)
}

// RemoveEndpoint deletes a local endpoint as HNS does when its container
// goes away: its vNIC is disabled (frames to it are dropped, "Destination
// NIC is disabled") and the switch forgets its addresses. Load balancers
// that list it are not changed: updating them is the orchestrator's job
// (kube-proxy), and until it does they still send flows there
// (kubernetes/kubernetes#112836).
func (p *Programmed) RemoveEndpoint(name string) error {
	for _, vn := range p.pr.nets {
		for _, ep := range vn.eps {
			if endpointName(ep.e) != name || ep.removed {
				continue
			}
			ep.removed = true
			sw := p.pr.h.Switches[vn.si]
			sw.SetPortDisabled(ep.port, true)
			for _, a := range ep.ips {
				sw.UnmapCA(a)
				if vn.n.Type == Overlay {
					sw.UnmapVNI(vn.vni, a)
				}
			}
			return nil
		}
	}
	if ei, ok := p.pr.h.EndpointByName(name); ok && ei != host.HostEndpoint {
		e := &p.pr.h.Endpoints[ei]
		p.pr.h.Switches[e.Switch].SetPortDisabled(e.Port, true)
		return nil
	}
	return fmt.Errorf("remove endpoint %q: no such endpoint (HCN_E_ENDPOINT_NOT_FOUND)", name)
}

// UpdateLoadBalancer changes a load balancer's backends (HcnModifyLoadBalancer):
// its LBNAT rules are replaced, which bumps the generation of every port
// that has them; flows to a removed backend are re-evaluated on their next
// packet and pick a remaining one.
func (p *Programmed) UpdateLoadBalancer(name string, endpoints []string) error {
	pr := p.pr
	for li := range pr.o.LoadBalancers {
		lb := &pr.o.LoadBalancers[li]
		if label(lb.Name, lb.Id, li) != name && !sameID(lb.Id, name) {
			continue
		}
		var ids []string
		for _, e := range endpoints {
			if x := pr.o.EndpointByName(e); x != nil {
				ids = append(ids, x.Id)
			} else {
				ids = append(ids, e)
			}
		}
		lb.HostComputeEndpoints = ids
		return pr.programLB(li, true)
	}
	return fmt.Errorf("update load balancer %q: no such load balancer (HCN_E_LOADBALANCER_NOT_FOUND)", name)
}
