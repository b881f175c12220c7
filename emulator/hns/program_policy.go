package hns

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/vfp"
)

// Rule priorities within the programmer's groups (smaller first). Where a
// real host shows one it is cited; the others only order the model's rules.
const (
	rulePrioL2BridgeLocal = 100
	rulePrioL2Rewrite     = 1000
	// rulePrioPARoute is PA_ROUTE's priority as vfpctrl shows it in
	// microsoft/SDN VFP.psm1 ("Priority : 45535").
	rulePrioPARoute      = 45535
	rulePrioPARouteLocal = 100
	// rulePrioRemoteSubnet + the policy's index orders RemoteSubnetRoute
	// encap rules; remote endpoints' /32 encap rules come first.
	rulePrioRemoteSubnet   = 1000
	rulePrioRemoteEndpoint = 500
	rulePrioDecap          = 100
	// ACL defaults come after every ACL an HNS policy can give (Priority
	// is a uint16 in practice below 65000).
	rulePrioACLDefaultAllow = 65000
	rulePrioACLDefaultBlock = 65500
	// OutBoundNAT: exceptions first (+ index), then ICMP, TCP, UDP.
	rulePrioSNATException    = 10
	rulePrioSNATICMP         = 90
	rulePrioSNATTCP          = 100
	rulePrioSNATUDP          = 101
	rulePrioSNATTrackInbound = 65000

	// Group priorities: VNET_GROUP_PA_ROUTE_IPV4_OUT is 200 in VFP.psm1;
	// the ACL group is 1 [OBS rke2windows]; the others are the model's.
	grpPrioPARoute = 200
	grpPrioVNET    = 100
	grpPrioDefault = 1
)

// aclRuleFlags is the flag bit real ACL rules carry beyond terminating and
// stateful: "Flags : 8195 terminating stateful" = 0x2003 [OBS rke2windows
// vfpctrl /layer ACL_ENDPOINT_LAYER /list-rule]; its name is not printed.
const aclRuleFlags = 0x2000

// Why the model's own rules are its own (vfp.Rule.ModelOnly): behaviour a
// real host has without listing a rule that a dump would show.
const (
	modelOnlyACLDefault = "the Windows container ACL defaults (outbound allowed; inbound TCP, UDP, ICMP, IGMP allowed, other protocols denied; MicrosoftDocs network-isolation-security.md) as rules"
	modelOnlyTrack      = "tracks inbound connections so that their replies are not source-translated (VFP keeps per-connection state; Firestone, NSDI 2017)"
	modelOnlyICMP       = "ICMP is not source-translated by VFP (no ICMP transposition, Kubernetes Windows networking limitations), modelled as a block"
	modelOnlyLocal      = "frames to another vNIC of the switch are bridged, not rewritten (the vSwitch forwards them locally)"
	modelOnlyHostToVIP  = "the host cannot reach a service VIP without LocalRoutedVIP (Kubernetes Windows networking limitations), modelled as a block"
)

// layer returns the layer named name of port vp, creating it with the given
// properties on first use. Layers are attached to ports at the end, when
// all their groups and rules are built.
func (pr *programmer) layer(vp *vfp.Port, name string, prio uint32, stateful bool) *vfp.Layer {
	if pr.layers == nil {
		pr.layers = make(map[*vfp.Port]map[string]*vfp.Layer)
	}
	m := pr.layers[vp]
	if m == nil {
		m = make(map[string]*vfp.Layer)
		pr.layers[vp] = m
	}
	l := m[name]
	if l == nil {
		l = &vfp.Layer{Name: name, FriendlyName: name, Priority: prio, Stateful: stateful, DefaultAllow: true}
		if name == LayerSNAT {
			// "Flags : 0x9 Default Allow , Update flows on address change"
			// on SNAT, "0x1, Default Allow" on LB [OBS kubernetes#79359].
			l.Flags = vfp.LayerFlagUpdateFlowsOnAddressChange
		}
		m[name] = l
	}
	return l
}

// group returns the named group of l, creating it.
func group(l *vfp.Layer, name string, prio uint32, dir vfp.Direction, v6 bool) *vfp.Group {
	for _, g := range l.Groups {
		if g.Name == name {
			return g
		}
	}
	g := &vfp.Group{Name: name, FriendlyName: name, Priority: prio, Direction: dir, IPv6: v6}
	l.Groups = append(l.Groups, g)
	return g
}

func groupName(base string, v6 bool, dir vfp.Direction) string {
	fam := "IPV4"
	if v6 {
		fam = "IPV6"
	}
	return base + "_" + fam + "_" + dir.String()
}

// attachLayers adds the built layers to their ports, in a stable order.
func (pr *programmer) attachLayers() error {
	for vp, m := range pr.layers {
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		sortStrings(names)
		for _, n := range names {
			for _, g := range m[n].Groups {
				for _, r := range g.Rules {
					if r.FriendlyName == "" {
						r.FriendlyName = r.Name
					}
				}
			}
			if err := vp.AddLayer(m[n]); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// programPolicies builds the VFP layers of a network's endpoints: MAC
// rewrite (l2bridge, l2tunnel), ACLs, OutBoundNAT, and the VNET layers of
// overlay.
func (pr *programmer) programPolicies(vn *vfpNet) error {
	sw := pr.h.Switches[vn.si]
	// MACs that are local to the switch: frames to them are bridged.
	var local []header.MAC
	for i := 0; i < sw.Ports(); i++ {
		if p := sw.Port(vswitchPortID(i)); !p.MAC.IsZero() && p.MAC != vn.hostMAC {
			local = append(local, p.MAC)
		}
	}
	netACLs, err := pr.networkACLs(vn.n)
	if err != nil {
		return err
	}
	for _, ep := range vn.eps {
		switch vn.n.Type {
		case L2Bridge, L2Tunnel:
			pr.l2Rewrite(vn, ep, local)
		case Overlay:
			if err := pr.overlayVNET(vn, ep, local); err != nil {
				return err
			}
		}
		if err := pr.acls(ep, netACLs); err != nil {
			return err
		}
		if err := pr.outboundNAT(vn, ep); err != nil {
			return err
		}
	}
	return nil
}

// l2Rewrite: on egress the source MAC becomes the host's (and on l2tunnel
// the destination the physical gateway's, so everything goes through the
// physical host); on ingress the destination MAC becomes the container's
// (windows-behaviour.md §3.3, §3.4). Frames to another local vNIC are
// bridged unchanged on l2bridge.
func (pr *programmer) l2Rewrite(vn *vfpNet, ep *vfpEp, local []header.MAC) {
	l := pr.layer(ep.vp, LayerL2Rewrite, prioL2Rewrite, false)
	out := vfp.Action{Type: vfp.ActionMACRewrite, MAC: vfp.MACParams{SrcMAC: vn.hostMAC}}
	if vn.n.Type == L2Tunnel {
		if gw, ok := pr.nicGatewayMAC(vn.nic); ok {
			out.MAC.DstMAC = gw
		}
	}
	for _, v6 := range []bool{false, true} {
		g := group(l, groupName("INTERNAL_L2_REWRITE_GROUP", v6, vfp.Out), grpPrioDefault, vfp.Out, v6)
		if vn.n.Type == L2Bridge {
			g.Rules = append(g.Rules, &vfp.Rule{Name: "L2_BRIDGE_LOCAL", Priority: rulePrioL2BridgeLocal, Terminating: true,
				Conditions: vfp.Conditions{DstMAC: local}, Action: vfp.Action{Type: vfp.ActionAllow}, ModelOnly: modelOnlyLocal})
		}
		g.Rules = append(g.Rules, &vfp.Rule{Name: "L2_REWRITE_OUT", Priority: rulePrioL2Rewrite, Terminating: true, Action: out})
		gi := group(l, groupName("INTERNAL_L2_REWRITE_GROUP", v6, vfp.In), grpPrioDefault, vfp.In, v6)
		gi.Rules = append(gi.Rules, &vfp.Rule{Name: "L2_REWRITE_IN", Priority: rulePrioL2Rewrite, Terminating: true,
			Conditions: vfp.Conditions{DstMAC: []header.MAC{vn.hostMAC}},
			Action:     vfp.Action{Type: vfp.ActionMACRewrite, MAC: vfp.MACParams{DstMAC: ep.mac}}})
	}
}

// nicGatewayMAC returns the MAC of the default gateway of NIC ni.
func (pr *programmer) nicGatewayMAC(ni int) (header.MAC, bool) {
	r, ok := pr.h.Stack.Lookup(netip.IPv4Unspecified())
	if !ok || r.Prefix.Bits() != 0 || !r.NextHop.IsValid() {
		return header.MAC{}, false
	}
	return pr.h.Stack.Neighbor(r.NextHop)
}

// nextHopMAC returns the MAC the management OS would send to for dst.
func (pr *programmer) nextHopMAC(dst netip.Addr) (header.MAC, bool) {
	r, ok := pr.h.Stack.Lookup(dst)
	if !ok {
		return header.MAC{}, false
	}
	nh := r.NextHop
	if !nh.IsValid() {
		nh = dst
	}
	return pr.h.Stack.Neighbor(nh)
}

// overlayVNET builds the overlay's VNET layers on an endpoint port: VXLAN
// encapsulation to remote subnets and remote endpoints (RemoteSubnetRoute,
// ProviderAddress), decapsulation of traffic for the endpoint, and the PA
// route that sends everything else to the management OS for routing
// (windows-behaviour.md §3.5; microsoft/SDN VFP.psm1 PA_ROUTE rule).
func (pr *programmer) overlayVNET(vn *vfpNet, ep *vfpEp, local []header.MAC) error {
	pa := pr.layer(ep.vp, LayerPARoute, prioPARoute, false)
	g := group(pa, "VNET_GROUP_PA_ROUTE_IPV4_OUT", grpPrioPARoute, vfp.Out, false)
	g.Rules = append(g.Rules,
		&vfp.Rule{Name: "PA_ROUTE_LOCAL", Priority: rulePrioPARouteLocal, Terminating: true, Conditions: vfp.Conditions{DstMAC: local},
			Action: vfp.Action{Type: vfp.ActionAllow}, ModelOnly: modelOnlyLocal},
		&vfp.Rule{Name: "PA_ROUTE", Priority: rulePrioPARoute, Terminating: true,
			Action: vfp.Action{Type: vfp.ActionMACRewrite, MAC: vfp.MACParams{DstMAC: vn.hostMAC}}})
	gi := group(pa, "VNET_GROUP_PA_ROUTE_IPV4_IN", grpPrioPARoute, vfp.In, false)
	gi.Rules = append(gi.Rules, &vfp.Rule{Name: "PA_ROUTE_IN", Priority: rulePrioPARoute, Terminating: true,
		Action: vfp.Action{Type: vfp.ActionMACRewrite, MAC: vfp.MACParams{DstMAC: ep.mac}}})

	enc := pr.layer(ep.vp, LayerVNETEncap, prioVNETEncap, false)
	ge := group(enc, "VNET_GROUP_ENCAP_IPV4_OUT", grpPrioVNET, vfp.Out, false)
	clamp := false
	for _, p := range ep.e.Policies {
		if p.Type == EncapOverhead {
			clamp = true
		}
	}
	mtu := pr.h.NICs[vn.nic].MTU
	encap := func(name string, prio uint32, prefix netip.Prefix, vni uint32, paS string, innerDst header.MAC) error {
		remotePA, err := netip.ParseAddr(paS)
		if err != nil {
			return fmt.Errorf("%s: ProviderAddress: %w", name, err)
		}
		outerDst, _ := pr.nextHopMAC(remotePA)
		ge.Rules = append(ge.Rules, &vfp.Rule{Name: name, Priority: prio, Terminating: true,
			Conditions: vfp.Conditions{DstIP: []netip.Prefix{prefix}},
			Action: vfp.Action{Type: vfp.ActionEncap, Encap: vfp.EncapParams{VNI: vni, SrcMAC: vn.hostMAC, DstMAC: outerDst,
				SrcPA: vn.hostIP, DstPA: remotePA, UDPPort: vn.vxPort, InnerSrcMAC: vn.drMAC, InnerDstMAC: innerDst,
				MTU: mtu, ClampMSS: clamp}}})
		return nil
	}
	for i, pol := range vn.n.Policies {
		if pol.Type != RemoteSubnetRoute {
			continue
		}
		r, err := pol.RemoteSubnetRoute()
		if err != nil {
			return fmt.Errorf("Policies[%d]: %w", i, err)
		}
		prefix, err := netip.ParsePrefix(r.DestinationPrefix)
		if err != nil {
			return fmt.Errorf("Policies[%d] (RemoteSubnetRoute): Settings.DestinationPrefix: %w", i, err)
		}
		dr, _ := header.ParseMAC(r.DistributedRouterMacAddress)
		vni := uint32(r.IsolationId)
		if vni == 0 {
			vni = vn.vni
		}
		if err := encap(fmt.Sprintf("ENCAP_%s", prefix), rulePrioRemoteSubnet+uint32(i), prefix.Masked(), vni, r.ProviderAddress, dr); err != nil {
			return fmt.Errorf("Policies[%d] (RemoteSubnetRoute): %w", i, err)
		}
	}
	// Remote endpoints (kube-proxy's, flannel's older per-pod endpoints)
	// carry their PA in a ProviderAddress policy.
	for i := range pr.o.Endpoints {
		re := &pr.o.Endpoints[i]
		if !re.IsRemote() || !sameID(re.HostComputeNetwork, vn.n.Id) {
			continue
		}
		var pa string
		for _, p := range re.Policies {
			if p.Type == NetworkProviderAddress {
				v, err := p.ProviderAddress()
				if err != nil {
					return fmt.Errorf("endpoint %q: %w", endpointName(re), err)
				}
				pa = v.ProviderAddress
			}
		}
		if pa == "" {
			continue
		}
		mac, _ := header.ParseMAC(re.MacAddress)
		for _, a := range re.Addrs() {
			if err := encap("ENCAP_EP_"+endpointName(re), rulePrioRemoteEndpoint, netip.PrefixFrom(a, a.BitLen()), vn.vni, pa, mac); err != nil {
				return fmt.Errorf("endpoint %q: %w", endpointName(re), err)
			}
		}
	}
	gd := group(enc, "VNET_GROUP_DECAP_IPV4_IN", grpPrioVNET, vfp.In, false)
	gd.Rules = append(gd.Rules, &vfp.Rule{Name: "DECAP", Priority: rulePrioDecap, Terminating: true,
		Conditions: vfp.Conditions{VNI: []uint32{vn.vni}},
		Action:     vfp.Action{Type: vfp.ActionDecap, Decap: vfp.DecapParams{VNI: []uint32{vn.vni}, UDPPort: vn.vxPort}}})
	return nil
}

// aclRule is one ACL from an ACL endpoint policy or a NetworkACL network
// policy (same fields).
type aclRule struct {
	id                            string
	protocols                     string
	allow                         bool
	in                            bool
	local, remote, lports, rports string
	priority                      uint16
}

func (pr *programmer) networkACLs(n *HostComputeNetwork) ([]aclRule, error) {
	var out []aclRule
	for i, pol := range n.Policies {
		if pol.Type != NetworkACL {
			continue
		}
		a, err := pol.NetworkACL()
		if err != nil {
			return nil, fmt.Errorf("Policies[%d]: %w", i, err)
		}
		out = append(out, aclRule{id: firstNonEmpty(a.Id, fmt.Sprintf("NetworkACL_%d", i)), protocols: a.Protocols,
			allow: a.Action != ActionTypeBlock, in: a.Direction == DirectionTypeIn, local: a.LocalAddresses,
			remote: a.RemoteAddresses, lports: a.LocalPorts, rports: a.RemotePorts, priority: a.Priority})
	}
	return out, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// acls builds ACL_ENDPOINT_LAYER: the endpoint's ACL policies and the
// network's NetworkACLs, over the Windows Server container defaults:
// outbound allowed, inbound TCP, UDP, ICMP and IGMP allowed, other
// protocols denied (MicrosoftDocs network-isolation-security.md). Allow
// rules are stateful, so replies pass; every rule is terminating, as real
// ACL rules are ("Flags : 8195 terminating stateful").
func (pr *programmer) acls(ep *vfpEp, netACLs []aclRule) error {
	rules := append([]aclRule(nil), netACLs...)
	for i, p := range ep.e.Policies {
		if p.Type != ACL {
			continue
		}
		a, err := p.ACL()
		if err != nil {
			return fmt.Errorf("endpoint %q: Policies[%d]: %w", endpointName(ep.e), i, err)
		}
		rules = append(rules, aclRule{id: firstNonEmpty(a.Id, fmt.Sprintf("ACL_%s_%d", endpointName(ep.e), i)), protocols: a.Protocols,
			allow: a.Action != ActionTypeBlock, in: a.Direction == DirectionTypeIn, local: a.LocalAddresses,
			remote: a.RemoteAddresses, lports: a.LocalPorts, rports: a.RemotePorts, priority: a.Priority})
	}
	l := pr.layer(ep.vp, LayerACL, prioACL, true)
	for _, v6 := range []bool{false, true} {
		gin := group(l, groupName("ACL_ENDPOINT_GROUP", v6, vfp.In), grpPrioDefault, vfp.In, v6)
		gout := group(l, groupName("ACL_ENDPOINT_GROUP", v6, vfp.Out), grpPrioDefault, vfp.Out, v6)
		for _, r := range rules {
			c, ok, err := aclConditions(r, v6)
			if err != nil {
				return fmt.Errorf("endpoint %q: ACL %s: %w", endpointName(ep.e), r.id, err)
			}
			if !ok {
				continue // the rule names addresses of the other family only
			}
			act := vfp.Action{Type: vfp.ActionAllow}
			if !r.allow {
				act = vfp.Action{Type: vfp.ActionBlock, Reason: drop.VFPBlock}
			}
			vr := &vfp.Rule{Name: r.id, FriendlyName: r.id, Priority: uint32(r.priority), Terminating: true, Stateful: r.allow,
				ExtraFlags: aclRuleFlags, Conditions: c, Action: act}
			if r.in {
				gin.Rules = append(gin.Rules, vr)
			} else {
				gout.Rules = append(gout.Rules, vr)
			}
		}
		basic := []uint8{header.ProtoTCP, header.ProtoUDP, header.ProtoICMPv4, 2 /* IGMP */, header.ProtoICMPv6}
		gin.Rules = append(gin.Rules,
			&vfp.Rule{Name: "DEFAULT_ALLOW_IN", FriendlyName: "default-allow-tcp-udp-icmp-igmp", Priority: rulePrioACLDefaultAllow, Terminating: true, Stateful: true,
				Conditions: vfp.Conditions{Protocols: basic}, Action: vfp.Action{Type: vfp.ActionAllow}, ModelOnly: modelOnlyACLDefault},
			&vfp.Rule{Name: "DEFAULT_BLOCK_IN", FriendlyName: "default-block-other-protocols", Priority: rulePrioACLDefaultBlock, Terminating: true,
				Action: vfp.Action{Type: vfp.ActionBlock, Reason: drop.VFPBlock}, ModelOnly: modelOnlyACLDefault})
		gout.Rules = append(gout.Rules, &vfp.Rule{Name: "DEFAULT_ALLOW_OUT", FriendlyName: "default-allow-out", Priority: rulePrioACLDefaultAllow,
			Terminating: true, Stateful: true, Action: vfp.Action{Type: vfp.ActionAllow}, ModelOnly: modelOnlyACLDefault})
		for _, g := range []*vfp.Group{gin, gout} {
			post := slices.Clone(g.Rules)
			slices.SortStableFunc(post, func(a, b *vfp.Rule) int { return cmp.Compare(a.Priority, b.Priority) })
			if err := pr.tierACLs(ep, l, v6, g.Direction, post); err != nil {
				return err
			}
		}
	}
	return nil
}

// aclConditions turns an ACL's comma lists into VFP conditions for one
// family. ok is false when the rule's addresses are all of the other
// family. In-direction ACLs match local = destination, remote = source.
func aclConditions(r aclRule, v6 bool) (c vfp.Conditions, ok bool, err error) {
	protos, err := parseProtocols(r.protocols)
	if err != nil {
		return c, false, fmt.Errorf("Protocols: %w", err)
	}
	c.Protocols = protos
	local, lok, err := parsePrefixes(r.local, v6)
	if err != nil {
		return c, false, fmt.Errorf("LocalAddresses: %w", err)
	}
	remote, rok, err := parsePrefixes(r.remote, v6)
	if err != nil {
		return c, false, fmt.Errorf("RemoteAddresses: %w", err)
	}
	if !lok || !rok {
		return c, false, nil
	}
	lp, err := parsePortRanges(r.lports)
	if err != nil {
		return c, false, fmt.Errorf("LocalPorts: %w", err)
	}
	rp, err := parsePortRanges(r.rports)
	if err != nil {
		return c, false, fmt.Errorf("RemotePorts: %w", err)
	}
	if r.in {
		c.DstIP, c.SrcIP, c.DstPort, c.SrcPort = local, remote, lp, rp
	} else {
		c.SrcIP, c.DstIP, c.SrcPort, c.DstPort = local, remote, lp, rp
	}
	return c, true, nil
}

// parseProtocols reads "6", "6,17", "TCP"; empty and "256" mean any.
func parseProtocols(s string) ([]uint8, error) {
	var out []uint8
	for _, f := range splitList(s) {
		switch strings.ToUpper(f) {
		case "256", "ANY", "*":
			return nil, nil
		case "TCP":
			out = append(out, header.ProtoTCP)
			continue
		case "UDP":
			out = append(out, header.ProtoUDP)
			continue
		case "ICMP", "ICMPV4":
			out = append(out, header.ProtoICMPv4)
			continue
		case "ICMPV6":
			out = append(out, header.ProtoICMPv6)
			continue
		}
		n, err := strconv.ParseUint(f, 10, 8)
		if err != nil {
			return nil, fmt.Errorf("%q is not a protocol number", f)
		}
		out = append(out, uint8(n))
	}
	return out, nil
}

// parsePrefixes reads a comma list of addresses and prefixes, keeping the
// family v6. ok is false when the list is not empty but has no address of
// that family.
func parsePrefixes(s string, v6 bool) (out []netip.Prefix, ok bool, err error) {
	items := splitList(s)
	if len(items) == 0 {
		return nil, true, nil
	}
	for _, f := range items {
		var p netip.Prefix
		if strings.Contains(f, "/") {
			p, err = netip.ParsePrefix(f)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(f)
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if err != nil {
			return nil, false, err
		}
		if p.Addr().Is6() == v6 {
			out = append(out, p.Masked())
		}
	}
	return out, len(out) > 0, nil
}

// parsePortRanges reads "80", "80,443", "1000-2000".
func parsePortRanges(s string) ([]vfp.PortRange, error) {
	var out []vfp.PortRange
	for _, f := range splitList(s) {
		lo, hi, isRange := strings.Cut(f, "-")
		a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
		if err != nil {
			return nil, fmt.Errorf("%q is not a port or range", f)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 16); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a port range", f)
			}
		}
		out = append(out, vfp.PortRange{Lo: uint16(a), Hi: uint16(b)})
	}
	return out, nil
}

// outboundNAT builds the SNAT layer of an endpoint's OutBoundNAT policy:
// destinations in the exception list pass untranslated, ICMP to other
// destinations is dropped (VFP has no ICMP transposition, K8SDOC
// limitations), and TCP and UDP get the source translated to the VIP (the
// policy's VirtualIP or the host's address) with a port from the
// endpoint's pool (windows-behaviour.md §3.3, §3.6; rule names from
// microsoft/SDN networkhealth.ps1: SNAT_TCP_OUTBOUNDNAT_*, SNAT_UDP_OUTBOUNDNAT_*).
// A policy whose Destinations list only the endpoint's own address is
// loopback DSR (containernetworking/plugins ApplyLoopbackDSRPolicy): it
// lets the endpoint reach itself through a service VIP (see loopbackDSR).
func (pr *programmer) outboundNAT(vn *vfpNet, ep *vfpEp) error {
	for i, p := range ep.e.Policies {
		if p.Type != OutBoundNAT {
			continue
		}
		s, err := p.OutBoundNAT()
		if err != nil {
			return fmt.Errorf("endpoint %q: Policies[%d]: %w", endpointName(ep.e), i, err)
		}
		if isLoopbackDSR(s, ep.ips) {
			ep.loopbackDSR = true
			continue
		}
		vip := vn.hostIP
		if s.VirtualIP != "" {
			if vip, err = netip.ParseAddr(s.VirtualIP); err != nil {
				return fmt.Errorf("endpoint %q: Policies[%d] (OutBoundNAT): Settings.VirtualIP: %w", endpointName(ep.e), i, err)
			}
		}
		size := snatDefaultPool
		if s.MaxPortPoolUsage > 0 {
			size = int(s.MaxPortPoolUsage)
		}
		lo, hi, ok := pr.ports.take(size)
		if !ok {
			return &Error{Code: HCN_E_PORT_ALREADY_EXISTS, Kind: KindEndpoint, Object: endpointName(ep.e),
				Field: fmt.Sprintf("Policies[%d]", i), Msg: "no free SNAT port block in the dynamic port range for OutBoundNAT"}
		}
		sw := pr.h.Switches[vn.si]
		sw.MapSNATRange(vip, header.ProtoTCP, lo, hi, ep.port)
		sw.MapSNATRange(vip, header.ProtoUDP, lo, hi, ep.port)
		l := pr.layer(ep.vp, LayerSNAT, prioSNAT, true)
		// Connections that start inbound are tracked too, so their replies
		// match the flow and are not translated (VFP policy is per
		// connection, not per packet: Firestone, NSDI 2017).
		gin := group(l, "SNAT_GROUP_IPV4_IN", grpPrioDefault, vfp.In, false)
		if len(gin.Rules) == 0 {
			gin.Rules = append(gin.Rules, &vfp.Rule{Name: "SNAT_TRACK_INBOUND", Priority: rulePrioSNATTrackInbound, Terminating: true, Stateful: true,
				Action: vfp.Action{Type: vfp.ActionAllow}, ModelOnly: modelOnlyTrack})
		}
		g := group(l, "SNAT_GROUP_IPV4_OUT", grpPrioDefault, vfp.Out, false)
		for j, e := range s.Exceptions {
			p, err := parseOnePrefix(e)
			if err != nil {
				return fmt.Errorf("endpoint %q: Policies[%d] (OutBoundNAT): Settings.Exceptions[%d]: %w", endpointName(ep.e), i, j, err)
			}
			g.Rules = append(g.Rules, &vfp.Rule{Name: fmt.Sprintf("SNAT_EXCEPTION_%d", j), Priority: rulePrioSNATException + uint32(j), Terminating: true,
				Stateful: true, Conditions: vfp.Conditions{DstIP: []netip.Prefix{p}}, Action: vfp.Action{Type: vfp.ActionAllow}})
		}
		var dsts []netip.Prefix
		for j, d := range s.Destinations {
			p, err := parseOnePrefix(d)
			if err != nil {
				return fmt.Errorf("endpoint %q: Policies[%d] (OutBoundNAT): Settings.Destinations[%d]: %w", endpointName(ep.e), i, j, err)
			}
			dsts = append(dsts, p)
		}
		pool := vfp.NATPool{Name: "SNAT_POOL_" + endpointName(ep.e), IP: vip, Lo: lo, Hi: hi}
		var mss [2]uint16
		if vn.n.Type == Overlay {
			mss = [2]uint16{header.VXLANOverhead, 0} // "MSS delta: 50,0" [OBS #79359]
		}
		g.Rules = append(g.Rules,
			&vfp.Rule{Name: "SNAT_ICMP_OUTBOUNDNAT", Priority: rulePrioSNATICMP, Terminating: true,
				Conditions: vfp.Conditions{DstIP: dsts, Protocols: []uint8{header.ProtoICMPv4}},
				Action:     vfp.Action{Type: vfp.ActionBlock, Reason: drop.NoICMPTransposition}, ModelOnly: modelOnlyICMP},
			&vfp.Rule{Name: "SNAT_TCP_OUTBOUNDNAT_" + endpointName(ep.e), Priority: rulePrioSNATTCP, Terminating: true, Stateful: true,
				Conditions: vfp.Conditions{DstIP: dsts, Protocols: []uint8{header.ProtoTCP}},
				Action:     vfp.Action{Type: vfp.ActionDynNAT, Pool: pool, MSSDelta: mss}},
			&vfp.Rule{Name: "SNAT_UDP_OUTBOUNDNAT_" + endpointName(ep.e), Priority: rulePrioSNATUDP, Terminating: true, Stateful: true,
				Conditions: vfp.Conditions{DstIP: dsts, Protocols: []uint8{header.ProtoUDP}},
				Action:     vfp.Action{Type: vfp.ActionDynNAT, Pool: pool}})
	}
	return nil
}

func isLoopbackDSR(s OutboundNatPolicySetting, own []netip.Addr) bool {
	if len(s.Destinations) == 0 || len(s.Exceptions) > 0 {
		return false
	}
	for _, d := range s.Destinations {
		p, err := parseOnePrefix(d)
		if err != nil || !p.IsSingleIP() {
			return false
		}
		found := false
		for _, a := range own {
			if a == p.Addr() {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func parseOnePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	return netip.PrefixFrom(a, a.BitLen()), err
}
