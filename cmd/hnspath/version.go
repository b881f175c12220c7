package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

func init() {
	register(&command{name: "version", summary: "print the version and build information", usage: "", run: runVersion})
}

// commit is the VCS commit the binary was built from, set by the Makefile
// (-ldflags "-X main.commit=..."), for builds where Go's own VCS stamping is off
// (GOFLAGS=-buildvcs=false, or a build outside a checkout).
var commit string

// buildInfo returns the module version, the VCS commit (with "+dirty" for a build
// from a modified tree) and the commit time, as far as the binary knows them.
func buildInfo() (version, rev, when string) {
	version, rev = "(devel)", commit
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version, rev, ""
	}
	if bi.Main.Version != "" {
		version = bi.Main.Version
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && rev != "" {
		rev += "+dirty"
	}
	return version, rev, when
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	c := commands["version"]
	fs := newFlags(c, stderr)
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	v, rev, when := buildInfo()
	if rev == "" {
		rev = "unknown commit (build with make, or go build -buildvcs=true in a checkout)"
	}
	fmt.Fprintf(stdout, "hnspath %s\ncommit %s\n", v, rev)
	if when != "" {
		fmt.Fprintf(stdout, "commit time %s\n", when)
	}
	fmt.Fprintf(stdout, "go %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
