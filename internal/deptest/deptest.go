// Package deptest checks the import rules between the tiers of the house
// (docs/design.md §1), the way Tailscale's tstest/deptest checks its binaries:
// list the packages with `go list -json`, classify each by the tier it
// lives in, and report every import that runs sideways or upward.
//
// The tiers, top to bottom:
//
//	cmd       cmd/...                     may import anything below
//	reports   reports/...                 reads result types; never imports the emulator
//	jobs      scenarios, bench, hostprobe, evidence, fleet, live
//	                                      none imports another job's packages
//	neutral   result, pcapio, spec, pktmon, internal/...
//	                                      imports neither jobs nor reports nor cmd
//	emulator  emulator/...                the standard library only
//
// The emulator's inner rules (header and checksum are leaves, winnat and
// vfp never import each other, ...) stay in emulator/deps_test.go.
package deptest

import (
	"fmt"
	"sort"
	"strings"
)

// Tier is a layer of the house; a package may import only its own tier
// (within the limits below) and the tiers under it.
type Tier int

// The tiers, from the bottom up.
const (
	Unknown Tier = iota
	Emulator
	Neutral
	Jobs
	Reports
	Cmd
)

var tierNames = [...]string{"unknown", "emulator", "neutral", "jobs", "reports", "cmd"}

func (t Tier) String() string {
	if t < 0 || int(t) >= len(tierNames) {
		return fmt.Sprintf("Tier(%d)", int(t))
	}
	return tierNames[t]
}

// jobs are the job packages; each is a tree of its own (bench/workload is
// part of bench).
var jobs = []string{"scenarios", "bench", "hostprobe", "evidence", "fleet", "live"}

// neutral are the packages shared by the jobs and reports.
var neutral = []string{"result", "pcapio", "spec", "pktmon", "internal"}

// Classify returns the tier of a package path relative to the module root
// ("bench/workload") and, for the jobs tier, the job it belongs to ("bench").
func Classify(rel string) (Tier, string) {
	top, _, _ := strings.Cut(rel, "/")
	switch {
	case top == "cmd":
		return Cmd, ""
	case top == "reports":
		return Reports, ""
	case top == "emulator":
		return Emulator, ""
	}
	for _, j := range jobs {
		if top == j {
			return Jobs, j
		}
	}
	for _, n := range neutral {
		if top == n {
			return Neutral, ""
		}
	}
	return Unknown, ""
}

// Package is the part of `go list -json` output the check reads.
type Package struct {
	ImportPath   string
	Imports      []string
	TestImports  []string // of the package's _test.go files
	XTestImports []string // of its external (package x_test) test files
}

// Violation is one import that breaks a tier rule.
type Violation struct {
	From, To string // import paths relative to the module root (To may be outside it)
	Test     bool   // the import is in a _test.go file
	Rule     string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s imports %s: %s", v.from(), v.To, v.Rule)
}

func (v Violation) from() string {
	if v.Test {
		return v.From + " (test)"
	}
	return v.From
}

// Key is the allowlist key of a violation: "from -> to", or
// "from (test) -> to" for an import in a test file.
func (v Violation) Key() string { return v.from() + " -> " + v.To }

// stdlib reports whether an import path is in the standard library: its
// first element has no dot (as `go list` and x/tools decide it).
func stdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// variant strips the " [main/pkg]" suffix go list puts on a package built
// specially for one main package (with a default.pgo profile, for one).
func variant(path string) string {
	p, _, _ := strings.Cut(path, " [")
	return p
}

// Check returns every import in pkgs that breaks a tier rule, sorted, except
// those whose Key is in allow. module is the module path ("github.com/x/y").
// A package of the module that belongs to no tier is itself a violation, so
// a new top-level package must be placed in a tier before it is used.
func Check(module string, pkgs []Package, allow map[string]string) []Violation {
	prefix := module + "/"
	var out []Violation
	add := func(v Violation) {
		if _, ok := allow[v.Key()]; !ok {
			out = append(out, v)
		}
	}
	for _, p := range pkgs {
		path := variant(p.ImportPath)
		if !strings.HasPrefix(path, prefix) {
			continue
		}
		from := strings.TrimPrefix(path, prefix)
		ft, fjob := Classify(from)
		if ft == Unknown {
			add(Violation{From: from, To: "-", Rule: "package belongs to no tier (docs/design.md §1); place it in internal/deptest"})
			continue
		}
		seen := map[string]bool{}
		for i, imports := range [][]string{p.Imports, p.TestImports, p.XTestImports} {
			test := i > 0
			for _, imp := range imports {
				imp = variant(imp)
				if stdlib(imp) || imp == p.ImportPath || seen[fmt.Sprint(test, imp)] {
					continue
				}
				seen[fmt.Sprint(test, imp)] = true
				if !strings.HasPrefix(imp, prefix) {
					// Tests may use any module as an oracle (gopacket in the
					// emulator's tests); so may the emulator's test helpers.
					if ft == Emulator && !test && !(from == "emulator/emutest" && strings.HasPrefix(imp, "github.com/gopacket/gopacket")) {
						add(Violation{From: from, To: imp, Rule: "the emulator imports the standard library only"})
					}
					continue
				}
				to := strings.TrimPrefix(imp, prefix)
				tt, tjob := Classify(to)
				if r := rule(ft, fjob, tt, tjob); r != "" {
					add(Violation{From: from, To: to, Test: test, Rule: r})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Key() < out[j].Key()
	})
	return out
}

// rule returns why a package of tier ft (job fjob) may not import one of
// tier tt (job tjob), or "" when it may.
func rule(ft Tier, fjob string, tt Tier, tjob string) string {
	switch {
	case tt == Unknown:
		return "imports a package that belongs to no tier (docs/design.md §1)"
	case ft == Emulator && tt != Emulator:
		return "the emulator imports the standard library and itself only"
	case ft == Neutral && tt > Neutral:
		return fmt.Sprintf("neutral packages import neither jobs nor reports nor cmd (this is %s)", tt)
	case ft == Jobs && tt == Jobs && fjob != tjob:
		return fmt.Sprintf("a job never imports another job's package (%s imports %s)", fjob, tjob)
	case ft == Jobs && tt > Jobs:
		return fmt.Sprintf("jobs import downward only (this is %s)", tt)
	case ft == Reports && tt == Emulator:
		return "reports reads result types and never imports the emulator"
	case ft == Reports && tt == Cmd:
		return "reports imports downward only (this is cmd)"
	}
	return ""
}
