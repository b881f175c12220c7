// Package vswitch models the Hyper-V virtual switch: ports for container
// vNICs, the management OS's host vNIC and the external (physical NIC) port,
// a MAC table, and the forwarding decisions the switch and its VFP
// forwarding extension make.
//
// The switch only decides where a frame goes. The host (package host) runs
// each port's VFP layers before and after the decision and moves the frame;
// keeping the switch free of VFP keeps this package a leaf of the datapath.
//
// Forwarding facts modelled (docs/windows-behaviour.md §3):
//   - vNIC MACs are known to the switch, not learned; unknown unicast from a
//     vNIC goes to the external port, unknown unicast from outside is dropped
//     ("found no destination (unicast)", VfpExt drop reason 11);
//   - broadcast and multicast are flooded within the VLAN;
//   - with VFP forwarding (l2bridge, l2tunnel, overlay), frames from outside
//     addressed to the host's MAC are sent to the port that owns the
//     destination IP (the customer address), and VXLAN frames to a local
//     provider address are sent to the port that owns the inner destination
//     in that VNI;
//   - on l2tunnel every frame from a vNIC goes to the external port, even to
//     a container on the same host (Azure: policy applies in the physical
//     host's switch);
//   - an overlay vNIC belongs to its virtual subnet (VSID): floods stay
//     within it, the underlay (external port, host vNICs) is not in it, so
//     nothing crosses between the two except what VFP encapsulated or
//     translated (each overlay has its own subnet and VXLAN provides the
//     isolation; docs/fidelity.md §1).
//
// Nothing here allocates per frame.
package vswitch

import (
	"fmt"
	"net/netip"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// Kind is the kind of a virtual switch.
type Kind uint8

// Switch kinds.
const (
	Internal Kind = iota // host vNIC and containers, no physical NIC (the nat network)
	External             // bound to a physical NIC
	Private              // containers only
)

func (k Kind) String() string {
	return [...]string{"internal", "external", "private"}[k]
}

// PortKind says what is plugged into a port.
type PortKind uint8

// Port kinds.
const (
	PortVM       PortKind = iota // a container (or VM) vNIC: an HNS endpoint
	PortHostVNIC                 // the management OS's vNIC ("vEthernet (...)")
	PortExternal                 // the physical NIC
)

func (k PortKind) String() string {
	return [...]string{"vm", "host-vnic", "external"}[k]
}

// PortID is a port's index in its switch.
type PortID int32

// None is the absence of a port.
const None PortID = -1

// Port is a switch port.
type Port struct {
	Name string
	Kind PortKind
	MAC  header.MAC // the vNIC's MAC; zero for the external port
	// VLAN is the port's access VLAN (0: untagged). The external port is a trunk.
	VLAN uint16
	// AllowMACSpoofing lets a vNIC send with a source MAC other than its own
	// (Set-VMNetworkAdapter -MacAddressSpoofing On).
	AllowMACSpoofing bool
	// IPs are the vNIC's addresses (used to tell VFP hairpin traffic, which
	// comes back to its own port with a translated source, from a loop).
	IPs []netip.Addr
	// MTU is the largest IP datagram the vNIC accepts (0: no limit); an
	// overlay endpoint has 1450 (EncapOverhead 50).
	MTU int
	// Disabled marks a vNIC that is gone (its container was deleted):
	// frames to it are dropped ("Destination NIC is disabled").
	Disabled bool
	// VSID is the virtual subnet of an overlay vNIC (set by MapVNI); 0 for
	// the external port, host vNICs and vNICs of other network types.
	VSID uint32
}

// Switch is a virtual switch.
type Switch struct {
	Name     string
	Kind     Kind
	ports    []Port
	external PortID
	macs     map[uint64]PortID // vNIC MAC -> port
	small    []macEntry        // the same, scanned linearly while the switch is small

	// gen counts changes to the switch (Gen).
	gen uint64

	// VFP forwarding extension state.
	vfp        bool
	l2tunnel   bool
	rewriteMAC header.MAC              // the host MAC that rewritten container traffic uses
	caPorts    map[netip.Addr]PortID   // customer address -> port (l2bridge, l2tunnel ingress)
	paLocal    map[netip.Addr]struct{} // local provider addresses (overlay)
	vxlanPorts [4]uint16
	nvxlan     int
	vniPorts   map[vniKey]PortID // (VNI, inner destination) -> port
	vniOwner   map[netip.Addr]uint32
	snat       []snatRange               // translated-source port ranges -> owning port
	noSNAT     bool                      // ForwardL2 in progress: ignore snat
	arpProxy   map[netip.Addr]header.MAC // addresses VFP answers ARP for (virtual gateways)
}

// snatRange is a block of translated source ports owned by one port: VFP
// steers replies to (VIP, protocol, port in range) back to it.
type snatRange struct {
	vip    netip.Addr
	proto  uint8
	lo, hi uint16
	port   PortID
}

type macEntry struct {
	mac uint64
	id  PortID
}

// smallSwitch is the port count up to which a linear scan of the MAC table
// beats a map lookup.
const smallSwitch = 16

type vniKey struct {
	vni  uint32
	addr netip.Addr
}

// New returns an empty switch.
func New(name string, kind Kind) *Switch {
	return &Switch{Name: name, Kind: kind, external: None, macs: make(map[uint64]PortID)}
}

// AddPort adds a port and returns its ID. A vNIC MAC must be unique on the switch.
func (s *Switch) AddPort(p Port) (PortID, error) {
	if p.Kind == PortExternal {
		if s.Kind != External {
			return None, fmt.Errorf("vswitch %s: add port %s: a %s switch has no external port", s.Name, p.Name, s.Kind)
		}
		if s.external != None {
			return None, fmt.Errorf("vswitch %s: add port %s: the switch already has an external port", s.Name, p.Name)
		}
	}
	for _, q := range s.ports {
		if q.Name == p.Name {
			return None, fmt.Errorf("vswitch %s: add port %s: name in use", s.Name, p.Name)
		}
	}
	s.gen++
	id := PortID(len(s.ports))
	if p.Kind != PortExternal {
		if p.MAC.IsZero() || p.MAC.IsMulticast() {
			return None, fmt.Errorf("vswitch %s: add port %s: invalid MAC %s", s.Name, p.Name, p.MAC)
		}
		if o, dup := s.macs[p.MAC.Uint64()]; dup {
			return None, fmt.Errorf("vswitch %s: add port %s: MAC %s already on port %s", s.Name, p.Name, p.MAC, s.ports[o].Name)
		}
		s.macs[p.MAC.Uint64()] = id
		s.small = append(s.small, macEntry{p.MAC.Uint64(), id})
	} else {
		s.external = id
	}
	s.ports = append(s.ports, p)
	return id, nil
}

// Port returns the port with the given ID, to read. Change a port's MTU
// or Disabled with SetPortMTU and SetPortDisabled, which count as a change
// of the switch (Gen); the other fields are fixed when the port is added.
func (s *Switch) Port(id PortID) *Port { return &s.ports[id] }

// SetPortMTU sets the largest IP datagram a port's vNIC accepts (0: no limit).
func (s *Switch) SetPortMTU(id PortID, mtu int) {
	s.ports[id].MTU = mtu
	s.gen++
}

// SetPortDisabled disables a port (its vNIC is gone) or enables it again.
func (s *Switch) SetPortDisabled(id PortID, disabled bool) {
	s.ports[id].Disabled = disabled
	s.gen++
}

// Gen returns a number that changes whenever the switch's configuration
// does (ports, their MTU and state, the VFP forwarding maps), so that a
// cache of forwarding decisions can tell that it is stale.
func (s *Switch) Gen() uint64 { return s.gen }

// Ports returns the number of ports.
func (s *Switch) Ports() int { return len(s.ports) }

// PortByName returns the ID of the named port.
func (s *Switch) PortByName(name string) (PortID, bool) {
	for i := range s.ports {
		if s.ports[i].Name == name {
			return PortID(i), true
		}
	}
	return None, false
}

// ExternalPort returns the external port's ID, or None.
func (s *Switch) ExternalPort() PortID { return s.external }

// EnableVFPForwarding turns on the VFP forwarding extension with the MAC
// that rewritten container traffic carries (the host's MAC).
func (s *Switch) EnableVFPForwarding(rewriteMAC header.MAC) {
	s.gen++
	s.vfp = true
	s.rewriteMAC = rewriteMAC
	if s.caPorts == nil {
		s.caPorts = make(map[netip.Addr]PortID)
		s.paLocal = make(map[netip.Addr]struct{})
		s.vniPorts = make(map[vniKey]PortID)
		s.vniOwner = make(map[netip.Addr]uint32)
		s.arpProxy = make(map[netip.Addr]header.MAC)
	}
}

// MapSNATRange declares that replies to vip:lo-hi (protocol proto) belong
// to port: the port whose VFP translated sources into that block.
func (s *Switch) MapSNATRange(vip netip.Addr, proto uint8, lo, hi uint16, port PortID) {
	s.gen++
	s.snat = append(s.snat, snatRange{vip: vip, proto: proto, lo: lo, hi: hi, port: port})
}

// snatOwner returns the port owning a reply's destination.
func (s *Switch) snatOwner(p *packet.Parsed) (PortID, bool) {
	if len(s.snat) == 0 || !p.HasL4Ports || p.ICMPQuery {
		return None, false
	}
	for i := range s.snat {
		r := &s.snat[i]
		if r.proto == p.IPProto && r.lo <= p.DstPort && p.DstPort <= r.hi && r.vip == p.Dst {
			return r.port, true
		}
	}
	return None, false
}

// ProxyARP makes the extension answer ARP requests from vNICs for addr
// with mac (the virtual gateway of l2bridge and overlay networks [I]).
func (s *Switch) ProxyARP(addr netip.Addr, mac header.MAC) {
	s.gen++
	s.arpProxy[addr] = mac
}

// ARPProxy returns the MAC the extension answers for addr, if any.
func (s *Switch) ARPProxy(addr netip.Addr) (header.MAC, bool) {
	m, ok := s.arpProxy[addr]
	return m, ok
}

// SetL2Tunnel makes every frame from a vNIC go to the external port.
func (s *Switch) SetL2Tunnel(on bool) {
	s.gen++
	s.l2tunnel = on
}

// L2Tunnel reports whether the switch is in l2tunnel mode.
func (s *Switch) L2Tunnel() bool { return s.l2tunnel }

// RewriteMAC returns the host MAC used for rewritten traffic.
func (s *Switch) RewriteMAC() header.MAC { return s.rewriteMAC }

// MapCA maps a customer address to a port (l2bridge/l2tunnel ingress).
func (s *Switch) MapCA(a netip.Addr, id PortID) {
	s.gen++
	s.caPorts[a] = id
}

// UnmapCA removes a customer address.
func (s *Switch) UnmapCA(a netip.Addr) {
	s.gen++
	delete(s.caPorts, a)
}

// PortOfCA returns the port that owns customer address a.
func (s *Switch) PortOfCA(a netip.Addr) (PortID, bool) {
	id, ok := s.caPorts[a]
	return id, ok
}

// AddProviderAddress declares a local provider address (overlay PA) and the
// VXLAN UDP port it listens on.
func (s *Switch) AddProviderAddress(pa netip.Addr, vxlanPort uint16) {
	s.gen++
	s.paLocal[pa] = struct{}{}
	for i := 0; i < s.nvxlan; i++ {
		if s.vxlanPorts[i] == vxlanPort {
			return
		}
	}
	if s.nvxlan < len(s.vxlanPorts) {
		s.vxlanPorts[s.nvxlan] = vxlanPort
		s.nvxlan++
	}
}

// IsVXLANPort reports whether UDP port p carries VXLAN on this switch.
func (s *Switch) IsVXLANPort(p uint16) bool {
	for i := 0; i < s.nvxlan; i++ {
		if s.vxlanPorts[i] == p {
			return true
		}
	}
	return false
}

// UnmapVNI removes an inner destination address from a VNI.
func (s *Switch) UnmapVNI(vni uint32, inner netip.Addr) {
	s.gen++
	delete(s.vniPorts, vniKey{vni, inner})
	delete(s.vniOwner, inner)
}

// MapVNI maps an inner destination address in a VNI to a port (overlay ingress).
// The port joins virtual subnet vni: it is isolated from the underlay and
// from other virtual subnets.
func (s *Switch) MapVNI(vni uint32, inner netip.Addr, id PortID) {
	s.gen++
	s.vniPorts[vniKey{vni, inner}] = id
	s.vniOwner[inner] = vni
	s.ports[id].VSID = vni
}

// Decision is where the switch sends a frame.
type Decision struct {
	Port   PortID // destination port, when not flooding
	Flood  bool   // send to every port of the VLAN but the ingress one
	Reason drop.Reason
	// SNAT says the port was chosen because it owns the translated
	// destination (a reply to a source NAT): the caller checks that the
	// port's VFP has the connection, else uses ForwardL2.
	SNAT bool
}

// Forward decides where a frame that entered at port in goes. p is the
// frame decoded (after the ingress port's VFP Out layers ran). It does not
// allocate.
func (s *Switch) Forward(in PortID, p *packet.Parsed) Decision {
	ip := &s.ports[in]
	if p.Err == packet.ErrShortEthernet || p.Err == packet.ErrShortVLAN {
		return Decision{Port: None, Reason: drop.InvalidPacket}
	}
	if p.DstMAC.IsZero() {
		return Decision{Port: None, Reason: drop.InvalidDstMAC} // pktmon 26: NULL destination MAC
	}
	if p.SrcMAC.IsMulticast() {
		return Decision{Port: None, Reason: drop.InvalidSrcMAC}
	}
	if ip.Kind == PortVM && p.SrcMAC != ip.MAC && !ip.AllowMACSpoofing && !(s.vfp && p.SrcMAC == s.rewriteMAC) {
		return Decision{Port: None, Reason: drop.SpoofedMAC}
	}
	if p.DstMAC.IsMulticast() {
		return Decision{Port: None, Flood: true}
	}
	if ip.VSID != 0 && p.Kind == packet.KindIPv6 {
		// Overlay containers have no IPv6 (docs/fidelity.md §1):
		// nothing maps or encapsulates it, and it must not reach the
		// underlay as it is.
		return Decision{Port: None, Reason: drop.IPv6Unsupported}
	}
	if s.l2tunnel && ip.Kind == PortVM {
		if s.external == None {
			return Decision{Port: None, Reason: drop.NoDestUnicast}
		}
		return Decision{Port: s.external}
	}
	if s.vfp && ip.Kind == PortExternal {
		if d, ok := s.vfpForward(p); ok {
			return d
		}
	}
	if s.vfp && ip.Kind == PortVM && p.IsIP() && !s.noSNAT {
		// A reply to a source another port translated (an LB SNAT on the
		// external port, say) goes back to that port.
		// A reply to its own port's translated source is VFP hairpin
		// (loopback through a service VIP): it goes back in.
		if id, ok := s.snatOwner(p); ok {
			return Decision{Port: id, SNAT: true}
		}
	}
	if s.vfp && p.DstMAC == s.rewriteMAC && ip.Kind == PortVM && p.IsIP() {
		// A container addressing the host MAC (rewritten gateway) for another
		// local container: the extension delivers by customer address.
		if id, ok := s.caPorts[p.Dst]; ok && id != in {
			return Decision{Port: id}
		}
	}
	if id, ok := s.lookupMAC(p.DstMAC); ok {
		if id == in {
			if s.vfp && ip.Kind == PortVM && p.IsIP() && !owns(ip.IPs, p.Src) {
				// VFP hairpin: a packet whose source VFP translated comes
				// back to its own port (loopback through a service VIP).
				return Decision{Port: id}
			}
			return Decision{Port: None, Reason: drop.NoDestUnicast}
		}
		if s.ports[id].Disabled {
			return Decision{Port: None, Reason: drop.DestNICDisabled}
		}
		if q := &s.ports[id]; q.VSID != ip.VSID && q.Kind != PortHostVNIC && ip.Kind != PortHostVNIC {
			// Another virtual subnet, or the underlay addressing an overlay
			// vNIC without VXLAN: the subnets are isolated. The management
			// OS reaches local overlay vNICs through its own vNIC (the
			// HostRoute policy routes the pod subnet there).
			return Decision{Port: None, Reason: drop.VSIDMismatch}
		}
		if q := &s.ports[id]; q.Kind != PortExternal {
			vlan := ip.VLAN
			if ip.Kind == PortExternal {
				vlan = p.VID
			}
			if q.VLAN != vlan {
				return Decision{Port: None, Reason: drop.FilteredVLAN}
			}
		}
		return Decision{Port: id}
	}
	if ip.Kind != PortExternal && s.external != None {
		if ip.VSID != 0 && p.SrcMAC != s.rewriteMAC {
			// An overlay vNIC's frame that VFP neither encapsulated nor
			// translated (it still has the container's MAC) has no way
			// onto the underlay.
			return Decision{Port: None, Reason: drop.VSIDMismatch}
		}
		return Decision{Port: s.external}
	}
	return Decision{Port: None, Reason: drop.NoDestUnicast}
}

// lookupMAC returns the port of a vNIC MAC.
func (s *Switch) lookupMAC(m header.MAC) (PortID, bool) {
	k := m.Uint64()
	if len(s.small) <= smallSwitch {
		for i := range s.small {
			if s.small[i].mac == k {
				return s.small[i].id, true
			}
		}
		return None, false
	}
	id, ok := s.macs[k]
	return id, ok
}

// ForwardL2 decides like Forward but without steering replies by their
// translated destination: the decision for a packet no port's flow owns.
func (s *Switch) ForwardL2(in PortID, p *packet.Parsed) Decision {
	s.noSNAT = true
	d := s.Forward(in, p)
	s.noSNAT = false
	return d
}

// vfpForward makes the extension's decision for a frame from the wire.
func (s *Switch) vfpForward(p *packet.Parsed) (Decision, bool) {
	if !p.IsIP() {
		return Decision{}, false
	}
	if _, ok := s.paLocal[p.Dst]; ok && p.IPProto == header.ProtoUDP && p.L4 != 0 && s.IsVXLANPort(p.DstPort) {
		vx := header.VXLAN(p.UDP().Payload())
		if !vx.IsValid() {
			return Decision{Port: None, Reason: drop.VFPInvalid}, true
		}
		var in packet.Parsed
		in.Decode(vx.Inner())
		if !in.IsIP() {
			return Decision{Port: None, Reason: drop.VFPInvalid}, true
		}
		if id, ok := s.vniPorts[vniKey{vx.VNI(), in.Dst}]; ok {
			return Decision{Port: id}, true
		}
		if _, known := s.vniOwner[in.Dst]; known {
			// The inner destination lives here, but in another virtual subnet.
			return Decision{Port: None, Reason: drop.VSIDMismatch}, true
		}
		return Decision{Port: None, Reason: drop.NoDestUnicast}, true
	}
	if !s.noSNAT {
		if id, ok := s.snatOwner(p); ok {
			return Decision{Port: id, SNAT: true}, true
		}
	}
	if p.DstMAC == s.rewriteMAC {
		if id, ok := s.caPorts[p.Dst]; ok {
			return Decision{Port: id}, true
		}
	}
	return Decision{}, false
}

func owns(ips []netip.Addr, a netip.Addr) bool {
	for _, x := range ips {
		if x == a {
			return true
		}
	}
	return false
}

// FloodTargets appends to dst the ports a flooded frame from in reaches:
// every port in the same VLAN (the external trunk included) and the same
// virtual subnet except in. An overlay vNIC's floods stay in its VSID; the
// underlay's (external port, host vNICs: VSID 0) never reach overlay vNICs.
func (s *Switch) FloodTargets(in PortID, dst []PortID) []PortID {
	vlan := s.ports[in].VLAN
	vsid := s.ports[in].VSID
	fromExt := s.ports[in].Kind == PortExternal
	for i := range s.ports {
		id := PortID(i)
		if id == in {
			continue
		}
		q := &s.ports[i]
		if q.VSID != vsid {
			continue
		}
		if !fromExt && q.Kind != PortExternal && q.VLAN != vlan {
			continue
		}
		if s.l2tunnel && s.ports[in].Kind == PortVM && q.Kind == PortVM {
			continue // l2tunnel: containers reach each other only through the physical host
		}
		dst = append(dst, id)
	}
	return dst
}
