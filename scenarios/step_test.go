package scenarios

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/result"
)

// stepBase is a scenario on the library's l2bridge topology (pod-a, pod-b
// and pod-d on host1; svc-web is ClusterIP 10.96.0.10:80 -> pod-b:8080)
// with one packet; tests append entries to its packets.
const stepBase = `name: steps
summary: steps between packets
source: hnspath tests
topology: library/topologies/l2bridge.yaml
packets:
  - {at: host1/pod-a, time: 10s, frame: "ipv4(dst=10.96.0.10) / tcp(sport=40000, dport=80, flags=PA) / raw(load=\"1\")"}
`

// stepBaseLines is the number of lines of stepBase: the first appended
// entry is on line stepBaseLines+1.
var stepBaseLines = strings.Count(stepBase, "\n")

func TestStepParse(t *testing.T) {
	sc, err := Parse("steps.yaml", []byte(stepBase+`  - do: {remove_endpoint: host1/pod-b}
    time: +1s
    note: the container is gone
  - do: {update_load_balancer: {host: host1, name: svc-web, endpoints: [pod-d, pod-a]}}
  - do: {update_load_balancer: {host: host1, name: svc-web, endpoints: []}}
    time: 20s
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		i        int
		want     Step
		str      string
		line     int
		hasTime  bool
		relative bool
		ns       int64
		note     string
	}{
		{1, Step{Action: StepRemoveEndpoint, Host: "host1", Endpoint: "pod-b"}, "remove_endpoint host1/pod-b", stepBaseLines + 1, true, true, int64(time.Second), "the container is gone"},
		{2, Step{Action: StepUpdateLoadBalancer, Host: "host1", LoadBalancer: "svc-web", Endpoints: []string{"pod-d", "pod-a"}},
			"update_load_balancer host1/svc-web endpoints [pod-d, pod-a]", stepBaseLines + 4, false, false, 0, ""},
		{3, Step{Action: StepUpdateLoadBalancer, Host: "host1", LoadBalancer: "svc-web", Endpoints: []string{}},
			"update_load_balancer host1/svc-web endpoints []", stepBaseLines + 5, true, false, 20 * int64(time.Second), ""},
	}
	if len(sc.Packets) != 4 || sc.Packets[0].Do != nil {
		t.Fatalf("got %d entries (first a step: %v), want 4, the first a packet", len(sc.Packets), sc.Packets[0].Do != nil)
	}
	for _, tt := range tests {
		p := sc.Packets[tt.i]
		if p.Do == nil {
			t.Errorf("packets[%d]: not a step", tt.i)
			continue
		}
		if !reflect.DeepEqual(*p.Do, tt.want) {
			t.Errorf("packets[%d]: got %+v, want %+v", tt.i, *p.Do, tt.want)
		}
		if s := p.Do.String(); s != tt.str {
			t.Errorf("packets[%d]: String() = %q, want %q", tt.i, s, tt.str)
		}
		if p.Line != tt.line || p.HasTime != tt.hasTime || p.Relative != tt.relative || p.Time != tt.ns || p.Note != tt.note {
			t.Errorf("packets[%d]: got line %d time %v/%v/%d note %q, want line %d time %v/%v/%d note %q", tt.i,
				p.Line, p.HasTime, p.Relative, p.Time, p.Note, tt.line, tt.hasTime, tt.relative, tt.ns, tt.note)
		}
	}
}

// TestStepErrors: bad steps are reported at their line, with the field,
// at load time (including what HNS would refuse: unknown objects, an
// endpoint removed twice).
func TestStepErrors(t *testing.T) {
	tests := []struct {
		name    string
		entries string
		line    int // offset from the first appended line (0 = first)
		field   string
		text    string
	}{
		{"no host", "  - do: {remove_endpoint: pod-b}\n", 0, "packets[1].do.remove_endpoint", "want HOST/ENDPOINT"},
		{"not a string", "  - do: {remove_endpoint: [host1, pod-b]}\n", 0, "packets[1].do.remove_endpoint", "want a string"},
		{"unknown host", "  - do: {remove_endpoint: host9/pod-b}\n", 0, "packets[1].do.remove_endpoint", `unknown host "host9" (hosts: host1, host2)`},
		{"unknown endpoint", "  - do: {remove_endpoint: host1/pod-z}\n", 0, "packets[1].do.remove_endpoint", `host host1 has no endpoint "pod-z" (endpoints: pod-a, pod-b, pod-d)`},
		{"remote endpoint", "  - do: {remove_endpoint: host1/pod-c}\n", 0, "packets[1].do.remove_endpoint", `no endpoint "pod-c"`},
		{"unknown step", "  - do: {restart: host1}\n", 0, "packets[1].do.restart", `unknown step "restart"`},
		{"two steps", "  - do: {remove_endpoint: host1/pod-b, restart: x}\n", 0, "packets[1].do", "want one of"},
		{"scalar", "  - do: remove host1/pod-b\n", 0, "packets[1].do", "want one of"},
		{"extra key", "  - {do: {remove_endpoint: host1/pod-b}, at: host1/pod-a}\n", 0, "packets[1].at", "a step (do:) takes do, time, note, not at"},
		{"bad time", "  - {do: {remove_endpoint: host1/pod-b}, time: soon}\n", 0, "packets[1].time", "want a duration"},
		{"time backwards", "  - {do: {remove_endpoint: host1/pod-b}, time: 5s}\n", 0, "packets[1].time", "time goes backwards"},
		{"unknown load balancer", "  - do: {update_load_balancer: {host: host1, name: svc-nope, endpoints: [pod-d]}}\n", 0,
			"packets[1].do.update_load_balancer", "no such load balancer"},
		{"load balancer on the wrong host", "  - do: {update_load_balancer: {host: host2, name: svc-web, endpoints: [pod-c]}}\n", 0,
			"packets[1].do.update_load_balancer", "no such load balancer"},
		{"unknown backend", "  - do: {update_load_balancer: {host: host1, name: svc-web, endpoints: [pod-d, pod-z]}}\n", 0,
			"packets[1].do.update_load_balancer.endpoints[1]", `host host1 has no endpoint "pod-z"`},
		{"missing endpoints", "  - do: {update_load_balancer: {host: host1, name: svc-web}}\n", 0,
			"packets[1].do.update_load_balancer.endpoints", "missing: the new backends"},
		{"endpoints not a list", "  - do: {update_load_balancer: {host: host1, name: svc-web, endpoints: pod-d}}\n", 0,
			"packets[1].do.update_load_balancer.endpoints", "want a list"},
		{"missing name", "  - do: {update_load_balancer: {host: host1, endpoints: [pod-d]}}\n", 0,
			"packets[1].do.update_load_balancer.name", "missing"},
		{"unknown key", "  - do: {update_load_balancer: {host: host1, name: svc-web, endpoints: [], weight: 2}}\n", 0,
			"packets[1].do.update_load_balancer.weight", "unknown key"},
		{"removed twice", "  - do: {remove_endpoint: host1/pod-b}\n  - do: {remove_endpoint: host1/pod-b}\n", 1,
			"packets[2].do.remove_endpoint", "already removed by packets[1]"},
		{"backend removed", "  - do: {remove_endpoint: host1/pod-d}\n  - do: {update_load_balancer: {host: host1, name: svc-web, endpoints: [pod-d]}}\n", 1,
			"packets[2].do.update_load_balancer.endpoints[0]", "was removed by packets[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("steps.yaml", []byte(stepBase+tt.entries))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got error %v, want Errors", err)
			}
			wantLine := stepBaseLines + 1 + tt.line
			for _, e := range errs {
				if e.Field == tt.field && strings.Contains(e.Error(), tt.text) {
					if e.Line != wantLine || e.File != "steps.yaml" {
						t.Errorf("got %s:%d, want steps.yaml:%d", e.File, e.Line, wantLine)
					}
					return
				}
			}
			t.Errorf("got\n%v\nwant an error at %s containing %q", err, tt.field, tt.text)
		})
	}
}

// staleLB is the stale load balancer backend story (kubernetes/kubernetes#112836):
// a connection lands on pod-b; pod-b is removed (the load balancer still
// points at it: the packet is lost at its disabled vNIC); the load
// balancer is updated to pod-d (the same connection is re-evaluated).
const staleLB = `  - do: {remove_endpoint: host1/pod-b}
    time: +1s
    note: gone
  - {at: host1/pod-a, frame: "ipv4(dst=10.96.0.10) / tcp(sport=40000, dport=80, flags=PA) / raw(load=\"2\")"}
  - do: {update_load_balancer: {host: host1, name: svc-web, endpoints: [pod-d]}}
  - {at: host1/pod-a, frame: "ipv4(dst=10.96.0.10) / tcp(sport=40000, dport=80, flags=PA) / raw(load=\"3\")"}
expect:
  - {at: host1/pod-b, packet: 1, frame: "ipv4(dst=10.244.1.3) / tcp(dport=8080) / raw(load=\"1\")"}
  - drop: {packet: 2, reason: destination-nic-disabled}
  - {at: host1/pod-d, packet: 3, frame: "ipv4(src=10.244.1.2, dst=10.244.1.4) / tcp(sport=40000, dport=8080) / raw(load=\"3\")"}
  - nothing_else: true
`

// TestStepRun runs steps between packets: packets keep their numbers
// (steps are not packets), a step with a time sets the clock, the report
// records the steps, the pcapng comment of the next packet names them,
// and running again gives the same result (the topology is not changed).
func TestStepRun(t *testing.T) {
	sc, err := Parse("steps.yaml", []byte(stepBase+staleLB))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for run := 0; run < 2; run++ {
		var got []*result.Packet
		rep := Run(sc, Options{OutDir: dir, Results: func(p *result.Packet) { got = append(got, p) }})
		if rep.Err != nil || !rep.Passed {
			t.Fatalf("run %d: err %v, failures:\n%s", run, rep.Err, strings.Join(rep.Failures, "\n"))
		}
		const sec, us = int64(time.Second), int64(time.Microsecond)
		wantTimes := []int64{10 * sec, 11*sec + us, 11*sec + 2*us}
		wantOutcome := []string{result.OutcomeDelivered, result.OutcomeDropped, result.OutcomeDelivered}
		if len(got) != 3 || rep.Packets != 3 {
			t.Fatalf("run %d: got %d results (report: %d packets), want 3", run, len(got), rep.Packets)
		}
		for i, p := range got {
			if p.Index != i+1 || p.TimeNS != wantTimes[i] || p.Outcome != wantOutcome[i] {
				t.Errorf("run %d: result %d: packet %d at %d %s, want packet %d at %d %s", run, i, p.Index, p.TimeNS, p.Outcome, i+1, wantTimes[i], wantOutcome[i])
			}
		}
		wantSteps := []StepRecord{
			{Field: "packets[1]", Line: stepBaseLines + 1, What: "remove_endpoint host1/pod-b", TimeNS: 11 * sec, After: 1},
			{Field: "packets[3]", Line: stepBaseLines + 5, What: "update_load_balancer host1/svc-web endpoints [pod-d]", TimeNS: 11*sec + us, After: 2},
		}
		if !reflect.DeepEqual(rep.Steps, wantSteps) {
			t.Errorf("run %d: steps\n%+v\nwant\n%+v", run, rep.Steps, wantSteps)
		}
		if s := rep.Steps[0].String(); s != "after packet 1 at 11s: remove_endpoint host1/pod-b (packets[1])" {
			t.Errorf("StepRecord.String() = %q", s)
		}
	}
	if lb := sc.Topology.Hosts[0].HNS.LoadBalancers[0]; lb.Name != "svc-web" || !reflect.DeepEqual(lb.HostComputeEndpoints, []string{"pod-b"}) {
		t.Errorf("after the runs the topology's %s has endpoints %v, want [pod-b] (steps must not change the topology)", lb.Name, lb.HostComputeEndpoints)
	}
	// The pcapng: the input of packet 2 says what happened before it.
	rd, err := pcapio.Open(filepath.Join(dir, "steps.pcapng"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var comments []string
	for {
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(p.Comment, ": in") {
			comments = append(comments, p.Comment)
		}
	}
	want := []string{"packet 1: in", "packet 2: in: after remove_endpoint host1/pod-b (gone)",
		"packet 3: in: after update_load_balancer host1/svc-web endpoints [pod-d]"}
	if !reflect.DeepEqual(comments, want) {
		t.Errorf("input comments %q, want %q", comments, want)
	}
	// The results stream has the format header and packets only.
	b, err := os.ReadFile(filepath.Join(dir, "steps.results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 4 {
		t.Errorf("results file has %d lines, want 4 (the header, one per packet)", n)
	}
}

// TestStepTrace: tracing a scenario packet runs the steps before it.
func TestStepTrace(t *testing.T) {
	sc, err := Parse("steps.yaml", []byte(stepBase+staleLB))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		packet  int
		outcome string
		port    string
	}{{1, result.OutcomeDelivered, "host1/pod-b"}, {2, result.OutcomeDropped, ""}, {3, result.OutcomeDelivered, "host1/pod-d"}} {
		p, err := Trace(TraceRequest{Scenario: sc, Packet: tt.packet})
		if err != nil {
			t.Fatalf("packet %d: %v", tt.packet, err)
		}
		port := ""
		for _, o := range p.Outputs {
			if o.Kind == result.KindDelivered {
				port = o.Port
			}
		}
		if p.Outcome != tt.outcome || port != tt.port {
			t.Errorf("packet %d: got %s at %q, want %s at %q", tt.packet, p.Outcome, port, tt.outcome, tt.port)
		}
	}
}

// TestProgramErrorLocated: an HNS problem found while programming (the
// 257th non-DSR load balancer finds no port block) names the object's line
// and has its HRESULT, so expect_error can match code and object.
func TestProgramErrorLocated(t *testing.T) {
	const path = "library/topologies/l2bridge-257-nodeports.yaml"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wantLine := 0
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "Name: np-257") {
			wantLine = i + 1
		}
	}
	topo, err := LoadTopology(path)
	if err != nil {
		t.Fatal(err)
	}
	_, errs, probs := topo.build(fabric.Options{})
	if len(errs) != 1 || len(probs) != 1 {
		t.Fatalf("got errors %v, want one", errs)
	}
	e := errs[0]
	var he *hns.Error
	if e.Line != wantLine || e.Field != "hosts[0].hns.LoadBalancers[256]" || !errors.As(e, &he) || he.Code != hns.HCN_E_PORT_ALREADY_EXISTS || he.Object != "np-257" {
		t.Errorf("got %s:%d %s (%v), want line %d, hosts[0].hns.LoadBalancers[256], HCN_E_PORT_ALREADY_EXISTS for np-257", e.File, e.Line, e.Field, e.Err, wantLine)
	}
}

func TestTopologyDecodeOptions(t *testing.T) {
	sc, err := Load("library/overlay-custom-vxlan-port.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := topologyDecodeOptions(sc.Topology).VXLANPorts; !reflect.DeepEqual(got, []uint16{4800}) {
		t.Errorf("VXLAN ports %v, want [4800] (both hosts' VxlanPort policy, once)", got)
	}
	if got := topologyDecodeOptions(nil).VXLANPorts; got != nil {
		t.Errorf("no topology: VXLAN ports %v, want none", got)
	}
}

// TestStepInFailure: a failure's trace of a packet says which steps ran
// before it.
func TestStepInFailure(t *testing.T) {
	text := strings.Replace(stepBase+staleLB, `  - drop: {packet: 2, reason: destination-nic-disabled}`, `  - {at: host1/pod-b, packet: 2, frame: "tcp()"}`, 1)
	sc, err := Parse("steps.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	rep := Run(sc, Options{})
	got := strings.Join(rep.Failures, "\n")
	for _, want := range []string{"no frame from packet 2 at host1/pod-b matched",
		"step after packet 1 at 11s: remove_endpoint host1/pod-b (packets[1])\n    packet 2 in at host1/pod-a"} {
		if !strings.Contains(got, want) {
			t.Errorf("failure text lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "update_load_balancer") {
		t.Errorf("failure for packet 2 names the step after it:\n%s", got)
	}
}
