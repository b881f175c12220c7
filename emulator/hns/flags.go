package hns

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// This file holds the numeric flag and enum types of the HCN schema and their
// lenient JSON decoding. hcsshim sends them as JSON numbers, and so do we when
// encoding. The official schema says "all variants listed should be used as
// string" (HNS_Schema.md, "Enums"), and PowerShell's ConvertTo-Json
// -EnumsAsStrings writes a [Flags] enum as "A, B". So on input each flag type
// accepts a number, a name, a "A, B" or "A|B" list of names, or a JSON array
// of names and numbers; names match case-insensitively. Names whose numeric
// value is not published anywhere we could read (e.g. NetworkFlags
// "IsolateVSwitch") are rejected with an error that says so.

// flagName is one named value of a flag or enum type.
type flagName struct {
	name  string
	value uint32
}

// decodeFlagJSON decodes b (a number, a string of names, or an array) into a
// uint32 for the flag or enum type typ. bitwise says whether several names
// may be ORed together. A JSON null leaves *dst unchanged, as encoding/json
// does for numbers.
func decodeFlagJSON(b []byte, dst *uint32, typ reflect.Type, names []flagName, bitwise bool) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	fail := func(what string) error {
		return &json.UnmarshalTypeError{Value: what, Type: typ}
	}
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fail("string")
		}
		v, err := parseFlagNames(s, names, bitwise, typ, fail)
		if err != nil {
			return err
		}
		*dst = v
		return nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return fail("array")
		}
		if !bitwise && len(items) != 1 {
			return fail("array of " + strconv.Itoa(len(items)) + " values (not a flag type)")
		}
		var v uint32
		for _, it := range items {
			var one uint32
			if err := decodeFlagJSON(it, &one, typ, names, bitwise); err != nil {
				return err
			}
			v |= one
		}
		*dst = v
		return nil
	default:
		n, err := strconv.ParseUint(string(b), 10, 32)
		if err != nil {
			return fail("number " + string(b))
		}
		*dst = uint32(n)
		return nil
	}
}

// parseFlagNames parses "A, B", "A|B", "A" or a decimal number.
func parseFlagNames(s string, names []flagName, bitwise bool, typ reflect.Type, fail func(string) error) (uint32, error) {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '|' })
	if len(parts) == 0 {
		return 0, fail(strconv.Quote(s) + " (no flag names)")
	}
	if !bitwise && len(parts) > 1 {
		return 0, fail(strconv.Quote(s) + " (several names for a non-flag enum)")
	}
	var v uint32
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if n, err := strconv.ParseUint(p, 10, 32); err == nil {
			v |= uint32(n)
			continue
		}
		found := false
		for _, fn := range names {
			if strings.EqualFold(fn.name, p) {
				v |= fn.value
				found = true
				break
			}
		}
		if !found {
			if why, ok := unpublishedFlagNames[strings.ToLower(typ.Name()+"."+p)]; ok {
				return 0, fail("name " + strconv.Quote(p) + " (" + why + ")")
			}
			return 0, fail("unknown name " + strconv.Quote(p))
		}
	}
	return v, nil
}

// unpublishedFlagNames lists official flag names whose numeric values we have
// not found in any public source (hcn-schema.md §6 "Gaps").
var unpublishedFlagNames = map[string]string{
	"networkflags.enablepersistent":   "official name, numeric value not published",
	"networkflags.isolatevswitch":     "official name, numeric value not published",
	"networkflags.enableflowsteering": "official name, numeric value not published",
	"networkflags.disablesharing":     "official name, numeric value not published",
	"networkflags.enablefirewall":     "official name, numeric value not published",
}

// flagString formats v as "A|B" using names, with any unnamed bits as a
// number; zero is the name of the zero value or "0".
func flagString(v uint32, names []flagName, bitwise bool) string {
	for _, fn := range names {
		if fn.value == v {
			return fn.name
		}
	}
	if !bitwise || v == 0 {
		return strconv.FormatUint(uint64(v), 10)
	}
	var parts []string
	rest := v
	seen := uint32(0)
	for _, fn := range names {
		if fn.value != 0 && fn.value&(fn.value-1) == 0 && v&fn.value != 0 && seen&fn.value == 0 {
			parts = append(parts, fn.name)
			rest &^= fn.value
			seen |= fn.value
		}
	}
	if rest != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(rest), 16))
	}
	return strings.Join(parts, "|")
}

// NetworkFlags are flags on a network. Mirrors hcsshim v0.15.0
// hcn/hcnnetwork.go:79.
type NetworkFlags uint32

// NetworkFlags values of hcsshim v0.15.0 (hcn/hcnnetwork.go:82-87). The names
// None, EnableNonPersistent, DisableHostPort and EnableIov are hcsshim's.
const (
	None                NetworkFlags = 0
	EnableNonPersistent NetworkFlags = 8
	DisableHostPort     NetworkFlags = 1024
	EnableIov           NetworkFlags = 8192
)

// NetworkFlags values hcsshim lacks, from Microsoft's HCN PowerShell client
// (microsoft/SDN Kubernetes/windows/hns.v2.psm1:1023-1029, enum NetworkFlags).
// The official schema calls them EnableDnsProxy, EnableDhcpServer and
// EnableMirroring (HNS_Schema.md "NetworkFlags").
const (
	NetworkFlagsEnableDNS       NetworkFlags = 1
	NetworkFlagsEnableDHCP      NetworkFlags = 2
	NetworkFlagsEnableMirroring NetworkFlags = 4
)

var networkFlagNames = []flagName{
	{"None", 0},
	{"EnableDns", 1}, {"EnableDnsProxy", 1},
	{"EnableDhcp", 2}, {"EnableDhcpServer", 2},
	{"EnableMirroring", 4},
	{"EnableNonPersistent", 8},
	{"DisableHostPort", 1024},
	{"EnableIov", 8192},
}

// UnmarshalJSON decodes a number, a name list or an array of names.
func (f *NetworkFlags) UnmarshalJSON(b []byte) error {
	return decodeFlagJSON(b, (*uint32)(f), reflect.TypeFor[NetworkFlags](), networkFlagNames, true)
}

// String returns the flag names joined by "|".
func (f NetworkFlags) String() string { return flagString(uint32(f), networkFlagNames, true) }

// SubnetFlags are flags on a subnet. Mirrors hcsshim v0.15.0
// hcn/hcnnetwork.go:15.
type SubnetFlags uint32

// SubnetFlags values (hcsshim v0.15.0 hcn/hcnnetwork.go:18-21).
const (
	SubnetFlagsNone SubnetFlags = 0
	// SubnetFlagsDoNotReserveGatewayAddress supports GatewayAddress == ManagementIP.
	SubnetFlagsDoNotReserveGatewayAddress SubnetFlags = 1
)

var subnetFlagNames = []flagName{{"None", 0}, {"DoNotReserveGatewayAddress", 1}}

// UnmarshalJSON decodes a number, a name list or an array of names.
func (f *SubnetFlags) UnmarshalJSON(b []byte) error {
	return decodeFlagJSON(b, (*uint32)(f), reflect.TypeFor[SubnetFlags](), subnetFlagNames, true)
}

// String returns the flag names joined by "|".
func (f SubnetFlags) String() string { return flagString(uint32(f), subnetFlagNames, true) }

// EndpointFlags are flags on an endpoint. Mirrors hcsshim v0.15.0
// hcn/hcnendpoint.go:21.
type EndpointFlags uint32

// EndpointFlags values of hcsshim v0.15.0 (hcn/hcnendpoint.go:23-28).
const (
	EndpointFlagsNone           EndpointFlags = 0
	EndpointFlagsRemoteEndpoint EndpointFlags = 1
)

// EndpointFlags values hcsshim lacks, from microsoft/SDN
// Kubernetes/windows/hns.v2.psm1:1031-1040 (enum EndpointFlags); official
// names in HNS_Schema.md "EndpointFlags".
const (
	EndpointFlagsDisableICC               EndpointFlags = 2
	EndpointFlagsEnableMirroring          EndpointFlags = 4
	EndpointFlagsEnableLowInterfaceMetric EndpointFlags = 8
	EndpointFlagsOverrideDNSServerOrder   EndpointFlags = 16
	EndpointFlagsEnableDHCP               EndpointFlags = 32
)

var endpointFlagNames = []flagName{
	{"None", 0},
	{"RemoteEndpoint", 1},
	{"DisableICC", 2}, {"DisableInterComputeCommunication", 2},
	{"EnableMirroring", 4},
	{"EnableLowInterfaceMetric", 8},
	{"OverrideDNSServerOrder", 16},
	{"EnableDhcp", 32},
}

// UnmarshalJSON decodes a number, a name list or an array of names.
func (f *EndpointFlags) UnmarshalJSON(b []byte) error {
	return decodeFlagJSON(b, (*uint32)(f), reflect.TypeFor[EndpointFlags](), endpointFlagNames, true)
}

// String returns the flag names joined by "|".
func (f EndpointFlags) String() string { return flagString(uint32(f), endpointFlagNames, true) }

// NatFlags are flags of PortMapping and OutBoundNAT policies. Mirrors hcsshim
// v0.15.0 hcn/hcnpolicy.go:80.
type NatFlags uint32

// NatFlags values of hcsshim v0.15.0 (hcn/hcnpolicy.go:82-86, iota).
const (
	NatFlagsNone NatFlags = iota
	NatFlagsLocalRoutedVip
	NatFlagsIPv6
)

// NatFlagsExternalPortReserved tells HNS that the caller (Docker) already
// reserved the external port. From microsoft/SDN hns.v2.psm1:1601-1607 and
// microsoft/hcsshim#1370.
const NatFlagsExternalPortReserved NatFlags = 4

var natFlagNames = []flagName{{"None", 0}, {"LocalRoutedVip", 1}, {"IPv6", 2}, {"ExternalPortReserved", 4}}

// UnmarshalJSON decodes a number, a name list or an array of names.
func (f *NatFlags) UnmarshalJSON(b []byte) error {
	return decodeFlagJSON(b, (*uint32)(f), reflect.TypeFor[NatFlags](), natFlagNames, true)
}

// String returns the flag names joined by "|".
func (f NatFlags) String() string { return flagString(uint32(f), natFlagNames, true) }

// LoadBalancerFlags are flags of a load balancer. Mirrors hcsshim v0.15.0
// hcn/hcnloadbalancer.go:34.
type LoadBalancerFlags uint32

// LoadBalancerFlags values (hcsshim v0.15.0 hcn/hcnloadbalancer.go:36-42).
const (
	LoadBalancerFlagsNone LoadBalancerFlags = 0
	// LoadBalancerFlagsDSR enables Direct Server Return.
	LoadBalancerFlagsDSR  LoadBalancerFlags = 1
	LoadBalancerFlagsIPv6 LoadBalancerFlags = 2
)

var loadBalancerFlagNames = []flagName{{"None", 0}, {"DSR", 1}, {"EnableDirectServerReturn", 1}, {"IPv6", 2}}

// UnmarshalJSON decodes a number, a name list or an array of names.
func (f *LoadBalancerFlags) UnmarshalJSON(b []byte) error {
	return decodeFlagJSON(b, (*uint32)(f), reflect.TypeFor[LoadBalancerFlags](), loadBalancerFlagNames, true)
}

// String returns the flag names joined by "|".
func (f LoadBalancerFlags) String() string { return flagString(uint32(f), loadBalancerFlagNames, true) }

// LoadBalancerPortMappingFlags are flags of a load balancer port mapping.
// Mirrors hcsshim v0.15.0 hcn/hcnloadbalancer.go:45.
type LoadBalancerPortMappingFlags uint32

// LoadBalancerPortMappingFlags values (hcsshim v0.15.0
// hcn/hcnloadbalancer.go:47-58).
const (
	LoadBalancerPortMappingFlagsNone LoadBalancerPortMappingFlags = 0
	// LoadBalancerPortMappingFlagsILB enables internal load balancing.
	LoadBalancerPortMappingFlagsILB LoadBalancerPortMappingFlags = 1
	// LoadBalancerPortMappingFlagsLocalRoutedVIP enables VIP access from the host.
	LoadBalancerPortMappingFlagsLocalRoutedVIP LoadBalancerPortMappingFlags = 2
	// LoadBalancerPortMappingFlagsUseMux enables DSR for NodePort access of VIP.
	LoadBalancerPortMappingFlagsUseMux LoadBalancerPortMappingFlags = 4
	// LoadBalancerPortMappingFlagsPreserveDIP delivers packets with destination IP as the VIP.
	LoadBalancerPortMappingFlagsPreserveDIP LoadBalancerPortMappingFlags = 8
)

// LoadBalancerPortMappingFlagsVipExternalIP marks a VIP that is an external
// IP; kube-proxy defines it (kubernetes/kubernetes pkg/proxy/winkernel/hns.go).
const LoadBalancerPortMappingFlagsVipExternalIP LoadBalancerPortMappingFlags = 16

var lbPortMappingFlagNames = []flagName{
	{"None", 0},
	{"ILB", 1}, {"EnableInternalLoadBalancer", 1},
	{"LocalRoutedVIP", 2},
	{"UseMux", 4}, {"NotUsed", 4},
	{"PreserveDIP", 8}, {"EnablePreserveDip", 8},
	{"VipExternalIP", 16},
}

// UnmarshalJSON decodes a number, a name list or an array of names.
func (f *LoadBalancerPortMappingFlags) UnmarshalJSON(b []byte) error {
	return decodeFlagJSON(b, (*uint32)(f), reflect.TypeFor[LoadBalancerPortMappingFlags](), lbPortMappingFlagNames, true)
}

// String returns the flag names joined by "|".
func (f LoadBalancerPortMappingFlags) String() string {
	return flagString(uint32(f), lbPortMappingFlagNames, true)
}

// LoadBalancerDistribution says how a load balancer spreads traffic over its
// backends. Mirrors hcsshim v0.15.0 hcn/hcnloadbalancer.go:61.
type LoadBalancerDistribution uint32

// LoadBalancerDistribution values (hcsshim v0.15.0 hcn/hcnloadbalancer.go:63-70).
const (
	// LoadBalancerDistributionNone balances each connection on its own.
	LoadBalancerDistributionNone LoadBalancerDistribution = 0
	// LoadBalancerDistributionSourceIPProtocol sends all traffic of one protocol from a client IP to the same backend.
	LoadBalancerDistributionSourceIPProtocol LoadBalancerDistribution = 1
	// LoadBalancerDistributionSourceIP sends all traffic from a client IP to the same backend.
	LoadBalancerDistributionSourceIP LoadBalancerDistribution = 2
)

var lbDistributionNames = []flagName{{"None", 0}, {"SourceIPProtocol", 1}, {"SourceIP", 2}}

// UnmarshalJSON decodes a number or a name.
func (d *LoadBalancerDistribution) UnmarshalJSON(b []byte) error {
	return decodeFlagJSON(b, (*uint32)(d), reflect.TypeFor[LoadBalancerDistribution](), lbDistributionNames, false)
}

// String returns the name of d.
func (d LoadBalancerDistribution) String() string {
	return flagString(uint32(d), lbDistributionNames, false)
}

// ProtocolType is an IP protocol number. Mirrors hcsshim v0.15.0
// hcn/hcnpolicy.go:313.
type ProtocolType uint32

// ProtocolType values (hcsshim v0.15.0 hcn/hcnpolicy.go:315-322).
const (
	ProtocolTypeUnknown ProtocolType = 0
	ProtocolTypeICMPv4  ProtocolType = 1
	ProtocolTypeIGMP    ProtocolType = 2
	ProtocolTypeTCP     ProtocolType = 6
	ProtocolTypeUDP     ProtocolType = 17
	ProtocolTypeICMPv6  ProtocolType = 58
)

var protocolNames = []flagName{
	{"Unknown", 0}, {"ICMPv4", 1}, {"ICMP", 1}, {"IGMP", 2}, {"TCP", 6}, {"UDP", 17}, {"ICMPv6", 58},
}

// UnmarshalJSON decodes a number or an official ProtocolType name ("TCP").
func (p *ProtocolType) UnmarshalJSON(b []byte) error {
	return decodeFlagJSON(b, (*uint32)(p), reflect.TypeFor[ProtocolType](), protocolNames, false)
}

// String returns the protocol name, or the number when it has none.
func (p ProtocolType) String() string { return flagString(uint32(p), protocolNames, false) }

// NetworkType is the mode of a network. Mirrors hcsshim v0.15.0
// hcn/hcnnetwork.go:65.
type NetworkType string

// NetworkType values of hcsshim v0.15.0 (hcn/hcnnetwork.go:68-76).
const (
	NAT         NetworkType = "NAT"
	Transparent NetworkType = "Transparent"
	L2Bridge    NetworkType = "L2Bridge"
	L2Tunnel    NetworkType = "L2Tunnel"
	ICS         NetworkType = "ICS"
	Private     NetworkType = "Private"
	Overlay     NetworkType = "Overlay"
)

// NetworkType values of the official schema that hcsshim lacks
// (HNS_Schema.md "NetworkMode"; Mirrored and Infiniband are new in schema 2.4,
// ConstrainedICS in 2.10).
const (
	NetworkTypeInternal       NetworkType = "Internal"
	NetworkTypeMirrored       NetworkType = "Mirrored"
	NetworkTypeInfiniband     NetworkType = "Infiniband"
	NetworkTypeConstrainedICS NetworkType = "ConstrainedICS"
)

var networkTypes = []NetworkType{
	NAT, Transparent, L2Bridge, L2Tunnel, ICS, Private, Overlay,
	NetworkTypeInternal, NetworkTypeMirrored, NetworkTypeInfiniband, NetworkTypeConstrainedICS,
}

// canonicalNetworkType returns the canonical spelling of a known network type
// (matched case-insensitively, so v1 dumps' "nat" becomes "NAT"), or t.
func canonicalNetworkType(t NetworkType) NetworkType {
	for _, k := range networkTypes {
		if strings.EqualFold(string(k), string(t)) {
			return k
		}
	}
	return t
}

// Known reports whether t is a network mode of hcsshim or the official schema.
func (t NetworkType) Known() bool {
	for _, k := range networkTypes {
		if k == t {
			return true
		}
	}
	return false
}

// UnmarshalJSON decodes the type, canonicalising the case of known names.
func (t *NetworkType) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: "non-string", Type: reflect.TypeFor[NetworkType]()}
	}
	*t = canonicalNetworkType(NetworkType(s))
	return nil
}
