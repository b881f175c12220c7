package workload

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hnspath/hnspath/bench"
	"github.com/hnspath/hnspath/emulator/fabric"
)

// A KernelProcessor is a real datapath built for a workload's topology
// (hostprobe/linux.BenchProcessor): it processes frames like a bench
// Processor, Reset empties its connection state, and Close tears it down.
type KernelProcessor interface {
	bench.Processor
	Reset() error
	Close() error
}

// KernelFunc builds a real datapath for topo, where frames enter at port in
// and are counted when they come out at the sink ports.
type KernelFunc func(topo *fabric.Topology, in string, sinks []string) (KernelProcessor, error)

// A Kernel says which real datapath runs each workload a second time, so
// that one `hnspath bench` run reports the emulator and the kernel side by
// side (issue: `hnspath bench --against linux`).
type Kernel struct {
	// Datapath names it ("linux"); it becomes the key datapath=<name> and
	// the prefix of the benchmark name.
	Datapath string
	Make     KernelFunc
}

// ErrNoKernel says a workload has no form a kernel processor can run.
var ErrNoKernel = errors.New("no kernel analogue")

// NewKernel returns workload name with parameters p run through the real
// datapath k instead of the emulator: the same topology, flows and frames,
// named k.Datapath (capitalised) + the emulator benchmark's name, with the
// same keys plus datapath=k.Datapath. A kernel datapath runs on one core
// (its counters are shared), and builds once: the runner's fresh
// processors between trials are the same one after Reset.
func NewKernel(name string, p Params, opt Options, k Kernel) (bench.Workload, error) {
	m, ok := ModeByName(name)
	if !ok {
		return nil, fmt.Errorf("%w: no workload %q (see --list)", ErrParams, name)
	}
	if m.Param == "" {
		p.N = 0
	}
	if err := m.Validate(p); err != nil {
		return nil, err
	}
	if m.Legs != 1 {
		return nil, fmt.Errorf("%w: %s sends at %d ports per flow; a kernel processor injects at one", ErrNoKernel, name, m.Legs)
	}
	w := &fabricWorkload{mode: m, p: p, opt: opt}
	keys := append(m.keys(p), bench.KV{Key: "datapath", Value: k.Datapath})
	return bench.Define(kernelName(k.Datapath, m.Bench), keys, func(ctx context.Context) (*bench.Prepared, error) {
		return w.prepareKernel(ctx, k)
	}), nil
}

func kernelName(datapath, bench string) string {
	if datapath == "" {
		return bench
	}
	b := []byte(datapath)
	if 'a' <= b[0] && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return string(b) + bench
}

// prepareKernel generates the workload's frames as for the emulator
// (checked on a fabric first), then builds the kernel datapath for the same
// topology.
func (w *fabricWorkload) prepareKernel(ctx context.Context, k Kernel) (*bench.Prepared, error) {
	l, err := w.layout(w.mode.Legs)
	if err != nil {
		return nil, err
	}
	s, err := w.mode.setup(w.p, l.established+l.fresh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", w.name(), err)
	}
	if s.build != nil {
		return nil, fmt.Errorf("%w: %s builds its fabric in code", ErrNoKernel, w.name())
	}
	topo := s.topo
	s.build = func(o fabric.Options) (*fabric.Fabric, error) { return fabric.New(topo, o) }
	g, err := generate(ctx, s, l, w.p.Size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", w.name(), err)
	}
	if err := checkSample(s, g, l); err != nil {
		return nil, fmt.Errorf("%s: %w", w.name(), err)
	}
	in, sinks := "", map[string]bool{}
	for _, r := range s.routes {
		if in != "" && r.in != in {
			return nil, fmt.Errorf("%w: %s enters at %s and %s", ErrNoKernel, w.name(), in, r.in)
		}
		in = r.in
		if r.out != "" {
			sinks[r.out] = true
		}
	}
	var sl []string
	for p := range sinks {
		sl = append(sl, p)
	}
	kp, err := k.Make(&topo, in, sl)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", w.name(), k.Datapath, err)
	}
	var once sync.Once
	closeK := func() error {
		var err error
		once.Do(func() { err = kp.Close() })
		return err
	}
	return &bench.Prepared{
		Frames: g.frames,
		Flow:   g.flow,
		Flows:  l.established + l.fresh,
		NewProcessor: func(shard, shards int) (bench.Processor, error) {
			if shards != 1 {
				return nil, fmt.Errorf("%s on %s: a kernel datapath runs on one core, not %d", w.name(), k.Datapath, shards)
			}
			if err := kp.Reset(); err != nil {
				return nil, err
			}
			return kp, nil
		},
		Close: closeK,
	}, nil
}
