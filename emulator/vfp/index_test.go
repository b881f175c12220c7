package vfp

import (
	"cmp"
	"fmt"
	"math/rand"
	"net/netip"
	"slices"
	"testing"

	"github.com/hnspath/hnspath/emulator/header"
)

// The oracle: a linear scan written without the index's data structures.

type testPkt struct {
	src, dst       netip.Addr
	srcMAC, dstMAC header.MAC
	proto          uint8
	sport, dport   uint16
	hasPorts       bool
	vxlan          bool
	vni            uint32
}

func (pk *testPkt) fields() fields {
	return fields{
		src: ipOf(pk.src), dst: ipOf(pk.dst), srcMAC: pk.srcMAC, dstMAC: pk.dstMAC,
		srcPort: pk.sport, dstPort: pk.dport, proto: pk.proto,
		ports: pk.hasPorts && (pk.proto == 6 || pk.proto == 17), vxlan: pk.vxlan, vni: pk.vni,
	}
}

func oracleMatch(c *Conditions, pk *testPkt) bool {
	if len(c.Protocols) > 0 && !slices.Contains(c.Protocols, pk.proto) {
		return false
	}
	ports := pk.hasPorts && (pk.proto == 6 || pk.proto == 17)
	portIn := func(rs []PortRange, p uint16) bool {
		if len(rs) == 0 {
			return true
		}
		if !ports {
			return false
		}
		for _, r := range rs {
			if p >= r.Lo && p <= r.Hi {
				return true
			}
		}
		return false
	}
	ipIn := func(ps []netip.Prefix, a netip.Addr) bool {
		if len(ps) == 0 {
			return true
		}
		for _, p := range ps {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	macIn := func(ms []header.MAC, m header.MAC) bool { return len(ms) == 0 || slices.Contains(ms, m) }
	return portIn(c.SrcPort, pk.sport) && portIn(c.DstPort, pk.dport) &&
		ipIn(c.SrcIP, pk.src) && ipIn(c.DstIP, pk.dst) &&
		macIn(c.SrcMAC, pk.srcMAC) && macIn(c.DstMAC, pk.dstMAC) &&
		(len(c.VNI) == 0 || (pk.vxlan && slices.Contains(c.VNI, pk.vni)))
}

// oracleGroup returns the rule that decides in g for pk, by scanning.
func oracleGroup(g *Group, pk *testPkt) *Rule {
	rules := slices.Clone(g.Rules)
	slices.SortStableFunc(rules, func(a, b *Rule) int { return cmp.Compare(a.Priority, b.Priority) })
	var best *Rule
	bestLen := -1
	for _, r := range rules {
		if !oracleMatch(&r.Conditions, pk) {
			continue
		}
		if !g.LPM {
			return r
		}
		l := 0
		for _, p := range r.Conditions.DstIP {
			if p.Contains(pk.dst) && p.Bits() > l {
				l = p.Bits()
			}
		}
		if l > bestLen {
			best, bestLen = r, l
		}
	}
	return best
}

type ruleGen struct {
	rng *rand.Rand
	v6  bool
}

func (g *ruleGen) addr() netip.Addr {
	if g.v6 {
		return netip.AddrFrom16([16]byte{0: 0xfd, 14: byte(g.rng.Intn(4)), 15: byte(g.rng.Intn(16))})
	}
	return netip.AddrFrom4([4]byte{10, 0, byte(g.rng.Intn(4)), byte(g.rng.Intn(16))})
}

func (g *ruleGen) prefix() netip.Prefix {
	lens := []int{0, 8, 16, 24, 28, 30, 32, 32, 32}
	if g.v6 {
		lens = []int{0, 8, 64, 112, 120, 124, 126, 128, 128, 128}
	}
	p, _ := g.addr().Prefix(lens[g.rng.Intn(len(lens))])
	return p
}

var testMACs = []header.MAC{{0, 0x15, 0x5d, 0, 0, 1}, {0, 0x15, 0x5d, 0, 0, 2}, {0, 0x15, 0x5d, 0, 0, 3}, {2, 0, 0, 0, 0, 4}}

func (g *ruleGen) ports() []PortRange {
	choices := []PortRange{{53, 53}, {80, 80}, {443, 443}, {1000, 1010}, {1024, 65535}, {8080, 8081}, {0, 79}}
	n := 1 + g.rng.Intn(2)
	var out []PortRange
	for i := 0; i < n; i++ {
		out = append(out, choices[g.rng.Intn(len(choices))])
	}
	return out
}

func (g *ruleGen) conds(p float64) Conditions {
	var c Conditions
	r := g.rng
	some := func() bool { return r.Float64() < p }
	n := func() int { return 1 + r.Intn(3) }
	if some() {
		for i := n(); i > 0; i-- {
			c.SrcIP = append(c.SrcIP, g.prefix())
		}
	}
	if some() {
		for i := n(); i > 0; i-- {
			c.DstIP = append(c.DstIP, g.prefix())
		}
	}
	if some() {
		c.SrcPort = g.ports()
	}
	if some() {
		c.DstPort = g.ports()
	}
	if some() {
		for i := n(); i > 0; i-- {
			c.Protocols = append(c.Protocols, []uint8{1, 6, 17}[r.Intn(3)])
		}
	}
	if r.Float64() < p/3 {
		c.SrcMAC = append(c.SrcMAC, testMACs[r.Intn(len(testMACs))])
	}
	if r.Float64() < p/3 {
		c.DstMAC = append(c.DstMAC, testMACs[r.Intn(len(testMACs))])
	}
	if r.Float64() < p/4 {
		c.VNI = append(c.VNI, uint32(4096+r.Intn(3)))
	}
	return c
}

func (g *ruleGen) packet() testPkt {
	r := g.rng
	pk := testPkt{
		src: g.addr(), dst: g.addr(), srcMAC: testMACs[r.Intn(len(testMACs))], dstMAC: testMACs[r.Intn(len(testMACs))],
		proto: []uint8{1, 6, 17, 47}[r.Intn(4)], hasPorts: r.Intn(10) > 0,
		vxlan: r.Intn(4) == 0, vni: uint32(4096 + r.Intn(3)),
	}
	ports := []uint16{53, 80, 443, 1000, 1005, 1010, 1011, 8080, 40000, 65535, 0, 79}
	pk.sport, pk.dport = ports[r.Intn(len(ports))], ports[r.Intn(len(ports))]
	return pk
}

func (g *ruleGen) group(n int, lpm bool) *Group {
	grp := &Group{Name: "g", IPv6: g.v6, LPM: lpm}
	p := 0.2 + g.rng.Float64()*0.6
	for i := 0; i < n; i++ {
		grp.Rules = append(grp.Rules, &Rule{
			Name:       fmt.Sprintf("r%d", i),
			Priority:   uint32(g.rng.Intn(n/2 + 1)), // ties on purpose
			Conditions: g.conds(p),
		})
	}
	return grp
}

// TestIndexMatchesLinearScan compares the group index with the oracle on
// random rule sets and packets, for priority and LPM groups of both
// families.
func TestIndexMatchesLinearScan(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	sizes := []int{0, 1, 5, 9, 40, 200, 1500}
	for _, v6 := range []bool{false, true} {
		for _, lpm := range []bool{false, true} {
			for _, n := range sizes {
				for trial := 0; trial < 4; trial++ {
					g := &ruleGen{rng: rng, v6: v6}
					grp := g.group(n, lpm)
					ix := buildIndex(grp)
					for i := 0; i < 400; i++ {
						pk := g.packet()
						f := pk.fields()
						want := oracleGroup(grp, &pk)
						id := ix.lookup(&f)
						var got *Rule
						if id >= 0 {
							got = ix.rules[id].r
						}
						if got != want {
							t.Fatalf("v6=%v lpm=%v n=%d trial %d: packet %+v: index chose %v, linear scan %v",
								v6, lpm, n, trial, pk, ruleName(got), ruleName(want))
						}
					}
				}
			}
		}
	}
}

func ruleName(r *Rule) string {
	if r == nil {
		return "<none>"
	}
	return fmt.Sprintf("%s (priority %d)", r.Name, r.Priority)
}

// TestIndexIsSelective checks that the index actually narrows the search:
// on 10k rules that each name one source address, a lookup checks a
// handful of rules, not thousands.
func TestIndexIsSelective(t *testing.T) {
	grp := aclGroup(10000, rand.New(rand.NewSource(7)))
	ix := buildIndex(grp)
	checked := 0
	var count func(n *node)
	depth := 0
	count = func(n *node) {
		if n == nil {
			return
		}
		depth++
		if n.field == fLeaf {
			checked = max(checked, len(n.leaf))
		}
		for _, b := range n.ipb {
			for _, c := range b.m {
				count(c)
			}
		}
		for _, c := range n.vals {
			count(c)
		}
		count(n.wild)
	}
	count(ix.root)
	if ix.root == nil || ix.root.field == fLeaf {
		t.Fatalf("root of a 10k-rule group is a leaf; want an indexed field")
	}
	if checked > 64 {
		t.Errorf("largest leaf holds %d rules, want at most 64", checked)
	}
}

// TestDecideGroupsAndTerminating checks the layer-level semantics against
// an oracle over several groups: the last matching group's rule decides
// unless a matching rule is terminating.
func TestDecideGroupsAndTerminating(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for trial := 0; trial < 50; trial++ {
		g := &ruleGen{rng: rng}
		l := &Layer{Name: "L", DefaultAllow: true}
		for i := 0; i < 1+rng.Intn(4); i++ {
			grp := g.group(rng.Intn(30), rng.Intn(3) == 0)
			grp.Name = fmt.Sprintf("g%d", i)
			grp.Priority = uint32(rng.Intn(5))
			grp.Direction = Out
			if rng.Intn(3) == 0 {
				grp.Conditions = g.conds(0.3)
			}
			for _, r := range grp.Rules {
				r.Terminating = rng.Intn(3) == 0
			}
			l.Groups = append(l.Groups, grp)
		}
		p := newPort(t, PortOptions{}, l)
		p.compile()
		groups := slices.Clone(l.Groups)
		slices.SortStableFunc(groups, func(a, b *Group) int { return cmp.Compare(a.Priority, b.Priority) })
		for i := 0; i < 200; i++ {
			pk := g.packet()
			var want *Rule
			for _, grp := range groups {
				if !oracleMatch(&grp.Conditions, &pk) {
					continue
				}
				if r := oracleGroup(grp, &pk); r != nil {
					want = r
					if r.Terminating {
						break
					}
				}
			}
			f := pk.fields()
			got, _ := l.decide(Out, false, &f)
			if got != want {
				t.Fatalf("trial %d: packet %+v: decide chose %v, oracle %v", trial, pk, ruleName(got), ruleName(want))
			}
		}
	}
}

// aclGroup returns n rules like a large endpoint ACL: each names one
// remote /32 (or /24) source, a protocol and a destination port or range,
// allow or block, in random priority order.
func aclGroup(n int, rng *rand.Rand) *Group {
	g := &Group{Name: "ACL_ENDPOINT_GROUP_IPV4_IN", Direction: In}
	for i := 0; i < n; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(rng.Intn(256)), byte(rng.Intn(256)), byte(rng.Intn(256))})
		bits := 32
		if rng.Intn(4) == 0 {
			bits = 24
		}
		pf, _ := a.Prefix(bits)
		c := Conditions{SrcIP: []netip.Prefix{pf}, Protocols: []uint8{[]uint8{6, 17}[rng.Intn(2)]}}
		switch rng.Intn(3) {
		case 0:
			c.DstPort = []PortRange{SinglePort(uint16(1 + rng.Intn(1024)))}
		case 1:
			lo := uint16(1024 + rng.Intn(60000))
			c.DstPort = []PortRange{{lo, lo + 100}}
		}
		act := ActionAllow
		if rng.Intn(3) == 0 {
			act = ActionBlock
		}
		g.Rules = append(g.Rules, &Rule{Name: fmt.Sprintf("acl-%d", i), Priority: uint32(100 + rng.Intn(100000)),
			Terminating: true, Stateful: true, Conditions: c, FlowTTL: 240e9, Action: Action{Type: act}})
	}
	return g
}
