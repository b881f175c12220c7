package linux

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/result"
)

// gatewayMAC asks the emulator which MAC answers ARP for the gateway of an endpoint port.
func gatewayMAC(t *testing.T, topo *fabric.Topology, port string) string {
	t.Helper()
	f, err := fabric.New(*topo, fabric.Options{})
	must(t, err)
	id, ok := f.PortByName(port)
	if !ok {
		t.Fatalf("no port %s", port)
	}
	fp := f.Port(id)
	p := &planner{f: f}
	m, ok := p.gatewayMAC(&endpoint{port: port, mac: hw(fp.MAC), ips: fp.IPs, gw: fp.Gateway})
	if !ok {
		t.Fatalf("port %s: the emulator answers no ARP for gateway %v", port, fp.Gateway)
	}
	return m.String()
}

// checkIPv4 checks an IPv4 packet's addresses and TTL, and its IPv4 and transport
// checksums against gopacket's (checkChecksums).
func checkIPv4(t *testing.T, what string, p gopacket.Packet, src, dst string, ttl uint8) {
	t.Helper()
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if ip == nil {
		t.Errorf("%s: no IPv4 layer in %v", what, p)
		return
	}
	if got := ip.SrcIP.String(); got != src {
		t.Errorf("%s: src: got %s, want %s", what, got, src)
	}
	if got := ip.DstIP.String(); got != dst {
		t.Errorf("%s: dst: got %s, want %s", what, got, dst)
	}
	if ip.TTL != ttl {
		t.Errorf("%s: ttl: got %d, want %d", what, ip.TTL, ttl)
	}
	checkChecksums(t, p)
}

// TestBackendNAT runs the nat topology on the kernel: a port mapping (DNAT), outbound
// UDP (masquerade), the reply to the NAT's port (translated through the bindings), and
// a TTL-exceeded error. DNAT'ed headers, TTLs and checksums must agree with the
// emulator; the ICMP error the host originates differs only as documented.
func TestBackendNAT(t *testing.T) {
	if err := CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	topo := loadTopology(t, "nat")
	gw := gatewayMAC(t, topo, "host1/web")
	in := []hostprobe.Input{
		{Port: "client", Frame: frame(t, "02:00:00:00:00:99", "00:15:5d:00:00:04", "10.0.0.99", "10.0.0.4", "tcp", 40000, 8082, 64)},
		{Port: "host1/web", Frame: frame(t, "00:15:5d:aa:00:02", gw, "172.16.0.2", "198.18.0.10", "udp", 5000, 53, 64), TimeNS: 1000},
		// The reply to the port WinNAT chose (the emulator's first dynamic port); RunAgainst
		// translates it to the kernel's choice.
		{Port: "server", Frame: frame(t, "02:00:00:00:01:10", "02:00:00:00:00:01", "198.18.0.10", "10.0.0.4", "udp", 53, 49152, 64), TimeNS: 2000},
		{Port: "host1/web", Frame: frame(t, "00:15:5d:aa:00:02", gw, "172.16.0.2", "198.18.0.10", "udp", 5001, 53, 1), TimeNS: 3000},
		{Port: "client", Frame: frame(t, "02:00:00:00:00:99", "00:15:5d:00:00:04", "10.0.0.99", "10.0.0.4", "tcp", 40001, 9999, 64), TimeNS: 4000},
	}
	emu, lin, cmp := probe(t, "nat", in)
	for i := 1; i <= 3; i++ {
		wantAgree(t, cmp, i, false)
	}
	wantAgree(t, cmp, 4, true)
	wantAgree(t, cmp, 5, false)

	// Packet 1: DNAT 10.0.0.4:8082 -> 172.16.0.2:80, routed once (TTL 63), by gopacket.
	p := one(t, lin[0], "host1/web", result.KindDelivered)
	checkIPv4(t, "packet 1 at web", p, "10.0.0.99", "172.16.0.2", 63)
	if tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP); tcp == nil || tcp.DstPort != 80 || tcp.SrcPort != 40000 || !tcp.SYN {
		t.Errorf("packet 1 at web: got %v, want tcp 40000 > 80 SYN", p.TransportLayer())
	}
	if eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); eth == nil || eth.DstMAC.String() != "00:15:5d:aa:00:02" || eth.SrcMAC.String() != gw {
		t.Errorf("packet 1 at web: got %v, want ether %s > 00:15:5d:aa:00:02", p.LinkLayer(), gw)
	}
	// Packet 2: masquerade to the NIC's address, on the wire and at the server.
	checkIPv4(t, "packet 2 wire-tx", one(t, lin[1], "host1/eth0", result.KindWireTx), "10.0.0.4", "198.18.0.10", 63)
	checkIPv4(t, "packet 2 at server", one(t, lin[1], "server", result.KindDelivered), "10.0.0.4", "198.18.0.10", 62)
	// Packet 3: the reply reaches the container on its own port.
	p = one(t, lin[2], "host1/web", result.KindDelivered)
	checkIPv4(t, "packet 3 at web", p, "198.18.0.10", "172.16.0.2", 62)
	if udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP); udp == nil || udp.DstPort != 5000 {
		t.Errorf("packet 3 at web: got %v, want udp dport 5000", p.TransportLayer())
	}
	// Packet 4: time exceeded from the gateway, by both.
	for _, r := range []*result.Packet{emu[3], lin[3]} {
		p := one(t, r, "host1/web", result.KindDelivered)
		checkIPv4(t, r.Backend+" packet 4 at web", p, "172.16.0.1", "172.16.0.2", map[string]uint8{"emulator": 128, "linux": 64}[r.Backend])
		if ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ic == nil || ic.TypeCode.Type() != layers.ICMPv4TypeTimeExceeded {
			t.Errorf("%s packet 4: got %v, want ICMP time exceeded", r.Backend, p)
		}
	}
	known := cmp.Packets[3].Diffs
	if len(known) == 0 || known[0].Known != "host-icmp-error" {
		t.Errorf("packet 4: got differences %v, want the documented host-icmp-error", known)
	}
	// Packet 5: no mapping, nothing delivered, the host's input chain counted it.
	if lin[4].Outcome != result.OutcomeDropped || len(lin[4].Drops) != 1 || lin[4].Drops[0].Reason != ReasonNoListener {
		t.Errorf("packet 5: got %s %v, want dropped with %s", lin[4].Outcome, lin[4].Drops, ReasonNoListener)
	}
}

// TestBackendOverlay checks the VXLAN layout on the wire against the emulator and, with
// gopacket, against RFC 7348: UDP port 4789, VNI 4096 with the I flag, outer addresses
// of the two hosts' NICs, outer UDP checksum 0, inner MACs of the distributed routers.
func TestBackendOverlay(t *testing.T) {
	in := []hostprobe.Input{
		{Port: "host1/pod-a", Frame: frame(t, "0e:2a:0a:f4:01:02", "0e:2a:0a:f4:01:01", "10.244.1.2", "10.244.2.2", "tcp", 5001, 8080, 64)},
		{Port: "host2/pod-c", Frame: frame(t, "0e:2a:0a:f4:02:02", "0e:2a:0a:f4:02:01", "10.244.2.2", "10.244.1.2", "udp", 5001, 53, 64), TimeNS: 1000},
	}
	_, lin, cmp := probe(t, "overlay", in)
	wantAgree(t, cmp, 1, false)
	wantAgree(t, cmp, 2, false)
	fs := output(lin[0], "host1/eth0", result.KindWireTx)
	if len(fs) != 1 {
		t.Fatalf("packet 1: got %d frames on host1's wire, want 1", len(fs))
	}
	// Decode outer headers layer by layer up to VXLAN, then the inner frame on its own
	// (docs/style.md §1: one DecodingLayerParser would let the inner headers overwrite the outer).
	var eth layers.Ethernet
	var ip layers.IPv4
	var udp layers.UDP
	var vx layers.VXLAN
	if err := eth.DecodeFromBytes(fs[0], gopacket.NilDecodeFeedback); err != nil {
		t.Fatalf("packet 1 on the wire: ethernet: %v", err)
	}
	if err := ip.DecodeFromBytes(eth.Payload, gopacket.NilDecodeFeedback); err != nil {
		t.Fatalf("packet 1 on the wire: ipv4: %v", err)
	}
	if err := udp.DecodeFromBytes(ip.Payload, gopacket.NilDecodeFeedback); err != nil {
		t.Fatalf("packet 1 on the wire: udp: %v", err)
	}
	if err := vx.DecodeFromBytes(udp.Payload, gopacket.NilDecodeFeedback); err != nil {
		t.Fatalf("packet 1 on the wire: vxlan: %v", err)
	}
	if ip.SrcIP.String() != "10.0.0.4" || ip.DstIP.String() != "10.0.0.5" || udp.DstPort != 4789 || udp.Checksum != 0 {
		t.Errorf("outer: got %v > %v udp dport %d checksum %#x, want 10.0.0.4 > 10.0.0.5 udp 4789 checksum 0", ip.SrcIP, ip.DstIP, udp.DstPort, udp.Checksum)
	}
	if eth.SrcMAC.String() != "00:15:5d:00:00:04" || eth.DstMAC.String() != "00:15:5d:00:00:05" {
		t.Errorf("outer ether: got %v > %v, want the NICs' MACs", eth.SrcMAC, eth.DstMAC)
	}
	if !vx.ValidIDFlag || vx.VNI != 4096 {
		t.Errorf("vxlan: got I=%v VNI %d, want I flag and VNI 4096", vx.ValidIDFlag, vx.VNI)
	}
	inner := gopacket.NewPacket(vx.Payload, layers.LayerTypeEthernet, gopacket.Default)
	ie, _ := inner.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if ie == nil || ie.SrcMAC.String() != "0e:2a:0a:f4:01:01" || ie.DstMAC.String() != "0e:2a:0a:f4:02:01" {
		t.Errorf("inner ether: got %v, want 0e:2a:0a:f4:01:01 > 0e:2a:0a:f4:02:01 (the DR MACs)", ie)
	}
	checkIPv4(t, "inner", inner, "10.244.1.2", "10.244.2.2", 64)
	p := one(t, lin[0], "host2/pod-c", result.KindDelivered)
	checkIPv4(t, "packet 1 at pod-c", p, "10.244.1.2", "10.244.2.2", 64)
	if e, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); e == nil || e.DstMAC.String() != "0e:2a:0a:f4:02:02" {
		t.Errorf("packet 1 at pod-c: got %v, want destination MAC 0e:2a:0a:f4:02:02", p.LinkLayer())
	}
}

// TestBackendL2Bridge checks l2bridge's MAC rewrites, OutBoundNAT and an ACL: out of the
// NIC with the host's MAC and address, bridged unchanged between local pods, in with
// the pod's MAC, port 22 blocked.
func TestBackendL2Bridge(t *testing.T) {
	in := []hostprobe.Input{
		{Port: "host1/pod-a", Frame: frame(t, "00:15:5d:01:01:02", "00:15:5d:00:00:04", "10.244.1.2", "198.18.0.10", "udp", 5000, 53, 64)},
		{Port: "host1/pod-a", Frame: frame(t, "00:15:5d:01:01:02", "00:15:5d:01:01:03", "10.244.1.2", "10.244.1.3", "tcp", 5000, 8080, 64), TimeNS: 1000},
		{Port: "client", Frame: frame(t, "02:00:00:00:00:99", "02:00:00:00:00:01", "10.0.0.99", "10.244.1.3", "tcp", 5001, 22, 64), TimeNS: 2000},
		{Port: "client", Frame: frame(t, "02:00:00:00:00:99", "02:00:00:00:00:01", "10.0.0.99", "10.244.1.3", "tcp", 5001, 8080, 64), TimeNS: 3000},
		{Port: "host1/pod-a", Frame: frame(t, "00:15:5d:01:01:02", "00:15:5d:00:00:04", "10.244.1.2", "10.244.2.2", "tcp", 5002, 8080, 64), TimeNS: 4000},
	}
	_, lin, cmp := probe(t, "l2bridge", in)
	for i := 1; i <= 5; i++ {
		wantAgree(t, cmp, i, false)
	}
	p := one(t, lin[0], "host1/eth0", result.KindWireTx)
	checkIPv4(t, "packet 1 wire-tx", p, "10.0.0.4", "198.18.0.10", 63)
	if e, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); e == nil || e.SrcMAC.String() != "00:15:5d:00:00:04" {
		t.Errorf("packet 1 on the wire: got %v, want the host's MAC as source", p.LinkLayer())
	}
	if got := output(lin[1], "host1/eth0", result.KindWireTx); len(got) != 0 {
		t.Errorf("packet 2 (pod to local pod): got %d frames on the wire, want none", len(got))
	}
	checkIPv4(t, "packet 2 at pod-b", one(t, lin[1], "host1/pod-b", result.KindDelivered), "10.244.1.2", "10.244.1.3", 64)
	if lin[2].Outcome != result.OutcomeDropped || len(lin[2].Drops) == 0 || lin[2].Drops[0].Reason != ReasonFilter ||
		!strings.Contains(lin[2].Drops[0].Where, "block-ssh") {
		t.Errorf("packet 3: got %s %v, want dropped by the block-ssh ACL", lin[2].Outcome, lin[2].Drops)
	}
	p = one(t, lin[3], "host1/pod-b", result.KindDelivered)
	if e, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); e == nil || e.DstMAC.String() != "00:15:5d:01:01:03" {
		t.Errorf("packet 4 at pod-b: got %v, want pod-b's MAC as destination", p.LinkLayer())
	}
	checkIPv4(t, "packet 4 at pod-b", p, "10.0.0.99", "10.244.1.3", 63)
	checkIPv4(t, "packet 5 at pod-c", one(t, lin[4], "host2/pod-c", result.KindDelivered), "10.244.1.2", "10.244.2.2", 62)
}

// TestBackendTransparent checks that a transparent network's frames cross unchanged,
// with the container's own MAC on the wire.
func TestBackendTransparent(t *testing.T) {
	in := []hostprobe.Input{
		{Port: "host1/web", Frame: frame(t, "00:15:5d:01:01:02", "02:00:00:00:00:99", "10.0.0.20", "10.0.0.99", "udp", 5001, 53, 64)},
		{Port: "client", Frame: frame(t, "02:00:00:00:00:99", "00:15:5d:01:01:02", "10.0.0.99", "10.0.0.20", "tcp", 5001, 80, 64), TimeNS: 1000},
	}
	_, lin, cmp := probe(t, "transparent", in)
	wantAgree(t, cmp, 1, false)
	wantAgree(t, cmp, 2, false)
	p := one(t, lin[0], "client", result.KindDelivered)
	if e, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); e == nil || e.SrcMAC.String() != "00:15:5d:01:01:02" {
		t.Errorf("packet 1 at client: got %v, want the container's MAC", p.LinkLayer())
	}
	checkIPv4(t, "packet 1 at client", p, "10.0.0.20", "10.0.0.99", 64)
	checkIPv4(t, "packet 2 at web", one(t, lin[1], "host1/web", result.KindDelivered), "10.0.0.99", "10.0.0.20", 64)
}

// TestBenchProcessor forwards a batch of port-mapped SYNs through the kernel and counts
// them at the container, then starts again from empty conntrack state.
func TestBenchProcessor(t *testing.T) {
	if err := CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	p, err := NewBenchProcessor(loadTopology(t, "nat"), "client", []string{"host1/web"}, BackendOptions{})
	must(t, err)
	defer func() { must(t, p.Close()) }()
	var frames [][]byte
	for i := range 64 {
		frames = append(frames, frame(t, "02:00:00:00:00:99", "00:15:5d:00:00:04", "10.0.0.99", "10.0.0.4", "tcp", uint16(40000+i), 8082, 64))
	}
	if got := p.Process(frames); got != len(frames) {
		t.Errorf("Process(64 mapped SYNs): got %d forwarded, want 64 (err %v)", got, p.Err())
	}
	must(t, p.Reset())
	unmapped := [][]byte{frame(t, "02:00:00:00:00:99", "00:15:5d:00:00:04", "10.0.0.99", "10.0.0.4", "tcp", 41000, 9999, 64)}
	if got := p.Process(unmapped); got != 0 {
		t.Errorf("Process(unmapped SYN): got %d forwarded, want 0", got)
	}
	if _, err := NewBenchProcessor(loadTopology(t, "nat"), "nowhere", []string{"host1/web"}, BackendOptions{}); err == nil {
		t.Errorf("NewBenchProcessor(unknown port): got nil error, want one")
	}
}

// TestBackendThroughput checks that Throughput counts forwarded frames.
func TestBackendThroughput(t *testing.T) {
	if err := CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	b := NewBackend(BackendOptions{})
	defer func() { must(t, b.Close()) }()
	must(t, b.Setup(context.Background(), loadTopology(t, "transparent")))
	w := hostprobe.Workload{Name: "transparent-udp", In: "client", Sinks: []string{"host1/web"}, Duration: 100e6,
		Frames: [][]byte{frame(t, "02:00:00:00:00:99", "00:15:5d:01:01:02", "10.0.0.99", "10.0.0.20", "udp", 5001, 80, 64)}}
	tp, err := b.Throughput(context.Background(), w)
	must(t, err)
	if tp.Sent == 0 || tp.Received != tp.Sent {
		t.Errorf("Throughput: got %d received of %d sent, want all", tp.Received, tp.Sent)
	}
}

// TestKilledRunThenClean kills a process that built a topology (SIGKILL: no teardown)
// and checks that Clean, as `hnspath probe clean` runs it, removes every namespace.
func TestKilledRunThenClean(t *testing.T) {
	if err := CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	session, cmd := startChild(t, "backend")
	ents, _ := filepath.Glob(filepath.Join(NetnsDir, session+"-*"))
	if len(ents) < 5 {
		t.Fatalf("child built %d namespaces, want the nat topology's (at least 5)", len(ents))
	}
	must(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	if err := checkNoLeftovers(session); err == nil {
		t.Fatalf("after SIGKILL: no leftovers, want the child's namespaces (the test would prove nothing)")
	}
	removed, err := Clean(Prefix)
	must(t, err)
	n := 0
	for _, r := range removed {
		if strings.HasPrefix(r, "netns "+session+"-") {
			n++
		}
	}
	if n != len(ents) {
		t.Errorf("Clean removed %d of the child's %d namespaces: %q", n, len(ents), removed)
	}
	if err := checkNoLeftovers(session); err != nil {
		t.Error(err)
	}
}

// TestRunWithoutSetup checks the error before Setup.
func TestRunWithoutSetup(t *testing.T) {
	b := NewBackend(BackendOptions{})
	if _, err := b.Run(context.Background(), "x", nil, hostprobe.RunOptions{}); err == nil {
		t.Errorf("Run before Setup: got nil error, want one")
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close before Setup: %v", err)
	}
}

// TestBackendL2BridgeIPVlan runs l2bridge with ipvlan where the kernel has it: the pod's
// frame leaves with the host's MAC (shared by ipvlan children), unchanged otherwise.
func TestBackendL2BridgeIPVlan(t *testing.T) {
	if err := CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	if !KernelHasIPVlan() {
		t.Skip("this kernel cannot create ipvlan links (CONFIG_IPVLAN): l2bridge runs with MAC rewrites instead")
	}
	b := NewBackend(BackendOptions{L2Bridge: L2BridgeIPVlan})
	defer func() { must(t, b.Close()) }()
	must(t, b.Setup(context.Background(), loadTopology(t, "l2bridge")))
	in := []hostprobe.Input{{Port: "host1/pod-a", Frame: frame(t, "00:15:5d:01:01:02", "00:15:5d:00:00:04", "10.244.1.2", "10.244.2.2", "tcp", 5002, 8080, 64)}}
	lin, err := b.Run(context.Background(), "ipvlan", in, hostprobe.RunOptions{})
	must(t, err)
	p := one(t, lin[0], "host1/eth0", result.KindWireTx)
	if e, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); e == nil || e.SrcMAC.String() != "00:15:5d:00:00:04" {
		t.Errorf("on the wire: got %v, want the host's MAC as source", p.LinkLayer())
	}
	// Routed once by the host (the ipvlan parent's stack), as the emulator routes it.
	checkIPv4(t, "on the wire", p, "10.244.1.2", "10.244.2.2", 63)
}

// TestBackendSteps runs do: steps on the kernel as the emulator runs them: a ClusterIP
// connection reaches pod-b; after remove_endpoint pod-b the load balancer still sends
// new connections to it and they are lost on both sides (its link is down); after
// update_load_balancer to pod-d the established connection stays on pod-b in conntrack
// (lost) while VFP re-evaluates it to pod-d, and a new connection reaches pod-d on both.
func TestBackendSteps(t *testing.T) {
	if err := CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	topo := func() *fabric.Topology {
		topo := loadTopology(t, "l2bridge")
		objs := &topo.Hosts[0].HNS
		objs.Endpoints = append(objs.Endpoints, hns.HostComputeEndpoint{Name: "pod-d", HostComputeNetwork: objs.Endpoints[0].HostComputeNetwork,
			MacAddress: "00-15-5D-01-01-04", IpConfigurations: []hns.IpConfig{{IpAddress: "10.244.1.4", PrefixLength: 24}}})
		return topo
	}
	syn := func(sport uint16) []byte {
		return frame(t, "00:15:5d:01:01:02", "00:15:5d:00:00:04", "10.244.1.2", "10.96.0.10", "tcp", sport, 80, 64)
	}
	in := []hostprobe.Input{
		{Port: "host1/pod-a", Frame: syn(40000)},
		{Port: "host1/pod-a", Frame: syn(40001), TimeNS: 1000},
		{Port: "host1/pod-a", Frame: syn(40000), TimeNS: 2000},
		{Port: "host1/pod-a", Frame: syn(40002), TimeNS: 3000},
	}
	steps := map[int][]hostprobe.Step{
		1: {{Action: hostprobe.StepRemoveEndpoint, Host: "host1", Endpoint: "pod-b"}},
		2: {{Action: hostprobe.StepUpdateLoadBalancer, Host: "host1", LoadBalancer: "svc-web", Endpoints: []string{"pod-d"}}},
	}
	e := hostprobe.NewEmulator()
	e.Trace = true // the documented differences are recognised by the emulator's trace
	must(t, e.Setup(context.Background(), topo()))
	var emuIn []hostprobe.Input
	for i, x := range in {
		x.Steps = steps[i]
		emuIn = append(emuIn, x)
	}
	emu, err := e.Run(context.Background(), "steps", emuIn, hostprobe.RunOptions{})
	must(t, err)
	b := NewBackend(BackendOptions{})
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	must(t, b.Setup(context.Background(), topo()))
	lin, cmp, err := hostprobe.RunAgainstWith(context.Background(), b, "steps", emu, hostprobe.Against{Steps: steps})
	must(t, err)
	checkIPv4(t, "packet 1 at pod-b", one(t, lin[0], "host1/pod-b", result.KindDelivered), "10.244.1.2", "10.244.1.3", 64)
	if lin[1].Outcome != result.OutcomeDropped || emu[1].Outcome != result.OutcomeDropped {
		t.Errorf("packet 2 (to the removed pod-b): got linux %s, emulator %s; want both dropped", lin[1].Outcome, emu[1].Outcome)
	}
	wantAgree(t, cmp, 2, false)
	// Packet 3 repeats packet 1's connection: conntrack keeps it on pod-b (down), VFP
	// re-evaluates it to pod-d.
	if lin[2].Outcome != result.OutcomeDropped || len(output(emu[2], "host1/pod-d", result.KindDelivered)) != 1 {
		t.Errorf("packet 3: got linux %s %v, emulator %s %v; want dropped on the kernel (conntrack keeps the old backend), at pod-d in the emulator",
			lin[2].Outcome, portsOf(lin[2]), emu[2].Outcome, portsOf(emu[2]))
	}
	if len(cmp.Packets[2].Diffs) == 0 {
		t.Errorf("packet 3: got no difference, want the re-evaluation difference")
	}
	for _, d := range cmp.Packets[2].Diffs {
		if d.Known != "lb-update-established" {
			t.Errorf("packet 3: got %s, want it labelled lb-update-established", d)
		}
	}
	checkIPv4(t, "packet 4 at pod-d", one(t, lin[3], "host1/pod-d", result.KindDelivered), "10.244.1.2", "10.244.1.4", 64)
	wantAgree(t, cmp, 4, true)
	if err := b.step(hostprobe.Step{Action: hostprobe.StepRemoveEndpoint, Host: "host1", Endpoint: "nope"}); err == nil {
		t.Errorf("removing an unknown endpoint: got nil error")
	}
	if err := b.step(hostprobe.Step{Action: hostprobe.StepUpdateLoadBalancer, Host: "host9", LoadBalancer: "svc-web"}); err == nil {
		t.Errorf("a step on an unknown host: got nil error")
	}
}

// dualStack is the library's dual-stack l2bridge topology (l2bridge-ipv6-dual-stack).
const dualStack = `{
  "hosts": [{"name": "host1", "profile": "WS2022",
    "nics": [{"name": "eth0", "mac": "00:15:5d:00:00:04", "ip": "10.0.0.4/24", "ipv6": "fd00::4/64", "gateway": "10.0.0.1"}],
    "hns": {
      "Networks": [{"Name": "cbr0", "Type": "L2Bridge", "Ipams": [{"Type": "Static", "Subnets": [
        {"IpAddressPrefix": "10.244.1.0/24", "Routes": [{"NextHop": "10.244.1.1", "DestinationPrefix": "0.0.0.0/0"}]},
        {"IpAddressPrefix": "fd00:244:1::/64", "Routes": [{"NextHop": "fd00:244:1::1", "DestinationPrefix": "::/0"}]}]}]}],
      "Endpoints": [
        {"Name": "pod-a", "HostComputeNetwork": "cbr0", "MacAddress": "00-15-5D-01-01-02",
         "IpConfigurations": [{"IpAddress": "10.244.1.2", "PrefixLength": 24}, {"IpAddress": "fd00:244:1::2", "PrefixLength": 64}]},
        {"Name": "pod-b", "HostComputeNetwork": "cbr0", "MacAddress": "00-15-5D-01-01-03",
         "IpConfigurations": [{"IpAddress": "10.244.1.3", "PrefixLength": 24}, {"IpAddress": "fd00:244:1::3", "PrefixLength": 64}]}]}}],
  "underlay": {"router": {"mac": "02:00:00:00:00:01", "ips": ["10.0.0.1/24"]}}
}`

// TestBackendIPv6 checks the IPv6 part of the l2bridge analogue: the host namespace has
// IPv6 on (no duplicate address detection, forwarding, no solicitations), the gateway
// address as a /128 on the bridge and a route to the subnet, the endpoints' namespaces
// keep it off, and IPv6 between two pods is bridged unchanged, as in the emulator, with
// no MLD or router solicitation in the results.
func TestBackendIPv6(t *testing.T) {
	var topo fabric.Topology
	must(t, json.Unmarshal([]byte(dualStack), &topo))
	lay, err := PlanTopology(&topo, LayoutOptions{L2Bridge: L2BridgeMACRewrite})
	must(t, err)
	h := nsPlan(t, lay, "h0")
	sys := map[string]string{}
	for _, kv := range h.Sysctls {
		sys[kv[0]] = kv[1]
	}
	for k, want := range map[string]string{"net.ipv6.conf.all.disable_ipv6": "0", "net.ipv6.conf.default.accept_dad": "0",
		"net.ipv6.conf.all.forwarding": "1", "net.ipv6.conf.default.addr_gen_mode": "1", "net.bridge.bridge-nf-call-ip6tables": "1"} {
		if sys[k] != want {
			t.Errorf("host sysctl %s: got %q, want %q", k, sys[k], want)
		}
	}
	if !h.IPv6 || nsPlan(t, lay, "h0e0").IPv6 {
		t.Errorf("IPv6: got host %v, endpoint %v; want on in the host only", h.IPv6, nsPlan(t, lay, "h0e0").IPv6)
	}
	if !containsAddrPlan(h.Addrs, AddrPlan{"br0", pfx("fd00:244:1::1/128")}) || !containsAddrPlan(h.Addrs, AddrPlan{"br0", pfx("fd00::4/64")}) {
		t.Errorf("host addresses: got %+v, want the IPv6 gateway /128 and the NIC's IPv6 address on the bridge", h.Addrs)
	}
	if !containsRoute(h.Routes, pfx("fd00:244:1::/64"), netip.Addr{}) {
		t.Errorf("host routes: got %+v, want fd00:244:1::/64 on the bridge", h.Routes)
	}
	if len(lay.Unsupported) != 0 {
		t.Errorf("unsupported: got %v, want everything built", lay.Unsupported)
	}
	if err := CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	udp6 := func(srcMAC, dstMAC, src, dst string, sport, dport uint16) []byte {
		sm, dm := mustMAC(srcMAC), mustMAC(dstMAC)
		eth := &layers.Ethernet{SrcMAC: sm, DstMAC: dm, EthernetType: layers.EthernetTypeIPv6}
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
		u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
		must(t, u.SetNetworkLayerForChecksum(ip))
		buf := gopacket.NewSerializeBuffer()
		must(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, u, gopacket.Payload("v6")))
		return append([]byte(nil), buf.Bytes()...)
	}
	in := []hostprobe.Input{
		{Port: "host1/pod-a", Frame: udp6("00:15:5d:01:01:02", "00:15:5d:01:01:03", "fd00:244:1::2", "fd00:244:1::3", 1000, 2000)},
		{Port: "host1/pod-b", Frame: udp6("00:15:5d:01:01:03", "00:15:5d:01:01:02", "fd00:244:1::3", "fd00:244:1::2", 2000, 1000), TimeNS: 1000},
	}
	e := hostprobe.NewEmulator()
	must(t, e.Setup(context.Background(), &topo))
	emu, err := e.Run(context.Background(), "v6", in, hostprobe.RunOptions{})
	must(t, err)
	b := NewBackend(BackendOptions{L2Bridge: L2BridgeMACRewrite})
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	must(t, b.Setup(context.Background(), &topo))
	lin, cmp, err := hostprobe.RunAgainst(context.Background(), b, "v6", emu)
	must(t, err)
	wantAgree(t, cmp, 1, false)
	wantAgree(t, cmp, 2, false)
	p := one(t, lin[0], "host1/pod-b", result.KindDelivered)
	ip, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	if ip == nil || ip.HopLimit != 64 || !ip.SrcIP.Equal(net.ParseIP("fd00:244:1::2")) {
		t.Errorf("packet 1 at pod-b: got %v, want fd00:244:1::2 -> fd00:244:1::3 hop limit 64", p.Layers())
	}
	if u, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP); u == nil || ip == nil {
		t.Errorf("packet 1 at pod-b: got %v, want IPv6/UDP", p.Layers())
	} else {
		c := *u
		must(t, c.SetNetworkLayerForChecksum(ip))
		buf := gopacket.NewSerializeBuffer()
		must(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, &c, gopacket.Payload(u.Payload)))
		if want := uint16(buf.Bytes()[6])<<8 | uint16(buf.Bytes()[7]); u.Checksum != want {
			t.Errorf("udp checksum: got %#04x, want %#04x", u.Checksum, want)
		}
	}
	for _, r := range lin {
		for _, o := range r.Outputs {
			if tp, ok := icmpv6Type(o.Frame[14:]); ok {
				t.Errorf("packet %d: ICMPv6 type %d at %s (MLD or ND chatter in the results)", r.Index, tp, o.Port)
			}
		}
	}
}
