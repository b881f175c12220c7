package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/emulator/hns/nodetext"
)

// Dump is one input to import: a file a node printed, or a collectlogs.ps1
// bundle directory (Files set, Data unused).
type Dump struct {
	// Name names the dump in warnings and errors (its file name).
	Name string
	Data []byte
	// Files are the files of a bundle directory, each named by its path.
	Files []Dump
}

// ImportOptions describe the host the dumps come from.
type ImportOptions struct {
	// Host is the host's name (default "host1").
	Host string
	// Profile is its HNS version profile (WS2019, WS2022, WS2025, or an HNS
	// version). Empty: from the dumps' packed HNS Version, else the default.
	Profile string
	// NICs are its physical NICs. Empty: those a bundle's ip.txt shows.
	NICs []fabric.NICSpec
}

// Import turns what a real node printed (see package nodetext: HNS objects
// as JSON or in PowerShell's list view, hnsdiag listings, Get-NetNat and
// Get-NetNatStaticMapping, collectlogs bundles) into a one-host topology.
// Objects of all dumps are merged by ID; an object whose ID was already
// imported is skipped with a warning. Objects that a listing only names
// (hnsdiag) must be completed by another dump, else they are errors that
// say what is missing. Endpoint and NIC names that are not unique (real
// nodes call many endpoints "Ethernet") get a derived unique name, in a
// warning. Warnings are prefixed with the file (and line) they are about.
func Import(dumps []Dump, opts ImportOptions) (*fabric.Topology, []string, error) {
	var all hns.Objects
	var warnings []string
	var errs []string
	node := &nodetext.Node{}
	for _, d := range dumps {
		var n *nodetext.Node
		var err error
		if d.Files != nil {
			files := make([]nodetext.File, len(d.Files))
			for i, f := range d.Files {
				files[i] = nodetext.File{Name: f.Name, Data: f.Data}
			}
			n, err = nodetext.ReadBundle(d.Name, files)
		} else {
			n, err = nodetext.Read(d.Name, d.Data)
		}
		if n != nil {
			warnings = append(warnings, n.Notes...)
			n.Notes = nil
			node.Merge(n)
		}
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	seen := map[string]string{}
	for _, fo := range node.Objects {
		o, ws, err := hns.ImportObjects(fo.Objects)
		for _, w := range ws {
			warnings = append(warnings, fo.File+": "+w)
		}
		if err != nil {
			errs = append(errs, fo.File+": "+err.Error())
			continue
		}
		dup := func(kind, id, name string) bool {
			key := kind + "/" + strings.ToLower(id)
			if id == "" {
				return false
			}
			if prev, ok := seen[key]; ok {
				warnings = append(warnings, fmt.Sprintf("%s: %s %s (%s) already imported from %s: skipped", fo.File, kind, id, name, prev))
				return true
			}
			seen[key] = fo.File
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
	all.Networks = latestByName(all.Networks, &warnings)
	node.Skeletons = uniqueSkeletons(node.Skeletons)
	host := opts.Host
	if host == "" {
		host = "host1"
	}
	hs := fabric.HostSpec{Name: host, Profile: opts.Profile, NICs: opts.NICs}
	errs = append(errs, completeSkeletons(&all, node.Skeletons, &warnings)...)
	errs = append(errs, applyNAT(&all, &hs, node, &warnings)...)
	if len(errs) == 0 && len(all.Networks)+len(all.Endpoints)+len(all.LoadBalancers)+len(all.Routes)+len(all.Namespaces) == 0 {
		errs = append(errs, "no HNS objects found in "+dumpNames(dumps)+
			" (give Get-HnsNetwork/Get-HnsEndpoint/Get-HnsPolicyList output, as JSON or in PowerShell's list view, or a collectlogs bundle)")
	}
	if len(errs) > 0 {
		return nil, warnings, fmt.Errorf("import: %s", strings.Join(errs, "\n"))
	}
	if hs.Profile == "" {
		hs.Profile = profileFromVersions(node.Versions, &warnings)
	} else if len(node.Versions) > 0 {
		v := node.Versions[0]
		warnings = append(warnings, fmt.Sprintf("%s:%d: the node reports HNS %s; --profile %s is used instead", v.File, v.Line, v.Version, hs.Profile))
	}
	if len(hs.NICs) == 0 {
		for _, n := range node.NICs {
			hs.NICs = append(hs.NICs, fabric.NICSpec{Name: n.Name, MAC: n.MAC, IP: n.IP, Gateway: n.Gateway, MTU: n.MTU})
			warnings = append(warnings, fmt.Sprintf("%s:%d: NIC %q (MAC %s, IP %s, gateway %s, MTU %d) taken from the bundle", n.File, n.Line, n.Name, n.MAC, n.IP, n.Gateway, n.MTU))
		}
		for _, r := range node.Routes {
			hs.Routes = append(hs.Routes, fabric.RouteSpec{Prefix: r.Prefix, NextHop: r.NextHop})
		}
	}
	uniqueNames(&all, &hs, &warnings)
	hs.HNS = all
	t := &fabric.Topology{Hosts: []fabric.HostSpec{hs}}
	if len(hs.NICs) == 0 {
		warnings = append(warnings, "no NICs given (--nic name=eth0,mac=...,ip=...) or found (a collectlogs bundle's ip.txt): add the host's physical NICs to the topology")
	}
	return t, warnings, nil
}

// latestByName keeps the last of networks that share a name: HNS names are
// unique on a node, so two are two runs of Get-HnsNetwork around a change
// (the network was re-created with a new ID).
func latestByName(nets []hns.HostComputeNetwork, warnings *[]string) []hns.HostComputeNetwork {
	last := map[string]int{}
	for i, n := range nets {
		last[n.Name] = i
	}
	var out []hns.HostComputeNetwork
	for i, n := range nets {
		if j := last[n.Name]; j != i && n.Name != "" {
			*warnings = append(*warnings, fmt.Sprintf("network %q (%s) is listed again later with ID %s (a later run, after the network was re-created): the later one is kept", n.Name, n.Id, nets[j].Id))
			continue
		}
		out = append(out, n)
	}
	return out
}

// uniqueSkeletons drops objects a listing names twice (two runs of hnsdiag).
func uniqueSkeletons(sks []nodetext.Skeleton) []nodetext.Skeleton {
	seen := map[string]bool{}
	var out []nodetext.Skeleton
	for _, sk := range sks {
		k := sk.Kind + "/" + strings.ToLower(sk.ID)
		if !seen[k] {
			seen[k] = true
			out = append(out, sk)
		}
	}
	return out
}

func dumpNames(dumps []Dump) string {
	var n []string
	for _, d := range dumps {
		n = append(n, d.Name)
	}
	return strings.Join(n, ", ")
}

// completeSkeletons checks that every object a listing (hnsdiag) names was
// imported with its settings from another dump; the errors say what is
// missing.
func completeSkeletons(all *hns.Objects, sks []nodetext.Skeleton, warnings *[]string) []string {
	var errs []string
	missing := 0
	for _, sk := range sks {
		found, name := false, ""
		switch sk.Kind {
		case hns.KindNetwork:
			for _, n := range all.Networks {
				if strings.EqualFold(n.Id, sk.ID) {
					found, name = true, n.Name
				}
			}
		case hns.KindEndpoint:
			for _, e := range all.Endpoints {
				if strings.EqualFold(e.Id, sk.ID) {
					found, name = true, e.Name
				}
			}
		case hns.KindLoadBalancer:
			for _, lb := range all.LoadBalancers {
				found = found || strings.EqualFold(lb.Id, sk.ID)
			}
		case hns.KindNamespace:
			for _, ns := range all.Namespaces {
				found = found || strings.EqualFold(ns.Id, sk.ID)
			}
		}
		at := fmt.Sprintf("%s:%d", sk.File, sk.Line)
		if found {
			if sk.Name != "" && name != "" && sk.Name != name {
				*warnings = append(*warnings, fmt.Sprintf("%s: %s %s is listed as %q but imported as %q", at, sk.Kind, sk.ID, sk.Name, name))
			}
			continue
		}
		missing++
		if missing > 20 {
			continue
		}
		what := map[string]string{
			hns.KindNetwork:      "its Type, Subnets (address prefix, gateway) and policies",
			hns.KindEndpoint:     "its IP address, prefix length, MAC address and policies",
			hns.KindLoadBalancer: "its frontend VIPs, port mappings and backend endpoints",
			hns.KindNamespace:    "its compartment and endpoints",
		}[sk.Kind]
		if sk.Kind == hns.KindEndpoint && sk.IP != "" {
			what = "its network, prefix length, MAC address and policies"
		}
		errs = append(errs, fmt.Sprintf("%s: %s %q (%s): hnsdiag lists only its name and ID; missing: %s "+
			"(add Get-Hns%s output, as JSON or list, or a collectlogs bundle, with this ID)", at, sk.Kind, sk.Name, sk.ID, what, cmdlet(sk.Kind)))
	}
	if missing > 20 {
		errs = append(errs, fmt.Sprintf("... and %d more objects listed without their settings", missing-20))
	}
	return errs
}

func cmdlet(kind string) string {
	switch kind {
	case hns.KindNetwork:
		return "Network"
	case hns.KindEndpoint:
		return "Endpoint"
	case hns.KindLoadBalancer:
		return "PolicyList (or Get-HnsLoadBalancer)"
	}
	return "Namespace"
}

// applyNAT applies Get-NetNat settings to the host and
// Get-NetNatStaticMapping entries to the endpoints they forward to.
func applyNAT(all *hns.Objects, hs *fabric.HostSpec, node *nodetext.Node, warnings *[]string) []string {
	var errs []string
	var natNets []*hns.HostComputeNetwork
	for i := range all.Networks {
		if t := all.Networks[i].Type; t == hns.NAT || t == hns.ICS {
			natNets = append(natNets, &all.Networks[i])
		}
	}
	for _, nn := range node.NATs {
		at := fmt.Sprintf("%s:%d", nn.File, nn.Line)
		name := nn.Fields["Name"]
		if len(natNets) == 0 {
			errs = append(errs, fmt.Sprintf("%s: Get-NetNat %q: no nat network was imported to apply it to; missing: the nat network "+
				"(add its Get-HnsNetwork output, as JSON or list)", at, name))
			continue
		}
		spec, ws := natSpec(nn)
		for _, w := range ws {
			*warnings = append(*warnings, at+": "+w)
		}
		if pfx, err := netip.ParsePrefix(nn.Fields["InternalIPInterfaceAddressPrefix"]); err == nil && !natCovers(natNets, pfx) {
			*warnings = append(*warnings, fmt.Sprintf("%s: Get-NetNat %q: InternalIPInterfaceAddressPrefix %s overlaps no imported nat network's subnet (another node's NAT?); its settings are applied anyway", at, name, pfx))
		}
		if hs.NAT != nil {
			*warnings = append(*warnings, fmt.Sprintf("%s: Get-NetNat %q: a second NAT; the model has one WinNAT per host: ignored", at, name))
			continue
		}
		hs.NAT = spec
	}
	for _, m := range node.Mappings {
		at := fmt.Sprintf("%s:%d", m.File, m.Line)
		proto := map[string]uint32{"TCP": 6, "UDP": 17}[strings.ToUpper(m.Protocol)]
		ext, err1 := strconv.ParseUint(m.ExternalPort, 10, 16)
		in, err2 := strconv.ParseUint(m.InternalPort, 10, 16)
		if proto == 0 || err1 != nil || err2 != nil {
			errs = append(errs, fmt.Sprintf("%s: Get-NetNatStaticMapping: Protocol %q, ExternalPort %q, InternalPort %q: want TCP or UDP and port numbers", at, m.Protocol, m.ExternalPort, m.InternalPort))
			continue
		}
		ep := endpointWithIP(all, m.InternalIPAddress)
		if ep == nil {
			errs = append(errs, fmt.Sprintf("%s: Get-NetNatStaticMapping %s %s:%d -> %s:%d: no imported endpoint has InternalIPAddress %s; missing: that endpoint "+
				"(add its Get-HnsEndpoint output, as JSON or list)", at, m.Protocol, m.ExternalIPAddress, ext, m.InternalIPAddress, in, m.InternalIPAddress))
			continue
		}
		set := hns.PortMappingPolicySetting{Protocol: proto, InternalPort: uint16(in), ExternalPort: uint16(ext)}
		if m.ExternalIPAddress != "" && m.ExternalIPAddress != "0.0.0.0" {
			set.VIP = m.ExternalIPAddress
		}
		if p := m.RemoteExternalIPAddressPrefix; p != "" && p != "0.0.0.0/0" {
			*warnings = append(*warnings, fmt.Sprintf("%s: RemoteExternalIPAddressPrefix %s: HNS port mappings have no remote prefix; ignored", at, p))
		}
		if hasPortMapping(ep, set) {
			continue
		}
		raw, _ := json.Marshal(set)
		ep.Policies = append(ep.Policies, hns.EndpointPolicy{Type: hns.PortMapping, Settings: raw})
		*warnings = append(*warnings, fmt.Sprintf("%s: static mapping %s %d -> %s:%d added to endpoint %q as a PortMapping policy", at, m.Protocol, ext, m.InternalIPAddress, in, ep.Name))
	}
	return errs
}

// natSpec converts Get-NetNat's properties to the topology's NAT settings.
func natSpec(nn nodetext.NetNat) (*fabric.NATSpec, []string) {
	var ws []string
	s := &fabric.NATSpec{}
	num := func(key string, dst *int) {
		v := nn.Fields[key]
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			ws = append(ws, fmt.Sprintf("%s: %q is not a number of seconds: ignored", key, v))
			return
		}
		*dst = n
	}
	num("IcmpQueryTimeout", &s.IcmpQueryTimeout)
	num("TcpEstablishedConnectionTimeout", &s.TcpEstablishedConnectionTimeout)
	num("TcpTransientConnectionTimeout", &s.TcpTransientConnectionTimeout)
	num("UdpIdleSessionTimeout", &s.UdpIdleSessionTimeout)
	s.TcpFilteringBehavior = nn.Fields["TcpFilteringBehavior"]
	s.UdpFilteringBehavior = nn.Fields["UdpFilteringBehavior"]
	s.UdpInboundRefresh = strings.EqualFold(strings.Trim(nn.Fields["UdpInboundRefresh"], "`"), "True")
	return s, ws
}

func natCovers(nets []*hns.HostComputeNetwork, pfx netip.Prefix) bool {
	for _, n := range nets {
		for _, ipam := range n.Ipams {
			for _, sub := range ipam.Subnets {
				if p, err := netip.ParsePrefix(sub.IpAddressPrefix); err == nil && p.Overlaps(pfx) {
					return true
				}
			}
		}
	}
	return false
}

func endpointWithIP(all *hns.Objects, ip string) *hns.HostComputeEndpoint {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return nil
	}
	for i := range all.Endpoints {
		for _, c := range all.Endpoints[i].IpConfigurations {
			if b, err := c.Addr(); err == nil && b == a {
				return &all.Endpoints[i]
			}
		}
	}
	return nil
}

func hasPortMapping(e *hns.HostComputeEndpoint, s hns.PortMappingPolicySetting) bool {
	for _, p := range e.Policies {
		if p.Type != hns.PortMapping {
			continue
		}
		var x hns.PortMappingPolicySetting
		if json.Unmarshal(p.Settings, &x) == nil && x.Protocol == s.Protocol && x.InternalPort == s.InternalPort && x.ExternalPort == s.ExternalPort {
			return true
		}
	}
	return false
}

// profileFromVersions picks the profile from the packed HNS versions the
// dumps carry (the first; others that differ are reported).
func profileFromVersions(vs []nodetext.Version, warnings *[]string) string {
	if len(vs) == 0 {
		return ""
	}
	v := vs[0]
	for _, o := range vs[1:] {
		if o.Version != v.Version {
			*warnings = append(*warnings, fmt.Sprintf("%s:%d: HNS %s differs from HNS %s at %s:%d (objects from two nodes or two updates?); using %s",
				o.File, o.Line, o.Version, v.Version, v.File, v.Line, v.Version))
			break
		}
	}
	p, why := hns.ProfileForVersion(v.Version)
	*warnings = append(*warnings, fmt.Sprintf("%s:%d: Version %d = HNS %s: profile %s (%s)", v.File, v.Line, v.Version.Pack(), v.Version, p.Spec(), why))
	return p.Spec()
}

// uniqueNames gives endpoints and NICs unique port names: a name that
// several objects share (real nodes call many endpoints "Ethernet"), an
// empty one or one with a '/' (port names are HOST/NAME) is replaced by the
// name plus the start of the object's ID (or a number), and reported.
func uniqueNames(all *hns.Objects, hs *fabric.HostSpec, warnings *[]string) {
	// NICs keep their names unless two share one; endpoints give way to
	// NICs, to the management OS's "host" and to each other.
	nicCount := map[string]int{}
	for _, n := range hs.NICs {
		nicCount[strings.ToLower(n.Name)]++
	}
	count := map[string]int{}
	for _, e := range all.Endpoints {
		count[strings.ToLower(e.Name)]++
	}
	for k, c := range nicCount {
		count[k] += c
	}
	count["host"]++ // HOST/host is the management OS
	used := map[string]bool{}
	for k, c := range count {
		if c == 1 || nicCount[k] == 1 {
			used[k] = true
		}
	}
	derive := func(name, id string) string {
		base := strings.ReplaceAll(strings.TrimSpace(name), "/", "_")
		if base == "" {
			base = "endpoint"
		}
		short := strings.ToLower(strings.ReplaceAll(id, "-", ""))
		for n := 8; n <= len(short); n += 4 {
			if c := base + "-" + short[:n]; !used[strings.ToLower(c)] {
				used[strings.ToLower(c)] = true
				return c
			}
		}
		for i := 2; ; i++ {
			if c := fmt.Sprintf("%s-%d", base, i); !used[strings.ToLower(c)] {
				used[strings.ToLower(c)] = true
				return c
			}
		}
	}
	for i := range all.Endpoints {
		e := &all.Endpoints[i]
		if count[strings.ToLower(e.Name)] == 1 && e.Name != "" && !strings.Contains(e.Name, "/") {
			continue
		}
		old := e.Name
		e.Name = derive(old, e.Id)
		why := fmt.Sprintf("is shared by %d objects (endpoints and NICs)", count[strings.ToLower(old)])
		switch {
		case old == "":
			why = "is empty"
		case strings.Contains(old, "/"):
			why = "has a '/'"
		case strings.EqualFold(old, "host"):
			why = "is the management OS's port name"
		}
		*warnings = append(*warnings, fmt.Sprintf("endpoint %s: name %q %s; port name %s/%s derived from its ID", e.Id, old, why, hs.Name, e.Name))
	}
	for i := range hs.NICs {
		n := &hs.NICs[i]
		if nicCount[strings.ToLower(n.Name)] == 1 && n.Name != "" && !strings.Contains(n.Name, "/") && !strings.EqualFold(n.Name, "host") {
			continue
		}
		old := n.Name
		n.Name = derive(old, strings.ReplaceAll(n.MAC, ":", "-"))
		*warnings = append(*warnings, fmt.Sprintf("NIC %s: name %q is not unique; port name %s/%s derived from its MAC", n.MAC, old, hs.Name, n.Name))
	}
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
