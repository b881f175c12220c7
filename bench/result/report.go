package result

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/hnspath/hnspath/bench/stats"
)

// Schema names the JSON layout written by WriteJSON. It changes when a field changes
// meaning or goes away; adding fields keeps it.
const Schema = "hnspath-bench/v1"

// A KV is one key/value configuration pair: a file configuration line ("goos: linux")
// or a workload key in a benchmark name ("flows=10000").
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// A Report is the outcome of one bench run: every trial of every benchmark, with
// the summaries and analyses derived from them.
type Report struct {
	// Schema is the JSON schema name, Schema when written by this package.
	Schema string `json:"schema"`
	// Config holds the file configuration written at the top of a Go benchmark file:
	// goos, goarch, pkg, cpu, commit and any extra keys, in order.
	Config []KV `json:"config"`
	// Options records how the trials were run.
	Options RunOptions `json:"options"`
	// Benchmarks are the workloads and their copy references, in run order.
	Benchmarks []*Benchmark `json:"benchmarks"`
	// Scaling has one entry per workload measured on more than one core count.
	Scaling []Scaling `json:"scaling,omitempty"`
	// Fits has one entry per workload group measured at 3 or more values of a
	// numeric key (cost against flows, against rules, ...).
	Fits []Fit `json:"fits,omitempty"`
	// Warnings are problems worth showing with the results (oversubscribed cores,
	// empty shards, too few trials for a confidence interval).
	Warnings []string `json:"warnings,omitempty"`
	// Partial is set when the run stopped before every trial ran (a signal, an
	// error): the benchmarks hold the trials completed, and Config has the line
	// "partial: true" so that the Go benchmark format says it too.
	Partial bool `json:"partial,omitempty"`
}

// RunOptions records the runner settings that shaped a report.
type RunOptions struct {
	Trials     int     `json:"trials"`
	MinTimeNs  int64   `json:"min_time_ns"`
	MinPackets int64   `json:"min_packets"`
	WarmupNs   int64   `json:"warmup_ns"`
	Batch      int     `json:"batch"`
	Quick      bool    `json:"quick"`
	Confidence float64 `json:"confidence"`
}

// A Benchmark is one workload at one configuration (including its core count), or the
// copy reference paired with one.
type Benchmark struct {
	// Name is the base name, written as "Benchmark"+Name in Go benchmark format.
	Name string `json:"name"`
	// Keys are the workload keys, written as "/key=value" name parts, in order.
	Keys []KV `json:"keys"`
	// Reference is the full name of the copy reference run on the same frames, or "".
	Reference string `json:"reference,omitempty"`
	// IsReference is set on copy reference benchmarks.
	IsReference bool `json:"is_reference,omitempty"`
	// Trials are the measurements, one per trial, in run order.
	Trials []Trial `json:"trials"`
	// Summary maps a unit (as written, e.g. "pkts/s", "ns/op") to the median of the
	// trials' values with its confidence interval and flagged outliers.
	Summary map[string]Summary `json:"summary,omitempty"`
}

// FullName returns Name followed by "/key=value" for every key, the benchmark name
// of the Go benchmark format without the "Benchmark" prefix.
func (b *Benchmark) FullName() string {
	return FullName(b.Name, b.Keys)
}

// FullName joins a base name and keys as "name/k1=v1/k2=v2".
func FullName(name string, keys []KV) string {
	var sb strings.Builder
	sb.WriteString(name)
	for _, kv := range keys {
		sb.WriteByte('/')
		sb.WriteString(kv.Key)
		sb.WriteByte('=')
		sb.WriteString(kv.Value)
	}
	return sb.String()
}

// Key returns the value of workload key k.
func (b *Benchmark) Key(k string) (string, bool) {
	for _, kv := range b.Keys {
		if kv.Key == k {
			return kv.Value, true
		}
	}
	return "", false
}

// Values returns the trials' values in unit (one of the Unit constants), skipping
// trials that do not have it.
func (b *Benchmark) Values(unit string) []float64 {
	var vs []float64
	for i := range b.Trials {
		if v, ok := b.Trials[i].Value(unit); ok {
			vs = append(vs, v)
		}
	}
	return vs
}

// A Trial is one timed measurement of a benchmark.
type Trial struct {
	// Packets and Bytes were processed in the timed steady-state phase; Bytes counts
	// whole frames from the destination MAC to the end of the payload (no FCS).
	Packets int64 `json:"packets"`
	Bytes   int64 `json:"bytes"`
	// ElapsedNs is the wall-clock duration of the steady-state phase, from the start
	// signal to the last core finishing.
	ElapsedNs int64 `json:"elapsed_ns"`
	// Delivered counts the packets the processors reported as forwarded (not dropped).
	Delivered int64 `json:"delivered"`
	// Allocs and AllocBytes are the heap allocations (runtime.MemStats Mallocs and
	// TotalAlloc deltas) during the steady-state phase, across all cores.
	Allocs     uint64 `json:"allocs"`
	AllocBytes uint64 `json:"alloc_bytes"`
	// NewFlows counts flows the processors created during the steady-state phase; nil
	// when the workload does not count flows.
	NewFlows *int64 `json:"new_flows,omitempty"`
	// FirstPacket has the slow-path measurements of stateful workloads.
	FirstPacket *FirstPacket `json:"first_packet,omitempty"`
	// CopyRatio is this trial's ns/packet divided by that of the copy reference trial
	// run right after it on the same frames; 0 when there is none.
	CopyRatio float64 `json:"copy_ratio,omitempty"`
}

// FirstPacket measures the slow path of a stateful workload: the first packet of every
// flow sent through processors with empty state, then the same packets again.
type FirstPacket struct {
	// Flows is the number of first packets (one per flow).
	Flows int64 `json:"flows"`
	// SlowNs is the time to process the first packet of every flow on empty state
	// (each creates a flow), one core at a time.
	SlowNs int64 `json:"slow_ns"`
	// CachedNs is the time to process the same packets a second time (flows cached).
	CachedNs int64 `json:"cached_ns"`
	// HeapBytes is the growth of the live heap (HeapAlloc after a GC) from before the
	// processors were made to after every flow was created, so it includes the
	// processors' fixed state: with few flows B/flow is mostly that. It can be slightly
	// negative when the runtime frees more than the flows take.
	HeapBytes int64 `json:"heap_bytes"`
}

// Units written for each trial, as they appear in Go benchmark format. Per packet
// ("/op") values divide by the packets of the steady-state phase.
const (
	// UnitNsPerPacket is wall-clock nanoseconds per packet (1e9 / UnitPacketsPerSec;
	// on N cores it is the inverse of the aggregate rate, not the latency).
	UnitNsPerPacket = "ns/op"
	// UnitPacketsPerSec is packets per second, all cores together.
	UnitPacketsPerSec = "pkts/s"
	// UnitBitsPerSec is frame bits per second (8 * Bytes / elapsed).
	UnitBitsPerSec = "bits/s"
	// UnitAllocsPerPacket is heap allocations per packet.
	UnitAllocsPerPacket = "allocs/op"
	// UnitBytesPerPacket is heap bytes allocated per packet.
	UnitBytesPerPacket = "B/op"
	// UnitFirstPacket is the slow-path cost: ns per first packet of a flow.
	UnitFirstPacket = "ns/first-pkt"
	// UnitCachedPacket is the cost of the same packets once their flows are cached.
	UnitCachedPacket = "ns/cached-pkt"
	// UnitBytesPerFlow is live heap per flow.
	UnitBytesPerFlow = "B/flow"
	// UnitFlowsPerSec is new flows per second in the steady-state phase.
	UnitFlowsPerSec = "flows/s"
	// UnitCopyRatio is ns/packet as a multiple of the copy reference's.
	UnitCopyRatio = "copy-ratio"
)

// A Unit describes one measurement unit.
type Unit struct {
	// Name is the unit as written, e.g. "pkts/s".
	Name string
	// Better is +1 when higher values are better, -1 when lower values are.
	Better int
	// Declare is set for units that need a "Unit <name> better=..." line because
	// benchfmt does not know their direction (it knows ns/op, B/op, allocs/op).
	Declare bool
}

// Units lists every unit a Trial can produce, in the order they are written.
var Units = []Unit{
	{UnitNsPerPacket, -1, false},
	{UnitPacketsPerSec, +1, true},
	{UnitBitsPerSec, +1, true},
	{UnitAllocsPerPacket, -1, false},
	{UnitBytesPerPacket, -1, false},
	{UnitFirstPacket, -1, true},
	{UnitCachedPacket, -1, true},
	{UnitBytesPerFlow, -1, true},
	{UnitFlowsPerSec, +1, true},
	{UnitCopyRatio, -1, true},
}

// Value returns the trial's value in unit. ok is false when the trial has no such
// measurement (no first-packet phase, no flow counter, no reference) or the value is
// not finite (for example no packets at all).
func (t *Trial) Value(unit string) (v float64, ok bool) {
	sec := float64(t.ElapsedNs) / 1e9
	switch unit {
	case UnitNsPerPacket:
		v, ok = float64(t.ElapsedNs)/float64(t.Packets), t.Packets > 0
	case UnitPacketsPerSec:
		v, ok = float64(t.Packets)/sec, t.ElapsedNs > 0
	case UnitBitsPerSec:
		v, ok = 8*float64(t.Bytes)/sec, t.ElapsedNs > 0
	case UnitAllocsPerPacket:
		v, ok = float64(t.Allocs)/float64(t.Packets), t.Packets > 0
	case UnitBytesPerPacket:
		v, ok = float64(t.AllocBytes)/float64(t.Packets), t.Packets > 0
	case UnitFirstPacket:
		if fp := t.FirstPacket; fp != nil && fp.Flows > 0 {
			v, ok = float64(fp.SlowNs)/float64(fp.Flows), true
		}
	case UnitCachedPacket:
		if fp := t.FirstPacket; fp != nil && fp.Flows > 0 {
			v, ok = float64(fp.CachedNs)/float64(fp.Flows), true
		}
	case UnitBytesPerFlow:
		if fp := t.FirstPacket; fp != nil && fp.Flows > 0 {
			v, ok = float64(fp.HeapBytes)/float64(fp.Flows), true
		}
	case UnitFlowsPerSec:
		if t.NewFlows != nil {
			v, ok = float64(*t.NewFlows)/sec, t.ElapsedNs > 0
		}
	case UnitCopyRatio:
		v, ok = t.CopyRatio, t.CopyRatio > 0
	}
	if ok && (math.IsNaN(v) || math.IsInf(v, 0)) {
		return 0, false
	}
	return v, ok
}

// A Summary is the median of one unit over a benchmark's trials, with its confidence
// interval and the trials flagged as outliers. In JSON an infinite bound is null.
type Summary struct {
	stats.Summary
	// Outliers are indices into Values(unit) (which equal trial indices when every
	// trial has the unit) outside Tukey's fences.
	Outliers []int
}

// Summarize computes every benchmark's summaries at the given confidence (0.95 when 0),
// the scaling with cores and the cost fits, replacing earlier ones. It adds a warning
// for each benchmark with too few trials for a finite interval.
func (r *Report) Summarize(confidence float64) {
	if confidence == 0 {
		confidence = stats.DefaultConfidence
	}
	r.Options.Confidence = confidence
	short := map[string]bool{}
	for _, b := range r.Benchmarks {
		b.Summary = map[string]Summary{}
		for _, u := range Units {
			vs := b.Values(u.Name)
			if len(vs) == 0 {
				continue
			}
			s := Summary{Summary: stats.Summarize(vs, confidence), Outliers: stats.Outliers(vs)}
			b.Summary[u.Name] = s
			if math.IsInf(s.Lo, 0) || math.IsInf(s.Hi, 0) {
				short[b.FullName()] = true
			}
		}
	}
	if len(short) > 0 {
		names := make([]string, 0, len(short))
		for n := range short {
			names = append(names, n)
		}
		slices.Sort(names)
		// The widest interval, [x(1), x(n)], misses the median with probability 2/2^n.
		need := int(math.Ceil(math.Log2(2 / (1 - confidence))))
		w := fmt.Sprintf("too few trials for a %.0f%% confidence interval (%d needed): %s", 100*confidence, need, strings.Join(names, ", "))
		r.Warnings = appendUnique(r.Warnings, w)
	}
	r.Scaling = computeScaling(r)
	r.Fits = computeFits(r)
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// ErrName is wrapped by ValidateName's errors.
var ErrName = errors.New("invalid benchmark name")

// ValidateName checks that a base name and keys make a benchmark name that Go benchmark
// format readers (benchfmt, benchstat) split back into the same parts:
// the name starts with an upper-case ASCII letter and has only letters, digits, '_' and
// '-'; keys start with a lower-case ASCII letter and have only lower-case letters,
// digits, '_', '-' and '.'; values are non-empty printable text without spaces, '/' or '='.
// Keys must be distinct, and the full name must not end in "-<digits>", which readers
// take for a GOMAXPROCS suffix.
func ValidateName(name string, keys []KV) error {
	if name == "" || name[0] < 'A' || name[0] > 'Z' {
		return fmt.Errorf("%w: %q: must start with an upper-case letter", ErrName, name)
	}
	for _, r := range name {
		if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-')) {
			return fmt.Errorf("%w: %q: character %q (use letters, digits, '_', '-')", ErrName, name, r)
		}
	}
	seen := map[string]bool{}
	for i, kv := range keys {
		if kv.Key == "" || kv.Key[0] < 'a' || kv.Key[0] > 'z' {
			return fmt.Errorf("%w: %s: keys[%d] %q: must start with a lower-case letter", ErrName, name, i, kv.Key)
		}
		for _, r := range kv.Key {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
				return fmt.Errorf("%w: %s: keys[%d] %q: character %q", ErrName, name, i, kv.Key, r)
			}
		}
		if seen[kv.Key] {
			return fmt.Errorf("%w: %s: keys[%d]: duplicate key %q", ErrName, name, i, kv.Key)
		}
		seen[kv.Key] = true
		if kv.Value == "" {
			return fmt.Errorf("%w: %s: keys[%d] %q: empty value", ErrName, name, i, kv.Key)
		}
		for _, r := range kv.Value {
			if r == '/' || r == '=' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
				return fmt.Errorf("%w: %s: keys[%d] %q: value %q: character %q", ErrName, name, i, kv.Key, kv.Value, r)
			}
		}
	}
	full := FullName(name, keys)
	if i := strings.LastIndexByte(full, '-'); i >= 0 && i < len(full)-1 && strings.Trim(full[i+1:], "0123456789") == "" {
		return fmt.Errorf("%w: %q: ends in %q, which reads as a GOMAXPROCS suffix", ErrName, full, full[i:])
	}
	return nil
}

// ValidateConfig checks configuration lines for Go benchmark format: keys start with a
// lower-case letter and have no spaces, colons or upper-case letters (otherwise
// benchfmt would not read the line as configuration); values are one non-empty line;
// keys are distinct.
func ValidateConfig(cfg []KV) error {
	seen := map[string]bool{}
	for i, kv := range cfg {
		if !configKeyOK(kv.Key) {
			return fmt.Errorf("config[%d]: key %q: want a lower-case first letter and no spaces, colons or upper case", i, kv.Key)
		}
		if kv.Value == "" || strings.ContainsAny(kv.Value, "\r\n") {
			return fmt.Errorf("config[%d] %q: value %q: want one non-empty line", i, kv.Key, kv.Value)
		}
		if seen[kv.Key] {
			return fmt.Errorf("config[%d]: duplicate key %q", i, kv.Key)
		}
		seen[kv.Key] = true
	}
	return nil
}
