package hns

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// linkNamespacesScan is linkNamespaces as it was before it used indexes
// (quadratic: an EndpointByID scan per namespace resource, a resource scan
// per endpoint): the oracle for the indexed version.
func (o *Objects) linkNamespacesScan(ps *problems) {
	for i := range o.Namespaces {
		ns := &o.Namespaces[i]
		for _, r := range ns.Resources {
			if r.Type != NamespaceResourceTypeEndpoint {
				continue
			}
			id, err := r.ID()
			if err != nil {
				continue
			}
			e := o.EndpointByID(id)
			if e == nil {
				continue
			}
			switch {
			case e.HostComputeNamespace == "":
				e.HostComputeNamespace = ns.Id
			case !sameID(e.HostComputeNamespace, ns.Id):
				ps.add(HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS, KindEndpoint, label(e.Name, e.Id, -1), "HostComputeNamespace",
					"endpoint names namespace %s but is also a resource of namespace %s", e.HostComputeNamespace, ns.Id)
			}
		}
	}
	for i := range o.Endpoints {
		e := &o.Endpoints[i]
		if e.HostComputeNamespace == "" {
			continue
		}
		ns := o.NamespaceByID(e.HostComputeNamespace)
		if ns == nil {
			continue
		}
		found := false
		for _, r := range ns.Resources {
			if id, err := r.ID(); err == nil && r.Type == NamespaceResourceTypeEndpoint && sameID(id, e.Id) {
				found = true
				break
			}
		}
		if !found {
			data, _ := json.Marshal(NamespaceResourceEndpoint{Id: e.Id})
			ns.Resources = append(ns.Resources, NamespaceResource{Type: NamespaceResourceTypeEndpoint, Data: data})
		}
	}
}

func cloneObjects(t testing.TB, o *Objects) *Objects {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var c Objects
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func epResource(id string) NamespaceResource {
	data, _ := json.Marshal(NamespaceResourceEndpoint{Id: id})
	return NamespaceResource{Type: NamespaceResourceTypeEndpoint, Data: data}
}

// checkAgainstScan runs both versions on copies of o and compares the
// objects and the problems they report.
func checkAgainstScan(t *testing.T, o *Objects) {
	t.Helper()
	want, got := cloneObjects(t, o), cloneObjects(t, o)
	var wps, gps problems
	want.linkNamespacesScan(&wps)
	got.linkNamespaces(&gps)
	if !reflect.DeepEqual(got, want) {
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		t.Errorf("objects:\ngot  %s\nwant %s", gb, wb)
	}
	if !reflect.DeepEqual(gps.list, wps.list) {
		t.Errorf("problems: got %v, want %v", gps.list, wps.list)
	}
}

func TestLinkNamespacesMatchesScan(t *testing.T) {
	g1, g2, g3 := NameGUID(KindEndpoint, "a"), NameGUID(KindEndpoint, "b"), NameGUID(KindNamespace, "n")
	tests := []struct {
		name string
		o    Objects
	}{
		{"endpoint names namespace", Objects{
			Endpoints:  []HostComputeEndpoint{{Id: g1, HostComputeNamespace: g3}},
			Namespaces: []HostComputeNamespace{{Id: g3}},
		}},
		{"namespace lists endpoint", Objects{
			Endpoints:  []HostComputeEndpoint{{Id: g1}},
			Namespaces: []HostComputeNamespace{{Id: g3, Resources: []NamespaceResource{epResource(g1)}}},
		}},
		{"case and braces", Objects{
			Endpoints:  []HostComputeEndpoint{{Id: "{" + strings.ToLower(g1) + "}", HostComputeNamespace: strings.ToLower(g3)}, {Id: g2}},
			Namespaces: []HostComputeNamespace{{Id: g3, Resources: []NamespaceResource{epResource(g1), epResource(" " + strings.ToLower(g2))}}},
		}},
		{"endpoint in two namespaces", Objects{
			Endpoints:  []HostComputeEndpoint{{Id: g1, Name: "e", HostComputeNamespace: g3}},
			Namespaces: []HostComputeNamespace{{Id: g3}, {Id: g2, Resources: []NamespaceResource{epResource(g1)}}},
		}},
		{"duplicate IDs: the first object wins", Objects{
			Endpoints:  []HostComputeEndpoint{{Id: g1, Name: "first"}, {Id: strings.ToLower(g1), Name: "second", HostComputeNamespace: g2}},
			Namespaces: []HostComputeNamespace{{Id: g3, Resources: []NamespaceResource{epResource(g1)}}, {Id: g2}, {Id: g2, Name: "dup"}},
		}},
		{"other resources and bad data", Objects{
			Endpoints: []HostComputeEndpoint{{Id: g1, HostComputeNamespace: g3}},
			Namespaces: []HostComputeNamespace{{Id: g3, Resources: []NamespaceResource{
				{Type: NamespaceResourceTypeContainer, Data: json.RawMessage(`{"ID":"` + g1 + `"}`)},
				{Type: NamespaceResourceTypeEndpoint, Data: json.RawMessage(`[1]`)},
			}}},
		}},
		{"references that match nothing", Objects{
			Endpoints:  []HostComputeEndpoint{{Id: g1, HostComputeNamespace: "missing"}},
			Namespaces: []HostComputeNamespace{{Id: g3, Resources: []NamespaceResource{epResource("missing")}}},
		}},
		{"non-ASCII IDs fold as EqualFold does", Objects{
			// U+212A KELVIN SIGN folds to "k": sameID("\u212aey", "key") is true.
			Endpoints:  []HostComputeEndpoint{{Id: "key", HostComputeNamespace: "\u212Ans"}, {Id: "\u212Aey2"}},
			Namespaces: []HostComputeNamespace{{Id: "kns", Resources: []NamespaceResource{epResource("\u212Aey"), epResource("key2")}}},
		}},
		{"non-ASCII resource ID finds an ASCII endpoint", Objects{
			Endpoints:  []HostComputeEndpoint{{Id: "key"}, {Id: "k2", HostComputeNamespace: "\u212Ans"}},
			Namespaces: []HostComputeNamespace{{Id: "kns", Resources: []NamespaceResource{epResource("\u212Aey")}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkAgainstScan(t, &tt.o) })
	}
}

// TestLinkNamespacesRandom compares both versions on random small sets of
// objects whose IDs are drawn from a few GUIDs in different spellings.
func TestLinkNamespacesRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 17))
	var ids []string
	for i := range 6 {
		g := NameGUID(KindEndpoint, fmt.Sprint(i))
		ids = append(ids, g, strings.ToLower(g), "{"+g+"}", "not-a-guid-"+fmt.Sprint(i%3))
	}
	ids = append(ids, "", "\u212Aey", "key")
	pick := func() string { return ids[r.IntN(len(ids))] }
	for iter := range 500 {
		var o Objects
		for range r.IntN(6) {
			o.Endpoints = append(o.Endpoints, HostComputeEndpoint{Id: pick(), Name: fmt.Sprint("e", len(o.Endpoints)), HostComputeNamespace: pick()})
		}
		for range r.IntN(4) {
			ns := HostComputeNamespace{Id: pick()}
			for range r.IntN(4) {
				ns.Resources = append(ns.Resources, epResource(pick()))
			}
			o.Namespaces = append(o.Namespaces, ns)
		}
		t.Run(fmt.Sprint(iter), func(t *testing.T) { checkAgainstScan(t, &o) })
		if t.Failed() {
			break
		}
	}
}

// bigImport is an import of n endpoints in n/10 namespaces; even endpoints
// name their namespace, odd ones are listed by it.
func bigImport(n int) *Objects {
	o := &Objects{}
	for i := range n / 10 {
		o.Namespaces = append(o.Namespaces, HostComputeNamespace{Id: NameGUID(KindNamespace, fmt.Sprint(i))})
	}
	for i := range n {
		e := HostComputeEndpoint{Id: NameGUID(KindEndpoint, fmt.Sprint(i))}
		ns := &o.Namespaces[i%len(o.Namespaces)]
		if i%2 == 0 {
			e.HostComputeNamespace = strings.ToLower(ns.Id)
		} else {
			ns.Resources = append(ns.Resources, epResource(e.Id))
		}
		o.Endpoints = append(o.Endpoints, e)
	}
	return o
}

// TestLinkNamespaces20k links 20k endpoints and checks every link both
// ways: each namespace lists exactly its endpoints, each endpoint names its
// namespace.
func TestLinkNamespaces20k(t *testing.T) {
	const n = 20000
	o := bigImport(n)
	var ps problems
	o.linkNamespaces(&ps)
	if len(ps.list) != 0 {
		t.Fatalf("problems: %v", ps.list)
	}
	byID := map[string]*HostComputeEndpoint{} // NameGUID IDs are canonical already
	for i := range o.Endpoints {
		byID[o.Endpoints[i].Id] = &o.Endpoints[i]
	}
	for i := range o.Namespaces {
		ns := &o.Namespaces[i]
		if len(ns.Resources) != n/len(o.Namespaces) {
			t.Fatalf("namespace %d has %d resources, want %d", i, len(ns.Resources), n/len(o.Namespaces))
		}
		for _, r := range ns.Resources {
			id, err := r.ID()
			if err != nil {
				t.Fatal(err)
			}
			e := byID[id]
			if e == nil || !sameID(e.HostComputeNamespace, ns.Id) {
				t.Fatalf("namespace %s lists %s, which names namespace %v", ns.Id, id, e)
			}
		}
	}
	for i := range o.Endpoints {
		if o.Endpoints[i].HostComputeNamespace == "" {
			t.Fatalf("endpoint %d has no namespace", i)
		}
	}
	// A small import of the same shape gives what the old scan gave.
	checkAgainstScan(t, bigImport(200))
}

func BenchmarkLinkNamespaces(b *testing.B) {
	for _, n := range []int{2000, 20000} {
		o := bigImport(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				c := cloneObjects(b, o)
				b.StartTimer()
				var ps problems
				c.linkNamespaces(&ps)
			}
		})
	}
}

// BenchmarkLinkNamespacesScan is the old version, for comparison (2000 only:
// 20k takes minutes).
func BenchmarkLinkNamespacesScan(b *testing.B) {
	o := bigImport(2000)
	for b.Loop() {
		b.StopTimer()
		c := cloneObjects(b, o)
		b.StartTimer()
		var ps problems
		c.linkNamespacesScan(&ps)
	}
}
