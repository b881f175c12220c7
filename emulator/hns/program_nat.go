package hns

import (
	"crypto/sha1"
	"fmt"
	"net/netip"

	"github.com/hnspath/hnspath/emulator/vswitch"
	"github.com/hnspath/hnspath/emulator/winnat"
)

// natVNICMTU is the IP MTU of a nat network container's vNIC.
const natVNICMTU = 1500

// natPool is where HNS picks the default nat network's prefix from, and
// natDefaultBits its length: every default nat network in the public real
// samples is a /20 inside 172.16.0.0/12 (172.17.32.0/20, 172.22.16.0/20,
// 172.30.208.0/20, 172.27.144.0/20, 172.31.0.0/20; docs/windows-behaviour.md §5).
var natPool = netip.MustParsePrefix("172.16.0.0/12")

const natDefaultBits = 20

// defaultNATPrefix returns the prefix of a nat network created without a
// subnet. HNS picks a free /20 of 172.16.0.0/12 at random; the model picks
// one from a hash of the host's and network's names, so that runs repeat,
// and skips blocks that overlap the host's addresses and routes. When an
// endpoint of the network has a static address in the pool, the block that
// holds it is taken.
func (pr *programmer) defaultNATPrefix(n *HostComputeNetwork) netip.Prefix {
	for _, e := range pr.endpointsOf(n) {
		for _, a := range e.Addrs() {
			if a.Is4() && natPool.Contains(a) {
				p, _ := a.Prefix(natDefaultBits)
				return p
			}
		}
	}
	blocks := 1 << (natDefaultBits - natPool.Bits())
	sum := sha1.Sum([]byte(pr.h.Name + "/" + n.Name))
	start := (int(sum[0])<<8 | int(sum[1])) % blocks
	base := natPool.Addr().As4()
	for i := 0; i < blocks; i++ {
		k := (start + i) % blocks
		a := base
		v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
		v += uint32(k) << (32 - natDefaultBits)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), natDefaultBits)
		if !pr.hostOverlaps(p) {
			return p
		}
	}
	return netip.PrefixFrom(natPool.Addr(), natDefaultBits)
}

// hostOverlaps reports whether p overlaps an address or route of the host.
func (pr *programmer) hostOverlaps(p netip.Prefix) bool {
	for _, r := range pr.h.Stack.Routes() {
		if r.Prefix.Bits() > 0 && r.Prefix.Overlaps(p) {
			return true
		}
	}
	for i := 0; i < pr.h.Stack.Ifaces(); i++ {
		for _, a := range pr.h.Stack.Iface(i).Addrs {
			if p.Contains(a.Addr()) {
				return true
			}
		}
	}
	return false
}

// nat programs a NAT network: an internal vSwitch, the management OS's
// gateway vNIC "vEthernet (<name>)" with IP forwarding on, WinNAT between
// the network's prefix and the host's external addresses, and the static
// port mappings of the endpoints' PortMapping policies (DESIGN.md §3 nat;
// reference/hcn-schema.md §5: VFP is disabled on nat networks, so no VFP).
func (pr *programmer) nat(n *HostComputeNetwork) error {
	h := pr.h
	subnets := n.Subnets()
	var prefix netip.Prefix
	var gw netip.Addr
	if len(subnets) == 0 {
		// No IPAM: Docker's nat network as HNS creates it, a /20 inside
		// 172.16.0.0/12 with the gateway at .1 (docs/windows-behaviour.md §5).
		prefix = pr.defaultNATPrefix(n)
		gw = prefix.Addr().Next()
	} else {
		var err error
		if prefix, err = subnets[0].Prefix(); err != nil {
			return err
		}
		gw = gateway(subnets[0], prefix)
	}
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
		// (docs/windows-behaviour.md §4).
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
