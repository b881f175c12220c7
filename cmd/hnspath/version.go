package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

func init() {
	register(&command{name: "version", summary: "print the version and build information", usage: "", run: runVersion})
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	c := commands["version"]
	fs := newFlags(c, stderr)
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	v, rev := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	fmt.Fprintf(stdout, "hnspath %s %s\n", v, rev)
	return exitOK
}
