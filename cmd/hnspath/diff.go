package main

import (
	"io"

	"github.com/hnspath/hnspath/scenarios"
)

func init() {
	register(&command{name: "diff", summary: "compare two results files (normalising consistently mapped NAT ports, ICMP ids, MACs)",
		usage: "[flags] A.results.jsonl B.results.jsonl", run: runDiff})
}

func runDiff(args []string, stdout, stderr io.Writer) int {
	c := commands["diff"]
	fs := newFlags(c, stderr)
	ignore := fs.StringSlice("ignore", nil, "`fields` not to compare, as layer.field (e.g. ipv4.id,ipv4.chksum)")
	wire := fs.Bool("wire", false, "also compare frames observed on the wire (wire-tx, wire-rx)")
	strict := fs.Bool("strict", false, "compare ports, ICMP ids and MACs exactly (no normalisation)")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if fs.NArg() != 2 {
		return usageErr(stderr, fs, "give two results files, got %d arguments", fs.NArg())
	}
	a, b := fs.Arg(0), fs.Arg(1)
	rep, err := scenarios.DiffFiles(a, b, scenarios.DiffOptions{Ignore: *ignore, Wire: *wire, Strict: *strict})
	if err != nil {
		return fail(stderr, "diff", err)
	}
	rep.Write(stdout, a, b)
	if !rep.Equal() {
		return exitFail
	}
	return exitOK
}
