package winnat

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/hnspath/hnspath/emulator/checksum"
	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
)

// Verdict is what a NAT did with a packet. The zero value is not a verdict.
type Verdict uint8

// Verdicts.
const (
	// Translated: the packet was rewritten in place.
	Translated Verdict = iota + 1
	// NotHandled: not NAT traffic (or nothing maps it); the packet is
	// untouched and the host stack decides.
	NotHandled
	// Dropped: WinNAT drops the packet, for the returned drop.Reason.
	Dropped
)

var verdictNames = [...]string{"verdict?", "translated", "not-handled", "dropped"}

// String returns a lowercase name.
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "verdict?"
}

// State is the state of a session, which picks its idle timeout.
type State uint8

// Session states. UDP and ICMP sessions are always StateActive. TCP
// sessions follow the handshake as seen by the NAT: transient until the
// initiator's SYN, the responder's SYN+ACK and the initiator's ACK have
// passed, then established; back to transient (closing) after a FIN or RST.
const (
	StateActive         State = iota // UDP or ICMP query
	StateTCPSYN                      // the initiator's SYN passed
	StateTCPSYNACK                   // the responder's SYN+ACK passed
	StateTCPEstablished              // the handshake completed
	StateTCPClosing                  // a FIN or RST passed
	StateTCPUnsynced                 // created by a packet without SYN (mid-stream)
)

var stateNames = [...]string{"active", "syn", "syn-ack", "established", "closing", "unsynced"}

// String returns a lowercase name.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state?"
}

// Directions of a session key.
const (
	dirOut uint8 = 1 // local is the internal endpoint
	dirIn  uint8 = 2 // local is the external endpoint
)

// key finds a session from one side: 16 bytes without pointers or
// padding (docs/style.md 2.6), so the map hashes and compares it as one 128-bit
// block (a 14-byte key measured about 8 ns slower per lookup, through the
// runtime's variable-length hash). For ICMP queries lport is the identifier
// and rport is 0. pad is always 0.
type key struct {
	local, remote [4]byte
	lport, rport  uint16
	proto, dir    uint8
	pad           uint16
}

// Session flags.
const (
	flagLive    uint8 = 1 << iota
	flagInbound       // created by an inbound packet (the remote initiated)
	flagHairpin       // the remote is one of our external addresses
)

// session is one flow through the NAT: internal endpoint, external
// endpoint, remote endpoint. It is 64 bytes, one cache line.
type session struct {
	intAddr, extAddr, remAddr [4]byte
	intPort, extPort, remPort uint16
	proto                     uint8
	state                     State
	flags                     uint8
	tclass                    uint8 // timeout class: index into NAT.tmo
	// Checksum deltas of the rewrites (see rewrite.go): outbound (source
	// internal -> external) for the IPv4 header and the transport checksum,
	// and inbound (destination external -> internal).
	outIP, outL4, inIP, inL4 checksum.Delta
	m                        uint32 // owning mapping, index into NAT.maps
	next, prev               uint32 // the mapping's other sessions; 0 ends
	serial                   uint32 // which session of its slot this is (see Ref)
	created                  int64
	lastSeen                 int64
}

// Timeout classes.
const (
	tcICMP = iota
	tcUDP
	tcTCPTransient
	tcTCPEstablished
	numTimeoutClasses
)

func (s *session) outKey() key {
	return key{local: s.intAddr, remote: s.remAddr, lport: s.intPort, rport: s.remPort, proto: s.proto, dir: dirOut}
}

func (s *session) inKey() key {
	return key{local: s.extAddr, remote: s.remAddr, lport: s.extPort, rport: s.remPort, proto: s.proto, dir: dirIn}
}

const (
	chunkBits = 10
	chunkSize = 1 << chunkBits
)

// Protocol indexes of the per-protocol port tables.
const (
	piTCP = iota
	piUDP
	piICMP
	numProto
)

func protoIndex(proto uint8) int {
	switch proto {
	case header.ProtoTCP:
		return piTCP
	case header.ProtoUDP:
		return piUDP
	}
	return piICMP
}

// NAT is one WinNAT instance (one NetNat object, or one shard of it).
// It is not safe for concurrent use; see the package documentation.
type NAT struct {
	cfg Config

	prefix, mask uint32                   // internal prefix, host order
	ext          [][4]byte                // external addresses, in Config order
	lo, hi       uint16                   // this shard's dynamic port range
	tmo          [numTimeoutClasses]int64 // idle timeouts in ns, by class
	filtering    [2]Filtering             // by protocol index (TCP, UDP)

	// idx finds a session by its out key and by its in key.
	idx    index
	chunks [][]session // session i (1-based) at chunks[(i-1)>>chunkBits][(i-1)&(chunkSize-1)]
	free   []uint32    // free session indexes
	next   uint32      // next never-used session index
	nsess  int

	// heap orders the live sessions by expiry (see expiry.go); hpos[i-1]
	// is session i's place in it.
	heap []expiryEntry
	hpos []uint32

	maps     []mapping // index 0 unused
	mfree    []uint32
	mapIndex map[mapKey]uint32
	static   map[staticKey]uint32

	// ports[proto][ext] owns this shard's dynamic port range.
	ports [numProto][]portTable

	now    int64  // latest packet time seen
	serial uint32 // serial of the last session made

	st counters
}

// counters are plain integers owned by the NAT's goroutine. Atomic ones
// were measured at about 7 ns more per packet (an atomic store is an XCHG on
// amd64), a fifth of the budget of the whole NAT step.
type counters struct {
	out, in, hairpin, icmpErr, notHandled  uint64
	dropped                                [64]uint64 // by drop.Reason
	created, expired, removed              uint64
	sessions, mappings, portsUsed, statics int64
}

func inc(c *uint64) { *c++ }

func add(c *int64, d int64) { *c += d }

// New validates cfg and returns a NAT. Errors are *ConfigError naming the
// field.
func New(cfg Config) (*NAT, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &NAT{
		cfg: c,
		tmo: [numTimeoutClasses]int64{
			tcICMP:           int64(c.ICMPQueryTimeout),
			tcUDP:            int64(c.UDPIdleTimeout),
			tcTCPTransient:   int64(c.TCPTransientTimeout),
			tcTCPEstablished: int64(c.TCPEstablishedTimeout),
		},
		filtering: [2]Filtering{c.TCPFiltering, c.UDPFiltering},
		idx:       newIndex(),
		next:      1,
		maps:      make([]mapping, 1),
		mapIndex:  make(map[mapKey]uint32),
		static:    make(map[staticKey]uint32),
	}
	a := c.InternalPrefix.Addr().As4()
	n.prefix = binary.BigEndian.Uint32(a[:])
	if bits := c.InternalPrefix.Bits(); bits > 0 {
		n.mask = ^uint32(0) << (32 - bits)
	}
	for _, e := range c.ExternalAddrs {
		n.ext = append(n.ext, e.As4())
	}
	n.lo, n.hi = shardRange(c.PortRange, c.Shard, c.Shards)
	for i := range n.ports {
		n.ports[i] = make([]portTable, len(n.ext))
	}
	return n, nil
}

// Config returns the configuration with defaults applied.
func (n *NAT) Config() Config {
	c := n.cfg
	c.ExternalAddrs = append([]netip.Addr(nil), c.ExternalAddrs...)
	return c
}

// PortRange returns this shard's part of the dynamic port range.
func (n *NAT) PortRange() (lo, hi uint16) { return n.lo, n.hi }

// Internal reports whether a is in the NAT's internal prefix.
func (n *NAT) Internal(a netip.Addr) bool {
	return a.Is4() && n.internal4(a.As4())
}

func (n *NAT) internal4(a [4]byte) bool {
	return binary.BigEndian.Uint32(a[:])&n.mask == n.prefix
}

// External reports whether a is one of the NAT's external addresses.
func (n *NAT) External(a netip.Addr) bool {
	return a.Is4() && n.extIndex(a.As4()) >= 0
}

func (n *NAT) extIndex(a [4]byte) int {
	for i, e := range n.ext {
		if e == a {
			return i
		}
	}
	return -1
}

func (n *NAT) sess(i uint32) *session {
	j := i - 1
	return &n.chunks[j>>chunkBits][j&(chunkSize-1)]
}

func (n *NAT) clock(now int64) {
	if now > n.now {
		n.now = now
	}
}

// expired reports whether s is idle past its timeout at now: alive at
// exactly the timeout, gone one nanosecond later.
func (n *NAT) expired(s *session, now int64) bool { return now-s.lastSeen > n.tmo[s.tclass] }

// lookup returns the live session with key k, removing it if it is idle
// past its timeout.
func (n *NAT) lookup(k key, now int64) (uint32, *session, bool) {
	i, s := n.get(&k)
	if s == nil {
		return 0, nil, false
	}
	if n.expired(s, now) {
		n.removeSession(i, true)
		return 0, nil, false
	}
	return i, s, true
}

// vacant reports whether no live session has key k (removing an idle one).
func (n *NAT) vacant(k key, now int64) bool {
	_, _, ok := n.lookup(k, now)
	return !ok
}

// timeoutClass returns the timeout class of a session of proto in state st.
func timeoutClass(proto uint8, st State) uint8 {
	switch proto {
	case header.ProtoTCP:
		if st == StateTCPEstablished {
			return tcTCPEstablished
		}
		return tcTCPTransient
	case header.ProtoUDP:
		return tcUDP
	}
	return tcICMP
}

// room makes room for k more sessions, removing every session idle past
// its timeout if the table is full, and reports whether there is room.
func (n *NAT) room(k int, now int64) bool {
	if n.nsess+k <= n.cfg.MaxSessions {
		return true
	}
	n.reap(now, -1)
	return n.nsess+k <= n.cfg.MaxSessions
}

// addSession inserts a session on mapping mi. The caller has checked room
// and that neither key is taken.
func (n *NAT) addSession(mi uint32, s session, now int64) uint32 {
	var i uint32
	if l := len(n.free); l > 0 {
		i = n.free[l-1]
		n.free = n.free[:l-1]
	} else {
		i = n.next
		n.next++
		if int(i-1)>>chunkBits >= len(n.chunks) {
			n.chunks = append(n.chunks, make([]session, chunkSize))
			n.hpos = append(n.hpos, make([]uint32, chunkSize)...)
		}
	}
	s.m = mi
	s.flags |= flagLive
	if n.serial++; n.serial == 0 { // 0 is no session's: zeroed notes match none
		n.serial = 1
	}
	s.serial = n.serial
	s.created, s.lastSeen = now, now
	s.tclass = timeoutClass(s.proto, s.state)
	s.deltas()
	m := &n.maps[mi]
	s.next, s.prev = m.head, 0
	if m.head != 0 {
		n.sess(m.head).prev = i
	}
	m.head = i
	m.n++
	if n.isExt4(s.remAddr) {
		s.flags |= flagHairpin
	}
	*n.sess(i) = s
	n.idx.put(s.outKey(), i)
	n.idx.put(s.inKey(), i)
	n.expAdd(i, n.expiryAt(&s))
	n.nsess++
	inc(&n.st.created)
	add(&n.st.sessions, 1)
	return i
}

func (n *NAT) isExt4(a [4]byte) bool { return n.extIndex(a) >= 0 }

// removeSession deletes session i, and its mapping when that was the last
// session of a dynamic mapping.
func (n *NAT) removeSession(i uint32, idle bool) {
	s := n.sess(i)
	if s.flags&flagLive == 0 {
		return
	}
	n.idx.del(s.outKey(), i)
	n.idx.del(s.inKey(), i)
	n.expDel(i)
	m := &n.maps[s.m]
	if s.prev != 0 {
		n.sess(s.prev).next = s.next
	} else {
		m.head = s.next
	}
	if s.next != 0 {
		n.sess(s.next).prev = s.prev
	}
	m.n--
	mi := s.m
	*s = session{}
	n.free = append(n.free, i)
	n.nsess--
	add(&n.st.sessions, -1)
	if idle {
		inc(&n.st.expired)
	} else {
		inc(&n.st.removed)
	}
	if m.n == 0 && !m.static {
		n.freeMapping(mi)
	}
}

// Expire removes sessions idle past their timeouts at now, oldest first,
// examining at most budget of them (a session refreshed since it was last
// examined counts too), and returns how many it removed. Call it with a
// small budget per packet (or per batch) to keep tables bounded: a full
// session or port table removes every idle session itself before it
// refuses a new one. It does not allocate.
func (n *NAT) Expire(now int64, budget int) int {
	n.clock(now)
	if budget <= 0 {
		return 0
	}
	return n.reap(now, budget)
}

// SessionInfo describes a session, like an MSFT_NetNatSession object
// (Get-NetNatSession). Internal addresses are as seen on the internal
// network, external ones as seen outside. For ICMP queries the ports hold
// the query identifier and the remote port is 0.
type SessionInfo struct {
	Protocol                   uint8
	InternalSourceAddress      netip.Addr
	InternalSourcePort         uint16
	InternalDestinationAddress netip.Addr
	InternalDestinationPort    uint16
	ExternalSourceAddress      netip.Addr
	ExternalSourcePort         uint16
	ExternalDestinationAddress netip.Addr
	ExternalDestinationPort    uint16
	CreationTime, LastSeen     int64         // virtual time, ns
	Timeout                    time.Duration // idle timeout in the current state
	State                      State
	Inbound                    bool // created by an inbound packet
	Static                     bool // through a static mapping
	Hairpin                    bool // the remote is one of the NAT's external addresses
}

// Sessions returns the sessions alive at the latest packet time the NAT has
// seen, in table order. It allocates; call it from the NAT's owner.
func (n *NAT) Sessions() []SessionInfo {
	var out []SessionInfo
	for i := uint32(1); i < n.next; i++ {
		s := n.sess(i)
		if s.flags&flagLive == 0 || n.expired(s, n.now) {
			continue
		}
		rem := netip.AddrFrom4(s.remAddr)
		out = append(out, SessionInfo{
			Protocol:                   s.proto,
			InternalSourceAddress:      netip.AddrFrom4(s.intAddr),
			InternalSourcePort:         s.intPort,
			InternalDestinationAddress: rem,
			InternalDestinationPort:    s.remPort,
			ExternalSourceAddress:      netip.AddrFrom4(s.extAddr),
			ExternalSourcePort:         s.extPort,
			ExternalDestinationAddress: rem,
			ExternalDestinationPort:    s.remPort,
			CreationTime:               s.created,
			LastSeen:                   s.lastSeen,
			Timeout:                    time.Duration(n.tmo[s.tclass]),
			State:                      s.state,
			Inbound:                    s.flags&flagInbound != 0,
			Static:                     n.maps[s.m].static,
			Hairpin:                    s.flags&flagHairpin != 0,
		})
	}
	return out
}

// Stats are a NAT's counters.
type Stats struct {
	Outbound   uint64 // packets translated outbound (ICMP errors included)
	Inbound    uint64 // packets translated inbound (ICMP errors included)
	Hairpin    uint64 // packets translated by Hairpin
	ICMPErrors uint64 // ICMP error messages translated (any direction)
	NotHandled uint64
	Dropped    map[drop.Reason]uint64 // by reason; reasons never seen are absent

	SessionsCreated uint64
	SessionsExpired uint64 // removed for idleness
	SessionsRemoved uint64 // removed with their static mapping
	Sessions        int    // in the table (some may be idle until reaped)
	Mappings        int    // dynamic mappings (internal endpoint -> external port)
	PortsInUse      int    // external ports held by dynamic mappings
	StaticMappings  int
}

// Stats returns the counters. Call it from the goroutine that owns the NAT
// (or while it is idle): the counters are not atomic. It allocates.
func (n *NAT) Stats() Stats {
	st := Stats{
		Outbound:        n.st.out,
		Inbound:         n.st.in,
		Hairpin:         n.st.hairpin,
		ICMPErrors:      n.st.icmpErr,
		NotHandled:      n.st.notHandled,
		Dropped:         map[drop.Reason]uint64{},
		SessionsCreated: n.st.created,
		SessionsExpired: n.st.expired,
		SessionsRemoved: n.st.removed,
		Sessions:        int(n.st.sessions),
		Mappings:        int(n.st.mappings),
		PortsInUse:      int(n.st.portsUsed),
		StaticMappings:  int(n.st.statics),
	}
	for r := range n.st.dropped {
		if c := n.st.dropped[r]; c != 0 {
			st.Dropped[drop.Reason(r)] = c
		}
	}
	return st
}

// result is what one call of an entry point did: returned, never kept in
// the NAT, so that no call depends on another having reset anything.
type result struct {
	v    Verdict
	r    drop.Reason
	why  note   // for the trace
	sess uint32 // the session to describe in the trace, or 0
	ref  Ref    // the session a flow cache may keep (see Ref), or 0
}

func (n *NAT) count(v Verdict, r drop.Reason) {
	switch v {
	case NotHandled:
		inc(&n.st.notHandled)
	case Dropped:
		if int(r) < len(n.st.dropped) {
			inc(&n.st.dropped[r])
		}
	}
}
