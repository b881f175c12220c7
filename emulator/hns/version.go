package hns

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Version is an HCN version: the HNS service version (e.g. 13.2, read by
// hcsshim from the v1 "GET /globals/version" call) or a schema version (2.0).
// Mirrors hcsshim v0.15.0 hcn/hcnglobals.go:21-24; the official schema
// types Major and Minor as uint32 (HNS_Schema.md "Version").
type Version struct {
	Major int `json:"Major"`
	Minor int `json:"Minor"`
}

// SchemaVersion is the version of the HCN JSON schema an object is written
// in. Mirrors hcsshim v0.15.0 hcn/hcn.go:76 (a type alias of Version).
type SchemaVersion = Version

// V2SchemaVersion returns schema version 2.0, the version hcsshim writes into
// every object it creates (hcsshim v0.15.0 hcn/hcn.go:140-145).
func V2SchemaVersion() SchemaVersion { return SchemaVersion{Major: 2, Minor: 0} }

// Compare returns -1, 0 or +1 as v is lower than, equal to or higher than w,
// comparing Major first and then Minor.
func (v Version) Compare(w Version) int {
	switch {
	case v.Major < w.Major:
		return -1
	case v.Major > w.Major:
		return 1
	case v.Minor < w.Minor:
		return -1
	case v.Minor > w.Minor:
		return 1
	}
	return 0
}

// IsZero reports whether v is 0.0, which in HCN JSON means "not given".
func (v Version) IsZero() bool { return v.Major == 0 && v.Minor == 0 }

// String returns v as "Major.Minor", e.g. "13.2".
func (v Version) String() string { return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) }

// ParseVersion parses "Major.Minor" (e.g. "13.2") or "Major" (meaning
// Major.0). Both parts must be non-negative decimal integers.
func ParseVersion(s string) (Version, error) {
	maj, min, hasMinor := strings.Cut(strings.TrimSpace(s), ".")
	var v Version
	var err error
	if v.Major, err = strconv.Atoi(maj); err != nil || v.Major < 0 {
		return Version{}, fmt.Errorf("parse version %q: major %q is not a non-negative integer", s, maj)
	}
	if hasMinor {
		if v.Minor, err = strconv.Atoi(min); err != nil || v.Minor < 0 {
			return Version{}, fmt.Errorf("parse version %q: minor %q is not a non-negative integer", s, min)
		}
	}
	return v, nil
}

// ExtraParams carries HNS bookkeeping returned with an object (allocator
// resources, shared containers, the switch it is layered on).
// Mirrors hcsshim v0.15.0 hcn/hcn.go:96-103.
type ExtraParams struct {
	Resources        json.RawMessage `json:",omitempty"`
	SharedContainers json.RawMessage `json:",omitempty"`
	LayeredOn        string          `json:",omitempty"`
	SwitchGuid       string          `json:",omitempty"`
	UtilityVM        string          `json:",omitempty"`
	VirtualMachine   string          `json:",omitempty"`
}

// Health is the health block HNS returns with an object. encoding/json always
// emits it (struct-typed fields ignore omitempty), as hcsshim does.
// Mirrors hcsshim v0.15.0 hcn/hcn.go:105-108.
type Health struct {
	Data  interface{} `json:",omitempty"`
	Extra ExtraParams `json:",omitempty"`
}

// HostComputeQueryFlags select which properties an HCN query returns.
// Mirrors hcsshim v0.15.0 hcn/hcn.go:80.
type HostComputeQueryFlags uint32

// HostComputeQueryFlags values (hcsshim v0.15.0 hcn/hcn.go:82-87).
const (
	// HostComputeQueryFlagsNone returns an object with the standard properties.
	HostComputeQueryFlagsNone HostComputeQueryFlags = 0
	// HostComputeQueryFlagsDetailed returns an object with all properties.
	HostComputeQueryFlagsDetailed HostComputeQueryFlags = 1
)

// HostComputeQuery is the query document HCN enumerate/query calls take.
// Mirrors hcsshim v0.15.0 hcn/hcn.go:90-94.
type HostComputeQuery struct {
	SchemaVersion SchemaVersion         `json:""`
	Flags         HostComputeQueryFlags `json:",omitempty"`
	Filter        string                `json:",omitempty"`
}

// RequestType is the operation of a Modify*SettingRequest.
// Mirrors hcsshim v0.15.0 hcn/hcn.go:353.
type RequestType string

// RequestType values (hcsshim v0.15.0 hcn/hcn.go:355-364; the official schema
// adds "Reset", HNS_Schema.md ModifyRequestType).
const (
	RequestTypeAdd     RequestType = "Add"
	RequestTypeRemove  RequestType = "Remove"
	RequestTypeUpdate  RequestType = "Update"
	RequestTypeRefresh RequestType = "Refresh"
)

// UnpackVersion returns the HNS version packed into one integer, as the v1
// objects' "Version" field carries it (Get-HnsNetwork, Get-HnsEndpoint,
// Get-HnsPolicyList): the major version in the high 32 bits and the minor
// in the low 32, e.g. 55834574851 = 13<<32 | 3 = HNS 13.3 (Windows Server
// 2022). ok is false for 0 and for a major version above 1000, which no
// HNS has (a value that is not a packed version).
func UnpackVersion(n uint64) (v Version, ok bool) {
	v = Version{Major: int(n >> 32), Minor: int(n & 0xFFFFFFFF)}
	if n == 0 || v.Major == 0 || v.Major > 1000 {
		return Version{}, false
	}
	return v, true
}

// Pack returns v packed the way v1 objects carry it (see UnpackVersion).
func (v Version) Pack() uint64 { return uint64(v.Major)<<32 | uint64(uint32(v.Minor)) }
