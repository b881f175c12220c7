package windows

import (
	"errors"
)

// HCN is what the backend asks of the Host Compute Network service. The real adapter
// (hcn_windows.go) calls hcsshim v0.15.0's hcn package; the tests use a fake. Objects
// are passed as HCN v2 JSON (the plan's Call.JSON) and named by their HNS IDs.
type HCN interface {
	// CreateNetwork creates a network and returns its ID.
	CreateNetwork(js []byte) (id string, err error)
	// CreateNamespace creates a namespace and returns its ID and its NamespaceId (the
	// network compartment; 0 until a container starts in a Host namespace).
	CreateNamespace(js []byte) (id string, compartment uint32, err error)
	// CreateEndpoint creates an endpoint on network networkID.
	CreateEndpoint(js []byte, networkID string) (id string, err error)
	// CreateLoadBalancer creates a load balancer over the endpoints.
	CreateLoadBalancer(js []byte, endpointIDs []string) (id string, err error)
	// UpdateLoadBalancer replaces a load balancer's backends (HcnModifyLoadBalancer;
	// only when Features().ModifyLoadBalancer).
	UpdateLoadBalancer(id string, endpointIDs []string) error
	// AddNamespaceEndpoint and RemoveNamespaceEndpoint attach and detach an endpoint.
	AddNamespaceEndpoint(namespaceID, endpointID string) error
	RemoveNamespaceEndpoint(namespaceID, endpointID string) error
	// Delete deletes the object of kind (hns.KindNetwork, ...) with ID id.
	Delete(kind, id string) error
	// Get reads an object back; an object that does not exist gives an error for which
	// NotFound is true.
	Get(kind, id string) (Object, error)
	// List lists the objects of a kind.
	List(kind string) ([]Object, error)
	// Features returns what this host's HNS supports.
	Features() (Features, error)
	// ErrorCode returns the Win32/HRESULT code an error carries (an *hcn.HcnError's), if
	// it carries one.
	ErrorCode(err error) (code uint32, ok bool)
}

// Object is an HNS object as the backend reads it back.
type Object struct {
	Kind, ID, Name string
	// Compartment is a namespace's NamespaceId.
	Compartment uint32
	// Endpoints are a namespace's or load balancer's endpoints (IDs).
	Endpoints []string
	// MAC and IPv4 are an endpoint's ("00-15-5D-..." as HNS prints it, or with colons).
	MAC  string
	IPv4 []string
	// JSON is the object as HNS returned it, when the adapter has it.
	JSON []byte
}

// Features are the HNS features the backend depends on (hcn.GetSupportedFeatures).
type Features struct {
	// Version is HNS's version, e.g. "13.3".
	Major, Minor int
	// ModifyLoadBalancer: HcnModifyLoadBalancer works (HNS >= 15.4,
	// hcn.ModifyLoadbalancerSupported); otherwise an update deletes and re-creates.
	ModifyLoadBalancer bool
	// DSR: load balancers may set EnableDirectServerReturn (hcn.DSRSupported).
	DSR bool
}

// ErrNotFound is what adapters wrap when a lookup found nothing.
var ErrNotFound = errors.New("not found")

// notFoundCodes are the codes with which HNS says an object is gone: ERROR_NOT_FOUND
// (hcsshim v0.15.0 hcn/hcnerrors.go ERROR_NOT_FOUND, what IsElementNotFoundError checks),
// ERROR_FILE_NOT_FOUND, and HCN_E_NETWORK_NOT_FOUND, HCN_E_ENDPOINT_NOT_FOUND,
// HCN_E_PORT_NOT_FOUND, HCN_E_POLICY_NOT_FOUND (MicrosoftDocs HCN HRESULT table). HNS
// reports a delete of a missing object as an *hcn.HcnError carrying one of them, which
// hcn.IsNotFoundError does not recognise: it only knows hcsshim's own *NotFoundError types
// and *hcserror.HcsError, and an *HcnError is neither nor unwraps to one.
var notFoundCodes = map[uint32]string{
	1168:       "ERROR_NOT_FOUND",
	2:          "ERROR_FILE_NOT_FOUND",
	0x803b0001: "HCN_E_NETWORK_NOT_FOUND",
	0x803b0002: "HCN_E_ENDPOINT_NOT_FOUND",
	0x803b0007: "HCN_E_PORT_NOT_FOUND",
	0x803b0008: "HCN_E_POLICY_NOT_FOUND",
	0x80070490: "HRESULT_FROM_WIN32(ERROR_NOT_FOUND)",
}

// NotFoundCodes returns the codes counted as "not found", for the adapters.
func NotFoundCodes() []uint32 {
	out := make([]uint32, 0, len(notFoundCodes))
	for c := range notFoundCodes {
		out = append(out, c)
	}
	return out
}

// isNotFound reports whether err says an object does not exist: wrapped ErrNotFound, or
// a code in notFoundCodes.
func isNotFound(h HCN, err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrNotFound) {
		return true
	}
	if code, ok := h.ErrorCode(err); ok {
		_, nf := notFoundCodes[code]
		return nf
	}
	return false
}

// deleteGone deletes an object; an object that is already gone counts as deleted: by
// the error's code, or, when the code says nothing, by looking the object up.
func deleteGone(h HCN, kind, id string) error {
	err := h.Delete(kind, id)
	if err == nil || isNotFound(h, err) {
		return nil
	}
	if _, gerr := h.Get(kind, id); gerr != nil && isNotFound(h, gerr) {
		return nil
	}
	return err
}

// detachGone detaches an endpoint; an endpoint, namespace or attachment that is already
// gone counts as detached.
func detachGone(h HCN, kind, ns, ep string) error {
	err := h.RemoveNamespaceEndpoint(ns, ep)
	if err == nil || isNotFound(h, err) {
		return nil
	}
	if o, gerr := h.Get(kind, ns); gerr != nil && isNotFound(h, gerr) {
		return nil
	} else if gerr == nil {
		attached := false
		for _, e := range o.Endpoints {
			if equalID(e, ep) {
				attached = true
			}
		}
		if !attached {
			return nil
		}
	}
	return err
}

// equalID compares two GUIDs ignoring case and braces.
func equalID(a, b string) bool {
	return normID(a) == normID(b)
}

func normID(s string) string {
	b := []byte(s)
	out := b[:0]
	for _, c := range b {
		switch {
		case c == '{' || c == '}':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		out = append(out, c)
	}
	return string(out)
}
