package winnat

import "net/netip"

// mapping binds an internal endpoint to an external address:port (RFC 4787
// section 4.1). A dynamic mapping lives while it has sessions; a static one
// (Add-NetNatStaticMapping) until it is removed. Its sessions form a list.
type mapping struct {
	proto   uint8
	static  bool
	live    bool
	intAddr [4]byte
	intPort uint16
	extAddr [4]byte // zero: every external address (static only)
	extPort uint16
	ext     int          // index of extAddr in NAT.ext; -1 when extAddr is zero
	remote  netip.Prefix // static only: allowed remote sources; invalid = any
	key     mapKey       // dynamic only
	head    uint32       // first session
	n       int          // sessions
}

// mapKey finds a dynamic mapping. Under endpoint-independent mapping the
// remote fields are zero; address-dependent mapping sets remAddr,
// address-and-port-dependent mapping sets remPort too. ext is the external
// address index: an internal endpoint has one mapping per external address.
type mapKey struct {
	intAddr, remAddr [4]byte
	intPort, remPort uint16
	ext              uint16
	proto            uint8
}

// portTable owns one (protocol, external address)'s share of the dynamic
// port range: owner[port-lo] is the mapping holding the port, 0 if free.
// It is allocated on first use.
type portTable struct {
	owner []uint32
	used  int
	next  int // allocation cursor (next fit)
}

func (n *NAT) portTable(pi, ext int) *portTable {
	t := &n.ports[pi][ext]
	if t.owner == nil {
		t.owner = make([]uint32, int(n.hi)-int(n.lo)+1)
	}
	return t
}

// inRange reports whether port is in this shard's dynamic range.
func (n *NAT) inRange(port uint16) bool { return port >= n.lo && port <= n.hi }

// portOwner returns the mapping holding (proto, ext, port) in the dynamic
// range, or 0.
func (n *NAT) portOwner(proto uint8, ext int, port uint16) uint32 {
	if !n.inRange(port) {
		return 0
	}
	t := &n.ports[protoIndex(proto)][ext]
	if t.owner == nil {
		return 0
	}
	return t.owner[port-n.lo]
}

// allocPort takes a free port of t for mapping mi: want when preserve is
// set and want is in range and free (or held by a mapping whose sessions
// have all expired), else the next free one after the last allocation
// (next fit). It fails when every port is taken.
func (n *NAT) allocPort(t *portTable, mi uint32, want uint16, preserve bool, now int64) (uint16, bool) {
	size := len(t.owner)
	if preserve && n.inRange(want) {
		if o := t.owner[want-n.lo]; o != 0 && !n.maps[o].static {
			n.mappingAlive(o, now) // frees the port if the mapping is dead
		}
		if t.owner[want-n.lo] == 0 {
			t.owner[want-n.lo] = mi
			t.used++
			return want, true
		}
	}
	if t.used >= size {
		return 0, false
	}
	j := t.next
	for k := 0; k < size; k++ {
		if j >= size {
			j = 0
		}
		if t.owner[j] == 0 {
			t.owner[j] = mi
			t.used++
			t.next = j + 1
			return n.lo + uint16(j), true
		}
		j++
	}
	return 0, false
}

func (n *NAT) newMappingIndex() uint32 {
	if l := len(n.mfree); l > 0 {
		mi := n.mfree[l-1]
		n.mfree = n.mfree[:l-1]
		return mi
	}
	n.maps = append(n.maps, mapping{})
	return uint32(len(n.maps) - 1)
}

// dynamicMapping returns the live mapping for (internal endpoint, external
// address index, remote) under the configured mapping behaviour, creating
// it with a newly allocated port when there is none. The caller has
// checked room for a session, which the mapping needs to stay alive.
func (n *NAT) dynamicMapping(proto uint8, intAddr [4]byte, intPort uint16, ext int, rem [4]byte, remPort uint16, now int64) (uint32, bool) {
	mk := mapKey{intAddr: intAddr, intPort: intPort, ext: uint16(ext), proto: proto}
	switch n.cfg.Mapping {
	case AddressDependentMapping:
		mk.remAddr = rem
	case AddressAndPortDependentMapping:
		mk.remAddr, mk.remPort = rem, remPort
	}
	if mi, ok := n.mapIndex[mk]; ok && n.mappingAlive(mi, now) {
		return mi, true
	}
	t := n.portTable(protoIndex(proto), ext)
	if t.used >= len(t.owner) {
		// Every port is held. Remove every session idle past its timeout
		// (oldest first, see expiry.go), which frees the ports of the
		// mappings left without a session, before declaring exhaustion.
		n.reap(now, -1)
		if t.used >= len(t.owner) {
			return 0, false
		}
	}
	mi := n.newMappingIndex()
	port, ok := n.allocPort(t, mi, intPort, n.cfg.PortPreservation, now)
	if !ok {
		n.mfree = append(n.mfree, mi)
		return 0, false
	}
	n.maps[mi] = mapping{proto: proto, live: true, intAddr: intAddr, intPort: intPort,
		extAddr: n.ext[ext], extPort: port, ext: ext, key: mk}
	n.mapIndex[mk] = mi
	add(&n.st.mappings, 1)
	add(&n.st.portsUsed, 1)
	return mi, true
}

// freeMapping releases a dynamic mapping and its port.
func (n *NAT) freeMapping(mi uint32) {
	m := &n.maps[mi]
	if !m.live || m.static {
		return
	}
	t := &n.ports[protoIndex(m.proto)][m.ext]
	if n.inRange(m.extPort) && t.owner != nil && t.owner[m.extPort-n.lo] == mi {
		t.owner[m.extPort-n.lo] = 0
		t.used--
	}
	delete(n.mapIndex, m.key)
	*m = mapping{}
	n.mfree = append(n.mfree, mi)
	add(&n.st.mappings, -1)
	add(&n.st.portsUsed, -1)
}

// mappingAlive reports whether mapping mi has a session that is not idle
// past its timeout, removing idle ones it meets (and the mapping with its
// last session). Removed sessions are never met again, so the walk costs
// O(1) amortised plus one live session.
func (n *NAT) mappingAlive(mi uint32, now int64) bool {
	m := &n.maps[mi]
	if !m.live {
		return false
	}
	if m.static {
		return true
	}
	for i := m.head; i != 0; {
		s := n.sess(i)
		next := s.next
		if !n.expired(s, now) {
			return true
		}
		n.removeSession(i, true)
		if !m.live {
			return false
		}
		i = next
	}
	return m.live && m.n > 0
}

// contacted reports whether mapping mi has a live session with remote
// address rem: address-dependent filtering (RFC 4787 section 5) admits
// inbound packets from such an address, from any port. It removes the
// idle sessions it meets. Its cost grows with the mapping's sessions; it
// runs only for inbound packets that match no session.
func (n *NAT) contacted(mi uint32, rem [4]byte, now int64) bool {
	m := &n.maps[mi]
	for i := m.head; i != 0 && m.live; {
		s := n.sess(i)
		next := s.next
		if n.expired(s, now) {
			n.removeSession(i, true)
		} else if s.remAddr == rem {
			return true
		}
		i = next
	}
	return false
}
