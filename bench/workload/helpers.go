package workload

import (
	"embed"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/vfp"
)

// The built-in topologies, derived from emulator/fabric/testdata (the same
// hosts, MACs and HNS objects, so the frames that work there work here).
//
//go:embed topo/*.json
var topoFS embed.FS

// loadTopo returns a fresh copy of built-in topology name.
func loadTopo(name string) (fabric.Topology, error) {
	var t fabric.Topology
	b, err := topoFS.ReadFile("topo/" + name + ".json")
	if err != nil {
		return t, fmt.Errorf("built-in topology %s: %w", name, err)
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("built-in topology %s: %w", name, err)
	}
	return t, nil
}

// arpFor asks, from the endpoint at port (MAC mac, address ip), for target's
// MAC, the way a container learns its gateway's.
func arpFor(f *fabric.Fabric, port string, mac macAddr, ip, target netip.Addr) (macAddr, error) {
	id, ok := f.PortByName(port)
	if !ok {
		return macAddr{}, fmt.Errorf("topology has no port %q", port)
	}
	req := make([]byte, header.EthernetMinimumSize+header.ARPSize)
	header.Ethernet(req).Encode(header.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, header.MAC(mac), header.EtherTypeARP)
	header.ARP(req[header.EthernetMinimumSize:]).Encode(header.ARPRequest, header.MAC(mac), ip, header.MAC{}, target)
	var res fabric.Outcome
	f.Inject(id, req, startNS, &res)
	for _, o := range res.Outputs {
		if o.Port != id || o.Kind != fabric.Delivered {
			continue
		}
		var p packet.Parsed
		p.Decode(o.Frame)
		if p.Kind == packet.KindARP && p.Valid() && p.ARP().Op() == header.ARPReply && p.Src == target {
			return macAddr(p.ARP().SenderMAC()), nil
		}
	}
	if len(res.Drops) > 0 {
		return macAddr{}, fmt.Errorf("ARP for %v from %s: dropped: %s", target, port, describeDrop(&res.Drops[0]))
	}
	return macAddr{}, fmt.Errorf("ARP for %v from %s: no reply", target, port)
}

// vfpFlows returns a counter of the unified flows created in direction dir of
// the VFP ports of the named endpoints of host.
func vfpFlows(host string, dir vfp.Direction, endpoints ...string) func(f *fabric.Fabric) uint64 {
	return func(f *fabric.Fabric) uint64 {
		h, ok := f.Host(host)
		if !ok {
			return 0
		}
		var n uint64
		for _, name := range endpoints {
			ei, ok := h.EndpointByName(name)
			if !ok {
				continue
			}
			e := &h.Endpoints[ei]
			vp := h.VFP(e.Switch, e.Port)
			if vp == nil {
				continue
			}
			c := vp.Counters()
			if dir == vfp.In {
				n += c.In.FlowsCreated
			} else {
				n += c.Out.FlowsCreated
			}
		}
		return n
	}
}

// natSessions returns a counter of the WinNAT sessions host created.
func natSessions(host string) func(f *fabric.Fabric) uint64 {
	return func(f *fabric.Fabric) uint64 {
		h, ok := f.Host(host)
		if !ok || h.NAT() == nil {
			return 0
		}
		return h.NAT().Stats().SessionsCreated
	}
}

// want lists what a delivered UDP/IPv4 frame must carry; zero fields are not
// checked.
type want struct {
	srcMAC, dstMAC macAddr
	src, dst       [4]byte
	sport, dport   uint16
	ttl            uint8
	// sportIn, when set, is a range the source port must fall in (a NAT pool).
	sportIn [2]uint16
}

// checkUDP4 decodes out and compares it with w. It also requires valid IPv4 and
// UDP checksums, so a datapath that rewrites headers without fixing them
// fails the sample.
func checkUDP4(out []byte, w want) error {
	var p packet.Parsed
	p.Decode(out)
	if !p.Valid() || p.Kind != packet.KindIPv4 || p.IPProto != 17 || p.L4 == 0 {
		return fmt.Errorf("delivered frame is not a valid UDP/IPv4 frame (kind %v, %v)", p.Kind, p.Err)
	}
	if err := udpChecksumOK(&p); err != nil {
		return err
	}
	type field struct {
		name      string
		got, want string
		skip      bool
	}
	src, dst := p.Src.As4(), p.Dst.As4()
	fs := []field{
		{"source MAC", header.MAC(p.SrcMAC).String(), header.MAC(w.srcMAC).String(), w.srcMAC == macAddr{}},
		{"destination MAC", header.MAC(p.DstMAC).String(), header.MAC(w.dstMAC).String(), w.dstMAC == macAddr{}},
		{"source address", netip.AddrFrom4(src).String(), netip.AddrFrom4(w.src).String(), w.src == [4]byte{}},
		{"destination address", netip.AddrFrom4(dst).String(), netip.AddrFrom4(w.dst).String(), w.dst == [4]byte{}},
		{"source port", fmt.Sprint(p.SrcPort), fmt.Sprint(w.sport), w.sport == 0},
		{"destination port", fmt.Sprint(p.DstPort), fmt.Sprint(w.dport), w.dport == 0},
		{"TTL", fmt.Sprint(p.TTL), fmt.Sprint(w.ttl), w.ttl == 0},
	}
	for _, f := range fs {
		if !f.skip && f.got != f.want {
			return fmt.Errorf("delivered with %s %s, want %s", f.name, f.got, f.want)
		}
	}
	if w.sportIn != [2]uint16{} && (p.SrcPort < w.sportIn[0] || p.SrcPort > w.sportIn[1]) {
		return fmt.Errorf("delivered with source port %d, want one in %d-%d", p.SrcPort, w.sportIn[0], w.sportIn[1])
	}
	return nil
}

// udpChecksumOK verifies the UDP checksum of a decoded IPv4 frame (0 means
// none, RFC 768). packet.Decode already verified the IPv4 header checksum.
func udpChecksumOK(p *packet.Parsed) error {
	b := p.Bytes()
	ip, udp := b[p.L3:p.L4], b[p.L4:p.End]
	got := binary.BigEndian.Uint16(udp[6:])
	if got == 0 {
		return nil
	}
	c := make([]byte, len(udp))
	copy(c, udp)
	c[6], c[7] = 0, 0
	if want := udpChecksum(ip, c); got != want {
		return fmt.Errorf("delivered with UDP checksum %#04x, want %#04x", got, want)
	}
	return nil
}

// vxlanInner returns the inner frame of a VXLAN/UDP/IPv4 frame after checking
// the outer headers against w (source port unchecked: VFP hashes it from the
// inner flow) and the VNI.
func vxlanInner(out []byte, w want, vni uint32) ([]byte, error) {
	var p packet.Parsed
	p.Decode(out)
	if !p.Valid() || p.Kind != packet.KindIPv4 || p.IPProto != 17 || p.L4 == 0 {
		return nil, fmt.Errorf("delivered frame is not a valid UDP/IPv4 frame (kind %v, %v)", p.Kind, p.Err)
	}
	if err := checkUDP4(out, w); err != nil {
		return nil, fmt.Errorf("outer headers: %w", err)
	}
	vx := header.VXLAN(out[p.L4+8 : p.End])
	if !vx.IsValid() {
		return nil, fmt.Errorf("no valid VXLAN header after UDP port %d", p.DstPort)
	}
	if vx.VNI() != vni {
		return nil, fmt.Errorf("VXLAN VNI %d, want %d", vx.VNI(), vni)
	}
	return out[p.L4+8+header.VXLANSize : p.End], nil
}
