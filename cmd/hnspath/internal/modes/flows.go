package modes

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"sort"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Flow directions.
const (
	Outbound = "outbound"  // an endpoint of the host to a peer
	Inbound  = "inbound"   // a peer to an endpoint of the host
	EastWest = "east-west" // between the host's endpoints and a remote node's
	Local    = "local"     // between endpoints of the host
)

// pkt is one decoded packet of the traffic.
type pkt struct {
	Frame
	v6           bool
	src, dst     netip.Addr
	proto        uint8
	sport, dport uint16 // ICMP echo: the identifier in both
	size         int    // IP length
	fl           *flow
	fwd          bool   // from the flow's initiator
	skip         string // why it is not replayed
}

// flow is the packets between two parties with one protocol and pair of
// ports (or ICMP echo identifier).
type flow struct {
	id                 int
	proto              uint8
	v6                 bool
	init, resp         string // party names
	initAddr, respAddr netip.Addr
	initPort, respPort uint16
	dir                string
	pkts               []*pkt
	skip               string
}

type flowKey struct {
	proto  uint8
	a, b   netip.Addr
	pa, pb uint16
}

func keyOf(p *pkt) flowKey {
	a, b, pa, pb := p.src, p.dst, p.sport, p.dport
	if b.Less(a) || (a == b && pb < pa) {
		a, b, pa, pb = b, a, pb, pa
	}
	return flowKey{p.proto, a, b, pa, pb}
}

// roles maps the traffic's addresses to parties.
type roles struct {
	wl     *Workload
	byAddr map[netip.Addr]string
	local  map[string]bool // endpoints of the host
	remote map[string]string
	peers  []*Peer // the workload's and the made-up ones, in order
	auto   int
}

func newRoles(wl *Workload) *roles {
	r := &roles{wl: wl, byAddr: map[netip.Addr]string{}, local: map[string]bool{}, remote: map[string]string{}}
	for _, e := range wl.Endpoints {
		r.local[e.Name] = true
	}
	for _, e := range wl.endpoints() {
		for _, a := range e.Addrs {
			r.byAddr[a] = e.Name
		}
		if e.Node != nil {
			r.remote[e.Name] = e.Node.Name
		}
	}
	for _, p := range wl.Peers {
		for _, a := range p.Addrs {
			r.byAddr[a] = p.Name
		}
		r.peers = append(r.peers, p)
	}
	return r
}

// of returns the party of an address, making up an internet peer for an
// address the workload does not name.
func (r *roles) of(a netip.Addr) string {
	if n, ok := r.byAddr[a]; ok {
		return n
	}
	for {
		r.auto++
		name := fmt.Sprintf("ext%d", r.auto)
		if !r.wl.lookup(name) {
			p := &Peer{Name: name, Addrs: []netip.Addr{a}, Where: Internet, Auto: true}
			r.peers = append(r.peers, p)
			r.byAddr[a] = name
			return name
		}
	}
}

func (r *roles) isPeer(name string) bool { return !r.local[name] && r.remote[name] == "" }

// classify decodes every frame and groups the packets into flows.
func classify(t *Traffic, r *roles) ([]*pkt, []*flow) {
	var pkts []*pkt
	var flows []*flow
	byKey := map[flowKey]*flow{}
	for _, fr := range t.Frames {
		p := decodePkt(fr)
		pkts = append(pkts, p)
		if p.skip != "" {
			continue
		}
		k := keyOf(p)
		fl := byKey[k]
		if fl == nil {
			fl = &flow{id: len(flows) + 1, proto: p.proto, v6: p.v6,
				initAddr: p.src, respAddr: p.dst, initPort: p.sport, respPort: p.dport}
			if isAnswer(fr.Data) {
				fl.initAddr, fl.respAddr, fl.initPort, fl.respPort = p.dst, p.src, p.dport, p.sport
			}
			fl.init, fl.resp = r.of(fl.initAddr), r.of(fl.respAddr)
			fl.dir, fl.skip = r.direction(fl.init, fl.resp)
			byKey[k] = fl
			flows = append(flows, fl)
		}
		p.fl = fl
		p.fwd = p.src == fl.initAddr && p.sport == fl.initPort
		fl.pkts = append(fl.pkts, p)
	}
	return pkts, flows
}

// direction classifies a flow by its parties' roles.
func (r *roles) direction(init, resp string) (dir, skip string) {
	switch {
	case r.local[init] && r.local[resp]:
		return Local, ""
	case r.local[init] && r.remote[resp] != "", r.remote[init] != "" && r.local[resp]:
		return EastWest, ""
	case r.local[init]:
		return Outbound, ""
	case r.local[resp]:
		return Inbound, ""
	}
	return "", fmt.Sprintf("neither %s nor %s is an endpoint of the host", init, resp)
}

// isAnswer reports whether a frame answers something (a TCP SYN-ACK, an
// ICMP echo reply), so that its flow's initiator is its destination.
func isAnswer(data []byte) bool {
	pk := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.NoCopy)
	if t, ok := pk.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		return t.SYN && t.ACK
	}
	if i, ok := pk.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		return i.TypeCode.Type() == layers.ICMPv4TypeEchoReply
	}
	if i, ok := pk.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
		return i.TypeCode.Type() == layers.ICMPv6TypeEchoReply
	}
	return false
}

// decodePkt decodes a frame's addresses and ports; p.skip says why a frame
// cannot be replayed.
func decodePkt(fr Frame) *pkt {
	p := &pkt{Frame: fr}
	pk := gopacket.NewPacket(fr.Data, layers.LayerTypeEthernet, gopacket.NoCopy)
	switch ip := pk.NetworkLayer().(type) {
	case *layers.IPv4:
		if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
			p.skip = "IPv4 fragment (not replayed)"
			return p
		}
		p.src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		p.dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		p.proto, p.size = uint8(ip.Protocol), int(ip.Length)
	case *layers.IPv6:
		p.v6 = true
		p.src, _ = netip.AddrFromSlice(ip.SrcIP)
		p.dst, _ = netip.AddrFromSlice(ip.DstIP)
		p.proto, p.size = uint8(ip.NextHeader), int(ip.Length)+40
		switch ip.NextHeader {
		case layers.IPProtocolTCP, layers.IPProtocolUDP, layers.IPProtocolICMPv6:
		default:
			p.skip = fmt.Sprintf("IPv6 next header %d (extension headers are not replayed)", ip.NextHeader)
			return p
		}
	default:
		p.skip = "not IP (not replayed)"
		if pk.Layer(layers.LayerTypeARP) != nil {
			p.skip = "ARP (each mode resolves its own addresses)"
		}
		return p
	}
	if e := pk.ErrorLayer(); e != nil && pk.TransportLayer() == nil && p.proto != 1 && p.proto != 58 {
		p.skip = fmt.Sprintf("undecodable: %v", e.Error())
		return p
	}
	switch l := pk.TransportLayer().(type) {
	case *layers.TCP:
		p.sport, p.dport = uint16(l.SrcPort), uint16(l.DstPort)
	case *layers.UDP:
		p.sport, p.dport = uint16(l.SrcPort), uint16(l.DstPort)
	}
	if i, ok := pk.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		switch i.TypeCode.Type() {
		case layers.ICMPv4TypeEchoRequest, layers.ICMPv4TypeEchoReply:
			p.sport, p.dport = i.Id, i.Id
		default:
			p.skip = "ICMP error or non-echo message (its quoted packet would need each mode's addresses)"
		}
	}
	if i, ok := pk.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
		switch i.TypeCode.Type() {
		case layers.ICMPv6TypeEchoRequest, layers.ICMPv6TypeEchoReply:
			if e, ok := pk.Layer(layers.LayerTypeICMPv6Echo).(*layers.ICMPv6Echo); ok {
				p.sport, p.dport = e.Identifier, e.Identifier
			}
		default:
			p.skip = "ICMPv6 other than echo (neighbour discovery and errors are each mode's own)"
		}
	}
	if !p.src.IsValid() || !p.dst.IsValid() {
		p.skip = "no IP addresses"
	}
	return p
}

// rewrite returns the frame with new MACs, addresses and ports (the
// ICMP echo identifier for ICMP), lengths and checksums recomputed. The
// IPv4 identification, TTL, flags and options, and the payload are kept.
func rewrite(data []byte, srcMAC, dstMAC net.HardwareAddr, src, dst netip.Addr, sport, dport uint16) ([]byte, error) {
	pk := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
	eth, _ := pk.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if eth == nil {
		return nil, fmt.Errorf("rewrite: no Ethernet header")
	}
	e := *eth
	e.SrcMAC, e.DstMAC = srcMAC, dstMAC
	var ip gopacket.NetworkLayer
	var ipl gopacket.SerializableLayer
	var rest []byte
	switch l := pk.NetworkLayer().(type) {
	case *layers.IPv4:
		c := *l
		c.SrcIP, c.DstIP = src.AsSlice(), dst.AsSlice()
		ip, ipl, rest = &c, &c, l.Payload
	case *layers.IPv6:
		c := *l
		c.SrcIP, c.DstIP = src.AsSlice(), dst.AsSlice()
		c.HopByHop = nil
		ip, ipl, rest = &c, &c, l.Payload
	default:
		return nil, fmt.Errorf("rewrite: not IP")
	}
	all := []gopacket.SerializableLayer{&e, ipl}
	switch {
	case pk.Layer(layers.LayerTypeTCP) != nil:
		t := *pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		t.SrcPort, t.DstPort = layers.TCPPort(sport), layers.TCPPort(dport)
		t.SetNetworkLayerForChecksum(ip)
		all = append(all, &t, gopacket.Payload(t.Payload))
	case pk.Layer(layers.LayerTypeUDP) != nil:
		u := *pk.Layer(layers.LayerTypeUDP).(*layers.UDP)
		u.SrcPort, u.DstPort = layers.UDPPort(sport), layers.UDPPort(dport)
		u.SetNetworkLayerForChecksum(ip)
		all = append(all, &u, gopacket.Payload(u.Payload))
	case pk.Layer(layers.LayerTypeICMPv4) != nil:
		i := *pk.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		i.Id = sport
		all = append(all, &i, gopacket.Payload(i.Payload))
	case pk.Layer(layers.LayerTypeICMPv6Echo) != nil:
		i := *pk.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
		i.SetNetworkLayerForChecksum(ip)
		ec := *pk.Layer(layers.LayerTypeICMPv6Echo).(*layers.ICMPv6Echo)
		ec.Identifier = sport
		all = append(all, &i, &ec, gopacket.Payload(ec.Payload))
	default:
		all = append(all, gopacket.Payload(rest))
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, all...); err != nil {
		return nil, fmt.Errorf("rewrite: %w", err)
	}
	return bytes.Clone(buf.Bytes()), nil
}

// hostPort formats an address and port ("10.0.0.4:80", "[fd00::1]:80";
// just the address for ICMP).
func hostPort(a netip.Addr, port uint16, proto uint8) string {
	if proto != 6 && proto != 17 {
		return a.String()
	}
	return netip.AddrPortFrom(a, port).String()
}

// namePort formats a party and port ("web:80", or "web" for ICMP).
func namePort(name string, port uint16, proto uint8) string {
	if proto != 6 && proto != 17 {
		return name
	}
	return fmt.Sprintf("%s:%d", name, port)
}

// sortedModes returns the known modes of names in All's order.
func sortedModes(names []string) []string {
	idx := map[string]int{}
	for i, m := range All {
		idx[m] = i
	}
	out := append([]string(nil), names...)
	sort.SliceStable(out, func(i, j int) bool { return idx[out[i]] < idx[out[j]] })
	return out
}
