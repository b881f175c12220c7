package linux

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/result"
	"golang.org/x/sys/unix"
)

// Drop reasons of the Linux backend. The kernel does not say why it dropped a packet;
// these say what the backend could observe.
const (
	// ReasonNoOutput: the packet came out nowhere and no counted rule dropped it.
	ReasonNoOutput = "linux-no-output"
	// ReasonNoListener: the host's stack received TCP/UDP for a port it does not listen on.
	ReasonNoListener = "linux-no-listener"
	// ReasonFilter: an nftables rule of an ACL dropped it (Where names the rule).
	ReasonFilter = "linux-nft-drop"
	// ReasonInjectRejected: the kernel refused to send the frame (e.g. larger than the MTU).
	ReasonInjectRejected = "linux-inject-rejected"
	// ReasonLinkDrop: the link of a host's NIC dropped a frame from the wire before any
	// capture saw it (a frame longer than the NIC's MTU: veth's is_skb_forwardable).
	ReasonLinkDrop = "linux-link-drop"
)

// Backend is the hostprobe.Backend of the Linux kernel: it builds a topology's Linux
// analogue (PlanTopology, BuildLayout) in a Lab, injects with AF_PACKET (or a raw IP
// socket for HOST/host) and captures at every port. It needs CheckPrivileges to pass.
type Backend struct {
	opts   BackendOptions
	lab    *Lab
	built  *Built
	stop   func()
	ports  map[string]*portRT
	points []CapturePoint
	hosts  []*hostRT
	// removed are the endpoints steps removed, by host and HNS ID (lower case).
	removed map[string]map[string]bool
	// nics are the underlay ends of the hosts' NICs, whose tx drops are frames the
	// NIC did not take.
	nics []nicLink
}

// nicLink is the underlay end of a host NIC's link.
type nicLink struct {
	port   string // HOST/NIC
	ns     *Namespace
	ifname string
}

var _ hostprobe.Backend = (*Backend)(nil)

// portRT is a port of a built layout.
type portRT struct {
	plan  PortPlan
	point string // capture point name, "" for a host
	inj   *Injector
	ipinj *IPInjector
	host  *hostRT
}

// hostRT is a host of a built layout.
type hostRT struct {
	plan   HostPlan
	ns     *Namespace
	port   string          // HOST/host
	points map[string]bool // capture points of its stack interfaces
	arp    map[string]*Injector
}

// NewBackend returns a Linux backend.
func NewBackend(opts BackendOptions) *Backend {
	if opts.Quiet <= 0 {
		opts.Quiet = DefaultQuiet
	}
	if opts.Limit <= 0 {
		opts.Limit = DefaultLimit
	}
	return &Backend{opts: opts}
}

// Name returns result.BackendLinux.
func (b *Backend) Name() string { return result.BackendLinux }

// Layout returns the built layout, or nil before Setup.
func (b *Backend) Layout() *Layout {
	if b.built == nil {
		return nil
	}
	return b.built.Layout
}

// NotBuilt lists what the built layout leaves out of the topology (Layout.Unsupported).
func (b *Backend) NotBuilt() []hostprobe.NotBuilt {
	if b.built == nil {
		return nil
	}
	return b.built.Layout.Unsupported
}

// Lab returns the backend's lab, or nil before Setup.
func (b *Backend) Lab() *Lab { return b.lab }

// Session returns the lab's session ("hnsp-<id>", the start of its namespaces' names),
// or "" before Setup.
func (b *Backend) Session() string {
	if b.lab == nil {
		return ""
	}
	return b.lab.Session()
}

// Setup plans and builds topo. Without privileges it returns CheckPrivileges' error.
func (b *Backend) Setup(ctx context.Context, topo *fabric.Topology) error {
	if err := CheckPrivileges(); err != nil {
		return err
	}
	mode := b.opts.L2Bridge
	if mode == L2BridgeAuto {
		mode = L2BridgeMACRewrite
		if hasL2Bridge(topo) && KernelHasIPVlan() {
			mode = L2BridgeIPVlan
		}
	}
	lay, err := PlanTopology(topo, LayoutOptions{L2Bridge: mode})
	if err != nil {
		return fmt.Errorf("linux: %w", err)
	}
	lab, err := NewLab()
	if err != nil {
		return fmt.Errorf("linux: %w", err)
	}
	b.lab = lab
	if b.opts.Log != nil {
		lab.SetLog(b.opts.Log)
	}
	if b.opts.CloseOnSignal {
		b.stop = lab.CloseOnSignal()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	built, err := BuildLayout(lab, lay)
	if err != nil {
		return fmt.Errorf("linux: build topology: %w", err)
	}
	b.built = built
	return b.wire()
}

// hasL2Bridge reports whether topo has an l2bridge or l2tunnel network.
func hasL2Bridge(topo *fabric.Topology) bool {
	for _, h := range topo.Hosts {
		for _, n := range h.HNS.Networks {
			if n.Type == hns.L2Bridge || n.Type == hns.L2Tunnel {
				return true
			}
		}
	}
	return false
}

// KernelHasIPVlan reports whether the kernel can make ipvlan links: it tries in a
// scratch lab (and reports false without privileges).
func KernelHasIPVlan() bool {
	lab, err := NewLab()
	if err != nil {
		return false
	}
	defer lab.Close()
	n, err := lab.NewNamespace("ipvlan-probe")
	if err != nil {
		return false
	}
	if err := n.AddVeth("p0", n, "p1"); err != nil {
		return false
	}
	return n.AddIPVlan("iv0", "p0", n) == nil
}

// wire opens the injectors and finds the capture points of every port.
func (b *Backend) wire() error {
	b.ports = map[string]*portRT{}
	seen := map[string]bool{}
	addPoint := func(ns *Namespace, ifname string) string {
		cp := CapturePoint{NS: ns, Ifname: ifname}
		if !seen[cp.Name()] {
			seen[cp.Name()] = true
			b.points = append(b.points, cp)
		}
		return cp.Name()
	}
	for _, hp := range b.built.Layout.Hosts {
		h := &hostRT{plan: hp, ns: b.built.NS(hp.NS), points: map[string]bool{}, arp: map[string]*Injector{}}
		for _, si := range hp.StackIfaces {
			h.points[addPoint(h.ns, si.Ifname)] = true
		}
		b.hosts = append(b.hosts, h)
	}
	for _, pp := range b.built.Layout.Ports {
		rt := &portRT{plan: pp}
		if pp.Host >= 0 && pp.Host < len(b.hosts) {
			rt.host = b.hosts[pp.Host]
		}
		if pp.Ifname != "" {
			rt.point = addPoint(b.built.NS(pp.NS), pp.Ifname)
		}
		var err error
		switch pp.Inject {
		case InjectPacket:
			rt.inj, err = b.built.NS(pp.InjectNS).NewInjector(pp.InjectIf)
		case InjectIP:
			rt.ipinj, err = b.built.NS(pp.InjectNS).NewIPInjector()
			if pp.Role == RoleHost && rt.host != nil {
				rt.host.port = pp.Name
			}
			if err == nil && pp.Role == RoleEndpoint {
				// ARP from an endpoint whose IP traffic comes from its stack (ipvlan).
				rt.inj, err = b.built.NS(pp.NS).NewInjector(pp.Ifname)
			}
		}
		if err != nil {
			return fmt.Errorf("linux: port %s: %w", pp.Name, err)
		}
		if pp.Role == RoleNIC && pp.Inject == InjectPacket {
			b.nics = append(b.nics, nicLink{port: pp.Name, ns: b.built.NS(pp.InjectNS), ifname: pp.InjectIf})
		}
		b.ports[pp.Name] = rt
	}
	return nil
}

// Run injects each input at its port and records what came out at every port.
func (b *Backend) Run(ctx context.Context, scenario string, inputs []hostprobe.Input, opts hostprobe.RunOptions) ([]*result.Packet, error) {
	if b.built == nil {
		return nil, fmt.Errorf("linux: run: %w", hostprobe.ErrNotSetUp)
	}
	capt, err := b.lab.NewCapturer(b.points...)
	if err != nil {
		return nil, fmt.Errorf("linux: run: %w", err)
	}
	defer capt.Stop()
	// What the kernel sent on its own while the lab came up (IGMP reports of bridges,
	// for example) is not the scenario's.
	if _, err := capt.Drain(b.opts.Quiet, b.opts.Limit); err != nil {
		return nil, fmt.Errorf("linux: run: %w", err)
	}
	var out []*result.Packet
	var prev int64
	for i, in := range inputs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		in = opts.Input(i, in)
		// Virtual time: what the scenario lets pass between two packets passes for
		// conntrack too (its timeouts are the kernel's, not WinNAT's).
		if i > 0 && in.TimeNS-prev > int64(time.Second) {
			if err := b.age(time.Duration(in.TimeNS - prev)); err != nil {
				return out, fmt.Errorf("linux: input %d: %w", i+1, err)
			}
		}
		prev = max(prev, in.TimeNS)
		for _, st := range in.Steps {
			if err := b.step(st); err != nil {
				return out, fmt.Errorf("linux: before input %d: %w", i+1, err)
			}
		}
		p, err := b.one(capt, scenario, i+1, in)
		if err != nil {
			return out, fmt.Errorf("linux: input %d at %s: %w", i+1, in.Port, err)
		}
		out = append(out, p)
		opts.Done(i, p)
	}
	return out, nil
}

// step makes an HNS change on the kernel: remove_endpoint takes the endpoint's links
// down (the bridge then has no port to deliver to, as the vSwitch port of a deleted
// endpoint is disabled; load balancers keep it), update_load_balancer replaces the load
// balancer's nftables rules (SetLoadBalancer). Conntrack keeps the NAT bindings of
// connections it has seen: an established connection stays with its backend.
func (b *Backend) step(s hostprobe.Step) error {
	var h *hostRT
	for _, x := range b.hosts {
		if x.plan.Name == s.Host {
			h = x
		}
	}
	if h == nil {
		return fmt.Errorf("%v: no host %q", s, s.Host)
	}
	if b.removed == nil {
		b.removed = map[string]map[string]bool{}
	}
	switch s.Action {
	case hostprobe.StepRemoveEndpoint:
		rt, ok := b.ports[s.Host+"/"+s.Endpoint]
		if !ok || rt.plan.Kind != fabric.PortEndpoint {
			return fmt.Errorf("%v: no endpoint port %s/%s", s, s.Host, s.Endpoint)
		}
		if rt.plan.HostIf != "" {
			if err := h.ns.SetDown(rt.plan.HostIf); err != nil {
				return fmt.Errorf("%v: %w", s, err)
			}
		}
		if err := b.built.NS(rt.plan.NS).SetDown(rt.plan.Ifname); err != nil {
			return fmt.Errorf("%v: %w", s, err)
		}
		if b.removed[s.Host] == nil {
			b.removed[s.Host] = map[string]bool{}
		}
		b.removed[s.Host][h.plan.EndpointID(s.Endpoint)] = true
	case hostprobe.StepUpdateLoadBalancer:
		lb, err := h.plan.LoadBalancer(s.LoadBalancer, s.Endpoints, b.removed[s.Host])
		if err != nil {
			return fmt.Errorf("%v: %w", s, err)
		}
		if err := h.ns.SetLoadBalancer(lb); err != nil {
			return fmt.Errorf("%v: %w", s, err)
		}
	default:
		return fmt.Errorf("%v: unknown action", s)
	}
	return nil
}

// age makes every namespace's conntrack entries d older (Namespace.AgeConntrack).
func (b *Backend) age(d time.Duration) error {
	for _, np := range b.built.Layout.Namespaces {
		if _, err := b.built.NS(np.Name).AgeConntrack(d); err != nil {
			return err
		}
	}
	return nil
}

// counters reads the rule counters of every host namespace.
func (b *Backend) counters() ([]map[string]uint64, error) {
	out := make([]map[string]uint64, len(b.hosts))
	for i, h := range b.hosts {
		cs, err := h.ns.Counters()
		if err != nil {
			return nil, err
		}
		m := map[string]uint64{}
		for _, c := range cs {
			m[c.Name] += c.Packets
		}
		out[i] = m
	}
	return out, nil
}

// one runs one input.
func (b *Backend) one(capt *Capturer, scenario string, index int, in hostprobe.Input) (*result.Packet, error) {
	rt, ok := b.ports[in.Port]
	if !ok {
		return nil, fmt.Errorf("unknown port %q", in.Port)
	}
	if _, err := capt.Drain(time.Millisecond, b.opts.Limit); err != nil {
		return nil, err
	}
	before, err := b.counters()
	if err != nil {
		return nil, err
	}
	dropsBefore, err := b.linkDrops()
	if err != nil {
		return nil, err
	}
	p := &result.Packet{Scenario: scenario, Backend: result.BackendLinux, Index: index, In: in.Port, TimeNS: in.TimeNS,
		Frame: bytes.Clone(in.Frame)}
	if err := b.inject(rt, in.Frame); err != nil {
		if errors.Is(err, errClosed) {
			return nil, err
		}
		p.Drops = append(p.Drops, result.Drop{Port: in.Port, Component: "linux", Reason: ReasonInjectRejected, Text: err.Error(),
			Layer: "linux", Frame: bytes.Clone(in.Frame)})
		p.Outcome = hostprobe.Outcome(p)
		return p, nil
	}
	frames, err := capt.Drain(b.opts.Quiet, b.opts.Limit)
	if err != nil {
		return nil, err
	}
	after, err := b.counters()
	if err != nil {
		return nil, err
	}
	dropsAfter, err := b.linkDrops()
	if err != nil {
		return nil, err
	}
	for i, l := range b.nics {
		if dropsAfter[i] > dropsBefore[i] {
			p.Drops = append(p.Drops, result.Drop{Port: l.port, Component: "linux", Where: l.ifname, Reason: ReasonLinkDrop,
				Layer: "linux", Text: "the NIC's link dropped a frame from the wire before any capture (longer than its MTU)"})
		}
	}
	b.classify(p, in, frames, before, after)
	return p, nil
}

// linkDrops returns the tx drop counters of the NICs' underlay ends.
func (b *Backend) linkDrops() ([]uint64, error) {
	out := make([]uint64, len(b.nics))
	for i, l := range b.nics {
		st, err := l.ns.Stats(l.ifname)
		if err != nil {
			return nil, err
		}
		out[i] = st.TxDropped
	}
	return out, nil
}

// inject sends frame at port rt.
func (b *Backend) inject(rt *portRT, frame []byte) error {
	et, off, ok := etherType(frame)
	if rt.inj != nil && (rt.ipinj == nil || et == EtherTypeARP) {
		return rt.inj.Inject(frame)
	}
	if rt.ipinj == nil {
		return fmt.Errorf("port %s cannot inject", rt.plan.Name)
	}
	if !ok {
		return fmt.Errorf("frame of %d bytes has no Ethernet header", len(frame))
	}
	switch et {
	case EtherTypeIPv4, EtherTypeIPv6:
		return rt.ipinj.Inject(ipPacket(frame[off:], et))
	case EtherTypeARP:
		if rt.host == nil {
			return fmt.Errorf("port %s cannot send ARP", rt.plan.Name)
		}
		// The management OS sends ARP out of the interface on the target's subnet.
		var target netip.Addr
		if len(frame) >= off+28 {
			target, _ = netip.AddrFromSlice(frame[off+24 : off+28])
		}
		h := rt.host
		ifname := ""
		for _, si := range h.plan.StackIfaces {
			if ifname == "" || si.Prefix.Masked().Contains(target) {
				ifname = si.Ifname
				if si.Prefix.Masked().Contains(target) {
					break
				}
			}
		}
		if ifname == "" {
			return fmt.Errorf("host %s has no interface for ARP to %v", h.plan.Name, target)
		}
		inj := h.arp[ifname]
		if inj == nil {
			var err error
			if inj, err = h.ns.NewInjector(ifname); err != nil {
				return err
			}
			h.arp[ifname] = inj
		}
		return inj.Inject(frame)
	}
	return fmt.Errorf("ether type %#04x cannot be sent by the host stack here", et)
}

// ipPacket returns an IP packet without the Ethernet padding after it (RFC 894: frames
// are padded to 60 bytes), by its header's length field; the kernel would take the
// padding for payload.
func ipPacket(b []byte, et uint16) []byte {
	switch {
	case et == EtherTypeIPv4 && len(b) >= 20:
		if n := int(binary.BigEndian.Uint16(b[2:4])); n >= 20 && n <= len(b) {
			return b[:n]
		}
	case et == EtherTypeIPv6 && len(b) >= 40:
		if n := 40 + int(binary.BigEndian.Uint16(b[4:6])); n <= len(b) {
			return b[:n]
		}
	}
	return b
}

// etherType returns a frame's EtherType and the offset of its payload, skipping one
// 802.1Q tag.
func etherType(frame []byte) (uint16, int, bool) {
	if len(frame) < 14 {
		return 0, 0, false
	}
	et := binary.BigEndian.Uint16(frame[12:14])
	if et == 0x8100 && len(frame) >= 18 {
		return binary.BigEndian.Uint16(frame[16:18]), 18, true
	}
	return et, 14, true
}

// ipDst returns the IPv4/IPv6 destination of a frame.
func ipDst(frame []byte) (netip.Addr, bool) {
	et, off, ok := etherType(frame)
	if !ok {
		return netip.Addr{}, false
	}
	switch {
	case et == EtherTypeIPv4 && len(frame) >= off+20:
		a, _ := netip.AddrFromSlice(frame[off+16 : off+20])
		return a, true
	case et == EtherTypeIPv6 && len(frame) >= off+40:
		a, _ := netip.AddrFromSlice(frame[off+24 : off+40])
		return a, true
	}
	return netip.Addr{}, false
}

// noise reports whether a captured frame is the kernel's background chatter rather than
// a consequence of the input: IPv6 (off everywhere), IGMP reports, LLDP and STP.
func noise(frame []byte, input []byte) bool {
	et, off, ok := etherType(frame)
	if !ok {
		return true
	}
	inET, _, _ := etherType(input)
	switch {
	case et == EtherTypeIPv6 && inET != EtherTypeIPv6:
		return true
	case et == EtherTypeIPv6:
		// MLD reports and router solicitations: the stack's own chatter about its
		// addresses (RFC 3810 section 5.2, RFC 4861 section 6.3.7).
		t, ok := icmpv6Type(frame[off:])
		it, inOK := icmpv6Type(input[min(off, len(input)):])
		return ok && (t == 130 || t == 131 || t == 132 || t == 133 || t == 143) && !(inOK && it == t)
	case et == 0x88cc, frame[0] == 0x01 && frame[1] == 0x80 && frame[2] == 0xc2:
		return true
	case et == EtherTypeIPv4 && len(frame) > off+9 && frame[off+9] == 2: // IGMP
		return !(len(input) > off+9 && inET == EtherTypeIPv4 && input[off+9] == 2)
	}
	return false
}

// icmpv6Type returns the ICMPv6 type of an IPv6 packet, after a Hop-by-Hop Options
// header if there is one (MLD messages carry the router alert option, RFC 3810 section 5).
func icmpv6Type(ip []byte) (uint8, bool) {
	if len(ip) < 40 || ip[0]>>4 != 6 {
		return 0, false
	}
	nh, off := ip[6], 40
	if nh == 0 && len(ip) >= off+8 {
		nh, off = ip[off], off+(int(ip[off+1])+1)*8
	}
	if nh != ProtoICMPv6 || len(ip) < off+1 {
		return 0, false
	}
	return ip[off], true
}

// classify turns the frames seen after one input, and the counter changes, into the
// input's outputs and drops.
func (b *Backend) classify(p *result.Packet, in hostprobe.Input, frames Frames, before, after []map[string]uint64) {
	delivered := false
	add := func(port, kind string, data []byte) {
		p.Outputs = append(p.Outputs, result.Output{Port: port, Kind: kind, Frame: bytes.Clone(data)})
		if kind == result.KindDelivered {
			delivered = true
		}
	}
	byPoint := map[string][]*portRT{}
	for _, rt := range b.ports {
		if rt.point != "" {
			byPoint[rt.point] = append(byPoint[rt.point], rt)
		}
	}
	hostOf := map[string]*hostRT{}
	for _, h := range b.hosts {
		for pt := range h.points {
			hostOf[pt] = h
		}
	}
	delta := func(hi int, name string) uint64 { return after[hi][name] - before[hi][name] }
	hostDelivered := make([]bool, len(b.hosts))
	for hi := range b.hosts {
		hostDelivered[hi] = delta(hi, CounterHostDeliver) > 0
	}
	hostFrame := make([][]byte, len(b.hosts))
	lastPort := in.Port
	for _, f := range frames {
		if noise(f.Data, in.Frame) {
			continue
		}
		rts := byPoint[f.Point]
		sort.Slice(rts, func(i, j int) bool { return rts[i].plan.Name < rts[j].plan.Name })
		for _, rt := range rts {
			switch rt.plan.Role {
			case RoleEndpoint:
				if f.Dir == In && f.PktType != unix.PACKET_OTHERHOST {
					add(rt.plan.Name, result.KindDelivered, f.Data)
					lastPort = rt.plan.Name
				}
			case RoleRouter:
				if f.Dir == In && b.forRouter(f) {
					add(rt.plan.Name, result.KindDelivered, f.Data)
					lastPort = rt.plan.Name
				}
			case RoleNIC:
				kind := result.KindWireRx
				if f.Dir == Out {
					kind = result.KindWireTx
				}
				add(rt.plan.Name, kind, f.Data)
				lastPort = rt.plan.Name
			}
		}
		if h := hostOf[f.Point]; h != nil && f.Dir == In && f.PktType != unix.PACKET_OTHERHOST && h.port != "" {
			et, _, _ := etherType(f.Data)
			if et == EtherTypeARP {
				add(h.port, result.KindDelivered, f.Data)
			} else if dst, ok := ipDst(f.Data); ok && b.hostOwns(h, dst) {
				for hi, x := range b.hosts {
					if x == h && hostDelivered[hi] {
						hostFrame[hi] = f.Data
					}
				}
			}
		}
	}
	for hi, h := range b.hosts {
		if !hostDelivered[hi] || h.port == "" {
			continue
		}
		fr := hostFrame[hi]
		if fr == nil {
			fr = in.Frame // sent by the host to itself: no interface saw it
		}
		add(h.port, result.KindDelivered, fr)
	}
	for hi, h := range b.hosts {
		if n := delta(hi, CounterHostNoListener); n > 0 {
			port := h.port
			if port == "" {
				port = lastPort
			}
			p.Drops = append(p.Drops, result.Drop{Port: port, Host: h.plan.Name, Component: "tcpip", Where: h.plan.NS,
				Reason: ReasonNoListener, Layer: "linux", Text: "no socket listens on the port (the host's input chain dropped it)"})
		}
		names := make([]string, 0, len(after[hi]))
		for name := range after[hi] {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			acl, block := strings.HasPrefix(name, "acl-"), strings.HasPrefix(name, blockPrefix)
			if (acl || block) && delta(hi, name) > 0 && b.isDropRule(h, name) {
				port := h.port
				if acl {
					port = aclPort(name, b)
				}
				p.Drops = append(p.Drops, result.Drop{Port: port, Host: h.plan.Name, Component: "nftables", Where: name,
					Reason: ReasonFilter, Layer: "linux", Text: "dropped by nftables rule " + name})
			}
		}
	}
	if !delivered && len(p.Drops) == 0 {
		p.Drops = append(p.Drops, result.Drop{Port: lastPort, Component: "linux", Reason: ReasonNoOutput, Layer: "linux",
			Text: "nothing came out at any port (the kernel does not say why)"})
	}
	p.Outcome = hostprobe.Outcome(p)
}

// forRouter reports whether a frame arriving at the router is for it: ARP, IP to one of
// its addresses, or multicast (the emulator's router delivers those).
func (b *Backend) forRouter(f Frame) bool {
	if f.PktType == unix.PACKET_OTHERHOST {
		return false
	}
	if f.Data[0]&1 != 0 {
		return true
	}
	et, _, _ := etherType(f.Data)
	if et == EtherTypeARP {
		return true
	}
	dst, ok := ipDst(f.Data)
	return ok && containsAddr(b.built.Layout.RouterIPs, dst)
}

// hostOwns reports whether a is an address of host h.
func (b *Backend) hostOwns(h *hostRT, a netip.Addr) bool {
	for _, si := range h.plan.StackIfaces {
		if si.Prefix.Addr() == a {
			return true
		}
	}
	return false
}

// isDropRule reports whether the filter rule called name of host h drops.
func (b *Backend) isDropRule(h *hostRT, name string) bool {
	for _, np := range b.built.Layout.Namespaces {
		if np.Name != h.plan.NS {
			continue
		}
		for _, r := range np.Filters {
			if r.Name == name {
				return r.Action == Drop
			}
		}
		for _, r := range np.BridgeFilters {
			if r.Name == name {
				return r.Action == Drop
			}
		}
	}
	return false
}

// aclPort returns the endpoint port an ACL rule name ("acl-<port>-<rule>") belongs to.
func aclPort(name string, b *Backend) string {
	rest := strings.TrimPrefix(name, "acl-")
	best := ""
	for port := range b.ports {
		if strings.HasPrefix(rest, port+"-") && len(port) > len(best) {
			best = port
		}
	}
	return best
}

// Throughput replays w's frames at w.In for w.Duration and counts the frames the sink
// ports' interfaces received (their kernel rx counters).
func (b *Backend) Throughput(ctx context.Context, w hostprobe.Workload) (hostprobe.Throughput, error) {
	if b.built == nil {
		return hostprobe.Throughput{}, fmt.Errorf("linux: throughput: %w", hostprobe.ErrNotSetUp)
	}
	if err := hostprobe.CheckWorkload(&w); err != nil {
		return hostprobe.Throughput{}, fmt.Errorf("linux: %w", err)
	}
	bp, err := b.benchProcessor(w.In, w.Sinks)
	if err != nil {
		return hostprobe.Throughput{}, fmt.Errorf("linux: workload %q: %w", w.Name, err)
	}
	t := hostprobe.Throughput{Backend: b.Name(), Workload: w.Name}
	start := time.Now()
	batch := make([][]byte, 0, w.Batch)
	for i := 0; time.Since(start) < w.Duration && ctx.Err() == nil; {
		batch = batch[:0]
		for len(batch) < w.Batch {
			batch = append(batch, w.Frames[i%len(w.Frames)])
			i++
		}
		t.Received += uint64(bp.Process(batch))
		t.Sent += uint64(len(batch))
	}
	t.Elapsed = time.Since(start)
	return t, errors.Join(ctx.Err(), bp.err)
}

// Close removes everything Setup built. It may be called more than once. With
// CloseOnSignal, the signal handler stays in place until the lab is torn down, so a
// signal during Close does not kill the process half-way.
func (b *Backend) Close() error {
	var err error
	if b.lab != nil {
		err = b.lab.Close()
		b.built = nil
	}
	if b.stop != nil {
		b.stop()
		b.stop = nil
	}
	return err
}
