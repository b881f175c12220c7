// Package scenarios runs scenario files through the emulator: it loads
// scenario and topology files (YAML, or JSON), injects their packets at
// named ports on a virtual clock, checks the expectations, and writes the
// results as JSON Lines and pcapng. It also replays captures, compares
// results files (`hnspath diff`), traces single packets and imports HNS
// dumps. docs/scenarios.md is the reference for people writing scenarios;
// this comment is the summary for people reading the code.
//
// # Files
//
// A scenario file is a YAML mapping (a ".json" file is read as JSON):
//
//	name: nat-static-portmap          # names the output files
//	summary: one line                 # what the scenario shows
//	source: / sources: [...]          # where the expected behaviour is documented (required)
//	topology: topologies/nat.yaml     # a file (relative to this one), or the topology inline
//	packets:                          # inputs, in order
//	  - at: client                    # injection port
//	    frame: ipv4(dst=10.0.0.4) / tcp(dport=8082, flags=S)   # a spec (package spec)
//	    time: 121s | +2s | 5000       # optional: absolute, after the previous packet, or ns
//	    repeat: 3                     # optional, with interval: 1s
//	  - pcap: input.pcapng            # or a capture; port: PORT for pcap files
//	  - do: {remove_endpoint: host1/pod-b}   # or a step (time:, note: optional)
//	  - do: {update_load_balancer: {host: host1, name: svc-web, endpoints: [pod-d]}}
//	expect:
//	  - at: host1/web                 # a frame comes out here (partial spec)
//	    frame: ipv4(dst=172.16.0.2) / tcp(sport=$p, dport=80)
//	    packet: 1                     # optional: caused by input packet 1
//	    kind: delivered               # optional: delivered (default), wire-tx (default at NICs), wire-rx
//	  - drop: {packet: 2, reason: winnat-no-mapping}           # optional at, host, component, where, layer, group, rule
//	  - drop: {packet: 3, reason: "*"}   # dropped, for any reason
//	  - nothing_else: true            # optional at: PORT; with kind: wire-tx|wire-rx at a NIC port
//	expect_error: {code: 0x803b000a, message: ..., field: ..., object: ...}
//
// A topology has the keys of fabric.Topology (hosts with nics, hns, nat,
// listen, routes; peers; underlay); hns holds HCN v2 JSON objects decoded
// by package hns. Loading is strict: unknown keys (also inside HCN objects)
// and values of the wrong kind are errors. Every error is an *InputError
// with file, line, column and field path; all errors of a file come back
// together as Errors (MaxErrors are printed). Errors of the emulator are
// mapped back to their value: a fabric.FieldError by its path, an HNS
// problem by the object's kind and name and its field path.
//
// # Running
//
// Run builds the fabric with tracing and wire observation on and injects
// the packets in order. Packet numbers count every frame injected
// (repeats, ranges and capture packets each count), from 1. The virtual
// clock starts at 0; a packet without time: comes 1 µs after the previous
// one; a capture's timestamps count from its first packet, offset by the
// entry's time. Frames built from specs get package spec's defaults; the
// runner's Resolver turns port names ("host1/web", "client",
// "host1/eth0"), host names ("host1": its first NIC) and "gateway" into
// addresses. When a spec injected at a container or peer gives no
// Ethernet destination, the runner uses the MAC of the next hop (the IP
// destination when on-link, else the port's gateway), learnt as the
// sender would learn it: an ARP request injected into the fabric from
// that port, whose reply is not recorded (failing that, the MAC of the
// port that has the address). Frames injected at a NIC or the management
// OS default to the NIC's MAC.
//
// A step (`do:`, type Step) changes HNS objects between packets through
// fabric.(*Fabric).RemoveEndpoint (the endpoint's vNIC is disabled; load
// balancers keep it) and UpdateLoadBalancer (new backends; VFP generations
// go up, so cached flows are re-evaluated on their next packet). Steps are
// not packets: no number, no result; Report.Steps records them and the
// pcapng comment of the next input packet names them. load applies the
// steps to a throwaway fabric to report unknown hosts, endpoints and load
// balancers at the step's line. A scenario with steps builds its fabric
// from a deep copy of the topology (HNS objects are changed in place).
//
// # Expectations
//
// A frame expectation matches the first output of its kind at its port
// (of its packet, when given) that spec.Match accepts: only the fields
// given are compared, "*" matches any value, ranges any value in them,
// "$p" binds on first sight and must agree afterwards (bindings are shared
// by all expectations and by the packets, so a reply can be built to the
// port a NAT chose). Each output matches one expectation. Expectations at
// one port match outputs in their order: a later one only looks after the
// output an earlier one matched. A drop expectation matches a drop with
// its reason (and place, when given). nothing_else fails for every
// delivered output and every drop (at its port, when given) that no other
// expectation consumed; wire observations do not count. A failure shows
// the closest output and the expectation side by side (spec.SideBySide,
// differing fields marked "!") and the trace of its packet, or, when
// nothing came out, where things went. A drop expectation with reason
// "*" accepts any reason. A nothing_else with kind wire-tx or wire-rx
// looks at one NIC port's wire observations instead. VXLAN is decoded on
// 4789 and on the topology's VxlanPort ports.
//
// An expect_error scenario has no packets: it passes when building the
// topology fails with an error matching every field given (the HRESULT of
// an HNS problem, and substrings of the message, the field path and the
// object's name).
//
// # Results
//
// Each input packet gives a result.Packet (outputs with their bytes, drops
// with reason, place and frame, and the trace), written as JSON Lines to
// NAME.results.jsonl, and records in NAME.pcapng: one interface per port
// (named after it, described by its kind), the input on its port
// ("packet N: in"), each output on its port ("packet N: delivered",
// "wire-tx", "wire-rx"), and each drop on the nearest port with the
// comment "drop: SLUG (TEXT) at HOST/COMPONENT/WHERE [LAYER/GROUP/RULE];
// packet N" and the drop verdict (pcapio.DropVerdict). Timestamps are the
// virtual clock, counted from the Unix epoch.
//
// Memory: results are written as they are produced; the evaluator keeps
// only outputs at ports that frame expectations look at (and drops that
// drop expectations can match), so scenarios over long captures run in
// memory that grows with what they expect, not with the capture. Replay,
// which has no expectations, streams in flat memory.
//
// # Diff
//
// DiffFiles compares two results files packet by packet (by index): the
// input port and frame, the outcome, the delivered frames per port (field
// by field, through spec.Decode and spec.Match) and the drop reasons.
// Values that implementations choose freely (TCP/UDP ports, ICMP
// identifiers, MAC addresses) are equal when they map one to one across
// the whole file, e.g. a NAT that picked 49152 where another picked 1024.
package scenarios
