package linux

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The Linux analogue of HNS load balancing (hcn HostComputeLoadBalancer, VFP LBNAT):
// nftables NAT in a host namespace, the way kube-proxy's nftables mode builds services.
// Each load balancer has its own regular chains, jumped to from the nat base chains, so
// that an update (kube-proxy's HcnModifyLoadBalancer) replaces its rules in one
// transaction:
//
//	lb-<name>   (from prerouting, dstnat)  VIP:port -> a backend, chosen by numgen random
//	                                       mod N (per connection) or jhash of the source
//	                                       (DistributionType SourceIP / SourceIPProtocol);
//	                                       frontends of traffic from the wire match the
//	                                       wire mark, those of pods do not
//	lbh-<name>  (from output-nat, dstnat)  the host's own traffic to a LocalRoutedVIP
//	lbs-<name>  (from postrouting, srcnat) snat of wire traffic to the SourceVIP, chosen
//	                                       by the conntrack mark the DNAT rule set
//
// PreserveDIP translates the port only (dnat to :port) and routes the packet to the
// chosen backend by a firewall mark (ip rule fwmark -> a table with a route via the
// backend), restored from the conntrack mark for the connection's later packets.

// Marks of the load balancer analogue.
const (
	// WireMark is the meta mark of packets that came in from the wire (a NIC or a VXLAN
	// device): HNS applies LB_EXTERNAL rules on the vSwitch's external port only.
	WireMark uint32 = 0x1
	// The conntrack mark: bits 0-15 hold a wire frontend's SNAT number, bits 16-23 a
	// PreserveDIP backend's route number (1-based; also in the meta mark, for the route
	// lookup), bits 24-31 the source NAT decisions made before DNAT (Masquerade.Original).
	snatMarkMask   = 0x0000ffff
	routeMarkShift = 16
	routeMarkMask  = 0x00ff0000
	origMarkShift  = 24
	origMarkMask   = 0xff000000
	// RouteTableBase is the routing table of PreserveDIP route number 1.
	RouteTableBase = 100
)

// LBSource says which traffic a load balancer frontend translates.
type LBSource uint8

const (
	// LBFromPods is traffic of the host's containers (VFP LB layer on container ports).
	LBFromPods LBSource = iota + 1
	// LBFromWire is traffic from the wire (the external port), marked WireMark.
	LBFromWire
	// LBFromHost is the host's own traffic (LocalRoutedVIP, the management vNIC's port).
	LBFromHost
)

// String returns "pods", "wire" or "host".
func (s LBSource) String() string {
	switch s {
	case LBFromPods:
		return "pods"
	case LBFromWire:
		return "wire"
	case LBFromHost:
		return "host"
	}
	return fmt.Sprintf("lb-source(%d)", uint8(s))
}

// Distribution is how a frontend spreads connections over its backends (HNS
// LoadBalancerDistribution).
type Distribution uint8

const (
	// DistributePerConnection picks a backend per connection (numgen random).
	DistributePerConnection Distribution = iota
	// DistributeSourceIPProtocol sends one client address and protocol to one backend
	// (jhash ip saddr . meta l4proto).
	DistributeSourceIPProtocol
	// DistributeSourceIP sends one client address to one backend (jhash ip saddr).
	DistributeSourceIP
)

// lbHashSeed is the jhash seed: fixed, so that a client's backend does not change
// between runs (nft picks a random seed when none is given).
const lbHashSeed = 0x686e7370 // "hnsp"

// LBFrontend is one translated VIP:port of a load balancer.
type LBFrontend struct {
	From  LBSource
	Proto uint8 // ProtoTCP or ProtoUDP
	VIP   netip.Addr
	Port  uint16
	// Backends are the DIPs; TargetPort their port. No backends: the frontend drops
	// (VFP blocks an LB rule without DIPs).
	Backends   []netip.Addr
	TargetPort uint16
	Dist       Distribution
	// SNAT, when valid, translates the client's source to it (the SourceVIP, or the VIP
	// without one); SNATID numbers it in the conntrack mark (1..0xffff, unique per
	// namespace).
	SNAT   netip.Addr
	SNATID uint16
	// PreserveDIP leaves the destination address as the VIP; Routes[i] is the route
	// number (1-based, unique per namespace) of Backends[i]: the plan adds
	// `ip rule fwmark route<<16 lookup RouteTableBase+route-1` with a route via the backend.
	PreserveDIP bool
	Routes      []uint16
}

// LoadBalancer is the nftables analogue of one HNS load balancer.
type LoadBalancer struct {
	// Name is unique per namespace; chains are named after it.
	Name      string
	Frontends []LBFrontend
}

// lbChains returns the chain names of a load balancer.
func lbChains(name string) (pre, host, snat string) {
	return "lb-" + name, "lbh-" + name, "lbs-" + name
}

// SetLoadBalancer creates load balancer lb, or replaces its rules if it exists, in one
// transaction. Connections conntrack already translated keep their backend (the kernel
// chooses a NAT binding once per connection).
func (n *Namespace) SetLoadBalancer(lb LoadBalancer) error {
	return n.nftOp(fmt.Sprintf("set load balancer %q", lb.Name), func(c *nftables.Conn) error {
		if err := checkNFTName(lb.Name); err != nil {
			return fmt.Errorf("load balancer %q: %w", lb.Name, err)
		}
		pre, host, snat := lbChains(lb.Name)
		need := map[string]bool{}
		for _, f := range lb.Frontends {
			if f.From == LBFromHost {
				need[host] = true
			} else {
				need[pre] = true
			}
			if f.SNAT.IsValid() && f.From == LBFromWire {
				need[snat] = true
			}
		}
		// Base chains first, in their own transaction: the anonymous maps of the rules
		// below must be sent in the same transaction as the rules that use them.
		base := map[string]string{pre: chainPrerouting, host: chainOutputNAT, snat: chainPostrouting}
		baseChains := map[string]*nftables.Chain{}
		for _, name := range []string{pre, host, snat} {
			if _, ok := n.nft.chains[name]; ok || !need[name] {
				continue
			}
			b, err := n.ensureChain(c, base[name])
			if err != nil {
				return err
			}
			baseChains[name] = b
		}
		rules := map[string][][]expr.Any{}
		for i, f := range lb.Frontends {
			ex, err := lbFrontendExprs(c, n.nft.table, f)
			if err != nil {
				return fmt.Errorf("load balancer %q frontend %d: %w", lb.Name, i, err)
			}
			ch := pre
			if f.From == LBFromHost {
				ch = host
			}
			rules[ch] = append(rules[ch], ex)
			if f.SNAT.IsValid() && f.From == LBFromWire {
				rules[snat] = append(rules[snat], lbSNATExprs(f))
			}
		}
		added := map[string]*nftables.Chain{}
		for _, name := range []string{pre, host, snat} {
			ch, ok := n.nft.chains[name]
			if !ok {
				if !need[name] {
					continue
				}
				ch = c.AddChain(&nftables.Chain{Name: name, Table: n.nft.table})
				added[name] = ch
				c.AddRule(&nftables.Rule{Table: n.nft.table, Chain: baseChains[name], UserData: comment(name),
					Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: name}}})
			} else {
				c.FlushChain(ch)
			}
			for _, ex := range rules[name] {
				c.AddRule(&nftables.Rule{Table: n.nft.table, Chain: ch, Exprs: ex, UserData: comment(name)})
			}
		}
		if err := c.Flush(); err != nil {
			return err
		}
		for name, ch := range added {
			n.nft.chains[name] = ch
		}
		return nil
	})
}

// checkNFTName checks a name used in chain names (at most 255 bytes with the prefix; no
// NUL).
func checkNFTName(s string) error {
	if s == "" || len(s) > 200 {
		return fmt.Errorf("name of %d bytes: want 1 to 200", len(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return fmt.Errorf("name has a NUL byte")
		}
	}
	return nil
}

// lbFrontendExprs returns the DNAT rule of a frontend; anonymous maps it needs are added
// to c (they live as long as the rule).
func lbFrontendExprs(c *nftables.Conn, t *nftables.Table, f LBFrontend) ([]expr.Any, error) {
	if f.Proto != ProtoTCP && f.Proto != ProtoUDP {
		return nil, fmt.Errorf("proto %d: want %d (tcp) or %d (udp)", f.Proto, ProtoTCP, ProtoUDP)
	}
	if !f.VIP.IsValid() || f.Port == 0 || f.TargetPort == 0 {
		return nil, fmt.Errorf("vip, port and target port are required")
	}
	if f.From < LBFromPods || f.From > LBFromHost {
		return nil, fmt.Errorf("source %v: unknown", f.From)
	}
	fam := familyOf(f.VIP)
	for _, b := range f.Backends {
		if familyOf(b) != fam {
			return nil, fmt.Errorf("backend %v and vip %v are of different families", b, f.VIP)
		}
	}
	if f.PreserveDIP && len(f.Routes) != len(f.Backends) {
		return nil, fmt.Errorf("preserve dip: %d routes for %d backends", len(f.Routes), len(f.Backends))
	}
	if f.SNAT.IsValid() && (familyOf(f.SNAT) != fam || f.SNATID == 0) {
		return nil, fmt.Errorf("snat %v (id %d): want an address of the vip's family and an id", f.SNAT, f.SNATID)
	}
	var ex []expr.Any
	ex = append(ex, matchFamily(fam)...)
	switch f.From {
	case LBFromWire:
		ex = append(ex, matchMetaMark(WireMark, WireMark)...)
	case LBFromPods:
		ex = append(ex, matchMetaMark(WireMark, 0)...)
	}
	ex = append(ex, matchL4Proto(f.Proto)...)
	ex = append(ex, matchPrefix(netip.PrefixFrom(f.VIP.Unmap(), f.VIP.Unmap().BitLen()), false, expr.CmpOpEq)...)
	ex = append(ex, matchPorts(false, Port(f.Port))...)
	ex = append(ex, &expr.Counter{})
	if len(f.Backends) == 0 {
		return append(ex, &expr.Verdict{Kind: expr.VerdictDrop}), nil
	}
	// Register 1 gets the backend's number (0..N-1).
	pick := func() []expr.Any {
		nb := uint32(len(f.Backends))
		switch {
		case nb == 1:
			return []expr.Any{&expr.Immediate{Register: 1, Data: binary.NativeEndian.AppendUint32(nil, 0)}}
		case f.Dist == DistributePerConnection:
			return []expr.Any{&expr.Numgen{Register: 1, Modulus: nb, Type: unix.NFT_NG_RANDOM}}
		}
		src := []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4}}
		l := uint32(4)
		if fam == famIPv6 {
			src = []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 8, Len: 16}}
			l = 16
		}
		if f.Dist == DistributeSourceIPProtocol {
			// The protocol goes into the 32-bit register after the address (NFT_REG32_00 = 8).
			src = append(src, &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 8 + l/4})
			l += 4
		}
		return append(src, &expr.Hash{SourceRegister: 1, DestRegister: 1, Length: l, Modulus: nb, Seed: lbHashSeed,
			Type: expr.HashTypeJenkins})
	}
	lookup := func(data nftables.SetDatatype, vals [][]byte) ([]expr.Any, error) {
		m := &nftables.Set{Table: t, Anonymous: true, Constant: true, IsMap: true, KeyType: nftables.TypeInteger, DataType: data}
		var els []nftables.SetElement
		for i, v := range vals {
			els = append(els, nftables.SetElement{Key: binary.NativeEndian.AppendUint32(nil, uint32(i)), Val: v})
		}
		if err := c.AddSet(m, els); err != nil {
			return nil, err
		}
		return []expr.Any{&expr.Lookup{SourceRegister: 1, DestRegister: 1, IsDestRegSet: true, SetID: m.ID, SetName: m.Name}}, nil
	}
	ex = append(ex, pick()...)
	mark := uint32(f.SNATID)
	if f.PreserveDIP {
		var marks [][]byte
		for _, r := range f.Routes {
			marks = append(marks, binary.NativeEndian.AppendUint32(nil, uint32(r)<<routeMarkShift|mark))
		}
		lk, err := lookup(nftables.TypeMark, marks)
		if err != nil {
			return nil, err
		}
		ex = append(ex, lk...)
		// The route mark steers the first packet; the conntrack mark keeps it (and the
		// SNAT number) for the connection's later packets.
		ex = append(ex, &expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
			&expr.Ct{Key: expr.CtKeyMARK, Register: 2},
			&expr.Bitwise{SourceRegister: 2, DestRegister: 2, Len: 4, Mask: binary.NativeEndian.AppendUint32(nil, origMarkMask),
				Xor: make([]byte, 4)},
			// Register 1 has no bits of origMarkMask: OR by XOR.
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binary.NativeEndian.AppendUint32(nil, ^uint32(origMarkMask)),
				Xor: make([]byte, 4)},
			&expr.Ct{Key: expr.CtKeyMARK, SourceRegister: true, Register: 1},
			&expr.Immediate{Register: 2, Data: be16(f.TargetPort)},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: fam.nfproto(), RegProtoMin: 2, Specified: true})
		return ex, nil
	}
	if len(f.Backends) == 1 {
		ex = ex[:len(ex)-1] // no number needed
		ex = append(ex, &expr.Immediate{Register: 1, Data: f.Backends[0].Unmap().AsSlice()})
	} else {
		data := nftables.TypeIPAddr
		if fam == famIPv6 {
			data = nftables.TypeIP6Addr
		}
		var addrs [][]byte
		for _, b := range f.Backends {
			addrs = append(addrs, b.Unmap().AsSlice())
		}
		lk, err := lookup(data, addrs)
		if err != nil {
			return nil, err
		}
		ex = append(ex, lk...)
	}
	if mark != 0 {
		// Keep the source NAT decisions (origMarkMask) and add the SNAT number.
		ex = append(ex, &expr.Ct{Key: expr.CtKeyMARK, Register: 2},
			&expr.Bitwise{SourceRegister: 2, DestRegister: 2, Len: 4, Mask: binary.NativeEndian.AppendUint32(nil, origMarkMask),
				Xor: binary.NativeEndian.AppendUint32(nil, mark)},
			&expr.Ct{Key: expr.CtKeyMARK, SourceRegister: true, Register: 2})
	}
	ex = append(ex, &expr.Immediate{Register: 2, Data: be16(f.TargetPort)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: fam.nfproto(), RegAddrMin: 1, RegProtoMin: 2, Specified: true})
	return ex, nil
}

// lbSNATExprs returns the postrouting rule that translates the client of a wire
// frontend's connections (found by the SNAT number in the conntrack mark) to f.SNAT.
func lbSNATExprs(f LBFrontend) []expr.Any {
	fam := familyOf(f.SNAT)
	ex := matchFamily(fam)
	ex = append(ex,
		&expr.Ct{Key: expr.CtKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binary.NativeEndian.AppendUint32(nil, snatMarkMask),
			Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.NativeEndian.AppendUint32(nil, uint32(f.SNATID))},
		&expr.Counter{},
		&expr.Immediate{Register: 1, Data: f.SNAT.Unmap().AsSlice()},
		&expr.NAT{Type: expr.NATTypeSourceNAT, Family: fam.nfproto(), RegAddrMin: 1})
	return ex
}

// matchMetaMark matches packets whose meta mark, masked, equals val.
func matchMetaMark(mask, val uint32) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binary.NativeEndian.AppendUint32(nil, mask), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.NativeEndian.AppendUint32(nil, val)},
	}
}

// chain names of the marks.
const (
	chainWireMark       = "wire-mark"        // inet, prerouting, raw priority
	chainBridgeWireMark = "bridge-wire-mark" // bridge, prerouting, before the rewrites
	chainRouteMark      = "route-mark"       // inet, prerouting, after dstnat
)

// MarkWire sets WireMark on every packet that arrives by one of ifaces: bridge ports (in
// the bridge family, so that frames the bridge passes up to its own stack carry it) or
// the namespace's L3 interfaces. Call it once with every wire interface.
func (n *Namespace) MarkWire(ports, ifaces []string) error {
	return n.nftOp("mark wire traffic", func(c *nftables.Conn) error {
		set := func(name string) []expr.Any {
			ex := matchIfname(true, name)
			return append(ex, &expr.Counter{},
				&expr.Immediate{Register: 1, Data: binary.NativeEndian.AppendUint32(nil, WireMark)},
				&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1})
		}
		for _, p := range append(append([]string(nil), ports...), ifaces...) {
			if err := checkIfname(p); err != nil {
				return err
			}
		}
		if len(ports) > 0 {
			if _, err := n.ensureBridgeTable(c); err != nil {
				return err
			}
			ch, ok := n.nft.chains[chainBridgeWireMark]
			if !ok {
				pol := nftables.ChainPolicyAccept
				ch = c.AddChain(&nftables.Chain{Name: chainBridgeWireMark, Table: n.nft.bridge, Type: nftables.ChainTypeFilter,
					Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRef(-350), Policy: &pol})
				n.nft.chains[chainBridgeWireMark] = ch
			}
			for _, p := range ports {
				c.AddRule(&nftables.Rule{Table: n.nft.bridge, Chain: ch, Exprs: set(p), UserData: comment(chainBridgeWireMark)})
			}
		}
		if len(ifaces) > 0 {
			ch, ok := n.nft.chains[chainWireMark]
			if !ok {
				pol := nftables.ChainPolicyAccept
				ch = c.AddChain(&nftables.Chain{Name: chainWireMark, Table: n.nft.table, Type: nftables.ChainTypeFilter,
					Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRef(-350), Policy: &pol})
				n.nft.chains[chainWireMark] = ch
			}
			for _, p := range ifaces {
				c.AddRule(&nftables.Rule{Table: n.nft.table, Chain: ch, Exprs: set(p), UserData: comment(chainWireMark)})
			}
		}
		return c.Flush()
	})
}

// RestoreRouteMarks copies the route number of PreserveDIP connections from the
// conntrack mark to the meta mark of their clients' later packets (prerouting, after
// dstnat, before the route lookup).
func (n *Namespace) RestoreRouteMarks() error {
	return n.nftOp("restore route marks", func(c *nftables.Conn) error {
		if _, ok := n.nft.chains[chainRouteMark]; ok {
			return nil
		}
		pol := nftables.ChainPolicyAccept
		ch := c.AddChain(&nftables.Chain{Name: chainRouteMark, Table: n.nft.table, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRef(-90), Policy: &pol})
		c.AddRule(&nftables.Rule{Table: n.nft.table, Chain: ch, UserData: comment(chainRouteMark), Exprs: []expr.Any{
			// Only the client's packets: the backend's replies are routed to the client.
			&expr.Ct{Key: expr.CtKeyDIRECTION, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0}}, // IP_CT_DIR_ORIGINAL
			&expr.Ct{Key: expr.CtKeyMARK, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binary.NativeEndian.AppendUint32(nil, routeMarkMask),
				Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
			&expr.Counter{},
			&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
		}})
		if err := c.Flush(); err != nil {
			return err
		}
		n.nft.chains[chainRouteMark] = ch
		return nil
	})
}

// RouteMark returns the meta mark of PreserveDIP route number r, and its mask.
func RouteMark(r uint16) (mark, mask uint32) { return uint32(r) << routeMarkShift, routeMarkMask }
