package hns

import "encoding/json"

// LoadBalancerPortMapping is one frontend port of a load balancer. Protocol
// is an IP protocol number (TCP = 6, UDP = 17); on input the official
// ProtocolType names are accepted too.
// Mirrors hcsshim v0.15.0 hcn/hcnloadbalancer.go:14-20.
type LoadBalancerPortMapping struct {
	Protocol         uint32                       `json:",omitempty"` // EX: TCP = 6, UDP = 17
	InternalPort     uint16                       `json:",omitempty"`
	ExternalPort     uint16                       `json:",omitempty"`
	DistributionType LoadBalancerDistribution     `json:",omitempty"` // EX: Distribute per connection = 0, distribute traffic of the same protocol per client IP = 1, distribute per client IP = 2
	Flags            LoadBalancerPortMappingFlags `json:",omitempty"`
}

// UnmarshalJSON decodes the mapping, accepting protocol names.
func (m *LoadBalancerPortMapping) UnmarshalJSON(b []byte) error {
	type plain LoadBalancerPortMapping
	var p struct {
		plain
		Protocol ProtocolType
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return fixPlainError(err, "LoadBalancerPortMapping")
	}
	*m = LoadBalancerPortMapping(p.plain)
	m.Protocol = uint32(p.Protocol)
	return nil
}

// HostComputeLoadBalancer is an HNS load balancer: FrontendVIPs (or, when
// empty, every host address) and PortMappings spread over the backend
// endpoints HostComputeEndpoints (GUIDs, or endpoint names in hnspath input).
//
// Name is an official-schema field hcsshim lacks (every HCN object derives
// from "Base", which has a Name; HNS_Schema.md "Base"): an hnspath extra that
// gives the load balancer a stable handle and ID.
// Mirrors hcsshim v0.15.0 hcn/hcnloadbalancer.go:23-31.
type HostComputeLoadBalancer struct {
	Id                   string                    `json:"ID,omitempty"`
	HostComputeEndpoints []string                  `json:",omitempty"`
	SourceVIP            string                    `json:",omitempty"`
	FrontendVIPs         []string                  `json:",omitempty"`
	PortMappings         []LoadBalancerPortMapping `json:",omitempty"`
	SchemaVersion        SchemaVersion             `json:",omitempty"`
	Flags                LoadBalancerFlags         `json:",omitempty"` // 0: None, 1: EnableDirectServerReturn
	Name                 string                    `json:",omitempty"` // official schema, not hcsshim
}
