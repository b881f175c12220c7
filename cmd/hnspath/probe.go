package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/vfp"
	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/hostprobe/linux"
	"github.com/hnspath/hnspath/hostprobe/windows"
	"github.com/hnspath/hnspath/result"
	"github.com/hnspath/hnspath/scenarios"
	"github.com/hnspath/hnspath/scenarios/library"
)

func init() {
	register(&command{name: "probe", summary: "run scenarios on a real datapath (Linux kernel, Windows HNS) and compare with the emulator",
		usage: "[flags] [scenario files or directories]  |  hnspath probe clean [flags]", run: runProbe})
}

func runProbe(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "clean" {
		return runProbeClean(args[1:], stdout, stderr)
	}
	c := commands["probe"]
	fs := newFlags(c, stderr)
	backend := fs.StringP("backend", "b", result.BackendLinux, "datapath to run on: `name` linux, windows or emulator")
	out := fs.StringP("out", "o", "", "write each scenario's results per backend (NAME.BACKEND.results.jsonl), its differences (NAME.diff.txt) and summary.txt/summary.json into `dir`")
	l2 := fs.String("l2bridge", "auto", "Linux analogue of l2bridge: `mode` auto (ipvlan where the kernel has it), macrewrite or ipvlan")
	host := fs.String("host", "", "Windows: the topology `host` to build (default: the only one)")
	quiet := fs.Duration("quiet", 0, "Linux: how long to wait for more frames after each input (default 25ms)")
	failUndoc := fs.Bool("fail-on-undocumented", false, "exit 1 when a scenario differs in a way no documented Windows/Linux difference explains")
	verbose := fs.BoolP("verbose", "v", false, "print every difference, not only the summary")
	win := addWindowsFlags(fs)
	var gen genOptions
	fs.IntVar(&gen.count, "generate", 0, "differential testing: generate `N` random valid scenarios for --mode instead of reading files, and shrink each undocumented difference (docs/differential.md)")
	fs.Int64Var(&gen.seed, "seed", 1, "--generate: the random `seed` (the same seed gives the same scenarios)")
	fs.IntVar(&gen.first, "first", 0, "--generate: the `index` of the first scenario (to run a batch in chunks)")
	fs.StringVar(&gen.mode, "mode", "nat", "--generate: the network `mode` nat, l2bridge, transparent or overlay")
	fs.StringVar(&gen.findings, "findings", "", "--generate: shrink the first scenario of each undocumented difference class and write it as a scenario file into `dir`")
	fs.IntVar(&gen.shrinkRuns, "shrink-runs", 60, "--generate: at most `n` probe runs to shrink one scenario")
	fs.IntVar(&gen.shrinkMax, "shrink-max", 20, "--generate: shrink at most `n` classes")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if gen.count > 0 {
		if err := checkGenMode(gen.mode); err != nil {
			return usageErr(stderr, fs, "--mode: %v", err)
		}
		if fs.NArg() > 0 {
			return usageErr(stderr, fs, "--generate makes its scenarios: give no scenario files")
		}
	}
	mode, err := linux.ParseL2BridgeMode(*l2)
	if err != nil {
		return usageErr(stderr, fs, "--l2bridge: %v", err)
	}
	// SIGINT and SIGTERM only cancel ctx: the loop below owns the labs, stops starting
	// scenarios, tears down the current one (the signals stay caught meanwhile, so a
	// second one cannot cut the teardown short) and exits 130 or 143.
	intr := catchInterrupts("probe", stderr)
	defer intr.stop()
	var newBackend func() hostprobe.Backend
	switch *backend {
	case result.BackendLinux:
		if err := linux.CheckPrivileges(); err != nil {
			fmt.Fprintf(stderr, "hnspath probe: the Linux backend cannot run here: %v\n", err)
			return exitUnsupported
		}
		newBackend = func() hostprobe.Backend {
			return linux.NewBackend(linux.BackendOptions{L2Bridge: mode, Quiet: *quiet, Log: intr.log()})
		}
	case result.BackendWindows:
		newBackend = func() hostprobe.Backend { return windows.NewBackend(win.options(*host)) }
	case result.BackendEmulator:
		newBackend = func() hostprobe.Backend { return hostprobe.NewEmulator() }
	default:
		return usageErr(stderr, fs, "--backend: want linux, windows or emulator, got %q", *backend)
	}
	if gen.count > 0 {
		gen.verbose, gen.failUndoc, gen.backendName, gen.out = *verbose, *failUndoc, *backend, *out
		return runProbeGenerate(intr, newBackend, gen, stdout, stderr)
	}
	scs, loadErr := loadScenarios(fs.Args())
	// Output files are named after scenarios: a second scenario of the same name would
	// overwrite the first one's.
	seen := map[string]string{}
	kept := scs[:0]
	for _, sc := range scs {
		if prev, dup := seen[sc.Name]; dup {
			loadErr = errors.Join(loadErr, scenarios.Errors{{File: sc.File, Field: "name",
				Err: fmt.Errorf("%q is also the name of %s (output files are named after scenarios)", sc.Name, prev)}})
			continue
		}
		seen[sc.Name] = sc.File
		kept = append(kept, sc)
	}
	scs = kept
	if loadErr != nil {
		fmt.Fprintf(stderr, "%v\n", loadErr)
	}
	if len(scs) == 0 {
		fmt.Fprintln(stderr, "hnspath probe: no scenarios found")
		return exitFail
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return fail(stderr, "probe", err)
		}
		// The summaries are written last: stale ones must not vouch for this run's files.
		for _, name := range []string{"summary.json", "summary.txt"} {
			if err := os.Remove(filepath.Join(*out, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fail(stderr, "probe", err)
			}
		}
	}
	if probeTestBackend != nil {
		nb := newBackend
		newBackend = func() hostprobe.Backend { return probeTestBackend(nb(), intr.Context()) }
	}
	ctx := intr.Context()
	var rows []probeRow
	for _, sc := range scs {
		if ctx.Err() != nil {
			break
		}
		row := probeScenario(ctx, intr, sc, newBackend, *out)
		if errors.Is(row.err, errors.ErrUnsupported) {
			fmt.Fprintf(stderr, "hnspath probe: the %s backend cannot run here: %v\n", *backend, row.err)
			return exitUnsupported
		}
		rows = append(rows, row)
		if *verbose && row.cmp != nil {
			writeDiffs(stdout, row.cmp)
		}
	}
	interrupted := ""
	if s := intr.Signal(); s != nil {
		interrupted = fmt.Sprintf("%v after %d of %d scenarios", s, len(rows), len(scs))
		fmt.Fprintf(stderr, "hnspath probe: interrupted by %s; what it built is removed\n", interrupted)
	}
	writeSummary(stdout, *backend, rows)
	if interrupted != "" {
		fmt.Fprintf(stdout, "interrupted: %s\n", interrupted)
	}
	if *out != "" {
		if err := writeFile(filepath.Join(*out, "summary.txt"), func(w io.Writer) error { writeSummary(w, *backend, rows); return nil }); err != nil {
			return fail(stderr, "probe", err)
		}
		if err := writeFile(filepath.Join(*out, "summary.json"), func(w io.Writer) error { return writeSummaryJSON(w, *backend, rows, interrupted) }); err != nil {
			return fail(stderr, "probe", err)
		}
	}
	code := exitOK
	for _, r := range rows {
		if r.err != nil || *failUndoc && r.cmp != nil && r.cmp.Undocumented() > 0 {
			code = exitFail
		}
	}
	if loadErr != nil {
		code = exitFail
	}
	if interrupted != "" {
		code = intr.ExitCode()
	}
	return code
}

// probeTestBackend, when set by a test, wraps every backend probe makes; ctx is the
// run's interrupt context. No flag sets it.
var probeTestBackend func(be hostprobe.Backend, ctx context.Context) hostprobe.Backend

// loadScenarios loads files and directories, or the library without arguments.
func loadScenarios(args []string) ([]*scenarios.Scenario, error) {
	if len(args) == 0 {
		return scenarios.LoadAllFS(library.FS(), ".", library.Display)
	}
	var scs []*scenarios.Scenario
	var errs []error
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.IsDir() {
			got, err := scenarios.LoadDir(a)
			scs = append(scs, got...)
			errs = append(errs, err)
			continue
		}
		sc, err := scenarios.Load(a)
		if sc != nil {
			scs = append(scs, sc)
		}
		errs = append(errs, err)
	}
	return scs, errors.Join(errs...)
}

// probeRow is one scenario's line of the summary.
type probeRow struct {
	name    string
	packets int
	skipped string
	err     error
	cmp     *hostprobe.Comparison
	notes   []hostprobe.NotBuilt // what the backend could not build
	elapsed time.Duration
}

// probeScenario runs sc on the emulator (the reference, with the scenario runner's
// input building and bindings) and then on a fresh backend, input by input, and
// compares them.
func probeScenario(ctx context.Context, intr *interrupt, sc *scenarios.Scenario, newBackend func() hostprobe.Backend, outDir string) probeRow {
	start := time.Now()
	row := probeRow{name: sc.Name}
	defer func() { row.elapsed = time.Since(start) }()
	if sc.ExpectError != nil {
		row.skipped = "expects HNS to reject its topology: nothing to send"
		return row
	}
	var ref []*result.Packet
	rep := scenarios.Run(sc, scenarios.Options{Results: func(p *result.Packet) { ref = append(ref, p) }})
	if rep.Err != nil {
		row.err = fmt.Errorf("emulator: %w", rep.Err)
		return row
	}
	steps, err := stepsOf(sc, rep.Steps)
	if err != nil {
		row.err = err
		return row
	}
	row.packets = len(ref)
	be := newBackend()
	intr.working("scenario " + sc.Name)
	defer intr.working("")
	defer be.Close()
	err = be.Setup(ctx, &sc.Topology.Topology)
	if l, ok := be.(interface{ Session() string }); ok && l.Session() != "" {
		intr.working(fmt.Sprintf("scenario %s: lab %s (namespaces %s-*)", sc.Name, l.Session(), l.Session()))
	}
	if err != nil {
		row.err = err
		return row
	}
	if u, ok := be.(interface{ NotBuilt() []hostprobe.NotBuilt }); ok {
		row.notes = u.NotBuilt()
	}
	got, cmp, err := hostprobe.RunAgainstWith(ctx, be, sc.Name, ref,
		hostprobe.Against{Steps: steps, LBGroups: hostprobe.LBGroupsOf(&sc.Topology.Topology)})
	cmp.MarkNotBuilt(ref, row.notes)
	row.cmp = cmp
	if err != nil {
		row.err = err
	}
	if wb, ok := be.(*windows.Backend); ok && outDir != "" {
		if err := vfpReport(ctx, wb, sc, ref, filepath.Join(outDir, sc.Name+".vfp.txt")); err != nil && row.err == nil {
			row.err = err
		}
	}
	if closeErr := be.Close(); closeErr != nil && row.err == nil {
		row.err = fmt.Errorf("teardown: %w", closeErr)
	}
	if ctx.Err() != nil {
		// Interrupted: the results are incomplete, and no file may look finished.
		row.err = fmt.Errorf("interrupted: %w", errors.Join(row.err, ctx.Err()))
		return row
	}
	if outDir != "" {
		werr := errors.Join(
			writeResults(filepath.Join(outDir, sc.Name+"."+result.BackendEmulator+".results.jsonl"), ref),
			writeResults(filepath.Join(outDir, sc.Name+"."+be.Name()+".results.jsonl"), got),
			writeFile(filepath.Join(outDir, sc.Name+".diff.txt"), func(w io.Writer) error { writeDiffs(w, cmp); return nil }))
		if werr != nil && row.err == nil {
			row.err = werr
		}
	}
	return row
}

// stepsOf returns the steps (`do:` entries) the reference run made, by the 0-based index
// of the input they came before; steps after the last input change nothing that is
// compared and are left out.
func stepsOf(sc *scenarios.Scenario, recs []scenarios.StepRecord) (map[int][]hostprobe.Step, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	byField := map[string]*scenarios.Step{}
	for _, p := range sc.Packets {
		if p.Do != nil {
			byField[p.Field] = p.Do
		}
	}
	out := map[int][]hostprobe.Step{}
	for _, r := range recs {
		s, ok := byField[r.Field]
		if !ok {
			return nil, fmt.Errorf("step %s (%s): not in the scenario", r.What, r.Field)
		}
		hs := hostprobe.Step{Host: s.Host, Endpoint: s.Endpoint, LoadBalancer: s.LoadBalancer,
			Endpoints: append([]string(nil), s.Endpoints...)}
		switch s.Action {
		case scenarios.StepRemoveEndpoint:
			hs.Action = hostprobe.StepRemoveEndpoint
		case scenarios.StepUpdateLoadBalancer:
			hs.Action = hostprobe.StepUpdateLoadBalancer
		default:
			return nil, fmt.Errorf("step %s (%s): action %v has no probe analogue", r.What, r.Field, s.Action)
		}
		out[r.After] = append(out[r.After], hs)
	}
	return out, nil
}

// vfpReport compares, for every endpoint of the Windows host, the VFP rules the emulator
// programs with those the host shows (vfpctrl /list-rule), and asks the host's VFP what
// it would do with each scenario packet sent from or to that endpoint
// (vfpctrl /process-tuples).
func vfpReport(ctx context.Context, wb *windows.Backend, sc *scenarios.Scenario, ref []*result.Packet, path string) error {
	f, err := fabric.New(sc.Topology.Topology, fabric.Options{})
	if err != nil {
		return err
	}
	return writeFile(path, func(w io.Writer) error {
		for _, port := range f.Ports() {
			if port.Kind != fabric.PortEndpoint {
				continue
			}
			h := f.Hosts()[port.Host]
			e := h.Endpoints[port.Endpoint]
			vp := h.VFP(e.Switch, e.Port)
			if vp == nil {
				continue
			}
			got, err := wb.HostRules(ctx, port.Name)
			if err != nil {
				fmt.Fprintf(w, "%s: rules: %v\n", port.Name, err)
				continue
			}
			fmt.Fprintf(w, "%s: rules, emulator vs host:\n", port.Name)
			for _, d := range windows.DiffRules(vp.Layers(), got) {
				fmt.Fprintf(w, "  %s\n", d)
			}
			for _, p := range ref {
				dir := vfp.Out
				if p.In != port.Name {
					dir = vfp.In
					if len(output(p, port.Name)) == 0 {
						continue
					}
				}
				t, ok := windows.TupleOf(p.Frame, dir)
				if !ok {
					continue
				}
				v, err := wb.AskVFP(ctx, port.Name, t)
				if err != nil {
					fmt.Fprintf(w, "  packet %d (%s): %v\n", p.Index, t, err)
					continue
				}
				fmt.Fprintf(w, "  packet %d (%s): host VFP: %s %s/%s/%s; emulator: %s\n", p.Index, t, v.Action, v.Layer, v.Group, v.Rule, p.Outcome)
			}
		}
		return nil
	})
}

// output returns the outputs of p at port.
func output(p *result.Packet, port string) []result.Output {
	var out []result.Output
	for _, o := range p.Outputs {
		if o.Port == port {
			out = append(out, o)
		}
	}
	return out
}

// writeResults writes results as JSON Lines.
func writeResults(path string, ps []*result.Packet) error {
	return writeFile(path, func(w io.Writer) error {
		rw := result.NewWriter(w)
		for _, p := range ps {
			if err := rw.Write(p); err != nil {
				return err
			}
		}
		return rw.Flush()
	})
}

// writeDiffs prints every difference of a comparison, per packet.
func writeDiffs(w io.Writer, cmp *hostprobe.Comparison) {
	if cmp == nil {
		return
	}
	fmt.Fprintf(w, "%s: %s vs %s\n", cmp.Scenario, cmp.A, cmp.B)
	for _, p := range cmp.Packets {
		if p.Agrees() {
			continue
		}
		fmt.Fprintf(w, "  packet %d at %s:\n", p.Index, p.In)
		for _, d := range p.Diffs {
			fmt.Fprintf(w, "    %s\n", d)
		}
	}
	for _, id := range cmp.Known() {
		if k, ok := hostprobe.DifferenceByID(id); ok {
			fmt.Fprintf(w, "  [%s] Windows: %s\n  [%s] Linux: %s\n  [%s] source: %s\n", id, k.Windows, id, k.Linux, id, k.Source)
		}
	}
}

// status returns the summary's RESULT column.
func (r probeRow) status() string {
	switch {
	case r.skipped != "":
		return "skipped"
	case r.err != nil:
		return "error"
	case r.cmp == nil:
		return "error"
	}
	return r.cmp.Verdict()
}

// writeSummary prints the summary table: per scenario whether the backend agrees with
// the emulator, how many packets differ (and how many in undocumented ways), and the
// documented Windows/Linux differences seen.
func writeSummary(w io.Writer, backend string, rows []probeRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "SCENARIO\tRESULT (emulator vs %s)\tPACKETS\tDIFFERING\tUNDOCUMENTED\tDOCUMENTED DIFFERENCES\n", backend)
	counts := map[string]int{}
	for _, r := range rows {
		st := r.status()
		key, _, _ := strings.Cut(st, " (not built")
		counts[key]++
		diff, undoc, known := "-", "-", "-"
		if r.cmp != nil {
			diff = fmt.Sprint(r.cmp.Differing())
			undoc = fmt.Sprint(r.cmp.Undocumented())
			if k := r.cmp.Known(); len(k) > 0 {
				known = strings.Join(k, ", ")
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", r.name, st, r.packets, diff, undoc, known)
	}
	tw.Flush()
	for _, r := range rows {
		switch {
		case r.err != nil:
			fmt.Fprintf(w, "%s: error: %s\n", r.name, strings.ReplaceAll(r.err.Error(), "\n", "\n    "))
		case r.skipped != "":
			fmt.Fprintf(w, "%s: skipped: %s\n", r.name, r.skipped)
		}
		for _, n := range r.notes {
			fmt.Fprintf(w, "%s: not built on %s: %s\n", r.name, backend, n.What)
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	fmt.Fprintf(w, "%d scenarios: %s\n", len(rows), strings.Join(parts, ", "))
}

// summaryJSON is the machine-readable summary (summary.json).
type summaryJSON struct {
	Backend string `json:"backend"`
	// Interrupted names the signal that stopped the run ("terminated after 2 of 5
	// scenarios"); the summary then covers only the scenarios started.
	Interrupted string            `json:"interrupted,omitempty"`
	Scenarios   []summaryScenario `json:"scenarios"`
}

type summaryScenario struct {
	Name         string   `json:"name"`
	Result       string   `json:"result"`
	Packets      int      `json:"packets"`
	Differing    int      `json:"differing"`
	Undocumented int      `json:"undocumented"`
	Documented   []string `json:"documented,omitempty"`
	Error        string   `json:"error,omitempty"`
	Skipped      string   `json:"skipped,omitempty"`
	NotBuilt     []string `json:"not_built,omitempty"`
	// Partial counts the packets whose differences come from what was not built
	// (PartialBy lists those parts).
	Partial   int      `json:"partial,omitempty"`
	PartialBy []string `json:"partial_by,omitempty"`
}

func writeSummaryJSON(w io.Writer, backend string, rows []probeRow, interrupted string) error {
	s := summaryJSON{Backend: backend, Interrupted: interrupted}
	for _, r := range rows {
		ss := summaryScenario{Name: r.name, Result: r.status(), Packets: r.packets, Skipped: r.skipped}
		for _, n := range r.notes {
			ss.NotBuilt = append(ss.NotBuilt, n.What)
		}
		if r.err != nil {
			ss.Error = r.err.Error()
		}
		if r.cmp != nil {
			ss.Differing, ss.Undocumented, ss.Documented = r.cmp.Differing(), r.cmp.Undocumented(), r.cmp.Known()
			ss.Partial, ss.PartialBy = r.cmp.Partial(), r.cmp.NotBuilt()
		}
		s.Scenarios = append(s.Scenarios, ss)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// runProbeClean removes what earlier probe runs left behind.
func runProbeClean(args []string, stdout, stderr io.Writer) int {
	c := &command{name: "probe clean", summary: "remove the namespaces, links and nftables tables (Linux) or HNS objects (Windows) that killed probe runs left behind",
		usage: "[flags]"}
	fs := newFlags(c, stderr)
	backend := fs.StringP("backend", "b", result.BackendLinux, "`name` linux or windows")
	prefix := fs.String("prefix", linux.Prefix, "remove only objects whose names start with `prefix` (a session: hnsp-<id>-)")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return usageErr(stderr, fs, "unexpected arguments %q", fs.Args())
	}
	if !strings.HasPrefix(*prefix, linux.Prefix) {
		return usageErr(stderr, fs, "--prefix %q: want a prefix starting with %s (all sessions) or a session's %s<id>-", *prefix, linux.Prefix, linux.Prefix)
	}
	var removed []string
	var err error
	switch *backend {
	case result.BackendLinux:
		if perr := linux.CheckPrivileges(); perr != nil {
			fmt.Fprintf(stderr, "hnspath probe clean: %v\n", perr)
			return exitUnsupported
		}
		removed, err = linux.Clean(*prefix)
	case result.BackendWindows:
		removed, err = windows.Clean(*prefix)
	default:
		return usageErr(stderr, fs, "--backend: want linux or windows, got %q", *backend)
	}
	for _, r := range removed {
		fmt.Fprintf(stdout, "removed %s\n", r)
	}
	if errors.Is(err, errors.ErrUnsupported) {
		fmt.Fprintf(stderr, "hnspath probe clean: %v\n", err)
		return exitUnsupported
	}
	if err != nil {
		return fail(stderr, "probe clean", err)
	}
	if len(removed) == 0 {
		fmt.Fprintln(stdout, "nothing to remove")
	}
	return exitOK
}
