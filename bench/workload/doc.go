// Package workload defines hnspath's benchmark workloads: the emulated datapath
// of a Windows container host (package fabric) driven with generated traffic, one
// workload per network mode, and any pcap replayed through any topology.
//
// Each workload is a bench.Workload: Prepare builds the topology once, learns
// what it must (the NAT gateway's MAC by ARP), generates every frame, and checks
// that a sample of the flows comes out where it should, with the expected
// headers, before any clock starts. A workload that drops its sample fails with
// the drop's component, reason and VFP rule: a benchmark of a datapath that
// drops everything measures nothing.
//
// The processors are fabrics, one per core (fabric.Options Shard/Shards: WinNAT
// partitions its port range by shard, VFP tables and pools are per fabric), and
// the runner shards flows across them with bench.ShardOf as RSS does. Both
// directions of a flow carry the same flow index, so replies reach the core
// that holds the flow's state.
//
// # Parameters
//
//   - flows: concurrent (established) flows, 1 to 1,000,000. Flows differ in
//     their UDP ports (and, where ports run out, addresses); each is sent
//     round-robin with the others.
//   - size: the frame size the traffic source sends, FCS included (RFC 2544
//     counting: 64 is the smallest Ethernet frame), or imix (7:4:1 of 64, 594
//     and 1518-byte frames). Overlay containers send at most their 1450-byte
//     MTU, so their frames are capped at 1468 bytes.
//   - new: the new-flow ratio, the fraction of packets that start a flow. New
//     flows are extra flows, each sent once per pass over the frames; the
//     processors advance the virtual clock so that one pass lasts 300 s, longer
//     than any idle timeout (VFP 240 s, WinNAT UDP 120 s), while the
//     established flows, sent four times per pass, never idle longer than 75 s.
//     So every pass re-creates the new flows and none of the established ones.
//   - rules (acl) and backends (lb): the number of ACL rules on the destination
//     endpoint, and of load balancer backends.
//
// All generated traffic is UDP over IPv4.
//
// # Replays
//
// NewReplay turns any capture (ReadCapture: pcap or pcapng through package
// pcapio) and any topology into a workload: each packet enters at its pcapng
// interface's port or a default one, flows are 5-tuples with the two ends in a
// fixed order, and the virtual clock stands still, so nothing expires while the
// capture loops.
package workload
