package linux

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// VXLANPort is the IANA-assigned VXLAN UDP port (RFC 7348 section 5). The Linux kernel's
// own default is 8472, so AddVXLAN always sets the port.
const VXLANPort = 4789

// ErrLinkKindUnsupported is wrapped by AddVeth, AddBridge, AddIPVlan, AddMacvlan,
// AddVXLAN and AddDummy when the kernel does not know the link kind: RTM_NEWLINK fails
// with EOPNOTSUPP ("Unknown device type"), e.g. on a kernel built without CONFIG_IPVLAN
// or CONFIG_DUMMY. Test it with errors.Is.
var ErrLinkKindUnsupported = errors.New("link kind not supported by this kernel")

// addLink creates l through n's handle, wrapping EOPNOTSUPP as ErrLinkKindUnsupported.
// The caller holds an acquire.
func (n *Namespace) addLink(l netlink.Link) error {
	err := n.nl.LinkAdd(l)
	if errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("%s: %w (%w)", l.Type(), ErrLinkKindUnsupported, err)
	}
	return err
}

// op runs fn while holding the lab open and prefixes its error with the namespace and what.
func (n *Namespace) op(what string, fn func() error) error {
	release, err := n.lab.acquire()
	if err != nil {
		return fmt.Errorf("netns %s: %s: %w", n.full, what, err)
	}
	defer release()
	if err := fn(); err != nil {
		return fmt.Errorf("netns %s: %s: %w", n.full, what, err)
	}
	return nil
}

// notFound reports whether err says that a link, address, route or neighbour is gone.
func notFound(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH)
}

// link returns the link called name in n. The caller holds an acquire.
func (n *Namespace) link(name string) (netlink.Link, error) {
	if err := checkIfname(name); err != nil {
		return nil, err
	}
	l, err := n.nl.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("link %q: %w", name, err)
	}
	return l, nil
}

// recordLink records the deletion of link name in n. Deleting it when it is already
// gone (for example the peer of a deleted veth) succeeds.
func (n *Namespace) recordLink(name string) {
	n.lab.record("link "+n.full+"/"+name, func() error {
		l, err := n.nl.LinkByName(name)
		if err != nil {
			if notFound(err) {
				return nil
			}
			return err
		}
		if err := n.nl.LinkDel(l); err != nil && !notFound(err) {
			return err
		}
		return nil
	})
}

// sameLab checks that other belongs to n's lab (their fds are covered by one acquire).
func (n *Namespace) sameLab(other *Namespace) error {
	if other == nil {
		return fmt.Errorf("target namespace is nil")
	}
	if other.lab != n.lab {
		return fmt.Errorf("namespace %s belongs to another lab", other.full)
	}
	return nil
}

// AddVeth creates a veth pair: name in n and peerName in peer (which may be n itself).
// Both ends start down; the pair is created directly across the two namespaces, never in
// the root namespace.
func (n *Namespace) AddVeth(name string, peer *Namespace, peerName string) error {
	what := fmt.Sprintf("add veth %s <-> %s/%s", name, peerFull(peer), peerName)
	return n.op(what, func() error {
		if err := n.sameLab(peer); err != nil {
			return err
		}
		if err := checkIfname(name); err != nil {
			return err
		}
		if err := checkIfname(peerName); err != nil {
			return fmt.Errorf("peer: %w", err)
		}
		v := &netlink.Veth{LinkAttrs: netlink.NewLinkAttrs(), PeerName: peerName}
		v.Name = name
		if peer != n {
			v.PeerNamespace = netlink.NsFd(peer.fd)
		}
		if err := n.addLink(v); err != nil {
			return err
		}
		n.recordLink(name)
		peer.recordLink(peerName)
		return nil
	})
}

// peerFull returns the full name of p, or "<nil>".
func peerFull(p *Namespace) string {
	if p == nil {
		return "<nil>"
	}
	return p.full
}

// AddBridge creates a Linux bridge with STP off and forward delay 0, so a port forwards
// as soon as it is up (like a Hyper-V vSwitch port). It starts down.
func (n *Namespace) AddBridge(name string) error {
	return n.op("add bridge "+name, func() error {
		if err := checkIfname(name); err != nil {
			return err
		}
		br := &netlink.Bridge{LinkAttrs: netlink.NewLinkAttrs()}
		br.Name = name
		if err := n.addLink(br); err != nil {
			return err
		}
		n.recordLink(name)
		l, err := n.nl.LinkByName(name)
		if err != nil {
			return err
		}
		// IFLA_BR_FORWARD_DELAY and IFLA_BR_STP_STATE (include/uapi/linux/if_link.h) are not
		// in netlink.Bridge, so they go in a raw RTM_NEWLINK sent from inside n.
		return doIn(n.fd, func() error {
			req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_ACK)
			msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
			msg.Index = int32(l.Attrs().Index)
			req.AddData(msg)
			info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
			info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bridge"))
			data := info.AddRtAttr(nl.IFLA_INFO_DATA, nil)
			data.AddRtAttr(nl.IFLA_BR_FORWARD_DELAY, nl.Uint32Attr(0))
			data.AddRtAttr(nl.IFLA_BR_STP_STATE, nl.Uint32Attr(0))
			req.AddData(info)
			if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil {
				return fmt.Errorf("set forward delay 0, stp off: %w", err)
			}
			return nil
		})
	})
}

// bridgeSettings returns the STP state and forward delay (in jiffies, as the kernel reports
// them) of bridge name, read back with RTM_GETLINK.
func (n *Namespace) bridgeSettings(name string) (stp, fwdDelay uint32, err error) {
	err = n.op("read bridge "+name, func() error {
		l, err := n.link(name)
		if err != nil {
			return err
		}
		return doIn(n.fd, func() error {
			req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_ACK)
			msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
			msg.Index = int32(l.Attrs().Index)
			req.AddData(msg)
			msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
			if err != nil {
				return err
			}
			if len(msgs) != 1 {
				return fmt.Errorf("got %d link messages, want 1", len(msgs))
			}
			attrs, err := nl.ParseRouteAttr(msgs[0][unix.SizeofIfInfomsg:])
			if err != nil {
				return err
			}
			found := 0
			for _, a := range attrs {
				if a.Attr.Type != unix.IFLA_LINKINFO {
					continue
				}
				infos, err := nl.ParseRouteAttr(a.Value)
				if err != nil {
					return err
				}
				for _, i := range infos {
					if i.Attr.Type != nl.IFLA_INFO_DATA {
						continue
					}
					data, err := nl.ParseRouteAttr(i.Value)
					if err != nil {
						return err
					}
					for _, d := range data {
						switch d.Attr.Type {
						case nl.IFLA_BR_STP_STATE:
							stp, found = native32(d.Value), found+1
						case nl.IFLA_BR_FORWARD_DELAY:
							fwdDelay, found = native32(d.Value), found+1
						}
					}
				}
			}
			if found != 2 {
				return fmt.Errorf("got %d of 2 bridge attributes", found)
			}
			return nil
		})
	})
	return stp, fwdDelay, err
}

// native32 decodes a host-endian uint32 netlink attribute (0 if it is short).
func native32(b []byte) uint32 {
	if len(b) < 4 {
		return 0
	}
	return nl.NativeEndian().Uint32(b)
}

// AddIPVlan creates an ipvlan link in L2 mode on parent (a link in n) and places it in
// target as name. An ipvlan child sends with its parent's MAC address: the Linux analogue
// of l2bridge's source MAC rewrite to the host's MAC. It starts down.
func (n *Namespace) AddIPVlan(name, parent string, target *Namespace) error {
	what := fmt.Sprintf("add ipvlan %s/%s on %s", peerFull(target), name, parent)
	return n.op(what, func() error {
		p, err := n.childChecks(name, parent, target)
		if err != nil {
			return err
		}
		iv := &netlink.IPVlan{LinkAttrs: netlink.NewLinkAttrs(), Mode: netlink.IPVLAN_MODE_L2, Flag: netlink.IPVLAN_FLAG_BRIDGE}
		iv.Name, iv.ParentIndex, iv.Namespace = name, p.Attrs().Index, netlink.NsFd(target.fd)
		if err := n.addLink(iv); err != nil {
			return err
		}
		target.recordLink(name)
		return nil
	})
}

// AddMacvlan creates a macvlan link in bridge mode on parent (a link in n) and places it
// in target as name. A macvlan child has its own MAC address, seen on the wire: the Linux
// analogue of a transparent network. It starts down.
func (n *Namespace) AddMacvlan(name, parent string, target *Namespace) error {
	what := fmt.Sprintf("add macvlan %s/%s on %s", peerFull(target), name, parent)
	return n.op(what, func() error {
		p, err := n.childChecks(name, parent, target)
		if err != nil {
			return err
		}
		mv := &netlink.Macvlan{LinkAttrs: netlink.NewLinkAttrs(), Mode: netlink.MACVLAN_MODE_BRIDGE}
		mv.Name, mv.ParentIndex, mv.Namespace = name, p.Attrs().Index, netlink.NsFd(target.fd)
		if err := n.addLink(mv); err != nil {
			return err
		}
		target.recordLink(name)
		return nil
	})
}

// childChecks validates the arguments of AddIPVlan/AddMacvlan and returns the parent link.
func (n *Namespace) childChecks(name, parent string, target *Namespace) (netlink.Link, error) {
	if err := n.sameLab(target); err != nil {
		return nil, err
	}
	if err := checkIfname(name); err != nil {
		return nil, err
	}
	return n.link(parent)
}

// VXLAN describes a VXLAN device for AddVXLAN.
type VXLAN struct {
	Name string // interface name
	VNI  uint32 // VXLAN network identifier, 24 bits (RFC 7348 section 5)
	Port uint16 // UDP destination port; 0 means VXLANPort (4789)
	// Local is the outer source address (optional; the kernel picks one by route if unset).
	Local netip.Addr
	// Dev is the underlay device in the same namespace (optional).
	Dev string
	// Learning makes the device learn remote MACs from received packets. Off by
	// default: remote VTEPs come only from FDB entries, as HNS programs them from
	// RemoteSubnetRoute policies.
	Learning bool
	// UDPChecksum computes outer UDP checksums for IPv4; off, they are 0 ("none", as
	// RFC 7348 section 5 recommends). AddVXLAN always tells the kernel which.
	UDPChecksum bool
	// TTL of the outer IP header; 0 means inherit (the kernel default).
	TTL int
}

// AddVXLAN creates a VXLAN device in n as described by v. It starts down. Remote VTEPs
// are added with AddFDB (a 00:00:00:00:00:00 entry is a default destination).
func (n *Namespace) AddVXLAN(v VXLAN) error {
	return n.op("add vxlan "+v.Name, func() error {
		if err := checkIfname(v.Name); err != nil {
			return err
		}
		if v.VNI >= 1<<24 {
			return fmt.Errorf("vni %d does not fit in 24 bits", v.VNI)
		}
		port := int(v.Port)
		if port == 0 {
			port = VXLANPort
		}
		devIndex := 0
		if v.Dev != "" {
			d, err := n.link(v.Dev)
			if err != nil {
				return fmt.Errorf("dev: %w", err)
			}
			devIndex = d.Attrs().Index
		}
		// The request is built here rather than by netlink.LinkAdd, which leaves
		// IFLA_VXLAN_UDP_CSUM out when it is false: the kernel then computes outer UDP
		// checksums (observed on Linux 6.18), where RFC 7348 section 5 says they SHOULD
		// be zero and VFP sends zero.
		req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
		req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
		req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(v.Name)))
		info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
		info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("vxlan"))
		data := info.AddRtAttr(nl.IFLA_INFO_DATA, nil)
		data.AddRtAttr(nl.IFLA_VXLAN_ID, nl.Uint32Attr(v.VNI))
		if devIndex != 0 {
			data.AddRtAttr(nl.IFLA_VXLAN_LINK, nl.Uint32Attr(uint32(devIndex)))
		}
		if v.Local.IsValid() {
			if a := v.Local.Unmap(); a.Is4() {
				data.AddRtAttr(nl.IFLA_VXLAN_LOCAL, a.AsSlice())
			} else {
				data.AddRtAttr(nl.IFLA_VXLAN_LOCAL6, a.AsSlice())
			}
		}
		data.AddRtAttr(nl.IFLA_VXLAN_TTL, nl.Uint8Attr(uint8(v.TTL)))
		data.AddRtAttr(nl.IFLA_VXLAN_LEARNING, boolByte(v.Learning))
		data.AddRtAttr(nl.IFLA_VXLAN_UDP_CSUM, boolByte(v.UDPChecksum))
		data.AddRtAttr(nl.IFLA_VXLAN_PORT, binary.BigEndian.AppendUint16(nil, uint16(port)))
		req.AddData(info)
		err := doIn(n.fd, func() error {
			_, err := req.Execute(unix.NETLINK_ROUTE, 0)
			return err
		})
		if errors.Is(err, unix.EOPNOTSUPP) {
			return fmt.Errorf("vxlan: %w (%w)", ErrLinkKindUnsupported, err)
		}
		if err != nil {
			return err
		}
		n.recordLink(v.Name)
		return nil
	})
}

// boolByte returns a one-byte netlink flag.
func boolByte(b bool) []byte {
	if b {
		return []byte{1}
	}
	return []byte{0}
}

// AddDummy creates a dummy link (a place to hold addresses, or a parent for ipvlan or
// macvlan). It starts down.
func (n *Namespace) AddDummy(name string) error {
	return n.op("add dummy "+name, func() error {
		if err := checkIfname(name); err != nil {
			return err
		}
		d := &netlink.Dummy{LinkAttrs: netlink.NewLinkAttrs()}
		d.Name = name
		if err := n.addLink(d); err != nil {
			return err
		}
		n.recordLink(name)
		return nil
	})
}

// SetMaster makes ifname a port of bridge; an empty bridge detaches it.
func (n *Namespace) SetMaster(ifname, bridge string) error {
	return n.op(fmt.Sprintf("set master of %s to %q", ifname, bridge), func() error {
		l, err := n.link(ifname)
		if err != nil {
			return err
		}
		if bridge == "" {
			return n.nl.LinkSetNoMaster(l)
		}
		br, err := n.link(bridge)
		if err != nil {
			return err
		}
		return n.nl.LinkSetMaster(l, br)
	})
}

// SetMAC sets the MAC address of ifname.
func (n *Namespace) SetMAC(ifname string, mac net.HardwareAddr) error {
	return n.op(fmt.Sprintf("set mac of %s to %v", ifname, mac), func() error {
		if len(mac) != 6 {
			return fmt.Errorf("mac %v is %d bytes, want 6", mac, len(mac))
		}
		l, err := n.link(ifname)
		if err != nil {
			return err
		}
		return n.nl.LinkSetHardwareAddr(l, mac)
	})
}

// SetMTU sets the MTU of ifname.
func (n *Namespace) SetMTU(ifname string, mtu int) error {
	return n.op(fmt.Sprintf("set mtu of %s to %d", ifname, mtu), func() error {
		if mtu < 68 || mtu > 65535 {
			return fmt.Errorf("mtu %d out of range 68..65535", mtu)
		}
		l, err := n.link(ifname)
		if err != nil {
			return err
		}
		return n.nl.LinkSetMTU(l, mtu)
	})
}

// SetUp brings the given links up, in order.
func (n *Namespace) SetUp(ifnames ...string) error {
	for _, ifname := range ifnames {
		err := n.op("set up "+ifname, func() error {
			l, err := n.link(ifname)
			if err != nil {
				return err
			}
			return n.nl.LinkSetUp(l)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// SetDown brings ifname down.
func (n *Namespace) SetDown(ifname string) error {
	return n.op("set down "+ifname, func() error {
		l, err := n.link(ifname)
		if err != nil {
			return err
		}
		return n.nl.LinkSetDown(l)
	})
}

// Link describes one link in a namespace, as read back from the kernel.
type Link struct {
	Name        string
	Index       int
	Kind        string // "veth", "bridge", "ipvlan", "macvlan", "vxlan", "dummy", "device" (lo) ...
	MAC         net.HardwareAddr
	MTU         int
	Up          bool // administratively up (IFF_UP)
	MasterIndex int  // index of the bridge it is a port of, 0 if none
	ParentIndex int  // index of the parent link (in its own namespace for moved ipvlan/macvlan), 0 if none
}

// Link returns the current state of ifname.
func (n *Namespace) Link(ifname string) (Link, error) {
	var out Link
	err := n.op("get link "+ifname, func() error {
		l, err := n.link(ifname)
		if err != nil {
			return err
		}
		out = linkOf(l)
		return nil
	})
	return out, err
}

// Links returns every link in n, ordered by index.
func (n *Namespace) Links() ([]Link, error) {
	var out []Link
	err := n.op("list links", func() error {
		ls, err := n.nl.LinkList()
		if err != nil {
			return err
		}
		for _, l := range ls {
			out = append(out, linkOf(l))
		}
		return nil
	})
	return out, err
}

// linkOf converts a netlink link.
func linkOf(l netlink.Link) Link {
	a := l.Attrs()
	return Link{Name: a.Name, Index: a.Index, Kind: l.Type(), MAC: append(net.HardwareAddr(nil), a.HardwareAddr...),
		MTU: a.MTU, Up: a.Flags&net.FlagUp != 0, MasterIndex: a.MasterIndex, ParentIndex: a.ParentIndex}
}

// ipNet converts a prefix, keeping the host bits (an interface address, not a network).
func ipNet(p netip.Prefix) *net.IPNet {
	a := p.Addr().Unmap()
	bits := 32
	if a.Is6() {
		bits = 128
	}
	return &net.IPNet{IP: net.IP(a.AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
}

// AddAddr adds address p (host bits kept, e.g. 172.16.0.1/24) to ifname. IPv6
// addresses get IFA_F_NODAD, so they are usable at once instead of after duplicate
// address detection (RFC 4862 section 5.4).
func (n *Namespace) AddAddr(ifname string, p netip.Prefix) error {
	return n.op(fmt.Sprintf("add address %v to %s", p, ifname), func() error {
		if !p.IsValid() {
			return fmt.Errorf("invalid prefix")
		}
		l, err := n.link(ifname)
		if err != nil {
			return err
		}
		a := &netlink.Addr{IPNet: ipNet(p)}
		if p.Addr().Unmap().Is6() {
			a.Flags = unix.IFA_F_NODAD
		}
		return n.nl.AddrAdd(l, a)
	})
}

// Route describes a route for AddRoute.
type Route struct {
	// Dst is the destination prefix; 0.0.0.0/0 or ::/0 for a default route. Required.
	Dst netip.Prefix
	// Gw is the next hop (optional: without it the route is on-link through Dev).
	Gw netip.Addr
	// Dev is the output interface (required without Gw, and with OnLink).
	Dev string
	// OnLink makes the kernel accept a Gw that is not in any subnet of Dev (RTNH_F_ONLINK).
	OnLink bool
	// Src is the preferred source address (optional).
	Src netip.Addr
	// Metric is the route priority; lower wins.
	Metric int
	// Table is the routing table (0: main).
	Table int
}

// AddRoute adds r to its routing table (the main table by default).
func (n *Namespace) AddRoute(r Route) error {
	return n.op(fmt.Sprintf("add route %v via %v dev %q", r.Dst, r.Gw, r.Dev), func() error {
		if !r.Dst.IsValid() {
			return fmt.Errorf("dst: invalid prefix")
		}
		if !r.Gw.IsValid() && r.Dev == "" {
			return fmt.Errorf("route needs a gateway or a device")
		}
		if r.OnLink && (r.Dev == "" || !r.Gw.IsValid()) {
			return fmt.Errorf("onlink needs both a gateway and a device")
		}
		dst := r.Dst.Masked()
		rt := &netlink.Route{Dst: ipNet(dst), Priority: r.Metric, Table: r.Table}
		if r.Gw.IsValid() {
			if r.Gw.Unmap().Is4() != dst.Addr().Is4() {
				return fmt.Errorf("gateway %v and destination %v are of different families", r.Gw, dst)
			}
			rt.Gw = net.IP(r.Gw.Unmap().AsSlice())
		}
		if r.Src.IsValid() {
			rt.Src = net.IP(r.Src.Unmap().AsSlice())
		}
		if r.Dev != "" {
			l, err := n.link(r.Dev)
			if err != nil {
				return err
			}
			rt.LinkIndex = l.Attrs().Index
		}
		if r.OnLink {
			rt.Flags = int(netlink.FLAG_ONLINK)
		}
		return n.nl.RouteAdd(rt)
	})
}

// AddNeighbor adds (or replaces) a permanent ARP (IPv4) or NDP (IPv6) entry: ip is at mac
// on ifname.
func (n *Namespace) AddNeighbor(ifname string, ip netip.Addr, mac net.HardwareAddr) error {
	return n.op(fmt.Sprintf("add neighbor %v lladdr %v dev %s", ip, mac, ifname), func() error {
		if !ip.IsValid() {
			return fmt.Errorf("invalid ip")
		}
		if len(mac) != 6 {
			return fmt.Errorf("mac %v is %d bytes, want 6", mac, len(mac))
		}
		l, err := n.link(ifname)
		if err != nil {
			return err
		}
		fam := unix.AF_INET
		if ip.Unmap().Is6() {
			fam = unix.AF_INET6
		}
		return n.nl.NeighSet(&netlink.Neigh{LinkIndex: l.Attrs().Index, Family: fam, State: netlink.NUD_PERMANENT,
			IP: net.IP(ip.Unmap().AsSlice()), HardwareAddr: mac})
	})
}

// FDBEntry is a forwarding database entry for AddFDB.
type FDBEntry struct {
	// Dev is a bridge port (with Master) or a VXLAN device (without).
	Dev string
	// MAC is the destination MAC. With a VXLAN Dev, 00:00:00:00:00:00 makes a default
	// destination: broadcast, multicast and unknown unicast go to every such Dst (head-end
	// replication, `bridge fdb append 00:00:00:00:00:00 dev vxlan0 dst ...`).
	MAC net.HardwareAddr
	// Dst is the remote VTEP for a VXLAN Dev; leave it unset for a bridge port.
	Dst netip.Addr
	// Master adds a static entry to the bridge Dev is a port of (`bridge fdb add ... master
	// static`); otherwise the entry goes to Dev's own table (`self`, permanent), as VXLAN needs.
	Master bool
}

// AddFDB appends an FDB entry. Entries with the same MAC and different Dst accumulate
// (NLM_F_APPEND), which is how a VXLAN device gets several default destinations.
func (n *Namespace) AddFDB(e FDBEntry) error {
	return n.op(fmt.Sprintf("add fdb %v dev %s dst %v", e.MAC, e.Dev, e.Dst), func() error {
		if len(e.MAC) != 6 {
			return fmt.Errorf("mac %v is %d bytes, want 6", e.MAC, len(e.MAC))
		}
		l, err := n.link(e.Dev)
		if err != nil {
			return err
		}
		neigh := &netlink.Neigh{LinkIndex: l.Attrs().Index, Family: unix.AF_BRIDGE, HardwareAddr: e.MAC}
		if e.Master {
			// The bridge driver reads NUD_NOARP as "static" and NUD_PERMANENT as "local"
			// (deliver to the bridge itself): net/bridge/br_fdb.c fdb_add_entry.
			neigh.Flags, neigh.State = netlink.NTF_MASTER, netlink.NUD_NOARP
		} else {
			// vxlan_fdb_add (drivers/net/vxlan/vxlan_core.c) needs NUD_PERMANENT or NUD_REACHABLE.
			neigh.Flags, neigh.State = netlink.NTF_SELF, netlink.NUD_PERMANENT
		}
		if e.Dst.IsValid() {
			neigh.IP = net.IP(e.Dst.Unmap().AsSlice())
		}
		return n.nl.NeighAppend(neigh)
	})
}

// FDB returns the FDB entries of device dev (bridge port or VXLAN device): for a bridge
// port the bridge's entries (Master set, including the port's own "permanent" MAC) and the
// port's own unicast/multicast address list; for a VXLAN device its remote entries (Dst
// set). Dst is invalid when an entry has none.
func (n *Namespace) FDB(dev string) ([]FDBEntry, error) {
	var out []FDBEntry
	err := n.op("list fdb of "+dev, func() error {
		l, err := n.link(dev)
		if err != nil {
			return err
		}
		ns, err := n.nl.NeighList(l.Attrs().Index, unix.AF_BRIDGE)
		if err != nil {
			return err
		}
		for _, x := range ns {
			// The dump marks bridge entries with NDA_MASTER, not with the NTF_MASTER flag.
			e := FDBEntry{Dev: dev, MAC: x.HardwareAddr, Master: x.MasterIndex != 0}
			if a, ok := netip.AddrFromSlice(x.IP); ok {
				e.Dst = a.Unmap()
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// AddRule adds a policy routing rule (`ip rule add [fwmark MARK/MASK] [to DST] [iif lo]
// lookup TABLE pref PRIORITY`); the namespace's deletion removes it.
func (n *Namespace) AddRule(r RulePlan) error {
	return n.op(fmt.Sprintf("add rule fwmark %#x/%#x to %v iif-lo %v lookup %d", r.Mark, r.Mask, r.Dst, r.IifLo, r.Table), func() error {
		if r.Table <= 0 || r.Table >= unix.RT_TABLE_COMPAT {
			return fmt.Errorf("table %d: want 1 to %d", r.Table, unix.RT_TABLE_COMPAT-1)
		}
		if r.Mask == 0 && !r.Dst.IsValid() && !r.IifLo {
			return fmt.Errorf("a rule without mark, destination or iif matches everything")
		}
		rule := netlink.NewRule()
		rule.Table, rule.Priority = r.Table, r.Priority
		if r.Mask != 0 {
			mask := r.Mask
			rule.Mark, rule.Mask = r.Mark, &mask
		}
		rule.Family = unix.AF_INET
		if r.IPv6 || r.Dst.IsValid() && r.Dst.Addr().Is6() {
			rule.Family = unix.AF_INET6
		}
		if r.Dst.IsValid() {
			rule.Dst = ipNet(r.Dst.Masked())
		}
		if r.IifLo {
			rule.IifName = "lo"
		}
		return n.nl.RuleAdd(rule)
	})
}
