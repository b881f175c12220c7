package hns

import (
	"encoding/json"
	"fmt"
	"net/netip"
)

// IpConfig is an IP address of an endpoint. IpSubnetId is an
// official-schema field hcsshim lacks (HNS_Schema.md "IpConfig", new in 2.3):
// an hnspath extra, emitted only when set.
// Mirrors hcsshim v0.15.0 hcn/hcnendpoint.go:15-18.
type IpConfig struct {
	IpAddress    string `json:",omitempty"`
	PrefixLength uint8  `json:",omitempty"`
	IpSubnetId   string `json:",omitempty"` // official schema, not hcsshim

	// zeroPrefix is set when JSON gave "PrefixLength": 0, which Validate
	// refuses; an absent PrefixLength (also 0 here) takes the subnet's.
	zeroPrefix bool
}

// MarshalJSON encodes an IpConfig, keeping an explicit prefix length 0
// (so that Objects.Clone keeps it for Validate).
func (c IpConfig) MarshalJSON() ([]byte, error) {
	type plain IpConfig
	if !c.zeroPrefix {
		return json.Marshal(plain(c))
	}
	return json.Marshal(struct {
		plain
		PrefixLength uint8
	}{plain: plain(c)})
}

// UnmarshalJSON decodes an IpConfig, noting an explicit prefix length 0.
func (c *IpConfig) UnmarshalJSON(b []byte) error {
	type plain IpConfig
	var p struct {
		plain
		PrefixLength *uint8 `json:",omitempty"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return fixPlainError(err, "IpConfig")
	}
	*c = IpConfig(p.plain)
	if p.PrefixLength != nil {
		c.PrefixLength = *p.PrefixLength
		c.zeroPrefix = *p.PrefixLength == 0
	}
	return nil
}

// Addr parses IpAddress.
func (c IpConfig) Addr() (netip.Addr, error) {
	a, err := netip.ParseAddr(c.IpAddress)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("IpAddress: %w", err)
	}
	return a, nil
}

// HostComputeEndpoint is an HNS endpoint: a container vNIC's port on a
// network. HostComputeNetwork (and HostComputeNamespace) hold the GUID of
// the network (namespace); in hnspath input they may also hold its Name,
// which Objects.Normalize resolves.
// Mirrors hcsshim v0.15.0 hcn/hcnendpoint.go:31-44.
type HostComputeEndpoint struct {
	Id                   string           `json:"ID,omitempty"`
	Name                 string           `json:",omitempty"`
	HostComputeNetwork   string           `json:",omitempty"` // GUID
	HostComputeNamespace string           `json:",omitempty"` // GUID
	Policies             []EndpointPolicy `json:",omitempty"`
	IpConfigurations     []IpConfig       `json:",omitempty"`
	Dns                  Dns              `json:",omitempty"`
	Routes               []Route          `json:",omitempty"`
	MacAddress           string           `json:",omitempty"`
	Flags                EndpointFlags    `json:",omitempty"`
	Health               Health           `json:",omitempty"`
	SchemaVersion        SchemaVersion    `json:",omitempty"`
}

// IsRemote reports whether e is a remote endpoint (an endpoint of another
// host that this host routes to, e.g. one kube-proxy creates for a remote pod).
func (e *HostComputeEndpoint) IsRemote() bool {
	return e.Flags&EndpointFlagsRemoteEndpoint != 0
}

// Addrs returns the parsed addresses of e, skipping malformed ones (Validate
// reports those).
func (e *HostComputeEndpoint) Addrs() []netip.Addr {
	var out []netip.Addr
	for _, c := range e.IpConfigurations {
		if a, err := c.Addr(); err == nil {
			out = append(out, a)
		}
	}
	return out
}
