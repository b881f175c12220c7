package spec

import (
	"fmt"
	"strconv"
	"strings"
)

// fieldKind is the type of a field's value.
type fieldKind uint8

const (
	fNum   fieldKind = iota // unsigned integer of bits bits (symbols, ranges)
	fFlags                  // unsigned integer written as flag names
	fMAC                    // Ethernet address, or a name resolved with Resolver.MAC
	fIPv4                   // IPv4 address, or a name resolved with Resolver.IP(name, false)
	fIPv6                   // IPv6 address, or a name resolved with Resolver.IP(name, true)
	fBytes                  // byte string
)

// symbol names a numeric value.
type symbol struct {
	name string
	val  uint64
}

// flagBit names one bit (or bit pattern) of a flags field.
type flagBit struct {
	name string
	val  uint64
}

// fieldDef describes one field of a layer.
type fieldDef struct {
	name    string   // canonical, scapy-compatible where scapy has the field
	aliases []string // other accepted names
	kind    fieldKind
	bits    uint     // width of fNum and fFlags fields
	hex     bool     // print numbers in hex
	syms    []symbol // symbolic values; printed instead of numbers
	flags   []flagBit
	sep     string // separator between flag names; "" means single letters
	// omit: canonical Decode leaves the field out when Build, without it,
	// would produce the same value (lengths, checksums, defaults).
	omit bool
	// computed: Build computes the field from the rest of the packet
	// (lengths, checksums, next-header types).
	computed bool
	// def is the value Build writes for an omit field that is not
	// computed. Decode uses it to guess which fields to leave out, and
	// checks the guess by building.
	def uint64
	// checksum: the field accepts "valid" in expectations.
	checksum bool
	// derived: the field is an input form of another field (dscp and ecn of
	// tos); Decode never prints it but Match can check it.
	derived bool
}

// layerDef describes one layer.
type layerDef struct {
	name    string
	aliases []string
	fields  []fieldDef
	// payload says what the layers after this one are: documentation only.
	doc string
}

// field returns the definition of the named field (canonical or alias), or nil.
func (ld *layerDef) field(name string) *fieldDef {
	name = strings.ToLower(name)
	for i := range ld.fields {
		d := &ld.fields[i]
		if d.name == name {
			return d
		}
		for _, a := range d.aliases {
			if a == name {
				return d
			}
		}
	}
	return nil
}

// fieldIndex returns the index of the canonical field name in ld.fields.
func (ld *layerDef) fieldIndex(name string) int {
	for i := range ld.fields {
		if ld.fields[i].name == name {
			return i
		}
	}
	panic("spec: no field " + ld.name + "." + name) // programming error: names are constants
}

// max returns the largest value the field holds.
func (d *fieldDef) max() uint64 {
	if d.bits >= 64 {
		return ^uint64(0)
	}
	return 1<<d.bits - 1
}

// formatNum prints n the way the field is written in canonical form.
func (d *fieldDef) formatNum(n uint64) string {
	for _, s := range d.syms {
		if s.val == n {
			return s.name
		}
	}
	if d.kind == fFlags && n != 0 {
		var parts []string
		rest := n
		for _, f := range d.flags {
			if rest&f.val == f.val {
				parts = append(parts, f.name)
				rest &^= f.val
			}
		}
		if rest == 0 {
			return strings.Join(parts, d.sep)
		}
	}
	if d.hex {
		w := int(d.bits+3) / 4
		return fmt.Sprintf("0x%0*x", w, n)
	}
	return strconv.FormatUint(n, 10)
}

// parseSymbol looks up a symbolic value or a flags expression.
func (d *fieldDef) parseSymbol(s string) (uint64, bool) {
	ls := strings.ToLower(s)
	for _, sym := range d.syms {
		if sym.name == ls {
			return sym.val, true
		}
	}
	if d.kind != fFlags || s == "" {
		return 0, false
	}
	var n uint64
	if d.sep == "" {
		for _, c := range strings.ToUpper(s) {
			found := false
			for _, f := range d.flags {
				if f.name == string(c) {
					n |= f.val
					found = true
				}
			}
			if !found {
				return 0, false
			}
		}
		return n, true
	}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '+' || r == '|' }) {
		found := false
		for _, f := range d.flags {
			if strings.EqualFold(f.name, part) {
				n |= f.val
				found = true
			}
		}
		if !found {
			return 0, false
		}
	}
	return n, true
}

// symbolNames lists the symbols and flag names a field accepts, for errors.
func (d *fieldDef) symbolNames() string {
	var names []string
	for _, s := range d.syms {
		names = append(names, s.name)
	}
	for _, f := range d.flags {
		names = append(names, f.name)
	}
	return strings.Join(names, ", ")
}

// Ether types (IEEE 802 numbers registry).
const (
	etherTypeIPv4 = 0x0800
	etherTypeARP  = 0x0806
	etherTypeVLAN = 0x8100
	etherTypeIPv6 = 0x86dd
	etherTypeQinQ = 0x88a8
	// etherTypeDefault is scapy's default type for an Ether() with nothing
	// recognisable after it (0x9000, "Loopback").
	etherTypeDefault = 0x9000
)

// IP protocol numbers (IANA protocol numbers registry).
const (
	protoHopByHop = 0
	protoICMP     = 1
	protoIPIP     = 4
	protoTCP      = 6
	protoUDP      = 17
	protoIPv6     = 41
	protoFragment = 44
	protoICMPv6   = 58
	protoNoNext   = 59
)

// VXLANPort is the IANA-assigned VXLAN UDP port (RFC 7348 section 5).
const VXLANPort = 4789

var etherTypeSyms = []symbol{
	{"ipv4", etherTypeIPv4}, {"arp", etherTypeARP}, {"vlan", etherTypeVLAN},
	{"ipv6", etherTypeIPv6}, {"qinq", etherTypeQinQ},
}

var protoSyms = []symbol{
	{"hopopt", protoHopByHop}, {"icmp", protoICMP}, {"ipip", protoIPIP}, {"tcp", protoTCP},
	{"udp", protoUDP}, {"ipv6", protoIPv6}, {"ipv6-frag", protoFragment},
	{"icmpv6", protoICMPv6}, {"none", protoNoNext},
}

// ICMP types, names as scapy prints them (RFC 792, RFC 950).
const (
	icmpEchoReply    = 0
	icmpDestUnreach  = 3
	icmpSourceQuench = 4
	icmpRedirect     = 5
	icmpEchoRequest  = 8
	icmpTimeExceeded = 11
	icmpParamProblem = 12
)

var icmpTypeSyms = []symbol{
	{"echo-reply", icmpEchoReply}, {"dest-unreach", icmpDestUnreach},
	{"source-quench", icmpSourceQuench}, {"redirect", icmpRedirect},
	{"echo-request", icmpEchoRequest}, {"router-advertisement", 9},
	{"router-solicitation", 10}, {"time-exceeded", icmpTimeExceeded},
	{"parameter-problem", icmpParamProblem}, {"timestamp-request", 13},
	{"timestamp-reply", 14}, {"information-request", 15},
	{"information-response", 16}, {"address-mask-request", 17},
	{"address-mask-reply", 18},
}

// ICMPv6 types (RFC 4443, RFC 4861).
const (
	icmp6DestUnreach  = 1
	icmp6PacketTooBig = 2
	icmp6TimeExceeded = 3
	icmp6ParamProblem = 4
	icmp6EchoRequest  = 128
	icmp6EchoReply    = 129
	icmp6RouterSol    = 133
	icmp6RouterAdv    = 134
	icmp6NeighborSol  = 135
	icmp6NeighborAdv  = 136
	icmp6Redirect     = 137
)

var icmp6TypeSyms = []symbol{
	{"dest-unreach", icmp6DestUnreach}, {"packet-too-big", icmp6PacketTooBig},
	{"time-exceeded", icmp6TimeExceeded}, {"parameter-problem", icmp6ParamProblem},
	{"echo-request", icmp6EchoRequest}, {"echo-reply", icmp6EchoReply},
	{"router-solicitation", icmp6RouterSol}, {"router-advertisement", icmp6RouterAdv},
	{"neighbor-solicitation", icmp6NeighborSol}, {"neighbor-advertisement", icmp6NeighborAdv},
	{"redirect", icmp6Redirect},
}

// ARP operations (RFC 826), scapy's names.
var arpOpSyms = []symbol{{"who-has", 1}, {"is-at", 2}}

// TCP flags in scapy's letter order "FSRPAUECN" (RFC 9293 section 3.1, RFC 3168).
var tcpFlags = []flagBit{
	{"F", 0x01}, {"S", 0x02}, {"R", 0x04}, {"P", 0x08}, {"A", 0x10},
	{"U", 0x20}, {"E", 0x40}, {"C", 0x80}, {"N", 0x100},
}

// IPv4 flags as the 3-bit field of RFC 791 section 3.1 (bit 0 reserved, the
// "evil" bit of RFC 3514), printed like scapy: "MF+DF".
var ipv4Flags = []flagBit{{"MF", 1}, {"DF", 2}, {"evil", 4}}

// Neighbor Advertisement flags (RFC 4861 section 4.4) in the top bits of
// the 32-bit field after the checksum.
var naFlags = []flagBit{{"R", 1 << 31}, {"S", 1 << 30}, {"O", 1 << 29}}

func num(name string, bits uint, omit bool, aliases ...string) fieldDef {
	return fieldDef{name: name, kind: fNum, bits: bits, omit: omit, aliases: aliases}
}

func hexNum(name string, bits uint, omit bool) fieldDef {
	return fieldDef{name: name, kind: fNum, bits: bits, omit: omit, hex: true}
}

func chksum() fieldDef {
	return fieldDef{name: "chksum", aliases: []string{"checksum"}, kind: fNum, bits: 16, omit: true, hex: true, checksum: true, computed: true}
}

func symNum(name string, bits uint, omit bool, syms []symbol) fieldDef {
	return fieldDef{name: name, kind: fNum, bits: bits, omit: omit, syms: syms}
}

// layerDefs is the table of layers and fields. Field order is the order in
// which Decode prints fields.
var layerDefs = []*layerDef{
	{name: "ether", aliases: []string{"eth", "ethernet"}, fields: []fieldDef{
		{name: "dst", kind: fMAC},
		{name: "src", kind: fMAC},
		{name: "type", kind: fNum, bits: 16, hex: true, omit: true, computed: true, syms: etherTypeSyms},
	}},
	{name: "vlan", aliases: []string{"dot1q"}, fields: []fieldDef{
		num("vid", 12, false, "id", "vlan"),
		num("pcp", 3, true, "prio"),
		num("dei", 1, true),
		{name: "type", kind: fNum, bits: 16, hex: true, omit: true, computed: true, syms: etherTypeSyms},
	}},
	{name: "arp", fields: []fieldDef{
		symNum("op", 16, false, arpOpSyms),
		{name: "hwsrc", kind: fMAC},
		{name: "psrc", kind: fIPv4},
		{name: "hwdst", kind: fMAC},
		{name: "pdst", kind: fIPv4},
	}},
	{name: "ipv4", aliases: []string{"ip"}, fields: []fieldDef{
		{name: "src", kind: fIPv4},
		{name: "dst", kind: fIPv4},
		num("ttl", 8, false),
		{name: "version", kind: fNum, bits: 4, omit: true, def: 4},
		{name: "ihl", kind: fNum, bits: 4, omit: true, computed: true},
		hexNum("tos", 8, true),
		{name: "len", kind: fNum, bits: 16, omit: true, computed: true},
		num("id", 16, true),
		{name: "flags", kind: fFlags, bits: 3, omit: true, flags: ipv4Flags, sep: "+"},
		num("frag", 13, true),
		{name: "proto", kind: fNum, bits: 8, omit: true, computed: true, syms: protoSyms},
		chksum(),
		{name: "options", kind: fBytes, omit: true},
		{name: "dscp", kind: fNum, bits: 6, derived: true},
		{name: "ecn", kind: fNum, bits: 2, derived: true},
	}},
	{name: "ipv6", fields: []fieldDef{
		{name: "src", kind: fIPv6},
		{name: "dst", kind: fIPv6},
		num("hlim", 8, false, "ttl"),
		{name: "version", kind: fNum, bits: 4, omit: true, def: 6},
		hexNum("tc", 8, true),
		num("fl", 20, true),
		{name: "plen", kind: fNum, bits: 16, omit: true, computed: true},
		{name: "nh", kind: fNum, bits: 8, omit: true, computed: true, syms: protoSyms},
	}},
	{name: "ipv6hbh", aliases: []string{"hopbyhop"}, fields: []fieldDef{
		{name: "nh", kind: fNum, bits: 8, omit: true, computed: true, syms: protoSyms},
		{name: "options", kind: fBytes, omit: true},
	}},
	{name: "ipv6frag", aliases: []string{"ipv6fragment"}, fields: []fieldDef{
		num("offset", 13, false, "frag"),
		num("m", 1, false),
		num("id", 32, false),
		{name: "nh", kind: fNum, bits: 8, omit: true, computed: true, syms: protoSyms},
		num("res1", 8, true),
		num("res2", 2, true),
	}},
	{name: "tcp", fields: []fieldDef{
		num("sport", 16, false),
		num("dport", 16, false),
		{name: "flags", kind: fFlags, bits: 9, flags: tcpFlags},
		num("seq", 32, true),
		num("ack", 32, true),
		{name: "window", kind: fNum, bits: 16, omit: true, def: 8192},
		{name: "dataofs", kind: fNum, bits: 4, omit: true, computed: true},
		num("reserved", 3, true),
		num("urgptr", 16, true, "urgp"),
		chksum(),
		{name: "options", kind: fBytes, omit: true},
		num("mss", 16, true),
		num("wscale", 8, true),
		num("sackok", 1, true),
		num("tsval", 32, true),
		num("tsecr", 32, true),
	}},
	{name: "udp", fields: []fieldDef{
		num("sport", 16, false),
		num("dport", 16, false),
		{name: "len", kind: fNum, bits: 16, omit: true, computed: true},
		chksum(),
	}},
	{name: "icmp", aliases: []string{"icmpv4"}, fields: []fieldDef{
		symNum("type", 8, false, icmpTypeSyms),
		num("code", 8, true),
		num("id", 16, true),
		num("seq", 16, true, "mtu", "nexthopmtu"),
		chksum(),
	}},
	{name: "icmpv6", fields: []fieldDef{
		symNum("type", 8, false, icmp6TypeSyms),
		num("code", 8, true),
		num("id", 16, true),
		num("seq", 16, true),
		num("mtu", 32, false),
		num("ptr", 32, false),
		{name: "flags", kind: fFlags, bits: 32, flags: naFlags, omit: true},
		{name: "tgt", kind: fIPv6},
		{name: "lladdr", kind: fMAC},
		chksum(),
	}},
	{name: "vxlan", fields: []fieldDef{
		num("vni", 24, false),
		{name: "flags", kind: fNum, bits: 8, omit: true, hex: true, def: 0x08},
		hexNum("gpflags", 8, true),
		num("gpid", 16, true),
		hexNum("reserved", 8, true),
	}},
	{name: "raw", aliases: []string{"payload"}, fields: []fieldDef{
		{name: "load", kind: fBytes},
		num("len", 16, false),
	}},
	{name: "padding", aliases: []string{"pad"}, fields: []fieldDef{
		{name: "load", kind: fBytes},
		num("len", 16, false),
	}},
}

// layerByName maps canonical names and aliases to definitions.
var layerByName = func() map[string]*layerDef {
	m := make(map[string]*layerDef)
	for _, ld := range layerDefs {
		m[ld.name] = ld
		for _, a := range ld.aliases {
			m[a] = ld
		}
	}
	return m
}()

// layerNames lists canonical layer names, for errors.
func layerNames() string {
	var names []string
	for _, ld := range layerDefs {
		names = append(names, ld.name)
	}
	return strings.Join(names, ", ")
}

// fieldNames lists a layer's canonical field names, for errors.
func (ld *layerDef) fieldNames() string {
	var names []string
	for _, d := range ld.fields {
		names = append(names, d.name)
	}
	return strings.Join(names, ", ")
}
