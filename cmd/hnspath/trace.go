package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/hnspath/hnspath/result"
	"github.com/hnspath/hnspath/scenarios"
	"github.com/hnspath/hnspath/spec"
)

func init() {
	register(&command{name: "trace", summary: "trace one packet through a topology, stage by stage (like ofproto/trace)",
		usage: "(--topology file | --scenario file) (--at port 'SPEC' | --pcap file --packet N | --packet N)", run: runTrace})
}

func runTrace(args []string, stdout, stderr io.Writer) int {
	c := commands["trace"]
	fs := newFlags(c, stderr)
	topo := fs.StringP("topology", "t", "", "topology `file` (YAML or JSON)")
	scen := fs.StringP("scenario", "s", "", "scenario `file`: its topology, and with --packet alone its packets up to N")
	at := fs.String("at", "", "injection `port` of the packet spec (e.g. host1/web, client)")
	pcap := fs.StringP("pcap", "p", "", "capture `file` to take the packet from")
	packet := fs.IntP("packet", "n", 0, "1-based `number` of the packet in the capture or scenario (the earlier ones run first, untraced)")
	port := fs.String("port", "", "`port` of packets from a pcap file (pcapng interfaces name their own)")
	asJSON := fs.Bool("json", false, "print the result as JSON (the results contract) instead of text")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if (*topo == "") == (*scen == "") {
		return usageErr(stderr, fs, "give --topology or --scenario")
	}
	req := scenarios.TraceRequest{At: *at, Pcap: *pcap, Packet: *packet, Port: *port}
	if *topo != "" {
		t, err := scenarios.LoadTopology(*topo)
		if err != nil {
			if _, serr := scenarios.Load(*topo); serr == nil {
				return usageErr(stderr, fs, "%s is a scenario file, not a topology: give it with --scenario (-s)", *topo)
			}
			return fail(stderr, "trace", err)
		}
		req.Topology = t
	}
	if *scen != "" {
		sc, err := scenarios.Load(*scen)
		if err != nil {
			if _, terr := scenarios.LoadTopology(*scen); terr == nil {
				return usageErr(stderr, fs, "%s is a topology file, not a scenario: give it with --topology (-t)", *scen)
			}
			return fail(stderr, "trace", err)
		}
		req.Scenario = sc
	}
	switch fs.NArg() {
	case 0:
	case 1:
		req.Spec = fs.Arg(0)
	default:
		return usageErr(stderr, fs, "give one packet spec (quote it), got %d arguments", fs.NArg())
	}
	switch {
	case req.Spec != "" && (req.Pcap != "" || req.Packet != 0):
		return usageErr(stderr, fs, "give a packet spec or --pcap/--packet, not both")
	case req.Spec != "" && req.At == "":
		return usageErr(stderr, fs, "a packet spec needs --at PORT")
	case req.Spec == "" && req.Packet == 0:
		return usageErr(stderr, fs, "give a packet spec with --at, or --packet N (with --pcap or --scenario)")
	case req.Spec == "" && req.Pcap == "" && *scen == "":
		return usageErr(stderr, fs, "--packet without --pcap needs --scenario")
	}
	p, err := scenarios.Trace(req)
	if err != nil {
		return fail(stderr, "trace", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p); err != nil {
			return fail(stderr, "trace", err)
		}
		return exitOK
	}
	printTrace(stdout, p)
	return exitOK
}

// printTrace prints a traced packet: the input as a spec, the stages, and
// every frame that came out, as specs.
func printTrace(w io.Writer, p *result.Packet) {
	fmt.Fprintf(w, "input:  %s\n\n", spec.Decode(p.Frame, spec.DecodeOptions{}))
	fmt.Fprint(w, scenarios.FormatTrace(p, ""))
	if len(p.Outputs) > 0 || len(p.Drops) > 0 {
		fmt.Fprintln(w)
	}
	for _, o := range p.Outputs {
		fmt.Fprintf(w, "%-9s at %s: %s\n", o.Kind, o.Port, spec.Decode(o.Frame, spec.DecodeOptions{}))
	}
	for i := range p.Drops {
		d := &p.Drops[i]
		fmt.Fprintf(w, "%s\n", scenarios.DropComment(d))
		if len(d.Frame) > 0 {
			fmt.Fprintf(w, "  frame: %s\n", strings.TrimSpace(spec.Decode(d.Frame, spec.DecodeOptions{}).String()))
		}
	}
	fmt.Fprintf(w, "outcome: %s\n", p.Outcome)
}
