package linux

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/hnspath/hnspath/emulator/hns"
)

// Load balancers (hcn HostComputeLoadBalancer) become nftables NAT in the host namespace
// (SetLoadBalancer), mirroring the rules HNS programs into VFP (emulator/hns
// programLoadBalancers; windows-behaviour.md §3.6):
//
//	every FrontendVIP, from the host's pods      DNAT to one of all backends, no SNAT
//	  (LB layer of every container port)         (OutBoundNAT decides the source, see
//	                                             outboundNAT: its exceptions are matched
//	                                             against the VIP)
//	the VIPs, or the host's addresses for a      DNAT to one of the local backends; SNAT
//	  NodePort (no FrontendVIPs), from the wire  to the SourceVIP (the VIP without one,
//	  (external port), unless ILB                kubernetes/community#8890) unless DSR or
//	                                             UseMux
//	every VIP, from the host itself              DNAT (output hook) with LocalRoutedVIP,
//	                                             otherwise dropped: a Windows node cannot
//	                                             reach services by service IP (K8SDOC)
//
// DistributionType SourceIP and SourceIPProtocol hash the client's address (and
// protocol) with jhash; per connection is numgen random. PreserveDIP translates only
// the port and routes the packet to the backend by a firewall mark. A pod that is a
// backend of a VIP it sends to gets its own packet back with the host's address as
// source (VFP's hairpin pool), unless the only such load balancers are DSR and the pod
// lacks the loopback DSR policy: then the packet is dropped (the vSwitch does not send
// a packet back to its own port untranslated).

// lbEndpoint is an endpoint as a load balancer backend.
type lbEndpoint struct {
	addr  netip.Addr
	local bool
	port  string // emulator port of a local endpoint
	l3    string // host interface that reaches a local endpoint
}

// hostLBs are a host's load balancers as planned, kept for updates (Backend.Step).
type hostLBs struct {
	host string
	// objs are the load balancers (normalized: backends are endpoint IDs), names their
	// labels as HNS and the emulator name them.
	objs  []hns.HostComputeLoadBalancer
	names []string
	// eps are the endpoints that can be backends, by lower-case ID; byName maps an
	// endpoint's name to that ID.
	eps    map[string]lbEndpoint
	byName map[string]string
	// hostIPs are the targets of NodePort load balancers.
	hostIPs []netip.Addr
	// routes are the PreserveDIP route numbers of local backends.
	routes map[netip.Addr]uint16
}

// lbID returns the lower-case form of an HNS ID (GUIDs compare case-insensitively).
func lbID(s string) string { return strings.ToLower(strings.Trim(s, "{}")) }

// index returns the load balancer called name (its label or ID).
func (l *hostLBs) index(name string) (int, bool) {
	for i := range l.objs {
		if l.names[i] == name || lbID(l.objs[i].Id) == lbID(name) && name != "" {
			return i, true
		}
	}
	return 0, false
}

// endpointID returns the ID of an endpoint given by name or ID.
func (l *hostLBs) endpointID(s string) string {
	if id, ok := l.byName[s]; ok {
		return id
	}
	return lbID(s)
}

// build returns the nftables analogue of load balancer i, leaving out the endpoints in
// removed (by ID), and what it cannot build.
func (l *hostLBs) build(i int, removed map[string]bool) (LoadBalancer, []string) {
	lb := &l.objs[i]
	name := l.names[i]
	out := LoadBalancer{Name: name}
	var notBuilt []string
	dsr := lb.Flags&hns.LoadBalancerFlagsDSR != 0
	var backends []lbEndpoint
	for _, id := range lb.HostComputeEndpoints {
		k := lbID(id)
		if removed[k] {
			continue // HNS drops a deleted endpoint from the backends when it updates
		}
		if e, ok := l.eps[k]; ok {
			backends = append(backends, e)
		}
	}
	srcVIP, _ := netip.ParseAddr(lb.SourceVIP)
	var vips []netip.Addr
	for _, v := range lb.FrontendVIPs {
		if a, err := netip.ParseAddr(v); err == nil {
			vips = append(vips, a.Unmap())
		}
	}
	snats := 0
	for mi, pm := range lb.PortMappings {
		proto := uint8(pm.Protocol)
		if proto == 0 {
			proto = ProtoTCP
		}
		if proto != ProtoTCP && proto != ProtoUDP {
			notBuilt = append(notBuilt, fmt.Sprintf("port mapping %d: protocol %d (only TCP and UDP have ports to translate)", mi, pm.Protocol))
			continue
		}
		internal := pm.InternalPort
		if internal == 0 {
			internal = pm.ExternalPort
		}
		ilb := pm.Flags&hns.LoadBalancerPortMappingFlagsILB != 0
		localRouted := pm.Flags&hns.LoadBalancerPortMappingFlagsLocalRoutedVIP != 0
		preserve := pm.Flags&hns.LoadBalancerPortMappingFlagsPreserveDIP != 0
		useMux := pm.Flags&hns.LoadBalancerPortMappingFlagsUseMux != 0
		frontend := func(from LBSource, vip netip.Addr, bs []lbEndpoint) LBFrontend {
			f := LBFrontend{From: from, Proto: proto, VIP: vip, Port: pm.ExternalPort, TargetPort: internal,
				Dist: Distribution(pm.DistributionType), PreserveDIP: preserve}
			for _, b := range bs {
				if b.addr.Is4() != vip.Is4() {
					continue
				}
				if preserve {
					r, ok := l.routes[b.addr]
					if !ok {
						notBuilt = append(notBuilt, fmt.Sprintf("port mapping %d: PreserveDIP to the remote backend %s (the node "+
							"would have to route the VIP to another node)", mi, b.addr))
						continue
					}
					f.Routes = append(f.Routes, r)
				}
				f.Backends = append(f.Backends, b.addr)
			}
			return f
		}
		for _, vip := range vips {
			out.Frontends = append(out.Frontends, frontend(LBFromPods, vip, backends))
		}
		if !ilb {
			targets := vips
			if len(vips) == 0 {
				targets = l.hostIPs
			}
			var local []lbEndpoint
			for _, b := range backends {
				if b.local {
					local = append(local, b)
				}
			}
			for _, t := range targets {
				f := frontend(LBFromWire, t, local)
				if !dsr && !useMux {
					f.SNAT = srcVIP
					if !f.SNAT.IsValid() || f.SNAT.Is4() != t.Is4() {
						f.SNAT = t
					}
					snats++
					f.SNATID = uint16(i*256 + snats)
				}
				out.Frontends = append(out.Frontends, f)
			}
		}
		if localRouted {
			for _, vip := range vips {
				out.Frontends = append(out.Frontends, frontend(LBFromHost, vip, backends))
			}
		}
	}
	return out, notBuilt
}

// loadBalancers plans the host's load balancers (see the comment at the top of the file).
func (p *planner) loadBalancers(h *hostCtx) {
	objs := h.objs.LoadBalancers
	if len(objs) == 0 {
		return
	}
	l := &hostLBs{host: h.spec.Name, eps: map[string]lbEndpoint{}, byName: map[string]string{}, hostIPs: h.vfpIPs,
		routes: map[netip.Addr]uint16{}}
	for i := range objs {
		c := objs[i]
		c.HostComputeEndpoints = append([]string(nil), c.HostComputeEndpoints...)
		c.FrontendVIPs = append([]string(nil), c.FrontendVIPs...)
		c.PortMappings = append([]hns.LoadBalancerPortMapping(nil), c.PortMappings...)
		l.objs = append(l.objs, c)
		name := c.Name
		if name == "" {
			name = c.Id
		}
		if name == "" {
			name = fmt.Sprintf("#%d", i)
		}
		l.names = append(l.names, name)
	}
	preserve := false
	for _, lb := range objs {
		for _, pm := range lb.PortMappings {
			preserve = preserve || pm.Flags&hns.LoadBalancerPortMappingFlagsPreserveDIP != 0
		}
	}
	ids := make([]string, 0, len(h.local))
	for id := range h.local {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		ep := h.local[id]
		if len(ep.ips) == 0 {
			continue
		}
		// The emulator's DIP is the endpoint's first address (hns programLB).
		l.eps[id] = lbEndpoint{addr: ep.ips[0], local: true, port: ep.port, l3: ep.l3}
		if preserve && ep.l3 != "" {
			r := uint16(len(l.routes) + 1)
			l.routes[ep.ips[0]] = r
			mark, mask := RouteMark(r)
			table := RouteTableBase + int(r) - 1
			def := netip.MustParsePrefix("0.0.0.0/0")
			if ep.ips[0].Is6() {
				def = netip.MustParsePrefix("::/0")
			}
			h.ns.Routes = append(h.ns.Routes, Route{Dst: def, Gw: ep.ips[0], Dev: ep.l3, OnLink: true, Table: table})
			h.ns.Rules = append(h.ns.Rules, RulePlan{Mark: mark, Mask: mask, Table: table, Priority: 100, IPv6: ep.ips[0].Is6()})
			h.ns.RouteMarks = true
		}
	}
	for i := range h.objs.Endpoints {
		e := &h.objs.Endpoints[i]
		if e.Name != "" {
			l.byName[e.Name] = lbID(e.Id)
		}
		if e.IsRemote() && len(e.Addrs()) > 0 {
			l.eps[lbID(e.Id)] = lbEndpoint{addr: e.Addrs()[0]}
		}
	}
	for _, id := range ids {
		if ep := h.local[id]; ep.bypass {
			p.unsupported([]string{ep.port}, "endpoint %s: load balancers are not applied to its traffic (macvlan and ipvlan "+
				"bypass the host's hooks)", ep.port)
		}
	}
	wire := false
	for i := range l.objs {
		lb, notBuilt := l.build(i, nil)
		for _, nb := range notBuilt {
			p.unsupportedLB(l.names[i], "host %s load balancer %q: %s", h.spec.Name, l.names[i], nb)
		}
		h.ns.LBs = append(h.ns.LBs, lb)
		for _, f := range lb.Frontends {
			wire = wire || f.From == LBFromWire
		}
	}
	if wire {
		h.ns.WirePorts = append(h.ns.WirePorts, h.wirePorts...)
		h.ns.WireIfaces = append(h.ns.WireIfaces, h.wireIfaces...)
	}
	h.plan.lbs = l
	p.lbFilters(h, l)
}

// lbFilters adds the rules that do not change when a load balancer is updated: the
// block of the host's own traffic to VIPs without LocalRoutedVIP, and each backend's
// hairpin (its own packet through a VIP back to it).
func (p *planner) lbFilters(h *hostCtx, l *hostLBs) {
	hairpin := map[string]bool{} // by endpoint ID: true = SNAT, false = drop
	for i := range l.objs {
		lb := &l.objs[i]
		dsr := lb.Flags&hns.LoadBalancerFlagsDSR != 0
		var vips []netip.Addr
		for _, v := range lb.FrontendVIPs {
			if a, err := netip.ParseAddr(v); err == nil {
				vips = append(vips, a.Unmap())
			}
		}
		for _, pm := range lb.PortMappings {
			proto := uint8(pm.Protocol)
			if proto == 0 {
				proto = ProtoTCP
			}
			if (proto != ProtoTCP && proto != ProtoUDP) || pm.Flags&hns.LoadBalancerPortMappingFlagsLocalRoutedVIP != 0 {
				continue
			}
			for _, vip := range vips {
				h.ns.Filters = append(h.ns.Filters, FilterRule{Name: blockPrefix + "host-to-service-" + l.names[i], Hook: HookOutput,
					Proto: proto, Dst: []netip.Prefix{netip.PrefixFrom(vip, vip.BitLen())}, DstPorts: []PortRange{Port(pm.ExternalPort)},
					Action: Drop})
			}
		}
		if len(vips) == 0 {
			continue
		}
		for _, id := range lb.HostComputeEndpoints {
			ep, ok := h.local[lbID(id)]
			if !ok {
				continue
			}
			ok = !dsr || ep.loopbackDSR
			hairpin[lbID(id)] = hairpin[lbID(id)] || ok
		}
	}
	ids := make([]string, 0, len(hairpin))
	for id := range hairpin {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var masq []Masquerade
	for _, id := range ids {
		ep := h.local[id]
		for _, a := range ep.ips {
			if !a.Is4() {
				continue // VFP's hairpin pool is IPv4 (hns loopback)
			}
			own := netip.PrefixFrom(a, 32)
			if ep.host != "" {
				// A packet to a VIP that DNAT sends back to its sender is bridged back out
				// of the port it came in by (br_netfilter's bridged DNAT).
				h.ns.Ifaces = append(h.ns.Ifaces, IfacePlan{Name: ep.host, Hairpin: true})
			}
			if hairpin[id] && ep.hostIP.IsValid() {
				masq = append(masq, Masquerade{Name: "hairpin-" + ep.port, Src: own, Dst: []netip.Prefix{own}, DNATed: true, To: ep.hostIP})
			} else {
				h.ns.Filters = append(h.ns.Filters, FilterRule{Name: blockPrefix + "dsr-self-" + ep.port, Hook: HookForward,
					Src: []netip.Prefix{own}, Dst: []netip.Prefix{own}, Action: Drop})
			}
		}
	}
	// Before OutBoundNAT: the hairpin is VFP's own layer, after the LB layer.
	h.ns.Masq = append(masq, h.ns.Masq...)
}

// blockPrefix starts the names of filter rules that stand for a VFP block rule or an
// HNS refusal: the backend reports their drops.
const blockPrefix = "block-"

// LoadBalancer returns the nftables analogue of the host's load balancer name with the
// backends endpoints (names or IDs), leaving out the endpoints in removed (IDs), as
// an update (HcnModifyLoadBalancer) programs it.
func (hp *HostPlan) LoadBalancer(name string, endpoints []string, removed map[string]bool) (LoadBalancer, error) {
	l := hp.lbs
	if l == nil {
		return LoadBalancer{}, fmt.Errorf("host %s: no load balancer %q", hp.Name, name)
	}
	i, ok := l.index(name)
	if !ok {
		return LoadBalancer{}, fmt.Errorf("host %s: no load balancer %q", hp.Name, name)
	}
	ids := make([]string, 0, len(endpoints))
	for _, e := range endpoints {
		ids = append(ids, l.endpointID(e))
	}
	l.objs[i].HostComputeEndpoints = ids
	lb, _ := l.build(i, removed)
	return lb, nil
}

// EndpointID returns the HNS ID (lower case) of the host's endpoint given by name or ID.
func (hp *HostPlan) EndpointID(s string) string {
	if hp.lbs != nil {
		return hp.lbs.endpointID(s)
	}
	return lbID(s)
}
