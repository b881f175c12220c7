package linux

import (
	"fmt"
	"time"
)

// Built is a Layout built in a Lab.
type Built struct {
	Lab    *Lab
	Layout *Layout
	ns     map[string]*Namespace
}

// NS returns the built namespace with the layout's short name, or nil.
func (b *Built) NS(name string) *Namespace { return b.ns[name] }

// BuildLayout builds lay in lab: every namespace with its sysctls, then the links, the
// interface settings, links up, addresses, routes, neighbours, FDB entries, nftables
// rules (NAT, load balancers, marks, MAC rewrites, filters), policy routing rules, and
// waits until every link is ready. On error the lab holds what was made; the
// caller closes it.
func BuildLayout(lab *Lab, lay *Layout) (*Built, error) {
	b := &Built{Lab: lab, Layout: lay, ns: map[string]*Namespace{}}
	for _, np := range lay.Namespaces {
		n, err := lab.NewNamespace(np.Name)
		if err != nil {
			return b, err
		}
		b.ns[np.Name] = n
		for _, kv := range np.Sysctls {
			if err := n.SetSysctl(kv[0], kv[1]); err != nil {
				return b, err
			}
		}
	}
	for _, np := range lay.Namespaces {
		n := b.ns[np.Name]
		for _, l := range np.Links {
			if err := b.addLink(n, l); err != nil {
				return b, err
			}
		}
	}
	for _, np := range lay.Namespaces {
		n := b.ns[np.Name]
		for _, ip := range np.Ifaces {
			if ip.MAC != nil {
				if err := n.SetMAC(ip.Name, ip.MAC); err != nil {
					return b, err
				}
			}
			if ip.MTU > 0 {
				if err := n.SetMTU(ip.Name, ip.MTU); err != nil {
					return b, err
				}
			}
			if ip.Master != "" {
				if err := n.SetMaster(ip.Name, ip.Master); err != nil {
					return b, err
				}
			}
			if ip.NoFlood {
				if err := n.SetBridgePortFlood(ip.Name, false); err != nil {
					return b, err
				}
			}
			if ip.Hairpin {
				if err := n.SetBridgePortHairpin(ip.Name, true); err != nil {
					return b, err
				}
			}
		}
	}
	for _, np := range lay.Namespaces {
		if !np.StaticNeighbours {
			continue
		}
		n := b.ns[np.Name]
		links, err := n.Links()
		if err != nil {
			return b, err
		}
		for _, l := range links {
			fams := []string{"ipv4"}
			if np.IPv6 {
				fams = append(fams, "ipv6")
			}
			for _, fam := range fams {
				for _, k := range []string{"mcast_solicit", "ucast_solicit"} {
					if err := n.SetSysctl("net/"+fam+"/neigh/"+l.Name+"/"+k, "0"); err != nil {
						return b, err
					}
				}
			}
		}
	}
	for _, np := range lay.Namespaces {
		n := b.ns[np.Name]
		if err := n.SetUp(np.Up...); err != nil {
			return b, err
		}
		// Checksums and segmentation in software: captures show the bytes that would be
		// on a wire (see the package documentation, "Injection and capture").
		for _, name := range np.Up {
			if err := n.SetOffloads(name, false); err != nil {
				return b, err
			}
		}
	}
	for _, np := range lay.Namespaces {
		n := b.ns[np.Name]
		for _, a := range np.Addrs {
			if err := n.AddAddr(a.Ifname, a.Prefix); err != nil {
				return b, err
			}
		}
	}
	for _, np := range lay.Namespaces {
		n := b.ns[np.Name]
		for _, r := range np.Routes {
			if err := n.AddRoute(r); err != nil {
				return b, err
			}
		}
		for _, nb := range np.Neigh {
			if err := n.AddNeighbor(nb.Ifname, nb.IP, nb.MAC); err != nil {
				return b, err
			}
		}
		for _, e := range np.FDB {
			if err := n.AddFDB(e); err != nil {
				return b, err
			}
		}
		for _, m := range np.Masq {
			if err := n.AddMasquerade(m); err != nil {
				return b, err
			}
		}
		for _, d := range np.DNAT {
			if err := n.AddDNAT(d); err != nil {
				return b, err
			}
		}
		for _, lb := range np.LBs {
			if err := n.SetLoadBalancer(lb); err != nil {
				return b, err
			}
		}
		if len(np.WirePorts) > 0 || len(np.WireIfaces) > 0 {
			if err := n.MarkWire(np.WirePorts, np.WireIfaces); err != nil {
				return b, err
			}
		}
		if np.RouteMarks {
			if err := n.RestoreRouteMarks(); err != nil {
				return b, err
			}
		}
		for _, r := range np.Rules {
			if err := n.AddRule(r); err != nil {
				return b, err
			}
		}
		for _, r := range np.MACRewrites {
			if err := n.AddMACRewrite(r); err != nil {
				return b, err
			}
		}
		if len(np.Filters) > 0 {
			if err := n.AddFilters(np.Filters...); err != nil {
				return b, err
			}
		}
		if len(np.BridgeFilters) > 0 {
			if err := n.AddBridgeFilters(np.BridgeFilters...); err != nil {
				return b, err
			}
		}
		for _, h := range []Hook{HookForward, HookInput, HookOutput} {
			if v, ok := np.Policies[h]; ok && v != Accept {
				if err := n.SetFilterPolicy(h, v); err != nil {
					return b, err
				}
			}
		}
	}
	if err := lab.WaitReady(5 * time.Second); err != nil {
		return b, err
	}
	return b, nil
}

func (b *Built) addLink(n *Namespace, l LinkPlan) error {
	switch l.Kind {
	case LinkVeth:
		peer := b.ns[l.PeerNS]
		if peer == nil {
			return fmt.Errorf("veth %s: no namespace %q", l.Name, l.PeerNS)
		}
		return n.AddVeth(l.Name, peer, l.PeerName)
	case LinkBridge:
		return n.AddBridge(l.Name)
	case LinkMacvlan, LinkIPVlan:
		target := b.ns[l.PeerNS]
		if target == nil {
			return fmt.Errorf("%s: no namespace %q", l.Name, l.PeerNS)
		}
		if l.Kind == LinkMacvlan {
			return n.AddMacvlan(l.PeerName, l.Parent, target)
		}
		return n.AddIPVlan(l.PeerName, l.Parent, target)
	case LinkVXLAN:
		return n.AddVXLAN(l.VXLAN)
	}
	return fmt.Errorf("link %s: unknown kind %d", l.Name, l.Kind)
}
