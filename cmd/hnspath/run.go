package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hnspath/hnspath/internal/atomicfile"
	"github.com/hnspath/hnspath/scenarios"
	"github.com/hnspath/hnspath/scenarios/library"
)

func init() {
	register(&command{name: "run", summary: "run scenarios (files or directories; default: the built-in library)",
		usage: "[flags] [scenario files or directories]", run: runRun})
}

func runRun(args []string, stdout, stderr io.Writer) int {
	c := commands["run"]
	fs := newFlags(c, stderr)
	out := fs.StringP("out", "o", "", "write NAME.results.jsonl and NAME.pcapng of each scenario, and summary.json, into `dir`")
	junit := fs.String("junit", "", "write a JUnit XML report to `file`")
	jsonOut := fs.String("json", "", "write a JSON summary of the run to `file`")
	verbose := fs.BoolP("verbose", "v", false, "show what each passing scenario checked (the matched rejection of expect_error scenarios)")
	noTrace := fs.Bool("no-trace", false, "record no traces (faster on long captures; failures show no trace)")
	progress := fs.String("progress", "auto", "progress bar on stderr: `auto` (a terminal, runs over a second), always or never")
	shard := fs.String("shard", "", "run only shard `i/n` of the scenarios (sorted by name, dealt in turn; hnspath report merges the shards' --json)")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	switch *progress {
	case "auto", "always", "never":
	default:
		return usageErr(stderr, fs, "--progress: want auto, always or never, got %q", *progress)
	}
	var scs []*scenarios.Scenario
	var loadErr error
	if fs.NArg() == 0 {
		scs, loadErr = scenarios.LoadAllFS(library.FS(), ".", library.Display)
	} else {
		for _, a := range fs.Args() {
			st, err := os.Stat(a)
			if err != nil {
				loadErr = errors.Join(loadErr, scenarios.Errors{{File: a, Err: err}})
				continue
			}
			var got []*scenarios.Scenario
			var err2 error
			if st.IsDir() {
				got, err2 = scenarios.LoadDir(a)
			} else {
				var sc *scenarios.Scenario
				sc, err2 = scenarios.Load(a)
				if sc != nil {
					got = append(got, sc)
				}
			}
			scs = append(scs, got...)
			loadErr = errors.Join(loadErr, err2)
		}
	}
	// Output files are named after scenarios: names must be unique.
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
	var shardErr error
	if scs, shardErr = shardOf(scs, *shard); shardErr != nil {
		return usageErr(stderr, fs, "%v", shardErr)
	}
	if loadErr != nil {
		fmt.Fprintf(stderr, "%v\n", loadErr)
	}
	if len(scs) == 0 && loadErr == nil {
		fmt.Fprintln(stderr, "hnspath run: no scenarios found")
		return exitFail
	}
	if *jsonOut == "" && *out != "" {
		*jsonOut = filepath.Join(*out, "summary.json")
	}
	if *jsonOut != "" {
		// summary.json is written last: a stale one must not vouch for this run's files.
		// Only a regular file: --json /dev/stdout must stay.
		if st, err := os.Lstat(*jsonOut); err == nil && st.Mode().IsRegular() {
			if err := os.Remove(*jsonOut); err != nil {
				return fail(stderr, "run", err)
			}
		}
	}
	// Results go to stdout: a failed write there (a full disk) fails the run.
	ew := &errWriter{w: stdout}
	stdout = ew
	// SIGINT/SIGTERM stop the run between packets; the current scenario keeps
	// no output file, the summary says the run was interrupted.
	intr := catchInterrupts("run", stderr)
	defer intr.stop()
	// Scenario files that did not load are reports too: CI counts them as errors.
	reps := scenarios.LoadErrorReports(loadErr)
	for _, r := range reps {
		fmt.Fprintf(stdout, "ERROR %-40s did not load\n", r.Name)
	}
	bar := newProgress(stderr, *progress, len(scs))
	failed := 0
	packets := 0
	start := time.Now()
	interrupted := ""
	for i, sc := range scs {
		if intr.Context().Err() != nil {
			break
		}
		bar.scenario(i, sc.Name)
		progress := bar.packets
		if runTestHook != nil {
			progress = func(n int) { bar.packets(n); runTestHook(intr.Context(), n) }
		}
		rep := scenarios.Run(sc, scenarios.Options{OutDir: *out, NoTrace: *noTrace, Progress: progress, Context: intr.Context()})
		bar.clear()
		if s := intr.Signal(); s != nil {
			interrupted = fmt.Sprintf("%v after %d of %d scenarios", s, i, len(scs))
			rep.Err = fmt.Errorf("interrupted by %v: %w", s, errors.Join(rep.Err, intr.Context().Err()))
			rep.Passed = false
		}
		reps = append(reps, rep)
		packets += rep.Packets
		status := "PASS"
		if !rep.Passed {
			status = "FAIL"
			failed++
		}
		fmt.Fprintf(stdout, "%s  %-40s %6d packets  %s\n", status, rep.Name, rep.Packets, rep.Duration.Round(time.Microsecond))
		if rep.Err != nil {
			fmt.Fprintf(stdout, "    %s\n", strings.ReplaceAll(rep.Err.Error(), "\n", "\n    "))
		}
		for _, f := range rep.Failures {
			fmt.Fprintf(stdout, "    %s\n", strings.ReplaceAll(strings.TrimRight(f, "\n"), "\n", "\n    "))
		}
		if *verbose && rep.Passed {
			fmt.Fprintf(stdout, "    %s\n", rep.Summary)
			if rep.Rejection != "" {
				fmt.Fprintf(stdout, "    rejected as expected: %s\n", rep.Rejection)
			}
			for _, st := range rep.Steps {
				fmt.Fprintf(stdout, "    step: %s\n", st)
			}
		}
	}
	bar.done()
	sum := scenarios.NewSummary(reps)
	sum.Interrupted = interrupted
	// The first words stay "N passed, N failed" for the CI runners that parse them.
	fmt.Fprintf(stdout, "%d passed, %d failed, %d errors, %d packets in %s\n", sum.Passed, sum.Failed, sum.Errors, packets, time.Since(start).Round(time.Millisecond))
	if interrupted != "" {
		fmt.Fprintf(stdout, "interrupted: %s\n", interrupted)
		fmt.Fprintf(stderr, "hnspath run: interrupted by %s\n", interrupted)
	}
	if *junit != "" {
		if err := writeFile(*junit, func(w io.Writer) error { return scenarios.WriteJUnit(w, reps) }); err != nil {
			return fail(stderr, "run", err)
		}
	}
	if *jsonOut != "" {
		if err := writeFile(*jsonOut, sum.WriteJSON); err != nil {
			return fail(stderr, "run", err)
		}
	}
	if *out != "" {
		fmt.Fprintf(stdout, "results in %s: per scenario NAME.results.jsonl and NAME.pcapng (Wireshark), and summary.json; a report: hnspath report %s\n", *out, *out)
	}
	if ew.err != nil {
		return fail(stderr, "run", fmt.Errorf("write standard output: %w", ew.err))
	}
	if interrupted != "" {
		return intr.ExitCode()
	}
	if failed > 0 || loadErr != nil {
		return exitFail
	}
	return exitOK
}

// runTestHook, when set by a test, is called with the run's interrupt context every
// 4096 packets (scenarios.Options.Progress). No flag sets it.
var runTestHook func(ctx context.Context, packets int)

// errWriter passes writes to w and keeps the first error: the caller checks it once
// at the end instead of at every Fprintf.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	e.err = err
	return n, err
}

// writeFile writes path with fn, atomically (internal/atomicfile): a failed or
// interrupted write leaves no file that looks finished.
func writeFile(path string, fn func(io.Writer) error) error {
	return atomicfile.WriteFile(path, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		if err := fn(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// progress draws a progress bar on a terminal: scenarios done, the current
// scenario, and its packet count on long captures. It draws only on a
// terminal (or with --progress always) and, with auto, once the run has
// taken more than a second.
type progress struct {
	w       io.Writer
	on      bool
	auto    bool
	start   time.Time
	total   int
	i       int
	name    string
	drawn   bool
	lastPkt time.Time
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer, mode string, total int) *progress {
	p := &progress{w: w, total: total, start: time.Now()}
	switch mode {
	case "always":
		p.on = true
	case "auto":
		p.on, p.auto = isTerminal(w), true
	}
	return p
}

func (p *progress) ready() bool {
	return p.on && (!p.auto || time.Since(p.start) > time.Second)
}

func (p *progress) draw(extra string) {
	if !p.ready() {
		return
	}
	const width = 30
	done := width * p.i / max(p.total, 1)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d %s%s\x1b[K", strings.Repeat("=", done), strings.Repeat(" ", width-done), p.i, p.total, p.name, extra)
	p.drawn = true
}

func (p *progress) scenario(i int, name string) {
	p.i, p.name = i, name
	p.draw("")
}

// packets is the scenarios.Options.Progress callback.
func (p *progress) packets(n int) {
	if time.Since(p.lastPkt) < 100*time.Millisecond {
		return
	}
	p.lastPkt = time.Now()
	p.draw(fmt.Sprintf(" (%d packets)", n))
}

func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

func (p *progress) done() { p.clear() }
