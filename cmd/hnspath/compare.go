package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hnspath/hnspath/evidence"
	"github.com/hnspath/hnspath/reports"
	"github.com/hnspath/hnspath/scenarios"
)

func init() {
	register(&command{name: "compare", summary: "replay a real node's pktmon capture and say where the model parts from it (exit 1 when it does)",
		usage: "--topology file --capture file [--capture drops.pcapng] [--port NAME=PORT]... [--components list.json] [--format text|json|markdown|html|junit]",
		run:   runCompare})
}

func runCompare(args []string, stdout, stderr io.Writer) int {
	c := commands["compare"]
	fs := newFlags(c, stderr)
	topo := fs.StringP("topology", "t", "", "topology `file` (YAML or JSON) of the node the capture comes from")
	var cf captureFlags
	cf.pcaps = fs.StringArrayP("capture", "c", nil, "pktmon capture `file`: pcapng (pktmon etl2pcap, etl2pcapng) or pktmon format text; repeat for pktmon's --drop-only file")
	cf.ports = fs.StringArray("port", nil, "map a pktmon component id, a MAC or a capture interface name to a topology port: `NAME=PORT` (repeatable)")
	cf.components = fs.String("components", "", "pktmon component list `file` (pktmon list --json) for a capture without its component table")
	format := fs.StringP("format", "f", "text", "output `format`: "+strings.Join(reports.EvidenceFormats, ", "))
	all := fs.Bool("all", false, "text: show the groups that agree too")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if *topo == "" || len(*cf.pcaps) == 0 {
		return usageErr(stderr, fs, "give --topology and --capture")
	}
	if fs.NArg() > 0 {
		return usageErr(stderr, fs, "unexpected arguments %q", fs.Args())
	}
	if !slices.Contains(reports.EvidenceFormats, *format) {
		return usageErr(stderr, fs, "--format %q: want one of %s", *format, strings.Join(reports.EvidenceFormats, ", "))
	}
	def, overrides, err := portFlags(*cf.ports)
	if err != nil {
		return usageErr(stderr, fs, "%v", err)
	}
	if def != "" {
		return usageErr(stderr, fs, "--port %s: want NAME=PORT (a component id, MAC or interface name, and a topology port)", def)
	}
	t, err := scenarios.LoadTopology(*topo)
	if err != nil {
		return fail(stderr, "compare", err)
	}
	capt, err := cf.load()
	if err != nil {
		return fail(stderr, "compare", err)
	}
	var got scenarios.ResultsOf
	cr, err := scenarios.ReplayCapture(t, capt, overrides, scenarios.ReplayOptions{Trace: true, OnResult: got.Add})
	if err != nil {
		return fail(stderr, "compare", err)
	}
	ports, err := scenarios.TopologyPorts(t)
	if err != nil {
		return fail(stderr, "compare", err)
	}
	in := evidence.Input{Topology: *topo, Captures: *cf.pcaps, Capture: capt, Map: cr.Map, Injected: cr.Injected, In: cr.Ports, Origins: cr.Origins, Results: got.Packets}
	for _, p := range ports {
		in.Ports = append(in.Ports, p.Name)
	}
	for _, u := range cr.Unmapped {
		in.Skipped = append(in.Skipped, evidence.Skipped{Group: u.Group, Why: u.Why})
	}
	rep := evidence.Compare(in)
	if err := reports.WriteEvidence(stdout, *format, rep, *all); err != nil {
		return fail(stderr, "compare", err)
	}
	if rep.Failed() {
		fmt.Fprintf(stderr, "compare: the model parts from the real host: %s\n", rep.Headline())
		return exitFail
	}
	return exitOK
}
