package windows

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/hostprobe"
)

// PrefixBase starts the name of every HNS object the Windows backend creates:
// "hnsp-<6 hex>-<name>". Only objects whose names start with the session's prefix are
// ever deleted.
const PrefixBase = "hnsp-"

// NewPrefix returns a fresh session prefix, "hnsp-<6 hex>-".
func NewPrefix() (string, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("session prefix: %w", err)
	}
	return PrefixBase + hex.EncodeToString(b[:]) + "-", nil
}

// CheckPrefix reports whether prefix is a session prefix NewPrefix could return.
func CheckPrefix(prefix string) error {
	rest, ok := strings.CutPrefix(prefix, PrefixBase)
	if !ok || len(rest) != 7 || rest[6] != '-' {
		return fmt.Errorf("prefix %q: want %s<6 hex digits>-", prefix, PrefixBase)
	}
	if _, err := hex.DecodeString(rest[:6]); err != nil {
		return fmt.Errorf("prefix %q: want %s<6 hex digits>-", prefix, PrefixBase)
	}
	return nil
}

// Op is the kind of an HCN call.
type Op uint8

// HCN calls, in the order a plan makes them; the deletes undo them in reverse.
const (
	OpCreateNetwork      Op = iota + 1 // HcnCreateNetwork (hcn.HostComputeNetwork.Create)
	OpCreateNamespace                  // HcnCreateNamespace (hcn.HostComputeNamespace.Create)
	OpCreateEndpoint                   // HcnCreateEndpoint (hcn.HostComputeNetwork.CreateEndpoint)
	OpAttach                           // hcn.AddNamespaceEndpoint
	OpCreateLoadBalancer               // HcnCreateLoadBalancer
	OpDeleteLoadBalancer               // HcnDeleteLoadBalancer
	OpDetach                           // hcn.RemoveNamespaceEndpoint
	OpDeleteEndpoint                   // HcnDeleteEndpoint
	OpDeleteNamespace                  // HcnDeleteNamespace
	OpDeleteNetwork                    // HcnDeleteNetwork
	OpUpdateLoadBalancer               // HcnModifyLoadBalancer (a step: new backends)
)

var opNames = map[Op]string{
	OpCreateNetwork: "create-network", OpCreateNamespace: "create-namespace", OpCreateEndpoint: "create-endpoint",
	OpAttach: "attach", OpCreateLoadBalancer: "create-loadbalancer", OpDeleteLoadBalancer: "delete-loadbalancer",
	OpDetach: "detach", OpDeleteEndpoint: "delete-endpoint", OpDeleteNamespace: "delete-namespace", OpDeleteNetwork: "delete-network",
	OpUpdateLoadBalancer: "update-loadbalancer",
}

// String returns the op's name, e.g. "create-network".
func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// inverse returns the op that undoes o.
func (o Op) inverse() Op {
	switch o {
	case OpCreateNetwork:
		return OpDeleteNetwork
	case OpCreateNamespace:
		return OpDeleteNamespace
	case OpCreateEndpoint:
		return OpDeleteEndpoint
	case OpAttach:
		return OpDetach
	case OpCreateLoadBalancer:
		return OpDeleteLoadBalancer
	}
	return 0
}

// Call is one HCN call of a plan. Objects are named by their prefixed names; HNS
// assigns the IDs when they are created, and the backend puts them into later calls'
// JSON (an endpoint's network, a load balancer's endpoints).
type Call struct {
	Op Op
	// Kind is hns.KindNetwork, KindNamespace, KindEndpoint or KindLoadBalancer.
	Kind string
	// Name is the object's prefixed name. Namespaces and load balancers have no name in
	// hcsshim's schema: for them it names the object in the backend's records only.
	Name string
	// Ref is the object's name in the topology.
	Ref string
	// Port is an endpoint's emulator port name (HOST/ENDPOINT).
	Port string
	// Network is an endpoint's network, Namespace the namespace an endpoint is attached
	// to, by prefixed name.
	Network, Namespace string
	// Endpoint is the endpoint an attach or detach moves.
	Endpoint string
	// Endpoints are a load balancer's backends, by prefixed name.
	Endpoints []string
	// JSON is the object to create, as HCN v2 JSON (hcsshim's field names), with the
	// prefixed name and without IDs or references, which the backend fills in.
	JSON json.RawMessage
}

// String describes the call, e.g. `create-endpoint hnsp-0a1b2c-web (network hnsp-0a1b2c-nat)`.
func (c Call) String() string {
	s := c.Op.String() + " " + c.Name
	switch {
	case c.Op == OpCreateEndpoint:
		s += " (network " + c.Network + ")"
	case c.Op == OpAttach || c.Op == OpDetach:
		s += " (" + c.Endpoint + " in " + c.Namespace + ")"
	case (c.Op == OpCreateLoadBalancer || c.Op == OpUpdateLoadBalancer) && len(c.Endpoints) > 0:
		s += " (backends " + strings.Join(c.Endpoints, ", ") + ")"
	}
	return s
}

// Plan is the ordered list of HCN calls that builds one host of a topology on a real
// Windows host, with every name prefixed by the session's prefix.
type Plan struct {
	Prefix string
	Host   string
	Calls  []Call
	// Ports maps the emulator port name of each endpoint to its prefixed endpoint name.
	Ports map[string]string
	// Unsupported lists what the Windows backend does not build, and why.
	Unsupported []string
}

// NewPlan returns the plan that builds host (the only host when empty) of topo. The
// objects are those of the topology after hns.Objects.Normalize, with references by
// name; each endpoint gets its own namespace (a container's compartment) unless the
// topology lists namespaces.
func NewPlan(topo *fabric.Topology, host, prefix string) (*Plan, error) {
	if err := CheckPrefix(prefix); err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	var hs *fabric.HostSpec
	switch {
	case host == "" && len(topo.Hosts) == 1:
		hs = &topo.Hosts[0]
	case host == "":
		return nil, fmt.Errorf("plan: the topology has %d hosts; name the one to build", len(topo.Hosts))
	default:
		for i := range topo.Hosts {
			if topo.Hosts[i].Name == host {
				hs = &topo.Hosts[i]
			}
		}
		if hs == nil {
			return nil, fmt.Errorf("plan: no host %q in the topology", host)
		}
	}
	objs, err := hs.HNS.Clone()
	if err != nil {
		return nil, fmt.Errorf("plan: host %s: %w", hs.Name, err)
	}
	if err := objs.Normalize(); err != nil {
		return nil, fmt.Errorf("plan: host %s: %w", hs.Name, err)
	}
	p := &Plan{Prefix: prefix, Host: hs.Name, Ports: map[string]string{}}
	if len(topo.Hosts) > 1 {
		p.Unsupported = append(p.Unsupported, fmt.Sprintf("only host %s is built: one Windows host runs one topology host", hs.Name))
	}
	if len(topo.Peers) > 0 || topo.Underlay.Router != nil {
		p.Unsupported = append(p.Unsupported, "peers and the underlay router are not built: traffic from them is not injected")
	}
	netName := map[string]string{} // network ID -> prefixed name
	for i := range objs.Networks {
		n := objs.Networks[i]
		if n.Type == hns.NAT {
			p.Unsupported = append(p.Unsupported, fmt.Sprintf("network %q is NAT: HNS allows one NAT network per host, so creating it fails where one exists (e.g. Docker's \"nat\")", n.Name))
		}
		name := prefix + objName(n.Name, n.Id)
		netName[n.Id] = name
		n.Id, n.Name, n.Health = "", name, hns.Health{}
		n.DockerOptions = nil
		js, err := json.Marshal(n)
		if err != nil {
			return nil, fmt.Errorf("plan: network %q: %w", name, err)
		}
		p.Calls = append(p.Calls, Call{Op: OpCreateNetwork, Kind: hns.KindNetwork, Name: name, Ref: objs.Networks[i].Name, JSON: js})
	}
	nsName := map[string]string{} // namespace ID -> prefixed name
	for i := range objs.Namespaces {
		ns := objs.Namespaces[i]
		name := prefix + objName(ns.Name, ns.Id)
		nsName[ns.Id] = name
		ns.Id, ns.Name, ns.Resources, ns.NamespaceId = "", "", nil, 0
		js, err := json.Marshal(ns)
		if err != nil {
			return nil, fmt.Errorf("plan: namespace %q: %w", name, err)
		}
		p.Calls = append(p.Calls, Call{Op: OpCreateNamespace, Kind: hns.KindNamespace, Name: name, Ref: objs.Namespaces[i].Name, JSON: js})
	}
	epName := map[string]string{} // endpoint ID -> prefixed name
	var attaches []Call
	for i := range objs.Endpoints {
		e := objs.Endpoints[i]
		ref := objName(e.Name, e.Id)
		name := prefix + ref
		epName[e.Id] = name
		nw, ok := netName[strings.ToUpper(e.HostComputeNetwork)]
		if !ok {
			nw, ok = lookupFold(netName, e.HostComputeNetwork)
		}
		if !ok {
			return nil, fmt.Errorf("plan: endpoint %q: network %q is not in the topology", ref, e.HostComputeNetwork)
		}
		if e.IsRemote() {
			p.Unsupported = append(p.Unsupported, fmt.Sprintf("endpoint %q is remote: created with its policies, but no traffic is sent from it", ref))
		}
		ns := ""
		if e.HostComputeNamespace != "" {
			ns, _ = lookupFold(nsName, e.HostComputeNamespace)
		}
		if ns == "" && !e.IsRemote() {
			// A container's compartment of its own.
			ns = prefix + "ns-" + ref
			js, _ := json.Marshal(hns.HostComputeNamespace{Type: hns.NamespaceTypeHost, SchemaVersion: hns.V2SchemaVersion()})
			p.Calls = append(p.Calls, Call{Op: OpCreateNamespace, Kind: hns.KindNamespace, Name: ns, Ref: "ns-" + ref, JSON: js})
		}
		e.Id, e.Name, e.HostComputeNetwork, e.HostComputeNamespace, e.Health = "", name, "", "", hns.Health{}
		js, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("plan: endpoint %q: %w", ref, err)
		}
		port := hs.Name + "/" + ref
		p.Ports[port] = name
		p.Calls = append(p.Calls, Call{Op: OpCreateEndpoint, Kind: hns.KindEndpoint, Name: name, Ref: ref, Port: port, Network: nw,
			Namespace: ns, JSON: js})
		if ns != "" {
			attaches = append(attaches, Call{Op: OpAttach, Kind: hns.KindNamespace, Name: ns, Namespace: ns, Endpoint: name})
		}
	}
	p.Calls = append(p.Calls, attaches...)
	for i := range objs.LoadBalancers {
		lb := objs.LoadBalancers[i]
		ref := objName(lb.Name, lb.Id)
		name := prefix + "lb-" + ref
		var eps []string
		for _, id := range lb.HostComputeEndpoints {
			n, ok := lookupFold(epName, id)
			if !ok {
				return nil, fmt.Errorf("plan: load balancer %q: endpoint %q is not in the topology", ref, id)
			}
			eps = append(eps, n)
		}
		lb.Id, lb.Name, lb.HostComputeEndpoints = "", "", nil
		js, err := json.Marshal(lb)
		if err != nil {
			return nil, fmt.Errorf("plan: load balancer %q: %w", ref, err)
		}
		p.Calls = append(p.Calls, Call{Op: OpCreateLoadBalancer, Kind: hns.KindLoadBalancer, Name: name, Ref: ref, Endpoints: eps, JSON: js})
	}
	if len(objs.Routes) > 0 {
		p.Unsupported = append(p.Unsupported, "SDN routes (HostComputeRoute) are not created")
	}
	return p, nil
}

// objName returns an object's name, or its ID when it has none.
func objName(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// lookupFold looks a GUID up ignoring case and braces.
func lookupFold(m map[string]string, id string) (string, bool) {
	id = strings.Trim(id, "{}")
	for k, v := range m {
		if strings.EqualFold(strings.Trim(k, "{}"), id) {
			return v, true
		}
	}
	return "", false
}

// Teardown returns the calls that undo the first done calls of p, newest first: load
// balancers, detaches, endpoints, namespaces, networks. A delete that finds nothing
// (hcn.IsNotFoundError) counts as done, so a teardown can run again after a partial one.
func (p *Plan) Teardown(done int) []Call {
	done = min(max(done, 0), len(p.Calls))
	out := make([]Call, 0, done)
	for i := done - 1; i >= 0; i-- {
		c := p.Calls[i]
		c.Op = c.Op.inverse()
		c.JSON = nil
		out = append(out, c)
	}
	return out
}

// Owns reports whether an HNS object name belongs to this plan's session.
func (p *Plan) Owns(name string) bool { return strings.HasPrefix(name, p.Prefix) }

// StepCalls returns the HCN calls that make step s on the plan's host: for
// remove_endpoint the endpoint's detach and delete (as when its container goes away),
// for update_load_balancer an update of the load balancer's backends. Endpoints and load
// balancers are named as in the topology (names, or IDs for objects without one).
func (p *Plan) StepCalls(s hostprobe.Step) ([]Call, error) {
	if s.Host != p.Host {
		return nil, fmt.Errorf("step %v: only host %s is built", s, p.Host)
	}
	endpoint := func(ref string) (string, error) {
		if name, ok := p.Ports[p.Host+"/"+ref]; ok {
			return name, nil
		}
		for _, c := range p.Calls {
			if c.Op == OpCreateEndpoint && strings.EqualFold(strings.Trim(c.Ref, "{}"), strings.Trim(ref, "{}")) {
				return c.Name, nil
			}
		}
		return "", fmt.Errorf("step %v: no endpoint %q", s, ref)
	}
	switch s.Action {
	case hostprobe.StepRemoveEndpoint:
		name, err := endpoint(s.Endpoint)
		if err != nil {
			return nil, err
		}
		var out []Call
		for _, c := range p.Calls {
			if c.Op == OpAttach && c.Endpoint == name {
				c.Op = OpDetach
				out = append(out, c)
			}
		}
		for _, c := range p.Calls {
			if c.Op == OpCreateEndpoint && c.Name == name {
				c.Op, c.JSON = OpDeleteEndpoint, nil
				out = append(out, c)
			}
		}
		return out, nil
	case hostprobe.StepUpdateLoadBalancer:
		for _, c := range p.Calls {
			if c.Op != OpCreateLoadBalancer || !strings.EqualFold(c.Ref, s.LoadBalancer) {
				continue
			}
			u := Call{Op: OpUpdateLoadBalancer, Kind: c.Kind, Name: c.Name, Ref: c.Ref, Endpoints: []string{}}
			for _, e := range s.Endpoints {
				name, err := endpoint(e)
				if err != nil {
					return nil, err
				}
				u.Endpoints = append(u.Endpoints, name)
			}
			return []Call{u}, nil
		}
		return nil, fmt.Errorf("step %v: no load balancer %q", s, s.LoadBalancer)
	}
	return nil, fmt.Errorf("step %v: unknown action", s)
}
