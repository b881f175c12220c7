package fabric

import (
	"net/netip"
	"strconv"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/trace"
)

// router is the underlay's gateway: it answers ARP for its addresses and
// routes IP between the underlay's subnets and to routed prefixes
// (container subnets, as a cloud route table does).
type router struct {
	port   PortID
	mac    header.MAC
	addrs  []netip.Prefix
	routes []routerRoute // longest prefix first
}

type routerRoute struct {
	prefix  netip.Prefix
	nextHop netip.Addr
}

func (r *router) owns(a netip.Addr) bool {
	for _, p := range r.addrs {
		if p.Addr() == a {
			return true
		}
	}
	return false
}

// route handles a frame addressed to the router.
func (f *Fabric) route(buf *packet.Buffer, p *packet.Parsed, res *Outcome) {
	r := f.router
	name := f.ports[r.port].Name
	if p.Kind == packet.KindARP && p.Valid() {
		a := p.ARP()
		if a.Op() == header.ARPRequest && r.owns(p.Dst) {
			rb := f.pool.Get()
			rb.SetLen(header.EthernetMinimumSize + header.ARPSize)
			fr := rb.Bytes()
			header.Ethernet(fr).Encode(a.SenderMAC(), r.mac, header.EtherTypeARP)
			header.ARP(fr[header.EthernetMinimumSize:]).Encode(header.ARPReply, r.mac, p.Dst, a.SenderMAC(), p.Src)
			if res.Trace.Enabled() {
				res.Trace.Add(trace.Event{Component: "router", Port: name, Action: "answer-arp", Detail: p.Dst.String() + " is-at " + r.mac.String()})
			}
			f.queue = append(f.queue, wireFrame{from: r.port, buf: rb})
		}
		f.hold(buf)
		res.Outputs = append(res.Outputs, Output{Port: r.port, Kind: Delivered, Frame: buf.Bytes()})
		return
	}
	if !p.IsIP() {
		f.dropComp(r.port, "router", buf, drop.InvalidPacket, res)
		return
	}
	if r.owns(p.Dst) || p.DstMAC.IsMulticast() {
		f.hold(buf)
		res.Outputs = append(res.Outputs, Output{Port: r.port, Kind: Delivered, Frame: buf.Bytes()})
		return
	}
	m, ok := f.owners.get(p.Dst)
	if !ok {
		for _, rt := range r.routes {
			if rt.prefix.Contains(p.Dst) {
				m, ok = f.owners.get(rt.nextHop)
				break
			}
		}
	}
	if !ok {
		f.routerICMP(p, header.ICMPv4DstUnreachable, 0, res) // net unreachable
		f.dropComp(r.port, "router", buf, drop.NoRoute, res)
		return
	}
	if p.TTL <= 1 {
		f.routerICMP(p, header.ICMPv4TimeExceeded, 0, res)
		f.dropComp(r.port, "router", buf, drop.TTLExceeded, res)
		return
	}
	before := trace.Snapshot{}
	if res.Trace.Enabled() {
		before = trace.Snap(p, header.VXLANPort)
	}
	p.DecTTL()
	p.SetSrcMAC(r.mac)
	p.SetDstMAC(m.mac)
	if res.Trace.Enabled() {
		res.Trace.Add(trace.Event{Component: "router", Port: name, Action: "route",
			Detail: p.Dst.String() + " via " + f.ports[m.port].Name, Before: before, After: trace.Snap(p, header.VXLANPort)})
	}
	f.queue = append(f.queue, wireFrame{from: r.port, buf: buf})
}

// routerQuoteMax bounds an ICMP error the router sends: as much of the
// original datagram as fits in 576 bytes (RFC 1812 §4.3.2.3).
const routerQuoteMax = 576

// routerICMP sends an ICMPv4 error about IPv4 packet p back to its source,
// as a router does when it drops a packet it cannot forward (RFC 1812
// §5.3.1 time exceeded; §5.2.7.1 destination unreachable, code 0 when it
// has no route). The error comes from the router's address on the
// source's subnet (§4.3.2.4), with TTL 64, and quotes as much of p as fits
// in 576 bytes (§4.3.2.3). No error is sent about an ICMP error, a
// non-first fragment, or a packet from or to a broadcast or multicast
// address (§4.3.2.7).
func (f *Fabric) routerICMP(p *packet.Parsed, typ, code uint8, res *Outcome) {
	r := f.router
	if p.Kind != packet.KindIPv4 || p.ICMPError || (p.Fragment && !p.FirstFrag) || p.Dst.IsMulticast() ||
		!p.Src.IsGlobalUnicast() || p.DstMAC.IsMulticast() || p.Dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return
	}
	var src netip.Addr
	for _, a := range r.addrs {
		if a.Addr().Is4() && (a.Contains(p.Src) || !src.IsValid()) {
			src = a.Addr()
		}
	}
	m, ok := f.owners.get(p.Src)
	if !src.IsValid() || !ok {
		return
	}
	orig := p.Bytes()[p.L3:p.End]
	n := min(len(orig), routerQuoteMax-header.IPv4MinimumSize-header.ICMPv4MinimumSize)
	rb := f.pool.Get()
	total := header.IPv4MinimumSize + header.ICMPv4MinimumSize + n
	if !rb.SetLen(header.EthernetMinimumSize + total) {
		f.pool.Put(rb)
		return
	}
	fr := rb.Bytes()
	header.Ethernet(fr).Encode(m.mac, r.mac, header.EtherTypeIPv4)
	ip := header.IPv4(fr[header.EthernetMinimumSize:])
	ip.Encode(&header.IPv4Fields{TotalLength: uint16(total), TTL: 64, Protocol: header.ProtoICMPv4, Src: src.As4(), Dst: p.Src.As4()})
	ic := header.ICMPv4(fr[header.EthernetMinimumSize+header.IPv4MinimumSize:])
	ic.Encode(typ, code, 0)
	copy(ic.Payload(), orig[:n])
	ic.SetChecksum(ic.CalculateChecksum())
	if res.Trace.Enabled() {
		var q packet.Parsed
		q.Decode(fr)
		res.Trace.Add(trace.Event{Component: "router", Port: f.ports[r.port].Name, Action: "icmp-error",
			Detail: "type " + strconv.Itoa(int(typ)) + " code " + strconv.Itoa(int(code)) + " to " + p.Src.String(), After: trace.Snap(&q, 0)})
	}
	f.queue = append(f.queue, wireFrame{from: r.port, buf: rb})
}
