package fabric

import (
	"github.com/hnspath/hnspath/emulator/hns"
)

// Topology is the emulated world: Windows hosts with their HNS objects,
// outside peers, and the underlay that joins them. It is what scenario files
// hold under `topology:` (docs/design.md §2), in JSON or YAML with these keys.
type Topology struct {
	Hosts    []HostSpec   `json:"hosts"`
	Peers    []PeerSpec   `json:"peers,omitempty"`
	Underlay UnderlaySpec `json:"underlay,omitempty"`
}

// HostSpec is one Windows host.
type HostSpec struct {
	Name string `json:"name"`
	// Profile is the HNS version profile: WS2019, WS2022 (default) or WS2025.
	Profile string    `json:"profile,omitempty"`
	NICs    []NICSpec `json:"nics"`
	// HNS holds the host's HCN objects exactly as HCN v2 JSON.
	HNS hns.Objects `json:"hns"`
	// NAT overrides WinNAT settings (Set-NetNat), for the nat network.
	NAT *NATSpec `json:"nat,omitempty"`
	// Listen lists ports the management OS listens on ("tcp/22", "udp/53"):
	// packets to them are delivered to HOST/host instead of dropped.
	Listen []string `json:"listen,omitempty"`
	// Routes are extra management OS routes (e.g. flannel host-gw's routes
	// to other nodes' pod subnets).
	Routes []RouteSpec `json:"routes,omitempty"`
}

// NICSpec is a physical NIC.
type NICSpec struct {
	Name    string `json:"name"`
	MAC     string `json:"mac"`
	IP      string `json:"ip"` // address with prefix length, e.g. 10.0.0.4/24
	IPv6    string `json:"ipv6,omitempty"`
	Gateway string `json:"gateway,omitempty"`
	MTU     int    `json:"mtu,omitempty"`
}

// NATSpec holds WinNAT settings, with Get-NetNat's names; zero values keep
// the observed defaults (ICMP 30 s, TCP established 1800 s, TCP transient
// 120 s, UDP 120 s, address-dependent filtering, UdpInboundRefresh false).
type NATSpec struct {
	IcmpQueryTimeout                int    `json:"IcmpQueryTimeout,omitempty"` // seconds
	TcpEstablishedConnectionTimeout int    `json:"TcpEstablishedConnectionTimeout,omitempty"`
	TcpTransientConnectionTimeout   int    `json:"TcpTransientConnectionTimeout,omitempty"`
	UdpIdleSessionTimeout           int    `json:"UdpIdleSessionTimeout,omitempty"`
	TcpFilteringBehavior            string `json:"TcpFilteringBehavior,omitempty"` // AddressDependentFiltering | EndpointIndependentFiltering
	UdpFilteringBehavior            string `json:"UdpFilteringBehavior,omitempty"`
	UdpInboundRefresh               bool   `json:"UdpInboundRefresh,omitempty"`
	PortRange                       string `json:"PortRange,omitempty"` // "49152-65535"
	MaxSessions                     int    `json:"MaxSessions,omitempty"`
}

// RouteSpec is a route: destination prefix and next hop.
type RouteSpec struct {
	Prefix  string `json:"prefix"`
	NextHop string `json:"via"`
}

// PeerSpec is an outside machine on the underlay: a client, a server, a
// node that is not modelled as a Windows host.
type PeerSpec struct {
	Name    string   `json:"name"`
	MAC     string   `json:"mac"`
	IP      string   `json:"ip"` // with prefix length
	IPs     []string `json:"ips,omitempty"`
	Gateway string   `json:"gateway,omitempty"`
	// Prefixes are networks behind the peer: the router sends traffic for
	// them to the peer (a peer can stand for "the internet").
	Prefixes []string `json:"prefixes,omitempty"`
}

// UnderlaySpec describes the physical network.
type UnderlaySpec struct {
	// Router is the underlay's gateway: it routes between subnets and to
	// container subnets of l2bridge/l2tunnel/transparent networks (as a cloud
	// route table does). Optional.
	Router *RouterSpec `json:"router,omitempty"`
	// MTU of the underlay links, default 1500.
	MTU int `json:"mtu,omitempty"`
}

// RouterSpec is the underlay gateway.
type RouterSpec struct {
	Name   string      `json:"name,omitempty"` // port name, default "router"
	MAC    string      `json:"mac"`
	IPs    []string    `json:"ips"` // one address with prefix per subnet it serves
	Routes []RouteSpec `json:"routes,omitempty"`
}
