package vfp

import (
	"errors"
	"net/netip"
	"strconv"
	"time"

	"github.com/hnspath/hnspath/emulator/drop"
	"github.com/hnspath/hnspath/emulator/header"
)

// Direction is the way a packet crosses a port.
type Direction uint8

// Directions, named as vfpctrl prints them ("Direction : IN").
const (
	In  Direction = iota // from the switch to the vNIC ("IN")
	Out                  // from the vNIC to the switch ("OUT")
)

// String returns "IN" or "OUT".
func (d Direction) String() string {
	if d == Out {
		return "OUT"
	}
	return "IN"
}

// Reverse returns the opposite direction.
func (d Direction) Reverse() Direction { return d ^ 1 }

// PortRange is an inclusive range of L4 ports.
type PortRange struct{ Lo, Hi uint16 }

// Contains reports whether p is in the range.
func (r PortRange) Contains(p uint16) bool { return r.Lo <= p && p <= r.Hi }

// String formats the range as "443" or "1000-2000".
func (r PortRange) String() string {
	if r.Lo == r.Hi {
		return strconv.Itoa(int(r.Lo))
	}
	return strconv.Itoa(int(r.Lo)) + "-" + strconv.Itoa(int(r.Hi))
}

// SinglePort returns the range holding only port p.
func SinglePort(p uint16) PortRange { return PortRange{p, p} }

// Conditions select packets. An empty field matches any packet; the fields
// are ANDed and the values of one field ORed (VFP paper, reference
// windows-behaviour.md §1.2). Port conditions match only TCP and UDP
// packets; VNI conditions match only VXLAN packets (UDP to one of the
// port's VXLAN ports). IP prefixes must have the family of their group.
type Conditions struct {
	SrcMAC, DstMAC []header.MAC
	SrcIP, DstIP   []netip.Prefix
	SrcPort        []PortRange
	DstPort        []PortRange
	Protocols      []uint8
	VNI            []uint32
}

// IsEmpty reports whether c matches every packet.
func (c *Conditions) IsEmpty() bool {
	return len(c.SrcMAC) == 0 && len(c.DstMAC) == 0 && len(c.SrcIP) == 0 && len(c.DstIP) == 0 &&
		len(c.SrcPort) == 0 && len(c.DstPort) == 0 && len(c.Protocols) == 0 && len(c.VNI) == 0
}

// ActionType is what a rule does to the packets it matches. The vfpctrl
// names ("Type : dynnat") are those real hosts print where one was seen
// (allow, block, dynnat, lbnat [OBS kubernetes/kubernetes#79359,
// mrolmedo/rke2windows]); the VfpExt rule-type enum (reference
// windows-behaviour.md §1.4) has Nat, Decap, MapEncap for the others.
type ActionType uint8

// Action types.
const (
	ActionAllow      ActionType = iota // let the packet pass unchanged
	ActionBlock                        // drop the packet
	ActionNAT                          // static NAT: rewrite addresses and ports to fixed values
	ActionDynNAT                       // dynamic source NAT from a port pool
	ActionLBNAT                        // load balancing: VIP:port to one of N DIPs
	ActionEncap                        // push VXLAN outer headers
	ActionDecap                        // pop VXLAN outer headers
	ActionMACRewrite                   // set source and/or destination MAC
	ActionMeter                        // count only; the packet passes as with allow
	ActionOther                        // a type read from vfpctrl output that is not modelled; passes as with allow
)

var actionNames = [...]string{"allow", "block", "nat", "dynnat", "lbnat", "encap", "decap", "macrewrite", "meter", "other"}

// String returns the vfpctrl name of the type.
func (t ActionType) String() string {
	if int(t) < len(actionNames) {
		return actionNames[t]
	}
	return "action?"
}

// Distribution is how an LBNAT rule spreads connections over its DIPs; the
// values are HNS's LoadBalancerDistribution (reference windows-behaviour.md
// §3.1): 0 per connection, 1 same protocol from one client IP to one DIP,
// 2 everything from one client IP to one DIP.
type Distribution uint8

// Distributions.
const (
	DistributePerConnection    Distribution = iota // hash of the 5-tuple
	DistributeSourceIPProtocol                     // hash of source IP and protocol
	DistributeSourceIP                             // hash of source IP
)

var distNames = [...]string{"per-connection", "source-ip-protocol", "source-ip"}

// String returns the distribution's name as FormatListRule prints it.
func (d Distribution) String() string {
	if int(d) < len(distNames) {
		return distNames[d]
	}
	return "distribution?"
}

// NATParams are the fields a static NAT rule writes. Invalid addresses and
// zero ports leave the field unchanged.
type NATParams struct {
	SrcIP, DstIP     netip.Addr
	SrcPort, DstPort uint16
}

// NATPool is a dynamic NAT pool: one IP and a range of ports. Rules naming
// the same pool on a port share its mappings (vfpctrl prints
// "NAT pool : <name>").
type NATPool struct {
	Name   string
	IP     netip.Addr
	Lo, Hi uint16
}

// Backend is one DIP of a load-balancing rule.
type Backend struct {
	Addr netip.Addr
	Port uint16     // 0: keep the destination port
	MAC  header.MAC // zero: keep the destination MAC (later layers decide)
}

// LBParams configure an LBNAT rule.
type LBParams struct {
	Backends     []Backend
	Distribution Distribution
	// PreserveDIP delivers with the destination IP left as the VIP; only
	// the port (and MAC) of the chosen backend are written (HNS port
	// mapping flag PreserveDIP=8, "deliver with destination IP = VIP").
	PreserveDIP bool
	// SNAT, when set, also rewrites the client's source to Action.Pool
	// (the SourceVIP and its port range).
	SNAT bool
}

// EncapParams configure a VXLAN encapsulation (RFC 7348 section 5).
type EncapParams struct {
	VNI            uint32
	SrcMAC, DstMAC header.MAC // outer Ethernet
	SrcPA, DstPA   netip.Addr // outer IPv4 source (local PA) and destination (remote PA)
	TTL            uint8      // outer TTL; 0 means 64
	DF             bool       // set Don't Fragment on the outer header
	UDPPort        uint16     // outer UDP destination port; 0 means 4789
	// InnerSrcMAC and InnerDstMAC, when non-zero, are written into the
	// inner frame before it is encapsulated (overlay: the remote DR MAC).
	InnerSrcMAC, InnerDstMAC header.MAC
	// MTU, when non-zero, is the largest outer IP datagram allowed; bigger
	// ones are dropped with drop.MTUMismatch.
	MTU int
	// ClampMSS lowers the MSS option of inner TCP SYNs so that
	// MSS + 40 (IPv4+TCP, 60 for IPv6) + 50 (VXLAN overhead) <= MTU.
	ClampMSS bool
}

// DecapParams configure a VXLAN decapsulation.
type DecapParams struct {
	VNI     []uint32 // accepted VNIs; empty accepts any
	UDPPort uint16   // required outer UDP destination port; 0: any of the port's VXLAN ports
}

// MACParams are the addresses a MAC rewrite writes; zero leaves a field alone.
type MACParams struct{ SrcMAC, DstMAC header.MAC }

// Action is what a rule does; only the parameters of its Type are used.
type Action struct {
	Type ActionType
	// TypeName is the vfpctrl type when it differs from Type's own name
	// (a type read from real output such as "paroute" or "routeencap").
	TypeName string

	Reason drop.Reason // Block: why; zero means drop.VFPBlock
	NAT    NATParams   // NAT
	Pool   NATPool     // DynNAT, and LBNAT with LB.SNAT
	LB     LBParams    // LBNAT
	Encap  EncapParams // Encap
	Decap  DecapParams // Decap
	MAC    MACParams   // MACRewrite
	// MSSDelta lowers the MSS option of TCP SYNs by [0] in the rule's
	// direction and [1] in the reverse flow's ("MSS delta: 50,0" on real
	// dynnat rules, reference windows-behaviour.md §3.5 [I]).
	MSSDelta [2]uint16
}

// Rule flag bits as vfpctrl prints them ("Flags : 3 terminating stateful";
// reference windows-behaviour.md §1.4: bit 0 terminating, bit 1 stateful).
const (
	RuleFlagTerminating = 1 << 0
	RuleFlagStateful    = 1 << 1
)

// Rule is a condition list and an action, with a priority within its group.
type Rule struct {
	Name, FriendlyName string
	// Priority orders rules in a group: the smaller number is matched
	// first (see doc.go for the evidence).
	Priority uint32
	// Terminating stops the layer's evaluation at this rule's group.
	Terminating bool
	// Stateful creates a flow pair in a stateful layer.
	Stateful bool
	// ExtraFlags holds flag bits other than terminating and stateful, as
	// read from vfpctrl (real ACL rules show 8195 = 0x2003).
	ExtraFlags uint32
	// FlagsEx is the "FlagsEx" value vfpctrl prints (always 0 in samples).
	FlagsEx    uint32
	Conditions Conditions
	// FlowTTL is the idle timeout of the flows the rule creates; 0 means
	// the port's default (240 s, the value real stateful rules show).
	FlowTTL time.Duration
	Action  Action
	// Details are the lines of vfpctrl output under the rule that the
	// parser does not model (e.g. a paroute rule's "Rule Data").
	Details []string
	// ModelOnly, when not empty, says why the rule is the model's own: a
	// rule that stands for behaviour a real host has without listing a
	// rule for it. vfpctrl output leaves such rules out unless asked to
	// explain, and the rule check does not expect them on a host.
	ModelOnly string

	group   *Group
	gen     uint64 // port generation when attached
	seq     uint64 // insertion order, breaks priority ties
	matched uint64
	dropped uint64
	pool    *natPool
}

// Flags returns the numeric flags vfpctrl prints.
func (r *Rule) Flags() uint32 {
	f := r.ExtraFlags &^ (RuleFlagTerminating | RuleFlagStateful)
	if r.Terminating {
		f |= RuleFlagTerminating
	}
	if r.Stateful {
		f |= RuleFlagStateful
	}
	return f
}

// label is the name used in traces and drops: the name, or the friendly
// name when the rule has none (real SNAT rules print "RULE : " empty).
func (r *Rule) label() string {
	if r.Name != "" {
		return r.Name
	}
	return r.FriendlyName
}

// RuleCounters are a rule's packet counters, as /get-rule-counter shows.
type RuleCounters struct {
	Matched uint64 // packets whose layer decision this rule made
	Dropped uint64 // packets this rule dropped
}

// Counters returns the rule's counters.
func (r *Rule) Counters() RuleCounters { return RuleCounters{Matched: r.matched, Dropped: r.dropped} }

// Group is an ordered set of rules for one direction and address family.
type Group struct {
	Name, FriendlyName string
	Priority           uint32 // smaller first
	Direction          Direction
	IPv6               bool
	// LPM selects the rule with the longest matching destination prefix;
	// otherwise the rule with the smallest priority wins.
	LPM        bool
	Conditions Conditions
	// Rules may be filled before the layer is added to a port; afterwards
	// use AddRule, RemoveRule and ReplaceRule.
	Rules []*Rule

	layer *Layer
	seq   uint64
	idx   *index
	dirty bool
}

// LayerFlags are layer flag bits besides "Default Allow" (0x1), which is
// Layer.DefaultAllow. Real layers show "0x9 Default Allow, Update flows on
// address change" [OBS kubernetes/kubernetes#79359].
type LayerFlags uint32

// Layer flag bits.
const (
	LayerFlagDefaultAllow               LayerFlags = 0x1
	LayerFlagUpdateFlowsOnAddressChange LayerFlags = 0x8
)

// Layer is one policy layer of a port.
type Layer struct {
	Name, FriendlyName string
	// Priority orders layers: outbound packets walk them from the smallest
	// priority up, inbound packets from the largest down.
	Priority uint32
	// Stateful layers keep flows: a stateful rule creates a flow pair so
	// that replies match without rules and get the inverse rewrite.
	Stateful bool
	// DefaultAllow is what happens when no rule matches; otherwise the
	// packet is dropped with drop.VFPDefaultBlock.
	DefaultAllow bool
	// Flags holds flag bits other than DefaultAllow.
	Flags LayerFlags
	// Groups may be filled before the layer is added to a port; afterwards
	// use AddGroup and RemoveGroup.
	Groups []*Group

	port  *Port
	seq   uint64
	flows *layerFlows
	byDir [2][2][]*Group // [Direction][ipv6] groups by priority
}

// AllFlags returns the numeric flags vfpctrl prints.
func (l *Layer) AllFlags() LayerFlags {
	f := l.Flags &^ LayerFlagDefaultAllow
	if l.DefaultAllow {
		f |= LayerFlagDefaultAllow
	}
	return f
}

// Errors returned by the mutation methods, wrapped with what was being done.
var (
	ErrExists   = errors.New("name already in use")
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid policy")
	ErrAttached = errors.New("already attached to a port")
)
