package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/vfp"
	"github.com/hnspath/hnspath/emulator/vfp/vfpctrl"
	"github.com/hnspath/hnspath/internal/input"
)

const vfpCheckUsage = "check --topology file --dump file [--port HOST/PORT] [--dump-port NAME] [--layer NAME] [--explain] [--format text|json]"

// checkReport is the JSON form of `hnspath vfp check` (stable; covered
// by a golden test).
type checkReport struct {
	Dump        string      `json:"dump"`
	Ports       []checkPort `json:"ports"`
	Unmatched   []string    `json:"unmatched_dump_ports,omitempty"`
	Unchecked   []string    `json:"unchecked_ports,omitempty"`
	Differences int         `json:"differences"`
	Unverified  int         `json:"unverified"`
	Rules       int         `json:"rules_checked"`
	Explain     bool        `json:"explain"`
}

type checkPort struct {
	Port      string         `json:"port"`
	DumpPort  string         `json:"dump_port,omitempty"`
	Line      int            `json:"line"`
	Layer     string         `json:"layer,omitempty"`
	Partial   bool           `json:"partial"`
	Gaps      []vfpctrl.Gap  `json:"gaps,omitempty"`
	Diffs     []vfpctrl.Diff `json:"diffs"`
	Rules     int            `json:"rules_checked"`
	NamesOnly bool           `json:"names_only,omitempty"`
}

// runVFPCheck is `hnspath vfp check`: the layers, groups and rules the
// emulator programs for a topology against a node's vfpctrl dump.
func runVFPCheck(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("vfp check", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: hnspath vfp %s\n\n", vfpCheckUsage)
		fmt.Fprintln(stderr, "Check the VFP rules the emulator programs for a topology (for example one imported from a node)")
		fmt.Fprintln(stderr, "against the node's vfpctrl /list-rule dump: missing, extra and different rules (priority, flags,")
		fmt.Fprintln(stderr, "conditions, type, flow TTL, MSS delta, NAT pool). The dump is one port's listing, or a")
		fmt.Fprintln(stderr, "collectlogs.ps1 vfpOutput.txt with every port's, each after its \"Policy for port\" header; ports")
		fmt.Fprintln(stderr, "are paired by the HNS endpoint ID (the port name on real hosts), the endpoint name or the MAC.")
		fmt.Fprintln(stderr, "Exit 0 when every checked rule matches, 1 when one differs (or nothing could be checked), 2 on usage.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	topo := fs.StringP("topology", "t", "", "topology `file` (YAML or JSON), or a scenario file's topology")
	dump := fs.StringP("dump", "d", "", "vfpctrl dump `file`: /list-rule output of one port, a collectlogs vfpOutput.txt (or vfprules.txt), or the collectlogs bundle directory holding it")
	port := fs.StringP("port", "p", "", "check only this topology `port` (HOST/ENDPOINT, HOST/NIC, HOST/host)")
	dumpPort := fs.String("dump-port", "", "compare --port with this port `name` of the dump (when the IDs differ, e.g. a dump from another node)")
	layer := fs.String("layer", "", "check only this `layer`; the dump is `vfpctrl /port P /layer NAME /list-rule` output (needed when the paste lacks that command line)")
	explain := fs.Bool("explain", false, "also expect the model's own rules (those vfp leaves out unless --explain) on the host")
	format := fs.String("format", "text", "output `format`: text or json")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	switch {
	case *topo == "" || *dump == "":
		return usageErr(stderr, fs, "give --topology and --dump")
	case fs.NArg() > 0:
		return usageErr(stderr, fs, "unexpected arguments %q", fs.Args())
	case *format != "text" && *format != "json":
		return usageErr(stderr, fs, "--format %q: want text or json", *format)
	case *dumpPort != "" && *port == "":
		return usageErr(stderr, fs, "--dump-port needs --port")
	}
	t, err := loadTopologyOrScenario(*topo)
	if err != nil {
		return fail(stderr, "vfp check", err)
	}
	f, err := t.Build(fabric.Options{})
	if err != nil {
		return fail(stderr, "vfp check", err)
	}
	if st, err := os.Stat(*dump); err == nil && st.IsDir() {
		f, err := bundleDump(*dump)
		if err != nil {
			return fail(stderr, "vfp check", err)
		}
		*dump = f
	}
	data, err := input.ReadFile(*dump, 0)
	if err != nil {
		return fail(stderr, "vfp check", err)
	}
	d, err := vfpctrl.ParseDump(*dump, data)
	if err != nil {
		return fail(stderr, "vfp check", err)
	}
	all := vfpPorts(f)
	rep := &checkReport{Dump: *dump, Explain: *explain}
	var sel []vfpPort
	if *port != "" {
		p, err := findVFPPort(all, *port)
		if err != nil {
			return fail(stderr, "vfp check", err)
		}
		sel = []vfpPort{p}
	} else {
		sel = all
	}
	used := map[int]bool{}
	for _, p := range sel {
		di := -1
		switch {
		case *dumpPort != "":
			for i := range d.Ports {
				if strings.EqualFold(d.Ports[i].Port, *dumpPort) {
					di = i
				}
			}
			if di < 0 {
				return fail(stderr, "vfp check", fmt.Errorf("--dump-port %s: no such port in %s (ports: %s)", *dumpPort, *dump, dumpPortNames(d)))
			}
		case *port != "" && len(d.Ports) == 1:
			di = 0 // one port given, one port dumped
		default:
			di = pairPort(p, d, used)
		}
		if di < 0 {
			rep.Unchecked = append(rep.Unchecked, p.name)
			continue
		}
		used[di] = true
		rep.Ports = append(rep.Ports, checkOne(p, &d.Ports[di], *explain, *layer))
	}
	for i, pd := range d.Ports {
		if !used[i] && *port == "" {
			rep.Unmatched = append(rep.Unmatched, firstNonEmptyStr(pd.Port, fmt.Sprintf("(listing at line %d)", pd.Line)))
		}
	}
	for _, cp := range rep.Ports {
		rep.Rules += cp.Rules
		for _, df := range cp.Diffs {
			if df.Fails() {
				rep.Differences++
			} else {
				rep.Unverified++
			}
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fail(stderr, "vfp check", err)
		}
	} else {
		writeCheckText(stdout, rep)
	}
	if len(rep.Ports) == 0 {
		return fail(stderr, "vfp check", fmt.Errorf("no port of the topology could be paired with a port of %s (dump ports: %s; topology ports with VFP: %s): give --port and, if its ID differs from the dump's, --dump-port",
			*dump, dumpPortNames(d), vfpPortNames(all)))
	}
	if rep.Differences > 0 {
		return exitFail
	}
	return exitOK
}

// bundleDump returns the VFP dump of a collectlogs.ps1 bundle directory:
// vfpOutput.txt, or vfprules.txt, which is where dumpVfpPolicies.ps1 itself
// writes (collectlogs.ps1 only redirects the script's console output to
// vfpOutput.txt), whichever has "Policy for port" sections.
func bundleDump(dir string) (string, error) {
	var tried []string
	for _, name := range []string{"vfpOutput.txt", "vfprules.txt"} {
		p := filepath.Join(dir, name)
		b, err := input.ReadFile(p, 0)
		if err != nil {
			continue
		}
		tried = append(tried, name)
		if strings.Contains(string(b), "Policy for port") || strings.Contains(string(bytes.ReplaceAll(b, []byte{0}, nil)), "Policy for port") {
			return p, nil
		}
	}
	if len(tried) == 0 {
		return "", fmt.Errorf("%s: a collectlogs bundle directory should hold vfpOutput.txt or vfprules.txt (dumpVfpPolicies.ps1); neither is there", dir)
	}
	return "", fmt.Errorf("%s: %s has no \"Policy for port\" section", dir, strings.Join(tried, " and "))
}

func firstNonEmptyStr(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func findVFPPort(all []vfpPort, name string) (vfpPort, error) {
	for _, p := range all {
		if p.name == name {
			return p, nil
		}
	}
	return vfpPort{}, fmt.Errorf("--port %s: no VFP policy on that port (ports with VFP: %s)", name, vfpPortNames(all))
}

func vfpPortNames(all []vfpPort) string {
	var names []string
	for _, p := range all {
		names = append(names, p.name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func dumpPortNames(d *vfpctrl.Dump) string {
	var names []string
	for _, p := range d.Ports {
		names = append(names, firstNonEmptyStr(p.Port, fmt.Sprintf("(unnamed, line %d)", p.Line)))
	}
	return strings.Join(names, ", ")
}

// pairPort finds the dump's part for a topology port: by the port's name
// on a real host (the HNS endpoint ID, which the emulator keeps as the
// port's friendly name), by the endpoint's name, then by MAC.
func pairPort(p vfpPort, d *vfpctrl.Dump, used map[int]bool) int {
	for i, pd := range d.Ports {
		if used[i] || pd.Port == "" {
			continue
		}
		if strings.EqualFold(strings.Trim(pd.Port, "{}"), strings.Trim(p.port.FriendlyName, "{}")) || pd.Port == p.name || pd.Port == p.port.Name {
			return i
		}
	}
	if p.mac != "" {
		for i, pd := range d.Ports {
			if !used[i] && pd.MAC != "" && strings.EqualFold(normMAC(pd.MAC), normMAC(p.mac)) {
				return i
			}
		}
	}
	return -1
}

func normMAC(s string) string {
	return strings.ToLower(strings.NewReplacer("-", "", ":", "").Replace(s))
}

// checkOne compares one port with its part of the dump.
func checkOne(p vfpPort, pd *vfpctrl.PortDump, explain bool, layer string) checkPort {
	cp := checkPort{Port: p.name, DumpPort: pd.Port, Line: pd.Line}
	want := p.port.Layers()
	opts := vfpctrl.CheckOptions{Explain: explain}
	var got []*vfp.Layer
	if pd.Listing != nil {
		l := pd.Listing
		cp.Layer, cp.Partial, cp.Gaps = l.Layer, l.Partial(), l.Gaps
		opts.Partial, opts.Layer, opts.Group = l.Partial(), l.Layer, l.Group
		got = l.Layers
		if layer != "" {
			// A /layer L listing prints no LAYER line: its groups are L's.
			for _, gl := range got {
				if gl.Name == "" {
					gl.Name = layer
				}
			}
			cp.Layer, opts.Layer = layer, layer
		}
	} else {
		// Rule counters name layers, groups and rules but print none of
		// their fields: check names only.
		cp.NamesOnly = true
		got = vfpctrl.LayersFromCounters(pd.Counters)
		want = vfpctrl.NamesOnly(want)
	}
	cp.Diffs = vfpctrl.Check(want, got, opts)
	if cp.Diffs == nil {
		cp.Diffs = []vfpctrl.Diff{}
	}
	cp.Rules = vfpctrl.CountRules(want, opts)
	return cp
}

func writeCheckText(w io.Writer, rep *checkReport) {
	for _, cp := range rep.Ports {
		fails := 0
		for _, d := range cp.Diffs {
			if d.Fails() {
				fails++
			}
		}
		scope := ""
		if cp.Layer != "" {
			scope = " (layer " + cp.Layer + ")"
		}
		kind := ""
		if cp.NamesOnly {
			kind = ", names only (the dump has rule counters, not rules)"
		}
		fmt.Fprintf(w, "port %s = dump port %s (line %d)%s: %d rules checked, %d differences%s\n",
			cp.Port, firstNonEmptyStr(cp.DumpPort, "-"), cp.Line, scope, cp.Rules, fails, kind)
		for _, g := range cp.Gaps {
			fmt.Fprintf(w, "  partial: line %d: %s: %s\n", g.Line, g.Field, g.What)
		}
		for _, d := range cp.Diffs {
			fmt.Fprintf(w, "  %s\n", d)
		}
	}
	for _, n := range rep.Unchecked {
		fmt.Fprintf(w, "port %s: not in the dump (unchecked)\n", n)
	}
	for _, n := range rep.Unmatched {
		fmt.Fprintf(w, "dump port %s: no topology port with that ID, name or MAC (unchecked)\n", n)
	}
	verdict := "match"
	if rep.Differences > 0 {
		verdict = "DIFFER"
	}
	fmt.Fprintf(w, "%s: %d ports, %d rules checked, %d differences, %d unverified (the dump leaves lines out)\n",
		verdict, len(rep.Ports), rep.Rules, rep.Differences, rep.Unverified)
}
