package main

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/vfp"
	"github.com/hnspath/hnspath/emulator/vfp/vfpctrl"
	"github.com/hnspath/hnspath/emulator/vswitch"
	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/scenarios"
)

func init() {
	register(&command{name: "vfp", summary: "show a port's VFP layers, groups, rules, unified flows and counters as vfpctrl prints them; check them against a node's vfpctrl dump (vfp check)",
		usage: "--topology file [--port HOST/PORT]... [--list-rule] [--list-layer] [--list-unified-flow] [--get-rule-counter] [--get-port-counter] [--pcap file [--in port]] [--explain]\n       hnspath vfp " + vfpCheckUsage,
		run:   runVFP})
}

// noVFPHint says where to look when a port has no VFP: nat networks
// translate with WinNAT in the management OS, not with VFP.
const noVFPHint = "nat networks do not use VFP; their translation is WinNAT's: see it as Windows shows it with `hnspath show --format get-netnat` (Get-NetNat), `--format get-netnatstaticmapping` and, after a run, `--format get-netnatsession`"

// vfpPort is a VFP port of the fabric with the name a user gives it.
type vfpPort struct {
	name string
	port *vfp.Port
	mac  string // the switch port's MAC, "" when it has none
}

func runVFP(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "check" {
		return runVFPCheck(args[1:], stdout, stderr)
	}
	c := commands["vfp"]
	fs := newFlags(c, stderr)
	topo := fs.StringP("topology", "t", "", "topology `file` (YAML or JSON), or a scenario file's topology")
	ports := fs.StringArrayP("port", "p", nil, "`port` to show: HOST/ENDPOINT, HOST/NIC (the external port) or HOST/host (the management OS vNIC); repeatable; default: every port with VFP policy")
	listRule := fs.Bool("list-rule", false, "print the layers, groups and rules (vfpctrl /list-rule; the default)")
	listLayer := fs.Bool("list-layer", false, "print the layers (vfpctrl /list-layer)")
	listFlows := fs.Bool("list-unified-flow", false, "print the unified flow table (vfpctrl /list-unified-flow)")
	ruleCounters := fs.Bool("get-rule-counter", false, "print per-rule counters (vfpctrl /get-rule-counter)")
	portCounters := fs.Bool("get-port-counter", false, "print per-port counters (vfpctrl /get-port-counter)")
	pcap := fs.String("pcap", "", "run this capture `file` through the topology first, so flows and counters have something to show")
	in := fs.String("in", "", "`port` where packets of a pcap (or unnamed pcapng interfaces) enter")
	explain := fs.Bool("explain", false, "also print the model's own explanations: rules a real host would not list (with a \"Model only\" line saying why), a block rule's drop reason, whether a layer is stateful")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if *topo == "" {
		return usageErr(stderr, fs, "give --topology")
	}
	if fs.NArg() > 0 {
		return usageErr(stderr, fs, "unexpected arguments %q", fs.Args())
	}
	if !*listLayer && !*listFlows && !*ruleCounters && !*portCounters {
		*listRule = true
	}
	t, err := loadTopologyOrScenario(*topo)
	if err != nil {
		return fail(stderr, "vfp", err)
	}
	f, err := t.Build(fabric.Options{})
	if err != nil {
		return fail(stderr, "vfp", err)
	}
	var now int64
	if *pcap != "" {
		if now, err = replayInto(f, *pcap, *in); err != nil {
			return fail(stderr, "vfp", err)
		}
	}
	all := vfpPorts(f)
	sel := all
	if len(*ports) > 0 {
		sel = nil
		for _, want := range *ports {
			p, err := findVFPPort(all, want)
			if err != nil {
				if _, exists := f.PortByName(want); exists {
					err = fmt.Errorf("--port %s: that port has no VFP policy: %s (ports with VFP: %s)", want, noVFPHint, vfpPortNames(all))
				}
				return fail(stderr, "vfp", err)
			}
			sel = append(sel, p)
		}
	}
	if len(sel) == 0 {
		return fail(stderr, "vfp", fmt.Errorf("no port of this topology has VFP policy: %s", noVFPHint))
	}
	fo := vfpctrl.Options{Explain: *explain}
	for _, p := range sel {
		show := func(verb string, fn func() error) error {
			fmt.Fprintf(stdout, "# vfpctrl /port %s %s\n", p.name, verb)
			return fn()
		}
		var err error
		if *listLayer {
			err = errors.Join(err, show("/list-layer", func() error { return vfpctrl.FormatListLayer(stdout, p.port, fo) }))
		}
		if *listRule {
			err = errors.Join(err, show("/list-rule", func() error { return vfpctrl.FormatListRule(stdout, p.port, fo) }))
		}
		if *listFlows {
			err = errors.Join(err, show("/list-unified-flow", func() error { return vfpctrl.FormatListUnifiedFlow(stdout, p.port, now) }))
		}
		if *ruleCounters {
			err = errors.Join(err, show("/get-rule-counter", func() error { return vfpctrl.FormatRuleCounters(stdout, p.port) }))
		}
		if *portCounters {
			err = errors.Join(err, show("/get-port-counter", func() error { return vfpctrl.FormatPortCounters(stdout, p.port) }))
		}
		if err != nil {
			return fail(stderr, "vfp", err)
		}
	}
	return exitOK
}

// loadTopologyOrScenario reads a topology file, or a scenario file's topology.
func loadTopologyOrScenario(path string) (*scenarios.Topology, error) {
	t, err := scenarios.LoadTopology(path)
	if err == nil {
		return t, nil
	}
	sc, err2 := scenarios.Load(path)
	if err2 != nil {
		return nil, err
	}
	if sc.Topology == nil {
		return nil, fmt.Errorf("%s: the scenario has no topology", path)
	}
	return sc.Topology, nil
}

// vfpPorts lists the fabric's ports that have VFP policy, named as users
// name fabric ports: HOST/ENDPOINT, HOST/NIC for an external port, HOST/host
// for the management OS vNIC.
func vfpPorts(f *fabric.Fabric) []vfpPort {
	var out []vfpPort
	for _, h := range f.Hosts() {
		for si, sw := range h.Switches {
			for i := 0; i < sw.Ports(); i++ {
				id := vswitch.PortID(i)
				v := h.VFP(si, id)
				if v == nil {
					continue
				}
				p := sw.Port(id)
				name := h.Name + "/" + p.Name
				switch p.Kind {
				case vswitch.PortHostVNIC:
					name = h.Name + "/host"
				case vswitch.PortExternal:
					name = h.Name + "/" + p.Name
				}
				vp := vfpPort{name: name, port: v}
				if !p.MAC.IsZero() {
					vp.mac = p.MAC.String()
				}
				out = append(out, vp)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// replayInto injects every packet of a capture and returns the last time.
func replayInto(f *fabric.Fabric, path, port string) (int64, error) {
	rd, err := pcapio.Open(path, port)
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	var res fabric.Outcome
	var first, now int64
	for {
		p, err := rd.Next()
		if err == io.EOF {
			return now, nil
		}
		if err != nil {
			return now, err
		}
		id, ok := f.PortByName(p.Port)
		if !ok {
			return now, fmt.Errorf("%s: packet %d: no port %q in the topology", path, p.Index, p.Port)
		}
		t := p.Time.UnixNano()
		if first == 0 {
			first = t
		}
		now = t - first + 1
		f.Inject(id, p.Data, now, &res)
	}
}
