package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hnspath/hnspath/internal/input"
	"github.com/hnspath/hnspath/reports"
	"github.com/hnspath/hnspath/result"
	"github.com/hnspath/hnspath/scenarios"
)

func init() {
	register(&command{name: "counters", summary: "show a run as pktmon counters shows a host: flow and drop counters per component, and the edges between them",
		usage: "[--type all|flow|drop] [--drop-reason] (--scenario file | results.jsonl... | dir...)", run: runCounters})
}

func runCounters(args []string, stdout, stderr io.Writer) int {
	c := commands["counters"]
	fs := newFlags(c, stderr)
	scen := fs.StringP("scenario", "s", "", "run this scenario `file` and count its packets (instead of reading results)")
	typ := fs.StringP("type", "t", "all", "which counters: all, flow or drop (pktmon counters --type)")
	reason := fs.BoolP("drop-reason", "r", false, "show each drop counter's most recent drop reason, with its pktmon or VFP number (pktmon counters --drop-reason)")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	switch *typ {
	case "all", "flow", "drop":
	default:
		return usageErr(stderr, fs, "--type: want all, flow or drop, got %q", *typ)
	}
	if (*scen == "") == (fs.NArg() == 0) {
		return usageErr(stderr, fs, "give --scenario or results files (NAME.results.jsonl, or directories of them, from hnspath run --out)")
	}
	var cs []*reports.Counters
	if *scen != "" {
		sc, err := scenarios.Load(*scen)
		if err != nil {
			return fail(stderr, "counters", err)
		}
		var pkts []*result.Packet
		rep := scenarios.Run(sc, scenarios.Options{Results: func(p *result.Packet) { pkts = append(pkts, p) }})
		if rep.Err != nil {
			return fail(stderr, "counters", rep.Err)
		}
		cnt, err := reports.NewCounters(sc.Name, pkts)
		if err != nil {
			return fail(stderr, "counters", err)
		}
		cs = append(cs, cnt)
	}
	files, err := resultsFiles(fs.Args())
	if err != nil {
		return fail(stderr, "counters", err)
	}
	for _, f := range files {
		data, err := input.ReadFile(f, 0)
		if err != nil {
			return fail(stderr, "counters", err)
		}
		pkts, err := result.ReadAll(bytes.NewReader(data), f)
		if err != nil {
			return fail(stderr, "counters", err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".results.jsonl")
		if len(pkts) > 0 && pkts[0].Scenario != "" {
			name = pkts[0].Scenario
		}
		cnt, err := reports.NewCounters(name, pkts)
		if err != nil {
			return fail(stderr, "counters", fmt.Errorf("%s: %w", f, err))
		}
		cs = append(cs, cnt)
	}
	if err := reports.WriteCounters(stdout, cs, reports.CounterOptions{Type: *typ, DropReason: *reason}); err != nil {
		return fail(stderr, "counters", err)
	}
	return exitOK
}

// resultsFiles expands directories to their NAME.results.jsonl files.
func resultsFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		m, err := filepath.Glob(filepath.Join(a, "*.results.jsonl"))
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%s: no NAME.results.jsonl files (hnspath run --out %s writes them)", a, a)
		}
		sort.Strings(m)
		out = append(out, m...)
	}
	return out, nil
}
