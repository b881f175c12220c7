package hns

import (
	"fmt"
	"net/netip"

	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/host"
	"github.com/hnspath/hnspath/emulator/vfp"
	"github.com/hnspath/hnspath/emulator/vswitch"
)

// VFP layer names and priorities the programmer uses. Outbound packets walk
// layers from the smallest priority up, inbound from the largest down, so
// inbound runs VNET (decap) → LB → SNAT → ACL and outbound the reverse
// (reference windows-behaviour.md §1.1, the SDNv2 example). Names are those
// real hosts show where one was seen: ACL_ENDPOINT_LAYER [OBS rke2windows],
// SNAT (priority 200) and LB (300) [OBS kubernetes/kubernetes#79359],
// INTERNAL_L2_REWRITE_LAYER (stateless, 75) [S princepereira/Commands],
// VNET_ENCAP_LAYER and VNET_PA_ROUTE_LAYER [seen in SDN tooling; for
// container hosts an inference].
const (
	LayerL2Rewrite  = "INTERNAL_L2_REWRITE_LAYER"
	LayerACL        = "ACL_ENDPOINT_LAYER"
	LayerSNAT       = "SNAT"
	LayerLB         = "LB"
	LayerLoopback   = "SLB_HAIRPIN_LAYER"
	LayerPARoute    = "VNET_PA_ROUTE_LAYER"
	LayerVNETEncap  = "VNET_ENCAP_LAYER"
	prioL2Rewrite   = 75
	prioACL         = 100
	prioSNAT        = 200
	prioLB          = 300
	prioLoopback    = 350
	prioPARoute     = 400
	prioVNETEncap   = 500
	ephemeralLo     = 49152 // Windows' default dynamic port range (netsh int ipv4 show dynamicport)
	ephemeralHi     = 65535
	lbBlock         = 64   // ports a non-DSR load balancer reserves (windows-behaviour.md §3.6)
	snatDefaultPool = 1024 // ports of an endpoint's OutBoundNAT pool when MaxPortPoolUsage is not given [I]
)

// vfpNet is what the programmer knows about one VFP network.
type vfpNet struct {
	n        *HostComputeNetwork
	si       int        // external switch
	nic      int        // NIC bound to it
	hostMAC  header.MAC // the host's MAC: rewritten container traffic carries it
	hostIP   netip.Addr // management IP, the overlay's provider address
	extIface int        // the management OS interface on the switch (vEthernet)
	subnets  []netip.Prefix
	gateways []netip.Addr
	vni      uint32
	vxPort   uint16
	drMAC    header.MAC
	eps      []*vfpEp
}

type vfpEp struct {
	e    *HostComputeEndpoint
	ei   int
	port vswitch.PortID
	mac  header.MAC
	ips  []netip.Addr
	vp   *vfp.Port
	mtu  int
	// loopbackDSR: the endpoint has OutBoundNAT{Destinations: [own IP]}.
	loopbackDSR bool
	removed     bool
	vn          *vfpNet
}

// ports allocates ports from the host's dynamic range in blocks, as HNS
// does for load balancer and SNAT pools.
type portAlloc struct{ next int }

func (a *portAlloc) take(n int) (lo, hi uint16, ok bool) {
	if a.next == 0 {
		a.next = ephemeralLo
	}
	if a.next+n-1 > ephemeralHi {
		return 0, 0, false
	}
	lo, hi = uint16(a.next), uint16(a.next+n-1)
	a.next += n
	return lo, hi, true
}

// vfpNetwork programs a network whose policy lives in VFP: transparent,
// l2bridge, l2tunnel, overlay (docs/design.md §3; windows-behaviour.md §3).
func (pr *programmer) vfpNetwork(n *HostComputeNetwork) error {
	switch n.Type {
	case Transparent, L2Bridge, L2Tunnel, Overlay:
	default:
		return fmt.Errorf("network type %s is not modelled by the emulator (it models NAT, Transparent, L2Bridge, L2Tunnel and Overlay)", n.Type)
	}
	vn, err := pr.attachSwitch(n)
	if err != nil {
		return err
	}
	h := pr.h
	sw := h.Switches[vn.si]
	for _, s := range n.Subnets() {
		p, err := s.Prefix()
		if err != nil {
			return err
		}
		vn.subnets = append(vn.subnets, p.Masked())
		vn.gateways = append(vn.gateways, gateway(s, p))
		sp, err := s.SubnetPolicies()
		if err != nil {
			return err
		}
		for _, pol := range sp {
			if pol.Type == "VSID" {
				v, err := pol.VSID()
				if err != nil {
					return err
				}
				vn.vni = v.IsolationId
			}
		}
	}
	vn.vxPort = header.VXLANPort
	for i, pol := range n.Policies {
		switch pol.Type {
		case VxlanPort:
			v, err := pol.VxlanPort()
			if err != nil {
				return fmt.Errorf("Policies[%d]: %w", i, err)
			}
			vn.vxPort = v.Port
		case DrMacAddress:
			v, err := pol.DrMacAddress()
			if err != nil {
				return fmt.Errorf("Policies[%d]: %w", i, err)
			}
			m, ok := header.ParseMAC(v.Address)
			if !ok {
				return fmt.Errorf("Policies[%d] (DrMacAddress): Settings.Address: %q is not a MAC", i, v.Address)
			}
			vn.drMAC = m
		case ProviderAddress:
			v, err := pol.ProviderAddress()
			if err != nil {
				return fmt.Errorf("Policies[%d]: %w", i, err)
			}
			a, err := netip.ParseAddr(v.ProviderAddress)
			if err != nil {
				return fmt.Errorf("Policies[%d] (ProviderAddress): Settings.ProviderAddress: %w", i, err)
			}
			vn.hostIP = a
		}
	}
	if n.Type == Overlay {
		if vn.drMAC.IsZero() {
			// HNS generates the DR MAC when none is given; derive a stable one.
			vn.drMAC = hypervMAC(h.Name + "/dr/" + n.Name)
		}
		sw.AddProviderAddress(vn.hostIP, vn.vxPort)
	}
	if err := pr.vfpEndpoints(vn); err != nil {
		return err
	}
	// The virtual gateway of l2bridge and overlay subnets that no one owns
	// is answered by the extension: with the DR MAC on overlay, the host's
	// MAC on l2bridge [I] (traffic to it is routed by the management OS,
	// "routed via the management vNIC", network-drivers-topologies.md).
	for i, gw := range vn.gateways {
		if h.Stack.IsLocal(gw) || n.Type == Transparent {
			continue
		}
		if vn.subnets[i].Contains(vn.hostIP) {
			continue // same subnet as the host: the gateway is the physical router
		}
		mac := vn.hostMAC
		if n.Type == Overlay {
			mac = vn.drMAC
		}
		sw.ProxyARP(gw, mac)
	}
	return nil
}

// attachSwitch finds or creates the external switch for network n: the
// one bound to the NIC its NetAdapterName policy names, else to the first
// NIC. Networks on one adapter share its switch.
func (pr *programmer) attachSwitch(n *HostComputeNetwork) (*vfpNet, error) {
	h := pr.h
	if len(h.NICs) == 0 {
		return nil, fmt.Errorf("a %s network needs a NIC to bind its external switch to", n.Type)
	}
	ni := 0
	for i, pol := range n.Policies {
		if pol.Type != NetAdapterName {
			continue
		}
		v, err := pol.NetAdapterName()
		if err != nil {
			return nil, fmt.Errorf("Policies[%d]: %w", i, err)
		}
		idx, ok := h.NICByName(v.NetworkAdapterName)
		if !ok {
			return nil, fmt.Errorf("Policies[%d] (NetAdapterName): no NIC %q", i, v.NetworkAdapterName)
		}
		ni = idx
	}
	nic := h.NICs[ni]
	si := nic.Switch
	if si < 0 {
		var err error
		si, err = h.AddSwitch(n.Name, vswitch.External, nic.Name)
		if err != nil {
			return nil, err
		}
	}
	vn := &vfpNet{n: n, si: si, nic: ni, hostMAC: nic.MAC, extIface: nic.Iface}
	if a, ok := h.NICPrimary(ni); ok {
		vn.hostIP = a
	}
	if n.Type != Transparent {
		h.Switches[si].EnableVFPForwarding(nic.MAC)
	}
	if n.Type == L2Tunnel {
		h.Switches[si].SetL2Tunnel(true)
	}
	pr.nets = append(pr.nets, vn)
	return vn, nil
}

// vfpEndpoints plugs the network's local endpoints into the switch, each
// with a VFP port; endpoints in a host namespace become host vNICs.
func (pr *programmer) vfpEndpoints(vn *vfpNet) error {
	h := pr.h
	sw := h.Switches[vn.si]
	var allocs []*ipam
	for i, p := range vn.subnets {
		allocs = append(allocs, newIPAM(p, vn.gateways[i]))
	}
	eps := pr.endpointsOf(vn.n)
	for _, e := range eps {
		for _, a := range e.Addrs() {
			for _, al := range allocs {
				if al.prefix.Contains(a) {
					al.take(a)
				}
			}
		}
	}
	for _, e := range eps {
		mac, err := pr.endpointMAC(e)
		if err != nil {
			return err
		}
		ips := e.Addrs()
		if len(ips) == 0 && len(allocs) > 0 {
			a, err := allocs[0].next()
			if err != nil {
				return fmt.Errorf("endpoint %q: %w", endpointName(e), err)
			}
			ips = []netip.Addr{a}
		}
		if pr.hostNamespace(e) {
			// An endpoint hot-attached to the host compartment (flannel's
			// "<net>_ep") is a management OS vNIC with forwarding on.
			var addrs []netip.Prefix
			for _, a := range ips {
				bits := 32
				for _, p := range vn.subnets {
					if p.Contains(a) {
						bits = p.Bits()
					}
				}
				addrs = append(addrs, netip.PrefixFrom(a, bits))
			}
			ifi, err := h.AddHostVNIC(vn.si, endpointName(e), mac, 1500, addrs)
			if err != nil {
				return err
			}
			h.Stack.SetForwarding(ifi, true)
			continue
		}
		ei, err := h.AddEndpoint(vn.si, endpointName(e), mac, ips, 0)
		if err != nil {
			return err
		}
		ep := &vfpEp{e: e, ei: ei, port: h.Endpoints[ei].Port, mac: mac, ips: ips, vn: vn}
		for i, p := range vn.subnets {
			for _, a := range ips {
				if p.Contains(a) {
					h.SetEndpointGateway(ei, vn.gateways[i])
				}
			}
		}
		for pi, p := range e.Policies {
			if p.Type == EncapOverhead {
				v, err := p.EncapOverhead()
				if err != nil {
					return fmt.Errorf("endpoint %q: Policies[%d]: %w", endpointName(e), pi, err)
				}
				ep.mtu = h.NICs[vn.nic].MTU - int(v.Overhead)
			}
		}
		if vn.n.Type == Overlay && ep.mtu == 0 {
			// HNS lowers overlay endpoints to 1450 "by design" (microsoft/SDN#517).
			ep.mtu = h.NICs[vn.nic].MTU - header.VXLANOverhead
		}
		if ep.mtu > 0 {
			h.SetEndpointMTU(ei, ep.mtu)
		}
		ep.vp = vfp.NewPort(endpointName(e), vfp.PortOptions{FriendlyName: e.Id, VXLANPorts: []uint16{vn.vxPort}})
		h.SetVFP(vn.si, ep.port, ep.vp)
		for _, a := range ips {
			switch vn.n.Type {
			case L2Bridge, L2Tunnel:
				sw.MapCA(a, ep.port)
				pr.exposed = append(pr.exposed, Exposed{Addr: a, MAC: vn.hostMAC, NIC: vn.nic})
			case Transparent:
				pr.exposed = append(pr.exposed, Exposed{Addr: a, MAC: mac, OwnMAC: true, NIC: vn.nic})
			case Overlay:
				sw.MapVNI(vn.vni, a, ep.port)
			}
		}
		vn.eps = append(vn.eps, ep)
	}
	// The management OS reaches the network's containers on-link through
	// its vNIC on the switch: on l2bridge/l2tunnel/transparent always, on
	// overlay only with the HostRoute policy (windows-behaviour.md §3.5).
	hostRoute := vn.n.Type != Overlay
	for _, pol := range vn.n.Policies {
		if pol.Type == HostRoute {
			hostRoute = true
		}
	}
	for _, p := range vn.subnets {
		if hostRoute {
			h.Stack.AddRoute(host.Route{Prefix: p, Iface: vn.extIface, Metric: 256})
		}
		if (vn.n.Type == L2Bridge || vn.n.Type == L2Tunnel) && !p.Contains(vn.hostIP) {
			// A custom container subnet: the underlay routes it to this host
			// (flannel host-gw routes, a cloud route table).
			pr.exposed = append(pr.exposed, Exposed{Prefix: p, NIC: vn.nic})
		}
	}
	for _, ep := range vn.eps {
		for _, a := range ep.ips {
			h.Stack.AddNeighbor(a, ep.mac)
		}
	}
	// The management OS forwards container traffic it receives (flannel
	// enables forwarding on the management and bridge interfaces).
	if vn.n.Type != Transparent {
		h.Stack.Iface(vn.extIface).Forwarding = true
	}
	return nil
}

// hostNamespace reports whether e is attached to a host namespace.
func (pr *programmer) hostNamespace(e *HostComputeEndpoint) bool {
	if e.HostComputeNamespace == "" {
		return false
	}
	for i := range pr.o.Namespaces {
		ns := &pr.o.Namespaces[i]
		if sameID(ns.Id, e.HostComputeNamespace) {
			return ns.Type == NamespaceTypeHost || ns.Type == NamespaceTypeHostDefault
		}
	}
	return false
}
