package hns

import (
	"encoding/json"
	"fmt"
)

// NamespaceResourceEndpoint is the Data of a namespace resource of type
// Endpoint. Mirrors hcsshim v0.15.0 hcn/hcnnamespace.go:20-22.
type NamespaceResourceEndpoint struct {
	Id string `json:"ID"`
}

// NamespaceResourceContainer is the Data of a namespace resource of type
// Container. Mirrors hcsshim v0.15.0 hcn/hcnnamespace.go:25-27.
type NamespaceResourceContainer struct {
	Id string `json:"ID"`
}

// NamespaceResourceType is the kind of a namespace resource.
// Mirrors hcsshim v0.15.0 hcn/hcnnamespace.go:30.
type NamespaceResourceType string

// NamespaceResourceType values (hcsshim v0.15.0 hcn/hcnnamespace.go:32-37).
const (
	NamespaceResourceTypeContainer NamespaceResourceType = "Container"
	NamespaceResourceTypeEndpoint  NamespaceResourceType = "Endpoint"
)

// NamespaceResource is an endpoint or container in a namespace.
// Mirrors hcsshim v0.15.0 hcn/hcnnamespace.go:40-43.
type NamespaceResource struct {
	Type NamespaceResourceType `json:""` // Container, Endpoint
	Data json.RawMessage       `json:""`
}

// ID decodes the ID of the endpoint or container in r.Data.
func (r NamespaceResource) ID() (string, error) {
	var d NamespaceResourceEndpoint // same shape as NamespaceResourceContainer
	if err := json.Unmarshal(r.Data, &d); err != nil {
		return "", fmt.Errorf("Data: %w", jsonErrorText(err))
	}
	return d.Id, nil
}

// NamespaceType says whether a namespace belongs to the host or a guest.
// Mirrors hcsshim v0.15.0 hcn/hcnnamespace.go:46.
type NamespaceType string

// NamespaceType values (hcsshim v0.15.0 hcn/hcnnamespace.go:48-57).
const (
	NamespaceTypeHost         NamespaceType = "Host"
	NamespaceTypeHostDefault  NamespaceType = "HostDefault"
	NamespaceTypeGuest        NamespaceType = "Guest"
	NamespaceTypeGuestDefault NamespaceType = "GuestDefault"
)

// HostComputeNamespace is a network namespace (a compartment): the endpoints
// of one container or pod. NamespaceId is the compartment ID. Name is an
// official-schema field hcsshim lacks (HNS_Schema.md "Base"): an hnspath
// extra so that endpoints can name their namespace.
// Mirrors hcsshim v0.15.0 hcn/hcnnamespace.go:60-66.
type HostComputeNamespace struct {
	Id            string              `json:"ID,omitempty"`
	NamespaceId   uint32              `json:",omitempty"`
	Type          NamespaceType       `json:",omitempty"` // Host, HostDefault, Guest, GuestDefault
	Resources     []NamespaceResource `json:",omitempty"`
	SchemaVersion SchemaVersion       `json:",omitempty"`
	Name          string              `json:",omitempty"` // official schema, not hcsshim
}
