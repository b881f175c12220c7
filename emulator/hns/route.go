package hns

import "encoding/json"

// HostComputeRoute is an SDN route applied to endpoints
// (HcnCreateSdnRoute). hcsshim names the route list "Setting"; the official
// schema (HNS_Schema.md "HostComputeRoute") and Microsoft's hns.v2.psm1
// (New-HnsRoute) name it "Routes". Both are accepted on input; "Setting" is
// written. Name is an official-schema extra (HNS_Schema.md "Base").
// Mirrors hcsshim v0.15.0 hcn/hcnroute.go:15-20.
type HostComputeRoute struct {
	ID                   string                  `json:"ID,omitempty"`
	HostComputeEndpoints []string                `json:",omitempty"`
	Setting              []SDNRoutePolicySetting `json:",omitempty"`
	SchemaVersion        SchemaVersion           `json:",omitempty"`
	Name                 string                  `json:",omitempty"` // official schema, not hcsshim
}

// UnmarshalJSON decodes a route, taking the route list from "Routes" when
// "Setting" is absent.
func (r *HostComputeRoute) UnmarshalJSON(b []byte) error {
	type plain HostComputeRoute
	var p struct {
		plain
		Routes []SDNRoutePolicySetting
	}
	p.plain = plain(*r)
	if err := json.Unmarshal(b, &p); err != nil {
		return fixPlainError(err, "HostComputeRoute")
	}
	*r = HostComputeRoute(p.plain)
	if r.Setting == nil {
		r.Setting = p.Routes
	}
	return nil
}
