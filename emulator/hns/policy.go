package hns

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// EndpointPolicyType is the Type of an endpoint policy. Mirrors hcsshim
// v0.15.0 hcn/hcnpolicy.go:10.
type EndpointPolicyType string

// EndpointPolicyType values of hcsshim v0.15.0 (hcn/hcnpolicy.go:13-29).
const (
	PortMapping   EndpointPolicyType = "PortMapping"
	ACL           EndpointPolicyType = "ACL"
	QOS           EndpointPolicyType = "QOS"
	L2Driver      EndpointPolicyType = "L2Driver"
	OutBoundNAT   EndpointPolicyType = "OutBoundNAT"
	SDNRoute      EndpointPolicyType = "SDNRoute"
	L4Proxy       EndpointPolicyType = "L4Proxy"
	L4WFPPROXY    EndpointPolicyType = "L4WFPPROXY"
	PortName      EndpointPolicyType = "PortName"
	EncapOverhead EndpointPolicyType = "EncapOverhead"
	IOV           EndpointPolicyType = "Iov"
	// NetworkProviderAddress is the endpoint ProviderAddress policy (the name is hcsshim's).
	NetworkProviderAddress EndpointPolicyType = "ProviderAddress"
	// NetworkInterfaceConstraint is the endpoint InterfaceConstraint policy (the name is hcsshim's).
	NetworkInterfaceConstraint EndpointPolicyType = "InterfaceConstraint"
	TierAcl                    EndpointPolicyType = "TierAcl"
)

// Endpoint policy types of the official schema that hcsshim lacks
// (HNS_Schema.md "EndpointPolicyType": Encryption 2.1, VLAN and
// InterfaceParameters 2.4).
const (
	Encryption          EndpointPolicyType = "Encryption"
	EndpointVLAN        EndpointPolicyType = "VLAN"
	InterfaceParameters EndpointPolicyType = "InterfaceParameters"
)

// EndpointPolicy is one policy of an endpoint: a Type and raw Settings whose
// shape depends on the Type (see DecodeSettings). Mirrors hcsshim v0.15.0
// hcn/hcnpolicy.go:32-35.
type EndpointPolicy struct {
	Type     EndpointPolicyType `json:""`
	Settings json.RawMessage    `json:",omitempty"`
}

// NetworkPolicyType is the Type of a network policy. Mirrors hcsshim v0.15.0
// hcn/hcnpolicy.go:38.
type NetworkPolicyType string

// NetworkPolicyType values of hcsshim v0.15.0 (hcn/hcnpolicy.go:41-56).
const (
	SourceMacAddress    NetworkPolicyType = "SourceMacAddress"
	NetAdapterName      NetworkPolicyType = "NetAdapterName"
	VSwitchExtension    NetworkPolicyType = "VSwitchExtension"
	DrMacAddress        NetworkPolicyType = "DrMacAddress"
	AutomaticDNS        NetworkPolicyType = "AutomaticDNS"
	InterfaceConstraint NetworkPolicyType = "InterfaceConstraint"
	ProviderAddress     NetworkPolicyType = "ProviderAddress"
	RemoteSubnetRoute   NetworkPolicyType = "RemoteSubnetRoute"
	VxlanPort           NetworkPolicyType = "VxlanPort"
	HostRoute           NetworkPolicyType = "HostRoute"
	SetPolicy           NetworkPolicyType = "SetPolicy"
	NetworkL4Proxy      NetworkPolicyType = "L4Proxy"
	LayerConstraint     NetworkPolicyType = "LayerConstraint"
	NetworkACL          NetworkPolicyType = "NetworkACL"
)

// NeighborDiscovery is a network policy Microsoft's own HCN PowerShell client
// sends (microsoft/SDN Kubernetes/windows/hns.v2.psm1:1429-1449); it is in
// neither hcsshim nor the official schema.
const NeighborDiscovery NetworkPolicyType = "NeighborDiscovery"

// NetworkPolicy is one policy of a network. Mirrors hcsshim v0.15.0
// hcn/hcnpolicy.go:59-62.
type NetworkPolicy struct {
	Type     NetworkPolicyType `json:""`
	Settings json.RawMessage   `json:",omitempty"`
}

// SubnetPolicyType is the Type of a subnet policy. Mirrors hcsshim v0.15.0
// hcn/hcnpolicy.go:65.
type SubnetPolicyType string

// SubnetPolicyType values (hcsshim v0.15.0 hcn/hcnpolicy.go:68-71).
const (
	VLAN SubnetPolicyType = "VLAN"
	VSID SubnetPolicyType = "VSID"
)

// SubnetPolicy is one policy of a subnet. hcsshim keeps a subnet's policies
// as raw JSON (Subnet.Policies); Subnet.SubnetPolicies decodes them into this
// envelope. Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:74-77.
type SubnetPolicy struct {
	Type     SubnetPolicyType `json:""`
	Settings json.RawMessage  `json:",omitempty"`
}

var (
	endpointPolicyTypes = []EndpointPolicyType{
		PortMapping, ACL, QOS, L2Driver, OutBoundNAT, SDNRoute, L4Proxy, L4WFPPROXY, PortName,
		EncapOverhead, IOV, NetworkProviderAddress, NetworkInterfaceConstraint, TierAcl,
		Encryption, EndpointVLAN, InterfaceParameters,
	}
	networkPolicyTypes = []NetworkPolicyType{
		SourceMacAddress, NetAdapterName, VSwitchExtension, DrMacAddress, AutomaticDNS,
		InterfaceConstraint, ProviderAddress, RemoteSubnetRoute, VxlanPort, HostRoute, SetPolicy,
		NetworkL4Proxy, LayerConstraint, NetworkACL, NeighborDiscovery,
	}
	subnetPolicyTypes = []SubnetPolicyType{VLAN, VSID}
)

// canonicalName returns the element of known equal to s ignoring case, or s.
func canonicalName[T ~string](s T, known []T) T {
	for _, k := range known {
		if strings.EqualFold(string(k), string(s)) {
			return k
		}
	}
	return s
}

// unmarshalName decodes a JSON string into *t, canonicalising known names.
func unmarshalName[T ~string](b []byte, t *T, known []T) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: "non-string", Type: reflect.TypeFor[T]()}
	}
	*t = canonicalName(T(s), known)
	return nil
}

// UnmarshalJSON decodes the type, canonicalising the case of known names.
func (t *EndpointPolicyType) UnmarshalJSON(b []byte) error {
	return unmarshalName(b, t, endpointPolicyTypes)
}

// UnmarshalJSON decodes the type, canonicalising the case of known names.
func (t *NetworkPolicyType) UnmarshalJSON(b []byte) error {
	return unmarshalName(b, t, networkPolicyTypes)
}

// UnmarshalJSON decodes the type, canonicalising the case of known names.
func (t *SubnetPolicyType) UnmarshalJSON(b []byte) error {
	return unmarshalName(b, t, subnetPolicyTypes)
}

// Known reports whether t is an endpoint policy type of hcsshim or the official schema.
func (t EndpointPolicyType) Known() bool { return canonicalIn(t, endpointPolicyTypes) }

// Known reports whether t is a network policy type we know.
func (t NetworkPolicyType) Known() bool { return canonicalIn(t, networkPolicyTypes) }

// Known reports whether t is a subnet policy type we know.
func (t SubnetPolicyType) Known() bool { return canonicalIn(t, subnetPolicyTypes) }

func canonicalIn[T comparable](t T, known []T) bool {
	for _, k := range known {
		if k == t {
			return true
		}
	}
	return false
}

/// Endpoint policy settings.

// PortMappingPolicySetting maps a host port to an endpoint port (NAT).
// Protocol is an IP protocol number (TCP = 6, UDP = 17); on input the
// official ProtocolType names ("TCP") are accepted too. Microsoft's
// hns.v2.psm1 sends no Protocol (0); how HNS treats 0 is not documented,
// and hnspath treats it as TCP [I].
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:91-97.
type PortMappingPolicySetting struct {
	Protocol     uint32   `json:",omitempty"`
	InternalPort uint16   `json:",omitempty"`
	ExternalPort uint16   `json:",omitempty"`
	VIP          string   `json:",omitempty"`
	Flags        NatFlags `json:",omitempty"`
}

// UnmarshalJSON decodes the setting, accepting protocol names, and ports
// given as numeric strings: Microsoft's hns.v2.psm1 New-HnsEndpoint takes
// -InboundNatPolicy @{"InternalPort" = "80"; "ExternalPort" = "8080"} and
// sends the strings as they are.
func (s *PortMappingPolicySetting) UnmarshalJSON(b []byte) error {
	type plain PortMappingPolicySetting
	var p struct {
		plain
		Protocol     ProtocolType
		InternalPort flexPort
		ExternalPort flexPort
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return fixPlainError(err, "PortMappingPolicySetting")
	}
	*s = PortMappingPolicySetting(p.plain)
	s.Protocol = uint32(p.Protocol)
	s.InternalPort, s.ExternalPort = uint16(p.InternalPort), uint16(p.ExternalPort)
	return nil
}

// flexPort is a port given as a JSON number or a numeric string.
type flexPort uint16

func (f *flexPort) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return &json.UnmarshalTypeError{Value: "string", Type: reflect.TypeFor[uint16]()}
		}
		b = []byte(strings.TrimSpace(s))
	}
	n, err := strconv.ParseUint(string(b), 10, 16)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "number " + string(b), Type: reflect.TypeFor[uint16]()}
	}
	*f = flexPort(n)
	return nil
}

// ActionType is the action of an ACL. Mirrors hcsshim v0.15.0
// hcn/hcnpolicy.go:100.
type ActionType string

// DirectionType is the direction of an ACL. Mirrors hcsshim v0.15.0
// hcn/hcnpolicy.go:103.
type DirectionType string

// RuleType says where an ACL is enforced: Host (WFP) or Switch (VFP).
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:106.
type RuleType string

// ACL constants (hcsshim v0.15.0 hcn/hcnpolicy.go:108-125).
const (
	// ActionTypeAllow allows traffic.
	ActionTypeAllow ActionType = "Allow"
	// ActionTypeBlock blocks traffic.
	ActionTypeBlock ActionType = "Block"
	// ActionTypePass passes traffic on to the next tier (TierAcl).
	ActionTypePass ActionType = "Pass"

	// DirectionTypeIn is traffic coming to the endpoint.
	DirectionTypeIn DirectionType = "In"
	// DirectionTypeOut is traffic leaving the endpoint.
	DirectionTypeOut DirectionType = "Out"

	// RuleTypeHost creates WFP (Windows Firewall) rules.
	RuleTypeHost RuleType = "Host"
	// RuleTypeSwitch creates VFP (Virtual Filtering Platform) rules.
	RuleTypeSwitch RuleType = "Switch"
)

// AclPolicySetting is a firewall rule on an endpoint. Protocols is a comma
// list of protocol numbers ("6", "17"; "256" means any, per Calico and
// Azure NPM); addresses and ports are comma lists and ranges.
// Id is an official-schema field hcsshim lacks (HNS_Schema.md
// "AclPolicySetting"; Azure NPM sends it, and VFP shows it as the rule's
// friendly name): an hnspath extra, emitted only when set.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:128-138.
type AclPolicySetting struct {
	Protocols       string        `json:",omitempty"` // EX: 6 (TCP), 17 (UDP), 1 (ICMPv4), 58 (ICMPv6), 2 (IGMP)
	Action          ActionType    `json:""`
	Direction       DirectionType `json:""`
	LocalAddresses  string        `json:",omitempty"`
	RemoteAddresses string        `json:",omitempty"`
	LocalPorts      string        `json:",omitempty"`
	RemotePorts     string        `json:",omitempty"`
	RuleType        RuleType      `json:",omitempty"`
	Priority        uint16        `json:",omitempty"`
	Id              string        `json:",omitempty"` // official schema, not hcsshim
}

// QosPolicySetting caps an endpoint's outgoing bandwidth.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:141-143.
type QosPolicySetting struct {
	MaximumOutgoingBandwidthInBytes uint64
}

// OutboundNatPolicySetting SNATs an endpoint's outgoing traffic to VirtualIP
// (the host IP when empty), except to Exceptions; Destinations limits it.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:146-152.
type OutboundNatPolicySetting struct {
	VirtualIP        string   `json:",omitempty"`
	Exceptions       []string `json:",omitempty"`
	Destinations     []string `json:",omitempty"`
	Flags            NatFlags `json:",omitempty"`
	MaxPortPoolUsage uint16   `json:",omitempty"`
}

// SDNRoutePolicySetting is an SDN route on an endpoint.
// AutomaticEndpointMonitor is an official-schema field hcsshim lacks
// (HNS_Schema.md "SDNRoutePolicySetting"; hns.v2.psm1 New-HnsRoute sends it).
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:155-159.
type SDNRoutePolicySetting struct {
	DestinationPrefix        string `json:",omitempty"`
	NextHop                  string `json:",omitempty"`
	NeedEncap                bool   `json:",omitempty"`
	AutomaticEndpointMonitor bool   `json:",omitempty"` // official schema, not hcsshim
}

// NetworkACLPolicySetting is an ACL applied to a whole network. Id is an
// official-schema field (HNS_Schema.md "NetworkAclPolicySetting").
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:162-172.
type NetworkACLPolicySetting struct {
	Protocols       string        `json:",omitempty"` // EX: 6 (TCP), 17 (UDP), 1 (ICMPv4), 58 (ICMPv6), 2 (IGMP)
	Action          ActionType    `json:""`
	Direction       DirectionType `json:""`
	LocalAddresses  string        `json:",omitempty"`
	RemoteAddresses string        `json:",omitempty"`
	LocalPorts      string        `json:",omitempty"`
	RemotePorts     string        `json:",omitempty"`
	RuleType        RuleType      `json:",omitempty"`
	Priority        uint16        `json:",omitempty"`
	Id              string        `json:",omitempty"` // official schema, not hcsshim
}

// FiveTuple is the traffic filter of an L4WFPPROXY policy.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:175-182.
type FiveTuple struct {
	Protocols       string `json:",omitempty"`
	LocalAddresses  string `json:",omitempty"`
	RemoteAddresses string `json:",omitempty"`
	LocalPorts      string `json:",omitempty"`
	RemotePorts     string `json:",omitempty"`
	Priority        uint16 `json:",omitempty"`
}

// ProxyExceptions exempts addresses and ports from an L4WFPPROXY redirect.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:185-188.
type ProxyExceptions struct {
	IpAddressExceptions []string `json:",omitempty"`
	PortExceptions      []string `json:",omitempty"`
}

// L4WfpProxyPolicySetting redirects an endpoint's traffic to a proxy with WFP.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:191-198.
type L4WfpProxyPolicySetting struct {
	InboundProxyPort   string          `json:",omitempty"`
	OutboundProxyPort  string          `json:",omitempty"`
	FilterTuple        FiveTuple       `json:",omitempty"`
	UserSID            string          `json:",omitempty"`
	InboundExceptions  ProxyExceptions `json:",omitempty"`
	OutboundExceptions ProxyExceptions `json:",omitempty"`
}

// PortnameEndpointPolicySetting names an endpoint's switch port.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:201-203.
type PortnameEndpointPolicySetting struct {
	Name string `json:",omitempty"`
}

// EncapOverheadEndpointPolicySetting sets the encapsulation overhead (bytes)
// of an endpoint (50 for VXLAN over IPv4). Mirrors hcsshim v0.15.0
// hcn/hcnpolicy.go:206-208.
type EncapOverheadEndpointPolicySetting struct {
	Overhead uint16 `json:",omitempty"`
}

// IovPolicySetting sets SR-IOV offload of an endpoint.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:211-215.
type IovPolicySetting struct {
	IovOffloadWeight    uint32 `json:",omitempty"`
	QueuePairsRequested uint32 `json:",omitempty"`
	InterruptModeration uint32 `json:",omitempty"`
}

// ProviderAddressEndpointPolicySetting sets the provider address (PA) of a
// (remote) endpoint on an overlay network. Mirrors hcsshim v0.15.0
// hcn/hcnpolicy.go:220-222.
type ProviderAddressEndpointPolicySetting struct {
	ProviderAddress string `json:",omitempty"`
}

// InterfaceConstraintPolicySetting limits an endpoint or network to a NIC.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:225-232.
type InterfaceConstraintPolicySetting struct {
	InterfaceGuid        string `json:",omitempty"`
	InterfaceLuid        uint64 `json:",omitempty"`
	InterfaceIndex       uint32 `json:",omitempty"`
	InterfaceMediaType   uint32 `json:",omitempty"`
	InterfaceAlias       string `json:",omitempty"`
	InterfaceDescription string `json:",omitempty"`
}

// InterfaceParametersPolicySetting sets the endpoint interface MTU. It is in
// the official schema (HNS_Schema.md "InterfaceParametersPolicySetting", new
// in 2.4) but not in hcsshim.
type InterfaceParametersPolicySetting struct {
	Mtu uint16 `json:",omitempty"`
}

/// Network policy settings.

// SourceMacAddressNetworkPolicySetting sets a network's source MAC.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:237-239.
type SourceMacAddressNetworkPolicySetting struct {
	SourceMacAddress string `json:",omitempty"`
}

// NetAdapterNameNetworkPolicySetting binds a network to a host adapter.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:242-244.
type NetAdapterNameNetworkPolicySetting struct {
	NetworkAdapterName string `json:",omitempty"`
}

// ProviderAddressNetworkPolicySetting binds a network to the adapter with
// this IP (HNS adds one to overlay networks; flannel reads the management IP
// from it). Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:247-249.
type ProviderAddressNetworkPolicySetting struct {
	ProviderAddress string `json:",omitempty"`
}

// VSwitchExtensionNetworkPolicySetting enables or disables a vSwitch
// extension. Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:252-255.
type VSwitchExtensionNetworkPolicySetting struct {
	ExtensionID string `json:",omitempty"`
	Enable      bool   `json:",omitempty"`
}

// DrMacAddressNetworkPolicySetting sets the distributed router MAC of an
// overlay network. Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:258-260.
type DrMacAddressNetworkPolicySetting struct {
	Address string `json:",omitempty"`
}

// AutomaticDNSNetworkPolicySetting enables or disables automatic DNS.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:263-265.
type AutomaticDNSNetworkPolicySetting struct {
	Enable bool `json:",omitempty"`
}

// LayerConstraintNetworkPolicySetting constrains a network to a layer.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:267-269.
type LayerConstraintNetworkPolicySetting struct {
	LayerId string `json:",omitempty"`
}

// HostRoutePolicySetting is the (empty) settings of a HostRoute network
// policy; HNS wants "{}" (hcsshim v0.15.0 hcn/hcnutils_test.go:361-372;
// HNS_Schema.md "HostRoutePolicySetting").
type HostRoutePolicySetting struct{}

// NeighborDiscoveryPolicySetting is the settings of Microsoft's
// NeighborDiscovery network policy (microsoft/SDN hns.v2.psm1:1429-1449).
type NeighborDiscoveryPolicySetting struct {
	TargetIpPrefix   string `json:",omitempty"`
	SenderIpAddress  string `json:",omitempty"`
	SenderMacAddress string `json:",omitempty"`
}

/// Subnet policy settings.

// VlanPolicySetting isolates a subnet (or, in the official schema, an
// endpoint) with a VLAN tag. Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:274-276.
type VlanPolicySetting struct {
	IsolationId uint32 `json:""`
}

// VsidPolicySetting isolates a subnet with a virtual subnet ID (the VXLAN
// VNI on overlay networks). Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:279-281.
type VsidPolicySetting struct {
	IsolationId uint32 `json:""`
}

// RemoteSubnetRoutePolicySetting routes a remote subnet through an overlay:
// packets to DestinationPrefix are VXLAN-encapsulated to ProviderAddress with
// VNI IsolationId and inner destination MAC DistributedRouterMacAddress.
// hcsshim types IsolationId as uint16, the official schema as uint32.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:284-289.
type RemoteSubnetRoutePolicySetting struct {
	DestinationPrefix           string
	IsolationId                 uint16
	ProviderAddress             string
	DistributedRouterMacAddress string
}

// SetPolicyType is the kind of an IP set. Mirrors hcsshim v0.15.0
// hcn/hcnpolicy.go:292.
type SetPolicyType string

// SetPolicyType values (hcsshim v0.15.0 hcn/hcnpolicy.go:294-297).
const (
	SetPolicyTypeIpSet       SetPolicyType = "IPSET"
	SetPolicyTypeNestedIpSet SetPolicyType = "NESTEDIPSET"
)

// SetPolicySetting defines an IP set on a network. The Go field Type is
// written as "PolicyType" in JSON. Mirrors hcsshim v0.15.0
// hcn/hcnpolicy.go:300-305.
type SetPolicySetting struct {
	Id     string
	Name   string
	Type   SetPolicyType `json:"PolicyType"`
	Values string
}

// VxlanPortPolicySetting sets the UDP port of an overlay network's VXLAN
// (4789 by default). Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:308-310.
type VxlanPortPolicySetting struct {
	Port uint16
}

// L4ProxyPolicySetting redirects traffic to a proxy with VFP (network policy
// and, in older HNS, endpoint policy). The official schema names two fields
// ExceptionList and OutboundNat (HNS_Schema.md "L4ProxyPolicySetting"); both
// spellings are accepted on input, hcsshim's are written.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:325-332.
type L4ProxyPolicySetting struct {
	IP          string       `json:",omitempty"`
	Port        string       `json:",omitempty"`
	Protocol    ProtocolType `json:",omitempty"`
	Exceptions  []string     `json:",omitempty"`
	Destination string
	OutboundNAT bool `json:",omitempty"`
}

// UnmarshalJSON decodes the setting, accepting the official ExceptionList
// name for Exceptions (OutboundNat already matches OutboundNAT, as
// encoding/json matches names case-insensitively).
func (s *L4ProxyPolicySetting) UnmarshalJSON(b []byte) error {
	type plain L4ProxyPolicySetting
	var p struct {
		plain
		ExceptionList []string
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return fixPlainError(err, "L4ProxyPolicySetting")
	}
	*s = L4ProxyPolicySetting(p.plain)
	if s.Exceptions == nil {
		s.Exceptions = p.ExceptionList
	}
	return nil
}

// TierAclRule is one rule of a TierAcl tier.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:335-344.
type TierAclRule struct {
	Id                string     `json:",omitempty"`
	Protocols         string     `json:",omitempty"`
	TierAclRuleAction ActionType `json:""`
	LocalAddresses    string     `json:",omitempty"`
	RemoteAddresses   string     `json:",omitempty"`
	LocalPorts        string     `json:",omitempty"`
	RemotePorts       string     `json:",omitempty"`
	Priority          uint16     `json:",omitempty"`
}

// TierAclPolicySetting is one tier of ACLs on an endpoint.
// Mirrors hcsshim v0.15.0 hcn/hcnpolicy.go:347-352.
type TierAclPolicySetting struct {
	Name         string        `json:""`
	Direction    DirectionType `json:""`
	Order        uint16        `json:""`
	TierAclRules []TierAclRule `json:",omitempty"`
}
