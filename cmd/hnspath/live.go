package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/live"
	"github.com/hnspath/hnspath/scenarios"
)

// defaultLiveRunDir holds the state file of a live session (live.json).
const defaultLiveRunDir = "/run/hnspath-live"

func init() {
	register(&command{name: "live", summary: "attach a topology's ports to network namespaces: real programs' traffic through the model (Linux, root)",
		usage: "run --topology file --port PORT... [--iface PORT=IFNAME]... [--run-dir dir] [--pcap file] [--json file] [--trace] [--duration d]\n  hnspath live exec [--run-dir dir] PORT -- command [args]", run: runLive})
}

func runLive(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "run":
			return runLiveRun(args[1:], stdout, stderr)
		case "exec":
			return runLiveExec(args[1:], stdout, stderr)
		}
	}
	fs := newFlags(commands["live"], stderr)
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	return usageErr(stderr, fs, "want a subcommand: run or exec")
}

func liveFail(stderr io.Writer, name string, err error) int {
	code := fail(stderr, name, err)
	if errors.Is(err, errors.ErrUnsupported) {
		return exitUnsupported
	}
	return code
}

func runLiveRun(args []string, stdout, stderr io.Writer) int {
	c := commands["live"]
	fs := newFlags(c, stderr)
	topo := fs.StringP("topology", "t", "", "topology `file` (YAML or JSON)")
	ports := fs.StringArrayP("port", "p", nil, "topology `PORT` to attach to a new namespace (HOST/ENDPOINT, HOST/NIC or PEER; repeatable)")
	ifaces := fs.StringArray("iface", nil, "`PORT=IFNAME`: attach PORT to an existing interface (veth end, TAP) of the namespace hnspath runs in, used as it is (repeatable)")
	runDir := fs.String("run-dir", defaultLiveRunDir, "`dir` for the session state file that `live exec` reads")
	pcap := fs.String("pcap", "", "write every frame in and out of the attached ports to a pcapng `file` (one interface per port)")
	jsonOut := fs.String("json", "", "write the result (per-port counts, drops with reasons) as JSON to `file`")
	trace := fs.Bool("trace", false, "print every stage of every frame to stderr (slow)")
	dur := fs.Duration("duration", 0, "stop after `d` (default: run until SIGINT or SIGTERM)")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if *topo == "" || len(*ports)+len(*ifaces) == 0 {
		return usageErr(stderr, fs, "give --topology and at least one --port or --iface")
	}
	ifmap := map[string]string{}
	for _, v := range *ifaces {
		port, ifname, ok := strings.Cut(v, "=")
		if !ok || port == "" || ifname == "" {
			return usageErr(stderr, fs, "--iface %s: want PORT=IFNAME", v)
		}
		if _, dup := ifmap[port]; dup {
			return usageErr(stderr, fs, "--iface %s: port %s is given twice", v, port)
		}
		ifmap[port] = ifname
	}
	if fs.NArg() > 0 {
		return usageErr(stderr, fs, "unexpected arguments %q", fs.Args())
	}
	t, err := scenarios.LoadTopology(*topo)
	if err != nil {
		return fail(stderr, "live", err)
	}
	f, err := t.Build(fabric.Options{Trace: *trace})
	if err != nil {
		return fail(stderr, "live", err)
	}
	cfg := live.Config{Topology: t.Topology, Fabric: f, Ports: *ports, Interfaces: ifmap, RunDir: *runDir}
	if *trace {
		cfg.Trace = stderr
	}
	var pf *os.File
	if *pcap != "" {
		if pf, err = os.Create(*pcap); err != nil {
			return fail(stderr, "live", err)
		}
		defer pf.Close()
		cfg.Pcap = pf
	}
	in := catchInterrupts("live", stderr)
	defer in.stop()
	cfg.Log = in.log()
	ctx := in.Context()
	if *dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *dur)
		defer cancel()
	}
	cfg.Ready = func(st *live.State) {
		in.working("live session " + st.Session)
		fmt.Fprintf(stdout, "live session %s ready (state %s/%s)\n", st.Session, *runDir, live.StateFile)
		for _, p := range st.Ports {
			if p.Namespace == "" {
				fmt.Fprintf(stdout, "  %-20s dev %s (existing interface)\n", p.Port, p.Interface)
				continue
			}
			fmt.Fprintf(stdout, "  %-20s netns %s dev %s   hnspath live exec --run-dir %s %s -- CMD\n", p.Port, p.Namespace, p.Interface, *runDir, p.Port)
		}
	}
	start := time.Now()
	res, err := live.Run(ctx, cfg)
	if res != nil {
		res.WriteText(stdout)
		fmt.Fprintf(stdout, "  %.1fs\n", time.Since(start).Seconds())
		if *jsonOut != "" {
			b, jerr := json.MarshalIndent(res, "", "  ")
			if jerr == nil {
				jerr = os.WriteFile(*jsonOut, append(b, '\n'), 0o644)
			}
			if jerr != nil && err == nil {
				err = jerr
			}
		}
	}
	if pf != nil {
		if cerr := pf.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if err != nil {
		return liveFail(stderr, "live", err)
	}
	if in.Signal() != nil {
		return in.ExitCode()
	}
	return exitOK
}

func runLiveExec(args []string, stdout, stderr io.Writer) int {
	c := commands["live"]
	fs := newFlags(c, stderr)
	fs.SetInterspersed(false)
	runDir := fs.String("run-dir", defaultLiveRunDir, "`dir` of the session state file")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	rest := fs.Args()
	if len(rest) < 2 {
		return usageErr(stderr, fs, "want PORT -- command [args]")
	}
	port, argv := rest[0], rest[1:]
	if argv[0] == "--" {
		argv = argv[1:]
	}
	if len(argv) == 0 {
		return usageErr(stderr, fs, "want PORT -- command [args]")
	}
	// Exec only returns on failure.
	return liveFail(stderr, "live exec", live.Exec(*runDir, port, argv))
}
