package hns

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// baseTopology is a valid host: a NAT network with two published
// containers, an l2bridge network with two pods behind a load balancer, and
// an overlay network with a local and a remote endpoint. References use
// names (the hnspath convenience).
const baseTopology = `{
  "Networks": [
    {"Name": "nat", "Type": "NAT",
     "Ipams": [{"Type": "Static", "Subnets": [{"IpAddressPrefix": "172.16.0.0/16", "Routes": [{"NextHop": "172.16.0.1", "DestinationPrefix": "0.0.0.0/0"}]}]}]},
    {"Name": "cbr0", "Type": "L2Bridge",
     "Policies": [{"Type": "NetAdapterName", "Settings": {"NetworkAdapterName": "Ethernet"}}],
     "Ipams": [{"Type": "Static", "Subnets": [{"IpAddressPrefix": "10.10.0.0/24", "Routes": [{"NextHop": "10.10.0.1", "DestinationPrefix": "0.0.0.0/0"}]}]}]},
    {"Name": "vxlan0", "Type": "Overlay", "Flags": 8,
     "Policies": [
       {"Type": "DrMacAddress", "Settings": {"Address": "00-15-5D-7B-82-55"}},
       {"Type": "ProviderAddress", "Settings": {"ProviderAddress": "10.0.0.10"}},
       {"Type": "RemoteSubnetRoute", "Settings": {"DestinationPrefix": "10.244.2.0/24", "IsolationId": 4096, "ProviderAddress": "10.0.0.11", "DistributedRouterMacAddress": "00-15-5D-7B-82-56"}},
       {"Type": "HostRoute", "Settings": {}}
     ],
     "Ipams": [{"Type": "Static", "Subnets": [{"IpAddressPrefix": "10.244.1.0/24",
        "Policies": [{"Type": "VSID", "Settings": {"IsolationId": 4096}}],
        "Routes": [{"NextHop": "10.244.1.1", "DestinationPrefix": "0.0.0.0/0"}]}]}]}
  ],
  "Endpoints": [
    {"Name": "web", "HostComputeNetwork": "nat", "MacAddress": "00-15-5D-00-01-02",
     "IpConfigurations": [{"IpAddress": "172.16.0.2", "PrefixLength": 16}],
     "Policies": [{"Type": "PortMapping", "Settings": {"Protocol": 6, "InternalPort": 80, "ExternalPort": 8080}}]},
    {"Name": "api", "HostComputeNetwork": "nat", "MacAddress": "00-15-5D-00-01-03",
     "IpConfigurations": [{"IpAddress": "172.16.0.3", "PrefixLength": 16}],
     "Policies": [{"Type": "PortMapping", "Settings": {"Protocol": 6, "InternalPort": 80, "ExternalPort": 8081}},
                  {"Type": "PortMapping", "Settings": {"Protocol": 17, "InternalPort": 53, "ExternalPort": 8080}}]},
    {"Name": "pod1", "HostComputeNetwork": "cbr0", "MacAddress": "00-15-5D-00-02-05",
     "IpConfigurations": [{"IpAddress": "10.10.0.5", "PrefixLength": 24}],
     "Policies": [
       {"Type": "OutBoundNAT", "Settings": {"Exceptions": ["10.244.0.0/16", "10.96.0.0/12", "10.10.0.0/24"]}},
       {"Type": "SDNRoute", "Settings": {"DestinationPrefix": "10.96.0.0/12", "NeedEncap": true}},
       {"Type": "ACL", "Settings": {"Protocols": "6", "Action": "Allow", "Direction": "In", "LocalPorts": "80,8000-8080", "RemoteAddresses": "10.0.0.0/8,192.168.1.1", "RuleType": "Switch", "Priority": 200}}
     ]},
    {"Name": "pod2", "HostComputeNetwork": "cbr0", "MacAddress": "00-15-5D-00-02-06",
     "IpConfigurations": [{"IpAddress": "10.10.0.6", "PrefixLength": 24}]},
    {"Name": "opod", "HostComputeNetwork": "vxlan0", "MacAddress": "0E-2A-0A-F4-01-05",
     "IpConfigurations": [{"IpAddress": "10.244.1.5", "PrefixLength": 24}],
     "Policies": [{"Type": "EncapOverhead", "Settings": {"Overhead": 50}}]},
    {"Name": "remote1", "HostComputeNetwork": "vxlan0", "MacAddress": "00-15-5D-99-00-01", "Flags": 1,
     "IpConfigurations": [{"IpAddress": "10.244.2.7"}],
     "Policies": [{"Type": "ProviderAddress", "Settings": {"ProviderAddress": "10.0.0.11"}}]},
    {"Name": "remote2", "HostComputeNetwork": "vxlan0", "MacAddress": "00-15-5D-99-00-01", "Flags": 1,
     "IpConfigurations": [{"IpAddress": "10.244.2.8"}]}
  ],
  "LoadBalancers": [
    {"Name": "svc", "HostComputeEndpoints": ["pod1", "pod2"], "FrontendVIPs": ["10.96.0.10"],
     "PortMappings": [{"Protocol": 6, "InternalPort": 8080, "ExternalPort": 80}]},
    {"Name": "nodeport", "HostComputeEndpoints": ["pod1"], "Flags": 1,
     "PortMappings": [{"Protocol": 6, "InternalPort": 8080, "ExternalPort": 30080, "Flags": 2}]}
  ],
  "Namespaces": [{"Name": "ns-web", "NamespaceId": 2, "Type": "Host", "Resources": [{"Type": "Endpoint", "Data": {"ID": "web"}}]}],
  "Routes": [{"Name": "imds", "HostComputeEndpoints": ["pod1"], "Setting": [{"DestinationPrefix": "169.254.169.254/32", "NextHop": "10.10.0.1"}]}]
}`

func baseHost(p Profile) HostContext {
	return HostContext{Name: "host1", Profile: p, NICs: []NIC{{Name: "Ethernet", MAC: "00-15-5D-01-02-03", Prefix: netip.MustParsePrefix("10.0.0.10/24")}}}
}

func loadBase(t testing.TB) *Objects {
	t.Helper()
	var o Objects
	if err := json.Unmarshal([]byte(baseTopology), &o); err != nil {
		t.Fatal(err)
	}
	return &o
}

func TestValidateBaseIsValid(t *testing.T) {
	for _, p := range Profiles() {
		t.Run(p.Name, func(t *testing.T) {
			o := loadBase(t)
			before := mustMarshal(t, o)
			if err := Validate(o, baseHost(p)); err != nil {
				t.Fatalf("base topology: %v", err)
			}
			if after := mustMarshal(t, o); after != before {
				t.Error("Validate modified its input")
			}
		})
	}
	if err := Validate(loadBase(t), HostContext{}); err != nil {
		t.Errorf("zero HostContext (default profile): %v", err)
	}
}

// Helpers to mutate the base topology.

func raw(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func nw(o *Objects, name string) *HostComputeNetwork  { return o.NetworkByName(name) }
func ep(o *Objects, name string) *HostComputeEndpoint { return o.EndpointByName(name) }
func lb(o *Objects, name string) *HostComputeLoadBalancer {
	for i := range o.LoadBalancers {
		if o.LoadBalancers[i].Name == name {
			return &o.LoadBalancers[i]
		}
	}
	return nil
}

func subnet0(o *Objects, name string) *Subnet { return &nw(o, name).Ipams[0].Subnets[0] }

// problem is the part of an *Error a rule must get right.
type problem struct {
	code   HResult
	kind   string
	object string
	field  string
}

func (p problem) String() string {
	return fmt.Sprintf("%s %s %q %s", p.code.Name(), p.kind, p.object, p.field)
}

func TestValidateRules(t *testing.T) {
	type row struct {
		name    string
		profile Profile // zero: WS2022
		host    func(*HostContext)
		mutate  func(t *testing.T, o *Objects)
		want    []problem // exactly these (order ignored); none means valid
	}
	custom := func(maj, min int) Profile { return Profile{Name: "custom", Version: Version{maj, min}} }
	tests := []row{
		// Endpoint prefix lengths and MTUs (issue 13).
		{name: "endpoint prefix length 0", mutate: func(t *testing.T, o *Objects) {
			if err := json.Unmarshal([]byte(`[{"IpAddress": "172.16.0.2", "PrefixLength": 0}]`), &ep(o, "web").IpConfigurations); err != nil {
				t.Fatal(err)
			}
		}, want: []problem{{HCN_E_INVALID_PREFIX, KindEndpoint, "web", "IpConfigurations[0].PrefixLength"}}},
		{name: "endpoint prefix length omitted takes the subnet's", mutate: func(t *testing.T, o *Objects) {
			if err := json.Unmarshal([]byte(`[{"IpAddress": "172.16.0.2"}]`), &ep(o, "web").IpConfigurations); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "InterfaceParameters MTU 1", mutate: func(t *testing.T, o *Objects) {
			e := ep(o, "pod2")
			e.Policies = append(e.Policies, EndpointPolicy{Type: InterfaceParameters, Settings: raw(t, InterfaceParametersPolicySetting{Mtu: 1})})
		}, want: []problem{{HCN_E_INVALID_POLICY, KindEndpoint, "pod2", "Policies[0] (InterfaceParameters).Settings.Mtu"}}},
		{name: "InterfaceParameters MTU 0", mutate: func(t *testing.T, o *Objects) {
			e := ep(o, "pod2")
			e.Policies = append(e.Policies, EndpointPolicy{Type: InterfaceParameters, Settings: json.RawMessage(`{"Mtu": 0}`)})
		}, want: []problem{{HCN_E_INVALID_POLICY, KindEndpoint, "pod2", "Policies[0] (InterfaceParameters).Settings.Mtu"}}},
		{name: "InterfaceParameters MTU 68", mutate: func(t *testing.T, o *Objects) {
			e := ep(o, "pod2")
			e.Policies = append(e.Policies, EndpointPolicy{Type: InterfaceParameters, Settings: raw(t, InterfaceParametersPolicySetting{Mtu: 68})})
		}},
		{name: "InterfaceParameters MTU 1000 with IPv6", mutate: func(t *testing.T, o *Objects) {
			addV6Bridge(t, o)
			e := ep(o, "pod2")
			e.IpConfigurations = append(e.IpConfigurations, IpConfig{IpAddress: "fd00:10::6", PrefixLength: 64})
			e.Policies = append(e.Policies, EndpointPolicy{Type: InterfaceParameters, Settings: raw(t, InterfaceParametersPolicySetting{Mtu: 1000})})
		}, want: []problem{{HCN_E_INVALID_POLICY, KindEndpoint, "pod2", "Policies[0] (InterfaceParameters).Settings.Mtu"}}},
		// Networks.
		{name: "unknown network type", mutate: func(t *testing.T, o *Objects) { nw(o, "cbr0").Type = "Bridge" },
			want: []problem{{HCN_E_INVALID_NETWORK_TYPE, KindNetwork, "cbr0", "Type"}}},
		{name: "official network mode is known", mutate: func(t *testing.T, o *Objects) {
			o.Networks = append(o.Networks, HostComputeNetwork{Name: "int", Type: NetworkTypeInternal})
		}},
		{name: "duplicate network name", mutate: func(t *testing.T, o *Objects) {
			o.Networks = append(o.Networks, HostComputeNetwork{Name: "cbr0", Type: Transparent})
		}, want: []problem{
			{HCN_E_NETWORK_ALREADY_EXISTS, KindNetwork, "cbr0", "Name"},
			// References to "cbr0" no longer say which network they mean.
			{HCN_E_INVALID_JSON_REFERENCE, KindEndpoint, "pod1", "HostComputeNetwork"},
			{HCN_E_INVALID_JSON_REFERENCE, KindEndpoint, "pod2", "HostComputeNetwork"},
		}},
		{name: "second NAT network", mutate: func(t *testing.T, o *Objects) {
			o.Networks = append(o.Networks, HostComputeNetwork{Name: "nat2", Type: NAT})
		}, want: []problem{{HCN_E_INVALID_NETWORK, KindNetwork, "nat2", "Type"}}},
		{name: "second NAT prefix", mutate: func(t *testing.T, o *Objects) {
			n := nw(o, "nat")
			n.Ipams[0].Subnets = append(n.Ipams[0].Subnets, Subnet{IpAddressPrefix: "172.31.0.0/16", Routes: []Route{{NextHop: "172.31.0.1", DestinationPrefix: "0.0.0.0/0"}}})
		}, want: []problem{{HCN_E_INVALID_NETWORK, KindNetwork, "nat", "Ipams[0].Subnets[1].IpAddressPrefix"}}},
		{name: "NAT prefix overlaps a NIC prefix (WINNAT: 172.16.0.0/12 vs host 172.17.0.4)",
			host: func(h *HostContext) { h.NICs[0].Prefix = netip.MustParsePrefix("172.16.5.4/24") },
			want: []problem{{HCN_E_INVALID_PREFIX, KindNetwork, "nat", "Ipams[0].Subnets[0].IpAddressPrefix"}}},
		{name: "IPv6 subnet on NAT", mutate: func(t *testing.T, o *Objects) {
			n := nw(o, "nat")
			n.Ipams[0].Subnets = append(n.Ipams[0].Subnets, Subnet{IpAddressPrefix: "fd00::/64", Routes: []Route{{NextHop: "fd00::1", DestinationPrefix: "::/0"}}})
		}, want: []problem{{HCN_E_INVALID_SUBNET, KindNetwork, "nat", "Ipams[0].Subnets[1].IpAddressPrefix"}}},
		{name: "IPv6 subnet on Overlay", mutate: func(t *testing.T, o *Objects) {
			n := nw(o, "vxlan0")
			n.Ipams[0].Subnets = append(n.Ipams[0].Subnets, Subnet{IpAddressPrefix: "fd00::/64", Policies: n.Ipams[0].Subnets[0].Policies,
				Routes: []Route{{NextHop: "fd00::1", DestinationPrefix: "::/0"}}})
		}, want: []problem{{HCN_E_INVALID_SUBNET, KindNetwork, "vxlan0", "Ipams[0].Subnets[1].IpAddressPrefix"}}},
		{name: "IPv6 subnet on L2Bridge with WS2022", mutate: addV6Bridge},
		{name: "IPv6 subnet on L2Bridge with WS2019", profile: WS2019, mutate: addV6Bridge,
			want: []problem{{HCN_E_INVALID_SUBNET, KindNetwork, "cbr0", "Ipams[0].Subnets[1].IpAddressPrefix"}}},
		{name: "malformed subnet prefix", mutate: func(t *testing.T, o *Objects) { subnet0(o, "cbr0").IpAddressPrefix = "10.10.0.0/33" },
			want: []problem{{HCN_E_INVALID_PREFIX, KindNetwork, "cbr0", "Ipams[0].Subnets[0].IpAddressPrefix"}}},
		{name: "subnet route without next hop (hcsshim Create)", mutate: func(t *testing.T, o *Objects) { subnet0(o, "cbr0").Routes[0].NextHop = "" },
			want: []problem{{HCN_E_INVALID_SUBNET, KindNetwork, "cbr0", "Ipams[0].Subnets[0].Routes[0].NextHop"}}},
		{name: "subnet without default route (hcsshim Create)", mutate: func(t *testing.T, o *Objects) {
			subnet0(o, "cbr0").Routes[0].DestinationPrefix = "10.0.0.0/8"
		}, want: []problem{{HCN_E_INVALID_SUBNET, KindNetwork, "cbr0", "Ipams[0].Subnets[0].Routes"}}},
		{name: "overlay subnet without VSID", mutate: func(t *testing.T, o *Objects) { subnet0(o, "vxlan0").Policies = nil },
			want: []problem{{HCN_E_INVALID_SUBNET, KindNetwork, "vxlan0", "Ipams[0].Subnets[0].Policies"}}},
		{name: "VSID below 4096", mutate: func(t *testing.T, o *Objects) {
			subnet0(o, "vxlan0").Policies[0] = raw(t, SubnetPolicy{Type: VSID, Settings: raw(t, VsidPolicySetting{IsolationId: 4095})})
		}, want: []problem{{HCN_E_INVALID_POLICY, KindNetwork, "vxlan0", "Ipams[0].Subnets[0].Policies[0] (VSID).Settings.IsolationId"}}},
		{name: "VSID above 24 bits", mutate: func(t *testing.T, o *Objects) {
			subnet0(o, "vxlan0").Policies[0] = raw(t, SubnetPolicy{Type: VSID, Settings: raw(t, VsidPolicySetting{IsolationId: 1 << 24})})
		}, want: []problem{{HCN_E_INVALID_POLICY, KindNetwork, "vxlan0", "Ipams[0].Subnets[0].Policies[0] (VSID).Settings.IsolationId"}}},
		{name: "VLAN out of range", mutate: func(t *testing.T, o *Objects) {
			s := subnet0(o, "cbr0")
			s.Policies = append(s.Policies, raw(t, SubnetPolicy{Type: VLAN, Settings: raw(t, VlanPolicySetting{IsolationId: 4095})}))
		}, want: []problem{{HCN_E_INVALID_POLICY, KindNetwork, "cbr0", "Ipams[0].Subnets[0].Policies[0] (VLAN).Settings.IsolationId"}}},
		{name: "unknown subnet policy type", mutate: func(t *testing.T, o *Objects) {
			s := subnet0(o, "cbr0")
			s.Policies = append(s.Policies, json.RawMessage(`{"Type":"QinQ","Settings":{}}`))
		}, want: []problem{{HCN_E_INVALID_POLICY_TYPE, KindNetwork, "cbr0", "Ipams[0].Subnets[0].Policies[0]"}}},
		{name: "unknown network policy type", mutate: func(t *testing.T, o *Objects) {
			n := nw(o, "cbr0")
			n.Policies = append(n.Policies, NetworkPolicy{Type: "Bogus"})
		}, want: []problem{{HCN_E_INVALID_POLICY_TYPE, KindNetwork, "cbr0", "Policies[1]"}}},
		{name: "network policy settings of the wrong type", mutate: func(t *testing.T, o *Objects) {
			n := nw(o, "vxlan0")
			n.Policies = append(n.Policies, NetworkPolicy{Type: VxlanPort, Settings: json.RawMessage(`{"Port":"4789"}`)})
		}, want: []problem{{HCN_E_INVALID_POLICY, KindNetwork, "vxlan0", "Policies[4] (VxlanPort).Settings.Port"}}},
		{name: "VxlanPort on WS2022", mutate: addVxlanPort(4790)},
		{name: "VxlanPort before HNS 10.3 (WS2019)", profile: WS2019, mutate: addVxlanPort(4790),
			want: []problem{{HCN_E_INVALID_POLICY_TYPE, KindNetwork, "vxlan0", "Policies[4] (VxlanPort)"}}},
		{name: "VxlanPort port 0", mutate: addVxlanPort(0),
			want: []problem{{HCN_E_INVALID_POLICY, KindNetwork, "vxlan0", "Policies[4] (VxlanPort).Settings.Port"}}},
		{name: "two VxlanPort policies", mutate: func(t *testing.T, o *Objects) { addVxlanPort(4790)(t, o); addVxlanPort(4791)(t, o) },
			want: []problem{{HCN_E_POLICY_ALREADY_EXISTS, KindNetwork, "vxlan0", "Policies[5] (VxlanPort)"}}},
		{name: "VxlanPort on a non-overlay network", mutate: func(t *testing.T, o *Objects) {
			n := nw(o, "cbr0")
			n.Policies = append(n.Policies, NetworkPolicy{Type: VxlanPort, Settings: raw(t, VxlanPortPolicySetting{Port: 4789})})
		}, want: []problem{{HCN_E_INVALID_POLICY, KindNetwork, "cbr0", "Policies[1] (VxlanPort)"}}},
		{name: "RemoteSubnetRoute on a non-overlay network", mutate: func(t *testing.T, o *Objects) {
			n := nw(o, "cbr0")
			n.Policies = append(n.Policies, nw(o, "vxlan0").Policies[2])
		}, want: []problem{{HCN_E_INVALID_POLICY, KindNetwork, "cbr0", "Policies[1] (RemoteSubnetRoute)"}}},
		{name: "RemoteSubnetRoute with bad prefix, PA and MAC", mutate: func(t *testing.T, o *Objects) {
			nw(o, "vxlan0").Policies[2].Settings = raw(t, RemoteSubnetRoutePolicySetting{DestinationPrefix: "10.244.2.0", IsolationId: 4096, ProviderAddress: "node2", DistributedRouterMacAddress: "00-15-5D"})
		}, want: []problem{
			{HCN_E_INVALID_PREFIX, KindNetwork, "vxlan0", "Policies[2] (RemoteSubnetRoute).Settings.DestinationPrefix"},
			{HCN_E_INVALID_IP, KindNetwork, "vxlan0", "Policies[2] (RemoteSubnetRoute).Settings.ProviderAddress"},
			{HCN_E_INVALID_POLICY, KindNetwork, "vxlan0", "Policies[2] (RemoteSubnetRoute).Settings.DistributedRouterMacAddress"},
		}},
		{name: "RemoteSubnetRoute before HNS 9.2", profile: custom(9, 1), want: []problem{
			{HCN_E_REQUEST_UNSUPPORTED, KindHost, "host1", ""},
			{HCN_E_INVALID_POLICY_TYPE, KindNetwork, "vxlan0", "Policies[2] (RemoteSubnetRoute)"},
			{HCN_E_INVALID_POLICY_TYPE, KindNetwork, "vxlan0", "Policies[3] (HostRoute)"},
			{HCN_E_REQUEST_UNSUPPORTED, KindLoadBalancer, "nodeport", "Flags"},
		}},
		{name: "NetworkACL on WS2022", mutate: addNetworkACL,
			want: []problem{{HCN_E_INVALID_POLICY_TYPE, KindNetwork, "cbr0", "Policies[1] (NetworkACL)"}}},
		{name: "NetworkACL on WS2025", profile: WS2025, mutate: addNetworkACL},
		{name: "NESTEDIPSET before HNS 15.0", mutate: func(t *testing.T, o *Objects) {
			n := nw(o, "cbr0")
			n.Policies = append(n.Policies,
				NetworkPolicy{Type: SetPolicy, Settings: raw(t, SetPolicySetting{Id: "s1", Name: "pods", Type: SetPolicyTypeIpSet, Values: "10.10.0.5,10.10.0.6"})},
				NetworkPolicy{Type: SetPolicy, Settings: raw(t, SetPolicySetting{Id: "s2", Name: "nested", Type: SetPolicyTypeNestedIpSet, Values: "s1"})})
		}, want: []problem{{HCN_E_INVALID_POLICY, KindNetwork, "cbr0", "Policies[2] (SetPolicy).Settings.PolicyType"}}},
		{name: "NetAdapterName names no NIC", mutate: func(t *testing.T, o *Objects) {
			nw(o, "cbr0").Policies[0].Settings = raw(t, NetAdapterNameNetworkPolicySetting{NetworkAdapterName: "Ethernet 2"})
		}, want: []problem{{HCN_E_ADAPTER_NOT_FOUND, KindNetwork, "cbr0", "Policies[0] (NetAdapterName).Settings.NetworkAdapterName"}}},
		{name: "bad DR MAC", mutate: func(t *testing.T, o *Objects) {
			nw(o, "vxlan0").Policies[0].Settings = raw(t, DrMacAddressNetworkPolicySetting{Address: "zz-15-5D-7B-82-55"})
		}, want: []problem{{HCN_E_INVALID_POLICY, KindNetwork, "vxlan0", "Policies[0] (DrMacAddress).Settings.Address"}}},
		{name: "DisableHostPort before HNS 15.1", mutate: func(t *testing.T, o *Objects) { nw(o, "cbr0").Flags |= DisableHostPort },
			want: []problem{{HCN_E_REQUEST_UNSUPPORTED, KindNetwork, "cbr0", "Flags"}}},
		{name: "DisableHostPort on WS2025", profile: WS2025, mutate: func(t *testing.T, o *Objects) { nw(o, "cbr0").Flags |= DisableHostPort }},
		{name: "MAC pool range reversed", mutate: func(t *testing.T, o *Objects) {
			nw(o, "cbr0").MacPool.Ranges = []MacRange{{StartMacAddress: "00-15-5D-52-CF-FF", EndMacAddress: "00-15-5D-52-C0-00"}}
		}, want: []problem{{HCN_E_INVALID_NETWORK, KindNetwork, "cbr0", "MacPool.Ranges[0]"}}},
		{name: "Docker options Windows does not support", mutate: func(t *testing.T, o *Objects) {
			nw(o, "cbr0").DockerOptions = &DockerOptions{Internal: true, IpRange: "10.10.0.128/25", AuxAddress: map[string]string{"r": "10.10.0.3"},
				IpamDriver: "custom", IpamOpt: map[string]string{"a": "b"}, EnableIPv6: true, Encrypted: true}
		}, want: []problem{
			{HCN_E_REQUEST_UNSUPPORTED, KindNetwork, "cbr0", "DockerOptions.Internal"},
			{HCN_E_REQUEST_UNSUPPORTED, KindNetwork, "cbr0", "DockerOptions.IpRange"},
			{HCN_E_REQUEST_UNSUPPORTED, KindNetwork, "cbr0", "DockerOptions.AuxAddress"},
			{HCN_E_REQUEST_UNSUPPORTED, KindNetwork, "cbr0", "DockerOptions.IpamDriver"},
			{HCN_E_REQUEST_UNSUPPORTED, KindNetwork, "cbr0", "DockerOptions.IpamOpt"},
			{HCN_E_REQUEST_UNSUPPORTED, KindNetwork, "cbr0", "DockerOptions.EnableIPv6"},
			{HCN_E_REQUEST_UNSUPPORTED, KindNetwork, "cbr0", "DockerOptions.Encrypted"},
		}},
		{name: "Docker default IPAM driver is fine", mutate: func(t *testing.T, o *Objects) {
			nw(o, "cbr0").DockerOptions = &DockerOptions{IpamDriver: "default"}
		}},

		// Endpoints.
		{name: "endpoint on an unknown network", mutate: func(t *testing.T, o *Objects) { ep(o, "pod2").HostComputeNetwork = "cbr1" },
			want: []problem{{HCN_E_NETWORK_NOT_FOUND, KindEndpoint, "pod2", "HostComputeNetwork"}}},
		{name: "endpoint without a network", mutate: func(t *testing.T, o *Objects) { ep(o, "pod2").HostComputeNetwork = "" },
			want: []problem{{HCN_E_NETWORK_NOT_FOUND, KindEndpoint, "pod2", "HostComputeNetwork"}}},
		{name: "endpoint in an unknown namespace", mutate: func(t *testing.T, o *Objects) { ep(o, "pod2").HostComputeNamespace = "ns-x" },
			want: []problem{{HCN_E_INVALID_JSON_REFERENCE, KindEndpoint, "pod2", "HostComputeNamespace"}}},
		{name: "malformed endpoint IP", mutate: func(t *testing.T, o *Objects) { ep(o, "pod2").IpConfigurations[0].IpAddress = "10.10.0.256" },
			want: []problem{{HCN_E_INVALID_IP, KindEndpoint, "pod2", "IpConfigurations[0].IpAddress"}}},
		{name: "endpoint IP outside the network's subnets", mutate: func(t *testing.T, o *Objects) { ep(o, "pod2").IpConfigurations[0].IpAddress = "10.10.1.6" },
			want: []problem{{HCN_E_INVALID_IP, KindEndpoint, "pod2", "IpConfigurations[0].IpAddress"}}},
		{name: "remote endpoint outside the subnets is fine", mutate: func(t *testing.T, o *Objects) { ep(o, "remote1").IpConfigurations[0].IpAddress = "10.244.9.9" }},
		{name: "endpoint IP is the gateway", mutate: func(t *testing.T, o *Objects) { ep(o, "pod2").IpConfigurations[0].IpAddress = "10.10.0.1" },
			want: []problem{{HCN_E_ADDR_INVALID_OR_RESERVED, KindEndpoint, "pod2", "IpConfigurations[0].IpAddress"}}},
		{name: "gateway address allowed with DoNotReserveGatewayAddress", mutate: func(t *testing.T, o *Objects) {
			ep(o, "pod2").IpConfigurations[0].IpAddress = "10.10.0.1"
			subnet0(o, "cbr0").Flags = SubnetFlagsDoNotReserveGatewayAddress
		}},
		{name: "endpoint IP is the network address", mutate: func(t *testing.T, o *Objects) { ep(o, "pod2").IpConfigurations[0].IpAddress = "10.10.0.0" },
			want: []problem{{HCN_E_ADDR_INVALID_OR_RESERVED, KindEndpoint, "pod2", "IpConfigurations[0].IpAddress"}}},
		{name: "endpoint IP is the broadcast address", mutate: func(t *testing.T, o *Objects) { ep(o, "pod2").IpConfigurations[0].IpAddress = "10.10.0.255" },
			want: []problem{{HCN_E_ADDR_INVALID_OR_RESERVED, KindEndpoint, "pod2", "IpConfigurations[0].IpAddress"}}},
		{name: "prefix length too long", mutate: func(t *testing.T, o *Objects) { ep(o, "pod2").IpConfigurations[0].PrefixLength = 33 },
			want: []problem{{HCN_E_INVALID_PREFIX, KindEndpoint, "pod2", "IpConfigurations[0].PrefixLength"}}},
		{name: "/32 endpoint before HNS 9.3", profile: custom(9, 2), mutate: func(t *testing.T, o *Objects) { ep(o, "pod2").IpConfigurations[0].PrefixLength = 32 },
			want: []problem{
				{HCN_E_REQUEST_UNSUPPORTED, KindEndpoint, "pod2", "IpConfigurations[0].PrefixLength"},
				{HCN_E_REQUEST_UNSUPPORTED, KindLoadBalancer, "nodeport", "Flags"}, // DSR too
			}},
		{name: "duplicate IP on a network", mutate: func(t *testing.T, o *Objects) { ep(o, "pod2").IpConfigurations[0].IpAddress = "10.10.0.5" },
			want: []problem{{HCN_E_ADDR_INVALID_OR_RESERVED, KindEndpoint, "pod2", "IpConfigurations[0].IpAddress"}}},
		{name: "same IP on two networks is fine", mutate: func(t *testing.T, o *Objects) {
			subnet0(o, "cbr0").IpAddressPrefix = "10.244.1.0/24"
			subnet0(o, "cbr0").Routes[0].NextHop = "10.244.1.1"
			ep(o, "pod1").IpConfigurations[0].IpAddress = "10.244.1.5"
			ep(o, "pod2").IpConfigurations[0].IpAddress = "10.244.1.6"
			ep(o, "pod1").Policies[0].Settings = raw(t, OutboundNatPolicySetting{})
		}},
		{name: "duplicate MAC among local endpoints", mutate: func(t *testing.T, o *Objects) { ep(o, "pod2").MacAddress = "00-15-5d-00-02-05" },
			want: []problem{{HCN_E_ADDR_INVALID_OR_RESERVED, KindEndpoint, "pod2", "MacAddress"}}},
		{name: "multicast MAC", mutate: func(t *testing.T, o *Objects) { ep(o, "pod2").MacAddress = "01-00-5E-00-00-01" },
			want: []problem{{HCN_E_ADDR_INVALID_OR_RESERVED, KindEndpoint, "pod2", "MacAddress"}}},
		{name: "malformed MAC", mutate: func(t *testing.T, o *Objects) { ep(o, "pod2").MacAddress = "00-15-5D-00-02" },
			want: []problem{{HCN_E_INVALID_ENDPOINT, KindEndpoint, "pod2", "MacAddress"}}},
		{name: "IPv6 address on a NAT endpoint", mutate: func(t *testing.T, o *Objects) {
			e := ep(o, "web")
			e.IpConfigurations = append(e.IpConfigurations, IpConfig{IpAddress: "fd00::2", PrefixLength: 64})
		}, want: []problem{{HCN_E_INVALID_IP, KindEndpoint, "web", "IpConfigurations[1].IpAddress"}}},
		{name: "IPv6 address below HNS 11.10", profile: WS2019, mutate: func(t *testing.T, o *Objects) {
			addV6Bridge(t, o)
			e := ep(o, "pod2")
			e.IpConfigurations = append(e.IpConfigurations, IpConfig{IpAddress: "fd00:10::6", PrefixLength: 64})
		}, want: []problem{
			{HCN_E_INVALID_SUBNET, KindNetwork, "cbr0", "Ipams[0].Subnets[1].IpAddressPrefix"},
			{HCN_E_INVALID_IP, KindEndpoint, "pod2", "IpConfigurations[1].IpAddress"},
		}},
		{name: "unknown endpoint policy type", mutate: func(t *testing.T, o *Objects) {
			ep(o, "pod2").Policies = []EndpointPolicy{{Type: "NAT", Settings: json.RawMessage(`{}`)}}
		}, want: []problem{{HCN_E_INVALID_POLICY_TYPE, KindEndpoint, "pod2", "Policies[0]"}}},
		{name: "endpoint policy settings out of range", mutate: func(t *testing.T, o *Objects) {
			ep(o, "web").Policies[0].Settings = json.RawMessage(`{"Protocol":6,"InternalPort":80,"ExternalPort":70000}`)
		}, want: []problem{{HCN_E_INVALID_POLICY, KindEndpoint, "web", "Policies[0] (PortMapping).Settings.ExternalPort"}}},
		{name: "port mapping of ICMP", mutate: func(t *testing.T, o *Objects) {
			ep(o, "web").Policies[0].Settings = raw(t, PortMappingPolicySetting{Protocol: 1, InternalPort: 80, ExternalPort: 8080})
		}, want: []problem{{HCN_E_INVALID_POLICY, KindEndpoint, "web", "Policies[0] (PortMapping).Settings.Protocol"}}},
		{name: "port mapping with internal port 0", mutate: func(t *testing.T, o *Objects) {
			ep(o, "web").Policies[0].Settings = raw(t, PortMappingPolicySetting{Protocol: 6, ExternalPort: 8080})
		}, want: []problem{{HCN_E_INVALID_INTERNAL_PORT, KindEndpoint, "web", "Policies[0] (PortMapping).Settings.InternalPort"}}},
		{name: "external port used twice", mutate: func(t *testing.T, o *Objects) {
			ep(o, "api").Policies[0].Settings = raw(t, PortMappingPolicySetting{Protocol: 6, InternalPort: 80, ExternalPort: 8080})
		}, want: []problem{{HCN_E_PORT_ALREADY_EXISTS, KindEndpoint, "api", "Policies[0] (PortMapping).Settings.ExternalPort"}}},
		{name: "external port on different VIPs is fine", mutate: func(t *testing.T, o *Objects) {
			ep(o, "web").Policies[0].Settings = raw(t, PortMappingPolicySetting{Protocol: 6, InternalPort: 80, ExternalPort: 8081, VIP: "10.0.0.10"})
			ep(o, "api").Policies[0].Settings = raw(t, PortMappingPolicySetting{Protocol: 6, InternalPort: 80, ExternalPort: 8081, VIP: "10.0.0.20"})
		}},
		{name: "external port on a VIP and on all addresses", mutate: func(t *testing.T, o *Objects) {
			ep(o, "web").Policies[0].Settings = raw(t, PortMappingPolicySetting{Protocol: 6, InternalPort: 80, ExternalPort: 8081, VIP: "10.0.0.10"})
		}, want: []problem{{HCN_E_PORT_ALREADY_EXISTS, KindEndpoint, "api", "Policies[0] (PortMapping).Settings.ExternalPort"}}},
		{name: "ACL with bad fields", mutate: func(t *testing.T, o *Objects) {
			ep(o, "pod1").Policies[2].Settings = raw(t, AclPolicySetting{Protocols: "6,tcp", Action: "Deny", Direction: "Both", LocalPorts: "80-70", RemoteAddresses: "10.0.0.0/33", RuleType: "Firewall"})
		}, want: []problem{
			{HCN_E_INVALID_POLICY, KindEndpoint, "pod1", "Policies[2] (ACL).Settings.Action"},
			{HCN_E_INVALID_POLICY, KindEndpoint, "pod1", "Policies[2] (ACL).Settings.Direction"},
			{HCN_E_INVALID_POLICY, KindEndpoint, "pod1", "Policies[2] (ACL).Settings.RuleType"},
			{HCN_E_INVALID_POLICY, KindEndpoint, "pod1", "Policies[2] (ACL).Settings.Protocols"},
			{HCN_E_INVALID_POLICY, KindEndpoint, "pod1", "Policies[2] (ACL).Settings.RemoteAddresses"},
			{HCN_E_INVALID_POLICY, KindEndpoint, "pod1", "Policies[2] (ACL).Settings.LocalPorts"},
		}},
		{name: "ACL protocol 256 (any) is fine", mutate: func(t *testing.T, o *Objects) {
			ep(o, "pod1").Policies[2].Settings = raw(t, AclPolicySetting{Protocols: "256", Action: ActionTypeBlock, Direction: DirectionTypeOut, Priority: 1001})
		}},
		{name: "ACL protocol 252 before HNS 11.0", profile: WS2019, mutate: func(t *testing.T, o *Objects) {
			ep(o, "pod1").Policies[2].Settings = raw(t, AclPolicySetting{Protocols: "252", Action: ActionTypeAllow, Direction: DirectionTypeIn})
		}, want: []problem{{HCN_E_REQUEST_UNSUPPORTED, KindEndpoint, "pod1", "Policies[2] (ACL).Settings.Protocols"}}},
		{name: "L4WFPPROXY before HNS 13.2", profile: WS2019, mutate: func(t *testing.T, o *Objects) {
			e := ep(o, "pod2")
			e.Policies = append(e.Policies, EndpointPolicy{Type: L4WFPPROXY, Settings: raw(t, L4WfpProxyPolicySetting{InboundProxyPort: "15006"})})
		}, want: []problem{{HCN_E_INVALID_POLICY_TYPE, KindEndpoint, "pod2", "Policies[0] (L4WFPPROXY)"}}},
		{name: "TierAcl before HNS 14.0", mutate: addTierAcl,
			want: []problem{{HCN_E_INVALID_POLICY_TYPE, KindEndpoint, "pod2", "Policies[0] (TierAcl)"}}},
		{name: "TierAcl on WS2025", profile: WS2025, mutate: addTierAcl},
		{name: "TierAcl rule with a bad action", profile: WS2025, mutate: func(t *testing.T, o *Objects) {
			addTierAcl(t, o)
			ep(o, "pod2").Policies[0].Settings = raw(t, TierAclPolicySetting{Name: "t", Direction: DirectionTypeIn, Order: 1, TierAclRules: []TierAclRule{{TierAclRuleAction: "Drop"}}})
		}, want: []problem{{HCN_E_INVALID_POLICY, KindEndpoint, "pod2", "Policies[0] (TierAcl).Settings.TierAclRules[0].TierAclRuleAction"}}},
		{name: "IPsec encryption policy", mutate: func(t *testing.T, o *Objects) {
			ep(o, "pod2").Policies = []EndpointPolicy{{Type: Encryption, Settings: json.RawMessage(`{"EncryptionMethodType":"Ipsec"}`)}}
		}, want: []problem{{HCN_E_REQUEST_UNSUPPORTED, KindEndpoint, "pod2", "Policies[0] (Encryption)"}}},
		{name: "OutBoundNAT exception not a prefix", mutate: func(t *testing.T, o *Objects) {
			ep(o, "pod1").Policies[0].Settings = raw(t, OutboundNatPolicySetting{Exceptions: []string{"10.244.0.0/16", "cluster"}})
		}, want: []problem{{HCN_E_INVALID_PREFIX, KindEndpoint, "pod1", "Policies[0] (OutBoundNAT).Settings.Exceptions[1]"}}},
		{name: "SDNRoute prefix malformed", mutate: func(t *testing.T, o *Objects) {
			ep(o, "pod1").Policies[1].Settings = raw(t, SDNRoutePolicySetting{DestinationPrefix: "10.96.0.0/40", NeedEncap: true})
		}, want: []problem{{HCN_E_INVALID_PREFIX, KindEndpoint, "pod1", "Policies[1] (SDNRoute).Settings.DestinationPrefix"}}},

		// Load balancers.
		{name: "load balancer backend not found", mutate: func(t *testing.T, o *Objects) {
			lb(o, "svc").HostComputeEndpoints[1] = "00000000-0000-0000-0000-000000000001"
		}, want: []problem{{HCN_E_ENDPOINT_NOT_FOUND, KindLoadBalancer, "svc", "HostComputeEndpoints[1]"}}},
		{name: "more than 1024 backends", mutate: func(t *testing.T, o *Objects) {
			l := lb(o, "svc")
			for len(l.HostComputeEndpoints) <= MaxLoadBalancerBackends {
				l.HostComputeEndpoints = append(l.HostComputeEndpoints, "pod2")
			}
		}, want: []problem{{HCN_E_INVALID_POLICY, KindLoadBalancer, "svc", "HostComputeEndpoints"}}},
		{name: "DSR between HNS 10.0 and 10.2", profile: custom(10, 1),
			want: []problem{{HCN_E_REQUEST_UNSUPPORTED, KindLoadBalancer, "nodeport", "Flags"}}},
		{name: "session affinity before HNS 12.0", profile: WS2019, mutate: func(t *testing.T, o *Objects) {
			lb(o, "svc").PortMappings[0].DistributionType = LoadBalancerDistributionSourceIP
		}, want: []problem{{HCN_E_REQUEST_UNSUPPORTED, KindLoadBalancer, "svc", "PortMappings[0].DistributionType"}}},
		{name: "session affinity on WS2022", mutate: func(t *testing.T, o *Objects) {
			lb(o, "svc").PortMappings[0].DistributionType = LoadBalancerDistributionSourceIP
		}},
		{name: "unknown distribution type", mutate: func(t *testing.T, o *Objects) { lb(o, "svc").PortMappings[0].DistributionType = 5 },
			want: []problem{{HCN_E_INVALID_POLICY, KindLoadBalancer, "svc", "PortMappings[0].DistributionType"}}},
		{name: "load balancer protocol 0 and internal port 0", mutate: func(t *testing.T, o *Objects) {
			lb(o, "svc").PortMappings[0] = LoadBalancerPortMapping{ExternalPort: 80}
		}, want: []problem{
			{HCN_E_INVALID_POLICY, KindLoadBalancer, "svc", "PortMappings[0].Protocol"},
			{HCN_E_INVALID_INTERNAL_PORT, KindLoadBalancer, "svc", "PortMappings[0].InternalPort"},
		}},
		{name: "IPv6 VIP without the IPv6 flag", mutate: func(t *testing.T, o *Objects) { lb(o, "svc").FrontendVIPs = []string{"fd00:96::10"} },
			want: []problem{{HCN_E_INVALID_POLICY, KindLoadBalancer, "svc", "FrontendVIPs[0]"}}},
		{name: "malformed VIP", mutate: func(t *testing.T, o *Objects) { lb(o, "svc").FrontendVIPs = []string{"10.96.0"} },
			want: []problem{{HCN_E_INVALID_IP, KindLoadBalancer, "svc", "FrontendVIPs[0]"}}},
		{name: "load balancer over a NAT network", mutate: func(t *testing.T, o *Objects) { lb(o, "svc").HostComputeEndpoints = []string{"web", "api"} },
			want: []problem{{HCN_E_INVALID_POLICY, KindLoadBalancer, "svc", "HostComputeEndpoints[0]"}}},
		{name: "frontend used twice", mutate: func(t *testing.T, o *Objects) {
			o.LoadBalancers = append(o.LoadBalancers, HostComputeLoadBalancer{Name: "svc2", HostComputeEndpoints: []string{"pod2"}, FrontendVIPs: []string{"10.96.0.10"},
				PortMappings: []LoadBalancerPortMapping{{Protocol: 6, InternalPort: 9090, ExternalPort: 80}}})
		}, want: []problem{{HCN_E_PORT_ALREADY_EXISTS, KindLoadBalancer, "svc2", "PortMappings[0].ExternalPort"}}},
		{name: "same frontend port on another protocol is fine", mutate: func(t *testing.T, o *Objects) {
			o.LoadBalancers = append(o.LoadBalancers, HostComputeLoadBalancer{Name: "svc2", HostComputeEndpoints: []string{"pod2"}, FrontendVIPs: []string{"10.96.0.10"},
				PortMappings: []LoadBalancerPortMapping{{Protocol: 17, InternalPort: 53, ExternalPort: 80}}})
		}},

		// Namespaces and routes.
		{name: "namespace with an unknown endpoint", mutate: func(t *testing.T, o *Objects) {
			o.Namespaces[0].Resources = append(o.Namespaces[0].Resources, NamespaceResource{Type: NamespaceResourceTypeEndpoint, Data: json.RawMessage(`{"ID":"ghost"}`)})
		}, want: []problem{{HCN_E_ENDPOINT_NOT_FOUND, KindNamespace, "ns-web", "Resources[1].Data.ID"}}},
		{name: "namespace resource of an unknown type", mutate: func(t *testing.T, o *Objects) {
			o.Namespaces[0].Resources = append(o.Namespaces[0].Resources, NamespaceResource{Type: "Process", Data: json.RawMessage(`{"ID":"x"}`)})
		}, want: []problem{{HCN_E_INVALID_JSON, KindNamespace, "ns-web", "Resources[1].Type"}}},
		{name: "endpoint listed by two namespaces", mutate: func(t *testing.T, o *Objects) {
			o.Namespaces = append(o.Namespaces, HostComputeNamespace{Name: "ns-2", Resources: o.Namespaces[0].Resources})
		}, want: []problem{
			{HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS, KindEndpoint, "web", "HostComputeNamespace"}, // found by Normalize
			{HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS, KindNamespace, "ns-2", "Resources[0].Data.ID"},
		}},
		{name: "route to an unknown endpoint with a bad prefix", mutate: func(t *testing.T, o *Objects) {
			o.Routes[0].HostComputeEndpoints = append(o.Routes[0].HostComputeEndpoints, "ghost")
			o.Routes[0].Setting[0].DestinationPrefix = "169.254.169.254/"
		}, want: []problem{
			{HCN_E_ENDPOINT_NOT_FOUND, KindRoute, "imds", "HostComputeEndpoints[1]"},
			{HCN_E_INVALID_PREFIX, KindRoute, "imds", "Setting[0].DestinationPrefix"},
		}},

		// Host and IDs.
		{name: "no v2 API before HNS 9.2", profile: custom(8, 0), want: []problem{
			{HCN_E_REQUEST_UNSUPPORTED, KindHost, "host1", ""},
			{HCN_E_INVALID_POLICY_TYPE, KindNetwork, "vxlan0", "Policies[2] (RemoteSubnetRoute)"},
			{HCN_E_INVALID_POLICY_TYPE, KindNetwork, "vxlan0", "Policies[3] (HostRoute)"},
			{HCN_E_REQUEST_UNSUPPORTED, KindLoadBalancer, "nodeport", "Flags"},
			{HCN_E_REQUEST_UNSUPPORTED, KindEndpoint, "remote1", "IpConfigurations[0].PrefixLength"},
			{HCN_E_REQUEST_UNSUPPORTED, KindEndpoint, "remote2", "IpConfigurations[0].PrefixLength"},
		}, mutate: func(t *testing.T, o *Objects) {
			ep(o, "remote1").IpConfigurations[0].PrefixLength = 32
			ep(o, "remote2").IpConfigurations[0].PrefixLength = 32
		}},
		{name: "ID that is not a GUID", mutate: func(t *testing.T, o *Objects) { nw(o, "cbr0").Id = "cbr0-id" },
			want: []problem{
				{HCN_E_GUID_CONVERSION_FAILURE, KindNetwork, "cbr0", "ID"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := loadBase(t)
			if tt.mutate != nil {
				tt.mutate(t, o)
			}
			p := tt.profile
			if p.Name == "" {
				p = WS2022
			}
			h := baseHost(p)
			if tt.host != nil {
				tt.host(&h)
			}
			err := Validate(o, h)
			var got []problem
			if err != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("Validate returned %T: %v", err, err)
				}
				for _, pr := range ve.Problems {
					got = append(got, problem{pr.Code, pr.Kind, pr.Object, pr.Field})
					if pr.Msg == "" || !strings.Contains(pr.Error(), pr.Code.Name()) {
						t.Errorf("problem without a message or code name: %v", pr)
					}
				}
			}
			if !sameProblems(got, tt.want) {
				t.Errorf("got problems\n\t%s\nwant\n\t%s\n(error: %v)", fmtProblems(got), fmtProblems(tt.want), err)
			}
		})
	}
}

func sameProblems(a, b []problem) bool {
	if len(a) != len(b) {
		return false
	}
	as, bs := fmtProblemList(a), fmtProblemList(b)
	return reflect.DeepEqual(as, bs)
}

func fmtProblemList(ps []problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	sort.Strings(out)
	return out
}

func fmtProblems(ps []problem) string {
	if len(ps) == 0 {
		return "(none)"
	}
	return strings.Join(fmtProblemList(ps), "\n\t")
}

func addV6Bridge(t *testing.T, o *Objects) {
	n := nw(o, "cbr0")
	n.Ipams[0].Subnets = append(n.Ipams[0].Subnets, Subnet{IpAddressPrefix: "fd00:10::/64", Routes: []Route{{NextHop: "fd00:10::1", DestinationPrefix: "::/0"}}})
}

func addVxlanPort(port uint16) func(t *testing.T, o *Objects) {
	return func(t *testing.T, o *Objects) {
		n := nw(o, "vxlan0")
		n.Policies = append(n.Policies, NetworkPolicy{Type: VxlanPort, Settings: raw(t, VxlanPortPolicySetting{Port: port})})
	}
}

func addNetworkACL(t *testing.T, o *Objects) {
	n := nw(o, "cbr0")
	n.Policies = append(n.Policies, NetworkPolicy{Type: NetworkACL, Settings: raw(t, NetworkACLPolicySetting{Protocols: "6", Action: ActionTypeAllow, Direction: DirectionTypeIn, LocalPorts: "80", RuleType: RuleTypeSwitch, Priority: 200})})
}

func addTierAcl(t *testing.T, o *Objects) {
	e := ep(o, "pod2")
	e.Policies = append(e.Policies, EndpointPolicy{Type: TierAcl, Settings: raw(t, TierAclPolicySetting{Name: "TierIn1", Direction: DirectionTypeIn, Order: 1001,
		TierAclRules: []TierAclRule{{Id: "r1", Protocols: "6", TierAclRuleAction: ActionTypePass, LocalPorts: "80", Priority: 2001}, {Id: "r2", TierAclRuleAction: ActionTypeBlock, Priority: 2100}}})})
}

func TestValidateMessages(t *testing.T) {
	o := loadBase(t)
	ep(o, "api").Policies[0].Settings = raw(t, PortMappingPolicySetting{Protocol: 6, InternalPort: 80, ExternalPort: 8080})
	err := Validate(o, baseHost(WS2022))
	want := `hns: 1 problem
	endpoint "api": Policies[0] (PortMapping).Settings.ExternalPort: external port TCP/8080 (all host addresses) is already mapped by endpoint "web" (all host addresses) (HCN_E_PORT_ALREADY_EXISTS 0x803b0013: The specified port already exists)`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
	o = loadBase(t)
	nw(o, "cbr0").Policies = append(nw(o, "cbr0").Policies, NetworkPolicy{Type: VxlanPort, Settings: raw(t, VxlanPortPolicySetting{Port: 4789})})
	err = Validate(o, baseHost(WS2019))
	if err == nil || !strings.Contains(err.Error(), `network "cbr0": Policies[1] (VxlanPort): policy type VxlanPort needs HNS 10.3+ (hcsshim feature VxlanPort); profile WS2019 (HNS 9.5) (HCN_E_INVALID_POLICY_TYPE 0x803b000e: Invalid policy type)`) {
		t.Errorf("feature-gate message: %v", err)
	}
}
