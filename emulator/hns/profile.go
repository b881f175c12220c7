package hns

import (
	"fmt"
	"math"
	"strings"
)

// Feature is an HNS capability that depends on the HNS version, as hcsshim
// gates them in hcn/hcnglobals.go:33-94 and reports them in
// SupportedFeatures (hcn/hcnsupport.go:23-57).
type Feature int

// Features, in the order of hcsshim's SupportedFeatures.
const (
	FeatureAclAddressLists Feature = iota
	FeatureAclNoHostRulePriority
	FeatureAclPortRanges
	FeatureAclRuleId
	FeatureV2API
	FeatureRemoteSubnet
	FeatureHostRoute
	FeatureDSR
	FeatureSlash32EndpointPrefixes
	FeatureAclSupportForProtocol252
	FeatureSessionAffinity
	FeatureIPv6DualStack
	FeatureSetPolicy
	FeatureVxlanPort
	FeatureL4Proxy
	FeatureL4WfpProxy
	FeatureTierAcl
	FeatureNetworkACL
	FeatureNestedIpSet
	FeatureDisableHostPort
	FeatureModifyLoadbalancer
	FeatureAccelnet
	numFeatures
)

// versionRange is an inclusive range of HNS versions.
type versionRange struct {
	min, max Version
}

// anyVersion stands for the math.MaxInt32 bounds of hcsshim's open ranges.
const anyVersion = math.MaxInt32

// featureInfo describes one Feature: its name (the SupportedFeatures JSON
// key, "ACL."/"API." prefixed for the nested ones), the hcsshim variable
// holding its version ranges, and the ranges.
type featureInfo struct {
	name       string
	hcsshimVar string
	ranges     []versionRange
}

func from(major, minor int) []versionRange {
	return []versionRange{{Version{major, minor}, Version{anyVersion, anyVersion}}}
}

// features mirrors hcsshim v0.15.0 hcn/hcnglobals.go:33-94 (the version
// ranges) and hcn/hcnsupport.go:94-122 (which range each feature uses).
var features = [numFeatures]featureInfo{
	FeatureAclAddressLists:       {"ACL.AclAddressLists", "HNSVersion1803", from(7, 2)},
	FeatureAclNoHostRulePriority: {"ACL.AclHostRulePriority", "HNSVersion1803", from(7, 2)},
	FeatureAclPortRanges:         {"ACL.AclPortRanges", "HNSVersion1803", from(7, 2)},
	FeatureAclRuleId:             {"ACL.AclRuleId", "HNSVersion1803", from(7, 2)},
	FeatureV2API:                 {"API.V2", "V2ApiSupport", from(9, 2)},
	FeatureRemoteSubnet:          {"RemoteSubnet", "RemoteSubnetVersion", from(9, 2)},
	FeatureHostRoute:             {"HostRoute", "HostRouteVersion", from(9, 2)},
	FeatureDSR: {"DSR", "DSRVersion", []versionRange{
		{Version{9, 3}, Version{9, anyVersion}},
		{Version{10, 2}, Version{anyVersion, anyVersion}},
	}},
	FeatureSlash32EndpointPrefixes: {"Slash32EndpointPrefixes", "Slash32EndpointPrefixesVersion", []versionRange{
		{Version{9, 3}, Version{9, anyVersion}},
		{Version{10, 4}, Version{anyVersion, anyVersion}},
	}},
	FeatureAclSupportForProtocol252: {"AclSupportForProtocol252", "AclSupportForProtocol252Version", from(11, 0)},
	FeatureSessionAffinity:          {"SessionAffinity", "SessionAffinityVersion", from(12, 0)},
	FeatureIPv6DualStack:            {"IPv6DualStack", "IPv6DualStackVersion", from(11, 10)},
	FeatureSetPolicy:                {"SetPolicy", "SetPolicyVersion", from(13, 0)},
	FeatureVxlanPort:                {"VxlanPort", "VxlanPortVersion", from(10, 3)},
	FeatureL4Proxy: {"L4Proxy", "L4ProxyPolicyVersion", []versionRange{
		{Version{9, 5}, Version{9, anyVersion}},
		{Version{10, 5}, Version{10, anyVersion}},
		{Version{11, 11}, Version{11, anyVersion}},
		{Version{12, 1}, Version{12, anyVersion}},
		{Version{13, 1}, Version{anyVersion, anyVersion}},
	}},
	FeatureL4WfpProxy:         {"L4WfpProxy", "L4WfpProxyPolicyVersion", from(13, 2)},
	FeatureTierAcl:            {"TierAcl", "TierAclPolicyVersion", from(14, 0)},
	FeatureNetworkACL:         {"NetworkACL", "NetworkACLPolicyVersion", from(15, 0)},
	FeatureNestedIpSet:        {"NestedIpSet", "NestedIpSetVersion", from(15, 0)},
	FeatureDisableHostPort:    {"DisableHostPort", "DisableHostPortVersion", from(15, 1)},
	FeatureModifyLoadbalancer: {"ModifyLoadbalancer", "ModifyLoadbalancerVersion", from(15, 4)},
	FeatureAccelnet:           {"Accelnet", "AccelnetVersion", from(15, 4)},
}

// String returns the feature's SupportedFeatures key, e.g. "DSR" or "API.V2".
func (f Feature) String() string {
	if f < 0 || f >= numFeatures {
		return fmt.Sprintf("Feature(%d)", int(f))
	}
	return features[f].name
}

// Versions describes the HNS versions that have f, e.g. "9.3-9.x or 10.2+".
func (f Feature) Versions() string {
	if f < 0 || f >= numFeatures {
		return "none"
	}
	var parts []string
	for _, r := range features[f].ranges {
		switch {
		case r.max.Major == anyVersion:
			parts = append(parts, r.min.String()+"+")
		case r.max.Minor == anyVersion:
			parts = append(parts, fmt.Sprintf("%s-%d.x", r.min, r.max.Major))
		default:
			parts = append(parts, r.min.String()+"-"+r.max.String())
		}
	}
	return strings.Join(parts, " or ")
}

// inRange reports whether v is in r, the way hcsshim's isFeatureInRange
// (hcn/hcnsupport.go:142-156) decides it.
func inRange(v Version, r versionRange) bool {
	if v.Major < r.min.Major || v.Major > r.max.Major {
		return false
	}
	if v.Major == r.min.Major && v.Minor < r.min.Minor {
		return false
	}
	if v.Major == r.max.Major && v.Minor > r.max.Minor {
		return false
	}
	return true
}

// Profile is an HNS version profile: the HNS service version of a Windows
// release, which decides the features HNS has (Supports).
type Profile struct {
	Name    string  // e.g. "WS2022"
	Version Version // HNS version, e.g. 13.2
	OSBuild string  // Windows build, e.g. "10.0.20348"
	Source  string  // where the version comes from, and whether it is inferred
}

// Supports reports whether HNS version p.Version has feature f, with
// hcsshim's version ranges.
func (p Profile) Supports(f Feature) bool {
	if f < 0 || f >= numFeatures {
		return false
	}
	for _, r := range features[f].ranges {
		if inRange(p.Version, r) {
			return true
		}
	}
	return false
}

// String returns e.g. "WS2022 (HNS 13.2)".
func (p Profile) String() string { return fmt.Sprintf("%s (HNS %s)", p.Name, p.Version) }

// The named profiles. HNS versions are not published per Windows release;
// each comes from public evidence, stated in Source. Where the minor version
// is inferred we pick the lowest minor that has every gate hcsshim defines
// for that major version, since patched hosts report higher minors.
var (
	// WS2019 is Windows Server 2019 (1809, build 17763) with the updates
	// that brought DSR (KB4580390, per the Kubernetes Windows docs).
	WS2019 = Profile{
		Name: "WS2019", Version: Version{9, 5}, OSBuild: "10.0.17763",
		Source: "inferred: HNS 9.x; 9.2 is 'RS5 plus Remote Subnet DCR' (microsoft/hcsshim#436); " +
			"hcsshim's 9.x gates are DSR and /32 prefixes at 9.3 and L4Proxy at 9.5 (hcn/hcnglobals.go), so 9.5",
	}
	// WS2022 is Windows Server 2022 (21H2, build 20348).
	WS2022 = Profile{
		Name: "WS2022", Version: Version{13, 2}, OSBuild: "10.0.20348",
		Source: "inferred: HNS 13.x; it has session affinity (>= 12.0; Kubernetes Windows docs: needs WS2022) " +
			"and dual-stack (>= 11.10; 11.10 was Windows 2004, microsoft/hcsshim#1003) but not TierAcl (14.0); " +
			"13.2 is the lowest 13.x with every 13.x gate (SetPolicy 13.0, L4Proxy 13.1, L4WfpProxy 13.2)",
	}
	// WS2025 is Windows Server 2025 (24H2, build 26100).
	WS2025 = Profile{
		Name: "WS2025", Version: Version{15, 4}, OSBuild: "10.0.26100",
		Source: "observed: 'HNS version 15.4' on an AKS Windows Server 2025 node (kubernetes/kubernetes#131466)",
	}
)

// Profiles returns the named profiles, oldest first.
func Profiles() []Profile { return []Profile{WS2019, WS2022, WS2025} }

// DefaultProfile returns the profile used when none is given: WS2022.
func DefaultProfile() Profile { return WS2022 }

// ProfileByName returns a named profile. Names match case-insensitively and
// may be given as "WS2022", "2022" or "ltsc2022". A version such as "13.2"
// or "hns-13.2" gives a custom profile with that HNS version.
func ProfileByName(name string) (Profile, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, p := range Profiles() {
		year := strings.TrimPrefix(strings.ToLower(p.Name), "ws")
		if n == strings.ToLower(p.Name) || n == year || n == "ltsc"+year {
			return p, nil
		}
	}
	if v, err := ParseVersion(strings.TrimPrefix(n, "hns-")); err == nil && strings.Contains(n, ".") {
		return Profile{Name: "HNS-" + v.String(), Version: v, Source: "custom"}, nil
	}
	return Profile{}, fmt.Errorf("hns profile %q: unknown (known: WS2019, WS2022, WS2025, or an HNS version like 13.2)", name)
}

// SupportedFeatures is what hcsshim reports a host supports.
// Mirrors hcsshim v0.15.0 hcn/hcnsupport.go:23-43.
type SupportedFeatures struct {
	Acl                      AclFeatures `json:"ACL"`
	Api                      ApiSupport  `json:"API"`
	RemoteSubnet             bool        `json:"RemoteSubnet"`
	HostRoute                bool        `json:"HostRoute"`
	DSR                      bool        `json:"DSR"`
	Slash32EndpointPrefixes  bool        `json:"Slash32EndpointPrefixes"`
	AclSupportForProtocol252 bool        `json:"AclSupportForProtocol252"`
	SessionAffinity          bool        `json:"SessionAffinity"`
	IPv6DualStack            bool        `json:"IPv6DualStack"`
	SetPolicy                bool        `json:"SetPolicy"`
	VxlanPort                bool        `json:"VxlanPort"`
	L4Proxy                  bool        `json:"L4Proxy"`
	L4WfpProxy               bool        `json:"L4WfpProxy"`
	TierAcl                  bool        `json:"TierAcl"`
	NetworkACL               bool        `json:"NetworkACL"`
	NestedIpSet              bool        `json:"NestedIpSet"`
	DisableHostPort          bool        `json:"DisableHostPort"`
	ModifyLoadbalancer       bool        `json:"ModifyLoadbalancer"`
	Accelnet                 bool        `json:"Accelnet"`
}

// AclFeatures are the ACL capabilities of HNS 1803 and later.
// Mirrors hcsshim v0.15.0 hcn/hcnsupport.go:46-51.
type AclFeatures struct {
	AclAddressLists       bool `json:"AclAddressLists"`
	AclNoHostRulePriority bool `json:"AclHostRulePriority"`
	AclPortRanges         bool `json:"AclPortRanges"`
	AclRuleId             bool `json:"AclRuleId"`
}

// ApiSupport lists the HNS API versions.
// Mirrors hcsshim v0.15.0 hcn/hcnsupport.go:54-57.
type ApiSupport struct {
	V1 bool `json:"V1"`
	V2 bool `json:"V2"`
}

// SupportedFeatures returns what hcsshim's GetCachedSupportedFeatures would
// report on a host with this profile's HNS version (V1 is always true,
// hcn/hcnsupport.go:101-104).
func (p Profile) SupportedFeatures() SupportedFeatures {
	return SupportedFeatures{
		Acl: AclFeatures{
			AclAddressLists:       p.Supports(FeatureAclAddressLists),
			AclNoHostRulePriority: p.Supports(FeatureAclNoHostRulePriority),
			AclPortRanges:         p.Supports(FeatureAclPortRanges),
			AclRuleId:             p.Supports(FeatureAclRuleId),
		},
		Api:                      ApiSupport{V1: true, V2: p.Supports(FeatureV2API)},
		RemoteSubnet:             p.Supports(FeatureRemoteSubnet),
		HostRoute:                p.Supports(FeatureHostRoute),
		DSR:                      p.Supports(FeatureDSR),
		Slash32EndpointPrefixes:  p.Supports(FeatureSlash32EndpointPrefixes),
		AclSupportForProtocol252: p.Supports(FeatureAclSupportForProtocol252),
		SessionAffinity:          p.Supports(FeatureSessionAffinity),
		IPv6DualStack:            p.Supports(FeatureIPv6DualStack),
		SetPolicy:                p.Supports(FeatureSetPolicy),
		VxlanPort:                p.Supports(FeatureVxlanPort),
		L4Proxy:                  p.Supports(FeatureL4Proxy),
		L4WfpProxy:               p.Supports(FeatureL4WfpProxy),
		TierAcl:                  p.Supports(FeatureTierAcl),
		NetworkACL:               p.Supports(FeatureNetworkACL),
		NestedIpSet:              p.Supports(FeatureNestedIpSet),
		DisableHostPort:          p.Supports(FeatureDisableHostPort),
		ModifyLoadbalancer:       p.Supports(FeatureModifyLoadbalancer),
		Accelnet:                 p.Supports(FeatureAccelnet),
	}
}

// ProfileForVersion returns the profile to model a node whose HNS reports
// version v (from a dump's packed "Version", see UnpackVersion). It is the
// named profile of the same major version when that profile's features are
// exactly v's (e.g. 13.3 gives WS2022, whose 13.2 has every 13.x gate);
// otherwise a custom profile with v itself, so that the feature gates are
// v's own (e.g. 15.0 lacks ModifyLoadbalancer, which WS2025's 15.4 has).
// why says which, for the user.
func ProfileForVersion(v Version) (p Profile, why string) {
	custom := Profile{Name: "HNS-" + v.String(), Version: v, Source: "HNS version of an imported node"}
	for _, named := range Profiles() {
		if named.Version.Major != v.Major {
			continue
		}
		if named.Version == v {
			return named, fmt.Sprintf("HNS %s is %s's version", v, named.Name)
		}
		if named.SupportedFeatures() == custom.SupportedFeatures() {
			return named, fmt.Sprintf("HNS %s has the same features as %s (HNS %s)", v, named.Name, named.Version)
		}
		return custom, fmt.Sprintf("HNS %s is %s's major version, but its features differ from %s's %s; modelled as HNS %s", v, named.Name, named.Name, named.Version, v)
	}
	return custom, fmt.Sprintf("HNS %s matches no named profile (WS2019 %s, WS2022 %s, WS2025 %s); modelled as HNS %s", v, WS2019.Version, WS2022.Version, WS2025.Version, v)
}

// Spec returns the name a topology's profile field takes for p: the named
// profile's name, or the HNS version ("13.3") of a custom one, which
// ProfileByName reads back.
func (p Profile) Spec() string {
	for _, named := range Profiles() {
		if named == p {
			return p.Name
		}
	}
	return p.Version.String()
}
