package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/hnspath/hnspath/bench"
	"github.com/hnspath/hnspath/bench/result"
	"github.com/hnspath/hnspath/bench/workload"
	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/hostprobe/linux"
	"github.com/hnspath/hnspath/hostprobe/windows"
	"github.com/spf13/pflag"
)

// kernelDatapath returns the real datapath `--against` names (linux or windows), after
// checking that this host can build it.
func kernelDatapath(name string, win *windowsFlags) (*workload.Kernel, error) {
	switch name {
	case "linux":
		if err := linux.CheckPrivileges(); err != nil {
			return nil, err
		}
		return &workload.Kernel{Datapath: name, Make: func(topo *fabric.Topology, in string, sinks []string) (workload.KernelProcessor, error) {
			return linux.NewBenchProcessor(topo, in, sinks, linux.BackendOptions{})
		}}, nil
	case "windows":
		if err := windows.CheckHost(); err != nil {
			return nil, err
		}
		return windowsKernel(win.options("")), nil
	}
	return nil, fmt.Errorf("no datapath %q: want linux or windows", name)
}

// windowsKernel runs workloads through real HNS networks built from each workload's
// topology (hostprobe/windows.BenchProcessor).
func windowsKernel(opts windows.Options) *workload.Kernel {
	return &workload.Kernel{Datapath: "windows", Make: func(topo *fabric.Topology, in string, sinks []string) (workload.KernelProcessor, error) {
		return windows.NewBenchProcessor(topo, in, sinks, opts)
	}}
}

// windowsFlags are the Windows backend's flags, shared by probe and bench.
type windowsFlags struct{ container, stop *string }

// addWindowsFlags defines --windows-container and --windows-container-stop on fs.
func addWindowsFlags(fs *pflag.FlagSet) *windowsFlags {
	return &windowsFlags{
		container: fs.String("windows-container", "", "Windows: `command` that starts a process-isolated container in HNS namespace {namespace} named {name}, so that the namespace gets a network compartment (words split at spaces; docs/windows-probe.md)"),
		stop:      fs.String("windows-container-stop", "", "Windows: `command` that removes the container {name} at teardown"),
	}
}

// options returns the Windows backend's options for topology host host.
func (w *windowsFlags) options(host string) windows.Options {
	o := windows.Options{Host: host, CloseOnSignal: true}
	if w != nil {
		o.Container, o.ContainerStop = strings.Fields(*w.container), strings.Fields(*w.stop)
	}
	return o
}

// prepareKernels prepares the kernel workloads of ws now, replacing each
// with one that hands out what was prepared; one that cannot be built on
// the kernel is dropped, with its reason added to skipped.
func prepareKernels(ctx context.Context, ws []bench.Workload, skipped *[]string) []bench.Workload {
	var out []bench.Workload
	for _, w := range ws {
		if !isKernel(w) {
			out = append(out, w)
			continue
		}
		p, err := w.Prepare(ctx)
		if err != nil {
			*skipped = append(*skipped, err.Error())
			continue
		}
		out = append(out, bench.Define(w.Name(), w.Keys(), func(context.Context) (*bench.Prepared, error) { return p, nil }))
	}
	return out
}

func isKernel(w bench.Workload) bool {
	for _, kv := range w.Keys() {
		if kv.Key == "datapath" {
			return true
		}
	}
	return false
}

// writeAgainst prints, for each workload run on both, the emulator's and
// the kernel's median throughput and their ratio.
func writeAgainst(w io.Writer, rep *result.Report, datapath string) {
	type pair struct{ emu, kern float64 }
	pairs := map[string]*pair{}
	var order []string
	for _, b := range rep.Benchmarks {
		if b.IsReference {
			continue
		}
		var keys []string
		kernel := false
		for _, kv := range b.Keys {
			if kv.Key == "datapath" {
				kernel = true
				continue
			}
			keys = append(keys, kv.Key+"="+kv.Value)
		}
		name := strings.TrimPrefix(b.Name, strings.ToUpper(datapath[:1])+datapath[1:])
		id := name + "/" + strings.Join(keys, "/")
		s, ok := b.Summary["pkts/s"]
		if !ok {
			continue
		}
		p := pairs[id]
		if p == nil {
			p = &pair{}
			pairs[id] = p
			order = append(order, id)
		}
		if kernel {
			p.kern = s.Center
		} else {
			p.emu = s.Center
		}
	}
	fmt.Fprintf(w, "\nemulator vs %s (median pkts/s, one core)\n", datapath)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "benchmark\temulator\t%s\temulator/%s\n", datapath, datapath)
	for _, id := range order {
		p := pairs[id]
		if p.emu == 0 || p.kern == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%.3gM\t%.3gM\t%.2f×\n", id, p.emu/1e6, p.kern/1e6, p.emu/p.kern)
	}
	tw.Flush()
}
