package hns

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"
)

// readFixture reads a testdata file, dropping its leading "//" header lines
// (each fixture cites its source there).
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	header := true
	for _, line := range strings.Split(string(b), "\n") {
		if header && strings.HasPrefix(strings.TrimSpace(line), "//") {
			out = append(out, "") // keep line numbers
			continue
		}
		header = false
		out = append(out, line)
	}
	return []byte(strings.Join(out, "\n"))
}

func importFixture(t *testing.T, name string) (*Objects, []string) {
	t.Helper()
	o, warns, err := ImportDump(readFixture(t, name))
	if err != nil {
		t.Fatalf("ImportDump(%s): %v", name, err)
	}
	return o, warns
}

func policyTypesOf(e *HostComputeEndpoint) []EndpointPolicyType {
	var out []EndpointPolicyType
	for _, p := range e.Policies {
		out = append(out, p.Type)
	}
	return out
}

func networkPolicyOf(t *testing.T, n *HostComputeNetwork, typ NetworkPolicyType) []any {
	t.Helper()
	var out []any
	for _, p := range n.Policies {
		if p.Type == typ {
			v, err := p.DecodeSettings()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
	}
	return out
}

func check(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %#v, want %#v", what, got, want)
	}
}

func TestImportV1NatNetwork(t *testing.T) {
	o, warns := importFixture(t, "import/v1_network_nat.json")
	check(t, "warnings", warns, []string(nil))
	if len(o.Networks) != 1 {
		t.Fatalf("%d networks, want 1", len(o.Networks))
	}
	n := &o.Networks[0]
	check(t, "ID", n.Id, "B5083512-BE1D-4326-B58F-56CA5154E8D5")
	check(t, "Type (v1 \"nat\")", n.Type, NAT)
	check(t, "Flags", n.Flags, EnableNonPersistent)
	check(t, "MacPool", n.MacPool.Ranges, []MacRange{{StartMacAddress: "00-15-5D-4C-E0-00", EndMacAddress: "00-15-5D-4C-EF-FF"}})
	s := n.Ipams[0].Subnets[0]
	check(t, "Ipam type", n.Ipams[0].Type, "Static")
	check(t, "subnet", s.IpAddressPrefix, "172.18.16.0/20")
	check(t, "gateway as default route", s.Routes, []Route{{NextHop: "172.18.16.1", DestinationPrefix: "0.0.0.0/0"}})
	check(t, "IpSubnets", s.IpSubnets, []IpSubnet{{ID: "1E2F3A4B-5C6D-4E7F-8A9B-0C1D2E3F4A5B", IpAddressPrefix: "172.18.16.0/20"}})
	sps, err := s.SubnetPolicies()
	if err != nil || len(sps) != 1 {
		t.Fatalf("subnet policies %v, %v; want the network-wide VLAN", sps, err)
	}
	vlan, err := sps[0].VLAN()
	check(t, "network VLAN 1 moved to the subnet", vlan, VlanPolicySetting{IsolationId: 1})
	check(t, "VLAN error", err, nil)
	check(t, "extensions", networkPolicyOf(t, n, VSwitchExtension), []any{
		VSwitchExtensionNetworkPolicySetting{ExtensionID: "E7C3B2F0-F3C5-48DF-AF2B-10FED6D72E7A"},
		VSwitchExtensionNetworkPolicySetting{ExtensionID: "F74F241B-440F-4433-BB28-00F89EAD20D8"},
		VSwitchExtensionNetworkPolicySetting{ExtensionID: "430BDADD-BAB0-41AB-A369-94B67FA5BE0A", Enable: true},
	})
	check(t, "SwitchGuid", n.Health.Extra.SwitchGuid, "B5083512-BE1D-4326-B58F-56CA5154E8D5")
	if !bytes.Contains(n.Health.Extra.Resources, []byte(`"Tag":"ICS"`)) && !bytes.Contains(n.Health.Extra.Resources, []byte(`"Tag": "ICS"`)) {
		t.Errorf("Resources not kept: %s", n.Health.Extra.Resources)
	}
	h := HostContext{Name: "h", Profile: WS2019, NICs: []NIC{{Name: "Ethernet", Prefix: netip.MustParsePrefix("10.0.0.4/24")}}}
	if err := Validate(o, h); err != nil {
		t.Errorf("Validate: %v", err)
	}
	// The documented WinNAT overlap example: internal 172.16.0.0/12, host 172.17.0.4.
	h.NICs[0].Prefix = netip.MustParsePrefix("172.18.20.4/24")
	if err := Validate(o, h); err == nil {
		t.Error("Validate accepted a NAT prefix that overlaps the NIC")
	}
}

func TestImportV1OverlayNetwork(t *testing.T) {
	o, warns := importFixture(t, "import/v1_network_overlay_external.json")
	check(t, "warnings", warns, []string(nil))
	n := &o.Networks[0]
	check(t, "Type", n.Type, Overlay)
	check(t, "Name", n.Name, "External")
	sps, _ := n.Ipams[0].Subnets[0].SubnetPolicies()
	if len(sps) != 1 {
		t.Fatalf("subnet policies %v", sps)
	}
	vsid, err := sps[0].VSID()
	check(t, "VSID", vsid.IsolationId, uint32(9999))
	check(t, "VSID err", err, nil)
	check(t, "IpSubnets flags", n.Ipams[0].Subnets[0].IpSubnets[0].Flags, IPSubnetFlagsEnableBroadcast|IPSubnetFlagsReserveNetworkAddress)
	check(t, "NetAdapterName", networkPolicyOf(t, n, NetAdapterName), []any{NetAdapterNameNetworkPolicySetting{NetworkAdapterName: "Ethernet"}})
	check(t, "ManagementIP -> ProviderAddress", networkPolicyOf(t, n, ProviderAddress), []any{ProviderAddressNetworkPolicySetting{ProviderAddress: "10.0.0.6"}})
	check(t, "DrMacAddress", networkPolicyOf(t, n, DrMacAddress), []any{DrMacAddressNetworkPolicySetting{Address: "00-15-5D-7B-82-55"}})
	h := HostContext{Name: "h", Profile: WS2019, NICs: []NIC{{Name: "Ethernet", Prefix: netip.MustParsePrefix("10.0.0.6/24")}}}
	if err := Validate(o, h); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func utf16LE(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := []byte{0xFF, 0xFE}
	for _, c := range u {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

func TestImportPowerShellDepthAndUTF16(t *testing.T) {
	data := utf16LE(string(readFixture(t, "import/v1_network_overlay_depth2.json")))
	o, warns, err := ImportDump(data)
	if err != nil {
		t.Fatal(err)
	}
	s := o.Networks[0].Ipams[0].Subnets[0]
	sps, _ := s.SubnetPolicies()
	if len(sps) != 1 {
		t.Fatalf("subnet policies %s", s.Policies)
	}
	if vsid, err := sps[0].VSID(); err != nil || vsid.IsolationId != 9999 {
		t.Errorf("VSID from \"@{Type=VSID; VSID=9999}\" = %+v, %v", vsid, err)
	}
	check(t, "IpSubnets from a cut-off string", s.IpSubnets, []IpSubnet{{IpAddressPrefix: "192.168.255.0/30", Flags: 3}})
	joined := strings.Join(warns, "\n")
	for _, want := range []string{
		`Subnets[0].Policies[0]: "@{Type=VSID; VSID=9999}" is a PowerShell ConvertTo-Json depth cut-off (use -Depth 10); parsed back`,
		`Subnets[0].IpSubnets[0]: "@{AdditionalParams=; Flags=3; IpAddressPrefix=192.168.255.0/30; ObjectType=6; Policies=System.Object[]; State=0}" is a PowerShell ConvertTo-Json depth cut-off (use -Depth 10); parsed back, but nested values are lost`,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings lack %q:\n%s", want, joined)
		}
	}
}

func TestImportV1Endpoints(t *testing.T) {
	o, warns := importFixture(t, "import/v1_endpoints.json")
	if len(o.Endpoints) != 4 {
		t.Fatalf("%d endpoints, want 4", len(o.Endpoints))
	}
	e1, e2, e3, e4 := &o.Endpoints[0], &o.Endpoints[1], &o.Endpoints[2], &o.Endpoints[3]

	// 1: flannel l2bridge pod, policies from microsoft/SDN's cni.conf.
	check(t, "e1 network", e1.HostComputeNetwork, "9C0D1E2F-3A4B-4C5D-8E6F-7A8B9C0D1E2F")
	check(t, "e1 address", e1.IpConfigurations, []IpConfig{{IpAddress: "10.244.1.5", PrefixLength: 24}})
	check(t, "e1 gateway", e1.Routes, []Route{{NextHop: "10.244.1.1", DestinationPrefix: "0.0.0.0/0"}})
	check(t, "e1 DNS", e1.Dns, Dns{Search: []string{"svc.cluster.local"}, ServerList: []string{"10.96.0.10"}})
	check(t, "e1 policy types", policyTypesOf(e1), []EndpointPolicyType{OutBoundNAT, SDNRoute, SDNRoute})
	onat, _ := e1.Policies[0].OutBoundNAT()
	check(t, "e1 ExceptionList -> Exceptions", onat.Exceptions, []string{"10.244.0.0/16", "10.96.0.0/12", "10.127.130.0/24"})
	r, _ := e1.Policies[2].SDNRoute()
	check(t, "e1 ROUTE -> SDNRoute", r, SDNRoutePolicySetting{DestinationPrefix: "10.127.130.38/32", NeedEncap: true})
	check(t, "e1 namespace", e1.HostComputeNamespace, "7F3D2A1B-8C4E-4F5A-9B6C-0D1E2F3A4B5C")
	check(t, "e1 shared containers", string(e1.Health.Extra.SharedContainers), `["4c6e0f1b2a3d"]`)
	if len(o.Namespaces) != 1 {
		t.Fatalf("%d namespaces, want 1", len(o.Namespaces))
	}
	ns := o.Namespaces[0]
	check(t, "namespace compartment", ns.NamespaceId, uint32(3))
	check(t, "namespace type", ns.Type, NamespaceTypeHost)
	if len(ns.Resources) != 1 {
		t.Fatalf("namespace resources %v", ns.Resources)
	}
	id, _ := ns.Resources[0].ID()
	check(t, "namespace lists e1", id, e1.Id)

	// 2: remote endpoint.
	check(t, "e2 flags", e2.Flags, EndpointFlagsRemoteEndpoint)
	check(t, "e2 MAC", e2.MacAddress, "02-11-0A-F4-02-07")

	// 3: Calico overlay pod.
	check(t, "e3 network by name (not in the dump)", e3.HostComputeNetwork, "Calico")
	check(t, "e3 policy types", policyTypesOf(e3), []EndpointPolicyType{OutBoundNAT, SDNRoute, NetworkProviderAddress, ACL, ACL, EncapOverhead})
	pa, _ := e3.Policies[2].ProviderAddress()
	check(t, "e3 PA", pa.ProviderAddress, "10.0.0.6")
	acl, _ := e3.Policies[3].ACL()
	check(t, "e3 ACL (protocol 256 = any)", acl, AclPolicySetting{Id: "allow-host-to-endpoint", Protocols: "256", Action: ActionTypeAllow, Direction: DirectionTypeIn,
		RemoteAddresses: "10.0.0.6/32", RuleType: RuleTypeSwitch, Priority: 900})
	acl2, _ := e3.Policies[4].ACL()
	check(t, "e3 ACL LocalPort -> LocalPorts", acl2, AclPolicySetting{Id: "default-deny", Protocols: "6", Action: ActionTypeBlock, Direction: DirectionTypeIn,
		LocalPorts: "80", RuleType: RuleTypeSwitch, Priority: 1001})
	enc, _ := e3.Policies[5].EncapOverhead()
	check(t, "e3 EncapOverhead field -> policy", enc.Overhead, uint16(50))

	// 4: Docker nat container.
	check(t, "e4 flags", e4.Flags, EndpointFlagsDisableICC|EndpointFlagsOverrideDNSServerOrder)
	check(t, "e4 policy types", policyTypesOf(e4), []EndpointPolicyType{PortMapping, PortMapping, QOS, "Frobnicate"})
	pm, _ := e4.Policies[0].PortMapping()
	check(t, "e4 NAT -> PortMapping", pm, PortMappingPolicySetting{Protocol: 6, InternalPort: 80, ExternalPort: 8080, Flags: NatFlagsExternalPortReserved})
	pm2, _ := e4.Policies[1].PortMapping()
	check(t, "e4 NAT UDP", pm2, PortMappingPolicySetting{Protocol: 17, InternalPort: 53, ExternalPort: 5353})

	joined := strings.Join(warns, "\n")
	for _, want := range []string{
		`Policies[4] (ACL): ServiceName "web" has no v2 field; ignored`,
		`Policies[3] (Isolation): VSID 4097 on an endpoint has no v2 equivalent; ignored`,
		`Policies[4]: skipped: v1 endpoint policy VNET has no v2 equivalent`,
		`Policies[5]: unknown policy type "Frobnicate" kept as is`,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings lack %q:\n%s", want, joined)
		}
	}
	if len(warns) != 4 {
		t.Errorf("%d warnings, want 4:\n%s", len(warns), joined)
	}
}

func TestImportV1PolicyLists(t *testing.T) {
	o, warns := importFixture(t, "import/v1_policylists.json")
	if len(o.LoadBalancers) != 3 || len(o.Routes) != 1 {
		t.Fatalf("%d load balancers and %d routes, want 3 and 1", len(o.LoadBalancers), len(o.Routes))
	}
	ep1, ep3 := "11796E63-07B3-4199-91D5-9BC25108FB41", "07F382AB-8884-40BA-8ADF-EFE4C92E8608"
	want := []HostComputeLoadBalancer{
		{Id: "326F84D7-35EC-4355-A60A-E82E2B05EC24", HostComputeEndpoints: []string{ep1}, FrontendVIPs: []string{"10.96.0.1"},
			PortMappings: []LoadBalancerPortMapping{{Protocol: 6, InternalPort: 6443, ExternalPort: 443}}, SchemaVersion: V2SchemaVersion()},
		{Id: "AF826F8B-9F78-41EA-BC9E-6E433F8784DF", HostComputeEndpoints: []string{ep1, ep3}, SourceVIP: "10.244.1.2", FrontendVIPs: []string{"10.96.0.10"},
			PortMappings:  []LoadBalancerPortMapping{{Protocol: 17, InternalPort: 53, ExternalPort: 53, Flags: LoadBalancerPortMappingFlagsILB | LoadBalancerPortMappingFlagsLocalRoutedVIP}},
			SchemaVersion: V2SchemaVersion(), Flags: LoadBalancerFlagsDSR},
		{Id: NameGUID("policylist", "AF826F8B-9F78-41EA-BC9E-6E433F8784DF#1"), HostComputeEndpoints: []string{ep1, ep3}, SourceVIP: "10.244.1.2", FrontendVIPs: []string{"10.96.0.10"},
			PortMappings: []LoadBalancerPortMapping{{Protocol: 6, InternalPort: 53, ExternalPort: 53}}, SchemaVersion: V2SchemaVersion()},
	}
	check(t, "load balancers", o.LoadBalancers, want)
	check(t, "route", o.Routes[0], HostComputeRoute{ID: "8C35026B-3EE6-47F1-B254-AE0B5BA7144C", HostComputeEndpoints: []string{ep1},
		Setting:       []SDNRoutePolicySetting{{DestinationPrefix: "10.96.0.0/12", NeedEncap: true}, {DestinationPrefix: "169.254.169.254/32", NextHop: "10.244.1.1"}},
		SchemaVersion: V2SchemaVersion()})
	joined := strings.Join(warns, "\n")
	for _, w := range []string{"Policies[0] (ELB): no Protocol; assuming TCP", `Policies[2]: skipped: policy type "NAT" in a policy list`} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings lack %q:\n%s", w, joined)
		}
	}
}

// TestImportV1Together imports the endpoints and the policy lists that
// refer to them, plus a v1 network, from one stream of JSON values.
func TestImportV1Together(t *testing.T) {
	var buf bytes.Buffer
	for _, f := range []string{"import/v1_network_overlay_external.json", "import/v1_endpoints.json", "import/v1_policylists.json"} {
		buf.Write(readFixture(t, f))
		buf.WriteByte('\n')
	}
	o, _, err := ImportDump(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Networks) != 1 || len(o.Endpoints) != 4 || len(o.LoadBalancers) != 3 || len(o.Routes) != 1 || len(o.Namespaces) != 1 {
		t.Errorf("got %d/%d/%d/%d/%d networks/endpoints/LBs/routes/namespaces, want 1/4/3/1/1",
			len(o.Networks), len(o.Endpoints), len(o.LoadBalancers), len(o.Routes), len(o.Namespaces))
	}
	if lbs := o.LoadBalancersOfEndpoint("07f382ab-8884-40ba-8adf-efe4c92e8608"); len(lbs) != 2 {
		t.Errorf("load balancers of the Calico pod: %d, want 2", len(lbs))
	}
}

func TestImportV2PowerShellObjects(t *testing.T) {
	o, warns := importFixture(t, "import/v2_psm1_objects.json")
	check(t, "warnings", warns, []string(nil))
	n := &o.Networks[0]
	check(t, "network type", n.Type, Overlay)
	check(t, "schema version", n.SchemaVersion, Version{2, 2})
	check(t, "IpSubnets null", n.Ipams[0].Subnets[0].IpSubnets, []IpSubnet(nil))
	check(t, "VxlanPort", networkPolicyOf(t, n, VxlanPort), []any{VxlanPortPolicySetting{Port: 4790}})
	e := &o.Endpoints[0]
	check(t, "endpoint network", e.HostComputeNetwork, n.Id)
	check(t, "endpoint flags", e.Flags, EndpointFlagsOverrideDNSServerOrder)
	pm, err := e.Policies[2].PortMapping()
	check(t, "port mapping with string ports", pm, PortMappingPolicySetting{InternalPort: 80, ExternalPort: 8080, Flags: NatFlagsLocalRoutedVip})
	check(t, "port mapping error", err, nil)
	l := &o.LoadBalancers[0]
	check(t, "LB", *l, HostComputeLoadBalancer{Id: "3E0C5E8D-346A-49CA-A6A3-11785D351970", HostComputeEndpoints: []string{e.Id}, SourceVIP: "10.244.1.2",
		FrontendVIPs: []string{"10.96.0.20"}, PortMappings: []LoadBalancerPortMapping{{Protocol: 6, InternalPort: 8080, ExternalPort: 80,
			DistributionType: LoadBalancerDistributionSourceIP, Flags: LoadBalancerPortMappingFlagsILB | LoadBalancerPortMappingFlagsLocalRoutedVIP}},
		SchemaVersion: Version{2, 2}, Flags: LoadBalancerFlagsDSR})
	check(t, "route from Routes", o.Routes[0].Setting, []SDNRoutePolicySetting{{DestinationPrefix: "10.96.0.0/12", NeedEncap: true}})
	h := HostContext{Name: "h", Profile: WS2022, NICs: []NIC{{Name: "Ethernet", Prefix: netip.MustParsePrefix("10.0.0.6/24")}}}
	if err := Validate(o, h); err != nil {
		t.Errorf("Validate on WS2022: %v", err)
	}
	h.Profile = WS2019
	err = Validate(o, h)
	ve, _ := err.(*ValidationError)
	if ve == nil || !ve.Has(HCN_E_INVALID_POLICY_TYPE) || !ve.Has(HCN_E_REQUEST_UNSUPPORTED) || len(ve.Problems) != 2 {
		t.Errorf("Validate on WS2019: %v; want VxlanPort and session affinity rejected", err)
	}
}

func TestImportEnvelopeAndStream(t *testing.T) {
	o, warns := importFixture(t, "import/v2_envelope_stream.json")
	check(t, "warnings (Base fields are ignored quietly)", warns, []string(nil))
	if len(o.Networks) != 1 || len(o.Namespaces) != 1 {
		t.Fatalf("got %d networks, %d namespaces", len(o.Networks), len(o.Namespaces))
	}
	check(t, "type of a v2 network without Type", o.Networks[0].Type, NAT)
	check(t, "namespace", o.Namespaces[0].NamespaceId, uint32(5))
}

func TestImportBundle(t *testing.T) {
	data := readFixture(t, "import/v2_hcsshim_bundle.json")
	o, warns, err := ImportDump(data)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "warnings", warns, []string(nil))
	// The same bundle decoded as Objects and normalized gives the same objects.
	var direct Objects
	if err := json.Unmarshal(data, &direct); err != nil {
		t.Fatal(err)
	}
	if err := direct.Normalize(); err != nil {
		t.Fatal(err)
	}
	if a, b := mustMarshal(t, o), mustMarshal(t, &direct); a != b {
		t.Errorf("ImportDump and Unmarshal+Normalize differ:\n%s\n%s", a, b)
	}
	if err := Validate(o, HostContext{Name: "h", Profile: WS2022}); err != nil {
		t.Errorf("Validate: %v", err)
	}
	// Re-importing our own output gives the same objects.
	again, _, err := ImportDump([]byte(mustMarshal(t, o)))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustMarshal(t, o), mustMarshal(t, again); a != b {
		t.Errorf("re-import differs:\n%s\n%s", a, b)
	}
}

// TestImportCNIPolicies imports, as endpoint policies, the EndpointPolicy
// values of real CNI configurations (testdata/cni, verbatim copies): v1
// policies in microsoft/SDN's confs, v2 in windows-container-networking's.
func TestImportCNIPolicies(t *testing.T) {
	tests := []struct {
		file       string
		want       []EndpointPolicyType
		exceptions []string // of the first OutBoundNAT
	}{
		{"sdn__Kubernetes_flannel_l2bridge_cni_config_cni.conf", []EndpointPolicyType{OutBoundNAT, SDNRoute, SDNRoute}, []string{"10.244.0.0/16", "10.96.0.0/12", "10.127.130.0/24"}},
		{"sdn__Kubernetes_flannel_overlay_cni_config_cni.conf", []EndpointPolicyType{OutBoundNAT, SDNRoute}, []string{"192.168.0.0/16", "11.0.0.0/8"}},
		{"sdn__Kubernetes_windows_cni_config_l2bridge.conf", []EndpointPolicyType{OutBoundNAT, SDNRoute, SDNRoute}, []string{"192.168.0.0/16", "11.0.0.0/8", "10.124.24.0/23"}},
		{"wcn__flannel_l2bridge.conf", []EndpointPolicyType{OutBoundNAT, SDNRoute, SDNRoute}, []string{"10.244.0.0/16", "10.96.0.0/12"}},
		{"wcn__flannel_overlay.conf", []EndpointPolicyType{OutBoundNAT, SDNRoute, NetworkProviderAddress}, []string{"10.244.0.0/16", "10.96.0.0/12"}},
		{"wcn__l2bridge-dualstack-cni-template.conf", []EndpointPolicyType{OutBoundNAT, OutBoundNAT, ACL, ACL, ACL, ACL, ACL, ACL, ACL, ACL}, []string{"192.168.0.0/24", "{{LOCAL_ENDPOINT}}/32"}},
		{"wcn__l2bridge.conf", []EndpointPolicyType{OutBoundNAT, SDNRoute, SDNRoute}, []string{"192.168.0.0/16", "11.0.0.0/8", "10.124.24.0/23"}},
		{"wcn__l2bridgedualstack_host-local_ipam.conf", []EndpointPolicyType{OutBoundNAT, OutBoundNAT, SDNRoute, SDNRoute}, []string{"192.168.0.0/16", "11.0.0.0/8", "10.124.24.0/23"}},
		{"wcn__l2tunnel.conf", []EndpointPolicyType{OutBoundNAT, SDNRoute}, []string{"10.0.0.0/8"}},
		{"wcn__nat.conf", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var conf map[string]any
			// Two of windows-container-networking's example confs are indented
			// with U+00A0 (no-break space), which is not JSON white space.
			b := bytes.ReplaceAll(readFixture(t, "cni/"+tt.file), []byte("\u00a0"), []byte(" "))
			if err := json.Unmarshal(b, &conf); err != nil {
				t.Fatal(err)
			}
			values := cniEndpointPolicies(conf)
			// v1 policies sit in the endpoint as they are; v2 ones have Settings.
			v2 := len(values) > 0 && values[0].(map[string]any)["Settings"] != nil
			var ep map[string]any
			if v2 {
				ep = map[string]any{"Name": "pod", "HostComputeNetwork": "net", "Policies": values}
			} else {
				ep = map[string]any{"Name": "pod", "VirtualNetworkName": "net", "IPAddress": "10.244.1.5", "Policies": values}
			}
			b, _ = json.Marshal(ep)
			o, warns, err := ImportDump(b)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "warnings", warns, []string(nil))
			e := &o.Endpoints[0]
			check(t, "policy types", policyTypesOf(e), tt.want)
			if tt.exceptions != nil {
				onat, err := e.Policies[0].OutBoundNAT()
				check(t, "OutBoundNAT exceptions", onat.Exceptions, tt.exceptions)
				check(t, "OutBoundNAT error", err, nil)
			}
			if _, err := e.DecodePolicies(); err != nil {
				t.Errorf("DecodePolicies: %v", err)
			}
		})
	}
}

// cniEndpointPolicies returns the Values of the {"Name":"EndpointPolicy"}
// entries of a CNI conf, wherever the plugin keeps them.
func cniEndpointPolicies(conf map[string]any) []any {
	var out []any
	var walk func(m map[string]any)
	walk = func(m map[string]any) {
		for k, v := range m {
			switch strings.ToLower(k) {
			case "policies", "additionalargs":
				for _, it := range v.([]any) {
					if e, ok := it.(map[string]any); ok && e["Name"] == "EndpointPolicy" {
						out = append(out, e["Value"])
					}
				}
			case "delegate":
				walk(v.(map[string]any))
			}
		}
	}
	walk(conf)
	return out
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"syntax error names the line", "[\n {\"ID\": \"x\",}\n]", "line 2: invalid character '}'"},
		{"truncated", `[{"ID": "x"`, "line 1: unexpected end of input"},
		{"empty", "  \n", "no HNS objects found"},
		{"not an object", `"nat"`, `line 1: expected a JSON object or array, found "nat"`},
		{"HNS reports failure", `{"Success": false, "Error": "Element not found.", "Output": null}`, "HNS response reports failure: \"Element not found.\""},
		{"field of the wrong type", "\n\n{\"VirtualNetwork\": \"n\", \"IPAddress\": 10}", `item 1 (line 3, v1 endpoint ""): IPAddress: cannot decode number as string`},
		{"bad flag name", `{"Name": "n", "Ipams": [], "Flags": "Nope"}`, `item 1 (line 1, v2 network "n"): Flags: cannot decode unknown name "Nope" as NetworkFlags`},
		{"nothing recognisable", `{"Foo": 1}`, "no HNS objects found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ImportDump([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestImportDuplicates(t *testing.T) {
	nat := string(readFixture(t, "import/v1_network_nat.json"))
	o, warns, err := ImportDump([]byte("[" + nat + "," + nat + "]"))
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Networks) != 1 || len(warns) != 1 || !strings.Contains(warns[0], "appears twice") {
		t.Errorf("got %d networks, warnings %q; want 1 network and a duplicate warning", len(o.Networks), warns)
	}
}

func TestDecodeText(t *testing.T) {
	const s = `{"Name":"ü"}`
	be := []byte{0xFE, 0xFF}
	for _, c := range utf16.Encode([]rune(s)) {
		be = append(be, byte(c>>8), byte(c))
	}
	noBOM := utf16LE(s)[2:]
	tests := []struct {
		name string
		in   []byte
	}{
		{"UTF-8", []byte(s)},
		{"UTF-8 BOM", append([]byte{0xEF, 0xBB, 0xBF}, s...)},
		{"UTF-16LE BOM", utf16LE(s)},
		{"UTF-16BE BOM", be},
		{"UTF-16LE without BOM", noBOM},
	}
	for _, tt := range tests {
		if got := string(DecodeText(tt.in)); got != s {
			t.Errorf("%s: got %q, want %q", tt.name, got, s)
		}
	}
}
