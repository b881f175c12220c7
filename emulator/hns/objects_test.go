package hns

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestUUIDv5(t *testing.T) {
	// RFC 9562 name-based UUIDs; the expected values were computed with
	// Python's uuid.uuid5, an implementation we did not write.
	dns := [16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	if got, want := formatGUID(uuidV5(dns, "www.example.com")), "2ED6657D-E927-568B-95E1-2665A8AEA6A2"; got != want {
		t.Errorf("uuid5(NAMESPACE_DNS, www.example.com) = %s, want %s", got, want)
	}
	tests := []struct{ kind, name, want string }{
		{KindNetwork, "nat", "989C6AA0-6C0C-5C17-A80B-4489441AFD9C"},
		{KindEndpoint, "web", "24030429-49FD-59D0-A1F6-1643D461B23B"},
		{KindLoadBalancer, "#0", "374D3F13-178E-5592-949B-D133FB98FCDD"},
	}
	for _, tt := range tests {
		if got := NameGUID(tt.kind, tt.name); got != tt.want {
			t.Errorf("NameGUID(%q, %q) = %s, want %s", tt.kind, tt.name, got, tt.want)
		}
	}
}

func TestCanonicalGUID(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"b5083512-be1d-4326-b58f-56ca5154e8d5", "B5083512-BE1D-4326-B58F-56CA5154E8D5", true},
		{"{B5083512-BE1D-4326-B58F-56CA5154E8D5}", "B5083512-BE1D-4326-B58F-56CA5154E8D5", true},
		{"B5083512BE1D4326B58F56CA5154E8D5", "B5083512BE1D4326B58F56CA5154E8D5", false},
		{"web", "web", false},
		{"B5083512-BE1D-4326-B58F-56CA5154E8DZ", "B5083512-BE1D-4326-B58F-56CA5154E8DZ", false},
	}
	for _, tt := range tests {
		got, ok := canonicalGUID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("canonicalGUID(%q) = %q, %t; want %q, %t", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

const normalizeInput = `{
  "Networks": [
    {"Name": "nat", "Ipams": [{"Type": "Static", "Subnets": [{"IpAddressPrefix": "172.16.0.0/16"}]}]},
    {"ID": "{6f7e13a2-8ade-48ee-844e-ac0b0aff235d}", "Name": "vxlan0", "Type": "overlay", "SchemaVersion": {"Major": 2, "Minor": 2}}
  ],
  "Endpoints": [
    {"Name": "web", "HostComputeNetwork": "nat", "HostComputeNamespace": "pod"},
    {"Name": "db", "HostComputeNetwork": "6F7E13A2-8ADE-48EE-844E-AC0B0AFF235D"},
    {"Name": "orphan", "HostComputeNetwork": "nosuchnet"}
  ],
  "LoadBalancers": [{"HostComputeEndpoints": ["web", "db"], "FrontendVIPs": ["10.96.0.10"]}],
  "Namespaces": [
    {"Name": "pod", "NamespaceId": 5},
    {"Name": "other", "Resources": [{"Type": "Endpoint", "Data": {"ID": "db"}}]}
  ],
  "Routes": [{"Name": "imds", "HostComputeEndpoints": ["db"], "Routes": [{"DestinationPrefix": "169.254.169.254/32"}]}]
}`

func TestNormalize(t *testing.T) {
	var o Objects
	if err := json.Unmarshal([]byte(normalizeInput), &o); err != nil {
		t.Fatal(err)
	}
	if err := o.Normalize(); err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	natID := NameGUID(KindNetwork, "nat")
	vxID := "6F7E13A2-8ADE-48EE-844E-AC0B0AFF235D"
	webID, dbID := NameGUID(KindEndpoint, "web"), NameGUID(KindEndpoint, "db")
	podID, otherID := NameGUID(KindNamespace, "pod"), NameGUID(KindNamespace, "other")
	checks := []struct {
		what      string
		got, want any
	}{
		{"nat ID", o.Networks[0].Id, natID},
		{"nat Type (missing means NAT)", o.Networks[0].Type, NAT},
		{"nat SchemaVersion default", o.Networks[0].SchemaVersion, V2SchemaVersion()},
		{"vxlan0 ID canonical", o.Networks[1].Id, vxID},
		{"vxlan0 Type canonical", o.Networks[1].Type, Overlay},
		{"vxlan0 SchemaVersion kept", o.Networks[1].SchemaVersion, Version{2, 2}},
		{"web network by name", o.Endpoints[0].HostComputeNetwork, natID},
		{"web namespace by name", o.Endpoints[0].HostComputeNamespace, podID},
		{"db network by lower-case GUID", o.Endpoints[1].HostComputeNetwork, vxID},
		{"db namespace from the namespace's resources", o.Endpoints[1].HostComputeNamespace, otherID},
		{"orphan reference kept for Validate", o.Endpoints[2].HostComputeNetwork, "nosuchnet"},
		{"lb ID (no name: kind and index)", o.LoadBalancers[0].Id, NameGUID(KindLoadBalancer, "#0")},
		{"lb backends by name", o.LoadBalancers[0].HostComputeEndpoints, []string{webID, dbID}},
		{"route backends by name", o.Routes[0].HostComputeEndpoints, []string{dbID}},
		{"route list from Routes", o.Routes[0].Setting, []SDNRoutePolicySetting{{DestinationPrefix: "169.254.169.254/32"}}},
		{"pod namespace lists web", string(o.Namespaces[0].Resources[0].Data), `{"ID":"` + webID + `"}`},
		{"other namespace resource resolved", string(o.Namespaces[1].Resources[0].Data), `{"ID":"` + dbID + `"}`},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	// Normalize is idempotent.
	before := mustMarshal(t, &o)
	if err := o.Normalize(); err != nil {
		t.Fatal(err)
	}
	if after := mustMarshal(t, &o); after != before {
		t.Errorf("second Normalize changed the objects:\n%s\n%s", before, after)
	}
	// Lookups.
	if n := o.NetworkByName("vxlan0"); n == nil || n.Id != vxID {
		t.Errorf("NetworkByName(vxlan0) = %v", n)
	}
	if n := o.NetworkByID("{" + strings.ToLower(vxID) + "}"); n == nil || n.Name != "vxlan0" {
		t.Errorf("NetworkByID(braced lower case) = %v", n)
	}
	if e := o.EndpointByName("db"); e == nil || o.NetworkOfEndpoint(e).Name != "vxlan0" {
		t.Errorf("NetworkOfEndpoint(db) wrong")
	}
	if eps := o.EndpointsOfNetwork(natID); len(eps) != 1 || eps[0].Name != "web" {
		t.Errorf("EndpointsOfNetwork(nat) = %v", eps)
	}
	if lbs := o.LoadBalancersOfEndpoint(dbID); len(lbs) != 1 {
		t.Errorf("LoadBalancersOfEndpoint(db) = %d, want 1", len(lbs))
	}
	if rs := o.RoutesOfEndpoint(webID); len(rs) != 0 {
		t.Errorf("RoutesOfEndpoint(web) = %d, want 0", len(rs))
	}
	if o.EndpointByID(webID) == nil || o.NamespaceByID(podID) == nil || o.LoadBalancerByID(o.LoadBalancers[0].Id) == nil {
		t.Error("lookup by ID failed")
	}
}

func TestNormalizeSingleNetworkDefault(t *testing.T) {
	o := Objects{Networks: []HostComputeNetwork{{Name: "only", Type: L2Bridge}}, Endpoints: []HostComputeEndpoint{{Name: "e"}}}
	if err := o.Normalize(); err != nil {
		t.Fatal(err)
	}
	if got := o.Endpoints[0].HostComputeNetwork; got != o.Networks[0].Id {
		t.Errorf("endpoint network = %q, want the only network %q", got, o.Networks[0].Id)
	}
}

func TestNormalizeProblems(t *testing.T) {
	tests := []struct {
		name  string
		js    string
		code  HResult
		field string
	}{
		{"ID not a GUID", `{"Networks":[{"ID":"nat-1","Name":"nat"}]}`, HCN_E_GUID_CONVERSION_FAILURE, "ID"},
		{"duplicate ID", `{"Endpoints":[{"ID":"11111111-2222-3333-4444-555555555555","Name":"a"},{"ID":"11111111-2222-3333-4444-555555555555","Name":"b"}]}`, HCN_E_INVALID_JSON_REFERENCE, "ID"},
		{"ambiguous name", `{"Networks":[{"Name":"x","Type":"L2Bridge"},{"Name":"x","Type":"Overlay","ID":"11111111-2222-3333-4444-555555555555"}],"Endpoints":[{"Name":"e","HostComputeNetwork":"x"}]}`, HCN_E_INVALID_JSON_REFERENCE, "HostComputeNetwork"},
		{"endpoint in two namespaces", `{"Endpoints":[{"Name":"e","HostComputeNamespace":"a"}],"Namespaces":[{"Name":"a"},{"Name":"b","Resources":[{"Type":"Endpoint","Data":{"ID":"e"}}]}]}`, HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS, "HostComputeNamespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o Objects
			if err := json.Unmarshal([]byte(tt.js), &o); err != nil {
				t.Fatal(err)
			}
			err := o.Normalize()
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) != 1 {
				t.Fatalf("got %v, want one problem", err)
			}
			if p := ve.Problems[0]; p.Code != tt.code || p.Field != tt.field {
				t.Errorf("got %s at %q, want %s at %q (%v)", p.Code, p.Field, tt.code, tt.field, p)
			}
		})
	}
}

// TestHResultTable checks our HRESULT table against Microsoft's
// (testdata/hcn_hresult_codes.md, a verbatim copy of HCNHResult.md).
func TestHResultTable(t *testing.T) {
	f, err := os.Open("testdata/hcn_hresult_codes.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\|`(\\w+)`\\|(.*)\\|`0x([0-9a-fA-F]{8})`\\|$")
	seen := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := row.FindStringSubmatch(sc.Text())
		if m == nil || m[1] == "S_OK" {
			continue
		}
		v, _ := strconv.ParseUint(m[3], 16, 32)
		h := HResult(v)
		seen++
		if h.Name() != m[1] || h.Text() != m[2] {
			t.Errorf("0x%s: we have %s %q, Microsoft's table %s %q", m[3], h.Name(), h.Text(), m[1], m[2])
		}
	}
	if seen != 55 || len(hresults) != seen {
		t.Errorf("table rows %d, our codes %d, want 55 each", seen, len(hresults))
	}
	if got := HCN_E_PORT_ALREADY_EXISTS.String(); got != "HCN_E_PORT_ALREADY_EXISTS (0x803b0013)" {
		t.Errorf("String = %q", got)
	}
	if got := HResult(0x80070005).Name(); got != "0x80070005" {
		t.Errorf("Name of a non-HCN code = %q", got)
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{Code: HCN_E_PORT_ALREADY_EXISTS, Kind: KindEndpoint, Object: "web", Field: "Policies[2] (PortMapping).Settings.ExternalPort", Msg: "external port TCP/8080 (all host addresses) is already mapped by endpoint \"api\" (all host addresses)"}
	want := `endpoint "web": Policies[2] (PortMapping).Settings.ExternalPort: external port TCP/8080 (all host addresses) is already mapped by endpoint "api" (all host addresses) (HCN_E_PORT_ALREADY_EXISTS 0x803b0013: The specified port already exists)`
	if got := e.Error(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	ve := &ValidationError{Problems: []*Error{e, {Code: HCN_E_INVALID_NETWORK_TYPE, Kind: KindNetwork, Object: "B5083512-BE1D-4326-B58F-56CA5154E8D5", Field: "Type", Msg: "x"}}}
	lines := strings.Split(ve.Error(), "\n")
	if len(lines) != 3 || lines[0] != "hns: 2 problems" || !strings.HasPrefix(lines[2], "\tnetwork B5083512-BE1D-4326-B58F-56CA5154E8D5: Type: x") {
		t.Errorf("ValidationError text:\n%s", ve.Error())
	}
	var got *Error
	if !errors.As(error(ve), &got) || got != e {
		t.Error("errors.As did not find the first *Error")
	}
	if !ve.Has(HCN_E_INVALID_NETWORK_TYPE) || ve.Has(HCN_E_INVALID_IP) {
		t.Error("Has wrong")
	}
	many := &ValidationError{}
	for i := 0; i < 25; i++ {
		many.Problems = append(many.Problems, e)
	}
	lines = strings.Split(many.Error(), "\n")
	if len(lines) != 22 || lines[21] != "\t... and 5 more" {
		t.Errorf("25 problems listed as %d lines, last %q; want 22 lines ending in \"... and 5 more\"", len(lines), lines[len(lines)-1])
	}
}
