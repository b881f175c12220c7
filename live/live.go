// Package live attaches a topology's ports to real Linux interfaces so that
// real programs in network namespaces exchange traffic through the emulated
// Windows datapath (docs/live.md).
//
// Each mapped port gets a network namespace holding "eth0", one end of a veth
// pair whose other end sits in the session's "emu" namespace. The address,
// MAC, MTU and default route of eth0 come from the topology, so a program
// inside sees what a Windows container (or an outside peer) would. Frames
// read from the emu ends with AF_PACKET are injected into the fabric by one
// owner goroutine; what the fabric delivers to a mapped port is written to
// that port's emu end.
package live

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/internal/input"
)

// StateFile is the name of the session state file in a run directory.
const StateFile = "live.json"

// Config is what Run needs.
type Config struct {
	// Topology is the topology (fabric.Topology) the fabric is built from;
	// Fabric is the fabric built from it.
	Topology fabric.Topology
	Fabric   *fabric.Fabric
	// Ports are the fabric ports to attach to a new namespace each, by name
	// (HOST/ENDPOINT, HOST/NIC, PEER).
	Ports []string
	// Interfaces attaches ports (by name) to existing interfaces (a veth end,
	// a TAP device...) of the namespace Run is called in, by interface name.
	// They are used as they are: Run configures nothing on them.
	Interfaces map[string]string
	// RunDir receives the session state file (live.json) that Exec reads.
	RunDir string
	// Pcap, when not nil, receives a pcapng with one interface per port:
	// every frame read from a port and every frame written to one.
	Pcap io.Writer
	// Trace, when not nil, receives one line per stage of every frame.
	Trace io.Writer
	// Log receives progress lines ("ready", teardown).
	Log io.Writer
	// Ready, when not nil, is called once the ports are up.
	Ready func(*State)
}

// State is the content of the session state file: which namespace holds
// each port.
type State struct {
	Session string          `json:"session"`
	PID     int             `json:"pid"`
	Ports   []PortNamespace `json:"ports"`
}

// PortNamespace names the namespace (under /run/netns) and the interface of a
// port; Namespace is empty for a port attached to an existing interface.
type PortNamespace struct {
	Port      string `json:"port"`
	Namespace string `json:"namespace"`
	Interface string `json:"interface"`
}

// Namespace returns the namespace of port, or an error naming the known ports.
func (s *State) Namespace(port string) (string, error) {
	names := make([]string, 0, len(s.Ports))
	for _, p := range s.Ports {
		if p.Port == port {
			if p.Namespace == "" {
				return "", fmt.Errorf("port %q is attached to the existing interface %s, not to a namespace of session %s: run programs where that interface is", port, p.Interface, s.Session)
			}
			return p.Namespace, nil
		}
		names = append(names, p.Port)
	}
	return "", fmt.Errorf("port %q is not attached in session %s (attached: %s)", port, s.Session, strings.Join(names, ", "))
}

// ReadState reads the state file of the session in runDir.
func ReadState(runDir string) (*State, error) {
	name := filepath.Join(runDir, StateFile)
	b, err := input.ReadFile(name, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (is `hnspath live run` running with this --run-dir?)", name, err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if s.Session == "" || len(s.Ports) == 0 {
		return nil, fmt.Errorf("%s: session: no session or no ports", name)
	}
	return &s, nil
}

func writeState(runDir string, s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(runDir, StateFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(runDir, StateFile))
}

// nsName turns a port name into the caller's part of a namespace name
// ([a-z0-9._-]): "host1/web" -> "host1-web".
func nsName(port string) string {
	b := []byte(strings.ToLower(port))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') || i == 0 && (c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) > 40 {
		b = b[:40]
	}
	return string(b)
}

// Counters are per-port frame counts.
type Counters struct {
	Port     string `json:"port"`
	Received uint64 `json:"received"` // read from the interface, injected
	Sent     uint64 `json:"sent"`     // delivered by the fabric, written to the interface
	TooBig   uint64 `json:"too_big,omitempty"`
}

// DropCount is how many frames were dropped at one place for one reason.
type DropCount struct {
	Host      string `json:"host,omitempty"`
	Component string `json:"component"`
	Where     string `json:"where,omitempty"`
	Reason    string `json:"reason"`
	Count     uint64 `json:"count"`
}

// Result is what a session did.
type Result struct {
	Session string      `json:"session"`
	Ports   []Counters  `json:"ports"`
	Drops   []DropCount `json:"drops"`
	// Unmapped counts frames the fabric delivered to ports that are not attached.
	Unmapped map[string]uint64 `json:"unmapped,omitempty"`
}

// WriteText writes r for a person.
func (r *Result) WriteText(w io.Writer) {
	fmt.Fprintf(w, "live session %s\n", r.Session)
	for _, c := range r.Ports {
		fmt.Fprintf(w, "  port %-20s in %8d  out %8d", c.Port, c.Received, c.Sent)
		if c.TooBig > 0 {
			fmt.Fprintf(w, "  too-big %d", c.TooBig)
		}
		fmt.Fprintln(w)
	}
	if len(r.Drops) == 0 {
		fmt.Fprintln(w, "  no drops")
	}
	for _, d := range r.Drops {
		fmt.Fprintf(w, "  drop %-8d %s %s %s: %s\n", d.Count, d.Host, d.Component, d.Where, d.Reason)
	}
	keys := make([]string, 0, len(r.Unmapped))
	for k := range r.Unmapped {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  to unattached port %s: %d\n", k, r.Unmapped[k])
	}
}

// portAddrs returns the addresses (with prefix length) a port's interface
// gets and its MTU, from the topology: an endpoint's IpConfigurations (or
// its network's subnet), a peer's ip/ips, a NIC's ip.
func portAddrs(t *fabric.Topology, f *fabric.Fabric, p *fabric.Port) ([]netip.Prefix, int, error) {
	mtu := 1500
	if t.Underlay.MTU > 0 {
		mtu = t.Underlay.MTU
	}
	var out []netip.Prefix
	addStr := func(s string) error {
		if s == "" {
			return nil
		}
		pf, err := netip.ParsePrefix(s)
		if err != nil {
			a, err2 := netip.ParseAddr(s)
			if err2 != nil {
				return err
			}
			pf = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, pf)
		return nil
	}
	switch p.Kind {
	case fabric.PortPeer:
		ps := t.Peers[p.Peer]
		if err := addStr(ps.IP); err != nil {
			return nil, 0, fmt.Errorf("peers[%d].ip: %w", p.Peer, err)
		}
		for i, s := range ps.IPs {
			if err := addStr(s); err != nil {
				return nil, 0, fmt.Errorf("peers[%d].ips[%d]: %w", p.Peer, i, err)
			}
		}
	case fabric.PortNIC:
		ns := t.Hosts[p.Host].NICs[p.NIC]
		if err := addStr(ns.IP); err != nil {
			return nil, 0, fmt.Errorf("hosts[%d].nics[%d].ip: %w", p.Host, p.NIC, err)
		}
		if ns.MTU > 0 {
			mtu = ns.MTU
		}
	case fabric.PortEndpoint:
		h := f.Hosts()[p.Host]
		e := &h.Endpoints[p.Endpoint]
		if e.Switch >= 0 {
			if m := h.Switches[e.Switch].Port(e.Port).MTU; m > 0 {
				mtu = m
			}
		}
		objs := &t.Hosts[p.Host].HNS
		for _, a := range p.IPs {
			out = append(out, netip.PrefixFrom(a, endpointBits(objs, e.Name, a)))
		}
	default:
		return nil, 0, fmt.Errorf("port %s is a %s port: only endpoints, NICs and peers can be attached", p.Name, p.Kind)
	}
	if len(out) == 0 {
		for _, a := range p.IPs {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out, mtu, nil
}

// endpointBits returns the prefix length of endpoint address a: the
// endpoint's PrefixLength, else the length of the subnet of its network that
// holds a, else a host prefix.
func endpointBits(objs *hns.Objects, name string, a netip.Addr) int {
	for _, ep := range objs.Endpoints {
		if ep.Name != name {
			continue
		}
		for _, ic := range ep.IpConfigurations {
			if x, err := netip.ParseAddr(ic.IpAddress); err == nil && x == a && ic.PrefixLength > 0 {
				return int(ic.PrefixLength)
			}
		}
		for _, n := range objs.Networks {
			if n.Name != ep.HostComputeNetwork && n.Id != ep.HostComputeNetwork {
				continue
			}
			for _, ip := range n.Ipams {
				for _, s := range ip.Subnets {
					if pf, err := s.Prefix(); err == nil && pf.Contains(a) {
						return pf.Bits()
					}
				}
			}
		}
	}
	return a.BitLen()
}
