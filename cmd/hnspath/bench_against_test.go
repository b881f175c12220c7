package main

import (
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestBenchAgainstWindowsHere: `--against windows` is accepted, and off Windows the run
// stops with exit 3 (unsupported) before measuring; an unknown datapath is a usage error.
func TestBenchAgainstWindowsHere(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("runs the real HNS")
	}
	code, _, errs := runCmd(t, "bench", "-w", "acl", "--against", "windows", "--cores", "1", "--quick", "--no-progress")
	if code != exitUnsupported || !strings.Contains(errs, "--against windows") || !strings.Contains(errs, "unsupported") {
		t.Errorf("exit %d, stderr %q; want exit 3 naming --against windows", code, errs)
	}
	code, _, errs = runCmd(t, "bench", "--against", "bsd")
	if code != exitUsage || !strings.Contains(errs, "want linux or windows") {
		t.Errorf("--against bsd: exit %d, stderr %q", code, errs)
	}
}

// TestWindowsFlags: the container commands are split into words and reach the options.
func TestWindowsFlags(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	w := addWindowsFlags(fs)
	if err := fs.Parse([]string{"--windows-container", "hnsp-run --ns {namespace} --name {name}", "--windows-container-stop", "hnsp-run --rm {name}"}); err != nil {
		t.Fatal(err)
	}
	o := w.options("host1")
	if o.Host != "host1" || !o.CloseOnSignal || !reflect.DeepEqual(o.Container, []string{"hnsp-run", "--ns", "{namespace}", "--name", "{name}"}) ||
		!reflect.DeepEqual(o.ContainerStop, []string{"hnsp-run", "--rm", "{name}"}) {
		t.Errorf("options: %+v", o)
	}
}
