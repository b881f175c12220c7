package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/scenarios"
)

func init() {
	register(&command{name: "replay", summary: "run a capture through a topology: a pcapng per port and counts",
		usage: "--topology file --pcap file [--port port] [--out dir]", run: runReplay})
}

func runReplay(args []string, stdout, stderr io.Writer) int {
	c := commands["replay"]
	fs := newFlags(c, stderr)
	topo := fs.StringP("topology", "t", "", "topology `file` (YAML or JSON)")
	pcap := fs.StringP("pcap", "p", "", "input capture `file` (pcap or pcapng)")
	port := fs.String("port", "", "`port` of packets from a pcap file or unnamed pcapng interfaces")
	out := fs.StringP("out", "o", "", "write one pcapng per port into `dir`")
	results := fs.String("results", "", "write one JSON Lines result per input packet to `file`")
	trace := fs.Bool("trace", false, "record traces into --results (slower)")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if *topo == "" || *pcap == "" {
		return usageErr(stderr, fs, "give --topology and --pcap")
	}
	if fs.NArg() > 0 {
		return usageErr(stderr, fs, "unexpected arguments %q", fs.Args())
	}
	t, err := scenarios.LoadTopology(*topo)
	if err != nil {
		return fail(stderr, "replay", err)
	}
	rd, err := pcapio.Open(*pcap, *port)
	if err != nil {
		return fail(stderr, "replay", err)
	}
	defer rd.Close()
	opts := scenarios.ReplayOptions{Port: *port, OutDir: *out, Trace: *trace}
	if *results != "" {
		f, err := os.Create(*results)
		if err != nil {
			return fail(stderr, "replay", err)
		}
		defer f.Close()
		opts.Results = f
	}
	bar := newProgress(stderr, "auto", 0)
	start := time.Now()
	opts.Progress = func(n int) {
		if bar.ready() {
			fmt.Fprintf(stderr, "\r%d packets, %.0f pkts/s\x1b[K", n, float64(n)/time.Since(start).Seconds())
			bar.drawn = true
		}
	}
	sum, err := scenarios.Replay(t, rd, opts)
	bar.clear()
	if sum != nil {
		sum.Write(stdout)
	}
	if err != nil {
		return fail(stderr, "replay", err)
	}
	return exitOK
}
