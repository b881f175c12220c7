package workload

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/bench"
	"github.com/hnspath/hnspath/emulator/emutest"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
)

// prepare builds workload mode with p and prepares it, failing the test on error.
func prepare(t testing.TB, mode string, p Params) *bench.Prepared {
	t.Helper()
	w, err := New(mode, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := w.Prepare(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", mode, err)
	}
	return pr
}

// fabricOf returns the processor's fabric.
func fabricOf(t testing.TB, p bench.Processor) *fabric.Fabric {
	t.Helper()
	switch x := p.(type) {
	case *processor:
		return x.f
	case *countingProcessor:
		return x.f
	}
	t.Fatalf("processor %T", p)
	return nil
}

// legWant is what one frame of flow 0 must look like where it comes out,
// decoded by gopacket.
type legWant struct {
	at    string
	check func(t *testing.T, in []byte, d *emutest.Decoded)
}

func ip(t *testing.T, what string, got net.IP, want string) {
	t.Helper()
	if !got.Equal(net.ParseIP(want)) {
		t.Errorf("%s %v, want %s", what, got, want)
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s %v, want %v", what, got, want)
	}
}

// TestWorkloadOracle sends the frames of flow 0 of every workload through its
// own fabric and decodes what comes out with gopacket, checking it against the
// behaviour the emulator's fabric tests and docs/design.md §3 describe: where each
// mode delivers, and which headers it rewrites. Flow 0 uses source port 1024
// and destination port 1024 (or the service's port).
func TestWorkloadOracle(t *testing.T) {
	tests := []struct {
		mode string
		n    int
		legs []legWant
	}{
		{"nat-outbound", 0, []legWant{{"server", func(t *testing.T, in []byte, d *emutest.Decoded) {
			ip(t, "source", d.IPv4.SrcIP, "10.0.0.4") // WinNAT: the host's address
			ip(t, "destination", d.IPv4.DstIP, "10.0.0.10")
			eq(t, "TTL", d.IPv4.TTL, 63)
			eq(t, "destination port", int(d.UDP.DstPort), 1024)
			if d.UDP.SrcPort < 49152 {
				t.Errorf("source port %d, want one of the dynamic range 49152-65535", d.UDP.SrcPort)
			}
		}}}},
		{"nat-inbound", 0, []legWant{{"host1/web", func(t *testing.T, in []byte, d *emutest.Decoded) {
			ip(t, "source", d.IPv4.SrcIP, "10.0.0.64")
			ip(t, "destination", d.IPv4.DstIP, "172.16.0.2")
			eq(t, "ports", [2]int{int(d.UDP.SrcPort), int(d.UDP.DstPort)}, [2]int{1024, 80})
		}}, {"client", func(t *testing.T, in []byte, d *emutest.Decoded) {
			ip(t, "source", d.IPv4.SrcIP, "10.0.0.4")
			ip(t, "destination", d.IPv4.DstIP, "10.0.0.64")
			eq(t, "ports", [2]int{int(d.UDP.SrcPort), int(d.UDP.DstPort)}, [2]int{8082, 1024})
		}}}},
		{"l2bridge", 0, []legWant{{"host2/pod-c", func(t *testing.T, in []byte, d *emutest.Decoded) {
			ip(t, "source", d.IPv4.SrcIP, "10.244.1.2") // an OutBoundNAT exception
			eq(t, "destination MAC", d.Eth.DstMAC.String(), "00:15:5d:02:01:02")
			eq(t, "TTL", d.IPv4.TTL, 62)
		}}}},
		{"l2bridge-outboundnat", 0, []legWant{{"server", func(t *testing.T, in []byte, d *emutest.Decoded) {
			ip(t, "source", d.IPv4.SrcIP, "10.0.0.4")
			eq(t, "source MAC", d.Eth.SrcMAC.String(), "00:15:5d:00:00:04")
		}}}},
		{"l2tunnel", 0, []legWant{{"host1/pod-b", func(t *testing.T, in []byte, d *emutest.Decoded) {
			eq(t, "destination MAC", d.Eth.DstMAC.String(), "00:15:5d:01:01:03")
			eq(t, "TTL", d.IPv4.TTL, 63)
		}}}},
		{"transparent", 0, []legWant{{"client", func(t *testing.T, in []byte, d *emutest.Decoded) {
			eq(t, "source MAC", d.Eth.SrcMAC.String(), "00:15:5d:01:01:02")
			ip(t, "source", d.IPv4.SrcIP, "10.0.0.20")
			eq(t, "TTL", d.IPv4.TTL, 64)
		}}}},
		{"overlay-encap", 0, []legWant{{"host2", func(t *testing.T, in []byte, d *emutest.Decoded) {
			o := emutest.DecodeVXLAN4(t, d.Packet.Data())
			eq(t, "VNI", o.VXLAN.VNI, 4096)
			eq(t, "outer destination port", int(o.UDP.DstPort), 4789)
			ip(t, "outer source", o.IPv4.SrcIP, "10.0.0.4")
			ip(t, "outer destination", o.IPv4.DstIP, "10.0.0.5")
			eq(t, "overhead", len(d.Packet.Data())-len(in), 50)
			inner := emutest.Decode(t, o.Inner)
			ip(t, "inner destination", inner.IPv4.DstIP, "10.244.2.2")
		}}}},
		{"overlay-decap", 0, []legWant{{"host2/pod-c", func(t *testing.T, in []byte, d *emutest.Decoded) {
			o := emutest.DecodeVXLAN4(t, in)
			eq(t, "input VNI", o.VXLAN.VNI, 4096)
			eq(t, "decapsulated length", len(d.Packet.Data()), len(in)-50)
			ip(t, "destination", d.IPv4.DstIP, "10.244.2.2")
			eq(t, "destination MAC", d.Eth.DstMAC.String(), "0e:2a:0a:f4:02:02")
		}}}},
		{"overlay-roundtrip", 0, []legWant{{"host2/pod-c", func(t *testing.T, in []byte, d *emutest.Decoded) {
			ip(t, "source", d.IPv4.SrcIP, "10.244.1.2")
		}}, {"host1/pod-a", func(t *testing.T, in []byte, d *emutest.Decoded) {
			ip(t, "source", d.IPv4.SrcIP, "10.244.2.2")
			eq(t, "destination MAC", d.Eth.DstMAC.String(), "0e:2a:0a:f4:01:02")
		}}}},
		{"acl", 100, []legWant{{"host1/pod-b", func(t *testing.T, in []byte, d *emutest.Decoded) {
			eq(t, "frame", string(d.Packet.Data()), string(in)) // bridged, unchanged
		}}}},
		{"lb", 10, []legWant{{"node2", func(t *testing.T, in []byte, d *emutest.Decoded) {
			if dst := d.IPv4.DstIP.To4(); dst[0] != 10 || dst[1] != 244 || dst[2] != 16 || dst[3] < 1 || dst[3] > 10 {
				t.Errorf("destination %v, want a backend 10.244.16.1-10", d.IPv4.DstIP)
			}
			eq(t, "destination port", int(d.UDP.DstPort), 5353)
			ip(t, "source", d.IPv4.SrcIP, "10.244.1.10")
		}}}},
	}
	if len(tests) != len(modes) {
		t.Errorf("%d workloads tested, want all %d", len(tests), len(modes))
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			pr := prepare(t, tt.mode, Params{Flows: 20, Size: 64, N: tt.n})
			proc, err := pr.NewProcessor(0, 1)
			if err != nil {
				t.Fatal(err)
			}
			f := fabricOf(t, proc)
			var res fabric.Outcome
			for j, lw := range tt.legs {
				in := pr.Frames[j]
				if pr.Flow[j] != 0 {
					t.Fatalf("frame %d is of flow %d, want flow 0", j, pr.Flow[j])
				}
				at, ok := f.PortByName(portOfFrame(t, tt.mode, j))
				if !ok {
					t.Fatal("no ingress port")
				}
				f.Inject(at, in, startNS+int64(j), &res)
				if len(res.Drops) > 0 || len(res.Outputs) != 1 || f.Port(res.Outputs[0].Port).Name != lw.at {
					t.Fatalf("frame %d: outputs %+v drops %+v, want one output at %s", j+1, res.Outputs, res.Drops, lw.at)
				}
				out := res.Outputs[0].Frame
				emutest.ChecksumsValid(t, out)
				lw.check(t, in, emutest.Decode(t, out))
			}
		})
	}
}

// portOfFrame returns where frame j of flow 0 of mode enters (the test's own
// list, not the workload's routes).
func portOfFrame(t *testing.T, mode string, j int) string {
	ports := map[string][]string{
		"nat-outbound": {"host1/web"}, "nat-inbound": {"client", "host1/web"},
		"l2bridge": {"host1/pod-a"}, "l2bridge-outboundnat": {"host1/pod-a"}, "l2tunnel": {"host1/pod-a"},
		"transparent": {"host1/web"}, "overlay-encap": {"host1/pod-a"}, "overlay-decap": {"host2/eth0"},
		"overlay-roundtrip": {"host1/pod-a", "host2/pod-c"}, "acl": {"host1/pod-a"}, "lb": {"host1/client-0"},
	}
	return ports[mode][j]
}

// TestSamples prepares every workload with its sample check in several shapes:
// IMIX, new flows, and the largest parameter of acl and lb.
func TestSamples(t *testing.T) {
	for _, m := range Modes() {
		for _, p := range []Params{
			{Flows: 1, Size: 64},
			{Flows: 50, Size: IMIX, NewFlowRatio: 0.2},
			{Flows: 30, Size: 1500, NewFlowRatio: 1 / float64(m.Legs)},
		} {
			p.N = 10
			t.Run(m.Name+"/"+m.keysString(p), func(t *testing.T) {
				pr := prepare(t, m.Name, p)
				// Every frame, not just the sample, is delivered.
				proc, err := pr.NewProcessor(0, 1)
				if err != nil {
					t.Fatal(err)
				}
				if got := proc.Process(pr.Frames); got != len(pr.Frames) {
					t.Errorf("%d of %d frames delivered", got, len(pr.Frames))
				}
			})
		}
	}
	for _, tt := range []struct {
		mode string
		n    int
	}{{"acl", 10_000}, {"lb", 1000}} {
		t.Run(tt.mode+"/max", func(t *testing.T) {
			pr := prepare(t, tt.mode, Params{Flows: 100, Size: 64, N: tt.n})
			proc, err := pr.NewProcessor(0, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got := proc.Process(pr.Frames); got != len(pr.Frames) {
				t.Errorf("%d of %d frames delivered", got, len(pr.Frames))
			}
		})
	}
}

func (m *Mode) keysString(p Params) string {
	var parts []string
	for _, kv := range m.keys(p) {
		parts = append(parts, kv.Key+"="+kv.Value)
	}
	return strings.Join(parts, "/")
}

// TestSampleFailsLoudly: a workload whose traffic is dropped, or comes out
// other than expected, fails Prepare with the drop's reason and rule.
func TestSampleFailsLoudly(t *testing.T) {
	aclMode, _ := ModeByName("acl")
	blocked := aclMode
	blocked.setup = func(p Params, total int) (*setup, error) {
		s, err := acl(p, total)
		if err != nil {
			return nil, err
		}
		// Turn the one allowing rule into a block.
		ep := &s.topo.Hosts[0].HNS.Endpoints[1]
		last := &ep.Policies[len(ep.Policies)-1]
		var a hns.AclPolicySetting
		if err := json.Unmarshal(last.Settings, &a); err != nil {
			return nil, err
		}
		a.Action = hns.ActionTypeBlock
		last.Settings, _ = json.Marshal(a)
		return s, nil
	}
	wrong := aclMode
	wrong.setup = func(p Params, total int) (*setup, error) {
		s, err := acl(p, total)
		if err != nil {
			return nil, err
		}
		s.legs[0].check = func(i int, out []byte) error { return checkUDP4(out, want{ttl: 1}) }
		return s, nil
	}
	misrouted := aclMode
	misrouted.setup = func(p Params, total int) (*setup, error) {
		s, err := acl(p, total)
		if err != nil {
			return nil, err
		}
		s.routes[0].out = "host1/pod-a"
		return s, nil
	}
	tests := []struct {
		name  string
		mode  Mode
		wants []string
	}{
		{"blocked", blocked, []string{"acl: sample flow 0 frame 1 (host1/pod-a -> host1/pod-b): dropped:", "rule allow-pods", "vfp"}},
		{"wrong TTL", wrong, []string{"sample flow 0", "TTL 64, want 1"}},
		{"misrouted", misrouted, []string{"sample flow 0", "delivered at host1/pod-b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &fabricWorkload{mode: tt.mode, p: Params{Flows: 10, Size: 64, N: 5}}
			_, err := w.prepare(context.Background())
			if err == nil {
				t.Fatal("prepare succeeded, want an error")
			}
			for _, s := range tt.wants {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

// TestNewFlowRatio runs passes over the frames and counts the flows created:
// after the first pass, every pass creates exactly the new flows (so new flows
// per packet equal the ratio, up to rounding) and never re-creates an
// established one; with ratio 0 no pass after the first creates any.
func TestNewFlowRatio(t *testing.T) {
	tests := []struct {
		mode  string
		ratio float64
	}{
		{"nat-outbound", 0},
		{"nat-outbound", 0.1},
		{"nat-inbound", 0.25},
		{"l2bridge", 0.1},
		{"overlay-roundtrip", 0.2},
		{"acl", 0.5},
		{"transparent", 1},
	}
	for _, tt := range tests {
		for _, shards := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/new=%v/cores=%d", tt.mode, tt.ratio, shards), func(t *testing.T) {
				pr := prepare(t, tt.mode, Params{Flows: 200, Size: 64, NewFlowRatio: tt.ratio, N: 10})
				var perShard [][][]byte
				var procs []FlowCounterProcessor
				for s := range shards {
					p, err := pr.NewProcessor(s, shards)
					if err != nil {
						t.Fatal(err)
					}
					procs = append(procs, p.(FlowCounterProcessor))
					var fs [][]byte
					for i, fr := range pr.Frames {
						if bench.ShardOf(pr.Flow[i], shards) == s {
							fs = append(fs, fr)
						}
					}
					perShard = append(perShard, fs)
				}
				count := func() (n uint64) {
					for _, p := range procs {
						n += p.FlowsCreated()
					}
					return n
				}
				pass := func() (created uint64) {
					before := count()
					for s, p := range procs {
						if got := p.Process(perShard[s]); got != len(perShard[s]) {
							t.Fatalf("shard %d: %d of %d frames delivered", s, got, len(perShard[s]))
						}
					}
					return count() - before
				}
				total := uint64(pr.Flows)
				if got := pass(); got != total {
					t.Errorf("first pass created %d flows, want all %d", got, total)
				}
				newFlows := 0
				seen := map[uint32]int{}
				for _, f := range pr.Flow {
					seen[f]++
				}
				w, _ := ModeByName(tt.mode)
				for _, n := range seen {
					if n == w.Legs { // sent once per pass: a new flow
						newFlows++
					}
				}
				if tt.ratio == 0 {
					newFlows = 0
				}
				for p := 2; p <= 3; p++ {
					if got := pass(); got != uint64(newFlows) {
						t.Errorf("pass %d created %d flows, want the %d new ones", p, got, newFlows)
					}
				}
				if got := float64(newFlows) / float64(len(pr.Frames)); math.Abs(got-tt.ratio) > 0.01 {
					t.Errorf("new flows per packet %.4f, want %v", got, tt.ratio)
				}
			})
		}
	}
}

// FlowCounterProcessor is a processor that counts flows.
type FlowCounterProcessor interface {
	bench.Processor
	bench.FlowCounter
}

// TestProcessNoAllocs: the processors of every workload do not allocate per
// packet once their flows exist (the emulator's cached path does not, and the
// processor adds nothing).
func TestProcessNoAllocs(t *testing.T) {
	for _, m := range Modes() {
		t.Run(m.Name, func(t *testing.T) {
			pr := prepare(t, m.Name, Params{Flows: 64, Size: 64, N: 10})
			p, err := pr.NewProcessor(0, 1)
			if err != nil {
				t.Fatal(err)
			}
			p.Process(pr.Frames)
			var sink int
			if n := testing.AllocsPerRun(50, func() { sink += p.Process(pr.Frames) }); n != 0 {
				t.Errorf("Process allocates %v times per %d frames, want 0", n, len(pr.Frames))
			}
			if sink == 0 {
				t.Error("nothing delivered")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		mode string
		p    Params
		want string // "" for valid
	}{
		{"nat-outbound", Params{Flows: 1, Size: 64}, ""},
		{"nat-outbound", Params{Flows: MaxFlows, Size: IMIX, NewFlowRatio: 1}, ""},
		{"nat-outbound", Params{Flows: 0, Size: 64}, "flows 0, want 1..1000000"},
		{"nat-outbound", Params{Flows: MaxFlows + 1, Size: 64}, "flows 1000001"},
		{"nat-outbound", Params{Flows: 10, Size: 63}, "size 63"},
		{"nat-outbound", Params{Flows: 10, Size: 1519}, "size 1519"},
		{"nat-outbound", Params{Flows: 10, Size: 64, NewFlowRatio: -0.1}, "new-flow ratio -0.1"},
		{"nat-outbound", Params{Flows: 10, Size: 64, NewFlowRatio: 1.5}, "new-flow ratio 1.5"},
		{"nat-outbound", Params{Flows: 10, Size: 64, NewFlowRatio: math.NaN()}, "new-flow ratio NaN"},
		{"nat-inbound", Params{Flows: 10, Size: 64, NewFlowRatio: 0.5}, ""},
		{"nat-inbound", Params{Flows: 10, Size: 64, NewFlowRatio: 0.6}, "at most 0.5"},
		{"acl", Params{Flows: 10, Size: 64, N: 0}, "rules 0"},
		{"acl", Params{Flows: 10, Size: 64, N: MaxRules + 1}, "rules 60001"},
		{"lb", Params{Flows: 10, Size: 64, N: 1001}, "backends 1001"},
		{"no-such", Params{Flows: 10, Size: 64}, `no workload "no-such"`},
	}
	for _, tt := range tests {
		_, err := New(tt.mode, tt.p, Options{})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("New(%s, %+v) = %v, want no error", tt.mode, tt.p, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("New(%s, %+v) = %v, want an error containing %q", tt.mode, tt.p, err, tt.want)
		}
	}
	// Too many frames: a million flows, four rounds, and new flows.
	w, err := New("nat-outbound", Params{Flows: MaxFlows, Size: 64, NewFlowRatio: 0.5}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Prepare(context.Background()); err == nil || !strings.Contains(err.Error(), "frames, more than") {
		t.Errorf("Prepare of 1M flows at ratio 0.5 = %v, want a too-many-frames error", err)
	}
}

func TestMatchAndNames(t *testing.T) {
	tests := []struct {
		patterns []string
		want     string
		wantErr  string
	}{
		{nil, "nat-outbound nat-inbound l2bridge l2bridge-outboundnat l2tunnel transparent overlay-encap overlay-decap overlay-roundtrip acl lb", ""},
		{[]string{"overlay-*"}, "overlay-encap overlay-decap overlay-roundtrip", ""},
		{[]string{"lb", "nat-*"}, "nat-outbound nat-inbound lb", ""},
		{[]string{"l2*", "l2bridge"}, "l2bridge l2bridge-outboundnat l2tunnel", ""},
		{[]string{"nope*"}, "", `"nope*" matches no workload`},
		{[]string{"[x"}, "", `"[x"`},
	}
	for _, tt := range tests {
		ms, err := Match(tt.patterns)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Match(%q) error %v, want %q", tt.patterns, err, tt.wantErr)
			}
			continue
		}
		var names []string
		for _, m := range ms {
			names = append(names, m.Name)
		}
		if got := strings.Join(names, " "); err != nil || got != tt.want {
			t.Errorf("Match(%q) = %q, %v; want %q", tt.patterns, got, err, tt.want)
		}
	}
	ws, err := Matrix{Patterns: []string{"acl", "nat-outbound"}, Sizes: []Size{64, IMIX}, Rules: []int{10, 1000},
		NewFlowRatios: []float64{0, 0.1}}.Workloads()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range ws {
		names = append(names, fullName(w))
	}
	want := []string{
		"NATOutbound/flows=10000/size=64", "NATOutbound/flows=10000/size=64/new=0.1",
		"NATOutbound/flows=10000/size=imix", "NATOutbound/flows=10000/size=imix/new=0.1",
		"ACL/rules=10/flows=10000/size=64", "ACL/rules=10/flows=10000/size=64/new=0.1",
		"ACL/rules=10/flows=10000/size=imix", "ACL/rules=10/flows=10000/size=imix/new=0.1",
		"ACL/rules=1000/flows=10000/size=64", "ACL/rules=1000/flows=10000/size=64/new=0.1",
		"ACL/rules=1000/flows=10000/size=imix", "ACL/rules=1000/flows=10000/size=imix/new=0.1",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("matrix names:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
}

func fullName(w bench.Workload) string {
	s := w.Name()
	for _, kv := range w.Keys() {
		s += "/" + kv.Key + "=" + kv.Value
	}
	return s
}
