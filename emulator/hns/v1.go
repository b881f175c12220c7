package hns

import "encoding/json"

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
