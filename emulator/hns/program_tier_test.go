package hns

import (
	"fmt"
	"math/rand"
	"net/netip"
	"slices"
	"testing"

	"github.com/hnspath/hnspath/emulator/vfp"
)

// tierPkt is what the tier oracle looks at.
type tierPkt struct {
	proto uint8
	src   netip.Addr
	dport uint16
}

func (p tierPkt) matches(c vfp.Conditions) bool {
	if len(c.Protocols) > 0 && !slices.Contains(c.Protocols, p.proto) {
		return false
	}
	if len(c.SrcIP) > 0 && !slices.ContainsFunc(c.SrcIP, func(x netip.Prefix) bool { return x.Contains(p.src) }) {
		return false
	}
	if len(c.DstPort) > 0 && !slices.ContainsFunc(c.DstPort, func(r vfp.PortRange) bool { return r.Lo <= p.dport && p.dport <= r.Hi }) {
		return false
	}
	return true
}

// walkTiers is the oracle: the tiers walked as documented (first match
// decides, Pass skips to the next tier, no match goes on to the next
// tier), then the post-tier rules.
func walkTiers(tiers [][]tierRule, post []tierRule, p tierPkt) (string, ActionType) {
next:
	for _, t := range tiers {
		for _, r := range t {
			if !p.matches(r.c) {
				continue
			}
			if r.act == ActionTypePass {
				continue next
			}
			return r.name, r.act
		}
	}
	for _, r := range post {
		if p.matches(r.c) {
			return r.name, r.act
		}
	}
	return "", ""
}

func firstMatch(rs []tierRule, p tierPkt) (string, ActionType) {
	for _, r := range rs {
		if r.act == ActionTypePass {
			panic("a Pass rule left in the flattened list")
		}
		if p.matches(r.c) {
			return r.name, r.act
		}
	}
	return "", ""
}

// TestFlattenTiersOracle compares the flattened list's decision with a
// direct walk of the tiers on random tiers and packets.
func TestFlattenTiersOracle(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	protos := []uint8{6, 17}
	srcs := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("10.1.2.3/32"), netip.MustParsePrefix("192.168.0.0/16")}
	ports := []vfp.PortRange{{Lo: 22, Hi: 22}, {Lo: 80, Hi: 443}, {Lo: 8080, Hi: 8081}, {Lo: 443, Hi: 8080}}
	acts := []ActionType{ActionTypeAllow, ActionTypeBlock, ActionTypePass, ActionTypePass}
	randCond := func() vfp.Conditions {
		var c vfp.Conditions
		if rng.Intn(2) == 0 {
			c.Protocols = []uint8{protos[rng.Intn(len(protos))]}
		}
		for i := rng.Intn(3); i > 0; i-- {
			c.SrcIP = append(c.SrcIP, srcs[rng.Intn(len(srcs))])
		}
		for i := rng.Intn(3); i > 0; i-- {
			c.DstPort = append(c.DstPort, ports[rng.Intn(len(ports))])
		}
		return c
	}
	pktSrcs := []netip.Addr{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("10.1.9.9"), netip.MustParseAddr("10.7.0.1"),
		netip.MustParseAddr("192.168.1.1"), netip.MustParseAddr("172.16.0.1")}
	pktPorts := []uint16{22, 80, 100, 443, 8080, 8081, 9000}
	post := []tierRule{
		{name: "post-allow-tcp", c: vfp.Conditions{Protocols: []uint8{6}}, act: ActionTypeAllow},
		{name: "post-block", act: ActionTypeBlock},
	}
	for trial := 0; trial < 300; trial++ {
		var tiers [][]tierRule
		for ti := rng.Intn(4) + 1; ti > 0; ti-- {
			var tier []tierRule
			for ri := rng.Intn(4); ri >= 0; ri-- {
				tier = append(tier, tierRule{name: fmt.Sprintf("t%d.r%d", len(tiers), len(tier)), c: randCond(), act: acts[rng.Intn(len(acts))]})
			}
			tiers = append(tiers, tier)
		}
		flat, err := flattenTiers(append(slices.Clone(tiers), post))
		if err != nil {
			t.Fatal(err)
		}
		for _, proto := range protos {
			for _, src := range pktSrcs {
				for _, dport := range pktPorts {
					p := tierPkt{proto, src, dport}
					_, wantAct := walkTiers(tiers, post, p)
					gotName, gotAct := firstMatch(flat, p)
					if gotAct != wantAct {
						t.Fatalf("trial %d, packet %+v: flattened rule %q says %s, the tier walk says %s\ntiers: %+v", trial, p, gotName, gotAct, wantAct, tiers)
					}
				}
			}
		}
	}
}

// TestLastTierPassFallsThrough is projectcalico/calico#13208: a Pass in
// the last tier lets the endpoint's defaults decide (here: allow TCP),
// where Calico's Windows flattener enforced it as a block.
func TestLastTierPassFallsThrough(t *testing.T) {
	tiers := [][]tierRule{
		{{name: "block-23", c: vfp.Conditions{Protocols: []uint8{6}, DstPort: []vfp.PortRange{vfp.SinglePort(23)}}, act: ActionTypeBlock},
			{name: "pass-all", act: ActionTypePass}},
	}
	post := []tierRule{{name: "default-allow-tcp", c: vfp.Conditions{Protocols: []uint8{6}}, act: ActionTypeAllow},
		{name: "default-block", act: ActionTypeBlock}}
	flat, err := flattenTiers(append(tiers, post))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		p        tierPkt
		wantName string
		wantAct  ActionType
	}{
		{tierPkt{6, netip.MustParseAddr("10.0.0.1"), 23}, "block-23", ActionTypeBlock},
		{tierPkt{6, netip.MustParseAddr("10.0.0.1"), 8080}, "pass-all+default-allow-tcp", ActionTypeAllow},
		{tierPkt{17, netip.MustParseAddr("10.0.0.1"), 53}, "pass-all+default-block", ActionTypeBlock},
	}
	for _, tt := range tests {
		if name, act := firstMatch(flat, tt.p); name != tt.wantName || act != tt.wantAct {
			t.Errorf("%+v: got %s %s, want %s %s", tt.p, name, act, tt.wantName, tt.wantAct)
		}
	}
}

func TestIntersect(t *testing.T) {
	p := netip.MustParsePrefix
	tests := []struct {
		name   string
		a, b   vfp.Conditions
		want   vfp.Conditions
		wantOK bool
	}{
		{"any and TCP", vfp.Conditions{}, vfp.Conditions{Protocols: []uint8{6}}, vfp.Conditions{Protocols: []uint8{6}}, true},
		{"TCP and UDP", vfp.Conditions{Protocols: []uint8{6}}, vfp.Conditions{Protocols: []uint8{17}}, vfp.Conditions{}, false},
		{"prefix in prefix", vfp.Conditions{SrcIP: []netip.Prefix{p("10.0.0.0/8")}}, vfp.Conditions{SrcIP: []netip.Prefix{p("10.1.0.0/16")}},
			vfp.Conditions{SrcIP: []netip.Prefix{p("10.1.0.0/16")}}, true},
		{"disjoint prefixes", vfp.Conditions{SrcIP: []netip.Prefix{p("10.0.0.0/8")}}, vfp.Conditions{SrcIP: []netip.Prefix{p("192.168.0.0/16")}},
			vfp.Conditions{}, false},
		{"port ranges", vfp.Conditions{DstPort: []vfp.PortRange{{Lo: 80, Hi: 443}}}, vfp.Conditions{DstPort: []vfp.PortRange{{Lo: 400, Hi: 8080}}},
			vfp.Conditions{DstPort: []vfp.PortRange{{Lo: 400, Hi: 443}}}, true},
		{"disjoint ports", vfp.Conditions{DstPort: []vfp.PortRange{{Lo: 22, Hi: 22}}}, vfp.Conditions{DstPort: []vfp.PortRange{{Lo: 80, Hi: 80}}},
			vfp.Conditions{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := intersect(tt.a, tt.b)
			if ok != tt.wantOK || (ok && fmt.Sprint(got) != fmt.Sprint(tt.want)) {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
