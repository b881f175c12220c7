package pktmon

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// Port is a topology port that a capture location can map to.
type Port struct {
	Name string
	// MAC in any form NormMAC reads; "" when the port has none.
	MAC string
	// Kind is the port's kind (endpoint, nic, host, peer, ...), for messages.
	Kind string
}

// PortMap says at which topology port pktmon saw a packet: by component
// id (pktmon metadata), by pcapng interface name (etl2pcapng's
// "vNIC:…"/"eth:…", or a port name), and by MAC (a component's PhysAddress,
// an interface's if_MACaddr, a frame's source MAC).
type PortMap struct {
	ByComponent map[int]string
	ByInterface map[string]string
	// ByMAC maps every port's MAC (normalised) to the port.
	ByMAC map[string]string
	// Kinds are the ports' kinds, by name.
	Kinds map[string]string
	// Notes say how each entry was derived, for the user to check.
	Notes []string
}

// NewPortMap maps a capture's components and interfaces to ports: a
// component or interface whose MAC is a port's MAC maps to that port; an
// interface named like a port maps to it. overrides (NAME=PORT from the
// command line) win: NAME is a component id, a MAC or an interface name,
// PORT must be one of ports. A map with no component and no interface is
// an error naming what the capture has and what the topology offers.
func NewPortMap(c *Capture, ports []Port, overrides map[string]string) (*PortMap, error) {
	m := &PortMap{ByComponent: map[int]string{}, ByInterface: map[string]string{}, ByMAC: map[string]string{}, Kinds: map[string]string{}}
	names := map[string]bool{}
	ambiguous := map[string]bool{}
	for _, p := range ports {
		names[p.Name] = true
		m.Kinds[p.Name] = p.Kind
		mac := NormMAC(p.MAC)
		if mac == "" || mac == "00:00:00:00:00:00" {
			continue
		}
		if q, ok := m.ByMAC[mac]; ok && q != p.Name {
			ambiguous[mac] = true
			continue
		}
		m.ByMAC[mac] = p.Name
	}
	for mac := range ambiguous {
		delete(m.ByMAC, mac)
		m.Notes = append(m.Notes, fmt.Sprintf("MAC %s belongs to several ports: not used to map", mac))
	}
	// Components by their MAC.
	ids := make([]int, 0, len(c.Components))
	for id := range c.Components {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		comp := c.Components[id]
		if mac := comp.MAC(); mac != "" {
			if p, ok := m.ByMAC[mac]; ok {
				m.ByComponent[id] = p
				m.Notes = append(m.Notes, fmt.Sprintf("component %d (%s, %s) -> %s: same MAC", id, compName(comp), mac, p))
			}
		}
	}
	// Interfaces by name or MAC.
	seen := map[string]bool{}
	for i := range c.Appearances {
		a := &c.Appearances[i]
		if a.Interface == "" || seen[a.Interface] {
			continue
		}
		seen[a.Interface] = true
		switch {
		case names[a.Interface]:
			m.ByInterface[a.Interface] = a.Interface
		case a.IfaceMAC != "" && m.ByMAC[a.IfaceMAC] != "":
			m.ByInterface[a.Interface] = m.ByMAC[a.IfaceMAC]
			m.Notes = append(m.Notes, fmt.Sprintf("interface %q (%s) -> %s: same MAC", a.Interface, a.IfaceMAC, m.ByMAC[a.IfaceMAC]))
		}
	}
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := overrides[k]
		if !names[p] {
			return nil, fmt.Errorf("--port %s=%s: no port %q in the topology (ports: %s)", k, p, p, portList(ports))
		}
		if id, err := strconv.Atoi(k); err == nil {
			m.ByComponent[id] = p
			m.Notes = append(m.Notes, fmt.Sprintf("component %d -> %s: --port", id, p))
			continue
		}
		if _, err := net.ParseMAC(k); err == nil || (strings.HasPrefix(strings.ToLower(k), "0x") && NormMAC(k) != "") {
			mac := NormMAC(k)
			m.ByMAC[mac] = p
			for id, comp := range c.Components {
				if comp.MAC() == mac {
					m.ByComponent[id] = p
				}
			}
			m.Notes = append(m.Notes, fmt.Sprintf("MAC %s -> %s: --port", mac, p))
			continue
		}
		m.ByInterface[k] = p
		m.Notes = append(m.Notes, fmt.Sprintf("interface %q -> %s: --port", k, p))
	}
	if len(m.ByComponent) == 0 && len(m.ByInterface) == 0 {
		return nil, fmt.Errorf("no pktmon component or capture interface maps to a topology port (%s); topology ports: %s; "+
			"give the component list (--components from `pktmon list --json`, or the component table of `pktmon format`) or --port NAME=PORT",
			c.describe(), portList(ports))
	}
	return m, nil
}

// PortOf returns the port where an appearance was seen: by its component,
// else its interface, else its interface's MAC.
func (m *PortMap) PortOf(a *Appearance) (string, bool) {
	if a.HasMeta {
		if p, ok := m.ByComponent[a.Meta.Component]; ok {
			return p, true
		}
	}
	if a.Interface != "" {
		if p, ok := m.ByInterface[a.Interface]; ok {
			return p, true
		}
	}
	if a.IfaceMAC != "" {
		if p, ok := m.ByMAC[a.IfaceMAC]; ok {
			return p, true
		}
	}
	return "", false
}

// SourcePort returns the port whose MAC is the frame's source MAC: where a
// packet whose first appearance is at an unmapped component came from.
func (m *PortMap) SourcePort(a *Appearance) (string, bool) {
	if a.RawIP || len(a.Frame) < 14 || (a.Synthesized && a.Known&FieldMACs == 0) {
		return "", false
	}
	p, ok := m.ByMAC[NormMAC(fmt.Sprintf("%x", a.Frame[6:12]))]
	return p, ok
}

// Outbound reports whether a direction tag means leaving the component
// towards the wire or the next component: Tx, Out, Egress
// (PktMon_PacketDirectionTag).
func Outbound(dir string) bool {
	return strings.EqualFold(dir, "Tx") || strings.EqualFold(dir, "Out") || strings.EqualFold(dir, "Egress")
}

// Where describes an appearance's location for messages: "component 6
// (netvsc.sys)" or "interface \"eth:3:0\"".
func (c *Capture) Where(a *Appearance) string {
	if a.HasMeta {
		if comp := c.Components[a.Meta.Component]; comp != nil && compName(comp) != "" {
			return fmt.Sprintf("component %d (%s)", a.Meta.Component, compName(comp))
		}
		return fmt.Sprintf("component %d", a.Meta.Component)
	}
	if a.Interface != "" {
		return fmt.Sprintf("interface %q", a.Interface)
	}
	return "unknown location"
}

func compName(c *Component) string {
	if c.Name != "" {
		return c.Name
	}
	return c.Type
}

// describe lists the capture's components and interfaces for an error.
func (c *Capture) describe() string {
	comps, ifs := map[int]bool{}, map[string]bool{}
	for i := range c.Appearances {
		a := &c.Appearances[i]
		if a.HasMeta {
			comps[a.Meta.Component] = true
		}
		if a.Interface != "" {
			ifs[a.Interface] = true
		}
	}
	var parts []string
	ids := make([]int, 0, len(comps))
	for id := range comps {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		s := "component " + strconv.Itoa(id)
		if comp := c.Components[id]; comp != nil {
			if mac := comp.MAC(); mac != "" {
				s += " " + mac
			} else {
				s += " (no PhysAddress)"
			}
		} else {
			s += " (not in a component table)"
		}
		parts = append(parts, s)
	}
	ifnames := make([]string, 0, len(ifs))
	for n := range ifs {
		ifnames = append(ifnames, strconv.Quote(n))
	}
	sort.Strings(ifnames)
	if len(ifnames) > 0 {
		parts = append(parts, "interfaces "+strings.Join(ifnames, ", "))
	}
	if len(parts) == 0 {
		return "the capture names no component or interface"
	}
	return "capture has " + strings.Join(parts, "; ")
}

func portList(ports []Port) string {
	s := make([]string, 0, len(ports))
	for _, p := range ports {
		if mac := NormMAC(p.MAC); mac != "" {
			s = append(s, p.Name+" "+mac)
		} else {
			s = append(s, p.Name)
		}
	}
	return strings.Join(s, ", ")
}
