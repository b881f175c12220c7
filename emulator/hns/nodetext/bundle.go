package nodetext

import (
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// File is one file of a collectlogs bundle.
type File struct {
	Name string // its path, for messages
	Data []byte
}

// BundleFiles are the files of a collectlogs.ps1 bundle (microsoft/SDN
// Kubernetes/windows/debug/collectlogs.ps1) that ReadBundle reads or notes.
var BundleFiles = []string{
	"network.txt", "endpoint.txt", "policy.txt", "namespaces.txt", // a table, then ConvertTo-Json -Depth 20
	"ip.txt",        // ipconfig /allcompartments /all, then Get-NetIPAddress
	"routes.txt",    // route print, then Get-NetRoute
	"mtu.txt",       // netsh int ipv4 sh int
	"vfpOutput.txt", // dumpVfpPolicies.ps1: VFP rules (not read here)
	"ports.txt",     // vfpctrl /list-vmswitch-port (not read here)
}

// ReadBundle reads the files of a collectlogs bundle directory dir. HNS
// objects come from network.txt, endpoint.txt, policy.txt and
// namespaces.txt; the host's NICs (name, MAC, IPv4 address, gateway) from
// ip.txt, their MTU from mtu.txt, gateways ipconfig did not show and routes
// through other gateways from routes.txt. VFP dumps are noted, not read.
func ReadBundle(dir string, files []File) (*Node, error) {
	node := &Node{}
	var errs errList
	byName := map[string]File{}
	for _, f := range files {
		byName[strings.ToLower(path.Base(strings.ReplaceAll(f.Name, "\\", "/")))] = f
	}
	if _, ok := byName["network.txt"]; !ok {
		if _, ok := byName["endpoint.txt"]; !ok {
			errs.add(dir, 0, "", "not a collectlogs bundle: no network.txt or endpoint.txt")
			return node, errs.err()
		}
	}
	for _, name := range []string{"network.txt", "endpoint.txt", "policy.txt", "namespaces.txt"} {
		f, ok := byName[name]
		if !ok {
			node.notef(dir, 0, "no %s in the bundle", name)
			continue
		}
		n, err := Read(f.Name, f.Data)
		node.Merge(n)
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range []string{"vfpOutput.txt", "ports.txt"} {
		if f, ok := byName[strings.ToLower(name)]; ok {
			node.notef(f.Name, 1, "VFP state: not read by import (compare VFP rules with hnspath's VFP rule check)")
		}
	}
	var nics []NIC
	if f, ok := byName["ip.txt"]; ok {
		nics = readIPConfig(f, node)
	} else {
		node.notef(dir, 0, "no ip.txt in the bundle: give the host's NICs with --nic")
	}
	if f, ok := byName["mtu.txt"]; ok {
		mtus := readMTU(f)
		for i := range nics {
			if m, ok := mtus[strings.ToLower(nics[i].Name)]; ok {
				nics[i].MTU = m
			}
		}
	}
	if f, ok := byName["routes.txt"]; ok {
		readRoutes(f, nics, node)
	}
	node.NICs = append(node.NICs, nics...)
	return node, errs.err()
}

// ipconfigKeyRE matches "   Physical Address. . . . . . . . . : 00-15-5D-..".
var ipconfigKeyRE = regexp.MustCompile(`^\s+([A-Za-z][\w -]*?)[ .]*: ?(.*)$`)

// adapterRE matches an adapter heading of ipconfig ("Ethernet adapter vEthernet (nat):").
var adapterRE = regexp.MustCompile(`^(\S.*) adapter (.+):\s*$`)

// compartmentRE matches ipconfig /allcompartments' heading.
var compartmentRE = regexp.MustCompile(`^Network Information for Compartment (\d+)`)

// readIPConfig reads ipconfig /all: the adapters of compartment 1 (the
// host's) with a MAC, an IPv4 address and an IPv4 default gateway are the
// host's NICs (on an external vSwitch that is the host vNIC "vEthernet
// (...)", which carries the NIC's MAC and address).
func readIPConfig(f File, node *Node) []NIC {
	_, lines := splitLines(f.Name, f.Data, node)
	var nics []NIC
	type adapter struct {
		NIC
		mask   string
		gws    []string
		hostOK bool
	}
	var cur *adapter
	var all []*adapter
	compartment := 1
	lastKey := ""
	for _, l := range lines {
		if l.skip {
			continue
		}
		if m := compartmentRE.FindStringSubmatch(l.s); m != nil {
			compartment, _ = strconv.Atoi(m[1])
			cur = nil
			continue
		}
		if m := adapterRE.FindStringSubmatch(l.s); m != nil {
			cur = &adapter{NIC: NIC{File: f.Name, Line: l.n, Name: strings.TrimSpace(m[2])}, hostOK: compartment == 1}
			all = append(all, cur)
			continue
		}
		if cur == nil {
			continue
		}
		if strings.TrimSpace(l.s) == "" {
			continue
		}
		if m := ipconfigKeyRE.FindStringSubmatch(l.s); m != nil && strings.Contains(l.s, ". :") || (m != nil && strings.Contains(l.s, " : ")) {
			lastKey = strings.ToLower(strings.TrimSpace(m[1]))
			v := strings.TrimSpace(m[2])
			switch {
			case lastKey == "physical address":
				cur.MAC = v
			case strings.HasPrefix(lastKey, "ipv4 address") || lastKey == "ip address" || lastKey == "autoconfiguration ipv4 address":
				if cur.IP == "" {
					cur.IP = strings.TrimSuffix(strings.TrimSuffix(v, "(Preferred)"), "(Duplicate)")
				}
			case lastKey == "subnet mask":
				if cur.mask == "" {
					cur.mask = v
				}
			case lastKey == "default gateway":
				cur.gws = append(cur.gws, v)
			}
			continue
		}
		if lastKey == "default gateway" && strings.HasPrefix(l.s, " ") {
			cur.gws = append(cur.gws, strings.TrimSpace(l.s)) // more gateways, one a line
		}
	}
	for _, a := range all {
		if !a.hostOK || a.MAC == "" || a.IP == "" {
			continue
		}
		ip, err := netip.ParseAddr(a.IP)
		if err != nil || !ip.Is4() {
			continue
		}
		bits := 32
		if m, err := netip.ParseAddr(a.mask); err == nil && m.Is4() {
			b := m.As4()
			bits = 0
			for _, x := range b {
				for ; x&0x80 != 0; x <<= 1 {
					bits++
				}
			}
		}
		for _, g := range a.gws {
			if ga, err := netip.ParseAddr(g); err == nil && ga.Is4() {
				a.Gateway = g
				break
			}
		}
		if a.Gateway == "" {
			node.notef(f.Name, a.Line, "adapter %q (%s) has no IPv4 default gateway: not taken as a physical NIC (a container network's host vNIC?)", a.Name, a.IP)
			continue
		}
		a.IP = netip.PrefixFrom(ip, bits).String()
		nics = append(nics, a.NIC)
	}
	if len(nics) == 0 {
		node.notef(f.Name, 1, "no adapter of compartment 1 with a MAC, an IPv4 address and a default gateway: give the host's NICs with --nic")
	}
	return nics
}

// mtuRowRE matches a row of "netsh int ipv4 sh int": Idx Met MTU State Name.
var mtuRowRE = regexp.MustCompile(`^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.+?)\s*$`)

func readMTU(f File) map[string]int {
	node := &Node{}
	_, lines := splitLines(f.Name, f.Data, node)
	out := map[string]int{}
	for _, l := range lines {
		if m := mtuRowRE.FindStringSubmatch(l.s); m != nil {
			if v, err := strconv.Atoi(m[3]); err == nil {
				out[strings.ToLower(m[5])] = v
			}
		}
	}
	return out
}

// routeRowRE matches a row of route print's IPv4 table:
// Network Destination, Netmask, Gateway, Interface, Metric.
var routeRowRE = regexp.MustCompile(`^\s*(\d+\.\d+\.\d+\.\d+)\s+(\d+\.\d+\.\d+\.\d+)\s+(\S+)\s+(\d+\.\d+\.\d+\.\d+)\s+(\d+)\s*$`)

// readRoutes reads route print's active IPv4 routes: a default route gives
// a NIC without a gateway its gateway; a route through another gateway on a
// NIC becomes a host route.
func readRoutes(f File, nics []NIC, node *Node) {
	_, lines := splitLines(f.Name, f.Data, node)
	seen := map[string]bool{}
	active := false
	var routes []Route
	for _, l := range lines {
		t := strings.TrimSpace(l.s)
		switch {
		case strings.HasPrefix(t, "Active Routes:"):
			active = true
			continue
		case strings.HasPrefix(t, "Persistent Routes:") || strings.HasPrefix(t, "IPv6 Route Table"):
			active = false
			continue
		}
		m := routeRowRE.FindStringSubmatch(l.s)
		if !active || m == nil {
			continue
		}
		dst, _ := netip.ParseAddr(m[1])
		mask, _ := netip.ParseAddr(m[2])
		bits := 0
		for _, x := range mask.As4() {
			for ; x&0x80 != 0; x <<= 1 {
				bits++
			}
		}
		gw, err := netip.ParseAddr(m[3])
		if err != nil {
			continue // On-link
		}
		nic := -1
		for i := range nics {
			if p, err := netip.ParsePrefix(nics[i].IP); err == nil && p.Addr().String() == m[4] {
				nic = i
			}
		}
		if nic < 0 {
			continue
		}
		pfx := netip.PrefixFrom(dst, bits).Masked()
		if bits == 0 {
			if nics[nic].Gateway == "" {
				nics[nic].Gateway = gw.String()
			}
			continue
		}
		key := pfx.String() + ">" + gw.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		routes = append(routes, Route{File: f.Name, Line: l.n, Prefix: pfx.String(), NextHop: gw.String(), Via: m[4]})
	}
	sort.SliceStable(routes, func(i, j int) bool { return routes[i].Line < routes[j].Line })
	for _, r := range routes {
		node.notef(r.File, r.Line, "route %s via %s taken from the bundle", r.Prefix, r.NextHop)
	}
	node.Routes = append(node.Routes, routes...)
}

// String returns the NIC as --nic takes it.
func (n NIC) String() string {
	s := fmt.Sprintf("name=%s,mac=%s,ip=%s", n.Name, n.MAC, n.IP)
	if n.Gateway != "" {
		s += ",gateway=" + n.Gateway
	}
	if n.MTU != 0 {
		s += ",mtu=" + strconv.Itoa(n.MTU)
	}
	return s
}
