package hns

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// NIC is a physical adapter of a host.
type NIC struct {
	Name   string       // e.g. "Ethernet"
	MAC    string       // e.g. "00-15-5D-01-02-03"
	Prefix netip.Prefix // host IP and prefix length, e.g. 10.0.0.10/24
}

// HostContext is what Validate needs to know about the host beyond its HNS
// objects.
type HostContext struct {
	Name    string
	Profile Profile // the zero Profile means DefaultProfile()
	NICs    []NIC
}

// MaxLoadBalancerBackends is the most backends one HNS load balancer (one
// Kubernetes service) may have on Windows (kubernetes/website
// windows-networking.md, "Limitations"; reference windows-behaviour.md §3.6).
const MaxLoadBalancerBackends = 1024

// Validate checks o against what HNS (or Docker on Windows) would reject on
// a host with host.Profile, and returns nil or a *ValidationError listing
// every problem, each with the HRESULT HNS would return. o is not modified:
// Validate works on a normalized copy (see Objects.Normalize), so field paths
// and indices refer to o as given.
//
// Where no public source says which HRESULT HNS returns for a rule, the
// code chosen is the closest one of Microsoft's table; the rule's comment
// says so.
func Validate(o *Objects, host HostContext) error {
	if o == nil {
		return nil
	}
	c, err := o.Clone()
	if err != nil {
		return fmt.Errorf("hns: validate: %w", err)
	}
	v := &validator{o: c, host: host, prof: host.Profile}
	if v.prof.Name == "" && v.prof.Version.IsZero() {
		v.prof = DefaultProfile()
	}
	if err := c.Normalize(); err != nil {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		v.ps.settle(ve.Problems)
	}
	v.run()
	return v.ps.err()
}

type validator struct {
	o    *Objects
	host HostContext
	prof Profile
	ps   problems
}

func (v *validator) run() {
	if n := len(v.o.Networks) + len(v.o.Endpoints) + len(v.o.LoadBalancers) + len(v.o.Namespaces) + len(v.o.Routes); n > 0 && !v.prof.Supports(FeatureV2API) {
		v.ps.add(HCN_E_REQUEST_UNSUPPORTED, KindHost, v.host.Name, "", "the HCN v2 API %s", v.needs(FeatureV2API))
	}
	v.networks()
	v.endpoints()
	v.loadBalancers()
	v.namespaces()
	v.routes()
	v.portMappings()
}

// needs explains that a feature is missing from the profile.
func (v *validator) needs(f Feature) string {
	return fmt.Sprintf("needs HNS %s (hcsshim feature %s); profile %s", f.Versions(), f, v.prof)
}

// gate reports a missing feature as a problem and returns false.
func (v *validator) gate(f Feature, code HResult, kind, obj, field, what string) bool {
	if v.prof.Supports(f) {
		return true
	}
	v.ps.add(code, kind, obj, field, "%s %s", what, v.needs(f))
	return false
}

/// Networks.

func (v *validator) networks() {
	names := map[string]int{}
	natOwner := -1 // index of the first NAT network
	for i := range v.o.Networks {
		n := &v.o.Networks[i]
		lbl := label(n.Name, n.Id, i)
		if n.Name != "" {
			if j, dup := names[n.Name]; dup {
				v.ps.add(HCN_E_NETWORK_ALREADY_EXISTS, KindNetwork, lbl, "Name", "network #%d has the same name", j)
			} else {
				names[n.Name] = i
			}
		}
		if !n.Type.Known() {
			v.ps.add(HCN_E_INVALID_NETWORK_TYPE, KindNetwork, lbl, "Type", "unknown network type %q (known: %s)", n.Type, knownNetworkTypes())
		}
		// WinNAT has one internal prefix per host: "Windows (WinNAT) only
		// supports one internal NAT subnet prefix, trying to create multiple
		// NATs places the system into an unknown state" (VD setup-nat-network.md;
		// windows-behaviour.md §2.2). HRESULT: our choice.
		if n.Type == NAT {
			if natOwner >= 0 {
				o := &v.o.Networks[natOwner]
				v.ps.add(HCN_E_INVALID_NETWORK, KindNetwork, lbl, "Type",
					"a second NAT network: WinNAT supports one internal NAT prefix per host, and network %q already has it", label(o.Name, o.Id, natOwner))
			} else {
				natOwner = i
			}
		}
		if n.Flags&DisableHostPort != 0 {
			v.gate(FeatureDisableHostPort, HCN_E_REQUEST_UNSUPPORTED, KindNetwork, lbl, "Flags", "flag DisableHostPort")
		}
		v.macPool(n, lbl)
		v.subnets(n, lbl)
		v.networkPolicies(n, lbl)
		v.dockerOptions(n, lbl)
	}
}

func knownNetworkTypes() string {
	s := make([]string, len(networkTypes))
	for i, t := range networkTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func (v *validator) macPool(n *HostComputeNetwork, lbl string) {
	for j, r := range n.MacPool.Ranges {
		f := fmt.Sprintf("MacPool.Ranges[%d]", j)
		start, err1 := parseMAC(r.StartMacAddress)
		end, err2 := parseMAC(r.EndMacAddress)
		switch {
		case err1 != nil:
			v.ps.add(HCN_E_INVALID_NETWORK, KindNetwork, lbl, f+".StartMacAddress", "%v", err1)
		case err2 != nil:
			v.ps.add(HCN_E_INVALID_NETWORK, KindNetwork, lbl, f+".EndMacAddress", "%v", err2)
		case macValue(start) > macValue(end):
			v.ps.add(HCN_E_INVALID_NETWORK, KindNetwork, lbl, f, "StartMacAddress %s is above EndMacAddress %s", r.StartMacAddress, r.EndMacAddress)
		}
	}
}

func (v *validator) subnets(n *HostComputeNetwork, lbl string) {
	natPrefixes := 0
	for a, ipam := range n.Ipams {
		for b, s := range ipam.Subnets {
			path := fmt.Sprintf("Ipams[%d].Subnets[%d]", a, b)
			vsids := 0
			for k, raw := range s.Policies {
				vsids += v.subnetPolicy(n, lbl, fmt.Sprintf("%s.Policies[%d]", path, k), raw)
			}
			if s.IpAddressPrefix == "" {
				continue
			}
			p, err := s.Prefix()
			if err != nil {
				v.ps.add(HCN_E_INVALID_PREFIX, KindNetwork, lbl, path+".IpAddressPrefix", "%v", err)
				continue
			}
			// hcsshim's client-side check before HcnCreateNetwork
			// (hcn/hcnnetwork.go:361-380), with its messages.
			hasDefault := false
			for r, route := range s.Routes {
				if route.NextHop == "" {
					v.ps.add(HCN_E_INVALID_SUBNET, KindNetwork, lbl, fmt.Sprintf("%s.Routes[%d].NextHop", path, r),
						"network create error, subnet has address prefix but no gateway specified")
				} else if _, err := netip.ParseAddr(route.NextHop); err != nil {
					v.ps.add(HCN_E_INVALID_IP, KindNetwork, lbl, fmt.Sprintf("%s.Routes[%d].NextHop", path, r), "%v", err)
				}
				if route.DestinationPrefix == "0.0.0.0/0" || route.DestinationPrefix == "::/0" {
					hasDefault = true
				}
			}
			if !hasDefault {
				v.ps.add(HCN_E_INVALID_SUBNET, KindNetwork, lbl, path+".Routes", "network create error, no default gateway")
			}
			if p.Addr().Is6() {
				switch n.Type {
				case NAT:
					// VD architecture.md: containers on NAT networks cannot
					// communicate over IPv6; WinNAT is IPv4-only
					// (windows-behaviour.md §2.4, microsoft/Windows-Containers#75).
					v.ps.add(HCN_E_INVALID_SUBNET, KindNetwork, lbl, path+".IpAddressPrefix", "IPv6 subnet %s on a NAT network: WinNAT is IPv4-only", p)
				case Overlay:
					// VD architecture.md; kube-proxy DualStackCompatible:
					// "Winoverlay does not support dual-stack".
					v.ps.add(HCN_E_INVALID_SUBNET, KindNetwork, lbl, path+".IpAddressPrefix", "IPv6 subnet %s on an Overlay network: overlay networks are IPv4-only", p)
				default:
					v.gate(FeatureIPv6DualStack, HCN_E_INVALID_SUBNET, KindNetwork, lbl, path+".IpAddressPrefix", "IPv6 subnet "+p.String())
				}
			}
			if n.Type == NAT && p.Addr().Is4() {
				natPrefixes++
				if natPrefixes > 1 {
					v.ps.add(HCN_E_INVALID_NETWORK, KindNetwork, lbl, path+".IpAddressPrefix",
						"a second NAT prefix %s: WinNAT supports one internal NAT prefix per host", p)
				}
				// WINNAT limit 2: internal and external prefixes must not overlap.
				for _, nic := range v.host.NICs {
					if nic.Prefix.IsValid() && p.Overlaps(nic.Prefix.Masked()) {
						v.ps.add(HCN_E_INVALID_PREFIX, KindNetwork, lbl, path+".IpAddressPrefix",
							"NAT internal prefix %s overlaps the prefix %s of NIC %q (WinNAT: internal and external prefixes must not overlap)",
							p, nic.Prefix.Masked(), nic.Name)
					}
				}
			}
			if n.Type == Overlay && vsids == 0 {
				// The VSID is the VXLAN VNI (flannel device_windows.go, hcsshim
				// hcnutils_test.go:110-128); without it there is nothing to
				// encapsulate with. hnspath requirement.
				v.ps.add(HCN_E_INVALID_SUBNET, KindNetwork, lbl, path+".Policies", "overlay subnet %s has no VSID policy (the VXLAN VNI)", p)
			}
		}
	}
}

// subnetPolicy checks one subnet policy and returns 1 for a VSID policy.
func (v *validator) subnetPolicy(n *HostComputeNetwork, lbl, path string, raw []byte) int {
	var sp SubnetPolicy
	if err := json.Unmarshal(raw, &sp); err != nil {
		err = jsonErrorText(err)
		v.ps.add(HCN_E_INVALID_JSON, KindNetwork, lbl, path, "%v", err)
		return 0
	}
	if !sp.Type.Known() {
		v.ps.add(HCN_E_INVALID_POLICY_TYPE, KindNetwork, lbl, path, "unknown subnet policy type %q (known: VLAN, VSID)", sp.Type)
		return 0
	}
	at := path + " (" + string(sp.Type) + ")"
	val, err := sp.DecodeSettings()
	if err != nil {
		v.policyDecodeError(KindNetwork, lbl, at, err)
		return 0
	}
	switch s := val.(type) {
	case VlanPolicySetting:
		// IEEE 802.1Q VLAN IDs are 1-4094.
		if s.IsolationId < 1 || s.IsolationId > 4094 {
			v.ps.add(HCN_E_INVALID_POLICY, KindNetwork, lbl, at+".Settings.IsolationId", "VLAN %d is not a VLAN ID (1-4094, IEEE 802.1Q)", s.IsolationId)
		}
	case VsidPolicySetting:
		v.vsid(lbl, at+".Settings.IsolationId", s.IsolationId)
		if n.Type != Overlay {
			// A VSID on a non-overlay subnet is HNS's way of isolating
			// l2bridge/l2tunnel subnets too (moby windows driver); allowed.
			return 0
		}
		return 1
	}
	return 0
}

// vsid checks a VXLAN VNI.
func (v *validator) vsid(lbl, field string, id uint32) {
	switch {
	case id == 0 || id > 0xFFFFFF:
		// RFC 7348 section 5: the VNI is 24 bits.
		v.ps.add(HCN_E_INVALID_POLICY, KindNetwork, lbl, field, "VSID %d is not a 24-bit VXLAN network identifier (1-16777215, RFC 7348 section 5)", id)
	case id < 4096:
		// flannel: "VNI < 4096 is rejected on Windows"; K8SDOC: "Flannel is
		// restricted to VNI 4096" (windows-behaviour.md §3.5). That HNS
		// itself rejects lower VSIDs is an inference [I].
		v.ps.add(HCN_E_INVALID_POLICY, KindNetwork, lbl, field, "VSID %d is below 4096, which Windows overlay networking does not accept (flannel; Kubernetes Windows docs)", id)
	}
}

// policyDecodeError reports a settings decoding error of a policy at path.
func (v *validator) policyDecodeError(kind, lbl, at string, err error) {
	var pe *PolicyError
	if errors.As(err, &pe) {
		field := at
		if pe.Field != "" {
			field += "." + pe.Field
		}
		v.ps.add(HCN_E_INVALID_POLICY, kind, lbl, field, "%v", pe.Err)
		return
	}
	v.ps.add(HCN_E_INVALID_POLICY, kind, lbl, at, "%v", err)
}

// networkPolicyFeatures lists the network policy types hcsshim gates on a version.
var networkPolicyFeatures = map[NetworkPolicyType]Feature{
	RemoteSubnetRoute: FeatureRemoteSubnet,
	HostRoute:         FeatureHostRoute,
	VxlanPort:         FeatureVxlanPort,
	SetPolicy:         FeatureSetPolicy,
	NetworkL4Proxy:    FeatureL4Proxy,
	NetworkACL:        FeatureNetworkACL,
}

func (v *validator) networkPolicies(n *HostComputeNetwork, lbl string) {
	vxlanPorts := 0
	for k, p := range n.Policies {
		path := fmt.Sprintf("Policies[%d]", k)
		if !p.Type.Known() {
			v.ps.add(HCN_E_INVALID_POLICY_TYPE, KindNetwork, lbl, path, "unknown network policy type %q", p.Type)
			continue
		}
		at := path + " (" + string(p.Type) + ")"
		if f, ok := networkPolicyFeatures[p.Type]; ok {
			if !v.gate(f, HCN_E_INVALID_POLICY_TYPE, KindNetwork, lbl, at, "policy type "+string(p.Type)) {
				continue
			}
		}
		val, err := p.DecodeSettings()
		if err != nil {
			v.policyDecodeError(KindNetwork, lbl, at, err)
			continue
		}
		switch s := val.(type) {
		case NetAdapterNameNetworkPolicySetting:
			if len(v.host.NICs) > 0 && s.NetworkAdapterName != "" && !v.hasNIC(s.NetworkAdapterName) {
				v.ps.add(HCN_E_ADAPTER_NOT_FOUND, KindNetwork, lbl, at+".Settings.NetworkAdapterName", "host %q has no NIC %q (NICs: %s)", v.host.Name, s.NetworkAdapterName, v.nicNames())
			}
		case SourceMacAddressNetworkPolicySetting:
			v.checkMAC(KindNetwork, lbl, at+".Settings.SourceMacAddress", s.SourceMacAddress)
		case DrMacAddressNetworkPolicySetting:
			v.checkMAC(KindNetwork, lbl, at+".Settings.Address", s.Address)
		case ProviderAddressNetworkPolicySetting:
			v.checkAddr(KindNetwork, lbl, at+".Settings.ProviderAddress", s.ProviderAddress)
		case RemoteSubnetRoutePolicySetting:
			if n.Type != Overlay {
				v.ps.add(HCN_E_INVALID_POLICY, KindNetwork, lbl, at, "RemoteSubnetRoute applies to Overlay networks, not %s", n.Type)
			}
			v.checkPrefix(KindNetwork, lbl, at+".Settings.DestinationPrefix", s.DestinationPrefix, false)
			v.checkAddr(KindNetwork, lbl, at+".Settings.ProviderAddress", s.ProviderAddress)
			v.checkMAC(KindNetwork, lbl, at+".Settings.DistributedRouterMacAddress", s.DistributedRouterMacAddress)
			v.vsid(lbl, at+".Settings.IsolationId", uint32(s.IsolationId))
		case VxlanPortPolicySetting:
			vxlanPorts++
			if n.Type != Overlay {
				v.ps.add(HCN_E_INVALID_POLICY, KindNetwork, lbl, at, "VxlanPort applies to Overlay networks, not %s", n.Type)
			}
			if s.Port == 0 {
				v.ps.add(HCN_E_INVALID_POLICY, KindNetwork, lbl, at+".Settings.Port", "VXLAN UDP port 0")
			}
			if vxlanPorts > 1 {
				v.ps.add(HCN_E_POLICY_ALREADY_EXISTS, KindNetwork, lbl, at, "a second VxlanPort policy")
			}
		case SetPolicySetting:
			switch s.Type {
			case SetPolicyTypeIpSet:
			case SetPolicyTypeNestedIpSet:
				v.gate(FeatureNestedIpSet, HCN_E_INVALID_POLICY, KindNetwork, lbl, at+".Settings.PolicyType", "NESTEDIPSET")
			default:
				v.ps.add(HCN_E_INVALID_POLICY, KindNetwork, lbl, at+".Settings.PolicyType", "unknown set policy type %q (IPSET, NESTEDIPSET)", s.Type)
			}
		case NetworkACLPolicySetting:
			v.checkACL(KindNetwork, lbl, at, aclFields{s.Protocols, s.Action, s.Direction, s.LocalAddresses, s.RemoteAddresses, s.LocalPorts, s.RemotePorts, s.RuleType})
		}
	}
}

func (v *validator) hasNIC(name string) bool {
	for _, nic := range v.host.NICs {
		if strings.EqualFold(nic.Name, name) {
			return true
		}
	}
	return false
}

func (v *validator) nicNames() string {
	var s []string
	for _, nic := range v.host.NICs {
		s = append(s, strconv.Quote(nic.Name))
	}
	return strings.Join(s, ", ")
}

// dockerOptions rejects the `docker network create` options Docker on
// Windows does not support (VD container-networking/architecture.md,
// "Unsupported features and network options"). The messages are hnspath's:
// we did not find Docker's own wording for each in a public source.
func (v *validator) dockerOptions(n *HostComputeNetwork, lbl string) {
	d := n.DockerOptions
	if d == nil {
		return
	}
	const src = "not supported on Windows (docker network create options, Windows container networking docs)"
	if d.Internal {
		v.ps.add(HCN_E_REQUEST_UNSUPPORTED, KindNetwork, lbl, "DockerOptions.Internal", "--internal is %s", src)
	}
	if d.IpRange != "" {
		v.ps.add(HCN_E_REQUEST_UNSUPPORTED, KindNetwork, lbl, "DockerOptions.IpRange", "--ip-range %s is %s", d.IpRange, src)
	}
	if len(d.AuxAddress) > 0 {
		v.ps.add(HCN_E_REQUEST_UNSUPPORTED, KindNetwork, lbl, "DockerOptions.AuxAddress", "--aux-address is %s", src)
	}
	if d.IpamDriver != "" && d.IpamDriver != "default" {
		v.ps.add(HCN_E_REQUEST_UNSUPPORTED, KindNetwork, lbl, "DockerOptions.IpamDriver", "--ipam-driver %s is %s", d.IpamDriver, src)
	}
	if len(d.IpamOpt) > 0 {
		v.ps.add(HCN_E_REQUEST_UNSUPPORTED, KindNetwork, lbl, "DockerOptions.IpamOpt", "--ipam-opt is %s", src)
	}
	if d.EnableIPv6 {
		v.ps.add(HCN_E_REQUEST_UNSUPPORTED, KindNetwork, lbl, "DockerOptions.EnableIPv6", "--ipv6 is %s", src)
	}
	if d.Encrypted {
		v.ps.add(HCN_E_REQUEST_UNSUPPORTED, KindNetwork, lbl, "DockerOptions.Encrypted",
			"--opt encrypted is %s: encrypted container communication via IPsec is not supported", src)
	}
}

/// Endpoints.

// endpointPolicyFeatures lists the endpoint policy types hcsshim gates on a version.
var endpointPolicyFeatures = map[EndpointPolicyType]Feature{
	L4WFPPROXY: FeatureL4WfpProxy,
	TierAcl:    FeatureTierAcl,
}

func (v *validator) endpoints() {
	type owner struct {
		idx  int
		name string
	}
	ipOwner := map[string]owner{}  // network ID + "/" + address
	macOwner := map[string]owner{} // network ID + "/" + MAC, local endpoints only
	for i := range v.o.Endpoints {
		e := &v.o.Endpoints[i]
		lbl := label(e.Name, e.Id, i)
		var n *HostComputeNetwork
		switch {
		case e.HostComputeNetwork == "":
			v.ps.add(HCN_E_NETWORK_NOT_FOUND, KindEndpoint, lbl, "HostComputeNetwork", "endpoint names no network")
		default:
			if n = v.o.NetworkByID(e.HostComputeNetwork); n == nil {
				v.ps.add(HCN_E_NETWORK_NOT_FOUND, KindEndpoint, lbl, "HostComputeNetwork", "network %q not found", e.HostComputeNetwork)
			}
		}
		if e.HostComputeNamespace != "" && v.o.NamespaceByID(e.HostComputeNamespace) == nil {
			v.ps.add(HCN_E_INVALID_JSON_REFERENCE, KindEndpoint, lbl, "HostComputeNamespace", "namespace %q not found", e.HostComputeNamespace)
		}
		netKey := e.HostComputeNetwork
		for k, c := range e.IpConfigurations {
			field := fmt.Sprintf("IpConfigurations[%d]", k)
			a, err := c.Addr()
			if err != nil {
				v.ps.add(HCN_E_INVALID_IP, KindEndpoint, lbl, field+".IpAddress", "%v", err)
				continue
			}
			if int(c.PrefixLength) > a.BitLen() {
				v.ps.add(HCN_E_INVALID_PREFIX, KindEndpoint, lbl, field+".PrefixLength", "prefix length %d for %s", c.PrefixLength, a)
			}
			if c.zeroPrefix {
				// A /0 endpoint prefix would put every address on the
				// endpoint's link. No public source gives HNS's answer;
				// HCN_E_INVALID_PREFIX is the closest code of the table.
				// Omitting PrefixLength takes the subnet's.
				v.ps.add(HCN_E_INVALID_PREFIX, KindEndpoint, lbl, field+".PrefixLength", "prefix length 0 for %s (omit it to take the subnet's)", a)
			}
			if a.Is4() && c.PrefixLength == 32 {
				v.gate(FeatureSlash32EndpointPrefixes, HCN_E_REQUEST_UNSUPPORTED, KindEndpoint, lbl, field+".PrefixLength", "a /32 endpoint prefix")
			}
			if a.Is6() && v.endpointIPv6(n, lbl, field+".IpAddress", a) {
				continue // no further checks of an address HNS refuses outright
			}
			if n != nil && !e.IsRemote() {
				v.endpointInSubnet(n, lbl, field+".IpAddress", a)
			}
			key := netKey + "/" + a.String()
			if o, dup := ipOwner[key]; dup {
				v.ps.add(HCN_E_ADDR_INVALID_OR_RESERVED, KindEndpoint, lbl, field+".IpAddress", "address %s is also used by endpoint %q on the same network", a, o.name)
			} else {
				ipOwner[key] = owner{i, lbl}
			}
		}
		if e.MacAddress != "" {
			mac, err := parseMAC(e.MacAddress)
			switch {
			case err != nil:
				v.ps.add(HCN_E_INVALID_ENDPOINT, KindEndpoint, lbl, "MacAddress", "%v", err)
			case mac[0]&1 != 0:
				v.ps.add(HCN_E_ADDR_INVALID_OR_RESERVED, KindEndpoint, lbl, "MacAddress", "%s is a multicast MAC", e.MacAddress)
			case !e.IsRemote():
				// Remote endpoints may share a MAC: kube-proxy gives the
				// host MAC to several of them (windows-behaviour.md §3.6).
				key := netKey + "/" + mac.String()
				if o, dup := macOwner[key]; dup {
					v.ps.add(HCN_E_ADDR_INVALID_OR_RESERVED, KindEndpoint, lbl, "MacAddress", "MAC %s is also used by endpoint %q on the same network", e.MacAddress, o.name)
				} else {
					macOwner[key] = owner{i, lbl}
				}
			}
		}
		v.endpointPolicies(e, lbl)
	}
}

// Minimum MTUs. Windows takes an interface MTU from "the minimum packet
// size (68)" up (Win32_NetworkAdapterConfiguration SetMTU,
// https://learn.microsoft.com/windows/win32/cimwin32prov/setmtu-method-in-class-win32-networkadapterconfiguration),
// the datagram every IPv4 module must forward unfragmented (RFC 791 section
// 3.2); IPv6 needs a link MTU of 1280 or more (RFC 8200 section 5). An MTU
// below them drops every packet.
const (
	MinMTU     = 68
	MinMTUIPv6 = 1280
)

// interfaceMTU checks the MTU of an InterfaceParameters policy of e.
func (v *validator) interfaceMTU(e *HostComputeEndpoint, lbl, field string, mtu int) {
	if mtu < MinMTU {
		// The closest code of the table: no public source gives HNS's.
		v.ps.add(HCN_E_INVALID_POLICY, KindEndpoint, lbl, field, "MTU %d is below %d, the smallest interface MTU Windows takes (RFC 791 section 3.2)", mtu, MinMTU)
		return
	}
	for _, c := range e.IpConfigurations {
		if a, err := c.Addr(); err == nil && a.Is6() && mtu < MinMTUIPv6 {
			v.ps.add(HCN_E_INVALID_POLICY, KindEndpoint, lbl, field, "MTU %d is below %d, the IPv6 minimum link MTU (RFC 8200 section 5), on an endpoint with IPv6 address %s", mtu, MinMTUIPv6, a)
			return
		}
	}
}

// endpointIPv6 checks an IPv6 endpoint address and reports whether it
// found a problem.
func (v *validator) endpointIPv6(n *HostComputeNetwork, lbl, field string, a netip.Addr) bool {
	switch {
	case n != nil && n.Type == NAT:
		v.ps.add(HCN_E_INVALID_IP, KindEndpoint, lbl, field, "IPv6 address %s on a NAT network: WinNAT is IPv4-only", a)
	case n != nil && n.Type == Overlay:
		v.ps.add(HCN_E_INVALID_IP, KindEndpoint, lbl, field, "IPv6 address %s on an Overlay network: overlay networks are IPv4-only", a)
	default:
		return !v.gate(FeatureIPv6DualStack, HCN_E_INVALID_IP, KindEndpoint, lbl, field, "IPv6 address "+a.String())
	}
	return true
}

// endpointInSubnet checks that a local endpoint's static address lies in a
// subnet of its network and is not the subnet's network, broadcast or
// gateway address.
func (v *validator) endpointInSubnet(n *HostComputeNetwork, lbl, field string, a netip.Addr) {
	subnets := n.Subnets()
	var prefixes []string
	for _, s := range subnets {
		p, err := s.Prefix()
		if err != nil {
			continue
		}
		prefixes = append(prefixes, p.String())
		if !p.Contains(a) {
			continue
		}
		p = p.Masked()
		switch {
		case a == p.Addr() && p.Bits() < a.BitLen()-1:
			v.ps.add(HCN_E_ADDR_INVALID_OR_RESERVED, KindEndpoint, lbl, field, "%s is the network address of subnet %s", a, p)
		case a.Is4() && p.Bits() < 31 && a == lastAddr(p):
			v.ps.add(HCN_E_ADDR_INVALID_OR_RESERVED, KindEndpoint, lbl, field, "%s is the broadcast address of subnet %s", a, p)
		case s.Flags&SubnetFlagsDoNotReserveGatewayAddress == 0 && isGateway(s, a):
			v.ps.add(HCN_E_ADDR_INVALID_OR_RESERVED, KindEndpoint, lbl, field, "%s is the gateway of subnet %s", a, p)
		}
		return
	}
	if len(prefixes) == 0 {
		return // no static subnets (e.g. DHCP): nothing to check against
	}
	v.ps.add(HCN_E_INVALID_IP, KindEndpoint, lbl, field, "%s is in no subnet of network %q (%s)", a, label(n.Name, n.Id, -1), strings.Join(prefixes, ", "))
}

func isGateway(s Subnet, a netip.Addr) bool {
	for _, r := range s.Routes {
		if g, err := netip.ParseAddr(r.NextHop); err == nil && g == a {
			return true
		}
	}
	return false
}

// lastAddr returns the highest address of p (p masked).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func (v *validator) endpointPolicies(e *HostComputeEndpoint, lbl string) {
	for k, p := range e.Policies {
		path := fmt.Sprintf("Policies[%d]", k)
		if !p.Type.Known() {
			v.ps.add(HCN_E_INVALID_POLICY_TYPE, KindEndpoint, lbl, path, "unknown endpoint policy type %q", p.Type)
			continue
		}
		at := path + " (" + string(p.Type) + ")"
		if f, ok := endpointPolicyFeatures[p.Type]; ok {
			if !v.gate(f, HCN_E_INVALID_POLICY_TYPE, KindEndpoint, lbl, at, "policy type "+string(p.Type)) {
				continue
			}
		}
		if p.Type == Encryption {
			// VD architecture.md, "Unsupported features": "Encrypted
			// container communication via IPsec".
			v.ps.add(HCN_E_REQUEST_UNSUPPORTED, KindEndpoint, lbl, at, "encrypted container communication via IPsec is not supported on Windows")
			continue
		}
		val, err := p.DecodeSettings()
		if err != nil {
			v.policyDecodeError(KindEndpoint, lbl, at, err)
			continue
		}
		switch s := val.(type) {
		case PortMappingPolicySetting:
			switch ProtocolType(s.Protocol) {
			case ProtocolTypeUnknown, ProtocolTypeTCP, ProtocolTypeUDP:
				// 0 (omitted) is what Microsoft's hns.v2.psm1 sends unless
				// told otherwise, so HNS accepts it; see PortMappingPolicySetting.
			default:
				// WinNAT static mappings are TCP or UDP only
				// (Add-NetNatStaticMapping -Protocol TCP|UDP).
				v.ps.add(HCN_E_INVALID_POLICY, KindEndpoint, lbl, at+".Settings.Protocol", "protocol %d: port mappings are TCP (6) or UDP (17)", s.Protocol)
			}
			if s.InternalPort == 0 {
				v.ps.add(HCN_E_INVALID_INTERNAL_PORT, KindEndpoint, lbl, at+".Settings.InternalPort", "internal port 0")
			}
			if s.VIP != "" {
				v.checkAddr(KindEndpoint, lbl, at+".Settings.VIP", s.VIP)
			}
			if s.Flags&NatFlagsIPv6 != 0 {
				v.gate(FeatureIPv6DualStack, HCN_E_REQUEST_UNSUPPORTED, KindEndpoint, lbl, at+".Settings.Flags", "NAT flag IPv6")
			}
		case InterfaceParametersPolicySetting:
			v.interfaceMTU(e, lbl, at+".Settings.Mtu", int(s.Mtu))
		case AclPolicySetting:
			v.checkACL(KindEndpoint, lbl, at, aclFields{s.Protocols, s.Action, s.Direction, s.LocalAddresses, s.RemoteAddresses, s.LocalPorts, s.RemotePorts, s.RuleType})
		case OutboundNatPolicySetting:
			if s.VirtualIP != "" {
				v.checkAddr(KindEndpoint, lbl, at+".Settings.VirtualIP", s.VirtualIP)
			}
			for j, x := range s.Exceptions {
				v.checkPrefix(KindEndpoint, lbl, fmt.Sprintf("%s.Settings.Exceptions[%d]", at, j), x, true)
			}
			for j, x := range s.Destinations {
				v.checkPrefix(KindEndpoint, lbl, fmt.Sprintf("%s.Settings.Destinations[%d]", at, j), x, true)
			}
			if s.Flags&NatFlagsIPv6 != 0 {
				v.gate(FeatureIPv6DualStack, HCN_E_REQUEST_UNSUPPORTED, KindEndpoint, lbl, at+".Settings.Flags", "NAT flag IPv6")
			}
		case SDNRoutePolicySetting:
			v.checkPrefix(KindEndpoint, lbl, at+".Settings.DestinationPrefix", s.DestinationPrefix, true)
			if s.NextHop != "" {
				v.checkAddr(KindEndpoint, lbl, at+".Settings.NextHop", s.NextHop)
			}
		case ProviderAddressEndpointPolicySetting:
			v.checkAddr(KindEndpoint, lbl, at+".Settings.ProviderAddress", s.ProviderAddress)
		case TierAclPolicySetting:
			if s.Direction != DirectionTypeIn && s.Direction != DirectionTypeOut {
				v.ps.add(HCN_E_INVALID_POLICY, KindEndpoint, lbl, at+".Settings.Direction", "direction %q (In, Out)", s.Direction)
			}
			for j, r := range s.TierAclRules {
				rat := fmt.Sprintf("%s.Settings.TierAclRules[%d]", at, j)
				v.checkACL(KindEndpoint, lbl, rat, aclFields{r.Protocols, r.TierAclRuleAction, DirectionTypeIn, r.LocalAddresses, r.RemoteAddresses, r.LocalPorts, r.RemotePorts, ""})
			}
		case VlanPolicySetting:
			if s.IsolationId < 1 || s.IsolationId > 4094 {
				v.ps.add(HCN_E_INVALID_POLICY, KindEndpoint, lbl, at+".Settings.IsolationId", "VLAN %d is not a VLAN ID (1-4094, IEEE 802.1Q)", s.IsolationId)
			}
		}
	}
}

/// ACLs.

type aclFields struct {
	protocols      string
	action         ActionType
	direction      DirectionType
	local, remote  string
	lports, rports string
	ruleType       RuleType
}

// checkACL checks the fields common to ACL, NetworkACL and TierAcl rules.
// at is the policy path; field names follow hcsshim's JSON names.
func (v *validator) checkACL(kind, lbl, at string, a aclFields) {
	actionField, dirField := at+".Settings.Action", at+".Settings.Direction"
	if strings.Contains(at, "TierAclRules[") {
		actionField = at + ".TierAclRuleAction"
	}
	switch a.action {
	case ActionTypeAllow, ActionTypeBlock, ActionTypePass:
	default:
		v.ps.add(HCN_E_INVALID_POLICY, kind, lbl, actionField, "action %q (Allow, Block, Pass)", a.action)
	}
	switch a.direction {
	case DirectionTypeIn, DirectionTypeOut:
	default:
		v.ps.add(HCN_E_INVALID_POLICY, kind, lbl, dirField, "direction %q (In, Out)", a.direction)
	}
	switch a.ruleType {
	case "", RuleTypeHost, RuleTypeSwitch:
	default:
		v.ps.add(HCN_E_INVALID_POLICY, kind, lbl, at+".Settings.RuleType", "rule type %q (Host, Switch)", a.ruleType)
	}
	fieldPrefix := at + ".Settings."
	if strings.Contains(at, "TierAclRules[") {
		fieldPrefix = at + "."
	}
	if a.protocols != "" {
		for _, p := range strings.Split(a.protocols, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			switch {
			case err != nil || n < 0 || n > 256:
				// 0-255 are IP protocol numbers; 256 means any (Calico,
				// Azure NPM; hcn-schema.md §1.7).
				v.ps.add(HCN_E_INVALID_POLICY, kind, lbl, fieldPrefix+"Protocols", "protocol %q is not a number 0-256", strings.TrimSpace(p))
			case n == 252:
				v.gate(FeatureAclSupportForProtocol252, HCN_E_REQUEST_UNSUPPORTED, kind, lbl, fieldPrefix+"Protocols", "ACL protocol 252")
			}
		}
	}
	for _, x := range []struct{ name, val string }{{"LocalAddresses", a.local}, {"RemoteAddresses", a.remote}} {
		for _, item := range splitList(x.val) {
			if _, err := parsePrefixOrAddr(item); err != nil {
				v.ps.add(HCN_E_INVALID_POLICY, kind, lbl, fieldPrefix+x.name, "%q is not an address or prefix", item)
			}
		}
	}
	for _, x := range []struct{ name, val string }{{"LocalPorts", a.lports}, {"RemotePorts", a.rports}} {
		for _, item := range splitList(x.val) {
			if !validPortRange(item) {
				v.ps.add(HCN_E_INVALID_POLICY, kind, lbl, fieldPrefix+x.name, "%q is not a port or port range", item)
			}
		}
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func validPortRange(s string) bool {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	if err != nil {
		return false
	}
	if !isRange {
		return true
	}
	b, err := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	return err == nil && a <= b
}

// parsePrefixOrAddr parses "10.0.0.0/8" or "10.0.0.1" (as a host prefix).
func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (v *validator) checkAddr(kind, lbl, field, s string) {
	if _, err := netip.ParseAddr(s); err != nil {
		v.ps.add(HCN_E_INVALID_IP, kind, lbl, field, "%q is not an IP address", s)
	}
}

// checkPrefix checks a prefix; addrOK allows a bare address.
func (v *validator) checkPrefix(kind, lbl, field, s string, addrOK bool) {
	var err error
	if addrOK {
		_, err = parsePrefixOrAddr(s)
	} else {
		_, err = netip.ParsePrefix(s)
	}
	if err != nil {
		v.ps.add(HCN_E_INVALID_PREFIX, kind, lbl, field, "%q is not a prefix", s)
	}
}

func (v *validator) checkMAC(kind, lbl, field, s string) {
	if _, err := parseMAC(s); err != nil {
		v.ps.add(HCN_E_INVALID_POLICY, kind, lbl, field, "%v", err)
	}
}

// parseMAC parses a 48-bit MAC in HNS form ("00-15-5D-52-C0-00") or with colons.
func parseMAC(s string) (net.HardwareAddr, error) {
	m, err := net.ParseMAC(s)
	if err != nil || len(m) != 6 {
		return nil, fmt.Errorf("%q is not a 48-bit MAC address", s)
	}
	return m, nil
}

func macValue(m net.HardwareAddr) uint64 {
	var x uint64
	for _, b := range m {
		x = x<<8 | uint64(b)
	}
	return x
}

/// Load balancers.

func (v *validator) loadBalancers() {
	for i := range v.o.LoadBalancers {
		lb := &v.o.LoadBalancers[i]
		lbl := label(lb.Name, lb.Id, i)
		if len(lb.HostComputeEndpoints) > MaxLoadBalancerBackends {
			// HRESULT: our choice; the limit is documented, the code is not.
			v.ps.add(HCN_E_INVALID_POLICY, KindLoadBalancer, lbl, "HostComputeEndpoints",
				"%d backends; Windows load balancers take at most %d (Kubernetes Windows networking limits)", len(lb.HostComputeEndpoints), MaxLoadBalancerBackends)
		}
		natReported := false
		for j, ref := range lb.HostComputeEndpoints {
			field := fmt.Sprintf("HostComputeEndpoints[%d]", j)
			e := v.o.EndpointByID(ref)
			if e == nil {
				v.ps.add(HCN_E_ENDPOINT_NOT_FOUND, KindLoadBalancer, lbl, field, "endpoint %q not found", ref)
				continue
			}
			if n := v.o.NetworkOfEndpoint(e); n != nil && (n.Type == NAT || n.Type == ICS) && !natReported {
				// microsoft/hcsshim#705: "HNS added stricter validation and
				// ELBPolicy is only allowed on SDN Networks".
				v.ps.add(HCN_E_INVALID_POLICY, KindLoadBalancer, lbl, field,
					"backend %q is on %s network %q: HNS load balancers work on SDN networks (L2Bridge, L2Tunnel, Overlay), not NAT", label(e.Name, e.Id, -1), n.Type, label(n.Name, n.Id, -1))
				natReported = true
			}
		}
		wantV6 := lb.Flags&LoadBalancerFlagsIPv6 != 0
		for j, vip := range lb.FrontendVIPs {
			field := fmt.Sprintf("FrontendVIPs[%d]", j)
			a, err := netip.ParseAddr(vip)
			if err != nil {
				v.ps.add(HCN_E_INVALID_IP, KindLoadBalancer, lbl, field, "%q is not an IP address", vip)
				continue
			}
			if a.Is6() != wantV6 {
				v.ps.add(HCN_E_INVALID_POLICY, KindLoadBalancer, lbl, field, "VIP %s does not match the load balancer's address family (Flags IPv6 is %t)", a, wantV6)
			}
		}
		if lb.SourceVIP != "" {
			v.checkAddr(KindLoadBalancer, lbl, "SourceVIP", lb.SourceVIP)
		}
		if lb.Flags&LoadBalancerFlagsDSR != 0 {
			v.gate(FeatureDSR, HCN_E_REQUEST_UNSUPPORTED, KindLoadBalancer, lbl, "Flags", "DSR")
		}
		if wantV6 {
			v.gate(FeatureIPv6DualStack, HCN_E_REQUEST_UNSUPPORTED, KindLoadBalancer, lbl, "Flags", "an IPv6 load balancer")
		}
		for j, pm := range lb.PortMappings {
			field := fmt.Sprintf("PortMappings[%d]", j)
			if pm.Protocol != uint32(ProtocolTypeTCP) && pm.Protocol != uint32(ProtocolTypeUDP) {
				v.ps.add(HCN_E_INVALID_POLICY, KindLoadBalancer, lbl, field+".Protocol", "protocol %d: load balancers take TCP (6) or UDP (17)", pm.Protocol)
			}
			if pm.InternalPort == 0 {
				v.ps.add(HCN_E_INVALID_INTERNAL_PORT, KindLoadBalancer, lbl, field+".InternalPort", "internal port 0")
			}
			switch pm.DistributionType {
			case LoadBalancerDistributionNone:
			case LoadBalancerDistributionSourceIPProtocol, LoadBalancerDistributionSourceIP:
				v.gate(FeatureSessionAffinity, HCN_E_REQUEST_UNSUPPORTED, KindLoadBalancer, lbl, field+".DistributionType", "session affinity (DistributionType "+pm.DistributionType.String()+")")
			default:
				v.ps.add(HCN_E_INVALID_POLICY, KindLoadBalancer, lbl, field+".DistributionType", "unknown distribution type %d (0, 1, 2)", uint32(pm.DistributionType))
			}
		}
	}
}

/// Namespaces and routes.

func (v *validator) namespaces() {
	inNS := map[string]string{} // endpoint ID -> namespace label
	for i := range v.o.Namespaces {
		ns := &v.o.Namespaces[i]
		lbl := label(ns.Name, ns.Id, i)
		switch ns.Type {
		case "", NamespaceTypeHost, NamespaceTypeHostDefault, NamespaceTypeGuest, NamespaceTypeGuestDefault:
		default:
			v.ps.add(HCN_E_INVALID_JSON, KindNamespace, lbl, "Type", "unknown namespace type %q (Host, HostDefault, Guest, GuestDefault)", ns.Type)
		}
		for j, r := range ns.Resources {
			field := fmt.Sprintf("Resources[%d]", j)
			switch r.Type {
			case NamespaceResourceTypeEndpoint, NamespaceResourceTypeContainer:
			default:
				v.ps.add(HCN_E_INVALID_JSON, KindNamespace, lbl, field+".Type", "unknown namespace resource type %q (Endpoint, Container)", r.Type)
				continue
			}
			id, err := r.ID()
			if err != nil {
				v.ps.add(HCN_E_INVALID_JSON, KindNamespace, lbl, field, "%v", err)
				continue
			}
			if r.Type != NamespaceResourceTypeEndpoint {
				continue
			}
			e := v.o.EndpointByID(id)
			if e == nil {
				v.ps.add(HCN_E_ENDPOINT_NOT_FOUND, KindNamespace, lbl, field+".Data.ID", "endpoint %q not found", id)
				continue
			}
			if other, dup := inNS[e.Id]; dup && other != lbl {
				v.ps.add(HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS, KindNamespace, lbl, field+".Data.ID", "endpoint %q is also in namespace %q", label(e.Name, e.Id, -1), other)
			} else {
				inNS[e.Id] = lbl
			}
		}
	}
}

func (v *validator) routes() {
	for i := range v.o.Routes {
		r := &v.o.Routes[i]
		lbl := label(r.Name, r.ID, i)
		for j, ref := range r.HostComputeEndpoints {
			if v.o.EndpointByID(ref) == nil {
				v.ps.add(HCN_E_ENDPOINT_NOT_FOUND, KindRoute, lbl, fmt.Sprintf("HostComputeEndpoints[%d]", j), "endpoint %q not found", ref)
			}
		}
		for j, s := range r.Setting {
			f := fmt.Sprintf("Setting[%d]", j)
			v.checkPrefix(KindRoute, lbl, f+".DestinationPrefix", s.DestinationPrefix, true)
			if s.NextHop != "" {
				v.checkAddr(KindRoute, lbl, f+".NextHop", s.NextHop)
			}
		}
	}
}

/// Host ports.

// portMappings reports external ports used twice on the host
// (HCN_E_PORT_ALREADY_EXISTS, hcsshim hcn/hcnerrors.go; kubernetes/community#8883).
// For PortMapping policies an empty VIP means every host address, so it
// collides with any VIP on the same protocol and port. Load balancers
// collide when protocol, port and a frontend VIP (or both "all addresses")
// are equal. Port mappings and load balancers are not checked against each
// other.
func (v *validator) portMappings() {
	type use struct {
		vip   string
		owner string
	}
	pmUses := map[string][]use{} // "proto/port" -> uses
	for i := range v.o.Endpoints {
		e := &v.o.Endpoints[i]
		lbl := label(e.Name, e.Id, i)
		for k, p := range e.Policies {
			if p.Type != PortMapping {
				continue
			}
			s, err := p.PortMapping()
			if err != nil || s.ExternalPort == 0 {
				continue
			}
			key := protoName(s.Protocol) + "/" + strconv.Itoa(int(s.ExternalPort))
			for _, u := range pmUses[key] {
				if u.vip == "" || s.VIP == "" || sameAddr(u.vip, s.VIP) {
					v.ps.add(HCN_E_PORT_ALREADY_EXISTS, KindEndpoint, lbl, fmt.Sprintf("Policies[%d] (PortMapping).Settings.ExternalPort", k),
						"external port %s%s is already mapped by endpoint %q%s", key, vipSuffix(s.VIP), u.owner, vipSuffix(u.vip))
					break
				}
			}
			pmUses[key] = append(pmUses[key], use{s.VIP, lbl})
		}
	}
	lbUses := map[string]string{} // "proto/port@vip" -> owner
	for i := range v.o.LoadBalancers {
		lb := &v.o.LoadBalancers[i]
		lbl := label(lb.Name, lb.Id, i)
		vips := lb.FrontendVIPs
		if len(vips) == 0 {
			vips = []string{""}
		}
		for j, pm := range lb.PortMappings {
			for _, vip := range vips {
				key := protoName(pm.Protocol) + "/" + strconv.Itoa(int(pm.ExternalPort)) + "@" + canonicalAddr(vip)
				if owner, dup := lbUses[key]; dup {
					v.ps.add(HCN_E_PORT_ALREADY_EXISTS, KindLoadBalancer, lbl, fmt.Sprintf("PortMappings[%d].ExternalPort", j),
						"frontend %s/%d%s is already used by load balancer %q", protoName(pm.Protocol), pm.ExternalPort, vipSuffix(vip), owner)
					continue
				}
				lbUses[key] = lbl
			}
		}
	}
}

func protoName(p uint32) string {
	switch ProtocolType(p) {
	case ProtocolTypeTCP, ProtocolTypeUnknown: // 0: see PortMappingPolicySetting
		return "TCP"
	case ProtocolTypeUDP:
		return "UDP"
	}
	return strconv.Itoa(int(p))
}

func vipSuffix(vip string) string {
	if vip == "" {
		return " (all host addresses)"
	}
	return " on " + vip
}

func canonicalAddr(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String()
	}
	return s
}

func sameAddr(a, b string) bool { return canonicalAddr(a) == canonicalAddr(b) }
