package linux

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hnspath/hnspath/emulator/fabric"
)

// A BenchProcessor is a kernel datapath for the bench runner: it has the method set of
// bench.Processor (Process(frames [][]byte) int), so `hnspath bench --against linux`
// can run a workload's frames through the Linux analogue of its topology.
//
// Process injects each frame at the input port (AF_PACKET, or the host's raw IP socket
// for HOST/host), then waits until the sink ports' kernel counters have grown by the
// batch size or stopped growing, and returns how many frames arrived: received packets
// of an endpoint's, a peer's or the router's interface, transmitted packets of a NIC, or
// deliveries counted by a host's input chain. The kernel does the forwarding on the
// injecting thread (softirq on return from sendto) unless it defers work to ksoftirqd,
// which the wait absorbs.
//
// A BenchProcessor is for one core: the runner's shards would share the kernel's
// counters, so use it with Cores {1} (NewProcessor should return an error for shards > 1).
// Reset empties the conntrack tables, which is what "empty state" means for the kernel
// (NAT mappings and stateful filter entries); call it from Prepared.NewProcessor.
type BenchProcessor struct {
	b     *Backend
	owned bool
	in    *portRT
	sinks []benchSink
	err   error
}

type benchSink struct {
	ns      *Namespace
	ifname  string
	tx      bool   // count transmitted packets (a NIC)
	counter string // count an input-chain counter instead (a host)
}

// NewBenchProcessor builds topo's Linux analogue in its own lab and returns a processor
// that injects at port in and counts frames at the sink ports. Close removes the lab.
func NewBenchProcessor(topo *fabric.Topology, in string, sinks []string, opts BackendOptions) (*BenchProcessor, error) {
	b := NewBackend(opts)
	if err := b.Setup(context.Background(), topo); err != nil {
		return nil, errors.Join(err, b.Close())
	}
	p, err := b.benchProcessor(in, sinks)
	if err != nil {
		return nil, errors.Join(err, b.Close())
	}
	p.owned = true
	return p, nil
}

// benchProcessor returns a processor on b's lab.
func (b *Backend) benchProcessor(in string, sinks []string) (*BenchProcessor, error) {
	rt, ok := b.ports[in]
	if !ok {
		return nil, fmt.Errorf("bench: unknown input port %q", in)
	}
	p := &BenchProcessor{b: b, in: rt}
	for _, s := range sinks {
		srt, ok := b.ports[s]
		if !ok {
			return nil, fmt.Errorf("bench: unknown sink port %q", s)
		}
		switch srt.plan.Role {
		case RoleHost:
			p.sinks = append(p.sinks, benchSink{ns: srt.host.ns, counter: CounterHostDeliver})
		default:
			p.sinks = append(p.sinks, benchSink{ns: b.built.NS(srt.plan.NS), ifname: srt.plan.Ifname, tx: srt.plan.Role == RoleNIC})
		}
	}
	if len(p.sinks) == 0 {
		return nil, fmt.Errorf("bench: no sink ports")
	}
	return p, nil
}

// count returns the sum of the sinks' counters.
func (p *BenchProcessor) count() (uint64, error) {
	var sum uint64
	for _, s := range p.sinks {
		if s.counter != "" {
			c, err := s.ns.Counter(s.counter)
			if err != nil {
				return 0, err
			}
			sum += c.Packets
			continue
		}
		st, err := s.ns.Stats(s.ifname)
		if err != nil {
			return 0, err
		}
		if s.tx {
			sum += st.TxPackets
		} else {
			sum += st.RxPackets
		}
	}
	return sum, nil
}

// Process injects frames and returns how many reached a sink. It does not modify or keep
// the frames. The first error stops processing; Err returns it.
func (p *BenchProcessor) Process(frames [][]byte) int {
	if p.err != nil {
		return 0
	}
	start, err := p.count()
	if err != nil {
		p.err = err
		return 0
	}
	for _, f := range frames {
		if err := p.b.inject(p.in, f); err != nil && errors.Is(err, errClosed) {
			p.err = err
			return 0
		}
	}
	want := uint64(len(frames))
	var got uint64
	deadline := time.Now().Add(200 * time.Millisecond)
	lastChange := time.Now()
	for {
		n, err := p.count()
		if err != nil {
			p.err = err
			return 0
		}
		if n-start != got {
			got, lastChange = n-start, time.Now()
		}
		if got >= want || time.Since(lastChange) > 2*time.Millisecond || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	return int(min(got, want))
}

// Err returns the error that stopped Process, if any.
func (p *BenchProcessor) Err() error { return p.err }

// Reset deletes the conntrack entries of every namespace of the lab (NAT mappings and
// stateful filter state), so the next frames start from empty state.
func (p *BenchProcessor) Reset() error {
	var errs []error
	for _, np := range p.b.built.Layout.Namespaces {
		errs = append(errs, p.b.built.NS(np.Name).FlushConntrack())
	}
	return errors.Join(errs...)
}

// Close removes the lab if NewBenchProcessor made it.
func (p *BenchProcessor) Close() error {
	if p.owned {
		return p.b.Close()
	}
	return nil
}
