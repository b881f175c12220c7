package hostprobe

import (
	"fmt"
	"io/fs"
	"math/rand"
	"sort"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/scenarios/library"
)

// Differential testing (docs/differential.md): Generate writes random valid traffic for
// a topology of the scenario library as a scenario; the probe runs it on the emulator
// and on a real datapath, and Shrink reduces a scenario that differs in an undocumented
// way to a smallest one that still does.

// GenField is one field of a generated packet's layer ("ttl", "1").
type GenField struct{ Key, Val string }

// GenLayer is one layer of a generated packet spec ("ipv4", its fields).
type GenLayer struct {
	Name   string
	Fields []GenField
}

// GenExpect is a frame expectation a generated scenario carries only to bind the NAT's
// choices ($b1) that a later packet (a reply, an ICMP error) uses.
type GenExpect struct {
	At     string
	Layers []GenLayer
}

// GenPacket is one input of a generated scenario.
type GenPacket struct {
	At string
	// Gap is the pause before the packet ("+31s"), or "" for 1 µs after the previous one.
	Gap    string
	Layers []GenLayer
	Note   string
	// Binds, when set, binds the NAT's choices for this packet's output.
	Binds *GenExpect
}

// GenScenario is a generated scenario, kept structured so that Shrink can take packets
// and fields out of it.
type GenScenario struct {
	Name, Summary string
	Mode          string
	// Topology is the library topology file (scenarios/library/topologies/...), inlined
	// when the scenario is written.
	Topology string
	Packets  []GenPacket
}

// genNode is a place traffic is sent from or to.
type genNode struct {
	Port, IP string
}

// genFlow is a kind of traffic of a topology.
type genFlow struct {
	Name     string
	From, To genNode
	// DstIP is the address sent to when it is not To's (a NAT's external address, a VIP).
	DstIP string
	// Proto fixes the protocol ("tcp", "udp") and DPort the destination port (a published
	// port, a VIP's port); "" and 0 leave them random.
	Proto string
	DPort int
	// InPort is the destination port the destination sees when a NAT rule changes it
	// (a published port's internal port); 0: DPort.
	InPort int
	// NATIP is the address To sees the source as when the source is translated: replies
	// and errors go to it, to the port the NAT chose (bound).
	NATIP string
	// EtherDst, when set, is the frame's destination MAC as a spec names it (a VIP no
	// neighbour resolves: ether(dst=host1)).
	EtherDst string
	// NoReply: the flow's replies are not generated (the reply path depends on a choice a
	// binding cannot name: a hairpin's source, an LB's backend).
	NoReply bool
}

type genProfile struct {
	Mode       string
	Topologies map[string][]int // library topology file -> MTUs on its paths
	Flows      []genFlow
}

// GenModes are the modes Generate knows, each with a Linux analogue in the probe.
var GenModes = []string{"nat", "l2bridge", "transparent", "overlay"}

func genProfileOf(mode string) (genProfile, error) {
	switch mode {
	case "nat":
		web, web2 := genNode{"host1/web", "172.16.0.2"}, genNode{"host1/web2", "172.16.0.3"}
		host := genNode{"host1/host", "10.0.0.4"}
		client, server := genNode{"client", "10.0.0.99"}, genNode{"server", "198.18.0.10"}
		far := genNode{"server", "198.19.0.5"}
		return genProfile{Mode: mode,
			Topologies: map[string][]int{"topologies/nat.yaml": {1500}, "topologies/nat-mtu1400.yaml": {1400, 1500}},
			Flows: []genFlow{
				{Name: "outbound", From: web, To: server, NATIP: "10.0.0.4"},
				{Name: "outbound-lan", From: web2, To: client, NATIP: "10.0.0.4"},
				{Name: "outbound-prefix", From: web, To: far, NATIP: "10.0.0.4"},
				{Name: "inbound-published-tcp", From: client, To: web, DstIP: "10.0.0.4", Proto: "tcp", DPort: 8082, InPort: 80},
				{Name: "inbound-published-udp", From: server, To: web, DstIP: "10.0.0.4", Proto: "udp", DPort: 5353, InPort: 53},
				{Name: "inbound-unsolicited", From: client, To: web, DstIP: "10.0.0.4", NoReply: true},
				{Name: "inbound-direct", From: server, To: web, NoReply: true},
				{Name: "hairpin", From: web2, To: web, DstIP: "10.0.0.4", Proto: "tcp", DPort: 8082, NoReply: true},
				{Name: "container-to-container", From: web2, To: web},
				{Name: "host-to-container", From: host, To: web, NoReply: true},
				{Name: "host-outbound", From: host, To: server},
				{Name: "container-to-host", From: web, To: host, DstIP: "10.0.0.4", NoReply: true},
			}}, nil
	case "l2bridge":
		a, b := genNode{"host1/pod-a", "10.244.1.2"}, genNode{"host1/pod-b", "10.244.1.3"}
		d, c := genNode{"host1/pod-d", "10.244.1.4"}, genNode{"host2/pod-c", "10.244.2.2"}
		host := genNode{"host1/host", "10.0.0.4"}
		client, server := genNode{"client", "10.0.0.99"}, genNode{"server", "198.18.0.10"}
		return genProfile{Mode: mode,
			Topologies: map[string][]int{"topologies/l2bridge.yaml": {1500}},
			Flows: []genFlow{
				{Name: "same-host", From: a, To: d},
				{Name: "cross-host", From: a, To: c},
				{Name: "cross-host-back", From: c, To: a},
				{Name: "outbound-nat", From: a, To: server, NATIP: "10.0.0.4"},
				{Name: "client-to-pod", From: client, To: a},
				{Name: "host-to-pod", From: host, To: a},
				{Name: "acl-blocked", From: a, To: b, Proto: "tcp", DPort: 22, NoReply: true},
				{Name: "clusterip", From: a, To: b, DstIP: "10.96.0.10", Proto: "tcp", DPort: 80, NoReply: true},
				{Name: "external-lb", From: client, To: b, DstIP: "10.0.0.200", Proto: "tcp", DPort: 80, EtherDst: "host1", NoReply: true},
				{Name: "nodeport", From: client, To: b, DstIP: "10.0.0.4", Proto: "tcp", DPort: 30080, NoReply: true},
			}}, nil
	case "transparent":
		web, host := genNode{"host1/web", "10.0.0.20"}, genNode{"host1/host", "10.0.0.4"}
		client := genNode{"client", "10.0.0.99"}
		return genProfile{Mode: mode,
			Topologies: map[string][]int{"topologies/transparent.yaml": {1500}},
			Flows: []genFlow{
				{Name: "client-to-container", From: client, To: web},
				{Name: "container-to-client", From: web, To: client},
				{Name: "host-to-container", From: host, To: web},
				{Name: "container-to-host", From: web, To: host},
				{Name: "client-to-host", From: client, To: host},
			}}, nil
	case "overlay":
		a, c := genNode{"host1/pod-a", "10.244.1.2"}, genNode{"host2/pod-c", "10.244.2.2"}
		host := genNode{"host1/host", "10.0.0.4"}
		server, linux1 := genNode{"server", "198.18.0.10"}, genNode{"linux1", "10.0.0.6"}
		return genProfile{Mode: mode,
			Topologies: map[string][]int{"topologies/overlay.yaml": {1450, 1500}},
			Flows: []genFlow{
				{Name: "pod-to-pod", From: a, To: c},
				{Name: "pod-to-pod-back", From: c, To: a},
				{Name: "outbound-nat", From: a, To: server, NATIP: "10.0.0.4"},
				{Name: "underlay-to-host", From: linux1, To: host},
				{Name: "host-to-pod", From: host, To: a, NoReply: true},
				{Name: "underlay-to-pod", From: linux1, To: a, NoReply: true},
			}}, nil
	}
	return genProfile{}, fmt.Errorf("mode %q: want one of %s", mode, strings.Join(GenModes, ", "))
}

// genTCPFlags are the TCP flag sets generated, valid and not.
var genTCPFlags = []string{"S", "S", "SA", "A", "PA", "F", "FA", "R", "RA", "0", "SF", "FPU", "SR"}

// genGaps cross every NAT and conntrack timeout the model has: 30 s (shortest idle,
// conntrack UDP), 60 s, 120 s (WinNAT UDP and transient TCP, conntrack SYN_SENT), 240 s,
// 1800 s (WinNAT established TCP).
var genGaps = []string{"+1s", "+29s", "+31s", "+59s", "+61s", "+119s", "+121s", "+239s", "+241s", "+1799s", "+1801s"}

// genEdgePorts are the source and destination ports tried besides random ones.
var genEdgePorts = []int{1, 53, 1023, 1024, 49151, 49152, 65534, 65535}

// Generate returns scenario i of the batch of seed for mode: the same mode, seed and i
// always give the same scenario.
func Generate(mode string, seed int64, i int) (*GenScenario, error) {
	prof, err := genProfileOf(mode)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewSource(seed*1_000_003 + int64(i)))
	topos := make([]string, 0, len(prof.Topologies))
	for t := range prof.Topologies {
		topos = append(topos, t)
	}
	sort.Strings(topos)
	topo := topos[r.Intn(len(topos))]
	g := &gen{r: r, mtus: prof.Topologies[topo]}
	n := 1 + r.Intn(8)
	for len(g.pkts) < n {
		g.flow(prof.Flows[r.Intn(len(prof.Flows))])
	}
	return &GenScenario{
		Name:     fmt.Sprintf("gen-%s-s%d-%04d", mode, seed, i),
		Summary:  fmt.Sprintf("Random traffic generated by hnspath probe --generate (mode %s, seed %d, scenario %d).", mode, seed, i),
		Mode:     mode,
		Topology: topo,
		Packets:  g.pkts,
	}, nil
}

type gen struct {
	r     *rand.Rand
	mtus  []int
	pkts  []GenPacket
	binds int
	ids   int
}

func (g *gen) pick(s []string) string { return s[g.r.Intn(len(s))] }

func (g *gen) port() int {
	if g.r.Intn(3) == 0 {
		return genEdgePorts[g.r.Intn(len(genEdgePorts))]
	}
	return 1025 + g.r.Intn(60000)
}

func (g *gen) gap() string {
	if g.r.Intn(4) == 0 {
		return g.pick(genGaps)
	}
	return ""
}

func genF(k string, v any) GenField { return GenField{k, fmt.Sprint(v)} }

// flow adds a packet of fl and, sometimes, its reply or an ICMP error about it.
func (g *gen) flow(fl genFlow) {
	dst := fl.To.IP
	if fl.DstIP != "" {
		dst = fl.DstIP
	}
	proto := fl.Proto
	if proto == "" {
		proto = []string{"tcp", "udp", "udp", "icmp"}[g.r.Intn(4)]
	}
	reply := !fl.NoReply && g.r.Intn(2) == 0
	sport, dport := g.port(), fl.DPort
	if reply {
		sport = 1025 + g.r.Intn(60000) // a packet a reply follows must get through
	}
	if dport == 0 {
		dport = g.port()
	}
	ip := GenLayer{Name: "ipv4", Fields: []GenField{genF("dst", dst)}}
	normal := reply || g.r.Intn(3) == 0 // a packet a reply follows must get through
	if !normal {
		if g.r.Intn(2) == 0 {
			ip.Fields = append(ip.Fields, genF("ttl", []int{1, 2, 64, 255}[g.r.Intn(4)]))
		}
	}
	size := 0 // payload bytes
	frag := false
	if !normal {
		switch g.r.Intn(4) {
		case 0: // around an MTU
			mtu := g.mtus[g.r.Intn(len(g.mtus))]
			total := mtu + []int{-1, 0, 1, 4, 5, 60}[g.r.Intn(6)]
			size = total - 20 - map[string]int{"tcp": 20, "udp": 8, "icmp": 8}[proto]
			if g.r.Intn(2) == 0 {
				ip.Fields = append(ip.Fields, genF("flags", "DF"))
			}
		case 1:
			frag = proto == "udp"
		}
	}
	if frag {
		g.ids++
		id := 1000 + g.ids
		ip.Fields = append(ip.Fields, genF("id", id), genF("flags", "MF"))
		g.add(GenPacket{At: fl.From.Port, Gap: g.gap(), Note: fl.Name + " fragment 1", Layers: []GenLayer{ip,
			{Name: "udp", Fields: []GenField{genF("sport", sport), genF("dport", dport), genF("len", 1008), genF("chksum", 0)}},
			{Name: "raw", Fields: []GenField{genF("len", 992)}}}})
		g.add(GenPacket{At: fl.From.Port, Note: fl.Name + " fragment 2", Layers: []GenLayer{
			{Name: "ipv4", Fields: []GenField{genF("dst", dst), genF("id", id), genF("frag", 125), genF("proto", "udp")}},
			{Name: "raw", Fields: []GenField{genF("len", 8)}}}})
		return
	}
	l4 := g.l4(proto, sport, dport, false)
	layers := []GenLayer{ip, l4}
	if fl.EtherDst != "" {
		layers = append([]GenLayer{{Name: "ether", Fields: []GenField{genF("dst", fl.EtherDst)}}}, layers...)
	}
	if size > 0 {
		layers = append(layers, GenLayer{Name: "raw", Fields: []GenField{genF("len", size)}})
	}
	p := GenPacket{At: fl.From.Port, Gap: g.gap(), Note: fl.Name, Layers: layers}
	if !reply {
		g.add(p)
		return
	}
	// The reply (or an ICMP error from the destination) goes back to the source as the
	// destination saw it: through the NAT's binding when the source is translated.
	back, bsport := fl.From.IP, sport
	if fl.InPort != 0 {
		dport = fl.InPort
	}
	var bound string
	if fl.NATIP != "" {
		g.binds++
		bound = "$b" + strconv.Itoa(g.binds)
		back, bsport = fl.NATIP, 0
		seen := g.l4(proto, 0, dport, false)
		for k, fd := range seen.Fields {
			switch fd.Key {
			case "sport", "id":
				seen.Fields[k].Val = bound
			}
		}
		seen.Fields = keep(seen.Fields, "sport", "dport", "id", "type")
		p.Binds = &GenExpect{At: fl.To.Port, Layers: []GenLayer{
			{Name: "ipv4", Fields: []GenField{genF("src", fl.NATIP), genF("dst", fl.To.IP)}}, seen}}
	}
	g.add(p)
	rport := strconv.Itoa(bsport)
	if bound != "" {
		rport = bound
	}
	rip := GenLayer{Name: "ipv4", Fields: []GenField{genF("dst", back)}}
	if g.r.Intn(3) == 0 {
		// An ICMP error about the packet, quoting it as the destination received it.
		qsrc := fl.From.IP
		if fl.NATIP != "" {
			qsrc = fl.NATIP
		}
		q := g.l4(proto, 0, dport, false)
		for k, fd := range q.Fields {
			switch fd.Key {
			case "sport", "id":
				q.Fields[k].Val = rport
			}
		}
		q.Fields = keep(q.Fields, "sport", "dport", "id", "type", "seq")
		icmp := GenLayer{Name: "icmp", Fields: []GenField{genF("type", "dest-unreach"), genF("code", 3)}}
		switch g.r.Intn(3) {
		case 1:
			icmp.Fields = []GenField{genF("type", "dest-unreach"), genF("code", 4), genF("mtu", 1400)}
		case 2:
			icmp.Fields = []GenField{genF("type", "time-exceeded"), genF("code", 0)}
		}
		g.add(GenPacket{At: fl.To.Port, Gap: g.gap(), Note: fl.Name + " icmp error", Layers: []GenLayer{rip, icmp,
			{Name: "ipv4", Fields: []GenField{genF("src", qsrc), genF("dst", fl.To.IP)}}, q}})
		return
	}
	rl4 := g.l4(proto, dport, 0, true)
	for k, fd := range rl4.Fields {
		switch fd.Key {
		case "dport", "id":
			rl4.Fields[k].Val = rport
		}
	}
	g.add(GenPacket{At: fl.To.Port, Gap: g.gap(), Note: fl.Name + " reply", Layers: []GenLayer{rip, rl4}})
}

func keep(fs []GenField, keys ...string) []GenField {
	var out []GenField
	for _, fd := range fs {
		for _, k := range keys {
			if fd.Key == k {
				out = append(out, fd)
				break
			}
		}
	}
	return out
}

// l4 returns a transport layer; reply makes it the answer (SYN-ACK, echo reply).
func (g *gen) l4(proto string, sport, dport int, reply bool) GenLayer {
	switch proto {
	case "tcp":
		flags := g.pick(genTCPFlags)
		if reply {
			flags = "SA"
		}
		return GenLayer{Name: "tcp", Fields: []GenField{genF("sport", sport), genF("dport", dport), genF("flags", flags), genF("seq", 1000)}}
	case "udp":
		return GenLayer{Name: "udp", Fields: []GenField{genF("sport", sport), genF("dport", dport)}}
	}
	typ := "echo-request"
	if reply {
		typ = "echo-reply"
	}
	// The echo id plays the source port: sport for a request, dport for a reply.
	id := sport
	if reply {
		id = dport
	}
	return GenLayer{Name: "icmp", Fields: []GenField{genF("type", typ), genF("id", id), genF("seq", 1)}}
}

func (g *gen) add(p GenPacket) { g.pkts = append(g.pkts, p) }

// Spec returns the layers as a packet spec ("ipv4(dst=...) / udp(...)").
func Spec(layers []GenLayer) string {
	var b strings.Builder
	for i, l := range layers {
		if i > 0 {
			b.WriteString(" / ")
		}
		b.WriteString(l.Name)
		b.WriteByte('(')
		for j, fd := range l.Fields {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(fd.Key + "=" + fd.Val)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// uses returns the bindings a packet uses.
func (p *GenPacket) uses() []string {
	var out []string
	for _, l := range p.Layers {
		for _, fd := range l.Fields {
			if strings.HasPrefix(fd.Val, "$") {
				out = append(out, fd.Val)
			}
		}
	}
	return out
}

// binds returns the bindings a packet's expectation binds.
func (p *GenPacket) binds() []string {
	if p.Binds == nil {
		return nil
	}
	var out []string
	for _, l := range p.Binds.Layers {
		for _, fd := range l.Fields {
			if strings.HasPrefix(fd.Val, "$") {
				out = append(out, fd.Val)
			}
		}
	}
	return out
}

// YAML writes s as a scenario file, its topology inline (read from the scenario
// library), which `hnspath validate`, `hnspath run` and `hnspath probe` take.
func (s *GenScenario) YAML() ([]byte, error) {
	topo, err := fs.ReadFile(library.FS(), s.Topology)
	if err != nil {
		return nil, fmt.Errorf("%s: topology: %w", s.Name, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nsummary: %q\nsources:\n", s.Name, s.Summary)
	b.WriteString("  - \"docs/differential.md: generated traffic; no expectation of its own: hnspath probe compares the emulator with a real datapath\"\n")
	fmt.Fprintf(&b, "# topology: scenarios/library/%s\ntopology:\n", s.Topology)
	for _, line := range strings.Split(strings.TrimRight(string(topo), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		b.WriteString("  " + line + "\n")
	}
	b.WriteString("packets:\n")
	var exp []string
	for i, p := range s.Packets {
		fmt.Fprintf(&b, "  - {at: %s, ", p.At)
		if p.Gap != "" {
			fmt.Fprintf(&b, "time: %q, ", p.Gap)
		}
		fmt.Fprintf(&b, "frame: %q", Spec(p.Layers))
		if p.Note != "" {
			fmt.Fprintf(&b, ", note: %q", p.Note)
		}
		b.WriteString("}\n")
		if p.Binds != nil {
			exp = append(exp, fmt.Sprintf("  - {at: %s, packet: %d, frame: %q, note: \"binds the NAT's choice for a later packet\"}\n",
				p.Binds.At, i+1, Spec(p.Binds.Layers)))
		}
	}
	if len(exp) > 0 {
		b.WriteString("expect:\n")
		for _, e := range exp {
			b.WriteString(e)
		}
	}
	return []byte(b.String()), nil
}

// withoutUnbound drops, in order, every packet that uses a binding no kept packet binds.
func withoutUnbound(pkts []GenPacket) []GenPacket {
	bound := map[string]bool{}
	var out []GenPacket
	for _, p := range pkts {
		ok := true
		for _, u := range p.uses() {
			if !bound[u] {
				ok = false
			}
		}
		if !ok {
			continue
		}
		for _, b := range p.binds() {
			bound[b] = true
		}
		out = append(out, p)
	}
	// A binder whose binding nobody uses any more need not bind.
	used := map[string]bool{}
	for _, p := range out {
		for _, u := range p.uses() {
			used[u] = true
		}
	}
	for i := range out {
		if out[i].Binds == nil {
			continue
		}
		need := false
		for _, b := range out[i].binds() {
			need = need || used[b]
		}
		if !need {
			out[i].Binds = nil
		}
	}
	return out
}

// WithoutReplies returns s without the packets that use a NAT binding (replies and
// errors through the NAT): the probe runs it instead of s when the emulator did not
// forward a packet whose binding a reply needs.
func (s *GenScenario) WithoutReplies() *GenScenario {
	c := *s
	c.Packets = clonePackets(s.Packets)
	for i := range c.Packets {
		c.Packets[i].Binds = nil
	}
	c.Packets = withoutUnbound(c.Packets)
	return &c
}
