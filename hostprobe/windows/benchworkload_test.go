package windows

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hnspath/hnspath/bench/workload"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
)

// fakeDelivery delivers each datagram to the fake HNS endpoint that has its destination
// address, and reports per-component counters for `pktmon counters --json`; pktmon's
// components are the fake's endpoints (id 100+i, PhysAddress their MAC).
type fakeDelivery struct {
	h  *fakeHCN
	mu sync.Mutex
	rx map[int]uint64
}

func (d *fakeDelivery) components() ([]Object, error) {
	eps, err := d.h.List(hns.KindEndpoint)
	return eps, err
}

func (d *fakeDelivery) install(r *fakeRunner, s *fakeSender) {
	r.handlers["pktmon help"] = func([]string) ([]byte, error) { return []byte(helpModern), nil }
	r.handlers["pktmon list"] = func([]string) ([]byte, error) {
		eps, err := d.components()
		if err != nil {
			return nil, err
		}
		type prop struct{ Name, Value string }
		type comp struct {
			Id         int
			Name       string
			Properties []prop
		}
		var cs []comp
		for i, e := range eps {
			cs = append(cs, comp{Id: 100 + i, Name: "Container NIC " + e.Name, Properties: []prop{{"PhysAddress", "0x" + strings.ReplaceAll(strings.ToUpper(e.MAC), "-", "")}}})
		}
		return json.Marshal(cs)
	}
	r.handlers["pktmon counters"] = func([]string) ([]byte, error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		var parts []string
		for id, n := range d.rx {
			parts = append(parts, fmt.Sprintf(`{"Id":%d,"Counters":[{"Edge":1,"Rx":{"Packets":%d}}]}`, id, n))
		}
		return []byte("[" + strings.Join(parts, ",") + "]"), nil
	}
	s.onDatagrams = func(ds []Datagram) {
		eps, _ := d.components()
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, dg := range ds {
			for i, e := range eps {
				for _, a := range e.IPv4 {
					if a == dg.Remote.Addr().String() {
						d.rx[100+i]++
					}
				}
			}
		}
	}
}

// TestBenchAgainstWindowsWorkload runs a bench workload (acl: pod-a to pod-b through
// an ACL) the way `hnspath bench --against windows` does, through workload.NewKernel,
// with BenchProcessors built on the fakes: the workload's own topology is built on the
// fake HNS, its frames are sent as datagrams from pod-a's compartment and counted at
// pod-b's component, and the networks are gone after Close.
func TestBenchAgainstWindowsWorkload(t *testing.T) {
	h, r, s := newFakeHCN(), newFakeRunner(), &fakeSender{}
	containerRunner(r, h)
	d := &fakeDelivery{h: h, rx: map[int]uint64{}}
	d.install(r, s)
	opts := testOptions(t)
	opts.Host = ""
	k := workload.Kernel{Datapath: "windows", Make: func(topo *fabric.Topology, in string, sinks []string) (workload.KernelProcessor, error) {
		o := opts
		if len(topo.Hosts) > 1 {
			o.Host = strings.SplitN(in, "/", 2)[0]
		}
		return NewBenchProcessorOn(NewBackendWith(o, h, r, s), topo, in, sinks)
	}}
	w, err := workload.NewKernel("acl", workload.Params{Flows: 4, Size: 64, N: 2}, workload.Options{}, k)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(w.Name(), "Windows") {
		t.Errorf("name %q, want the Windows prefix", w.Name())
	}
	p, err := w.Prepare(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	proc, err := p.NewProcessor(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := proc.Process(p.Frames); got != len(p.Frames) {
		t.Errorf("Process: %d of %d arrived", got, len(p.Frames))
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if left := h.left(); len(left) != 0 {
		t.Errorf("left: %q", left)
	}
}
