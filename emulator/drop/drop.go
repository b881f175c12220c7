// Package drop names why the emulator dropped a packet, in Windows' own
// vocabulary where one exists: pktmon/vmswitch drop reasons, VFP drop
// reasons, WinNAT and the TCP/IP stack (docs/windows-behaviour.md §5,
// samples/pktmon_etw_schema__*, samples/vmswitch_drop_reasons__*,
// samples/vfpext_etw_schema__*).
//
// A Reason is a small integer: stages return it without allocating. Each
// has a stable slug (used in scenario files and results, e.g.
// "winnat-no-mapping"), the layer that would report it on Windows, that
// layer's numeric code where it has one, and Windows' text.
package drop

import "strconv"

// Reason is why a packet was dropped. The zero value means not dropped.
type Reason uint16

// Layer is the Windows component whose vocabulary a reason uses.
type Layer uint8

// Layers.
const (
	LayerNone     Layer = iota
	LayerPktmon         // pktmon / vmswitch DropReason table (codes 0-38, 101-104)
	LayerVFP            // VfpExt drop reasons (codes 0-13, 32-34) and VFP rule blocks
	LayerWinNAT         // WinNAT
	LayerTCPIP          // the management OS TCP/IP stack ("INET: ...")
	LayerHNS            // behaviour HNS imposes (documented limits)
	LayerEmulator       // the emulator's own (topology or injection problems)
)

var layerNames = [...]string{"", "pktmon", "vfp", "winnat", "tcpip", "hns", "hnspath"}

// String returns the layer's name, or "Layer(N)" for a value with none.
func (l Layer) String() string {
	if int(l) < len(layerNames) {
		return layerNames[l]
	}
	return "Layer(" + strconv.Itoa(int(l)) + ")"
}

// Reasons.
const (
	None Reason = iota

	// pktmon / vmswitch (PktMon_DropReason; VMSWITCH_PKT_DROP_REASON).
	InvalidData          // 1
	InvalidPacket        // 2
	Filtered             // 8
	FilteredVLAN         // 9
	FailedSecurityPolicy // 12
	SpoofedMAC           // 16
	VSIDMismatch         // 20
	MTUMismatch          // 23
	InvalidDstMAC        // 26
	InvalidSrcMAC        // 27
	WNVFiltered          // 29
	DestNICDisabled      // 33
	UnsupportedEtherType // 104

	// VFP (VFPEXT_MapPacketDropReason) and rule blocks.
	ARPGuard        // 0
	MACGuard        // 9
	BlockNonIP      // 5
	NoDestBroadcast // 10
	NoDestUnicast   // 11
	VFPInvalid      // 32
	VFPBlock        // a VFP rule of type block matched (layer/group/rule in the detail)
	VFPDefaultBlock // a layer's default action is block and no rule allowed the packet
	NoICMPTransposition
	LBNoBackend
	LBPortsExhausted

	// WinNAT.
	NATNoMapping
	NATFiltered
	NATPortsExhausted
	NATHostHairpin
	NATIPv6
	NATSessionLimit

	// Management OS TCP/IP stack.
	TTLExceeded
	NoRoute
	NeighborUnresolved
	NoListener
	ICMPNotTransposed

	// HNS documented limits.
	HostToServiceIP
	IPv6Unsupported

	// The emulator's own.
	NoSuchPort
	LoopDetected
	QueueOverflow
	UnderlayNoDestination
	NotForHost
	FrameTooBig

	numReasons
)

type info struct {
	slug  string
	layer Layer
	code  int // the layer's numeric code, -1 if none
	text  string
}

var table = [numReasons]info{
	None: {"", LayerNone, -1, ""},

	InvalidData:          {"invalid-data", LayerPktmon, 1, "Invalid Data"},
	InvalidPacket:        {"invalid-packet", LayerPktmon, 2, "Invalid Packet"},
	Filtered:             {"filtered", LayerPktmon, 8, "Filtered"},
	FilteredVLAN:         {"filtered-vlan", LayerPktmon, 9, "Filtered VLAN"},
	FailedSecurityPolicy: {"failed-security-policy", LayerPktmon, 12, "Failed security policy"},
	SpoofedMAC:           {"spoofed-mac", LayerPktmon, 16, "Spoofed MAC address is not allowed"},
	VSIDMismatch:         {"vsid-mismatch", LayerPktmon, 20, "Virtual Subnet ID does not match"},
	MTUMismatch:          {"mtu-mismatch", LayerPktmon, 23, "MTU mismatch"},
	InvalidDstMAC:        {"invalid-dst-mac", LayerPktmon, 26, "Invalid destination MAC"},
	InvalidSrcMAC:        {"invalid-src-mac", LayerPktmon, 27, "Invalid source MAC"},
	WNVFiltered:          {"wnv-filtered", LayerPktmon, 29, "Windows Network Virtualization error"},
	DestNICDisabled:      {"destination-nic-disabled", LayerPktmon, 33, "Destination NIC is disabled"},
	UnsupportedEtherType: {"unsupported-ethertype", LayerPktmon, 104, "Unsupported EtherType"},

	ARPGuard:            {"vfp-arp-guard", LayerVFP, 0, "ARP guard"},
	MACGuard:            {"vfp-mac-guard", LayerVFP, 9, "MAC guard"},
	BlockNonIP:          {"vfp-block-non-ip", LayerVFP, 5, "block non-IP"},
	NoDestBroadcast:     {"vfp-no-destination-broadcast", LayerVFP, 10, "found no destinations (broadcast)"},
	NoDestUnicast:       {"vfp-no-destination", LayerVFP, 11, "found no destination (unicast)"},
	VFPInvalid:          {"vfp-invalid-packet", LayerVFP, 32, "invalid packet"},
	VFPBlock:            {"vfp-rule-block", LayerVFP, -1, "blocked by VFP rule"},
	VFPDefaultBlock:     {"vfp-layer-default-block", LayerVFP, -1, "blocked by VFP layer default action"},
	NoICMPTransposition: {"vfp-no-icmp-transposition", LayerVFP, -1, "no ICMP transposition in VFP NAT"},
	LBNoBackend:         {"vfp-lb-no-backend", LayerVFP, -1, "load balancer has no backend"},
	LBPortsExhausted:    {"vfp-snat-ports-exhausted", LayerVFP, -1, "SNAT port pool exhausted"},

	NATNoMapping:      {"winnat-no-mapping", LayerWinNAT, -1, "no mapping"},
	NATFiltered:       {"winnat-filtered", LayerWinNAT, -1, "filtered by address-dependent filtering"},
	NATPortsExhausted: {"winnat-ports-exhausted", LayerWinNAT, -1, "no free external port"},
	NATHostHairpin:    {"winnat-no-host-loopback", LayerWinNAT, -1, "the NAT host cannot reach its own external IP:port (no loopback)"},
	NATIPv6:           {"winnat-ipv6-unsupported", LayerWinNAT, -1, "WinNAT does not translate IPv6"},
	NATSessionLimit:   {"winnat-session-limit", LayerWinNAT, -1, "session table full"},

	TTLExceeded:        {"ttl-exceeded", LayerTCPIP, -1, "INET: TTL expired in transit"},
	NoRoute:            {"no-route", LayerTCPIP, -1, "INET: no route to host"},
	NeighborUnresolved: {"neighbor-unresolved", LayerTCPIP, -1, "INET: neighbor unreachable"},
	NoListener:         {"no-listener", LayerTCPIP, -1, "INET: transport endpoint was not found"},
	ICMPNotTransposed:  {"icmp-not-transposed", LayerTCPIP, -1, "ICMP error for an unknown session"},

	HostToServiceIP: {"hns-host-to-service-ip", LayerHNS, -1, "a Windows node cannot reach a service by its service IP"},
	IPv6Unsupported: {"hns-ipv6-unsupported", LayerHNS, -1, "IPv6 is not supported on this network type"},

	NoSuchPort:            {"no-such-port", LayerEmulator, -1, "injection at a port the topology does not have"},
	LoopDetected:          {"loop-detected", LayerEmulator, -1, "forwarding loop: hop limit reached"},
	QueueOverflow:         {"queue-overflow", LayerEmulator, -1, "too many frames generated by one input"},
	UnderlayNoDestination: {"underlay-no-destination", LayerEmulator, -1, "no host or peer on the underlay has this destination"},
	NotForHost:            {"not-for-host", LayerTCPIP, -1, "INET: destination MAC is not this interface's"},
	FrameTooBig:           {"frame-too-big", LayerEmulator, -1, "frame larger than the emulator's buffers"},
}

// String returns the slug, e.g. "winnat-no-mapping", or "reason?" for an
// unknown value.
//
// TODO(#17): return "Reason(N)" for an unknown value once
// emulator/vfp/port.go asks r.Valid() instead of comparing String() with
// "reason?" (it is being edited elsewhere).
func (r Reason) String() string {
	if r < numReasons {
		return table[r].slug
	}
	return "reason?"
}

// Valid reports whether r is a known reason (None included).
func (r Reason) Valid() bool { return r < numReasons }

// Slug returns the stable identifier used in scenario files and results.
func (r Reason) Slug() string { return r.String() }

// Layer returns the component whose vocabulary the reason uses.
func (r Reason) Layer() Layer {
	if r < numReasons {
		return table[r].layer
	}
	return LayerNone
}

// Code returns the reason's number in its layer's table (pktmon DropReason,
// VfpExt drop reason), or -1 when Windows has no number for it.
func (r Reason) Code() int {
	if r < numReasons {
		return table[r].code
	}
	return -1
}

// Text returns Windows' wording of the reason.
func (r Reason) Text() string {
	if r < numReasons {
		return table[r].text
	}
	return ""
}

// All returns every reason except None, in order.
func All() []Reason {
	rs := make([]Reason, 0, numReasons-1)
	for r := Reason(1); r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// Parse returns the reason with slug s (or with Windows' text s).
func Parse(s string) (Reason, bool) {
	for r := Reason(1); r < numReasons; r++ {
		if table[r].slug == s || table[r].text == s {
			return r, true
		}
	}
	return None, false
}
