// Package host models one Windows container host: its physical NICs, its
// virtual switches with their ports and VFP policy, and the management OS
// (the "host" in HNS terms): interfaces, addresses, routes, neighbours, IP
// forwarding, and WinNAT for the nat network.
//
// A Host moves one frame at a time from where it enters (a container vNIC,
// the management OS, or a NIC from the wire) until it leaves: delivered to an
// endpoint, sent on the wire through a NIC, or dropped. What leaves is put
// in an Outbox owned by the caller (package fabric), which carries wire
// frames to the next host or peer. Within a host, stages call each other
// directly on concrete types (docs/style.md §2.7), and nothing allocates per
// frame in steady state; frames that must be copied (flooding, generated
// replies) come from the caller's buffer pool.
package host

import (
	"fmt"
	"net/netip"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
	"github.com/hnspath/hnspath/emulator/trace"
	"github.com/hnspath/hnspath/emulator/vfp"
	"github.com/hnspath/hnspath/emulator/vswitch"
	"github.com/hnspath/hnspath/emulator/winnat"
)

// Component names used in traces and drops.
const (
	CompVSwitch  = "vswitch"
	CompVFP      = "vfp"
	CompWinNAT   = "winnat"
	CompTCPIP    = "tcpip"
	CompNIC      = "nic"
	CompHostVNIC = "host-vnic"
	CompEndpoint = "endpoint"
)

// HostEndpoint is the index of the management OS in Host.Endpoints.
const HostEndpoint = 0

// Endpoint is a place frames are delivered to and injected from: the
// management OS (index 0) or a container vNIC.
type Endpoint struct {
	Name   string // "host" or the HNS endpoint's name
	Switch int    // switch index; -1 for the management OS
	Port   vswitch.PortID
	MAC    header.MAC
	IPs    []netip.Addr
	// Gateway and Gateway6 are the endpoint's IPv4 and IPv6 default
	// gateways, when it has them.
	Gateway, Gateway6 netip.Addr
}

// NIC is a physical network adapter.
type NIC struct {
	Name string
	MAC  header.MAC
	MTU  int // IP MTU, default 1500
	// Switch is the external switch bound to the NIC, or -1 when the NIC
	// belongs to the management OS directly (then Iface is its interface).
	Switch int
	Iface  int
}

// Host is one emulated Windows host.
type Host struct {
	Name      string
	NICs      []*NIC
	Switches  []*vswitch.Switch
	Endpoints []Endpoint
	Stack     *Stack

	// portEndpoint maps (switch, port) to the endpoint or NIC behind it.
	ports [][]portBinding
	vfps  [][]*vfp.Port // per switch, per port; nil entries for ports without policy

	// gen counts configuration changes of the host and its stack, for the
	// flow cache (fastpath.go); the switches count their own (Switch.Gen).
	gen  uint64
	fast fastPaths
}

type portBinding struct {
	endpoint int // index in Endpoints, or -1
	iface    int // stack interface for a host vNIC port, or -1
	nic      int // NIC for the external port, or -1
}

// New returns a host with only its management OS.
func New(name string) *Host {
	h := &Host{Name: name}
	h.Endpoints = []Endpoint{{Name: "host", Switch: -1, Port: vswitch.None}}
	h.Stack = newStack(h)
	return h
}

// AddNIC adds a physical NIC. Until a switch is bound to it, it belongs to
// the management OS with the given addresses.
func (h *Host) AddNIC(name string, mac header.MAC, mtu int, addrs []netip.Prefix) (int, error) {
	for _, n := range h.NICs {
		if n.Name == name {
			return -1, fmt.Errorf("host %s: NIC %s: name in use", h.Name, name)
		}
	}
	if mtu == 0 {
		mtu = 1500
	}
	h.gen++
	n := &NIC{Name: name, MAC: mac, MTU: mtu, Switch: -1}
	idx := len(h.NICs)
	h.NICs = append(h.NICs, n)
	n.Iface = h.Stack.addIface(Iface{Name: name, MAC: mac, MTU: mtu, Addrs: addrs, nic: idx, sw: -1, port: vswitch.None})
	return idx, nil
}

// NICByName returns the index of the named NIC.
func (h *Host) NICByName(name string) (int, bool) {
	for i, n := range h.NICs {
		if n.Name == name {
			return i, true
		}
	}
	return -1, false
}

// AddSwitch adds a virtual switch. An external switch is bound to a NIC:
// the NIC's addresses move to a new host vNIC on the switch (as Hyper-V
// does when "allow management OS to share this adapter" is on), with the
// NIC's MAC. It returns the switch index.
func (h *Host) AddSwitch(name string, kind vswitch.Kind, nic string) (int, error) {
	for _, s := range h.Switches {
		if s.Name == name {
			return -1, fmt.Errorf("host %s: switch %s: name in use", h.Name, name)
		}
	}
	h.gen++
	sw := vswitch.New(name, kind)
	si := len(h.Switches)
	h.Switches = append(h.Switches, sw)
	h.ports = append(h.ports, nil)
	h.vfps = append(h.vfps, nil)
	if kind == vswitch.External {
		ni, ok := h.NICByName(nic)
		if !ok {
			return -1, fmt.Errorf("host %s: switch %s: no NIC %q to bind", h.Name, name, nic)
		}
		n := h.NICs[ni]
		if n.Switch != -1 {
			return -1, fmt.Errorf("host %s: switch %s: NIC %s is already bound to switch %s", h.Name, name, nic, h.Switches[n.Switch].Name)
		}
		ext, err := sw.AddPort(vswitch.Port{Name: n.Name, Kind: vswitch.PortExternal})
		if err != nil {
			return -1, err
		}
		h.bind(si, ext, portBinding{endpoint: -1, iface: -1, nic: ni})
		n.Switch = si
		// The management OS keeps its addresses on a host vNIC that takes
		// the NIC's MAC (vEthernet (<switch>)).
		old := &h.Stack.ifaces[n.Iface]
		port, err := sw.AddPort(vswitch.Port{Name: "vEthernet (" + name + ")", Kind: vswitch.PortHostVNIC, MAC: n.MAC})
		if err != nil {
			return -1, err
		}
		old.Name = "vEthernet (" + name + ")"
		old.nic = -1
		old.sw = si
		old.port = port
		h.bind(si, port, portBinding{endpoint: -1, iface: n.Iface, nic: -1})
	}
	return si, nil
}

// SwitchByName returns the index of the named switch.
func (h *Host) SwitchByName(name string) (int, bool) {
	for i, s := range h.Switches {
		if s.Name == name {
			return i, true
		}
	}
	return -1, false
}

func (h *Host) bind(si int, port vswitch.PortID, b portBinding) {
	h.gen++
	for int(port) >= len(h.ports[si]) {
		h.ports[si] = append(h.ports[si], portBinding{endpoint: -1, iface: -1, nic: -1})
		h.vfps[si] = append(h.vfps[si], nil)
	}
	h.ports[si][port] = b
}

// AddHostVNIC adds a management OS vNIC on a switch (the nat network's
// gateway "vEthernet (nat)", or an l2bridge host endpoint) and returns its
// stack interface index.
func (h *Host) AddHostVNIC(si int, name string, mac header.MAC, mtu int, addrs []netip.Prefix) (int, error) {
	sw := h.Switches[si]
	port, err := sw.AddPort(vswitch.Port{Name: name, Kind: vswitch.PortHostVNIC, MAC: mac})
	if err != nil {
		return -1, err
	}
	if mtu == 0 {
		mtu = 1500
	}
	ifi := h.Stack.addIface(Iface{Name: name, MAC: mac, MTU: mtu, Addrs: addrs, nic: -1, sw: si, port: port})
	h.bind(si, port, portBinding{endpoint: -1, iface: ifi, nic: -1})
	return ifi, nil
}

// AddEndpoint plugs a container vNIC into a switch and returns its endpoint index.
func (h *Host) AddEndpoint(si int, name string, mac header.MAC, ips []netip.Addr, vlan uint16) (int, error) {
	for _, e := range h.Endpoints {
		if e.Name == name {
			return -1, fmt.Errorf("host %s: endpoint %s: name in use", h.Name, name)
		}
	}
	sw := h.Switches[si]
	port, err := sw.AddPort(vswitch.Port{Name: name, Kind: vswitch.PortVM, MAC: mac, VLAN: vlan, IPs: ips})
	if err != nil {
		return -1, err
	}
	ei := len(h.Endpoints)
	h.Endpoints = append(h.Endpoints, Endpoint{Name: name, Switch: si, Port: port, MAC: mac, IPs: ips})
	h.bind(si, port, portBinding{endpoint: ei, iface: -1, nic: -1})
	return ei, nil
}

// EndpointByName returns the index of the named endpoint ("host" is 0).
func (h *Host) EndpointByName(name string) (int, bool) {
	for i, e := range h.Endpoints {
		if e.Name == name {
			return i, true
		}
	}
	return -1, false
}

// SetVFP attaches VFP policy to a switch port.
func (h *Host) SetVFP(si int, port vswitch.PortID, v *vfp.Port) {
	h.bind(si, port, h.ports[si][port])
	h.vfps[si][port] = v
}

// VFP returns the VFP policy of a switch port, or nil.
func (h *Host) VFP(si int, port vswitch.PortID) *vfp.Port {
	if si < 0 || int(port) >= len(h.vfps[si]) {
		return nil
	}
	return h.vfps[si][port]
}

// SetNAT installs WinNAT between the given internal interface and the
// others.
func (h *Host) SetNAT(n *winnat.NAT, internalIface int) {
	h.gen++
	h.Stack.nat = n
	h.Stack.natIface = internalIface
}

// NAT returns the host's WinNAT, or nil.
func (h *Host) NAT() *winnat.NAT { return h.Stack.nat }

// Emit is what leaves a host for one input frame.
type Emit struct {
	Kind     EmitKind
	Endpoint int // for Deliver: index in Endpoints
	NIC      int // for Wire and Observe
	Buf      *packet.Buffer
}

// EmitKind says where an emitted frame goes.
type EmitKind uint8

// Kinds of emits.
const (
	Deliver EmitKind = iota // to an endpoint (container vNIC or the management OS)
	Wire                    // sent on the wire through a NIC
)

// Drop records where and why a frame was dropped.
type Drop struct {
	Host      string
	Component string
	Port      string
	Reason    drop.Reason
	Layer     string
	Group     string
	Rule      string
	Buf       *packet.Buffer // the frame as it was when dropped
}

// Outbox collects what a host does with an input frame. The fabric owns it
// and reuses it; the host only appends.
type Outbox struct {
	Emits []Emit
	Drops []Drop
	Trace *trace.Recorder
	Pool  *packet.Pool
	Now   int64 // virtual time of the input frame, ns
	// Hops limits how many stages one input may pass, against loops.
	Hops int

	rec fastRecord // what the slow path did, for the flow cache
}

func (o *Outbox) emit(e Emit) { o.Emits = append(o.Emits, e) }

func (o *Outbox) drop(d Drop) { o.Drops = append(o.Drops, d) }

// hop charges one stage and reports whether the budget allows it.
func (o *Outbox) hop() bool {
	o.Hops--
	return o.Hops >= 0
}

// SetEndpointGateway records the default gateway of an endpoint (for
// scenario defaults: the MAC a container sends off-subnet traffic to).
func (h *Host) SetEndpointGateway(ei int, gw netip.Addr) {
	if gw.Is4() {
		h.Endpoints[ei].Gateway = gw
	} else {
		h.Endpoints[ei].Gateway6 = gw
	}
}

// EndpointGateway returns an endpoint's IPv4 gateway (its IPv6 gateway
// when it has no IPv4 one); for the management OS, the next hop of its IPv4
// default route.
func (h *Host) EndpointGateway(ei int) netip.Addr {
	if ei != HostEndpoint {
		if g := h.Endpoints[ei].Gateway; g.IsValid() {
			return g
		}
		return h.Endpoints[ei].Gateway6
	}
	if r, ok := h.Stack.Lookup(netip.IPv4Unspecified()); ok && r.Prefix.Bits() == 0 {
		return r.NextHop
	}
	return netip.Addr{}
}

// NICAddrs returns the management OS addresses that live on NIC ni (on the
// NIC itself, or on the host vNIC of the external switch bound to it).
func (h *Host) NICAddrs(ni int) []netip.Addr {
	var out []netip.Addr
	for _, p := range h.Stack.ifaces[h.NICs[ni].Iface].Addrs {
		out = append(out, p.Addr())
	}
	return out
}

// NICPrimary returns the first IPv4 address on NIC ni.
func (h *Host) NICPrimary(ni int) (netip.Addr, bool) {
	return h.Stack.PrimaryAddr(h.NICs[ni].Iface, false)
}

// SetEndpointMTU sets the largest IP datagram an endpoint's vNIC accepts
// (1450 on overlay, HNS EncapOverhead 50; microsoft/SDN#517).
func (h *Host) SetEndpointMTU(ei int, mtu int) {
	e := &h.Endpoints[ei]
	h.Switches[e.Switch].SetPortMTU(e.Port, mtu)
}
