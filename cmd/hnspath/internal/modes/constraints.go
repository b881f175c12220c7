package modes

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/hnspath/hnspath/reports"
)

// wb cites the behaviour reference.
const wb = "docs/windows-behaviour.md "

// constraints are each mode's documented constraints (docs/design.md §3 and the
// sections of docs/windows-behaviour.md they come from, which name the
// primary sources).
var constraints = map[string][]reports.Constraint{
	NAT: {
		{Text: "one NAT internal prefix per host, shared by every nat network; internal and external prefixes must not overlap",
			Source: wb + "§2.2 items 1-2 (WinNAT blog; VD setup-nat-network.md)"},
		{Text: "unsolicited inbound traffic needs a static port mapping (docker run -p); without one it is dropped",
			Source: wb + "§2.1, §2.4 (VD architecture.md; Add-NetNatStaticMapping.md)"},
		{Text: "remote nodes reach containers only through ports published on their host",
			Source: wb + "§2.1 (VD network-drivers-topologies.md connectivity table)"},
		{Text: "no IPv6: containers on nat networks cannot communicate over IPv6",
			Source: wb + "§2.4 (VD architecture.md; microsoft/Windows-Containers#75, #522)"},
		{Text: "the host cannot reach a container through its own external IP:port (no loopback); other containers can (hairpin)",
			Source: wb + "§2.2 items 4-5 (WinNAT blog)"},
		{Text: "nat networks do not persist across reboots on Windows Server 2019 and later",
			Source: wb + "§2.1 (VD network-drivers-topologies.md)"},
	},
	Transparent: {
		{Text: "the containers' own MACs appear on the physical network: MAC address spoofing must be enabled when the host is a VM",
			Source: wb + "§3.2 (VD network-drivers-topologies.md)"},
		{Text: "not supported on Azure VMs",
			Source: wb + "§3.2 (VD network-drivers-topologies.md, advanced.md)"},
		{Text: "static IPs (--subnet) or an outside DHCP server; each network on an external vSwitch needs its own adapter",
			Source: wb + "§3.2 (VD network-drivers-topologies.md)"},
		{Text: "IPv6 only with self-assigned addresses: no HNS IPAM, load balancing or ACLs for it",
			Source: wb + "§3.2 (VD architecture.md)"},
	},
	L2Bridge: {
		{Text: "VFP rewrites the source MAC to the host's on egress and the destination MAC to the container's on ingress: no MAC spoofing needed",
			Source: wb + "§3.3 (VD network-drivers-topologies.md; K8SDOC)"},
		{Text: "internet access needs an OutBoundNAT policy (SNAT to the host's address) with exceptions for cluster destinations",
			Source: wb + "§3.3 (VD advanced.md; microsoft/SDN flannel l2bridge cni.conf)"},
		{Text: "ICMP through OutBoundNAT is not translated (VFP has no ICMP transposition): ping outside the cluster fails, TCP and UDP work",
			Source: wb + "§3.6, §4 issue 11 (kubernetes/enhancements#824, microsoft/SDN#170, K8SDOC)"},
		{Text: "static IPs only, no DHCP",
			Source: wb + "§3.3 (VD advanced.md)"},
		{Text: "IPv6 (dual stack) from Windows Server 2022 (HNS 11.10)",
			Source: wb + "§3.1 feature gates (hcsshim hcnglobals.go); docs/design.md §3"},
	},
	L2Tunnel: {
		{Text: "for the Microsoft cloud (Azure) only",
			Source: wb + "§3.4 (VD network-drivers-topologies.md)"},
		{Text: "all container traffic, even between containers of one host, is sent to the physical host's vSwitch, where the cloud's SDN policy (e.g. NSGs) applies",
			Source: wb + "§3.4 (VD network-drivers-topologies.md)"},
		{Text: "MAC rewritten, container IPs visible on the underlay (Azure CNI)",
			Source: wb + "§3.4 (K8SDOC)"},
	},
	Overlay: {
		{Text: "VXLAN on UDP 4789 with VNI (VSID) 4096 or more; encapsulation adds 50 bytes (outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8)",
			Source: wb + "§3.5 (flannel vxlan_windows.go; RFC 7348)"},
		{Text: "endpoint MTU 1450 (EncapOverhead 50): full-size 1500-byte packets from a container are dropped",
			Source: wb + "§3.5 (microsoft/SDN#517; flannel vxlan_network_windows.go)"},
		{Text: "no IPv6: overlay networks are IPv4-only (no dual stack)",
			Source: wb + "§3.5 (kube-proxy DualStackCompatible; K8SDOC; VD architecture.md)"},
		{Text: "outbound to the internet through VFP NAT; ICMP is not translated (replace ping with TCP/UDP probes)",
			Source: wb + "§3.5 (VD: Docker Swarm overlay on WS2019), §3.6"},
		{Text: "pod addresses are not routable outside the cluster: clients reach pods through a load balancer or NodePort",
			Source: wb + "§3.5-3.6 (remote subnets only through RemoteSubnetRoute; kube-proxy winkernel)"},
		{Text: "Windows Server 2019 needs KB4489899 (2016: KB4015217)",
			Source: wb + "§3.5 (VD; K8SDOC)"},
	},
}

// why explains a flow's failure in the mode's terms, from its drop.
func why(mode string, fl *flow, d *reports.FlowDrop, w *world) string {
	switch d.Reason {
	case "winnat-no-mapping":
		if fl.dir == Inbound || fl.dir == EastWest {
			return "inbound needs a port mapping on nat: publish the port (expose: in the workload, docker run -p)"
		}
	case "winnat-filtered":
		return "WinNAT's address-dependent filtering lets in only hosts the container has sent to"
	case "vfp-no-icmp-transposition", "icmp-not-transposed":
		return "VFP's OutBoundNAT does not translate ICMP: ping outside the cluster fails on " + mode + "; TCP and UDP work"
	case "hns-ipv6-unsupported", "winnat-ipv6-unsupported":
		s := "no IPv6 on " + mode
		if w != nil && w.v6Rejected != "" {
			s += " (HNS: " + w.v6Rejected + ")"
		}
		return s
	case "mtu-mismatch":
		if mode == Overlay {
			return fmt.Sprintf("a %d-byte packet is over the overlay endpoint's MTU 1450 (1500 minus 50 bytes of VXLAN): the handshake works, full-size segments are lost; lower the sender's MTU or clamp the MSS", maxSize(fl))
		}
		return fmt.Sprintf("a %d-byte packet is over the MTU", maxSize(fl))
	case "no-route", "underlay-no-destination":
		if mode == Overlay && fl.dir == Inbound {
			return "overlay pod addresses are not routable from outside the cluster: publish through a load balancer (NodePort)"
		}
	case "vfp-rule-block", "vfp-layer-default-block":
		return "blocked by a VFP rule " + d.Rule
	}
	if d.Text != "" {
		return d.Text
	}
	return strings.ReplaceAll(d.Reason, "-", " ")
}

func maxSize(fl *flow) int {
	n := 0
	for _, p := range fl.pkts {
		n = max(n, p.size)
	}
	return n
}

// addressMap lists each address of the traffic, its party and role, and the
// address standing for it in each mode.
func addressMap(wl *Workload, r *roles, modes []string, worlds map[string]*world) []reports.AddressMap {
	var out []reports.AddressMap
	add := func(name, role string, addrs []netip.Addr) {
		for _, a := range addrs {
			m := reports.AddressMap{Capture: a.String(), Name: name, Role: role, Modes: map[string]string{}}
			for _, mode := range modes {
				w := worlds[mode]
				if w == nil || w.at[name] == nil {
					m.Modes[mode] = "-"
					continue
				}
				pl := w.at[name]
				got := pl.addr(a.Is6())
				switch {
				case !got.IsValid():
					m.Modes[mode] = "none (no IPv6 on " + mode + ")"
				case mode == NAT && pl.host != "" && !got.Is6():
					m.Modes[mode] = fmt.Sprintf("%s (outside: %s)", got, w.hostNIC(pl.host, false))
				default:
					m.Modes[mode] = got.String()
				}
			}
			out = append(out, m)
		}
	}
	for _, e := range wl.Endpoints {
		add(e.Name, "endpoint", e.Addrs)
	}
	for _, n := range wl.Nodes {
		for _, e := range n.Endpoints {
			add(e.Name, "endpoint on "+n.Name, e.Addrs)
		}
	}
	for _, p := range r.peers {
		role := "peer (" + p.Where + ")"
		if p.Auto {
			role = "peer (internet, not in the workload)"
		}
		add(p.Name, role, p.Addrs)
	}
	return out
}
