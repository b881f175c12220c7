// Package hns is the Host Networking Service (HNS) object model of hnspath:
// the HCN v2 JSON schema, the import of HNS v1 dumps, validation against
// what HNS would reject, and HNS version profiles. (The "programmer" that
// turns these objects into vswitch, VFP and WinNAT state lives in this
// package too, in program*.go.)
//
// # Schema
//
// The types mirror hcsshim v0.15.0's hcn package field for field: the same
// Go names, JSON names, omitempty choices and numeric enum types, so that
// JSON written by hcsshim (and by kube-proxy, CNI plugins and Microsoft's
// tools, which use it) decodes here unchanged, and JSON we write is what
// hcsshim would write. hcsshim's hcn package builds on Windows only, hence
// the copy. Each mirrored type's comment names the hcsshim file and lines,
// and contract_test.go checks the copy against hcsshim's source in the module
// cache (field names, JSON names and tags, field types, enum constants,
// feature version ranges).
//
// Note what encoding/json does with these tags: struct-typed fields
// (MacPool, Dns, Health, SchemaVersion, FilterTuple, ...) are always
// written, omitempty or not, exactly as hcsshim writes them.
//
// # Leniency on input
//
// Input may come from the official schema (MicrosoftDocs HNS_Schema.md),
// from Microsoft's PowerShell clients or from real HNS, which differ from
// hcsshim in places. Decoding therefore also accepts:
//
//   - flags and enums as numbers (what hcsshim sends), as official names
//     ("EnableNonPersistent", "TCP"), as "A, B" or "A|B" lists, or as arrays
//     of names; they are always written as numbers;
//   - network types and policy types in any letter case ("nat" -> "NAT");
//   - a network without a Type: a NAT network (HNS omits Type for NAT;
//     hcsshim presets NAT before decoding, hcn/hcnnetwork.go:152-155);
//   - HostComputeRoute's route list as "Routes" (official) or "Setting"
//     (hcsshim); L4Proxy's "ExceptionList"/"OutboundNat" (official) or
//     "Exceptions"/"OutboundNAT" (hcsshim);
//   - official-schema fields hcsshim lacks, kept as extras that are written
//     only when set: ACL and NetworkACL Id, SDNRoute AutomaticEndpointMonitor,
//     IpConfig IpSubnetId, Subnet IpSubnets, Name on load balancers,
//     namespaces and routes, the Internal/Mirrored/Infiniband/ConstrainedICS
//     network types and the Encryption/VLAN/InterfaceParameters endpoint
//     policy types.
//
// Keys that no type models are not an error: Objects.Unknown lists their
// paths after decoding (UnknownFields does the same for any type), for the
// caller to show as warnings.
//
// # hnspath conventions
//
// An Objects bundle holds one host's objects. References between objects
// (an endpoint's HostComputeNetwork, a load balancer's HostComputeEndpoints,
// ...) are GUIDs in HCN; in hnspath input they may also be the Name of the
// referenced object. Objects.Normalize resolves those names, gives objects
// without an ID a stable name-based GUID (NameGUID), and fills defaults.
// HostComputeNetwork.DockerOptions records `docker network create` options
// so that Validate can reject those Docker on Windows does not support; it
// is an hnspath extension that hcsshim ignores.
//
// # Validation
//
// Validate reports every problem at once, each as an *Error with the
// HRESULT HNS would return (Microsoft's HCN error table), the object, the
// field path and a message. The rules and their sources are in validate.go.
// Which features exist depends on the HNS version: a Profile (WS2019,
// WS2022, WS2025, or any HNS version) answers Supports(Feature) with
// hcsshim's own version ranges.
//
// # v1 import
//
// ImportDump reads Get-HnsNetwork / Get-HnsEndpoint / Get-HnsPolicyList
// output (v1) and HCN v2 query output, detects which is which, and converts
// everything to v2 Objects.
//
// Nothing here is on the packet path: the package allocates freely and uses
// reflection where that keeps the schema code short.
package hns
