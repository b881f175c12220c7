package windows

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/hostprobe"
	"github.com/hnspath/hnspath/pktmon"
	"github.com/hnspath/hnspath/result"
)

// pktmon command lines (MicrosoftDocs windowsserverdocs pktmon-syntax.md, pktmon filter add,
// pktmon start, pktmon etl2pcap; docs/windows-tools.md §4.4). The functions return the
// arguments after "pktmon".

// Filter is a `pktmon filter add` filter: a packet is reported when it matches every
// condition of at least one filter (at most 32 filters). Two MACs, IPs or ports match
// packets that carry both, in either direction.
type Filter struct {
	Name      string
	MACs      []string // at most 2, "00-15-5D-AA-00-02" or with colons
	EtherType string   // IPv4, IPv6, ARP or a number
	Transport string   // TCP, UDP, ICMP, ICMPv6 or a number
	IPs       []string // at most 2; CIDR allowed
	Ports     []uint16 // at most 2
	// Encap applies the filter to inner and outer headers of VXLAN, GRE, NVGRE and
	// IP-in-IP packets; EncapPort is a custom VXLAN port (default 4789).
	Encap     bool
	EncapPort uint16
}

// MaxFilters is the number of filters pktmon keeps active at once.
const MaxFilters = 32

// Args returns `filter add NAME [-m mac [mac2]] [-d type] [-t proto] [-i ip [ip2]] [-p port [port2]] [-e [port]]`.
func (f Filter) Args() ([]string, error) {
	if len(f.MACs) > 2 || len(f.IPs) > 2 || len(f.Ports) > 2 {
		return nil, fmt.Errorf("pktmon filter %q: at most 2 MACs, IPs and ports, got %d, %d, %d", f.Name, len(f.MACs), len(f.IPs), len(f.Ports))
	}
	name := f.Name
	if name == "" {
		name = "hnspath"
	}
	if strings.ContainsAny(name, " \t\"") {
		return nil, fmt.Errorf("pktmon filter %q: the name must be one word", name)
	}
	args := []string{"filter", "add", name}
	if len(f.MACs) > 0 {
		args = append(args, "-m")
		for _, m := range f.MACs {
			args = append(args, strings.ReplaceAll(strings.ToUpper(m), ":", "-"))
		}
	}
	if f.EtherType != "" {
		args = append(args, "-d", f.EtherType)
	}
	if f.Transport != "" {
		args = append(args, "-t", f.Transport)
	}
	if len(f.IPs) > 0 {
		args = append(args, append([]string{"-i"}, f.IPs...)...)
	}
	if len(f.Ports) > 0 {
		args = append(args, "-p")
		for _, p := range f.Ports {
			args = append(args, strconv.Itoa(int(p)))
		}
	}
	if f.Encap {
		args = append(args, "-e")
		if f.EncapPort != 0 && f.EncapPort != 4789 {
			args = append(args, strconv.Itoa(int(f.EncapPort)))
		}
	}
	return args, nil
}

// PortRole says what an appearance at a component means for the results.
type PortRole struct {
	// Port is the emulator's port name.
	Port string
	// Kind is result.KindDelivered, KindWireTx or KindWireRx.
	Kind string
	// Direction is the direction tag that counts; empty counts every appearance.
	Direction string
	// DstMAC, when set, counts only frames sent to this MAC ("00:15:5d:..."): at an
	// endpoint's vNIC component, the frames delivered to it, not those it sends.
	DstMAC string
}

// PortMap maps pktmon components and pcapng interfaces to ports. Which component and
// direction tag stands for "delivered to the container" has to be read off a real
// host's `pktmon list` and a capture; the backend builds the map from the endpoints'
// MACs (a container's vNIC component carries its MAC).
type PortMap struct {
	ByComponent map[int][]PortRole
	ByInterface map[string][]PortRole
}

// rolesOf returns the roles of a record.
func (pm PortMap) rolesOf(r *pktmon.PacketRecord) []PortRole {
	if r.HasMeta {
		if rs, ok := pm.ByComponent[r.Meta.Component]; ok {
			return rs
		}
	}
	return pm.ByInterface[r.Interface]
}

// Results turns the records of one capture into one result per input: a record belongs
// to the input whose time window it falls in (from the input's send time to the next
// input's), each packet (PktGroupId) is reported once per port, and drop records
// become drops with pktmon's reason.
func Results(scenario string, inputs []hostprobe.Input, sent []time.Time, recs []pktmon.PacketRecord, pm PortMap) ([]*result.Packet, error) {
	if len(sent) != len(inputs) {
		return nil, fmt.Errorf("pktmon results: %d send times for %d inputs", len(sent), len(inputs))
	}
	for i := 1; i < len(sent); i++ {
		if sent[i].Before(sent[i-1]) {
			return nil, fmt.Errorf("pktmon results: send time of input %d is before input %d's", i+1, i)
		}
	}
	sorted := append([]pktmon.PacketRecord(nil), recs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time.Before(sorted[j].Time) })
	out := make([]*result.Packet, len(inputs))
	for i, in := range inputs {
		out[i] = &result.Packet{Scenario: scenario, Backend: result.BackendWindows, Index: i + 1, In: in.Port, TimeNS: in.TimeNS,
			Frame: bytes.Clone(in.Frame)}
	}
	type seenKey struct {
		input int
		group uint64
		port  string
		kind  string
	}
	seen := map[seenKey]bool{}
	for ri := range sorted {
		r := &sorted[ri]
		idx := sort.Search(len(sent), func(i int) bool { return sent[i].After(r.Time) }) - 1
		if idx < 0 {
			continue // before the first input: not the scenario's
		}
		p := out[idx]
		roles := pm.rolesOf(r)
		if r.Dropped {
			d := result.Drop{Component: "pktmon", Layer: "pktmon", Reason: "pktmon-drop", Text: r.Meta.DropReason,
				Where: r.Meta.DropLocation, Frame: bytes.Clone(r.Frame)}
			if r.Meta.DropCode >= 0 {
				d.Code = r.Meta.DropCode
				if d.Text == "" || pktmon.DropCode(d.Text) >= 0 {
					d.Text = pktmon.DropText(r.Meta.DropCode)
				}
				if slug, ok := dropSlug(r.Meta.DropCode); ok {
					d.Reason = slug
				}
			}
			if len(roles) > 0 {
				d.Port = roles[0].Port
			}
			if r.HasMeta && d.Where == "" {
				d.Where = fmt.Sprintf("component %d", r.Meta.Component)
			}
			p.Drops = append(p.Drops, d)
			continue
		}
		for _, role := range roles {
			if role.Direction != "" && r.HasMeta && !strings.EqualFold(role.Direction, r.Meta.Direction) {
				continue
			}
			if role.DstMAC != "" && !dstMACIs(r.Frame, role.DstMAC) {
				continue
			}
			k := seenKey{idx, r.Meta.PktGroupID, role.Port, role.Kind}
			if r.HasMeta && seen[k] {
				continue
			}
			seen[k] = true
			p.Outputs = append(p.Outputs, result.Output{Port: role.Port, Kind: role.Kind, Frame: bytes.Clone(r.Frame)})
		}
	}
	for _, p := range out {
		p.Outcome = hostprobe.Outcome(p)
	}
	return out, nil
}

// dstMACIs reports whether an Ethernet frame is addressed to mac ("aa:bb:..").
func dstMACIs(frame []byte, mac string) bool {
	if len(frame) < 6 {
		return false
	}
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", frame[0], frame[1], frame[2], frame[3], frame[4], frame[5]) == mac
}

// dropSlug returns the emulator's slug for a pktmon drop code, when it has the reason.
func dropSlug(code int) (string, bool) {
	for _, r := range drop.All() {
		if r.Layer() == drop.LayerPktmon && r.Code() == code {
			return r.Slug(), true
		}
	}
	return "", false
}
