package main

import (
	"errors"
	"fmt"
	"github.com/hnspath/hnspath/internal/suggest"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns/nodetext"
	"github.com/hnspath/hnspath/internal/input"
	"github.com/hnspath/hnspath/scenarios"
)

func init() {
	register(&command{name: "import", summary: "turn what a real node prints (HNS JSON or list views, hnsdiag, Get-NetNat*, a collectlogs bundle) into a topology",
		usage: "[-o topology.yaml] [--nic name=eth0,mac=...,ip=...] file-or-bundle-dir...", run: runImport})
}

func runImport(args []string, stdout, stderr io.Writer) int {
	c := commands["import"]
	fs := newFlags(c, stderr)
	out := fs.StringP("output", "o", "", "write the topology to `file` (default: stdout)")
	host := fs.String("host", "host1", "`name` of the host")
	profile := fs.String("profile", "", "HNS version `profile` of the host: WS2019, WS2022, WS2025 or an HNS version like 13.3 (default: from the packed Version the objects carry)")
	nics := fs.StringArray("nic", nil, "a physical NIC of the host, as `name=eth0,mac=00:15:5d:00:00:04,ip=10.0.0.4/24,gateway=10.0.0.1` (repeatable; default: those a collectlogs bundle's ip.txt shows)")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if fs.NArg() == 0 {
		return usageErr(stderr, fs, "give one or more files a node printed, or collectlogs bundle directories")
	}
	opts := scenarios.ImportOptions{Host: *host, Profile: *profile}
	for _, s := range *nics {
		n, err := parseNIC(s)
		if err != nil {
			return usageErr(stderr, fs, "--nic %q: %v", s, err)
		}
		opts.NICs = append(opts.NICs, n)
	}
	var dumps []scenarios.Dump
	for _, p := range fs.Args() {
		d, err := readDump(p)
		if err != nil {
			return fail(stderr, "import", err)
		}
		dumps = append(dumps, d)
	}
	t, warnings, err := scenarios.Import(dumps, opts)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "hnspath import: note: %s\n", w)
	}
	if err != nil {
		return fail(stderr, "import", err)
	}
	comment := "Imported by hnspath import from " + strings.Join(fs.Args(), ", ")
	y, err := scenarios.MarshalTopologyYAML(t, comment)
	if err != nil {
		return fail(stderr, "import", err)
	}
	name := "topology.yaml"
	if *out != "" {
		name = *out
		if err := os.WriteFile(*out, y, 0o644); err != nil {
			return fail(stderr, "import", err)
		}
	} else if _, err := stdout.Write(y); err != nil {
		return fail(stderr, "import", err)
	}
	// Check the result as validate would; problems are warnings (a dump may
	// need NICs or objects from elsewhere before it builds).
	pt, err := scenarios.ParseTopology(name, y)
	if err == nil {
		_, err = pt.Build(fabric.Options{})
	}
	if err != nil {
		var errs scenarios.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintf(stderr, "hnspath import: warning: the topology does not build yet: %v\n", e)
			}
		} else {
			fmt.Fprintf(stderr, "hnspath import: warning: the topology does not build yet: %v\n", err)
		}
	}
	return exitOK
}

// parseNIC parses "name=eth0,mac=...,ip=...,ipv6=...,gateway=...,mtu=1500".
func parseNIC(s string) (fabric.NICSpec, error) {
	var n fabric.NICSpec
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return n, fmt.Errorf("want key=value, got %q", kv)
		}
		switch k {
		case "name":
			n.Name = v
		case "mac":
			n.MAC = v
		case "ip":
			n.IP = v
		case "ipv6":
			n.IPv6 = v
		case "gateway", "gw":
			n.Gateway = v
		case "mtu":
			m, err := strconv.Atoi(v)
			if err != nil {
				return n, fmt.Errorf("mtu: %w", err)
			}
			n.MTU = m
		default:
			return n, fmt.Errorf("unknown key %q (%sknown: name, mac, ip, ipv6, gateway, mtu)", k, suggest.Mean(k, []string{"name", "mac", "ip", "ipv6", "gateway", "mtu"}))
		}
	}
	if n.Name == "" || n.MAC == "" {
		return n, errors.New("name and mac are required")
	}
	return n, nil
}

// readDump reads one input: a file, or a collectlogs bundle directory (the
// files nodetext.BundleFiles names that it has), each with input.ReadFile.
func readDump(p string) (scenarios.Dump, error) {
	fi, err := os.Stat(p)
	if err != nil || !fi.IsDir() {
		b, err := input.ReadFile(p, 0)
		return scenarios.Dump{Name: p, Data: b}, err
	}
	d := scenarios.Dump{Name: p, Files: []scenarios.Dump{}}
	ents, err := os.ReadDir(p)
	if err != nil {
		return d, err
	}
	for _, want := range nodetext.BundleFiles {
		for _, e := range ents {
			if !strings.EqualFold(e.Name(), want) || e.IsDir() {
				continue
			}
			name := filepath.Join(p, e.Name())
			b, err := input.ReadFile(name, 0)
			if err != nil {
				return d, err
			}
			d.Files = append(d.Files, scenarios.Dump{Name: name, Data: b})
		}
	}
	return d, nil
}
