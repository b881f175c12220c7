package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hnspath/hnspath/internal/input"
	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/pktmon"
	"github.com/hnspath/hnspath/scenarios"
)

func init() {
	register(&command{name: "replay", summary: "run a capture (pcap, pcapng, pktmon pcapng or text) through a topology: a pcapng per port and counts",
		usage: "--topology file --pcap file [--pcap drops.pcapng] [--port [NAME=]PORT]... [--components list.json] [--out dir]", run: runReplay})
}

// portFlags splits --port values: a bare PORT is the port of packets from
// a pcap file or unnamed interfaces; NAME=PORT maps a pktmon component
// id, a MAC or a capture interface name to a port.
func portFlags(vals []string) (def string, m map[string]string, err error) {
	m = map[string]string{}
	for _, v := range vals {
		name, port, ok := strings.Cut(v, "=")
		if !ok {
			if def != "" {
				return "", nil, fmt.Errorf("--port %s: a default port is already given (%s)", v, def)
			}
			def = v
			continue
		}
		if name == "" || port == "" {
			return "", nil, fmt.Errorf("--port %s: want NAME=PORT", v)
		}
		m[name] = port
	}
	return def, m, nil
}

// captureFlags are the flags that name a real capture.
type captureFlags struct {
	pcaps      *[]string
	ports      *[]string
	components *string
}

// loadCapture reads the capture files as one pktmon capture, with the
// component list when given.
func (cf captureFlags) load() (*pktmon.Capture, error) {
	var c *pktmon.Capture
	for _, name := range *cf.pcaps {
		data, err := input.ReadFile(name, 0)
		if err != nil {
			return nil, err
		}
		one, err := pktmon.Load(name, data)
		if err != nil {
			return nil, err
		}
		if c == nil {
			c = one
		} else {
			c.Merge(one)
		}
	}
	if *cf.components != "" {
		data, err := input.ReadFile(*cf.components, 0)
		if err != nil {
			return nil, err
		}
		cs, err := pktmon.ParseComponents(*cf.components, data)
		if err != nil {
			return nil, err
		}
		c.AddComponents(cs)
	}
	return c, nil
}

// isPktmon reports whether the replay input is a pktmon capture: several
// files, a component list, a NAME=PORT mapping, text, or a pcapng whose
// first packet carries pktmon's or etl2pcapng's marks.
func (cf captureFlags) isPktmon(overrides map[string]string) (bool, error) {
	if len(*cf.pcaps) > 1 || *cf.components != "" || len(overrides) > 0 {
		return true, nil
	}
	rd, err := pcapio.Open((*cf.pcaps)[0], "")
	if err != nil {
		var ie *pcapio.InputError
		if errors.As(err, &ie) && ie.Offset == 0 && ie.Packet == 0 && strings.Contains(ie.Err.Error(), "not a pcap") {
			return true, nil // text
		}
		return false, err
	}
	defer rd.Close()
	rd.AllowRawIP()
	p, info, err := rd.NextInfo()
	if err != nil {
		return false, nil // the replay reports it
	}
	return pktmon.IsPktmonPacket(&p, info), nil
}

func runReplay(args []string, stdout, stderr io.Writer) int {
	c := commands["replay"]
	fs := newFlags(c, stderr)
	topo := fs.StringP("topology", "t", "", "topology `file` (YAML or JSON)")
	var cf captureFlags
	cf.pcaps = fs.StringArrayP("pcap", "p", nil, "input capture `file`: pcap, pcapng, pktmon's pcapng (etl2pcap, etl2pcapng) or pktmon format text; repeat for pktmon's --drop-only file")
	cf.ports = fs.StringArray("port", nil, "`[NAME=]PORT`: PORT alone is the port of packets from a pcap file or unnamed interfaces; NAME=PORT maps a pktmon component id, a MAC or an interface name to a port (repeatable)")
	cf.components = fs.String("components", "", "pktmon component list `file` (pktmon list --json) for a capture without its component table")
	out := fs.StringP("out", "o", "", "write one pcapng per port into `dir`")
	results := fs.String("results", "", "write one JSON Lines result per input packet to `file`")
	trace := fs.Bool("trace", false, "record traces into --results (slower)")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if *topo == "" || len(*cf.pcaps) == 0 {
		return usageErr(stderr, fs, "give --topology and --pcap")
	}
	if fs.NArg() > 0 {
		return usageErr(stderr, fs, "unexpected arguments %q", fs.Args())
	}
	def, overrides, err := portFlags(*cf.ports)
	if err != nil {
		return usageErr(stderr, fs, "%v", err)
	}
	t, err := scenarios.LoadTopology(*topo)
	if err != nil {
		return fail(stderr, "replay", err)
	}
	isPM, err := cf.isPktmon(overrides)
	if err != nil {
		return fail(stderr, "replay", err)
	}
	if isPM && def != "" {
		return usageErr(stderr, fs, "--port %s: a pktmon capture maps its components and interfaces to ports: give NAME=PORT", def)
	}
	opts := scenarios.ReplayOptions{Port: def, OutDir: *out, Trace: *trace}
	var res *scenarios.OutputFile
	if *results != "" {
		if res, err = scenarios.CreateOutput(*results); err != nil {
			return fail(stderr, "replay", err)
		}
		opts.Results = res
	}
	bar := newProgress(stderr, "auto", 0)
	start := time.Now()
	opts.Progress = func(n int) {
		if bar.ready() {
			fmt.Fprintf(stderr, "\r%d packets, %.0f pkts/s\x1b[K", n, float64(n)/time.Since(start).Seconds())
			bar.drawn = true
		}
	}
	var sum *scenarios.ReplaySummary
	var unmapped []scenarios.Unmapped
	var notes []string
	if isPM {
		var capt *pktmon.Capture
		capt, err = cf.load()
		if err == nil {
			var cr *scenarios.CaptureReplay
			cr, err = scenarios.ReplayCapture(t, capt, overrides, opts)
			if cr != nil {
				sum, unmapped, notes = cr.Summary, cr.Unmapped, cr.Notes
			}
		}
	} else {
		var rd *pcapio.Reader
		rd, err = pcapio.Open((*cf.pcaps)[0], def)
		if err == nil {
			sum, err = scenarios.Replay(t, rd, opts)
			rd.Close()
		}
	}
	bar.clear()
	if res != nil {
		name, cerr := res.Commit(err == nil)
		err = errors.Join(err, cerr)
		if name != "" && err != nil {
			fmt.Fprintf(stderr, "replay: results cut short by the failure: %s\n", name)
		}
	}
	if sum != nil {
		sum.Write(stdout)
		if len(sum.Mapped) > 0 {
			fmt.Fprintln(stdout, "port map:")
			for _, n := range sum.Mapped {
				fmt.Fprintf(stdout, "  %s\n", n)
			}
		}
	}
	for i, n := range notes {
		if i == 5 {
			fmt.Fprintf(stdout, "  ... %d more injected where they came from\n", len(notes)-5)
			break
		}
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	if len(unmapped) > 0 {
		fmt.Fprintf(stdout, "not injected (no port): %d packet groups\n", len(unmapped))
		for i, u := range unmapped {
			if i == 5 {
				fmt.Fprintf(stdout, "  ... %d more\n", len(unmapped)-5)
				break
			}
			fmt.Fprintf(stdout, "  %s\n", u.Why)
		}
	}
	if err != nil {
		return fail(stderr, "replay", err)
	}
	return exitOK
}
