package hns

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Typed decoding of policy Settings. A policy is {"Type": ..., "Settings":
// {...}}; the Type picks the settings struct. DecodeSettings on a policy
// returns that struct (as a value, e.g. PortMappingPolicySetting); the typed
// accessors (EndpointPolicy.PortMapping, ...) check the Type and decode. A
// policy whose Type has no settings struct in hcsshim (L2Driver, Encryption)
// decodes to its raw json.RawMessage. An unknown Type is an error.

// endpointSettingsTypes maps each known endpoint policy type to its settings
// struct; nil means "no struct, keep raw".
var endpointSettingsTypes = map[EndpointPolicyType]reflect.Type{
	PortMapping:                reflect.TypeFor[PortMappingPolicySetting](),
	ACL:                        reflect.TypeFor[AclPolicySetting](),
	QOS:                        reflect.TypeFor[QosPolicySetting](),
	L2Driver:                   nil,
	OutBoundNAT:                reflect.TypeFor[OutboundNatPolicySetting](),
	SDNRoute:                   reflect.TypeFor[SDNRoutePolicySetting](),
	L4Proxy:                    reflect.TypeFor[L4ProxyPolicySetting](),
	L4WFPPROXY:                 reflect.TypeFor[L4WfpProxyPolicySetting](),
	PortName:                   reflect.TypeFor[PortnameEndpointPolicySetting](),
	EncapOverhead:              reflect.TypeFor[EncapOverheadEndpointPolicySetting](),
	IOV:                        reflect.TypeFor[IovPolicySetting](),
	NetworkProviderAddress:     reflect.TypeFor[ProviderAddressEndpointPolicySetting](),
	NetworkInterfaceConstraint: reflect.TypeFor[InterfaceConstraintPolicySetting](),
	TierAcl:                    reflect.TypeFor[TierAclPolicySetting](),
	Encryption:                 nil,
	EndpointVLAN:               reflect.TypeFor[VlanPolicySetting](),
	InterfaceParameters:        reflect.TypeFor[InterfaceParametersPolicySetting](),
}

// networkSettingsTypes maps each known network policy type to its settings struct.
var networkSettingsTypes = map[NetworkPolicyType]reflect.Type{
	SourceMacAddress:    reflect.TypeFor[SourceMacAddressNetworkPolicySetting](),
	NetAdapterName:      reflect.TypeFor[NetAdapterNameNetworkPolicySetting](),
	VSwitchExtension:    reflect.TypeFor[VSwitchExtensionNetworkPolicySetting](),
	DrMacAddress:        reflect.TypeFor[DrMacAddressNetworkPolicySetting](),
	AutomaticDNS:        reflect.TypeFor[AutomaticDNSNetworkPolicySetting](),
	InterfaceConstraint: reflect.TypeFor[InterfaceConstraintPolicySetting](),
	ProviderAddress:     reflect.TypeFor[ProviderAddressNetworkPolicySetting](),
	RemoteSubnetRoute:   reflect.TypeFor[RemoteSubnetRoutePolicySetting](),
	VxlanPort:           reflect.TypeFor[VxlanPortPolicySetting](),
	HostRoute:           reflect.TypeFor[HostRoutePolicySetting](),
	SetPolicy:           reflect.TypeFor[SetPolicySetting](),
	NetworkL4Proxy:      reflect.TypeFor[L4ProxyPolicySetting](),
	LayerConstraint:     reflect.TypeFor[LayerConstraintNetworkPolicySetting](),
	NetworkACL:          reflect.TypeFor[NetworkACLPolicySetting](),
	NeighborDiscovery:   reflect.TypeFor[NeighborDiscoveryPolicySetting](),
}

// subnetSettingsTypes maps each known subnet policy type to its settings struct.
var subnetSettingsTypes = map[SubnetPolicyType]reflect.Type{
	VLAN: reflect.TypeFor[VlanPolicySetting](),
	VSID: reflect.TypeFor[VsidPolicySetting](),
}

// PolicyError is an error in one policy of an object, e.g.
//
//	endpoint "web": Policies[2] (PortMapping): Settings.ExternalPort: cannot decode number 70000 as uint16
type PolicyError struct {
	Object string // the object, e.g. `endpoint "web"`; empty when not known
	Path   string // where the policy is, e.g. "Policies[2]" or "Ipams[0].Subnets[1].Policies[0]"
	Type   string // the policy Type
	Field  string // e.g. "Settings.ExternalPort"; empty for the policy as a whole
	Err    error
}

// Error formats the error as "object: path (Type): field: err".
func (e *PolicyError) Error() string {
	var parts []string
	if e.Object != "" {
		parts = append(parts, e.Object)
	}
	loc := e.Path
	if e.Type != "" {
		if loc != "" {
			loc += " "
		}
		loc += "(" + e.Type + ")"
	}
	if loc == "" {
		loc = "policy"
	}
	parts = append(parts, loc)
	if e.Field != "" {
		parts = append(parts, e.Field)
	}
	parts = append(parts, fmt.Sprint(e.Err))
	return strings.Join(parts, ": ")
}

// Unwrap returns the underlying error.
func (e *PolicyError) Unwrap() error { return e.Err }

// jsonError is a decoding error restated without encoding/json's Go type
// jargon; it unwraps to the original error.
type jsonError struct {
	msg string
	err error
}

func (e *jsonError) Error() string { return e.msg }
func (e *jsonError) Unwrap() error { return e.err }

// splitJSONError returns the JSON field path an encoding/json error is about
// (e.g. "ExternalPort" or "TierAclRules.Priority"; empty when unknown) and
// the error restated.
func splitJSONError(err error) (string, error) {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		typ := "this field"
		if te.Type != nil {
			typ = te.Type.String()
			typ = strings.TrimPrefix(typ, "hns.")
		}
		return te.Field, &jsonError{msg: "cannot decode " + te.Value + " as " + typ, err: err}
	case errors.As(err, &se):
		return "", &jsonError{msg: fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: ")), err: err}
	}
	return "", err
}

// fixPlainError repairs the field path of a decoding error raised inside an
// UnmarshalJSON method that decodes into a local "plain" copy of its type
// (possibly embedded in a wrapper struct): the path then starts with
// "plain." and names "plain" as the struct.
func fixPlainError(err error, structName string) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		te.Field = strings.TrimPrefix(te.Field, "plain.")
		if te.Struct == "plain" || te.Struct == "" {
			te.Struct = structName
		}
	}
	return err
}

// jsonErrorText restates an encoding/json error as "field: message".
func jsonErrorText(err error) error {
	field, e := splitJSONError(err)
	if field == "" {
		return e
	}
	return &jsonError{msg: field + ": " + e.Error(), err: err}
}

// decodeSettingsValue decodes raw into a new value of type t. An empty or
// null raw decodes to the zero value. The error is a *PolicyError with Field
// set ("Settings" or "Settings.<path>").
func decodeSettingsValue(t reflect.Type, raw json.RawMessage, policyType string) (any, error) {
	if t == nil {
		return raw, nil
	}
	v := reflect.New(t)
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, v.Interface()); err != nil {
			field, e := splitJSONError(err)
			f := "Settings"
			if field != "" {
				f += "." + field
			}
			return nil, &PolicyError{Type: policyType, Field: f, Err: e}
		}
	}
	return v.Elem().Interface(), nil
}

// DecodeSettings decodes raw policy settings into a T. An empty or null raw
// gives the zero T. The error is a *PolicyError naming the field.
func DecodeSettings[T any](raw json.RawMessage) (T, error) {
	v, err := decodeSettingsValue(reflect.TypeFor[T](), raw, "")
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

func settingsAs[T any, P ~string](got, want P, raw json.RawMessage) (T, error) {
	if got != want {
		var zero T
		return zero, &PolicyError{Type: string(got), Err: fmt.Errorf("policy type is %q, not %q", got, want)}
	}
	v, err := decodeSettingsValue(reflect.TypeFor[T](), raw, string(got))
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// errUnknownPolicyType is wrapped by the error for a policy Type we do not know.
var errUnknownPolicyType = errors.New("unknown policy type")

// DecodeSettings decodes p.Settings into the settings struct of p.Type and
// returns it as a value (e.g. PortMappingPolicySetting), or the raw JSON for
// types without a struct (L2Driver, Encryption). An unknown Type is an error
// wrapping errUnknownPolicyType.
func (p EndpointPolicy) DecodeSettings() (any, error) {
	t, ok := endpointSettingsTypes[p.Type]
	if !ok {
		return nil, &PolicyError{Type: string(p.Type), Err: fmt.Errorf("%w for an endpoint", errUnknownPolicyType)}
	}
	return decodeSettingsValue(t, p.Settings, string(p.Type))
}

// DecodeSettings decodes p.Settings into the settings struct of p.Type. An
// unknown Type is an error.
func (p NetworkPolicy) DecodeSettings() (any, error) {
	t, ok := networkSettingsTypes[p.Type]
	if !ok {
		return nil, &PolicyError{Type: string(p.Type), Err: fmt.Errorf("%w for a network", errUnknownPolicyType)}
	}
	return decodeSettingsValue(t, p.Settings, string(p.Type))
}

// DecodeSettings decodes p.Settings into the settings struct of p.Type. An
// unknown Type is an error.
func (p SubnetPolicy) DecodeSettings() (any, error) {
	t, ok := subnetSettingsTypes[p.Type]
	if !ok {
		return nil, &PolicyError{Type: string(p.Type), Err: fmt.Errorf("%w for a subnet", errUnknownPolicyType)}
	}
	return decodeSettingsValue(t, p.Settings, string(p.Type))
}

// DecodePolicies decodes the settings of every policy of e. It returns one
// value per policy (see EndpointPolicy.DecodeSettings) and all errors joined,
// each a *PolicyError naming the endpoint and the policy index.
func (e *HostComputeEndpoint) DecodePolicies() ([]any, error) {
	out := make([]any, len(e.Policies))
	var errs []error
	for i, p := range e.Policies {
		v, err := p.DecodeSettings()
		if err != nil {
			errs = append(errs, placePolicyError(err, describe("endpoint", e.Name, e.Id, -1), fmt.Sprintf("Policies[%d]", i)))
			continue
		}
		out[i] = v
	}
	return out, errors.Join(errs...)
}

// DecodePolicies decodes the settings of every network policy of n; see
// HostComputeEndpoint.DecodePolicies.
func (n *HostComputeNetwork) DecodePolicies() ([]any, error) {
	out := make([]any, len(n.Policies))
	var errs []error
	for i, p := range n.Policies {
		v, err := p.DecodeSettings()
		if err != nil {
			errs = append(errs, placePolicyError(err, describe("network", n.Name, n.Id, -1), fmt.Sprintf("Policies[%d]", i)))
			continue
		}
		out[i] = v
	}
	return out, errors.Join(errs...)
}

// placePolicyError fills in the object and path of a *PolicyError.
func placePolicyError(err error, object, path string) error {
	var pe *PolicyError
	if errors.As(err, &pe) {
		cp := *pe
		cp.Object, cp.Path = object, path
		return &cp
	}
	return &PolicyError{Object: object, Path: path, Err: err}
}

// describe names an object for messages: `kind "name"`, else `kind <id>`,
// else `kind #index` (index >= 0), else just kind.
func describe(kind, name, id string, index int) string {
	switch {
	case name != "":
		return fmt.Sprintf("%s %q", kind, name)
	case id != "":
		return kind + " " + id
	case index >= 0:
		return fmt.Sprintf("%s #%d", kind, index)
	}
	return kind
}

// Typed accessors for endpoint policies. Each checks p.Type.

// PortMapping decodes the settings of a PortMapping policy.
func (p EndpointPolicy) PortMapping() (PortMappingPolicySetting, error) {
	return settingsAs[PortMappingPolicySetting](p.Type, PortMapping, p.Settings)
}

// ACL decodes the settings of an ACL policy.
func (p EndpointPolicy) ACL() (AclPolicySetting, error) {
	return settingsAs[AclPolicySetting](p.Type, ACL, p.Settings)
}

// QOS decodes the settings of a QOS policy.
func (p EndpointPolicy) QOS() (QosPolicySetting, error) {
	return settingsAs[QosPolicySetting](p.Type, QOS, p.Settings)
}

// OutBoundNAT decodes the settings of an OutBoundNAT policy.
func (p EndpointPolicy) OutBoundNAT() (OutboundNatPolicySetting, error) {
	return settingsAs[OutboundNatPolicySetting](p.Type, OutBoundNAT, p.Settings)
}

// SDNRoute decodes the settings of an SDNRoute policy.
func (p EndpointPolicy) SDNRoute() (SDNRoutePolicySetting, error) {
	return settingsAs[SDNRoutePolicySetting](p.Type, SDNRoute, p.Settings)
}

// L4Proxy decodes the settings of an endpoint L4Proxy policy.
func (p EndpointPolicy) L4Proxy() (L4ProxyPolicySetting, error) {
	return settingsAs[L4ProxyPolicySetting](p.Type, L4Proxy, p.Settings)
}

// L4WFPProxy decodes the settings of an L4WFPPROXY policy.
func (p EndpointPolicy) L4WFPProxy() (L4WfpProxyPolicySetting, error) {
	return settingsAs[L4WfpProxyPolicySetting](p.Type, L4WFPPROXY, p.Settings)
}

// PortName decodes the settings of a PortName policy.
func (p EndpointPolicy) PortName() (PortnameEndpointPolicySetting, error) {
	return settingsAs[PortnameEndpointPolicySetting](p.Type, PortName, p.Settings)
}

// EncapOverhead decodes the settings of an EncapOverhead policy.
func (p EndpointPolicy) EncapOverhead() (EncapOverheadEndpointPolicySetting, error) {
	return settingsAs[EncapOverheadEndpointPolicySetting](p.Type, EncapOverhead, p.Settings)
}

// Iov decodes the settings of an Iov policy.
func (p EndpointPolicy) Iov() (IovPolicySetting, error) {
	return settingsAs[IovPolicySetting](p.Type, IOV, p.Settings)
}

// ProviderAddress decodes the settings of an endpoint ProviderAddress policy.
func (p EndpointPolicy) ProviderAddress() (ProviderAddressEndpointPolicySetting, error) {
	return settingsAs[ProviderAddressEndpointPolicySetting](p.Type, NetworkProviderAddress, p.Settings)
}

// InterfaceConstraint decodes the settings of an endpoint InterfaceConstraint policy.
func (p EndpointPolicy) InterfaceConstraint() (InterfaceConstraintPolicySetting, error) {
	return settingsAs[InterfaceConstraintPolicySetting](p.Type, NetworkInterfaceConstraint, p.Settings)
}

// TierAcl decodes the settings of a TierAcl policy.
func (p EndpointPolicy) TierAcl() (TierAclPolicySetting, error) {
	return settingsAs[TierAclPolicySetting](p.Type, TierAcl, p.Settings)
}

// VLAN decodes the settings of an endpoint VLAN policy (official schema).
func (p EndpointPolicy) VLAN() (VlanPolicySetting, error) {
	return settingsAs[VlanPolicySetting](p.Type, EndpointVLAN, p.Settings)
}

// InterfaceParameters decodes the settings of an InterfaceParameters policy (official schema).
func (p EndpointPolicy) InterfaceParameters() (InterfaceParametersPolicySetting, error) {
	return settingsAs[InterfaceParametersPolicySetting](p.Type, InterfaceParameters, p.Settings)
}

// Typed accessors for network policies. Each checks p.Type.

// SourceMacAddress decodes the settings of a SourceMacAddress policy.
func (p NetworkPolicy) SourceMacAddress() (SourceMacAddressNetworkPolicySetting, error) {
	return settingsAs[SourceMacAddressNetworkPolicySetting](p.Type, SourceMacAddress, p.Settings)
}

// NetAdapterName decodes the settings of a NetAdapterName policy.
func (p NetworkPolicy) NetAdapterName() (NetAdapterNameNetworkPolicySetting, error) {
	return settingsAs[NetAdapterNameNetworkPolicySetting](p.Type, NetAdapterName, p.Settings)
}

// VSwitchExtension decodes the settings of a VSwitchExtension policy.
func (p NetworkPolicy) VSwitchExtension() (VSwitchExtensionNetworkPolicySetting, error) {
	return settingsAs[VSwitchExtensionNetworkPolicySetting](p.Type, VSwitchExtension, p.Settings)
}

// DrMacAddress decodes the settings of a DrMacAddress policy.
func (p NetworkPolicy) DrMacAddress() (DrMacAddressNetworkPolicySetting, error) {
	return settingsAs[DrMacAddressNetworkPolicySetting](p.Type, DrMacAddress, p.Settings)
}

// AutomaticDNS decodes the settings of an AutomaticDNS policy.
func (p NetworkPolicy) AutomaticDNS() (AutomaticDNSNetworkPolicySetting, error) {
	return settingsAs[AutomaticDNSNetworkPolicySetting](p.Type, AutomaticDNS, p.Settings)
}

// InterfaceConstraint decodes the settings of a network InterfaceConstraint policy.
func (p NetworkPolicy) InterfaceConstraint() (InterfaceConstraintPolicySetting, error) {
	return settingsAs[InterfaceConstraintPolicySetting](p.Type, InterfaceConstraint, p.Settings)
}

// ProviderAddress decodes the settings of a network ProviderAddress policy.
func (p NetworkPolicy) ProviderAddress() (ProviderAddressNetworkPolicySetting, error) {
	return settingsAs[ProviderAddressNetworkPolicySetting](p.Type, ProviderAddress, p.Settings)
}

// RemoteSubnetRoute decodes the settings of a RemoteSubnetRoute policy.
func (p NetworkPolicy) RemoteSubnetRoute() (RemoteSubnetRoutePolicySetting, error) {
	return settingsAs[RemoteSubnetRoutePolicySetting](p.Type, RemoteSubnetRoute, p.Settings)
}

// VxlanPort decodes the settings of a VxlanPort policy.
func (p NetworkPolicy) VxlanPort() (VxlanPortPolicySetting, error) {
	return settingsAs[VxlanPortPolicySetting](p.Type, VxlanPort, p.Settings)
}

// HostRoute decodes the (empty) settings of a HostRoute policy.
func (p NetworkPolicy) HostRoute() (HostRoutePolicySetting, error) {
	return settingsAs[HostRoutePolicySetting](p.Type, HostRoute, p.Settings)
}

// SetPolicy decodes the settings of a SetPolicy policy.
func (p NetworkPolicy) SetPolicy() (SetPolicySetting, error) {
	return settingsAs[SetPolicySetting](p.Type, SetPolicy, p.Settings)
}

// L4Proxy decodes the settings of a network L4Proxy policy.
func (p NetworkPolicy) L4Proxy() (L4ProxyPolicySetting, error) {
	return settingsAs[L4ProxyPolicySetting](p.Type, NetworkL4Proxy, p.Settings)
}

// LayerConstraint decodes the settings of a LayerConstraint policy.
func (p NetworkPolicy) LayerConstraint() (LayerConstraintNetworkPolicySetting, error) {
	return settingsAs[LayerConstraintNetworkPolicySetting](p.Type, LayerConstraint, p.Settings)
}

// NetworkACL decodes the settings of a NetworkACL policy.
func (p NetworkPolicy) NetworkACL() (NetworkACLPolicySetting, error) {
	return settingsAs[NetworkACLPolicySetting](p.Type, NetworkACL, p.Settings)
}

// NeighborDiscovery decodes the settings of a NeighborDiscovery policy.
func (p NetworkPolicy) NeighborDiscovery() (NeighborDiscoveryPolicySetting, error) {
	return settingsAs[NeighborDiscoveryPolicySetting](p.Type, NeighborDiscovery, p.Settings)
}

// Typed accessors for subnet policies.

// VLAN decodes the settings of a subnet VLAN policy.
func (p SubnetPolicy) VLAN() (VlanPolicySetting, error) {
	return settingsAs[VlanPolicySetting](p.Type, VLAN, p.Settings)
}

// VSID decodes the settings of a subnet VSID policy.
func (p SubnetPolicy) VSID() (VsidPolicySetting, error) {
	return settingsAs[VsidPolicySetting](p.Type, VSID, p.Settings)
}

// MarshalSettings returns settings as raw JSON for a policy envelope. It is
// a convenience for building objects in Go.
func MarshalSettings(settings any) (json.RawMessage, error) {
	b, err := json.Marshal(settings)
	if err != nil {
		return nil, fmt.Errorf("marshal policy settings: %w", err)
	}
	return b, nil
}
