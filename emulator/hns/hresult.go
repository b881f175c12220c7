package hns

import (
	"fmt"
	"strings"
)

// HResult is an HCN error code, an HRESULT of facility 0x3b. The names and
// descriptions below are Microsoft's table of HCN error codes
// (MicrosoftDocs/Virtualization-Documentation
// virtualization/api/hcn/Reference/HCNHResult.md; saved in
// emulator/hns/testdata/hcn_hresult_codes.md). The
// constants keep the Windows spelling (as hcsshim's hcn/hcnerrors.go does
// for HCN_E_PORT_ALREADY_EXISTS) so they can be grepped against Windows
// output.
type HResult uint32

// HCN HRESULTs (HCNHResult.md).
const (
	HCN_E_NETWORK_NOT_FOUND                 HResult = 0x803b0001
	HCN_E_ENDPOINT_NOT_FOUND                HResult = 0x803b0002
	HCN_E_LAYER_NOT_FOUND                   HResult = 0x803b0003
	HCN_E_SWITCH_NOT_FOUND                  HResult = 0x803b0004
	HCN_E_SUBNET_NOT_FOUND                  HResult = 0x803b0005
	HCN_E_ADAPTER_NOT_FOUND                 HResult = 0x803b0006
	HCN_E_PORT_NOT_FOUND                    HResult = 0x803b0007
	HCN_E_POLICY_NOT_FOUND                  HResult = 0x803b0008
	HCN_E_VFP_PORTSETTING_NOT_FOUND         HResult = 0x803b0009
	HCN_E_INVALID_NETWORK                   HResult = 0x803b000a
	HCN_E_INVALID_NETWORK_TYPE              HResult = 0x803b000b
	HCN_E_INVALID_ENDPOINT                  HResult = 0x803b000c
	HCN_E_INVALID_POLICY                    HResult = 0x803b000d
	HCN_E_INVALID_POLICY_TYPE               HResult = 0x803b000e
	HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION HResult = 0x803b000f
	HCN_E_NETWORK_ALREADY_EXISTS            HResult = 0x803b0010
	HCN_E_LAYER_ALREADY_EXISTS              HResult = 0x803b0011
	HCN_E_POLICY_ALREADY_EXISTS             HResult = 0x803b0012
	HCN_E_PORT_ALREADY_EXISTS               HResult = 0x803b0013
	HCN_E_ENDPOINT_ALREADY_ATTACHED         HResult = 0x803b0014
	HCN_E_REQUEST_UNSUPPORTED               HResult = 0x803b0015
	HCN_E_MAPPING_NOT_SUPPORTED             HResult = 0x803b0016
	HCN_E_DEGRADED_OPERATION                HResult = 0x803b0017
	HCN_E_SHARED_SWITCH_MODIFICATION        HResult = 0x803b0018
	HCN_E_GUID_CONVERSION_FAILURE           HResult = 0x803b0019
	HCN_E_REGKEY_FAILURE                    HResult = 0x803b001a
	HCN_E_INVALID_JSON                      HResult = 0x803b001b
	HCN_E_INVALID_JSON_REFERENCE            HResult = 0x803b001c
	HCN_E_ENDPOINT_SHARING_DISABLED         HResult = 0x803b001d
	HCN_E_INVALID_IP                        HResult = 0x803b001e
	HCN_E_SWITCH_EXTENSION_NOT_FOUND        HResult = 0x803b001f
	HCN_E_MANAGER_STOPPED                   HResult = 0x803b0020
	GCN_E_MODULE_NOT_FOUND                  HResult = 0x803b0021
	GCN_E_NO_REQUEST_HANDLERS               HResult = 0x803b0022
	GCN_E_REQUEST_UNSUPPORTED               HResult = 0x803b0023
	GCN_E_RUNTIMEKEYS_FAILED                HResult = 0x803b0024
	GCN_E_NETADAPTER_TIMEOUT                HResult = 0x803b0025
	GCN_E_NETADAPTER_NOT_FOUND              HResult = 0x803b0026
	GCN_E_NETCOMPARTMENT_NOT_FOUND          HResult = 0x803b0027
	GCN_E_NETINTERFACE_NOT_FOUND            HResult = 0x803b0028
	GCN_E_DEFAULTNAMESPACE_EXISTS           HResult = 0x803b0029
	HCN_E_ICS_DISABLED                      HResult = 0x803b002a
	HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS HResult = 0x803b002b
	HCN_E_ENTITY_HAS_REFERENCES             HResult = 0x803b002c
	HCN_E_INVALID_INTERNAL_PORT             HResult = 0x803b002d
	HCN_E_NAMESPACE_ATTACH_FAILED           HResult = 0x803b002e
	HCN_E_ADDR_INVALID_OR_RESERVED          HResult = 0x803b002f
	HCN_E_INVALID_PREFIX                    HResult = 0x803b0030
	HCN_E_OBJECT_USED_AFTER_UNLOAD          HResult = 0x803b0031
	HCN_E_INVALID_SUBNET                    HResult = 0x803b0032
	HCN_E_INVALID_IP_SUBNET                 HResult = 0x803b0033
	HCN_E_ENDPOINT_NOT_ATTACHED             HResult = 0x803b0034
	HCN_E_ENDPOINT_NOT_LOCAL                HResult = 0x803b0035
	HCN_INTERFACEPARAMETERS_ALREADY_APPLIED HResult = 0x803b0036
	HCN_E_VFP_NOT_ALLOWED                   HResult = 0x803b0037
)

// hresultInfo is the name and description of a code, as Microsoft's table
// gives them.
type hresultInfo struct {
	name, text string
}

var hresults = map[HResult]hresultInfo{
	HCN_E_NETWORK_NOT_FOUND:                 {"HCN_E_NETWORK_NOT_FOUND", "The network was not found"},
	HCN_E_ENDPOINT_NOT_FOUND:                {"HCN_E_ENDPOINT_NOT_FOUND", "The endpoint was not found"},
	HCN_E_LAYER_NOT_FOUND:                   {"HCN_E_LAYER_NOT_FOUND", "The network's underlying layer was not found"},
	HCN_E_SWITCH_NOT_FOUND:                  {"HCN_E_SWITCH_NOT_FOUND", "The virtual switch was not found"},
	HCN_E_SUBNET_NOT_FOUND:                  {"HCN_E_SUBNET_NOT_FOUND", "The network does not have a subnet for this endpoint"},
	HCN_E_ADAPTER_NOT_FOUND:                 {"HCN_E_ADAPTER_NOT_FOUND", "An adapter was not found"},
	HCN_E_PORT_NOT_FOUND:                    {"HCN_E_PORT_NOT_FOUND", "The switch-port was not found"},
	HCN_E_POLICY_NOT_FOUND:                  {"HCN_E_POLICY_NOT_FOUND", "An expected policy was not found"},
	HCN_E_VFP_PORTSETTING_NOT_FOUND:         {"HCN_E_VFP_PORTSETTING_NOT_FOUND", "A required VFP port setting was not found"},
	HCN_E_INVALID_NETWORK:                   {"HCN_E_INVALID_NETWORK", "The provided network configuration is invalid or missing parameters"},
	HCN_E_INVALID_NETWORK_TYPE:              {"HCN_E_INVALID_NETWORK_TYPE", "Invalid network type"},
	HCN_E_INVALID_ENDPOINT:                  {"HCN_E_INVALID_ENDPOINT", "The provided endpoint configuration is invalid or missing parameters"},
	HCN_E_INVALID_POLICY:                    {"HCN_E_INVALID_POLICY", "The provided policy configuration is invalid or missing parameters"},
	HCN_E_INVALID_POLICY_TYPE:               {"HCN_E_INVALID_POLICY_TYPE", "Invalid policy type"},
	HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION: {"HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION", "This requested operation is invalid for a remote endpoint"},
	HCN_E_NETWORK_ALREADY_EXISTS:            {"HCN_E_NETWORK_ALREADY_EXISTS", "A network with this name already exists"},
	HCN_E_LAYER_ALREADY_EXISTS:              {"HCN_E_LAYER_ALREADY_EXISTS", "A network with this name already exists"},
	HCN_E_POLICY_ALREADY_EXISTS:             {"HCN_E_POLICY_ALREADY_EXISTS", "Policy information already exists on this object"},
	HCN_E_PORT_ALREADY_EXISTS:               {"HCN_E_PORT_ALREADY_EXISTS", "The specified port already exists"},
	HCN_E_ENDPOINT_ALREADY_ATTACHED:         {"HCN_E_ENDPOINT_ALREADY_ATTACHED", "This endpoint is already attached to the switch"},
	HCN_E_REQUEST_UNSUPPORTED:               {"HCN_E_REQUEST_UNSUPPORTED", "The specified request is unsupported"},
	HCN_E_MAPPING_NOT_SUPPORTED:             {"HCN_E_MAPPING_NOT_SUPPORTED", "Port mapping is not supported on the given network"},
	HCN_E_DEGRADED_OPERATION:                {"HCN_E_DEGRADED_OPERATION", "There was an operation attempted on a degraded object"},
	HCN_E_SHARED_SWITCH_MODIFICATION:        {"HCN_E_SHARED_SWITCH_MODIFICATION", "Cannot modify a switch shared by multiple networks"},
	HCN_E_GUID_CONVERSION_FAILURE:           {"HCN_E_GUID_CONVERSION_FAILURE", "Failed to interpret a parameter as a GUID"},
	HCN_E_REGKEY_FAILURE:                    {"HCN_E_REGKEY_FAILURE", "Failed to process registry key"},
	HCN_E_INVALID_JSON:                      {"HCN_E_INVALID_JSON", "Invalid JSON document string"},
	HCN_E_INVALID_JSON_REFERENCE:            {"HCN_E_INVALID_JSON_REFERENCE", "The reference is invalid in the JSON document"},
	HCN_E_ENDPOINT_SHARING_DISABLED:         {"HCN_E_ENDPOINT_SHARING_DISABLED", "Endpoint sharing is disabled"},
	HCN_E_INVALID_IP:                        {"HCN_E_INVALID_IP", "IP address is either invalid or not part of any configured subnet(s)"},
	HCN_E_SWITCH_EXTENSION_NOT_FOUND:        {"HCN_E_SWITCH_EXTENSION_NOT_FOUND", "The specified switch extension does not exist on this switch"},
	HCN_E_MANAGER_STOPPED:                   {"HCN_E_MANAGER_STOPPED", "Operation cannot be performed while service is stopping"},
	GCN_E_MODULE_NOT_FOUND:                  {"GCN_E_MODULE_NOT_FOUND", "Operation cannot be performed while service module not found"},
	GCN_E_NO_REQUEST_HANDLERS:               {"GCN_E_NO_REQUEST_HANDLERS", "Request Handlers not present to handle the JSON request"},
	GCN_E_REQUEST_UNSUPPORTED:               {"GCN_E_REQUEST_UNSUPPORTED", "The specified request is unsupported"},
	GCN_E_RUNTIMEKEYS_FAILED:                {"GCN_E_RUNTIMEKEYS_FAILED", "Add runtime keys to container failed"},
	GCN_E_NETADAPTER_TIMEOUT:                {"GCN_E_NETADAPTER_TIMEOUT", "Timeout while waiting for network adapter with the given instance id"},
	GCN_E_NETADAPTER_NOT_FOUND:              {"GCN_E_NETADAPTER_NOT_FOUND", "Network adapter not found for the given instance id"},
	GCN_E_NETCOMPARTMENT_NOT_FOUND:          {"GCN_E_NETCOMPARTMENT_NOT_FOUND", "Network compartment not found for the given id"},
	GCN_E_NETINTERFACE_NOT_FOUND:            {"GCN_E_NETINTERFACE_NOT_FOUND", "Network interface not found for the given id"},
	GCN_E_DEFAULTNAMESPACE_EXISTS:           {"GCN_E_DEFAULTNAMESPACE_EXISTS", "Default Namespace already exists"},
	HCN_E_ICS_DISABLED:                      {"HCN_E_ICS_DISABLED", "Internet Connection Sharing service (SharedAccess) is disabled and cannot be started"},
	HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS: {"HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS", "This requested operation is invalid as endpoint is already part of a network namespace"},
	HCN_E_ENTITY_HAS_REFERENCES:             {"HCN_E_ENTITY_HAS_REFERENCES", "The specified entity cannot be removed while it still has references"},
	HCN_E_INVALID_INTERNAL_PORT:             {"HCN_E_INVALID_INTERNAL_PORT", "The internal port must exist and cannot be zero"},
	HCN_E_NAMESPACE_ATTACH_FAILED:           {"HCN_E_NAMESPACE_ATTACH_FAILED", "The requested operation for attach namespace failed"},
	HCN_E_ADDR_INVALID_OR_RESERVED:          {"HCN_E_ADDR_INVALID_OR_RESERVED", "An address provided is invalid or reserved"},
	HCN_E_INVALID_PREFIX:                    {"HCN_E_INVALID_PREFIX", "The prefix provided is invalid"},
	HCN_E_OBJECT_USED_AFTER_UNLOAD:          {"HCN_E_OBJECT_USED_AFTER_UNLOAD", "A call was performed against an object that was torn down"},
	HCN_E_INVALID_SUBNET:                    {"HCN_E_INVALID_SUBNET", "The provided subnet configuration is invalid or missing parameters"},
	// Microsoft's table has "he provided ..." (a typo) for this one.
	HCN_E_INVALID_IP_SUBNET:                 {"HCN_E_INVALID_IP_SUBNET", "he provided IP subnet configuration is invalid or missing parameters"},
	HCN_E_ENDPOINT_NOT_ATTACHED:             {"HCN_E_ENDPOINT_NOT_ATTACHED", "The endpoint must be attached to complete the operation"},
	HCN_E_ENDPOINT_NOT_LOCAL:                {"HCN_E_ENDPOINT_NOT_LOCAL", "The endpoint must be local to complete the operation"},
	HCN_INTERFACEPARAMETERS_ALREADY_APPLIED: {"HCN_INTERFACEPARAMETERS_ALREADY_APPLIED", "Cannot apply more than one InterfaceParameters policy"},
	HCN_E_VFP_NOT_ALLOWED:                   {"HCN_E_VFP_NOT_ALLOWED", "A network of this type can not be created because VFP is not available"},
}

// Name returns the Windows name of h (e.g. "HCN_E_INVALID_POLICY"), or its
// hex value when it is not an HCN code.
func (h HResult) Name() string {
	if i, ok := hresults[h]; ok {
		return i.name
	}
	return fmt.Sprintf("0x%08x", uint32(h))
}

// Text returns Microsoft's description of h ("The provided policy
// configuration is invalid or missing parameters"), or "" when unknown.
func (h HResult) Text() string { return hresults[h].text }

// String returns "NAME (0x803b000d)".
func (h HResult) String() string { return fmt.Sprintf("%s (0x%08x)", h.Name(), uint32(h)) }

// Error is one problem with an HNS object, as HNS would report it: the
// HRESULT, the object, the field path and our explanation.
type Error struct {
	Code   HResult
	Kind   string // "network", "endpoint", "loadbalancer", "namespace", "route" or "host"
	Object string // the object's name, else its ID, else "#index"; empty for host-wide problems
	Field  string // e.g. "Policies[2] (PortMapping).Settings.ExternalPort"; empty for the whole object
	Msg    string // what is wrong, in hnspath's words
}

// Error formats e as
//
//	endpoint "web": Policies[2] (PortMapping): Settings.ExternalPort: external port 8080/TCP is already used by endpoint "api" (HCN_E_PORT_ALREADY_EXISTS 0x803b0013: The specified port already exists)
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind)
	if e.Object != "" {
		b.WriteString(" ")
		if strings.HasPrefix(e.Object, "#") || looksLikeGUID(e.Object) {
			b.WriteString(e.Object)
		} else {
			fmt.Fprintf(&b, "%q", e.Object)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	fmt.Fprintf(&b, " (%s 0x%08x: %s)", e.Code.Name(), uint32(e.Code), e.Code.Text())
	return b.String()
}

// ValidationError lists every problem found in a set of objects.
type ValidationError struct {
	Problems []*Error
}

// maxListed is how many problems ValidationError.Error lists (all are in
// Problems).
const maxListed = 20

// Error lists the problems, one per line after a summary, at most 20 of them.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hns: %d problem", len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	for i, p := range e.Problems {
		if i == maxListed {
			fmt.Fprintf(&b, "\n\t... and %d more", len(e.Problems)-maxListed)
			break
		}
		b.WriteString("\n\t")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns the problems, so that errors.As finds each *Error.
func (e *ValidationError) Unwrap() []error {
	out := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p
	}
	return out
}

// Has reports whether some problem has code h.
func (e *ValidationError) Has(h HResult) bool {
	for _, p := range e.Problems {
		if p.Code == h {
			return true
		}
	}
	return false
}

// problems collects Errors; its zero value is ready to use.
type problems struct {
	list []*Error
	// settled lists "kind/object/field" keys that already have a problem
	// from an earlier stage (Normalize); later stages do not report the
	// same field again.
	settled map[string]bool
}

func (ps *problems) add(code HResult, kind, object, field, format string, args ...any) {
	if ps.settled[kind+"/"+object+"/"+field] {
		return
	}
	ps.list = append(ps.list, &Error{Code: code, Kind: kind, Object: object, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// settle adds earlier problems and marks their fields as reported.
func (ps *problems) settle(earlier []*Error) {
	if ps.settled == nil {
		ps.settled = map[string]bool{}
	}
	for _, p := range earlier {
		ps.list = append(ps.list, p)
		ps.settled[p.Kind+"/"+p.Object+"/"+p.Field] = true
	}
}

// err returns the collected problems as a *ValidationError, or nil.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps.list}
}
