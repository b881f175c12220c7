package windows

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/hostprobe"
)

// TestSetupAndTeardownTwice builds l2bridge's host1 on the fake HCN, tears it down, and
// tears it down again: the second teardown finds nothing (HNS answers each delete with
// a not-found *HcnError-like error) and must succeed.
func TestSetupAndTeardownTwice(t *testing.T) {
	b, h, r, _ := newFakeBackend(t)
	if err := b.Setup(context.Background(), loadTopology(t, "l2bridge")); err != nil {
		t.Fatal(err)
	}
	if got := len(h.left()); got != 8 { // 1 network, 2 namespaces, 2 endpoints, 3 LBs
		t.Fatalf("after setup: %d objects, want 8: %q", got, h.left())
	}
	if b.macs["host1/pod-a"] != "00:15:5d:01:01:02" || b.ips["host1/pod-b"].String() != "10.244.1.3" {
		t.Errorf("endpoints read back: macs %v ips %v", b.macs, b.ips)
	}
	if len(b.comps) != 2 || b.comps[testPrefix+"ns-pod-a"] == 0 {
		t.Errorf("compartments: %v, want two non-zero", b.comps)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("first teardown: %v", err)
	}
	if left := h.left(); len(left) != 0 {
		t.Fatalf("after teardown: %q", left)
	}
	// The containers are stopped before their namespaces go.
	var stops []string
	for _, c := range r.commands() {
		if strings.HasPrefix(c, "ctr-test rm ") {
			stops = append(stops, c)
		}
	}
	if want := []string{"ctr-test rm " + testPrefix + "ns-pod-b", "ctr-test rm " + testPrefix + "ns-pod-a"}; !reflect.DeepEqual(stops, want) {
		t.Errorf("container stops: got %q, want %q", stops, want)
	}
	// Teardown again, as a signal handler and a deferred Close would: every delete now
	// meets a not-found error.
	b.mu.Lock()
	b.closed, b.done = false, len(b.plan.Calls)
	b.mu.Unlock()
	if err := b.Close(); err != nil {
		t.Fatalf("second teardown: %v", err)
	}
}

// TestRemoveEndpointThenTeardown runs a remove_endpoint step (detach and delete, as when
// a container goes away), then tears down: the teardown's detach and delete of that
// endpoint meet HNS's not-found errors and must count as done.
func TestRemoveEndpointThenTeardown(t *testing.T) {
	b, h, _, _ := newFakeBackend(t)
	ctx := context.Background()
	if err := b.Setup(ctx, loadTopology(t, "l2bridge")); err != nil {
		t.Fatal(err)
	}
	calls, err := b.plan.StepCalls(hostprobe.Step{Action: hostprobe.StepRemoveEndpoint, Host: "host1", Endpoint: "pod-a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		if err := b.step(ctx, func() error { return b.exec(ctx, c) }); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatalf("teardown after remove_endpoint: %v", err)
	}
	if left := h.left(); len(left) != 0 {
		t.Fatalf("after teardown: %q", left)
	}
}

// TestNotFoundByCode checks the classification against HNS's codes, and that an error
// without a known code counts as gone only when a lookup finds nothing.
func TestNotFoundByCode(t *testing.T) {
	h := newFakeHCN()
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&fakeHcnError{op: "delete", code: codeEndpointNotFound}, true},
		{&fakeHcnError{op: "delete", code: codeNetworkNotFound}, true},
		{&fakeHcnError{op: "delete", code: codeNotFound}, true},
		{fmt.Errorf("wrapped: %w", &fakeHcnError{op: "delete", code: codeNotFound}), true},
		{&fakeHcnError{op: "delete", code: codeFail}, false},
		{fmt.Errorf("%w: endpoint", ErrNotFound), true},
		{errors.New("Endpoint ID \"x\" not found"), false},
		{nil, false},
	} {
		if got := isNotFound(h, tt.err); got != tt.want {
			t.Errorf("isNotFound(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	// A delete failing with an unknown code counts as done only if the object is gone.
	h.fail["delete-"+hns.KindEndpoint] = 1
	if err := deleteGone(h, hns.KindEndpoint, "missing"); err != nil {
		t.Errorf("deleteGone of a missing object with an unknown error: %v", err)
	}
	id, _ := h.CreateNetwork([]byte(`{"Name":"n"}`))
	h.fail["delete-"+hns.KindNetwork] = 1
	if err := deleteGone(h, hns.KindNetwork, id); err == nil {
		t.Errorf("deleteGone of an existing object whose delete failed: nil error")
	}
}

// TestFeaturesOff: without DSR support a plan with a DSR load balancer is refused before
// anything is created; without ModifyLoadbalancer (HNS < 15.4) an update deletes the
// load balancer and creates it again with the new backends.
func TestFeaturesOff(t *testing.T) {
	b, h, _, _ := newFakeBackend(t)
	h.feats.DSR = false
	err := b.Setup(context.Background(), loadTopology(t, "l2bridge"))
	if err == nil || !strings.Contains(err.Error(), "DSR") {
		t.Fatalf("setup without DSR: got %v, want an error naming DSR", err)
	}
	if len(h.calls) != 0 {
		t.Errorf("setup without DSR made calls %q", h.calls)
	}
	for _, modify := range []bool{true, false} {
		t.Run(fmt.Sprintf("modify=%v", modify), func(t *testing.T) {
			b, h, _, _ := newFakeBackend(t)
			h.feats.ModifyLoadBalancer = modify
			ctx := context.Background()
			if err := b.Setup(ctx, loadTopology(t, "l2bridge")); err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			calls, err := b.plan.StepCalls(hostprobe.Step{Action: hostprobe.StepUpdateLoadBalancer, Host: "host1", LoadBalancer: "svc-web", Endpoints: []string{"pod-a", "pod-b"}})
			if err != nil {
				t.Fatal(err)
			}
			h.calls = nil
			for _, c := range calls {
				if err := b.step(ctx, func() error { return b.exec(ctx, c) }); err != nil {
					t.Fatalf("%s: %v", c, err)
				}
			}
			want := []string{"update-loadbalancer"}
			if !modify {
				want = []string{"delete-loadbalancer", "create-loadbalancer"}
			}
			if !reflect.DeepEqual(h.calls, want) {
				t.Errorf("calls: got %q, want %q", h.calls, want)
			}
			o, err := h.Get(hns.KindLoadBalancer, b.ids[testPrefix+"lb-svc-web"])
			if err != nil {
				t.Fatal(err)
			}
			if wantEps := []string{b.ids[testPrefix+"pod-a"], b.ids[testPrefix+"pod-b"]}; !reflect.DeepEqual(o.Endpoints, wantEps) {
				t.Errorf("backends: got %q, want %q", o.Endpoints, wantEps)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			if left := h.left(); len(left) != 0 {
				t.Errorf("after teardown: %q", left)
			}
		})
	}
}

// TestNamespaceWithoutCompartment: HNS leaves a Host namespace at NamespaceId 0 until a
// container starts in it. Without a container command Setup fails loudly (and leaves
// nothing); with one whose container never joins, it fails after re-reading.
func TestNamespaceWithoutCompartment(t *testing.T) {
	t.Run("no container command", func(t *testing.T) {
		b, h, _, _ := newFakeBackend(t)
		b.opts.Container = nil
		err := b.Setup(context.Background(), loadTopology(t, "l2bridge"))
		if err == nil || !strings.Contains(err.Error(), "NamespaceId 0") {
			t.Fatalf("got %v, want an error about NamespaceId 0", err)
		}
		if left := h.left(); len(left) != 0 {
			t.Errorf("left behind: %q", left)
		}
	})
	t.Run("container does not join", func(t *testing.T) {
		b, h, r, _ := newFakeBackend(t)
		r.handlers["ctr-test run"] = func([]string) ([]byte, error) { return nil, nil }
		err := b.Setup(context.Background(), loadTopology(t, "l2bridge"))
		if err == nil || !strings.Contains(err.Error(), "still has no network compartment") {
			t.Fatalf("got %v, want an error after re-reading", err)
		}
		if n := h.count["get-namespace"]; n != 1+b.opts.CompartmentTries {
			t.Errorf("namespace read %d times, want %d", n, 1+b.opts.CompartmentTries)
		}
		if left := h.left(); len(left) != 0 {
			t.Errorf("left behind: %q", left)
		}
	})
	t.Run("container fails", func(t *testing.T) {
		b, h, r, _ := newFakeBackend(t)
		r.handlers["ctr-test run"] = func([]string) ([]byte, error) {
			return []byte("\xff\xfee\x00r\x00r\x00\r\x00\n\x00"), errors.New("exit status 1")
		}
		err := b.Setup(context.Background(), loadTopology(t, "l2bridge"))
		if err == nil || !strings.Contains(err.Error(), "starting its container (ctr-test run ") || !strings.Contains(err.Error(), ": err") {
			t.Fatalf("got %v, want the container command and its decoded output", err)
		}
		if left := h.left(); len(left) != 0 {
			t.Errorf("left behind: %q", left)
		}
	})
}

// TestFailureAtEveryStep injects an HNS failure at each call Setup makes, one run each:
// Setup must return it and leave no object behind, and a second Close must succeed.
func TestFailureAtEveryStep(t *testing.T) {
	b, h, _, _ := newFakeBackend(t)
	if err := b.Setup(context.Background(), loadTopology(t, "l2bridge")); err != nil {
		t.Fatal(err)
	}
	setupCalls := append([]string(nil), h.calls...)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i, op := range setupCalls {
		seen[op]++
		n := seen[op]
		t.Run(fmt.Sprintf("%d-%s#%d", i+1, op, n), func(t *testing.T) {
			b, h, _, _ := newFakeBackend(t)
			h.fail[op] = n
			err := b.Setup(context.Background(), loadTopology(t, "l2bridge"))
			var he *fakeHcnError
			if !errors.As(err, &he) || he.code != codeFail {
				t.Fatalf("setup: got %v, want the injected failure", err)
			}
			if left := h.left(); len(left) != 0 {
				t.Errorf("left behind: %q", left)
			}
			if err := b.Close(); err != nil {
				t.Errorf("second close: %v", err)
			}
			if _, err := os.Stat(journalPath(b.opts.WorkDir, testPrefix)); !os.IsNotExist(err) {
				t.Errorf("journal kept after a complete teardown: %v", err)
			}
		})
	}
}

// TestCloseDuringCreate calls Close (as the signal handler does) while Setup waits for
// HNS to create an endpoint: Close must wait for that create and delete the endpoint
// with everything else, and Setup must stop.
func TestCloseDuringCreate(t *testing.T) {
	for _, op := range []string{"create-network", "create-namespace", "create-endpoint", "create-loadbalancer"} {
		t.Run(op, func(t *testing.T) {
			b, h, _, _ := newFakeBackend(t)
			entered, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			h.block = func(got string) {
				if got == op {
					once.Do(func() { close(entered); <-release })
				}
			}
			setupErr := make(chan error, 1)
			go func() { setupErr <- b.Setup(context.Background(), loadTopology(t, "l2bridge")) }()
			select {
			case <-entered:
			case err := <-setupErr:
				t.Fatalf("setup ended before %s: %v", op, err)
			}
			closeErr := make(chan error, 1)
			go func() { closeErr <- b.Close() }()
			// Close cannot finish while the create is in flight; once it has asked to
			// close, let the create finish.
			for !b.closing.Load() {
				runtime.Gosched()
			}
			close(release)
			if err := <-closeErr; err != nil {
				t.Errorf("close: %v", err)
			}
			if err := <-setupErr; err == nil {
				t.Errorf("setup: nil error after Close")
			}
			if left := h.left(); len(left) != 0 {
				t.Errorf("left behind: %q", left)
			}
		})
	}
}

// TestClean: a bare prefix is refused (it would match other live sessions); a session
// prefix removes that session's objects, also a namespace and a load balancer left
// without endpoints (found through the journal), and nothing of another session.
func TestClean(t *testing.T) {
	dir := t.TempDir()
	h := newFakeHCN()
	if _, err := CleanWith(h, dir, PrefixBase); err == nil || !strings.Contains(err.Error(), "other live sessions") {
		t.Fatalf("bare prefix: got %v", err)
	}
	ours := NewBackendWith(Options{Host: "host1", Prefix: testPrefix, WorkDir: dir, CompartmentTries: 1, CompartmentWait: -1,
		Container: []string{"ctr-test", "run", "{namespace}", "{name}"}}, h, newFakeRunner(), &fakeSender{})
	containerRunner(ours.run.(*fakeRunner), h)
	other := NewBackendWith(Options{Host: "host1", Prefix: "hnsp-ffffff-", WorkDir: dir, CompartmentTries: 1, CompartmentWait: -1,
		Container: []string{"ctr-test", "run", "{namespace}", "{name}"}}, h, newFakeRunner(), &fakeSender{})
	containerRunner(other.run.(*fakeRunner), h)
	for _, b := range []*Backend{ours, other} {
		if err := b.Setup(context.Background(), loadTopology(t, "l2bridge")); err != nil {
			t.Fatal(err)
		}
	}
	// Ours was killed after its endpoints went: only empty namespaces and load
	// balancers (without backends) and the network remain.
	for _, ep := range []string{"pod-a", "pod-b"} {
		id := ours.ids[testPrefix+ep]
		for _, ns := range []string{"ns-pod-a", "ns-pod-b"} {
			_ = h.RemoveNamespaceEndpoint(ours.ids[testPrefix+ns], id)
		}
		if err := h.Delete(hns.KindEndpoint, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, lb := range []string{"svc-web", "np-web", "np-web-dsr"} {
		_ = h.UpdateLoadBalancer(ours.ids[testPrefix+"lb-"+lb], nil)
	}
	before := len(h.left())
	removed, err := CleanWith(h, dir, testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 6 { // 3 LBs, 2 namespaces, 1 network
		t.Errorf("removed %d: %q, want 6", len(removed), removed)
	}
	if got := len(h.left()); got != before-6 || got != 8 {
		t.Errorf("left %d objects (%q), want the other session's 8", got, h.left())
	}
	if _, err := os.Stat(filepath.Join(dir, testPrefix+"journal.txt")); !os.IsNotExist(err) {
		t.Errorf("journal still there: %v", err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if left := h.left(); len(left) != 0 {
		t.Errorf("left: %q", left)
	}
}

// TestFailureDuringTeardown injects a failure at each delete and detach of a teardown:
// Close reports it and keeps the journal; the next Close finishes the job.
func TestFailureDuringTeardown(t *testing.T) {
	for _, op := range []string{"delete-loadbalancer", "detach", "delete-endpoint", "delete-namespace", "delete-network"} {
		t.Run(op, func(t *testing.T) {
			b, h, _, _ := newFakeBackend(t)
			if err := b.Setup(context.Background(), loadTopology(t, "l2bridge")); err != nil {
				t.Fatal(err)
			}
			h.fail[op] = h.count[op] + 1
			if err := b.Close(); err == nil {
				t.Fatalf("close: nil error with %s failing", op)
			}
			if _, err := os.Stat(journalPath(b.opts.WorkDir, testPrefix)); err != nil {
				t.Errorf("journal gone after a failed teardown: %v", err)
			}
			if err := b.Close(); err != nil {
				t.Fatalf("second close: %v", err)
			}
			if left := h.left(); len(left) != 0 {
				t.Errorf("left: %q", left)
			}
		})
	}
}

// TestNamespaceWithCompartment: a namespace that HNS created with a compartment needs
// no container.
func TestNamespaceWithCompartment(t *testing.T) {
	b, h, r, _ := newFakeBackend(t)
	b.hcn = compartmentAtCreate{h}
	if err := b.Setup(context.Background(), loadTopology(t, "l2bridge")); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, c := range r.commands() {
		if strings.HasPrefix(c, "ctr-test") {
			t.Errorf("started a container: %q", c)
		}
	}
	if len(b.comps) != 2 || b.comps[testPrefix+"ns-pod-a"] != 42 {
		t.Errorf("compartments: %v", b.comps)
	}
}

// compartmentAtCreate is a fake HNS whose namespaces have a compartment from the start.
type compartmentAtCreate struct{ *fakeHCN }

func (c compartmentAtCreate) CreateNamespace(js []byte) (string, uint32, error) {
	id, _, err := c.fakeHCN.CreateNamespace(js)
	return id, 42, err
}
