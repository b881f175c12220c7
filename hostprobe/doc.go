// Package hostprobe runs scenarios on real datapaths and compares them with the
// emulator (docs/design.md §4).
//
// A Backend builds a topology (fabric.Topology, the emulator's), injects a scenario's
// frames at the emulator's port names, records what came out at every port as
// result packets, measures throughput, and tears everything down. Three
// backends exist: Emulator (this package), the Linux kernel (hostprobe/linux) and a
// Windows host through HNS and pktmon (hostprobe/windows).
//
// An input may carry Steps, the HNS changes of a scenario's `do:` entries
// (remove_endpoint, update_load_balancer), which every backend makes before it injects
// the input.
//
// Compare and Comparer diff two runs packet by packet, field by field, after
// normalisation: NAT port choices and a load balancer's choice of backend are matched
// through bindings (the first sighting of a pair binds them, later packets must agree,
// and later inputs are translated, see RunAgainst and LBGroupsOf), and fields without
// meaning (IPv4 identification, the VXLAN source port hash, Ethernet padding) are not
// compared. Every difference that a documented Windows/Linux difference explains is
// labelled with it (Differences, in differences.go, with sources); some entries are
// known emulator findings instead (KnownDifference.Finding). Differences of packets that
// passed a part the backend did not build (NotBuilt) are labelled with it and make the
// verdict "partial", not "differs" (Comparison.MarkNotBuilt, Comparison.Verdict).
package hostprobe
