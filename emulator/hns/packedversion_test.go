package hns

import "testing"

// TestUnpackVersionProfile checks the packed "Version" of real v1 dumps
// (major<<32 | minor) and the profile each selects. The packed values are
// those of the real samples in nodetext/testdata: 55834574851 on a Windows
// Server 2022 node (mrolmedo/rke2windows), 64424509440 on Windows 11
// (microsoft/Windows-Containers#563), 68719476736 (mtelvers/tunbury, 2026),
// 38654705667/38654705669 on 2019-era nodes.
func TestUnpackVersionProfile(t *testing.T) {
	for _, tt := range []struct {
		packed  uint64
		want    Version
		profile string // Spec of the selected profile
		named   bool
	}{
		{55834574851, Version{13, 3}, "WS2022", true},       // same 13.x features as WS2022's 13.2
		{55834574850, Version{13, 2}, "WS2022", true},       // exactly WS2022
		{64424509440, Version{15, 0}, "15.0", false},        // 15.0 lacks 15.1/15.4 gates that WS2025 (15.4) has
		{64424509444, Version{15, 4}, "WS2025", true},       // exactly WS2025
		{68719476736, Version{16, 0}, "16.0", false},        // no named profile has major 16
		{38654705667, Version{9, 3}, "9.3", false},          // 9.3 lacks L4Proxy (9.5), which WS2019 has
		{38654705669, Version{9, 5}, "WS2019", true},        // exactly WS2019
		{38654705666, Version{9, 2}, "9.2", false},          // 9.2 lacks DSR (9.3)
		{uint64(14)<<32 | 7, Version{14, 7}, "14.7", false}, // no named profile has major 14
	} {
		v, ok := UnpackVersion(tt.packed)
		if !ok || v != tt.want {
			t.Errorf("UnpackVersion(%d) = %v, %v, want %v", tt.packed, v, ok, tt.want)
			continue
		}
		if v.Pack() != tt.packed {
			t.Errorf("%v.Pack() = %d, want %d", v, v.Pack(), tt.packed)
		}
		p, why := ProfileForVersion(v)
		if p.Spec() != tt.profile || (p.Name == p.Spec()) != tt.named || why == "" {
			t.Errorf("ProfileForVersion(%v) = %s (spec %s, %q), want spec %s", v, p.Name, p.Spec(), why, tt.profile)
		}
		if p.Version.Major != v.Major {
			t.Errorf("ProfileForVersion(%v) has major %d", v, p.Version.Major)
		}
		// The spec reads back to a profile with the same features.
		back, err := ProfileByName(p.Spec())
		if err != nil || back.SupportedFeatures() != p.SupportedFeatures() {
			t.Errorf("ProfileByName(%q) = %v, %v", p.Spec(), back, err)
		}
		// The custom profile's gates are the version's own.
		if !tt.named && p.Version != v {
			t.Errorf("custom profile for %v has version %v", v, p.Version)
		}
	}
	for _, bad := range []uint64{0, 7, uint64(5000) << 32} {
		if v, ok := UnpackVersion(bad); ok {
			t.Errorf("UnpackVersion(%d) = %v, want not ok", bad, v)
		}
	}
}
