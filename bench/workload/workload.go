package workload

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
	"unsafe"

	"github.com/hnspath/hnspath/bench"
	"github.com/hnspath/hnspath/emulator/fabric"
)

// A setup is what a mode contributes to a workload: the topology, where frames
// enter and must come out, and how to build and check the frames of a flow.
type setup struct {
	// topo is the world; build, when set, makes fabrics of it instead of
	// fabric.New.
	topo  fabric.Topology
	build func(fabric.Options) (*fabric.Fabric, error)
	// routes says, by source MAC, at which port a frame enters and at which
	// port it must be delivered.
	routes []route
	// legs are the frames of one flow per pass, in order: the first starts
	// the flow, the others are its replies.
	legs []leg
	// maxFlows bounds flows plus new flows (address and port space), 0 for
	// MaxFrames.
	maxFlows int
	// counter returns the flows created so far in f (sessions, unified
	// flows), or nil when the mode has no flow state to count.
	counter func(f *fabric.Fabric) uint64
}

// A route maps a source MAC to the port where its frames enter and the port
// where they must be delivered ("" for any port).
type route struct {
	mac     macAddr
	in, out string
}

// A leg is one frame of a flow.
type leg struct {
	// build returns the frame of flow i at size bytes (FCS included), built in a.
	build func(a *arena, i, size int) ([]byte, error)
	// maxSize caps the size (a container's MTU), 0 for none.
	maxSize int
	// check verifies the frame delivered for flow i.
	check func(i int, out []byte) error
}

// passNS is the virtual duration of one pass over a workload's frames when it
// has new flows: longer than any idle timeout of the emulator (VFP flows
// 240 s, WinNAT UDP sessions 120 s), so each pass re-creates the new flows,
// while established flows, sent `rounds` times per pass, idle at most
// passNS/rounds = 75 s.
const (
	passNS = int64(300 * time.Second)
	rounds = 4
	// startNS is the virtual time of the first packet.
	startNS = int64(time.Second)
)

type fabricWorkload struct {
	mode Mode
	p    Params
	opt  Options
}

func (w *fabricWorkload) name() string { return w.mode.Name }

// layout is how a workload's flows and frames are arranged.
type layout struct {
	established int  // flows sent every round
	fresh       int  // new flows, sent once per pass
	rounds      int  // passes over the established flows per pass
	tiny        bool // IMIX with fewer than 12 established flows: sizes vary by round too
}

func (w *fabricWorkload) layout(legs int) (layout, error) {
	r := w.p.NewFlowRatio
	l := layout{established: w.p.Flows, rounds: 1}
	switch {
	case r > 0 && r*float64(legs) >= 1-1e-9:
		l = layout{fresh: w.p.Flows, rounds: 1}
	case r > 0:
		l.rounds = rounds
		l.fresh = max(1, int(math.Round(r*float64(l.established*rounds*legs)/(1-r*float64(legs)))))
	}
	if w.p.Size == IMIX && l.established > 0 && l.established < len(imixSizes) {
		l.tiny = true
		l.rounds = len(imixSizes) // a multiple of rounds, and of 12 packets
	}
	frames := (int64(l.established)*int64(l.rounds) + int64(l.fresh)) * int64(legs)
	if frames > MaxFrames {
		return l, fmt.Errorf("%w: %s: %d flows and new-flow ratio %v make %d frames, more than %d", ErrParams, w.name(), w.p.Flows, r, frames, MaxFrames)
	}
	return l, nil
}

func (w *fabricWorkload) prepare(ctx context.Context) (*bench.Prepared, error) {
	l, err := w.layout(w.mode.Legs)
	if err != nil {
		return nil, err
	}
	s, err := w.mode.setup(w.p, l.established+l.fresh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", w.name(), err)
	}
	if len(s.legs) != w.mode.Legs {
		return nil, fmt.Errorf("%s: %d legs, want %d", w.name(), len(s.legs), w.mode.Legs)
	}
	if s.build == nil {
		topo := s.topo
		s.build = func(o fabric.Options) (*fabric.Fabric, error) { return fabric.New(topo, o) }
	}
	if s.maxFlows > 0 && l.established+l.fresh > s.maxFlows {
		return nil, fmt.Errorf("%w: %s: %d flows (new ones included), at most %d fit the workload's addresses and ports", ErrParams, w.name(), l.established+l.fresh, s.maxFlows)
	}
	g, err := generate(ctx, s, l, w.p.Size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", w.name(), err)
	}
	if err := checkSample(s, g, l); err != nil {
		return nil, fmt.Errorf("%s: %w", w.name(), err)
	}
	pr := newProcessors(s, g.frames, g.flow, w.p.NewFlowRatio > 0, w.opt)
	return &bench.Prepared{
		Frames:       g.frames,
		Flow:         g.flow,
		Flows:        l.established + l.fresh,
		Stateful:     true,
		NewProcessor: pr.new,
	}, nil
}

// generated are a workload's frames.
type generated struct {
	frames [][]byte
	flow   []uint32
	first  []int32 // index in frames of each flow's first frame
}

// generate builds the frames of one pass: the established flows round after
// round, with the new flows spread evenly between them (Bresenham), every flow's
// legs back to back. Frames of one flow are built once per size and reused
// across rounds.
func generate(ctx context.Context, s *setup, l layout, size Size) (*generated, error) {
	d := len(s.legs)
	units := l.established*l.rounds + l.fresh
	g := &generated{
		frames: make([][]byte, 0, units*d),
		flow:   make([]uint32, 0, units*d),
		first:  make([]int32, l.established+l.fresh),
	}
	for i := range g.first {
		g.first[i] = -1
	}
	var a arena
	build := func(flow, pos int) error {
		if g.first[flow] < 0 {
			g.first[flow] = int32(len(g.frames))
		}
		for j := range s.legs {
			lg := &s.legs[j]
			sz := size.frameSize(pos)
			if lg.maxSize > 0 {
				sz = min(sz, lg.maxSize)
			}
			b, err := lg.build(&a, flow, sz)
			if err != nil {
				return fmt.Errorf("flow %d frame %d: %w", flow, j+1, err)
			}
			g.frames = append(g.frames, b)
			g.flow = append(g.flow, uint32(flow))
		}
		return nil
	}
	// The frames of an established flow's first round, reused later.
	reuse := !l.tiny && l.rounds > 1
	var kept [][]byte
	if reuse {
		kept = make([][]byte, l.established*d)
	}
	var acc, est, fresh int
	for u := range units {
		if u&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		acc += l.fresh
		if acc >= units {
			acc -= units
			flow := l.established + fresh
			if err := build(flow, fresh); err != nil {
				return nil, err
			}
			fresh++
			continue
		}
		r, i := est/max(l.established, 1), est%max(l.established, 1)
		est++
		switch {
		case reuse && r > 0:
			for j := range d {
				g.frames = append(g.frames, kept[i*d+j])
				g.flow = append(g.flow, uint32(i))
			}
		default:
			pos := i
			if l.tiny {
				pos = r*l.established + i
			}
			if err := build(i, pos); err != nil {
				return nil, err
			}
			if reuse {
				copy(kept[i*d:], g.frames[len(g.frames)-d:])
			}
		}
	}
	return g, nil
}

// sampleSize is how many established and how many new flows checkSample sends.
const sampleSize = 16

// checkSample sends the frames of a sample of flows (the first and last
// established and new flows and some between) through a fresh fabric and
// checks that each comes out at its port as the mode expects.
func checkSample(s *setup, g *generated, l layout) error {
	f, err := s.build(fabric.Options{})
	if err != nil {
		return fmt.Errorf("build the topology: %w", err)
	}
	rt, err := resolveRoutes(f, s.routes)
	if err != nil {
		return err
	}
	var res fabric.Outcome
	now := startNS
	for _, span := range [][2]int{{0, l.established}, {l.established, l.established + l.fresh}} {
		n := span[1] - span[0]
		for k := range min(n, sampleSize) {
			flow := span[0] + k*(n-1)/max(min(n, sampleSize)-1, 1)
			at := int(g.first[flow])
			for j := range s.legs {
				fr := g.frames[at+j]
				r, ok := rt.lookup(fr)
				if !ok {
					return fmt.Errorf("sample flow %d frame %d: no route for source MAC % x", flow, j+1, fr[6:12])
				}
				now++
				f.Inject(r.in, fr, now, &res)
				out, err := delivered(f, &res, r)
				if err != nil {
					return fmt.Errorf("sample flow %d frame %d (%s -> %s): %w", flow, j+1, f.Port(r.in).Name, portName(f, r.out), err)
				}
				if err := s.legs[j].check(flow, out); err != nil {
					return fmt.Errorf("sample flow %d frame %d (%s -> %s): %w", flow, j+1, f.Port(r.in).Name, portName(f, r.out), err)
				}
			}
		}
	}
	return nil
}

func portName(f *fabric.Fabric, p fabric.PortID) string {
	if p == fabric.NoPort {
		return "any port"
	}
	return f.Port(p).Name
}

// delivered returns the frame res delivered at r.out, or an error naming the
// drop (component, place, reason, VFP rule) or where it went instead.
func delivered(f *fabric.Fabric, res *fabric.Outcome, r portRoute) ([]byte, error) {
	var got []string
	for _, o := range res.Outputs {
		if o.Kind != fabric.Delivered {
			continue
		}
		if r.out == fabric.NoPort || o.Port == r.out {
			if len(res.Drops) == 0 {
				return o.Frame, nil
			}
		}
		got = append(got, f.Port(o.Port).Name)
	}
	if len(res.Drops) > 0 {
		return nil, fmt.Errorf("dropped: %s", describeDrop(&res.Drops[0]))
	}
	if len(got) == 0 {
		return nil, fmt.Errorf("went nowhere (no output, no drop)")
	}
	return nil, fmt.Errorf("delivered at %s", strings.Join(got, ", "))
}

// describeDrop formats a drop as "host1 vfp at pod-a: Filtered [vfp-block] (layer L, group G, rule R)".
func describeDrop(d *fabric.Drop) string {
	var b strings.Builder
	if d.Host != "" {
		b.WriteString(d.Host + " ")
	}
	b.WriteString(d.Component)
	if d.Where != "" {
		b.WriteString(" at " + d.Where)
	}
	fmt.Fprintf(&b, ": %s [%s]", d.Reason.Text(), d.Reason)
	if d.Layer != "" || d.Rule != "" {
		fmt.Fprintf(&b, " (layer %s, group %s, rule %s)", d.Layer, d.Group, d.Rule)
	}
	return b.String()
}

// A portRoute is a route with its ports resolved in one fabric.
type portRoute struct {
	mac     uint64
	in, out fabric.PortID
}

// routeTable finds a frame's route by source MAC (a short list scanned, or a
// map), or by the frame's address (byPtr, for replays whose frames enter at
// several ports). Lookups do not allocate.
type routeTable struct {
	list  []portRoute
	byMAC map[uint64]portRoute
	byPtr map[*byte]portRoute
}

func resolveRoutes(f *fabric.Fabric, routes []route) (*routeTable, error) {
	rt := &routeTable{}
	for _, r := range routes {
		in, ok := f.PortByName(r.in)
		if !ok {
			return nil, fmt.Errorf("topology has no port %q", r.in)
		}
		out := fabric.NoPort
		if r.out != "" {
			if out, ok = f.PortByName(r.out); !ok {
				return nil, fmt.Errorf("topology has no port %q", r.out)
			}
		}
		rt.list = append(rt.list, portRoute{mac: r.mac.key(), in: in, out: out})
	}
	if len(rt.list) > 4 {
		rt.byMAC = make(map[uint64]portRoute, len(rt.list))
		for _, r := range rt.list {
			rt.byMAC[r.mac] = r
		}
	}
	return rt, nil
}

func (rt *routeTable) lookup(fr []byte) (portRoute, bool) {
	if rt.byPtr != nil {
		r, ok := rt.byPtr[unsafe.SliceData(fr)]
		return r, ok
	}
	if len(fr) < 12 {
		return portRoute{}, false
	}
	k := srcMACKey(fr)
	if rt.byMAC != nil {
		r, ok := rt.byMAC[k]
		return r, ok
	}
	for _, r := range rt.list {
		if r.mac == k {
			return r, true
		}
	}
	return portRoute{}, false
}

// processors makes the per-core fabrics of a workload.
type processors struct {
	s      *setup
	frames [][]byte
	flow   []uint32
	clock  bool // advance the virtual clock (new flows)
	opt    Options
	dt     map[[2]int]int64 // (shard, shards) -> ns per packet
	// byPtr, when set, routes frames by address (replays), with the port
	// IDs of the fabric the replay was checked on; ports names them, so
	// new can verify that its fabric numbers ports the same way.
	byPtr map[*byte]portRoute
	ports map[string]fabric.PortID
}

func newProcessors(s *setup, frames [][]byte, flow []uint32, clock bool, opt Options) *processors {
	return &processors{s: s, frames: frames, flow: flow, clock: clock, opt: opt, dt: map[[2]int]int64{}}
}

// new returns the processor of shard shard of shards: a fabric of its own.
func (ps *processors) new(shard, shards int) (bench.Processor, error) {
	f, err := ps.s.build(fabric.Options{Shard: shard, Shards: shards})
	if err != nil {
		return nil, err
	}
	rt, err := resolveRoutes(f, ps.s.routes)
	if err != nil {
		return nil, err
	}
	if ps.byPtr != nil {
		// Read-only and shared by every processor.
		for name, id := range ps.ports {
			if got, ok := f.PortByName(name); !ok || got != id {
				return nil, fmt.Errorf("port %q is %d in one fabric of the topology and %d in another", name, id, got)
			}
		}
		rt.byPtr = ps.byPtr
	}
	p := &processor{f: f, rt: rt, now: startNS, spin: ps.opt.Spin}
	if len(rt.list) == 1 && rt.byPtr == nil {
		p.fixed, p.route = true, rt.list[0]
	}
	if ps.clock {
		p.dt = ps.step(shard, shards)
	}
	if ps.s.counter == nil {
		return p, nil
	}
	return &countingProcessor{processor: p, count: ps.s.counter}, nil
}

// step returns the virtual time per packet that makes one pass over the
// shard's frames last passNS.
func (ps *processors) step(shard, shards int) int64 {
	k := [2]int{shard, shards}
	if dt, ok := ps.dt[k]; ok {
		return dt
	}
	n := 0
	for _, fl := range ps.flow {
		if bench.ShardOf(fl, shards) == shard {
			n++
		}
	}
	dt := passNS / int64(max(n, 1))
	ps.dt[k] = dt
	return dt
}

// processor runs frames through one fabric.
type processor struct {
	f     *fabric.Fabric
	rt    *routeTable
	fixed bool // every frame takes route
	route portRoute
	res   fabric.Outcome
	now   int64
	dt    int64 // virtual ns per packet
	spin  int
	sink  uint64
}

// Process injects each frame at its port and counts those delivered at the
// expected port. It does not allocate in steady state.
func (p *processor) Process(frames [][]byte) int {
	n := 0
	for _, fr := range frames {
		r := p.route
		if !p.fixed {
			var ok bool
			if r, ok = p.rt.lookup(fr); !ok {
				r.in = fabric.NoPort
			}
		}
		p.now += p.dt
		p.f.Inject(r.in, fr, p.now, &p.res)
		if len(p.res.Drops) == 0 {
			for i := range p.res.Outputs {
				o := &p.res.Outputs[i]
				if o.Kind == fabric.Delivered && (r.out == fabric.NoPort || o.Port == r.out) {
					n++
					break
				}
			}
		}
		if p.spin > 0 {
			p.sink = spin(p.sink, p.spin)
		}
	}
	return n
}

// spin runs n rounds of a dependent multiply-add (the LCG of Knuth's MMIX):
// busy work the compiler cannot drop or vectorise.
func spin(x uint64, n int) uint64 {
	for range n {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// countingProcessor is a processor whose mode counts created flows.
type countingProcessor struct {
	*processor
	count func(f *fabric.Fabric) uint64
}

// FlowsCreated returns the flows the fabric created (see setup.counter).
func (c *countingProcessor) FlowsCreated() uint64 { return c.count(c.f) }
