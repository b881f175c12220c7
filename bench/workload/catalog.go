package workload

import (
	"errors"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/bench"
)

// Limits of the parameters.
const (
	// MaxFlows is the largest flow count (the "1 to 1M").
	MaxFlows = 1_000_000
	// MaxFrames bounds the frames one workload generates (flows times rounds
	// times directions, plus new flows): about 4M.
	MaxFrames = 1 << 22
	// MaxRules and MaxBackends bound the acl and lb parameters.
	MaxRules    = 60_000
	MaxBackends = 1000
)

// Defaults of a Matrix.
var (
	DefaultFlows    = []int{10_000}
	DefaultSizes    = []Size{64}
	DefaultRules    = []int{10, 1000, 10_000}
	DefaultBackends = []int{10, 100, 1000}
)

// Params are the parameters of one workload.
type Params struct {
	// Flows is the number of concurrent flows, 1..MaxFlows.
	Flows int
	// Size is the frame size (FCS included) or IMIX.
	Size Size
	// NewFlowRatio is the fraction of packets that start a new flow, in [0, 1].
	NewFlowRatio float64
	// N is the mode's own parameter (Mode.Param): ACL rules for acl, load
	// balancer backends for lb; ignored by other modes.
	N int
}

// Options are settings of the generated workloads that are not parameters and
// do not show in benchmark names.
type Options struct {
	// Spin adds this many rounds of busy work (a dependent multiply-add) per
	// packet to every processor. Tests use it to make a deliberately slowed
	// workload; it is not a user setting.
	Spin int
}

// A Mode is a kind of workload: a network mode and the traffic sent through it.
type Mode struct {
	// Name is the workload's name on the command line, e.g. "nat-outbound".
	Name string
	// Bench is the benchmark base name, e.g. "NATOutbound".
	Bench string
	// Summary says what is sent where.
	Summary string
	// Param names the mode's own parameter ("rules", "backends"), or "".
	Param string
	// Legs is the number of frames per flow and pass: 2 when the flow's replies
	// are sent too.
	Legs int

	// setup builds the mode's topology and legs for p and total flows
	// (established and new).
	setup func(p Params, total int) (*setup, error)
}

// Keys returns the keys of the mode's benchmark names, in order, without values:
// the mode's own parameter, flows, size, new (only when the ratio is not 0) and
// cores (added by the runner).
func (m *Mode) Keys() []string {
	var ks []string
	if m.Param != "" {
		ks = append(ks, m.Param)
	}
	return append(ks, "flows", "size", "new", "cores")
}

// Modes returns the workload modes in display order.
func Modes() []Mode { return append([]Mode(nil), modes...) }

// ModeByName returns the mode called name.
func ModeByName(name string) (Mode, bool) {
	for _, m := range modes {
		if m.Name == name {
			return m, true
		}
	}
	return Mode{}, false
}

// ErrParams is wrapped by errors about workload parameters and names.
var ErrParams = errors.New("bad workload parameters")

// Match returns the modes whose names match any of the glob patterns (path.Match
// syntax: *, ?, [...]), in display order. An empty list matches every mode. A
// pattern that is malformed or matches nothing is an error.
func Match(patterns []string) ([]Mode, error) {
	if len(patterns) == 0 {
		return Modes(), nil
	}
	hit := make([]bool, len(modes))
	for _, pat := range patterns {
		found := false
		for i, m := range modes {
			ok, err := path.Match(pat, m.Name)
			if err != nil {
				return nil, fmt.Errorf("%w: workload pattern %q: %w", ErrParams, pat, err)
			}
			if ok {
				hit[i], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: workload pattern %q matches no workload (see --list)", ErrParams, pat)
		}
	}
	var out []Mode
	for i, m := range modes {
		if hit[i] {
			out = append(out, m)
		}
	}
	return out, nil
}

// ParseSize parses "64", "1500", "imix".
func ParseSize(s string) (Size, error) {
	if strings.EqualFold(s, "imix") {
		return IMIX, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%w: size %q: want a frame size in bytes (%d..%d) or imix", ErrParams, s, MinSize, MaxSize)
	}
	sz := Size(n)
	if err := sz.validate(); err != nil {
		return 0, err
	}
	return sz, nil
}

func (s Size) validate() error {
	if s == IMIX || (s >= MinSize && s <= MaxSize) {
		return nil
	}
	return fmt.Errorf("%w: size %d: want %d..%d bytes (FCS included) or imix", ErrParams, int(s), MinSize, MaxSize)
}

// Validate checks p for mode m.
func (m *Mode) Validate(p Params) error {
	if p.Flows < 1 || p.Flows > MaxFlows {
		return fmt.Errorf("%w: %s: flows %d, want 1..%d", ErrParams, m.Name, p.Flows, MaxFlows)
	}
	if err := p.Size.validate(); err != nil {
		return fmt.Errorf("%s: %w", m.Name, err)
	}
	r := p.NewFlowRatio
	if math.IsNaN(r) || r < 0 || r > 1 {
		return fmt.Errorf("%w: %s: new-flow ratio %v, want 0..1", ErrParams, m.Name, r)
	}
	if r*float64(m.Legs) > 1+1e-9 {
		return fmt.Errorf("%w: %s: new-flow ratio %v: at most %v of this workload's packets can start a flow (each flow also sends its %d replies)",
			ErrParams, m.Name, r, 1/float64(m.Legs), m.Legs-1)
	}
	switch m.Param {
	case "rules":
		if p.N < 1 || p.N > MaxRules {
			return fmt.Errorf("%w: %s: rules %d, want 1..%d", ErrParams, m.Name, p.N, MaxRules)
		}
	case "backends":
		if p.N < 1 || p.N > MaxBackends {
			return fmt.Errorf("%w: %s: backends %d, want 1..%d", ErrParams, m.Name, p.N, MaxBackends)
		}
	}
	return nil
}

// keys returns the benchmark keys of m with p.
func (m *Mode) keys(p Params) []bench.KV {
	var kv []bench.KV
	if m.Param != "" {
		kv = append(kv, bench.KV{Key: m.Param, Value: strconv.Itoa(p.N)})
	}
	kv = append(kv, bench.KV{Key: "flows", Value: strconv.Itoa(p.Flows)}, bench.KV{Key: "size", Value: p.Size.String()})
	if p.NewFlowRatio > 0 {
		kv = append(kv, bench.KV{Key: "new", Value: strconv.FormatFloat(p.NewFlowRatio, 'g', -1, 64)})
	}
	return kv
}

// New returns the workload of mode name with parameters p.
func New(name string, p Params, opt Options) (bench.Workload, error) {
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
	w := &fabricWorkload{mode: m, p: p, opt: opt}
	return bench.Define(m.Bench, m.keys(p), w.prepare), nil
}

// A Matrix is a set of workloads: every matching mode with every combination of
// the parameter lists.
type Matrix struct {
	// Patterns select modes by name (globs, see Match); empty means all.
	Patterns []string
	// Flows, Sizes and NewFlowRatios default to DefaultFlows, DefaultSizes and {0}.
	Flows         []int
	Sizes         []Size
	NewFlowRatios []float64
	// Rules and Backends are the acl and lb parameters (DefaultRules,
	// DefaultBackends when empty).
	Rules, Backends []int
	// Options apply to every workload.
	Options Options
	// Kernel, when set, adds each workload a second time run through a real
	// datapath (see NewKernel); workloads without a kernel form are skipped
	// and listed in Skipped.
	Kernel *Kernel
	// Skipped receives, for each workload that has no kernel form, why.
	Skipped *[]string
}

// Workloads returns the workloads of the matrix, mode by mode in display order,
// then by the mode's parameter, flows, size and new-flow ratio.
func (x Matrix) Workloads() ([]bench.Workload, error) {
	ms, err := Match(x.Patterns)
	if err != nil {
		return nil, err
	}
	flows, sizes, ratios := or(x.Flows, DefaultFlows), or(x.Sizes, DefaultSizes), or(x.NewFlowRatios, []float64{0})
	var out []bench.Workload
	var errs []error
	for _, m := range ms {
		ns := []int{0}
		switch m.Param {
		case "rules":
			ns = or(x.Rules, DefaultRules)
		case "backends":
			ns = or(x.Backends, DefaultBackends)
		}
		for _, n := range ns {
			for _, f := range flows {
				for _, s := range sizes {
					for _, r := range ratios {
						p := Params{Flows: f, Size: s, NewFlowRatio: r, N: n}
						w, err := New(m.Name, p, x.Options)
						if err != nil {
							errs = append(errs, err)
							continue
						}
						out = append(out, w)
						if x.Kernel == nil {
							continue
						}
						kw, err := NewKernel(m.Name, p, x.Options, *x.Kernel)
						if errors.Is(err, ErrNoKernel) {
							if x.Skipped != nil {
								*x.Skipped = append(*x.Skipped, err.Error())
							}
							continue
						}
						if err != nil {
							errs = append(errs, err)
							continue
						}
						out = append(out, kw)
					}
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func or[T any](v, def []T) []T {
	if len(v) == 0 {
		return def
	}
	return v
}
