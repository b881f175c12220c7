package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hnspath/hnspath/cmd/hnspath/internal/modes"
	"github.com/hnspath/hnspath/reports"
)

func init() {
	register(&command{name: "modes", summary: "compare HNS network modes for your workload and traffic: what works, what fails and why, headers, cost",
		usage: "--workload file (--pcap file | --flows flows) [--md | --json] [--html file]", run: runModes})
}

func runModes(args []string, stdout, stderr io.Writer) int {
	c := commands["modes"]
	fs := newFlags(c, stderr)
	workload := fs.StringP("workload", "w", "", "workload `file` (YAML): endpoints with exposed ports, remote nodes, peers")
	pcap := fs.StringP("pcap", "p", "", "traffic: a capture `file` (pcap or pcapng)")
	flows := fs.String("flows", "", "traffic: a flows `file`, or flows inline (\"tcp laptop:50000 -> web:443 inbound; icmp web -> 192.0.2.1\")")
	only := fs.String("mode", "", "comma list of `modes` to compare (default: nat,transparent,l2bridge,l2tunnel,overlay)")
	md := fs.Bool("md", false, "write Markdown instead of text")
	jsonOut := fs.Bool("json", false, "write JSON (hnspath-modes/v1, which hnspath report reads) instead of text")
	html := fs.String("html", "", "also write a self-contained HTML page with the tables and a cost plot to `file`")
	costTime := fs.Duration("cost-time", modes.DefaultCostTime, "time to spend timing each mode's replay (0s: no measurement)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: hnspath %s %s\n\n%s\n\n", c.name, c.usage, c.summary)
		fmt.Fprintln(stderr, "The workload is built as each mode (nat, transparent, l2bridge, l2tunnel, overlay) and the traffic")
		fmt.Fprintln(stderr, "replayed through each. The traffic's addresses only say who is who: each endpoint, node and peer")
		fmt.Fprintln(stderr, "gets its mode's address (the output lists the mapping). Flows are lines of")
		fmt.Fprintln(stderr, "  PROTO SRC -> DST [inbound|outbound|east-west|local] [size=N] [noreply] [ipv6]")
		fmt.Fprintln(stderr, "with names of the workload or addresses, and NAME:PORT for tcp and udp.")
		fmt.Fprintln(stderr, "Example: scenarios/samples/modes-sample.pcapng with scenarios/samples/modes-sample.workload.yaml.")
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return usageErr(stderr, fs, "unexpected arguments %q", fs.Args())
	case *workload == "":
		return usageErr(stderr, fs, "--workload is required")
	case (*pcap == "") == (*flows == ""):
		return usageErr(stderr, fs, "give the traffic as exactly one of --pcap and --flows")
	case *md && *jsonOut:
		return usageErr(stderr, fs, "--md and --json are exclusive")
	case *costTime < 0:
		return usageErr(stderr, fs, "--cost-time %v: want 0 or more", *costTime)
	}
	var selected []string
	if *only != "" {
		for _, m := range strings.Split(*only, ",") {
			m = strings.TrimSpace(m)
			known := false
			for _, k := range modes.All {
				known = known || k == m
			}
			if !known {
				return usageErr(stderr, fs, "--mode %q: want some of %s", m, strings.Join(modes.All, ", "))
			}
			selected = append(selected, m)
		}
	}
	wl, err := modes.LoadWorkload(*workload)
	if err != nil {
		return fail(stderr, "modes", err)
	}
	var tr *modes.Traffic
	if *pcap != "" {
		tr, err = modes.LoadCapture(*pcap)
	} else {
		var src, text string
		src, text, err = modes.ReadFlows(*flows)
		if err == nil {
			var lines []modes.FlowLine
			if lines, err = modes.ParseFlows(src, text); err == nil {
				tr, err = modes.FlowsTraffic(src, wl, lines)
			}
		}
	}
	if err != nil {
		return fail(stderr, "modes", err)
	}
	ct := *costTime
	if ct == 0 {
		ct = -1 // no measurement
	}
	m, err := modes.Compare(wl, tr, modes.Options{Modes: selected, CostTime: ct})
	if err != nil {
		return fail(stderr, "modes", err)
	}
	rep := &reports.Report{Schema: reports.Schema, Title: "hnspath modes", Modes: m}
	var b bytes.Buffer
	switch {
	case *jsonOut:
		err = reports.WriteModesJSON(&b, m)
	case *md:
		err = reports.WriteMarkdown(&b, rep)
	default:
		err = reports.WriteText(&b, rep)
	}
	if err != nil {
		return fail(stderr, "modes", err)
	}
	if _, err := stdout.Write(b.Bytes()); err != nil {
		return fail(stderr, "modes", err)
	}
	if *html != "" {
		var h bytes.Buffer
		if err := reports.WriteHTML(&h, rep); err != nil {
			return fail(stderr, "modes", err)
		}
		if err := os.WriteFile(*html, h.Bytes(), 0o644); err != nil {
			return fail(stderr, "modes", err)
		}
		fmt.Fprintf(stderr, "hnspath modes: wrote %s\n", *html)
	}
	return exitOK
}
