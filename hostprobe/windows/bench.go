package windows

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/vfp"
	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/result"
)

// A BenchProcessor runs a bench workload's frames through real HNS networks built from
// the workload's topology, so that `hnspath bench --against windows` puts the emulator
// and Windows side by side. It has the method set of bench/workload.KernelProcessor.
//
// Process sends each frame as a UDP datagram from the input endpoint's compartment
// (Windows has no raw frame injection; TCP workloads are refused), then reads pktmon's
// counters at the sink endpoints' components (a counters-only pktmon session) until they
// have grown by the batch or stopped growing, and returns how many arrived (packets in
// the Rx direction of a sink's vNIC component). Each batch includes a `pktmon counters`
// call, so use large batches. Reset does nothing: HNS offers no call that flushes VFP
// flows or WinNAT sessions.
type BenchProcessor struct {
	b     *Backend
	owned bool
	comp  uint32
	sinks []int
	err   error
}

// NewBenchProcessor builds topo's host on this Windows host and returns a processor
// that sends at port in and counts at the sinks. Close tears it down.
// Of a topology with several hosts it builds the input port's host.
func NewBenchProcessor(topo *fabric.Topology, in string, sinks []string, opts Options) (*BenchProcessor, error) {
	if opts.Host == "" && len(topo.Hosts) > 1 {
		opts.Host, _, _ = strings.Cut(in, "/")
	}
	return NewBenchProcessorOn(NewBackend(opts), topo, in, sinks)
}

// NewBenchProcessorOn is NewBenchProcessor on backend b (tests pass one over fakes).
func NewBenchProcessorOn(b *Backend, topo *fabric.Topology, in string, sinks []string) (*BenchProcessor, error) {
	if err := b.Setup(context.Background(), topo); err != nil {
		return nil, errors.Join(err, b.Close())
	}
	p, err := b.benchProcessor(context.Background(), in, sinks)
	if err != nil {
		return nil, errors.Join(err, b.Close())
	}
	p.owned = true
	return p, nil
}

// benchProcessor starts counting at the sinks' components.
func (b *Backend) benchProcessor(ctx context.Context, in string, sinks []string) (*BenchProcessor, error) {
	b.mu.Lock()
	plan, closed := b.plan, b.closed
	b.mu.Unlock()
	if plan == nil || closed {
		return nil, fmt.Errorf("windows: bench: %w", hostprobe.ErrNotSetUp)
	}
	ep, ok := plan.Ports[in]
	if !ok {
		return nil, fmt.Errorf("windows: bench: input port %q is not an endpoint of host %s: only endpoints send on Windows", in, plan.Host)
	}
	var ns string
	for _, c := range plan.Calls {
		if c.Op == OpCreateEndpoint && c.Name == ep {
			ns = c.Namespace
		}
	}
	b.mu.Lock()
	comp := b.comps[ns]
	b.mu.Unlock()
	if comp == 0 {
		return nil, fmt.Errorf("windows: bench: endpoint %s has no compartment", in)
	}
	syn, err := b.pktmonSyntax(ctx)
	if err != nil {
		return nil, err
	}
	if syn.CountersOnly == nil || syn.Counters == nil {
		return nil, fmt.Errorf("windows: bench: this pktmon (%s syntax) has no JSON counters: %w", syn.Name, errors.ErrUnsupported)
	}
	pm, _, err := b.portMap(ctx, syn)
	if err != nil {
		return nil, err
	}
	p := &BenchProcessor{b: b, comp: comp}
	for _, s := range sinks {
		found := false
		for id, roles := range pm.ByComponent {
			for _, r := range roles {
				if r.Port == s {
					p.sinks = append(p.sinks, id)
					found = true
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("windows: bench: sink %q is not a local endpoint with a pktmon component", s)
		}
	}
	_, _ = b.run.Run(ctx, "pktmon", "stop")
	if _, err := b.command(ctx, "pktmon", syn.CountersOnly(p.sinks)...); err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.capturing = true
	b.mu.Unlock()
	return p, nil
}

// count returns the sinks' received packets.
func (p *BenchProcessor) count() (uint64, error) {
	syn, err := p.b.pktmonSyntax(context.Background())
	if err != nil {
		return 0, err
	}
	out, err := p.b.command(context.Background(), "pktmon", syn.Counters...)
	if err != nil {
		return 0, err
	}
	cs, err := parsePktmonCounters("pktmon counters --json", []byte(out))
	if err != nil {
		return 0, err
	}
	var sum uint64
	for _, id := range p.sinks {
		sum += cs[id].In
	}
	return sum, nil
}

// datagrams turns frames into UDP datagrams (IPv4 UDP only).
func datagrams(frames [][]byte) ([]Datagram, error) {
	out := make([]Datagram, 0, len(frames))
	for i, f := range frames {
		t, ok := TupleOf(f, vfp.Out)
		if !ok || t.Proto != 17 {
			return nil, fmt.Errorf("windows: bench: frame %d is not IPv4 UDP: Windows sends workloads from sockets: %w", i+1, errors.ErrUnsupported)
		}
		out = append(out, Datagram{Local: netip.AddrPortFrom(t.Src, t.SrcPort), Remote: netip.AddrPortFrom(t.Dst, t.DstPort), Payload: udpPayload(f)})
	}
	return out, nil
}

// Process sends frames and returns how many reached a sink. The first error stops
// processing; Err returns it.
func (p *BenchProcessor) Process(frames [][]byte) int {
	if p.err != nil {
		return 0
	}
	ds, err := datagrams(frames)
	if err != nil {
		p.err = err
		return 0
	}
	start, err := p.count()
	if err != nil {
		p.err = err
		return 0
	}
	if _, err := p.b.send.UDPBatch(p.comp, ds); err != nil {
		p.err = err
		return 0
	}
	want := uint64(len(frames))
	var got uint64
	for tries := 0; tries < 50; tries++ {
		n, err := p.count()
		if err != nil {
			p.err = err
			return 0
		}
		if n < start {
			p.err = fmt.Errorf("windows: bench: pktmon counters went back from %d to %d (reset by someone else?)", start, n)
			return 0
		}
		grew := n-start != got
		got = n - start
		if got >= want || (!grew && tries > 0) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	return int(min(got, want))
}

// Err returns the error that stopped Process, if any.
func (p *BenchProcessor) Err() error { return p.err }

// Reset does nothing (see BenchProcessor).
func (p *BenchProcessor) Reset() error { return nil }

// Close stops counting and tears the networks down if NewBenchProcessor built them.
func (p *BenchProcessor) Close() error {
	if p.owned {
		return p.b.Close()
	}
	return nil
}

// Throughput sends w's frames from its input endpoint in batches for w.Duration and
// counts what arrives at the sinks (see BenchProcessor).
func (b *Backend) Throughput(ctx context.Context, w hostprobe.Workload) (hostprobe.Throughput, error) {
	if err := hostprobe.CheckWorkload(&w); err != nil {
		return hostprobe.Throughput{}, err
	}
	p, err := b.benchProcessor(ctx, w.In, w.Sinks)
	if err != nil {
		return hostprobe.Throughput{}, err
	}
	t := hostprobe.Throughput{Backend: result.BackendWindows, Workload: w.Name}
	begin := time.Now()
	for i := 0; time.Since(begin) < w.Duration && ctx.Err() == nil; i += w.Batch {
		var batch [][]byte
		for j := 0; j < w.Batch; j++ {
			batch = append(batch, w.Frames[(i+j)%len(w.Frames)])
		}
		t.Received += uint64(p.Process(batch))
		if p.err != nil {
			return t, p.err
		}
		t.Sent += uint64(len(batch))
	}
	t.Elapsed = time.Since(begin)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.capturing {
		if _, err := b.command(ctx, "pktmon", "stop"); err != nil {
			return t, err
		}
		b.capturing = false
	}
	return t, ctx.Err()
}
