package linux

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/emulator/vfp"
	"github.com/hnspath/hnspath/hostprobe"
)

// The Linux analogue of a topology (docs/design.md §4). Every emulator port gets a place in a
// network namespace:
//
//	emulator port     Linux                                           capture / injection
//	PEER              namespace p<i>, "eth0" without addresses       eth0 in p<i>: In = delivered; AF_PACKET out of eth0
//	router            namespace rt, "eth0" with the router's IPs,    eth0 in rt: In for the router = delivered
//	                  ip_forward, silent (input and output dropped)
//	HOST/NIC          namespace h<i>, veth "nic<j>" to the underlay  nic<j> in h<i>: In = wire-rx, Out = wire-tx;
//	                                                                 injected from the underlay end (arrives from the wire)
//	HOST/host         the stack of h<i> (addresses on nic<j> or on   In on its L3 interfaces, counted by the input chain
//	                  the network's bridge)                          (delivered, then dropped: the host stays silent);
//	                                                                 injected through a raw IP socket (routed, NATed)
//	HOST/ENDPOINT     namespace h<i>e<m>, "eth0" without addresses   eth0 in h<i>e<m>: In = delivered; AF_PACKET out of eth0
//
// The underlay is namespace ul: one bridge "ul0" with a port per host NIC, peer and the
// router, static FDB entries for every MAC the emulator's underlay knows and unknown-unicast
// flooding off (the emulator drops frames to unknown MACs). Its links, the peers' and the
// router's have MTU 9000 (the emulator's underlay carries any frame); a host's NIC has
// its own MTU and drops a longer frame before any capture sees it (linux-link-drop).
// Every stack knows every underlay neighbour (permanent entries), as the emulator's hosts
// do, and solicits no other (neigh mcast_solicit and ucast_solicit 0): a packet to an
// unknown neighbour is dropped without an ARP request, as the emulator drops it
// (neighbor-unresolved). IPv6 is off except in a host with IPv6 addresses, which gets it
// on without duplicate address detection, link-local addresses or solicitations, with
// forwarding (NSPlan.enableIPv6).
//
// Per network type, in h<i>:
//
//	nat          bridge "br<k>" with the host vNIC's MAC and gateway address; one veth per
//	             endpoint; nftables masquerade of the internal prefix out of each NIC (WinNAT
//	             SNAT), DNAT per PortMapping (also for local sockets: the hairpin from the
//	             host that WinNAT does not do), and masquerade of DNATed traffic back into the
//	             bridge (WinNAT's hairpin between containers).
//	l2bridge     bridge "br<k>" with the NIC as a port and the host's MAC and addresses;
//	l2tunnel     ipvlan L2 where the kernel has it, else MAC rewrites (bridge-family nftables):
//	             source MAC to the host's on the way out of the NIC, destination MAC to the
//	             container's for frames from the wire to the host's MAC and a container's IP
//	             (l2tunnel: destination MAC to the physical gateway's on the way in from a
//	             container), and br_netfilter on (bridge-nf-call-iptables=1: conntrack sees
//	             bridged frames, so a load balanced connection whose reply is bridged is
//	             translated back); OutBoundNAT as snat to the host IP (or its VIP) except to
//	             its exceptions, both matched against the destination the pod sent to (VFP's
//	             SNAT layer comes before its LB layer; Masquerade.Original); loopback DSR
//	             (OutBoundNAT with the pod's own address as destination) through the load
//	             balancers' hairpin rules.
//	transparent  macvlan (bridge mode) children of the NIC, with the containers' MACs.
//	overlay      bridge "br<k>" with the DR MAC and the subnet gateway, a vxlan device
//	             "vx<k>" (VNI from the subnet's VSID, UDP port from VxlanPort or 4789, outer
//	             TTL 64, no outer UDP checksum) as a port, FDB entries remote DR MAC -> PA
//	             from RemoteSubnetRoute, and MAC rewrites that make the bridge forward frames
//	             for a remote subnet to the vxlan port with the remote DR MAC and the local DR
//	             MAC as source, and frames from the vxlan port to the container's MAC.
//	             Without the HostRoute policy the host's own packets to the overlay's
//	             subnets use a table with only its default route (ip rule iif lo).
//
// ACL policies become stateless bridge-family filters on the endpoint's bridge port,
// taken from the emulator's compiled ACL_ENDPOINT_LAYER, so both apply the same rule set.
// Load balancers become nftables NAT in the host namespace (layout_lb_linux.go,
// lb_linux.go). The host's input chain delivers TCP/UDP to Listen ports and replies to
// connections the host opened, and drops the rest silently. What the analogue cannot
// build is listed in Layout.Unsupported with the VFP rules or ports it concerns, so that
// the comparison can mark the packets it changes (hostprobe.NotBuilt).

// Namespace short names.
const (
	nsUnderlay = "ul"
	nsRouter   = "rt"
	ulBridge   = "ul0"
	vxlanTTL   = 64 // the emulator's outer TTL (vfp.EncapParams: 0 means 64)
	// underlayMTU is the MTU of the underlay's links, peers and router: the emulator's
	// underlay carries frames of any size; a host's NIC has its own MTU (default 1500),
	// and a frame larger than it is dropped at the NIC, before any capture there.
	underlayMTU = 9000
)

// LayoutOptions tune PlanTopology.
type LayoutOptions struct {
	// L2Bridge selects the l2bridge/l2tunnel analogue; PlanTopology needs a concrete
	// mode (Auto is resolved by the backend, which can ask the kernel).
	L2Bridge L2BridgeMode
}

// Layout is the Linux analogue of a topology: the namespaces to build, in order, and
// where each emulator port is.
type Layout struct {
	Namespaces []*NSPlan
	// Ports are the emulator's ports, in the emulator's order.
	Ports []PortPlan
	// Hosts describe each host's stack, in topology order.
	Hosts []HostPlan
	// RouterIPs are the underlay router's addresses (frames to them are delivered at it).
	RouterIPs []netip.Addr
	// L2Bridge is the l2bridge analogue used.
	L2Bridge L2BridgeMode
	// Unsupported lists what the topology has that the Linux analogue does not build.
	Unsupported []hostprobe.NotBuilt
}

// NSPlan is one namespace to build.
type NSPlan struct {
	Name string
	// IPv6 is on (enableIPv6); it is off in every other namespace.
	IPv6 bool
	// StaticNeighbours: the stack solicits no neighbour (ARP, NDP) on any of its links
	// (neigh.<if>.mcast_solicit and ucast_solicit 0, set once the links exist: the
	// neigh "default" settings are not per namespace).
	StaticNeighbours bool
	Sysctls          [][2]string // set before any link is made, in order
	Links            []LinkPlan  // made in order (after every namespace exists)
	Ifaces           []IfacePlan // settings applied after all links exist
	Addrs            []AddrPlan
	Routes           []Route
	Neigh            []NeighPlan
	FDB              []FDBEntry
	Masq             []Masquerade
	DNAT             []DNAT
	Filters          []FilterRule
	// BridgeFilters are stateless bridge-port filters (ACLs).
	BridgeFilters []BridgeFilter
	// Policies are filter chain policies (default Accept).
	Policies    map[Hook]Verdict
	MACRewrites []MACRewrite
	// LBs are load balancers (SetLoadBalancer); WirePorts and WireIfaces the bridge
	// ports and interfaces whose traffic gets the WireMark (MarkWire).
	LBs                   []LoadBalancer
	WirePorts, WireIfaces []string
	// RouteMarks restores PreserveDIP route marks (RestoreRouteMarks); Rules are policy
	// routing rules (ip rule).
	RouteMarks bool
	Rules      []RulePlan
	// Up lists the links to bring up, in order.
	Up []string
}

// RulePlan is a policy routing rule: packets whose firewall mark, masked, is Mark (when
// Mask is set), whose destination is in Dst (when valid) and, with IifLo, that the
// namespace itself sends use routing table Table.
type RulePlan struct {
	Mark, Mask uint32
	Dst        netip.Prefix
	IifLo      bool
	Table      int
	Priority   int
	IPv6       bool
}

// hostRouteTable is the first routing table of the host's own packets to overlay
// subnets without the HostRoute policy.
const hostRouteTable = 200

// LinkKind is the kind of a LinkPlan.
type LinkKind uint8

// Link kinds.
const (
	LinkVeth LinkKind = iota
	LinkBridge
	LinkMacvlan
	LinkIPVlan
	LinkVXLAN
)

// LinkPlan is one link to create in its namespace.
type LinkPlan struct {
	Kind LinkKind
	Name string
	// Peer is the namespace and name of a veth's other end, or the target namespace and
	// name of a macvlan/ipvlan child.
	PeerNS, PeerName string
	// Parent is a macvlan/ipvlan child's parent in this namespace.
	Parent string
	VXLAN  VXLAN
}

// IfacePlan sets properties of an interface.
type IfacePlan struct {
	Name   string
	MAC    net.HardwareAddr // nil: keep
	MTU    int              // 0: keep
	Master string           // bridge to join
	// NoFlood switches unknown-unicast flooding off (a bridge port).
	NoFlood bool
	// Hairpin lets the bridge send a frame back out of the port it came in by (a bridge
	// port), as kubelet's hairpin mode does for pods that reach themselves through a
	// service VIP.
	Hairpin bool
}

// AddrPlan is an address on an interface.
type AddrPlan struct {
	Ifname string
	Prefix netip.Prefix
}

// NeighPlan is a permanent neighbour entry.
type NeighPlan struct {
	Ifname string
	IP     netip.Addr
	MAC    net.HardwareAddr
}

// InjectKind says how a port injects frames.
type InjectKind uint8

const (
	// InjectPacket sends the frame out of an interface with AF_PACKET.
	InjectPacket InjectKind = iota
	// InjectIP sends the frame's IP packet from the namespace's stack (raw socket); ARP
	// frames go out of the stack interface on the target's subnet.
	InjectIP
)

// OutputRole says what a frame seen at a port's capture interface means.
type OutputRole uint8

const (
	// RoleEndpoint: frames received (not for another host) are delivered.
	RoleEndpoint OutputRole = iota
	// RoleRouter: ARP, IP to one of the router's addresses and multicast are delivered.
	RoleRouter
	// RoleNIC: In is wire-rx, Out is wire-tx.
	RoleNIC
	// RoleHost: delivered when the host's input chain counted a delivery.
	RoleHost
)

// PortPlan places one emulator port.
type PortPlan struct {
	Name string
	Kind fabric.PortKind
	Role OutputRole
	// NS and Ifname are the capture point (empty Ifname for a host: see HostPlan).
	NS, Ifname string
	// Inject says how frames are injected: out of InjectIf in InjectNS (InjectPacket),
	// or from NS's stack (InjectIP).
	Inject             InjectKind
	InjectNS, InjectIf string
	// Host is the host index of endpoint, host and NIC ports (-1 otherwise).
	Host int
	// HostIf is an endpoint's interface in its host's namespace (a veth end, a bridge
	// port), if it has one.
	HostIf string
}

// HostPlan describes one host's stack namespace.
type HostPlan struct {
	Name string // the emulator's host name
	NS   string
	// StackIfaces are the interfaces holding the host's addresses (its L3 interfaces),
	// with those addresses.
	StackIfaces []AddrPlan
	// ACL says whether ACL bridge filters are installed.
	ACL bool

	lbs *hostLBs // the load balancers, for updates
}

// Counter names of the host input chain.
const (
	CounterHostDeliver    = "host-deliver"
	CounterHostNoListener = "host-no-listener"
	counterVXLANIn        = "vxlan-in"
)

// PlanTopology returns the Linux layout of topo. It builds the emulator's fabric first,
// so that invalid topologies are rejected with the emulator's errors and derived values
// (gateway MACs, the MACs of generated endpoints, VFP ACL rules) are the emulator's.
func PlanTopology(topo *fabric.Topology, opts LayoutOptions) (*Layout, error) {
	f, err := fabric.New(*topo, fabric.Options{})
	if err != nil {
		return nil, fmt.Errorf("plan topology: %w", err)
	}
	if opts.L2Bridge == L2BridgeAuto {
		opts.L2Bridge = L2BridgeMACRewrite
	}
	p := &planner{topo: topo, f: f, opts: opts, lay: &Layout{L2Bridge: opts.L2Bridge}, ns: map[string]*NSPlan{}}
	if err := p.plan(); err != nil {
		return nil, fmt.Errorf("plan topology: %w", err)
	}
	return p.lay, nil
}

type planner struct {
	topo *fabric.Topology
	f    *fabric.Fabric
	opts LayoutOptions
	lay  *Layout
	ns   map[string]*NSPlan

	ulPorts int
	owners  []owner // underlay addresses and the MAC frames to them carry
	ulMACs  []ulMAC // static FDB entries of the underlay bridge
	ports   map[string]PortPlan
	routes  []Route // the router's routes
	// boundNICs are NICs that are ports of a host bridge: the bridge gets static FDB
	// entries for the underlay's MACs on them.
	boundNICs []boundNIC
}

type boundNIC struct {
	ns     *NSPlan
	ifname string
	mac    net.HardwareAddr
}

type owner struct {
	ip  netip.Addr
	mac net.HardwareAddr
}

type ulMAC struct {
	mac  net.HardwareAddr
	port string
}

// hostCtx is what the planner knows about one host while planning it.
type hostCtx struct {
	i      int
	spec   *fabric.HostSpec
	objs   *hns.Objects
	ns     *NSPlan
	plan   *HostPlan
	nics   []nicCtx
	brs    int
	eps    int
	listen []string
	vxlan  []uint16
	// vfpIPs are the host's addresses on its VFP networks (the targets of NodePort
	// load balancers); local are its local endpoints, by HNS ID (lower case).
	vfpIPs []netip.Addr
	local  map[string]*endpoint
	// wirePorts and wireIfaces are the bridge ports and L3 interfaces that face the
	// wire (NICs, VXLAN devices).
	wirePorts, wireIfaces []string
}

type nicCtx struct {
	name   string
	ifname string // in the host namespace
	mac    net.HardwareAddr
	addrs  []netip.Prefix
	gw     netip.Addr
	mtu    int
	l3     string // the interface holding its addresses (ifname, or a bridge)
	bound  bool
}

func (p *planner) newNS(name string) *NSPlan {
	n := &NSPlan{Name: name, Policies: map[Hook]Verdict{}}
	// IPv6 off before any link exists (no MLD, ND or router solicitations in captures);
	// no rate limit on ICMP errors, so each scenario packet gets its own.
	n.Sysctls = append(n.Sysctls,
		[2]string{"net.ipv6.conf.default.disable_ipv6", "1"},
		[2]string{"net.ipv6.conf.all.disable_ipv6", "1"},
		[2]string{"net.ipv4.icmp_ratelimit", "0"})
	p.lay.Namespaces = append(p.lay.Namespaces, n)
	p.ns[name] = n
	return n
}

// unsupported records a part of the topology that is not built; ports are the
// emulator ports whose traffic it handles.
// enableIPv6 turns IPv6 on in a namespace whose topology has IPv6 addresses (newNS turns
// it off): addresses are usable at once (no duplicate address detection), interfaces
// get no link-local address and send no router solicitations, the namespace forwards,
// and unknown neighbours are not solicited (NDP, like ARP, is static here). MLD reports
// still go out; the backend counts them as noise.
func (n *NSPlan) enableIPv6() {
	out := n.Sysctls[:0]
	for _, kv := range n.Sysctls {
		if !strings.HasSuffix(kv[0], ".disable_ipv6") {
			out = append(out, kv)
		}
	}
	n.Sysctls = append(out,
		[2]string{"net.ipv6.conf.default.addr_gen_mode", "1"},
		[2]string{"net.ipv6.conf.default.accept_dad", "0"},
		[2]string{"net.ipv6.conf.all.accept_dad", "0"},
		[2]string{"net.ipv6.conf.default.accept_ra", "0"},
		[2]string{"net.ipv6.conf.all.accept_ra", "0"},
		[2]string{"net.ipv6.conf.default.router_solicitations", "0"},
		[2]string{"net.ipv6.conf.default.forwarding", "1"},
		[2]string{"net.ipv6.conf.all.forwarding", "1"},
		[2]string{"net.ipv6.icmp.ratelimit", "0"},
		[2]string{"net.ipv6.conf.default.disable_ipv6", "0"},
		[2]string{"net.ipv6.conf.all.disable_ipv6", "0"})
	n.IPv6 = true
}

// staticNeighbours makes a namespace's stack solicit no neighbour it does not know
// (no ARP requests): every neighbour the emulator's stacks reach is a permanent entry,
// and the emulator drops a packet to an unknown one (neighbor-unresolved) without
// asking.
func (n *NSPlan) staticNeighbours() { n.StaticNeighbours = true }

func (p *planner) unsupported(ports []string, format string, args ...any) {
	p.lay.Unsupported = append(p.lay.Unsupported, hostprobe.NotBuilt{What: fmt.Sprintf(format, args...), Ports: ports})
}

// unsupportedLB records a load balancer feature that is not built: the packets its
// VFP rules handled in the emulator are the ones it changes.
func (p *planner) unsupportedLB(lbName string, format string, args ...any) {
	p.lay.Unsupported = append(p.lay.Unsupported, hostprobe.NotBuilt{What: fmt.Sprintf(format, args...),
		Rules: []string{"LB_" + lbName + "_", "LB_HOST_" + lbName + "_", "BLOCK_HOST_TO_" + lbName + "_"}})
}

func hw(m header.MAC) net.HardwareAddr { return net.HardwareAddr(append([]byte(nil), m[:]...)) }

func (p *planner) plan() error {
	p.ports = map[string]PortPlan{}
	ul := p.newNS(nsUnderlay)
	ul.Links = append(ul.Links, LinkPlan{Kind: LinkBridge, Name: ulBridge})
	ul.Up = append(ul.Up, ulBridge)

	// Hosts first: they add exposed container addresses and routes for the router.
	for hi := range p.topo.Hosts {
		if err := p.host(hi); err != nil {
			return err
		}
	}
	for pi := range p.topo.Peers {
		if err := p.peer(pi); err != nil {
			return err
		}
	}
	if r := p.topo.Underlay.Router; r != nil {
		if err := p.router(r); err != nil {
			return err
		}
	}
	// Static FDB entries on the underlay bridge, then every stack's neighbours.
	for _, m := range p.ulMACs {
		ul.FDB = append(ul.FDB, FDBEntry{Dev: m.port, MAC: m.mac, Master: true})
		for _, b := range p.boundNICs {
			if m.mac.String() != b.mac.String() {
				b.ns.FDB = append(b.ns.FDB, FDBEntry{Dev: b.ifname, MAC: m.mac, Master: true})
			}
		}
	}
	for hi := range p.lay.Hosts {
		h := &p.lay.Hosts[hi]
		n := p.ns[h.NS]
		for _, si := range h.StackIfaces {
			if !si.Prefix.IsValid() {
				continue
			}
			for _, o := range p.owners {
				if si.Prefix.Masked().Contains(o.ip) && !p.isLocal(h, o.ip) {
					n.Neigh = appendNeigh(n.Neigh, NeighPlan{Ifname: si.Ifname, IP: o.ip, MAC: o.mac})
				}
			}
		}
	}
	if rt := p.ns[nsRouter]; rt != nil {
		for _, o := range p.owners {
			if !containsAddr(p.lay.RouterIPs, o.ip) && (o.ip.Is4() || rt.IPv6) {
				rt.Neigh = appendNeigh(rt.Neigh, NeighPlan{Ifname: "eth0", IP: o.ip, MAC: o.mac})
			}
		}
		for _, r := range p.routes {
			if r.Dst.Addr().Is4() || rt.IPv6 {
				rt.Routes = append(rt.Routes, r)
			}
		}
	}
	// Ports in the emulator's order.
	for _, fp := range p.f.Ports() {
		pp, ok := p.ports[fp.Name]
		if !ok {
			return fmt.Errorf("port %s (%s) has no Linux analogue", fp.Name, fp.Kind)
		}
		pp.Name, pp.Kind = fp.Name, fp.Kind
		p.lay.Ports = append(p.lay.Ports, pp)
	}
	return nil
}

// setSysctl sets key to value, replacing an earlier setting of key.
func (n *NSPlan) setSysctl(key, value string) {
	for i := range n.Sysctls {
		if n.Sysctls[i][0] == key {
			n.Sysctls[i][1] = value
			return
		}
	}
	n.Sysctls = append(n.Sysctls, [2]string{key, value})
}

// appendAddr appends a valid address that as is not in yet.
func appendAddr(as []netip.Addr, a netip.Addr) []netip.Addr {
	if !a.IsValid() || containsAddr(as, a) {
		return as
	}
	return append(as, a)
}

func appendNeigh(ns []NeighPlan, n NeighPlan) []NeighPlan {
	for _, x := range ns {
		if x.Ifname == n.Ifname && x.IP == n.IP {
			return ns
		}
	}
	return append(ns, n)
}

func containsAddr(as []netip.Addr, a netip.Addr) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

func (p *planner) isLocal(h *HostPlan, a netip.Addr) bool {
	for _, si := range h.StackIfaces {
		if si.Prefix.Addr() == a {
			return true
		}
	}
	return false
}

// ulPort connects ifname in namespace ns to the underlay bridge and returns the underlay
// end's name.
func (p *planner) ulPort(ns *NSPlan, ifname string) string {
	name := fmt.Sprintf("u%d", p.ulPorts)
	p.ulPorts++
	ul := p.ns[nsUnderlay]
	ul.Links = append(ul.Links, LinkPlan{Kind: LinkVeth, Name: name, PeerNS: ns.Name, PeerName: ifname})
	ul.Ifaces = append(ul.Ifaces, IfacePlan{Name: name, Master: ulBridge, NoFlood: true, MTU: underlayMTU})
	ul.Up = append(ul.Up, name)
	return name
}

func (p *planner) peer(pi int) error {
	ps := &p.topo.Peers[pi]
	id, ok := p.f.PortByName(ps.Name)
	if !ok {
		return fmt.Errorf("peer %q: not in the fabric", ps.Name)
	}
	fp := p.f.Port(id)
	n := p.newNS(fmt.Sprintf("p%d", pi))
	port := p.ulPort(n, "eth0")
	mac := hw(fp.MAC)
	n.Ifaces = append(n.Ifaces, IfacePlan{Name: "eth0", MAC: mac, MTU: underlayMTU})
	n.Up = append(n.Up, "eth0")
	p.ulMACs = append(p.ulMACs, ulMAC{mac, port})
	for _, a := range fp.IPs {
		p.owners = append(p.owners, owner{a, mac})
	}
	p.ports[ps.Name] = PortPlan{Role: RoleEndpoint, NS: n.Name, Ifname: "eth0", Inject: InjectPacket,
		InjectNS: n.Name, InjectIf: "eth0", Host: -1}
	return nil
}

func (p *planner) router(rs *fabric.RouterSpec) error {
	name := rs.Name
	if name == "" {
		name = "router"
	}
	id, ok := p.f.PortByName(name)
	if !ok {
		return fmt.Errorf("router %q: not in the fabric", name)
	}
	fp := p.f.Port(id)
	n := p.newNS(nsRouter)
	n.staticNeighbours()
	for _, s := range rs.IPs {
		if pf, err := netip.ParsePrefix(s); err == nil && pf.Addr().Is6() {
			n.enableIPv6()
			break
		}
	}
	n.Sysctls = append(n.Sysctls,
		[2]string{"net.ipv4.ip_forward", "1"},
		[2]string{"net.ipv4.conf.all.send_redirects", "0"},
		[2]string{"net.ipv4.conf.default.send_redirects", "0"},
		[2]string{"net.ipv4.conf.all.rp_filter", "0"},
		[2]string{"net.ipv4.conf.default.rp_filter", "0"})
	port := p.ulPort(n, "eth0")
	mac := hw(fp.MAC)
	n.Ifaces = append(n.Ifaces, IfacePlan{Name: "eth0", MAC: mac, MTU: underlayMTU})
	n.Up = append(n.Up, "eth0")
	p.ulMACs = append(p.ulMACs, ulMAC{mac, port})
	for i, s := range rs.IPs {
		pf, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("underlay.router.ips[%d]: %w", i, err)
		}
		n.Addrs = append(n.Addrs, AddrPlan{"eth0", pf})
		p.lay.RouterIPs = append(p.lay.RouterIPs, pf.Addr())
		p.owners = append(p.owners, owner{pf.Addr(), mac})
	}
	for i, r := range rs.Routes {
		pf, err1 := netip.ParsePrefix(r.Prefix)
		nh, err2 := netip.ParseAddr(r.NextHop)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("underlay.router.routes[%d]: %w", i, err)
		}
		p.routes = append(p.routes, Route{Dst: pf.Masked(), Gw: nh, Dev: "eth0", OnLink: true})
	}
	for pi, ps := range p.topo.Peers {
		for j, s := range ps.Prefixes {
			pf, err := netip.ParsePrefix(s)
			if err != nil {
				return fmt.Errorf("peers[%d].prefixes[%d]: %w", pi, j, err)
			}
			id, _ := p.f.PortByName(ps.Name)
			if ips := p.f.Port(id).IPs; len(ips) > 0 {
				p.routes = append(p.routes, Route{Dst: pf.Masked(), Gw: ips[0], Dev: "eth0", OnLink: true})
			}
		}
	}
	// The router routes and emits nothing of its own (the emulator's router sends no ICMP
	// errors and answers only ARP): input and output of IP are dropped, ARP is not IP.
	n.Policies[HookInput] = Drop
	n.Policies[HookOutput] = Drop
	p.ports[name] = PortPlan{Role: RoleRouter, NS: n.Name, Ifname: "eth0", Inject: InjectPacket,
		InjectNS: n.Name, InjectIf: "eth0", Host: -1}
	return nil
}

// host plans host hi: its namespace, NICs, networks and endpoints.
func (p *planner) host(hi int) error {
	hs := &p.topo.Hosts[hi]
	objs, err := hs.HNS.Clone()
	if err != nil {
		return fmt.Errorf("hosts[%d].hns: %w", hi, err)
	}
	if err := objs.Normalize(); err != nil {
		return fmt.Errorf("hosts[%d].hns: %w", hi, err)
	}
	n := p.newNS(fmt.Sprintf("h%d", hi))
	n.Sysctls = append(n.Sysctls,
		[2]string{"net.ipv4.ip_forward", "1"},
		[2]string{"net.ipv4.conf.all.send_redirects", "0"},
		[2]string{"net.ipv4.conf.default.send_redirects", "0"},
		[2]string{"net.ipv4.conf.all.rp_filter", "0"},
		[2]string{"net.ipv4.conf.default.rp_filter", "0"},
		// Answer ARP only for addresses of the interface asked on, as the emulator's
		// stack does (it owns an address per interface).
		[2]string{"net.ipv4.conf.all.arp_ignore", "1"},
		// Bridged frames skip the IP hooks (ACLs are bridge-family rules), as frames
		// switched inside a Hyper-V vSwitch skip the management OS's stack.
		[2]string{"net.bridge.bridge-nf-call-iptables", "0"},
		[2]string{"net.bridge.bridge-nf-call-ip6tables", "0"},
		[2]string{"net.bridge.bridge-nf-call-arptables", "0"})
	n.staticNeighbours()
	if hasIPv6(hs, objs) {
		n.enableIPv6()
	}
	h := &hostCtx{i: hi, spec: hs, objs: objs, ns: n, listen: hs.Listen}
	p.lay.Hosts = append(p.lay.Hosts, HostPlan{Name: hs.Name, NS: n.Name})
	h.plan = &p.lay.Hosts[len(p.lay.Hosts)-1]

	for ni, ns := range hs.NICs {
		id, ok := p.f.PortByName(hs.Name + "/" + ns.Name)
		if !ok {
			return fmt.Errorf("hosts[%d].nics[%d]: port %s/%s not in the fabric", hi, ni, hs.Name, ns.Name)
		}
		fp := p.f.Port(id)
		nc := nicCtx{name: ns.Name, ifname: fmt.Sprintf("nic%d", ni), mac: hw(fp.MAC), mtu: ns.MTU}
		if ns.IP != "" {
			pf, err := netip.ParsePrefix(ns.IP)
			if err != nil {
				return fmt.Errorf("hosts[%d].nics[%d].ip: %w", hi, ni, err)
			}
			nc.addrs = append(nc.addrs, pf)
		}
		if ns.IPv6 != "" {
			pf, err := netip.ParsePrefix(ns.IPv6)
			if err != nil {
				return fmt.Errorf("hosts[%d].nics[%d].ipv6: %w", hi, ni, err)
			}
			nc.addrs = append(nc.addrs, pf)
		}
		if ns.Gateway != "" {
			if nc.gw, err = netip.ParseAddr(ns.Gateway); err != nil {
				return fmt.Errorf("hosts[%d].nics[%d].gateway: %w", hi, ni, err)
			}
		}
		nc.l3 = nc.ifname
		port := p.ulPort(n, nc.ifname)
		iface := IfacePlan{Name: nc.ifname, MAC: nc.mac}
		if nc.mtu > 0 {
			iface.MTU = nc.mtu
		}
		n.Ifaces = append(n.Ifaces, iface)
		p.ulMACs = append(p.ulMACs, ulMAC{nc.mac, port})
		for _, a := range nc.addrs {
			p.owners = append(p.owners, owner{a.Addr(), nc.mac})
		}
		h.nics = append(h.nics, nc)
		p.ports[fp.Name] = PortPlan{Role: RoleNIC, NS: n.Name, Ifname: nc.ifname, Inject: InjectPacket,
			InjectNS: nsUnderlay, InjectIf: port, Host: hi}
	}
	nets := map[string]bool{}
	for i := range objs.Networks {
		nw := &objs.Networks[i]
		if nets[nw.Id] {
			continue
		}
		nets[nw.Id] = true
		if err := p.network(h, nw, i); err != nil {
			return fmt.Errorf("host %s: network %q: %w", hs.Name, nw.Name, err)
		}
	}
	p.loadBalancers(h)
	if len(objs.Routes) > 0 {
		p.unsupported(nil, "host %s: SDN routes (HostComputeRoute) have no Linux analogue here", hs.Name)
	}
	// NIC addresses and routes (on the bridge when a network bound the NIC to one).
	for _, nc := range h.nics {
		n.Up = append([]string{nc.ifname}, n.Up...)
		for _, a := range nc.addrs {
			n.Addrs = append(n.Addrs, AddrPlan{nc.l3, a})
			h.plan.StackIfaces = append(h.plan.StackIfaces, AddrPlan{nc.l3, a})
		}
		if nc.gw.IsValid() {
			n.Routes = append(n.Routes, Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gw: nc.gw, Dev: nc.l3, Metric: 256})
		}
	}
	for _, r := range hs.Routes {
		pf, err1 := netip.ParsePrefix(r.Prefix)
		nh, err2 := netip.ParseAddr(r.NextHop)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("host %s: route %s via %s: %w", hs.Name, r.Prefix, r.NextHop, err)
		}
		n.Routes = append(n.Routes, Route{Dst: pf.Masked(), Gw: nh})
	}
	p.hostInput(h)
	sort.SliceStable(h.plan.StackIfaces, func(i, j int) bool { return h.plan.StackIfaces[i].Ifname < h.plan.StackIfaces[j].Ifname })
	// HOST/host.
	hostPort := hs.Name + "/host"
	if _, ok := p.f.PortByName(hostPort); ok {
		p.ports[hostPort] = PortPlan{Role: RoleHost, NS: n.Name, Inject: InjectIP, InjectNS: n.Name, Host: hi}
	}
	return nil
}

// hasIPv6 reports whether a host has IPv6 addresses: on a NIC, in a network's subnets
// or on an endpoint.
func hasIPv6(hs *fabric.HostSpec, objs *hns.Objects) bool {
	for _, nc := range hs.NICs {
		if nc.IPv6 != "" {
			return true
		}
	}
	for i := range objs.Networks {
		for _, s := range objs.Networks[i].Subnets() {
			if pf, err := s.Prefix(); err == nil && pf.Addr().Is6() {
				return true
			}
		}
	}
	for i := range objs.Endpoints {
		for _, a := range objs.Endpoints[i].Addrs() {
			if a.Is6() {
				return true
			}
		}
	}
	return false
}

// hostInput keeps the host stack silent: what reaches its input hook is counted as
// delivered to HOST/host (TCP/UDP only to a Listen port, as the emulator does) and
// dropped, so the kernel sends no replies, resets or port unreachables the emulator
// would not. VXLAN to the host passes (the vxlan device decapsulates it).
func (p *planner) hostInput(h *hostCtx) {
	n := h.ns
	for _, port := range h.vxlan {
		n.Filters = append(n.Filters, FilterRule{Name: counterVXLANIn, Hook: HookInput, Priority: 0, Proto: ProtoUDP,
			DstPorts: []PortRange{Port(port)}, Action: Accept})
	}
	var tcp, udp []PortRange
	for _, l := range h.listen {
		proto, port, _ := strings.Cut(l, "/")
		var v uint16
		if _, err := fmt.Sscanf(port, "%d", &v); err != nil {
			continue // the emulator rejected it already
		}
		switch strings.ToLower(proto) {
		case "tcp":
			tcp = append(tcp, Port(v))
		case "udp":
			udp = append(udp, Port(v))
		}
	}
	if len(tcp) > 0 {
		n.Filters = append(n.Filters, FilterRule{Name: CounterHostDeliver, Hook: HookInput, Priority: 10, Proto: ProtoTCP, DstPorts: tcp, Action: Drop})
	}
	if len(udp) > 0 {
		n.Filters = append(n.Filters, FilterRule{Name: CounterHostDeliver, Hook: HookInput, Priority: 10, Proto: ProtoUDP, DstPorts: udp, Action: Drop})
	}
	// Replies to connections the host opened are delivered (the management OS's stack
	// tracks what it sent: emulator/host Stack.conns).
	n.Filters = append(n.Filters,
		FilterRule{Name: CounterHostDeliver, Hook: HookInput, Priority: 15, Proto: ProtoTCP, Established: true, Action: Drop},
		FilterRule{Name: CounterHostDeliver, Hook: HookInput, Priority: 15, Proto: ProtoUDP, Established: true, Action: Drop})
	n.Filters = append(n.Filters,
		FilterRule{Name: CounterHostNoListener, Hook: HookInput, Priority: 20, Proto: ProtoTCP, Action: Drop},
		FilterRule{Name: CounterHostNoListener, Hook: HookInput, Priority: 20, Proto: ProtoUDP, Action: Drop},
		FilterRule{Name: CounterHostDeliver, Hook: HookInput, Priority: 30, Action: Drop})
}

// nicOf returns the NIC a VFP network binds: its NetAdapterName policy's, else the first.
func (p *planner) nicOf(h *hostCtx, nw *hns.HostComputeNetwork) (int, error) {
	if len(h.nics) == 0 {
		return 0, fmt.Errorf("no NIC to bind to")
	}
	for _, pol := range nw.Policies {
		if pol.Type == hns.NetAdapterName {
			v, err := pol.NetAdapterName()
			if err != nil {
				return 0, err
			}
			for i, nc := range h.nics {
				if nc.name == v.NetworkAdapterName {
					return i, nil
				}
			}
		}
	}
	return 0, nil
}

// endpoint is a local endpoint of a network, with the emulator's view of it.
type endpoint struct {
	e    *hns.HostComputeEndpoint
	port string // emulator port name
	mac  net.HardwareAddr
	ips  []netip.Addr
	gw   netip.Addr
	ns   *NSPlan
	host string // host-side interface (veth) in the host namespace, if any
	// l3 is the host interface its addresses are reached by (a bridge), hostIP the
	// host's address on its network (the source of its hairpin NAT).
	l3     string
	hostIP netip.Addr
	// loopbackDSR: the endpoint has the loopback DSR OutBoundNAT policy.
	loopbackDSR bool
	// bypass: the endpoint's traffic does not pass the host's stack (macvlan, ipvlan).
	bypass bool
}

// endpoints lists nw's local endpoints that the emulator made ports for.
func (p *planner) endpoints(h *hostCtx, nw *hns.HostComputeNetwork) []*endpoint {
	var out []*endpoint
	for i := range h.objs.Endpoints {
		e := &h.objs.Endpoints[i]
		if !strings.EqualFold(e.HostComputeNetwork, nw.Id) || e.IsRemote() {
			continue
		}
		name := e.Name
		if name == "" {
			name = e.Id
		}
		id, ok := p.f.PortByName(h.spec.Name + "/" + name)
		if !ok {
			// A host-namespace endpoint is a management OS vNIC in the emulator.
			p.unsupported([]string{h.spec.Name + "/" + name}, "host %s endpoint %q: attached to the host namespace (a host vNIC); not built", h.spec.Name, name)
			continue
		}
		fp := p.f.Port(id)
		out = append(out, &endpoint{e: e, port: fp.Name, mac: hw(fp.MAC), ips: fp.IPs, gw: fp.Gateway})
	}
	return out
}

// endpointNS makes the namespace of an endpoint and records its port.
func (p *planner) endpointNS(h *hostCtx, ep *endpoint) {
	h.eps++
	ep.ns = p.newNS(fmt.Sprintf("h%de%d", h.i, h.eps-1))
	p.ports[ep.port] = PortPlan{Role: RoleEndpoint, NS: ep.ns.Name, Ifname: "eth0", Inject: InjectPacket,
		InjectNS: ep.ns.Name, InjectIf: "eth0", Host: h.i}
	if h.local == nil {
		h.local = map[string]*endpoint{}
	}
	h.local[strings.ToLower(ep.e.Id)] = ep
}

// vethEndpoint connects an endpoint by a veth to bridge br of the host.
func (p *planner) vethEndpoint(h *hostCtx, ep *endpoint, br string, mtu int) {
	p.endpointNS(h, ep)
	ep.host = fmt.Sprintf("ep%d", h.eps-1)
	ep.l3 = br
	pp := p.ports[ep.port]
	pp.HostIf = ep.host
	p.ports[ep.port] = pp
	h.ns.Links = append(h.ns.Links, LinkPlan{Kind: LinkVeth, Name: ep.host, PeerNS: ep.ns.Name, PeerName: "eth0"})
	// The vSwitch knows its ports' MACs: a static entry, and no flooding of unknown
	// unicast (the vSwitch drops it: vfp-no-destination).
	h.ns.Ifaces = append(h.ns.Ifaces, IfacePlan{Name: ep.host, Master: br, MTU: mtu, NoFlood: true})
	h.ns.FDB = append(h.ns.FDB, FDBEntry{Dev: ep.host, MAC: ep.mac, Master: true})
	h.ns.Up = append(h.ns.Up, ep.host)
	ep.ns.Ifaces = append(ep.ns.Ifaces, IfacePlan{Name: "eth0", MAC: ep.mac, MTU: mtu})
	ep.ns.Up = append(ep.ns.Up, "eth0")
	for _, a := range ep.ips {
		h.ns.Neigh = appendNeigh(h.ns.Neigh, NeighPlan{Ifname: br, IP: a, MAC: ep.mac})
	}
}

// gatewayMAC asks the emulator which MAC answers ARP for ep's gateway at ep's port.
func (p *planner) gatewayMAC(ep *endpoint) (net.HardwareAddr, bool) {
	if !ep.gw.IsValid() || !ep.gw.Is4() || len(ep.ips) == 0 {
		return nil, false
	}
	src := ep.ips[0]
	for _, a := range ep.ips {
		if a.Is4() {
			src = a
		}
	}
	id, ok := p.f.PortByName(ep.port)
	if !ok {
		return nil, false
	}
	var mac header.MAC
	copy(mac[:], ep.mac)
	frame := make([]byte, header.EthernetMinimumSize+header.ARPSize)
	header.Ethernet(frame).Encode(header.BroadcastMAC, mac, header.EtherTypeARP)
	header.ARP(frame[header.EthernetMinimumSize:]).Encode(header.ARPRequest, mac, src, header.MAC{}, ep.gw)
	var out fabric.Outcome
	p.f.Inject(id, frame, 0, &out)
	for _, o := range out.Outputs {
		if o.Port != id || o.Kind != fabric.Delivered || len(o.Frame) < header.EthernetMinimumSize+header.ARPSize {
			continue
		}
		a := header.ARP(o.Frame[header.EthernetMinimumSize:])
		if a.Op() == header.ARPReply {
			m := a.SenderMAC()
			return hw(m), true
		}
	}
	return nil, false
}

func (p *planner) network(h *hostCtx, nw *hns.HostComputeNetwork, idx int) error {
	switch nw.Type {
	case hns.NAT:
		return p.natNetwork(h, nw)
	case hns.L2Bridge, hns.L2Tunnel:
		return p.l2Network(h, nw)
	case hns.Transparent:
		return p.transparentNetwork(h, nw)
	case hns.Overlay:
		return p.overlayNetwork(h, nw)
	}
	p.unsupported(nil, "network %q: type %s has no Linux analogue", nw.Name, nw.Type)
	return nil
}

// subnets returns a network's prefixes and gateways, as the emulator computes them.
func subnets(nw *hns.HostComputeNetwork) (pfx []netip.Prefix, gws []netip.Addr) {
	for _, s := range nw.Subnets() {
		pf, err := s.Prefix()
		if err != nil {
			continue
		}
		gw := pf.Masked().Addr().Next()
		for _, r := range s.Routes {
			if a, err := netip.ParseAddr(r.NextHop); err == nil && pf.Contains(a) {
				gw = a
				break
			}
		}
		pfx = append(pfx, pf.Masked())
		gws = append(gws, gw)
	}
	return pfx, gws
}

func (p *planner) newBridge(h *hostCtx, mac net.HardwareAddr) string {
	br := fmt.Sprintf("br%d", h.brs)
	h.brs++
	h.ns.Links = append(h.ns.Links, LinkPlan{Kind: LinkBridge, Name: br})
	h.ns.Ifaces = append(h.ns.Ifaces, IfacePlan{Name: br, MAC: mac})
	h.ns.Up = append(h.ns.Up, br)
	return br
}

// natNetwork: a bridge for the internal vSwitch and host vNIC, WinNAT as nftables.
func (p *planner) natNetwork(h *hostCtx, nw *hns.HostComputeNetwork) error {
	eps := p.endpoints(h, nw)
	prefixes, gws := subnets(nw)
	var gwMAC net.HardwareAddr
	for _, ep := range eps {
		if m, ok := p.gatewayMAC(ep); ok {
			gwMAC = m
			break
		}
	}
	br := p.newBridge(h, gwMAC)
	for i, pf := range prefixes {
		a := netip.PrefixFrom(gws[i], pf.Bits())
		h.ns.Addrs = append(h.ns.Addrs, AddrPlan{br, a})
		h.plan.StackIfaces = append(h.plan.StackIfaces, AddrPlan{br, a})
	}
	for _, ep := range eps {
		p.vethEndpoint(h, ep, br, 0)
	}
	var ext []netip.Addr
	for _, nc := range h.nics {
		for _, a := range nc.addrs {
			if a.Addr().Is4() {
				ext = append(ext, a.Addr())
			}
		}
	}
	for _, pf := range prefixes {
		for _, nc := range h.nics {
			h.ns.Masq = append(h.ns.Masq, Masquerade{Name: "winnat-snat", OutIface: nc.ifname, Src: pf})
		}
		if len(ext) > 0 {
			h.ns.Masq = append(h.ns.Masq, Masquerade{Name: "winnat-hairpin", OutIface: br, Src: pf, To: ext[0], DNATed: true})
		}
	}
	for _, ep := range eps {
		p.portMappings(h, ep, ext)
	}
	return nil
}

// portMappings adds a DNAT rule per PortMapping policy of ep: from each external
// address (or the mapping's VIP) to the endpoint.
func (p *planner) portMappings(h *hostCtx, ep *endpoint, ext []netip.Addr) {
	var ip netip.Addr
	for _, a := range ep.ips {
		if a.Is4() {
			ip = a
			break
		}
	}
	for i, pol := range ep.e.Policies {
		if pol.Type != hns.PortMapping {
			continue
		}
		pm, err := pol.PortMapping()
		if err != nil || !ip.IsValid() {
			continue
		}
		proto := uint8(pm.Protocol)
		if proto == 0 {
			proto = ProtoTCP // hnspath treats 0 as TCP (hns.PortMappingPolicySetting)
		}
		if proto != ProtoTCP && proto != ProtoUDP {
			p.unsupported([]string{ep.port}, "endpoint %s: PortMapping %d with protocol %d", ep.port, i, pm.Protocol)
			continue
		}
		dsts := ext
		if pm.VIP != "" {
			if v, err := netip.ParseAddr(pm.VIP); err == nil {
				dsts = []netip.Addr{v}
			}
		}
		if pm.Flags != 0 {
			p.unsupported([]string{ep.port}, "endpoint %s: PortMapping %d flags %d are not built", ep.port, i, pm.Flags)
		}
		for _, d := range dsts {
			h.ns.DNAT = append(h.ns.DNAT, DNAT{Name: fmt.Sprintf("portmap-%s-%d", ep.port, i), Proto: proto, Dst: d,
				DstPort: pm.ExternalPort, To: netip.AddrPortFrom(ip, pm.InternalPort), Local: true})
		}
	}
}

// outboundNAT adds OutBoundNAT policies of ep as snat to the host IP (or the policy's
// VIP) except to the exception prefixes.
func (p *planner) outboundNAT(h *hostCtx, ep *endpoint, hostIP netip.Addr) {
	for _, pol := range ep.e.Policies {
		if pol.Type != hns.OutBoundNAT {
			continue
		}
		s, err := pol.OutBoundNAT()
		if err != nil {
			continue
		}
		var dsts, except []netip.Prefix
		for _, e := range s.Exceptions {
			if pf, ok := parsePrefixLenient(e); ok {
				except = append(except, pf)
			}
		}
		for _, d := range s.Destinations {
			if pf, ok := parsePrefixLenient(d); ok {
				dsts = append(dsts, pf)
			}
		}
		if isLoopbackDSR(dsts, except, ep.ips) {
			// Loopback DSR (containernetworking/plugins ApplyLoopbackDSRPolicy): the
			// endpoint may reach itself through a DSR VIP; the load balancers' hairpin
			// rules build it (loadBalancers).
			ep.loopbackDSR = true
			continue
		}
		to := hostIP
		if s.VirtualIP != "" {
			if v, err := netip.ParseAddr(s.VirtualIP); err == nil {
				to = v
			}
		}
		for _, a := range ep.ips {
			if !a.Is4() || !to.IsValid() {
				continue
			}
			// VFP's SNAT layer comes before its LB layer on the way out, so exceptions and
			// destinations are the VIP a pod sent to, not the backend: match the
			// connection's original destination.
			h.ns.Masq = append(h.ns.Masq, Masquerade{Name: "outboundnat-" + ep.port, Src: netip.PrefixFrom(a, 32), Dst: dsts,
				Except: except, Original: true, To: to})
		}
	}
}

// isLoopbackDSR reports whether an OutBoundNAT policy with destinations dsts and
// exceptions except is loopback DSR: only the endpoint's own addresses as destinations
// (hns outboundNAT, the same test).
func isLoopbackDSR(dsts, except []netip.Prefix, own []netip.Addr) bool {
	if len(dsts) == 0 || len(except) > 0 {
		return false
	}
	for _, d := range dsts {
		if !d.IsSingleIP() || !containsAddr(own, d.Addr()) {
			return false
		}
	}
	return true
}

func parsePrefixLenient(s string) (netip.Prefix, bool) {
	if pf, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
		return pf.Masked(), true
	}
	if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// l2Network: the external switch as a bridge holding the NIC, MAC rewrites (or ipvlan).
func (p *planner) l2Network(h *hostCtx, nw *hns.HostComputeNetwork) error {
	ni, err := p.nicOf(h, nw)
	if err != nil {
		return err
	}
	nc := &h.nics[ni]
	eps := p.endpoints(h, nw)
	prefixes, gws := subnets(nw)
	var hostIP, hostIP6 netip.Addr
	for _, a := range nc.addrs {
		if a.Addr().Is4() {
			hostIP = a.Addr()
		} else if !hostIP6.IsValid() {
			hostIP6 = a.Addr()
		}
	}
	h.vfpIPs = appendAddr(h.vfpIPs, hostIP)
	if p.opts.L2Bridge == L2BridgeIPVlan {
		return p.ipvlanNetwork(h, nw, nc, eps, prefixes, gws, hostIP)
	}
	br := nc.l3
	if !nc.bound {
		br = p.newBridge(h, nc.mac)
		h.ns.Ifaces = append(h.ns.Ifaces, IfacePlan{Name: nc.ifname, Master: br, NoFlood: true})
		nc.l3, nc.bound = br, true
		p.boundNICs = append(p.boundNICs, boundNIC{h.ns, nc.ifname, nc.mac})
		h.wirePorts = append(h.wirePorts, nc.ifname)
	}
	// Bridged frames pass the IP hooks (br_netfilter), so that conntrack sees both ways
	// of a connection a load balancer translated when the backend's reply is bridged
	// to a client on its subnet (VFP reverses the translation at the backend's port);
	// kube-proxy on a Linux bridge needs the same (bridge-nf-call-iptables=1).
	h.ns.setSysctl("net.bridge.bridge-nf-call-iptables", "1")
	if h.ns.IPv6 {
		h.ns.setSysctl("net.bridge.bridge-nf-call-ip6tables", "1")
	}
	for i, pf := range prefixes {
		src := hostIP
		if pf.Addr().Is6() {
			src = hostIP6
		}
		if pf.Contains(src) {
			continue // the subnet of the host: its gateway is the physical router
		}
		a := netip.PrefixFrom(gws[i], gws[i].BitLen())
		h.ns.Addrs = append(h.ns.Addrs, AddrPlan{br, a})
		h.plan.StackIfaces = append(h.plan.StackIfaces, AddrPlan{br, a})
		h.ns.Routes = append(h.ns.Routes, Route{Dst: pf, Dev: br, Src: src})
		// The underlay routes the container subnet to this host.
		if src.IsValid() {
			p.routes = append(p.routes, Route{Dst: pf, Gw: src, Dev: "eth0", OnLink: true})
		}
	}
	var routerMAC net.HardwareAddr
	if nw.Type == hns.L2Tunnel && nc.gw.IsValid() {
		// The physical gateway: whoever on the underlay (router or peer) has its address.
		for _, fp := range p.f.Ports() {
			if (fp.Kind == fabric.PortRouter || fp.Kind == fabric.PortPeer) && containsAddr(fp.IPs, nc.gw) {
				routerMAC = hw(fp.MAC)
			}
		}
	}
	for _, ep := range eps {
		p.vethEndpoint(h, ep, br, 0)
		ep.hostIP = hostIP
		for _, et := range []uint16{EtherTypeIPv4, EtherTypeIPv6} {
			// VFP INTERNAL_L2_REWRITE_LAYER, out: the source MAC becomes the host's on
			// frames that leave the switch by the NIC (frames to local vNICs are bridged
			// unchanged, L2_BRIDGE_LOCAL).
			h.ns.MACRewrites = append(h.ns.MACRewrites, MACRewrite{Name: "l2-rewrite-out-" + ep.port, Stage: BridgeEgress,
				Port: nc.ifname, EtherType: et, SrcMAC: ep.mac, SetSrcMAC: nc.mac})
		}
		for _, a := range ep.ips {
			et := EtherTypeIPv4
			if a.Is6() {
				et = EtherTypeIPv6
			}
			// In: frames from the wire to the host's MAC and the container's IP go to the
			// container, with its MAC.
			h.ns.MACRewrites = append(h.ns.MACRewrites, MACRewrite{Name: "l2-rewrite-in-" + ep.port, Stage: BridgeIngress,
				Port: nc.ifname, EtherType: et, DstMAC: nc.mac, DstIP: a, SetDstMAC: ep.mac})
			// The underlay reaches the container through the host's MAC.
			p.owners = append(p.owners, owner{a, nc.mac})
		}
		if routerMAC != nil {
			// l2tunnel: every frame of the container goes to the physical gateway.
			for _, et := range []uint16{EtherTypeIPv4, EtherTypeIPv6} {
				h.ns.MACRewrites = append(h.ns.MACRewrites, MACRewrite{Name: "l2tunnel-out-" + ep.port, Stage: BridgeIngress,
					Port: ep.host, EtherType: et, SetDstMAC: routerMAC})
			}
		}
		p.outboundNAT(h, ep, hostIP)
		p.portMappings(h, ep, []netip.Addr{hostIP})
		if err := p.acls(h, ep); err != nil {
			return err
		}
	}
	return nil
}

// ipvlanNetwork is l2bridge with ipvlan L2 children of the NIC.
func (p *planner) ipvlanNetwork(h *hostCtx, nw *hns.HostComputeNetwork, nc *nicCtx, eps []*endpoint, prefixes []netip.Prefix, gws []netip.Addr, hostIP netip.Addr) error {
	if nc.bound {
		return fmt.Errorf("NIC %s is already bound to a bridge; ipvlan needs it as a parent", nc.name)
	}
	h.wireIfaces = append(h.wireIfaces, nc.ifname)
	for i, pf := range prefixes {
		if pf.Contains(hostIP) {
			continue
		}
		if pf.Addr().Is6() {
			p.unsupported(nil, "network %q: IPv6 subnet %s is not built with ipvlan", nw.Name, pf)
			continue
		}
		a := netip.PrefixFrom(gws[i], 32)
		h.ns.Addrs = append(h.ns.Addrs, AddrPlan{nc.ifname, a})
		h.plan.StackIfaces = append(h.plan.StackIfaces, AddrPlan{nc.ifname, a})
		if hostIP.IsValid() {
			p.routes = append(p.routes, Route{Dst: pf, Gw: hostIP, Dev: "eth0", OnLink: true})
		}
	}
	for _, ep := range eps {
		p.endpointNS(h, ep)
		ep.hostIP, ep.bypass = hostIP, true
		// ipvlan children share the parent's MAC: only frames the container's own stack
		// sends carry it (ipvlan does not rewrite injected frames), so the container gets
		// its addresses and default route, frames are sent from its stack (InjectIP), and
		// its input is dropped (it stays silent, as the emulator's endpoints do).
		h.ns.Links = append(h.ns.Links, LinkPlan{Kind: LinkIPVlan, Name: fmt.Sprintf("iv%d", h.eps-1), Parent: nc.ifname,
			PeerNS: ep.ns.Name, PeerName: "eth0"})
		ep.ns.Up = append(ep.ns.Up, "eth0")
		for _, a := range ep.ips {
			for i, pf := range prefixes {
				if pf.Contains(a) && a.Is4() {
					ep.ns.Addrs = append(ep.ns.Addrs, AddrPlan{"eth0", netip.PrefixFrom(a, pf.Bits())})
					ep.ns.Routes = append(ep.ns.Routes, Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gw: gws[i], Dev: "eth0", OnLink: true})
				}
			}
		}
		ep.ns.Policies[HookInput] = Drop
		pp := p.ports[ep.port]
		pp.Inject = InjectIP
		p.ports[ep.port] = pp
		for _, a := range ep.ips {
			if a.Is4() {
				p.owners = append(p.owners, owner{a, nc.mac})
			}
		}
		if len(ep.e.Policies) > 0 {
			p.unsupported([]string{ep.port}, "endpoint %s: policies are not built with ipvlan (traffic bypasses the host's hooks)", ep.port)
		}
	}
	return nil
}

// transparentNetwork: macvlan (bridge mode) children of the NIC with the containers' MACs.
func (p *planner) transparentNetwork(h *hostCtx, nw *hns.HostComputeNetwork) error {
	ni, err := p.nicOf(h, nw)
	if err != nil {
		return err
	}
	nc := &h.nics[ni]
	if nc.bound {
		return fmt.Errorf("NIC %s is bound to a bridge by another network; macvlan needs it as a parent", nc.name)
	}
	for _, ep := range p.endpoints(h, nw) {
		p.endpointNS(h, ep)
		ep.bypass = true
		h.ns.Links = append(h.ns.Links, LinkPlan{Kind: LinkMacvlan, Name: fmt.Sprintf("mv%d", h.eps-1), Parent: nc.ifname,
			PeerNS: ep.ns.Name, PeerName: "eth0"})
		ep.ns.Ifaces = append(ep.ns.Ifaces, IfacePlan{Name: "eth0", MAC: ep.mac})
		ep.ns.Up = append(ep.ns.Up, "eth0")
		// The container's own MAC is on the wire, behind the host's underlay port.
		p.ulMACs = append(p.ulMACs, ulMAC{ep.mac, p.ulPortOf(nc.mac)})
		for _, a := range ep.ips {
			if a.Is4() {
				p.owners = append(p.owners, owner{a, ep.mac})
			}
		}
		for _, pol := range ep.e.Policies {
			p.unsupported([]string{ep.port}, "endpoint %s: %s policy on a transparent network is not built (macvlan bypasses the host's hooks)", ep.port, pol.Type)
		}
	}
	return nil
}

// ulPortOf returns the underlay port of the member with MAC mac.
func (p *planner) ulPortOf(mac net.HardwareAddr) string {
	for _, m := range p.ulMACs {
		if m.mac.String() == mac.String() {
			return m.port
		}
	}
	return ""
}

// overlayNetwork: a bridge with the DR MAC and a vxlan port.
func (p *planner) overlayNetwork(h *hostCtx, nw *hns.HostComputeNetwork) error {
	ni, err := p.nicOf(h, nw)
	if err != nil {
		return err
	}
	nc := &h.nics[ni]
	var hostIP netip.Addr
	for _, a := range nc.addrs {
		if a.Addr().Is4() {
			hostIP = a.Addr()
		}
	}
	eps := p.endpoints(h, nw)
	prefixes, gws := subnets(nw)
	var vni uint32
	for _, s := range nw.Subnets() {
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
				vni = v.IsolationId
			}
		}
	}
	port := uint16(VXLANPort)
	for _, pol := range nw.Policies {
		switch pol.Type {
		case hns.VxlanPort:
			v, err := pol.VxlanPort()
			if err != nil {
				return err
			}
			port = v.Port
		case hns.ProviderAddress:
			v, err := pol.ProviderAddress()
			if err != nil {
				return err
			}
			if a, err := netip.ParseAddr(v.ProviderAddress); err == nil {
				hostIP = a
			}
		}
	}
	var drMAC net.HardwareAddr
	for _, ep := range eps {
		if m, ok := p.gatewayMAC(ep); ok {
			drMAC = m
			break
		}
	}
	br := p.newBridge(h, drMAC)
	for i, pf := range prefixes {
		a := netip.PrefixFrom(gws[i], pf.Bits())
		h.ns.Addrs = append(h.ns.Addrs, AddrPlan{br, a})
		h.plan.StackIfaces = append(h.plan.StackIfaces, AddrPlan{br, a})
	}
	hostRoute := false
	for _, pol := range nw.Policies {
		hostRoute = hostRoute || pol.Type == hns.HostRoute
	}
	if !hostRoute && len(prefixes) > 0 {
		// The management OS reaches the overlay's pods only with the HostRoute policy
		// (windows-behaviour.md §3.5); without it its routes do not hold the overlay's
		// subnets and its packets to them follow its default route. The bridge here is
		// the pods' gateway, so the host's own packets (iif lo) to the subnets look their
		// route up in a table with only the default route; without a gateway they are
		// dropped on the way out.
		if nc.gw.IsValid() {
			table := hostRouteTable + len(h.ns.Rules)
			h.ns.Routes = append(h.ns.Routes, Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gw: nc.gw, Dev: nc.l3, Table: table})
			for _, pf := range prefixes {
				h.ns.Rules = append(h.ns.Rules, RulePlan{Dst: pf, IifLo: true, Table: table, Priority: 90})
			}
		} else {
			h.ns.Filters = append(h.ns.Filters, FilterRule{Name: blockPrefix + "no-host-route-" + nw.Name, Hook: HookOutput,
				Dst: prefixes, Action: Drop})
		}
	}
	h.vfpIPs = appendAddr(h.vfpIPs, hostIP)
	h.wireIfaces = append(h.wireIfaces, nc.ifname)
	mtu := nc.mtu
	if mtu == 0 {
		mtu = 1500
	}
	vx := fmt.Sprintf("vx%d", h.brs-1)
	h.ns.Links = append(h.ns.Links, LinkPlan{Kind: LinkVXLAN, Name: vx, VXLAN: VXLAN{Name: vx, VNI: vni, Port: port,
		Local: hostIP, Dev: nc.ifname, TTL: vxlanTTL}})
	h.ns.Ifaces = append(h.ns.Ifaces, IfacePlan{Name: vx, Master: br, MTU: mtu - header.VXLANOverhead})
	h.wirePorts = append(h.wirePorts, vx)
	h.ns.Up = append(h.ns.Up, vx)
	h.vxlan = append(h.vxlan, port)
	for _, ep := range eps {
		epMTU := mtu - header.VXLANOverhead
		for _, pol := range ep.e.Policies {
			if pol.Type == hns.EncapOverhead {
				if v, err := pol.EncapOverhead(); err == nil && v.Overhead > 0 {
					epMTU = mtu - int(v.Overhead)
				}
			}
		}
		p.vethEndpoint(h, ep, br, epMTU)
		ep.hostIP = hostIP
		for _, a := range ep.ips {
			if a.Is4() {
				// Decap: frames from the vxlan port to a container get its MAC (PA_ROUTE_IN).
				h.ns.MACRewrites = append(h.ns.MACRewrites, MACRewrite{Name: "decap-" + ep.port, Stage: BridgeIngress,
					Port: vx, EtherType: EtherTypeIPv4, DstIP: a, SetDstMAC: ep.mac})
			}
		}
		p.outboundNAT(h, ep, hostIP)
		p.portMappings(h, ep, []netip.Addr{hostIP})
		if err := p.acls(h, ep); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for i, pol := range nw.Policies {
		if pol.Type != hns.RemoteSubnetRoute {
			continue
		}
		r, err := pol.RemoteSubnetRoute()
		if err != nil {
			return fmt.Errorf("Policies[%d]: %w", i, err)
		}
		pf, err := netip.ParsePrefix(r.DestinationPrefix)
		if err != nil {
			return fmt.Errorf("Policies[%d] (RemoteSubnetRoute): %w", i, err)
		}
		pa, err := netip.ParseAddr(r.ProviderAddress)
		if err != nil {
			return fmt.Errorf("Policies[%d] (RemoteSubnetRoute): %w", i, err)
		}
		dr, ok := header.ParseMAC(r.DistributedRouterMacAddress)
		if !ok {
			return fmt.Errorf("Policies[%d] (RemoteSubnetRoute): DistributedRouterMacAddress %q is not a MAC", i, r.DistributedRouterMacAddress)
		}
		if r.IsolationId != 0 && uint32(r.IsolationId) != vni {
			p.unsupported(nil, "network %q: RemoteSubnetRoute %s with VNI %d differs from the local VNI %d (one vxlan device per network)", nw.Name, pf, r.IsolationId, vni)
		}
		if !seen[dr.String()] {
			seen[dr.String()] = true
			h.ns.FDB = append(h.ns.FDB, FDBEntry{Dev: vx, MAC: hw(dr), Dst: pa}, FDBEntry{Dev: vx, MAC: hw(dr), Master: true})
		}
		for _, ep := range eps {
			// Encap: frames from a container to the remote subnet go to the remote DR.
			h.ns.MACRewrites = append(h.ns.MACRewrites, MACRewrite{Name: "encap-" + ep.port, Stage: BridgeIngress,
				Port: ep.host, EtherType: EtherTypeIPv4, DstPrefix: pf.Masked(), SetDstMAC: hw(dr)})
		}
	}
	if drMAC != nil {
		// The inner source MAC is the local DR MAC on everything the vxlan port sends.
		h.ns.MACRewrites = append(h.ns.MACRewrites, MACRewrite{Name: "encap-src", Stage: BridgeEgress, Port: vx,
			EtherType: EtherTypeIPv4, SetSrcMAC: drMAC})
	}
	return nil
}

// acls turns the endpoint's ACL_ENDPOINT_LAYER, as the emulator compiled it, into forward
// rules of the host namespace. Only endpoints with ACL policies get them (the layer's
// default rules then apply to the endpoint too); replies of allowed connections pass
// through one stateful rule first.
func (p *planner) acls(h *hostCtx, ep *endpoint) error {
	has := false
	for _, pol := range ep.e.Policies {
		if pol.Type == hns.ACL || pol.Type == hns.TierAcl {
			has = true
		}
	}
	if !has {
		return nil
	}
	hostIdx := -1
	for i, x := range p.f.Hosts() {
		if x.Name == h.spec.Name {
			hostIdx = i
		}
	}
	if hostIdx < 0 {
		return nil
	}
	eh := p.f.Hosts()[hostIdx]
	name := strings.TrimPrefix(ep.port, h.spec.Name+"/")
	ei, ok := eh.EndpointByName(name)
	if !ok {
		return nil
	}
	e := eh.Endpoints[ei]
	vp := eh.VFP(e.Switch, e.Port)
	if vp == nil {
		return nil
	}
	layer := vp.Layer(hns.LayerACL)
	if layer == nil {
		return nil
	}
	h.plan.ACL = true
	var own []netip.Prefix
	for _, a := range ep.ips {
		if a.Is4() {
			own = append(own, netip.PrefixFrom(a, 32))
		}
	}
	for _, g := range layer.Groups {
		if g.IPv6 {
			continue
		}
		for _, r := range g.Rules {
			rules, err := aclToFilters(r, g.Direction, own, ep.port, ep.host)
			if err != nil {
				return fmt.Errorf("endpoint %s: ACL rule %s: %w", ep.port, r.Name, err)
			}
			h.ns.BridgeFilters = append(h.ns.BridgeFilters, rules...)
		}
	}
	return nil
}

// aclToFilters translates one VFP ACL rule of an endpoint with addresses own, on bridge
// port port, into bridge filters: In rules filter frames the bridge sends to the
// endpoint, Out rules frames it receives from it.
func aclToFilters(r *vfp.Rule, dir vfp.Direction, own []netip.Prefix, name, port string) ([]BridgeFilter, error) {
	base := BridgeFilter{Name: "acl-" + name + "-" + r.Name, Port: port, Dir: In, Priority: int(r.Priority), Action: Accept}
	switch r.Action.Type {
	case vfp.ActionAllow:
	case vfp.ActionBlock:
		base.Action = Drop
	default:
		return nil, fmt.Errorf("action %s has no filter analogue", r.Action.Type)
	}
	c := r.Conditions
	if len(c.SrcMAC) > 0 || len(c.DstMAC) > 0 || len(c.VNI) > 0 {
		return nil, fmt.Errorf("MAC or VNI conditions have no filter analogue")
	}
	base.Src, base.Dst = c.SrcIP, c.DstIP
	if dir == vfp.In {
		base.Dir = Out // to the container
		if len(base.Dst) == 0 {
			base.Dst = own
		}
	} else if len(base.Src) == 0 {
		base.Src = own
	}
	for _, pr := range c.SrcPort {
		base.SrcPorts = append(base.SrcPorts, PortRange{pr.Lo, pr.Hi})
	}
	for _, pr := range c.DstPort {
		base.DstPorts = append(base.DstPorts, PortRange{pr.Lo, pr.Hi})
	}
	protos := c.Protocols
	ports := len(base.SrcPorts) > 0 || len(base.DstPorts) > 0
	if len(protos) == 0 && ports {
		protos = []uint8{ProtoTCP, ProtoUDP}
	}
	if len(protos) == 0 {
		return []BridgeFilter{base}, nil
	}
	var out []BridgeFilter
	for _, pr := range protos {
		if ports && pr != ProtoTCP && pr != ProtoUDP {
			continue // VFP port conditions match only TCP and UDP
		}
		fr := base
		fr.Proto = pr
		out = append(out, fr)
	}
	return out, nil
}
