package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hnspath/hnspath/bench/result"
)

// tiny are options for tests: a few short trials.
func tiny() Options {
	return Options{Trials: 4, MinTime: 2 * time.Millisecond, Warmup: time.Millisecond, Commit: "test", CPU: "test-cpu"}
}

// testFrames returns n frames of size bytes; frame i belongs to flow i%flows, whose
// index is written big-endian in bytes 0..3.
func testFrames(n, flows, size int) ([][]byte, []uint32) {
	frames := make([][]byte, n)
	flow := make([]uint32, n)
	for i := range frames {
		f := make([]byte, size)
		flow[i] = uint32(i % flows)
		binary.BigEndian.PutUint32(f, flow[i])
		frames[i] = f
	}
	return frames, flow
}

func frameFlow(f []byte) uint32 { return binary.BigEndian.Uint32(f) }

// spinProcessor burns a fixed number of dependent multiply-adds per packet.
type spinProcessor struct {
	iters int
	sink  uint64
}

func (p *spinProcessor) Process(frames [][]byte) int {
	for _, f := range frames {
		x := uint64(f[0]) | 1
		for range p.iters {
			x = x*6364136223846793005 + 1442695040888963407
		}
		p.sink += x
	}
	return len(frames)
}

// spinWorkload is a synthetic workload whose cost per packet is proportional to iters.
func spinWorkload(name string, iters int) Workload {
	return Define(name, []KV{{Key: "size", Value: "64"}}, func(context.Context) (*Prepared, error) {
		frames, flow := testFrames(256, 16, 64)
		return &Prepared{
			Frames: frames, Flow: flow, Flows: 16,
			NewProcessor: func(int, int) (Processor, error) { return &spinProcessor{iters: iters}, nil },
		}, nil
	})
}

// flowTable keeps 1 KiB per flow, creating flows on first sight.
type flowTable struct {
	flows   map[uint32][]byte
	created uint64
	// fresh, if set, makes every packet a new flow (a new-flow ratio of 1).
	fresh bool
	next  uint32
}

func (t *flowTable) Process(frames [][]byte) int {
	for _, f := range frames {
		k := frameFlow(f)
		if t.fresh {
			k = t.next
			t.next++
			delete(t.flows, k-1) // keep the table small
		}
		if _, ok := t.flows[k]; !ok {
			t.flows[k] = make([]byte, 1024)
			t.created++
		}
	}
	return len(frames)
}

func (t *flowTable) FlowsCreated() uint64 { return t.created }

func statefulWorkload(name string, flows int, fresh bool) Workload {
	return Define(name, []KV{{Key: "flows", Value: "1000"}}, func(context.Context) (*Prepared, error) {
		frames, flow := testFrames(4*flows, flows, 64)
		return &Prepared{
			Frames: frames, Flow: flow, Flows: flows, Stateful: true,
			NewProcessor: func(int, int) (Processor, error) {
				return &flowTable{flows: map[uint32][]byte{}, fresh: fresh}, nil
			},
		}, nil
	})
}

var allocSink []byte

// allocProcessor allocates one 16-byte object per packet.
type allocProcessor struct{}

func (allocProcessor) Process(frames [][]byte) int {
	for range frames {
		allocSink = make([]byte, 16)
	}
	return len(frames)
}

func TestRunMeasuresAllocations(t *testing.T) {
	alloc := Define("Alloc", nil, func(context.Context) (*Prepared, error) {
		frames, flow := testFrames(128, 8, 64)
		return &Prepared{Frames: frames, Flow: flow, NewProcessor: func(int, int) (Processor, error) { return allocProcessor{}, nil }}, nil
	})
	rep, err := Run(context.Background(), []Workload{alloc}, tiny())
	if err != nil {
		t.Fatal(err)
	}
	byName := benchmarks(rep)
	a, c := byName["Alloc/cores=1"], byName["Copy/ref=Alloc/cores=1"]
	if a == nil || c == nil {
		t.Fatalf("benchmarks %v, want Alloc/cores=1 and Copy/ref=Alloc/cores=1", keys(byName))
	}
	for i, tr := range a.Trials {
		if got, _ := tr.Value(result.UnitAllocsPerPacket); got < 1 || got > 1.01 {
			t.Errorf("Alloc trial %d: allocs/op = %v, want 1", i, got)
		}
		if got, _ := tr.Value(result.UnitBytesPerPacket); got < 16 || got > 16.5 {
			t.Errorf("Alloc trial %d: B/op = %v, want 16", i, got)
		}
	}
	for i, tr := range c.Trials {
		if got, _ := tr.Value(result.UnitAllocsPerPacket); got > 1e-3 {
			t.Errorf("Copy trial %d: allocs/op = %v, want 0 (the runner must not allocate on the clock)", i, got)
		}
	}
}

func TestRunTrialsAndReference(t *testing.T) {
	opt := tiny()
	rep, err := Run(context.Background(), []Workload{spinWorkload("Spin", 200)}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(rep), []string{"Spin/size=64/cores=1", "Copy/ref=Spin/size=64/cores=1"}; !slices.Equal(got, want) {
		t.Fatalf("benchmarks %v, want %v", got, want)
	}
	w, ref := rep.Benchmarks[0], rep.Benchmarks[1]
	if w.Reference != ref.FullName() || !ref.IsReference || w.IsReference {
		t.Errorf("reference link: %q, is_reference %v/%v", w.Reference, w.IsReference, ref.IsReference)
	}
	for _, b := range rep.Benchmarks {
		if len(b.Trials) != opt.Trials {
			t.Fatalf("%s: %d trials, want %d", b.FullName(), len(b.Trials), opt.Trials)
		}
		for i, tr := range b.Trials {
			if tr.ElapsedNs < opt.MinTime.Nanoseconds() {
				t.Errorf("%s trial %d: elapsed %d ns, want >= %v", b.FullName(), i, tr.ElapsedNs, opt.MinTime)
			}
			if tr.Bytes != 64*tr.Packets || tr.Delivered != tr.Packets {
				t.Errorf("%s trial %d: %d packets, %d bytes, %d delivered; want 64 bytes each, all delivered", b.FullName(), i, tr.Packets, tr.Bytes, tr.Delivered)
			}
		}
	}
	for i := range w.Trials {
		wn, _ := w.Trials[i].Value(result.UnitNsPerPacket)
		rn, _ := ref.Trials[i].Value(result.UnitNsPerPacket)
		if got, want := w.Trials[i].CopyRatio, wn/rn; got != want {
			t.Errorf("trial %d: copy ratio %v, want %v / %v = %v", i, got, wn, rn, want)
		}
	}
	if _, ok := w.Summary[result.UnitPacketsPerSec]; !ok {
		t.Errorf("no pkts/s summary")
	}
	if v, _ := w.Summary[result.UnitCopyRatio]; v.Center <= 1 {
		t.Errorf("copy ratio median %v, want > 1 for 200 multiplies per packet", v.Center)
	}
	cfg := map[string]string{}
	for _, kv := range rep.Config {
		cfg[kv.Key] = kv.Value
	}
	if cfg["commit"] != "test" || cfg["cpu"] != "test-cpu" || cfg["pkg"] != Pkg || cfg["goos"] == "" || cfg["goarch"] == "" {
		t.Errorf("config %v", rep.Config)
	}
}

// orderLog records the order in which processors are made.
type orderLog struct {
	mu  sync.Mutex
	log []string
}

func (l *orderLog) add(s string) {
	l.mu.Lock()
	l.log = append(l.log, s)
	l.mu.Unlock()
}

func TestRunInterleavesTrials(t *testing.T) {
	var log orderLog
	mk := func(name string) Workload {
		return Define(name, nil, func(context.Context) (*Prepared, error) {
			frames, flow := testFrames(32, 4, 64)
			return &Prepared{
				Frames: frames, Flow: flow, Stateful: true,
				NewProcessor: func(int, int) (Processor, error) {
					log.add(name)
					return &flowTable{flows: map[uint32][]byte{}}, nil
				},
			}, nil
		})
	}
	opt := tiny()
	opt.Trials, opt.Warmup, opt.NoReference = 3, -1, true
	if _, err := Run(context.Background(), []Workload{mk("A"), mk("B"), mk("C")}, opt); err != nil {
		t.Fatal(err)
	}
	// Stateful workloads get fresh processors every trial, so the log is the trial order.
	want := []string{"A", "B", "C", "A", "B", "C", "A", "B", "C"}
	if !slices.Equal(log.log, want) {
		t.Errorf("trial order %v, want %v", log.log, want)
	}
}

// shardRecorder records the flows and shard it sees.
type shardRecorder struct {
	shard, shards int
	seen          map[uint32]bool
}

func (r *shardRecorder) Process(frames [][]byte) int {
	for _, f := range frames {
		r.seen[frameFlow(f)] = true
	}
	return len(frames)
}

func TestRunShardsByFlow(t *testing.T) {
	const flows = 64
	var mu sync.Mutex
	var recs []*shardRecorder
	w := Define("Shard", nil, func(context.Context) (*Prepared, error) {
		frames, flow := testFrames(4*flows, flows, 64)
		return &Prepared{
			Frames: frames, Flow: flow, Flows: flows,
			NewProcessor: func(shard, shards int) (Processor, error) {
				r := &shardRecorder{shard: shard, shards: shards, seen: map[uint32]bool{}}
				mu.Lock()
				recs = append(recs, r)
				mu.Unlock()
				return r, nil
			},
		}, nil
	})
	opt := tiny()
	opt.Trials, opt.Cores, opt.NoReference = 2, []int{1, 3}, true
	rep, err := Run(context.Background(), []Workload{w}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(rep), []string{"Shard/cores=1", "Shard/cores=3"}; !slices.Equal(got, want) {
		t.Fatalf("benchmarks %v, want %v", got, want)
	}
	// Stateless: one processor per shard for the whole run.
	if len(recs) != 1+3 {
		t.Fatalf("%d processors, want 4 (1 + 3 shards)", len(recs))
	}
	owner := map[uint32]int{}
	for _, r := range recs[1:] {
		for f := range r.seen {
			if want := ShardOf(f, 3); r.shard != want {
				t.Errorf("flow %d processed by shard %d, want ShardOf = %d", f, r.shard, want)
			}
			if prev, ok := owner[f]; ok {
				t.Errorf("flow %d in shards %d and %d", f, prev, r.shard)
			}
			owner[f] = r.shard
		}
	}
	if len(owner) != flows || len(recs[0].seen) != flows {
		t.Errorf("3 shards saw %d flows, 1 shard saw %d; want %d", len(owner), len(recs[0].seen), flows)
	}
	if len(rep.Scaling) != 1 || rep.Scaling[0].Group != "Shard" || len(rep.Scaling[0].Points) != 2 {
		t.Errorf("scaling %+v, want one group Shard with 2 points", rep.Scaling)
	}
}

func TestShardOfSpreads(t *testing.T) {
	for _, shards := range []int{1, 2, 3, 4, 8} {
		count := make([]int, shards)
		const n = 80000
		for f := range uint32(n) {
			s := ShardOf(f, shards)
			if s < 0 || s >= shards {
				t.Fatalf("ShardOf(%d, %d) = %d", f, shards, s)
			}
			count[s]++
		}
		for s, c := range count {
			if want := n / shards; c < want*95/100 || c > want*105/100 {
				t.Errorf("%d shards: shard %d has %d of %d flows, want %d ± 5%%", shards, s, c, n, want)
			}
		}
	}
}

func TestRunFirstPacket(t *testing.T) {
	const flows = 1000
	opt := tiny()
	opt.NoReference = true
	rep, err := Run(context.Background(), []Workload{statefulWorkload("Flows", flows, false)}, opt)
	if err != nil {
		t.Fatal(err)
	}
	b := rep.Benchmarks[0]
	for i, tr := range b.Trials {
		fp := tr.FirstPacket
		if fp == nil {
			t.Fatalf("trial %d: no first-packet measurement", i)
		}
		if fp.Flows != flows {
			t.Errorf("trial %d: %d flows, want %d", i, fp.Flows, flows)
		}
		// The table keeps a 1 KiB slice per flow plus map overhead.
		if perFlow := float64(fp.HeapBytes) / flows; perFlow < 1024 || perFlow > 1400 {
			t.Errorf("trial %d: %.0f B/flow, want 1024..1400", i, perFlow)
		}
		if fp.SlowNs <= fp.CachedNs {
			t.Errorf("trial %d: first packets took %d ns, cached %d ns; want the slow path slower", i, fp.SlowNs, fp.CachedNs)
		}
		if tr.NewFlows == nil || *tr.NewFlows != 0 {
			t.Errorf("trial %d: new flows %v in the steady state, want 0 (all cached)", i, tr.NewFlows)
		}
	}
	for _, u := range []string{result.UnitFirstPacket, result.UnitCachedPacket, result.UnitBytesPerFlow, result.UnitFlowsPerSec} {
		if _, ok := b.Summary[u]; !ok {
			t.Errorf("no %s summary", u)
		}
	}
}

func TestRunNewFlows(t *testing.T) {
	opt := tiny()
	opt.NoReference = true
	rep, err := Run(context.Background(), []Workload{statefulWorkload("Fresh", 100, true)}, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i, tr := range rep.Benchmarks[0].Trials {
		if tr.NewFlows == nil || *tr.NewFlows != tr.Packets {
			t.Errorf("trial %d: new flows %v, want %d (one per packet)", i, tr.NewFlows, tr.Packets)
		}
		fps, _ := tr.Value(result.UnitFlowsPerSec)
		pps, _ := tr.Value(result.UnitPacketsPerSec)
		if fps != pps {
			t.Errorf("trial %d: %v flows/s, want %v (= pkts/s)", i, fps, pps)
		}
	}
}

func TestRunMinPackets(t *testing.T) {
	opt := tiny()
	opt.Trials, opt.MinTime, opt.MinPackets, opt.NoReference, opt.Cores = 1, time.Nanosecond, 100000, true, []int{2}
	rep, err := Run(context.Background(), []Workload{spinWorkload("Spin", 1)}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Benchmarks[0].Trials[0].Packets; got < opt.MinPackets {
		t.Errorf("%d packets, want >= %d", got, opt.MinPackets)
	}
}

func TestRunCancel(t *testing.T) {
	tests := []struct {
		name       string
		minTime    time.Duration
		cancelAt   int           // cancel when the n-th processor is made (1 = trial 1)
		cancelIn   time.Duration // or this long after Run starts
		wantTrials int
	}{
		{name: "between trials", minTime: 2 * time.Millisecond, cancelAt: 2, wantTrials: 1},
		// A trial would last 30 s: only cancellation can end it early.
		{name: "during a trial", minTime: 30 * time.Second, cancelIn: 50 * time.Millisecond, wantTrials: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var n int
			w := Define("Cancel", nil, func(context.Context) (*Prepared, error) {
				frames, flow := testFrames(16, 4, 64)
				return &Prepared{Frames: frames, Flow: flow, Stateful: true, NewProcessor: func(int, int) (Processor, error) {
					if n++; n == tt.cancelAt {
						cancel()
					}
					return &flowTable{flows: map[uint32][]byte{}}, nil
				}}, nil
			})
			opt := tiny()
			opt.Trials, opt.MinTime, opt.Warmup, opt.NoReference = 5, tt.minTime, -1, true
			if tt.cancelIn > 0 {
				time.AfterFunc(tt.cancelIn, cancel)
			}
			done := make(chan struct{})
			var rep *result.Report
			var err error
			go func() {
				defer close(done)
				rep, err = Run(ctx, []Workload{w}, opt)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return within 10 s of the cancel")
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if rep == nil || len(rep.Benchmarks) != 1 {
				t.Fatalf("report %+v, want the partial report", rep)
			}
			if got := len(rep.Benchmarks[0].Trials); got != tt.wantTrials {
				t.Errorf("%d completed trials, want %d", got, tt.wantTrials)
			}
			if !rep.Partial || !slices.Contains(rep.Config, KV{Key: PartialKey, Value: "true"}) {
				t.Errorf("partial report: Partial %v, config %v; want true and partial: true", rep.Partial, rep.Config)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	ok := func(context.Context) (*Prepared, error) {
		frames, flow := testFrames(8, 2, 64)
		return &Prepared{Frames: frames, Flow: flow, NewProcessor: func(int, int) (Processor, error) { return &spinProcessor{}, nil }}, nil
	}
	prep := func(p *Prepared) func(context.Context) (*Prepared, error) {
		return func(context.Context) (*Prepared, error) { return p, nil }
	}
	newP := func(int, int) (Processor, error) { return &spinProcessor{}, nil }
	tests := []struct {
		name string
		w    []Workload
		opt  Options
		want string
	}{
		{"no workloads", nil, tiny(), "no workloads"},
		{"lower-case name", []Workload{Define("nat", nil, ok)}, tiny(), "upper-case"},
		{"slash in value", []Workload{Define("NAT", []KV{{Key: "mode", Value: "a/b"}}, ok)}, tiny(), `value "a/b"`},
		{"reserved key", []Workload{Define("NAT", []KV{{Key: "cores", Value: "2"}}, ok)}, tiny(), "reserved"},
		{"duplicate", []Workload{Define("NAT", nil, ok), Define("NAT", nil, ok)}, tiny(), "two workloads"},
		{"no frames", []Workload{Define("NAT", nil, prep(&Prepared{NewProcessor: newP}))}, tiny(), "no frames"},
		{"flow out of range", []Workload{Define("NAT", nil, prep(&Prepared{Frames: [][]byte{{1}, {2}}, Flow: []uint32{0, 5}, Flows: 2, NewProcessor: newP}))}, tiny(), "frame 2: flow 5"},
		{"flow length", []Workload{Define("NAT", nil, prep(&Prepared{Frames: [][]byte{{1}, {2}}, Flow: []uint32{0}, NewProcessor: newP}))}, tiny(), "1 flow indices for 2 frames"},
		{"prepare fails", []Workload{Define("NAT", nil, func(context.Context) (*Prepared, error) { return nil, errors.New("no pcap") })}, tiny(), "prepare NAT: no pcap"},
		{"bad cores", []Workload{Define("NAT", nil, ok)}, Options{Cores: []int{0}}, "cores[0] = 0"},
		{"repeated cores", []Workload{Define("NAT", nil, ok)}, Options{Cores: []int{2, 2}}, "repeats"},
		{"config key clash", []Workload{Define("NAT", nil, ok)}, Options{Config: []KV{{Key: "commit", Value: "x"}}}, "set by the runner"},
		{"bad config key", []Workload{Define("NAT", nil, ok)}, Options{Config: []KV{{Key: "Scenario", Value: "x"}}}, "lower-case first letter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opt.Commit, tt.opt.CPU = "c", "c"
			_, err := Run(context.Background(), tt.w, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestRunClosesPrepared(t *testing.T) {
	closed := 0
	w := Define("Close", nil, func(context.Context) (*Prepared, error) {
		frames, flow := testFrames(8, 2, 64)
		return &Prepared{Frames: frames, Flow: flow, NewProcessor: func(int, int) (Processor, error) { return &spinProcessor{}, nil },
			Close: func() error { closed++; return nil }}, nil
	})
	opt := tiny()
	opt.Trials = 1
	if _, err := Run(context.Background(), []Workload{w}, opt); err != nil {
		t.Fatal(err)
	}
	if closed != 1 {
		t.Errorf("Close called %d times, want 1", closed)
	}
}

func TestQuickDefaults(t *testing.T) {
	o := Options{Quick: true}.withDefaults()
	if o.Trials != QuickTrials || o.MinTime != QuickMinTime || o.Warmup != QuickWarmup {
		t.Errorf("quick: got %d trials, %v, %v; want %d, %v, %v", o.Trials, o.MinTime, o.Warmup, QuickTrials, QuickMinTime, QuickWarmup)
	}
	o = Options{}.withDefaults()
	if o.Trials != DefaultTrials || o.MinTime != DefaultMinTime || o.Batch != DefaultBatch || !slices.Equal(o.Cores, []int{1}) {
		t.Errorf("defaults: got %+v", o)
	}
	o = Options{Quick: true, Trials: 8}.withDefaults()
	if o.Trials != 8 {
		t.Errorf("quick with trials 8: got %d trials, want 8", o.Trials)
	}
}

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	opt := tiny()
	opt.Trials, opt.Progress = 2, &buf
	if _, err := Run(context.Background(), []Workload{spinWorkload("Spin", 1)}, opt); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// 2 benchmarks (workload + reference): 2 warm-ups + 2*2 trials = 6 steps.
	for _, want := range []string{"\r[", "1/6 warm up Spin/size=64/cores=1", "6/6 trial 2/2 Copy/ref=Spin/size=64/cores=1", "prepare Spin/size=64"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress output lacks %q:\n%q", want, out)
		}
	}
	if !strings.HasSuffix(out, "\r") {
		t.Errorf("progress bar not erased at the end: %q", out[max(0, len(out)-40):])
	}

	// A regular file is not a terminal: no bar, one line per finished trial round
	// (there used to be nothing at all until the end).
	path := filepath.Join(t.TempDir(), "progress")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	opt.Progress = f
	if _, err := Run(context.Background(), []Workload{spinWorkload("Spin", 1)}, opt); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if strings.Contains(string(b), "\r") || len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "bench: trial 1/2 done for 2 benchmarks (") || !strings.HasPrefix(lines[1], "bench: trial 2/2 done for 2 benchmarks (") {
		t.Errorf("progress in a file: got %q, want two lines, one per trial round, and no bar", b)
	}
}

func TestRunWarnsOnDrops(t *testing.T) {
	w := Define("Drop", nil, func(context.Context) (*Prepared, error) {
		frames, flow := testFrames(8, 2, 64)
		return &Prepared{Frames: frames, Flow: flow, NewProcessor: func(int, int) (Processor, error) { return dropAll{}, nil }}, nil
	})
	opt := tiny()
	opt.Trials, opt.Cores = 1, []int{1, 4}
	rep, err := Run(context.Background(), []Workload{w}, opt)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(rep.Warnings, "\n")
	for _, want := range []string{"Drop/cores=1: every packet was dropped", "shard"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings %q lack %q", rep.Warnings, want)
		}
	}
}

type dropAll struct{}

func (dropAll) Process([][]byte) int { return 0 }

func benchmarks(r *result.Report) map[string]*result.Benchmark {
	m := map[string]*result.Benchmark{}
	for _, b := range r.Benchmarks {
		m[b.FullName()] = b
	}
	return m
}

func names(r *result.Report) []string {
	var s []string
	for _, b := range r.Benchmarks {
		s = append(s, b.FullName())
	}
	return s
}

func keys[V any](m map[string]V) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}
