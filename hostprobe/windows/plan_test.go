package windows

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/hostprobe"
)

const testPrefix = "hnsp-0a1b2c-"

func loadTopology(t testing.TB, name string) *fabric.Topology {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "emulator", "fabric", "testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var topo fabric.Topology
	if err := json.Unmarshal(b, &topo); err != nil {
		t.Fatal(err)
	}
	return &topo
}

func opsOf(cs []Call) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Op.String()+" "+c.Name)
	}
	return out
}

// TestPlanL2Bridge checks the order of the HCN calls, the prefixed names and the
// references between objects for host1 of the l2bridge topology.
func TestPlanL2Bridge(t *testing.T) {
	p, err := NewPlan(loadTopology(t, "l2bridge"), "host1", testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"create-network hnsp-0a1b2c-cbr0",
		"create-namespace hnsp-0a1b2c-ns-pod-a",
		"create-endpoint hnsp-0a1b2c-pod-a",
		"create-namespace hnsp-0a1b2c-ns-pod-b",
		"create-endpoint hnsp-0a1b2c-pod-b",
		"attach hnsp-0a1b2c-ns-pod-a",
		"attach hnsp-0a1b2c-ns-pod-b",
		"create-loadbalancer hnsp-0a1b2c-lb-svc-web",
		"create-loadbalancer hnsp-0a1b2c-lb-np-web",
		"create-loadbalancer hnsp-0a1b2c-lb-np-web-dsr",
	}
	if got := opsOf(p.Calls); !reflect.DeepEqual(got, want) {
		t.Errorf("calls:\ngot  %q\nwant %q", got, want)
	}
	ep := p.Calls[2]
	if ep.Network != "hnsp-0a1b2c-cbr0" || ep.Namespace != "hnsp-0a1b2c-ns-pod-a" || ep.Port != "host1/pod-a" {
		t.Errorf("endpoint call: got %+v", ep)
	}
	if a := p.Calls[5]; a.Endpoint != "hnsp-0a1b2c-pod-a" || a.Namespace != "hnsp-0a1b2c-ns-pod-a" {
		t.Errorf("attach call: got %+v", a)
	}
	if lb := p.Calls[7]; !reflect.DeepEqual(lb.Endpoints, []string{"hnsp-0a1b2c-pod-b"}) {
		t.Errorf("load balancer backends: got %v, want pod-b", lb.Endpoints)
	}
	if !reflect.DeepEqual(p.Ports, map[string]string{"host1/pod-a": "hnsp-0a1b2c-pod-a", "host1/pod-b": "hnsp-0a1b2c-pod-b"}) {
		t.Errorf("ports: got %v", p.Ports)
	}
	// The JSON is what hcsshim marshals: the topology's object with a prefixed name and
	// without the IDs and references HNS assigns.
	var e hns.HostComputeEndpoint
	if err := json.Unmarshal(p.Calls[4].JSON, &e); err != nil {
		t.Fatal(err)
	}
	if e.Name != "hnsp-0a1b2c-pod-b" || e.Id != "" || e.HostComputeNetwork != "" || e.MacAddress != "00-15-5D-01-01-03" ||
		len(e.IpConfigurations) != 1 || e.IpConfigurations[0].IpAddress != "10.244.1.3" {
		t.Errorf("endpoint JSON: got %+v", e)
	}
	var types []string
	for _, pol := range e.Policies {
		types = append(types, string(pol.Type))
	}
	if !reflect.DeepEqual(types, []string{"OutBoundNAT", "ACL"}) {
		t.Errorf("endpoint policies: got %v, want OutBoundNAT and ACL kept", types)
	}
	for _, key := range []string{`"ID"`, `"HostComputeNetwork"`} {
		if strings.Contains(string(p.Calls[4].JSON), key) {
			t.Errorf("endpoint JSON has %s: %s", key, p.Calls[4].JSON)
		}
	}
	if len(p.Unsupported) == 0 || !strings.Contains(strings.Join(p.Unsupported, "\n"), "host1") {
		t.Errorf("unsupported: got %q, want only host1 built", p.Unsupported)
	}
}

// TestPlanTeardown checks that the teardown undoes exactly what was done, newest first.
func TestPlanTeardown(t *testing.T) {
	p, err := NewPlan(loadTopology(t, "nat"), "", testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		done int
		want []string
	}{
		{0, nil},
		{1, []string{"delete-network hnsp-0a1b2c-nat"}},
		{3, []string{"delete-endpoint hnsp-0a1b2c-web", "delete-namespace hnsp-0a1b2c-ns-web", "delete-network hnsp-0a1b2c-nat"}},
		{len(p.Calls), []string{
			"detach hnsp-0a1b2c-ns-web2", "detach hnsp-0a1b2c-ns-web",
			"delete-endpoint hnsp-0a1b2c-web2", "delete-namespace hnsp-0a1b2c-ns-web2",
			"delete-endpoint hnsp-0a1b2c-web", "delete-namespace hnsp-0a1b2c-ns-web",
			"delete-network hnsp-0a1b2c-nat"}},
		{99, nil}, // clamped: same as everything
	} {
		got := opsOf(p.Teardown(tt.done))
		if tt.done == 99 {
			tt.want = opsOf(p.Teardown(len(p.Calls)))
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Teardown(%d): got %q, want %q", tt.done, got, tt.want)
		}
	}
	for _, c := range p.Teardown(len(p.Calls)) {
		if c.JSON != nil {
			t.Errorf("%s: a delete carries JSON", c)
		}
		if !p.Owns(c.Name) {
			t.Errorf("%s: not owned by the plan", c)
		}
	}
	if p.Owns("nat") || p.Owns("hnsp-ffffff-nat") {
		t.Errorf("Owns: another session's or the host's own objects are not the plan's")
	}
	if !strings.Contains(strings.Join(p.Unsupported, "\n"), "NAT") {
		t.Errorf("unsupported: got %q, want the one-NAT-network limit noted", p.Unsupported)
	}
}

// TestPlanErrors checks the refusals.
func TestPlanErrors(t *testing.T) {
	for _, tt := range []struct {
		name, topo, host, prefix, want string
	}{
		{"bad prefix", "nat", "", "hnsp-", "prefix"},
		{"foreign prefix", "nat", "", "docker-0a1b2c-", "prefix"},
		{"several hosts", "l2bridge", "", testPrefix, "2 hosts"},
		{"unknown host", "l2bridge", "host9", testPrefix, "no host"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewPlan(loadTopology(t, tt.topo), tt.host, tt.prefix)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error about %q", err, tt.want)
			}
		})
	}
	p1, err := NewPrefix()
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := NewPrefix()
	if CheckPrefix(p1) != nil || p1 == p2 {
		t.Errorf("NewPrefix: got %q and %q, want two valid, different prefixes", p1, p2)
	}
}

// TestStepCalls checks the HCN calls of do: steps: removing an endpoint detaches and
// deletes it (its container goes away), updating a load balancer sends its new
// backends by their prefixed names, and steps on unknown objects or other hosts fail.
func TestStepCalls(t *testing.T) {
	p, err := NewPlan(loadTopology(t, "l2bridge"), "host1", testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		step hostprobe.Step
		want []string
		eps  []string
	}{
		{"remove", hostprobe.Step{Action: hostprobe.StepRemoveEndpoint, Host: "host1", Endpoint: "pod-b"},
			[]string{"detach hnsp-0a1b2c-ns-pod-b", "delete-endpoint hnsp-0a1b2c-pod-b"}, nil},
		{"update", hostprobe.Step{Action: hostprobe.StepUpdateLoadBalancer, Host: "host1", LoadBalancer: "svc-web", Endpoints: []string{"pod-a", "pod-b"}},
			[]string{"update-loadbalancer hnsp-0a1b2c-lb-svc-web"}, []string{"hnsp-0a1b2c-pod-a", "hnsp-0a1b2c-pod-b"}},
		{"update to none", hostprobe.Step{Action: hostprobe.StepUpdateLoadBalancer, Host: "host1", LoadBalancer: "svc-web", Endpoints: nil},
			[]string{"update-loadbalancer hnsp-0a1b2c-lb-svc-web"}, []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := p.StepCalls(tt.step)
			if err != nil {
				t.Fatal(err)
			}
			if got := opsOf(cs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("calls: got %q, want %q", got, tt.want)
			}
			if tt.eps != nil && !reflect.DeepEqual(cs[0].Endpoints, tt.eps) {
				t.Errorf("backends: got %q, want %q", cs[0].Endpoints, tt.eps)
			}
			if tt.step.Action == hostprobe.StepRemoveEndpoint && cs[0].Namespace != "hnsp-0a1b2c-ns-pod-b" {
				t.Errorf("detach: got namespace %q, want the endpoint's", cs[0].Namespace)
			}
		})
	}
	for _, bad := range []hostprobe.Step{
		{Action: hostprobe.StepRemoveEndpoint, Host: "host1", Endpoint: "nope"},
		{Action: hostprobe.StepRemoveEndpoint, Host: "host2", Endpoint: "pod-b"},
		{Action: hostprobe.StepUpdateLoadBalancer, Host: "host1", LoadBalancer: "nope"},
		{Action: hostprobe.StepUpdateLoadBalancer, Host: "host1", LoadBalancer: "svc-web", Endpoints: []string{"nope"}},
		{Action: "reboot", Host: "host1"},
	} {
		if _, err := p.StepCalls(bad); err == nil {
			t.Errorf("%v: got nil error", bad)
		}
	}
}
