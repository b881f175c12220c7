package hns

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// marshalShapes reads testdata/hcsshim_marshal_shapes.txt, JSON that
// encoding/json produced from hcsshim v0.15.0's structs (see the file's
// header), as "label: json" lines; the unlabelled line is "network".
func marshalShapes(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/hcsshim_marshal_shapes.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#") || line == "":
		case strings.HasPrefix(line, "{"):
			out["network"] = line
		default:
			label, js, ok := strings.Cut(line, ": ")
			if ok {
				out[label] = js
			}
		}
	}
	return out
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	return string(b)
}

func TestMarshalMatchesHcsshimShapes(t *testing.T) {
	shapes := marshalShapes(t)
	tests := []struct {
		label string
		v     any
	}{
		{"zero network", HostComputeNetwork{}},
		{"zero endpoint", HostComputeEndpoint{}},
		{"zero L4WfpProxy", L4WfpProxyPolicySetting{}},
		{"SetPolicy", SetPolicySetting{Id: "a", Name: "b", Type: SetPolicyTypeIpSet, Values: "1.1.1.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			want, ok := shapes[tt.label]
			if !ok {
				t.Fatalf("no %q line in the shapes file", tt.label)
			}
			if got := mustMarshal(t, tt.v); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

func TestRoundTripHcsshimNetworkShape(t *testing.T) {
	want := marshalShapes(t)["network"]
	var n HostComputeNetwork
	if err := json.Unmarshal([]byte(want), &n); err != nil {
		t.Fatal(err)
	}
	if got := mustMarshal(t, n); got != want {
		t.Errorf("round trip:\ngot  %s\nwant %s", got, want)
	}
	// The subnet policy decodes as the VSID 4096 it says.
	sps, err := n.Ipams[0].Subnets[0].SubnetPolicies()
	if err != nil {
		t.Fatal(err)
	}
	vsid, err := sps[0].VSID()
	if err != nil || vsid.IsolationId != 4096 {
		t.Errorf("VSID = %+v, %v; want IsolationId 4096", vsid, err)
	}
}

// TestRoundTripShapes decodes JSON in the shape hcsshim writes (struct
// fields always present, omitempty scalars absent, numbers for flags) and
// checks that encoding gives the same bytes back.
func TestRoundTripShapes(t *testing.T) {
	tests := []struct {
		name string
		v    any // pointer to decode into
		js   string
	}{
		{"nat network (hcnutils_test.go HcnGenerateNATNetwork)", &HostComputeNetwork{},
			`{"Name":"natnet","Type":"NAT","MacPool":{"Ranges":[{"StartMacAddress":"00-15-5D-52-C0-00","EndMacAddress":"00-15-5D-52-CF-FF"}]},"Dns":{},"Ipams":[{"Type":"Static","Subnets":[{"IpAddressPrefix":"192.168.100.0/24","Routes":[{"NextHop":"192.168.100.1","DestinationPrefix":"0.0.0.0/0"}]}]}],"Health":{"Extra":{}},"SchemaVersion":{"Major":2,"Minor":0}}`},
		{"endpoint with policies", &HostComputeEndpoint{},
			`{"ID":"0C2C8E5B-6C2A-4E3C-9E1A-1B2C3D4E5F60","Name":"web","HostComputeNetwork":"natnet","Policies":[{"Type":"PortMapping","Settings":{"Protocol":6,"InternalPort":80,"ExternalPort":8080}},{"Type":"ACL","Settings":{"Protocols":"6","Action":"Allow","Direction":"In","LocalPorts":"80","RuleType":"Switch","Priority":200}}],"IpConfigurations":[{"IpAddress":"192.168.100.10","PrefixLength":24}],"Dns":{"ServerList":["10.0.0.10"]},"Routes":[{"NextHop":"192.168.100.1","DestinationPrefix":"0.0.0.0/0"}],"MacAddress":"00-15-5D-52-C0-10","Flags":1,"Health":{"Extra":{}},"SchemaVersion":{"Major":2,"Minor":0}}`},
		{"load balancer (hcnutils_test.go HcnCreateTestLoadBalancer)", &HostComputeLoadBalancer{},
			`{"HostComputeEndpoints":["0C2C8E5B-6C2A-4E3C-9E1A-1B2C3D4E5F60"],"SourceVIP":"10.0.0.1","FrontendVIPs":["1.1.1.2","1.1.1.3"],"PortMappings":[{"Protocol":6,"InternalPort":8080,"ExternalPort":8090,"DistributionType":2,"Flags":9}],"SchemaVersion":{"Major":2,"Minor":0},"Flags":1}`},
		{"route (hcnutils_test.go HcnCreateTestSdnRoute)", &HostComputeRoute{},
			`{"HostComputeEndpoints":["0C2C8E5B-6C2A-4E3C-9E1A-1B2C3D4E5F60"],"Setting":[{"DestinationPrefix":"169.254.169.254/24","NextHop":"127.10.0.34"}],"SchemaVersion":{"Major":2,"Minor":0}}`},
		{"namespace", &HostComputeNamespace{},
			`{"ID":"A1B2C3D4-0000-4000-8000-000000000001","NamespaceId":5,"Type":"HostDefault","Resources":[{"Type":"Endpoint","Data":{"ID":"0C2C8E5B-6C2A-4E3C-9E1A-1B2C3D4E5F60"}}],"SchemaVersion":{"Major":2,"Minor":0}}`},
		{"L4WFPPROXY (hcnutils_test.go HcnCreateWfpProxyPolicyRequest)", &L4WfpProxyPolicySetting{},
			`{"InboundProxyPort":"80","OutboundProxyPort":"81","FilterTuple":{"Protocols":"6","RemoteAddresses":"10.0.0.4","Priority":8},"InboundExceptions":{"IpAddressExceptions":["12.0.1.12"],"PortExceptions":["8181"]},"OutboundExceptions":{"IpAddressExceptions":["10.0.1.12"],"PortExceptions":["81"]}}`},
		{"RemoteSubnetRoute (no omitempty)", &RemoteSubnetRoutePolicySetting{},
			`{"DestinationPrefix":"192.168.2.0/24","IsolationId":5000,"ProviderAddress":"1.1.1.1","DistributedRouterMacAddress":"00-12-34-56-78-9a"}`},
		{"QOS (no omitempty)", &QosPolicySetting{}, `{"MaximumOutgoingBandwidthInBytes":0}`},
		{"VSID (no omitempty)", &VsidPolicySetting{}, `{"IsolationId":0}`},
		{"L4Proxy Destination always", &L4ProxyPolicySetting{}, `{"Port":"15001","Protocol":6,"Exceptions":["10.0.0.0/8"],"Destination":"","OutboundNAT":true}`},
		{"TierAcl", &TierAclPolicySetting{},
			`{"Name":"TierIn1","Direction":"In","Order":1001,"TierAclRules":[{"Id":"TierIn1Rule1","Protocols":"6","TierAclRuleAction":"Pass","LocalAddresses":"192.168.100.0/24,10.0.0.21","RemoteAddresses":"192.168.100.0/24,10.0.0.22","LocalPorts":"80","RemotePorts":"80","Priority":2001},{"Id":"TierIn1Rule2","TierAclRuleAction":"Block","Priority":2100}]}`},
		{"ACL with official Id", &AclPolicySetting{}, `{"Action":"Block","Direction":"Out","RemoteAddresses":"10.0.0.0/8","Priority":1998,"Id":"block-infra"}`},
		{"SDNRoute with AutomaticEndpointMonitor", &SDNRoutePolicySetting{}, `{"DestinationPrefix":"10.96.0.0/12","NeedEncap":true,"AutomaticEndpointMonitor":true}`},
		{"network with DockerOptions", &HostComputeNetwork{},
			`{"Name":"n","Type":"Overlay","MacPool":{},"Dns":{},"Health":{"Extra":{}},"SchemaVersion":{"Major":2,"Minor":0},"DockerOptions":{"Internal":true,"AuxAddress":{"a":"10.0.0.5"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := json.Unmarshal([]byte(tt.js), tt.v); err != nil {
				t.Fatal(err)
			}
			if got := mustMarshal(t, tt.v); got != tt.js {
				t.Errorf("round trip:\ngot  %s\nwant %s", got, tt.js)
			}
		})
	}
}

func TestCaseInsensitiveDecoding(t *testing.T) {
	var e HostComputeEndpoint
	if err := json.Unmarshal([]byte(`{"id":"y","ipconfigurations":[{"ipaddress":"1.2.3.4"}],"flags":"remoteendpoint"}`), &e); err != nil {
		t.Fatal(err)
	}
	if e.Id != "y" || len(e.IpConfigurations) != 1 || e.IpConfigurations[0].IpAddress != "1.2.3.4" || e.Flags != EndpointFlagsRemoteEndpoint {
		t.Errorf("got %+v, want Id y, one IpConfig 1.2.3.4, Flags RemoteEndpoint", e)
	}
}

// TestLeniency covers every input form accepted beyond hcsshim's.
func TestLeniency(t *testing.T) {
	tests := []struct {
		name string
		js   string
		into func() any // new value to decode into
		want any        // the decoded value (dereferenced)
	}{
		{"network flags number", `8`, func() any { return new(NetworkFlags) }, EnableNonPersistent},
		{"network flags name", `"EnableNonPersistent"`, func() any { return new(NetworkFlags) }, EnableNonPersistent},
		{"network flags name any case", `"enablenonpersistent"`, func() any { return new(NetworkFlags) }, EnableNonPersistent},
		{"network flags PowerShell list", `"EnableNonPersistent, DisableHostPort"`, func() any { return new(NetworkFlags) }, EnableNonPersistent | DisableHostPort},
		{"network flags pipe list", `"EnableNonPersistent|EnableIov"`, func() any { return new(NetworkFlags) }, EnableNonPersistent | EnableIov},
		{"network flags array", `["EnableNonPersistent","DisableHostPort"]`, func() any { return new(NetworkFlags) }, EnableNonPersistent | DisableHostPort},
		{"network flags array of numbers", `[8, 1024]`, func() any { return new(NetworkFlags) }, EnableNonPersistent | DisableHostPort},
		{"network flags official name", `"EnableDnsProxy"`, func() any { return new(NetworkFlags) }, NetworkFlagsEnableDNS},
		{"network flags numeric string", `"8"`, func() any { return new(NetworkFlags) }, EnableNonPersistent},
		{"subnet flags", `"DoNotReserveGatewayAddress"`, func() any { return new(SubnetFlags) }, SubnetFlagsDoNotReserveGatewayAddress},
		{"endpoint flags", `"RemoteEndpoint|DisableInterComputeCommunication"`, func() any { return new(EndpointFlags) }, EndpointFlagsRemoteEndpoint | EndpointFlagsDisableICC},
		{"nat flags", `"LocalRoutedVip, Ipv6"`, func() any { return new(NatFlags) }, NatFlagsLocalRoutedVip | NatFlagsIPv6},
		{"nat flags ExternalPortReserved", `["ExternalPortReserved"]`, func() any { return new(NatFlags) }, NatFlagsExternalPortReserved},
		{"lb flags official", `"EnableDirectServerReturn"`, func() any { return new(LoadBalancerFlags) }, LoadBalancerFlagsDSR},
		{"lb port mapping flags official", `"EnableInternalLoadBalancer, EnablePreserveDip"`, func() any { return new(LoadBalancerPortMappingFlags) }, LoadBalancerPortMappingFlagsILB | LoadBalancerPortMappingFlagsPreserveDIP},
		{"lb port mapping flags NotUsed is UseMux", `"NotUsed"`, func() any { return new(LoadBalancerPortMappingFlags) }, LoadBalancerPortMappingFlagsUseMux},
		{"lb distribution name", `"SourceIP"`, func() any { return new(LoadBalancerDistribution) }, LoadBalancerDistributionSourceIP},
		{"protocol name", `"ICMPv6"`, func() any { return new(ProtocolType) }, ProtocolTypeICMPv6},
		{"ip subnet flags", `"EnableBroadcast, ReserveNetworkAddress"`, func() any { return new(IPSubnetFlags) }, IPSubnetFlagsEnableBroadcast | IPSubnetFlagsReserveNetworkAddress},
		{"port mapping protocol name", `{"Protocol":"TCP","InternalPort":80,"ExternalPort":8080}`, func() any { return new(PortMappingPolicySetting) },
			PortMappingPolicySetting{Protocol: 6, InternalPort: 80, ExternalPort: 8080}},
		{"port mapping protocol lower case", `{"Protocol":"udp","InternalPort":53}`, func() any { return new(PortMappingPolicySetting) },
			PortMappingPolicySetting{Protocol: 17, InternalPort: 53}},
		{"port mapping flags name", `{"Protocol":6,"InternalPort":80,"Flags":"LocalRoutedVip"}`, func() any { return new(PortMappingPolicySetting) },
			PortMappingPolicySetting{Protocol: 6, InternalPort: 80, Flags: NatFlagsLocalRoutedVip}},
		{"lb port mapping protocol name", `{"Protocol":"UDP","InternalPort":53,"ExternalPort":53,"DistributionType":"SourceIPProtocol"}`, func() any { return new(LoadBalancerPortMapping) },
			LoadBalancerPortMapping{Protocol: 17, InternalPort: 53, ExternalPort: 53, DistributionType: LoadBalancerDistributionSourceIPProtocol}},
		{"network type any case", `"overlay"`, func() any { return new(NetworkType) }, Overlay},
		{"network type official mode", `"constrainedics"`, func() any { return new(NetworkType) }, NetworkTypeConstrainedICS},
		{"network type unknown kept", `"Bridge"`, func() any { return new(NetworkType) }, NetworkType("Bridge")},
		{"network without Type is NAT", `{"Name":"nat"}`, func() any { return new(HostComputeNetwork) }, HostComputeNetwork{Name: "nat", Type: NAT}},
		{"network with empty Type is NAT", `{"Name":"nat","Type":""}`, func() any { return new(HostComputeNetwork) }, HostComputeNetwork{Name: "nat", Type: NAT}},
		{"network flags by name", `{"Type":"l2bridge","Flags":"EnableNonPersistent"}`, func() any { return new(HostComputeNetwork) }, HostComputeNetwork{Type: L2Bridge, Flags: EnableNonPersistent}},
		{"route list as Routes", `{"HostComputeEndpoints":["a"],"Routes":[{"DestinationPrefix":"10.0.0.0/8","NeedEncap":true,"AutomaticEndpointMonitor":true}]}`,
			func() any { return new(HostComputeRoute) },
			HostComputeRoute{HostComputeEndpoints: []string{"a"}, Setting: []SDNRoutePolicySetting{{DestinationPrefix: "10.0.0.0/8", NeedEncap: true, AutomaticEndpointMonitor: true}}}},
		{"L4Proxy official names", `{"IP":"10.0.0.1","Port":"15001","Protocol":"TCP","ExceptionList":["10.96.0.0/12"],"Destination":"","OutboundNat":true}`,
			func() any { return new(L4ProxyPolicySetting) },
			L4ProxyPolicySetting{IP: "10.0.0.1", Port: "15001", Protocol: ProtocolTypeTCP, Exceptions: []string{"10.96.0.0/12"}, OutboundNAT: true}},
		{"IpConfig IpSubnetId", `{"IpAddress":"10.0.0.5","PrefixLength":24,"IpSubnetId":"S1"}`, func() any { return new(IpConfig) },
			IpConfig{IpAddress: "10.0.0.5", PrefixLength: 24, IpSubnetId: "S1"}},
		{"endpoint policy type any case", `{"Type":"portmapping","Settings":{}}`, func() any { return new(EndpointPolicy) },
			EndpointPolicy{Type: PortMapping, Settings: json.RawMessage(`{}`)}},
		{"network policy type any case", `{"Type":"vxlanport"}`, func() any { return new(NetworkPolicy) }, NetworkPolicy{Type: VxlanPort}},
		{"subnet policy type any case", `{"Type":"vsid"}`, func() any { return new(SubnetPolicy) }, SubnetPolicy{Type: VSID}},
		{"null flags leave zero", `{"Flags":null}`, func() any { return new(HostComputeEndpoint) }, HostComputeEndpoint{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.into()
			if err := json.Unmarshal([]byte(tt.js), v); err != nil {
				t.Fatalf("decode %s: %v", tt.js, err)
			}
			if got := reflect.ValueOf(v).Elem().Interface(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestLeniencyEncodesLikeHcsshim checks that leniently decoded input is
// written back in hcsshim's form: numbers for flags, "Setting" for routes,
// "Exceptions"/"OutboundNAT" for L4Proxy, NAT for a missing network type.
func TestLeniencyEncodesLikeHcsshim(t *testing.T) {
	tests := []struct {
		name     string
		in, want string
		v        any
	}{
		{"flag names become numbers", `{"Type":"l2bridge","Flags":"EnableNonPersistent, DisableHostPort"}`,
			`{"Type":"L2Bridge","MacPool":{},"Dns":{},"Flags":1032,"Health":{"Extra":{}},"SchemaVersion":{"Major":0,"Minor":0}}`, &HostComputeNetwork{}},
		{"missing type becomes NAT", `{"Name":"nat"}`,
			`{"Name":"nat","Type":"NAT","MacPool":{},"Dns":{},"Health":{"Extra":{}},"SchemaVersion":{"Major":0,"Minor":0}}`, &HostComputeNetwork{}},
		{"Routes becomes Setting", `{"Routes":[{"DestinationPrefix":"10.0.0.0/8"}]}`,
			`{"Setting":[{"DestinationPrefix":"10.0.0.0/8"}],"SchemaVersion":{"Major":0,"Minor":0}}`, &HostComputeRoute{}},
		{"L4Proxy official names become hcsshim's", `{"ExceptionList":["a"],"OutboundNat":true,"Protocol":"UDP"}`,
			`{"Protocol":17,"Exceptions":["a"],"Destination":"","OutboundNAT":true}`, &L4ProxyPolicySetting{}},
		{"protocol name becomes number", `{"Protocol":"TCP","InternalPort":80}`, `{"Protocol":6,"InternalPort":80}`, &PortMappingPolicySetting{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := json.Unmarshal([]byte(tt.in), tt.v); err != nil {
				t.Fatal(err)
			}
			if got := mustMarshal(t, tt.v); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLeniencyErrors(t *testing.T) {
	tests := []struct {
		name    string
		js      string
		into    any
		wantErr string // substring
	}{
		{"unknown flag name", `{"Flags":"Bogus"}`, &HostComputeNetwork{}, `unknown name "Bogus"`},
		{"flag name without published value", `{"Flags":"IsolateVSwitch"}`, &HostComputeNetwork{}, `numeric value not published`},
		{"negative flags", `{"Flags":-1}`, &HostComputeNetwork{}, `number -1`},
		{"flags out of range", `{"Flags":4294967296}`, &HostComputeEndpoint{}, `number 4294967296`},
		{"bool flags", `{"Flags":true}`, &HostComputeEndpoint{}, `number true`},
		{"two distributions", `{"DistributionType":["SourceIP","SourceIPProtocol"]}`, &LoadBalancerPortMapping{}, `not a flag type`},
		{"distribution list", `{"DistributionType":"SourceIP, None"}`, &LoadBalancerPortMapping{}, `several names`},
		{"unknown protocol", `{"Protocol":"SCTP"}`, &PortMappingPolicySetting{}, `unknown name "SCTP"`},
		{"network type not a string", `{"Type":5}`, &HostComputeNetwork{}, `non-string`},
		{"error names the field", `{"Policies":[{"Type":"X"}],"Flags":"Nope"}`, &HostComputeNetwork{}, `HostComputeNetwork.Flags`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := json.Unmarshal([]byte(tt.js), tt.into)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestFlagStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{(EnableNonPersistent | DisableHostPort).String(), "EnableNonPersistent|DisableHostPort"},
		{None.String(), "None"},
		{NetworkFlags(1 << 20).String(), "0x100000"},
		{(EndpointFlagsRemoteEndpoint | EndpointFlagsDisableICC).String(), "RemoteEndpoint|DisableICC"},
		{LoadBalancerDistributionSourceIP.String(), "SourceIP"},
		{LoadBalancerDistribution(7).String(), "7"},
		{ProtocolTypeUDP.String(), "UDP"},
		{ProtocolType(132).String(), "132"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestUnknownFields(t *testing.T) {
	js := `{
  "Networks": [{
    "Name": "vxlan0", "Type": "Overlay", "Bogus": 1, "version": 7,
    "Ipams": [{"Type": "Static", "Subnets": [{
      "IpAddressPrefix": "10.244.1.0/24", "ObjectType": 5,
      "Policies": [{"Type": "VSID", "Settings": {"IsolationId": 4096, "Extra": true}}],
      "IpSubnets": [{"IpAddressPrefix": "10.244.1.0/24", "ObjectType": 6}]
    }]}],
    "Policies": [
      {"Type": "DrMacAddress", "Settings": {"Address": "00-15-5D-7B-82-55", "Foo": 1}},
      {"Type": "NotAType", "Settings": {"Whatever": 1}}
    ]
  }],
  "Endpoints": [{
    "name": "web", "IPCONFIGURATIONS": [{"IpAddress": "10.244.1.5", "Zone": 1}],
    "Policies": [{"Type": "PortMapping", "Settings": {"Protocol": 6, "InternalPort": 80, "Bogus": 2}},
                 {"Type": "L4Proxy", "Settings": {"ExceptionList": [], "OutboundNat": true}},
                 {"Type": "L2Driver", "Settings": {"Anything": 1}}]
  }],
  "Namespaces": [{"Resources": [{"Type": "Endpoint", "Data": {"ID": "web", "Extra": 1}}]}],
  "Routes": [{"Routes": [{"DestinationPrefix": "10.0.0.0/8", "Nope": 1}]}],
  "Extra": []
}`
	var o Objects
	if err := json.Unmarshal([]byte(js), &o); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Endpoints[0].IpConfigurations[0].Zone",
		"Endpoints[0].Policies[0].Settings.Bogus",
		"Extra",
		"Namespaces[0].Resources[0].Data.Extra",
		"Networks[0].Bogus",
		"Networks[0].Ipams[0].Subnets[0].IpSubnets[0].ObjectType",
		"Networks[0].Ipams[0].Subnets[0].ObjectType",
		"Networks[0].Ipams[0].Subnets[0].Policies[0].Settings.Extra",
		"Networks[0].Policies[0].Settings.Foo",
		"Networks[0].version",
		"Routes[0].Routes[0].Nope", // reported under the alias it was given as
	}
	if !reflect.DeepEqual(o.Unknown, want) {
		t.Errorf("got %q\nwant %q", o.Unknown, want)
	}
}

func TestDecodeSettings(t *testing.T) {
	tests := []struct {
		name string
		p    any // EndpointPolicy, NetworkPolicy or SubnetPolicy
		want any
	}{
		{"PortMapping", EndpointPolicy{Type: PortMapping, Settings: json.RawMessage(`{"Protocol":6,"InternalPort":80,"ExternalPort":8080,"VIP":"10.0.0.4","Flags":1}`)},
			PortMappingPolicySetting{Protocol: 6, InternalPort: 80, ExternalPort: 8080, VIP: "10.0.0.4", Flags: NatFlagsLocalRoutedVip}},
		{"ACL", EndpointPolicy{Type: ACL, Settings: json.RawMessage(`{"Protocols":"6","Action":"Allow","Direction":"In","Priority":200,"Id":"x"}`)},
			AclPolicySetting{Protocols: "6", Action: ActionTypeAllow, Direction: DirectionTypeIn, Priority: 200, Id: "x"}},
		{"OutBoundNAT", EndpointPolicy{Type: OutBoundNAT, Settings: json.RawMessage(`{"Exceptions":["10.244.0.0/16"]}`)},
			OutboundNatPolicySetting{Exceptions: []string{"10.244.0.0/16"}}},
		{"EncapOverhead", EndpointPolicy{Type: EncapOverhead, Settings: json.RawMessage(`{"Overhead":50}`)}, EncapOverheadEndpointPolicySetting{Overhead: 50}},
		{"ProviderAddress endpoint", EndpointPolicy{Type: NetworkProviderAddress, Settings: json.RawMessage(`{"ProviderAddress":"10.0.0.6"}`)},
			ProviderAddressEndpointPolicySetting{ProviderAddress: "10.0.0.6"}},
		{"L2Driver stays raw", EndpointPolicy{Type: L2Driver, Settings: json.RawMessage(`{"x":1}`)}, json.RawMessage(`{"x":1}`)},
		{"no settings", EndpointPolicy{Type: QOS}, QosPolicySetting{}},
		{"RemoteSubnetRoute", NetworkPolicy{Type: RemoteSubnetRoute, Settings: json.RawMessage(`{"DestinationPrefix":"192.168.2.0/24","IsolationId":4096,"ProviderAddress":"10.0.0.3","DistributedRouterMacAddress":"00-11-22-33-44-55"}`)},
			RemoteSubnetRoutePolicySetting{DestinationPrefix: "192.168.2.0/24", IsolationId: 4096, ProviderAddress: "10.0.0.3", DistributedRouterMacAddress: "00-11-22-33-44-55"}},
		{"HostRoute", NetworkPolicy{Type: HostRoute, Settings: json.RawMessage(`{}`)}, HostRoutePolicySetting{}},
		{"SetPolicy", NetworkPolicy{Type: SetPolicy, Settings: json.RawMessage(`{"Id":"a","Name":"b","PolicyType":"NESTEDIPSET","Values":"x,y"}`)},
			SetPolicySetting{Id: "a", Name: "b", Type: SetPolicyTypeNestedIpSet, Values: "x,y"}},
		{"VxlanPort", NetworkPolicy{Type: VxlanPort, Settings: json.RawMessage(`{"Port":4790}`)}, VxlanPortPolicySetting{Port: 4790}},
		{"VLAN subnet", SubnetPolicy{Type: VLAN, Settings: json.RawMessage(`{"IsolationId":7}`)}, VlanPolicySetting{IsolationId: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			var err error
			switch p := tt.p.(type) {
			case EndpointPolicy:
				got, err = p.DecodeSettings()
			case NetworkPolicy:
				got, err = p.DecodeSettings()
			case SubnetPolicy:
				got, err = p.DecodeSettings()
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestTypedAccessors(t *testing.T) {
	pm := EndpointPolicy{Type: PortMapping, Settings: json.RawMessage(`{"Protocol":17,"InternalPort":53,"ExternalPort":53}`)}
	got, err := pm.PortMapping()
	if err != nil || got != (PortMappingPolicySetting{Protocol: 17, InternalPort: 53, ExternalPort: 53}) {
		t.Errorf("PortMapping() = %+v, %v", got, err)
	}
	if _, err := pm.ACL(); err == nil || !strings.Contains(err.Error(), `policy type is "PortMapping", not "ACL"`) {
		t.Errorf("ACL() on a PortMapping policy: got error %v", err)
	}
	np := NetworkPolicy{Type: DrMacAddress, Settings: json.RawMessage(`{"Address":"00-15-5D-7B-82-55"}`)}
	if dr, err := np.DrMacAddress(); err != nil || dr.Address != "00-15-5D-7B-82-55" {
		t.Errorf("DrMacAddress() = %+v, %v", dr, err)
	}
	v, err := DecodeSettings[VxlanPortPolicySetting](json.RawMessage(`{"Port":"x"}`))
	if err == nil || !strings.Contains(err.Error(), "Settings.Port") {
		t.Errorf("DecodeSettings bad port = %+v, %v; want an error naming Settings.Port", v, err)
	}
}

func TestPolicyErrors(t *testing.T) {
	e := HostComputeEndpoint{Name: "web", Policies: []EndpointPolicy{
		{Type: ACL, Settings: json.RawMessage(`{"Action":"Allow","Direction":"In"}`)},
		{Type: "Bogus", Settings: json.RawMessage(`{}`)},
		{Type: PortMapping, Settings: json.RawMessage(`{"Protocol":6,"InternalPort":80,"ExternalPort":70000}`)},
		{Type: TierAcl, Settings: json.RawMessage(`{"Name":"t","Direction":"In","Order":1,"TierAclRules":[{"Priority":"high"}]}`)},
		{Type: SDNRoute, Settings: json.RawMessage(`{"DestinationPrefix":`)},
	}}
	vals, err := e.DecodePolicies()
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		`endpoint "web": Policies[1] (Bogus): unknown policy type for an endpoint`,
		`endpoint "web": Policies[2] (PortMapping): Settings.ExternalPort: cannot decode number 70000 as uint16`,
		`endpoint "web": Policies[3] (TierAcl): Settings.TierAclRules.Priority: cannot decode string as uint16`,
		`endpoint "web": Policies[4] (SDNRoute): Settings: invalid JSON at byte 21: unexpected end of JSON input`,
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if _, ok := vals[0].(AclPolicySetting); !ok {
		t.Errorf("vals[0] = %T, want AclPolicySetting", vals[0])
	}
	var pe *PolicyError
	if !errors.As(err, &pe) || pe.Path != "Policies[1]" || !errors.Is(err, errUnknownPolicyType) {
		t.Errorf("errors.As PolicyError = %+v; want Path Policies[1] wrapping errUnknownPolicyType", pe)
	}
}

func TestSubnetPoliciesError(t *testing.T) {
	s := Subnet{Policies: []json.RawMessage{json.RawMessage(`{"Type":"VSID"}`), json.RawMessage(`{"Type":7}`)}}
	_, err := s.SubnetPolicies()
	if err == nil || !strings.Contains(err.Error(), "Policies[1]") {
		t.Errorf("got %v, want an error naming Policies[1]", err)
	}
}

func TestVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    Version
		wantErr bool
	}{
		{"13.2", Version{13, 2}, false},
		{"9", Version{9, 0}, false},
		{" 15.4 ", Version{15, 4}, false},
		{"x.1", Version{}, true},
		{"1.-2", Version{}, true},
		{"", Version{}, true},
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v, error %t", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if c := (Version{9, 5}).Compare(Version{10, 0}); c != -1 {
		t.Errorf("9.5 vs 10.0 = %d, want -1", c)
	}
	if c := (Version{13, 2}).Compare(Version{13, 1}); c != 1 {
		t.Errorf("13.2 vs 13.1 = %d, want 1", c)
	}
	if s := (Version{11, 10}).String(); s != "11.10" {
		t.Errorf("String = %q, want 11.10", s)
	}
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(V2SchemaVersion())
	if got := strings.TrimSpace(b.String()); got != `{"Major":2,"Minor":0}` {
		t.Errorf("V2SchemaVersion JSON = %s", got)
	}
}
