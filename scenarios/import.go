package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
)

// Dump is one JSON dump of HNS objects to import.
type Dump struct {
	// Name names the dump in warnings and errors (its file name).
	Name string
	Data []byte
}

// ImportOptions describe the host the dumps come from.
type ImportOptions struct {
	// Host is the host's name (default "host1").
	Host string
	// Profile is its HNS version profile (WS2019, WS2022, WS2025).
	Profile string
	// NICs are its physical NICs; HNS dumps do not list them.
	NICs []fabric.NICSpec
}

// Import turns JSON dumps of HNS objects from a real node (Get-HnsNetwork,
// Get-HnsEndpoint, Get-HnsPolicyList, hnsdiag list all; HNS v1 or v2, see
// hns.ImportDump) into a one-host topology. Objects of all dumps are
// merged; an object whose ID was already imported is skipped with a
// warning. Warnings are prefixed with the dump's name.
func Import(dumps []Dump, opts ImportOptions) (*fabric.Topology, []string, error) {
	var all hns.Objects
	var warnings []string
	seen := map[string]string{}
	var errs []string
	for _, d := range dumps {
		o, ws, err := hns.ImportDump(d.Data)
		for _, w := range ws {
			warnings = append(warnings, d.Name+": "+w)
		}
		if err != nil {
			errs = append(errs, d.Name+": "+err.Error())
			continue
		}
		dup := func(kind, id, name string) bool {
			key := kind + "/" + strings.ToLower(id)
			if id == "" {
				return false
			}
			if prev, ok := seen[key]; ok {
				warnings = append(warnings, fmt.Sprintf("%s: %s %s (%s) already imported from %s: skipped", d.Name, kind, id, name, prev))
				return true
			}
			seen[key] = d.Name
			return false
		}
		for _, n := range o.Networks {
			if !dup("network", n.Id, n.Name) {
				all.Networks = append(all.Networks, n)
			}
		}
		for _, e := range o.Endpoints {
			if !dup("endpoint", e.Id, e.Name) {
				all.Endpoints = append(all.Endpoints, e)
			}
		}
		for _, lb := range o.LoadBalancers {
			if !dup("loadbalancer", lb.Id, "") {
				all.LoadBalancers = append(all.LoadBalancers, lb)
			}
		}
		for _, ns := range o.Namespaces {
			if !dup("namespace", ns.Id, "") {
				all.Namespaces = append(all.Namespaces, ns)
			}
		}
		for _, r := range o.Routes {
			if !dup("route", r.ID, "") {
				all.Routes = append(all.Routes, r)
			}
		}
	}
	if len(errs) > 0 {
		return nil, warnings, fmt.Errorf("import: %s", strings.Join(errs, "\n"))
	}
	host := opts.Host
	if host == "" {
		host = "host1"
	}
	t := &fabric.Topology{Hosts: []fabric.HostSpec{{Name: host, Profile: opts.Profile, NICs: opts.NICs, HNS: all}}}
	if len(opts.NICs) == 0 {
		warnings = append(warnings, "no NICs given (--nic name=eth0,mac=...,ip=...): add the host's physical NICs to the topology")
	}
	return t, warnings, nil
}

// MarshalTopologyYAML writes a topology as block-style YAML with the keys
// of fabric.Topology and the HCN v2 JSON names (as encoding/json writes
// them), so that LoadTopology reads it back.
func MarshalTopologyYAML(t *fabric.Topology, comment string) ([]byte, error) {
	js, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(js, &n); err != nil {
		return nil, err
	}
	blockStyle(&n)
	if comment != "" && len(n.Content) > 0 {
		n.Content[0].HeadComment = comment
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// blockStyle turns flow-style collections (what JSON input gives) into
// block style, and keeps strings that YAML would read as something else
// quoted.
func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style = 0
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		n.Style = 0
		var probe yaml.Node
		if yaml.Unmarshal([]byte(n.Value), &probe) != nil || len(probe.Content) != 1 || probe.Content[0].ShortTag() != "!!str" ||
			probe.Content[0].Value != n.Value {
			n.Style = yaml.DoubleQuotedStyle
		}
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}
