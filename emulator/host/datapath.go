package host

import (
	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/trace"
	"github.com/hnspath/hnspath/emulator/vfp"
	"github.com/hnspath/hnspath/emulator/vswitch"
)

// snapIf returns a snapshot of p when tracing is on.
func snapIf(out *Outbox, p *packet.Parsed) trace.Snapshot {
	if out.Trace.Enabled() {
		return trace.Snap(p, header.VXLANPort)
	}
	return trace.Snapshot{}
}

// InjectEndpoint handles a frame sent by endpoint ei: a container vNIC
// (the frame enters its switch port) or the management OS (HostEndpoint:
// the stack routes it). The host takes ownership of buf.
func (h *Host) InjectEndpoint(ei int, buf *packet.Buffer, out *Outbox) {
	var p packet.Parsed
	p.Decode(buf.Bytes())
	if ei == HostEndpoint {
		h.Stack.send(buf, &p, out)
		return
	}
	fast := h.Stack.nat != nil && !h.fast.off && !out.Trace.Enabled() && fastEligible(&p)
	if fast && h.fastForward(pathOut, ei, buf, &p, out) {
		return // the cached path checked the vNIC's MTU as well
	}
	e := &h.Endpoints[ei]
	if mtu := h.Switches[e.Switch].Port(e.Port).MTU; mtu > 0 && p.IsIP() && p.L3Len() > mtu {
		// The vNIC's MTU bounds what the container sends as well (1450 on
		// overlay): a bigger frame is dropped at the port (pktmon reason 23).
		h.dropMTU(out, CompVSwitch, e.Name, buf, &p, mtu)
		return
	}
	if fast {
		h.slowOutbound(ei, buf, &p, out)
		return
	}
	h.switchIngress(e.Switch, e.Port, buf, &p, out)
}

// ReceiveWire handles a frame arriving from the wire at NIC ni.
func (h *Host) ReceiveWire(ni int, buf *packet.Buffer, out *Outbox) {
	var p packet.Parsed
	p.Decode(buf.Bytes())
	n := h.NICs[ni]
	fast := n.Switch < 0 && h.Stack.nat != nil && !h.fast.off && !out.Trace.Enabled() && fastEligible(&p)
	if fast && h.fastForward(pathIn, ni, buf, &p, out) {
		return // the cached path checked the NIC's MTU as well
	}
	if out.Trace.Enabled() {
		out.Trace.Add(trace.Event{Host: h.Name, Component: CompNIC, Port: n.Name, Action: "receive", After: trace.Snap(&p, header.VXLANPort)})
	}
	if p.IsIP() && p.L3Len() > n.MTU {
		// A frame larger than the adapter's MTU does not get in (pktmon
		// drop reason 23); with VXLAN this is how inner packets over
		// MTU - 50 are lost between hosts (windows-behaviour.md §4 item 2).
		h.dropMTU(out, CompNIC, n.Name, buf, &p, n.MTU)
		return
	}
	if n.Switch >= 0 {
		h.switchIngress(n.Switch, h.Switches[n.Switch].ExternalPort(), buf, &p, out)
		return
	}
	if fast {
		h.slowInbound(ni, buf, &p, out)
		return
	}
	h.Stack.receive(n.Iface, buf, &p, out)
}

func (h *Host) portName(si int, port vswitch.PortID) string {
	return h.Switches[si].Port(port).Name
}

func (h *Host) dropAt(out *Outbox, comp, port string, buf *packet.Buffer, p *packet.Parsed, r drop.Reason, layer, group, rule string) {
	out.drop(Drop{Host: h.Name, Component: comp, Port: port, Reason: r, Layer: layer, Group: group, Rule: rule, Buf: buf})
	if out.Trace.Enabled() {
		out.Trace.Add(trace.Event{Host: h.Name, Component: comp, Port: port, Action: "drop", Reason: r, Detail: r.Text(),
			Layer: layer, Group: group, Rule: rule, Before: trace.Snap(p, header.VXLANPort)})
	}
}

// dropMTU drops a frame whose IP packet does not fit mtu (pktmon reason 23), saying
// both in the trace ("length L > MTU M").
func (h *Host) dropMTU(out *Outbox, comp, port string, buf *packet.Buffer, p *packet.Parsed, mtu int) {
	out.drop(Drop{Host: h.Name, Component: comp, Port: port, Reason: drop.MTUMismatch, Buf: buf})
	if out.Trace.Enabled() {
		out.Trace.Add(trace.Event{Host: h.Name, Component: comp, Port: port, Action: "drop", Reason: drop.MTUMismatch,
			Detail: drop.MTUMismatch.Text() + " (length " + itoa(p.L3Len()) + " > MTU " + itoa(mtu) + ")", Before: trace.Snap(p, header.VXLANPort)})
	}
}

// runVFP runs a port's VFP layers in direction dir and reports whether
// the frame survives. After encapsulation or decapsulation p describes the
// new outermost headers.
func (h *Host) runVFP(v *vfp.Port, dir vfp.Direction, si int, port vswitch.PortID, buf *packet.Buffer, p *packet.Parsed, out *Outbox) bool {
	out.rec.bad = true // VFP has its own flow table (the unified flow table)
	if res := v.Process(dir, buf, p, out.Now, out.Trace); res.Verdict == vfp.Drop {
		d := res.Drop()
		h.dropAt(out, CompVFP, h.portName(si, port), buf, p, d.Reason, d.Layer, d.Group, d.Rule)
		return false
	}
	return true
}

// switchIngress handles a frame entering switch si at port: the port's VFP
// outbound layers, then the forwarding decision.
func (h *Host) switchIngress(si int, port vswitch.PortID, buf *packet.Buffer, p *packet.Parsed, out *Outbox) {
	if !out.hop() {
		h.dropAt(out, CompVSwitch, h.portName(si, port), buf, p, drop.LoopDetected, "", "", "")
		return
	}
	if v := h.vfps[si][port]; v != nil {
		if !h.runVFP(v, vfp.Out, si, port, buf, p, out) {
			return
		}
	}
	sw := h.Switches[si]
	if p.Kind == packet.KindARP && sw.Port(port).Kind == vswitch.PortVM && h.proxyARP(si, port, buf, p, out) {
		return
	}
	d := sw.Forward(port, p)
	if d.SNAT {
		if v := h.vfps[si][d.Port]; v == nil || !v.HasFlow(vfp.In, p, out.Now) {
			d = sw.ForwardL2(port, p)
		}
	}
	if d.Reason != drop.None {
		h.dropAt(out, CompVSwitch, h.portName(si, port), buf, p, d.Reason, "", "", "")
		return
	}
	if !d.Flood {
		if out.Trace.Enabled() {
			out.Trace.Add(trace.Event{Host: h.Name, Component: CompVSwitch, Port: h.portName(si, port), Action: "forward",
				Detail: sw.Name + ": " + h.portName(si, port) + " -> " + h.portName(si, d.Port), After: trace.Snap(p, header.VXLANPort)})
		}
		h.switchEgress(si, d.Port, buf, p, out)
		return
	}
	out.rec.bad = true
	var arr [16]vswitch.PortID
	targets := sw.FloodTargets(port, arr[:0])
	if out.Trace.Enabled() {
		out.Trace.Add(trace.Event{Host: h.Name, Component: CompVSwitch, Port: h.portName(si, port), Action: "flood",
			Detail: sw.Name, After: trace.Snap(p, header.VXLANPort)})
	}
	if len(targets) == 0 {
		h.dropAt(out, CompVSwitch, h.portName(si, port), buf, p, drop.NoDestBroadcast, "", "", "")
		return
	}
	for i, t := range targets {
		b := buf
		if i < len(targets)-1 {
			b = out.Pool.Get()
			b.Set(buf.Bytes())
		}
		var q packet.Parsed
		q.Decode(b.Bytes())
		h.switchEgress(si, t, b, &q, out)
	}
}

// switchEgress delivers a frame to port: the port's VFP inbound layers,
// then whatever is plugged in.
func (h *Host) switchEgress(si int, port vswitch.PortID, buf *packet.Buffer, p *packet.Parsed, out *Outbox) {
	if v := h.vfps[si][port]; v != nil {
		if !h.runVFP(v, vfp.In, si, port, buf, p, out) {
			return
		}
	}
	b := h.ports[si][port]
	if h.Switches[si].Port(port).Disabled {
		h.dropAt(out, CompVSwitch, h.portName(si, port), buf, p, drop.DestNICDisabled, "", "", "")
		return
	}
	switch {
	case b.endpoint >= 0:
		if mtu := h.Switches[si].Port(port).MTU; mtu > 0 && p.IsIP() && p.L3Len() > mtu {
			h.dropMTU(out, CompVSwitch, h.portName(si, port), buf, p, mtu)
			return
		}
		if out.Trace.Enabled() {
			out.Trace.Add(trace.Event{Host: h.Name, Component: CompEndpoint, Port: h.Endpoints[b.endpoint].Name, Action: "deliver",
				After: trace.Snap(p, header.VXLANPort)})
		}
		out.emit(Emit{Kind: Deliver, Endpoint: b.endpoint, Buf: buf})
	case b.iface >= 0:
		h.Stack.receive(b.iface, buf, p, out)
	case b.nic >= 0:
		h.transmit(b.nic, buf, p, out)
	default:
		h.dropAt(out, CompVSwitch, h.portName(si, port), buf, p, drop.NoDestUnicast, "", "", "")
	}
}

// transmit sends a frame on the wire through NIC ni.
func (h *Host) transmit(ni int, buf *packet.Buffer, p *packet.Parsed, out *Outbox) {
	n := h.NICs[ni]
	if p.IsIP() && p.L3Len() > n.MTU {
		// pktmon drop reason 23: the frame does not fit the adapter's MTU.
		h.dropMTU(out, CompNIC, n.Name, buf, p, n.MTU)
		return
	}
	if out.Trace.Enabled() {
		out.Trace.Add(trace.Event{Host: h.Name, Component: CompNIC, Port: n.Name, Action: "transmit", After: trace.Snap(p, header.VXLANPort)})
	}
	out.emit(Emit{Kind: Wire, NIC: ni, Buf: buf})
}

// proxyARP answers an ARP request from a vNIC for an address the switch's
// VFP extension proxies (a virtual gateway) and reports whether it did.
func (h *Host) proxyARP(si int, port vswitch.PortID, buf *packet.Buffer, p *packet.Parsed, out *Outbox) bool {
	if !p.Valid() {
		return false
	}
	a := p.ARP()
	if a.Op() != header.ARPRequest {
		return false
	}
	mac, ok := h.Switches[si].ARPProxy(p.Dst)
	if !ok {
		return false
	}
	rb := out.Pool.Get()
	rb.SetLen(header.EthernetMinimumSize + header.ARPSize)
	f := rb.Bytes()
	header.Ethernet(f).Encode(a.SenderMAC(), mac, header.EtherTypeARP)
	header.ARP(f[header.EthernetMinimumSize:]).Encode(header.ARPReply, mac, p.Dst, a.SenderMAC(), p.Src)
	if out.Trace.Enabled() {
		out.Trace.Add(trace.Event{Host: h.Name, Component: CompVFP, Port: h.portName(si, port), Action: "answer-arp",
			Detail: p.Dst.String() + " is-at " + mac.String() + " (VFP ARP proxy)"})
	}
	out.Pool.Put(buf)
	var q packet.Parsed
	q.Decode(f)
	h.switchEgress(si, port, rb, &q, out)
	return true
}
