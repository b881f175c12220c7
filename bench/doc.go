// Package bench runs hnspath's benchmarks: named, parameterised workloads measured
// over repeated, interleaved trials, each paired with a reference loop that only copies
// the same frames, and summarized with benchstat's statistics.
//
// A Workload prepares its traffic before any clock starts and builds one Processor per
// core; frames are sharded across cores by flow, as RSS does, and each shard owns its
// state. Run returns a *result.Report; package result writes it as Go benchmark format
// (benchstat reads it), JSON or a text table, and compares it with a baseline:
//
//	rep, err := bench.Run(ctx, workloads, bench.Options{Cores: []int{1, 2}})
//	...
//	err = result.WriteGoBench(out, rep)
//	cmp, err := result.Compare(baselineFile, rep, result.CompareOptions{BaselineName: "old.txt"})
//	err = result.WriteComparison(os.Stdout, cmp)
//	if cmp.Regressed() { exit 1 }
//
// Measurements (see package result for the units): packets and bits per second,
// ns, allocations and bytes per packet over the steady-state phase; for stateful
// workloads the first packet of every flow on empty state (slow path) against the same
// packets cached, and live heap per flow; flows created per second when processors
// count them; the ratio to the copy reference; and, with several core counts, speedup
// and efficiency.
//
// The runner itself does not allocate while the clock runs: allocations reported per
// packet are the processors'.
package bench
