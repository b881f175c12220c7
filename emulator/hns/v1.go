package hns

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// HNS v1 JSON: what the v1 API (vmcompute HNSCall "/networks", "/endpoints",
// "/policylists") and the PowerShell cmdlets Get-HnsNetwork, Get-HnsEndpoint
// and Get-HnsPolicyList return, and what a v2 query with SchemaVersion 1.0
// returns. hcsshim keeps these types in internal/hns (not importable, and
// Windows-only); ours follow them field for field, plus the fields real dumps
// carry (reference hcn-schema.md §2.2), so that ImportDump can tell known
// bookkeeping from unknown keys. ImportDump converts them to v2.

// HNSSubnet is a v1 subnet. Mirrors hcsshim v0.15.0 internal/hns/hnsnetwork.go:15-19,
// plus ID, ObjectType, State and IpSubnets from real dumps.
type HNSSubnet struct {
	AddressPrefix  string            `json:",omitempty"`
	GatewayAddress string            `json:",omitempty"`
	Policies       []json.RawMessage `json:",omitempty"`
	ID             string            `json:",omitempty"`
	IpSubnets      []HNSIpSubnet     `json:",omitempty"`

	// Bookkeeping HNS adds; ignored.
	ObjectType       json.RawMessage `json:",omitempty"`
	State            json.RawMessage `json:",omitempty"`
	AdditionalParams json.RawMessage `json:",omitempty"`
	Health           json.RawMessage `json:",omitempty"`
}

// HNSIpSubnet is an IP subnet of a v1 subnet as real dumps show it.
type HNSIpSubnet struct {
	ID              string        `json:",omitempty"`
	IpAddressPrefix string        `json:",omitempty"`
	Flags           IPSubnetFlags `json:",omitempty"`

	// Bookkeeping HNS adds; ignored.
	ObjectType       json.RawMessage   `json:",omitempty"`
	State            json.RawMessage   `json:",omitempty"`
	AdditionalParams json.RawMessage   `json:",omitempty"`
	Health           json.RawMessage   `json:",omitempty"`
	Policies         []json.RawMessage `json:",omitempty"`
}

// HNSMacPool is a v1 MAC range. Mirrors hcsshim v0.15.0
// internal/hns/hnsnetwork.go:23-26.
type HNSMacPool struct {
	StartMacAddress string `json:",omitempty"`
	EndMacAddress   string `json:",omitempty"`
}

// HNSExtension is a vSwitch extension of a v1 network dump (e.g. the
// "Microsoft Azure VFP Switch Extension").
type HNSExtension struct {
	Id        string `json:",omitempty"`
	IsEnabled bool   `json:",omitempty"`
	Name      string `json:",omitempty"`
}

// HNSNetwork is a v1 network. Mirrors hcsshim v0.15.0
// internal/hns/hnsnetwork.go:29-43; the fields after AutomaticDNS are those
// real Get-HnsNetwork dumps carry (hcn-schema.md §2.2).
type HNSNetwork struct {
	Id                   string            `json:"ID,omitempty"`
	Name                 string            `json:",omitempty"`
	Type                 string            `json:",omitempty"`
	NetworkAdapterName   string            `json:",omitempty"`
	SourceMac            string            `json:",omitempty"`
	Policies             []json.RawMessage `json:",omitempty"`
	MacPools             []HNSMacPool      `json:",omitempty"`
	Subnets              []HNSSubnet       `json:",omitempty"`
	DNSSuffix            string            `json:",omitempty"`
	DNSServerList        string            `json:",omitempty"`
	DNSServerCompartment uint32            `json:",omitempty"`
	ManagementIP         string            `json:",omitempty"`
	AutomaticDNS         bool              `json:",omitempty"`

	DrMacAddress  string          `json:",omitempty"`
	Flags         NetworkFlags    `json:",omitempty"`
	Extensions    []HNSExtension  `json:",omitempty"`
	Resources     json.RawMessage `json:",omitempty"` // Allocators; kept in Health.Extra.Resources
	LayeredOn     string          `json:",omitempty"`
	SwitchGuid    string          `json:",omitempty"`
	Health        json.RawMessage `json:",omitempty"`
	SchemaVersion *SchemaVersion  `json:",omitempty"`

	// Bookkeeping HNS adds; ignored.
	ActivityId             json.RawMessage `json:",omitempty"`
	AdditionalParams       json.RawMessage `json:",omitempty"`
	CurrentEndpointCount   json.RawMessage `json:",omitempty"`
	MaxConcurrentEndpoints json.RawMessage `json:",omitempty"`
	TotalEndpoints         json.RawMessage `json:",omitempty"`
	NatName                json.RawMessage `json:",omitempty"`
	IPv6                   json.RawMessage `json:",omitempty"`
	State                  json.RawMessage `json:",omitempty"`
	Version                json.RawMessage `json:",omitempty"`
}

// HNSNamespace is the namespace of a v1 endpoint. Mirrors hcsshim v0.15.0
// internal/hns/namespace.go:31-36.
type HNSNamespace struct {
	ID            string
	IsDefault     bool              `json:",omitempty"`
	ResourceList  []json.RawMessage `json:",omitempty"`
	CompartmentId uint32            `json:",omitempty"`
}

// HNSEndpoint is a v1 endpoint. Mirrors hcsshim v0.15.0
// internal/hns/hnsendpoint.go:36-60 (IPAddress and IPv6Address are net.IP
// there, strings in JSON); the fields after State are those real
// Get-HnsEndpoint dumps carry.
type HNSEndpoint struct {
	Id                 string            `json:"ID,omitempty"`
	Name               string            `json:",omitempty"`
	VirtualNetwork     string            `json:",omitempty"`
	VirtualNetworkName string            `json:",omitempty"`
	Policies           []json.RawMessage `json:",omitempty"`
	MacAddress         string            `json:",omitempty"`
	IPAddress          string            `json:",omitempty"`
	IPv6Address        string            `json:",omitempty"`
	DNSSuffix          string            `json:",omitempty"`
	DNSServerList      string            `json:",omitempty"`
	DNSDomain          string            `json:",omitempty"`
	GatewayAddress     string            `json:",omitempty"`
	GatewayAddressV6   string            `json:",omitempty"`
	EnableInternalDNS  bool              `json:",omitempty"`
	DisableICC         bool              `json:",omitempty"`
	PrefixLength       uint8             `json:",omitempty"`
	IPv6PrefixLength   uint8             `json:",omitempty"`
	IsRemoteEndpoint   bool              `json:",omitempty"`
	EnableLowMetric    bool              `json:",omitempty"`
	Namespace          *HNSNamespace     `json:",omitempty"`
	EncapOverhead      uint16            `json:",omitempty"`
	SharedContainers   json.RawMessage   `json:",omitempty"`
	State              json.RawMessage   `json:",omitempty"` // EndpointState 0-6; ignored

	IPSubnetId    string          `json:",omitempty"`
	Resources     json.RawMessage `json:",omitempty"`
	Health        json.RawMessage `json:",omitempty"`
	SchemaVersion *SchemaVersion  `json:",omitempty"`

	// Bookkeeping HNS adds; ignored.
	ActivityId                json.RawMessage `json:",omitempty"`
	AdditionalParams          json.RawMessage `json:",omitempty"`
	CreateProcessingStartTime json.RawMessage `json:",omitempty"`
	StartTime                 json.RawMessage `json:",omitempty"`
	Type                      json.RawMessage `json:",omitempty"`
	Version                   json.RawMessage `json:",omitempty"`
}

// PolicyList is a v1 policy list: policies (ELB load balancers or ROUTE
// routes) applied to the endpoints in References ("/endpoints/<id>").
// Mirrors hcsshim v0.15.0 internal/hns/hnspolicylist.go:37-41.
type PolicyList struct {
	ID                 string            `json:"ID,omitempty"`
	EndpointReferences []string          `json:"References,omitempty"`
	Policies           []json.RawMessage `json:"Policies,omitempty"`

	// Bookkeeping HNS adds; ignored.
	ActivityId json.RawMessage `json:",omitempty"`
	Version    json.RawMessage `json:",omitempty"`
	Health     json.RawMessage `json:",omitempty"`
	State      json.RawMessage `json:",omitempty"`
	Type       json.RawMessage `json:",omitempty"`
}

// V1PolicyType is the Type of a v1 policy. Mirrors hcsshim v0.15.0
// internal/hns/hnspolicy.go:4.
type V1PolicyType string

// V1PolicyType values (hcsshim v0.15.0 internal/hns/hnspolicy.go:7-21).
const (
	V1NAT         V1PolicyType = "NAT"
	V1ACL         V1PolicyType = "ACL"
	V1PA          V1PolicyType = "PA"
	V1VLAN        V1PolicyType = "VLAN"
	V1VSID        V1PolicyType = "VSID"
	V1VNET        V1PolicyType = "VNET"
	V1L2Driver    V1PolicyType = "L2Driver"
	V1Isolation   V1PolicyType = "Isolation"
	V1QOS         V1PolicyType = "QOS"
	V1OutBoundNAT V1PolicyType = "OutBoundNAT"
	V1ELB         V1PolicyType = "ELB"
	V1ROUTE       V1PolicyType = "ROUTE"
	V1PROXY       V1PolicyType = "PROXY"
)

var v1PolicyTypes = []V1PolicyType{V1NAT, V1ACL, V1PA, V1VLAN, V1VSID, V1VNET, V1L2Driver, V1Isolation, V1QOS, V1OutBoundNAT, V1ELB, V1ROUTE, V1PROXY}

// NatPolicy is a v1 port mapping. Protocol is "TCP" or "UDP" (a number is
// accepted too). Mirrors hcsshim v0.15.0 internal/hns/hnspolicy.go:23-29.
type NatPolicy struct {
	Type                 V1PolicyType `json:"Type"`
	Protocol             ProtocolType `json:",omitempty"`
	InternalPort         uint16       `json:",omitempty"`
	ExternalPort         uint16       `json:",omitempty"`
	ExternalPortReserved bool         `json:",omitempty"`
}

// QosPolicy is a v1 bandwidth cap. Mirrors hcsshim v0.15.0
// internal/hns/hnspolicy.go:31-34.
type QosPolicy struct {
	Type                            V1PolicyType `json:"Type"`
	MaximumOutgoingBandwidthInBytes uint64
}

// IsolationPolicy is a v1 VLAN/VSID isolation. Mirrors hcsshim v0.15.0
// internal/hns/hnspolicy.go:36-41.
type IsolationPolicy struct {
	Type               V1PolicyType `json:"Type"`
	VLAN               uint
	VSID               uint
	InDefaultIsolation bool
}

// VlanPolicy is a v1 VLAN policy. Mirrors hcsshim v0.15.0
// internal/hns/hnspolicy.go:43-46.
type VlanPolicy struct {
	Type V1PolicyType `json:"Type"`
	VLAN uint
}

// VsidPolicy is a v1 VSID policy. Mirrors hcsshim v0.15.0
// internal/hns/hnspolicy.go:48-51.
type VsidPolicy struct {
	Type V1PolicyType `json:"Type"`
	VSID uint
}

// PaPolicy is a v1 provider-address policy. Mirrors hcsshim v0.15.0
// internal/hns/hnspolicy.go:53-56.
type PaPolicy struct {
	Type V1PolicyType `json:"Type"`
	PA   string       `json:"PA"`
}

// OutboundNatPolicy is a v1 outbound NAT. Mirrors hcsshim v0.15.0
// internal/hns/hnspolicy.go:58-64.
type OutboundNatPolicy struct {
	Type             V1PolicyType `json:"Type"`
	VIP              string       `json:"VIP,omitempty"`
	Exceptions       []string     `json:"ExceptionList,omitempty"`
	Destinations     []string     `json:",omitempty"`
	MaxPortPoolUsage uint16       `json:",omitempty"`
}

// ProxyPolicy is a v1 proxy redirect. Mirrors hcsshim v0.15.0
// internal/hns/hnspolicy.go:66-73.
type ProxyPolicy struct {
	Type          V1PolicyType `json:"Type"`
	IP            string       `json:",omitempty"`
	Port          string       `json:",omitempty"`
	ExceptionList []string     `json:",omitempty"`
	Destination   string       `json:",omitempty"`
	OutboundNat   bool         `json:",omitempty"`
}

// ACLPolicy is a v1 ACL; Protocol 256 means any. Scope is seen in real dumps
// (reference hcn-schema.md §3, rke2windows). Mirrors hcsshim v0.15.0
// internal/hns/hnspolicy.go:90-107.
type ACLPolicy struct {
	Type            V1PolicyType    `json:"Type"`
	Id              string          `json:"Id,omitempty"`
	Protocol        uint16          `json:",omitempty"`
	Protocols       string          `json:"Protocols,omitempty"`
	InternalPort    uint16          `json:",omitempty"`
	Action          ActionType      `json:",omitempty"`
	Direction       DirectionType   `json:",omitempty"`
	LocalAddresses  string          `json:",omitempty"`
	RemoteAddresses string          `json:",omitempty"`
	LocalPorts      string          `json:"LocalPorts,omitempty"`
	LocalPort       uint16          `json:",omitempty"`
	RemotePorts     string          `json:"RemotePorts,omitempty"`
	RemotePort      uint16          `json:",omitempty"`
	RuleType        RuleType        `json:"RuleType,omitempty"`
	Priority        uint16          `json:",omitempty"`
	ServiceName     string          `json:",omitempty"`
	Scope           json.RawMessage `json:",omitempty"`
}

// RoutePolicy is a v1 route. Mirrors hcsshim v0.15.0
// internal/hns/hnspolicylist.go:12-17.
type RoutePolicy struct {
	Type              V1PolicyType `json:"Type"`
	DestinationPrefix string       `json:"DestinationPrefix,omitempty"`
	NextHop           string       `json:"NextHop,omitempty"`
	EncapEnabled      bool         `json:"NeedEncap,omitempty"`
}

// ELBPolicy is a v1 load balancer policy. Mirrors hcsshim v0.15.0
// internal/hns/hnspolicylist.go:20-34 (flattened); LocalRoutedVip and
// IsVipExternalIp are read by Microsoft's scripts (networkhealth.ps1:577-600).
type ELBPolicy struct {
	Type            V1PolicyType `json:"Type"`
	Protocol        ProtocolType `json:"Protocol,omitempty"`
	InternalPort    uint16
	ExternalPort    uint16
	SourceVIP       string   `json:"SourceVIP,omitempty"`
	VIPs            []string `json:"VIPs,omitempty"`
	ILB             bool     `json:"ILB,omitempty"`
	DSR             bool     `json:"IsDSR,omitempty"`
	LocalRoutedVip  bool     `json:",omitempty"`
	IsVipExternalIp bool     `json:",omitempty"`
}

/// Writing v1: what Get-HnsNetwork, Get-HnsEndpoint and Get-HnsPolicyList
/// return for the objects, so that an emulated node can be put beside a real
/// one. ImportDump reads it back to the same objects.

// V1Dump returns the objects as the v1 API returns them (and the HNS
// cmdlets print them with ConvertTo-Json): networks, then endpoints, then
// load balancers as policy lists, as JSON objects whose keys sort as HNS
// returns them. version is the HNS version they carry (packed, as real
// nodes print it). A value v1 cannot carry is written in its v2 form
// ({"Type":..., "Settings":...}, which HNS v1 output also shows for newer
// policies); an object that v1 cannot carry at all (a load balancer with
// several port mappings, a route, a namespace without endpoints) is written
// as its v2 object. ImportDump reads every one of them back; each is checked
// here by importing it again, and notes say what was written in v2 form.
func (o *Objects) V1Dump(version Version) ([]any, []string) {
	var out []any
	var notes []string
	netName := map[string]string{}
	for _, n := range o.Networks {
		netName[strings.ToUpper(n.Id)] = n.Name
	}
	for _, n := range o.Networks {
		v := v1Network(n, version)
		if !roundTrips(v, KindNetwork, n) {
			notes = append(notes, fmt.Sprintf("network %q: written as a v2 HostComputeNetwork (v1 cannot carry all of it)", n.Name))
			out = append(out, n)
			continue
		}
		out = append(out, v)
	}
	nsOf := map[string]HostComputeNamespace{}
	for _, ns := range o.Namespaces {
		nsOf[strings.ToUpper(ns.Id)] = ns
	}
	usedNS := map[string]bool{}
	for _, e := range o.Endpoints {
		v := v1EndpointMap(e, netName[strings.ToUpper(e.HostComputeNetwork)], version, nsOf)
		if !roundTrips(v, KindEndpoint, e) {
			notes = append(notes, fmt.Sprintf("endpoint %q: written as a v2 HostComputeEndpoint (v1 cannot carry all of it)", e.Name))
			out = append(out, e)
			continue
		}
		if _, ok := v["Namespace"]; ok {
			usedNS[strings.ToUpper(e.HostComputeNamespace)] = true
		}
		out = append(out, v)
	}
	for _, lb := range o.LoadBalancers {
		v := v1PolicyListMap(lb, version)
		if v == nil || !roundTrips(v, KindLoadBalancer, lb) {
			notes = append(notes, fmt.Sprintf("load balancer %s: written as a v2 HostComputeLoadBalancer (v1's policy list cannot carry all of it)", lb.Id))
			out = append(out, lb)
			continue
		}
		out = append(out, v)
	}
	for _, r := range o.Routes {
		notes = append(notes, fmt.Sprintf("route %s: written as a v2 HostComputeRoute", r.ID))
		out = append(out, r)
	}
	for _, ns := range o.Namespaces {
		if !usedNS[strings.ToUpper(ns.Id)] || ns.Type != NamespaceTypeHost && ns.Type != NamespaceTypeHostDefault {
			out = append(out, ns)
		}
	}
	return out, notes
}

func v1NetworkType(t NetworkType) string {
	if t == NAT {
		return "nat" // as Get-HnsNetwork prints it
	}
	return string(t)
}

func v2Policy(t string, settings json.RawMessage) map[string]any {
	m := map[string]any{"Type": t}
	if len(settings) > 0 {
		m["Settings"] = settings
	}
	return m
}

func v1Network(n HostComputeNetwork, version Version) map[string]any {
	m := map[string]any{"ID": n.Id, "Name": n.Name, "Type": v1NetworkType(n.Type), "State": 1, "Version": version.Pack()}
	if n.Flags != 0 {
		m["Flags"] = n.Flags
	}
	var pols []any
	var exts []any
	for _, p := range n.Policies {
		switch p.Type {
		case ProviderAddress:
			var s ProviderAddressNetworkPolicySetting
			if json.Unmarshal(p.Settings, &s) == nil && m["ManagementIP"] == nil {
				m["ManagementIP"] = s.ProviderAddress
				continue
			}
		case DrMacAddress:
			var s DrMacAddressNetworkPolicySetting
			if json.Unmarshal(p.Settings, &s) == nil && m["DrMacAddress"] == nil {
				m["DrMacAddress"] = s.Address
				continue
			}
		case NetAdapterName:
			var s NetAdapterNameNetworkPolicySetting
			if json.Unmarshal(p.Settings, &s) == nil && m["NetworkAdapterName"] == nil {
				m["NetworkAdapterName"] = s.NetworkAdapterName
				continue
			}
		case SourceMacAddress:
			var s SourceMacAddressNetworkPolicySetting
			if json.Unmarshal(p.Settings, &s) == nil && m["SourceMac"] == nil {
				m["SourceMac"] = s.SourceMacAddress
				continue
			}
		case VSwitchExtension:
			var s VSwitchExtensionNetworkPolicySetting
			if json.Unmarshal(p.Settings, &s) == nil {
				exts = append(exts, map[string]any{"Id": s.ExtensionID, "IsEnabled": s.Enable})
				continue
			}
		}
		pols = append(pols, v2Policy(string(p.Type), p.Settings))
	}
	if pols == nil {
		pols = []any{}
	}
	m["Policies"] = pols
	if exts != nil {
		m["Extensions"] = exts
	}
	var pools []any
	for _, r := range n.MacPool.Ranges {
		pools = append(pools, map[string]any{"StartMacAddress": r.StartMacAddress, "EndMacAddress": r.EndMacAddress})
	}
	if pools != nil {
		m["MacPools"] = pools
	}
	if n.Dns.Domain != "" {
		m["DNSSuffix"] = n.Dns.Domain
	}
	if len(n.Dns.ServerList) > 0 {
		m["DNSServerList"] = strings.Join(n.Dns.ServerList, ",")
	}
	var subs []any
	for _, ipam := range n.Ipams {
		for _, s := range ipam.Subnets {
			sm := map[string]any{"AddressPrefix": s.IpAddressPrefix, "Policies": s.Policies}
			if s.Policies == nil {
				sm["Policies"] = []any{}
			}
			for _, r := range s.Routes {
				if r.DestinationPrefix == "0.0.0.0/0" || r.DestinationPrefix == "::/0" {
					sm["GatewayAddress"] = r.NextHop
					break
				}
			}
			if len(s.IpSubnets) > 0 {
				sm["IpSubnets"] = s.IpSubnets
			}
			subs = append(subs, sm)
		}
	}
	if subs == nil {
		subs = []any{} // a v1 network always has the key
	}
	m["Subnets"] = subs
	if len(n.Health.Extra.Resources) > 0 {
		m["Resources"] = n.Health.Extra.Resources
	}
	if n.Health.Extra.LayeredOn != "" {
		m["LayeredOn"] = n.Health.Extra.LayeredOn
	}
	if n.Health.Extra.SwitchGuid != "" {
		m["SwitchGuid"] = n.Health.Extra.SwitchGuid
	}
	return m
}

// v1EndpointPolicyMap returns the v1 form of an endpoint policy when the
// importer turns it back into the same policy, else its v2 form.
func v1EndpointPolicyMap(p EndpointPolicy) any {
	var m map[string]any
	switch p.Type {
	case PortMapping:
		var s PortMappingPolicySetting
		if json.Unmarshal(p.Settings, &s) == nil && s.VIP == "" && s.Flags&^NatFlagsExternalPortReserved == 0 {
			m = map[string]any{"Type": "NAT", "Protocol": s.Protocol, "InternalPort": s.InternalPort, "ExternalPort": s.ExternalPort}
			if s.Flags&NatFlagsExternalPortReserved != 0 {
				m["ExternalPortReserved"] = true
			}
		}
	case OutBoundNAT:
		var s OutboundNatPolicySetting
		if json.Unmarshal(p.Settings, &s) == nil && s.Flags == 0 {
			m = map[string]any{"Type": "OutBoundNAT"}
			if s.VirtualIP != "" {
				m["VIP"] = s.VirtualIP
			}
			if len(s.Exceptions) > 0 {
				m["ExceptionList"] = s.Exceptions
			}
			if len(s.Destinations) > 0 {
				m["Destinations"] = s.Destinations
			}
			if s.MaxPortPoolUsage != 0 {
				m["MaxPortPoolUsage"] = s.MaxPortPoolUsage
			}
		}
	case SDNRoute:
		var s SDNRoutePolicySetting
		if json.Unmarshal(p.Settings, &s) == nil && !s.AutomaticEndpointMonitor {
			m = map[string]any{"Type": "ROUTE", "DestinationPrefix": s.DestinationPrefix}
			if s.NextHop != "" {
				m["NextHop"] = s.NextHop
			}
			if s.NeedEncap {
				m["NeedEncap"] = true
			}
		}
	case NetworkProviderAddress:
		var s ProviderAddressEndpointPolicySetting
		if json.Unmarshal(p.Settings, &s) == nil {
			m = map[string]any{"Type": "PA", "PA": s.ProviderAddress}
		}
	}
	if m != nil {
		raw, _ := json.Marshal(m)
		im := &importer{o: &Objects{}}
		if back, ok := im.v1EndpointPolicy("", "", raw); ok && len(im.warnings) == 0 && back.Type == p.Type && sameJSON(back.Settings, p.Settings) {
			return m
		}
	}
	return v2Policy(string(p.Type), p.Settings)
}

func v1EndpointMap(e HostComputeEndpoint, network string, version Version, nsOf map[string]HostComputeNamespace) map[string]any {
	m := map[string]any{"ID": e.Id, "Name": e.Name, "VirtualNetwork": e.HostComputeNetwork, "State": 1, "Version": version.Pack()}
	if network != "" {
		m["VirtualNetworkName"] = network
	}
	if e.MacAddress != "" {
		m["MacAddress"] = e.MacAddress
	}
	v4, v6 := false, false
	for _, c := range e.IpConfigurations {
		a, err := c.Addr()
		switch {
		case err == nil && a.Is4() && !v4:
			v4 = true
			m["IPAddress"], m["PrefixLength"] = c.IpAddress, c.PrefixLength
			if c.IpSubnetId != "" {
				m["IPSubnetId"] = c.IpSubnetId
			}
		case err == nil && a.Is6() && !v6:
			v6 = true
			m["IPv6Address"], m["IPv6PrefixLength"] = c.IpAddress, c.PrefixLength
		}
	}
	for _, r := range e.Routes {
		switch r.DestinationPrefix {
		case "0.0.0.0/0":
			m["GatewayAddress"] = r.NextHop
		case "::/0":
			m["GatewayAddressV6"] = r.NextHop
		}
	}
	if e.Dns.Domain != "" {
		m["DNSDomain"] = e.Dns.Domain
	}
	if len(e.Dns.Search) > 0 {
		m["DNSSuffix"] = strings.Join(e.Dns.Search, ",")
	}
	if len(e.Dns.ServerList) > 0 {
		m["DNSServerList"] = strings.Join(e.Dns.ServerList, ",")
	}
	for f, k := range map[EndpointFlags]string{EndpointFlagsRemoteEndpoint: "IsRemoteEndpoint", EndpointFlagsDisableICC: "DisableICC",
		EndpointFlagsEnableLowInterfaceMetric: "EnableLowMetric", EndpointFlagsOverrideDNSServerOrder: "EnableInternalDNS"} {
		if e.Flags&f != 0 {
			m[k] = true
		}
	}
	pols := []any{}
	for _, p := range e.Policies {
		if p.Type == EncapOverhead {
			var s EncapOverheadEndpointPolicySetting
			if json.Unmarshal(p.Settings, &s) == nil && s.Overhead != 0 && m["EncapOverhead"] == nil {
				m["EncapOverhead"] = s.Overhead
				continue
			}
		}
		pols = append(pols, v1EndpointPolicyMap(p))
	}
	m["Policies"] = pols
	if ns, ok := nsOf[strings.ToUpper(e.HostComputeNamespace)]; ok && (ns.Type == NamespaceTypeHost || ns.Type == NamespaceTypeHostDefault) {
		nm := map[string]any{"ID": ns.Id, "IsDefault": ns.Type == NamespaceTypeHostDefault}
		if ns.NamespaceId != 0 {
			nm["CompartmentId"] = ns.NamespaceId
		}
		m["Namespace"] = nm
	}
	if len(e.Health.Extra.Resources) > 0 {
		m["Resources"] = e.Health.Extra.Resources
	}
	if len(e.Health.Extra.SharedContainers) > 0 {
		m["SharedContainers"] = e.Health.Extra.SharedContainers
	}
	return m
}

// v1PolicyListMap returns the policy list of a load balancer with one port
// mapping, or nil.
func v1PolicyListMap(lb HostComputeLoadBalancer, version Version) map[string]any {
	if len(lb.PortMappings) != 1 || lb.Name != "" {
		return nil
	}
	pm := lb.PortMappings[0]
	elb := map[string]any{"Type": "ELB", "Protocol": pm.Protocol, "InternalPort": pm.InternalPort, "ExternalPort": pm.ExternalPort}
	if lb.SourceVIP != "" {
		elb["SourceVIP"] = lb.SourceVIP
	}
	if len(lb.FrontendVIPs) > 0 {
		elb["VIPs"] = lb.FrontendVIPs
	}
	if pm.Flags&LoadBalancerPortMappingFlagsILB != 0 {
		elb["ILB"] = true
	}
	if pm.Flags&LoadBalancerPortMappingFlagsLocalRoutedVIP != 0 {
		elb["LocalRoutedVip"] = true
	}
	if pm.Flags&LoadBalancerPortMappingFlagsVipExternalIP != 0 {
		elb["IsVipExternalIp"] = true
	}
	if lb.Flags&LoadBalancerFlagsDSR != 0 {
		elb["IsDSR"] = true
	}
	refs := []string{}
	for _, id := range lb.HostComputeEndpoints {
		refs = append(refs, "/endpoints/"+strings.ToLower(id))
	}
	return map[string]any{"ID": lb.Id, "Policies": []any{elb}, "References": refs, "State": 1, "Version": version.Pack()}
}

// roundTrips reports whether importing v gives back want (its first object
// of the kind), compared as normalized JSON with policies in any order and
// without the Health bookkeeping.
func roundTrips(v map[string]any, kind string, want any) bool {
	raw, err := json.Marshal(v)
	if err != nil {
		return false
	}
	im := &importer{o: &Objects{}}
	im.item(1, RawObject{JSON: raw, Line: 1})
	if len(im.errs) > 0 {
		return false
	}
	var got any
	switch kind {
	case KindNetwork:
		if len(im.o.Networks) != 1 {
			return false
		}
		got = im.o.Networks[0]
	case KindEndpoint:
		if len(im.o.Endpoints) != 1 {
			return false
		}
		got = im.o.Endpoints[0]
	case KindLoadBalancer:
		if len(im.o.LoadBalancers) != 1 {
			return false
		}
		got = im.o.LoadBalancers[0]
	}
	return CanonicalJSON(got) == CanonicalJSON(want)
}

// CanonicalJSON returns v (an HNS object) as JSON for comparisons: GUIDs in
// upper case, policies sorted, the Health bookkeeping and the schema version
// left out.
func CanonicalJSON(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	var x any
	if json.Unmarshal(raw, &x) != nil {
		return ""
	}
	var walk func(x any) any
	walk = func(x any) any {
		switch t := x.(type) {
		case map[string]any:
			delete(t, "Health")
			delete(t, "SchemaVersion")
			for k, el := range t {
				t[k] = walk(el)
			}
			if p, ok := t["Policies"].([]any); ok {
				sort.Slice(p, func(i, j int) bool {
					a, _ := json.Marshal(p[i])
					b, _ := json.Marshal(p[j])
					return string(a) < string(b)
				})
			}
		case []any:
			for i, el := range t {
				t[i] = walk(el)
			}
		case string:
			if g, ok := canonicalGUID(t); ok {
				return g
			}
		}
		return x
	}
	out, _ := json.Marshal(walk(x))
	return string(out)
}

// sameJSON reports whether two JSON documents hold the same value.
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return len(a) == 0 && len(b) == 0
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
