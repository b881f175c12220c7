package workload

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/hnspath/hnspath/emulator/fabric"
)

// Soak replays flows through one workload mode for a long virtual time and
// records what a leak or a false drop would show: the heap in use after
// each pass (after a collection) and every frame that was not delivered.
//
// The mode's flows form two sets of SoakConfig.Flows flows each. Pass p
// sends every flow of set p%2 (each leg of each flow, spread over
// SoakConfig.Spread of virtual time), then the clock jumps SoakConfig.Gap
// ahead, longer than every idle timeout (WinNAT's TCP established 1800 s,
// VFP's flow TTL 240 s): by the next pass every flow of the last one has
// expired. A pass thus creates all its flows anew (NAT sessions and ports,
// VFP unified and layer flows) while the other set's are still there,
// expired: Passes*Flows flows in all, at most 2*Flows in the tables. Memory
// must stay flat from pass to pass and every frame must be delivered: a
// full table, an exhausted port range or a lost flow is a false drop here.
type SoakConfig struct {
	Mode   string
	N      int           // the mode's own parameter (acl rules, lb backends); 0: 10
	Flows  int           // flows per pass (default 50,000)
	Passes int           // default 20
	Spread time.Duration // virtual time of one pass (default 60 s)
	Gap    time.Duration // virtual time between passes (default 2 h)
}

// SoakResult is what Soak measured.
type SoakResult struct {
	Mode         string
	Passes       int
	Packets      uint64 // frames injected
	Delivered    uint64 // frames delivered at their expected port
	FlowsCreated uint64 // flows the mode's state made (NAT sessions or unified flows), when it counts them
	// HeapInUse is runtime.MemStats.HeapInuse after each pass, after a GC;
	// HeapAlloc the live objects' bytes among them (HeapAlloc).
	HeapInUse, HeapAlloc []uint64
	// Drops counts the frames not delivered, by drop reason ("not
	// delivered" when nothing dropped them but they did not arrive).
	Drops map[string]uint64
	// VirtualTime is the virtual time the soak covered.
	VirtualTime time.Duration
}

// Growth returns the heap growth from the end of the second pass (both
// flow sets made once: the steady state) to the end of the last, in bytes
// (negative when it shrank).
func (r *SoakResult) Growth() int64 {
	if len(r.HeapInUse) < 3 {
		return 0
	}
	return int64(r.HeapInUse[len(r.HeapInUse)-1]) - int64(r.HeapInUse[1])
}

// Peak returns the largest heap in use sampled.
func (r *SoakResult) Peak() uint64 {
	var m uint64
	for _, h := range r.HeapInUse {
		m = max(m, h)
	}
	return m
}

// String summarises r on one line.
func (r *SoakResult) String() string {
	var drops []string
	for k, v := range r.Drops {
		drops = append(drops, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(drops)
	d := "none"
	if len(drops) > 0 {
		d = strings.Join(drops, ",")
	}
	h := r.HeapInUse
	return fmt.Sprintf("%s: %d passes, %d packets, %d delivered, %d flows created, %v virtual; heap in use %.1f MiB after pass 2, %.1f MiB after pass %d, %.1f MiB at the end (growth %+.1f MiB, peak %.1f MiB; live objects %.1f -> %.1f MiB); drops %s",
		r.Mode, r.Passes, r.Packets, r.Delivered, r.FlowsCreated, r.VirtualTime,
		mib(h[min(1, len(h)-1)]), mib(h[len(h)/2]), len(h)/2+1, mib(h[len(h)-1]), float64(r.Growth())/(1<<20), mib(r.Peak()),
		mib(r.HeapAlloc[min(1, len(h)-1)]), mib(r.HeapAlloc[len(h)-1]), d)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// Soak runs c (see SoakConfig). It returns an error when the workload
// cannot be built; drops and memory are in the result, for the caller to
// judge.
func Soak(ctx context.Context, c SoakConfig) (*SoakResult, error) {
	m, ok := ModeByName(c.Mode)
	if !ok {
		return nil, fmt.Errorf("%w: no workload %q (see --list)", ErrParams, c.Mode)
	}
	if c.N == 0 {
		c.N = 10
	}
	if c.Flows <= 0 {
		c.Flows = 50_000
	}
	if c.Passes <= 0 {
		c.Passes = 20
	}
	if c.Spread <= 0 {
		c.Spread = time.Minute
	}
	if c.Gap <= 0 {
		c.Gap = 2 * time.Hour
	}
	p := Params{Flows: 2 * c.Flows, Size: 64, N: c.N}
	if m.Param == "" {
		p.N = 0
	}
	if err := m.Validate(p); err != nil {
		return nil, err
	}
	s, err := m.setup(p, 2*c.Flows)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Name, err)
	}
	if s.maxFlows > 0 && 2*c.Flows > s.maxFlows {
		return nil, fmt.Errorf("%w: %s: 2x%d flows, at most %d fit the workload's addresses and ports", ErrParams, m.Name, c.Flows, s.maxFlows)
	}
	if s.build == nil {
		topo := s.topo
		s.build = func(o fabric.Options) (*fabric.Fabric, error) { return fabric.New(topo, o) }
	}
	g, err := generate(ctx, s, layout{established: 2 * c.Flows, rounds: 1}, 64)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Name, err)
	}
	f, err := s.build(fabric.Options{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Name, err)
	}
	rt, err := resolveRoutes(f, s.routes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Name, err)
	}
	per := c.Flows * len(s.legs) // frames of one set
	r := &SoakResult{Mode: m.Name, Passes: c.Passes, Drops: map[string]uint64{}}
	dt := int64(c.Spread) / int64(per)
	now := int64(startNS)
	var res fabric.Outcome
	var ms runtime.MemStats
	for pass := 0; pass < c.Passes; pass++ {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		set := g.frames[(pass%2)*per : (pass%2+1)*per]
		for _, fr := range set {
			route, ok := rt.lookup(fr)
			if !ok {
				route.in = fabric.NoPort
			}
			now += dt
			f.Inject(route.in, fr, now, &res)
			r.Packets++
			delivered := false
			for i := range res.Outputs {
				if o := &res.Outputs[i]; o.Kind == fabric.Delivered && (route.out == fabric.NoPort || o.Port == route.out) {
					delivered = true
					break
				}
			}
			switch {
			case delivered:
				r.Delivered++
			case len(res.Drops) > 0:
				r.Drops[res.Drops[0].Reason.String()]++
			default:
				r.Drops["not delivered"]++
			}
		}
		now += int64(c.Gap)
		runtime.GC()
		runtime.ReadMemStats(&ms)
		r.HeapInUse = append(r.HeapInUse, ms.HeapInuse)
		r.HeapAlloc = append(r.HeapAlloc, ms.HeapAlloc)
	}
	if s.counter != nil {
		r.FlowsCreated = s.counter(f)
	}
	r.VirtualTime = time.Duration(now - startNS)
	runtime.KeepAlive(f)
	return r, nil
}
