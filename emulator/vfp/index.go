package vfp

import (
	"encoding/binary"
	"net/netip"
	"slices"

	"github.com/hnspath/hnspath/emulator/header"
	"github.com/hnspath/hnspath/emulator/packet"
)

// Rule lookup. A group's rules are compiled into crules sorted by rank
// (priority, then insertion), and indexed so that the first packet of a
// flow does not scan thousands of rules:
//
//   - priority groups get a decision tree: each node hashes one field (an
//     IP prefix table per prefix length, or exact ports, protocols, VNIs,
//     MACs) to child nodes, and keeps the rules that do not restrict that
//     field in a "wildcard" child indexed by the next field. The field of a
//     node is the one that minimises the rules a lookup must still check.
//     Leaves hold a few rules, checked in rank order. Every node knows the
//     best rank below it, so a lookup skips subtrees that cannot beat the
//     match it already has. This is tuple space search (OVS) applied one
//     field at a time;
//   - LPM groups get one hash table per destination prefix length, probed
//     from the longest; a rule without a destination condition counts as /0.
//
// index_test.go checks both against a linear scan of the rules on random
// rule sets and packets.

// ip128 is an address in 16-byte form (IPv4 mapped) as two words.
type ip128 struct{ hi, lo uint64 }

func ipOf16(b [16]byte) ip128 {
	return ip128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func ipOf(a netip.Addr) ip128 { return ipOf16(a.As16()) }

func (a ip128) and(m ip128) ip128 { return ip128{a.hi & m.hi, a.lo & m.lo} }

// maskOf returns the mask of the first n of 128 bits.
func maskOf(n int) ip128 {
	var m ip128
	switch {
	case n >= 128:
		m = ip128{^uint64(0), ^uint64(0)}
	case n > 64:
		m = ip128{^uint64(0), ^uint64(0) << (128 - n)}
	case n == 64:
		m = ip128{^uint64(0), 0}
	case n > 0:
		m = ip128{^uint64(0) << (64 - n), 0}
	}
	return m
}

// cprefix is a compiled prefix: the masked address in 16-byte form.
type cprefix struct {
	addr, mask ip128
	bits       int // prefix length in its own family (0-32 or 0-128)
	total      int // length in the 16-byte form
}

func mkPrefix(pf netip.Prefix) cprefix {
	pf = pf.Masked()
	total := pf.Bits()
	if pf.Addr().Is4() {
		total += 96
	}
	m := maskOf(total)
	return cprefix{addr: ipOf(pf.Addr()).and(m), mask: m, bits: pf.Bits(), total: total}
}

func (c *cprefix) contains(a ip128) bool {
	return a.hi&c.mask.hi == c.addr.hi && a.lo&c.mask.lo == c.addr.lo
}

// fields are the header fields rules match, taken from the packet as a
// layer sees it.
type fields struct {
	src, dst         ip128
	srcMAC, dstMAC   header.MAC
	srcPort, dstPort uint16
	proto            uint8
	ports            bool // TCP or UDP with ports
	vxlan            bool // UDP to a VXLAN port with a VXLAN header
	vni              uint32
}

func (p *Port) fieldsOf(pp *packet.Parsed, f *fields) {
	f.src = ipOf(pp.Src)
	f.dst = ipOf(pp.Dst)
	f.srcMAC, f.dstMAC = pp.SrcMAC, pp.DstMAC
	f.proto = pp.IPProto
	f.ports = pp.HasL4Ports && (pp.IPProto == header.ProtoTCP || pp.IPProto == header.ProtoUDP)
	f.srcPort, f.dstPort = pp.SrcPort, pp.DstPort
	f.vxlan, f.vni = false, 0
	if vx, ok := p.vxlanOf(pp); ok {
		f.vxlan, f.vni = true, vx.VNI()
	}
}

// crule is a compiled condition list (a rule's, or a group's with r nil).
type crule struct {
	r                *Rule
	protos           [4]uint64 // bitmap; valid when hasProto
	hasProto         bool
	srcPort, dstPort []PortRange
	srcIP, dstIP     []cprefix
	srcMAC, dstMAC   []header.MAC
	vni              []uint32
	protoList        []uint8
}

func compileConds(c *Conditions) crule {
	var cr crule
	for _, p := range c.Protocols {
		cr.protos[p>>6] |= 1 << (p & 63)
		cr.hasProto = true
	}
	cr.protoList = slices.Clone(c.Protocols)
	cr.srcPort = slices.Clone(c.SrcPort)
	cr.dstPort = slices.Clone(c.DstPort)
	for _, p := range c.SrcIP {
		cr.srcIP = append(cr.srcIP, mkPrefix(p))
	}
	for _, p := range c.DstIP {
		cr.dstIP = append(cr.dstIP, mkPrefix(p))
	}
	cr.srcMAC = slices.Clone(c.SrcMAC)
	cr.dstMAC = slices.Clone(c.DstMAC)
	cr.vni = slices.Clone(c.VNI)
	return cr
}

func (c *crule) empty() bool {
	return !c.hasProto && len(c.srcPort) == 0 && len(c.dstPort) == 0 && len(c.srcIP) == 0 && len(c.dstIP) == 0 &&
		len(c.srcMAC) == 0 && len(c.dstMAC) == 0 && len(c.vni) == 0
}

func inPorts(rs []PortRange, p uint16) bool {
	for _, r := range rs {
		if r.Lo <= p && p <= r.Hi {
			return true
		}
	}
	return false
}

func inPrefixes(ps []cprefix, a ip128) bool {
	for i := range ps {
		if ps[i].contains(a) {
			return true
		}
	}
	return false
}

func inMACs(ms []header.MAC, m header.MAC) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

// match reports whether f satisfies every condition of c.
func (c *crule) match(f *fields) bool {
	if c.hasProto && c.protos[f.proto>>6]&(1<<(f.proto&63)) == 0 {
		return false
	}
	if len(c.dstPort) != 0 && (!f.ports || !inPorts(c.dstPort, f.dstPort)) {
		return false
	}
	if len(c.srcPort) != 0 && (!f.ports || !inPorts(c.srcPort, f.srcPort)) {
		return false
	}
	if len(c.dstIP) != 0 && !inPrefixes(c.dstIP, f.dst) {
		return false
	}
	if len(c.srcIP) != 0 && !inPrefixes(c.srcIP, f.src) {
		return false
	}
	if len(c.srcMAC) != 0 && !inMACs(c.srcMAC, f.srcMAC) {
		return false
	}
	if len(c.dstMAC) != 0 && !inMACs(c.dstMAC, f.dstMAC) {
		return false
	}
	if len(c.vni) != 0 {
		if !f.vxlan || !slices.Contains(c.vni, f.vni) {
			return false
		}
	}
	return true
}

// Fields a node can index on.
type fieldID uint8

const (
	fLeaf fieldID = iota
	fDstIP
	fSrcIP
	fDstPort
	fSrcPort
	fProto
	fDstMAC
	fSrcMAC
	fVNI
	numFields
)

const (
	leafSize      = 8  // rules a leaf may hold before it is split
	maxPortExpand = 16 // port ranges up to this width are indexed port by port
)

// node is a decision-tree node of a priority group's index.
type node struct {
	minRank int32 // smallest rank in the subtree
	field   fieldID
	leaf    []int32 // fLeaf: ranks in order
	wild    *node   // rules that do not restrict field
	ipb     []ipBucket
	vals    map[uint32]*node
	macs    map[header.MAC]*node
}

// ipBucket is the table of one prefix length.
type ipBucket struct {
	mask ip128
	m    map[ip128]*node
}

// index is a group's compiled rules.
type index struct {
	rules []crule // by rank
	cond  crule   // the group's own conditions
	any   bool    // the group has no conditions
	lpm   bool
	root  *node
	// LPM groups.
	lens []lpmBucket // longest first
}

type lpmBucket struct {
	mask ip128
	m    map[ip128][]int32
}

// bkey is an index key of any field, for building.
type bkey struct {
	ip   ip128
	v    uint64
	bits int
}

// keysOf appends rule c's keys for field f; wild reports that c does not
// restrict f in a way the index can hash (and so must be checked anyway).
func (c *crule) keysOf(f fieldID, out []bkey) (keys []bkey, wild bool) {
	switch f {
	case fDstIP, fSrcIP:
		ps := c.dstIP
		if f == fSrcIP {
			ps = c.srcIP
		}
		if len(ps) == 0 {
			return out, true
		}
		for i := range ps {
			out = append(out, bkey{ip: ps[i].addr, bits: ps[i].total})
		}
	case fDstPort, fSrcPort:
		rs := c.dstPort
		if f == fSrcPort {
			rs = c.srcPort
		}
		if len(rs) == 0 {
			return out, true
		}
		n := 0
		for _, r := range rs {
			n += int(r.Hi) - int(r.Lo) + 1
		}
		if n > maxPortExpand {
			return out, true
		}
		for _, r := range rs {
			for p := int(r.Lo); p <= int(r.Hi); p++ {
				out = append(out, bkey{v: uint64(p)})
			}
		}
	case fProto:
		if !c.hasProto {
			return out, true
		}
		for _, p := range c.protoList {
			out = append(out, bkey{v: uint64(p)})
		}
	case fVNI:
		if len(c.vni) == 0 {
			return out, true
		}
		for _, v := range c.vni {
			out = append(out, bkey{v: uint64(v)})
		}
	case fDstMAC, fSrcMAC:
		ms := c.dstMAC
		if f == fSrcMAC {
			ms = c.srcMAC
		}
		if len(ms) == 0 {
			return out, true
		}
		for _, m := range ms {
			var b [8]byte
			copy(b[2:], m[:])
			out = append(out, bkey{v: binary.BigEndian.Uint64(b[:])})
		}
	}
	return dedupKeys(out), false
}

func dedupKeys(ks []bkey) []bkey {
	for i := 1; i < len(ks); i++ {
		for j := 0; j < i; j++ {
			if ks[j] == ks[i] {
				ks = append(ks[:i], ks[i+1:]...)
				i--
				break
			}
		}
	}
	return ks
}

// buildIndex compiles g's rules.
func buildIndex(g *Group) *index {
	rules := slices.Clone(g.Rules)
	slices.SortStableFunc(rules, func(a, b *Rule) int {
		switch {
		case a.Priority < b.Priority:
			return -1
		case a.Priority > b.Priority:
			return 1
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	ix := &index{lpm: g.LPM, cond: compileConds(&g.Conditions)}
	ix.any = ix.cond.empty()
	ix.rules = make([]crule, len(rules))
	ids := make([]int32, len(rules))
	for i, r := range rules {
		ix.rules[i] = compileConds(&r.Conditions)
		ix.rules[i].r = r
		ids[i] = int32(i)
	}
	if g.LPM {
		ix.buildLPM(ids, g.IPv6)
	} else if len(ids) > 0 {
		budget := 8*len(ids) + 64
		ix.root = ix.build(ids, 0, &budget)
	}
	return ix
}

// buildLPM fills the per-length tables. A rule without a destination
// condition counts as one with the family's /0.
func (ix *index) buildLPM(ids []int32, v6 bool) {
	zero := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	if v6 {
		zero = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	zeroP := []cprefix{mkPrefix(zero)}
	byLen := map[int]*lpmBucket{}
	for _, id := range ids {
		c := &ix.rules[id]
		ps := c.dstIP
		if len(ps) == 0 {
			ps = zeroP
		}
		for i := range ps {
			p := &ps[i]
			b := byLen[p.total]
			if b == nil {
				b = &lpmBucket{mask: p.mask, m: map[ip128][]int32{}}
				byLen[p.total] = b
			}
			if l := b.m[p.addr]; len(l) == 0 || l[len(l)-1] != id {
				b.m[p.addr] = append(l, id)
			}
		}
	}
	lens := make([]int, 0, len(byLen))
	for n := range byLen {
		lens = append(lens, n)
	}
	slices.Sort(lens)
	for i := len(lens) - 1; i >= 0; i-- {
		ix.lens = append(ix.lens, *byLen[lens[i]])
	}
}

// cost returns how many rules a lookup must still check if the node over
// ids indexes field f, and whether f is worth indexing.
func (ix *index) cost(ids []int32, f fieldID) (int, bool) {
	counts := map[bkey]int{}
	lens := map[int]bool{}
	wild, total := 0, 0
	var scratch []bkey
	for _, id := range ids {
		keys, w := ix.rules[id].keysOf(f, scratch[:0])
		scratch = keys
		if w {
			wild++
			continue
		}
		for _, k := range keys {
			counts[k]++
			lens[k.bits] = true
		}
		total += len(keys)
	}
	if wild == len(ids) || total > 2*len(ids)+8 {
		return 0, false
	}
	maxb := 0
	for _, n := range counts {
		maxb = max(maxb, n)
	}
	probes := 1
	if f == fDstIP || f == fSrcIP {
		probes = len(lens)
	}
	return wild + maxb + probes, true
}

// build returns the node for rules ids (ascending ranks); used is the set
// of fields indexed by the ancestors.
func (ix *index) build(ids []int32, used uint16, budget *int) *node {
	*budget--
	n := &node{minRank: ids[0]}
	if len(ids) <= leafSize || *budget <= 0 {
		n.leaf = ids
		return n
	}
	best, bestCost := fLeaf, len(ids)
	for f := fDstIP; f < numFields; f++ {
		if used&(1<<f) != 0 {
			continue
		}
		if c, ok := ix.cost(ids, f); ok && c < bestCost {
			best, bestCost = f, c
		}
	}
	if best == fLeaf {
		n.leaf = ids
		return n
	}
	n.field = best
	used |= 1 << best
	var wild []int32
	buckets := map[bkey][]int32{}
	var order []bkey
	var scratch []bkey
	for _, id := range ids {
		keys, w := ix.rules[id].keysOf(best, scratch[:0])
		scratch = keys
		if w {
			wild = append(wild, id)
			continue
		}
		for _, k := range keys {
			if _, ok := buckets[k]; !ok {
				order = append(order, k)
			}
			buckets[k] = append(buckets[k], id)
		}
	}
	if len(wild) > 0 {
		n.wild = ix.build(wild, used, budget)
	}
	switch best {
	case fDstIP, fSrcIP:
		byLen := map[int]int{}
		for _, k := range order {
			bi, ok := byLen[k.bits]
			if !ok {
				bi = len(n.ipb)
				byLen[k.bits] = bi
				n.ipb = append(n.ipb, ipBucket{mask: maskOf(k.bits), m: map[ip128]*node{}})
			}
			n.ipb[bi].m[k.ip] = ix.build(buckets[k], used, budget)
		}
	case fDstMAC, fSrcMAC:
		n.macs = map[header.MAC]*node{}
		for _, k := range order {
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], k.v)
			n.macs[header.MAC(b[2:])] = ix.build(buckets[k], used, budget)
		}
	default:
		n.vals = map[uint32]*node{}
		for _, k := range order {
			n.vals[uint32(k.v)] = ix.build(buckets[k], used, budget)
		}
	}
	return n
}

// lookup returns the rank of the rule that decides for f in the group, or
// -1. It does not allocate.
func (ix *index) lookup(f *fields) int32 {
	if ix.lpm {
		return ix.lookupLPM(f)
	}
	if ix.root == nil {
		return -1
	}
	best := ix.root.find(ix, f, int32(len(ix.rules)))
	if best == int32(len(ix.rules)) {
		return -1
	}
	return best
}

func (n *node) find(ix *index, f *fields, best int32) int32 {
	for ; n != nil; n = n.wild {
		if n.minRank >= best {
			return best
		}
		switch n.field {
		case fLeaf:
			for _, id := range n.leaf {
				if id >= best {
					break
				}
				if ix.rules[id].match(f) {
					return id
				}
			}
			return best
		case fDstIP, fSrcIP:
			a := f.dst
			if n.field == fSrcIP {
				a = f.src
			}
			for i := range n.ipb {
				b := &n.ipb[i]
				if c := b.m[a.and(b.mask)]; c != nil {
					best = c.find(ix, f, best)
				}
			}
		case fDstPort, fSrcPort:
			if f.ports {
				v := f.dstPort
				if n.field == fSrcPort {
					v = f.srcPort
				}
				if c := n.vals[uint32(v)]; c != nil {
					best = c.find(ix, f, best)
				}
			}
		case fProto:
			if c := n.vals[uint32(f.proto)]; c != nil {
				best = c.find(ix, f, best)
			}
		case fVNI:
			if f.vxlan {
				if c := n.vals[f.vni]; c != nil {
					best = c.find(ix, f, best)
				}
			}
		case fDstMAC, fSrcMAC:
			m := f.dstMAC
			if n.field == fSrcMAC {
				m = f.srcMAC
			}
			if c := n.macs[m]; c != nil {
				best = c.find(ix, f, best)
			}
		}
	}
	return best
}

func (ix *index) lookupLPM(f *fields) int32 {
	for i := range ix.lens {
		b := &ix.lens[i]
		for _, id := range b.m[f.dst.and(b.mask)] {
			if ix.rules[id].match(f) {
				return id
			}
		}
	}
	return -1
}

// decide runs the groups of layer l for a packet with fields f in
// direction dir: within a group the best rule wins, the last matching
// group's rule decides unless a rule is terminating (reference
// windows-behaviour.md §1.1). It returns nil when no rule matched.
func (l *Layer) decide(dir Direction, v6 bool, f *fields) (*Rule, *Group) {
	var rule *Rule
	var grp *Group
	fam := 0
	if v6 {
		fam = 1
	}
	for _, g := range l.byDir[dir][fam] {
		ix := g.idx
		if !ix.any && !ix.cond.match(f) {
			continue
		}
		id := ix.lookup(f)
		if id < 0 {
			continue
		}
		rule, grp = ix.rules[id].r, g
		if rule.Terminating {
			break
		}
	}
	return rule, grp
}

// compile rebuilds the indexes of changed groups and each layer's
// per-direction group lists. It allocates; it runs on the slow path after a
// policy change.
func (p *Port) compile() {
	for _, l := range p.layers {
		l.byDir = [2][2][]*Group{}
		gs := slices.Clone(l.Groups)
		slices.SortStableFunc(gs, func(a, b *Group) int {
			switch {
			case a.Priority < b.Priority:
				return -1
			case a.Priority > b.Priority:
				return 1
			case a.seq < b.seq:
				return -1
			case a.seq > b.seq:
				return 1
			}
			return 0
		})
		for _, g := range gs {
			if g.dirty || g.idx == nil {
				g.idx = buildIndex(g)
				g.dirty = false
			}
			fam := 0
			if g.IPv6 {
				fam = 1
			}
			l.byDir[g.Direction&1][fam] = append(l.byDir[g.Direction&1][fam], g)
		}
	}
	p.dirty = false
}
