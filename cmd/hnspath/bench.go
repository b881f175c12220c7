package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hnspath/hnspath/bench"
	"github.com/hnspath/hnspath/bench/result"
	"github.com/hnspath/hnspath/bench/workload"
	"github.com/hnspath/hnspath/internal/atomicfile"
	"github.com/hnspath/hnspath/scenarios"
)

func init() {
	register(&command{name: "bench", summary: "benchmark the emulated datapath: workloads per mode, trials, copy reference, baseline comparison",
		usage: "[--workload glob]... [--flows n,...] [--size 64,1500,imix] [--cores 1,2] [--quick] [--baseline file] [--out dir]", run: runBench})
}

// benchSpin is a test-only slowdown: rounds of busy work per packet added to
// every workload's processors (workload.Options.Spin). No flag sets it; the
// regression tests of this command do.
var benchSpin int

// Output files written by --out.
const (
	benchGoFile   = "bench.txt"
	benchJSONFile = "bench.json"
)

func runBench(args []string, stdout, stderr io.Writer) int {
	c := commands["bench"]
	fs := newFlags(c, stderr)
	patterns := fs.StringArrayP("workload", "w", nil, "run workloads matching `glob` (repeatable; see --list; default all)")
	flows := fs.String("flows", "10000", "comma list of flow `counts` (1..1000000)")
	sizes := fs.String("size", "64", "comma list of frame `sizes` in bytes, FCS included (64..1518), or imix")
	ratios := fs.String("new-flow-ratio", "0", "comma list of new-flow `ratios`: the fraction of packets that start a flow (0..1)")
	rules := fs.String("rules", "10,1000,10000", "comma list of ACL rule `counts` of the acl workload")
	backends := fs.String("backends", "10,100,1000", "comma list of backend `counts` of the lb workload")
	cores := fs.String("cores", "1", "core `counts` to run each workload on: a comma list, or a range such as 1-4")
	trials := fs.Int("trials", 0, fmt.Sprintf("`number` of timed trials per benchmark (default %d, %d with --quick)", bench.DefaultTrials, bench.QuickTrials))
	minTime := fs.Duration("min-time", 0, fmt.Sprintf("least `duration` of each trial's timed phase (default %v, %v with --quick)", bench.DefaultMinTime, bench.QuickMinTime))
	quick := fs.Bool("quick", false, "a smoke run for CI: fewer, shorter trials")
	baseline := fs.String("baseline", "", "compare with this Go benchmark `file` and exit 1 on a significant regression")
	threshold := fs.String("threshold", "5%", "smallest change of a median that counts as a regression (`percent` or fraction)")
	alpha := fs.Float64("alpha", 0.05, "significance `level` of the Mann-Whitney U test")
	out := fs.StringP("out", "o", "", "write "+benchGoFile+" (Go benchmark format) and "+benchJSONFile+" into `dir`")
	format := fs.String("format", "text", "standard output `format`: text, json or gobench")
	list := fs.Bool("list", false, "list the workloads and their keys, and exit")
	pcap := fs.StringP("pcap", "p", "", "replay this capture `file` (pcap or pcapng) as a workload (needs --topology)")
	topology := fs.StringP("topology", "t", "", "topology `file` (YAML or JSON) for --pcap")
	port := fs.String("port", "", "`port` where --pcap packets enter when the capture does not name one")
	noProgress := fs.Bool("no-progress", false, "do not draw a progress bar on standard error")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed run to `file` (pprof; make pgo merges one into cmd/hnspath/default.pgo)")
	against := fs.String("against", "", "also run each workload through a real `datapath` (linux: the kernel in network namespaces, as root; windows: HNS networks on this Windows host) and print both and their ratio")
	win := addWindowsFlags(fs)
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return usageErr(stderr, fs, "unexpected arguments %q", fs.Args())
	}
	if *list {
		return benchList(stdout)
	}

	// Flags.
	switch *format {
	case "text", "json", "gobench":
	default:
		return usageErr(stderr, fs, "--format %q: want text, json or gobench", *format)
	}
	thr, err := parseThreshold(*threshold)
	if err != nil {
		return usageErr(stderr, fs, "--threshold: %v", err)
	}
	if !(*alpha > 0 && *alpha < 1) {
		return usageErr(stderr, fs, "--alpha %v: want a level in (0, 1)", *alpha)
	}
	if *trials < 0 || *minTime < 0 {
		return usageErr(stderr, fs, "--trials and --min-time must not be negative")
	}
	if (*pcap == "") != (*topology == "") {
		return usageErr(stderr, fs, "--pcap and --topology go together")
	}
	if *port != "" && *pcap == "" {
		return usageErr(stderr, fs, "--port needs --pcap")
	}
	if *against != "" && *against != "linux" && *against != "windows" {
		return usageErr(stderr, fs, "--against %q: want linux or windows", *against)
	}
	mx := workload.Matrix{Patterns: *patterns, Options: workload.Options{Spin: benchSpin}}
	var perr error
	parse := func(name, s string, fn func(string) error) {
		if perr != nil {
			return
		}
		for _, f := range strings.Split(s, ",") {
			if err := fn(strings.TrimSpace(f)); err != nil {
				perr = fmt.Errorf("--%s: %w", name, err)
				return
			}
		}
	}
	parse("flows", *flows, func(s string) error { return appendInt(&mx.Flows, s) })
	parse("size", *sizes, func(s string) error {
		sz, err := workload.ParseSize(s)
		mx.Sizes = append(mx.Sizes, sz)
		return err
	})
	parse("new-flow-ratio", *ratios, func(s string) error {
		r, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q: want a fraction 0..1", s)
		}
		mx.NewFlowRatios = append(mx.NewFlowRatios, r)
		return nil
	})
	parse("rules", *rules, func(s string) error { return appendInt(&mx.Rules, s) })
	parse("backends", *backends, func(s string) error { return appendInt(&mx.Backends, s) })
	coreList, err := parseCores(*cores, runtime.NumCPU())
	if perr == nil && err != nil {
		perr = fmt.Errorf("--cores: %w", err)
	}
	if perr != nil {
		return usageErr(stderr, fs, "%v", perr)
	}

	var skipped []string
	if *against != "" {
		if len(coreList) != 1 || coreList[0] != 1 {
			return usageErr(stderr, fs, "--against measures one core: use --cores 1")
		}
		k, err := kernelDatapath(*against, win)
		if err != nil {
			fmt.Fprintf(stderr, "hnspath bench: --against %s: %v\n", *against, err)
			return exitUnsupported
		}
		mx.Kernel, mx.Skipped = k, &skipped
	}

	// Workloads: the generated ones unless only a capture is asked for.
	var ws []bench.Workload
	if *pcap == "" || len(*patterns) > 0 {
		if ws, err = mx.Workloads(); err != nil {
			return usageErr(stderr, fs, "%v", err)
		}
	}
	if *pcap != "" {
		w, err := replayWorkload(*pcap, *topology, *port, mx.Options)
		if err != nil {
			return fail(stderr, "bench", err)
		}
		ws = append(ws, w)
	}

	// The baseline is read before the run, so that a bad one fails fast.
	var base []byte
	if *baseline != "" {
		if base, err = os.ReadFile(*baseline); err != nil {
			return fail(stderr, "bench", fmt.Errorf("read baseline: %w", err))
		}
	}

	// SIGINT and SIGTERM alike stop the run and keep the trials completed, marked
	// partial; a second signal does not cut the writing of the files short.
	intr := catchInterrupts("bench", stderr)
	defer intr.stop()
	ctx := intr.Context()
	if *against != "" {
		// Kernel workloads are prepared up front: one whose topology has no
		// Linux analogue is skipped with the reason instead of failing the run.
		ws = prepareKernels(ctx, ws, &skipped)
		for _, s := range skipped {
			fmt.Fprintf(stderr, "hnspath bench: --against %s: skipped: %s\n", *against, s)
		}
	}
	opt := bench.Options{Trials: *trials, MinTime: *minTime, Cores: coreList, Quick: *quick}
	if !*noProgress {
		opt.Progress = stderr
	}
	if *cpuProfile != "" {
		pf, err := os.Create(*cpuProfile)
		if err != nil {
			return fail(stderr, "bench", err)
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			pf.Close()
			return fail(stderr, "bench", fmt.Errorf("--cpuprofile: %w", err))
		}
		defer func() {
			pprof.StopCPUProfile()
			if err := pf.Close(); err != nil {
				fmt.Fprintf(stderr, "hnspath bench: --cpuprofile: %v\n", err)
			}
		}()
	}
	rep, runErr := bench.Run(ctx, ws, opt)
	if rep == nil {
		return fail(stderr, "bench", runErr)
	}
	if runErr != nil {
		// Interrupted or failed midway: keep what was measured, marked partial.
		fmt.Fprintf(stderr, "hnspath bench: %v (writing the trials completed so far, marked partial)\n", runErr)
	}
	if *out != "" {
		if err := writeBenchFiles(*out, rep); err != nil {
			return fail(stderr, "bench", err)
		}
	}
	var buf bytes.Buffer
	switch *format {
	case "text":
		err = result.WriteText(&buf, rep)
	case "json":
		err = result.WriteJSON(&buf, rep)
	case "gobench":
		err = result.WriteGoBench(&buf, rep)
	}
	if err == nil {
		_, err = stdout.Write(buf.Bytes())
	}
	if err != nil {
		return fail(stderr, "bench", err)
	}
	if *against != "" && *format == "text" {
		writeAgainst(stdout, rep, *against)
	}
	if intr.Signal() != nil {
		return intr.ExitCode()
	}
	if runErr != nil {
		return exitFail
	}
	if base == nil {
		return exitOK
	}
	cmp, err := result.Compare(bytes.NewReader(base), rep, result.CompareOptions{Alpha: *alpha, Threshold: thr, BaselineName: *baseline})
	if err != nil {
		return fail(stderr, "bench", err)
	}
	// The comparison goes with the text table; after JSON or Go benchmark
	// output it goes to standard error, keeping standard output machine-readable.
	cw := stdout
	if *format != "text" {
		cw = stderr
	} else {
		fmt.Fprintln(cw)
	}
	if err := result.WriteComparison(cw, cmp); err != nil {
		return fail(stderr, "bench", err)
	}
	if cmp.Regressed() {
		return exitFail
	}
	return exitOK
}

// replayWorkload reads a capture and a topology (with file:line errors from
// package scenarios) into a replay workload.
func replayWorkload(pcap, topology, port string, opt workload.Options) (bench.Workload, error) {
	t, err := scenarios.LoadTopology(topology)
	if err != nil {
		return nil, err
	}
	pkts, err := workload.ReadCapture(pcap, port)
	if err != nil {
		return nil, err
	}
	return workload.NewReplay(workload.Replay{Name: pcap, Packets: pkts, Build: t.Build}, opt)
}

// writeBenchFiles writes the report as Go benchmark format and JSON into dir.
func writeBenchFiles(dir string, rep *result.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer, *result.Report) error
	}{{benchGoFile, result.WriteGoBench}, {benchJSONFile, result.WriteJSON}} {
		var buf bytes.Buffer
		if err := f.write(&buf, rep); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, f.name), func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
	}
	return nil
}

// benchList prints the workloads, their benchmark names and keys.
func benchList(w io.Writer) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tbenchmark\tkeys\twhat")
	for _, m := range workload.Modes() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, m.Bench, strings.Join(m.Keys(), ","), m.Summary)
	}
	fmt.Fprintf(tw, "(--pcap)\t%s\tpcap,[port],cores\ta capture replayed through --topology, entering at its interfaces' ports or --port\n", workload.ReplayBench)
	tw.Flush()
	fmt.Fprintf(w, "\nsizes are Ethernet frames with FCS (64..1518) or imix (7:4:1 of 64/594/1518); \"new\" appears when --new-flow-ratio is not 0\n")
	return exitOK
}

func appendInt(dst *[]int, s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	*dst = append(*dst, n)
	return nil
}

// parseCores reads "1,2" or "1-4" (or a mix: "1,2,4-6"): core counts from 1 to
// ncpu, the machine's CPUs.
func parseCores(s string, ncpu int) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 1 || b < a {
			return nil, fmt.Errorf("%q: want core counts 1..%d, as a list (1,2) or a range (1-4)", part, ncpu)
		}
		if b > ncpu {
			return nil, fmt.Errorf("%q: this machine has %d CPUs: want core counts 1..%d", part, ncpu, ncpu)
		}
		for n := a; n <= b; n++ {
			for _, have := range out {
				if have == n {
					return nil, fmt.Errorf("%d given twice", n)
				}
			}
			out = append(out, n)
		}
	}
	return out, nil
}

// parseThreshold reads "5%" or "0.05".
func parseThreshold(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("%q: want a percentage such as 5%% or a fraction such as 0.05", s)
	}
	if pct {
		v /= 100
	}
	if !(v >= 0 && v < 10) {
		return 0, fmt.Errorf("%q: want 0%% or more", s)
	}
	if v == 0 {
		v = -1 // result.CompareOptions: negative means no minimum change
	}
	return v, nil
}
