package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/scenarios"
)

// genOptions are probe's flags for differential testing (probe --generate).
type genOptions struct {
	count       int
	seed        int64
	first       int
	mode        string
	shrinkRuns  int
	shrinkMax   int
	findings    string
	out         string
	verbose     bool
	failUndoc   bool
	backendName string
}

// genClass is one class of undocumented difference (hostprobe.DiffClass) of a batch.
type genClass struct {
	class     string
	scenarios []string
	file      string // the shrunk scenario, when written
	packets   int    // its packets
	runs      int    // probe runs the shrinking took
}

// genParse writes gs as a scenario file's text and loads it as the CLI would.
func genParse(gs *hostprobe.GenScenario) (*scenarios.Scenario, []byte, error) {
	data, err := gs.YAML()
	if err != nil {
		return nil, nil, err
	}
	sc, err := scenarios.Parse(gs.Name+".yaml", data)
	return sc, data, err
}

// runProbeGenerate generates o.count scenarios, probes each against the emulator, counts
// agreements, documented and undocumented differences, and shrinks the first scenario of
// every undocumented class to a smallest one, written to o.findings.
func runProbeGenerate(intr *interrupt, newBackend func() hostprobe.Backend, o genOptions, stdout, stderr io.Writer) int {
	ctx := intr.Context()
	for _, d := range []string{o.findings, o.out} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fail(stderr, "probe", err)
		}
	}
	counts := map[string]int{}
	classes := map[string]*genClass{}
	var order []string
	probe := func(sc *scenarios.Scenario) probeRow { return probeScenario(ctx, intr, sc, newBackend, "") }
	code := exitOK
	done := 0
	shrunk := 0
	for i := o.first; i < o.first+o.count && ctx.Err() == nil; i++ {
		gs, err := hostprobe.Generate(o.mode, o.seed, i)
		if err != nil {
			return fail(stderr, "probe", err)
		}
		sc, data, err := genParse(gs)
		if o.out != "" && data != nil {
			if err := os.WriteFile(filepath.Join(o.out, gs.Name+".yaml"), data, 0o644); err != nil {
				return fail(stderr, "probe", err)
			}
		}
		if err != nil {
			// A generated scenario must be valid: this is a generator defect.
			fmt.Fprintf(stderr, "hnspath probe: generated scenario %s is not valid: %v\n", gs.Name, err)
			code = exitFail
			counts["invalid"]++
			continue
		}
		row := probe(sc)
		if row.err != nil && strings.Contains(row.err.Error(), "is not bound") {
			// The emulator did not forward a packet a generated reply answers: run the
			// scenario without its replies through bindings.
			gs = gs.WithoutReplies()
			if sc, _, err = genParse(gs); err != nil {
				fmt.Fprintf(stderr, "hnspath probe: generated scenario %s is not valid: %v\n", gs.Name, err)
				code = exitFail
				counts["invalid"]++
				continue
			}
			row = probe(sc)
			counts["unanswered"]++
		}
		if errors.Is(row.err, errors.ErrUnsupported) {
			fmt.Fprintf(stderr, "hnspath probe: the %s backend cannot run here: %v\n", o.backendName, row.err)
			return exitUnsupported
		}
		done++
		v := genVerdict(row)
		counts[v]++
		if o.verbose && row.cmp != nil && row.cmp.Differing() > 0 {
			writeDiffs(stdout, row.cmp)
		}
		if row.err != nil {
			fmt.Fprintf(stderr, "hnspath probe: %s: %v\n", gs.Name, row.err)
			continue
		}
		shrankHere := false
		rowClasses := hostprobe.UndocumentedClasses(row.cmp)
		for _, k := range rowClasses {
			c := classes[k]
			if c == nil {
				c = &genClass{class: k}
				classes[k] = c
				order = append(order, k)
			}
			c.scenarios = append(c.scenarios, gs.Name)
		}
		for _, k := range rowClasses {
			c := classes[k]
			// One shrink per scenario and class: the first scenario of a class that is
			// not shrunk yet, unless this scenario was shrunk for another class.
			if c.file != "" || shrankHere || o.findings == "" || shrunk >= o.shrinkMax {
				continue
			}
			shrankHere = true
			shrunk++
			var last []string // the classes of the smallest failing candidate
			fails := func(cand *hostprobe.GenScenario) bool {
				csc, _, err := genParse(cand)
				if err != nil {
					return false
				}
				r := probe(csc)
				if r.err != nil {
					return false
				}
				got := hostprobe.UndocumentedClasses(r.cmp)
				for _, g := range got {
					if g == k {
						last = got
						return true
					}
				}
				return false
			}
			small, runs := hostprobe.Shrink(ctx, gs, o.shrinkRuns, fails)
			if ctx.Err() != nil {
				break
			}
			if last == nil {
				last = hostprobe.UndocumentedClasses(row.cmp)
			}
			small.Name = fmt.Sprintf("finding-%s-s%d-%04d", o.mode, o.seed, i)
			small.Summary = fmt.Sprintf("Shrunk from %s: the emulator and %s differ in a way no documented difference explains: %s.", gs.Name, o.backendName, k)
			data, err := small.YAML()
			if err != nil {
				return fail(stderr, "probe", err)
			}
			file := filepath.Join(o.findings, small.Name+".yaml")
			// The classes the shrunk scenario still shows are covered by it.
			for _, g := range last {
				if gc := classes[g]; gc != nil && gc.file == "" {
					gc.file, gc.packets, gc.runs = file, len(small.Packets), runs
				}
			}
			c.file, c.packets, c.runs = file, len(small.Packets), runs
			head := fmt.Sprintf("# hnspath probe --generate --mode %s --seed %d --first %d: shrunk in %d probe runs.\n# Differs: %s\n", o.mode, o.seed, i, runs, strings.Join(last, "; "))
			if err := os.WriteFile(file, append([]byte(head), data...), 0o644); err != nil {
				return fail(stderr, "probe", err)
			}
		}
	}
	fmt.Fprintf(stdout, "generated %d %s scenarios (seed %d, from %d) against %s: %d agree, %d differ (documented), %d partial, %d differ (undocumented), %d errors, %d invalid (%d run without their replies: the emulator did not forward what they answer)\n",
		done, o.mode, o.seed, o.first, o.backendName, counts["agree"], counts["documented"], counts["partial"], counts["undocumented"], counts["error"], counts["invalid"], counts["unanswered"])
	sort.SliceStable(order, func(a, b int) bool { return len(classes[order[a]].scenarios) > len(classes[order[b]].scenarios) })
	for _, k := range order {
		c := classes[k]
		fmt.Fprintf(stdout, "  undocumented: %s: %d scenarios (first %s)", k, len(c.scenarios), c.scenarios[0])
		if c.file != "" {
			fmt.Fprintf(stdout, "; shrunk to %d packets in %d runs: %s", c.packets, c.runs, c.file)
		}
		fmt.Fprintln(stdout)
	}
	if s := intr.Signal(); s != nil {
		fmt.Fprintf(stderr, "hnspath probe: interrupted by %v after %d scenarios; what it built is removed\n", s, done)
		return intr.ExitCode()
	}
	if counts["error"] > 0 || o.failUndoc && counts["undocumented"] > 0 {
		code = exitFail
	}
	return code
}

// genVerdict sorts a probe row into the batch's counts.
func genVerdict(r probeRow) string {
	switch {
	case r.err != nil || r.cmp == nil:
		return "error"
	case r.cmp.Undocumented() > 0:
		return "undocumented"
	case r.cmp.Partial() > 0:
		return "partial"
	case r.cmp.Differing() > 0:
		return "documented"
	}
	return "agree"
}

// checkGenMode reports whether mode is one --generate knows.
func checkGenMode(mode string) error {
	for _, m := range hostprobe.GenModes {
		if m == mode {
			return nil
		}
	}
	return fmt.Errorf("want one of %s, got %q", strings.Join(hostprobe.GenModes, ", "), mode)
}
