package hns

import (
	"fmt"
	"net/netip"

	"github.com/hnspath/hnspath/emulator/vswitch"
	"github.com/hnspath/hnspath/emulator/winnat"
)

// natVNICMTU is the IP MTU of a nat network container's vNIC.
const natVNICMTU = 1500

// nat programs a NAT network: an internal vSwitch, the management OS's
// gateway vNIC "vEthernet (<name>)" with IP forwarding on, WinNAT between
// the network's prefix and the host's external addresses, and the static
// port mappings of the endpoints' PortMapping policies (docs/design.md §3 nat;
// docs/windows-tools.md §5: VFP is disabled on nat networks, so no VFP).
func (pr *programmer) nat(n *HostComputeNetwork) error {
	h := pr.h
	subnets := n.Subnets()
	if len(subnets) == 0 {
		// Normalize gives a nat network without IPAM its default subnet.
		return fmt.Errorf("a NAT network needs a subnet (HNS IPAM of the nat network)")
	}
	prefix, err := subnets[0].Prefix()
	if err != nil {
		return err
	}
	gw := gateway(subnets[0], prefix)
	si, err := h.AddSwitch(n.Name, vswitch.Internal, "")
	if err != nil {
		return err
	}
	vnicMAC := hypervMAC(h.Name + "/vEthernet (" + n.Name + ")")
	ifi, err := h.AddHostVNIC(si, "vEthernet ("+n.Name+")", vnicMAC, 1500, []netip.Prefix{netip.PrefixFrom(gw, prefix.Bits())})
	if err != nil {
		return err
	}
	h.Stack.Iface(ifi).Forwarding = true

	cfg := pr.opts.NAT
	cfg.InternalPrefix = prefix.Masked()
	cfg.ExternalAddrs = nil
	for i := 0; i < h.Stack.Ifaces(); i++ {
		if i == ifi {
			continue
		}
		for _, a := range h.Stack.Iface(i).Addrs {
			if a.Addr().Is4() && !prefix.Contains(a.Addr()) {
				cfg.ExternalAddrs = append(cfg.ExternalAddrs, a.Addr())
			}
		}
	}
	cfg.Shard, cfg.Shards = pr.opts.Shard, pr.opts.Shards
	cfg.Host = h.Name
	nat, err := winnat.New(cfg)
	if err != nil {
		return fmt.Errorf("WinNAT: %w", err)
	}
	h.SetNAT(nat, ifi)

	alloc := newIPAM(prefix, gw)
	eps := pr.endpointsOf(n)
	for _, e := range eps {
		for _, a := range e.Addrs() {
			alloc.take(a)
		}
	}
	for _, e := range eps {
		mac, err := pr.endpointMAC(e)
		if err != nil {
			return err
		}
		ips := e.Addrs()
		if len(ips) == 0 {
			a, err := alloc.next()
			if err != nil {
				return fmt.Errorf("endpoint %q: %w", endpointName(e), err)
			}
			ips = []netip.Addr{a}
		}
		ei, err := h.AddEndpoint(si, endpointName(e), mac, ips, 0)
		if err != nil {
			return err
		}
		h.SetEndpointGateway(ei, gw)
		// A Hyper-V vNIC's MTU is 1500 (no jumbo frames on the nat
		// network; HNS lowers it only for overlay, EncapOverhead): a
		// bigger frame from the container is dropped at its port
		// (docs/fidelity.md §4).
		h.SetEndpointMTU(ei, natVNICMTU)
		for _, a := range ips {
			h.Stack.AddNeighbor(a, mac)
		}
		for pi, p := range e.Policies {
			if p.Type != PortMapping {
				continue
			}
			s, err := p.PortMapping()
			if err != nil {
				return fmt.Errorf("endpoint %q: Policies[%d]: %w", endpointName(e), pi, err)
			}
			m := winnat.StaticMapping{Protocol: uint8(s.Protocol), ExternalPort: s.ExternalPort, InternalAddr: ips[0], InternalPort: s.InternalPort}
			if m.InternalPort == 0 {
				m.InternalPort = s.ExternalPort
			}
			if s.VIP != "" {
				v, err := netip.ParseAddr(s.VIP)
				if err != nil {
					return fmt.Errorf("endpoint %q: Policies[%d] (PortMapping): Settings.VIP: %w", endpointName(e), pi, err)
				}
				m.ExternalAddr = v
			}
			if err := nat.AddStaticMapping(m); err != nil {
				return fmt.Errorf("endpoint %q: Policies[%d] (PortMapping): %w", endpointName(e), pi, err)
			}
		}
	}
	return nil
}
