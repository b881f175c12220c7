// Package result holds the results of hnspath benchmark runs and everything that reads
// or writes them: the Report type, Go benchmark format (for benchstat), JSON, a short text
// table, and the comparison with a baseline that decides whether a run regressed.
//
// It does not import the emulator or run anything, so `reports` and other tools can read
// bench files without the datapath (docs/design.md §1, docs/style.md §1). Package bench runs the
// workloads and returns a *Report.
//
// # Units
//
// Every trial measures a steady-state phase and, for stateful workloads, a first-packet
// phase. In Go benchmark format the iteration count is the number of packets, so "/op"
// is per packet:
//
//	ns/op          wall-clock ns per packet (all cores together)     lower is better
//	pkts/s         packets per second                                higher
//	bits/s         frame bits per second                             higher
//	allocs/op      heap allocations per packet                       lower
//	B/op           heap bytes allocated per packet                   lower
//	ns/first-pkt   first packet of a flow on empty state (slow path) lower
//	ns/cached-pkt  the same packets again, flows cached              lower
//	B/flow         live heap growth per flow, processors included    lower
//	flows/s        flows created per second in the steady state      higher
//	copy-ratio     ns/op divided by the copy reference's ns/op        lower
//
// benchfmt tidies ns to sec, so readers see sec/op, sec/first-pkt and sec/cached-pkt.
//
// # JSON (schema "hnspath-bench/v1")
//
//	{
//	  "schema": "hnspath-bench/v1",
//	  "config": [{"key": "goos", "value": "linux"}, ...],   // file configuration, in order
//	  "options": {"trials": 10, "min_time_ns": 250000000, "min_packets": 0,
//	              "warmup_ns": 250000000, "batch": 64, "quick": false, "confidence": 0.95},
//	  "benchmarks": [{
//	    "name": "NAT",                                      // base name
//	    "keys": [{"key": "mode", "value": "nat"}, ..., {"key": "cores", "value": "1"}],
//	    "reference": "Copy/ref=NAT/mode=nat/.../cores=1",  // absent without a reference
//	    "is_reference": true,                               // only on copy references
//	    "trials": [{
//	      "packets": 2500000, "bytes": 160000000, "elapsed_ns": 203000000,
//	      "delivered": 2500000, "allocs": 0, "alloc_bytes": 0,
//	      "new_flows": 0,                                   // absent: no flow counter
//	      "first_packet": {"flows": 10000, "slow_ns": 8400000,
//	                       "cached_ns": 950000, "heap_bytes": 3120000},  // stateful only
//	      "copy_ratio": 3.91                                // absent without a reference
//	    }],
//	    "summary": {                                        // by unit, as written above
//	      "pkts/s": {"median": 12300000, "lo": 12100000, "hi": 12500000,
//	                 "confidence": 0.978515625, "n": 10, "outliers": [3],
//	                 "warnings": ["..."]}                   // lo/hi null when infinite
//	    }
//	  }],
//	  "scaling": [{"group": "NAT/mode=nat/flows=10000/size=64", "base_cores": 1,
//	               "points": [{"cores": 1, "pkts_per_sec": 1.2e7, "speedup": 1, "efficiency": 1}, ...],
//	               "fit": {"intercept": 2e5, "slope": 1.1e7, "r2": 0.99, "n": 2}}],
//	  "fits": [{"group": "NAT/mode=nat/flows=*/size=64/cores=1", "key": "flows", "unit": "ns/op",
//	            "points": [{"x": 1, "y": 70.2}, ...],
//	            "linear": {"intercept": ..., "slope": ..., "r2": ..., "n": 4},
//	            "log10": {...}}],                           // r2 null when all y are equal
//	  "warnings": ["..."]
//	}
//
// Fields are only added within v1; a change of meaning bumps the schema name.
package result
