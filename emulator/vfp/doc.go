// Package vfp models the Virtual Filtering Platform, the Hyper-V vSwitch
// extension that holds the per-port policy of l2bridge, l2tunnel and
// overlay networks: layers, groups, rules, header transpositions and the
// unified flow table (Firestone, NSDI 2017; reference
// windows-behaviour.md §1 and hcn-schema.md §4).
//
// # Object model
//
// A Port has layers ordered by priority; a Layer is stateful or stateless
// and allows or blocks by default; a Group is for one direction (IN:
// switch to vNIC, OUT: vNIC to switch) and one address family, and matches
// by priority or by longest prefix; a Rule has a priority, conditions,
// flags (terminating, stateful), a flow TTL and an action: allow, block,
// static NAT, dynamic NAT from a pool, LB NAT, VXLAN encap and decap, MAC
// rewrite, or meter.
//
// # Evaluation
//
// Outbound packets walk the layers from the smallest priority up, inbound
// packets from the largest down [S-2: the order is reversed inbound;
// hcn-schema.md §4.3]. A layer runs the groups of the packet's direction
// and family in priority order; within a group the winning rule is the
// one with the smallest priority value (LPM groups: the longest matching
// destination prefix, then the smallest priority); the last matching
// group's rule decides unless a rule is terminating, which stops the
// layer there. No match applies the layer's default.
//
// Smaller priority values are matched first. Evidence: in the real SNAT
// layer of kubernetes/kubernetes#79359 the "Block_LoopBack" rule (Priority
// 1, terminating, block) and the SNAT rule (Priority 100, dynnat) have
// overlapping conditions (destination 10.43.0.1:443) and the block is what
// took effect (the issue is that pods cannot reach the service); in the
// real ACL_ENDPOINT_LAYER dump of mrolmedo/rke2windows the specific
// "allow-host-to-endpoint" rule has Priority 900 and the catch-all profile
// rule 1000; the catch-all PA_ROUTE rule in microsoft/SDN VFP.psm1 has
// 45535. Layers follow the same convention: SNAT (200) runs before LB (300)
// outbound, which the SNAT rule's VIP destination condition requires.
//
// A packet's later layers see it as rewritten by the earlier ones. In a
// stateful layer a stateful rule creates a flow pair: the flow for the
// packet's own tuple and the reverse flow for the reply, which undoes the
// rewrite (source NAT becomes destination NAT back, a source MAC rewrite a
// destination MAC rewrite back). Replies match the reverse flow and skip
// the layer's rules. Encap and decap rules create no flow pair: the other
// direction has its own rule (real VNET rules are "1 terminating").
// DynNAT and LBNAT rules must be stateful and in a stateful layer.
//
// Flows expire after the rule's Flow TTL of idleness (240 s on real
// stateful rules); after a TCP RST, or a FIN from each side, after
// DefaultClosedFlowTTL [I]. ICMP queries are flows too: their identifier
// stands for both ports, so dynamic NAT rewrites it. Port conditions match
// only TCP and UDP.
//
// Dynamic NAT pools map endpoint-independently (one external port per
// protocol, source address and port) and hand out ports in order; a port
// is reused once its mapping idled past the TTL. An exhausted pool drops
// with drop.LBPortsExhausted. LBNAT picks a DIP by a hash of the 5-tuple,
// of the source address and protocol, or of the source address (HNS
// distribution types 0, 1, 2).
//
// VXLAN encapsulation (RFC 7348 section 5) pushes outer Ethernet, IPv4
// (TTL 64 unless set, DF as configured, ID 0 with DF and a per-port
// counter without), UDP with a zero checksum and a source port hashed from
// the inner flow in 49152-65535, and VXLAN with the I flag. Decapsulation
// requires the VXLAN port, the I flag and an accepted VNI, else
// drop.VSIDMismatch.
//
// # Unified flow table
//
// The first packet of a flow (the slow path) runs the layers and applies
// each action as it goes. The actions compose into one header
// transposition: a short list of Modify, Pop and Push steps (adjacent
// modifies merged) that the unified flow table caches under the flow's
// full key: direction, outer MACs, VLAN and 5-tuple and, for VXLAN, the
// VNI and the inner MACs and 5-tuple. Later packets apply the cached
// transposition with incremental checksum updates, touch the layer flows
// it depends on, and do not allocate. Drops are cached too, with their
// reason and rule, except those that depend on the packet rather than the
// flow (MTU, an exhausted port pool, an invalid inner frame).
//
// A decision made while a stateful layer had no flow for the packet (a
// reply dropped before its request created the flow pair, say) records
// that; the entry is re-evaluated once such a flow appears. The table is
// uft.go's: byte-array keys filled from the headers, indexed by a 64-bit
// hash in a map with integer keys.
//
// Every policy change bumps the port's generation. A cached entry of an
// older generation is re-evaluated on its next packet (lazy
// reconciliation): the slow path runs again, keeping a layer flow while
// the rule that made it is unchanged and still wins, so established NAT
// mappings survive unrelated changes, while a replaced LB rule (a backend
// removed) or a new rule that takes precedence takes effect.
//
// # Rule lookup
//
// Rules are compiled per group into an index (index.go) so that the first
// packet does not scan every rule: a decision tree hashing one field per
// node for priority groups, and per-length prefix tables for LPM groups.
// The tests compare it with a linear scan on random rule sets.
//
// # vfpctrl
//
// The vfpctrl text format (printing the model as vfpctrl does, reading
// real hosts' output, and checking one against the other) lives in the
// subpackage vfpctrl.
//
// Ports are not safe for concurrent use.
package vfp
