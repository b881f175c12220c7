package hns

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
)

// Route is a route of a subnet or an endpoint.
// Mirrors hcsshim v0.15.0 hcn/hcnnetwork.go:24-28.
type Route struct {
	NextHop           string `json:",omitempty"`
	DestinationPrefix string `json:",omitempty"`
	Metric            uint16 `json:",omitempty"`
}

// Subnet is an address range of a network's IPAM. Its Policies are raw JSON
// SubnetPolicy envelopes, as in hcsshim; SubnetPolicies decodes them.
// IpSubnets is an official-schema field hcsshim lacks (HNS_Schema.md
// "Subnet", new in 2.3; real dumps carry it): an hnspath extra.
// Mirrors hcsshim v0.15.0 hcn/hcnnetwork.go:31-36.
type Subnet struct {
	IpAddressPrefix string            `json:",omitempty"`
	Policies        []json.RawMessage `json:",omitempty"`
	Routes          []Route           `json:",omitempty"`
	Flags           SubnetFlags       `json:",omitempty"`
	IpSubnets       []IpSubnet        `json:",omitempty"` // official schema, not hcsshim
}

// IpSubnet is an address range inside a Subnet (official schema
// "IpSubnet", new in 2.3; not in hcsshim). Endpoints may name one with
// IpConfig.IpSubnetId.
type IpSubnet struct {
	ID              string        `json:",omitempty"`
	IpAddressPrefix string        `json:",omitempty"`
	Flags           IPSubnetFlags `json:",omitempty"`
}

// IPSubnetFlags are flags of an IpSubnet (microsoft/SDN hns.v2.psm1, enum block at lines 1021-1049:
// IPSubnetFlags; HNS_Schema.md "IPSubnetFlags").
type IPSubnetFlags uint32

// IPSubnetFlags values.
const (
	IPSubnetFlagsNone                  IPSubnetFlags = 0
	IPSubnetFlagsEnableBroadcast       IPSubnetFlags = 1
	IPSubnetFlagsReserveNetworkAddress IPSubnetFlags = 2
)

var ipSubnetFlagNames = []flagName{{"None", 0}, {"EnableBroadcast", 1}, {"ReserveNetworkAddress", 2}}

// UnmarshalJSON decodes a number, a name list or an array of names.
func (f *IPSubnetFlags) UnmarshalJSON(b []byte) error {
	return decodeFlagJSON(b, (*uint32)(f), reflect.TypeFor[IPSubnetFlags](), ipSubnetFlagNames, true)
}

// String returns the flag names joined by "|".
func (f IPSubnetFlags) String() string { return flagString(uint32(f), ipSubnetFlagNames, true) }

// Prefix parses IpAddressPrefix. It returns an error naming the field when
// the prefix is empty or malformed.
func (s Subnet) Prefix() (netip.Prefix, error) {
	if s.IpAddressPrefix == "" {
		return netip.Prefix{}, fmt.Errorf("IpAddressPrefix: empty")
	}
	p, err := netip.ParsePrefix(s.IpAddressPrefix)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("IpAddressPrefix: %w", err)
	}
	return p, nil
}

// SubnetPolicies decodes the raw policy envelopes of s. The error names the
// policy index.
func (s Subnet) SubnetPolicies() ([]SubnetPolicy, error) {
	out := make([]SubnetPolicy, 0, len(s.Policies))
	for i, raw := range s.Policies {
		var p SubnetPolicy
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, &PolicyError{Path: fmt.Sprintf("Policies[%d]", i), Field: "", Err: jsonErrorText(err)}
		}
		out = append(out, p)
	}
	return out, nil
}

// Ipam is an address space of a network: its type ("Static" or "DHCP"; the
// official schema spells "Dhcp") and subnets.
// Mirrors hcsshim v0.15.0 hcn/hcnnetwork.go:40-43.
type Ipam struct {
	Type    string   `json:",omitempty"` // Ex: Static, DHCP
	Subnets []Subnet `json:",omitempty"`
}

// MacRange is a range of MAC addresses ("00-15-5D-52-C0-00" form).
// Mirrors hcsshim v0.15.0 hcn/hcnnetwork.go:46-49.
type MacRange struct {
	StartMacAddress string `json:",omitempty"`
	EndMacAddress   string `json:",omitempty"`
}

// MacPool is the pool a network allocates endpoint MACs from.
// Mirrors hcsshim v0.15.0 hcn/hcnnetwork.go:52-54.
type MacPool struct {
	Ranges []MacRange `json:",omitempty"`
}

// Dns is the DNS configuration of a network or an endpoint.
// Mirrors hcsshim v0.15.0 hcn/hcnnetwork.go:57-62.
type Dns struct {
	Domain     string   `json:",omitempty"`
	Search     []string `json:",omitempty"`
	ServerList []string `json:",omitempty"`
	Options    []string `json:",omitempty"`
}

// HostComputeNetwork is an HNS network.
//
// DockerOptions is an hnspath extension, not HCN: it records the
// `docker network create` options a network was made with, so that
// Validate can reject those Docker on Windows does not support. hcsshim
// ignores the key, and it is emitted only when set.
// Mirrors hcsshim v0.15.0 hcn/hcnnetwork.go:90-101.
type HostComputeNetwork struct {
	Id            string          `json:"ID,omitempty"`
	Name          string          `json:",omitempty"`
	Type          NetworkType     `json:",omitempty"`
	Policies      []NetworkPolicy `json:",omitempty"`
	MacPool       MacPool         `json:",omitempty"`
	Dns           Dns             `json:",omitempty"`
	Ipams         []Ipam          `json:",omitempty"`
	Flags         NetworkFlags    `json:",omitempty"` // 0: None
	Health        Health          `json:",omitempty"`
	SchemaVersion SchemaVersion   `json:",omitempty"`
	DockerOptions *DockerOptions  `json:",omitempty"` // hnspath extension
}

// UnmarshalJSON decodes a network. As hcsshim does (hcn/hcnnetwork.go:152-155),
// a network without a Type is a NAT network: HNS omits the Type of NAT
// networks (NetworkMode 0) from the JSON it returns. An empty Type means NAT
// too.
func (n *HostComputeNetwork) UnmarshalJSON(b []byte) error {
	type plain HostComputeNetwork
	p := plain(*n)
	if err := json.Unmarshal(b, &p); err != nil {
		return fixPlainError(err, "HostComputeNetwork")
	}
	if p.Type == "" {
		p.Type = NAT
	}
	*n = HostComputeNetwork(p)
	return nil
}

// Subnets returns every subnet of every IPAM of n, in order.
func (n *HostComputeNetwork) Subnets() []Subnet {
	var out []Subnet
	for _, ipam := range n.Ipams {
		out = append(out, ipam.Subnets...)
	}
	return out
}

// Prefixes returns the parsed subnet prefixes of n, skipping subnets whose
// prefix is empty or malformed (Validate reports those).
func (n *HostComputeNetwork) Prefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range n.Subnets() {
		if p, err := s.Prefix(); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// DockerOptions are `docker network create` options an hnspath topology may
// record on a network (an hnspath extension, not HCN). Every option here is
// one that Docker on Windows does not support, per the table "Unsupported
// features and network options" in MicrosoftDocs/Virtualization-Documentation
// virtualization/windowscontainers/container-networking/architecture.md
// (--aux-address, --internal, --ip-range, --ipam-driver, --ipam-opt, --ipv6,
// --opt encrypted); Validate rejects each one that is set.
type DockerOptions struct {
	Internal   bool              `json:",omitempty"` // --internal
	IpRange    string            `json:",omitempty"` // --ip-range
	AuxAddress map[string]string `json:",omitempty"` // --aux-address name=ip
	IpamDriver string            `json:",omitempty"` // --ipam-driver (anything but "default")
	IpamOpt    map[string]string `json:",omitempty"` // --ipam-opt
	EnableIPv6 bool              `json:",omitempty"` // --ipv6
	Encrypted  bool              `json:",omitempty"` // --opt encrypted (overlay IPsec)
}

// natPool is where HNS picks the default nat network's prefix from, and
// natDefaultBits its length: every default nat network in the public real
// samples is a /20 inside 172.16.0.0/12 (172.17.32.0/20, 172.22.16.0/20,
// 172.30.208.0/20, 172.27.144.0/20, 172.31.0.0/20; docs/fidelity.md §5).
var natPool = netip.MustParsePrefix("172.16.0.0/12")

const natDefaultBits = 20

// DefaultNATSubnet returns the subnet HNS gives a nat network created
// without IPAM (Docker's default nat network): a /20 inside 172.16.0.0/12
// with its gateway at .1 as the next hop of the default route. HNS picks a
// free block at random; the model takes the block that holds static, the
// first IPv4 address of one of the network's endpoints, when it lies in the
// pool, else one picked from a hash of the network's name, so that runs
// repeat (a host address inside it makes Validate report the overlap, as
// HNS would for a subnet given by hand).
func DefaultNATSubnet(name string, static netip.Addr) Subnet {
	var p netip.Prefix
	if static.Is4() && natPool.Contains(static) {
		p, _ = static.Prefix(natDefaultBits)
	} else {
		sum := sha1.Sum([]byte(name))
		blocks := uint32(1) << (natDefaultBits - natPool.Bits())
		k := (uint32(sum[0])<<8 | uint32(sum[1])) % blocks
		b := natPool.Addr().As4()
		v := (uint32(b[0])<<24 | uint32(b[1])<<16) + k<<(32-natDefaultBits)
		p = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), natDefaultBits)
	}
	return Subnet{IpAddressPrefix: p.String(), Routes: []Route{{NextHop: p.Addr().Next().String(), DestinationPrefix: "0.0.0.0/0"}}}
}
