package winnat

import (
	"fmt"
	"net/netip"

	"github.com/hnspath/hnspath/emulator/header"
)

// StaticMapping is a port forwarding rule (Add-NetNatStaticMapping;
// windows-behaviour.md section 2.3): inbound TCP or UDP to ExternalAddr:
// ExternalPort goes to InternalAddr:InternalPort. HNS creates one per
// published port of a container on the nat network.
type StaticMapping struct {
	// Protocol is header.ProtoTCP (6) or header.ProtoUDP (17); WinNAT's
	// -Protocol accepts only TCP and UDP.
	Protocol uint8
	// ExternalAddr is one of the NAT's external addresses (a VIP), or the
	// zero Addr for every external address (-ExternalIPAddress 0.0.0.0).
	ExternalAddr netip.Addr
	ExternalPort uint16
	InternalAddr netip.Addr
	// InternalPort defaults to ExternalPort when 0, as -InternalPort does.
	InternalPort uint16
	// RemotePrefix, when valid, admits only remote sources inside it
	// (-RemoteExternalIPAddressPrefix).
	RemotePrefix netip.Prefix
}

// staticKey finds a static mapping by its external side; addr is zero for
// a mapping on every external address.
type staticKey struct {
	addr  [4]byte
	port  uint16
	proto uint8
}

// AddStaticMapping adds a static mapping. An external (protocol, address,
// port) maps to exactly one internal endpoint (windows-behaviour.md section
// 2.2, limit 6): a mapping that overlaps another one (the same port on the
// same address, or on every address), or a port a dynamic session holds,
// fails with an error wrapping ErrPortInUse. Other invalid fields give a
// *ConfigError naming the field.
func (n *NAT) AddStaticMapping(m StaticMapping) error {
	if m.Protocol != header.ProtoTCP && m.Protocol != header.ProtoUDP {
		return fieldErr("StaticMapping.Protocol", "%d: only TCP (6) and UDP (17) can be mapped", m.Protocol)
	}
	ext := -1
	var ea [4]byte
	if m.ExternalAddr.IsValid() && !m.ExternalAddr.IsUnspecified() {
		if !m.ExternalAddr.Is4() {
			return fieldErr("StaticMapping.ExternalAddr", "%v is not IPv4: WinNAT does not translate IPv6", m.ExternalAddr)
		}
		ea = m.ExternalAddr.As4()
		if ext = n.extIndex(ea); ext < 0 {
			return fieldErr("StaticMapping.ExternalAddr", "%v is not one of the NAT's external addresses", m.ExternalAddr)
		}
	}
	if m.ExternalPort == 0 {
		return fieldErr("StaticMapping.ExternalPort", "0 is not a port")
	}
	if !m.InternalAddr.IsValid() || !n.Internal(m.InternalAddr) {
		return fieldErr("StaticMapping.InternalAddr", "%v is not in the internal prefix %v", m.InternalAddr, n.cfg.InternalPrefix)
	}
	if m.InternalPort == 0 {
		m.InternalPort = m.ExternalPort
	}
	if m.RemotePrefix.IsValid() {
		if !m.RemotePrefix.Addr().Is4() {
			return fieldErr("StaticMapping.RemotePrefix", "%v is not IPv4", m.RemotePrefix)
		}
		m.RemotePrefix = m.RemotePrefix.Masked()
	}
	what := func() string {
		a := "0.0.0.0"
		if ext >= 0 {
			a = m.ExternalAddr.String()
		}
		return fmt.Sprintf("winnat: add static mapping %s %s:%d", protoName(m.Protocol), a, m.ExternalPort)
	}
	// The same port on the same address, or on every address, or (for a
	// mapping on every address) on any one address, is taken.
	k := staticKey{addr: ea, port: m.ExternalPort, proto: m.Protocol}
	if _, dup := n.static[k]; dup {
		return fmt.Errorf("%s: %w", what(), ErrPortInUse)
	}
	if ext >= 0 {
		if _, dup := n.static[staticKey{port: m.ExternalPort, proto: m.Protocol}]; dup {
			return fmt.Errorf("%s: mapped on every external address: %w", what(), ErrPortInUse)
		}
	} else {
		for _, e := range n.ext {
			if _, dup := n.static[staticKey{addr: e, port: m.ExternalPort, proto: m.Protocol}]; dup {
				return fmt.Errorf("%s: mapped on %v: %w", what(), netip.AddrFrom4(e), ErrPortInUse)
			}
		}
	}
	exts := []int{ext}
	if ext < 0 {
		exts = exts[:0]
		for i := range n.ext {
			exts = append(exts, i)
		}
	}
	if n.inRange(m.ExternalPort) {
		for _, e := range exts {
			if mi := n.portOwner(m.Protocol, e, m.ExternalPort); mi != 0 && n.mappingAlive(mi, n.now) {
				return fmt.Errorf("%s: held by a dynamic session on %v: %w", what(), netip.AddrFrom4(n.ext[e]), ErrPortInUse)
			}
		}
	}
	mi := n.newMappingIndex()
	n.maps[mi] = mapping{proto: m.Protocol, static: true, live: true, intAddr: m.InternalAddr.As4(), intPort: m.InternalPort,
		extAddr: ea, extPort: m.ExternalPort, ext: ext, remote: m.RemotePrefix}
	n.static[k] = mi
	add(&n.st.statics, 1)
	if n.inRange(m.ExternalPort) {
		for _, e := range exts {
			t := n.portTable(protoIndex(m.Protocol), e)
			t.owner[m.ExternalPort-n.lo] = mi
			t.used++
		}
	}
	return nil
}

// RemoveStaticMapping removes the static mapping on (proto, ext, port) (ext
// zero or unspecified for a mapping on every external address) and the
// sessions it created, and reports whether there was one. [I] Whether
// Remove-NetNatStaticMapping ends existing sessions is not documented;
// ending them makes the removal take effect at once.
func (n *NAT) RemoveStaticMapping(proto uint8, ext netip.Addr, port uint16) bool {
	var k staticKey
	if ext.IsValid() && !ext.IsUnspecified() {
		if !ext.Is4() {
			return false
		}
		k.addr = ext.As4()
	}
	k.port, k.proto = port, proto
	mi, ok := n.static[k]
	if !ok {
		return false
	}
	m := &n.maps[mi]
	for m.head != 0 {
		n.removeSession(m.head, false)
	}
	if n.inRange(port) {
		for e := range n.ext {
			if m.ext >= 0 && m.ext != e {
				continue
			}
			t := &n.ports[protoIndex(proto)][e]
			if t.owner != nil && t.owner[port-n.lo] == mi {
				t.owner[port-n.lo] = 0
				t.used--
			}
		}
	}
	delete(n.static, k)
	add(&n.st.statics, -1)
	*m = mapping{}
	n.mfree = append(n.mfree, mi)
	return true
}

// HasStaticMapping reports whether a static mapping takes (proto, ext,
// port): one on ext itself or on every external address. The host uses it
// to refuse traffic from itself to its own IP:published port, which WinNAT
// does not loop back (windows-behaviour.md section 2.2, limit 4;
// drop.NATHostHairpin).
func (n *NAT) HasStaticMapping(proto uint8, ext netip.Addr, port uint16) bool {
	if !ext.Is4() {
		return false
	}
	_, ok := n.staticFor(proto, ext.As4(), port)
	return ok
}

// StaticMappings returns the static mappings in no particular order.
func (n *NAT) StaticMappings() []StaticMapping {
	out := make([]StaticMapping, 0, len(n.static))
	for _, mi := range n.static {
		m := &n.maps[mi]
		sm := StaticMapping{Protocol: m.proto, ExternalPort: m.extPort, InternalAddr: netip.AddrFrom4(m.intAddr),
			InternalPort: m.intPort, RemotePrefix: m.remote}
		if m.ext >= 0 {
			sm.ExternalAddr = netip.AddrFrom4(m.extAddr)
		}
		out = append(out, sm)
	}
	return out
}

// staticFor returns the static mapping on external (proto, addr, port).
func (n *NAT) staticFor(proto uint8, addr [4]byte, port uint16) (uint32, bool) {
	if len(n.static) == 0 {
		return 0, false
	}
	if mi, ok := n.static[staticKey{addr: addr, port: port, proto: proto}]; ok {
		return mi, true
	}
	mi, ok := n.static[staticKey{port: port, proto: proto}]
	return mi, ok
}

// admits reports whether static mapping m accepts remote source rem.
func (m *mapping) admits(rem [4]byte) bool {
	return !m.remote.IsValid() || m.remote.Contains(netip.AddrFrom4(rem))
}

func protoName(p uint8) string {
	switch p {
	case header.ProtoTCP:
		return "tcp"
	case header.ProtoUDP:
		return "udp"
	case header.ProtoICMPv4:
		return "icmp"
	}
	return fmt.Sprintf("proto%d", p)
}
