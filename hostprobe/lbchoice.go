package hostprobe

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/result"
)

// LBGroup is the backends of a load balancer with more than one. Which backend a
// connection gets is each datapath's own choice (VFP's hash, nftables' numgen or
// jhash), as a NAT's source port is, so the Comparer binds the backend backend A
// chose to the one B chose on first sight and holds later packets to that binding
// (normalised difference "lb-backend-choice"): source-IP affinity that one side
// keeps and the other breaks still shows as a difference.
type LBGroup struct {
	// Name is HOST/LB.
	Name     string
	Backends []LBBackend
}

// LBBackend is one backend: its address and, where a host of the topology has it as a
// local endpoint, that endpoint's port and MAC.
type LBBackend struct {
	Addr netip.Addr
	Port string
	MAC  net.HardwareAddr
}

// LBGroupsOf returns the load balancers of topo that have more than one backend. It
// returns nil for a topology the emulator rejects.
func LBGroupsOf(topo *fabric.Topology) []LBGroup {
	f, err := fabric.New(*topo, fabric.Options{})
	if err != nil {
		return nil
	}
	byAddr := map[netip.Addr]fabric.Port{}
	for _, p := range f.Ports() {
		if p.Kind != fabric.PortEndpoint {
			continue
		}
		for _, a := range p.IPs {
			if _, ok := byAddr[a]; !ok {
				byAddr[a] = p
			}
		}
	}
	var out []LBGroup
	for _, hs := range topo.Hosts {
		objs, err := hs.HNS.Clone()
		if err != nil || objs.Normalize() != nil {
			continue
		}
		for i, lb := range objs.LoadBalancers {
			if len(lb.HostComputeEndpoints) < 2 {
				continue
			}
			name := lb.Name
			if name == "" {
				name = lb.Id
			}
			if name == "" {
				name = "#" + strconv.Itoa(i)
			}
			g := LBGroup{Name: hs.Name + "/" + name}
			for _, id := range lb.HostComputeEndpoints {
				e := objs.EndpointByID(id)
				if e == nil || len(e.Addrs()) == 0 {
					continue
				}
				b := LBBackend{Addr: e.Addrs()[0]}
				if p, ok := byAddr[b.Addr]; ok {
					b.Port, b.MAC = p.Name, net.HardwareAddr(append([]byte(nil), p.MAC[:]...))
				}
				g.Backends = append(g.Backends, b)
			}
			if len(g.Backends) > 1 {
				out = append(out, g)
			}
		}
	}
	return out
}

// bindKind is the binding kind of group gi.
func bindKindLB(gi int) string { return "lb#" + strconv.Itoa(gi) }

// usedBackends returns the backends of group g that packet p mentions: as the port it
// was injected at or came out at, or as an address of its input frame or outputs.
func usedBackends(g *LBGroup, p *result.Packet) map[int]bool {
	used := map[int]bool{}
	note := func(port string, frame []byte) {
		src, dst, ok := ipAddrs(frame)
		for i, b := range g.Backends {
			if port != "" && port == b.Port || ok && (src == b.Addr || dst == b.Addr) {
				used[i] = true
			}
		}
	}
	note(p.In, p.Frame)
	for _, o := range p.Outputs {
		note(o.Port, o.Frame)
	}
	return used
}

// only returns the one member of s, if it has exactly one.
func only(s map[int]bool) (int, bool) {
	if len(s) != 1 {
		return 0, false
	}
	for k := range s {
		return k, true
	}
	return 0, false
}

// bindBackends binds, for each group, the backend a used to the one b used (for packets
// a load balancer handled in A: its trace passed VFP's LB layer or a translation), and
// returns the aliases that turn b's values (port names, addresses, MACs as spec prints
// them) into a's, and a difference for each pair that breaks an earlier binding (one
// side kept a client on its backend, the other did not).
func (c *Comparer) bindBackends(a, b *result.Packet) (map[string]string, []Difference) {
	var alias map[string]string
	var diffs []Difference
	if len(c.LBGroups) == 0 || !passedLayer(a, "LB") && !vfpTranslated(a) {
		return nil, nil // not load balanced in A: addresses of backends are compared as they are
	}
	for gi := range c.LBGroups {
		g := &c.LBGroups[gi]
		x, okA := only(usedBackends(g, a))
		y, okB := only(usedBackends(g, b))
		if !okA || !okB {
			continue
		}
		if !c.bindOK(bindKindLB(gi), "", uint64(x), uint64(y)) {
			diffs = append(diffs, Difference{What: "field", Field: "lb-backend " + g.Name, A: g.Backends[x].Addr.String(),
				B: g.Backends[y].Addr.String()})
			continue
		}
		if x == y {
			continue
		}
		if alias == nil {
			alias = map[string]string{}
		}
		bx, by := g.Backends[x], g.Backends[y]
		alias[by.Addr.String()] = bx.Addr.String()
		if bx.Port != "" && by.Port != "" {
			alias[by.Port] = bx.Port
		}
		if bx.MAC != nil && by.MAC != nil {
			alias[by.MAC.String()] = bx.MAC.String()
		}
	}
	return alias, diffs
}

// translateBackends rewrites an input that goes to or comes from a backend A chose
// into the one B chose (port, IPv4 addresses and MACs, checksums recomputed). f is the
// frame so far (a copy, or nil: none made yet); it returns the new port and frame.
func (c *Comparer) translateBackends(port string, orig, f []byte) (string, []byte) {
	for gi := range c.LBGroups {
		g := &c.LBGroups[gi]
		for x, bx := range g.Backends {
			yv, ok := c.ab[bindKey{bindKindLB(gi), uint64(x), ""}]
			if !ok || int(yv) >= len(g.Backends) || int(yv) == x {
				continue
			}
			by := g.Backends[yv]
			cur := f
			if cur == nil {
				cur = orig
			}
			src, dst, okIP := ipAddrs(cur)
			if port != bx.Port && !(okIP && (src == bx.Addr || dst == bx.Addr)) {
				continue
			}
			if port == bx.Port && by.Port != "" {
				port = by.Port
			}
			if f == nil {
				f = append([]byte(nil), orig...)
			}
			rewriteEndpoint(f, bx, by)
		}
	}
	return port, f
}

// rewriteEndpoint replaces backend x's MAC and IPv4 address by y's in an Ethernet/IPv4
// frame, recomputing the IPv4 header and TCP/UDP/ICMP checksums.
func rewriteEndpoint(f []byte, x, y LBBackend) {
	if len(f) >= 12 && x.MAC != nil && y.MAC != nil {
		for _, off := range []int{0, 6} {
			if string(f[off:off+6]) == string(x.MAC) {
				copy(f[off:off+6], y.MAC)
			}
		}
	}
	if len(f) < 14+20 || binary.BigEndian.Uint16(f[12:14]) != 0x0800 || !x.Addr.Is4() || !y.Addr.Is4() {
		return
	}
	ip := f[14:]
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if ihl < 20 || total < ihl || total > len(ip) {
		return
	}
	xa, ya := x.Addr.As4(), y.Addr.As4()
	for _, off := range []int{12, 16} {
		if [4]byte(ip[off:off+4]) == xa {
			copy(ip[off:off+4], ya[:])
		}
	}
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:12], ^uint16(foldSum(onesSum(0, ip[:ihl]))))
	if binary.BigEndian.Uint16(ip[6:8])&0x1fff == 0 {
		fixL4Checksum(ip[:total], ihl, ip[9])
	}
}

// foldSum folds a one's complement sum to 16 bits.
func foldSum(s uint32) uint32 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return s
}

// ipAddrs returns the source and destination of a frame's outermost IP packet.
func ipAddrs(f []byte) (src, dst netip.Addr, ok bool) {
	if len(f) < 14 {
		return src, dst, false
	}
	switch binary.BigEndian.Uint16(f[12:14]) {
	case 0x0800:
		if len(f) >= 14+20 {
			return netip.AddrFrom4([4]byte(f[26:30])), netip.AddrFrom4([4]byte(f[30:34])), true
		}
	case 0x86dd:
		if len(f) >= 14+40 {
			return netip.AddrFrom16([16]byte(f[22:38])), netip.AddrFrom16([16]byte(f[38:54])), true
		}
	}
	return src, dst, false
}
