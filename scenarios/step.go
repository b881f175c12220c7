package scenarios

import (
	"fmt"
	"strings"
	"time"

	"github.com/hnspath/hnspath/emulator/fabric"
)

// StepAction is the kind of HNS change a step makes.
type StepAction uint8

// Step actions.
const (
	// StepRemoveEndpoint deletes an endpoint, as HNS does when its container
	// goes away: its vNIC is disabled, load balancers keep it until they are
	// updated (fabric.(*Fabric).RemoveEndpoint).
	StepRemoveEndpoint StepAction = iota + 1
	// StepUpdateLoadBalancer replaces a load balancer's backends, as
	// kube-proxy does with HcnModifyLoadBalancer: cached flows are
	// re-evaluated on their next packet (fabric.(*Fabric).UpdateLoadBalancer).
	StepUpdateLoadBalancer
)

var stepActionNames = [...]string{StepRemoveEndpoint: "remove_endpoint", StepUpdateLoadBalancer: "update_load_balancer"}

// String returns the action's key in scenario files, e.g. "remove_endpoint".
func (a StepAction) String() string {
	if int(a) < len(stepActionNames) && stepActionNames[a] != "" {
		return stepActionNames[a]
	}
	return fmt.Sprintf("StepAction(%d)", uint8(a))
}

// Step is an HNS change made between packets: a `do:` entry of `packets:`.
// Steps are not input packets: they have no number and no result.
type Step struct {
	Action StepAction
	// Host is the host whose HNS objects change.
	Host string
	// Endpoint is the endpoint to remove (StepRemoveEndpoint).
	Endpoint string
	// LoadBalancer and Endpoints are the load balancer to update and its new
	// backends, by endpoint name or ID (StepUpdateLoadBalancer).
	LoadBalancer string
	Endpoints    []string
}

// String describes the step as a scenario file writes it, e.g.
// "remove_endpoint host1/pod-b" or "update_load_balancer host1/svc-web
// endpoints [pod-d]".
func (s *Step) String() string {
	switch s.Action {
	case StepRemoveEndpoint:
		return fmt.Sprintf("%s %s/%s", s.Action, s.Host, s.Endpoint)
	case StepUpdateLoadBalancer:
		return fmt.Sprintf("%s %s/%s endpoints [%s]", s.Action, s.Host, s.LoadBalancer, strings.Join(s.Endpoints, ", "))
	}
	return s.Action.String()
}

// Apply makes the change in f.
func (s *Step) Apply(f *fabric.Fabric) error {
	switch s.Action {
	case StepRemoveEndpoint:
		return f.RemoveEndpoint(s.Host, s.Endpoint)
	case StepUpdateLoadBalancer:
		return f.UpdateLoadBalancer(s.Host, s.LoadBalancer, s.Endpoints)
	}
	return fmt.Errorf("step: unknown action %d", s.Action)
}

// StepRecord says when a step ran during a scenario run.
type StepRecord struct {
	// Field and Line are the entry's ("packets[3]").
	Field string
	Line  int
	// What is the step (Step.String).
	What string
	// TimeNS is the virtual time it ran at; After is the number of input
	// packets injected before it.
	TimeNS int64
	After  int
}

// String describes the record, e.g. "after packet 1 at 1.000001s:
// remove_endpoint host1/pod-b (packets[1])".
func (r StepRecord) String() string {
	return fmt.Sprintf("after packet %d at %s: %s (%s)", r.After, fmtTime(r.TimeNS), r.What, r.Field)
}

// fmtTime prints a virtual time as a duration from the start.
func fmtTime(ns int64) string { return time.Duration(ns).String() }

var stepKeys = []string{"do", "time", "note"}

// step parses a `do:` entry of packets.
func (l *loader) step(n *node, field string) {
	for _, k := range n.Keys {
		switch k.Value {
		case "do", "time", "note":
		default:
			l.errf(k, joinField(field, k.Value), "a step (do:) takes %s, not %s", strings.Join(stepKeys, ", "), k.Value)
		}
	}
	p := &PacketInput{Line: n.Line, Field: field}
	dn := n.get("do")
	p.doNode = dn
	fd := field + ".do"
	if dn.Kind != mapNode || len(dn.Keys) != 1 {
		l.errf(dn, fd, "want one of {remove_endpoint: HOST/ENDPOINT} or {update_load_balancer: {host, name, endpoints}}, got %s", describeStep(dn))
	} else {
		k, v := dn.Keys[0], dn.Vals[0]
		switch k.Value {
		case "remove_endpoint":
			p.Do = l.removeEndpoint(v, fd+".remove_endpoint")
		case "update_load_balancer":
			p.Do = l.updateLoadBalancer(v, fd+".update_load_balancer")
		default:
			l.errf(k, joinField(fd, k.Value), "unknown step %q (known: remove_endpoint, update_load_balancer)", k.Value)
		}
	}
	if v := n.get("time"); v != nil {
		if s, ok := l.str(v, field+".time"); ok {
			t, rel, err := parseTime(s)
			if err != nil {
				l.errf(v, field+".time", "%v", err)
			}
			p.Time, p.Relative, p.HasTime, p.timeNode = t, rel, true, v
		}
	}
	if v := n.get("note"); v != nil {
		p.Note, _ = l.str(v, field+".note")
	}
	l.sc.Packets = append(l.sc.Packets, p)
}

func describeStep(n *node) string {
	if n.Kind == mapNode {
		return fmt.Sprintf("a mapping with %d keys", len(n.Keys))
	}
	return n.describe()
}

// removeEndpoint parses remove_endpoint: HOST/ENDPOINT.
func (l *loader) removeEndpoint(n *node, field string) *Step {
	s, ok := l.str(n, field)
	if !ok {
		return nil
	}
	h, e, found := strings.Cut(s, "/")
	if !found || h == "" || e == "" || strings.Contains(e, "/") {
		l.errf(n, field, "want HOST/ENDPOINT (an endpoint's port name, e.g. host1/pod-b), got %q", s)
		return nil
	}
	return &Step{Action: StepRemoveEndpoint, Host: h, Endpoint: e}
}

// updateLoadBalancer parses update_load_balancer: {host, name, endpoints}.
func (l *loader) updateLoadBalancer(n *node, field string) *Step {
	if !l.keys(n, field, "host", "name", "endpoints") {
		return nil
	}
	st := &Step{Action: StepUpdateLoadBalancer}
	ok := true
	for _, k := range []struct {
		key string
		dst *string
	}{{"host", &st.Host}, {"name", &st.LoadBalancer}} {
		v := n.get(k.key)
		if v == nil {
			l.errf(n, field+"."+k.key, "missing: the load balancer's %s", k.key)
			ok = false
			continue
		}
		s, good := l.str(v, field+"."+k.key)
		ok = ok && good && s != ""
		*k.dst = s
	}
	v := n.get("endpoints")
	switch {
	case v == nil:
		l.errf(n, field+".endpoints", "missing: the new backends (a list of endpoint names; [] for none)")
		ok = false
	case v.Kind != seqNode:
		l.errf(v, field+".endpoints", "want a list of endpoint names, got %s", v.describe())
		ok = false
	default:
		st.Endpoints = []string{}
		for i, it := range v.Vals {
			s, good := l.str(it, indexField(field+".endpoints", i))
			ok = ok && good
			st.Endpoints = append(st.Endpoints, s)
		}
	}
	if !ok {
		return nil
	}
	return st
}

// checkSteps applies the steps, in order, to f (a fabric built for
// checking, then thrown away) and reports, at each step's line, what HNS
// would refuse: an unknown host, endpoint or load balancer, an endpoint
// removed twice, and a load balancer updated with an endpoint that does
// not exist (any more).
func (l *loader) checkSteps(f *fabric.Fabric) {
	removed := map[string]string{} // host/endpoint -> field of the step that removed it
	for _, p := range l.sc.Packets {
		s := p.Do
		if s == nil {
			continue
		}
		fd := p.Field + ".do." + s.Action.String()
		hs := l.hostSpec(s.Host)
		if hs == nil {
			l.errf(p.doNode, fd, "unknown host %q (hosts: %s)", s.Host, l.hostNames())
			continue
		}
		switch s.Action {
		case StepRemoveEndpoint:
			if by, ok := removed[s.Host+"/"+s.Endpoint]; ok {
				l.errf(p.doNode, fd, "endpoint %s/%s was already removed by %s (HNS: HCN_E_ENDPOINT_NOT_FOUND)", s.Host, s.Endpoint, by)
				continue
			}
			if id, ok := f.PortByName(s.Host + "/" + s.Endpoint); !ok || f.Port(id).Kind != fabric.PortEndpoint {
				l.errf(p.doNode, fd, "host %s has no endpoint %q (endpoints: %s)", s.Host, s.Endpoint, endpointNames(f, s.Host))
				continue
			}
			removed[s.Host+"/"+s.Endpoint] = p.Field
		case StepUpdateLoadBalancer:
			bad := false
			for i, e := range s.Endpoints {
				ep := hs.HNS.EndpointByName(e)
				if ep == nil {
					ep = hs.HNS.EndpointByID(e)
				}
				efd := indexField(fd+".endpoints", i)
				if ep == nil {
					l.errf(p.doNode, efd, "host %s has no endpoint %q (HNS: HCN_E_ENDPOINT_NOT_FOUND)", s.Host, e)
					bad = true
					continue
				}
				if by, ok := removed[s.Host+"/"+ep.Name]; ok && ep.Name != "" {
					l.errf(p.doNode, efd, "endpoint %s/%s was removed by %s (HNS: HCN_E_ENDPOINT_NOT_FOUND)", s.Host, e, by)
					bad = true
				}
			}
			if bad {
				continue
			}
		}
		if err := s.Apply(f); err != nil {
			l.errf(p.doNode, fd, "%v", err)
		}
	}
}

// hasSteps reports whether sc has `do:` entries.
func (sc *Scenario) hasSteps() bool {
	for _, p := range sc.Packets {
		if p.Do != nil {
			return true
		}
	}
	return false
}

// forSteps returns a copy of t whose HNS objects share no memory with
// t's: steps change the objects of the fabric built from it (HNS keeps
// them, and UpdateLoadBalancer rewrites a load balancer's endpoint list),
// and the scenario must run the same way again.
func (t *Topology) forSteps() (*Topology, error) {
	c := *t
	c.Hosts = append([]fabric.HostSpec(nil), t.Hosts...)
	for i := range c.Hosts {
		o, err := t.Hosts[i].HNS.Clone()
		if err != nil {
			return nil, err
		}
		c.Hosts[i].HNS = *o
	}
	return &c, nil
}

// hostSpec returns the topology's host named name.
func (l *loader) hostSpec(name string) *fabric.HostSpec {
	for i := range l.sc.Topology.Hosts {
		if h := &l.sc.Topology.Hosts[i]; h.Name == name {
			return h
		}
	}
	return nil
}

func (l *loader) hostNames() string {
	var s []string
	for _, h := range l.sc.Topology.Hosts {
		s = append(s, h.Name)
	}
	return strings.Join(s, ", ")
}

// endpointNames lists the endpoint ports of a host.
func endpointNames(f *fabric.Fabric, host string) string {
	var s []string
	for _, p := range f.Ports() {
		if p.Kind == fabric.PortEndpoint && strings.HasPrefix(p.Name, host+"/") {
			s = append(s, strings.TrimPrefix(p.Name, host+"/"))
		}
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
