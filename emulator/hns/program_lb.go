package hns

import (
	"fmt"
	"net/netip"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/vfp"
	"github.com/hnspath/hnspath/emulator/vswitch"
)

func vswitchPortID(i int) vswitch.PortID { return vswitch.PortID(i) }

// groupLBHost is the group of the management OS vNIC's load balancer
// rules: networkhealth.ps1 (microsoft/SDN Kubernetes/windows/debug/
// networkmonitor) expects "LB_HOST_<id>_<VIP>_<port>_<internal>_<proto>"
// rules in group "LB_OUT" of layer "LB" on the host vNIC's port.
const groupLBHost = "LB_OUT"

// lbBackend is a DIP of a load balancer with the endpoint behind it.
type lbBackend struct {
	ep    *vfpEp // local endpoint, or nil for a remote one
	addr  netip.Addr
	mac   header.MAC
	local bool
}

// programLoadBalancers turns HostComputeLoadBalancers into VFP LBNAT rules
// (windows-behaviour.md §3.6; hcn HostComputeLoadBalancer):
//
//   - on every container port of a VFP network, for its own traffic to a
//     frontend VIP (ClusterIP): VIP:port to one of the DIPs, without source
//     NAT, so the DIP sees the client pod [I];
//   - on the external port, unless ILB, for traffic from the wire to a
//     frontend VIP, or to the host's addresses when FrontendVIPs is empty
//     (NodePort): local DIPs only, with the client's source translated to
//     the SourceVIP (the VIP when SourceVIP is empty, kubernetes/community#8890)
//     unless DSR (or UseMux): "client source IP lost without DSR";
//   - on the management OS vNIC, for the host's own traffic to a VIP: LBNAT
//     when the mapping has LocalRoutedVIP, otherwise a block ("a Windows
//     node cannot reach services by service IP", K8SDOC).
//
// Each non-DSR load balancer reserves a 64-port block of the dynamic port
// range for its source NAT; when none is left HNS fails to create it with
// HCN_E_PORT_ALREADY_EXISTS (0x803b0013), the Azure/AKS#1375 symptom.
func (pr *programmer) programLoadBalancers() error {
	if len(pr.o.LoadBalancers) == 0 {
		return nil
	}
	if len(pr.nets) == 0 {
		return &Error{Code: HCN_E_INVALID_POLICY, Kind: KindLoadBalancer, Object: label(pr.o.LoadBalancers[0].Name, pr.o.LoadBalancers[0].Id, 0),
			Msg: "load balancers need a VFP network (l2bridge, l2tunnel, overlay or transparent)"}
	}
	var errs []error
	for li := range pr.o.LoadBalancers {
		if err := pr.programLB(li, false); err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrors(errs)
}

// lbPool is the port block a non-DSR load balancer reserved.
type lbPool struct{ lo, hi uint16 }

// programLB builds (or, with update, replaces) the rules of load balancer li.
func (pr *programmer) programLB(li int, update bool) error {
	lb := &pr.o.LoadBalancers[li]
	name := label(lb.Name, lb.Id, li)
	byID := map[string]*vfpEp{}
	var all []*vfpEp
	for _, vn := range pr.nets {
		for _, ep := range vn.eps {
			if !ep.removed {
				byID[canonicalID(ep.e.Id)] = ep
			}
			all = append(all, ep)
		}
	}
	dsr := lb.Flags&LoadBalancerFlagsDSR != 0
	var backends []lbBackend
	for _, id := range lb.HostComputeEndpoints {
		if ep, ok := byID[canonicalID(id)]; ok {
			backends = append(backends, lbBackend{ep: ep, addr: ep.ips[0], mac: ep.mac, local: true})
			continue
		}
		e := pr.o.EndpointByID(id)
		if e == nil || len(e.Addrs()) == 0 || !e.IsRemote() {
			continue // Validate reported unknown IDs; a removed local endpoint is no backend
		}
		// A remote endpoint's MAC (kube-proxy's conjured 02-11-..., "not
		// sent on the wire") is not written: the frame is routed (l2bridge)
		// or encapsulated with the remote subnet's DR MAC (overlay).
		backends = append(backends, lbBackend{addr: e.Addrs()[0]})
	}
	if pr.lbPools == nil {
		pr.lbPools = map[string]lbPool{}
	}
	pool, reserved := pr.lbPools[name]
	if !dsr && !reserved {
		lo, hi, ok := pr.ports.take(lbBlock)
		if !ok {
			return &Error{Code: HCN_E_PORT_ALREADY_EXISTS, Kind: KindLoadBalancer, Object: name,
				Msg: "no free 64-port block left in the dynamic port range for this non-DSR load balancer (hcnCreateLoadBalancer fails; Azure/AKS#1375)"}
		}
		pool = lbPool{lo, hi}
		pr.lbPools[name] = pool
	}
	var errs []error
	place := func(vp *vfp.Port, gname string, v6 bool, r *vfp.Rule) {
		if !update {
			g := group(pr.layer(vp, LayerLB, prioLB, true), gname, 1, vfp.Out, v6)
			g.Rules = append(g.Rules, r)
			return
		}
		if l := vp.Layer(LayerLB); l != nil {
			if g := l.Group(gname); g != nil {
				if err := g.ReplaceRule(r); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	for mi, pm := range lb.PortMappings {
		proto := uint8(pm.Protocol)
		if proto == 0 {
			proto = header.ProtoTCP
		}
		ilb := pm.Flags&LoadBalancerPortMappingFlagsILB != 0
		localRouted := pm.Flags&LoadBalancerPortMappingFlagsLocalRoutedVIP != 0
		preserveDIP := pm.Flags&LoadBalancerPortMappingFlagsPreserveDIP != 0
		useMux := pm.Flags&LoadBalancerPortMappingFlagsUseMux != 0
		internal := pm.InternalPort
		if internal == 0 {
			internal = pm.ExternalPort
		}
		dist := vfp.Distribution(pm.DistributionType)
		var vips []netip.Addr
		for _, v := range lb.FrontendVIPs {
			a, err := netip.ParseAddr(v)
			if err != nil {
				return &Error{Code: HCN_E_INVALID_IP, Kind: KindLoadBalancer, Object: name, Field: "FrontendVIPs", Msg: err.Error()}
			}
			vips = append(vips, a)
		}
		nodePort := len(vips) == 0
		srcVIP := netip.Addr{}
		if lb.SourceVIP != "" {
			a, err := netip.ParseAddr(lb.SourceVIP)
			if err != nil {
				return &Error{Code: HCN_E_INVALID_IP, Kind: KindLoadBalancer, Object: name, Field: "SourceVIP", Msg: err.Error()}
			}
			srcVIP = a
		}
		mk := func(prefix string, vip netip.Addr, bs []lbBackend, snat bool, poolIP netip.Addr) *vfp.Rule {
			var be []vfp.Backend
			for _, b := range bs {
				be = append(be, vfp.Backend{Addr: b.addr, Port: internal, MAC: b.mac})
			}
			r := &vfp.Rule{Name: fmt.Sprintf("%s%s_%s_%d_%d_%d", prefix, name, vip, pm.ExternalPort, internal, proto), Priority: 100 + uint32(mi),
				Terminating: true, Stateful: true,
				Conditions: vfp.Conditions{DstIP: []netip.Prefix{netip.PrefixFrom(vip, vip.BitLen())}, Protocols: []uint8{proto},
					DstPort: []vfp.PortRange{vfp.SinglePort(pm.ExternalPort)}},
				Action: vfp.Action{Type: vfp.ActionLBNAT, LB: vfp.LBParams{Backends: be, Distribution: dist, PreserveDIP: preserveDIP, SNAT: snat}}}
			if len(be) == 0 {
				r.Action = vfp.Action{Type: vfp.ActionBlock, Reason: drop.LBNoBackend}
				r.Stateful = false
			}
			if snat && len(be) > 0 {
				r.Action.Pool = vfp.NATPool{Name: "SLB_NATPOOL_" + name, IP: poolIP, Lo: pool.lo, Hi: pool.hi}
			}
			return r
		}
		// Pods to the VIP (ClusterIP, external IPs).
		for _, vip := range vips {
			for _, ep := range all {
				place(ep.vp, "LB_OUT_V4", vip.Is6(), mk("LB_", vip, backends, false, netip.Addr{}))
				if !update {
					pr.loopback(ep, backends, dsr)
				}
			}
		}
		// The wire to the VIP or NodePort: local backends only.
		if !ilb {
			targets := vips
			if nodePort {
				for _, vn := range pr.nets {
					targets = appendUnique(targets, vn.hostIP)
				}
			}
			var local []lbBackend
			for _, b := range backends {
				if b.local {
					local = append(local, b)
				}
			}
			snat := !dsr && !useMux
			for _, vn := range pr.nets {
				ext := pr.externalVFP(vn)
				if ext == nil {
					continue
				}
				for _, vip := range targets {
					poolIP := srcVIP
					if !poolIP.IsValid() {
						poolIP = vip // NatPool = VIP when SourceVIP is empty (kubernetes/community#8890)
					}
					place(ext, "LB_EXTERNAL_OUT_V4", vip.Is6(), mk("LB_", vip, local, snat, poolIP))
					if snat && !update {
						sw := pr.h.Switches[vn.si]
						sw.MapSNATRange(poolIP, proto, pool.lo, pool.hi, sw.ExternalPort())
					}
				}
			}
		}
		// The host itself to the VIP.
		for _, vn := range pr.nets {
			hv := pr.hostVNICVFP(vn)
			if hv == nil {
				continue
			}
			for _, vip := range vips {
				if localRouted {
					place(hv, groupLBHost, vip.Is6(), mk("LB_HOST_", vip, backends, false, netip.Addr{}))
				} else if !update {
					place(hv, groupLBHost, vip.Is6(), &vfp.Rule{Name: fmt.Sprintf("BLOCK_HOST_TO_%s_%s_%d", name, vip, pm.ExternalPort),
						Priority: 100 + uint32(mi), Terminating: true,
						Conditions: vfp.Conditions{DstIP: []netip.Prefix{netip.PrefixFrom(vip, vip.BitLen())},
							Protocols: []uint8{proto}, DstPort: []vfp.PortRange{vfp.SinglePort(pm.ExternalPort)}},
						Action: vfp.Action{Type: vfp.ActionBlock, Reason: drop.HostToServiceIP}, ModelOnly: modelOnlyHostToVIP})
				}
			}
		}
	}
	return joinErrors(errs)
}

// loopback lets an endpoint that is one of a load balancer's backends
// reach itself through the VIP: the LBNAT sends the packet back to its own
// port, which the switch accepts only with a translated source. A non-DSR
// load balancer translates it; a DSR one only with the loopback DSR
// OutBoundNAT policy (containernetworking/plugins ApplyLoopbackDSRPolicy;
// without it "traffic will be dropped", kubernetes-sigs/sig-windows-tools#119).
func (pr *programmer) loopback(ep *vfpEp, backends []lbBackend, dsr bool) {
	self := false
	for _, b := range backends {
		if b.ep == ep {
			self = true
		}
	}
	if !self || (dsr && !ep.loopbackDSR) {
		return
	}
	l := pr.layer(ep.vp, LayerLoopback, prioLoopback, true)
	g := group(l, "SLB_GROUP_HAIRPIN_IPv4_OUT", 1, vfp.Out, false)
	if len(g.Rules) > 0 {
		return
	}
	lo, hi, ok := pr.ports.take(lbBlock)
	if !ok {
		return
	}
	gw := ep.ips[0]
	for _, vn := range pr.nets {
		for _, e := range vn.eps {
			if e == ep {
				gw = vn.hostIP
				sw := pr.h.Switches[vn.si]
				sw.MapSNATRange(gw, header.ProtoTCP, lo, hi, ep.port)
				sw.MapSNATRange(gw, header.ProtoUDP, lo, hi, ep.port)
			}
		}
	}
	own := netip.PrefixFrom(ep.ips[0], ep.ips[0].BitLen())
	pool := vfp.NATPool{Name: "SLB_HAIRPIN_POOL_" + endpointName(ep.e), IP: gw, Lo: lo, Hi: hi}
	for i, proto := range []uint8{header.ProtoTCP, header.ProtoUDP} {
		g.Rules = append(g.Rules, &vfp.Rule{Name: fmt.Sprintf("HairPin_%s_%d", endpointName(ep.e), proto), Priority: 100 + uint32(i),
			Terminating: true, Stateful: true,
			Conditions: vfp.Conditions{SrcIP: []netip.Prefix{own}, DstIP: []netip.Prefix{own}, Protocols: []uint8{proto}},
			Action:     vfp.Action{Type: vfp.ActionDynNAT, Pool: pool}})
	}
}

// externalVFP returns the VFP of a network's external port, creating it.
func (pr *programmer) externalVFP(vn *vfpNet) *vfp.Port {
	if pr.extVFP == nil {
		pr.extVFP = map[int]*vfp.Port{}
	}
	if vp, ok := pr.extVFP[vn.si]; ok {
		return vp
	}
	sw := pr.h.Switches[vn.si]
	ext := sw.ExternalPort()
	if ext == vswitch.None {
		return nil
	}
	vp := vfp.NewPort(sw.Port(ext).Name, vfp.PortOptions{FriendlyName: "ExternalPort", VXLANPorts: []uint16{vn.vxPort}})
	pr.h.SetVFP(vn.si, ext, vp)
	pr.extVFP[vn.si] = vp
	return vp
}

// hostVNICVFP returns the VFP of the management OS vNIC on a network's
// switch, creating it.
func (pr *programmer) hostVNICVFP(vn *vfpNet) *vfp.Port {
	if pr.vnicVFP == nil {
		pr.vnicVFP = map[int]*vfp.Port{}
	}
	if vp, ok := pr.vnicVFP[vn.si]; ok {
		return vp
	}
	sw := pr.h.Switches[vn.si]
	for i := 0; i < sw.Ports(); i++ {
		p := sw.Port(vswitch.PortID(i))
		if p.Kind == vswitch.PortHostVNIC && p.MAC == vn.hostMAC {
			vp := vfp.NewPort(p.Name, vfp.PortOptions{FriendlyName: "Container NIC", VXLANPorts: []uint16{vn.vxPort}})
			pr.h.SetVFP(vn.si, vswitch.PortID(i), vp)
			pr.vnicVFP[vn.si] = vp
			return vp
		}
	}
	return nil
}

func appendUnique(s []netip.Addr, a netip.Addr) []netip.Addr {
	for _, x := range s {
		if x == a {
			return s
		}
	}
	return append(s, a)
}

func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return fmt.Errorf("%w (and %d more)", errs[0], len(errs)-1)
}

func canonicalID(s string) string {
	c, _ := canonicalGUID(s)
	return c
}
