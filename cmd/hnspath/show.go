package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/scenarios"
)

func init() {
	register(&command{name: "show", summary: "print an emulated host as Windows tools do (HNS JSON, hnsdiag, Get-NetNat*); import reads it back",
		usage: "--topology file --format " + strings.Join(scenarios.ShowFormats, "|") + " [--host name] [--pcap file [--port port]] [-o file]", run: runShow})
}

func runShow(args []string, stdout, stderr io.Writer) int {
	c := commands["show"]
	fs := newFlags(c, stderr)
	topo := fs.StringP("topology", "t", "", "topology `file` (YAML or JSON)")
	format := fs.StringP("format", "f", "", "`format` to print: "+strings.Join(scenarios.ShowFormats, ", "))
	host := fs.String("host", "", "`name` of the host to show (default: the first)")
	pcap := fs.StringP("pcap", "p", "", "run this capture `file` (pcap or pcapng) through the topology first, as replay does")
	port := fs.String("port", "", "`port` of packets from a pcap file or unnamed pcapng interfaces")
	out := fs.StringP("output", "o", "", "write to `file` (default: stdout)")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if *topo == "" || *format == "" {
		return usageErr(stderr, fs, "give --topology and --format")
	}
	if fs.NArg() > 0 {
		return usageErr(stderr, fs, "unexpected arguments %q", fs.Args())
	}
	known := false
	for _, f := range scenarios.ShowFormats {
		known = known || f == *format
	}
	if !known {
		return usageErr(stderr, fs, "--format %q: want one of %s", *format, strings.Join(scenarios.ShowFormats, ", "))
	}
	if *pcap != "" && *format != "get-netnatsession" {
		return usageErr(stderr, fs, "--pcap only changes what --format get-netnatsession shows")
	}
	t, err := scenarios.LoadTopology(*topo)
	if err != nil {
		return fail(stderr, "show", err)
	}
	opts := scenarios.ShowOptions{Format: *format, Host: *host, Port: *port}
	if *pcap != "" {
		rd, err := pcapio.Open(*pcap, *port)
		if err != nil {
			return fail(stderr, "show", err)
		}
		defer rd.Close()
		opts.Capture = rd
	}
	var b bytes.Buffer
	notes, err := scenarios.Show(t, &b, opts)
	for _, n := range notes {
		fmt.Fprintf(stderr, "hnspath show: note: %s\n", n)
	}
	if err != nil {
		return fail(stderr, "show", err)
	}
	if *out != "" {
		err = os.WriteFile(*out, b.Bytes(), 0o644)
	} else {
		_, err = stdout.Write(b.Bytes())
	}
	if err != nil {
		return fail(stderr, "show", err)
	}
	return exitOK
}
