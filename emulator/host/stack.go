package host

import (
	"net/netip"
	"sort"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/trace"
	"github.com/hnspath/hnspath/emulator/vswitch"
	"github.com/hnspath/hnspath/emulator/winnat"
)

// DefaultTTL is the TTL Windows gives packets it originates
// (HKLM\...\Tcpip\Parameters DefaultTTL, 128 by default).
const DefaultTTL = 128

// Iface is a management OS interface: a NIC the OS owns directly, or a
// host vNIC on a virtual switch.
type Iface struct {
	Name  string
	MAC   header.MAC
	MTU   int
	Addrs []netip.Prefix
	// Forwarding enables IP forwarding of packets received on this
	// interface (Set-NetIPInterface -Forwarding Enabled; HNS turns it on for
	// the nat network's vNIC, flannel for l2bridge host endpoints).
	Forwarding bool

	nic  int            // NIC index, or -1
	sw   int            // switch of a host vNIC, or -1
	port vswitch.PortID // its port

	primary4 netip.Addr // first IPv4 address, cached for NAT
}

// Route is an entry of the management OS routing table.
type Route struct {
	Prefix  netip.Prefix
	NextHop netip.Addr // invalid (zero) for on-link
	Iface   int
	Metric  int
}

// route4 is an IPv4 route in integer form.
type route4 struct {
	net, mask uint32
	idx       int // index in routes
}

type localAddr struct {
	addr  netip.Addr
	iface int
}

func v4key(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

type listenKey struct {
	proto uint8
	port  uint16
}

// Stack is the management OS's TCP/IP stack, as far as packet forwarding
// goes: interfaces, addresses, routes, neighbours, forwarding and WinNAT.
type Stack struct {
	h         *Host
	ifaces    []Iface
	routes    []Route                 // longest prefix first, then lowest metric
	routes4   []route4                // the IPv4 routes in the same order, for a fast lookup
	neigh4    map[uint32]header.MAC   // IPv4 neighbour cache
	neigh6    map[[16]byte]header.MAC // IPv6 neighbour cache
	local     []localAddr             // the host's addresses (few: scanned linearly)
	listeners map[listenKey]struct{}

	nat      *winnat.NAT
	natIface int

	// frags maps a datagram WinNAT translated to the address its later
	// fragments get (fragment.go); nil until the first fragment.
	frags map[fragKey]fragEntry

	// conns are connections the management OS opened (what it sent from
	// HOST/host): replies to them are delivered, as its TCP/IP stack would,
	// without a listener. Keyed by the reply's tuple; bounded.
	conns map[packet.Tuple]struct{}
}

// maxConns bounds the management OS's connection table; when full, it is
// cleared (the model keeps no timers for the host's own sockets).
const maxConns = 1 << 16

func newStack(h *Host) *Stack {
	return &Stack{h: h, neigh4: make(map[uint32]header.MAC), neigh6: make(map[[16]byte]header.MAC),
		listeners: make(map[listenKey]struct{}), natIface: -1, conns: make(map[packet.Tuple]struct{})}
}

func (s *Stack) addIface(i Iface) int {
	s.h.gen++
	idx := len(s.ifaces)
	for _, a := range i.Addrs {
		if a.Addr().Is4() && !i.primary4.IsValid() {
			i.primary4 = a.Addr()
		}
	}
	s.ifaces = append(s.ifaces, i)
	for _, a := range i.Addrs {
		s.local = append(s.local, localAddr{a.Addr(), idx})
		s.AddRoute(Route{Prefix: a.Masked(), Iface: idx, Metric: 256})
	}
	return idx
}

// Iface returns interface i, to read (change forwarding with SetForwarding).
func (s *Stack) Iface(i int) *Iface { return &s.ifaces[i] }

// SetForwarding turns IP forwarding of packets received on interface i on
// or off (Set-NetIPInterface -Forwarding).
func (s *Stack) SetForwarding(i int, on bool) {
	s.h.gen++
	s.ifaces[i].Forwarding = on
}

// Ifaces returns the number of interfaces.
func (s *Stack) Ifaces() int { return len(s.ifaces) }

// IfaceByName returns the index of the named interface.
func (s *Stack) IfaceByName(name string) (int, bool) {
	for i := range s.ifaces {
		if s.ifaces[i].Name == name {
			return i, true
		}
	}
	return -1, false
}

// AddAddr adds an address to an interface, with its connected route.
func (s *Stack) AddAddr(ifi int, a netip.Prefix) {
	s.h.gen++
	s.ifaces[ifi].Addrs = append(s.ifaces[ifi].Addrs, a)
	if a.Addr().Is4() && !s.ifaces[ifi].primary4.IsValid() {
		s.ifaces[ifi].primary4 = a.Addr()
	}
	s.local = append(s.local, localAddr{a.Addr(), ifi})
	s.AddRoute(Route{Prefix: a.Masked(), Iface: ifi, Metric: 256})
}

// AddRoute adds a route. Routes are looked up longest prefix first, then by
// lowest metric.
func (s *Stack) AddRoute(r Route) {
	s.h.gen++
	r.Prefix = r.Prefix.Masked()
	for _, o := range s.routes {
		if o == r {
			return
		}
	}
	s.routes = append(s.routes, r)
	sort.SliceStable(s.routes, func(i, j int) bool {
		a, b := s.routes[i], s.routes[j]
		if a.Prefix.Bits() != b.Prefix.Bits() {
			return a.Prefix.Bits() > b.Prefix.Bits()
		}
		return a.Metric < b.Metric
	})
	s.routes4 = s.routes4[:0]
	for i, r := range s.routes {
		if r.Prefix.Addr().Is4() {
			var mask uint32
			if b := r.Prefix.Bits(); b > 0 {
				mask = ^uint32(0) << (32 - b)
			}
			s.routes4 = append(s.routes4, route4{net: v4key(r.Prefix.Addr()), mask: mask, idx: i})
		}
	}
}

// lookup returns the index of the route for dst, or -1.
func (s *Stack) lookup(dst netip.Addr) int {
	if dst.Is4() {
		k := v4key(dst)
		for i := range s.routes4 {
			if k&s.routes4[i].mask == s.routes4[i].net {
				return s.routes4[i].idx
			}
		}
		return -1
	}
	for i := range s.routes {
		if s.routes[i].Prefix.Contains(dst) {
			return i
		}
	}
	return -1
}

// Routes returns the routing table.
func (s *Stack) Routes() []Route { return s.routes }

// Lookup returns the route for dst.
func (s *Stack) Lookup(dst netip.Addr) (Route, bool) {
	if i := s.lookup(dst); i >= 0 {
		return s.routes[i], true
	}
	return Route{}, false
}

// AddNeighbor adds a static neighbour (ARP/ND cache) entry.
func (s *Stack) AddNeighbor(a netip.Addr, m header.MAC) {
	a = a.Unmap()
	if old, ok := s.Neighbor(a); ok && old == m {
		return
	}
	s.h.gen++
	if a.Is4() {
		s.neigh4[v4key(a)] = m
	} else {
		s.neigh6[a.As16()] = m
	}
}

// Neighbor returns the MAC of neighbour a.
func (s *Stack) Neighbor(a netip.Addr) (header.MAC, bool) {
	var m header.MAC
	var ok bool
	if a.Is4() {
		m, ok = s.neigh4[v4key(a)]
	} else {
		m, ok = s.neigh6[a.As16()]
	}
	return m, ok
}

// localIface returns the interface that owns local address a.
func (s *Stack) localIface(a netip.Addr) (int, bool) {
	for i := range s.local {
		if s.local[i].addr == a {
			return s.local[i].iface, true
		}
	}
	return -1, false
}

// Listen declares a port the management OS listens on; packets to it are
// delivered to the host endpoint instead of being dropped.
func (s *Stack) Listen(proto uint8, port uint16) {
	s.h.gen++
	s.listeners[listenKey{proto, port}] = struct{}{}
}

// IsLocal reports whether a is one of the host's addresses (loopback included).
func (s *Stack) IsLocal(a netip.Addr) bool {
	if a.IsLoopback() {
		return true
	}
	_, ok := s.localIface(a)
	return ok
}

// PrimaryAddr returns the first address of interface ifi in a's family.
func (s *Stack) PrimaryAddr(ifi int, v6 bool) (netip.Addr, bool) {
	for _, p := range s.ifaces[ifi].Addrs {
		if p.Addr().Is6() == v6 {
			return p.Addr(), true
		}
	}
	return netip.Addr{}, false
}

func (s *Stack) hasFamily(v6 bool) bool {
	for i := range s.routes {
		if s.routes[i].Prefix.Addr().Is6() == v6 {
			return true
		}
	}
	return false
}

func (s *Stack) dropf(out *Outbox, ifi int, buf *packet.Buffer, r drop.Reason, comp string) {
	port := ""
	if ifi >= 0 {
		port = s.ifaces[ifi].Name
	}
	out.drop(Drop{Host: s.h.Name, Component: comp, Port: port, Reason: r, Buf: buf})
	if out.Trace.Enabled() {
		var p packet.Parsed
		p.Decode(buf.Bytes())
		out.Trace.Add(trace.Event{Host: s.h.Name, Component: comp, Port: port, Action: "drop", Reason: r, Detail: r.Text(),
			Before: trace.Snap(&p, header.VXLANPort)})
	}
}

// receive handles a frame the stack received on interface ifi.
func (s *Stack) receive(ifi int, buf *packet.Buffer, p *packet.Parsed, out *Outbox) {
	if !out.hop() {
		s.dropf(out, ifi, buf, drop.LoopDetected, CompTCPIP)
		return
	}
	ifc := &s.ifaces[ifi]
	if p.DstMAC != ifc.MAC && !p.DstMAC.IsMulticast() {
		s.dropf(out, ifi, buf, drop.NotForHost, CompTCPIP)
		return
	}
	if !p.Valid() {
		s.dropf(out, ifi, buf, drop.InvalidPacket, CompTCPIP)
		return
	}
	switch p.Kind {
	case packet.KindARP:
		s.arpInput(ifi, buf, p, out)
	case packet.KindIPv4, packet.KindIPv6:
		s.ipInput(ifi, buf, p, out)
	default:
		s.dropf(out, ifi, buf, drop.UnsupportedEtherType, CompTCPIP)
	}
}

func (s *Stack) arpInput(ifi int, buf *packet.Buffer, p *packet.Parsed, out *Outbox) {
	a := p.ARP()
	if _, known := s.Neighbor(p.Src); !known && p.Src.IsValid() && !p.Src.IsUnspecified() {
		s.AddNeighbor(p.Src, a.SenderMAC())
	}
	ifc := &s.ifaces[ifi]
	owns := false
	for _, pr := range ifc.Addrs {
		if pr.Addr() == p.Dst {
			owns = true
		}
	}
	s.deliverHost(ifi, buf, p, out)
	if a.Op() != header.ARPRequest || !owns {
		return
	}
	// RFC 826: answer a request for one of this interface's addresses.
	rb := out.Pool.Get()
	frame := rb.Bytes()[:0]
	if !rb.SetLen(header.EthernetMinimumSize + header.ARPSize) {
		return
	}
	frame = rb.Bytes()
	header.Ethernet(frame).Encode(a.SenderMAC(), ifc.MAC, header.EtherTypeARP)
	header.ARP(frame[header.EthernetMinimumSize:]).Encode(header.ARPReply, ifc.MAC, p.Dst, a.SenderMAC(), p.Src)
	var rp packet.Parsed
	rp.Decode(frame)
	if out.Trace.Enabled() {
		out.Trace.Add(trace.Event{Host: s.h.Name, Component: CompTCPIP, Port: ifc.Name, Action: "answer-arp",
			Detail: p.Dst.String() + " is-at " + ifc.MAC.String(), After: trace.Snap(&rp, 0)})
	}
	s.transmit(ifi, rb, &rp, out)
}

func (s *Stack) deliverHost(ifi int, buf *packet.Buffer, p *packet.Parsed, out *Outbox) {
	if out.Trace.Enabled() {
		out.Trace.Add(trace.Event{Host: s.h.Name, Component: CompTCPIP, Port: s.ifaces[ifi].Name, Action: "deliver",
			Detail: "to the management OS", After: trace.Snap(p, header.VXLANPort)})
	}
	out.emit(Emit{Kind: Deliver, Endpoint: HostEndpoint, Buf: buf})
}

func (s *Stack) ipInput(ifi int, buf *packet.Buffer, p *packet.Parsed, out *Outbox) {
	v6 := p.Kind == packet.KindIPv6
	if v6 && !s.hasFamily(true) {
		switch {
		case s.nat != nil && ifi == s.natIface:
			// A container of the nat network: WinNAT is IPv4 only
			// (docs/fidelity.md §2).
			s.dropf(out, ifi, buf, drop.NATIPv6, CompTCPIP)
		case p.Dst.IsMulticast():
			// The management OS's own IPv6 (link-local, on by default on
			// every interface) takes its multicast: MLD, neighbor and
			// router solicitations. It routes none of it.
			s.deliverHost(ifi, buf, p, out)
		default:
			// No IPv6 address or route here: the host is the destination
			// of none and routes none (not a container's limit).
			s.dropf(out, ifi, buf, drop.NoRoute, CompTCPIP)
		}
		return
	}
	if !v6 && (p.Dst.IsMulticast() || s.isBroadcast4(p.Dst)) {
		s.broadcastInput(ifi, buf, p, out)
		return
	}
	local := s.IsLocal(p.Dst)
	if s.nat != nil && !v6 {
		// What an ICMP error about this packet quotes, and to whom it goes:
		// the packet as it arrived, before WinNAT translates it.
		var o origin
		if local {
			o.save(p)
		}
		if ifi == s.natIface {
			if local {
				// Hairpin handles both directions of a container-to-
				// published-port flow; NotHandled means the packet is for
				// the host itself.
				v, r := s.nat.Hairpin(p, out.Now, out.Trace)
				switch v {
				case winnat.Dropped:
					s.dropf(out, ifi, buf, r, CompWinNAT)
					return
				case winnat.Translated:
					s.forward(ifi, buf, p, out, true, &o)
					return
				}
			}
		} else if local {
			var v winnat.Verdict
			var r drop.Reason
			var ref winnat.Ref
			handled := false
			if p.Fragment {
				v, r, ref, handled = s.natFragment(p, false, netip.Addr{}, out.Now, out.Trace)
			}
			if !handled {
				v, r, ref = s.nat.Inbound(p, out.Now, out.Trace)
			}
			switch v {
			case winnat.Dropped:
				s.dropf(out, ifi, buf, r, CompWinNAT)
				return
			case winnat.Translated:
				if out.rec.on {
					out.rec.nat, out.rec.dir = ref, pathIn
				}
				s.forward(ifi, buf, p, out, true, &o)
				return
			}
		}
	}
	if local {
		s.localInput(ifi, buf, p, out)
		return
	}
	s.forward(ifi, buf, p, out, false, nil)
}

// isBroadcast4 reports whether a is the limited broadcast 255.255.255.255
// or the directed broadcast address of one of the host's IPv4 subnets
// (prefixes of /30 or shorter: /31 and /32 have none, RFC 3021).
func (s *Stack) isBroadcast4(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	k := v4key(a)
	if k == 0xffffffff {
		return true
	}
	for i := range s.local {
		l := &s.local[i]
		if !l.addr.Is4() {
			continue
		}
		for _, pr := range s.ifaces[l.iface].Addrs {
			if pr.Addr() != l.addr || pr.Bits() > 30 {
				continue
			}
			host := ^uint32(0) >> pr.Bits()
			if k == v4key(pr.Addr())|host {
				return true
			}
		}
	}
	return false
}

// broadcastInput takes an IPv4 broadcast or multicast packet the host
// received: the management OS consumes it (a socket listening on its UDP
// port gets it) and never forwards it. RFC 1812 §5.3.5.1: a router never
// forwards a limited broadcast; RFC 2644 (BCP 34): by default a router does
// not forward directed broadcasts either; without multicast routing a host
// forwards no multicast (RFC 1112 §4).
func (s *Stack) broadcastInput(ifi int, buf *packet.Buffer, p *packet.Parsed, out *Outbox) {
	if (p.IPProto == header.ProtoTCP || p.IPProto == header.ProtoUDP) && p.HasL4Ports {
		if _, ok := s.listeners[listenKey{p.IPProto, p.DstPort}]; !ok || p.IPProto == header.ProtoTCP {
			s.dropf(out, ifi, buf, drop.NoListener, CompTCPIP)
			return
		}
	}
	s.deliverHost(ifi, buf, p, out)
}

// natPublished reports whether dst:port is a published port of WinNAT: a
// static mapping on that external address, or for a loopback destination
// on any external address.
func (s *Stack) natPublished(proto uint8, dst netip.Addr, port uint16) bool {
	if !dst.IsLoopback() {
		return s.nat.External(dst) && s.nat.HasStaticMapping(proto, dst, port)
	}
	for _, a := range s.nat.Config().ExternalAddrs {
		if s.nat.HasStaticMapping(proto, a, port) {
			return true
		}
	}
	return false
}

// localInput delivers a packet addressed to the host itself.
func (s *Stack) localInput(ifi int, buf *packet.Buffer, p *packet.Parsed, out *Outbox) {
	if (p.IPProto == header.ProtoTCP || p.IPProto == header.ProtoUDP) && p.HasL4Ports {
		_, listening := s.listeners[listenKey{p.IPProto, p.DstPort}]
		if !listening {
			_, listening = s.conns[p.Tuple()]
		}
		if !listening {
			r := drop.NoListener
			if s.nat != nil && ifi != s.natIface {
				// WinNAT had neither a session nor a mapping: unsolicited inbound.
				r = drop.NATNoMapping
			}
			s.dropf(out, ifi, buf, r, CompTCPIP)
			return
		}
	}
	s.deliverHost(ifi, buf, p, out)
}

// forward routes a packet received on ifi that is not for the host.
// natted says WinNAT already translated it inbound (no outbound NAT then),
// and o is then the packet as it arrived. ICMP errors about the packet go
// to its originator and quote what it sent (RFC 1812 §4.3.2.4, §5.3.1;
// RFC 5508 §4): the TTL and the MTU are checked against the packet as
// received, before WinNAT translates it outbound.
func (s *Stack) forward(ifi int, buf *packet.Buffer, p *packet.Parsed, out *Outbox, natted bool, o *origin) {
	if !s.ifaces[ifi].Forwarding && !natted {
		s.dropf(out, ifi, buf, drop.NoRoute, CompTCPIP)
		return
	}
	ri := s.lookup(p.Dst)
	if ri < 0 {
		// RFC 1812 §5.2.7.1: no route, network unreachable.
		s.icmpError(ifi, p, o, header.ICMPv4DstUnreachable, header.ICMPv4NetUnreachable, out)
		s.dropf(out, ifi, buf, drop.NoRoute, CompTCPIP)
		return
	}
	r := &s.routes[ri]
	if out.rec.on {
		out.rec.out = r.Iface
	}
	if p.TTL <= 1 {
		s.icmpError(ifi, p, o, icmpTimeExceeded, 0, out)
		s.dropf(out, ifi, buf, drop.TTLExceeded, CompTCPIP)
		return
	}
	var own origin
	if o == nil && p.Kind == packet.KindIPv4 {
		own.save(p)
		o = &own
	}
	if s.nat != nil && !natted && p.Kind == packet.KindIPv4 && r.Iface != s.natIface && s.nat.Internal(p.Src) {
		ext := s.ifaces[r.Iface].primary4
		if !ext.IsValid() {
			s.dropf(out, ifi, buf, drop.NoRoute, CompTCPIP)
			return
		}
		var v winnat.Verdict
		var reason drop.Reason
		var ref winnat.Ref
		handled := false
		if p.Fragment {
			v, reason, ref, handled = s.natFragment(p, true, ext, out.Now, out.Trace)
		}
		if !handled {
			v, reason, ref = s.nat.Outbound(p, ext, out.Now, out.Trace)
		}
		if v == winnat.Dropped {
			s.dropf(out, ifi, buf, reason, CompWinNAT)
			return
		}
		if out.rec.on && v == winnat.Translated {
			out.rec.nat, out.rec.dir = ref, pathOut
		}
	}
	p.DecTTL()
	nh := r.NextHop
	if !nh.IsValid() {
		nh = p.Dst
	}
	if out.Trace.Enabled() {
		out.Trace.Add(trace.Event{Host: s.h.Name, Component: CompTCPIP, Port: s.ifaces[r.Iface].Name, Action: "route",
			Detail: r.Prefix.String() + " via " + nh.String() + " dev " + s.ifaces[r.Iface].Name, After: trace.Snap(p, 0)})
	}
	s.output(r.Iface, nh, buf, p, out, o)
}

// output sends an IP packet to next hop nh on interface ifi, filling in the
// Ethernet addresses. o, when not nil, is the packet before WinNAT
// translated it: an ICMP error goes to its source and quotes it.
func (s *Stack) output(ifi int, nh netip.Addr, buf *packet.Buffer, p *packet.Parsed, out *Outbox, o *origin) {
	ifc := &s.ifaces[ifi]
	tooBig := p.L3Len() > ifc.MTU
	if tooBig && (p.Kind == packet.KindIPv6 || p.IPv4().Flags()&header.IPv4FlagDontFragment != 0) {
		// DF set (IPv6: routers never fragment): dropped, and the source
		// told the next-hop MTU (RFC 1191; RFC 8201).
		s.icmpErrorMTU(p, o, uint16(ifc.MTU), out)
		s.dropf(out, ifi, buf, drop.MTUMismatch, CompTCPIP)
		return
	}
	mac, ok := s.Neighbor(nh)
	if !ok {
		if nh.IsMulticast() || (nh.Is4() && nh == netip.AddrFrom4([4]byte{255, 255, 255, 255})) {
			mac = header.BroadcastMAC
		} else {
			if o != nil {
				// A forwarded packet whose next hop does not answer ARP:
				// host unreachable (RFC 1812 §5.2.7.1).
				s.icmpError4(-1, p, o, header.ICMPv4DstUnreachable, header.ICMPv4HostUnreachable, 0, out)
			}
			s.dropf(out, ifi, buf, drop.NeighborUnresolved, CompTCPIP)
			return
		}
	}
	if tooBig {
		s.fragment(ifi, mac, buf, p, out)
		return
	}
	p.SetSrcMAC(ifc.MAC)
	p.SetDstMAC(mac)
	s.transmit(ifi, buf, p, out)
}

// transmit puts a finished frame on interface ifi.
func (s *Stack) transmit(ifi int, buf *packet.Buffer, p *packet.Parsed, out *Outbox) {
	ifc := &s.ifaces[ifi]
	if ifc.nic >= 0 {
		s.h.transmit(ifc.nic, buf, p, out)
		return
	}
	s.h.switchIngress(ifc.sw, ifc.port, buf, p, out)
}

// send handles a packet the management OS originates.
func (s *Stack) send(buf *packet.Buffer, p *packet.Parsed, out *Outbox) {
	if !p.Valid() {
		s.dropf(out, -1, buf, drop.InvalidPacket, CompTCPIP)
		return
	}
	if p.IsIP() && p.HasL4Ports && (p.IPProto == header.ProtoTCP || p.IPProto == header.ProtoUDP) {
		rev := p.Tuple().Reverse()
		if _, ok := s.conns[rev]; !ok {
			if len(s.conns) >= maxConns {
				clear(s.conns)
			}
			s.conns[rev] = struct{}{}
		}
	}
	switch p.Kind {
	case packet.KindARP:
		for i := range s.ifaces {
			for _, pr := range s.ifaces[i].Addrs {
				if pr.Contains(p.Dst) {
					s.transmit(i, buf, p, out)
					return
				}
			}
		}
		s.dropf(out, -1, buf, drop.NoRoute, CompTCPIP)
		return
	case packet.KindIPv4, packet.KindIPv6:
	default:
		s.dropf(out, -1, buf, drop.UnsupportedEtherType, CompTCPIP)
		return
	}
	if s.IsLocal(p.Dst) {
		if s.nat != nil && p.HasL4Ports && s.natPublished(p.IPProto, p.Dst, p.DstPort) {
			// WinNAT limit: the host cannot reach a container through its own
			// external IP:port or localhost (windows-behaviour.md §2.2 item 4).
			s.dropf(out, -1, buf, drop.NATHostHairpin, CompWinNAT)
			return
		}
		ifi := 0
		if i, ok := s.localIface(p.Dst); ok {
			ifi = i
		}
		s.localInput(ifi, buf, p, out)
		return
	}
	r, ok := s.Lookup(p.Dst)
	if !ok {
		s.dropf(out, -1, buf, drop.NoRoute, CompTCPIP)
		return
	}
	nh := r.NextHop
	if !nh.IsValid() {
		nh = p.Dst
	}
	s.output(r.Iface, nh, buf, p, out, nil)
}
