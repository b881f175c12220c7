package fabric

import (
	"net/netip"

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
		f.dropComp(r.port, "router", buf, drop.NoRoute, res)
		return
	}
	if p.TTL <= 1 {
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
