package pktmon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hnspath/hnspath/pcapio"
)

// Component is one pktmon component (`pktmon list --json`).
type Component struct {
	Group string
	ID    int
	Name  string
	Type  string
	// Properties are the component's properties by name (e.g. "MAC Address", "ifIndex").
	Properties map[string]string
}

// MAC returns the component's MAC address, normalised to lower case with
// colons, or "". pktmon names it PhysAddress and prints it as a hex number
// ("PhysAddress = 0x00155DC88E16" in `pktmon format`'s component table);
// a "MAC Address" property in dashed form is accepted too.
func (c Component) MAC() string {
	for _, name := range []string{"PhysAddress", "MACAddress"} {
		for k, v := range c.Properties {
			if strings.EqualFold(strings.ReplaceAll(k, " ", ""), name) {
				if m := NormMAC(v); m != "" {
					return m
				}
			}
		}
	}
	return ""
}

// NormMAC returns a MAC address in lower case with colons ("00:15:5d:c8:8e:16"),
// from the dashed, colon or bare forms and pktmon's PhysAddress hex number
// ("0x00155DC88E16"), or "" when s is none of them.
func NormMAC(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s = s[2:]
	}
	s = strings.NewReplacer("-", "", ":", "", ".", "").Replace(s)
	if len(s) != 12 {
		return ""
	}
	var b strings.Builder
	for i := 0; i < 12; i += 2 {
		if _, err := strconv.ParseUint(s[i:i+2], 16, 8); err != nil {
			return ""
		}
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToLower(s[i : i+2]))
	}
	return b.String()
}

// ParseComponents reads `pktmon list --json`: an array of groups
// {"Group": ..., "Components": [{"Id": N, "Name": ..., "Type": ..., "Properties":
// [{"Name": ..., "Value": ...}]}]}, or a flat array of components. The shape is the one
// observed on Windows 11/Server 2022 (the documentation shows none); unknown keys are
// ignored.
func ParseComponents(name string, data []byte) ([]Component, error) {
	type prop struct {
		Name  string          `json:"Name"`
		Value json.RawMessage `json:"Value"`
	}
	type comp struct {
		ID         json.RawMessage `json:"Id"`
		Name       string          `json:"Name"`
		Type       string          `json:"Type"`
		Properties []prop          `json:"Properties"`
		Components []comp          `json:"Components"`
		Group      string          `json:"Group"`
	}
	var top []comp
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("%s: pktmon list: %w", name, err)
	}
	var out []Component
	var add func(c comp, group string, path string) error
	add = func(c comp, group, path string) error {
		if c.Group != "" {
			group = c.Group
		}
		for i, sub := range c.Components {
			if err := add(sub, group, fmt.Sprintf("%s.Components[%d]", path, i)); err != nil {
				return err
			}
		}
		if len(c.ID) == 0 {
			return nil
		}
		id, err := strconv.Atoi(strings.Trim(string(c.ID), `"`))
		if err != nil {
			return fmt.Errorf("%s: pktmon list: %s.Id: %q is not a number", name, path, c.ID)
		}
		pc := Component{Group: group, ID: id, Name: c.Name, Type: c.Type, Properties: map[string]string{}}
		for _, p := range c.Properties {
			v := strings.Trim(string(p.Value), `"`)
			pc.Properties[p.Name] = v
		}
		out = append(out, pc)
		return nil
	}
	for i, c := range top {
		if err := add(c, "", fmt.Sprintf("[%d]", i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Meta is the metadata pktmon logs with a packet (event 160 FramePayload, 170
// FrameDropPayload): "[Drop: ]PktGroupId N, PktNumber N, Appearance N, Direction Rx,
// Type Ethernet, Component N, Edge N, Filter N, [DropReason R, DropLocation L,]
// OriginalSize N, LoggedSize N" (format strings in emulator/drop/testdata/
// pktmon_etw_schema__*: PktMon_FramePayload, PktMon_FrameDropPayload). pktmon's text
// output starts each packet with it; converters put it in the pcapng packet comment.
type Meta struct {
	Drop       bool
	PktGroupID uint64
	PktNumber  int
	Appearance int
	// Direction is None, In, Out, Rx, Tx, Ingress or Egress (PktMon_PacketDirectionTag).
	Direction string
	Type      string
	Component int
	Edge      int
	Filter    int
	// DropReason is the reason's text and DropCode its number (PktMon_DropReason; -1
	// when the text is not in the table).
	DropReason   string
	DropCode     int
	DropLocation string
	OriginalSize int
	LoggedSize   int
}

// ParseMeta reads a packet's metadata line. The timestamp pktmon's text format puts
// first is skipped. Keys may come in any order; unknown keys are ignored; the
// numeric fields must be numbers.
func ParseMeta(s string) (Meta, error) {
	m := Meta{DropCode: -1}
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "PktGroupId"); i > 0 {
		// A timestamp and/or "Drop:" before the first key.
		m.Drop = strings.Contains(s[:i], "Drop:")
		s = s[i:]
	} else if strings.HasPrefix(s, "Drop:") {
		m.Drop = true
		s = strings.TrimSpace(strings.TrimPrefix(s, "Drop:"))
	}
	if !strings.HasPrefix(s, "PktGroupId") {
		return m, fmt.Errorf("pktmon metadata %q: no PktGroupId", Clip(s))
	}
	seen := false
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, val, _ := strings.Cut(part, " ")
		val = strings.TrimSpace(val)
		num := func(dst *int) error {
			n, err := strconv.Atoi(val)
			if err != nil {
				return fmt.Errorf("pktmon metadata: %s %q: not a number", key, val)
			}
			*dst = n
			return nil
		}
		var err error
		switch key {
		case "PktGroupId":
			m.PktGroupID, err = strconv.ParseUint(val, 10, 64)
			if err != nil {
				return m, fmt.Errorf("pktmon metadata: PktGroupId %q: not a number", val)
			}
			seen = true
		case "PktNumber", "PktCount":
			err = num(&m.PktNumber)
		case "Appearance":
			err = num(&m.Appearance)
		case "Direction":
			m.Direction = val
		case "Type":
			m.Type = val
		case "Component":
			err = num(&m.Component)
		case "Edge":
			err = num(&m.Edge)
		case "Filter":
			err = num(&m.Filter)
		case "DropReason":
			m.DropReason = val
			m.DropCode = DropCode(val)
		case "DropLocation":
			m.DropLocation = val
		case "OriginalSize":
			err = num(&m.OriginalSize)
		case "LoggedSize":
			err = num(&m.LoggedSize)
		}
		if err != nil {
			return m, err
		}
	}
	if !seen {
		return m, fmt.Errorf("pktmon metadata %q: no PktGroupId", Clip(s))
	}
	if m.DropReason != "" {
		m.Drop = true
	}
	return m, nil
}

// Clip shortens s to 60 bytes for an error message.
func Clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// dropReasons is PktMon_DropReason (pktmon/testdata/pktmon_dropreason.npl.txt, from microsoft/NetMon_Parsers_for_PacketMon);
// vmswitch uses the same numbers (samples/vmswitch_drop_reasons__*).
var dropReasons = map[int]string{
	0: "Unspecified", 1: "Invalid Data", 2: "Invalid Packet", 3: "Insufficient resources", 4: "Adapter not ready",
	5: "Media Disconnected", 6: "Not accepted", 7: "Device busy", 8: "Filtered", 9: "Filtered VLAN",
	10: "Unauthorized VLAN", 11: "Unauthorized MAC", 12: "Failed security policy", 13: "Failed pVlan setting",
	14: "QoS drop", 15: "IPSec drop", 16: "Spoofed MAC address is not allowed", 17: "Failed DHCP guard",
	18: "Failed Router Guard", 19: "Bridge is not allowed inside VM", 20: "Virtual Subnet ID does not match",
	21: "Required vSwitch extension is missing", 22: "Creating vSwitch over another vSwitch is not allowed",
	23: "MTU mismatch", 24: "Native forwarding required", 25: "Invalid VLAN format", 26: "Invalid destination MAC",
	27: "Invalid source MAC", 28: "First NB too small", 29: "Windows Network Virtualization error",
	30: "Storm limit exceeded", 31: "ICMP request injected by switch", 32: "Failed to update destination list",
	33: "Destination NIC is disabled", 34: "Packet does not match destination NIC packet filter",
	35: "vSwitch data flow is disabled", 36: "Port isolation setting does not allow untagged traffic",
	37: "Invalid PD queue", 38: "Adapter is in low power state", 101: "Adapter paused", 102: "Adapter reset in progress",
	103: "Send aborted", 104: "Unsupported EtherType", 201: "Microport error", 202: "VF not ready",
	203: "Microport not ready", 204: "VMBus error",
}

// DropCode returns the PktMon_DropReason number of a reason given as text or as a
// number, or -1.
func DropCode(s string) int {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if _, ok := dropReasons[n]; ok {
			return n
		}
		return -1
	}
	for code, text := range dropReasons {
		if strings.EqualFold(text, s) {
			return code
		}
	}
	return -1
}

// DropText returns the text of a PktMon_DropReason number, or "".
func DropText(code int) string { return dropReasons[code] }

// PacketRecord is one packet appearance read from a pktmon pcapng.
type PacketRecord struct {
	// Interface is the pcapng interface name.
	Interface string
	Time      time.Time
	Frame     []byte
	// Meta is parsed from the packet's comment; HasMeta says whether it had one.
	Meta    Meta
	HasMeta bool
	// Dropped is set by a drop verdict or "Drop:" metadata.
	Dropped bool
	// LinkType is the interface's link type (pcapio.LinkTypeEthernet or a
	// raw IP type); IfaceMAC the interface's if_MACaddr ("" if none).
	LinkType uint16
	IfaceMAC string
	// GroupID is the packet's PktGroupId: from the metadata, else from the
	// epb_packetid option etl2pcapng writes (HasGroupID says either was there).
	GroupID    uint64
	HasGroupID bool
}

// ReadPcapng reads every packet of a pcapng that pktmon (etl2pcap) or etl2pcapng wrote,
// with the metadata of its comment. name is used in errors; packets whose comment is
// not pktmon metadata keep HasMeta false.
func ReadPcapng(r io.Reader, name string) ([]PacketRecord, error) {
	rd, err := pcapio.NewReader(r, name, "")
	if err != nil {
		return nil, err
	}
	rd.AllowRawIP()
	var out []PacketRecord
	for {
		p, info, err := rd.NextInfo()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		rec := PacketRecord{Interface: p.Port, Time: p.Time, Frame: bytes.Clone(p.Data), LinkType: info.LinkType}
		if len(info.IfaceMAC) == 6 {
			rec.IfaceMAC = NormMAC(fmt.Sprintf("%x", info.IfaceMAC))
		}
		for _, line := range strings.Split(p.Comment, "\n") {
			if m, err := ParseMeta(line); err == nil {
				rec.Meta, rec.HasMeta = m, true
				break
			}
		}
		rec.Dropped = rec.Meta.Drop || p.Verdict != nil
		switch {
		case rec.HasMeta:
			rec.GroupID, rec.HasGroupID = rec.Meta.PktGroupID, true
		case info.HasPacketID:
			rec.GroupID, rec.HasGroupID = info.PacketID, true
		}
		out = append(out, rec)
	}
}

// ReadCapture reads a pcapng that pktmon or etl2pcapng wrote as a Capture:
// one appearance per packet, grouped by PktGroupId (comment metadata or
// epb_packetid); raw IP packets keep RawIP set.
func ReadCapture(r io.Reader, name string) (*Capture, error) {
	recs, err := ReadPcapng(r, name)
	if err != nil {
		return nil, err
	}
	c := &Capture{Components: map[int]*Component{}}
	for i, rec := range recs {
		a := Appearance{Source: name, Line: i + 1, Time: rec.Time, Meta: rec.Meta, HasMeta: rec.HasMeta, Interface: rec.Interface,
			IfaceMAC: rec.IfaceMAC, Frame: rec.Frame, RawIP: pcapio.IsRawIP(rec.LinkType), Known: FieldAll, Dropped: rec.Dropped}
		a.Grouped = rec.HasGroupID
		if !rec.HasMeta {
			a.Meta = Meta{DropCode: -1, PktGroupID: rec.GroupID, Drop: rec.Dropped}
		}
		c.Appearances = append(c.Appearances, a)
	}
	return c, nil
}

// IsPcap reports whether data starts like a pcap or pcapng file.
func IsPcap(data []byte) bool {
	if len(data) < 4 {
		return false
	}
	le, be := uint32(data[0])|uint32(data[1])<<8|uint32(data[2])<<16|uint32(data[3])<<24, uint32(data[0])<<24|uint32(data[1])<<16|uint32(data[2])<<8|uint32(data[3])
	for _, m := range []uint32{0x0a0d0d0a, 0xa1b2c3d4, 0xa1b23c4d} {
		if le == m || be == m {
			return true
		}
	}
	return false
}

// Load reads a pktmon capture of any kind it knows, by content: a pcapng
// (pktmon etl2pcap, etl2pcapng) or pktmon's text output.
func Load(name string, data []byte) (*Capture, error) {
	if IsPcap(data) {
		return ReadCapture(bytes.NewReader(data), name)
	}
	return ParseText(name, data)
}

// etl2pcapngPrefixes are how etl2pcapng names interfaces that are not
// pktmon components (src/main.c: "vNIC:%s:%s:%lu:%i", "eth:%lu:%i",
// "wifi:%lu", "mbb:%lu", "Rras:...").
var etl2pcapngPrefixes = []string{"vNIC:", "eth:", "wifi:", "mbb:", "Rras:"}

// IsPktmonPacket reports whether a packet read from a pcapng carries what
// pktmon or etl2pcapng write: pktmon metadata in its comment, a packet id
// (PktGroupId), a raw IP link type or an etl2pcapng interface name.
func IsPktmonPacket(p *pcapio.Packet, info pcapio.Info) bool {
	if info.HasPacketID || pcapio.IsRawIP(info.LinkType) {
		return true
	}
	for _, pre := range etl2pcapngPrefixes {
		if strings.HasPrefix(info.Interface, pre) {
			return true
		}
	}
	for _, line := range strings.Split(p.Comment, "\n") {
		if _, err := ParseMeta(line); err == nil {
			return true
		}
	}
	return false
}
