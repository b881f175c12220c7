package scenarios

import (
	"net"
	"net/netip"
	"strings"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/spec"
)

// resolver turns names in specs into addresses from the fabric's ports:
//
//   - a port name ("host1/web", "client", "host1/eth0"): the port's MAC and
//     first address of the family; for a management OS port ("host1/host"),
//     its host's first NIC;
//   - a host name ("host1"): the host's first NIC (its address on the
//     underlay);
//   - "gateway" (or "gw"): the default gateway of the port the spec is
//     injected at or expected at; its MAC is learnt as a real container
//     learns it, by ARP through the fabric (see runner.arp).
type resolver struct {
	f     *fabric.Fabric
	topo  *Topology
	hosts map[string]fabric.PortID // host name -> its first NIC port
	pfx   map[fabric.PortID][]netip.Prefix
	// arp resolves a next hop's MAC from a port at run time; nil when
	// only checking names (then the gateway's MAC is a placeholder).
	arp func(from fabric.PortID, ip netip.Addr) (net.HardwareAddr, bool)
}

// portResolver is a resolver in the context of one port.
type portResolver struct {
	*resolver
	port fabric.PortID
}

func newResolver(f *fabric.Fabric, t *Topology, arp func(fabric.PortID, netip.Addr) (net.HardwareAddr, bool)) *resolver {
	r := &resolver{f: f, topo: t, hosts: map[string]fabric.PortID{}, pfx: map[fabric.PortID][]netip.Prefix{}, arp: arp}
	for id, p := range f.Ports() {
		if p.Kind == fabric.PortNIC {
			h := f.Hosts()[p.Host].Name
			if _, ok := r.hosts[h]; !ok {
				r.hosts[h] = fabric.PortID(id)
			}
		}
	}
	r.prefixes()
	return r
}

// prefixes works out each port's on-link prefixes from the topology: NIC
// and peer addresses with their prefix lengths, endpoint IP
// configurations (or the subnet of their network).
func (r *resolver) prefixes() {
	if r.topo == nil {
		return
	}
	for _, hs := range r.topo.Hosts {
		for _, n := range hs.NICs {
			if id, ok := r.f.PortByName(hs.Name + "/" + n.Name); ok {
				for _, s := range []string{n.IP, n.IPv6} {
					if p, err := netip.ParsePrefix(s); err == nil {
						r.pfx[id] = append(r.pfx[id], p.Masked())
					}
				}
			}
		}
		objs := hs.HNS
		for _, e := range objs.Endpoints {
			id, ok := r.f.PortByName(hs.Name + "/" + e.Name)
			if !ok {
				continue
			}
			var subnets []netip.Prefix
			for _, nw := range objs.Networks {
				if nw.Name == e.HostComputeNetwork || strings.EqualFold(nw.Id, e.HostComputeNetwork) {
					subnets = nw.Prefixes()
				}
			}
			for _, c := range e.IpConfigurations {
				a, err := netip.ParseAddr(c.IpAddress)
				if err != nil {
					continue
				}
				if c.PrefixLength > 0 {
					if p, err := a.Prefix(int(c.PrefixLength)); err == nil {
						r.pfx[id] = append(r.pfx[id], p)
						continue
					}
				}
				for _, s := range subnets {
					if s.Contains(a) {
						r.pfx[id] = append(r.pfx[id], s.Masked())
					}
				}
			}
		}
	}
	for _, ps := range r.topo.Peers {
		id, ok := r.f.PortByName(ps.Name)
		if !ok {
			continue
		}
		for _, s := range append([]string{ps.IP}, ps.IPs...) {
			if p, err := netip.ParsePrefix(s); err == nil {
				r.pfx[id] = append(r.pfx[id], p.Masked())
			}
		}
	}
}

func (r *resolver) from(id fabric.PortID) *portResolver { return &portResolver{resolver: r, port: id} }

// lookup returns the port a name stands for.
func (r *resolver) lookup(name string) (fabric.PortID, bool) {
	if id, ok := r.f.PortByName(name); ok {
		return id, true
	}
	id, ok := r.hosts[name]
	return id, ok
}

// stand returns the port whose addresses a port uses: a management OS
// port speaks with its host's first NIC's addresses.
func (r *resolver) stand(id fabric.PortID) fabric.PortID {
	p := r.f.Port(id)
	if p.Kind == fabric.PortHostOS {
		if nic, ok := r.hosts[r.f.Hosts()[p.Host].Name]; ok {
			return nic
		}
	}
	return id
}

func isGatewayName(name string) bool { return name == "gateway" || name == "gw" }

// MAC implements spec.Resolver.
func (pr *portResolver) MAC(name string) (net.HardwareAddr, bool) {
	if isGatewayName(name) {
		if pr.port == fabric.NoPort {
			return nil, false
		}
		gw := pr.f.Port(pr.port).Gateway
		if !gw.IsValid() {
			return nil, false
		}
		if pr.arp == nil {
			return make(net.HardwareAddr, 6), true
		}
		return pr.arp(pr.port, gw)
	}
	id, ok := pr.lookup(name)
	if !ok {
		return nil, false
	}
	m := pr.f.Port(pr.stand(id)).MAC
	return net.HardwareAddr(m[:]), true
}

// IP implements spec.Resolver.
func (pr *portResolver) IP(name string, v6 bool) (netip.Addr, bool) {
	if isGatewayName(name) {
		if pr.port == fabric.NoPort {
			return netip.Addr{}, false
		}
		gw := pr.f.Port(pr.port).Gateway
		return gw, gw.IsValid() && gw.Is6() == v6
	}
	id, ok := pr.lookup(name)
	if !ok {
		return netip.Addr{}, false
	}
	return firstAddr(pr.f.Port(pr.stand(id)).IPs, v6)
}

func firstAddr(ips []netip.Addr, v6 bool) (netip.Addr, bool) {
	for _, a := range ips {
		if a.Is6() == v6 && !a.Is4In6() {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// nextHop returns where a frame from port id to dst goes first: dst itself
// when it is on one of the port's prefixes (or the port has no gateway),
// else the port's gateway.
func (r *resolver) nextHop(id fabric.PortID, dst netip.Addr) netip.Addr {
	for _, p := range r.pfx[id] {
		if p.Contains(dst) {
			return dst
		}
	}
	gw := r.f.Port(id).Gateway
	if !gw.IsValid() || gw.Is6() != dst.Is6() {
		return dst
	}
	return gw
}

// owner returns the MAC of the port that has address a.
func (r *resolver) owner(a netip.Addr) (net.HardwareAddr, bool) {
	for _, p := range r.f.Ports() {
		if p.Kind == fabric.PortHostOS {
			continue
		}
		for _, ip := range p.IPs {
			if ip == a {
				return net.HardwareAddr(p.MAC[:]), true
			}
		}
	}
	return nil, false
}

var _ spec.Resolver = (*portResolver)(nil)
