package modes

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/reports"
	"github.com/hnspath/hnspath/result"
)

// headers are the fields of a frame the comparison shows. For a VXLAN
// frame they are the outer ones, with the inner frame in inner.
type headers struct {
	srcMAC, dstMAC net.HardwareAddr
	src, dst       netip.Addr
	proto          uint8
	sport, dport   uint16 // ICMP echo: the identifier in sport
	flags          string
	ttl            uint8
	length         int
	vni            uint32
	inner          *headers
	overhead       int // bytes before the inner frame
}

// parseHeaders decodes a frame's headers with gopacket. VXLAN (UDP 4789) is
// decoded layer by layer: the outer headers, then the inner frame with its
// own structs (docs/style.md §1: one parser would let the inner headers
// overwrite the outer ones).
func parseHeaders(b []byte) headers {
	h := headers{length: len(b)}
	pk := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.NoCopy)
	if e, ok := pk.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); ok {
		h.srcMAC, h.dstMAC = e.SrcMAC, e.DstMAC
	}
	switch ip := pk.NetworkLayer().(type) {
	case *layers.IPv4:
		h.src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		h.dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		h.proto, h.ttl = uint8(ip.Protocol), ip.TTL
	case *layers.IPv6:
		h.src, _ = netip.AddrFromSlice(ip.SrcIP)
		h.dst, _ = netip.AddrFromSlice(ip.DstIP)
		h.proto, h.ttl = uint8(ip.NextHeader), ip.HopLimit
	}
	switch l := pk.TransportLayer().(type) {
	case *layers.TCP:
		h.sport, h.dport = uint16(l.SrcPort), uint16(l.DstPort)
		h.flags = tcpFlags(l)
	case *layers.UDP:
		h.sport, h.dport = uint16(l.SrcPort), uint16(l.DstPort)
		if l.DstPort == 4789 && len(l.Payload) >= 8 {
			vx := l.Payload
			h.vni = uint32(vx[4])<<16 | uint32(vx[5])<<8 | uint32(vx[6])
			in := parseHeaders(vx[8:])
			h.inner = &in
			h.overhead = len(b) - len(vx) + 8
		}
	}
	if i, ok := pk.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		h.sport, h.dport = i.Id, i.Id
	}
	if e, ok := pk.Layer(layers.LayerTypeICMPv6Echo).(*layers.ICMPv6Echo); ok {
		h.sport, h.dport = e.Identifier, e.Identifier
	}
	return h
}

func tcpFlags(t *layers.TCP) string {
	var b strings.Builder
	for _, f := range []struct {
		on bool
		c  byte
	}{{t.FIN, 'F'}, {t.SYN, 'S'}, {t.RST, 'R'}, {t.PSH, 'P'}, {t.ACK, 'A'}, {t.URG, 'U'}} {
		if f.on {
			b.WriteByte(f.c)
		}
	}
	return b.String()
}

// String prints the headers on one line:
//
//	00:15:5d:aa:00:02 > 00:15:5d:00:00:01 172.16.0.2:53000 > 198.18.0.10:53 udp ttl 64 len 74
func (h headers) String() string {
	if !h.src.IsValid() {
		return fmt.Sprintf("%s > %s len %d", h.srcMAC, h.dstMAC, h.length)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s > %s %s > %s %s", h.srcMAC, h.dstMAC,
		hostPort(h.src, h.sport, h.proto), hostPort(h.dst, h.dport, h.proto), result.ProtoName(h.proto))
	if h.flags != "" {
		fmt.Fprintf(&b, " [%s]", h.flags)
	}
	fmt.Fprintf(&b, " ttl %d", h.ttl)
	if h.inner != nil {
		fmt.Fprintf(&b, " vxlan vni %d {%s}", h.vni, h.inner.String())
	}
	fmt.Fprintf(&b, " len %d", h.length)
	return b.String()
}

// wire describes a flow's first packet: as sent, on the host's wire, as
// received; whose MAC it carried on the wire, the translations and the
// encapsulation.
func (rp *replay) wire(fl *flow, frame []byte, res *result.Packet, sp, tp *placed, got []byte) *reports.Wire {
	in := parseHeaders(frame)
	wr := &reports.Wire{Sent: in.String()}
	// The wire of the host being planned: leaving it when the sender is
	// one of its endpoints, arriving when the receiver is.
	kind, local := "", sp
	switch {
	case sp.host == "host1" && tp.host != "host1":
		kind = result.KindWireTx
	case tp.host == "host1" && sp.host != "host1":
		kind, local = result.KindWireRx, tp
	}
	nicMAC := ""
	if id, ok := rp.f.PortByName("host1/eth0"); ok {
		m := rp.f.Port(id).MAC
		nicMAC = net.HardwareAddr(m[:]).String()
	}
	if kind != "" {
		for _, o := range res.Outputs {
			if o.Kind != kind || o.Port != "host1/eth0" {
				continue
			}
			h := parseHeaders(o.Frame)
			wr.OnWire = h.String()
			mac := h.srcMAC
			if kind == result.KindWireRx {
				mac = h.dstMAC
			}
			epMAC := strings.ToLower(strings.ReplaceAll(local.mac, "-", ":"))
			switch mac.String() {
			case epMAC:
				wr.MACOnWire = "container"
			case nicMAC:
				wr.MACOnWire = "host"
			default:
				wr.MACOnWire = mac.String()
			}
			if h.inner != nil {
				wr.Encap = fmt.Sprintf("VXLAN VNI %d", h.vni)
				wr.Overhead = h.overhead
			}
			break
		}
	}
	if got != nil {
		out := parseHeaders(got)
		wr.Received = out.String()
		ports := in.proto == 6 || in.proto == 17
		if in.src != out.src || in.sport != out.sport {
			wr.Translation = append(wr.Translation, fmt.Sprintf("SNAT %s -> %s", endpointString(in.src, in.sport, in.proto), endpointString(out.src, out.sport, out.proto)))
		}
		if in.dst != out.dst || (ports && in.dport != out.dport) {
			wr.Translation = append(wr.Translation, fmt.Sprintf("DNAT %s -> %s", endpointString(in.dst, in.dport, in.proto), endpointString(out.dst, out.dport, out.proto)))
		}
	}
	return wr
}

// endpointString formats an address with its port, or for ICMP with the
// echo identifier ("10.0.0.4 id 1024").
func endpointString(a netip.Addr, port uint16, proto uint8) string {
	if proto == 6 || proto == 17 {
		return netip.AddrPortFrom(a, port).String()
	}
	return fmt.Sprintf("%s id %d", a, port)
}
