package windows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hnspath/hnspath/emulator/hns"
)

// fakeHcnError behaves like hcsshim v0.15.0's *hcn.HcnError: it carries a Win32/HRESULT
// code in an unexported field, has no Unwrap and is none of hcsshim's typed not-found
// errors, so neither errors.Is(err, ErrNotFound) nor hcn.IsNotFoundError would see it.
type fakeHcnError struct {
	op   string
	code uint32
}

func (e *fakeHcnError) Error() string {
	return fmt.Sprintf("%s failed in Win32: HNS error (0x%x)", e.op, e.code)
}

// HNS codes the fake returns (MicrosoftDocs HCN HRESULT table; ERROR_NOT_FOUND).
const (
	codeNetworkNotFound  = 0x803b0001
	codeEndpointNotFound = 0x803b0002
	codeNotFound         = 1168       // ERROR_NOT_FOUND
	codeFail             = 0x80004005 // E_FAIL
	codeInUse            = 0x803b0012 // a network or namespace that still has endpoints
)

type fakeObj struct {
	Object
	network string
	js      []byte
}

// fakeHCN is an in-memory HNS with HNS's error behaviour: deletes of missing objects
// fail with *fakeHcnError codes, a Host namespace has NamespaceId 0 until a container
// starts in it, and features can be switched off. fail injects an E_FAIL at the n-th
// (1-based) call of an operation; block, when set, is called inside a create (with the
// lock released) so that a test can interleave a Close.
type fakeHCN struct {
	mu    sync.Mutex
	objs  map[string]*fakeObj
	n     int
	feats Features
	calls []string
	count map[string]int
	fail  map[string]int
	block func(op string)
	comp  uint32
}

func newFakeHCN() *fakeHCN {
	return &fakeHCN{objs: map[string]*fakeObj{}, count: map[string]int{}, fail: map[string]int{},
		feats: Features{Major: 15, Minor: 4, ModifyLoadBalancer: true, DSR: true}, comp: 7}
}

// call counts an operation and returns the injected failure, if any.
func (f *fakeHCN) call(op string) error {
	f.count[op]++
	f.calls = append(f.calls, op)
	if n, ok := f.fail[op]; ok && n == f.count[op] {
		return &fakeHcnError{op: op, code: codeFail}
	}
	return nil
}

func (f *fakeHCN) create(op, kind string, js []byte, fill func(o *fakeObj) error) (string, error) {
	if f.block != nil {
		f.block(op)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(op); err != nil {
		return "", err
	}
	f.n++
	id := fmt.Sprintf("%08X-0000-0000-0000-%012d", f.n, f.n)
	o := &fakeObj{Object: Object{Kind: kind, ID: id}, js: js}
	if fill != nil {
		if err := fill(o); err != nil {
			return "", err
		}
	}
	f.objs[id] = o
	return id, nil
}

func (f *fakeHCN) CreateNetwork(js []byte) (string, error) {
	return f.create("create-network", hns.KindNetwork, js, func(o *fakeObj) error {
		var n hns.HostComputeNetwork
		if err := json.Unmarshal(js, &n); err != nil {
			return err
		}
		o.Name = n.Name
		return nil
	})
}

func (f *fakeHCN) CreateNamespace(js []byte) (string, uint32, error) {
	id, err := f.create("create-namespace", hns.KindNamespace, js, nil)
	return id, 0, err // a Host namespace: no compartment before a container starts
}

func (f *fakeHCN) CreateEndpoint(js []byte, network string) (string, error) {
	return f.create("create-endpoint", hns.KindEndpoint, js, func(o *fakeObj) error {
		if _, ok := f.objs[network]; !ok {
			return &fakeHcnError{op: "create-endpoint", code: codeNetworkNotFound}
		}
		var e hns.HostComputeEndpoint
		if err := json.Unmarshal(js, &e); err != nil {
			return err
		}
		o.Name, o.MAC, o.network = e.Name, e.MacAddress, network
		for _, ipc := range e.IpConfigurations {
			o.IPv4 = append(o.IPv4, ipc.IpAddress)
		}
		return nil
	})
}

func (f *fakeHCN) CreateLoadBalancer(js []byte, eps []string) (string, error) {
	return f.create("create-loadbalancer", hns.KindLoadBalancer, js, func(o *fakeObj) error {
		var lb hns.HostComputeLoadBalancer
		if err := json.Unmarshal(js, &lb); err != nil {
			return err
		}
		if lb.Flags&hns.LoadBalancerFlagsDSR != 0 && !f.feats.DSR {
			return &fakeHcnError{op: "create-loadbalancer", code: 0x80070057}
		}
		o.Endpoints = append([]string(nil), eps...)
		return nil
	})
}

func (f *fakeHCN) UpdateLoadBalancer(id string, eps []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("update-loadbalancer"); err != nil {
		return err
	}
	if !f.feats.ModifyLoadBalancer {
		return &fakeHcnError{op: "update-loadbalancer", code: 0x80004001} // E_NOTIMPL
	}
	o, ok := f.objs[id]
	if !ok {
		return &fakeHcnError{op: "update-loadbalancer", code: codeNotFound}
	}
	o.Endpoints = append([]string(nil), eps...)
	return nil
}

func (f *fakeHCN) AddNamespaceEndpoint(ns, ep string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("attach"); err != nil {
		return err
	}
	o, ok := f.objs[ns]
	if !ok {
		return &fakeHcnError{op: "attach", code: codeNotFound}
	}
	if _, ok := f.objs[ep]; !ok {
		return &fakeHcnError{op: "attach", code: codeEndpointNotFound}
	}
	o.Endpoints = append(o.Endpoints, ep)
	return nil
}

func (f *fakeHCN) RemoveNamespaceEndpoint(ns, ep string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("detach"); err != nil {
		return err
	}
	o, ok := f.objs[ns]
	if !ok {
		return &fakeHcnError{op: "detach", code: codeNotFound}
	}
	for i, e := range o.Endpoints {
		if e == ep {
			o.Endpoints = append(o.Endpoints[:i], o.Endpoints[i+1:]...)
			return nil
		}
	}
	return &fakeHcnError{op: "detach", code: codeEndpointNotFound}
}

func (f *fakeHCN) Delete(kind, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	op := "delete-" + kind
	if err := f.call(op); err != nil {
		return err
	}
	o, ok := f.objs[id]
	if !ok || o.Kind != kind {
		code := uint32(codeNotFound)
		switch kind {
		case hns.KindEndpoint:
			code = codeEndpointNotFound
		case hns.KindNetwork:
			code = codeNetworkNotFound
		}
		return &fakeHcnError{op: op, code: code}
	}
	for _, other := range f.objs {
		if kind == hns.KindNetwork && other.network == id {
			return &fakeHcnError{op: op, code: codeInUse}
		}
	}
	if kind == hns.KindEndpoint {
		// HNS detaches a deleted endpoint from its namespace.
		for _, other := range f.objs {
			if other.Kind == hns.KindNamespace {
				for i, e := range other.Endpoints {
					if e == id {
						other.Endpoints = append(other.Endpoints[:i], other.Endpoints[i+1:]...)
						break
					}
				}
			}
		}
	}
	delete(f.objs, id)
	return nil
}

func (f *fakeHCN) Get(kind, id string) (Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("get-" + kind); err != nil {
		return Object{}, err
	}
	o, ok := f.objs[id]
	if !ok || o.Kind != kind {
		// What the adapter makes of hcsshim's typed *NotFoundError from a lookup.
		return Object{}, fmt.Errorf("%w: %s ID %q not found", ErrNotFound, kind, id)
	}
	out := o.Object
	out.Endpoints = append([]string(nil), o.Endpoints...)
	return out, nil
}

func (f *fakeHCN) List(kind string) ([]Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Object
	for _, o := range f.objs {
		if o.Kind == kind {
			c := o.Object
			c.Endpoints = append([]string(nil), o.Endpoints...)
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (f *fakeHCN) Features() (Features, error) { return f.feats, nil }

func (f *fakeHCN) ErrorCode(err error) (uint32, bool) {
	var he *fakeHcnError
	if errors.As(err, &he) {
		return he.code, true
	}
	return 0, false
}

// startContainer gives namespace id a compartment, as HNS does when a container starts
// in it.
func (f *fakeHCN) startContainer(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objs[id]
	if !ok || o.Kind != hns.KindNamespace {
		return fmt.Errorf("no namespace %s", id)
	}
	f.comp++
	o.Compartment = f.comp
	return nil
}

// left lists the objects still in the fake.
func (f *fakeHCN) left() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, o := range f.objs {
		out = append(out, o.Kind+" "+o.Name+" "+o.ID)
	}
	sort.Strings(out)
	return out
}

// fakeRunner records command lines and answers them through handlers keyed by the
// command name and first argument ("pktmon list", "ctr run").
type fakeRunner struct {
	mu       sync.Mutex
	cmds     []string
	handlers map[string]func(args []string) ([]byte, error)
}

func newFakeRunner() *fakeRunner {
	return &fakeRunner{handlers: map[string]func([]string) ([]byte, error){}}
}

func (r *fakeRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	r.mu.Lock()
	r.cmds = append(r.cmds, strings.Join(append([]string{name}, args...), " "))
	h := r.handlers[name]
	if len(args) > 0 {
		if h2, ok := r.handlers[name+" "+args[0]]; ok {
			h = h2
		}
	}
	r.mu.Unlock()
	if h == nil {
		return nil, nil
	}
	return h(args)
}

func (r *fakeRunner) commands() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.cmds...)
}

// fakeSender records what is sent.
type fakeSender struct {
	mu          sync.Mutex
	sent        []string
	onUDP       func(comp uint32, n int)
	onDatagrams func(ds []Datagram)
}

func (s *fakeSender) UDP(comp uint32, local, remote netip.AddrPort, payload []byte) error {
	s.mu.Lock()
	s.sent = append(s.sent, fmt.Sprintf("udp comp %d %s > %s %q", comp, local, remote, payload))
	s.mu.Unlock()
	return nil
}

func (s *fakeSender) TCPConnect(comp uint32, local, remote netip.AddrPort, timeout time.Duration) error {
	s.mu.Lock()
	s.sent = append(s.sent, fmt.Sprintf("tcp comp %d %s > %s", comp, local, remote))
	s.mu.Unlock()
	return nil
}

func (s *fakeSender) UDPBatch(comp uint32, ds []Datagram) (int, error) {
	if s.onUDP != nil {
		s.onUDP(comp, len(ds))
	}
	if s.onDatagrams != nil {
		s.onDatagrams(ds)
	}
	return len(ds), nil
}

// containerRunner makes r answer the container command (`ctr-test run NAMESPACE NAME`)
// by starting a container in the fake's namespace.
func containerRunner(r *fakeRunner, h *fakeHCN) {
	r.handlers["ctr-test run"] = func(args []string) ([]byte, error) { return nil, h.startContainer(args[1]) }
}

// testOptions are backend options for the fakes: a fixed prefix, a temporary work
// directory, no waiting, and a container command.
func testOptions(t *testing.T) Options {
	return Options{Host: "host1", Prefix: testPrefix, WorkDir: t.TempDir(), Gap: time.Millisecond, CompartmentTries: 3, CompartmentWait: -1,
		Container: []string{"ctr-test", "run", "{namespace}", "{name}"}, ContainerStop: []string{"ctr-test", "rm", "{name}"}}
}

// newFakeBackend returns a backend over fresh fakes.
func newFakeBackend(t *testing.T) (*Backend, *fakeHCN, *fakeRunner, *fakeSender) {
	h, r, s := newFakeHCN(), newFakeRunner(), &fakeSender{}
	containerRunner(r, h)
	return NewBackendWith(testOptions(t), h, r, s), h, r, s
}
