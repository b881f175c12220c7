package linux

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/vfp"
)

// plan returns the layout of a testdata topology (no privileges needed).
func plan(t *testing.T, name string, mode L2BridgeMode) *Layout {
	t.Helper()
	lay, err := PlanTopology(loadTopology(t, name), LayoutOptions{L2Bridge: mode})
	if err != nil {
		t.Fatalf("PlanTopology(%s): %v", name, err)
	}
	return lay
}

func nsPlan(t *testing.T, lay *Layout, name string) *NSPlan {
	t.Helper()
	for _, n := range lay.Namespaces {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("no namespace %q in %v", name, nsNames(lay))
	return nil
}

func nsNames(lay *Layout) []string {
	var out []string
	for _, n := range lay.Namespaces {
		out = append(out, n.Name)
	}
	return out
}

func portPlan(t *testing.T, lay *Layout, name string) PortPlan {
	t.Helper()
	for _, p := range lay.Ports {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no port %q", name)
	return PortPlan{}
}

func ifacePlan(n *NSPlan, name string) (IfacePlan, bool) {
	for _, i := range n.Ifaces {
		if i.Name == name && i.MAC != nil {
			return i, true
		}
	}
	return IfacePlan{}, false
}

// TestPlanNAT checks the nat network's analogue against the topology: the port mapping's
// DNAT, WinNAT's masquerade of the internal prefix, the gateway on the bridge, and where
// each port is.
func TestPlanNAT(t *testing.T) {
	lay := plan(t, "nat", L2BridgeMACRewrite)
	if got, want := nsNames(lay), []string{"ul", "h0", "h0e0", "h0e1", "p0", "p1", "rt"}; !reflect.DeepEqual(got, want) {
		t.Errorf("namespaces: got %v, want %v", got, want)
	}
	h := nsPlan(t, lay, "h0")
	wantDNAT := DNAT{Name: "portmap-host1/web-0", Proto: ProtoTCP, Dst: netip.MustParseAddr("10.0.0.4"), DstPort: 8082,
		To: netip.MustParseAddrPort("172.16.0.2:80"), Local: true}
	if len(h.DNAT) != 1 || !reflect.DeepEqual(h.DNAT[0], wantDNAT) {
		t.Errorf("DNAT: got %+v, want [%+v]", h.DNAT, wantDNAT)
	}
	wantMasq := []Masquerade{
		{Name: "winnat-snat", OutIface: "nic0", Src: pfx("172.16.0.0/16")},
		{Name: "winnat-hairpin", OutIface: "br0", Src: pfx("172.16.0.0/16"), To: addr("10.0.0.4"), DNATed: true},
	}
	if !reflect.DeepEqual(h.Masq, wantMasq) {
		t.Errorf("masquerade: got %+v, want %+v", h.Masq, wantMasq)
	}
	if !containsAddrPlan(h.Addrs, AddrPlan{"br0", pfx("172.16.0.1/16")}) || !containsAddrPlan(h.Addrs, AddrPlan{"nic0", pfx("10.0.0.4/24")}) {
		t.Errorf("addresses: got %v, want the gateway 172.16.0.1/16 on br0 and 10.0.0.4/24 on nic0", h.Addrs)
	}
	if i, ok := ifacePlan(nsPlan(t, lay, "h0e0"), "eth0"); !ok || i.MAC.String() != "00:15:5d:aa:00:02" {
		t.Errorf("web's interface: got %+v, want MAC 00:15:5d:aa:00:02 (MacAddress 00-15-5D-AA-00-02)", i)
	}
	for _, tt := range []struct {
		port     string
		role     OutputRole
		ns, ifn  string
		inject   InjectKind
		injectNS string
	}{
		{"host1/web", RoleEndpoint, "h0e0", "eth0", InjectPacket, "h0e0"},
		{"host1/web2", RoleEndpoint, "h0e1", "eth0", InjectPacket, "h0e1"},
		{"host1/eth0", RoleNIC, "h0", "nic0", InjectPacket, "ul"},
		{"host1/host", RoleHost, "h0", "", InjectIP, "h0"},
		{"client", RoleEndpoint, "p0", "eth0", InjectPacket, "p0"},
		{"server", RoleEndpoint, "p1", "eth0", InjectPacket, "p1"},
		{"router", RoleRouter, "rt", "eth0", InjectPacket, "rt"},
	} {
		p := portPlan(t, lay, tt.port)
		if p.Role != tt.role || p.NS != tt.ns || p.Ifname != tt.ifn || p.Inject != tt.inject || p.InjectNS != tt.injectNS {
			t.Errorf("port %s: got %+v, want role %d at %s/%s, injected (%d) in %s", tt.port, p, tt.role, tt.ns, tt.ifn, tt.inject, tt.injectNS)
		}
	}
	if !reflect.DeepEqual(lay.RouterIPs, []netip.Addr{addr("10.0.0.1"), addr("198.18.0.1")}) {
		t.Errorf("router IPs: got %v", lay.RouterIPs)
	}
	rt := nsPlan(t, lay, "rt")
	if !containsRoute(rt.Routes, pfx("198.19.0.0/16"), addr("198.18.0.10")) {
		t.Errorf("router routes: got %+v, want 198.19.0.0/16 via the server (its prefixes)", rt.Routes)
	}
	if rt.Policies[HookInput] != Drop || rt.Policies[HookOutput] != Drop {
		t.Errorf("router policies: got %v, want input and output dropped (a silent router)", rt.Policies)
	}
	// Host input: no Listen ports, so TCP/UDP count as no-listener unless they answer a
	// connection the host opened (established), the rest as delivered.
	var names []string
	for _, f := range h.Filters {
		names = append(names, fmt.Sprintf("%s/%d/%s/%v", f.Name, f.Proto, f.Action, f.Established))
	}
	if want := []string{"host-deliver/6/drop/true", "host-deliver/17/drop/true", "host-no-listener/6/drop/false",
		"host-no-listener/17/drop/false", "host-deliver/0/drop/false"}; !reflect.DeepEqual(names, want) {
		t.Errorf("host input filters: got %v, want %v", names, want)
	}
}

func containsAddrPlan(as []AddrPlan, a AddrPlan) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

func containsRoute(rs []Route, dst netip.Prefix, gw netip.Addr) bool {
	for _, r := range rs {
		if r.Dst == dst && r.Gw == gw {
			return true
		}
	}
	return false
}

// TestPlanOverlay checks the vxlan device and the FDB against the topology's
// RemoteSubnetRoute and VSID policies.
func TestPlanOverlay(t *testing.T) {
	lay := plan(t, "overlay", L2BridgeMACRewrite)
	h := nsPlan(t, lay, "h0")
	var vx *VXLAN
	for _, l := range h.Links {
		if l.Kind == LinkVXLAN {
			v := l.VXLAN
			vx = &v
		}
	}
	want := VXLAN{Name: "vx0", VNI: 4096, Port: 4789, Local: addr("10.0.0.4"), Dev: "nic0", TTL: 64}
	if vx == nil || !reflect.DeepEqual(*vx, want) {
		t.Errorf("vxlan: got %+v, want %+v", vx, want)
	}
	wantFDB := []FDBEntry{{Dev: "vx0", MAC: mustMAC("0e:2a:0a:f4:02:01"), Dst: addr("10.0.0.5")}, {Dev: "vx0", MAC: mustMAC("0e:2a:0a:f4:02:01"), Master: true}}
	var got []FDBEntry
	for _, e := range h.FDB {
		if e.Dev == "vx0" {
			got = append(got, e)
		}
	}
	if !reflect.DeepEqual(got, wantFDB) {
		t.Errorf("vxlan FDB: got %+v, want %+v", got, wantFDB)
	}
	if i, ok := ifacePlan(h, "br0"); !ok || i.MAC.String() != "0e:2a:0a:f4:01:01" {
		t.Errorf("bridge: got %+v, want the DR MAC 0e:2a:0a:f4:01:01 (DrMacAddress)", i)
	}
	found := false
	for _, r := range h.MACRewrites {
		if r.DstPrefix == pfx("10.244.2.0/24") && r.SetDstMAC.String() == "0e:2a:0a:f4:02:01" && r.Stage == BridgeIngress {
			found = true
		}
	}
	if !found {
		t.Errorf("MAC rewrites: got %+v, want frames to 10.244.2.0/24 sent to the remote DR MAC", h.MACRewrites)
	}
	if f := h.Filters[0]; f.Name != counterVXLANIn || f.Action != Accept || f.Proto != ProtoUDP || !reflect.DeepEqual(f.DstPorts, []PortRange{Port(4789)}) {
		t.Errorf("first input filter: got %+v, want VXLAN to the host accepted", f)
	}
	if i, ok := ifacePlan(nsPlan(t, lay, "h0e0"), "eth0"); !ok || i.MTU != 1450 {
		t.Errorf("pod-a's interface: got %+v, want MTU 1450 (EncapOverhead 50)", i)
	}
}

// TestPlanL2Bridge checks the MAC rewrites, OutBoundNAT, the ACL and load balancers.
func TestPlanL2Bridge(t *testing.T) {
	lay := plan(t, "l2bridge", L2BridgeMACRewrite)
	h := nsPlan(t, lay, "h0")
	if i, ok := ifacePlan(h, "br0"); !ok || i.MAC.String() != "00:15:5d:00:00:04" {
		t.Errorf("bridge: got %+v, want the NIC's MAC", i)
	}
	var out, in int
	for _, r := range h.MACRewrites {
		switch {
		case r.Stage == BridgeEgress && r.Port == "nic0" && r.SetSrcMAC.String() == "00:15:5d:00:00:04":
			out++
		case r.Stage == BridgeIngress && r.Port == "nic0" && r.DstMAC.String() == "00:15:5d:00:00:04" && r.SetDstMAC != nil:
			in++
		}
	}
	if out != 4 || in != 2 {
		t.Errorf("MAC rewrites: got %d out (want 2 pods x IPv4/IPv6) and %d in (want 2 pods)", out, in)
	}
	// OutBoundNAT's exceptions are matched against the VIP a pod sent to (VFP's SNAT
	// layer comes before its LB layer); pod-b, the backend of a ClusterIP, gets the
	// hairpin NAT to the host's address first.
	wantMasq := []Masquerade{
		{Name: "hairpin-host1/pod-b", Src: pfx("10.244.1.3/32"), Dst: []netip.Prefix{pfx("10.244.1.3/32")}, DNATed: true, To: addr("10.0.0.4")},
		{Name: "outboundnat-host1/pod-a", Src: pfx("10.244.1.2/32"), Except: []netip.Prefix{pfx("10.244.0.0/16"), pfx("10.96.0.0/12")},
			Original: true, To: addr("10.0.0.4")},
	}
	if len(h.Masq) != 3 || !reflect.DeepEqual(h.Masq[:2], wantMasq) {
		t.Errorf("masquerade: got %+v, want first %+v", h.Masq, wantMasq)
	}
	var ssh *BridgeFilter
	for i := range h.BridgeFilters {
		if strings.HasSuffix(h.BridgeFilters[i].Name, "block-ssh") {
			ssh = &h.BridgeFilters[i]
		}
	}
	if ssh == nil || ssh.Action != Drop || ssh.Dir != Out || ssh.Port != "ep1" || ssh.Proto != ProtoTCP ||
		!reflect.DeepEqual(ssh.DstPorts, []PortRange{Port(22)}) || !reflect.DeepEqual(ssh.Dst, []netip.Prefix{pfx("10.244.1.3/32")}) {
		t.Errorf("block-ssh ACL: got %+v, want tcp to 10.244.1.3:22 dropped on its way out of ep1", ssh)
	}
	// The three load balancers as HNS programs them (emulator/hns programLB): the
	// ClusterIP for pods and, translated to the VIP, from the wire; the NodePorts on the
	// host's address from the wire, with the SourceVIP or, with DSR, without SNAT.
	backend := []netip.Addr{addr("10.244.1.3")}
	wantLBs := []LoadBalancer{
		{Name: "svc-web", Frontends: []LBFrontend{
			{From: LBFromPods, Proto: ProtoTCP, VIP: addr("10.96.0.10"), Port: 80, Backends: backend, TargetPort: 8080},
			{From: LBFromWire, Proto: ProtoTCP, VIP: addr("10.96.0.10"), Port: 80, Backends: backend, TargetPort: 8080,
				SNAT: addr("10.96.0.10"), SNATID: 1},
		}},
		{Name: "np-web", Frontends: []LBFrontend{
			{From: LBFromWire, Proto: ProtoTCP, VIP: addr("10.0.0.4"), Port: 30080, Backends: backend, TargetPort: 8080,
				SNAT: addr("10.244.1.254"), SNATID: 257},
		}},
		{Name: "np-web-dsr", Frontends: []LBFrontend{
			{From: LBFromWire, Proto: ProtoTCP, VIP: addr("10.0.0.4"), Port: 30081, Backends: backend, TargetPort: 8080},
		}},
	}
	if !reflect.DeepEqual(h.LBs, wantLBs) {
		t.Errorf("load balancers:\ngot  %+v\nwant %+v", h.LBs, wantLBs)
	}
	if !reflect.DeepEqual(h.WirePorts, []string{"nic0"}) {
		t.Errorf("wire ports: got %q, want the NIC (a port of the bridge)", h.WirePorts)
	}
	var block []FilterRule
	for _, f := range h.Filters {
		if strings.HasPrefix(f.Name, blockPrefix) {
			block = append(block, f)
		}
	}
	wantBlock := []FilterRule{{Name: "block-host-to-service-svc-web", Hook: HookOutput, Proto: ProtoTCP,
		Dst: []netip.Prefix{pfx("10.96.0.10/32")}, DstPorts: []PortRange{Port(80)}, Action: Drop}}
	if !reflect.DeepEqual(block, wantBlock) {
		t.Errorf("block rules: got %+v, want the host's own traffic to the ClusterIP dropped (no LocalRoutedVIP): %+v", block, wantBlock)
	}
	if len(lay.Unsupported) != 0 {
		t.Errorf("unsupported: got %v, want everything built", lay.Unsupported)
	}
	rt := nsPlan(t, lay, "rt")
	if !containsRoute(rt.Routes, pfx("10.244.1.0/24"), addr("10.0.0.4")) || !containsRoute(rt.Routes, pfx("10.244.2.0/24"), addr("10.0.0.5")) {
		t.Errorf("router routes: got %+v, want each pod subnet via its host", rt.Routes)
	}
}

// TestPlanModes checks transparent (macvlan), l2tunnel (to the physical gateway) and
// ipvlan.
func TestPlanModes(t *testing.T) {
	lay := plan(t, "transparent", L2BridgeMACRewrite)
	h := nsPlan(t, lay, "h0")
	if l := h.Links[len(h.Links)-1]; l.Kind != LinkMacvlan || l.Parent != "nic0" || l.PeerNS != "h0e0" {
		t.Errorf("transparent: got link %+v, want a macvlan child of nic0 in h0e0", l)
	}
	ul := nsPlan(t, lay, "ul")
	found := false
	for _, e := range ul.FDB {
		if e.MAC.String() == "00:15:5d:01:01:02" {
			found = true
		}
	}
	if !found {
		t.Errorf("transparent: the underlay has no FDB entry for the container's MAC: %+v", ul.FDB)
	}

	lay = plan(t, "l2tunnel", L2BridgeMACRewrite)
	found = false
	for _, r := range nsPlan(t, lay, "h0").MACRewrites {
		if strings.HasPrefix(r.Name, "l2tunnel-out") && r.SetDstMAC.String() == "12:34:56:78:9a:bc" {
			found = true
		}
	}
	if !found {
		t.Errorf("l2tunnel: no rewrite of containers' frames to the physical gateway's MAC")
	}

	lay = plan(t, "l2bridge", L2BridgeIPVlan)
	n := 0
	for _, l := range nsPlan(t, lay, "h0").Links {
		if l.Kind == LinkIPVlan {
			n++
		}
	}
	if n != 2 {
		t.Errorf("ipvlan: got %d ipvlan links in host1, want 2", n)
	}
}

// TestPlanRejectsInvalid checks that an invalid topology is rejected with the
// emulator's error.
func TestPlanRejectsInvalid(t *testing.T) {
	topo := loadTopology(t, "nat")
	topo.Hosts[0].HNS.Endpoints[0].MacAddress = "not-a-mac"
	if _, err := PlanTopology(topo, LayoutOptions{}); err == nil || !strings.Contains(err.Error(), "MacAddress") {
		t.Errorf("PlanTopology(bad MAC): got %v, want the emulator's error about MacAddress", err)
	}
	if _, err := PlanTopology(&fabric.Topology{}, LayoutOptions{}); err != nil {
		t.Errorf("PlanTopology(empty): %v", err)
	}
}

// TestACLToFilters checks the translation of VFP ACL rules into bridge filters.
func TestACLToFilters(t *testing.T) {
	own := []netip.Prefix{pfx("10.0.0.2/32")}
	for _, tt := range []struct {
		name string
		rule vfp.Rule
		dir  vfp.Direction
		want []BridgeFilter
		err  bool
	}{
		{"block in tcp 22", vfp.Rule{Name: "r", Priority: 100, Action: vfp.Action{Type: vfp.ActionBlock},
			Conditions: vfp.Conditions{Protocols: []uint8{6}, DstPort: []vfp.PortRange{{Lo: 22, Hi: 22}}}}, vfp.In,
			[]BridgeFilter{{Name: "acl-p-r", Port: "ep0", Dir: Out, Priority: 100, Dst: own, Proto: 6, DstPorts: []PortRange{{22, 22}}, Action: Drop}}, false},
		{"allow out anything", vfp.Rule{Name: "r", Priority: 65000, Action: vfp.Action{Type: vfp.ActionAllow}}, vfp.Out,
			[]BridgeFilter{{Name: "acl-p-r", Port: "ep0", Dir: In, Priority: 65000, Src: own, Action: Accept}}, false},
		{"ports without protocol", vfp.Rule{Name: "r", Action: vfp.Action{Type: vfp.ActionAllow},
			Conditions: vfp.Conditions{Protocols: []uint8{1, 17}, SrcPort: []vfp.PortRange{{Lo: 53, Hi: 53}}}}, vfp.In,
			[]BridgeFilter{{Name: "acl-p-r", Port: "ep0", Dir: Out, Dst: own, Proto: 17, SrcPorts: []PortRange{{53, 53}}, Action: Accept}}, false},
		{"MAC condition", vfp.Rule{Name: "r", Action: vfp.Action{Type: vfp.ActionAllow}, Conditions: vfp.Conditions{VNI: []uint32{1}}}, vfp.In, nil, true},
		{"NAT action", vfp.Rule{Name: "r", Action: vfp.Action{Type: vfp.ActionNAT}}, vfp.In, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := aclToFilters(&tt.rule, tt.dir, own, "p", "ep0")
			if (err != nil) != tt.err {
				t.Fatalf("got error %v, want error %v", err, tt.err)
			}
			if !tt.err && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestParsePrefixLenient checks OutBoundNAT exception parsing.
func TestParsePrefixLenient(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"10.244.0.0/16", "10.244.0.0/16", true},
		{" 10.244.1.7/16 ", "10.244.0.0/16", true},
		{"10.0.0.5", "10.0.0.5/32", true},
		{"fd00::1", "fd00::1/128", true},
		{"nope", "invalid Prefix", false},
	} {
		got, ok := parsePrefixLenient(tt.in)
		if ok != tt.ok || got.String() != tt.want {
			t.Errorf("parsePrefixLenient(%q): got %v, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestL2BridgeModeStrings checks the mode names round-trip.
func TestL2BridgeModeStrings(t *testing.T) {
	for _, m := range []L2BridgeMode{L2BridgeAuto, L2BridgeMACRewrite, L2BridgeIPVlan} {
		got, err := ParseL2BridgeMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseL2BridgeMode(%q): got %v, %v; want %v", m.String(), got, err, m)
		}
	}
	if _, err := ParseL2BridgeMode("bridge"); err == nil {
		t.Errorf("ParseL2BridgeMode(bridge): got nil error, want one")
	}
}
