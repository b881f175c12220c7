package hns

import (
	"strings"
	"testing"
)

// TestSupportsBoundaries checks the version boundaries that hcsshim's
// comments in hcn/hcnglobals.go state in words ("HNS 9.3 through 10.0 (not
// included), and 10.2+ allows for Direct Server Return", ...).
func TestSupportsBoundaries(t *testing.T) {
	tests := []struct {
		v    Version
		f    Feature
		want bool
	}{
		{Version{7, 1}, FeatureAclRuleId, false},
		{Version{7, 2}, FeatureAclRuleId, true}, // "HNSVersion1803 added ACL functionality"
		{Version{9, 1}, FeatureV2API, false},
		{Version{9, 2}, FeatureV2API, true},
		{Version{9, 2}, FeatureRemoteSubnet, true}, // "only supported in HNS version 9.2" (hcsshim#436)
		{Version{9, 2}, FeatureDSR, false},
		{Version{9, 3}, FeatureDSR, true},
		{Version{9, 99}, FeatureDSR, true},
		{Version{10, 0}, FeatureDSR, false},
		{Version{10, 1}, FeatureDSR, false},
		{Version{10, 2}, FeatureDSR, true},
		{Version{16, 0}, FeatureDSR, true},
		{Version{10, 3}, FeatureSlash32EndpointPrefixes, false},
		{Version{10, 4}, FeatureSlash32EndpointPrefixes, true},
		{Version{10, 2}, FeatureVxlanPort, false},
		{Version{10, 3}, FeatureVxlanPort, true},
		{Version{9, 4}, FeatureL4Proxy, false},
		{Version{9, 5}, FeatureL4Proxy, true},
		{Version{10, 4}, FeatureL4Proxy, false},
		{Version{10, 5}, FeatureL4Proxy, true},
		{Version{11, 10}, FeatureL4Proxy, false},
		{Version{11, 11}, FeatureL4Proxy, true},
		{Version{12, 0}, FeatureL4Proxy, false},
		{Version{12, 1}, FeatureL4Proxy, true},
		{Version{13, 0}, FeatureL4Proxy, false},
		{Version{13, 1}, FeatureL4Proxy, true},
		{Version{11, 9}, FeatureIPv6DualStack, false},
		{Version{11, 10}, FeatureIPv6DualStack, true}, // Windows 2004 reported {11 10} (hcsshim#1003)
		{Version{10, 99}, FeatureAclSupportForProtocol252, false},
		{Version{11, 0}, FeatureAclSupportForProtocol252, true},
		{Version{11, 99}, FeatureSessionAffinity, false},
		{Version{12, 0}, FeatureSessionAffinity, true},
		{Version{12, 9}, FeatureSetPolicy, false},
		{Version{13, 0}, FeatureSetPolicy, true},
		{Version{13, 1}, FeatureL4WfpProxy, false},
		{Version{13, 2}, FeatureL4WfpProxy, true},
		{Version{13, 9}, FeatureTierAcl, false},
		{Version{14, 0}, FeatureTierAcl, true},
		{Version{14, 9}, FeatureNetworkACL, false},
		{Version{15, 0}, FeatureNetworkACL, true},
		{Version{15, 0}, FeatureNestedIpSet, true},
		{Version{15, 0}, FeatureDisableHostPort, false},
		{Version{15, 1}, FeatureDisableHostPort, true},
		{Version{15, 3}, FeatureModifyLoadbalancer, false},
		{Version{15, 4}, FeatureModifyLoadbalancer, true},
		{Version{15, 4}, FeatureAccelnet, true},
	}
	for _, tt := range tests {
		p := Profile{Name: "t", Version: tt.v}
		if got := p.Supports(tt.f); got != tt.want {
			t.Errorf("HNS %s Supports(%s) = %t, want %t", tt.v, tt.f, got, tt.want)
		}
	}
	if (Profile{Version: Version{20, 0}}).Supports(Feature(99)) {
		t.Error("an unknown feature is supported")
	}
}

// TestNamedProfiles checks the named profiles against what Windows releases
// are documented or observed to have.
func TestNamedProfiles(t *testing.T) {
	tests := []struct {
		p    Profile
		f    Feature
		want bool
		why  string
	}{
		{WS2019, FeatureV2API, true, "kube-proxy winkernel needs the v2 API and runs on WS2019"},
		{WS2019, FeatureDSR, true, "Kubernetes docs: DSR on WS2019 with KB4580390"},
		{WS2019, FeatureSessionAffinity, false, "Kubernetes docs: session affinity needs WS2022"},
		{WS2019, FeatureIPv6DualStack, false, "Kubernetes docs: dual-stack needs Windows 2004 or later"},
		{WS2019, FeatureVxlanPort, false, "flannel/K8SDOC: VXLAN port must be 4789 (no VxlanPort policy)"},
		{WS2022, FeatureSessionAffinity, true, "Kubernetes docs: session affinity needs WS2022"},
		{WS2022, FeatureIPv6DualStack, true, "dual-stack since Windows 2004 (HNS 11.10)"},
		{WS2022, FeatureVxlanPort, true, "VxlanPort since HNS 10.3 (1903)"},
		{WS2022, FeatureModifyLoadbalancer, false, "kube-proxy: ModifyLoadBalancer for Windows Server 2025 (kubernetes#124092)"},
		{WS2025, FeatureModifyLoadbalancer, true, "HNS 15.4 on WS2025 supports ModifyLoadBalancer (kubernetes#131466)"},
		{WS2025, FeatureNetworkACL, true, "HNS 15.x"},
	}
	for _, tt := range tests {
		if got := tt.p.Supports(tt.f); got != tt.want {
			t.Errorf("%s Supports(%s) = %t, want %t (%s)", tt.p, tt.f, got, tt.want, tt.why)
		}
	}
	if DefaultProfile() != WS2022 {
		t.Errorf("DefaultProfile = %s, want WS2022", DefaultProfile())
	}
	for _, p := range Profiles() {
		if p.Source == "" || p.OSBuild == "" {
			t.Errorf("%s has no Source or OSBuild", p)
		}
	}
}

func TestProfileByName(t *testing.T) {
	tests := []struct {
		in      string
		want    Version
		name    string
		wantErr bool
	}{
		{"WS2022", WS2022.Version, "WS2022", false},
		{"ws2019", WS2019.Version, "WS2019", false},
		{"2025", WS2025.Version, "WS2025", false},
		{"ltsc2022", WS2022.Version, "WS2022", false},
		{"13.2", Version{13, 2}, "HNS-13.2", false},
		{"hns-9.3", Version{9, 3}, "HNS-9.3", false},
		{"WS2016", Version{}, "", true},
		{"13", Version{}, "", true},
		{"", Version{}, "", true},
	}
	for _, tt := range tests {
		p, err := ProfileByName(tt.in)
		if (err != nil) != tt.wantErr || p.Version != tt.want || p.Name != tt.name {
			t.Errorf("ProfileByName(%q) = %+v, %v; want %s %s, error %t", tt.in, p, err, tt.name, tt.want, tt.wantErr)
		}
	}
}

func TestFeatureStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{FeatureDSR.String(), "DSR"},
		{FeatureDSR.Versions(), "9.3-9.x or 10.2+"},
		{FeatureV2API.String(), "API.V2"},
		{FeatureL4Proxy.Versions(), "9.5-9.x or 10.5-10.x or 11.11-11.x or 12.1-12.x or 13.1+"},
		{Feature(-1).String(), "Feature(-1)"},
		{WS2022.String(), "WS2022 (HNS 13.2)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	sf := WS2019.SupportedFeatures()
	if !sf.Api.V1 || !sf.Api.V2 || !sf.DSR || sf.SessionAffinity || !strings.Contains(WS2019.Source, "9.2") {
		t.Errorf("WS2019 SupportedFeatures = %+v", sf)
	}
}
