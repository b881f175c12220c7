package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hnspath/hnspath/bench/result"
	"github.com/hnspath/hnspath/bench/stats"
)

// Defaults of Options.
const (
	DefaultTrials  = 10
	DefaultMinTime = 250 * time.Millisecond
	DefaultWarmup  = 250 * time.Millisecond
	DefaultBatch   = 64

	// QuickTrials, QuickMinTime and QuickWarmup replace the defaults when
	// Options.Quick is set: a smoke run for CI. Six trials still give a finite 95%
	// interval and can reach significance in a comparison.
	QuickTrials  = 6
	QuickMinTime = 10 * time.Millisecond
	QuickWarmup  = 5 * time.Millisecond
)

// Pkg is the "pkg" configuration line of bench output.
const Pkg = "github.com/hnspath/hnspath/bench"

// PartialKey is the configuration line ("partial: true") of a report whose run
// stopped before every trial ran (result.Report.Partial).
const PartialKey = "partial"

// Options configures Run. The zero value runs 10 trials of at least 250 ms per
// benchmark on one core, each paired with a copy reference.
type Options struct {
	// Trials is the number of timed trials per benchmark (DefaultTrials, or
	// QuickTrials with Quick). Trials are interleaved across benchmarks: every
	// benchmark runs its first trial before any runs its second, so slow drifts of
	// the machine hit all of them alike.
	Trials int
	// MinTime is the least duration of each trial's steady-state phase (DefaultMinTime,
	// or QuickMinTime with Quick).
	MinTime time.Duration
	// MinPackets is the least number of packets of each trial's steady-state phase, on
	// top of MinTime (split evenly across cores).
	MinPackets int64
	// Warmup is how long each benchmark runs, untimed, before its first trial
	// (DefaultWarmup, or QuickWarmup with Quick). Negative means no warm-up.
	Warmup time.Duration
	// Batch is the number of frames per Process call (DefaultBatch).
	Batch int
	// Cores lists the core counts to run every workload on (default {1}). Frames are
	// sharded by flow with ShardOf, one processor and one goroutine per shard.
	Cores []int
	// Quick selects the QuickTrials/QuickMinTime/QuickWarmup defaults.
	Quick bool
	// NoReference turns off the copy reference run next to every benchmark.
	NoReference bool
	// Progress, if not nil, receives a one-line progress bar redrawn with "\r". When it
	// is an *os.File that is not a terminal nothing is drawn.
	Progress io.Writer
	// Commit is the "commit" configuration line; when empty it comes from the binary's
	// build info (vcs.revision) or `git rev-parse HEAD`, else "unknown".
	Commit string
	// CPU is the "cpu" configuration line; when empty it is read from the system
	// (/proc/cpuinfo on Linux), else "unknown".
	CPU string
	// Config holds extra configuration lines (e.g. {"scenario", "nat-static-portmap"})
	// written after goos, goarch, pkg, cpu and commit.
	Config []KV
	// Confidence is the level of the confidence intervals (0.95 when 0).
	Confidence float64
}

func (o Options) withDefaults() Options {
	if o.Trials == 0 {
		o.Trials = DefaultTrials
		if o.Quick {
			o.Trials = QuickTrials
		}
	}
	if o.MinTime == 0 {
		o.MinTime = DefaultMinTime
		if o.Quick {
			o.MinTime = QuickMinTime
		}
	}
	if o.Warmup == 0 {
		o.Warmup = DefaultWarmup
		if o.Quick {
			o.Warmup = QuickWarmup
		}
	}
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	if len(o.Cores) == 0 {
		o.Cores = []int{1}
	}
	if o.Confidence == 0 {
		o.Confidence = stats.DefaultConfidence
	}
	return o
}

// ErrOptions is wrapped by errors about Options.
var ErrOptions = errors.New("bad bench options")

func (o Options) validate() error {
	switch {
	case o.Trials < 1:
		return fmt.Errorf("%w: trials %d, want >= 1", ErrOptions, o.Trials)
	case o.MinTime < 0:
		return fmt.Errorf("%w: min time %v, want >= 0", ErrOptions, o.MinTime)
	case o.MinPackets < 0:
		return fmt.Errorf("%w: min packets %d, want >= 0", ErrOptions, o.MinPackets)
	case o.Batch < 1:
		return fmt.Errorf("%w: batch %d, want >= 1", ErrOptions, o.Batch)
	case !(o.Confidence > 0 && o.Confidence < 1):
		return fmt.Errorf("%w: confidence %v, want in (0, 1)", ErrOptions, o.Confidence)
	}
	for i, c := range o.Cores {
		if c < 1 || c > 1024 {
			return fmt.Errorf("%w: cores[%d] = %d, want 1..1024", ErrOptions, i, c)
		}
		if slices.Index(o.Cores, c) != i {
			return fmt.Errorf("%w: cores[%d] = %d repeats", ErrOptions, i, c)
		}
	}
	return nil
}

// ReferenceName is the base name of copy reference benchmarks. The reference of
// workload W/k=v/cores=n is named Copy/ref=W/k=v/cores=n.
const ReferenceName = "Copy"

// Run prepares every workload, then measures each one on every core count of
// opt.Cores, paired with a copy reference on the same frames unless opt.NoReference,
// over opt.Trials interleaved trials, and returns the summarized report.
//
// Each trial of a benchmark has, in order and all untimed unless stated:
//   - for a stateful workload, fresh processors and a first-packet phase (timed: the
//     first packet of every flow, then the same packets again; live heap after a GC);
//   - one pass over every shard's frames, to warm the caches and the flow state;
//   - the steady-state phase (timed): every shard's goroutine replays its frames in
//     batches until opt.MinTime has passed and it has sent its share of opt.MinPackets.
//     Heap allocations are counted over this phase.
//
// When ctx is cancelled Run stops within one time check (every ~256 packets) and
// returns the report of the trials completed so far, marked Partial (and with the
// configuration line "partial: true"), together with an error wrapping ctx.Err().
//
// With opt.Progress set on a writer that is not a terminal (a log file, CI), Run
// writes one line per trial round as it finishes instead of a progress bar.
func Run(ctx context.Context, workloads []Workload, opt Options) (*result.Report, error) {
	opt = opt.withDefaults()
	if err := opt.validate(); err != nil {
		return nil, err
	}
	if len(workloads) == 0 {
		return nil, fmt.Errorf("%w: no workloads", ErrWorkload)
	}
	cfg, err := hostConfig(ctx, opt)
	if err != nil {
		return nil, err
	}
	rn := &runner{opt: opt}
	defer rn.close()
	if err := rn.plan(ctx, workloads); err != nil {
		return nil, err
	}
	rep := &result.Report{
		Schema: result.Schema,
		Config: cfg,
		Options: result.RunOptions{
			Trials:     opt.Trials,
			MinTimeNs:  opt.MinTime.Nanoseconds(),
			MinPackets: opt.MinPackets,
			WarmupNs:   max(opt.Warmup, 0).Nanoseconds(),
			Batch:      opt.Batch,
			Quick:      opt.Quick,
			Confidence: opt.Confidence,
		},
		Warnings: rn.warnings,
	}
	for _, in := range rn.instances {
		rep.Benchmarks = append(rep.Benchmarks, in.bench)
	}
	runErr := rn.run(ctx)
	for _, in := range rn.instances {
		if !in.ref {
			rn.checkDelivered(in)
		}
	}
	if runErr != nil {
		// What ran is kept, and marked so that no reader takes it for a whole run.
		done := 0
		for _, in := range rn.instances {
			done += len(in.bench.Trials)
		}
		rep.Partial = true
		rep.Config = append(rep.Config, KV{Key: PartialKey, Value: "true"})
		rn.warnings = append(rn.warnings, fmt.Sprintf("partial: the run stopped after %d of %d trials (%v)",
			done, len(rn.instances)*opt.Trials, runErr))
	}
	rep.Warnings = rn.warnings
	rep.Summarize(opt.Confidence)
	return rep, runErr
}

type runner struct {
	opt       Options
	prepared  []*Prepared
	instances []*instance
	warnings  []string
}

// An instance is one benchmark: a workload (or its copy reference) on one core count.
type instance struct {
	bench    *result.Benchmark
	prep     *Prepared
	shards   []shard
	flows    int64 // distinct flows in the frames
	ref      bool
	pair     *instance   // the copy reference run after this instance, or nil
	procs    []Processor // kept across trials for stateless workloads
	newProcs func() ([]Processor, error)
}

// A shard is the part of the frames one core handles.
type shard struct {
	frames [][]byte
	cum    []int64  // cum[i] = bytes in frames[:i]
	first  [][]byte // the first frame of each flow in this shard, in order
	maxLen int
}

func (rn *runner) close() {
	for _, p := range rn.prepared {
		if p.Close != nil {
			_ = p.Close()
		}
	}
}

// plan prepares the workloads and lays out the instances.
func (rn *runner) plan(ctx context.Context, workloads []Workload) error {
	seen := map[string]bool{}
	pr := newProgress(rn.opt.Progress, len(workloads))
	defer pr.finish()
	for _, w := range workloads {
		name, keys := w.Name(), slices.Clone(w.Keys())
		full := result.FullName(name, keys)
		for _, kv := range keys {
			if kv.Key == result.CoresKey {
				return fmt.Errorf("%w: %s: key %q is reserved", ErrWorkload, full, result.CoresKey)
			}
		}
		pr.step("prepare " + full)
		p, err := w.Prepare(ctx)
		if err != nil {
			return fmt.Errorf("prepare %s: %w", full, err)
		}
		if p != nil {
			rn.prepared = append(rn.prepared, p)
		}
		if err := p.validate(full); err != nil {
			return err
		}
		for _, cores := range rn.opt.Cores {
			k := append(slices.Clone(keys), KV{Key: result.CoresKey, Value: strconv.Itoa(cores)})
			in, err := rn.newInstance(name, k, p, cores)
			if err != nil {
				return err
			}
			if seen[in.bench.FullName()] {
				return fmt.Errorf("%w: %s: two workloads with this name", ErrWorkload, in.bench.FullName())
			}
			seen[in.bench.FullName()] = true
			rn.instances = append(rn.instances, in)
			if rn.opt.NoReference {
				continue
			}
			ref := rn.newReference(in)
			if seen[ref.bench.FullName()] {
				return fmt.Errorf("%w: %s: two workloads with this name", ErrWorkload, ref.bench.FullName())
			}
			seen[ref.bench.FullName()] = true
			in.pair = ref
			in.bench.Reference = ref.bench.FullName()
			rn.instances = append(rn.instances, ref)
		}
	}
	if n := runtime.GOMAXPROCS(0); slices.Max(rn.opt.Cores) > n {
		rn.warn(fmt.Sprintf("cores=%d exceeds GOMAXPROCS=%d: shards share CPUs, so those runs do not measure scaling", slices.Max(rn.opt.Cores), n))
	}
	return nil
}

func (rn *runner) warn(s string) {
	if !slices.Contains(rn.warnings, s) {
		rn.warnings = append(rn.warnings, s)
	}
}

func (rn *runner) newInstance(name string, keys []KV, p *Prepared, cores int) (*instance, error) {
	if err := result.ValidateName(name, keys); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWorkload, err)
	}
	in := &instance{
		bench:  &result.Benchmark{Name: name, Keys: keys},
		prep:   p,
		shards: make([]shard, cores),
	}
	seen := make([]bool, p.Flows)
	for i, f := range p.Frames {
		s := &in.shards[ShardOf(p.Flow[i], cores)]
		s.frames = append(s.frames, f)
		s.maxLen = max(s.maxLen, len(f))
		if !seen[p.Flow[i]] {
			seen[p.Flow[i]] = true
			s.first = append(s.first, f)
			in.flows++
		}
	}
	for i := range in.shards {
		s := &in.shards[i]
		s.cum = make([]int64, len(s.frames)+1)
		for j, f := range s.frames {
			s.cum[j+1] = s.cum[j] + int64(len(f))
		}
		if len(s.frames) == 0 {
			rn.warn(fmt.Sprintf("%s: shard %d of %d has no frames (%d flows)", in.bench.FullName(), i, cores, in.flows))
		}
	}
	in.newProcs = func() ([]Processor, error) {
		procs := make([]Processor, cores)
		for i := range procs {
			pr, err := p.NewProcessor(i, cores)
			if err != nil {
				return nil, fmt.Errorf("%s: new processor for shard %d: %w", in.bench.FullName(), i, err)
			}
			if pr == nil {
				return nil, fmt.Errorf("%w: %s: NewProcessor(%d, %d) returned nil", ErrWorkload, in.bench.FullName(), i, cores)
			}
			procs[i] = pr
		}
		return procs, nil
	}
	return in, nil
}

// newReference returns the copy reference of in: same shards, copyProcessor.
func (rn *runner) newReference(in *instance) *instance {
	keys := append([]KV{{Key: "ref", Value: in.bench.Name}}, in.bench.Keys...)
	ref := &instance{
		bench:  &result.Benchmark{Name: ReferenceName, Keys: keys, IsReference: true},
		prep:   in.prep,
		shards: in.shards,
		flows:  in.flows,
		ref:    true,
	}
	ref.newProcs = func() ([]Processor, error) {
		procs := make([]Processor, len(ref.shards))
		for i := range procs {
			procs[i] = newCopyProcessor(ref.shards[i].maxLen)
		}
		return procs, nil
	}
	return ref
}

func (in *instance) stateful() bool { return in.prep.Stateful && !in.ref }

// processors returns processors for the next trial or warm-up: fresh ones for a
// stateful workload, the kept ones (made on first use) otherwise.
func (in *instance) processors() ([]Processor, error) {
	if in.stateful() {
		return in.newProcs()
	}
	if in.procs == nil {
		procs, err := in.newProcs()
		if err != nil {
			return nil, err
		}
		in.procs = procs
	}
	return in.procs, nil
}

func (rn *runner) run(ctx context.Context) error {
	steps := len(rn.instances) * rn.opt.Trials
	if rn.opt.Warmup > 0 {
		steps += len(rn.instances)
	}
	pr := newProgress(rn.opt.Progress, steps)
	defer pr.finish()
	// No bar where there is no terminal: a line per finished round instead.
	lines := pr == nil && rn.opt.Progress != nil
	start := time.Now()
	if rn.opt.Warmup > 0 {
		for _, in := range rn.instances {
			pr.step("warm up " + in.bench.FullName())
			if err := rn.warmup(ctx, in); err != nil {
				return err
			}
		}
	}
	for t := range rn.opt.Trials {
		for _, in := range rn.instances {
			pr.step(fmt.Sprintf("trial %d/%d %s", t+1, rn.opt.Trials, in.bench.FullName()))
			tr, err := rn.trial(ctx, in)
			if err != nil {
				return fmt.Errorf("bench %s: trial %d: %w", in.bench.FullName(), t+1, err)
			}
			in.bench.Trials = append(in.bench.Trials, tr)
		}
		// Copy ratios pair each trial with its reference's trial of the same round.
		for _, in := range rn.instances {
			if in.pair == nil {
				continue
			}
			w, r := &in.bench.Trials[t], &in.pair.bench.Trials[t]
			wv, ok1 := w.Value(result.UnitNsPerPacket)
			rv, ok2 := r.Value(result.UnitNsPerPacket)
			if ok1 && ok2 && rv > 0 {
				w.CopyRatio = wv / rv
			}
		}
		if lines {
			fmt.Fprintf(rn.opt.Progress, "bench: trial %d/%d done for %d benchmarks (%s)\n", t+1, rn.opt.Trials, len(rn.instances), time.Since(start).Round(time.Millisecond))
		}
	}
	return nil
}

func (rn *runner) warmup(ctx context.Context, in *instance) error {
	procs, err := in.processors()
	if err != nil {
		return err
	}
	for i := range in.shards {
		processAll(procs[i], in.shards[i].frames, rn.opt.Batch)
	}
	_, err = rn.steady(ctx, in, procs, rn.opt.Warmup, 0)
	return err
}

func (rn *runner) trial(ctx context.Context, in *instance) (result.Trial, error) {
	var fp *result.FirstPacket
	var procs []Processor
	var err error
	if in.stateful() {
		var f firstResult
		if f, err = rn.firstPacket(in); err != nil {
			return result.Trial{}, err
		}
		fp, procs = &f.fp, f.procs
	} else if procs, err = in.processors(); err != nil {
		return result.Trial{}, err
	}
	for i := range in.shards {
		processAll(procs[i], in.shards[i].frames, rn.opt.Batch)
	}
	t, err := rn.steady(ctx, in, procs, rn.opt.MinTime, rn.opt.MinPackets)
	t.FirstPacket = fp
	return t, err
}

type firstResult struct {
	fp    result.FirstPacket
	procs []Processor
}

// firstPacket builds empty processors and sends them the first packet of every flow,
// then the same packets again, one shard after the other.
func (rn *runner) firstPacket(in *instance) (firstResult, error) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	procs, err := in.newProcs()
	if err != nil {
		return firstResult{}, err
	}
	start := time.Now()
	for i := range in.shards {
		processAll(procs[i], in.shards[i].first, rn.opt.Batch)
	}
	slow := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	start = time.Now()
	for i := range in.shards {
		processAll(procs[i], in.shards[i].first, rn.opt.Batch)
	}
	cached := time.Since(start)
	return firstResult{
		fp: result.FirstPacket{
			Flows:     in.flows,
			SlowNs:    slow.Nanoseconds(),
			CachedNs:  cached.Nanoseconds(),
			HeapBytes: int64(m1.HeapAlloc) - int64(m0.HeapAlloc),
		},
		procs: procs,
	}, nil
}

// processAll sends frames through p once, in batches.
func processAll(p Processor, frames [][]byte, batch int) (forwarded int) {
	for i := 0; i < len(frames); i += batch {
		forwarded += p.Process(frames[i:min(i+batch, len(frames))])
	}
	return forwarded
}

// A shardResult is what one core did in a steady-state phase.
type shardResult struct {
	packets, bytes, delivered int64
	end                       time.Time
	err                       error
}

// checkPackets is about how many packets a shard sends between looks at the clock
// and at ctx.
const checkPackets = 256

// runShard replays s.frames through p in batches until the deadline has passed and
// minPackets were sent, or ctx is done. It does not allocate.
func runShard(ctx context.Context, p Processor, s *shard, batch int, deadline time.Time, minPackets int64) (r shardResult) {
	if len(s.frames) == 0 {
		r.end = time.Now()
		return r
	}
	done := ctx.Done()
	every := max(1, checkPackets/batch)
	i, k := 0, 0
	for {
		end := min(i+batch, len(s.frames))
		r.delivered += int64(p.Process(s.frames[i:end]))
		r.packets += int64(end - i)
		r.bytes += s.cum[end] - s.cum[i]
		i = end
		if i == len(s.frames) {
			i = 0
		}
		if k++; k < every {
			continue
		}
		k = 0
		select {
		case <-done:
			r.end, r.err = time.Now(), ctx.Err()
			return r
		default:
		}
		if now := time.Now(); r.packets >= minPackets && !now.Before(deadline) {
			r.end = now
			return r
		}
	}
}

// steady runs the steady-state phase of in on procs, one goroutine per shard (inline
// for one shard), and returns the trial's measurements without FirstPacket and
// CopyRatio.
func (rn *runner) steady(ctx context.Context, in *instance, procs []Processor, minTime time.Duration, minPackets int64) (result.Trial, error) {
	n := len(in.shards)
	perShard := (minPackets + int64(n) - 1) / int64(n)
	res := make([]shardResult, n)
	flows0, counted := countFlows(procs)
	var m0, m1 runtime.MemStats
	var start time.Time
	if n == 1 {
		runtime.ReadMemStats(&m0)
		start = time.Now()
		res[0] = runShard(ctx, procs[0], &in.shards[0], rn.opt.Batch, start.Add(minTime), perShard)
	} else {
		var wg sync.WaitGroup
		begin := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-begin
				res[i] = runShard(ctx, procs[i], &in.shards[i], rn.opt.Batch, start.Add(minTime), perShard)
			}()
		}
		runtime.ReadMemStats(&m0)
		start = time.Now()
		close(begin) // publishes start to the goroutines
		wg.Wait()
	}
	runtime.ReadMemStats(&m1)
	var t result.Trial
	end := start
	var err error
	for _, r := range res {
		t.Packets += r.packets
		t.Bytes += r.bytes
		t.Delivered += r.delivered
		if r.end.After(end) {
			end = r.end
		}
		if r.err != nil {
			err = r.err
		}
	}
	t.ElapsedNs = end.Sub(start).Nanoseconds()
	t.Allocs = m1.Mallocs - m0.Mallocs
	t.AllocBytes = m1.TotalAlloc - m0.TotalAlloc
	if counted {
		flows1, _ := countFlows(procs)
		d := int64(flows1 - flows0)
		t.NewFlows = &d
	}
	return t, err
}

// countFlows sums FlowsCreated over procs; ok is false if any does not count flows.
func countFlows(procs []Processor) (n uint64, ok bool) {
	for _, p := range procs {
		fc, isFC := p.(FlowCounter)
		if !isFC {
			return 0, false
		}
		n += fc.FlowsCreated()
	}
	return n, true
}

func (rn *runner) checkDelivered(in *instance) {
	var pkts, delivered int64
	for _, t := range in.bench.Trials {
		pkts += t.Packets
		delivered += t.Delivered
	}
	if pkts > 0 && delivered == 0 {
		rn.warn(fmt.Sprintf("%s: every packet was dropped", in.bench.FullName()))
	}
}
