package hostprobe

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/result"
)

// TestVerdict checks the verdict of comparisons whose differences are explained in each
// way, and that what was not built does not count as undocumented.
func TestVerdict(t *testing.T) {
	// No emulator finding is known today: the verdict is tested with one made up.
	saved := Differences
	Differences = append(append([]KnownDifference(nil), Differences...), KnownDifference{ID: "test-finding", Finding: true})
	t.Cleanup(func() { Differences = saved })
	d := func(known, notBuilt string) Difference {
		return Difference{What: "field", Field: "ipv4.src", A: "1", B: "2", Known: known, NotBuilt: notBuilt}
	}
	for _, tt := range []struct {
		name         string
		diffs        [][]Difference
		want         string
		undocumented int
		partial      int
	}{
		{"agrees", [][]Difference{nil, nil}, "agrees", 0, 0},
		{"documented", [][]Difference{{d("host-hairpin", "")}, nil}, "differs (documented)", 0, 0},
		{"finding", [][]Difference{{d("test-finding", "")}, {d("host-hairpin", "")}}, "differs (emulator finding)", 0, 0},
		{"partial", [][]Difference{{d("", "PreserveDIP to a remote backend")}, {d("host-hairpin", "")}},
			"partial (not built: PreserveDIP to a remote backend)", 0, 1},
		{"partial, two parts", [][]Difference{{d("", "b"), d("host-hairpin", "")}, {d("", "a")}}, "partial (not built: a; b)", 0, 2},
		{"undocumented wins", [][]Difference{{d("", "a")}, {d("", "")}}, "differs", 1, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &Comparison{}
			for i, ds := range tt.diffs {
				c.Packets = append(c.Packets, PacketComparison{Index: i + 1, Diffs: ds})
			}
			if got := c.Verdict(); got != tt.want {
				t.Errorf("Verdict: got %q, want %q", got, tt.want)
			}
			if got := c.Undocumented(); got != tt.undocumented {
				t.Errorf("Undocumented: got %d, want %d", got, tt.undocumented)
			}
			if got := c.Partial(); got != tt.partial {
				t.Errorf("Partial: got %d, want %d", got, tt.partial)
			}
		})
	}
}

// TestMarkNotBuilt checks which packets a part that was not built explains: those whose
// reference trace names its rules or that passed its ports, and only their unexplained
// differences.
func TestMarkNotBuilt(t *testing.T) {
	ref := []*result.Packet{
		{Index: 1, In: "client", Trace: []result.Stage{{Component: "vfp", VFPRule: "LB_lb-preserve_10.0.0.202_80_8080_6"}}},
		{Index: 2, In: "client", Trace: []result.Stage{{Component: "vfp", VFPRule: "LB_lb-preserved_10.0.0.203_80_8080_6"}}},
		{Index: 3, In: "host1/pod-x"},
		{Index: 4, In: "client", Outputs: []result.Output{{Port: "host1/pod-x", Kind: result.KindDelivered}}},
		{Index: 5, In: "client"},
	}
	c := &Comparison{}
	for i := range ref {
		c.Packets = append(c.Packets, PacketComparison{Index: i + 1, Diffs: []Difference{
			{What: "outcome", A: "delivered", B: "dropped"},
			{What: "field", Field: "ipv4.ttl", A: "64", B: "63", Known: "vfp-switched-nat"},
		}})
	}
	c.MarkNotBuilt(ref, []NotBuilt{
		{What: "lb", Rules: []string{"LB_lb-preserve_"}},
		{What: "pod-x policies", Ports: []string{"host1/pod-x"}},
	})
	want := []string{"lb", "", "pod-x policies", "pod-x policies", ""}
	for i, p := range c.Packets {
		if got := p.Diffs[0].NotBuilt; got != want[i] {
			t.Errorf("packet %d: got not built %q, want %q", i+1, got, want[i])
		}
		if p.Diffs[1].NotBuilt != "" {
			t.Errorf("packet %d: a documented difference got not built %q", i+1, p.Diffs[1].NotBuilt)
		}
	}
	if got := c.Verdict(); got != "differs" {
		t.Errorf("Verdict: got %q, want differs (packets 2 and 5 are not explained)", got)
	}
	if got, want := strings.Join(c.NotBuilt(), ";"), "lb;pod-x policies"; got != want {
		t.Errorf("NotBuilt: got %q, want %q", got, want)
	}
	if !strings.Contains(c.Packets[0].Diffs[0].String(), "[not built: lb]") {
		t.Errorf("String: got %q, want the part named", c.Packets[0].Diffs[0].String())
	}
}

// lbGroup is a load balancer with two backends on another host, as in the library's
// l2bridge topology (svc-affinity: pod-c and pod-e on host2).
func lbGroup() LBGroup {
	c, _ := net.ParseMAC("00:15:5d:02:01:02")
	e, _ := net.ParseMAC("00:15:5d:02:01:03")
	return LBGroup{Name: "host1/svc", Backends: []LBBackend{
		{Addr: netip.MustParseAddr("10.244.2.2"), Port: "host2/pod-c", MAC: c},
		{Addr: netip.MustParseAddr("10.244.2.3"), Port: "host2/pod-e", MAC: e},
	}}
}

// TestLBBackendBinding checks that the backend each side chose is bound like a NAT port:
// the first choice binds, a consistent one agrees (with B's port, address and MAC read
// as A's), a client moved to another backend differs, packets no load balancer handled
// are compared as they are, and a reply the scenario sends from A's backend is sent
// from B's, with valid checksums.
func TestLBBackendBinding(t *testing.T) {
	lbTrace := []result.Stage{{Component: "vfp", VFPLayer: "LB", Action: "lbnat"}}
	syn := func(dst, dstMAC string, sport uint16) []byte {
		return build(t, pkt{srcMAC: "00:15:5d:00:00:04", dstMAC: dstMAC, src: "10.244.1.2", dst: dst, proto: "tcp", sport: sport, dport: 8080})
	}
	toC := func(sport uint16) []byte { return syn("10.244.2.2", "00:15:5d:02:01:02", sport) }
	toE := func(sport uint16) []byte { return syn("10.244.2.3", "00:15:5d:02:01:03", sport) }
	c := NewComparer("s", "emulator", "linux")
	c.LBGroups = []LBGroup{lbGroup()}
	steps := []struct {
		name       string
		a, b       *result.Packet
		lb         bool
		wantFields []string
	}{
		{"first choice binds e to c", res("emulator", 1, "host1/pod-a", "host2/pod-e", result.KindDelivered, toE(1)),
			res("linux", 1, "host1/pod-a", "host2/pod-c", result.KindDelivered, toC(1)), true, nil},
		{"the same pair", res("emulator", 2, "host1/pod-a", "host2/pod-e", result.KindDelivered, toE(2)),
			res("linux", 2, "host1/pod-a", "host2/pod-c", result.KindDelivered, toC(2)), true, nil},
		{"B moves the client", res("emulator", 3, "host1/pod-a", "host2/pod-e", result.KindDelivered, toE(3)),
			res("linux", 3, "host1/pod-a", "host2/pod-e", result.KindDelivered, toE(3)), true, []string{"lb-backend host1/svc"}},
		{"no load balancer", res("emulator", 4, "host1/pod-a", "host2/pod-e", result.KindDelivered, toE(4)),
			res("linux", 4, "host1/pod-a", "host2/pod-c", result.KindDelivered, toC(4)), false, nil},
	}
	for _, s := range steps {
		if s.lb {
			s.a.Trace = lbTrace
		}
		pc := c.Packet(s.a, s.b)
		var got []string
		for _, d := range pc.Diffs {
			if d.What == "field" {
				got = append(got, d.Field)
			} else {
				got = append(got, d.What)
			}
		}
		want := s.wantFields
		if !s.lb {
			want = []string{"missing", "extra"} // compared as they are: different ports
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: got differences %v, want %v", s.name, pc.Diffs, want)
		}
	}
	// The backend's reply, as the scenario sends it from pod-e (A's choice).
	reply := build(t, pkt{srcMAC: "00:15:5d:02:01:03", dstMAC: "00:15:5d:00:00:05", src: "10.244.2.3", dst: "10.244.1.2", proto: "tcp", sport: 8080, dport: 1})
	got := c.Translate(Input{Port: "host2/pod-e", Frame: reply})
	want := build(t, pkt{srcMAC: "00:15:5d:02:01:02", dstMAC: "00:15:5d:00:00:05", src: "10.244.2.2", dst: "10.244.1.2", proto: "tcp", sport: 8080, dport: 1})
	if got.Port != "host2/pod-c" || string(got.Frame) != string(want) {
		t.Errorf("reply: got %s\n% x\nwant host2/pod-c\n% x", got.Port, got.Frame, want)
	}
	checksumsValid(t, "translated reply", got.Frame)
	if string(reply[26:30]) != string([]byte{10, 244, 2, 3}) {
		t.Errorf("Translate modified its input")
	}
}

// TestLBGroupsOf checks the groups of a topology: load balancers with more than one
// backend, each backend with its endpoint's port and MAC.
func TestLBGroupsOf(t *testing.T) {
	topo := loadTopo(t, "l2bridge")
	objs := &topo.Hosts[0].HNS
	objs.LoadBalancers = append(objs.LoadBalancers, hns.HostComputeLoadBalancer{Name: "two", HostComputeEndpoints: []string{"pod-a", "pod-b"},
		FrontendVIPs: []string{"10.96.0.99"}, PortMappings: []hns.LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 80}}})
	gs := LBGroupsOf(topo)
	if len(gs) != 1 || gs[0].Name != "host1/two" || len(gs[0].Backends) != 2 {
		t.Fatalf("got %+v, want host1/two with pod-a and pod-b", gs)
	}
	for i, want := range []struct{ addr, port, mac string }{
		{"10.244.1.2", "host1/pod-a", "00:15:5d:01:01:02"},
		{"10.244.1.3", "host1/pod-b", "00:15:5d:01:01:03"},
	} {
		b := gs[0].Backends[i]
		if b.Addr.String() != want.addr || b.Port != want.port || b.MAC.String() != want.mac {
			t.Errorf("backend %d: got %v %s %v, want %s %s %s", i, b.Addr, b.Port, b.MAC, want.addr, want.port, want.mac)
		}
	}
	if gs := LBGroupsOf(&fabric.Topology{Hosts: []fabric.HostSpec{{Name: ""}}}); gs != nil {
		t.Errorf("invalid topology: got %v, want nil", gs)
	}
}

func loadTopo(t *testing.T, name string) *fabric.Topology {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "emulator", "fabric", "testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var topo fabric.Topology
	if err := json.Unmarshal(b, &topo); err != nil {
		t.Fatal(err)
	}
	return &topo
}

// TestEmulatorSteps checks that the emulator backend makes each input's steps first: a
// removed backend loses the connection (the load balancer still points at it), and a
// run with the same steps agrees with it.
func TestEmulatorSteps(t *testing.T) {
	topo := loadTopo(t, "l2bridge")
	syn := func(sport uint16) []byte {
		return build(t, pkt{srcMAC: "00:15:5d:01:01:02", dstMAC: "00:15:5d:00:00:04", src: "10.244.1.2", dst: "10.96.0.10", proto: "tcp", sport: sport, dport: 80})
	}
	remove := Step{Action: StepRemoveEndpoint, Host: "host1", Endpoint: "pod-b"}
	in := []Input{{Port: "host1/pod-a", Frame: syn(40000)}, {Port: "host1/pod-a", Frame: syn(40001), Steps: []Step{remove}}}
	e := NewEmulator()
	if err := e.Setup(context.Background(), topo); err != nil {
		t.Fatal(err)
	}
	ref, err := e.Run(context.Background(), "s", in, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ref) != 2 || ref[0].Outcome != result.OutcomeDelivered || ref[1].Outcome != result.OutcomeDropped ||
		!hasDrop(ref[1], "destination-nic-disabled") {
		t.Fatalf("got %+v, want the first SYN delivered and the second dropped at the disabled NIC", ref)
	}
	e2 := NewEmulator()
	if err := e2.Setup(context.Background(), topo); err != nil {
		t.Fatal(err)
	}
	_, cmp, err := RunAgainstWith(context.Background(), e2, "s", ref, Against{Steps: map[int][]Step{1: {remove}}})
	if err != nil || cmp.Differing() != 0 {
		t.Errorf("emulator against itself with the step: %v, %d differing", err, cmp.Differing())
	}
	bad := []Input{{Port: "host1/pod-a", Frame: syn(1), Steps: []Step{{Action: StepUpdateLoadBalancer, Host: "host1", LoadBalancer: "nope"}}}}
	if _, err := e2.Run(context.Background(), "s", bad, RunOptions{}); err == nil || !strings.Contains(err.Error(), "before input 1") {
		t.Errorf("unknown load balancer: got %v, want an error before input 1", err)
	}
	for _, tt := range []struct {
		s    Step
		want string
	}{
		{remove, "remove_endpoint host1/pod-b"},
		{Step{Action: StepUpdateLoadBalancer, Host: "host1", LoadBalancer: "svc", Endpoints: []string{"a", "b"}}, "update_load_balancer host1/svc endpoints [a, b]"},
		{Step{Action: "reboot"}, `step "reboot"`},
	} {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("String: got %q, want %q", got, tt.want)
		}
	}
	if err := (Step{Action: "reboot"}).Apply(e2.Fabric()); err == nil {
		t.Errorf("unknown action: got nil error")
	}
}

// TestExplainLB checks the labels of the load balancer, MTU and host vNIC differences
// and of the emulator findings, each on the difference it explains and not on others.
func TestExplainLB(t *testing.T) {
	podA := "00:15:5d:01:01:02"
	synA := build(t, pkt{srcMAC: podA, dstMAC: "00:15:5d:00:00:04", src: "10.244.1.2", dst: "10.96.0.10", proto: "tcp", sport: 40000, dport: 80})
	ack := append([]byte(nil), synA...)
	ack[14+20+13] = 0x10 // ACK
	lbnat := result.Stage{Component: "vfp", Port: "pod-a", VFPLayer: "LB", Action: "lbnat", After: &result.Headers{DstMAC: "02:11:0a:f4:02:03"}}
	for _, tt := range []struct {
		name string
		a, b *result.Packet
		d    Difference
		want string
	}{
		{"bridged dnat keeps the source MAC", &result.Packet{In: "host1/pod-a", Frame: synA, Trace: []result.Stage{lbnat}}, &result.Packet{},
			Difference{What: "field", Field: "ether.src", Kind: result.KindDelivered, A: "00:15:5d:00:00:04", B: podA}, "l2bridge-lb-mac"},
		{"a source MAC that is not the sender's", &result.Packet{In: "host1/pod-a", Frame: synA, Trace: []result.Stage{lbnat}}, &result.Packet{},
			Difference{What: "field", Field: "ether.src", Kind: result.KindDelivered, A: "00:15:5d:00:00:04", B: "02:00:00:00:00:01"}, ""},
		{"re-evaluated after an update", &result.Packet{Frame: ack, Trace: []result.Stage{
			{Component: "vfp", Port: "pod-a", Action: "flow", VFPLayer: "SNAT"}, lbnat}}, &result.Packet{},
			Difference{What: "outcome"}, "lb-update-established"},
		{"a new connection", &result.Packet{Frame: synA, Trace: []result.Stage{
			{Component: "vfp", Port: "pod-a", Action: "allow", VFPLayer: "SNAT"}, lbnat}}, &result.Packet{},
			Difference{What: "outcome"}, ""},
		{"the host's own frame", &result.Packet{In: "host1/host", Frame: synA}, &result.Packet{},
			Difference{What: "field", Field: "ether.src", Port: "host1/pod-a", Kind: result.KindDelivered}, "host-vnic-mac"},
		{"a frame to the host", &result.Packet{In: "host1/pod-a", Frame: synA}, &result.Packet{},
			Difference{What: "field", Field: "ether.dst", Port: "host1/host", Kind: result.KindDelivered}, "host-vnic-mac"},
		{"oversize frame not captured", &result.Packet{Drops: []result.Drop{{Port: "host1/eth0", Reason: "mtu-mismatch"}}},
			&result.Packet{Drops: []result.Drop{{Port: "host1/eth0", Reason: "linux-link-drop"}}},
			Difference{What: "missing", Port: "host1/eth0", Kind: result.KindWireRx}, "nic-mtu-capture"},
		{"oversize frame, other drop on Linux", &result.Packet{Drops: []result.Drop{{Port: "host1/eth0", Reason: "mtu-mismatch"}}},
			&result.Packet{Drops: []result.Drop{{Port: "host1/eth0", Reason: "linux-no-output"}}},
			Difference{What: "missing", Port: "host1/eth0", Kind: result.KindWireRx}, ""},
		{"routed to a remote backend", &result.Packet{Frame: synA, Trace: []result.Stage{lbnat}}, &result.Packet{},
			Difference{What: "field", Field: "ipv4.ttl", Port: "host1/eth0", Kind: result.KindWireTx, A: "63", B: "64"}, "l2bridge-lb-remote-ttl"},
		{"a TTL two apart", &result.Packet{Frame: synA, Trace: []result.Stage{lbnat}}, &result.Packet{},
			Difference{What: "field", Field: "ipv4.ttl", Port: "host1/eth0", Kind: result.KindWireTx, A: "62", B: "64"}, ""},
		{"a TTL without load balancing", &result.Packet{Frame: synA}, &result.Packet{},
			Difference{What: "field", Field: "ipv4.ttl", Port: "host1/eth0", Kind: result.KindWireTx, A: "63", B: "64"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Explain(tt.a, tt.b, &tt.d); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
